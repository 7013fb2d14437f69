#ifndef MMULAB_PGTABLE_H
#define MMULAB_PGTABLE_H

/* Page-table walking and mapping over typed entries (mm/pgtable.c). A
 * "root" is the physical address of a top-level table. */

#include <mmulab/types.h>
#include <mmulab/prot.h>
#include <arch/pgtable.h>

/* What a walk found: entries down to the level where it stopped. */
struct pt_walk {
	pgd_t pgd;
	pud_t pud;
	pmd_t pmd;
	pte_t pte;
	int levels;       /* entries read: 1 (pgd) .. 4 (pte) */
	u64 leaf_size;    /* 0 when no present leaf maps the address */
};

#include <mmulab/mm.h>

/* Entry lookups, one per level, through the direct map. */
static inline pgd_t *pgd_offset(paddr_t root, vaddr_t va)
{
	return (pgd_t *)phys_to_virt(root) + pgd_index(va);
}

static inline pud_t *pud_offset(pgd_t *pgd, vaddr_t va)
{
	return (pud_t *)phys_to_virt(pgd_paddr(*pgd)) + pud_index(va);
}

static inline pmd_t *pmd_offset(pud_t *pud, vaddr_t va)
{
	return (pmd_t *)phys_to_virt(pud_paddr(*pud)) + pmd_index(va);
}

static inline pte_t *pte_offset(pmd_t *pmd, vaddr_t va)
{
	return (pte_t *)phys_to_virt(pmd_paddr(*pmd)) + pte_index(va);
}

/* The end of the current entry's span at each level, capped at end. */
#define DEFINE_ADDR_END(lvl, size)                                               	static inline vaddr_t lvl##_addr_end(vaddr_t va, vaddr_t end)            	{                                                                        		vaddr_t next = (va + (size)) & ~((size) - 1);                    		return next - 1 < end - 1 ? next : end;                          	}
DEFINE_ADDR_END(pgd, 1ULL << PGD_SHIFT)
DEFINE_ADDR_END(pud, PUD_SIZE)
DEFINE_ADDR_END(pmd, PMD_SIZE)

/* Where page-table pages come from: the kernel's tables from the early
 * buffer or memblock, an address space's from its home node. */
struct pt_alloc {
	paddr_t (*frame)(void *ctx);
	void *ctx;
};

/* The top-level table this CPU is walking now, read from the hardware. */
paddr_t pt_current_root(void);
struct pt_walk pt_walk(paddr_t root, vaddr_t va);
void pt_print_walk(paddr_t root, vaddr_t va, const char *prefix);

/* Maps [va, va+size) to [pa, pa+size) with pages of page_size (4 KiB,
 * 2 MiB or 1 GiB; all three aligned to it), allocating tables as needed.
 * Panics if a different mapping is in the way. */
void pt_map(paddr_t root, vaddr_t va, paddr_t pa, u64 size, u64 page_size, enum vm_prot prot);

/* The 4 KiB leaf entry for va, allocating tables on the way; panics if a
 * large page maps va. */
pte_t *pt_pte_alloc(paddr_t root, vaddr_t va);
pte_t *pt_pte_alloc_with(paddr_t root, vaddr_t va, const struct pt_alloc *a);
/* The PMD slot for va, allocating the tables above it (not below). */
pmd_t *pt_pmd_alloc_with(paddr_t root, vaddr_t va, const struct pt_alloc *a);
/* The existing PMD slot for va (whatever it holds), or NULL. */
pmd_t *pt_pmd_lookup(paddr_t root, vaddr_t va);
/* The existing 4 KiB leaf entry for va, or NULL. */
pte_t *pt_pte_lookup(paddr_t root, vaddr_t va);

u64 pt_leaf_bits(enum vm_prot prot);

#endif
