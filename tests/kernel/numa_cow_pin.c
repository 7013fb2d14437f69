/*
 * numa_cow_pin: seed 004. A private page whose fork child has exited (map
 * count 1 again) is pinned for "DMA". The scanner must leave it alone: its
 * reference count (mapping + pin) says it has another user. With
 * bugs=numa_cow_mapcount the map count decides, the page is hinted, the
 * hint fault restores it read-only, the process's next write takes the
 * COW path (the pin makes the reference count 2), and the process maps a
 * copy while the "device" (another CPU writing the pinned frame through
 * the direct map) writes the old one: the two diverge and this suite
 * fails. Also: pinned pages never migrate; unpinned, unshared ones do.
 */

#include <mmulab/gup.h>
#include "live.h"
#include "numa_util.h"

struct device {
	struct page *page;
	u64 value;
};

static void device_write(struct test *t, void *arg)
{
	struct device *d = arg;
	(void)t;
	*(volatile u64 *)page_address(d->page) = d->value;
}

static struct mm *child_exited(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	EXPECT_EQ(t, user_write64(USER_BASE, 1).vector, FAULT_NONE);
	struct mm *child = mm_fork(mm);
	SETUP_TRUE(t, child != NULL);
	mm_destroy(child);
	EXPECT_EQ(t, phys_to_page(frame_at(mm, USER_BASE))->mapcount, 1);
	return mm;
}

static void pinned_page_never_diverges(struct test *t)
{
	struct mm *mm = child_exited(t);
	struct page *pin[1];
	static struct device d;
	u64 v = 0;

	ASSERT_EQ(t, pin_pages(mm, USER_BASE, 1, true, pin), 0);
	paddr_t pinned = page_to_phys(pin[0]);
	u64 hinted = numa_scan(mm, USER_BASE, USER_BASE + PAGE_SIZE);
	test_diag(t, "scanner hinted %lu pinned page(s)", hinted);
	EXPECT_EQ(t, hinted, 0);
	EXPECT_EQ(t, user_read64(USER_BASE, &v).vector, FAULT_NONE); /* a hint fault, if hinted */
	EXPECT_EQ(t, user_write64(USER_BASE, 2).vector, FAULT_NONE); /* the process writes */
	d = (struct device){ pin[0], 0xd3a };
	int other = test_other_cpu();
	struct cpumask m = { 0 };
	cpumask_set(&m, other >= 0 ? (u32)other : this_cpu()->id);
	test_on_cpus(t, &m, device_write, &d); /* the device writes */
	EXPECT_EQ(t, user_read64(USER_BASE, &v).vector, FAULT_NONE);
	if (!EXPECT_EQ(t, v, d.value) || !EXPECT_EQ(t, frame_at(mm, USER_BASE), pinned))
		test_diag(t, "process maps P0x%lx, the pin holds P0x%lx: they diverged",
			  frame_at(mm, USER_BASE), pinned);
	unpin_pages(pin, 1);
	mm_switch(NULL);
	mm_destroy(mm);
}

/* The same without the pin: the page is hinted, as it should be. */
static void unpinned_page_is_hinted(struct test *t)
{
	struct mm *mm = child_exited(t);

	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + PAGE_SIZE), 1);
	mm_switch(NULL);
	mm_destroy(mm);
}

/* An explicit move is a pgmigrate_success, never a numa_pages_migrated
 * (which, as in Linux, counts hint-fault migrations only). */
static void pinned_never_migrates_unpinned_does(struct test *t)
{
	int away_cpu = cpu_off_node(this_cpu()->node);

	if (away_cpu < 0)
		test_skip(t, "needs two nodes with memory");
	struct mm *mm = child_exited(t);
	struct page *pin[1];
	int away = cpus[away_cpu].node;
	u64 refused = numa_stats.migrate_refused_pinned;
	u64 success = numa_stats.pgmigrate_success, hint_moves = numa_stats.numa_pages_migrated;
	ASSERT_EQ(t, pin_pages(mm, USER_BASE, 1, true, pin), 0);
	paddr_t pinned = page_to_phys(pin[0]);
	EXPECT_EQ(t, migrate_pages(mm, USER_BASE, USER_BASE + PAGE_SIZE, away), 0);
	EXPECT_EQ(t, numa_stats.migrate_refused_pinned - refused, 1);
	EXPECT_EQ(t, frame_at(mm, USER_BASE), pinned);
	unpin_pages(pin, 1);
	EXPECT_EQ(t, user_write64(USER_BASE, 0x5151).vector, FAULT_NONE);
	EXPECT_EQ(t, migrate_pages(mm, USER_BASE, USER_BASE + PAGE_SIZE, away), 1);
	EXPECT_EQ(t, node_at(mm, USER_BASE), away);
	EXPECT_EQ(t, numa_stats.pgmigrate_success - success, 1);
	EXPECT_EQ(t, numa_stats.numa_pages_migrated - hint_moves, 0);
	u64 v = 0;
	EXPECT_EQ(t, user_read64(USER_BASE, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 0x5151);
	mm_switch(NULL);
	mm_destroy(mm);
}

/* --- pages shared after fork --- */

#define SHARED_PAGES 8
#define SHARED_VALUE 0x5ba4edULL

/* A parent whose pages hold SHARED_VALUE in every hammer's word, and its
 * fork child: every page is COW-shared (reference count 2). */
static struct mm *parent_with_words(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, SHARED_PAGES * PAGE_SIZE, VM_READ | VM_WRITE,
				  0) == 0);
	mm_switch(mm);
	for (u32 p = 0; p < SHARED_PAGES; p++)
		for (u32 h = 0; h < LIVE_MAX_HAMMERS; h++)
			SETUP_TRUE(t, user_write64(USER_BASE + p * PAGE_SIZE + 64 + 8 * h,
						   SHARED_VALUE).vector == FAULT_NONE);
	mm_switch(NULL);
	return mm;
}

/* A page shared with a fork child has another user: the scanner leaves
 * it alone (the migration it could lead to would be refused anyway, and
 * the hint fault would cost the process a fault for nothing). Checked
 * where it shows: hammers keep the parent loaded and read the pages while
 * the scan runs and after it returns; none of them may take a hint fault,
 * and parent and child still map the same frames, the child reading the
 * same contents. A scanner that counts only pins as other
 * users hints them all, and the hammers fault. */
static void shared_page_never_hinted(struct test *t)
{
	struct mm *mm = parent_with_words(t);
	struct mm *child = mm_fork(mm);
	static struct live l;
	struct scan_op o = { mm, SHARED_PAGES, 0 };

	SETUP_TRUE(t, child != NULL);
	live_init(t, &l, mm, USER_BASE, SHARED_PAGES, LIVE_READ);
	l.check_expect = true;
	l.expect_after = SHARED_VALUE;
	u64 hints_before = numa_stats.numa_hint_faults;
	live_run(t, &l, op_scan, &o);
	u64 hints = numa_stats.numa_hint_faults - hints_before;
	test_diag(t, "%lu shared pages hinted, %lu hint faults", o.hinted, hints);
	EXPECT_EQ(t, o.hinted, 0);
	EXPECT_EQ(t, hints, 0);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	mm_switch(child);
	for (u32 p = 0; p < SHARED_PAGES; p++) {
		vaddr_t va = USER_BASE + p * PAGE_SIZE;
		u64 v = 0;
		EXPECT_EQ(t, frame_at(child, va), frame_at(mm, va));
		EXPECT_EQ(t, user_read64(va + 64, &v).vector, FAULT_NONE);
		EXPECT_EQ(t, v, SHARED_VALUE);
	}
	mm_switch(NULL);
	mm_destroy(child);
	mm_destroy(mm);
}

struct child_view {
	struct mm *mm;
	u64 bad;
};

/* Every word of the child's page, through its own address space. */
static void child_reads_page(struct test *t, void *arg)
{
	struct child_view *c = arg;
	(void)t;
	mm_switch(c->mm);
	for (u32 j = 0; j < PAGE_SIZE / 8; j++) {
		u64 v = 0;
		c->bad += user_read64(USER_BASE + 8 * j, &v).vector != FAULT_NONE ||
			  v != page_pattern(66, 0, j);
	}
	mm_switch(NULL);
}

/* A hint that outlives a fork: the page is hinted while exclusive, then
 * the fork shares it (both entries protnone, reference count 2). The
 * parent's read takes the hint fault; even with numa_restore_write=on
 * (set here for the case's duration) the entry must come back read-only,
 * since the page is not exclusive, so the parent's write copies it. The
 * child, loaded on another CPU afterwards (its own hint fault may move
 * the page there), still reads the old page in every word; the parent's copy holds the old page plus its one write. A
 * restore that grants write unconditionally lets the parent write the
 * shared frame, and the child sees it. */
static void hint_fault_keeps_shared_page_read_only(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);
	u64 v = 0;

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, user_write64(USER_BASE, 1).vector == FAULT_NONE);
	paddr_t shared = frame_at(mm, USER_BASE);
	fill_frame(shared, 66, 0);
	SETUP_TRUE(t, numa_scan(mm, USER_BASE, USER_BASE + PAGE_SIZE) == 1);
	struct mm *child = mm_fork(mm);
	SETUP_TRUE(t, child != NULL);
	SETUP_TRUE(t, pte_protnone(pte_at(mm, USER_BASE)) && pte_protnone(pte_at(child, USER_BASE)));
	SETUP_TRUE(t, frame_at(child, USER_BASE) == shared);

	struct fault_counters before = mm->faults;
	u64 hints_before = numa_stats.numa_hint_faults;
	numa_restore_write_set(true);
	EXPECT_EQ(t, user_read64(USER_BASE, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, page_pattern(66, 0, 0));
	EXPECT_EQ(t, numa_stats.numa_hint_faults - hints_before, 1);
	EXPECT_EQ(t, user_write64(USER_BASE + 8, 0xbad).vector, FAULT_NONE);
	numa_restore_write_reset();
	EXPECT_EQ(t, mm->faults.cow_copy - before.cow_copy, 1);

	static struct child_view cv;
	int other = test_other_cpu();
	struct cpumask m = { 0 };
	cv = (struct child_view){ child, 0 };
	cpumask_set(&m, other >= 0 ? (u32)other : this_cpu()->id);
	test_on_cpus(t, &m, child_reads_page, &cv);
	if (!EXPECT_EQ(t, cv.bad, 0))
		test_diag(t, "the child read %lu words other than its page's (the parent's write "
			  "reached it)", cv.bad);
	paddr_t copy = frame_at(mm, USER_BASE);
	EXPECT_NE(t, copy, shared);
	EXPECT_EQ(t, ((u64 *)frame_va(copy))[1], 0xbad);
	EXPECT_EQ(t, frame_diff_words(copy, 66, 0, 8, 16), 0);
	mm_switch(NULL);
	mm_destroy(child);
	mm_destroy(mm);
}

TEST_SUITE_FLAGS(numa_cow_pin, TEST_MM_AUDIT,
	TEST_CASE(pinned_page_never_diverges),
	TEST_CASE(unpinned_page_is_hinted),
	TEST_CASE(pinned_never_migrates_unpinned_does),
	TEST_CASE(shared_page_never_hinted),
	TEST_CASE(hint_fault_keeps_shared_page_read_only));
