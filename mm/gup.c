/* Pinning: see include/mmulab/gup.h. */

#include <mmulab/gup.h>
#include <mmulab/memory.h>
#include <mmulab/page.h>

static struct page *pin_page(struct page *p)
{
	get_page(p);
	__atomic_add_fetch(&p->pincount, 1, __ATOMIC_RELAXED);
	return p;
}

/* The page mapped at va if it allows the access, pinned; else NULL.
 * Under the PTE table's lock: the entry cannot be zapped or migrated
 * between the look and the pin. */
static struct page *pin_mapped_page(struct mm *mm, vaddr_t va, bool write)
{
	pmd_t *pmd = mm_pmd_lookup(mm, va);
	struct page *p = NULL;

	if (pmd && pmd_trans_huge(pmdp_get(pmd))) {
		/* A huge PMD: its sub-page, counted on its own, under the PMD's
		 * lock (a split or zap of it waits; one that won looks again). */
		struct spinlock *ptl = pmd_lock(mm, pmd);
		pmd_t e = pmdp_get(pmd);
		bool huge = pmd_trans_huge(e) && pmd_present(e);
		if (huge && (!write || pmd_write(e)))
			p = pin_page(phys_to_page(pmd_huge_paddr(e)) + pte_index(va));
		spin_unlock(ptl);
		if (huge)
			return p;
	}
	struct spinlock *ptl;
	pte_t *pte = mm_pte_lookup_lock(mm, va, &ptl);

	if (!pte)
		return NULL;
	if (pte_present(*pte) && (!write || pte_write(*pte)))
		p = pin_page(phys_to_page(pte_paddr(*pte)));
	pte_unmap_unlock(pte, ptl);
	return p;
}

static struct page *pin_one(struct mm *mm, vaddr_t va, bool write)
{
	for (int tries = 0; tries < 3; tries++) {
		mmap_read_lock(mm);
		struct page *p = pin_mapped_page(mm, va, write);
		mmap_read_unlock(mm);
		if (p)
			return p;
		if (!handle_mm_fault(mm, va, write ? VM_WRITE : VM_READ))
			return NULL;
	}
	return NULL;
}

int pin_pages(struct mm *mm, vaddr_t addr, u32 n, bool write, struct page **pages)
{
	for (u32 i = 0; i < n; i++) {
		pages[i] = pin_one(mm, addr + i * PAGE_SIZE, write);
		if (!pages[i]) {
			unpin_pages(pages, i);
			return -1;
		}
	}
	return 0;
}

void unpin_pages(struct page **pages, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		__atomic_sub_fetch(&pages[i]->pincount, 1, __ATOMIC_RELAXED);
		put_page(pages[i]);
	}
}
