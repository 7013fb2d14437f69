/*
 * cow: mm_fork shares every page read-only; the first write on either side
 * copies (the other side keeps the old data), and a write by the last
 * sharer reuses the page in place. Reuse is decided by the reference
 * count, which is what makes pins (the pin suite) safe.
 */

#include <mmulab/audit.h>
#include "mm_util.h"

#define PAGES 16

struct pair {
	struct mm *parent, *child;
};

static struct pair forked(struct test *t, u64 seed)
{
	struct pair p = { mm_create(0), NULL };

	ASSERT_TRUE(t, p.parent != NULL);
	ASSERT_EQ(t, mm_map_anon(p.parent, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0), 0);
	mm_switch(p.parent);
	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, seed), 0);
	p.child = mm_fork(p.parent);
	ASSERT_TRUE(t, p.child != NULL);
	return p;
}

static void done(struct pair p)
{
	mm_switch(NULL);
	mm_destroy(p.child);
	mm_destroy(p.parent);
}

/* Both sides read the same data from the same frames after the fork. */
static void fork_shares(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct pair p = forked(t, 11);

	for (u32 i = 0; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		EXPECT_EQ(t, frame_at(p.child, va), frame_at(p.parent, va));
		EXPECT_FALSE(t, pte_write(pte_at(p.parent, va)));
		EXPECT_EQ(t, phys_to_page(frame_at(p.parent, va))->mapcount, 2);
	}
	mm_switch(p.child);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 11), 0);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	done(p);
	expect_same_free(t, before);
}

/* A write on one side copies; the other keeps the old data. */
static void write_copies(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct pair p = forked(t, 21);
	vaddr_t va = USER_BASE + 5 * PAGE_SIZE;
	paddr_t shared = frame_at(p.parent, va);

	mm_switch(p.child);
	EXPECT_EQ(t, user_write64(va, 0xc0ffee).vector, FAULT_NONE);
	EXPECT_EQ(t, p.child->faults.cow_copy, 1);
	EXPECT_NE(t, frame_at(p.child, va), shared);
	EXPECT_EQ(t, frame_at(p.parent, va), shared);
	mm_switch(p.parent);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 21), 0);
	u64 v;
	mm_switch(p.child);
	EXPECT_EQ(t, user_read64(va, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 0xc0ffee);
	done(p);
	expect_same_free(t, before);
}

/* Once the other side is gone, the last sharer writes in place. */
static void last_sharer_reuses(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct pair p = forked(t, 31);
	vaddr_t va = USER_BASE + 2 * PAGE_SIZE;
	paddr_t frame = frame_at(p.parent, va);

	mm_destroy(p.child);
	p.child = NULL;
	EXPECT_EQ(t, user_write64(va, 1).vector, FAULT_NONE);
	EXPECT_EQ(t, p.parent->faults.cow_reuse, 1);
	EXPECT_EQ(t, p.parent->faults.cow_copy, 0);
	EXPECT_EQ(t, frame_at(p.parent, va), frame);
	mm_switch(NULL);
	mm_destroy(p.parent);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(cow, TEST_MM_AUDIT,
	TEST_CASE(fork_shares),
	TEST_CASE(write_copies),
	TEST_CASE(last_sharer_reuses));
