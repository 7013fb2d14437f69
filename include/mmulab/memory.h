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

/*
 * Split page-table locks (mm/ptlock.c). Each table page of an address
 * space has its own lock; an entry changes only under the lock of the
 * table page that holds it. Lock order: mmap_lock, then a PMD table's
 * lock (pmd_lock), then a PTE table's (pte_offset_map_lock); never two of
 * one level at once.
 */
/* A page-table page with its lock ready (level: LOCK_PGD_TABLE..PTE). */
paddr_t mm_table_alloc(struct mm *mm, enum lock_class level);
void mm_table_free(struct mm *mm, paddr_t table);
/* The lock of the table page an entry (of any level) lives in. */
struct spinlock *table_lock_of(const void *entry);
/* The lock of the PMD table holding *pmd (covers the PMD entry itself). */
struct spinlock *pmd_lockptr(struct mm *mm, pmd_t *pmd);
struct spinlock *pmd_lock(struct mm *mm, pmd_t *pmd);
/* The PTE slot for addr in the table *pmd points at, with that table's
 * lock taken (*ptl); NULL when *pmd is not a table (none or huge) or
 * changed before the lock was taken. */
pte_t *pte_offset_map_lock(struct mm *mm, pmd_t *pmd, vaddr_t addr, struct spinlock **ptl);
void pte_unmap_unlock(pte_t *pte, struct spinlock *ptl);
/* Lockless walks (mmap_lock held): the PMD slot for va, allocating the
 * upper tables; or NULL when an upper table is missing. */
pmd_t *mm_pmd_alloc(struct mm *mm, vaddr_t va);
pmd_t *mm_pmd_lookup(struct mm *mm, vaddr_t va);
/* Links a new PTE table under *pmd unless another CPU did first. */
void mm_pte_table_alloc(struct mm *mm, pmd_t *pmd);
/* mm_pmd_lookup + pte_offset_map_lock. */
pte_t *mm_pte_lookup_lock(struct mm *mm, vaddr_t va, struct spinlock **ptl);
/* The leaf slot for va in mm, allocating tables; no lock kept (an address
 * space no other CPU can reach yet, or a test's hand-built state). */
pte_t *mm_pte_alloc(struct mm *mm, vaddr_t va);

/* Clears and frees everything in the range, tables included (exclusive
 * mmap_lock). */
void zap_range(struct mm *mm, vaddr_t start, vaddr_t end);
/* Clears entries and frees pages, leaves the tables (shared mmap_lock). */
void zap_range_keep_tables(struct mm *mm, vaddr_t start, vaddr_t end);
void change_protection(struct mm *mm, vaddr_t start, vaddr_t end, u32 prot);
void copy_range(struct mm *parent, struct mm *child, vaddr_t start, vaddr_t end, u32 prot);

/*
 * Lazy free (MADV_FREE, shared mmap_lock): the pages of the range stay
 * mapped; each one mapped there alone gets a clean entry (flushed) and
 * PG_lazyfree. reclaim_lazyfree drops every lazily freed page whose entry
 * is still clean (a later read finds a demand-zero page) and keeps, and
 * unmarks, one written since (D set). Huge PMDs the range covers whole are
 * handled as one entry; one covered in part is split.
 */
struct lazyfree_stats {
	u64 pglazyfree;  /* pages marked (Linux's vmstat names) */
	u64 pglazyfreed; /* marked pages reclaim freed */
};
extern struct lazyfree_stats lazyfree_stats;
int mm_lazyfree(struct mm *mm, vaddr_t start, u64 len);
void reclaim_lazyfree(struct mm *mm);
/* Their range steps (mmap_lock held, shared is enough). */
void lazyfree_range(struct mm *mm, vaddr_t start, vaddr_t end);
void reclaim_lazyfree_range(struct mm *mm, vaddr_t start, vaddr_t end);

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
