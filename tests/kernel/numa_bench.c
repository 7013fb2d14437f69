/*
 * numa_bench: what faults cost by kind, and what hint faults add, as
 * "# bench:" lines (TSC cycles, min and median of 1000 samples; no
 * assertion on time, which this emulator cannot promise). Under TCG the
 * TSC follows the host's clock, so the figures measure how long the host
 * took to emulate the path, not what a CPU would spend on it; each line
 * says so. Each sample times one access from the kernel's user-access
 * window:
 *
 *   fault_null            a read of a user address no VMA covers: the
 *                         fault path's fixed cost (the trap, the mmap_lock
 *                         and VMA lookup, the SEGV record, the recovery's
 *                         jump back), through user_read64, whose recovery
 *                         context is the "fixup" and is in the figure
 *   fault_demand_zero     the first write to a fresh 4 KiB page (huge
 *                         pages off): a zeroed page allocated and mapped
 *   fault_cow_copy        a write to a page shared with a forked address
 *                         space: the fault copies it
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
 * Each kind's case checks that every sample was that kind of fault (the
 * address space's fault counters), and the COW copy that the child still
 * reads the old contents and the parent the new.
 *
 * Why COW reuse is the divisor: the ratio asks what the NUMA bookkeeping
 * adds to the cheapest fault that resolves by rewriting one entry in
 * place. fault_null is cheaper but resolves nothing (it is the floor every
 * fault pays). The only not-present entry the handler fills from a value
 * it already holds is the protnone entry, and that is the hint fault being
 * measured. The one resolving path cheaper still, the spurious fault (the
 * entry in memory already allows the access), cannot be produced on
 * demand here: neither x86 nor TCG caches a not-present translation, and
 * TCG walks the tables again before raising a write fault on a read-only
 * TLB entry, so it needs a second CPU racing the fault; fault_null stands
 * for its fixed part. Demand zero allocates and clears a page, and a COW
 * copy copies one: neither is a floor. COW reuse does the same lock, VMA
 * lookup, walk and single entry store as the hint, with one
 * reference-count read instead of the bookkeeping.
 */

#include <arch/cpu.h>
#include <arch/trap.h>
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

/* An address no VMA covers: past the SCAN_PAGES pages filled_mm maps. */
#define NO_VMA (USER_BASE + 2 * SCAN_PAGES * PAGE_SIZE)
/* Where the demand-zero and COW cases map one fresh page per sample. */
#define FRESH_BASE (USER_BASE + 0x10000000ULL)

static u64 timed_segv_read(vaddr_t va, struct fault_info *f)
{
	u64 v, t0 = rdtsc();

	*f = user_read64(va, &v);
	return rdtsc() - t0;
}

/* Each sample a read of an address no VMA covers, refused. */
static void null_fault_cost(struct test *t)
{
	static struct samples null;
	struct mm *mm = filled_mm(t);
	u64 segv = mm->faults.segv, refused = 0;

	for (u32 i = 0; i < SAMPLES; i++) {
		struct fault_info f;
		null.v[i] = timed_segv_read(NO_VMA, &f);
		refused += f.vector == X86_TRAP_PF && f.addr == NO_VMA;
	}
	EXPECT_EQ(t, refused, SAMPLES);
	EXPECT_EQ(t, mm->faults.segv - segv, SAMPLES); /* each sample one SEGV fault */
	EXPECT_EQ(t, mm->segv.reason, SEGV_MAPERR);
	bench_report(t, "fault_null", null.v, SAMPLES);
	done_with(t, mm);
}

/* SAMPLES fresh pages at FRESH_BASE, huge pages off, the mm loaded here. */
static void map_fresh(struct test *t, struct mm *mm)
{
	SETUP_TRUE(t, mm_map_anon(mm, FRESH_BASE, SAMPLES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
}

static vaddr_t fresh_page(u32 i)
{
	return FRESH_BASE + (vaddr_t)i * PAGE_SIZE;
}

/* Pages of the range whose word 1 is not what a timed write left (its
 * TSC, never 0) or whose first and last words are not zero. */
static u64 not_zero_filled(u32 pages)
{
	u64 bad = 0, first, written, last;

	for (u32 i = 0; i < pages; i++) {
		vaddr_t va = fresh_page(i);
		bad += user_read64(va, &first).vector != FAULT_NONE ||
		       user_read64(va + 8, &written).vector != FAULT_NONE ||
		       user_read64(va + PAGE_SIZE - 8, &last).vector != FAULT_NONE ||
		       first || !written || last;
	}
	return bad;
}

/* The samples' faults then get frames that were used and freed (freed
 * frames hold poison), not never-touched ones that read zero anyway: a
 * fault that skipped the clearing would show. */
static void recycle_frames(struct test *t, struct mm *mm)
{
	SETUP_TRUE(t, fill_user(FRESH_BASE, SAMPLES, 3) == 0);
	SETUP_TRUE(t, mm_dontneed(mm, FRESH_BASE, SAMPLES * PAGE_SIZE) == 0);
}

static void demand_zero_cost(struct test *t)
{
	static struct samples zero;
	struct mm *mm = filled_mm(t);

	map_fresh(t, mm);
	recycle_frames(t, mm);
	u64 zeroes = mm->faults.demand_zero;
	for (u32 i = 0; i < SAMPLES; i++)
		zero.v[i] = timed_write(fresh_page(i) + 8);
	EXPECT_EQ(t, mm->faults.demand_zero - zeroes, SAMPLES);
	EXPECT_EQ(t, not_zero_filled(SAMPLES), 0);
	bench_report(t, "fault_demand_zero", zero.v, SAMPLES);
	done_with(t, mm);
}

/* Pages of the range that do not hold the fill_user pattern of seed with
 * word 1 zero (child) or not zero (parent, which wrote it). */
static u64 cow_pages_wrong(u32 pages, bool written)
{
	u64 bad = check_user(FRESH_BASE, pages, 2), v;

	for (u32 i = 0; i < pages; i++)
		bad += user_read64(fresh_page(i) + 8, &v).vector != FAULT_NONE || (v != 0) != written;
	return bad;
}

/* Each sample the parent's first write to a page the fork shares. */
static void cow_copy_cost(struct test *t)
{
	static struct samples copy;
	struct mm *mm = filled_mm(t);

	map_fresh(t, mm);
	SETUP_TRUE(t, fill_user(FRESH_BASE, SAMPLES, 2) == 0);
	struct mm *child = mm_fork(mm);
	SETUP_TRUE(t, child != NULL);
	u64 copies = mm->faults.cow_copy;
	for (u32 i = 0; i < SAMPLES; i++)
		copy.v[i] = timed_write(fresh_page(i) + 8);
	EXPECT_EQ(t, mm->faults.cow_copy - copies, SAMPLES);
	EXPECT_EQ(t, cow_pages_wrong(SAMPLES, true), 0);
	mm_switch(child);
	EXPECT_EQ(t, cow_pages_wrong(SAMPLES, false), 0);
	mm_switch(NULL);
	mm_destroy(child);
	bench_report(t, "fault_cow_copy", copy.v, SAMPLES);
	done_with(t, mm);
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
	TEST_CASE(null_fault_cost),
	TEST_CASE(demand_zero_cost),
	TEST_CASE(cow_copy_cost),
	TEST_CASE(hint_fault_cost),
	TEST_CASE(scan_cost),
	TEST_CASE(hint_migrate_cost));
