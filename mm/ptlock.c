/*
 * Split page-table locks and the walks that use them (memory.h).
 *
 * Each page-table page of an address space has its own lock, in its
 * struct page (the free-list links' storage: a table in use is never on
 * a free list). Entries change under the lock of the table page holding
 * them; the lock's class is that table's level, so the lock order reads
 * top-down: PGD table < PUD table < PMD table < PTE table.
 *
 * Tables are freed only under the exclusive mmap_lock (munmap, destroy),
 * so a walker holding it shared may follow entries without their locks:
 * a table it reached stays a table. What such a lockless look decides is
 * rechecked under the lock before anything is changed. A new lower table
 * is allocated first, then linked under the lock only if the entry is
 * still none; the loser of a race frees its page.
 */

#include <mmulab/memory.h>
#include <mmulab/kernel.h>
#include <mmulab/mm.h>
#include <mmulab/page.h>

static const char *const table_names[] = {
	[LOCK_PGD_TABLE] = "PGD table", [LOCK_PUD_TABLE] = "PUD table",
	[LOCK_PMD_TABLE] = "PMD table", [LOCK_PTE_TABLE] = "PTE table",
};

/* The validator's name for the level of the table a lock class guards. */
static enum pt_level pt_level_of(enum lock_class level)
{
	return PT_L4 - (level - LOCK_PGD_TABLE);
}

paddr_t mm_table_alloc(struct mm *mm, enum lock_class level)
{
	struct page *p = alloc_pages(mm->home_node, 0, 0);

	ASSERT(level >= LOCK_PGD_TABLE && level <= LOCK_PTE_TABLE);
	if (!p)
		panic("mm: out of memory for a page table");
	pt_table_clear(page_address(p));
	pt_table_pin(page_to_phys(p), pt_level_of(level));
	p->ptl = (struct spinlock)SPINLOCK_INIT_CLASS(table_names[level], level);
	p->deposit = NULL; /* no tables deposited with huge PMDs in it yet */
	__atomic_add_fetch(&mm->table_pages, 1, __ATOMIC_RELAXED);
	return page_to_phys(p);
}

void mm_table_free(struct mm *mm, paddr_t table)
{
	pt_table_unpin(table);
	put_page(phys_to_page(table));
	__atomic_sub_fetch(&mm->table_pages, 1, __ATOMIC_RELAXED);
}

struct spinlock *table_lock_of(const void *entry)
{
	return &phys_to_page(virt_to_phys(entry))->ptl;
}

struct spinlock *pmd_lockptr(struct mm *mm, pmd_t *pmd)
{
	(void)mm;
	return table_lock_of(pmd);
}

struct spinlock *pmd_lock(struct mm *mm, pmd_t *pmd)
{
	struct spinlock *ptl = pmd_lockptr(mm, pmd);

	spin_lock(ptl);
	return ptl;
}

pte_t *pte_offset_map_lock(struct mm *mm, pmd_t *pmd, vaddr_t addr, struct spinlock **ptl)
{
	pmd_t m = pmdp_get(pmd);

	(void)mm;
	if (!pmd_present(m) || pmd_leaf(m))
		return NULL;
	struct spinlock *l = &phys_to_page(pmd_paddr(m))->ptl;
	spin_lock(l);
	/* The PMD may have changed between the look and the lock (a huge PMD
	 * collapsed or a table replaced): the lock taken must be the one of
	 * the table the PMD points at now. */
	if (pmd_val(pmdp_get(pmd)) != pmd_val(m)) {
		spin_unlock(l);
		return NULL;
	}
	*ptl = l;
	return pte_offset(pmd, addr);
}

void pte_unmap_unlock(pte_t *pte, struct spinlock *ptl)
{
	(void)pte;
	spin_unlock(ptl);
}

static pud_t *pud_alloc_locked(struct mm *mm, pgd_t *pgd, vaddr_t va)
{
	if (pgd_none(pgdp_get(pgd))) {
		paddr_t new = mm_table_alloc(mm, LOCK_PUD_TABLE);
		struct spinlock *l = table_lock_of(pgd);
		spin_lock(l);
		if (pgd_none(*pgd)) {
			set_pgd(pgd, pgd_mktable(new));
			new = 0;
		}
		spin_unlock(l);
		if (new)
			mm_table_free(mm, new);
	}
	return pud_offset(pgd, va);
}

static pmd_t *pmd_alloc_locked(struct mm *mm, pud_t *pud, vaddr_t va)
{
	if (pud_none(pudp_get(pud))) {
		paddr_t new = mm_table_alloc(mm, LOCK_PMD_TABLE);
		struct spinlock *l = table_lock_of(pud);
		spin_lock(l);
		if (pud_none(*pud)) {
			set_pud(pud, pud_mktable(new));
			new = 0;
		}
		spin_unlock(l);
		if (new)
			mm_table_free(mm, new);
	}
	ASSERT(!pud_leaf(pudp_get(pud)));
	return pmd_offset(pud, va);
}

pmd_t *mm_pmd_alloc(struct mm *mm, vaddr_t va)
{
	return pmd_alloc_locked(mm, pud_alloc_locked(mm, pgd_offset(mm->root, va), va), va);
}

void mm_pte_table_alloc(struct mm *mm, pmd_t *pmd)
{
	paddr_t new = mm_table_alloc(mm, LOCK_PTE_TABLE);
	struct spinlock *ptl = pmd_lock(mm, pmd);

	if (pmd_none(*pmd)) {
		set_pmd(pmd, pmd_mktable(new));
		new = 0;
	}
	spin_unlock(ptl);
	if (new)
		mm_table_free(mm, new);
}

pmd_t *mm_pmd_lookup(struct mm *mm, vaddr_t va)
{
	pgd_t *pgd = pgd_offset(mm->root, va);

	if (!pgd_present(pgdp_get(pgd)))
		return NULL;
	pud_t *pud = pud_offset(pgd, va);
	pud_t u = pudp_get(pud);
	if (!pud_present(u) || pud_leaf(u))
		return NULL;
	return pmd_offset(pud, va);
}

pte_t *mm_pte_lookup_lock(struct mm *mm, vaddr_t va, struct spinlock **ptl)
{
	pmd_t *pmd = mm_pmd_lookup(mm, va);

	return pmd ? pte_offset_map_lock(mm, pmd, va, ptl) : NULL;
}

pte_t *mm_pte_alloc(struct mm *mm, vaddr_t va)
{
	pmd_t *pmd = mm_pmd_alloc(mm, va);

	if (pmd_none(pmdp_get(pmd)))
		mm_pte_table_alloc(mm, pmd);
	ASSERT(pmd_present(*pmd) && !pmd_leaf(*pmd));
	return pte_offset(pmd, va);
}
