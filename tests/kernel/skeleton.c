/*
 * skeleton: the file to copy for a new suite. Nothing else needs an edit:
 * the Makefile builds every .c file of tests/kernel/ and TEST_SUITE_FLAGS
 * below registers the suite, so
 *
 *     cp tests/kernel/skeleton.c tests/kernel/mysuite.c
 *     (rename the suite in the TEST_SUITE_FLAGS line at the bottom)
 *     make -j2 all && ./run-qemu.sh --boot pvh --cmdline "tests=mysuite*"
 *
 * runs it. The header of a real suite says what it checks, how, and which
 * bug it would catch; each case below shows one part of the harness
 * (include/mmulab/test.h).
 */

#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <mmulab/test.h>

/*
 * A case with checks. SETUP_TRUE ends the case as ERROR when the set-up
 * fails (no frame): that is not the mechanism failing. EXPECT_* print
 * file:line and both values and go on; ASSERT_* would end the case.
 */
static void frame_reads_back(struct test *t)
{
	struct page *p = alloc_pages(NO_NODE, 0, ALLOC_ZERO);

	SETUP_TRUE(t, p);
	volatile u64 *word = page_address(p);
	EXPECT_EQ(t, *word, 0);
	*word = 0x5a5a;
	EXPECT_EQ(t, *word, 0x5a5a);
	free_pages(p, 0);
}

/* A case that cannot run everywhere says why and skips. */
static void needs_two_cpus(struct test *t)
{
	int other = test_other_cpu();

	if (other < 0)
		test_skip(t, "one CPU online");
	EXPECT_NE(t, (u32)other, this_cpu()->id);
}

/* A per-CPU part: test_on_cpus runs it on every CPU of the mask at once
 * and returns when all are done; a failed check there fails the case. */
static void count_me(struct test *t, void *arg)
{
	u32 *ran = arg;

	EXPECT_TRUE(t, cpumask_test(&cpu_online_mask, this_cpu()->id));
	__atomic_add_fetch(&ran[this_cpu()->id], 1, __ATOMIC_RELAXED);
}

static void runs_on_every_cpu(struct test *t)
{
	static u32 ran[MAX_CPUS];

	for (u32 i = 0; i < MAX_CPUS; i++)
		ran[i] = 0;
	test_on_cpus(t, &cpu_online_mask, count_me, ran);
	for_each_cpu_in(cpu, &cpu_online_mask)
		EXPECT_EQ(t, ran[cpu], 1);
}

/* Opt-in: runs only when tests= names it (tests=skeleton); drop
 * TEST_OPT_IN (TEST_SUITE(name, ...)) to join the default run. */
TEST_SUITE_FLAGS(skeleton, TEST_OPT_IN,
	TEST_CASE(frame_reads_back),
	TEST_CASE(needs_two_cpus),
	TEST_CASE(runs_on_every_cpu));
