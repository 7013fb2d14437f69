#ifndef MMULAB_FAULT_H
#define MMULAB_FAULT_H

/*
 * Fault recovery. Code that expects a fault (a test probing a mapping)
 * pushes a recovery context; the trap handler records the fault in it and
 * jumps back. Without one, a fault in a test case fails that case, and
 * anywhere else it is a panic.
 */

#include <mmulab/types.h>
#include <mmulab/jump.h>

#define FAULT_NONE (-1)
#define FAULT_ABORTED (-2) /* left by an ASSERT, not by a fault */

struct fault_info {
	int vector; /* FAULT_NONE when nothing faulted */
	u32 error_code;
	vaddr_t addr; /* CR2 for #PF */
	vaddr_t rip;
	bool user;    /* the faulting code ran in ring 3 */
};

struct recovery {
	struct jump_buf ctx;
	struct fault_info fault;
	struct recovery *prev;
};

/* Runs fn(arg) and returns what faulted in it, FAULT_NONE in .vector if
 * nothing did. Nests. */
struct fault_info run_catching_faults(void (*fn)(void *), void *arg);

struct trap_frame;
/* mm/fault.c: resolves a page fault of the loaded address space; false
 * when it is not one (or the access is a segfault). */
bool handle_page_fault(const struct fault_info *fault, const struct trap_frame *frame);

/* Called by the trap handler; returns only when no one expects the fault. */
void fault_recover(const struct fault_info *fault, struct trap_frame *frame);

/* A page-fault error code decoded by name, e.g. "P W U". */
void describe_pf_error(u32 error_code, char *buf, size_t size);
void print_fault_report(const struct fault_info *fault, struct trap_frame *frame,
			const char *prefix);

#endif
