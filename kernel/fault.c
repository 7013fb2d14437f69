/* Fault recovery and the fault report: see include/mmulab/fault.h. */

#include <arch/trap.h> /* trap_name */
#include <mmulab/backtrace.h>
#include <mmulab/fault.h>
#include <mmulab/kernel.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/symbols.h>
#include <mmulab/test.h>

struct fault_info run_catching_faults(void (*fn)(void *), void *arg)
{
	struct cpu *cpu = this_cpu();
	struct recovery r = { .fault = { .vector = FAULT_NONE }, .prev = cpu->recovery };

	if (ksetjmp(&r.ctx) == 0) {
		cpu->recovery = &r;
		fn(arg);
		cpu->recovery = r.prev;
	}
	/* After a fault, fault_recover has already unlinked r. */
	return r.fault;
}

void fault_recover(const struct fault_info *fault, struct trap_frame *frame)
{
	struct cpu *cpu = this_cpu();
	struct recovery *r = cpu->recovery;

	if (cpu->in_panic)
		return;
	if (r) {
		cpu->recovery = r->prev;
		r->fault = *fault;
		klongjmp(&r->ctx, 1);
	}
	if (cpu->test)
		test_fail_on_fault(cpu->test, fault, frame);
}

/* Composed here so the arrows point one way: arch/ reports the exception
 * and the registers, mm/ the walk of the faulting address. */
void print_fault_report(const struct fault_info *f, struct trap_frame *frame, const char *prefix)
{
	char sym[128];

	symbolize(f->rip, sym, sizeof(sym));
	printk("%s%s (vector %d) at V0x%016lx %s\n", prefix, trap_name(f->vector), f->vector, f->rip,
	       f->user ? "(user mode)" : sym);
	arch_print_fault_cause(f, prefix);
	if (f->has_addr) {
		pt_print_walk(pt_current_root(), f->addr, prefix);
		pgt_buf_explain_fault(f->addr, prefix);
	}
	print_trap_frame(frame, prefix);
}
