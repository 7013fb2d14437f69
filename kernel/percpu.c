#include <mmulab/percpu.h>
#include <arch/cpu.h>

static struct cpu boot_cpu_data;

struct cpu *boot_cpu(void)
{
	return &boot_cpu_data;
}

/* GS:0 must point at the CPU's own struct before anything uses this_cpu(),
 * the trap handler included. */
void percpu_init_boot_cpu(void)
{
	boot_cpu_data.self = &boot_cpu_data;
	boot_cpu_data.id = 0;
	wrmsr(MSR_GS_BASE, (u64)&boot_cpu_data);
}
