/*
 * lazyfree: MADV_FREE-like lazy freeing and its reclaim pass (mm_lazyfree,
 * reclaim_lazyfree), on 4 KiB pages and on whole huge PMDs; and thp_race's
 * writer racing the split's Dirty read, the 4.14 bug lazy freeing makes
 * visible.
 *
 * What: a lazily freed page stays mapped with a clean entry; reclaim frees
 * it while the entry is still clean (the address then reads zero, from a
 * fresh demand-zero page) and keeps it, data and all, once a write has set
 * D. A huge page is dropped whole or kept whole.
 *
 * How: each case writes a pattern, lazy-frees, maybe writes again, runs the
 * reclaim pass, then reads everything back through the translation and
 * counts the frames that came back (exact free counts, summed over the
 * nodes; the tables stay, so only pages move). The suite runs the audit
 * after every case.
 *
 * Which bugs: a reclaim that frees a written page (data lost), one that
 * frees nothing or leaks the frames (counts), a lazy free that leaves D set
 * (nothing is reclaimed), and with bugs=thp_read_ad_before_invalidate the
 * split that drops a D bit set between its read and its store
 * (thp_race.writer_races_split_ad).
 */

#include <mmulab/huge_memory.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <arch/cpu.h>
#include "mm_util.h"
#include "thp_util.h"

#define SMALL_PAGES 4

static u64 free_total(void)
{
	u64 n = 0;

	for (int node = 0; node < nr_nodes(); node++)
		n += node_free_pages(node);
	return n;
}

static struct mm *lazy_mm(struct test *t, u64 len, u32 flags)
{
	struct mm *mm = mm_create(0);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, len, VM_READ | VM_WRITE, flags) == 0);
	mm_switch(mm);
	return mm;
}

/* Written, lazily freed, not written again: the entries are clean and the
 * data still reads back until reclaim; reclaim frees every page (exactly
 * SMALL_PAGES frames come back) and the range then reads zero. */
static void clean_pages_are_reclaimed(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = lazy_mm(t, SMALL_PAGES * PAGE_SIZE, 0);
	u64 marked = lazyfree_stats.pglazyfree, freed = lazyfree_stats.pglazyfreed;

	SETUP_TRUE(t, fill_user(USER_BASE, SMALL_PAGES, 1) == 0);
	SETUP_TRUE(t, pte_dirty(pte_at(mm, USER_BASE)));
	EXPECT_EQ(t, mm_lazyfree(mm, USER_BASE, SMALL_PAGES * PAGE_SIZE), 0);
	EXPECT_EQ(t, lazyfree_stats.pglazyfree - marked, SMALL_PAGES);
	for (u32 i = 0; i < SMALL_PAGES; i++)
		EXPECT_FALSE(t, pte_dirty(pte_at(mm, USER_BASE + i * PAGE_SIZE)));
	EXPECT_EQ(t, check_user(USER_BASE, SMALL_PAGES, 1), 0);
	u64 free_before = free_total();
	reclaim_lazyfree(mm);
	EXPECT_EQ(t, lazyfree_stats.pglazyfreed - freed, SMALL_PAGES);
	EXPECT_EQ(t, free_total() - free_before, SMALL_PAGES);
	EXPECT_EQ(t, frame_at(mm, USER_BASE), 0);
	EXPECT_EQ(t, nonzero_words(USER_BASE, SMALL_PAGES), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* A write after the lazy free sets D again: reclaim keeps that page (the
 * word written and the rest of the page) and unmarks it; the others go. */
static void written_pages_survive(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = lazy_mm(t, SMALL_PAGES * PAGE_SIZE, 0);
	const vaddr_t kept = USER_BASE + PAGE_SIZE;
	u64 freed = lazyfree_stats.pglazyfreed;

	SETUP_TRUE(t, fill_user(USER_BASE, SMALL_PAGES, 2) == 0);
	EXPECT_EQ(t, mm_lazyfree(mm, USER_BASE, SMALL_PAGES * PAGE_SIZE), 0);
	EXPECT_EQ(t, user_write64(kept, pattern(kept, 2)).vector, FAULT_NONE);
	paddr_t frame = frame_at(mm, kept);
	u64 free_before = free_total();
	reclaim_lazyfree(mm);
	EXPECT_EQ(t, lazyfree_stats.pglazyfreed - freed, SMALL_PAGES - 1);
	EXPECT_EQ(t, free_total() - free_before, SMALL_PAGES - 1);
	EXPECT_EQ(t, frame_at(mm, kept), frame);
	if (EXPECT_NE(t, frame, 0))
		EXPECT_FALSE(t, phys_to_page(frame)->flags & PG_lazyfree);
	EXPECT_EQ(t, check_user(kept, 1, 2), 0);
	EXPECT_EQ(t, nonzero_words(USER_BASE, 1), 0);
	EXPECT_EQ(t, nonzero_words(kept + PAGE_SIZE, SMALL_PAGES - 2), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* A clean lazily freed huge page is dropped whole: no split, the PMD none,
 * its 512 frames and its deposit back, the 2 MiB reading zero. */
static void clean_huge_dropped_whole(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = lazy_mm(t, PMD_SIZE, VMA_HUGE_OK);
	u64 splits = thp_stats.thp_split_pmd, freed = lazyfree_stats.pglazyfreed;

	fill_huge(t, mm, 3);
	EXPECT_EQ(t, mm_lazyfree(mm, USER_BASE, PMD_SIZE), 0);
	pmd_t e = pmd_at(mm, USER_BASE);
	EXPECT_TRUE(t, pmd_leaf(e) && !pmd_dirty(e));
	u64 free_before = free_total();
	reclaim_lazyfree(mm);
	EXPECT_EQ(t, thp_stats.thp_split_pmd, splits);
	EXPECT_TRUE(t, pmd_none(pmd_at(mm, USER_BASE)));
	EXPECT_EQ(t, lazyfree_stats.pglazyfreed - freed, HUGE_PAGES);
	EXPECT_EQ(t, free_total() - free_before, HUGE_PAGES + 1); /* and the deposit */
	EXPECT_EQ(t, nonzero_words(USER_BASE, HUGE_PAGES), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* One write anywhere in a lazily freed huge page sets D in the huge PMD:
 * reclaim keeps all 2 MiB, huge, with every byte. */
static void written_huge_survives(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = lazy_mm(t, PMD_SIZE, VMA_HUGE_OK);
	const vaddr_t w = USER_BASE + 7 * PAGE_SIZE;
	u64 freed = lazyfree_stats.pglazyfreed;

	fill_huge(t, mm, 4);
	EXPECT_EQ(t, mm_lazyfree(mm, USER_BASE, PMD_SIZE), 0);
	EXPECT_EQ(t, user_write64(w, pattern(w, 4)).vector, FAULT_NONE);
	u64 free_before = free_total();
	reclaim_lazyfree(mm);
	pmd_t e = pmd_at(mm, USER_BASE);
	EXPECT_TRUE(t, pmd_leaf(e) && pmd_dirty(e));
	EXPECT_EQ(t, lazyfree_stats.pglazyfreed, freed);
	EXPECT_EQ(t, free_total(), free_before);
	EXPECT_FALSE(t, phys_to_page(pmd_huge_paddr(e))[100].flags & PG_lazyfree);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 4), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* Lazy free of one 4 KiB page of a huge page splits it; reclaim then drops
 * that page alone (the other 511 were never marked). */
static void partial_huge_splits(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = lazy_mm(t, PMD_SIZE, VMA_HUGE_OK);
	const vaddr_t one = USER_BASE + 30 * PAGE_SIZE;
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 5);
	EXPECT_EQ(t, mm_lazyfree(mm, one, PAGE_SIZE), 0);
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, 1);
	u64 free_before = free_total();
	reclaim_lazyfree(mm);
	EXPECT_EQ(t, free_total() - free_before, 1);
	EXPECT_EQ(t, nonzero_words(one, 1), 0);
	EXPECT_EQ(t, check_user(USER_BASE, 30, 5), 0);
	EXPECT_EQ(t, check_user(one + PAGE_SIZE, HUGE_PAGES - 31, 5), 0);
	drop(mm);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(lazyfree, TEST_MM_AUDIT,
	TEST_CASE(clean_pages_are_reclaimed),
	TEST_CASE(written_pages_survive),
	TEST_CASE(clean_huge_dropped_whole),
	TEST_CASE(written_huge_survives),
	TEST_CASE(partial_huge_splits));

/*
 * thp_race.writer_races_split_ad: the 4.14 split bug. A lazily freed huge
 * page (clean PMD); one CPU, with the address space loaded, writes one word
 * in each of its 512 sub-pages, starting just after another CPU begins to
 * split it, a little later each round; then reclaim. The first write sets D
 * in the huge PMD in memory. The split must carry that D to the PTEs: it
 * is in the value its exchange returns, or the write faulted on the
 * invalid entry and set D in a PTE afterwards. A split that read the entry
 * and then stored the invalid form plainly overwrote the D bit, the PTEs
 * come out clean, and reclaim discards the pages the writer wrote: the
 * words read zero.
 */
#define AD_RACE_ROUNDS 8

struct ad_race {
	struct mm *mm;
	u32 writer;
	u32 round;
	struct smp_barrier go;
	u32 splitting;
};

static u64 ad_seed(u32 round)
{
	return 0x5eed0000 + round;
}

static void write_each_subpage(struct ad_race *r)
{
	for (u32 i = 0; i < HUGE_PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE + 8 * (r->round % 64);
		user_write64(va, pattern(va, ad_seed(r->round)));
	}
}

static void write_or_split(struct test *t, void *arg)
{
	struct ad_race *r = arg;

	if (this_cpu()->id != r->writer) {
		smp_barrier_wait(&r->go);
		__atomic_store_n(&r->splitting, 1, __ATOMIC_RELEASE);
		EXPECT_TRUE(t, mm_split_huge_pmd(r->mm, USER_BASE));
		return;
	}
	mm_switch(r->mm);
	smp_barrier_wait(&r->go);
	while (!__atomic_load_n(&r->splitting, __ATOMIC_ACQUIRE))
		cpu_relax();
	/* A later start each round sweeps the split's window. */
	for (u32 i = 0; i < r->round * 64; i++)
		cpu_relax();
	write_each_subpage(r);
	mm_switch(NULL);
}

static u64 lost_words(u32 round)
{
	u64 lost = 0, v;

	for (u32 i = 0; i < HUGE_PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE + 8 * (round % 64);
		lost += user_read64(va, &v).vector != FAULT_NONE || v != pattern(va, ad_seed(round));
	}
	return lost;
}

static void writer_races_split_ad(struct test *t)
{
	static struct ad_race r;
	struct free_snapshot before = free_snapshot();
	struct mm *mm = lazy_mm(t, PMD_SIZE, VMA_HUGE_OK);
	int other = test_other_cpu();
	u64 rounds_lost = 0, start = rdtsc();

	if (other < 0)
		test_skip(t, "needs a second CPU");
	struct cpumask m = { 0 };
	cpumask_set(&m, this_cpu()->id);
	cpumask_set(&m, (u32)other);
	for (u32 round = 0; round < AD_RACE_ROUNDS && !t->failed; round++) {
		fill_huge(t, mm, 6);
		SETUP_TRUE(t, mm_lazyfree(mm, USER_BASE, PMD_SIZE) == 0);
		r = (struct ad_race){ .mm = mm, .writer = (u32)other, .round = round };
		smp_barrier_init(&r.go, 2);
		test_on_cpus(t, &m, write_or_split, &r);
		reclaim_lazyfree(mm);
		u64 lost = lost_words(round);
		if (lost && !rounds_lost++) {
			report_detect_ms(t, "thp_read_ad", start);
			test_diag(t, "round %u: %lu of %u written words lost to reclaim", round, lost,
				  HUGE_PAGES);
		}
		/* Back to a none PMD for the next round's huge fault. */
		SETUP_TRUE(t, mm_unmap(mm, USER_BASE, PMD_SIZE) == 0);
		SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PMD_SIZE, VM_READ | VM_WRITE,
					  VMA_HUGE_OK) == 0);
	}
	EXPECT_EQ(t, rounds_lost, 0);
	drop(mm);
	expect_same_free(t, before);
}

/*
 * thp_race.dontneed_races_reclaim: reclaim's look at a lazily freed huge
 * page that was written since (so it keeps it) exchanges the PMD for its
 * invalid form, flushes, and puts the entry back; a DONTNEED of the whole
 * 2 MiB runs on another CPU at the same time and looks at the PMD without
 * its lock. Invalid-huge says "huge and busy": DONTNEED waits for the lock
 * and zaps. An invalid form that is the none value (bugs=thp_invalidate_none)
 * makes it skip the 2 MiB, reclaim puts the entry back, and the data
 * survives the zap. (thp_split_clear_then_set leaves this path alone: the
 * two switches differ here, and agree in the split.)
 */
#define RECLAIM_RACE_ROUNDS 16

struct reclaim_dontneed {
	struct mm *mm;
	u32 reclaimer;
	u32 round;
	struct smp_barrier go;
	u32 reclaiming;
};

/* DONTNEED starts once reclaim has begun, a little later each round. */
static void reclaim_or_dontneed(struct test *t, void *arg)
{
	struct reclaim_dontneed *r = arg;

	smp_barrier_wait(&r->go);
	if (this_cpu()->id == r->reclaimer) {
		__atomic_store_n(&r->reclaiming, 1, __ATOMIC_RELEASE);
		reclaim_lazyfree(r->mm);
		return;
	}
	while (!__atomic_load_n(&r->reclaiming, __ATOMIC_ACQUIRE))
		cpu_relax();
	for (u32 i = 0; i < r->round * 64; i++)
		cpu_relax();
	EXPECT_EQ(t, mm_dontneed(r->mm, USER_BASE, PMD_SIZE), 0);
}

static void dontneed_races_reclaim(struct test *t)
{
	static struct reclaim_dontneed r;
	struct free_snapshot before = free_snapshot();
	struct mm *mm = lazy_mm(t, PMD_SIZE, VMA_HUGE_OK);
	int other = test_other_cpu();
	u64 survived = 0, start = rdtsc();

	if (other < 0)
		test_skip(t, "needs a second CPU");
	struct cpumask m = { 0 };
	cpumask_set(&m, this_cpu()->id);
	cpumask_set(&m, (u32)other);
	for (u32 round = 0; round < RECLAIM_RACE_ROUNDS && !t->failed; round++) {
		fill_huge(t, mm, 7);
		SETUP_TRUE(t, mm_lazyfree(mm, USER_BASE, PMD_SIZE) == 0);
		SETUP_TRUE(t, user_write64(USER_BASE, pattern(USER_BASE, 7)).vector == FAULT_NONE);
		r = (struct reclaim_dontneed){ .mm = mm, .reclaimer = (u32)other, .round = round };
		smp_barrier_init(&r.go, 2);
		test_on_cpus(t, &m, reclaim_or_dontneed, &r);
		u64 bad = nonzero_words(USER_BASE, HUGE_PAGES);
		if (bad && !survived++) {
			report_detect_ms(t, "thp_dontneed_reclaim", start);
			test_diag(t, "round %u: %lu words kept their data after DONTNEED", round, bad);
		}
		/* Back to a none PMD for the next round's huge fault. */
		SETUP_TRUE(t, mm_unmap(mm, USER_BASE, PMD_SIZE) == 0);
		SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PMD_SIZE, VM_READ | VM_WRITE,
					  VMA_HUGE_OK) == 0);
	}
	EXPECT_EQ(t, survived, 0);
	drop(mm);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(thp_race, TEST_MM_AUDIT,
	TEST_CASE(writer_races_split_ad),
	TEST_CASE(dontneed_races_reclaim));
