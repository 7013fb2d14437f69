/*
 * cow: mm_fork shares every page read-only; the first write on either side
 * copies (the other side keeps the old data), and a write by the last
 * sharer reuses the page in place. Reuse is decided by the reference
 * count, which is what makes pins (the pin suite) safe.
 */

#include <mmulab/audit.h>
#include <mmulab/gup.h>
#include "live.h"

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

/* --- live address space (live.h) --- */

static void op_fork(struct test *t, void *arg)
{
	struct pair *p = arg;
	(void)t;
	p->child = mm_fork(p->parent);
}

/* Hammers write the parent's pages while this CPU forks. Once mm_fork
 * returned, a hammer's write must fault and copy (its cached writable
 * translation was shot down) rather than land in the frame the child now
 * shares: every page is copied exactly once for the parent, and the child
 * holds no value a hammer wrote after it saw the fork return. */
static void live_fork_write_protects_parent(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct pair p = { mm_create(0), NULL };
	static struct live l;

	SETUP_TRUE(t, p.parent != NULL);
	SETUP_TRUE(t, mm_map_anon(p.parent, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(p.parent);
	SETUP_TRUE(t, fill_user(USER_BASE, PAGES, 41) == 0);
	mm_switch(NULL);
	live_init(t, &l, p.parent, USER_BASE, PAGES, LIVE_READ | LIVE_WRITE);
	live_run(t, &l, op_fork, &p);
	ASSERT_TRUE(t, p.child != NULL);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	EXPECT_EQ(t, p.parent->faults.cow_copy, PAGES);
	for (u32 i = 0; i < l.nr_hammers; i++)
		for (u32 pg = 0; pg < PAGES; pg++) {
			paddr_t f = frame_at(p.child, live_word(&l, i, pg));
			u64 v = *(u64 *)((u8 *)frame_va(f) + (live_word(&l, i, pg) & (PAGE_SIZE - 1)));
			u64 limit = live_value(i, l.h[i].seq_at_return);
			if (!EXPECT_LE(t, v, limit))
				test_diag(t, "page %u: the child sees hammer CPU %u's write made after "
					  "the fork returned", pg, l.h[i].cpu);
		}
	mm_switch(p.parent);
	live_expect_last_writes_visible(t, &l);
	done(p);
	expect_same_free(t, before);
}

struct cow_write {
	struct pair *p;
	struct live *l;
};

/* Writes the expected value to every hammer's word of every page: one
 * COW copy per page, on this CPU. */
static void op_cow_writes(struct test *t, void *arg)
{
	struct cow_write *w = arg;

	mm_switch(w->p->parent);
	for (u32 i = 0; i < w->l->nr_hammers; i++)
		for (u32 pg = 0; pg < PAGES; pg++)
			EXPECT_EQ(t, user_write64(live_word(w->l, i, pg), w->l->expect_after).vector,
				  FAULT_NONE);
	mm_switch(NULL);
}

/* After fork, hammers read the parent's shared pages (their TLBs hold the
 * read-only translations of the shared frames) while this CPU writes
 * every page, copying it. Once the writes returned, a hammer read must
 * see the new value: the copy replaced the translation and shot down the
 * old one. Reading the old frame (still the child's, so never freed) is
 * the stale read a COW without its flush allows. */
static void live_cow_copy_seen_by_other_cpus(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct pair p = forked(t, 51);
	static struct live l;
	struct cow_write w = { &p, &l };

	mm_switch(NULL);
	live_init(t, &l, p.parent, USER_BASE, PAGES, LIVE_READ);
	l.check_expect = true;
	l.expect_after = 0x5eed5eed5eedULL;
	live_run(t, &l, op_cow_writes, &w);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	EXPECT_EQ(t, p.parent->faults.cow_copy, PAGES);
	mm_switch(p.child);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 51), 0);
	done(p);
	expect_same_free(t, before);
}

/* --- contents --- */

/* A COW copy equals its source in every byte: whole pages filled with a
 * per-page pattern, the child writes one word of each, and every other
 * word of its copy must equal the parent's page. */
static void cow_copy_whole_page(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct pair p = forked(t, 61);
	const u32 word = 200 * 8;

	for (u32 i = 0; i < PAGES; i++)
		fill_frame(frame_at(p.parent, USER_BASE + i * PAGE_SIZE), 61, i);
	mm_switch(p.child);
	for (u32 i = 0; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		EXPECT_EQ(t, user_write64(va + word, 7).vector, FAULT_NONE);
		paddr_t copy = frame_at(p.child, va);
		SETUP_TRUE(t, copy != frame_at(p.parent, va));
		EXPECT_EQ(t, frame_diff_words(copy, 61, i, word, word + 8), 0);
		EXPECT_EQ(t, frame_diff_words(frame_at(p.parent, va), 61, i, 0, 0), 0);
	}
	EXPECT_EQ(t, p.child->faults.cow_copy, PAGES);
	done(p);
	expect_same_free(t, before);
}

/* --- reference count vs map count in the write fault --- */

/* A parent whose child is gone: one mapping, a read-only entry. */
static struct mm *sole_mapping_read_only(struct test *t, u64 seed)
{
	struct pair p = forked(t, seed);

	mm_destroy(p.child);
	for (u32 i = 0; i < PAGES; i++)
		fill_frame(frame_at(p.parent, USER_BASE + i * PAGE_SIZE), seed, i);
	SETUP_TRUE(t, !pte_write(pte_at(p.parent, USER_BASE)));
	SETUP_TRUE(t, phys_to_page(frame_at(p.parent, USER_BASE))->mapcount == 1);
	return p.parent;
}

/* Map count 1 but a second reference (a read pin), read-only entry: the
 * write must copy. The map count says "only user", the reference count
 * does not; reusing would let the write reach the pinned frame, whose
 * holder keeps the old data. */
static void write_copies_when_pinned_despite_mapcount_1(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = sole_mapping_read_only(t, 71);
	struct page *pin[1];

	SETUP_TRUE(t, pin_pages(mm, USER_BASE, 1, false, pin) == 0);
	SETUP_TRUE(t, pin[0]->refcount == 2 && pin[0]->mapcount == 1);
	EXPECT_EQ(t, user_write64(USER_BASE, 0xabc).vector, FAULT_NONE);
	EXPECT_EQ(t, mm->faults.cow_copy, 1);
	EXPECT_EQ(t, mm->faults.cow_reuse, 0);
	EXPECT_NE(t, frame_at(mm, USER_BASE), page_to_phys(pin[0]));
	EXPECT_EQ(t, frame_diff_words(page_to_phys(pin[0]), 71, 0, 0, 0), 0);
	EXPECT_EQ(t, frame_diff_words(frame_at(mm, USER_BASE), 71, 0, 0, 8), 0);
	unpin_pages(pin, 1);
	mm_switch(NULL);
	mm_destroy(mm);
	expect_same_free(t, before);
}

/* The converse: map count 1, reference count 1, read-only entry: the
 * write reuses the frame in place, nothing copied. */
static void write_reuses_when_sole_reference(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = sole_mapping_read_only(t, 81);
	paddr_t frame = frame_at(mm, USER_BASE);

	SETUP_TRUE(t, phys_to_page(frame)->refcount == 1);
	EXPECT_EQ(t, user_write64(USER_BASE, 0xdef).vector, FAULT_NONE);
	EXPECT_EQ(t, mm->faults.cow_reuse, 1);
	EXPECT_EQ(t, mm->faults.cow_copy, 0);
	EXPECT_EQ(t, frame_at(mm, USER_BASE), frame);
	EXPECT_EQ(t, frame_diff_words(frame, 81, 0, 0, 8), 0);
	mm_switch(NULL);
	mm_destroy(mm);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(cow, TEST_MM_AUDIT,
	TEST_CASE(fork_shares),
	TEST_CASE(write_copies),
	TEST_CASE(last_sharer_reuses),
	TEST_CASE(live_fork_write_protects_parent),
	TEST_CASE(live_cow_copy_seen_by_other_cpus),
	TEST_CASE(cow_copy_whole_page),
	TEST_CASE(write_copies_when_pinned_despite_mapcount_1),
	TEST_CASE(write_reuses_when_sole_reference));
