/* Pinning: see include/mmulab/gup.h. */

#include <mmulab/gup.h>
#include <mmulab/memory.h>
#include <mmulab/page.h>

/* The page mapped at va if it allows the access, else NULL. */
static struct page *mapped_page(struct mm *mm, vaddr_t va, bool write)
{
	pmd_t *pmd = pt_pmd_lookup(mm->root, va);

	if (pmd && pmd_leaf(*pmd)) /* a huge PMD: its sub-page, counted on its own */
		return write && !pmd_write(*pmd) ? NULL :
		       phys_to_page(pmd_huge_paddr(*pmd)) + pte_index(va);
	pte_t *pte = pt_pte_lookup(mm->root, va);

	if (!pte || !pte_present(*pte) || (write && !pte_write(*pte)))
		return NULL;
	return phys_to_page(pte_paddr(*pte));
}

static struct page *pin_one(struct mm *mm, vaddr_t va, bool write)
{
	for (int tries = 0; tries < 3; tries++) {
		spin_lock(&mm->lock);
		struct page *p = mapped_page(mm, va, write);
		if (p) {
			get_page(p);
			__atomic_add_fetch(&p->pincount, 1, __ATOMIC_RELAXED);
		}
		spin_unlock(&mm->lock);
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
