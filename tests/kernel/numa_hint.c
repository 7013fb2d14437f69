/*
 * numa_hint: pages first touched on node A, hinted by the scanner, then
 * read from a CPU on node B. With numa_policy=first they move to B on the
 * first hint fault; with twostage only on the second fault from B in a
 * row (Linux's last-cpupid filter). Local accesses never migrate. Data is
 * checksummed across every move and the vmstat-like counters must match
 * what happened. Only the case that needs a second node skips without one.
 */

#include <mmulab/cmdline.h>
#include <arch/cpu.h>
#include <arch/tsc.h>
#include "live.h"
#include "numa_util.h"

#define PAGES 8

struct setup {
	struct mm *mm;
	int home;
	int away_cpu, away; /* -1 without a CPU on a second node with memory */
};

static struct setup populate(struct test *t, u32 prot)
{
	struct setup s = { 0 };
	int home_cpu = this_cpu()->id;

	s.home = this_cpu()->node;
	s.away_cpu = cpu_off_node(s.home);
	s.away = s.away_cpu < 0 ? -1 : cpus[s.away_cpu].node;
	s.mm = mm_create(s.home);
	SETUP_TRUE(t, s.mm != NULL);
	SETUP_TRUE(t, mm_map_anon(s.mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	EXPECT_EQ(t, write_from(t, home_cpu, s.mm, USER_BASE, PAGES, 77), 0);
	if (prot != (VM_READ | VM_WRITE))
		EXPECT_EQ(t, mm_protect(s.mm, USER_BASE, PAGES * PAGE_SIZE, prot), 0);
	for (u32 i = 0; i < PAGES; i++)
		EXPECT_EQ(t, node_at(s.mm, USER_BASE + i * PAGE_SIZE), s.home);
	return s;
}

static u32 pages_on(struct mm *mm, int node)
{
	u32 n = 0;
	for (u32 i = 0; i < PAGES; i++)
		n += node_at(mm, USER_BASE + i * PAGE_SIZE) == node;
	return n;
}

/* Remote reads after a scan move the pages to the reader's node: after
 * one fault (first) or two (twostage). */
static void remote_access_migrates(struct test *t)
{
	if (cpu_off_node(this_cpu()->node) < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	struct setup s = populate(t, VM_READ | VM_WRITE);
	static struct numa_stats before; /* 32 KiB: not on the stack */

	before = numa_stats;
	u32 rounds = numa_policy() == NUMA_POLICY_FIRST ? 1 : 2;

	for (u32 r = 1; r <= rounds; r++) {
		EXPECT_EQ(t, numa_scan(s.mm, USER_BASE, USER_BASE + PAGES * PAGE_SIZE), PAGES);
		EXPECT_EQ(t, read_from(t, s.away_cpu, s.mm, USER_BASE, PAGES, 77), 0);
		EXPECT_EQ(t, pages_on(s.mm, s.away), r == rounds ? PAGES : 0);
	}
	EXPECT_EQ(t, numa_stats.numa_pte_updates - before.numa_pte_updates, rounds * PAGES);
	EXPECT_EQ(t, numa_stats.numa_hint_faults - before.numa_hint_faults, rounds * PAGES);
	EXPECT_EQ(t, numa_stats.numa_hint_faults_local - before.numa_hint_faults_local, 0);
	EXPECT_EQ(t, numa_stats.numa_pages_migrated - before.numa_pages_migrated, PAGES);
	EXPECT_EQ(t, numa_stats.pgmigrate_success - before.pgmigrate_success, PAGES);
	EXPECT_EQ(t, numa_stats.matrix[s.home][s.away] - before.matrix[s.home][s.away], PAGES);
	mm_destroy(s.mm);
}

/* Hint faults from the page's own node never move it. */
static void local_access_stays(struct test *t)
{
	struct setup s = populate(t, VM_READ | VM_WRITE);
	static struct numa_stats before; /* 32 KiB: not on the stack */

	before = numa_stats;

	for (int r = 0; r < 2; r++) {
		EXPECT_EQ(t, numa_scan(s.mm, USER_BASE, USER_BASE + PAGES * PAGE_SIZE), PAGES);
		EXPECT_EQ(t, read_from(t, this_cpu()->id, s.mm, USER_BASE, PAGES, 77), 0);
	}
	EXPECT_EQ(t, pages_on(s.mm, s.home), PAGES);
	EXPECT_EQ(t, numa_stats.numa_hint_faults_local - before.numa_hint_faults_local, 2 * PAGES);
	EXPECT_EQ(t, numa_stats.numa_pages_migrated - before.numa_pages_migrated, 0);
	mm_destroy(s.mm);
}

/* A CPU on the other node when there is one (the hint fault then moves
 * the page with policy first), else this one. */
static int reader(struct test *t, const struct setup *s)
{
	if (s->away_cpu >= 0)
		return s->away_cpu;
	test_diag(t, "one node: the hint faults are local, nothing moves");
	return (int)this_cpu()->id;
}

/* A read-only VMA's page stays read-only after its hint fault, moved or
 * not: the restore takes the VMA's permissions, not the entry's. */
static void read_only_stays_read_only(struct test *t)
{
	struct setup s = populate(t, VM_READ);

	EXPECT_EQ(t, numa_scan(s.mm, USER_BASE, USER_BASE + PAGES * PAGE_SIZE), PAGES);
	EXPECT_EQ(t, read_from(t, reader(t, &s), s.mm, USER_BASE, PAGES, 77), 0);
	for (u32 i = 0; i < PAGES; i++) {
		pte_t e = pte_at(s.mm, USER_BASE + i * PAGE_SIZE);
		EXPECT_TRUE(t, pte_present(e));
		EXPECT_FALSE(t, pte_write(e));
	}
	mm_switch(s.mm);
	EXPECT_EQ(t, user_write64(USER_BASE, 1).vector, 14);
	EXPECT_EQ(t, s.mm->segv.reason, SEGV_ACCERR);
	mm_switch(NULL);
	mm_destroy(s.mm);
}

/* With numa_scan_period_ms= set, an idle CPU hints an address space that
 * asked for it, pass after pass, without the test calling numa_scan. */
static void periodic_scanner_hints(struct test *t)
{
	if (!cmdline.numa_scan_period_ms)
		test_skip(t, "periodic scanning is off (numa_scan_period_ms=0)");
	if (nr_cpus < 2)
		test_skip(t, "the periodic scanner runs on CPU 1");
	struct setup s = populate(t, VM_READ | VM_WRITE);
	/* All PAGES are due within PAGES / numa_scan_pages= periods; the cap
	 * only keeps a scanner that never comes from hanging the run, so it
	 * is far beyond any host's slowness. */
	u64 deadline = rdtsc() + 60000ULL * tsc_khz();
	u32 hinted = 0;

	s.mm->numa_periodic = true;
	while (hinted < PAGES && rdtsc() < deadline) {
		hinted = 0;
		for (u32 i = 0; i < PAGES; i++)
			hinted += pte_protnone(pte_at(s.mm, USER_BASE + i * PAGE_SIZE));
		cpu_relax();
	}
	s.mm->numa_periodic = false;
	EXPECT_EQ(t, hinted, PAGES);
	EXPECT_EQ(t, read_from(t, reader(t, &s), s.mm, USER_BASE, PAGES, 77), 0);
	mm_destroy(s.mm);
}

/* --- live address space (live.h) --- */

/* Hammers read and write the pages while this CPU scans them. Once the
 * scan returned, the hints must be what the hammers' next accesses meet:
 * exactly one hint fault per page (whoever comes first), and no write
 * lost across a migration the fault may make. A scan that skips or
 * reorders its shootdown leaves the hammers on their cached translations,
 * and no hint fault happens. Needs no second node. */
static void live_scan_forces_hint_fault(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);
	static struct live l;
	struct scan_op o = { mm, PAGES, 0 };

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	SETUP_TRUE(t, write_from(t, this_cpu()->id, mm, USER_BASE, PAGES, 77) == 0);
	live_init(t, &l, mm, USER_BASE, PAGES, LIVE_READ | LIVE_WRITE);
	u64 hints_before = numa_stats.numa_hint_faults;
	live_run(t, &l, op_scan, &o);
	u64 hints = numa_stats.numa_hint_faults - hints_before;
	test_diag(t, "%lu pages hinted, %lu hint faults", o.hinted, hints);
	EXPECT_EQ(t, o.hinted, PAGES);
	EXPECT_EQ(t, hints, PAGES);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	mm_switch(mm);
	live_expect_last_writes_visible(t, &l);
	mm_switch(NULL);
	mm_destroy(mm);
}

/* --- contents --- */

/* A migrated page equals its source in every byte: whole pages filled
 * with a per-page pattern, moved to another node, compared word by word. */
static void migrated_page_whole(struct test *t)
{
	if (cpu_off_node(this_cpu()->node) < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	struct setup s = populate(t, VM_READ | VM_WRITE);
	paddr_t old[PAGES];

	for (u32 i = 0; i < PAGES; i++) {
		old[i] = frame_at(s.mm, USER_BASE + i * PAGE_SIZE);
		fill_frame(old[i], 88, i);
	}
	EXPECT_EQ(t, migrate_pages(s.mm, USER_BASE, USER_BASE + PAGES * PAGE_SIZE, s.away), PAGES);
	for (u32 i = 0; i < PAGES; i++) {
		paddr_t f = frame_at(s.mm, USER_BASE + i * PAGE_SIZE);
		SETUP_TRUE(t, f != old[i]);
		EXPECT_EQ(t, node_at(s.mm, USER_BASE + i * PAGE_SIZE), s.away);
		EXPECT_EQ(t, frame_diff_words(f, 88, i, 0, 0), 0);
	}
	mm_destroy(s.mm);
}

/* --- write permission restored after a move --- */

struct read_then_write {
	struct mm *mm;
	u64 value;                 /* written to word 1 of page i: value + i */
	u64 bad;                   /* reads that faulted or saw a wrong word */
	struct fault_counters before_writes, after_writes;
};

/* On the remote CPU: read word 0 of every page (each read takes the hint
 * fault, which may move the page here), then write word 1 of each. */
static void read_then_write_body(struct test *t, void *arg)
{
	struct read_then_write *rw = arg;
	(void)t;
	mm_switch(rw->mm);
	for (u32 i = 0; i < PAGES; i++) {
		u64 v = 0;
		rw->bad += user_read64(USER_BASE + i * PAGE_SIZE, &v).vector != FAULT_NONE ||
			   v != page_pattern(88, i, 0);
	}
	rw->before_writes = rw->mm->faults;
	for (u32 i = 0; i < PAGES; i++)
		rw->bad += user_write64(USER_BASE + i * PAGE_SIZE + 8, rw->value + i).vector !=
			   FAULT_NONE;
	rw->after_writes = rw->mm->faults;
	mm_switch(NULL);
}

static u64 write_faults(struct fault_counters a, struct fault_counters b)
{
	return (b.cow_reuse - a.cow_reuse) + (b.cow_copy - a.cow_copy) +
	       (b.spurious - a.spurious) + (b.segv - a.segv);
}

/* With numa_restore_write=on (set here for the case's duration) a page
 * this mapping alone owns comes back writable from its hint fault, also
 * when the fault moved it: the exclusivity test must look at the page now
 * mapped, not at the one just freed (whose count is 0). Whole pages are
 * filled with a pattern, hinted, read from a CPU on another node (which
 * moves them there: first fault or second, by policy), then written
 * right away from that CPU: no write may fault, and each write lands in
 * the new frame, whose every other word is the old page's. */
static void migrated_exclusive_page_restored_writable(struct test *t)
{
	if (cpu_off_node(this_cpu()->node) < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	struct setup s = populate(t, VM_READ | VM_WRITE);
	static struct read_then_write rw;
	paddr_t old[PAGES];
	u64 moved_before = numa_stats.numa_pages_migrated;
	u32 rounds = numa_policy() == NUMA_POLICY_FIRST ? 1 : 2;

	for (u32 i = 0; i < PAGES; i++) {
		old[i] = frame_at(s.mm, USER_BASE + i * PAGE_SIZE);
		fill_frame(old[i], 88, i);
	}
	numa_restore_write_set(true);
	for (u32 r = 1; r <= rounds; r++) {
		EXPECT_EQ(t, numa_scan(s.mm, USER_BASE, USER_BASE + PAGES * PAGE_SIZE), PAGES);
		rw = (struct read_then_write){ .mm = s.mm, .value = 0x5a5a0000 + r * 0x100 };
		struct cpumask m = { 0 };
		cpumask_set(&m, (u32)s.away_cpu);
		test_on_cpus(t, &m, read_then_write_body, &rw);
		EXPECT_EQ(t, rw.bad, 0);
		u64 wf = write_faults(rw.before_writes, rw.after_writes);
		if (!EXPECT_EQ(t, wf, 0))
			test_diag(t, "round %u: %lu of %u writes after the hint fault faulted "
				  "(restored read-only)", r, wf, PAGES);
	}
	numa_restore_write_reset();
	EXPECT_EQ(t, numa_stats.numa_pages_migrated - moved_before, PAGES);
	for (u32 i = 0; i < PAGES; i++) {
		paddr_t f = frame_at(s.mm, USER_BASE + i * PAGE_SIZE);
		EXPECT_NE(t, f, old[i]);
		EXPECT_EQ(t, node_at(s.mm, USER_BASE + i * PAGE_SIZE), s.away);
		EXPECT_EQ(t, ((u64 *)frame_va(f))[1], rw.value + i);
		EXPECT_EQ(t, frame_diff_words(f, 88, i, 8, 16), 0);
	}
	mm_destroy(s.mm);
}

TEST_SUITE_FLAGS(numa_hint, TEST_MM_AUDIT,
	TEST_CASE(remote_access_migrates),
	TEST_CASE(local_access_stays),
	TEST_CASE(read_only_stays_read_only),
	TEST_CASE(periodic_scanner_hints),
	TEST_CASE(live_scan_forces_hint_fault),
	TEST_CASE(migrated_page_whole),
	TEST_CASE(migrated_exclusive_page_restored_writable));
