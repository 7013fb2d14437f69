/*
 * Trap dispatch: decode what happened once into a struct fault_info, let
 * arch/x86/fault.c hand a page fault to mm/, then hand what is left to
 * whoever expects it (fault recovery: a probing test, or the running case),
 * and panic with a full report (kernel/fault.c) otherwise.
 */

#include <arch/trap.h>
#include <arch/cpu.h>
#include <arch/desc.h>
#include <arch/apic.h>
#include <arch/irq.h>
#include <mmulab/smp.h>
#include <mmulab/backtrace.h>
#include <mmulab/fault.h>
#include <mmulab/kernel.h>
#include <mmulab/symbols.h>

static const char *const trap_names[X86_TRAP_COUNT] = {
	[X86_TRAP_DE] = "#DE divide error",
	[X86_TRAP_DB] = "#DB debug",
	[X86_TRAP_NMI] = "NMI",
	[X86_TRAP_BP] = "#BP breakpoint",
	[X86_TRAP_OF] = "#OF overflow",
	[X86_TRAP_BR] = "#BR bound range",
	[X86_TRAP_UD] = "#UD invalid opcode",
	[X86_TRAP_NM] = "#NM device not available",
	[X86_TRAP_DF] = "#DF double fault",
	[X86_TRAP_TS] = "#TS invalid TSS",
	[X86_TRAP_NP] = "#NP segment not present",
	[X86_TRAP_SS] = "#SS stack fault",
	[X86_TRAP_GP] = "#GP general protection",
	[X86_TRAP_PF] = "#PF page fault",
	[X86_TRAP_MF] = "#MF x87 error",
	[X86_TRAP_AC] = "#AC alignment check",
	[X86_TRAP_MC] = "#MC machine check",
	[X86_TRAP_XM] = "#XM SIMD error",
	[X86_TRAP_VE] = "#VE virtualization",
	[X86_TRAP_CP] = "#CP control protection",
};

const char *trap_name(unsigned vector)
{
	if (vector < X86_TRAP_COUNT && trap_names[vector])
		return trap_names[vector];
	return vector < X86_TRAP_COUNT ? "reserved exception" : "interrupt";
}

/* Only the exception's own details: kernel/fault.c composes the rest. */
void arch_print_fault_cause(const struct fault_info *f, const char *prefix)
{
	if (f->vector == X86_TRAP_PF)
		print_pf_cause(f, prefix);
	else if (f->error_code)
		printk("%serror_code(0x%04x)\n", prefix, f->error_code);
	if (f->vector == X86_TRAP_DF)
		printk("%s#DF: often a kernel stack overflow into its guard page\n", prefix);
}

void print_trap_frame(struct trap_frame *r, const char *prefix)
{
	char sym[128];

	symbolize(r->rip, sym, sizeof(sym));
	printk("%sRIP: %04lx:V0x%016lx %s\n", prefix, r->cs, r->rip, sym);
	printk("%sRSP: %04lx:V0x%016lx EFLAGS: %08lx\n", prefix, r->ss, r->rsp, r->rflags);
	printk("%sRAX: %016lx RBX: %016lx RCX: %016lx\n", prefix, r->rax, r->rbx, r->rcx);
	printk("%sRDX: %016lx RSI: %016lx RDI: %016lx\n", prefix, r->rdx, r->rsi, r->rdi);
	printk("%sRBP: %016lx R08: %016lx R09: %016lx\n", prefix, r->rbp, r->r8, r->r9);
	printk("%sR10: %016lx R11: %016lx R12: %016lx\n", prefix, r->r10, r->r11, r->r12);
	printk("%sR13: %016lx R14: %016lx R15: %016lx\n", prefix, r->r13, r->r14, r->r15);
	printk("%sCR0: %016lx CR2: %016lx CR3: %016lx CR4: %016lx\n", prefix, read_cr0(),
	       read_cr2(), read_cr3(), read_cr4());
	if ((r->cs & 3) == 0)
		backtrace(r->rip, r->rbp, prefix);
}

static struct fault_info decode(const struct trap_frame *f)
{
	return (struct fault_info){
		.vector = (int)f->vector,
		.error_code = (u32)f->error_code,
		.addr = f->vector == X86_TRAP_PF ? read_cr2() : 0,
		.rip = f->rip,
		.user = (f->cs & 3) == 3,
		.has_addr = f->vector == X86_TRAP_PF,
	};
}

/* Exceptions that say the machine, not the code under test, is broken
 * never go to a test: they end the run. */
static bool recoverable(unsigned vector)
{
	return vector < X86_TRAP_COUNT && vector != X86_TRAP_DF && vector != X86_TRAP_MC &&
	       vector != X86_TRAP_NMI;
}

static irq_handler_t irq_handlers[256];

void irq_register(u8 vector, irq_handler_t handler)
{
	ASSERT(vector >= X86_TRAP_COUNT && !irq_handlers[vector]);
	irq_handlers[vector] = handler;
}

/* The spurious vector needs no EOI (SDM Vol. 3A 10.9); an interrupt nobody
 * registered for is a bug worth stopping for. */
void irq_dispatch(struct trap_frame *frame)
{
	if (frame->vector == APIC_SPURIOUS_VECTOR)
		return;
	if (!irq_handlers[frame->vector])
		panic("interrupt on vector %lu with no handler", frame->vector);
	irq_handlers[frame->vector](frame);
}

void trap_dispatch(struct trap_frame *frame)
{
	if (frame->vector >= X86_TRAP_COUNT) {
		irq_dispatch(frame);
		return;
	}
	if (frame->vector == X86_TRAP_NMI && nmi_handler(frame))
		return;

	struct fault_info fault = decode(frame);

	if (frame->vector == X86_TRAP_PF && x86_page_fault(&fault, frame))
		return;
	if (recoverable(frame->vector))
		fault_recover(&fault, frame);
	panic_fault(&fault, frame);
}
