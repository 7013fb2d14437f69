#ifndef TESTS_MM_UTIL_H
#define TESTS_MM_UTIL_H

/* Helpers shared by the address-space suites. */

#include <mmulab/memory.h>
#include <mmulab/numa.h>
#include <mmulab/page.h>
#include <mmulab/test.h>
#include <arch/cpu.h>
#include <arch/tsc.h>
#include "probe.h"

#define USER_BASE 0x0000000040000000ULL

/* Free pages on every node, for "every frame came back" checks. */
struct free_snapshot {
	u64 free[MAX_NODES];
};

static inline struct free_snapshot free_snapshot(void)
{
	struct free_snapshot s = { 0 };
	for (int n = 0; n < nr_nodes(); n++)
		s.free[n] = node_free_pages(n);
	return s;
}

static inline bool expect_same_free(struct test *t, struct free_snapshot before)
{
	bool ok = true;
	for (int n = 0; n < nr_nodes(); n++)
		ok &= EXPECT_EQ(t, node_free_pages(n), before.free[n]);
	return ok;
}

/* The value a page is filled with: distinct per page and per seed. */
static inline u64 pattern(vaddr_t va, u64 seed)
{
	return (va * 0x9e3779b97f4a7c15ULL) ^ seed;
}

/* Writes / checks one u64 per 512 bytes of each page, through the loaded
 * address space. Returns the number of mismatches (or faults). */
static inline u64 fill_user(vaddr_t start, u64 pages, u64 seed)
{
	u64 bad = 0;
	for (vaddr_t va = start; va < start + pages * PAGE_SIZE; va += 512)
		bad += user_write64(va, pattern(va, seed)).vector != FAULT_NONE;
	return bad;
}

static inline u64 check_user(vaddr_t start, u64 pages, u64 seed)
{
	u64 bad = 0, v;
	for (vaddr_t va = start; va < start + pages * PAGE_SIZE; va += 512)
		bad += user_read64(va, &v).vector != FAULT_NONE || v != pattern(va, seed);
	return bad;
}

/* The frame mapped at va in mm (present or protnone), or 0. */
static inline paddr_t frame_at(struct mm *mm, vaddr_t va)
{
	pte_t *pte = pt_pte_lookup(mm->root, va);
	return pte && pte_mapped(*pte) ? pte_paddr(*pte) : 0;
}

static inline pte_t pte_at(struct mm *mm, vaddr_t va)
{
	pte_t *pte = pt_pte_lookup(mm->root, va);
	return pte ? *pte : __pte(0);
}

/* Whole-page contents: every 64-bit word of page number `page` gets its
 * own value, so a copy that drops or shifts any part of a page shows. */
static inline u64 page_pattern(u64 seed, u32 page, u32 word)
{
	return pattern(((vaddr_t)page << PAGE_SHIFT) | (word * 8), seed);
}

static inline void fill_frame(paddr_t pa, u64 seed, u32 page)
{
	u64 *w = frame_va(pa);
	for (u32 j = 0; j < PAGE_SIZE / 8; j++)
		w[j] = page_pattern(seed, page, j);
}

/* Words of the frame that differ from page's pattern, outside the bytes
 * [skip, skip_end) (a word a case or a hammer wrote on purpose). */
static inline u32 frame_diff_words(paddr_t pa, u64 seed, u32 page, u32 skip, u32 skip_end)
{
	const u64 *w = frame_va(pa);
	u32 bad = 0;
	for (u32 j = 0; j < PAGE_SIZE / 8; j++)
		bad += (j * 8 < skip || j * 8 >= skip_end) && w[j] != page_pattern(seed, page, j);
	return bad;
}

/* Words of [start, start + pages) that do not read zero, or fault: one
 * every 61 words, so every page and many offsets in it are looked at. */
static inline u64 nonzero_words(vaddr_t start, u64 pages)
{
	u64 bad = 0, v;

	for (u64 i = 0; i < pages * PAGE_SIZE / 8; i += 61)
		bad += user_read64(start + i * 8, &v).vector != FAULT_NONE || v != 0;
	return bad;
}

/* "# bench: NAME_detect_ms=" for a race case that has just caught its bug
 * (a bug switch on, or a planted mistake): how long from the case's start
 * (start_tsc) until the first loss showed. TSC time: under TCG, host
 * emulation time. */
static inline void report_detect_ms(struct test *t, const char *name, u64 start_tsc)
{
	test_diag(t, "bench: %s_detect_ms=%lu (case start to first loss; TSC, host emulation "
		  "time under TCG)", name, (rdtsc() - start_tsc) / tsc_khz());
}

#endif
