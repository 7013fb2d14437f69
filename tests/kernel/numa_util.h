#ifndef TESTS_NUMA_UTIL_H
#define TESTS_NUMA_UTIL_H

/* Helpers for the NUMA suites: CPUs by node, and touching an address
 * space's pages from a chosen CPU. */

#include <mmulab/cmdline.h>
#include <mmulab/numa_balance.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include "mm_util.h"

/* An online CPU on node, or -1. */
static inline int cpu_on_node(int node)
{
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (cpus[cpu].node == node)
			return (int)cpu;
	return -1;
}

/* An online CPU on a node other than `not`, with memory, or -1. */
static inline int cpu_off_node(int not_node)
{
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (cpus[cpu].node != not_node && node_present_pages(cpus[cpu].node))
			return (int)cpu;
	return -1;
}

/* A node with memory other than `not_node` (CPUs or none), or -1. */
static inline int node_off(int not_node)
{
	for (int n = 0; n < nr_nodes(); n++)
		if (n != not_node && node_present_pages(n))
			return n;
	return -1;
}

struct touch {
	struct mm *mm;
	vaddr_t start;
	u64 pages;
	u64 seed;
	bool write;
	u64 bad;
};

static inline void touch_body(struct test *t, void *arg)
{
	struct touch *w = arg;
	(void)t;
	mm_switch(w->mm);
	w->bad = w->write ? fill_user(w->start, w->pages, w->seed) : check_user(w->start, w->pages, w->seed);
	mm_switch(NULL);
}

/* Reads (checking the pattern) or writes every page from cpu; returns the
 * mismatches or faults. */
static inline u64 touch_from(struct test *t, int cpu, struct touch w)
{
	static struct touch shared;
	struct cpumask m = { 0 };

	shared = w;
	cpumask_set(&m, (u32)cpu);
	test_on_cpus(t, &m, touch_body, &shared);
	return shared.bad;
}

static inline u64 read_from(struct test *t, int cpu, struct mm *mm, vaddr_t start, u64 pages,
			    u64 seed)
{
	return touch_from(t, cpu, (struct touch){ mm, start, pages, seed, false, 0 });
}

static inline u64 write_from(struct test *t, int cpu, struct mm *mm, vaddr_t start, u64 pages,
			     u64 seed)
{
	return touch_from(t, cpu, (struct touch){ mm, start, pages, seed, true, 0 });
}

static inline int node_at(struct mm *mm, vaddr_t va)
{
	return page_to_nid(phys_to_page(frame_at(mm, va)));
}

/* numa_restore_write for one case, whatever the command line says, so
 * the case runs in every configuration; numa_restore_write_reset() goes
 * back to the command line's setting. */
static inline void numa_restore_write_set(bool on)
{
	numa_set_restore_write(on);
}

static inline void numa_restore_write_reset(void)
{
	numa_set_restore_write(cmdline.numa_restore_write);
}

/* A NUMA scan of the first `pages` pages at USER_BASE, as an operation
 * for live_run (live.h). */
struct scan_op {
	struct mm *mm;
	u32 pages;
	u64 hinted;
};

static inline void op_scan(struct test *t, void *arg)
{
	struct scan_op *o = arg;

	(void)t;
	o->hinted = numa_scan(o->mm, USER_BASE, USER_BASE + o->pages * PAGE_SIZE);
}

#endif
