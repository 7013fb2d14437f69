/*
 * thp: transparent huge pages on real 2 MiB PMDs (mm/huge_memory.c).
 *
 * What: a fault in a VMA that allows huge pages maps one order-9 block on
 * the faulting CPU's node with one huge PMD, with one page table deposited
 * beside it; with no order-9 block free it falls back to 4 KiB and counts
 * it. Every path that needs 4 KiB entries under a huge PMD (explicit split,
 * partial mprotect, partial munmap, a COW write after fork) goes through
 * split_huge_pmd, which must keep every byte where it was and carry W, A,
 * D, NX and PAT (bit 12 in the PMD, bit 7 in a PTE) to all 512 PTEs; a
 * range that covers the whole 2 MiB works on the huge entry without a
 * split.
 *
 * How: each case walks the page tables itself after the operation and
 * reads the data back through the translation (a pattern that depends on
 * the virtual address, so a PTE naming the wrong frame shows); the suite
 * runs the audit after every case (one deposit per huge PMD, table pages
 * counted exactly, map counts of each sub-page) and each case checks that
 * every node's free count comes back. One split runs while other CPUs keep
 * the address space loaded and keep reading and writing it (live.h).
 *
 * Which bugs: a split that drops the dirty bit or copies PAT's bit position
 * into the PTE frame (split_carries_bits_and_data), a split that skips the
 * shootdown (live_split_reaches_other_cpus), a leaked or missing deposit
 * (deposit_accounting), whole-range operations that split anyway
 * (whole_mprotect_keeps_huge, whole_munmap_frees_without_split).
 */

#include <mmulab/audit.h>
#include <mmulab/huge_memory.h>
#include <mmulab/numa_balance.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <mmulab/tlb.h>
#include <arch/cpu.h>
#include <arch/irq.h>
#include "live.h"
#include "thp_util.h"


/* An address space with 4 MiB of anonymous memory at USER_BASE that
 * allows huge pages, loaded on this CPU. */
static struct mm *huge_mm(struct test *t, u32 prot)
{
	struct mm *mm = mm_create(0);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, 2 * PMD_SIZE, prot, VMA_HUGE_OK) == 0);
	mm_switch(mm);
	return mm;
}

/* The 512 PTEs under the PMD at USER_BASE map the huge page's frames in
 * order, present and with the bits the case expects. */
static void expect_split_ptes(struct test *t, struct mm *mm, pmd_t huge, bool write)
{
	pmd_t now = pmd_at(mm, USER_BASE);
	u32 bad_frame = 0, bad_bits = 0;

	ASSERT_TRUE(t, pmd_present(now) && !pmd_trans_huge(now));
	for (u32 i = 0; i < HUGE_PAGES; i++) {
		pte_t e = pte_at(mm, USER_BASE + i * PAGE_SIZE);
		if (pte_paddr(e) != pmd_huge_paddr(huge) + i * PAGE_SIZE && bad_frame++ == 0)
			test_diag(t, "PTE %u is %016lx, frame should be P0x%lx", i, pte_val(e),
				  pmd_huge_paddr(huge) + i * PAGE_SIZE);
		bool bits_ok = pte_present(e) && pte_write(e) == write &&
			       pte_dirty(e) == pmd_dirty(huge) && pte_accessed(e) == pmd_accessed(huge) &&
			       pte_exec(e) == pmd_exec(huge) && pte_pat(e) == pmd_pat(huge);
		if (!bits_ok && bad_bits++ == 0)
			test_diag(t, "PTE %u is %016lx, from huge PMD %016lx", i, pte_val(e),
				  pmd_val(huge));
	}
	EXPECT_EQ(t, bad_frame, 0);
	EXPECT_EQ(t, bad_bits, 0);
}

/* A write fault in a huge-page VMA maps one 2 MiB leaf: PS set, the frame
 * 2 MiB aligned, on this CPU's node, each sub-page mapped once. */
static void huge_fault_maps_2m(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);

	fill_huge(t, mm, 1);
	pmd_t e = pmd_at(mm, USER_BASE);
	EXPECT_TRUE(t, pmd_trans_huge(e) && pmd_present(e));
	EXPECT_TRUE(t, IS_ALIGNED(pmd_huge_paddr(e), PMD_SIZE));
	EXPECT_TRUE(t, pmd_write(e) && pmd_dirty(e) && !pmd_exec(e));
	struct page *p = phys_to_page(pmd_huge_paddr(e));
	EXPECT_EQ(t, page_to_nid(p), this_cpu()->node);
	EXPECT_EQ(t, p[HUGE_PAGES - 1].mapcount, 1);
	EXPECT_EQ(t, p[HUGE_PAGES - 1].refcount, 1);
	EXPECT_EQ(t, mm->faults.demand_zero, 0);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 1), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* thp=madvise maps huge pages only where the VMA asks; always and never
 * override the flag; a VMA that does not cover an aligned 2 MiB gets 4 KiB. */
static bool faults_huge(struct test *t, u32 flags, vaddr_t start, u64 len)
{
	struct mm *mm = mm_create(0);
	bool huge;

	SETUP_TRUE(t, mm != NULL && mm_map_anon(mm, start, len, VM_READ | VM_WRITE, flags) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, user_write64(ALIGN_UP(start, PMD_SIZE), 7).vector == FAULT_NONE);
	huge = pmd_leaf(pmd_at(mm, ALIGN_UP(start, PMD_SIZE)));
	drop(mm);
	return huge;
}

static void mode_and_vma_decide(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	enum thp_mode was = thp_set_mode(THP_MADVISE);

	EXPECT_TRUE(t, faults_huge(t, VMA_HUGE_OK, USER_BASE, PMD_SIZE));
	EXPECT_FALSE(t, faults_huge(t, 0, USER_BASE, PMD_SIZE));
	EXPECT_FALSE(t, faults_huge(t, VMA_HUGE_OK, USER_BASE, PMD_SIZE - PAGE_SIZE));
	EXPECT_FALSE(t, faults_huge(t, VMA_HUGE_OK, USER_BASE + PAGE_SIZE, PMD_SIZE + PAGE_SIZE));
	thp_set_mode(THP_ALWAYS);
	EXPECT_TRUE(t, faults_huge(t, 0, USER_BASE, PMD_SIZE));
	thp_set_mode(THP_NEVER);
	EXPECT_FALSE(t, faults_huge(t, VMA_HUGE_OK, USER_BASE, PMD_SIZE));
	thp_set_mode(was);
	expect_same_free(t, before);
}


/* No order-9 block on the node: the fault maps a 4 KiB page instead, on
 * the same node, and counts a fallback. */
static void fallback_without_order9(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	int node = this_cpu()->node;
	u64 fallbacks = thp_stats.thp_fault_fallback, allocs = thp_stats.thp_fault_alloc;
	u32 n = take_huge_blocks(node);

	if (n == MAX_TAKEN) {
		give_back_huge_blocks(n);
		drop(mm);
		test_error(t, "more than %u blocks of order >= 9 on node %d", MAX_TAKEN, node);
	}
	EXPECT_EQ(t, user_write64(USER_BASE, 5).vector, FAULT_NONE);
	EXPECT_EQ(t, thp_stats.thp_fault_fallback - fallbacks, 1);
	EXPECT_EQ(t, thp_stats.thp_fault_alloc, allocs);
	EXPECT_FALSE(t, pmd_trans_huge(pmd_at(mm, USER_BASE)));
	paddr_t f = frame_at(mm, USER_BASE);
	if (EXPECT_NE(t, f, 0))
		EXPECT_EQ(t, page_to_nid(phys_to_page(f)), node);
	give_back_huge_blocks(n);
	drop(mm);
	expect_same_free(t, before);
}

/* One table deposited per huge PMD, counted in table_pages: a split turns
 * it into the PTE table (no new table), a zap frees it. */
static void deposit_accounting(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);

	EXPECT_EQ(t, mm->table_pages, 1);
	SETUP_TRUE(t, user_write64(USER_BASE, 1).vector == FAULT_NONE);
	SETUP_TRUE(t, user_write64(USER_BASE + PMD_SIZE, 2).vector == FAULT_NONE);
	SETUP_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)) && pmd_leaf(pmd_at(mm, USER_BASE + PMD_SIZE)));
	const pmd_t *table = mm_pmd_lookup(mm, USER_BASE) - pmd_index(USER_BASE);
	/* root, PUD table, PMD table, two deposits */
	EXPECT_EQ(t, mm->table_pages, 5);
	EXPECT_EQ(t, huge_pmd_deposits(table), 2);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	EXPECT_TRUE(t, mm_split_huge_pmd(mm, USER_BASE));
	EXPECT_EQ(t, mm->table_pages, 5);
	EXPECT_EQ(t, huge_pmd_deposits(table), 1);
	EXPECT_EQ(t, mm_unmap(mm, USER_BASE + PMD_SIZE, PMD_SIZE), 0);
	EXPECT_EQ(t, mm->table_pages, 4);
	EXPECT_EQ(t, huge_pmd_deposits(table), 0);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	EXPECT_EQ(t, user_read64(USER_BASE, &(u64){ 0 }).vector, FAULT_NONE);
	drop(mm);
	expect_same_free(t, before);
}

/* The explicit split: every byte where it was, and W, A, D, NX and PAT of
 * the huge entry on all 512 PTEs (PAT moved from bit 12 to bit 7: copying
 * bit 12 would move every odd page's frame). PAT with PCD = PWT = 0 picks
 * PAT entry 4, write-back at reset, so the memory type does not change. */
static void split_carries_bits_and_data(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 2);
	pmd_t *slot = mm_pmd_lookup(mm, USER_BASE);
	set_pmd(slot, pmd_mkpat(*slot));
	flush_tlb_range(&mm->tlb, USER_BASE, USER_BASE + PMD_SIZE);
	pmd_t huge = *slot;
	SETUP_TRUE(t, pmd_dirty(huge) && pmd_accessed(huge) && pmd_pat(huge));
	EXPECT_TRUE(t, mm_split_huge_pmd(mm, USER_BASE));
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, 1);
	expect_split_ptes(t, mm, huge, true);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 2), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* mprotect of all 2 MiB changes the huge entry itself. */
static void whole_mprotect_keeps_huge(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 3);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, PMD_SIZE, VM_READ), 0);
	pmd_t e = pmd_at(mm, USER_BASE);
	EXPECT_TRUE(t, pmd_leaf(e) && !pmd_write(e) && pmd_dirty(e));
	EXPECT_EQ(t, thp_stats.thp_split_pmd, splits);
	EXPECT_NE(t, user_write64(USER_BASE + 5 * PAGE_SIZE, 1).vector, FAULT_NONE);
	EXPECT_EQ(t, mm->segv.reason, SEGV_ACCERR);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 3), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* mprotect of one page splits: that page read-only, its neighbours still
 * writable, all data kept. */
static void partial_mprotect_splits(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 4);
	pmd_t huge = pmd_at(mm, USER_BASE);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE + 3 * PAGE_SIZE, PAGE_SIZE, VM_READ), 0);
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, 1);
	EXPECT_FALSE(t, pte_write(pte_at(mm, USER_BASE + 3 * PAGE_SIZE)));
	EXPECT_TRUE(t, pte_write(pte_at(mm, USER_BASE + 4 * PAGE_SIZE)));
	EXPECT_EQ(t, pte_paddr(pte_at(mm, USER_BASE + 3 * PAGE_SIZE)),
		  pmd_huge_paddr(huge) + 3 * PAGE_SIZE);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 4), 0);
	EXPECT_NE(t, user_write64(USER_BASE + 3 * PAGE_SIZE, 1).vector, FAULT_NONE);
	EXPECT_EQ(t, user_write64(USER_BASE + 4 * PAGE_SIZE, pattern(USER_BASE + 4 * PAGE_SIZE, 4))
			     .vector, FAULT_NONE);
	drop(mm);
	expect_same_free(t, before);
}

/* munmap of all 2 MiB zaps the huge entry: no split, every frame back. */
static void whole_munmap_frees_without_split(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 5);
	int node = page_to_nid(phys_to_page(pmd_huge_paddr(pmd_at(mm, USER_BASE))));
	u64 free_before = node_free_pages(node);
	EXPECT_EQ(t, mm_unmap(mm, USER_BASE, PMD_SIZE), 0);
	EXPECT_EQ(t, thp_stats.thp_split_pmd, splits);
	EXPECT_TRUE(t, pmd_none(pmd_at(mm, USER_BASE)));
	/* the huge page, its deposit, and the PMD and PUD tables it emptied,
	 * when those came from the same node */
	EXPECT_GE(t, node_free_pages(node) - free_before, HUGE_PAGES);
	EXPECT_NE(t, user_read64(USER_BASE, &(u64){ 0 }).vector, FAULT_NONE);
	drop(mm);
	expect_same_free(t, before);
}

/* munmap of one page splits: that page gone, the other 511 kept. */
static void partial_munmap_splits(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 6);
	EXPECT_EQ(t, mm_unmap(mm, USER_BASE + 10 * PAGE_SIZE, PAGE_SIZE), 0);
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, 1);
	EXPECT_NE(t, user_read64(USER_BASE + 10 * PAGE_SIZE, &(u64){ 0 }).vector, FAULT_NONE);
	EXPECT_EQ(t, check_user(USER_BASE, 10, 6), 0);
	EXPECT_EQ(t, check_user(USER_BASE + 11 * PAGE_SIZE, HUGE_PAGES - 11, 6), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* fork shares the huge page read-only (a deposit for the child too); a
 * write in the child splits the child's PMD and copies one 4 KiB page; the
 * parent keeps its huge PMD and its data. */
static void cow_after_fork_splits_then_copies(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *parent = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, parent, 7);
	struct mm *child = mm_fork(parent);
	ASSERT_TRUE(t, child != NULL);
	pmd_t pe = pmd_at(parent, USER_BASE), ce = pmd_at(child, USER_BASE);
	EXPECT_TRUE(t, pmd_leaf(pe) && pmd_leaf(ce));
	EXPECT_TRUE(t, !pmd_write(pe) && !pmd_write(ce));
	EXPECT_EQ(t, pmd_huge_paddr(pe), pmd_huge_paddr(ce));
	EXPECT_EQ(t, phys_to_page(pmd_huge_paddr(pe))[9].mapcount, 2);
	EXPECT_EQ(t, child->table_pages, 4); /* root, PUD table, PMD table, deposit */
	EXPECT_EQ(t, mm_audit("  # "), 0);
	mm_switch(child);
	EXPECT_EQ(t, user_write64(USER_BASE + 9 * PAGE_SIZE, 0x99).vector, FAULT_NONE);
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, 1);
	EXPECT_EQ(t, child->faults.cow_copy, 1);
	EXPECT_NE(t, frame_at(child, USER_BASE + 9 * PAGE_SIZE), pmd_huge_paddr(pe) + 9 * PAGE_SIZE);
	EXPECT_EQ(t, frame_at(child, USER_BASE + 8 * PAGE_SIZE), pmd_huge_paddr(pe) + 8 * PAGE_SIZE);
	EXPECT_TRUE(t, pmd_leaf(pmd_at(parent, USER_BASE)));
	EXPECT_EQ(t, mm_audit("  # "), 0);
	mm_switch(parent);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 7), 0);
	drop(child);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	drop(parent);
	expect_same_free(t, before);
}

struct split_op {
	struct mm *mm;
	u64 ipis;
};

static void op_split(struct test *t, void *arg)
{
	struct split_op *o = arg;
	u64 ipis = tlb_stats.ipis_sent;

	EXPECT_TRUE(t, mm_split_huge_pmd(o->mm, USER_BASE));
	o->ipis = tlb_stats.ipis_sent - ipis;
}

/* Other CPUs keep the address space loaded and read and write the huge
 * page while this CPU splits it: the split's shootdown reaches each of
 * them (no CPU may keep the 2 MiB translation beside the new 4 KiB ones),
 * nobody reads wrong data or loses a write, and the D bits their writes
 * set are in the PTEs. */
static void live_split_reaches_other_cpus(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	static struct live l;
	struct split_op o = { mm, 0 };

	fill_huge(t, mm, 8);
	pmd_t huge = pmd_at(mm, USER_BASE);
	mm_switch(NULL);
	live_init(t, &l, mm, USER_BASE, LIVE_MAX_PAGES, LIVE_READ | LIVE_WRITE);
	live_run(t, &l, op_split, &o);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	EXPECT_GE(t, o.ipis, l.nr_hammers);
	mm_switch(mm);
	live_expect_last_writes_visible(t, &l);
	expect_split_ptes(t, mm, huge, true);
	drop(mm);
	expect_same_free(t, before);
}

/* DONTNEED of all 2 MiB zaps the huge entry whole (no split): the PMD is
 * none, the range reads zero (a fresh page), every frame comes back. */
static void whole_dontneed_zaps_huge(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 10);
	EXPECT_EQ(t, mm_dontneed(mm, USER_BASE, PMD_SIZE), 0);
	EXPECT_EQ(t, thp_stats.thp_split_pmd, splits);
	EXPECT_TRUE(t, pmd_none(pmd_at(mm, USER_BASE)));
	EXPECT_EQ(t, nonzero_words(USER_BASE, HUGE_PAGES), 0);
	drop(mm);
	expect_same_free(t, before);
}

/* DONTNEED of one page splits: that page reads zero, the other 511 keep
 * their data. */
static void partial_dontneed_splits(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	u64 splits = thp_stats.thp_split_pmd;

	fill_huge(t, mm, 11);
	EXPECT_EQ(t, mm_dontneed(mm, USER_BASE + 20 * PAGE_SIZE, PAGE_SIZE), 0);
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, 1);
	EXPECT_EQ(t, nonzero_words(USER_BASE + 20 * PAGE_SIZE, 1), 0);
	EXPECT_EQ(t, check_user(USER_BASE, 20, 11), 0);
	EXPECT_EQ(t, check_user(USER_BASE + 21 * PAGE_SIZE, HUGE_PAGES - 21, 11), 0);
	drop(mm);
	expect_same_free(t, before);
}

/*
 * Seed 001's race: one CPU splits the huge PMD while this one DONTNEEDs
 * the whole 2 MiB, DONTNEED_RACE_ROUNDS times. DONTNEED looks at the PMD
 * without its lock; a split that let the PMD read none for a moment
 * (clear, then set) would make it skip the range and the old data would
 * survive the zap. Afterwards every word must read zero.
 *
 * To land in that moment every time, this CPU (which has the address
 * space loaded, so the split's shootdown must reach it) watches the PMD
 * with interrupts off: the split cannot get past its flush until they
 * are back on. Seeing the PMD none, it DONTNEEDs right there (an empty
 * range needs no flush); seeing the invalid form or a table, it turns
 * interrupts on first, since the DONTNEED may then wait for the split's
 * lock.
 */
/* Rounds until the race is seen once; without a bug every round runs. On
 * 2 host cores a round may miss the window when the host deschedules one
 * vCPU, so there are enough of them for the switches to be seen always. */
#define DONTNEED_RACE_ROUNDS 32
#define WATCH_SPINS 1000000

struct split_dontneed {
	struct mm *mm;
	u32 splitter;
	bool hint; /* the other CPU hints the huge PMD (numa_scan) instead */
	struct smp_barrier go;
};

/* The PMD as first seen once the split has started (a bounded watch). */
static pmd_t watch_split_start(pmd_t *pmd)
{
	for (u32 spins = 0; spins < WATCH_SPINS; spins++) {
		pmd_t e = pmdp_get(pmd);
		if (!pmd_trans_huge(e) || !pmd_present(e))
			return e;
		cpu_relax();
	}
	return pmdp_get(pmd);
}

static void dontneed_during_split(struct test *t, struct split_dontneed *r)
{
	pmd_t *pmd = mm_pmd_lookup(r->mm, USER_BASE);

	irq_disable();
	smp_barrier_wait(&r->go);
	if (!pmd_none(watch_split_start(pmd)))
		irq_enable();
	EXPECT_EQ(t, mm_dontneed(r->mm, USER_BASE, PMD_SIZE), 0);
	irq_enable();
}

static void split_or_dontneed(struct test *t, void *arg)
{
	struct split_dontneed *r = arg;

	if (this_cpu()->id != r->splitter) {
		dontneed_during_split(t, r);
		return;
	}
	smp_barrier_wait(&r->go);
	if (r->hint)
		numa_scan(r->mm, USER_BASE, USER_BASE + PMD_SIZE);
	else
		mm_split_huge_pmd(r->mm, USER_BASE);
}

static void dontneed_races_change(struct test *t, bool hint, const char *bench)
{
	static struct split_dontneed r;
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_mm(t, VM_READ | VM_WRITE);
	int other = test_other_cpu();
	u64 survived = 0, start = rdtsc();

	if (other < 0)
		test_skip(t, "needs a second CPU");
	r = (struct split_dontneed){ .mm = mm, .splitter = (u32)other, .hint = hint };
	struct cpumask m = { 0 };
	cpumask_set(&m, this_cpu()->id);
	cpumask_set(&m, (u32)other);
	for (u32 round = 0; round < DONTNEED_RACE_ROUNDS && !t->failed && !survived; round++) {
		fill_huge(t, mm, 12 + round);
		smp_barrier_init(&r.go, 2);
		test_on_cpus(t, &m, split_or_dontneed, &r);
		u64 bad = nonzero_words(USER_BASE, HUGE_PAGES);
		if (bad && !survived++) {
			report_detect_ms(t, bench, start);
			test_diag(t, "round %u: %lu words kept their data after DONTNEED", round, bad);
		}
		/* Back to a none PMD for the next round's huge fault. */
		SETUP_TRUE(t, mm_unmap(mm, USER_BASE, 2 * PMD_SIZE) == 0);
		SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE,
					  VMA_HUGE_OK) == 0);
	}
	EXPECT_EQ(t, survived, 0);
	drop(mm);
	expect_same_free(t, before);
}

static void dontneed_races_split(struct test *t)
{
	dontneed_races_change(t, false, "thp_dontneed_split");
}

/* The same race against the huge protection change of a NUMA hint (the
 * scanner, shared mmap_lock, as in Linux's 4.11 race): the hinted PMD is
 * protnone, never none, while it changes. */
static void dontneed_races_huge_hint(struct test *t)
{
	dontneed_races_change(t, true, "thp_dontneed_hint");
}

TEST_SUITE_FLAGS(thp, TEST_MM_AUDIT,
	TEST_CASE(huge_fault_maps_2m),
	TEST_CASE(mode_and_vma_decide),
	TEST_CASE(fallback_without_order9),
	TEST_CASE(deposit_accounting),
	TEST_CASE(split_carries_bits_and_data),
	TEST_CASE(whole_mprotect_keeps_huge),
	TEST_CASE(partial_mprotect_splits),
	TEST_CASE(whole_munmap_frees_without_split),
	TEST_CASE(partial_munmap_splits),
	TEST_CASE(cow_after_fork_splits_then_copies),
	TEST_CASE(live_split_reaches_other_cpus),
	TEST_CASE(whole_dontneed_zaps_huge),
	TEST_CASE(partial_dontneed_splits),
	TEST_CASE(dontneed_races_split),
	TEST_CASE(dontneed_races_huge_hint));
