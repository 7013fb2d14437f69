#ifndef MMULAB_HUGE_MEMORY_H
#define MMULAB_HUGE_MEMORY_H

/*
 * Transparent huge pages (mm/huge_memory.c): 2 MiB anonymous pages mapped
 * by one PMD, and the one split function every path goes through.
 *
 * A huge PMD's 512 frames are an order-9 block split into order-0 pages
 * at allocation (Linux's split_page): the huge PMD holds one reference and
 * one map count on each of them, exactly as 512 PTEs would. So a PMD split
 * changes no page counts, and each 4 KiB path (COW, zap, pin) works on the
 * sub-pages unchanged afterwards.
 *
 * Every huge PMD has one page table deposited with it, allocated at the
 * huge fault (or the fork that copies it): the split withdraws it as the
 * new PTE table, so a split never needs memory; a zap frees it. Deposits
 * hang off the struct page of the PMD table holding the entry (its `deposit`
 * field, chained through the deposited tables' own `deposit`), and count in
 * mm->table_pages like any table.
 *
 * States of one PMD slot (docs/ARCHITECTURE.md):
 *   none -> huge (fault) -> invalid-huge (split, under the PMD lock)
 *        -> table (split populates the deposited table)
 * huge -> none by a zap of the whole 2 MiB, which frees the deposit too.
 */

#include <mmulab/mm_struct.h>
#include <mmulab/pgtable.h>

enum thp_mode {
	THP_MADVISE, /* only in VMAs with VMA_HUGE_OK (the default) */
	THP_ALWAYS,
	THP_NEVER,
};

/* Linux's vmstat names. */
struct thp_stats {
	u64 thp_fault_alloc;    /* huge PMDs a fault mapped */
	u64 thp_fault_fallback; /* huge faults that found no order-9 block: 4 KiB instead */
	u64 thp_split_pmd;      /* huge PMDs split into tables */
	u64 thp_migration_success; /* huge hints that moved all 2 MiB whole */
	u64 thp_migration_fail;    /* huge hints whose move was refused: split instead */
	u64 thp_collapse_alloc;    /* 2 MiB ranges thp_collapse made huge again */
};
extern struct thp_stats thp_stats;

void thp_init(enum thp_mode mode);
enum thp_mode thp_mode(void);
/* Sets the mode, returns the old one (tests). */
enum thp_mode thp_set_mode(enum thp_mode mode);

struct vma;

/* The PMD level of a fault on an access v allows (mmap_lock shared): maps a
 * huge page into a none PMD when v allows one there (true: done), splits a
 * huge PMD a write must COW (false: the 4 KiB path goes on), or finds a
 * huge PMD that already allows the access (true: spurious). False when
 * the 4 KiB path must handle it or the PMD changed meanwhile: the caller
 * looks at it again. */
bool huge_pmd_fault(struct mm *mm, const struct vma *v, pmd_t *pmd, vaddr_t addr, u32 access);

/* THE split: a present huge PMD at pmd becomes a table of 512 PTEs mapping
 * the same frames with the same bits (see the protocol in the .c file).
 * Does nothing if the entry is not huge by the time the PMD lock is held. */
void split_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr);
/* For tests: takes mmap_lock shared and splits the huge PMD mapping addr; false
 * when none maps it. */
bool mm_split_huge_pmd(struct mm *mm, vaddr_t addr);

/* Range operations on a whole huge PMD (mm/memory.c calls these for a range
 * covering all 2 MiB; a partial range splits first). */
/* True when the PMD is none afterwards (zapped, here or by a racer); false
 * when it had become a table, whose PTEs the caller zaps. */
bool zap_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr);
/* Returns true when other CPUs must flush (a permission was lost); false
 * with *split set when the change needs 4 KiB entries (PROT_NONE). */
bool change_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr, u32 prot, bool *split);
/* Shares the huge page with child read-only. False when it must be copied
 * per 4 KiB page instead (a sub-page is pinned): the caller splits. */
bool copy_huge_pmd(struct mm *parent, struct mm *child, pmd_t *pmd, vaddr_t addr, bool *flush);

/* Lazy free of a whole huge PMD (shared mmap_lock): a huge page mapped
 * here alone gets a clean entry (flushed) and its sub-pages PG_lazyfree.
 * False when the PMD is no longer huge under the lock: the caller looks
 * at what it became. */
bool lazyfree_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr);
/* Reclaim's look at a huge PMD (shared mmap_lock): a lazily freed huge
 * page whose entry is still clean is unmapped whole and freed with its
 * deposit; a dirty one stays mapped and loses the mark. False as above. */
bool reclaim_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr);
/* What thp_collapse did. */
enum thp_collapse_result {
	COLLAPSE_DONE,
	COLLAPSE_NOT_ALLOWED, /* no VMA allowing huge pages covers the 2 MiB */
	COLLAPSE_NOT_TABLE,   /* the PMD is none or already huge */
	COLLAPSE_NOT_PRESENT, /* an entry is none, a hint or migrating */
	COLLAPSE_BUSY,        /* a sub-page is pinned or shared */
	COLLAPSE_NOMEM,       /* no order-9 block on this CPU's node */
};
/* Like MADV_COLLAPSE: 512 present 4 KiB entries of the 2 MiB holding addr,
 * each the only user of its page, become one huge PMD over a fresh order-9
 * copy on this CPU's node; the old PTE table becomes its deposit. */
enum thp_collapse_result thp_collapse(struct mm *mm, vaddr_t addr);

/* A huge PMD about to be rewritten under its lock (a split, a protection
 * change such as a NUMA hint): returns its value, and leaves the slot in
 * the invalid form in one exchange, never none. */
pmd_t huge_pmd_take(pmd_t *pmd);

/* Deposited tables on the PMD table holding pmd (the audit). */
u64 huge_pmd_deposits(const pmd_t *pmd_table);

#endif
