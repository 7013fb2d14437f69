/*
 * numa_bench: what hint faults cost, as "# bench:" lines (TSC cycles,
 * min and median of 1000 samples; no assertion on time, which this
 * emulator cannot promise). Under TCG the TSC follows the host's clock, so
 * the figures measure how long the host took to emulate the path, not
 * what a CPU would spend on it; each line says so. Each sample times one
 * access from the kernel's user-access window:
 *
 *   fault_cow_reuse       a write to a read-only entry of an exclusive
 *                         page: the handler only sets W (COW reuse)
 *   numa_hint_nomigrate   a read of a hinted page on this CPU's node: the
 *                         handler rebuilds the entry from the VMA, after
 *                         the NUMA bookkeeping
 *   numa_hint_migrate_4k  the same from a CPU on another node (policy
 *                         first): the fault migrates the page
 *   numa_scan_per_page    numa_scan over 64 pages divided by 64: the walk
 *                         and one batched shootdown for all 64 pages
 *
 * and numa_hint_nomigrate_ratio = median hint / median COW reuse (the
 * target is <= 1.5: a hint fault should cost little more than any fault).
 *
 * Why COW reuse is the divisor: the ratio asks what the NUMA bookkeeping
 * adds to the cheapest fault that resolves by rewriting one entry in
 * place. The only not-present entry the handler fills from a value it
 * already holds is the protnone entry, and that is the hint fault being
 * measured. The one path cheaper still, the spurious fault (the entry in
 * memory already allows the access), cannot be produced on demand here:
 * neither x86 nor TCG caches a not-present translation, and TCG walks the
 * tables again before raising a write fault on a read-only TLB entry, so
 * it needs a second CPU racing the fault. Demand zero allocates and
 * clears a page, and a COW copy copies one: neither is a floor. COW reuse
 * does the same lock, VMA lookup, walk and single entry store as the
 * hint, with one reference-count read instead of the bookkeeping.
 */

#include <arch/cpu.h>
#include "fault_bench.h"
#include "bench_util.h"

#define SAMPLES 1000
#define SCAN_PAGES 64

struct samples {
	u64 v[SAMPLES];
};

/* SCAN_PAGES pages filled with pattern 1, the mm loaded on this CPU. */
static struct mm *filled_mm(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, SCAN_PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, fill_user(USER_BASE, SCAN_PAGES, 1) == 0);
	return mm;
}

static void done_with(struct test *t, struct mm *mm)
{
	mm_switch(mm);
	EXPECT_EQ(t, check_user(USER_BASE, SCAN_PAGES, 1), 0);
	mm_switch(NULL);
	mm_destroy(mm);
}

/* COW reuse and a local hint fault on the same page, and the ratio. */
static void hint_fault_cost(struct test *t)
{
	static struct samples reuse, hint;
	struct mm *mm = filled_mm(t);

	sample_cow_reuse(t, mm, USER_BASE, reuse.v, SAMPLES, NULL);
	sample_hint_nomigrate(t, mm, USER_BASE, hint.v, SAMPLES, NULL);
	u64 n = bench_report(t, "fault_cow_reuse", reuse.v, SAMPLES);
	u64 h = bench_report(t, "numa_hint_nomigrate", hint.v, SAMPLES);
	bench_ratio(t, "numa_hint_nomigrate_ratio", h, n, "numa_hint_nomigrate / fault_cow_reuse");
	done_with(t, mm);
}

static void scan_cost(struct test *t)
{
	static struct samples scan;
	struct mm *mm = filled_mm(t);
	u64 updates = numa_stats.numa_pte_updates;

	for (u32 i = 0; i < SAMPLES; i++) {
		EXPECT_EQ(t, mm_protect(mm, USER_BASE, SCAN_PAGES * PAGE_SIZE, VM_READ | VM_WRITE), 0);
		u64 t0 = rdtsc();
		numa_scan(mm, USER_BASE, USER_BASE + SCAN_PAGES * PAGE_SIZE);
		scan.v[i] = (rdtsc() - t0) / SCAN_PAGES;
	}
	EXPECT_EQ(t, numa_stats.numa_pte_updates - updates, (u64)SAMPLES * SCAN_PAGES);
	test_diag(t, "numa_scan_per_page: the walk plus 1/%d of one batched shootdown",
		  SCAN_PAGES);
	bench_report(t, "numa_scan_per_page", scan.v, SAMPLES);
	done_with(t, mm);
}

struct remote_bench {
	struct mm *mm;
	int home;
	struct samples s;
	u64 migrated;
};

static void migrate_samples(struct test *t, void *arg)
{
	struct remote_bench *b = arg;

	(void)t;
	mm_switch(b->mm);
	for (u32 i = 0; i < SAMPLES; i++) {
		migrate_pages(b->mm, USER_BASE, USER_BASE + PAGE_SIZE, b->home);
		numa_scan(b->mm, USER_BASE, USER_BASE + PAGE_SIZE);
		u64 before = numa_stats.numa_pages_migrated;
		b->s.v[i] = timed_read(USER_BASE);
		b->migrated += numa_stats.numa_pages_migrated - before;
	}
	mm_switch(NULL);
}

static void hint_migrate_cost(struct test *t)
{
	static struct remote_bench remote;
	int away = cpu_off_node(this_cpu()->node);

	if (away < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	if (numa_policy() != NUMA_POLICY_FIRST)
		test_skip(t, "needs numa_policy=first (one fault migrates)");
	struct mm *mm = filled_mm(t);
	mm_switch(NULL);
	remote = (struct remote_bench){ .mm = mm, .home = this_cpu()->node };
	struct cpumask m = { 0 };
	cpumask_set(&m, (u32)away);
	test_on_cpus(t, &m, migrate_samples, &remote);
	EXPECT_EQ(t, remote.migrated, SAMPLES);
	bench_report(t, "numa_hint_migrate_4k", remote.s.v, SAMPLES);
	done_with(t, mm);
	numa_stats_print("  # ");
}

TEST_SUITE_FLAGS(numa_bench, TEST_MM_AUDIT,
	TEST_CASE(hint_fault_cost),
	TEST_CASE(scan_cost),
	TEST_CASE(hint_migrate_cost));
