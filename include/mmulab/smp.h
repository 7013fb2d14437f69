#ifndef MMULAB_SMP_H
#define MMULAB_SMP_H

/* Cross-CPU calls, barriers and the secondary CPUs' start (kernel/smp.c,
 * arch/x86/smp.c). */

#include <mmulab/types.h>
#include <mmulab/cpumask.h>

struct trap_frame;

/* Starts the CPUs of apic_ids[] (the boot CPU's own id is skipped), one
 * at a time; a CPU that does not come up within a second is reported and
 * left out. */
void smp_boot(const u32 *apic_ids, const int *nodes, u32 count);

/*
 * Runs fn(arg) on every CPU in mask, the caller's own included (directly).
 * On other CPUs fn runs from the call IPI with interrupts enabled, so it
 * may itself wait for other CPUs (a TLB shootdown). With wait, returns
 * when all have finished; without, when all have been asked.
 */
void smp_call_mask(const struct cpumask *mask, void (*fn)(void *), void *arg, bool wait);
void smp_call_cpu(u32 cpu, void (*fn)(void *), void *arg, bool wait);
/* Waits until cpu has finished the call it was last given. */
void smp_call_wait(u32 cpu);
void smp_init_calls(void);

struct cpu;
/* kernel/idle.c: called by the idle loop after each wake-up. */
void kernel_idle_work(struct cpu *cpu);

/* Releases all `total` waiters at once: for starting racing CPUs together.
 * Reusable: a generation count tells rounds apart. */
struct smp_barrier {
	u32 arrived;
	u32 total;
	u32 generation;
};
void smp_barrier_init(struct smp_barrier *b, u32 total);
void smp_barrier_wait(struct smp_barrier *b);

/* NMI: the watchdog's request for a backtrace. Returns true when it was
 * one (the trap handler then returns); see kernel/watchdog.c. */
bool nmi_handler(struct trap_frame *frame);

#endif
