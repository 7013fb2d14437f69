/*
 * Timer ticks and the case watchdog.
 *
 * Every CPU takes TIMER_HZ LAPIC timer interrupts a second and checks the
 * running case's deadline. The first to see it passed claims the report:
 * it sends an NMI to every other online CPU (an NMI gets through even
 * where interrupts are off), each prints where it was, and the CPU running
 * the case, once it has printed too, leaves the case as a TIMEOUT. The
 * other CPUs stop: their state is unknown, so the run ends after the case.
 */

#include <mmulab/timer.h>
#include <mmulab/backtrace.h>
#include <mmulab/kernel.h>
#include <mmulab/percpu.h>
#include <mmulab/spinlock.h>
#include <mmulab/symbols.h>
#include <mmulab/test.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/irq.h>
#include <arch/trap.h>
#include <arch/tsc.h>

static u32 ticks_per_period;
static u64 deadline; /* TSC; 0 when disarmed */
static u32 fired;    /* claimed by the first CPU to see the deadline pass */
static u32 reported; /* CPUs that have printed their state */

/* One CPU's report at a time, so their lines do not interleave. */
static struct spinlock report_lock = SPINLOCK_INIT("watchdog report");

static void report_this_cpu(struct trap_frame *frame)
{
	char sym[128];

	spin_lock(&report_lock);
	symbolize(frame->rip, sym, sizeof(sym));
	printk("  # watchdog: cpu%u (APIC %u) at V0x%016lx %s%s\n", this_cpu()->id,
	       this_cpu()->apic_id, frame->rip, sym, (frame->cs & 3) ? " (user mode)" : "");
	if ((frame->cs & 3) == 0)
		backtrace(frame->rip, frame->rbp, "  #   ");
	spin_unlock(&report_lock);
	__atomic_add_fetch(&reported, 1, __ATOMIC_ACQ_REL);
}

/* Runs on the CPU that runs the case, from its timer interrupt or NMI. */
static void __noreturn end_case(struct trap_frame *frame)
{
	struct test *t = this_cpu()->test;

	report_this_cpu(frame);
	/* Give the others a second to print; a CPU stuck with NMIs blocked
	 * must not hang the report. */
	u64 give_up = rdtsc() + tsc_khz() * 1000;
	while (__atomic_load_n(&reported, __ATOMIC_ACQUIRE) < nr_cpus && rdtsc() < give_up)
		cpu_relax();
	test_timeout(t);
}

static void __noreturn stop_other_cpu(struct trap_frame *frame)
{
	report_this_cpu(frame);
	irq_disable();
	for (;;)
		halt();
}

/* The console goes lockless first: an NMI may have stopped a CPU inside
 * printk, holding the console lock for good. */
static void fire(struct trap_frame *frame)
{
	printk_panic_mode();
	printk("  # watchdog: the case has run longer than its limit; state of every CPU:\n");
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (cpu != this_cpu()->id)
			apic_send_nmi(cpus[cpu].apic_id);
	if (this_cpu()->test)
		end_case(frame);
	stop_other_cpu(frame);
}

static void timer_tick(struct trap_frame *frame)
{
	this_cpu()->ticks++;
	apic_eoi();
	u64 due = __atomic_load_n(&deadline, __ATOMIC_ACQUIRE);
	if (due && rdtsc() > due && __atomic_exchange_n(&fired, 1, __ATOMIC_ACQ_REL) == 0)
		fire(frame);
}

bool nmi_handler(struct trap_frame *frame)
{
	if (panic_in_progress())
		panic_park_this_cpu();
	if (!__atomic_load_n(&fired, __ATOMIC_ACQUIRE))
		return false;
	if (this_cpu()->test)
		end_case(frame);
	stop_other_cpu(frame);
}

/* A shorter interval would leave the two reads' latency a visible part
 * of it. */
#define CALIBRATION_MIN_MS 5

static u64 calibration_tsc;

void timer_calibration_start(void)
{
	apic_timer_start_count(0xffffffff);
	calibration_tsc = rdtsc();
}

/* LAPIC timer ticks per timer period, from the count since
 * timer_calibration_start and the (calibrated) TSC. */
void timer_init(void)
{
	u64 min_cycles = tsc_khz() * CALIBRATION_MIN_MS;

	while (rdtsc() - calibration_tsc < min_cycles)
		cpu_relax();
	u32 elapsed = 0xffffffff - apic_timer_current();
	u64 cycles = rdtsc() - calibration_tsc;
	apic_timer_stop();
	ticks_per_period = (u32)((u64)elapsed * (tsc_khz() * 1000 / TIMER_HZ) / cycles);
	irq_register(IRQ_TIMER, timer_tick);
	printk("mmulab: timer: LAPIC timer %u ticks per %d ms (divide by 16, measured over %lu ms)\n",
	       ticks_per_period, 1000 / TIMER_HZ, cycles / tsc_khz());
	timer_start_this_cpu();
}

void timer_start_this_cpu(void)
{
	apic_timer_periodic(IRQ_TIMER, ticks_per_period ? ticks_per_period : 1);
}

void watchdog_arm(u64 seconds)
{
	__atomic_store_n(&deadline, rdtsc() + seconds * tsc_khz() * 1000, __ATOMIC_RELEASE);
}

void watchdog_disarm(void)
{
	__atomic_store_n(&deadline, 0, __ATOMIC_RELEASE);
}

bool watchdog_fired(void)
{
	return __atomic_load_n(&fired, __ATOMIC_ACQUIRE);
}
