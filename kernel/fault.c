/* Fault recovery: see include/mmulab/fault.h. */

#include <mmulab/fault.h>
#include <mmulab/percpu.h>
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
