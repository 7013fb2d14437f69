#ifndef MMULAB_TEST_H
#define MMULAB_TEST_H

/*
 * The in-kernel test harness. A suite is a list of cases registered in the
 * .test_suites linker section; the command line's tests= selects suites
 * and cases by glob; results are KTAP version 1 on the console.
 *
 * A case gets a struct test. EXPECT_* record a failure and go on; ASSERT_*
 * record it and end the case. A fault nobody expected ends the case as
 * failed, with the fault decoded, and the run goes on with the next case.
 */

#include <mmulab/types.h>
#include <mmulab/jump.h>
#include <mmulab/cpumask.h>
#include <mmulab/kernel.h>

struct test;

enum test_flags {
	TEST_RANDOMIZED = 1 << 0, /* prints and takes seed= and iterations= */
	TEST_OPT_IN = 1 << 1,     /* not in the default run; see test.c */
	TEST_MM_AUDIT = 1 << 2,   /* suite: mm_audit() after every case */
};

struct test_case {
	const char *name;
	void (*run)(struct test *t);
	u32 flags;
	u32 default_iterations;
};

struct test_suite {
	const char *name;
	const struct test_case *cases;
	u32 case_count;
	u32 flags;
};

struct test {
	const struct test_suite *suite;
	const struct test_case *tc;
	bool failed;
	bool timed_out; /* stopped by the watchdog */
	const char *skip_reason;
	char error[120]; /* set-up failed before the mechanism was checked */
	u64 seed;
	u64 iterations;
	u64 rng;
	struct jump_buf end; /* where ASSERT_* and unexpected faults go */
	/* test_on_cpus: what the other CPUs run, and which of them may still
	 * be running it. Kept here, not on test_on_cpus's stack, because a
	 * fault or ASSERT on the case CPU leaves that frame at once; the case
	 * waits for these CPUs before it ends. */
	void (*part_fn)(struct test *t, void *arg);
	void *part_arg;
	struct cpumask part_cpus;
};

#define TEST_CASE(fn) { #fn, fn, 0, 0 }
#define TEST_CASE_FLAGS(fn, flags) { #fn, fn, flags, 0 }
#define TEST_CASE_RANDOM(fn, iters) { #fn, fn, TEST_RANDOMIZED, iters }

#define TEST_SUITE_FLAGS(sname, sflags, ...)                                     \
	static const struct test_case sname##_cases[] = { __VA_ARGS__ };         \
	static const struct test_suite sname##_suite __section(".test_suites")   \
		__used __aligned(8) = { #sname, sname##_cases,                    \
					ARRAY_SIZE(sname##_cases), sflags }
#define TEST_SUITE(sname, ...) TEST_SUITE_FLAGS(sname, 0, __VA_ARGS__)

bool test_check(struct test *t, bool ok, const char *file, int line, const char *expr);
bool test_check_cmp(struct test *t, bool ok, const char *file, int line, const char *op,
		    const char *a_expr, const char *b_expr, u64 a, u64 b);
void __noreturn test_end(struct test *t);
void __noreturn test_skip(struct test *t, const char *reason);
/*
 * The case could not check what it is for (an allocation or a set-up step
 * failed): it ends as "not ok N name # ERROR reason", counted apart from
 * failures, so a broken set-up never reads as a caught bug.
 */
void __noreturn test_error(struct test *t, const char *fmt, ...) __printf(2, 3);
/* The watchdog's way out of a case that ran too long. */
void __noreturn test_timeout(struct test *t);
void test_diag(struct test *t, const char *fmt, ...) __printf(2, 3);
u64 test_random(struct test *t);

#define EXPECT_TRUE(t, c) test_check(t, !!(c), __FILE__, __LINE__, #c)
#define EXPECT_FALSE(t, c) test_check(t, !(c), __FILE__, __LINE__, "!(" #c ")")
#define EXPECT_CMP(t, a, op, b)                                                  \
	({                                                                       \
		u64 _a = (u64)(a), _b = (u64)(b);                                \
		test_check_cmp(t, _a op _b, __FILE__, __LINE__, #op, #a, #b, _a, _b); \
	})
#define EXPECT_EQ(t, a, b) EXPECT_CMP(t, a, ==, b)
#define EXPECT_NE(t, a, b) EXPECT_CMP(t, a, !=, b)
#define EXPECT_LE(t, a, b) EXPECT_CMP(t, a, <=, b)
#define EXPECT_LT(t, a, b) EXPECT_CMP(t, a, <, b)
#define EXPECT_GE(t, a, b) EXPECT_CMP(t, a, >=, b)
#define EXPECT_GT(t, a, b) EXPECT_CMP(t, a, >, b)

#define ASSERT_TRUE(t, c) do { if (!EXPECT_TRUE(t, c)) test_end(t); } while (0)
#define ASSERT_EQ(t, a, b) do { if (!EXPECT_EQ(t, a, b)) test_end(t); } while (0)
#define ASSERT_NE(t, a, b) do { if (!EXPECT_NE(t, a, b)) test_end(t); } while (0)
/* A set-up step that must hold before the case can check anything. */
#define SETUP_TRUE(t, c)                                                         \
	do {                                                                     \
		if (!(c))                                                        \
			test_error(t, "set-up failed at %s:%d: %s", __FILE__, __LINE__, #c); \
	} while (0)

/*
 * Runs fn(t, arg) on every CPU in mask at once (the caller's own CPU too if
 * it is in the mask) and returns when all are done. A fault or an ASSERT
 * on another CPU fails the case there and ends that CPU's part only. Use
 * smp_barrier to line the CPUs up inside fn.
 */
struct cpumask;
void test_on_cpus(struct test *t, const struct cpumask *mask,
		  void (*fn)(struct test *t, void *arg), void *arg);
/* One online CPU other than the caller's, or -1 when there is none. */
int test_other_cpu(void);
/*
 * The caller's CPU and up to n - 1 other online CPUs, for races that need
 * a few CPUs rather than all: under TCG every vCPU beyond the host's cores
 * only adds waits for the host scheduler at each barrier.
 */
struct cpumask test_some_cpus(u32 n);

/* Runs the suites the command line selects, then run_end with the verdict. */
void __noreturn run_tests(const char *filter);
/*
 * The closing lines of every run, then machine_exit(verdict): the failed
 * and error cases by name, "# totals: ..." and the line tools read,
 * "mmulab: done pass=N fail=N skip=N error=N verdict=pass|fail|panic".
 */
void __noreturn run_end(enum run_verdict verdict);
/*
 * After a panic (the other CPUs stopped): the case that was running ends
 * as "not ok N name # ERROR panic: reason", every case and suite still
 * planned as "ok N name # SKIP not run: run aborted", then run_end(panic).
 */
void __noreturn run_end_after_panic(const char *reason);
/* The indentation of diagnostic lines at this point of the KTAP. */
const char *run_diag_indent(void);

/* Called from fault_recover for a fault inside a case; does not return. */
struct fault_info;
struct trap_frame;
void __noreturn test_fail_on_fault(struct test *t, const struct fault_info *fault,
				   struct trap_frame *frame);

#endif
