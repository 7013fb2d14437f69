#ifndef MMULAB_TASK_H
#define MMULAB_TASK_H

/*
 * Ring-3 tasks: a few bytes of code copied into an address space, run in
 * user mode on the calling CPU until they exit through the system call
 * (int 0x80) or take a fault the fault path cannot resolve. Demand-zero
 * and COW faults resolve and the task goes on, exactly as a process's.
 *
 * System calls (number in RAX, argument in RDI):
 *   0 exit(code)      ends the task with code
 *   1 report(value)   appends value to the task's reports, returns to it
 */

#include <mmulab/fault.h>
#include <mmulab/mm_struct.h>

#define TASK_MAX_REPORTS 16

enum task_end { TASK_EXITED, TASK_FAULTED };

struct task_result {
	enum task_end end;
	u64 exit_code;
	struct fault_info fault; /* when it faulted */
	struct segv_record segv; /* the address space's record, if any */
	u32 reports;
	u64 report[TASK_MAX_REPORTS];
};

/* Copies code to code_va (a new read+exec VMA), gives the task a stack
 * VMA below stack_top, and runs it with RDI = arg. */
struct task_result task_run(struct mm *mm, vaddr_t code_va, const u8 *code, size_t len,
			    vaddr_t stack_top, u64 arg);
void task_init(void);

#endif
