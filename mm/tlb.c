/*
 * TLB shootdowns (see include/mmulab/tlb.h). Each CPU has one request
 * slot for flushes, separate from the cross-CPU call slot: a CPU busy in a
 * long call (a test body racing the shootdown) must still take the flush.
 */

#include <mmulab/tlb.h>
#include <mmulab/bugs.h>
#include <mmulab/kernel.h>
#include <mmulab/layout.h>
#include <mmulab/percpu.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/irq.h>
#include <arch/tlb.h>

BUG_SWITCH(tlb_skip_remote,
	   "a shootdown flushes only the local TLB: other CPUs keep stale translations");

/* Above this many pages one full flush is cheaper than INVLPG each. */
#define INVLPG_LIMIT 32

struct tlb_space kernel_space;
struct tlb_stats tlb_stats;

struct flush_request {
	vaddr_t start, end;
	u32 pending;
};

static struct flush_request requests[MAX_CPUS];

static void flush_local(vaddr_t start, vaddr_t end)
{
	u64 pages = (end - start) / PAGE_SIZE;

	if (start == 0 && end == TLB_FLUSH_ALL) {
		arch_flush_tlb_all_local();
		__atomic_add_fetch(&tlb_stats.full_flushes, 1, __ATOMIC_RELAXED);
		return;
	}
	if (pages > INVLPG_LIMIT) {
		arch_flush_tlb_all_local();
		__atomic_add_fetch(&tlb_stats.full_flushes, 1, __ATOMIC_RELAXED);
		return;
	}
	for (vaddr_t va = start; va < end; va += PAGE_SIZE)
		invlpg(va);
	__atomic_add_fetch(&tlb_stats.pages_flushed, pages, __ATOMIC_RELAXED);
}

void flush_tlb_local_page(vaddr_t addr)
{
	invlpg(addr);
}

static void flush_ipi(struct trap_frame *frame)
{
	struct flush_request *r = &requests[this_cpu()->id];

	(void)frame;
	flush_local(r->start, r->end);
	this_cpu()->flush_ipis++;
	__atomic_store_n(&r->pending, 0, __ATOMIC_RELEASE);
	apic_eoi();
}

void tlb_init(void)
{
	irq_register(IRQ_TLB, flush_ipi);
}

static void wait_request_done(u32 cpu)
{
	while (__atomic_load_n(&requests[cpu].pending, __ATOMIC_ACQUIRE))
		cpu_relax();
}

/* Two initiators may shoot at one target at once (the read-only mode's
 * pins make that common): each takes the slot from free to pending in one
 * step before it writes its range. Waiting for free and then storing, as
 * two steps, let the second range overwrite the first, and the first
 * initiator went on as if the target had flushed a range it never saw. */
static void claim_request(struct flush_request *r)
{
	u32 free = 0;

	while (!__atomic_compare_exchange_n(&r->pending, &free, 1, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free = 0;
		cpu_relax();
	}
}

static void post_request(u32 cpu, vaddr_t start, vaddr_t end)
{
	struct flush_request *r = &requests[cpu];

	claim_request(r);
	r->start = start;
	r->end = end;
	/* The range is in place before the IPI that makes the target read it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	apic_send_ipi(cpus[cpu].apic_id, IRQ_TLB);
	__atomic_add_fetch(&tlb_stats.ipis_sent, 1, __ATOMIC_RELAXED);
}

static void flush_remote(struct tlb_space *space, vaddr_t start, vaddr_t end)
{
	u32 self = this_cpu()->id;

	if (BUG_ACTIVE(tlb_skip_remote))
		return;
	for_each_cpu_in(cpu, &space->active)
		if (cpu != self && cpus[cpu].online)
			post_request(cpu, start, end);
	for_each_cpu_in(cpu, &space->active)
		if (cpu != self && cpus[cpu].online)
			wait_request_done(cpu);
}

void flush_tlb_range(struct tlb_space *space, vaddr_t start, vaddr_t end)
{
	ASSERT(start == 0 || ((start | end) & (PAGE_SIZE - 1)) == 0);
	if (cpumask_test(&space->active, this_cpu()->id))
		flush_local(start, end);
	flush_remote(space, start, end);
}

void flush_tlb_space(struct tlb_space *space)
{
	flush_tlb_range(space, 0, TLB_FLUSH_ALL);
}
