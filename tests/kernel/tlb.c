/*
 * tlb: shootdowns reach every CPU that may hold a translation, and only
 * those. QEMU's TCG keeps a TLB per vCPU and never snoops page-table
 * writes, so a missing remote flush shows up here as stale accesses, as it
 * would on hardware (bugs=tlb_skip_remote makes this suite fail).
 *
 * The racing cases run one body on two CPUs (test_on_cpus): the case's
 * own CPU changes the mapping and shoots down, the other one accesses.
 */

#include <mmulab/layout.h>
#include <mmulab/mm.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/smp.h>
#include <mmulab/test.h>
#include <mmulab/tlb.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include "probe.h"

#define VA(n) (TEST_AREA_BASE + 0x40000000ULL + (u64)(n) * PAGE_SIZE)
#define STALE_LIMIT 1000000
#define WARM_READS 10000

static struct cpumask pair(u32 a, u32 b)
{
	struct cpumask m = { 0 };
	cpumask_set(&m, a);
	cpumask_set(&m, b);
	return m;
}

static u32 require_other_cpu(struct test *t)
{
	int other = test_other_cpu();
	if (other < 0)
		test_skip(t, "needs a second CPU");
	return (u32)other;
}

struct stale_probe {
	vaddr_t va;
	u32 main_cpu;
	u32 warm;     /* the reader has the translation cached */
	u32 unmapped; /* set once the shootdown returned */
	u64 stale_reads;
	struct fault_info fault;
};

/* Reads until the read faults; a read that succeeds after it saw the
 * shootdown complete is stale. Stops by itself if it never faults. */
static void read_until_fault(void *arg)
{
	struct stale_probe *s = arg;

	for (u64 reads = 0;; reads++) {
		u32 after = __atomic_load_n(&s->unmapped, __ATOMIC_ACQUIRE);
		(void)*(volatile u64 *)s->va;
		if (reads == WARM_READS)
			__atomic_store_n(&s->warm, 1, __ATOMIC_RELEASE);
		if (after && ++s->stale_reads >= STALE_LIMIT)
			return;
	}
}

static void unmap_or_read(struct test *t, void *arg)
{
	struct stale_probe *s = arg;

	(void)t;
	if (this_cpu()->id != s->main_cpu) {
		s->fault = run_catching_faults(read_until_fault, s);
		return;
	}
	while (!__atomic_load_n(&s->warm, __ATOMIC_ACQUIRE))
		cpu_relax();
	set_pte(pt_pte_lookup(kernel_root(), s->va), __pte(0));
	flush_tlb_range(&kernel_space, s->va, s->va + PAGE_SIZE);
	__atomic_store_n(&s->unmapped, 1, __ATOMIC_RELEASE);
}

/* A CPU reading a mapping in a tight loop must fault, not read on, once
 * another CPU's unmap and shootdown have returned. */
static void no_stale_read_after_unmap(struct test *t)
{
	static struct stale_probe s;
	u32 other = require_other_cpu(t);

	s = (struct stale_probe){ .va = VA(0), .main_cpu = this_cpu()->id };
	test_map(s.va, test_frame(), VM_READ | VM_WRITE);
	struct cpumask m = pair(s.main_cpu, other);
	test_on_cpus(t, &m, unmap_or_read, &s);
	EXPECT_EQ(t, s.stale_reads, 0);
	EXPECT_EQ(t, s.fault.vector, X86_TRAP_PF);
	EXPECT_EQ(t, s.fault.addr, s.va);
	test_diag(t, "reads after the shootdown returned: %lu", s.stale_reads);
}

struct write_probe {
	vaddr_t va;
	struct fault_info fault[MAX_CPUS];
};

static void write_once(struct test *t, void *arg)
{
	struct write_probe *w = arg;
	(void)t;
	w->fault[this_cpu()->id] = probe_write(w->va, (u8)this_cpu()->id);
}

/* RW -> RO: after the shootdown every CPU's write faults, though each had
 * a writable translation cached just before. */
static void downgrade_seen_everywhere(struct test *t)
{
	static struct write_probe w;
	paddr_t pa = test_frame();

	require_other_cpu(t);
	w = (struct write_probe){ .va = VA(1) };
	test_map(w.va, pa, VM_READ | VM_WRITE);
	test_on_cpus(t, &cpu_online_mask, write_once, &w);
	for_each_cpu_in(cpu, &cpu_online_mask)
		EXPECT_EQ(t, w.fault[cpu].vector, FAULT_NONE);

	set_pte(pt_pte_lookup(kernel_root(), w.va), pte_mkleaf(pa, pt_leaf_bits(VM_READ)));
	flush_tlb_range(&kernel_space, w.va, w.va + PAGE_SIZE);
	test_on_cpus(t, &cpu_online_mask, write_once, &w);
	for_each_cpu_in(cpu, &cpu_online_mask) {
		if (!EXPECT_EQ(t, w.fault[cpu].vector, X86_TRAP_PF))
			test_diag(t, "cpu%u wrote through a stale writable translation", cpu);
		EXPECT_EQ(t, w.fault[cpu].error_code, X86_PF_PROT | X86_PF_WRITE);
	}
	test_unmap(w.va);
}

/* A flush interrupts exactly the other CPUs of the space's active set. */
static void only_active_cpus_interrupted(struct test *t)
{
	u64 before[MAX_CPUS];
	u32 self = this_cpu()->id, other = require_other_cpu(t);
	struct tlb_space space = { pair(self, other) };
	u64 ipis = tlb_stats.ipis_sent;

	for_each_cpu_in(cpu, &cpu_online_mask)
		before[cpu] = __atomic_load_n(&cpus[cpu].flush_ipis, __ATOMIC_RELAXED);
	flush_tlb_range(&space, VA(2), VA(3));
	for_each_cpu_in(cpu, &cpu_online_mask)
		EXPECT_EQ(t, __atomic_load_n(&cpus[cpu].flush_ipis, __ATOMIC_RELAXED) - before[cpu],
			  cpu == other ? 1 : 0);
	EXPECT_EQ(t, tlb_stats.ipis_sent - ipis, 1);
}

TEST_SUITE(tlb,
	TEST_CASE(no_stale_read_after_unmap),
	TEST_CASE(downgrade_seen_everywhere),
	TEST_CASE(only_active_cpus_interrupted));
