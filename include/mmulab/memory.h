#ifndef MMULAB_MEMORY_H
#define MMULAB_MEMORY_H

/* Range operations on an address space's page tables (mm/memory.c) and
 * the fault path (mm/fault.c). */

#include <mmulab/mm_struct.h>
#include <mmulab/pgtable.h>

struct page;

u64 anon_leaf_bits(u32 prot, bool exclusive);
bool page_exclusive(const struct page *p);
bool page_owned_by_mapping(const struct page *p);

/* The leaf slot for va in mm, allocating tables from mm's home node. */
pte_t *mm_pte_alloc(struct mm *mm, vaddr_t va);
/* The PMD slot for va, allocating the tables above it. */
pmd_t *mm_pmd_alloc(struct mm *mm, vaddr_t va);
/* A zeroed page-table page of mm's, counted in mm->table_pages. */
paddr_t mm_table_alloc(struct mm *mm);

void zap_range(struct mm *mm, vaddr_t start, vaddr_t end);
void change_protection(struct mm *mm, vaddr_t start, vaddr_t end, u32 prot);
void copy_range(struct mm *parent, struct mm *child, vaddr_t start, vaddr_t end, u32 prot);

/* Resolves a user-address fault in mm as if the CPU had taken it: true
 * when the access may be retried, false with mm->segv filled when the
 * VMA forbids it. */
bool handle_mm_fault(struct mm *mm, vaddr_t addr, u32 access);

/* Faults in a row on one CPU, at one address and entry value, that leave
 * the entry forbidding the access: the last one is given up (false, with
 * mm->no_progress filled and a report) instead of refaulting forever. More
 * than one, because a racing CPU may leave a retry the same entry once. */
#define FAULT_REPEAT_LIMIT 3

#endif
