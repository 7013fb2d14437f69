/*
 * log_limit: printk_ratelimited / printk_limited_flush (kernel/log.c). A
 * kind of line printed 10 times on every CPU at once must come out
 * RATELIMIT_BURST times and then as one "... and N more" diagnostic just
 * before the case's result line; the matrix configuration log-limit
 * checks the console text, this suite the counts behind it (a lost or
 * double count across CPUs changes N). The audit bounds its reports the
 * same way per rule: ten entries past the end of RAM give three reports
 * and one summary, with the count still exact.
 */

#include <mmulab/audit.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <mmulab/test.h>
#include "mm_util.h"

#define PER_CPU 10

static struct ratelimit repeated = { .kind = "log_limit: repeated line" };

static void print_ten(struct test *t, void *arg)
{
	(void)t;
	(void)arg;
	for (int i = 0; i < PER_CPU; i++)
		printk_limited(&repeated, "%s# log_limit: repeated line from cpu%u\n",
			       run_diag_indent(), this_cpu()->id);
}

/* Every line counted once, the kind listed for the flush; the flush
 * before the result line (kernel/test.c) prints the summary. */
static void repeated_line_summarised_before_result(struct test *t)
{
	test_on_cpus(t, &cpu_online_mask, print_ten, NULL);
	EXPECT_EQ(t, __atomic_load_n(&repeated.seen, __ATOMIC_RELAXED), PER_CPU * nr_cpus);
	EXPECT_TRUE(t, __atomic_load_n(&repeated.listed, __ATOMIC_RELAXED));
	test_diag(t, "log_limit: expect %u more", PER_CPU * nr_cpus - RATELIMIT_BURST);
}

/* The flush ended the burst: the next line prints again and nothing is
 * held back (no summary line before this case's result). */
static void next_burst_prints_again(struct test *t)
{
	EXPECT_EQ(t, __atomic_load_n(&repeated.seen, __ATOMIC_RELAXED), 0);
	EXPECT_FALSE(t, __atomic_load_n(&repeated.listed, __ATOMIC_RELAXED));
	printk_limited(&repeated, "%s# log_limit: first line of a new burst\n", run_diag_indent());
	EXPECT_EQ(t, __atomic_load_n(&repeated.seen, __ATOMIC_RELAXED), 1);
}

#define BROKEN 10

/* A scratch space never loaded (no CPU walks it) with BROKEN leaves that
 * point past the end of RAM. */
static void audit_reports_bounded_per_rule(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);
	paddr_t hole = ALIGN_UP(memblock_end_of_ram(), PAGE_SIZE);
	struct audit_result r;

	SETUP_TRUE(t, mm != NULL && !pfn_valid(hole >> PAGE_SHIFT));
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, BROKEN * PAGE_SIZE, VM_READ, 0) == 0);
	for (u32 i = 0; i < BROKEN; i++) {
		pte_t *slot = mm_pte_alloc(mm, USER_BASE + i * PAGE_SIZE);
		SETUP_TRUE(t, slot && pte_none(*slot));
		set_pte(slot, pte_mkleaf(hole, anon_leaf_bits(VM_READ, false)));
	}
	test_diag(t, "log_limit: the audit must name rule %s %d times, print 3:",
		  audit_rule_names[AUDIT_NOT_RAM], BROKEN);
	EXPECT_EQ(t, mm_audit_rules("  # expected: ", &r), BROKEN);
	EXPECT_EQ(t, r.by_rule[AUDIT_NOT_RAM], BROKEN);
	for (u32 i = 0; i < BROKEN; i++)
		pte_clear(mm_pte_alloc(mm, USER_BASE + i * PAGE_SIZE));
	EXPECT_EQ(t, mm_audit("  # "), 0);
	mm_destroy(mm);
}

TEST_SUITE_FLAGS(log_limit, TEST_OPT_IN,
	TEST_CASE(repeated_line_summarised_before_result),
	TEST_CASE(next_burst_prints_again),
	TEST_CASE(audit_reports_bounded_per_rule));
