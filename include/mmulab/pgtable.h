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
/* The existing 4 KiB leaf entry for va, or NULL. */
pte_t *pt_pte_lookup(paddr_t root, vaddr_t va);

u64 pt_leaf_bits(enum vm_prot prot);

#endif
