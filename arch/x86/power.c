/*
 * Ending a run. on_done= chooses what the machine does once the verdict is
 * out: halt (the verdict stays the last line on the screen and the
 * serial), reboot (the FADT's reset register, then the keyboard
 * controller, then a triple fault) or poweroff (ACPI S5: SLP_TYP|SLP_EN to
 * PM1a/PM1b control). Each action says what it does in one line before
 * doing it, and one more line when it did not work.
 *
 * Unset, under QEMU the verdict leaves through the isa-debug-exit port
 * (the runner adds the device; QEMU exits with (v << 1) | 1). On real
 * hardware nothing is written to an I/O port whose owner we do not know:
 * the CPU halts.
 */

#include <mmulab/cmdline.h>
#include <mmulab/kernel.h>
#include <mmulab/mm.h>
#include <mmulab/numa.h>
#include <mmulab/string.h>
#include <arch/acpi_tables.h>
#include <arch/cpu.h>
#include <arch/io.h>
#include <arch/tsc.h>

#define DEBUG_EXIT_PORT 0xf4
#define KBC_STATUS_PORT 0x64
#define KBC_INPUT_FULL 0x02
#define KBC_PULSE_RESET 0xfe
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK (7U << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN (1U << 13)
/* How long an action gets to take the machine down before the next one. */
#define ACTION_WAIT_US 500000

static bool running_under_qemu(void)
{
	const char *sig = cpu_hypervisor();
	return strcmp(sig, "TCGTCGTCGTCG") == 0 || strncmp(sig, "KVMKVMKVM", 9) == 0;
}

static const char *verdict_name(enum run_verdict v)
{
	return v == VERDICT_PASS ? "pass" : v == VERDICT_FAIL ? "fail" : "panic";
}

static void __noreturn halt_with_verdict(enum run_verdict verdict)
{
	printk("mmulab: halted, verdict=%s; power off or reset by hand\n", verdict_name(verdict));
	for (;;)
		halt();
}

static void write_reset_register(const struct acpi_power *p)
{
	if (p->reset_reg.space == ACPI_GAS_IO)
		outb((u16)p->reset_reg.address, p->reset_value);
	else
		*(volatile u8 *)kmap_firmware(p->reset_reg.address, 1) = p->reset_value;
}

static void pulse_keyboard_controller_reset(void)
{
	for (u32 tries = 0; tries < 100000 && (inb(KBC_STATUS_PORT) & KBC_INPUT_FULL); tries++)
		cpu_relax();
	outb(KBC_STATUS_PORT, KBC_PULSE_RESET);
}

/* With an empty IDT the breakpoint cannot be delivered: #GP, #DF, then a
 * triple fault, which resets the CPU. */
static void __noreturn triple_fault(void)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } empty = { 0, 0 };

	asm volatile("lidt %0; int3" ::"m"(empty));
	for (;;)
		halt();
}

static void __noreturn reboot(void)
{
	const struct acpi_power *p = &numa_acpi()->power;

	if (p->reset_supported) {
		printk("mmulab: on_done: reboot via ACPI reset register (%s 0x%lx <- 0x%x)\n",
		       p->reset_reg.space == ACPI_GAS_IO ? "port" : "memory", p->reset_reg.address,
		       p->reset_value);
		write_reset_register(p);
		udelay(ACTION_WAIT_US);
		printk("mmulab: on_done: still running after the reset register; trying the "
		       "keyboard controller\n");
	} else {
		printk("mmulab: on_done: reboot via the keyboard controller (no ACPI reset "
		       "register)\n");
	}
	pulse_keyboard_controller_reset();
	udelay(ACTION_WAIT_US);
	printk("mmulab: on_done: still running after the keyboard controller; triple fault\n");
	triple_fault();
}

static void enter_s5(u16 port, u8 slp_typ)
{
	u16 v = (u16)((inw(port) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN)) |
		      (u16)(slp_typ << PM1_SLP_TYP_SHIFT));

	outw(port, v);
	outw(port, v | PM1_SLP_EN);
}

static void __noreturn power_off(enum run_verdict verdict)
{
	const struct acpi_power *p = &numa_acpi()->power;

	if (!p->have_s5 || !p->pm1a_cnt) {
		printk("mmulab: on_done: poweroff unavailable (%s); halting\n",
		       p->have_s5 ? "no PM1a control port in the FADT" : "no \\_S5 in the DSDT");
		halt_with_verdict(verdict);
	}
	printk("mmulab: on_done: poweroff via ACPI S5 (PM1a_CNT port 0x%x, SLP_TYPa %u)\n",
	       p->pm1a_cnt, p->slp_typa);
	if (p->pm1b_cnt)
		enter_s5(p->pm1b_cnt, p->slp_typb);
	enter_s5(p->pm1a_cnt, p->slp_typa);
	udelay(ACTION_WAIT_US);
	printk("mmulab: on_done: still running after the S5 request\n");
	halt_with_verdict(verdict);
}

void machine_exit(enum run_verdict verdict)
{
	irq_disable();
	switch (cmdline.on_done) {
	case ON_DONE_REBOOT:
		reboot();
	case ON_DONE_POWEROFF:
		power_off(verdict);
	case ON_DONE_HALT:
		halt_with_verdict(verdict);
	default:
		if (running_under_qemu())
			outl(DEBUG_EXIT_PORT, verdict);
		halt_with_verdict(verdict);
	}
}
