#ifndef MMULAB_TASK_H
#define MMULAB_TASK_H

/*
 * Ring-3 tasks: a few bytes of code copied into an address space, run in
 * user mode on the calling CPU until they exit through the system call
 * (int 0x80) or take a fault the fault path cannot resolve. Demand-zero
 * and COW faults resolve and the task goes on, exactly as a process's.
 *
 * System calls (number in RAX, arguments in RDI, RSI, RDX; the result in
 * RAX, a negative VMA error (-VMA_EINVAL...) for bad arguments):
 *   0 exit(code)                ends the task with code
 *   1 report(value)             appends value to the task's reports
 *   2 null()                    returns 0 at once: the round trip alone
 *   3 mprotect(addr, len, prot) mm_protect; prot of VM_READ|VM_WRITE|VM_EXEC
 *   4 move_page(addr, node)     the page (4 KiB or huge) at addr to node;
 *                               returns the node it is on afterwards
 *   5 dontneed(addr, len)       MADV_DONTNEED: the range reads zero after
 */

#include <mmulab/fault.h>
#include <mmulab/mm_struct.h>

#define TASK_MAX_REPORTS 16

enum task_syscall {
	TASK_SYS_EXIT = 0,
	TASK_SYS_REPORT = 1,
	TASK_SYS_NULL = 2,
	TASK_SYS_MPROTECT = 3,
	TASK_SYS_MOVE_PAGE = 4,
	TASK_SYS_DONTNEED = 5,
};

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
/* task_run in two steps, for a caller that prepares the address space
 * between them or runs the same code more than once: task_load maps and
 * fills the code and stack VMAs (code page present), task_enter runs. */
void task_load(struct mm *mm, vaddr_t code_va, const u8 *code, size_t len, vaddr_t stack_top);
struct task_result task_enter(struct mm *mm, vaddr_t code_va, vaddr_t stack_top, u64 arg);
void task_init(void);

#endif
