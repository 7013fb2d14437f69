/*
 * user: ring-3 code in an address space. Tasks are a few hand-assembled
 * bytes (listed next to each), run with task_run; they use their own
 * memory (demand-zero stack and data, resolved by the fault path while
 * they run), and every access they are not allowed ends them with the
 * fault decoded and the address space's segfault record filled in.
 */

#include <mmulab/percpu.h>
#include <mmulab/task.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include "mm_util.h"

#define CODE_VA 0x0000000000400000ULL
#define STACK_TOP 0x00007fff00000000ULL
#define DATA_VA 0x0000000010000000ULL

/* rdi = address: reads it; used by the fault cases. */
static const u8 read_rdi[] = {
	0x48, 0x8b, 0x07,             /* mov rax, [rdi] */
	0x31, 0xff,                   /* xor edi, edi */
	0x31, 0xc0,                   /* xor eax, eax */
	0xcd, 0x80,                   /* int 0x80: exit(0) */
};

static const u8 write_rdi[] = {
	0x48, 0x89, 0x07,             /* mov [rdi], rax */
	0x31, 0xff, 0x31, 0xc0, 0xcd, 0x80,
};

/* rdi = &counter: increment it, report it, exit(42). */
static const u8 increment[] = {
	0x50, 0x58,                   /* push rax; pop rax (touches the stack) */
	0x48, 0x8b, 0x07,             /* mov rax, [rdi] */
	0x48, 0x83, 0xc0, 0x01,       /* add rax, 1 */
	0x48, 0x89, 0x07,             /* mov [rdi], rax */
	0x48, 0x89, 0xc7,             /* mov rdi, rax */
	0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1: report */
	0xcd, 0x80,
	0x48, 0xc7, 0xc7, 0x2a, 0x00, 0x00, 0x00, /* mov rdi, 42 */
	0x31, 0xc0,                   /* xor eax, eax: exit */
	0xcd, 0x80,
};

static struct mm *with_data(struct test *t, u32 prot)
{
	struct mm *mm = mm_create(0);

	ASSERT_TRUE(t, mm != NULL);
	ASSERT_EQ(t, mm_map_anon(mm, DATA_VA, PAGE_SIZE, prot, 0), 0);
	return mm;
}

/* Ring 3 reads and writes its own pages (data, stack) and exits. */
static void own_memory(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = with_data(t, VM_READ | VM_WRITE);
	u64 v = 0;

	mm_switch(mm);
	EXPECT_EQ(t, user_write64(DATA_VA, 41).vector, FAULT_NONE);
	mm_switch(NULL);
	struct task_result r = task_run(mm, CODE_VA, increment, sizeof(increment), STACK_TOP, DATA_VA);
	EXPECT_EQ(t, r.end, TASK_EXITED);
	EXPECT_EQ(t, r.exit_code, 42);
	EXPECT_EQ(t, r.reports, 1);
	EXPECT_EQ(t, r.report[0], 42);
	EXPECT_GE(t, mm->faults.demand_zero, 2); /* code page and stack page */
	mm_switch(mm);
	EXPECT_EQ(t, user_read64(DATA_VA, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 42);
	mm_switch(NULL);
	mm_destroy(mm);
	expect_same_free(t, before);
}

/* A kernel address: a protection fault from user mode, reported. */
static void kernel_address_faults(struct test *t)
{
	struct mm *mm = with_data(t, VM_READ | VM_WRITE);
	vaddr_t target = (vaddr_t)&cpus[0];

	struct task_result r = task_run(mm, CODE_VA, read_rdi, sizeof(read_rdi), STACK_TOP, target);
	EXPECT_EQ(t, r.end, TASK_FAULTED);
	EXPECT_EQ(t, r.fault.vector, X86_TRAP_PF);
	EXPECT_EQ(t, r.fault.error_code, X86_PF_PROT | X86_PF_USER);
	EXPECT_EQ(t, r.fault.addr, target);
	EXPECT_TRUE(t, r.fault.user);
	mm_destroy(mm);
}

/* PROT_NONE: the read is a segfault, recorded as an access error. */
static void prot_none_faults(struct test *t)
{
	struct mm *mm = with_data(t, 0);

	struct task_result r = task_run(mm, CODE_VA, read_rdi, sizeof(read_rdi), STACK_TOP, DATA_VA);
	EXPECT_EQ(t, r.end, TASK_FAULTED);
	EXPECT_EQ(t, r.fault.vector, X86_TRAP_PF);
	EXPECT_EQ(t, r.segv.reason, SEGV_ACCERR);
	EXPECT_EQ(t, r.segv.addr, DATA_VA);
	EXPECT_EQ(t, r.segv.access, VM_READ);
	mm_destroy(mm);
}

/* A write to a read-only VMA: a segfault naming the write. */
static void write_to_read_only_faults(struct test *t)
{
	struct mm *mm = with_data(t, VM_READ);

	struct task_result r = task_run(mm, CODE_VA, write_rdi, sizeof(write_rdi), STACK_TOP, DATA_VA);
	EXPECT_EQ(t, r.end, TASK_FAULTED);
	EXPECT_EQ(t, r.segv.reason, SEGV_ACCERR);
	EXPECT_EQ(t, r.segv.access, VM_WRITE);
	mm_destroy(mm);
}

/* With SMAP on, the kernel faults on user memory it touches without the
 * copy helpers' window, and the fault path refuses to "resolve" it. */
static void smap_stops_the_kernel(struct test *t)
{
	if (!cpu_has(X86_SMAP))
		test_skip(t, "CPU lacks SMAP");
	struct mm *mm = with_data(t, VM_READ | VM_WRITE);
	u64 v;

	mm_switch(mm);
	EXPECT_EQ(t, user_write64(DATA_VA, 7).vector, FAULT_NONE);
	struct fault_info f = probe_read(DATA_VA, NULL);
	EXPECT_EQ(t, f.vector, X86_TRAP_PF);
	EXPECT_EQ(t, f.error_code, X86_PF_PROT);
	EXPECT_EQ(t, user_read64(DATA_VA, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 7);
	mm_switch(NULL);
	mm_destroy(mm);
}

TEST_SUITE_FLAGS(user, TEST_MM_AUDIT,
	TEST_CASE(own_memory),
	TEST_CASE(kernel_address_faults),
	TEST_CASE(prot_none_faults),
	TEST_CASE(write_to_read_only_faults),
	TEST_CASE(smap_stops_the_kernel));
