/*
 * The end of the road: a message, a backtrace from the kernel's own
 * symbols, then a failure exit (never a silent reboot loop). The output
 * goes out as '#' lines so a KTAP reader stays in step even when the panic
 * cut a test short; the first line names the reason.
 */

#include <mmulab/kernel.h>
#include <mmulab/backtrace.h>
#include <mmulab/format.h>
#include <mmulab/percpu.h>
#include <mmulab/fault.h>
#include <arch/cpu.h>
#include <arch/trap.h> /* trap_name */

static void enter_panic(void)
{
	struct cpu *cpu = this_cpu();

	irq_disable();
	printk_panic_mode();
	if (cpu->in_panic) {
		printk("mmulab: PANIC: nested panic, giving up\n");
		machine_exit(VERDICT_PANIC);
	}
	cpu->in_panic = true;
}

void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	enter_panic();
	va_start(ap, fmt);
	vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk("mmulab: PANIC: cpu%u: %s\n", this_cpu()->id, msg);
	/* Start at our caller: its return address and its frame. */
	vaddr_t *frame = (vaddr_t *)read_rbp();
	backtrace(frame[1], frame[0], "# ");
	printk("mmulab: PANIC: run aborted\n");
	machine_exit(VERDICT_PANIC);
}

void panic_fault(const struct fault_info *fault, struct trap_frame *frame)
{
	enter_panic();
	printk("mmulab: PANIC: cpu%u: unexpected %s (vector %d) at V0x%lx\n", this_cpu()->id,
	       trap_name(fault->vector), fault->vector, fault->rip);
	print_fault_report(fault, frame, "# ");
	printk("mmulab: PANIC: run aborted\n");
	machine_exit(VERDICT_PANIC);
}
