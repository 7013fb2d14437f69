/*
 * Ring-3 tasks (include/mmulab/task.h). The task runs inside
 * run_catching_faults on the calling CPU: an exit comes back as a
 * "fault" with the system-call vector, any fault the fault path did not
 * resolve as itself. The trap from ring 3 arrives on the TSS RSP0 stack,
 * so the kernel stack the task was entered from is untouched.
 */

#include <mmulab/task.h>
#include <mmulab/kernel.h>
#include <mmulab/memory.h>
#include <mmulab/numa_balance.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>
#include <arch/cpu.h>
#include <arch/irq.h>
#include <arch/trap.h>

#define STACK_PAGES 4

void enter_user(vaddr_t rip, vaddr_t rsp, u64 arg) __noreturn;

/* The result being filled on each CPU (one task per CPU at a time). */
static struct task_result *running[MAX_CPUS];

static s64 sys_null(const struct trap_frame *f)
{
	(void)f;
	return 0;
}

static s64 sys_mprotect(const struct trap_frame *f)
{
	if (f->rdx & ~(u64)(VM_READ | VM_WRITE | VM_EXEC))
		return -VMA_EINVAL;
	return mm_protect(current_mm(), f->rdi, f->rsi, (u32)f->rdx);
}

static s64 sys_move_page(const struct trap_frame *f)
{
	if (f->rdi >= USER_TOP || f->rsi >= (u64)nr_nodes() || !node_present_pages((int)f->rsi))
		return -VMA_EINVAL;
	return move_page(current_mm(), f->rdi, (int)f->rsi);
}

static s64 sys_dontneed(const struct trap_frame *f)
{
	return mm_dontneed(current_mm(), f->rdi, f->rsi);
}

/* The calls that return to the task (exit and report are the harness's). */
static s64 (*const mm_calls[])(const struct trap_frame *) = {
	[TASK_SYS_NULL] = sys_null,
	[TASK_SYS_MPROTECT] = sys_mprotect,
	[TASK_SYS_MOVE_PAGE] = sys_move_page,
	[TASK_SYS_DONTNEED] = sys_dontneed,
};

/* Interrupts go back on as for a user page fault: the call may wait for a
 * TLB shootdown, and a CPU waiting for one must take those others send. */
static void mm_call(struct trap_frame *frame)
{
	irq_enable();
	frame->rax = (u64)mm_calls[frame->rax](frame);
	irq_disable();
}

static void syscall_entry(struct trap_frame *frame)
{
	struct task_result *r = running[this_cpu()->id];
	struct fault_info exit = { .vector = SYSCALL_VECTOR, .rip = frame->rip, .user = true };

	if (!r || (frame->cs & 3) != 3)
		panic("int 0x80 outside a task (cs %lx)", frame->cs);
	if (frame->rax < ARRAY_SIZE(mm_calls) && mm_calls[frame->rax]) {
		mm_call(frame);
		return;
	}
	if (frame->rax == TASK_SYS_REPORT && r->reports < TASK_MAX_REPORTS) {
		r->report[r->reports++] = frame->rdi;
		return;
	}
	r->exit_code = frame->rdi;
	if (frame->rax != TASK_SYS_EXIT)
		r->exit_code = ~0ULL; /* unknown call: the task is ended */
	fault_recover(&exit, frame);
	panic("task exit with no recovery context");
}

void task_init(void)
{
	irq_register(SYSCALL_VECTOR, syscall_entry);
}

/* Puts the code into the VMA through the direct map: the VMA itself is
 * not writable, as a text segment is not. */
static bool load_code(struct mm *mm, vaddr_t va, const u8 *code, size_t len)
{
	for (size_t done = 0; done < len;) {
		vaddr_t page = ALIGN_DOWN(va + done, PAGE_SIZE);
		if (!handle_mm_fault(mm, page, VM_READ))
			return false;
		size_t off = (va + done) - page, n = MIN(len - done, PAGE_SIZE - off);
		pte_t *pte = pt_pte_lookup(mm->root, page);
		memcpy((u8 *)phys_to_virt(pte_paddr(*pte)) + off, code + done, n);
		done += n;
	}
	return true;
}

struct entry {
	vaddr_t rip, rsp;
	u64 arg;
};

static void run_user(void *arg)
{
	struct entry *e = arg;
	enter_user(e->rip, e->rsp, e->arg);
}

void task_load(struct mm *mm, vaddr_t code_va, const u8 *code, size_t len, vaddr_t stack_top)
{
	vaddr_t code_end = ALIGN_UP(code_va + len, PAGE_SIZE);

	ASSERT(mm_map_anon(mm, ALIGN_DOWN(code_va, PAGE_SIZE), code_end - ALIGN_DOWN(code_va, PAGE_SIZE),
			   VM_READ | VM_EXEC, 0) == 0);
	ASSERT(mm_map_anon(mm, stack_top - STACK_PAGES * PAGE_SIZE, STACK_PAGES * PAGE_SIZE,
			   VM_READ | VM_WRITE, 0) == 0);
	ASSERT(load_code(mm, code_va, code, len));
}

struct task_result task_run(struct mm *mm, vaddr_t code_va, const u8 *code, size_t len,
			    vaddr_t stack_top, u64 arg)
{
	task_load(mm, code_va, code, len, stack_top);
	return task_enter(mm, code_va, stack_top, arg);
}

struct task_result task_enter(struct mm *mm, vaddr_t code_va, vaddr_t stack_top, u64 arg)
{
	struct task_result r = { 0 };
	struct entry e = { code_va, stack_top, arg };
	struct mm *before = current_mm();
	mm_switch(mm);
	running[this_cpu()->id] = &r;
	struct fault_info f = run_catching_faults(run_user, &e);
	running[this_cpu()->id] = NULL;
	mm_switch(before);
	r.end = f.vector == SYSCALL_VECTOR ? TASK_EXITED : TASK_FAULTED;
	if (r.end == TASK_FAULTED)
		r.fault = f;
	r.segv = mm->segv;
	return r;
}
