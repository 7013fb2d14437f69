/*
 * thp_collapse: 4 KiB pages back into a huge PMD (thp_collapse, like
 * MADV_COLLAPSE), and pins across the splits that break a huge PMD up.
 *
 * What: thp_collapse copies 512 present, unshared, unpinned 4 KiB pages
 * of one 2 MiB range into a fresh order-9 page and maps it with one huge
 * PMD whose deposit is the old PTE table; it refuses a range with a pinned
 * sub-page (the pin would keep a frame the address space no longer maps)
 * or a missing entry. A pin of a huge sub-page must keep following its
 * owner through the split a fork or a partial mprotect makes.
 *
 * How: each case reads every page's pattern back after the operation,
 * looks at the PMD and the PTEs, compares every node's free count exactly
 * (the suite runs the audit after each case: one deposit per huge PMD,
 * table pages, map counts). A pin is written through the kernel's own
 * mapping of the pinned frame and read back through the owner's mapping.
 *
 * Which bugs: a collapse that loses data or leaks the old pages or its
 * table (collapse_round_trip, collapse_of_faulted_4k), one that takes a
 * pinned sub-page along (collapse_refuses_pinned), one that fills a hole
 * (collapse_refuses_missing), a split that leaves a pinned page with the
 * child or behind a COW (pin_then_fork_split, pin_then_partial_mprotect).
 */

#include <mmulab/audit.h>
#include <mmulab/gup.h>
#include <mmulab/huge_memory.h>
#include <mmulab/percpu.h>
#include "mm_util.h"
#include "thp_util.h"


/* 4 MiB of huge-page memory at USER_BASE, loaded here, its first 2 MiB
 * filled with the pattern of seed: huge unless `small`. */
static struct mm *filled_mm(struct test *t, u64 seed, bool small)
{
	struct mm *mm = mm_create(this_cpu()->node);
	enum thp_mode was = thp_set_mode(small ? THP_NEVER : THP_MADVISE);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE, VMA_HUGE_OK) == 0);
	mm_switch(mm);
	u64 bad = fill_user(USER_BASE, HUGE_PAGES, seed);
	thp_set_mode(was);
	SETUP_TRUE(t, bad == 0);
	SETUP_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)) == !small);
	return mm;
}

/* Split, then collapse: one huge PMD again over a new frame, every byte
 * the same, the old 512 pages freed and 512 taken (same node: the free
 * counts come back exactly), the deposit the old table (no table more or
 * less), the collapse counted. */
static void collapse_round_trip(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = filled_mm(t, 31, false);
	paddr_t first = pmd_huge_paddr(pmd_at(mm, USER_BASE));
	u64 collapses = thp_stats.thp_collapse_alloc;

	SETUP_TRUE(t, mm_split_huge_pmd(mm, USER_BASE));
	struct free_snapshot split = free_snapshot();
	u64 tables = mm->table_pages;
	EXPECT_EQ(t, thp_collapse(mm, USER_BASE + 7 * PAGE_SIZE), COLLAPSE_DONE);
	pmd_t e = pmd_at(mm, USER_BASE);
	EXPECT_TRUE(t, pmd_leaf(e) && pmd_write(e) && pmd_dirty(e));
	EXPECT_NE(t, pmd_huge_paddr(e), first);
	EXPECT_EQ(t, page_to_nid(phys_to_page(pmd_huge_paddr(e))), this_cpu()->node);
	EXPECT_EQ(t, thp_stats.thp_collapse_alloc - collapses, 1);
	EXPECT_EQ(t, mm->table_pages, tables);
	expect_same_free(t, split);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 31), 0);
	/* And it is a huge page like any other: a write, a split again. */
	EXPECT_EQ(t, user_write64(USER_BASE, pattern(USER_BASE, 31)).vector, FAULT_NONE);
	EXPECT_TRUE(t, mm_split_huge_pmd(mm, USER_BASE));
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 31), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* 512 pages faulted in one by one (huge pages off): the collapse works on
 * any frames, not only on a split huge page's. */
static void collapse_of_faulted_4k(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = filled_mm(t, 32, true);

	EXPECT_EQ(t, thp_collapse(mm, USER_BASE), COLLAPSE_DONE);
	EXPECT_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)));
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 32), 0);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* A pinned sub-page: refused, nothing changed, the pin still the frame
 * mapped at its address (a collapse would leave it behind). */
static void collapse_refuses_pinned(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = filled_mm(t, 33, false);
	vaddr_t va = USER_BASE + 100 * PAGE_SIZE;
	u64 collapses = thp_stats.thp_collapse_alloc;
	struct page *pin;

	SETUP_TRUE(t, mm_split_huge_pmd(mm, USER_BASE));
	SETUP_TRUE(t, pin_pages(mm, va, 1, true, &pin) == 0);
	struct free_snapshot pinned = free_snapshot();
	EXPECT_EQ(t, thp_collapse(mm, USER_BASE), COLLAPSE_BUSY);
	EXPECT_EQ(t, thp_stats.thp_collapse_alloc, collapses);
	EXPECT_FALSE(t, pmd_trans_huge(pmd_at(mm, USER_BASE)));
	EXPECT_EQ(t, frame_at(mm, va), page_to_phys(pin));
	expect_same_free(t, pinned);
	*(volatile u64 *)page_address(pin) = 0x5157;
	u64 v = 0;
	EXPECT_EQ(t, user_read64(va, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 0x5157);
	unpin_pages(&pin, 1);
	drop(mm);
	expect_same_free(t, before);
}

/* A hole (one page DONTNEEDed) is not filled by a collapse. */
static void collapse_refuses_missing(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = filled_mm(t, 34, false);

	SETUP_TRUE(t, mm_dontneed(mm, USER_BASE + 3 * PAGE_SIZE, PAGE_SIZE) == 0);
	EXPECT_EQ(t, thp_collapse(mm, USER_BASE), COLLAPSE_NOT_PRESENT);
	EXPECT_FALSE(t, pmd_trans_huge(pmd_at(mm, USER_BASE)));
	EXPECT_EQ(t, pte_val(pte_at(mm, USER_BASE + 3 * PAGE_SIZE)), 0);
	EXPECT_EQ(t, thp_collapse(mm, USER_BASE + PMD_SIZE), COLLAPSE_NOT_TABLE);
	drop(mm);
	expect_same_free(t, before);
}

/* A write through the pin, then a read through the owner's mapping. */
static void expect_pin_is_mapped(struct test *t, struct mm *mm, vaddr_t va, struct page *pin,
				 u64 value)
{
	u64 v = 0;

	mm_switch(mm);
	EXPECT_EQ(t, frame_at(mm, va), page_to_phys(pin));
	*(volatile u64 *)page_address(pin) = value;
	EXPECT_EQ(t, user_read64(va, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, value);
}

/* A pinned huge sub-page, then fork: the huge PMD cannot be shared (the
 * pinned page must stay the parent's), so the parent's PMD is split and
 * the child gets a copy of that page; the parent's writes need no COW
 * and the pin keeps seeing them, the child keeps the old data. */
static void pin_then_fork_split(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *parent = filled_mm(t, 35, false);
	vaddr_t va = USER_BASE + 5 * PAGE_SIZE;
	struct page *pin;

	SETUP_TRUE(t, pin_pages(parent, va, 1, true, &pin) == 0);
	struct mm *child = mm_fork(parent);
	ASSERT_TRUE(t, child != NULL);
	EXPECT_FALSE(t, pmd_trans_huge(pmd_at(parent, USER_BASE)));
	EXPECT_NE(t, frame_at(child, va), page_to_phys(pin));
	expect_pin_is_mapped(t, parent, va, pin, 0xf00d);
	EXPECT_EQ(t, user_write64(va + 8, 0xbeef).vector, FAULT_NONE);
	EXPECT_EQ(t, parent->faults.cow_copy, 0);
	EXPECT_EQ(t, ((volatile u64 *)page_address(pin))[1], 0xbeef);
	EXPECT_EQ(t, check_user(USER_BASE + 6 * PAGE_SIZE, HUGE_PAGES - 6, 35), 0);
	mm_switch(child);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 35), 0);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	unpin_pages(&pin, 1);
	drop(child);
	drop(parent);
	expect_same_free(t, before);
}

/* A pinned huge sub-page, then mprotect of its neighbour: the split keeps
 * the pinned frame at its address, writable. */
static void pin_then_partial_mprotect(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = filled_mm(t, 36, false);
	vaddr_t va = USER_BASE + 5 * PAGE_SIZE;
	struct page *pin;

	SETUP_TRUE(t, pin_pages(mm, va, 1, true, &pin) == 0);
	EXPECT_EQ(t, mm_protect(mm, va + PAGE_SIZE, PAGE_SIZE, VM_READ), 0);
	EXPECT_FALSE(t, pmd_trans_huge(pmd_at(mm, USER_BASE)));
	expect_pin_is_mapped(t, mm, va, pin, 0xcafe);
	EXPECT_EQ(t, user_write64(va + 8, 0xd00d).vector, FAULT_NONE);
	EXPECT_EQ(t, ((volatile u64 *)page_address(pin))[1], 0xd00d);
	unpin_pages(&pin, 1);
	drop(mm);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(thp_collapse, TEST_MM_AUDIT,
	TEST_CASE(collapse_round_trip),
	TEST_CASE(collapse_of_faulted_4k),
	TEST_CASE(collapse_refuses_pinned),
	TEST_CASE(collapse_refuses_missing),
	TEST_CASE(pin_then_fork_split),
	TEST_CASE(pin_then_partial_mprotect));
