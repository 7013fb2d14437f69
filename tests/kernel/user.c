/*
 * user: ring-3 code in an address space. Tasks are a few hand-assembled
 * bytes (listed next to each), run with task_run; they use their own
 * memory (demand-zero stack and data, resolved by the fault path while
 * they run), and every access they are not allowed ends them with the
 * fault decoded and the address space's segfault record filled in.
 */

#include <mmulab/huge_memory.h>
#include <mmulab/percpu.h>
#include <mmulab/task.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include "mm_util.h"
#include "numa_util.h"
#include "thp_util.h"

#define CODE_VA 0x0000000000400000ULL
#define STACK_TOP 0x00007fff00000000ULL
#define DATA_VA 0x0000000010000000ULL
#define BLOCK_VA 0x0000000000600000ULL

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

/* rdi = struct call_block: writes touch (its own address), makes the
 * call, reports its result, reads touch back and reports it, writes
 * second there and exits(0). The first write leaves a writable
 * translation in the TLB for a missing flush to show. */
static const u8 touch_call_touch[] = {
	0x48, 0x89, 0xfb,             /* mov rbx, rdi: the block */
	0x48, 0x8b, 0x7b, 0x20,       /* mov rdi, [rbx + 32]: touch */
	0x48, 0x89, 0x3f,             /* mov [rdi], rdi */
	0x48, 0x8b, 0x03,             /* mov rax, [rbx]: nr */
	0x48, 0x8b, 0x7b, 0x08,       /* mov rdi, [rbx + 8] */
	0x48, 0x8b, 0x73, 0x10,       /* mov rsi, [rbx + 16] */
	0x48, 0x8b, 0x53, 0x18,       /* mov rdx, [rbx + 24] */
	0xcd, 0x80,                   /* int 0x80: the call */
	0x48, 0x89, 0xc7,             /* mov rdi, rax */
	0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
	0xcd, 0x80,                   /* int 0x80: report(result) */
	0x48, 0x8b, 0x7b, 0x20,       /* mov rdi, [rbx + 32] */
	0x48, 0x8b, 0x3f,             /* mov rdi, [rdi] */
	0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
	0xcd, 0x80,                   /* int 0x80: report(*touch) */
	0x48, 0x8b, 0x7b, 0x20,       /* mov rdi, [rbx + 32] */
	0x48, 0x8b, 0x43, 0x28,       /* mov rax, [rbx + 40]: second */
	0x48, 0x89, 0x07,             /* mov [rdi], rax */
	0x31, 0xff, 0x31, 0xc0, 0xcd, 0x80, /* exit(0) */
};

struct call_block {
	u64 nr, arg[3];
	vaddr_t touch;
	u64 second;
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

/* Runs touch_call_touch with b, from a read-write block page. */
static struct task_result run_call(struct test *t, struct mm *mm, struct call_block b)
{
	const u64 words[] = { b.nr, b.arg[0], b.arg[1], b.arg[2], b.touch, b.second };

	ASSERT_EQ(t, mm_map_anon(mm, BLOCK_VA, PAGE_SIZE, VM_READ | VM_WRITE, 0), 0);
	mm_switch(mm);
	for (u32 i = 0; i < ARRAY_SIZE(words); i++)
		SETUP_TRUE(t, user_write64(BLOCK_VA + i * 8, words[i]).vector == FAULT_NONE);
	mm_switch(NULL);
	return task_run(mm, CODE_VA, touch_call_touch, sizeof(touch_call_touch), STACK_TOP, BLOCK_VA);
}

/* The block page's spare word: a touch for calls that concern no page. */
#define SPARE (BLOCK_VA + sizeof(struct call_block))

static void null_call_returns_zero(struct test *t)
{
	struct mm *mm = with_data(t, VM_READ | VM_WRITE);

	struct task_result r = run_call(t, mm, (struct call_block){ TASK_SYS_NULL, { 7, 7, 7 }, SPARE, 1 });
	EXPECT_EQ(t, r.end, TASK_EXITED);
	EXPECT_EQ(t, r.reports, 2);
	EXPECT_EQ(t, r.report[0], 0);
	EXPECT_EQ(t, r.report[1], SPARE);
	mm_destroy(mm);
}

/* After mprotect(RO) the page still reads, and the next write from ring 3
 * faults although the TLB held a writable translation before the call. */
static void mprotect_read_only_stops_writes(struct test *t)
{
	struct mm *mm = with_data(t, VM_READ | VM_WRITE);

	struct task_result r = run_call(t, mm, (struct call_block){
		TASK_SYS_MPROTECT, { DATA_VA, PAGE_SIZE, VM_READ }, DATA_VA + 8, 2 });
	EXPECT_EQ(t, r.reports, 2);
	EXPECT_EQ(t, r.report[0], 0);
	EXPECT_EQ(t, r.report[1], DATA_VA + 8);
	EXPECT_EQ(t, r.end, TASK_FAULTED);
	EXPECT_EQ(t, r.segv.reason, SEGV_ACCERR);
	EXPECT_EQ(t, r.segv.access, VM_WRITE);
	EXPECT_EQ(t, r.segv.addr, DATA_VA + 8);
	mm_destroy(mm);
}

/* move_page of the page (or huge page) at `at` to the other node: the call
 * names that node, the frames are there, and every word written before
 * (the pattern, and ring 3's own write before the call) and after the move
 * (second, written through the translation ring 3 had) reads back. */
static void check_move(struct test *t, u64 len, u32 flags, vaddr_t at)
{
	int here = this_cpu()->node, away = node_off(here);
	const u64 seed = 0xabc, pages = len / PAGE_SIZE;
	u64 v = 0;

	if (away < 0)
		test_skip(t, "needs a second node with memory");
	struct mm *mm = mm_create(here);
	SETUP_TRUE(t, mm && mm_map_anon(mm, DATA_VA, len, VM_READ | VM_WRITE, flags) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, fill_user(DATA_VA, pages, seed) == 0);
	mm_switch(NULL);
	bool huge = flags & VMA_HUGE_OK;
	SETUP_TRUE(t, (huge ? huge_node_at(mm, DATA_VA) : node_at(mm, DATA_VA)) == here);
	struct task_result r = run_call(t, mm, (struct call_block){
		TASK_SYS_MOVE_PAGE, { at, (u64)away, 0 }, DATA_VA + 8, 0x5eed });
	EXPECT_EQ(t, r.end, TASK_EXITED);
	EXPECT_EQ(t, r.report[0], (u64)away);
	EXPECT_EQ(t, r.report[1], DATA_VA + 8);
	/* A huge page must still be one (huge_node_at is -1 otherwise). */
	EXPECT_EQ(t, huge ? huge_node_at(mm, DATA_VA) : node_at(mm, DATA_VA), away);
	mm_switch(mm);
	EXPECT_EQ(t, check_user(DATA_VA, pages, seed), 0);
	EXPECT_EQ(t, user_read64(DATA_VA + 8, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 0x5eed);
	mm_switch(NULL);
	mm_destroy(mm);
}

static void move_page_moves_4k(struct test *t)
{
	check_move(t, PAGE_SIZE, 0, DATA_VA);
}

/* Any address inside the huge page moves all of it, still huge. */
static void move_page_moves_huge(struct test *t)
{
	if (thp_mode() == THP_NEVER)
		test_skip(t, "thp=never");
	check_move(t, PMD_SIZE, VMA_HUGE_OK, DATA_VA + 5 * PAGE_SIZE);
}

/* The page had data (and ring 3's write just before the call): ring 3
 * reads zero after it, and so does every word looked at. */
static void dontneed_zeroes(struct test *t)
{
	struct mm *mm = with_data(t, VM_READ | VM_WRITE);

	mm_switch(mm);
	SETUP_TRUE(t, fill_user(DATA_VA, 1, 0x99) == 0);
	mm_switch(NULL);
	struct task_result r = run_call(t, mm, (struct call_block){
		TASK_SYS_DONTNEED, { DATA_VA, PAGE_SIZE, 0 }, DATA_VA + 8, 0 });
	EXPECT_EQ(t, r.end, TASK_EXITED);
	EXPECT_EQ(t, r.report[0], 0);
	EXPECT_EQ(t, r.report[1], 0);
	mm_switch(mm);
	EXPECT_EQ(t, nonzero_words(DATA_VA, 1), 0);
	mm_switch(NULL);
	mm_destroy(mm);
}

/* Each bad call returns its error to ring 3, which goes on; the data page
 * (one page at DATA_VA, present) is untouched. */
static void bad_arguments_return_errors(struct test *t)
{
	const vaddr_t kernel = ALIGN_DOWN((vaddr_t)&cpus[0], PAGE_SIZE), hole = DATA_VA + (1ULL << 30);
	const struct {
		u64 nr, arg[3];
		s64 want;
	} calls[] = {
		{ TASK_SYS_MPROTECT, { DATA_VA + 1, PAGE_SIZE, VM_READ }, -VMA_EINVAL },
		{ TASK_SYS_MPROTECT, { DATA_VA, PAGE_SIZE, 1 << 8 }, -VMA_EINVAL },
		{ TASK_SYS_MPROTECT, { kernel, PAGE_SIZE, VM_READ }, -VMA_EINVAL },
		{ TASK_SYS_MPROTECT, { hole, PAGE_SIZE, VM_READ }, -VMA_ENOENT },
		{ TASK_SYS_MOVE_PAGE, { DATA_VA, 99, 0 }, -VMA_EINVAL },
		{ TASK_SYS_MOVE_PAGE, { DATA_VA, ~0ULL, 0 }, -VMA_EINVAL },
		{ TASK_SYS_MOVE_PAGE, { kernel, 0, 0 }, -VMA_EINVAL },
		{ TASK_SYS_MOVE_PAGE, { hole, 0, 0 }, -VMA_ENOENT },
		{ TASK_SYS_MOVE_PAGE, { DATA_VA + PAGE_SIZE, 0, 0 }, -VMA_ENOENT }, /* VMA, no page */
		{ TASK_SYS_DONTNEED, { DATA_VA + 8, PAGE_SIZE, 0 }, -VMA_EINVAL },
		{ TASK_SYS_DONTNEED, { kernel, PAGE_SIZE, 0 }, -VMA_EINVAL },
		{ TASK_SYS_DONTNEED, { DATA_VA, ~0ULL & ~(PAGE_SIZE - 1), 0 }, -VMA_EINVAL },
	};

	for (u32 i = 0; i < ARRAY_SIZE(calls); i++) {
		struct mm *mm = mm_create(0);
		SETUP_TRUE(t, mm && mm_map_anon(mm, DATA_VA, 2 * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
		mm_switch(mm);
		SETUP_TRUE(t, fill_user(DATA_VA, 1, i) == 0);
		mm_switch(NULL);
		struct task_result r = run_call(t, mm, (struct call_block){
			calls[i].nr, { calls[i].arg[0], calls[i].arg[1], calls[i].arg[2] }, SPARE, 1 });
		if (!EXPECT_EQ(t, r.report[0], (u64)calls[i].want))
			test_diag(t, "call %u (nr %lu)", i, calls[i].nr);
		EXPECT_EQ(t, r.end, TASK_EXITED);
		mm_switch(mm);
		EXPECT_EQ(t, check_user(DATA_VA, 1, i), 0);
		mm_switch(NULL);
		mm_destroy(mm);
	}
}

TEST_SUITE_FLAGS(user, TEST_MM_AUDIT,
	TEST_CASE(own_memory),
	TEST_CASE(kernel_address_faults),
	TEST_CASE(prot_none_faults),
	TEST_CASE(write_to_read_only_faults),
	TEST_CASE(smap_stops_the_kernel),
	TEST_CASE(null_call_returns_zero),
	TEST_CASE(mprotect_read_only_stops_writes),
	TEST_CASE(move_page_moves_4k),
	TEST_CASE(move_page_moves_huge),
	TEST_CASE(dontneed_zeroes),
	TEST_CASE(bad_arguments_return_errors));
