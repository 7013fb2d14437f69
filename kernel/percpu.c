#include <mmulab/percpu.h>
#include <arch/cpu.h>

struct cpu cpus[MAX_CPUS];
u32 nr_cpus = 1;
struct cpumask cpu_online_mask;
bool percpu_ready;

struct cpu *boot_cpu(void)
{
	return &cpus[0];
}

/* GS:0 must point at the CPU's own struct before anything uses this_cpu(),
 * the trap handler included. */
void percpu_install(struct cpu *c)
{
	c->self = c;
	wrmsr(MSR_GS_BASE, (u64)c);
	percpu_ready = true;
}
