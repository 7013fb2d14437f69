/*
 * Cross-CPU calls. Each CPU has one call slot: a caller waits until the
 * slot is free, fills it, marks it pending and sends the call IPI; the
 * target sends its EOI, enables interrupts, runs the function and clears
 * pending. Interrupts are on while the function runs because test bodies
 * run this way, and they must take TLB shootdowns from the CPUs they race
 * with. A slot is never reused before its call finished, so no call is
 * lost however fast they come (smp.ipi_storm checks it).
 */

#include <mmulab/smp.h>
#include <mmulab/kernel.h>
#include <mmulab/percpu.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/irq.h>

static void wait_slot_free(struct call_slot *slot)
{
	while (__atomic_load_n(&slot->pending, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void call_ipi(struct trap_frame *frame)
{
	struct cpu *cpu = this_cpu();
	struct call_slot *slot = &cpu->call;

	(void)frame;
	apic_eoi();
	irq_enable();
	slot->fn(slot->arg);
	irq_disable();
	cpu->calls_handled++;
	__atomic_store_n(&slot->pending, 0, __ATOMIC_RELEASE);
}

void smp_init_calls(void)
{
	irq_register(IRQ_CALL, call_ipi);
}

static void post_call(u32 target, void (*fn)(void *), void *arg)
{
	struct call_slot *slot = &cpus[target].call;

	wait_slot_free(slot);
	slot->fn = fn;
	slot->arg = arg;
	__atomic_store_n(&slot->pending, 1, __ATOMIC_RELEASE);
	apic_send_ipi(cpus[target].apic_id, IRQ_CALL);
}

void smp_call_wait(u32 cpu)
{
	wait_slot_free(&cpus[cpu].call);
}

void smp_call_mask(const struct cpumask *mask, void (*fn)(void *), void *arg, bool wait)
{
	u32 self = this_cpu()->id;

	for_each_cpu_in(cpu, mask)
		if (cpu != self && cpus[cpu].online)
			post_call(cpu, fn, arg);
	if (cpumask_test(mask, self))
		fn(arg);
	if (!wait)
		return;
	for_each_cpu_in(cpu, mask)
		if (cpu != self && cpus[cpu].online)
			smp_call_wait(cpu);
}

void smp_call_cpu(u32 cpu, void (*fn)(void *), void *arg, bool wait)
{
	struct cpumask one = { 0 };

	cpumask_set(&one, cpu);
	smp_call_mask(&one, fn, arg, wait);
}

void smp_barrier_init(struct smp_barrier *b, u32 total)
{
	*b = (struct smp_barrier){ .total = total };
}

void smp_barrier_wait(struct smp_barrier *b)
{
	u32 gen = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->total) {
		__atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->generation, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == gen)
		cpu_relax();
}
