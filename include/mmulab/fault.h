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
	bool has_addr; /* addr is the faulting data address (a page fault) */
};

struct recovery {
	struct jump_buf ctx;
	struct fault_info fault;
	struct recovery *prev;
};

/* Runs fn(arg) and returns what faulted in it, FAULT_NONE in .vector if
 * nothing did. Nests. */
struct fault_info run_catching_faults(void (*fn)(void *), void *arg);

/*
 * The seam between arch/ and mm/: arch turns its page-fault exception into
 * this description (and refuses what only its architecture can judge);
 * mm/ decides from the description alone.
 */
struct mm_fault {
	vaddr_t addr;
	u32 access;        /* VM_READ, VM_WRITE or VM_EXEC */
	bool user;         /* made by user-mode code */
	bool not_present;  /* no translation, rather than one that forbids the access */
	bool reserved_bit; /* the walk met a malformed entry */
};

/* mm/fault.c: true when the fault is resolved and the access may retry;
 * false when it is not mm's to resolve, a segfault, or makes no progress. */
bool mm_handle_fault(const struct mm_fault *fault);

struct trap_frame;
/* Called by the trap handler; returns only when no one expects the fault. */
void fault_recover(const struct fault_info *fault, struct trap_frame *frame);

/* kernel/fault.c: what faulted and where, the exception's own details,
 * the walk of a faulting address, the registers and a backtrace. */
void print_fault_report(const struct fault_info *fault, struct trap_frame *frame,
			const char *prefix);

/* arch: the exception's own details, e.g. a page fault's error code
 * decoded (the registers: print_trap_frame). */
void arch_print_fault_cause(const struct fault_info *fault, const char *prefix);

#endif
