#ifndef TESTS_FAULT_BENCH_H
#define TESTS_FAULT_BENCH_H

/*
 * The single-fault figures numa_bench and pv_bench both take, so that the
 * two suites time the same thing (numa_bench says why COW reuse is the
 * cheapest fault that can be produced on demand):
 *
 *   fault_cow_reuse      a write to a read-only entry of an exclusive
 *                        page: the handler only sets W
 *   numa_hint_nomigrate  a read of a hinted page on this CPU's node
 *
 * Each sample times one access from the kernel's user-access window. The
 * validator's work inside the timed accesses is summed into a pv_work
 * (the read-only page-table mode; zero natively) when the caller passes
 * one.
 */

#include <arch/pv_mmu.h>
#include "numa_util.h"

/* Validator calls and entry updates inside the timed parts of a bench. */
struct pv_work {
	u64 calls, updates;
};

static inline void pv_work_add_since(struct pv_work *w, struct pv_mmu_stats before)
{
	if (!w)
		return;
	struct pv_mmu_stats now = pv_mmu_stats();
	w->calls += now.calls - before.calls;
	w->updates += now.updates - before.updates;
}

static inline u64 timed_read(vaddr_t va)
{
	u64 t0 = rdtsc();
	user_access_begin();
	(void)*(volatile u64 *)va;
	user_access_end();
	return rdtsc() - t0;
}

static inline u64 timed_write(vaddr_t va)
{
	u64 t0 = rdtsc();
	user_access_begin();
	*(volatile u64 *)va = t0;
	user_access_end();
	return rdtsc() - t0;
}

/* Makes the entry read-only on this CPU only: the mm runs nowhere else. */
static inline void wrprotect_here(struct mm *mm, vaddr_t va)
{
	pte_t *pte = pt_pte_lookup(mm->root, va);
	set_pte(pte, pte_wrprotect(*pte));
	invlpg(va);
}

/* n COW-reuse faults on the exclusive, writable page at page (mm loaded
 * here): each sample one write, 8 bytes in (off fill_user's words). */
static inline void sample_cow_reuse(struct test *t, struct mm *mm, vaddr_t page, u64 *v, u32 n,
				    struct pv_work *w)
{
	u64 reused = mm->faults.cow_reuse;

	for (u32 i = 0; i < n; i++) {
		wrprotect_here(mm, page);
		struct pv_mmu_stats before = pv_mmu_stats();
		v[i] = timed_write(page + 8);
		pv_work_add_since(w, before);
	}
	EXPECT_EQ(t, mm->faults.cow_reuse - reused, n); /* each sample was one such fault */
}

/* n local hint faults on the page at page (mm loaded here): each sample a
 * numa_scan of it, then one timed read. */
static inline void sample_hint_nomigrate(struct test *t, struct mm *mm, vaddr_t page, u64 *v,
					 u32 n, struct pv_work *w)
{
	u64 hints = numa_stats.numa_hint_faults, local = numa_stats.numa_hint_faults_local;

	for (u32 i = 0; i < n; i++) {
		numa_scan(mm, page, page + PAGE_SIZE);
		struct pv_mmu_stats before = pv_mmu_stats();
		v[i] = timed_read(page);
		pv_work_add_since(w, before);
	}
	EXPECT_EQ(t, numa_stats.numa_hint_faults - hints, n);
	EXPECT_EQ(t, numa_stats.numa_hint_faults_local - local, n);
}

#endif
