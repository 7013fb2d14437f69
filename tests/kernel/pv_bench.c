/*
 * pv_bench: what the read-only page-table mode (mmu=pv) costs, as
 * "# bench:" lines taken in whichever mode the kernel booted (no assertion
 * on time). Under TCG the TSC follows the host's clock: the figures
 * measure how long the host took to emulate each path, not CPU cycles;
 * each line says so. Opt-in (`tests=pv_bench`): `make bench` boots it
 * natively and with mmu=pv, and tools/pv_bench_ratios.py turns the two
 * logs into pv_fault_ratio, pv_hint_ratio, pv_mprotect_ratio and
 * pv_fork_ratio (pv median / native median).
 *
 *   pv_MODE_fault_cow_reuse      one COW-reuse write fault (fault_bench.h)
 *   pv_MODE_numa_hint_nomigrate  one local hint fault (fault_bench.h)
 *   pv_MODE_mprotect_512         one mm_protect of 512 present pages,
 *                                RW -> R and R -> RW alternately
 *   pv_MODE_fork_512             one mm_fork of an address space with 512
 *                                present, writable pages
 *
 * MODE is pv or native. Each op also gets _validator_calls= and
 * _validator_updates= per op: the validator's entries and the entries it
 * wrote inside the timed parts, which natively must be 0.
 */

#include <mmulab/cmdline.h>
#include <mmulab/format.h>
#include "fault_bench.h"
#include "bench_util.h"

#define FAULT_SAMPLES 1000
#define RANGE_PAGES 512
/* mprotect and fork: as many samples as fit in TIME_BUDGET_MS, at most
 * RANGE_SAMPLES_MAX. */
#define RANGE_SAMPLES_MAX 10000
#define TIME_BUDGET_MS 1000

struct samples {
	u64 v[RANGE_SAMPLES_MAX];
};

static const char *mode(void)
{
	return cmdline.mmu_pv ? "pv" : "native";
}

/* The cycles line and the validator's work per op, which must be none
 * natively and some under mmu=pv (each op writes entries). */
static void report(struct test *t, const char *op, u64 *v, u32 n, struct pv_work w)
{
	char name[64];

	format(name, sizeof(name), "pv_%s_%s", mode(), op);
	bench_report(t, name, v, n);
	test_diag(t, "bench: %s_validator_calls=%lu.%02lu per op", name, w.calls / n,
		  w.calls * 100 / n % 100);
	test_diag(t, "bench: %s_validator_updates=%lu.%02lu per op", name, w.updates / n,
		  w.updates * 100 / n % 100);
	if (cmdline.mmu_pv)
		EXPECT_GE(t, w.calls, n);
	else
		EXPECT_EQ(t, w.calls, 0);
}

/* pages pages filled with pattern 1, the mm loaded on this CPU. */
static struct mm *filled_mm(struct test *t, u64 pages)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, pages * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, fill_user(USER_BASE, pages, 1) == 0);
	return mm;
}

static void done_with(struct test *t, struct mm *mm, u64 pages)
{
	mm_switch(mm);
	EXPECT_EQ(t, check_user(USER_BASE, pages, 1), 0);
	mm_switch(NULL);
	mm_destroy(mm);
}

static bool within_budget(u64 start_tsc)
{
	return rdtsc() - start_tsc < (u64)TIME_BUDGET_MS * tsc_khz();
}

static void fault_cost(struct test *t)
{
	static struct samples s;
	struct pv_work w = { 0 };
	struct mm *mm = filled_mm(t, 1);

	sample_cow_reuse(t, mm, USER_BASE, s.v, FAULT_SAMPLES, &w);
	report(t, "fault_cow_reuse", s.v, FAULT_SAMPLES, w);
	done_with(t, mm, 1);
}

static void hint_cost(struct test *t)
{
	static struct samples s;
	struct pv_work w = { 0 };
	struct mm *mm = filled_mm(t, 1);

	sample_hint_nomigrate(t, mm, USER_BASE, s.v, FAULT_SAMPLES, &w);
	report(t, "numa_hint_nomigrate", s.v, FAULT_SAMPLES, w);
	done_with(t, mm, 1);
}

static u64 timed_protect(struct test *t, struct mm *mm, u32 prot, struct pv_work *w)
{
	struct pv_mmu_stats before = pv_mmu_stats();
	u64 t0 = rdtsc();

	EXPECT_EQ(t, mm_protect(mm, USER_BASE, RANGE_PAGES * PAGE_SIZE, prot), 0);
	u64 cycles = rdtsc() - t0;
	pv_work_add_since(w, before);
	return cycles;
}

/* Pairs of samples, RW -> R then R -> RW; after the first R step a write
 * must fault, and after the last RW step the pages still hold their
 * pattern (done_with). */
static void mprotect_cost(struct test *t)
{
	static struct samples s;
	struct pv_work w = { 0 };
	struct mm *mm = filled_mm(t, RANGE_PAGES);
	u64 start = rdtsc();
	u32 n = 0;

	while (n + 2 <= RANGE_SAMPLES_MAX && (n < 2 || within_budget(start))) {
		s.v[n++] = timed_protect(t, mm, VM_READ, &w);
		if (n == 1)
			EXPECT_EQ(t, user_write64(USER_BASE + 7 * PAGE_SIZE, 0).vector, 14);
		s.v[n++] = timed_protect(t, mm, VM_READ | VM_WRITE, &w);
	}
	report(t, "mprotect_512", s.v, n, w);
	done_with(t, mm, RANGE_PAGES);
}

/* Each sample forks the writable parent; the child is destroyed and the
 * parent made writable again outside the timed part. The first child
 * must read the parent's pages. */
static void fork_cost(struct test *t)
{
	static struct samples s;
	struct pv_work w = { 0 };
	struct mm *mm = filled_mm(t, RANGE_PAGES);
	u64 start = rdtsc();
	u32 n = 0;

	while (n < RANGE_SAMPLES_MAX && (n < 1 || within_budget(start))) {
		struct pv_mmu_stats before = pv_mmu_stats();
		u64 t0 = rdtsc();
		struct mm *child = mm_fork(mm);
		s.v[n] = rdtsc() - t0;
		pv_work_add_since(&w, before);
		SETUP_TRUE(t, child != NULL);
		if (n++ == 0) {
			mm_switch(child);
			EXPECT_EQ(t, check_user(USER_BASE, RANGE_PAGES, 1), 0);
			mm_switch(mm);
		}
		mm_destroy(child);
		/* The fork left the parent's entries read-only (COW); with the
		 * child gone each page is the parent's alone and W comes back. */
		EXPECT_EQ(t, mm_protect(mm, USER_BASE, RANGE_PAGES * PAGE_SIZE, VM_READ | VM_WRITE), 0);
	}
	report(t, "fork_512", s.v, n, w);
	done_with(t, mm, RANGE_PAGES);
}

TEST_SUITE_FLAGS(pv_bench, TEST_MM_AUDIT | TEST_OPT_IN,
	TEST_CASE(fault_cost),
	TEST_CASE(hint_cost),
	TEST_CASE(mprotect_cost),
	TEST_CASE(fork_cost));
