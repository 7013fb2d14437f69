/*
 * user_bench: the figures of `make bench-linux` (tools/linux-bench/init.c)
 * measured the same way on this kernel: from ring 3, rdtsc around each
 * operation, so each figure includes the user/kernel round trip as Linux's
 * does. The loop is tests/kernel/user_bench_loop.asm, run as a task; it
 * stores every sample in its own memory. Opt-in (`tests=user_bench`): its
 * 2 MiB copies and 1000-page runs cost the emulator seconds.
 *
 *   user_null_syscall     the null system call: the round-trip floor
 *                         (Linux: getppid)
 *   user_page_fault       first write to a fresh 4 KiB page
 *   user_cow_fault        write to a page shared with a fork: a copy
 *   user_mprotect_512     mprotect of 512 present pages, RO and RW in turn
 *   user_move_pages_4k    move_page of each of 1000 pages, here to away
 *   user_move_pages_2m    one huge page moved between the nodes, back and forth
 *   user_thp_split        dontneed of one 4 KiB page of a freshly faulted
 *                         huge page (it splits)
 *   user_numa_hint_fault  a read of a page numa_scan hinted, on its own
 *                         node (no migration)
 *
 * Each case checks that every sample was the intended operation (the
 * kernel's counters moved by exactly one per sample, each call's return
 * value, the pages' node afterwards, the data read back through the
 * mappings). No assertion on time.
 */

#include <mmulab/huge_memory.h>
#include <mmulab/task.h>
#include "numa_util.h"
#include "thp_util.h"
#include "bench_util.h"

#define SHORT_SAMPLES 1000 /* faults, calls, 4 KiB moves */
#define LONG_SAMPLES 100   /* 2 MiB copies and zeroing */

#define CODE_VA 0x0000000000400000ULL
#define PARAMS_VA 0x0000000000600000ULL
#define SAMPLES_VA 0x0000000000800000ULL
#define RESULTS_VA 0x0000000000a00000ULL
#define STACK_TOP 0x00007fff00000000ULL
#define DATA_VA USER_BASE /* 2 MiB aligned */
#define ARRAY_PAGES (SHORT_SAMPLES * 8 / PAGE_SIZE + 1)

extern const u8 user_bench_loop[], user_bench_loop_end[];

enum { OP_READ, OP_WRITE, OP_CALL };

/* What the loop reads at RDI (offsets in user_bench_loop.asm). */
struct user_bench_params {
	u64 op, n, base, stride, off;
	u64 nr;
	u64 arg1[2], arg2[2]; /* RSI, RDX for even and odd samples */
	u64 prep;             /* nonzero: write the page first, untimed */
	u64 samples, results;
};

_Static_assert(__builtin_offsetof(struct user_bench_params, prep) == 80, "P_PREP");
_Static_assert(__builtin_offsetof(struct user_bench_params, results) == 96, "P_RESULTS");

struct run {
	u64 samples[SHORT_SAMPLES];
	u64 results[SHORT_SAMPLES];
};

static struct run run;

/* The loop's code, parameter page and arrays, all present, so that the
 * only faults while it runs are the ones it times. */
static void load_loop(struct test *t, struct mm *mm)
{
	task_load(mm, CODE_VA, user_bench_loop, user_bench_loop_end - user_bench_loop, STACK_TOP);
	SETUP_TRUE(t, mm_map_anon(mm, PARAMS_VA, PAGE_SIZE, VM_READ, 0) == 0);
	SETUP_TRUE(t, mm_map_anon(mm, SAMPLES_VA, ARRAY_PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	SETUP_TRUE(t, mm_map_anon(mm, RESULTS_VA, ARRAY_PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	SETUP_TRUE(t, handle_mm_fault(mm, PARAMS_VA, VM_READ));
	for (u32 i = 0; i < ARRAY_PAGES; i++) {
		SETUP_TRUE(t, handle_mm_fault(mm, SAMPLES_VA + i * PAGE_SIZE, VM_WRITE));
		SETUP_TRUE(t, handle_mm_fault(mm, RESULTS_VA + i * PAGE_SIZE, VM_WRITE));
	}
}

/* The 4 KiB cases map pages that stay 4 KiB, as Linux's MADV_NOHUGEPAGE
 * ones; the 2 MiB cases need huge pages where VMA_HUGE_OK asks for them. */
static void need_thp_madvise(struct test *t)
{
	if (thp_mode() != THP_MADVISE)
		test_skip(t, "needs thp=madvise (the default)");
}

/* An address space on this CPU's node with the loop loaded and data VMA
 * of len bytes at DATA_VA (not faulted). */
static struct mm *bench_mm(struct test *t, u64 len, u32 flags)
{
	need_thp_madvise(t);
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, DATA_VA, len, VM_READ | VM_WRITE, flags) == 0);
	load_loop(t, mm);
	return mm;
}

/* The parameter page is read-only to ring 3: written here through the
 * direct map. */
static void write_params(struct mm *mm, const struct user_bench_params *p)
{
	pte_t *pte = pt_pte_lookup(mm->root, PARAMS_VA);
	memcpy(phys_to_virt(pte_paddr(*pte)), p, sizeof(*p));
}

/* Runs the loop once over p; its samples and results land in `run`. */
static void run_loop(struct test *t, struct mm *mm, struct user_bench_params p)
{
	p.samples = SAMPLES_VA;
	p.results = RESULTS_VA;
	write_params(mm, &p);
	struct task_result r = task_enter(mm, CODE_VA, STACK_TOP, PARAMS_VA);
	if (r.end != TASK_EXITED)
		test_diag(t, "the loop faulted: vector %d at %lx (rip %lx)", r.fault.vector,
			  r.fault.addr, r.fault.rip);
	ASSERT_EQ(t, r.end, TASK_EXITED);
	ASSERT_EQ(t, r.exit_code, 0);
	mm_switch(mm);
	for (u64 i = 0; i < p.n; i++) {
		SETUP_TRUE(t, user_read64(SAMPLES_VA + i * 8, &run.samples[i]).vector == FAULT_NONE);
		SETUP_TRUE(t, user_read64(RESULTS_VA + i * 8, &run.results[i]).vector == FAULT_NONE);
	}
	mm_switch(NULL);
}

/* Samples whose result differs from want (even samples) / want_odd. */
static u64 wrong_results(u64 n, u64 want, u64 want_odd)
{
	u64 bad = 0;

	for (u64 i = 0; i < n; i++)
		bad += run.results[i] != (i % 2 ? want_odd : want);
	return bad;
}

static void fill(struct test *t, struct mm *mm, u64 pages, u64 seed)
{
	mm_switch(mm);
	SETUP_TRUE(t, fill_user(DATA_VA, pages, seed) == 0);
	mm_switch(NULL);
}

static u64 check(struct mm *mm, u64 pages, u64 seed)
{
	mm_switch(mm);
	u64 bad = check_user(DATA_VA, pages, seed);
	mm_switch(NULL);
	return bad;
}

/* Pages whose word at off does not read i (page i) through the mapping. */
static u64 wrong_index_words(struct mm *mm, u64 pages, u64 off)
{
	u64 bad = 0, v;

	mm_switch(mm);
	for (u64 i = 0; i < pages; i++)
		bad += user_read64(DATA_VA + i * PAGE_SIZE + off, &v).vector != FAULT_NONE || v != i;
	mm_switch(NULL);
	return bad;
}

static void null_syscall(struct test *t)
{
	struct mm *mm = bench_mm(t, PAGE_SIZE, 0);

	run_loop(t, mm, (struct user_bench_params){ .op = OP_CALL, .n = SHORT_SAMPLES,
						    .base = DATA_VA, .nr = TASK_SYS_NULL });
	EXPECT_EQ(t, wrong_results(SHORT_SAMPLES, 0, 0), 0);
	mm_destroy(mm);
	bench_report(t, "user_null_syscall", run.samples, SHORT_SAMPLES);
}

static void page_fault(struct test *t)
{
	struct mm *mm = bench_mm(t, SHORT_SAMPLES * PAGE_SIZE, 0);
	u64 zeroes = mm->faults.demand_zero;

	run_loop(t, mm, (struct user_bench_params){ .op = OP_WRITE, .n = SHORT_SAMPLES,
						    .base = DATA_VA, .stride = PAGE_SIZE, .off = 8 });
	EXPECT_EQ(t, mm->faults.demand_zero - zeroes, SHORT_SAMPLES);
	EXPECT_EQ(t, wrong_index_words(mm, SHORT_SAMPLES, 8), 0);
	mm_destroy(mm);
	bench_report(t, "user_page_fault", run.samples, SHORT_SAMPLES);
}

/* The pages are shared with a fork that keeps them: each write copies.
 * The loop is loaded after the fork, so its own pages are not shared. */
static void cow_fault(struct test *t)
{
	need_thp_madvise(t);
	struct mm *mm = mm_create(this_cpu()->node);
	const u64 seed = 0xc0c0;

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, DATA_VA, SHORT_SAMPLES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	fill(t, mm, SHORT_SAMPLES, seed);
	struct mm *child = mm_fork(mm);
	SETUP_TRUE(t, child != NULL);
	load_loop(t, mm);
	u64 copies = mm->faults.cow_copy;
	run_loop(t, mm, (struct user_bench_params){ .op = OP_WRITE, .n = SHORT_SAMPLES,
						    .base = DATA_VA, .stride = PAGE_SIZE, .off = 8 });
	EXPECT_EQ(t, mm->faults.cow_copy - copies, SHORT_SAMPLES);
	EXPECT_EQ(t, check(mm, SHORT_SAMPLES, seed), 0);   /* the copies kept the data */
	EXPECT_EQ(t, wrong_index_words(mm, SHORT_SAMPLES, 8), 0);
	EXPECT_EQ(t, check(child, SHORT_SAMPLES, seed), 0); /* the fork saw no write */
	mm_destroy(child);
	mm_destroy(mm);
	bench_report(t, "user_cow_fault", run.samples, SHORT_SAMPLES);
}

static void mprotect_512(struct test *t)
{
	const u64 pages = 512, seed = 0x5a5a;
	struct mm *mm = bench_mm(t, pages * PAGE_SIZE, 0);

	fill(t, mm, pages, seed);
	run_loop(t, mm, (struct user_bench_params){
				.op = OP_CALL, .n = SHORT_SAMPLES, .base = DATA_VA,
				.nr = TASK_SYS_MPROTECT, .arg1 = { pages * PAGE_SIZE, pages * PAGE_SIZE },
				.arg2 = { VM_READ, VM_READ | VM_WRITE } });
	EXPECT_EQ(t, wrong_results(SHORT_SAMPLES, 0, 0), 0);
	/* The last sample (odd) made them writable again: each is, and
	 * kept its data. */
	EXPECT_EQ(t, check(mm, pages, seed), 0);
	mm_switch(mm);
	EXPECT_EQ(t, fill_user(DATA_VA, pages, seed + 1), 0);
	mm_switch(NULL);
	mm_destroy(mm);
	bench_report(t, "user_mprotect_512", run.samples, SHORT_SAMPLES);
}

static u64 pages_not_on(struct mm *mm, u64 pages, int node)
{
	u64 bad = 0;

	for (u64 i = 0; i < pages; i++)
		bad += node_at(mm, DATA_VA + i * PAGE_SIZE) != node;
	return bad;
}

static void move_pages_4k(struct test *t)
{
	const u64 seed = 0x4444;
	int here = this_cpu()->node, away = node_off(here);

	if (away < 0)
		test_skip(t, "needs a second node with memory");
	struct mm *mm = bench_mm(t, SHORT_SAMPLES * PAGE_SIZE, 0);
	fill(t, mm, SHORT_SAMPLES, seed);
	SETUP_TRUE(t, pages_not_on(mm, SHORT_SAMPLES, here) == 0);
	u64 moved = numa_stats.matrix[here][away];
	run_loop(t, mm, (struct user_bench_params){
				.op = OP_CALL, .n = SHORT_SAMPLES, .base = DATA_VA, .stride = PAGE_SIZE,
				.nr = TASK_SYS_MOVE_PAGE, .arg1 = { (u64)away, (u64)away } });
	EXPECT_EQ(t, wrong_results(SHORT_SAMPLES, (u64)away, (u64)away), 0);
	EXPECT_EQ(t, numa_stats.matrix[here][away] - moved, SHORT_SAMPLES);
	EXPECT_EQ(t, pages_not_on(mm, SHORT_SAMPLES, away), 0);
	EXPECT_EQ(t, check(mm, SHORT_SAMPLES, seed), 0);
	mm_destroy(mm);
	bench_report(t, "user_move_pages_4k", run.samples, SHORT_SAMPLES);
}

static bool huge_at(struct mm *mm, vaddr_t va)
{
	return pmd_leaf(pmd_at(mm, va));
}

/* Even samples move it away, odd ones home: it ends at home, whole. */
static void move_pages_2m(struct test *t)
{
	const u64 seed = 0x2222;
	int here = this_cpu()->node, away = node_off(here);

	if (away < 0)
		test_skip(t, "needs a second node with memory");
	struct mm *mm = bench_mm(t, PMD_SIZE, VMA_HUGE_OK);
	fill(t, mm, HUGE_PAGES, seed);
	SETUP_TRUE(t, huge_node_at(mm, DATA_VA) == here);
	u64 there = numa_stats.matrix[here][away], back = numa_stats.matrix[away][here];
	run_loop(t, mm, (struct user_bench_params){
				.op = OP_CALL, .n = LONG_SAMPLES, .base = DATA_VA,
				.nr = TASK_SYS_MOVE_PAGE, .arg1 = { (u64)away, (u64)here } });
	EXPECT_EQ(t, wrong_results(LONG_SAMPLES, (u64)away, (u64)here), 0);
	EXPECT_EQ(t, numa_stats.matrix[here][away] - there, LONG_SAMPLES / 2 * HUGE_PAGES);
	EXPECT_EQ(t, numa_stats.matrix[away][here] - back, LONG_SAMPLES / 2 * HUGE_PAGES);
	EXPECT_EQ(t, huge_node_at(mm, DATA_VA), here); /* home, and not split */
	EXPECT_EQ(t, check(mm, HUGE_PAGES, seed), 0);
	mm_destroy(mm);
	bench_report(t, "user_move_pages_2m", run.samples, LONG_SAMPLES);
}

/* Sample i: ring 3 faults in the huge page of 2 MiB region i (untimed),
 * then times the dontneed of its second 4 KiB page. */
static void thp_split(struct test *t)
{
	struct mm *mm = bench_mm(t, LONG_SAMPLES * PMD_SIZE, VMA_HUGE_OK);
	u64 allocs = thp_stats.thp_fault_alloc, splits = thp_stats.thp_split_pmd;

	run_loop(t, mm, (struct user_bench_params){
				.op = OP_CALL, .n = LONG_SAMPLES, .base = DATA_VA, .stride = PMD_SIZE,
				.off = PAGE_SIZE, .nr = TASK_SYS_DONTNEED,
				.arg1 = { PAGE_SIZE, PAGE_SIZE }, .prep = 1 });
	EXPECT_EQ(t, wrong_results(LONG_SAMPLES, 0, 0), 0);
	EXPECT_EQ(t, thp_stats.thp_fault_alloc - allocs, LONG_SAMPLES);
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, LONG_SAMPLES);
	u64 whole = 0, kept = 0, unzeroed = 0, v;
	mm_switch(mm);
	for (u64 i = 0; i < LONG_SAMPLES; i++) {
		vaddr_t va = DATA_VA + i * PMD_SIZE;
		whole += huge_at(mm, va);
		kept += user_read64(va, &v).vector == FAULT_NONE && v == i;
		unzeroed += nonzero_words(va + PAGE_SIZE, 1);
	}
	mm_switch(NULL);
	EXPECT_EQ(t, whole, 0);
	EXPECT_EQ(t, kept, LONG_SAMPLES);
	EXPECT_EQ(t, unzeroed, 0);
	mm_destroy(mm);
	bench_report(t, "user_thp_split", run.samples, LONG_SAMPLES);
}

/* The pages are on this CPU's node: each read is a local hint fault. */
static void numa_hint_fault(struct test *t)
{
	const u64 seed = 0x7777;
	struct mm *mm = bench_mm(t, SHORT_SAMPLES * PAGE_SIZE, 0);

	fill(t, mm, SHORT_SAMPLES, seed);
	SETUP_TRUE(t, numa_scan(mm, DATA_VA, DATA_VA + SHORT_SAMPLES * PAGE_SIZE) == SHORT_SAMPLES);
	struct numa_stats before = numa_stats;
	run_loop(t, mm, (struct user_bench_params){ .op = OP_READ, .n = SHORT_SAMPLES,
						    .base = DATA_VA, .stride = PAGE_SIZE });
	EXPECT_EQ(t, numa_stats.numa_hint_faults - before.numa_hint_faults, SHORT_SAMPLES);
	EXPECT_EQ(t, numa_stats.numa_hint_faults_local - before.numa_hint_faults_local,
		  SHORT_SAMPLES);
	EXPECT_EQ(t, numa_stats.pgmigrate_success - before.pgmigrate_success, 0);
	u64 wrong = 0;
	for (u64 i = 0; i < SHORT_SAMPLES; i++)
		wrong += run.results[i] != pattern(DATA_VA + i * PAGE_SIZE, seed);
	EXPECT_EQ(t, wrong, 0);
	mm_destroy(mm);
	bench_report(t, "user_numa_hint_fault", run.samples, SHORT_SAMPLES);
}

TEST_SUITE_FLAGS(user_bench, TEST_MM_AUDIT | TEST_OPT_IN,
	TEST_CASE(null_syscall),
	TEST_CASE(page_fault),
	TEST_CASE(cow_fault),
	TEST_CASE(mprotect_512),
	TEST_CASE(move_pages_4k),
	TEST_CASE(move_pages_2m),
	TEST_CASE(thp_split),
	TEST_CASE(numa_hint_fault));
