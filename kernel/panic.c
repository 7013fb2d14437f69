/*
 * The end of the road: the other CPUs stopped, a message, a backtrace
 * from the kernel's own symbols, then the KTAP closed and the panic
 * verdict (never a silent reboot loop). The report goes out as '#' lines
 * at the level of the case it cut short, so a strict KTAP reader stays in
 * step; the first line names the reason, and that case ends as ERROR.
 */

#include <mmulab/kernel.h>
#include <mmulab/backtrace.h>
#include <mmulab/format.h>
#include <mmulab/percpu.h>
#include <mmulab/fault.h>
#include <mmulab/test.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/trap.h> /* trap_name */
#include <arch/tsc.h>

static u32 panic_owner; /* the reporting CPU's id + 1; 0: no panic */
static u32 parked;	/* CPUs stopped for it */

bool panic_in_progress(void)
{
	return __atomic_load_n(&panic_owner, __ATOMIC_ACQUIRE) != 0;
}

void panic_park_this_cpu(void)
{
	irq_disable();
	__atomic_add_fetch(&parked, 1, __ATOMIC_ACQ_REL);
	for (;;)
		halt();
}

/* An NMI gets through where interrupts are off; a CPU that cannot take it
 * (one the watchdog already stopped) costs a tenth of a second. */
static void stop_other_cpus(void)
{
	u32 others = 0;

	for_each_cpu_in(cpu, &cpu_online_mask) {
		if (cpu == this_cpu()->id)
			continue;
		apic_send_nmi(cpus[cpu].apic_id);
		others++;
	}
	if (!others || !tsc_khz())
		return;
	u64 give_up = rdtsc() + tsc_khz() * 100;
	while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) < others && rdtsc() < give_up)
		cpu_relax();
}

/* One CPU reports; a second CPU panicking meanwhile just stops. */
static void enter_panic(void)
{
	u32 me = this_cpu()->id + 1, owner = 0;

	irq_disable();
	printk_panic_mode();
	if (!__atomic_compare_exchange_n(&panic_owner, &owner, me, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (owner != me)
			panic_park_this_cpu();
		printk("mmulab: PANIC: nested panic, giving up\n");
		machine_exit(VERDICT_PANIC);
	}
	this_cpu()->in_panic = true; /* a fault while reporting is not recovered */
	stop_other_cpus();
}

void panic(const char *fmt, ...)
{
	char msg[256], reason[280], prefix[8];
	va_list ap;

	enter_panic();
	va_start(ap, fmt);
	vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	format(reason, sizeof(reason), "cpu%u: %s", this_cpu()->id, msg);
	format(prefix, sizeof(prefix), "%s# ", run_diag_indent());
	printk("%smmulab: PANIC: %s\n", prefix, reason);
	/* Start at our caller: its return address and its frame. */
	vaddr_t *frame = (vaddr_t *)read_rbp();
	backtrace(frame[1], frame[0], prefix);
	run_end_after_panic(reason);
}

void panic_fault(const struct fault_info *fault, struct trap_frame *frame)
{
	char reason[160], prefix[8];

	enter_panic();
	format(reason, sizeof(reason), "cpu%u: unexpected %s (vector %d) at V0x%lx",
	       this_cpu()->id, trap_name(fault->vector), fault->vector, fault->rip);
	format(prefix, sizeof(prefix), "%s# ", run_diag_indent());
	printk("%smmulab: PANIC: %s\n", prefix, reason);
	print_fault_report(fault, frame, prefix);
	run_end_after_panic(reason);
}
