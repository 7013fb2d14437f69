/*
 * pin: a pinned page keeps its frame whatever happens to the mapping, and
 * data written through the pin (a "device" on another CPU writing the
 * frame through the direct map) is what the process reads.
 */

#include <mmulab/audit.h>
#include <mmulab/gup.h>
#include <mmulab/percpu.h>
#include "live.h"

#define PAGES 4

static struct mm *populated(struct test *t)
{
	struct mm *mm = mm_create(0);

	ASSERT_TRUE(t, mm != NULL);
	ASSERT_EQ(t, mm_map_anon(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0), 0);
	mm_switch(mm);
	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, 5), 0);
	return mm;
}

static void finish(struct mm *mm)
{
	mm_switch(NULL);
	mm_destroy(mm);
}

/* mprotect R and back to RW: the pinned frame is still the one mapped. */
static void frame_survives_mprotect(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = populated(t);
	struct page *pg[PAGES];

	ASSERT_EQ(t, pin_pages(mm, USER_BASE, PAGES, true, pg), 0);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ), 0);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE), 0);
	EXPECT_EQ(t, user_write64(USER_BASE, 77).vector, FAULT_NONE);
	for (u32 i = 0; i < PAGES; i++)
		EXPECT_EQ(t, frame_at(mm, USER_BASE + i * PAGE_SIZE), page_to_phys(pg[i]));
	EXPECT_EQ(t, *(u64 *)page_address(pg[0]), 77);
	unpin_pages(pg, PAGES);
	finish(mm);
	expect_same_free(t, before);
}

/* fork, then the parent writes: the parent keeps the pinned frame (the
 * child got its own copy at fork), so the pin still sees the parent. */
static void frame_survives_fork_and_parent_write(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = populated(t);
	struct page *pg[PAGES];

	ASSERT_EQ(t, pin_pages(mm, USER_BASE, PAGES, true, pg), 0);
	struct mm *child = mm_fork(mm);
	ASSERT_TRUE(t, child != NULL);
	for (u32 i = 0; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		EXPECT_EQ(t, user_write64(va, 1000 + i).vector, FAULT_NONE);
		EXPECT_EQ(t, frame_at(mm, va), page_to_phys(pg[i]));
		EXPECT_EQ(t, *(u64 *)page_address(pg[i]), 1000 + i);
		EXPECT_NE(t, frame_at(child, va), page_to_phys(pg[i]));
	}
	mm_switch(child);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 5), 0); /* the child kept the old data */
	EXPECT_EQ(t, mm_audit("  # "), 0);
	mm_switch(mm);
	mm_destroy(child);
	unpin_pages(pg, PAGES);
	finish(mm);
	expect_same_free(t, before);
}

struct device_write {
	struct page *page;
	u64 value;
};

static void write_as_device(struct test *t, void *arg)
{
	struct device_write *d = arg;
	(void)t;
	*(volatile u64 *)page_address(d->page) = d->value;
}

/* Another CPU writes the pinned frame through the direct map; the
 * process reads it through its mapping. */
static void device_writes_visible(struct test *t)
{
	struct mm *mm = populated(t);
	struct page *pg[1];
	struct device_write d = { NULL, 0xdeadbeefcafeULL };
	u64 v = 0;

	ASSERT_EQ(t, pin_pages(mm, USER_BASE, 1, true, pg), 0);
	d.page = pg[0];
	int other = test_other_cpu();
	struct cpumask m = { 0 };
	cpumask_set(&m, other >= 0 ? (u32)other : this_cpu()->id);
	test_on_cpus(t, &m, write_as_device, &d);
	EXPECT_EQ(t, user_read64(USER_BASE, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, d.value);
	unpin_pages(pg, 1);
	finish(mm);
}

/* --- live address space (live.h) --- */

struct fork_op {
	struct mm *parent, *child;
};

static void op_fork(struct test *t, void *arg)
{
	struct fork_op *f = arg;
	(void)t;
	f->child = mm_fork(f->parent);
}

/* Hammers read and write the pinned pages while this CPU forks. A pinned
 * page stays the parent's, writable: no hammer write faults into a COW
 * copy after the fork, every hammer write reaches the pinned frame (the
 * pin's holder sees it), and the child's copy equals the page in every
 * byte but the hammers' words. */
static void live_pinned_keeps_contents_through_fork(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = populated(t);
	struct page *pg[PAGES];
	static struct live l;
	struct fork_op f = { mm, NULL };

	ASSERT_EQ(t, pin_pages(mm, USER_BASE, PAGES, true, pg), 0);
	for (u32 i = 0; i < PAGES; i++)
		fill_frame(page_to_phys(pg[i]), 15, i);
	mm_switch(NULL);
	live_init(t, &l, mm, USER_BASE, PAGES, LIVE_READ | LIVE_WRITE);
	live_run(t, &l, op_fork, &f);
	ASSERT_TRUE(t, f.child != NULL);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	EXPECT_EQ(t, mm->faults.cow_copy, 0);
	u32 words_end = (u32)(live_word(&l, l.nr_hammers, 0) - USER_BASE);
	for (u32 i = 0; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		EXPECT_EQ(t, frame_at(mm, va), page_to_phys(pg[i]));
		EXPECT_EQ(t, frame_diff_words(page_to_phys(pg[i]), 15, i, 64, words_end), 0);
		EXPECT_EQ(t, frame_diff_words(frame_at(f.child, va), 15, i, 64, words_end), 0);
		for (u32 h = 0; h < l.nr_hammers; h++)
			EXPECT_EQ(t, *(u64 *)((u8 *)page_address(pg[i]) + 64 + 8 * h), l.h[h].last[i]);
	}
	mm_switch(mm);
	live_expect_last_writes_visible(t, &l);
	mm_destroy(f.child);
	unpin_pages(pg, PAGES);
	finish(mm);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(pin, TEST_MM_AUDIT,
	TEST_CASE(frame_survives_mprotect),
	TEST_CASE(frame_survives_fork_and_parent_write),
	TEST_CASE(device_writes_visible),
	TEST_CASE(live_pinned_keeps_contents_through_fork));
