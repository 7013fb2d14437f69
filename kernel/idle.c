/*
 * Work an idle CPU does between the timer ticks that wake it. arch/'s idle
 * loop calls kernel_idle_work after each halt; what runs here is the
 * kernel's choice, so arch/ never calls up into mm/.
 */

#include <mmulab/numa_balance.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>

/* One CPU does the periodic NUMA scanning: the first application
 * processor, idle whenever no test borrowed it. */
#define NUMA_SCAN_CPU 1

void kernel_idle_work(struct cpu *cpu)
{
	if (cpu->id == NUMA_SCAN_CPU)
		numa_periodic_scan();
}
