/*
 * harness_selftest: proof that the harness reports failure. Opt-in: the
 * matrix runs it with tests=harness_selftest* and expects exactly
 * unexpected_fault and expect_fails to fail, and the cases after them to
 * pass, which shows a failed case does not poison the next one.
 */

#include <mmulab/layout.h>
#include <mmulab/memory.h>
#include <mmulab/percpu.h>
#include <mmulab/test.h>
#include <arch/cpu.h>
#include "probe.h"

#define UNMAPPED_VA (TEST_AREA_BASE + 0x6f000000ULL)

/* Must fail: a read of an unmapped address that nobody expects. */
static void unexpected_fault(struct test *t)
{
	EXPECT_EQ(t, *(volatile u64 *)UNMAPPED_VA, 0);
	test_diag(t, "not reached: the read above faults");
}

/* Must fail: 1 + 1 is not 3. */
static void expect_fails(struct test *t)
{
	volatile int two = 1 + 1;
	EXPECT_EQ(t, two, 3);
}

/* After the failures above, this CPU's state is as a fresh case expects:
 * no stale recovery context, interrupts on (cases run with them on, for
 * the timer and cross-CPU calls), SMAP's AC clear. */
static void state_clean_after_failures(struct test *t)
{
	EXPECT_TRUE(t, this_cpu()->recovery == NULL);
	EXPECT_TRUE(t, this_cpu()->test == t);
	EXPECT_EQ(t, read_rflags() & X86_RFLAGS_AC, 0);
	EXPECT_EQ(t, read_rflags() & X86_RFLAGS_IF, X86_RFLAGS_IF);
}

/* An expected fault is still caught and reported by value. */
static void probe_after_failures(struct test *t)
{
	struct fault_info f = probe_read(UNMAPPED_VA, NULL);
	EXPECT_EQ(t, f.vector, 14);
	EXPECT_EQ(t, f.addr, UNMAPPED_VA);
}

/*
 * Opt-in by name only, because it ends the run: recursion runs the stack
 * into its guard page, the #PF cannot be delivered on that stack, and the
 * #DF arrives on its IST stack, which reports it and panics. The matrix
 * expects exactly that (a panic exit naming #DF), never a reboot loop.
 */
static u64 recurse(volatile u64 depth)
{
	volatile u8 frame[512];

	frame[0] = (u8)depth;
	if (depth > (1ULL << 40)) /* never true: the guard page comes first */
		return frame[0];
	return recurse(depth + 1) + frame[0];
}

static void stack_overflow(struct test *t)
{
	EXPECT_EQ(t, recurse(0), 0);
	test_diag(t, "not reached: the stack overflowed");
}

/* Opt-in by name: spins until the watchdog stops it (run with a short
 * watchdog=); the matrix expects a TIMEOUT and every CPU's RIP. */
static void hang(struct test *t)
{
	(void)t;
	for (;;)
		cpu_relax();
}

/*
 * Opt-in by name, because they end the run: the lock-order checker must
 * panic naming both locks, before any CPU could deadlock. The first takes
 * an address space's mmap_lock while holding one of its PTE-table locks
 * (the order is the other way round); the second takes two PTE-table
 * locks at once, which no path here needs.
 */
#define LOCK_VA 0x40000000ULL

static struct mm *space_with_two_tables(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	mm_pte_alloc(mm, LOCK_VA);
	mm_pte_alloc(mm, LOCK_VA + PMD_SIZE);
	return mm;
}

static void lock_order_inversion(struct test *t)
{
	struct mm *mm = space_with_two_tables(t);
	struct spinlock *ptl;

	mmap_read_lock(mm);
	pte_t *pte = mm_pte_lookup_lock(mm, LOCK_VA, &ptl);
	mmap_read_unlock(mm); /* out of order is fine: the PTE lock stays held */
	EXPECT_TRUE(t, pte != NULL);
	mmap_read_lock(mm);
	test_diag(t, "not reached: mmap_lock after a PTE-table lock panics");
}

static void lock_same_class_twice(struct test *t)
{
	struct mm *mm = space_with_two_tables(t);
	struct spinlock *a, *b;

	mmap_read_lock(mm);
	EXPECT_TRUE(t, mm_pte_lookup_lock(mm, LOCK_VA, &a) != NULL);
	EXPECT_TRUE(t, mm_pte_lookup_lock(mm, LOCK_VA + PMD_SIZE, &b) != NULL);
	test_diag(t, "not reached: a second PTE-table lock panics");
}

TEST_SUITE_FLAGS(harness_selftest, TEST_OPT_IN,
	TEST_CASE(unexpected_fault),
	TEST_CASE(expect_fails),
	TEST_CASE(state_clean_after_failures),
	TEST_CASE(probe_after_failures),
	TEST_CASE_FLAGS(stack_overflow, TEST_OPT_IN),
	TEST_CASE_FLAGS(hang, TEST_OPT_IN),
	TEST_CASE_FLAGS(lock_order_inversion, TEST_OPT_IN),
	TEST_CASE_FLAGS(lock_same_class_twice, TEST_OPT_IN));
