/*
 * Transparent huge pages (include/mmulab/huge_memory.h): the huge
 * anonymous fault, the deposit, and the split, the one function every
 * path that needs 4 KiB entries under a huge PMD goes through.
 *
 * The split protocol, in this order (section 4 of the Linux mm notes):
 *   1. take the PMD's lock and recheck that the entry is still huge;
 *   2. old = pmdp_invalidate(): one atomic exchange to the invalid form
 *      (P clear, PS and frame kept): never none, never "not huge", so a
 *      walker that does not hold the lock sees "huge and busy", never an
 *      empty range; and any A/D bit a CPU set until that instant is in old;
 *   3. flush the 2 MiB on every CPU that may hold it: after this no CPU
 *      holds a 2 MiB translation, and none can load one (P is clear);
 *   4. fill the deposited table from old (W, U, cache bits, A, D, NX; PAT
 *      moved from bit 12 to bit 7); NUMA protnone would not be carried;
 *   5. write barrier, then populate the PMD with the table.
 * Populating before the flush would let one CPU hold the 2 MiB and a 4 KiB
 * translation of one address at once (AMD erratum 383).
 */

#include <mmulab/huge_memory.h>
#include <mmulab/bugs.h>
#include <mmulab/kernel.h>
#include <mmulab/memory.h>
#include <mmulab/numa_balance.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>
#include <mmulab/tlb.h>
#include <mmulab/vma.h>

struct thp_stats thp_stats;
static enum thp_mode mode = THP_MADVISE;

void thp_init(enum thp_mode m)
{
	mode = m;
}

enum thp_mode thp_mode(void)
{
	return mode;
}

enum thp_mode thp_set_mode(enum thp_mode m)
{
	enum thp_mode was = mode;

	mode = m;
	return was;
}

static void count(u64 *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

/*
 * Locks: every path here runs under mmap_lock (shared for faults, DONTNEED
 * and splits; exclusive for mprotect, munmap and fork) and changes a huge
 * PMD only under pmd_lock, after looking at it again: a PMD seen huge
 * without the lock may have been split, zapped or (from none) faulted in
 * by another CPU meanwhile. Memory (the order-9 page, the deposit) is
 * taken before the lock.
 */

/* --- deposit: a LIFO of table pages on the PMD table's struct page,
 * linked through their `deposit` fields (not the free-list links: those
 * hold the tables' own locks) --- */

static struct page *pmd_table_page(const pmd_t *pmd)
{
	return phys_to_page(virt_to_phys(pmd));
}

static void deposit_table(pmd_t *pmd, paddr_t table)
{
	struct page *holder = pmd_table_page(pmd), *t = phys_to_page(table);

	t->deposit = holder->deposit;
	holder->deposit = t;
}

static paddr_t withdraw_table(pmd_t *pmd)
{
	struct page *holder = pmd_table_page(pmd), *t = holder->deposit;

	ASSERT(t != NULL);
	holder->deposit = t->deposit;
	t->deposit = NULL;
	return page_to_phys(t);
}

u64 huge_pmd_deposits(const pmd_t *pmd_table)
{
	u64 n = 0;

	for (const struct page *t = pmd_table_page(pmd_table)->deposit; t; t = t->deposit)
		n++;
	return n;
}

/* --- the huge fault --- */

static bool thp_allowed(const struct vma *v, vaddr_t haddr)
{
	if (mode == THP_NEVER || (mode == THP_MADVISE && !(v->flags & VMA_HUGE_OK)))
		return false;
	return (v->flags & VMA_ANON) && haddr >= v->start && haddr + PMD_SIZE <= v->end;
}

/* Zeroed, on this CPU's node only: a huge page elsewhere would cost every
 * access the remote latency the small-page fallback avoids. */
static struct page *alloc_huge_page(void)
{
	struct page *p = alloc_pages(this_cpu()->node, HUGE_ORDER, ALLOC_THISNODE | ALLOC_ZERO);

	if (p)
		split_page(p, HUGE_ORDER);
	return p;
}

static bool do_huge_pmd_anonymous_page(struct mm *mm, const struct vma *v, pmd_t *pmd,
				       vaddr_t addr)
{
	struct page *p = alloc_huge_page();

	if (!p) {
		count(&thp_stats.thp_fault_fallback);
		return false;
	}
	paddr_t table = mm_table_alloc(mm, LOCK_PTE_TABLE);
	struct spinlock *ptl = pmd_lock(mm, pmd);
	bool won = pmd_none(pmdp_get(pmd));
	if (won) {
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			p[i].mapcount = 1;
		deposit_table(pmd, table);
		set_pmd(pmd, pmd_mkhuge(page_to_phys(p), anon_leaf_bits(v->prot, true)));
	}
	spin_unlock(ptl);
	(void)addr;
	if (!won) {
		/* Another CPU's fault filled the PMD first: it looks again. */
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			put_page(&p[i]);
		mm_table_free(mm, table);
		return false;
	}
	count(&thp_stats.thp_fault_alloc);
	return true;
}

bool huge_pmd_fault(struct mm *mm, const struct vma *v, pmd_t *pmd, vaddr_t addr, u32 access)
{
	if (pmd_none(pmdp_get(pmd)))
		return thp_allowed(v, ALIGN_DOWN(addr, PMD_SIZE)) &&
		       do_huge_pmd_anonymous_page(mm, v, pmd, addr);
	struct spinlock *ptl = pmd_lock(mm, pmd);
	pmd_t e = pmdp_get(pmd);
	/* Invalid-huge exists only while a split, lazy free or reclaim holds
	 * this lock. */
	ASSERT(!pmd_is_invalid_huge(e));
	if (pmd_protnone(e)) {
		/* A huge NUMA hint: moved or restored whole, else split (the
		 * 4 KiB path then finds present PTEs). */
		bool whole = do_huge_numa_page(mm, v, pmd, addr);
		spin_unlock(ptl);
		if (!whole)
			split_huge_pmd(mm, pmd, addr);
		return whole;
	}
	bool split = pmd_trans_huge(e) && (access & VM_WRITE) && !pmd_write(e);
	bool spurious = pmd_trans_huge(e) && !split;
	if (spurious) {
		flush_tlb_local_page(addr); /* stale local entry */
		__atomic_add_fetch(&mm->faults.spurious, 1, __ATOMIC_RELAXED);
	}
	spin_unlock(ptl);
	/* Shared after fork (or read-only for another reason): split, and
	 * the 4 KiB path copies just the page written. */
	if (split)
		split_huge_pmd(mm, pmd, addr);
	return spurious;
}

/* --- the split --- */

BUG_SWITCH(thp_split_clear_then_set,
	   "4.11-era split and huge protection change (the NUMA hint): the huge PMD is "
	   "got-and-cleared, so for a moment it reads none, and set again later; a lockless "
	   "DONTNEED in that moment skips the 2 MiB and the old data survives the zap "
	   "(Linux ced108037c2a)");

BUG_SWITCH(thp_invalidate_none,
	   "the invalid form of a huge PMD is the none value (what 32-bit ARM's pmd_mknotpresent "
	   "amounted to in seed 001): the exchange is kept but writes 0, so while a split or a "
	   "lazy-free reclaim holds the entry a lockless walker takes it for an empty range");

BUG_SWITCH(thp_read_ad_before_invalidate,
	   "4.14-era split: Dirty/Accessed are read from the entry first, then the invalid form "
	   "is stored plainly; a write on another CPU in between sets D in the entry the store "
	   "overwrites, the split PTEs come out clean, and reclaim discards a lazily freed page "
	   "that was written");

/* The entry becomes its invalid form in one exchange that returns it as
 * it was: the split's step 2, and lazy free's and reclaim's look at a huge
 * PMD. */
static pmd_t huge_invalidate(pmd_t *pmd)
{
	if (BUG_ACTIVE(thp_invalidate_none)) {
		pmd_t old = pmdp_get_and_clear(pmd);
		bug_race_window(); /* the PMD reads none while the lock is held */
		return old;
	}
	return pmdp_invalidate(pmd);
}

pmd_t huge_pmd_take(pmd_t *pmd)
{
	if (BUG_ACTIVE(thp_split_clear_then_set)) {
		pmd_t old = pmdp_get_and_clear(pmd);
		bug_race_window(); /* the PMD reads none until it is set again */
		return old;
	}
	return huge_invalidate(pmd);
}

/* Step 2 of the protocol: the old entry, and the slot left never none. The
 * switches' windows are held open race_delay_us (bug_race_window). */
static pmd_t split_take_entry(pmd_t *pmd)
{
	if (BUG_ACTIVE(thp_read_ad_before_invalidate)) {
		pmd_t old = pmdp_get(pmd);
		bug_race_window();
		set_pmd(pmd, pmd_mkinvalid(old));
		return old;
	}
	return huge_pmd_take(pmd);
}

static void split_huge_pmd_locked(struct mm *mm, pmd_t *pmd, vaddr_t haddr)
{
	ASSERT(pmd_present(*pmd) || pmd_protnone(*pmd));
	pmd_t old = split_take_entry(pmd);
	flush_tlb_range(&mm->tlb, haddr, haddr + PMD_SIZE);
	paddr_t table = withdraw_table(pmd);
	pte_t *pte = phys_to_virt(table);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		set_pte(&pte[i], pte_from_huge_pmd(old, i));
	/* Every PTE store is visible before the table is reachable. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	set_pmd(pmd, pmd_mktable(table));
	count(&thp_stats.thp_split_pmd);
}

void split_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr)
{
	struct spinlock *ptl = pmd_lock(mm, pmd);

	if (pmd_trans_huge(pmdp_get(pmd)))
		split_huge_pmd_locked(mm, pmd, ALIGN_DOWN(addr, PMD_SIZE));
	spin_unlock(ptl);
}

bool mm_split_huge_pmd(struct mm *mm, vaddr_t addr)
{
	bool found;

	mmap_read_lock(mm);
	pmd_t *pmd = mm_pmd_lookup(mm, addr);
	found = pmd && pmd_trans_huge(pmdp_get(pmd));
	if (found)
		split_huge_pmd(mm, pmd, addr);
	mmap_read_unlock(mm);
	return found;
}

/* --- whole-PMD range operations --- */

static struct page *huge_pmd_page(pmd_t e)
{
	return phys_to_page(pmd_huge_paddr(e));
}

bool zap_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr)
{
	vaddr_t haddr = ALIGN_DOWN(addr, PMD_SIZE);
	struct spinlock *ptl = pmd_lock(mm, pmd);
	pmd_t e = pmdp_get(pmd);

	if (!pmd_trans_huge(e)) {
		/* Zapped (none: done) or split (a table: its PTEs) meanwhile. */
		spin_unlock(ptl);
		return pmd_none(e);
	}
	pmd_t old = pmdp_get_and_clear(pmd);
	struct page *p = huge_pmd_page(old);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		__atomic_sub_fetch(&p[i].mapcount, 1, __ATOMIC_RELAXED);
	/* No CPU may still reach the frames when they go back. */
	flush_tlb_range(&mm->tlb, haddr, haddr + PMD_SIZE);
	paddr_t deposit = withdraw_table(pmd);
	spin_unlock(ptl);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		put_page(&p[i]);
	mm_table_free(mm, deposit);
	return true;
}

static bool huge_page_owned(const struct page *p)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (!page_owned_by_mapping(&p[i]))
			return false;
	return true;
}

bool change_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr, u32 prot, bool *split)
{
	(void)addr;
	/* PROT_NONE keeps frames in protnone entries, which are 4 KiB only
	 * for now (huge NUMA balancing will add the huge form). */
	*split = prot == 0;
	if (*split)
		return false;
	struct spinlock *ptl = pmd_lock(mm, pmd);
	pmd_t old = pmdp_get(pmd);
	pmd_t new = pmd_modify_huge(old, anon_leaf_bits(prot, huge_page_owned(huge_pmd_page(old))));
	set_pmd(pmd, new);
	spin_unlock(ptl);
	return (pmd_write(old) && !pmd_write(new)) || (pmd_exec(old) && !pmd_exec(new));
}

bool copy_huge_pmd(struct mm *parent, struct mm *child, pmd_t *pmd, vaddr_t addr, bool *flush)
{
	pmd_t old = pmdp_get(pmd);
	struct page *p = huge_pmd_page(old);

	/* A pinned sub-page must stay the parent's: per-page copy decides. */
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (p[i].pincount)
			return false;
	pmd_t *child_pmd = mm_pmd_alloc(child, addr);
	ASSERT(pmd_none(*child_pmd));
	paddr_t table = mm_table_alloc(child, LOCK_PTE_TABLE);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		get_page(&p[i]);
		__atomic_add_fetch(&p[i].mapcount, 1, __ATOMIC_RELAXED);
	}
	pmd_t shared = pmd_wrprotect(old);
	/* The child is not visible to any other CPU yet: no lock to take. */
	deposit_table(child_pmd, table);
	set_pmd(child_pmd, shared);
	if (pmd_write(old)) {
		struct spinlock *ptl = pmd_lock(parent, pmd);
		set_pmd(pmd, shared);
		spin_unlock(ptl);
		*flush = true;
	}
	return true;
}

/* --- lazy free (MADV_FREE) of a whole huge PMD, and its reclaim;
 * mm/memory.c walks the range and calls these --- */

/* Mapped here alone, no pin: the only huge pages lazy free may mark, and
 * reclaim may drop. */
static bool huge_page_exclusive(const struct page *p)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (p[i].mapcount != 1 || !page_exclusive(&p[i]))
			return false;
	return true;
}

static void set_huge_lazy(struct page *p, bool lazy)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (lazy)
			__atomic_or_fetch(&p[i].flags, PG_lazyfree, __ATOMIC_RELAXED);
		else
			__atomic_and_fetch(&p[i].flags, ~(u32)PG_lazyfree, __ATOMIC_RELAXED);
}

bool lazyfree_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr)
{
	vaddr_t haddr = ALIGN_DOWN(addr, PMD_SIZE);
	struct spinlock *ptl = pmd_lock(mm, pmd);
	pmd_t e = pmdp_get(pmd);

	if (!pmd_trans_huge(e)) {
		spin_unlock(ptl);
		return false;
	}
	struct page *p = huge_pmd_page(e);
	if (huge_page_exclusive(p)) {
		/* Invalid, flushed, then clean: a write from here on faults and
		 * waits for this lock, or finds the clean entry and sets D in
		 * it; none is lost in a stale dirty translation. */
		pmd_t old = huge_invalidate(pmd);
		flush_tlb_range(&mm->tlb, haddr, haddr + PMD_SIZE);
		set_pmd(pmd, pmd_mkclean(old));
		set_huge_lazy(p, true);
		__atomic_add_fetch(&lazyfree_stats.pglazyfree, PT_ENTRIES, __ATOMIC_RELAXED);
	}
	spin_unlock(ptl);
	return true;
}

bool reclaim_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr)
{
	vaddr_t haddr = ALIGN_DOWN(addr, PMD_SIZE);
	struct spinlock *ptl = pmd_lock(mm, pmd);
	pmd_t e = pmdp_get(pmd);

	if (!pmd_trans_huge(e)) {
		spin_unlock(ptl);
		return false;
	}
	struct page *p = huge_pmd_page(e);
	if (!(p->flags & PG_lazyfree) || !huge_page_exclusive(p)) {
		spin_unlock(ptl);
		return true;
	}
	/* D in the value the exchange returned is the last word: a CPU
	 * sets D in the entry in memory before it writes, and cannot once
	 * the entry is invalid. */
	pmd_t old = huge_invalidate(pmd);
	flush_tlb_range(&mm->tlb, haddr, haddr + PMD_SIZE);
	if (pmd_dirty(old)) {
		/* Written since the lazy free: the write wins. */
		set_pmd(pmd, old);
		set_huge_lazy(p, false);
		spin_unlock(ptl);
		return true;
	}
	pmd_clear(pmd);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		__atomic_sub_fetch(&p[i].mapcount, 1, __ATOMIC_RELAXED);
	paddr_t deposit = withdraw_table(pmd);
	spin_unlock(ptl);
	set_huge_lazy(p, false);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		put_page(&p[i]);
	mm_table_free(mm, deposit);
	__atomic_add_fetch(&lazyfree_stats.pglazyfreed, PT_ENTRIES, __ATOMIC_RELAXED);
	return true;
}

/* --- collapse (MADV_COLLAPSE, khugepaged's job done synchronously) --- */

/*
 * A PTE may join a collapse when it is present and its page has no user
 * but this mapping: a pinned sub-page must stay the frame the pin holds
 * (a device may write it), a shared one is another mapping's data too.
 */
static enum thp_collapse_result collapse_check_pte(pte_t e)
{
	if (!pte_present(e))
		return COLLAPSE_NOT_PRESENT;
	const struct page *p = phys_to_page(pte_paddr(e));
	if (p->refcount != 1 || p->mapcount != 1)
		return COLLAPSE_BUSY;
	return COLLAPSE_DONE;
}

static enum thp_collapse_result collapse_check_table(const pte_t *pte)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		enum thp_collapse_result r = collapse_check_pte(pte[i]);
		if (r != COLLAPSE_DONE)
			return r;
	}
	return COLLAPSE_DONE;
}

/* The VMA and the PMD, looked at again under whichever mmap_lock is held. */
static enum thp_collapse_result collapse_target(struct mm *mm, vaddr_t haddr,
						const struct vma **v, pmd_t **pmd_out)
{
	*v = vma_find(&mm->vmas, haddr);
	if (!*v || !thp_allowed(*v, haddr))
		return COLLAPSE_NOT_ALLOWED;
	pmd_t *pmd = mm_pmd_lookup(mm, haddr);
	if (!pmd || !pmd_present(pmdp_get(pmd)) || pmd_leaf(pmdp_get(pmd)))
		return COLLAPSE_NOT_TABLE;
	*pmd_out = pmd;
	return COLLAPSE_DONE;
}

/* Under the shared mmap_lock, like khugepaged's scan: is it worth an
 * order-9 allocation? */
static enum thp_collapse_result collapse_scan(struct mm *mm, vaddr_t haddr)
{
	const struct vma *v;
	pmd_t *pmd;
	struct spinlock *ptl;

	mmap_read_lock(mm);
	enum thp_collapse_result r = collapse_target(mm, haddr, &v, &pmd);
	pte_t *pte = r == COLLAPSE_DONE ? pte_offset_map_lock(mm, pmd, haddr, &ptl) : NULL;
	if (pte) {
		r = collapse_check_table(pte);
		pte_unmap_unlock(pte, ptl);
	} else if (r == COLLAPSE_DONE) {
		r = COLLAPSE_NOT_TABLE;
	}
	mmap_read_unlock(mm);
	return r;
}

/*
 * pmd_lock, then the PTE table's lock, every entry checked again: then
 * each PTE is cleared (the exchange returns the A/D bits a CPU set until
 * then) and the 2 MiB flushed, so no CPU can write an old page while it is
 * copied; then the cleared table becomes the deposit and the huge PMD is
 * written. The old pages are returned in old[] for after the unlock.
 */
static enum thp_collapse_result collapse_locked(struct mm *mm, const struct vma *v, pmd_t *pmd,
						vaddr_t haddr, struct page *huge,
						struct page **old)
{
	struct spinlock *pml = pmd_lock(mm, pmd), *ptl;
	pte_t *pte = pte_offset_map_lock(mm, pmd, haddr, &ptl);
	enum thp_collapse_result r = pte ? collapse_check_table(pte) : COLLAPSE_NOT_TABLE;

	if (r != COLLAPSE_DONE) {
		if (pte)
			pte_unmap_unlock(pte, ptl);
		spin_unlock(pml);
		return r;
	}
	bool dirty = false;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		pte_t e = ptep_get_and_clear(&pte[i]);
		dirty |= pte_dirty(e);
		old[i] = phys_to_page(pte_paddr(e));
	}
	flush_tlb_range(&mm->tlb, haddr, haddr + PMD_SIZE);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		memcpy(page_address(&huge[i]), page_address(old[i]), PAGE_SIZE);
		huge[i].mapcount = 1;
		old[i]->mapcount = 0;
	}
	pmd_t e = pmd_mkyoung(pmd_mkhuge(page_to_phys(huge), anon_leaf_bits(v->prot, true)));
	pte_unmap_unlock(pte, ptl);
	/* Every PTE is clear: the table is a deposit like any other. */
	deposit_table(pmd, pmd_paddr(pmdp_get(pmd)));
	set_pmd(pmd, dirty ? pmd_mkdirty(e) : e);
	spin_unlock(pml);
	return COLLAPSE_DONE;
}

/*
 * The scan and the allocation under the shared mmap_lock (or none); the
 * change itself under the exclusive one, as Linux's collapse does: the
 * zaps of munmap and DONTNEED walk a PTE table they looked up without its
 * lock, and must not find it turned into a deposit under them.
 */
enum thp_collapse_result thp_collapse(struct mm *mm, vaddr_t addr)
{
	vaddr_t haddr = ALIGN_DOWN(addr, PMD_SIZE);
	enum thp_collapse_result r = collapse_scan(mm, haddr);

	if (r != COLLAPSE_DONE)
		return r;
	struct page *huge = alloc_pages(this_cpu()->node, HUGE_ORDER, ALLOC_THISNODE);
	if (!huge)
		return COLLAPSE_NOMEM;
	split_page(huge, HUGE_ORDER);
	/* Per call, on the stack (4 KiB of the 16, like a zap's batch):
	 * collapses of different address spaces run at once. */
	struct page *old[PT_ENTRIES];
	const struct vma *v;
	pmd_t *pmd;

	mmap_write_lock(mm);
	r = collapse_target(mm, haddr, &v, &pmd);
	if (r == COLLAPSE_DONE)
		r = collapse_locked(mm, v, pmd, haddr, huge, old);
	mmap_write_unlock(mm);
	/* After the flush: no CPU reaches an old page any more. */
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		put_page(r == COLLAPSE_DONE ? old[i] : &huge[i]);
	if (r == COLLAPSE_DONE)
		count(&thp_stats.thp_collapse_alloc);
	return r;
}
