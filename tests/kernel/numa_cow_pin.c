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

TEST_SUITE_FLAGS(numa_cow_pin, TEST_MM_AUDIT,
	TEST_CASE(pinned_page_never_diverges),
	TEST_CASE(unpinned_page_is_hinted),
	TEST_CASE(pinned_never_migrates_unpinned_does));
