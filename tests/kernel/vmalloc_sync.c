/*
 * vmalloc_sync: seed 002 on real tables. An address space created before a
 * vmalloc that needed a new top-level entry lacks that entry. In lazy mode
 * the first kernel access from it faults once and the fault copies the
 * entry; in prealloc and eager modes it never faults. With the sync
 * skipped (bugs=vmalloc_no_sync) or the 2020 preallocation at the wrong
 * level (bugs=vmalloc_prealloc_wrong_level, with vmalloc_sync=prealloc)
 * the access is an unexpected kernel fault on the reading CPU, and the
 * case fails with it decoded.
 */

#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <mmulab/vmalloc.h>
#include "mm_util.h"

#define PAGES 4

struct reader {
	struct mm *mm;
	u64 *data;
	u64 pages;
	u64 seed;
	u64 mismatches;
	u64 syncs_first, syncs_again;
};

/* Runs on the reading CPU: load the old address space, read everything
 * twice (plain reads: a fault nobody fixes is reported by the harness). */
static void read_in_old_space(struct test *t, void *arg)
{
	struct reader *r = arg;
	u64 words = r->pages * PAGE_SIZE / 8;

	(void)t;
	mm_switch(r->mm);
	for (u64 i = 0; i < words; i += 64)
		r->mismatches += ((volatile u64 *)r->data)[i] != pattern(i, r->seed);
	r->syncs_first = r->mm->faults.vmalloc_sync;
	for (u64 i = 0; i < words; i += 64)
		r->mismatches += ((volatile u64 *)r->data)[i] != pattern(i, r->seed);
	r->syncs_again = r->mm->faults.vmalloc_sync;
	mm_switch(NULL);
}

static void fill(u64 *data, u64 pages, u64 seed)
{
	for (u64 i = 0; i < pages * PAGE_SIZE / 8; i += 64)
		data[i] = pattern(i, seed);
}

static struct cpumask reading_cpu(void)
{
	struct cpumask m = { 0 };
	int other = test_other_cpu();
	cpumask_set(&m, other >= 0 ? (u32)other : this_cpu()->id);
	return m;
}

/* Exactly one sync fault in lazy mode, none in the others, and the data
 * reads back either way. */
static void new_top_level_entry(struct test *t)
{
	static struct reader r;
	struct mm *old = mm_create(0);
	u64 expect = vmalloc_mode() == VMALLOC_SYNC_LAZY ? 1 : 0;

	ASSERT_TRUE(t, old != NULL);
	u64 *data = vmalloc_aligned(PAGES * PAGE_SIZE, VMALLOC_SLOT_SIZE);
	ASSERT_TRUE(t, data != NULL);
	fill(data, PAGES, 0x5eed);
	r = (struct reader){ old, data, PAGES, 0x5eed, 0, 0, 0 };
	struct cpumask m = reading_cpu();
	test_on_cpus(t, &m, read_in_old_space, &r);
	test_diag(t, "mode %s: %lu sync faults on first access, %lu more after",
		  vmalloc_mode_name(vmalloc_mode()), r.syncs_first, r.syncs_again - r.syncs_first);
	EXPECT_EQ(t, r.syncs_first, expect);
	EXPECT_EQ(t, r.syncs_again, r.syncs_first);
	EXPECT_EQ(t, r.mismatches, 0);
	mm_destroy(old);
	vfree(data);
}

struct all_read {
	u64 *data;
	u64 seed;
	u64 mismatches[MAX_CPUS];
};

static void read_everywhere(struct test *t, void *arg)
{
	struct all_read *a = arg;

	(void)t;
	for (u64 i = 0; i < PAGES * PAGE_SIZE / 8; i += 64)
		a->mismatches[this_cpu()->id] += ((volatile u64 *)a->data)[i] != pattern(i, a->seed);
}

/* vfree then vmalloc at the same address: every CPU, each of which had
 * the old pages in its TLB, reads the new data. */
static void reuse_reads_new_data(struct test *t)
{
	static struct all_read a;
	u64 *first = vmalloc(PAGES * PAGE_SIZE);

	ASSERT_TRUE(t, first != NULL);
	fill(first, PAGES, 1);
	a = (struct all_read){ first, 1, { 0 } };
	test_on_cpus(t, &cpu_online_mask, read_everywhere, &a);
	vfree(first);
	u64 *second = vmalloc(PAGES * PAGE_SIZE);
	ASSERT_TRUE(t, second == first);
	fill(second, PAGES, 2);
	a = (struct all_read){ second, 2, { 0 } };
	test_on_cpus(t, &cpu_online_mask, read_everywhere, &a);
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (!EXPECT_EQ(t, a.mismatches[cpu], 0))
			test_diag(t, "cpu%u read the freed pages' data", cpu);
	vfree(second);
}

TEST_SUITE_FLAGS(vmalloc_sync, TEST_MM_AUDIT,
	TEST_CASE(new_top_level_entry),
	TEST_CASE(reuse_reads_new_data));
