#ifndef MMULAB_CMDLINE_H
#define MMULAB_CMDLINE_H

#include <mmulab/types.h>

/* on_done=: what the machine does once the verdict is out. Unset: QEMU's
 * isa-debug-exit port under QEMU, a halt elsewhere. */
enum on_done { ON_DONE_DEFAULT, ON_DONE_HALT, ON_DONE_REBOOT, ON_DONE_POWEROFF };

/* The parsed kernel command line; see docs/ARCHITECTURE.md for each key. */
struct cmdline {
	const char *tests; /* comma-separated globs; NULL: the default run */
	bool seed_given;
	u64 seed;
	u64 iterations;   /* 0: each case's own default */
	const char *bugs; /* comma-separated switch names */
	u64 watchdog_seconds; /* a case running longer fails as TIMEOUT */
	bool no_x2apic;       /* stay in xAPIC mode even when x2APIC exists */
	u32 vmalloc_sync;     /* enum vmalloc_sync_mode */
	bool numa_off;        /* numa=off: one node */
	u32 numa_policy;      /* enum numa_policy */
	bool numa_restore_write;
	u64 numa_scan_period_ms; /* 0: no periodic scanner */
	u64 numa_scan_pages;
	u32 thp;              /* enum thp_mode */
	u32 fake_nodes;       /* numa=fake=N */
	u64 race_delay_us;    /* widens each bug switch's race window */
	bool mmu_pv;          /* mmu=pv: read-only page tables, validated */
	bool screen_off;      /* screen=off: no screen console even with a GOP */
	u64 screen_hold_ms;   /* wait between the closing line and the exit */
	u32 on_done;          /* enum on_done */
	const char *expect_topology; /* what the runner configured (topology suite) */
};

extern struct cmdline cmdline;

/* The mode test of the read-only page-table mode's switches
 * (BUG_SWITCH_IN_MODE). */
static inline bool cmdline_mmu_pv(const struct cmdline *c) { return c->mmu_pv; }

/* Parses text (kept: the fields point into it). Returns false with a message
 * in err on the first bad token. */
bool cmdline_parse(char *text, struct cmdline *out, char *err, size_t err_size);

#endif
