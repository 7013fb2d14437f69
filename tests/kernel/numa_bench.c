/*
 * numa_bench: what hint faults cost, as "# bench:" lines (TSC cycles,
 * min and median of 1000 samples; no assertion on time, which this
 * emulator cannot promise). Each sample times one access from the
 * kernel's user-access window:
 *
 *   fault_null            a write fault the handler resolves by only
 *                         setting W (an exclusive page, COW reuse): the
 *                         fault path with nothing to do
 *   numa_hint_nomigrate   a read of a hinted page on this CPU's node
 *   numa_hint_migrate_4k  the same from a CPU on another node (policy
 *                         first): the fault migrates the page
 *   numa_scan_per_page    numa_scan over 64 pages, per page
 *
 * and numa_hint_nomigrate_ratio = median hint / median null (the target
 * is <= 1.5: a hint fault should cost little more than any fault).
 */

#include <mmulab/format.h>
#include <arch/cpu.h>
#include "numa_util.h"

#define SAMPLES 1000
#define SCAN_PAGES 64

struct samples {
	u64 v[SAMPLES];
};

static void sort(u64 *v, u32 n)
{
	for (u32 i = 1; i < n; i++) {
		u64 x = v[i];
		u32 j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static u64 report(struct test *t, const char *name, struct samples *s)
{
	sort(s->v, SAMPLES);
	test_diag(t, "bench: %s=%lu cycles (min %lu, median %lu, %d samples)", name,
		  s->v[SAMPLES / 2], s->v[0], s->v[SAMPLES / 2], SAMPLES);
	return s->v[SAMPLES / 2];
}

static u64 timed_read(vaddr_t va)
{
	u64 t0 = rdtsc();
	user_access_begin();
	(void)*(volatile u64 *)va;
	user_access_end();
	return rdtsc() - t0;
}

static u64 timed_write(vaddr_t va)
{
	u64 t0 = rdtsc();
	user_access_begin();
	*(volatile u64 *)va = t0;
	user_access_end();
	return rdtsc() - t0;
}

/* Makes the entry read-only on this CPU only: the mm runs nowhere else. */
static void wrprotect_here(struct mm *mm, vaddr_t va)
{
	pte_t *pte = pt_pte_lookup(mm->root, va);
	set_pte(pte, pte_wrprotect(*pte));
	invlpg(va);
}

static struct mm *one_page_mm(struct test *t, int node)
{
	struct mm *mm = mm_create(node);

	ASSERT_TRUE(t, mm != NULL);
	ASSERT_EQ(t, mm_map_anon(mm, USER_BASE, SCAN_PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0), 0);
	return mm;
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

static void hint_fault_costs(struct test *t)
{
	static struct samples null, hint, scan;
	static struct remote_bench remote;
	struct mm *mm = one_page_mm(t, this_cpu()->node);

	mm_switch(mm);
	EXPECT_EQ(t, fill_user(USER_BASE, SCAN_PAGES, 1), 0);
	u64 reuse = mm->faults.cow_reuse;
	for (u32 i = 0; i < SAMPLES; i++) {
		wrprotect_here(mm, USER_BASE);
		null.v[i] = timed_write(USER_BASE + 8); /* off the checked words */
	}
	EXPECT_EQ(t, mm->faults.cow_reuse - reuse, SAMPLES); /* each sample was one such fault */
	u64 hints = numa_stats.numa_hint_faults;
	for (u32 i = 0; i < SAMPLES; i++) {
		numa_scan(mm, USER_BASE, USER_BASE + PAGE_SIZE);
		hint.v[i] = timed_read(USER_BASE);
	}
	EXPECT_EQ(t, numa_stats.numa_hint_faults - hints, SAMPLES);
	for (u32 i = 0; i < SAMPLES; i++) {
		EXPECT_EQ(t, mm_protect(mm, USER_BASE, SCAN_PAGES * PAGE_SIZE, VM_READ | VM_WRITE), 0);
		u64 t0 = rdtsc();
		numa_scan(mm, USER_BASE, USER_BASE + SCAN_PAGES * PAGE_SIZE);
		scan.v[i] = (rdtsc() - t0) / SCAN_PAGES;
		EXPECT_EQ(t, check_user(USER_BASE, 1, 1), 0); /* restore one, keep the data honest */
	}
	u64 n = report(t, "fault_null", &null);
	u64 h = report(t, "numa_hint_nomigrate", &hint);
	report(t, "numa_scan_per_page", &scan);
	test_diag(t, "bench: numa_hint_nomigrate_ratio=%lu.%02lu", h / n, h * 100 / n % 100);
	mm_switch(NULL);

	int away = cpu_off_node(this_cpu()->node);
	if (away >= 0 && numa_policy() == NUMA_POLICY_FIRST) {
		remote = (struct remote_bench){ .mm = mm, .home = this_cpu()->node };
		struct cpumask m = { 0 };
		cpumask_set(&m, (u32)away);
		test_on_cpus(t, &m, migrate_samples, &remote);
		EXPECT_EQ(t, remote.migrated, SAMPLES);
		report(t, "numa_hint_migrate_4k", &remote.s);
	} else {
		test_diag(t, "numa_hint_migrate_4k not measured: needs a second node and numa_policy=first");
	}
	mm_switch(mm);
	EXPECT_EQ(t, check_user(USER_BASE, SCAN_PAGES, 1), 0);
	mm_switch(NULL);
	mm_destroy(mm);
	numa_stats_print("  # ");
}

TEST_SUITE_FLAGS(numa_bench, TEST_MM_AUDIT, TEST_CASE(hint_fault_costs));
