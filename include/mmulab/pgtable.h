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

/* The top-level table this CPU is walking now, read from the hardware. */
paddr_t pt_current_root(void);
struct pt_walk pt_walk(paddr_t root, vaddr_t va);
void pt_print_walk(paddr_t root, vaddr_t va, const char *prefix);

/* Maps [va, va+size) to [pa, pa+size) with pages of page_size (4 KiB,
 * 2 MiB or 1 GiB; all three aligned to it), allocating tables as needed.
 * Panics if a different mapping is in the way. */
void pt_map(paddr_t root, vaddr_t va, paddr_t pa, u64 size, u64 page_size, enum vm_prot prot);

/* The 4 KiB leaf entry for va in the kernel's tables, allocating tables
 * on the way; panics if a large page maps va. (Address spaces allocate
 * theirs under their page-table locks: mm/ptlock.c.) */
pte_t *pt_pte_alloc(paddr_t root, vaddr_t va);
/* The existing 4 KiB leaf entry for va, or NULL. */
pte_t *pt_pte_lookup(paddr_t root, vaddr_t va);

u64 pt_leaf_bits(enum vm_prot prot);

/* A zeroed page for a kernel table of level, from the early buffer while
 * it is active (mm/pgt_buf.c), pinned in the read-only mode. */
paddr_t pt_table_frame(enum pt_level level);

/*
 * The read-only page-table mode (mmu=pv, mm/pv_mode.c). A page becomes a
 * table of a level (read-only in the direct map, pinned with the
 * validator) before it is linked, and stops being one before it is freed;
 * both are no-ops natively.
 */
void pt_table_pin(paddr_t table, enum pt_level level);
void pt_table_unpin(paddr_t table);
/* Boot: the frame permutation and the validator's state (before the
 * kernel's tables are built), then those tables pinned bottom-up. */
void pv_mode_setup(paddr_t ram_span);
void pv_mode_pin_kernel_tables(paddr_t root);
/* Keeps one-to-one memory from the page allocator (mm/page_alloc.c). */
void pv_mode_hold_identity_blocks(void);
/* The direct map's 4 KiB mapping of pa made read-only or writable (the
 * read-only mode maps RAM with 4 KiB pages only). */
void direct_map_set_writable(paddr_t pa, bool writable);

#endif
