#ifndef TESTS_THP_UTIL_H
#define TESTS_THP_UTIL_H

/* What the THP suites (thp, thp_race, thp_numa, thp_collapse, thp_bench,
 * lazyfree) share: looking at a PMD, a huge page faulted in, the order-9
 * blocks of a node taken away and given back. */

#include <mmulab/huge_memory.h>
#include <mmulab/percpu.h>
#include "mm_util.h"

#define HUGE_PAGES 512 /* 4 KiB pages in one huge page */

/* The PMD mapping va in mm, none when no table reaches it. */
static inline pmd_t pmd_at(struct mm *mm, vaddr_t va)
{
	pmd_t *pmd = mm_pmd_lookup(mm, va);
	return pmd ? pmdp_get(pmd) : __pmd(0);
}

/* Back to the kernel's tables, and the address space gone. */
/* The node of the huge page mapped (present) at va, or -1. */
static inline int huge_node_at(struct mm *mm, vaddr_t va)
{
	pmd_t e = pmd_at(mm, va);
	return pmd_leaf(e) ? page_to_nid(phys_to_page(pmd_huge_paddr(e))) : -1;
}

static inline void drop(struct mm *mm)
{
	mm_switch(NULL);
	mm_destroy(mm);
}

/* Faults the huge page at USER_BASE in (mm loaded) by writing the pattern
 * of seed over all of it; an ERROR when no order-9 block was free. */
static inline void fill_huge(struct test *t, struct mm *mm, u64 seed)
{
	u64 allocs = thp_stats.thp_fault_alloc;

	SETUP_TRUE(t, fill_user(USER_BASE, HUGE_PAGES, seed) == 0);
	if (thp_stats.thp_fault_alloc == allocs)
		test_error(t, "no huge page: no order-9 block free on node %u", this_cpu()->node);
	SETUP_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)));
}

/* Takes every block of order 9 and up from node (ALLOC_THISNODE) and
 * returns how many; give_back_huge_blocks(n) frees them. The record is in
 * the kernel image, never in the blocks taken: writing into them would
 * first-touch gigabytes of guest RAM, which costs seconds on this host
 * (tests/kernel/topology.c). */
#define MAX_TAKEN 8192 /* blocks take_huge_blocks records at most */
u32 take_huge_blocks(int node);
void give_back_huge_blocks(u32 n);

#endif
