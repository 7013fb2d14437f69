/*
 * thp_bench: what huge pages cost and save, as "# bench:" lines (TSC
 * cycles, min and median of SAMPLES samples; no assertion on time). Under
 * TCG the TSC follows the host's clock: the figures measure how long the
 * host took to emulate each path, not CPU cycles; each line says so.
 * Opt-in (`tests=thp_bench`, run by `make bench`): a 2 MiB fault zeroes
 * 2 MiB, which costs the emulator far more than the default run may.
 *
 *   thp_fault_2m           one write fault mapping a fresh huge page
 *   fault_4k_x512          512 write faults, one per 4 KiB page of the
 *                          same 2 MiB (huge pages off), summed per sample;
 *                          thp_fault_ratio = thp_fault_2m / fault_4k_x512
 *   thp_split              mm_split_huge_pmd of a mapped huge page
 *   thp_collapse           thp_collapse of the 512 PTEs that split left
 *   thp_migrate_2m         a read from another node of a hinted huge page:
 *                          the hint fault moves all 2 MiB
 *   thp_ref_hint_migrate_4k the same for one 4 KiB page; thp_migrate_ratio
 *                          = thp_migrate_2m / (512 x thp_ref_hint_migrate_4k)
 */

#include <mmulab/huge_memory.h>
#include <arch/cpu.h>
#include <arch/tsc.h>
#include "numa_util.h"
#include "thp_util.h"
#include "bench_util.h"

#define SAMPLES 32

struct samples {
	u64 v[SAMPLES];
};

static u64 timed_touch(vaddr_t va, bool write)
{
	u64 t0 = rdtsc();
	user_access_begin();
	if (write)
		*(volatile u64 *)va = t0;
	else
		(void)*(volatile u64 *)va;
	user_access_end();
	return rdtsc() - t0;
}

/* 2 MiB at USER_BASE on this CPU's node, not yet faulted. */
static struct mm *bench_mm(struct test *t, u32 flags)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PMD_SIZE, VM_READ | VM_WRITE, flags) == 0);
	return mm;
}

static void fault_in_huge(struct test *t, struct mm *mm)
{
	SETUP_TRUE(t, user_write64(USER_BASE, 1).vector == FAULT_NONE);
	SETUP_TRUE(t, pmd_leaf(pmdp_get(mm_pmd_lookup(mm, USER_BASE))));
}

/* A 2 MiB fault against 512 4 KiB faults over the same memory. */
static void fault_cost(struct test *t)
{
	static struct samples huge, small;
	struct mm *mm = bench_mm(t, VMA_HUGE_OK);
	u64 allocs = thp_stats.thp_fault_alloc;

	mm_switch(mm);
	for (u32 i = 0; i < SAMPLES; i++) {
		huge.v[i] = timed_touch(USER_BASE, true);
		EXPECT_EQ(t, mm_dontneed(mm, USER_BASE, PMD_SIZE), 0);
	}
	EXPECT_EQ(t, thp_stats.thp_fault_alloc - allocs, SAMPLES);
	drop(mm);
	mm = bench_mm(t, 0);
	mm_switch(mm);
	u64 zeroes = mm->faults.demand_zero;
	for (u32 i = 0; i < SAMPLES; i++) {
		small.v[i] = 0;
		for (u32 p = 0; p < HUGE_PAGES; p++)
			small.v[i] += timed_touch(USER_BASE + p * PAGE_SIZE, true);
		EXPECT_EQ(t, mm_dontneed(mm, USER_BASE, PMD_SIZE), 0);
	}
	EXPECT_EQ(t, mm->faults.demand_zero - zeroes, (u64)SAMPLES * HUGE_PAGES);
	drop(mm);
	u64 h = bench_report(t, "thp_fault_2m", huge.v, SAMPLES);
	u64 s = bench_report(t, "fault_4k_x512", small.v, SAMPLES);
	bench_ratio(t, "thp_fault_ratio", h, s, "thp_fault_2m / fault_4k_x512");
}

/* The split, and the collapse of what it left. */
static void split_and_collapse_cost(struct test *t)
{
	static struct samples split, collapse;
	struct mm *mm = bench_mm(t, VMA_HUGE_OK);

	mm_switch(mm);
	for (u32 i = 0; i < SAMPLES; i++) {
		fault_in_huge(t, mm);
		u64 t0 = rdtsc();
		EXPECT_TRUE(t, mm_split_huge_pmd(mm, USER_BASE));
		split.v[i] = rdtsc() - t0;
		t0 = rdtsc();
		EXPECT_EQ(t, thp_collapse(mm, USER_BASE), COLLAPSE_DONE);
		collapse.v[i] = rdtsc() - t0;
		EXPECT_EQ(t, mm_dontneed(mm, USER_BASE, PMD_SIZE), 0);
	}
	drop(mm);
	bench_report(t, "thp_split", split.v, SAMPLES);
	bench_report(t, "thp_collapse", collapse.v, SAMPLES);
}

struct remote {
	struct mm *mm;
	struct samples s;
	u32 n;
	u64 moved;
};

/* On the other node's CPU: hint, then the timed read that moves it. */
static void one_remote_hint(struct test *t, void *arg)
{
	struct remote *r = arg;
	u64 migrated = numa_stats.numa_pages_migrated;

	(void)t;
	mm_switch(r->mm);
	numa_scan(r->mm, USER_BASE, USER_BASE + PAGE_SIZE);
	r->s.v[r->n++] = timed_touch(USER_BASE, false);
	r->moved += numa_stats.numa_pages_migrated - migrated;
	mm_switch(NULL);
}

/* Each sample: the page faulted in here, then moved by a hint fault on
 * the other node's CPU. */
static u64 remote_hint_cost(struct test *t, int away, u32 flags, struct remote *r)
{
	struct cpumask m = { 0 };

	cpumask_set(&m, (u32)away);
	r->mm = bench_mm(t, flags);
	r->moved = 0;
	r->n = 0;
	for (u32 i = 0; i < SAMPLES; i++) {
		mm_switch(r->mm);
		SETUP_TRUE(t, user_write64(USER_BASE, i).vector == FAULT_NONE);
		mm_switch(NULL);
		test_on_cpus(t, &m, one_remote_hint, r);
		EXPECT_EQ(t, mm_dontneed(r->mm, USER_BASE, PMD_SIZE), 0);
	}
	drop(r->mm);
	return r->moved;
}

static void migrate_cost(struct test *t)
{
	static struct remote huge, small;
	int away = cpu_off_node(this_cpu()->node);

	if (away < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	if (numa_policy() != NUMA_POLICY_FIRST)
		test_skip(t, "needs numa_policy=first (one fault migrates)");
	EXPECT_EQ(t, remote_hint_cost(t, away, VMA_HUGE_OK, &huge), (u64)SAMPLES * HUGE_PAGES);
	EXPECT_EQ(t, remote_hint_cost(t, away, 0, &small), SAMPLES);
	u64 h = bench_report(t, "thp_migrate_2m", huge.s.v, SAMPLES);
	u64 s = bench_report(t, "thp_ref_hint_migrate_4k", small.s.v, SAMPLES);
	bench_ratio(t, "thp_migrate_ratio", h, s * HUGE_PAGES,
		    "thp_migrate_2m / (512 x thp_ref_hint_migrate_4k, measured beside it)");
}

TEST_SUITE_FLAGS(thp_bench, TEST_MM_AUDIT | TEST_OPT_IN,
	TEST_CASE(fault_cost),
	TEST_CASE(split_and_collapse_cost),
	TEST_CASE(migrate_cost));
