/*
 * #PF: the x86 half of the page-fault path. The error code and the saved
 * flags are read here and nowhere else; mm/ gets a neutral struct mm_fault
 * and decides from it alone (the shape Zircon's x86 handler has: PFEX bits
 * become VMM flags before the generic handler runs).
 */

#include <arch/cpu.h>
#include <arch/irq.h>
#include <arch/trap.h>
#include <mmulab/fault.h>
#include <mmulab/format.h>
#include <mmulab/kernel.h>
#include <mmulab/layout.h>
#include <mmulab/prot.h>

static u32 access_of(u32 error_code)
{
	if (error_code & X86_PF_INSTR)
		return VM_EXEC;
	return (error_code & X86_PF_WRITE) ? VM_WRITE : VM_READ;
}

static struct mm_fault describe(const struct fault_info *f)
{
	return (struct mm_fault){
		.addr = f->addr,
		.access = access_of(f->error_code),
		.user = f->error_code & X86_PF_USER,
		.not_present = !(f->error_code & X86_PF_PROT),
		.reserved_bit = f->error_code & X86_PF_RSVD,
	};
}

/* Supervisor code running user memory, or touching it outside a user_access
 * window (RFLAGS.AC clear under SMAP), is a kernel bug, never something to
 * resolve: resolving would also loop forever on the SMAP fault. */
static bool kernel_misuses_user_memory(const struct fault_info *f, const struct trap_frame *frame)
{
	if ((f->error_code & X86_PF_USER) || f->addr >= USER_TOP)
		return false;
	return (f->error_code & X86_PF_INSTR) ||
	       (cpu_has(X86_SMAP) && !(frame->rflags & X86_RFLAGS_AC));
}

/*
 * True when mm/ resolved the fault and the access may retry. Interrupts go
 * back on when the faulting code had them, because resolving may need a
 * TLB shootdown, and a CPU waiting for one must take the shootdowns others
 * send it.
 */
bool x86_page_fault(const struct fault_info *f, const struct trap_frame *frame)
{
	if (kernel_misuses_user_memory(f, frame))
		return false;
	struct mm_fault fault = describe(f);
	if (frame->rflags & X86_RFLAGS_IF)
		irq_enable();
	bool ok = mm_handle_fault(&fault);
	irq_disable();
	return ok;
}

static void describe_pf_error(u32 ec, char *buf, size_t size)
{
	static const struct {
		u32 bit;
		const char *name;
	} bits[] = {
		{ X86_PF_PROT, "P" },    { X86_PF_WRITE, "W" },  { X86_PF_USER, "U" },
		{ X86_PF_RSVD, "RSVD" }, { X86_PF_INSTR, "I" },  { X86_PF_PK, "PK" },
		{ X86_PF_SHSTK, "SS" },  { X86_PF_SGX, "SGX" },
	};
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if ((ec & bits[i].bit) && n < size)
			n += format(buf + n, size - n, "%s%s", n ? " " : "", bits[i].name);
	if (n == 0)
		format(buf, size, "-");
}

/* In the shape of Linux's oops, so it reads familiar. */
void print_pf_cause(const struct fault_info *f, const char *prefix)
{
	char names[48];
	const char *access = (f->error_code & X86_PF_INSTR) ? "instruction fetch" :
			     (f->error_code & X86_PF_WRITE) ? "write access" : "read access";
	const char *why = (f->error_code & X86_PF_RSVD) ? "reserved bit violation" :
			  (f->error_code & X86_PF_PK) ? "protection keys violation" :
			  (f->error_code & X86_PF_PROT) ? "permissions violation" :
							  "not-present page";

	describe_pf_error(f->error_code, names, sizeof(names));
	printk("%s#PF: address V0x%016lx\n", prefix, f->addr);
	printk("%s#PF: %s %s in %s mode\n", prefix, (f->error_code & X86_PF_USER) ? "user" : "supervisor",
	       access, f->user ? "user" : "kernel");
	printk("%s#PF: error_code(0x%04x) - %s [%s]\n", prefix, f->error_code, why, names);
}
