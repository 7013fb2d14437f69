#ifndef MMULAB_TLB_H
#define MMULAB_TLB_H

/*
 * TLB shootdown. An address space's `active` set holds every CPU that may
 * cache its translations; a flush covers this CPU and sends one IPI to
 * each other CPU of the set, and returns when all have flushed. Only then
 * may the caller reuse the frame or the page-table page (the SDM's rule,
 * and the order Linux's 2018 tlb fixes restored).
 *
 * Callers run with interrupts on: two CPUs shooting down each other at the
 * same time must both be able to take the other's IPI while they wait.
 */

#include <mmulab/types.h>
#include <mmulab/cpumask.h>

/* What a shootdown needs of an address space; the full struct mm of a
 * later issue embeds this. */
struct tlb_space {
	struct cpumask active;
};

/* The kernel's tables: every online CPU uses them. */
extern struct tlb_space kernel_space;

#define TLB_FLUSH_ALL (~0ULL)

void flush_tlb_range(struct tlb_space *space, vaddr_t start, vaddr_t end);
void flush_tlb_space(struct tlb_space *space);
/* This CPU's translation of one page only: a stale entry the fault path
 * found already fixed in the tables. Not counted in tlb_stats. */
void flush_tlb_local_page(vaddr_t addr);
void tlb_init(void);

struct tlb_stats {
	u64 ipis_sent;
	u64 pages_flushed; /* by INVLPG, on any CPU */
	u64 full_flushes;
};
extern struct tlb_stats tlb_stats;

#endif
