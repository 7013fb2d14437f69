#ifndef MMULAB_NUMA_BALANCE_H
#define MMULAB_NUMA_BALANCE_H

/*
 * NUMA balancing on real page tables (seeds 000 and 004): the scanner
 * turns present entries into NUMA-hint entries, which are exactly
 * PROT_NONE entries (P clear, bit 8 set); the fault path tells a hint
 * from a real PROT_NONE by the VMA alone; a hint fault records who
 * touched the page, may migrate it toward that CPU's node, and restores
 * the entry from the VMA.
 */

#include <mmulab/mm_struct.h>
#include <mmulab/page.h>
#include <arch/pgtable.h>

enum numa_policy {
	NUMA_POLICY_FIRST,    /* migrate on the first remote access */
	NUMA_POLICY_TWOSTAGE, /* only when two faults in a row come from one node */
};

/* Named like Linux's /proc/vmstat, and counting what Linux's counters
 * count: numa_pages_migrated only the pages a hint fault moved,
 * pgmigrate_success every page moved (hint faults and explicit
 * migrate_pages() alike). */
struct numa_stats {
	u64 numa_pte_updates;       /* entries hinted, a huge PMD counting one */
	u64 numa_huge_pte_updates;  /* of those, huge PMDs */
	u64 numa_hint_faults;
	u64 numa_hint_faults_local;
	u64 numa_pages_migrated;
	u64 pgmigrate_success;
	u64 migrate_refused_pinned;  /* extra references: pins, other mappings */
	u64 migrate_refused_nomem;   /* target node full */
	u64 matrix[MAX_NODES][MAX_NODES]; /* every page moved, from -> to */
};

extern struct numa_stats numa_stats;

/* scan_period_ms 0: no periodic scanning (tests call numa_scan). */
void numa_balance_init(u32 policy, bool restore_write, u64 scan_period_ms, u64 scan_pages);
/* Tests run a case with write restore on or off whatever the command line
 * says; returns the previous setting. */
bool numa_set_restore_write(bool on);
/* The periodic scanner: run by an idle CPU after each wake-up; scans the
 * next window of every address space with numa_periodic set, when due. */
void numa_periodic_scan(void);
enum numa_policy numa_policy(void);

/* Hints every eligible page of [start, end); returns how many entries it
 * changed. One shootdown at the end covers them all. */
u64 numa_scan(struct mm *mm, vaddr_t start, vaddr_t end);

/* Moves the pages of [start, end) to node (explicit migration); returns
 * how many moved. */
u64 migrate_pages(struct mm *mm, vaddr_t start, vaddr_t end, int node);
/* move_pages(2) of one page: the 4 KiB page, or the whole huge page,
 * mapped at addr goes to node (a node with memory). Returns the node it is
 * on afterwards (still the old one when the move was refused: pinned,
 * shared, no memory there), or -VMA_ENOENT when nothing is mapped there. */
int move_page(struct mm *mm, vaddr_t addr, int node);

/* The fault path's handler for a protnone entry in an accessible VMA
 * (the PTE table's lock held). */
struct vma;
bool do_numa_page(struct mm *mm, const struct vma *v, pte_t *pte, vaddr_t addr);

/* Migrates the page mapped by *pte (its PTE table's lock held); false with the
 * reason counted when it may not or cannot. */
bool migrate_one(struct mm *mm, pte_t *pte, vaddr_t addr, int node);

/* The fault path's handler for a huge protnone PMD in an accessible VMA
 * (pmd_lock held): true when it is resolved at the PMD (migrated whole or
 * restored), false when the caller must split it. */
bool do_huge_numa_page(struct mm *mm, const struct vma *v, pmd_t *pmd, vaddr_t addr);
/* Moves the huge page of the protnone PMD *pmd whole to node (pmd_lock
 * held); false with the reason counted when it may not or cannot. */
bool migrate_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr, int node);
void numa_stats_print(const char *prefix);

#endif
