/*
 * The test harness runtime: selection, running, KTAP version 1 output.
 *
 * Selection (tests=, comma-separated): a pattern "S" selects every case of
 * the suites matching glob S; "S.C" selects the cases matching C in them.
 * Without tests=, every suite and case runs except opt-in ones. An opt-in
 * suite (TEST_OPT_IN on the suite) runs when a pattern's suite part is more
 * than wildcards ("harness*" selects it, "*" does not); an opt-in case runs
 * only when a pattern names it without wildcards ("harness_selftest.hang").
 */

#include <mmulab/test.h>
#include <mmulab/cmdline.h>
#include <mmulab/fault.h>
#include <mmulab/format.h>
#include <mmulab/glob.h>
#include <mmulab/kernel.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <mmulab/audit.h>
#include <mmulab/mm_struct.h>
#include <mmulab/string.h>
#include <mmulab/symbols.h>
#include <arch/trap.h>
#include <mmulab/timer.h>
#include <arch/cpu.h>

extern const struct test_suite __test_suites_start[], __test_suites_end[];

#define SUITE_INDENT "  "

struct totals {
	u32 pass, fail, skip, error;
};

static const char *filter;
static u64 boot_seed;

static bool only_wildcards(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '*')
			return false;
	return true;
}

static bool pattern_selects(const char *p, size_t len, const struct test_suite *s,
			    const struct test_case *c)
{
	size_t suite_len = 0;

	while (suite_len < len && p[suite_len] != '.')
		suite_len++;
	bool has_case = suite_len < len;
	const char *case_pat = p + suite_len + 1;
	size_t case_len = has_case ? len - suite_len - 1 : 0;

	if (!glob_match(p, suite_len, s->name))
		return false;
	if ((s->flags & TEST_OPT_IN) && only_wildcards(p, suite_len))
		return false;
	if (has_case && !glob_match(case_pat, case_len, c->name))
		return false;
	if ((c->flags & TEST_OPT_IN) && (!has_case || glob_has_wildcard(case_pat, case_len)))
		return false;
	return true;
}

static bool case_selected(const struct test_suite *s, const struct test_case *c)
{
	if (!filter)
		return !(s->flags & TEST_OPT_IN) && !(c->flags & TEST_OPT_IN);
	for (const char *p = filter; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len && pattern_selects(p, len, s, c))
			return true;
		p += len + (comma ? 1 : 0);
	}
	return false;
}

static u32 selected_cases(const struct test_suite *s)
{
	u32 n = 0;

	for (u32 i = 0; i < s->case_count; i++)
		n += case_selected(s, &s->cases[i]);
	return n;
}

static u32 selected_suites(void)
{
	u32 n = 0;

	for (const struct test_suite *s = __test_suites_start; s < __test_suites_end; s++)
		n += selected_cases(s) > 0;
	return n;
}

/* --- what a case calls --- */

void test_diag(struct test *t, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Lines from the CPUs a case races on say which CPU they come from. */
	if (this_cpu()->test == t)
		printk(SUITE_INDENT "# %s\n", line);
	else
		printk(SUITE_INDENT "# cpu%u: %s\n", this_cpu()->id, line);
}

bool test_check(struct test *t, bool ok, const char *file, int line, const char *expr)
{
	if (!ok) {
		t->failed = true;
		test_diag(t, "%s:%d: expected %s", file, line, expr);
	}
	return ok;
}

bool test_check_cmp(struct test *t, bool ok, const char *file, int line, const char *op,
		    const char *a_expr, const char *b_expr, u64 a, u64 b)
{
	if (!ok) {
		t->failed = true;
		test_diag(t, "%s:%d: expected %s %s %s, but", file, line, a_expr, op, b_expr);
		test_diag(t, "    %s == 0x%lx (%ld)", a_expr, a, (s64)a);
		test_diag(t, "    %s == 0x%lx (%ld)", b_expr, b, (s64)b);
	}
	return ok;
}

/* On another CPU (test_on_cpus) the way out is that CPU's own recovery
 * context: t->end lives on the case CPU's stack. */
void test_end(struct test *t)
{
	struct cpu *cpu = this_cpu();

	if (cpu->test != t) {
		struct recovery *r = cpu->recovery;
		ASSERT(r != NULL);
		cpu->recovery = r->prev;
		r->fault.vector = FAULT_ABORTED;
		klongjmp(&r->ctx, 1);
	}
	klongjmp(&t->end, 1);
}

void test_timeout(struct test *t)
{
	t->failed = true;
	t->timed_out = true;
	klongjmp(&t->end, 1);
}

void test_skip(struct test *t, const char *reason)
{
	t->skip_reason = reason;
	klongjmp(&t->end, 1);
}

void test_error(struct test *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->error[0]) {
		va_start(ap, fmt);
		vformat(t->error, sizeof(t->error), fmt, ap);
		va_end(ap);
	}
	test_end(t);
}

/* splitmix64: small, and every seed gives a full-period sequence. */
u64 test_random(struct test *t)
{
	u64 z = (t->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void test_fail_on_fault(struct test *t, const struct fault_info *fault, struct trap_frame *frame)
{
	t->failed = true;
	test_diag(t, "unexpected %s in %s.%s", fault->user ? "user-mode fault" : "kernel fault",
		  t->suite->name, t->tc->name);
	print_fault_report(fault, frame, SUITE_INDENT "# ");
	klongjmp(&t->end, 1);
}

struct remote_part {
	struct test *t;
	void (*fn)(struct test *t, void *arg);
	void *arg;
};

static void run_remote_part(void *p)
{
	struct remote_part *r = p;
	r->fn(r->t, r->arg);
}

static void remote_part(void *p)
{
	struct remote_part *r = p;
	struct fault_info f = run_catching_faults(run_remote_part, r);
	char sym[128];

	mm_switch(NULL); /* whatever the part had loaded */
	if (f.vector == FAULT_NONE || f.vector == FAULT_ABORTED)
		return;
	r->t->failed = true;
	symbolize(f.rip, sym, sizeof(sym));
	test_diag(r->t, "unexpected %s (vector %d, error 0x%x, address V0x%lx) at %s",
		  trap_name(f.vector), f.vector, f.error_code, f.addr, sym);
}

void test_on_cpus(struct test *t, const struct cpumask *mask,
		  void (*fn)(struct test *t, void *arg), void *arg)
{
	struct remote_part part = { t, fn, arg };
	bool self = cpumask_test(mask, this_cpu()->id);
	struct cpumask others = *mask;

	cpumask_clear_cpu(&others, this_cpu()->id);
	smp_call_mask(&others, remote_part, &part, false);
	if (self)
		fn(t, arg);
	for_each_cpu_in(cpu, &others)
		smp_call_wait(cpu);
}

int test_other_cpu(void)
{
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (cpu != this_cpu()->id)
			return (int)cpu;
	return -1;
}

/* --- running --- */

static void run_case(const struct test_suite *s, const struct test_case *c, u32 number,
		     struct totals *totals)
{
	struct cpu *cpu = this_cpu();
	struct test t = {
		.suite = s,
		.tc = c,
		.seed = cmdline.seed_given ? cmdline.seed : boot_seed,
		.iterations = cmdline.iterations ? cmdline.iterations : c->default_iterations,
	};

	t.rng = t.seed;
	if (c->flags & TEST_RANDOMIZED)
		test_diag(&t, "%s: seed=0x%lx iterations=%lu (replay: seed=0x%lx iterations=%lu)",
			  c->name, t.seed, t.iterations, t.seed, t.iterations);
	cpu->test = &t;
	watchdog_arm(cmdline.watchdog_seconds);
	if (ksetjmp(&t.end) == 0)
		c->run(&t);
	watchdog_disarm();
	cpu->test = NULL;
	cpu->recovery = NULL; /* an ASSERT may have left a probe's context */
	mm_switch(NULL);      /* and a failed case an address space */
	if ((s->flags & TEST_MM_AUDIT) && mm_audit(SUITE_INDENT "# ")) {
		test_diag(&t, "mm_audit found bad page maps after %s", c->name);
		t.failed = true;
	}

	if (t.timed_out) {
		printk(SUITE_INDENT "not ok %u %s # TIMEOUT after %lu s\n", number, c->name,
		       cmdline.watchdog_seconds);
		totals->fail++;
	} else if (t.error[0]) {
		printk(SUITE_INDENT "not ok %u %s # ERROR %s\n", number, c->name, t.error);
		totals->error++;
	} else if (t.skip_reason && !t.failed) {
		printk(SUITE_INDENT "ok %u %s # SKIP %s\n", number, c->name, t.skip_reason);
		totals->skip++;
	} else if (t.failed) {
		printk(SUITE_INDENT "not ok %u %s\n", number, c->name);
		totals->fail++;
	} else {
		printk(SUITE_INDENT "ok %u %s\n", number, c->name);
		totals->pass++;
	}
}

static void run_suite(const struct test_suite *s, u32 number, struct totals *totals)
{
	struct totals mine = { 0 };
	u32 n = 0;

	printk(SUITE_INDENT "KTAP version 1\n" SUITE_INDENT "# Subtest: %s\n" SUITE_INDENT "1..%u\n",
	       s->name, selected_cases(s));
	for (u32 i = 0; i < s->case_count && !watchdog_fired(); i++)
		if (case_selected(s, &s->cases[i]))
			run_case(s, &s->cases[i], ++n, &mine);

	if (mine.fail || mine.error)
		printk("not ok %u %s\n", number, s->name);
	else if (mine.pass == 0)
		printk("ok %u %s # SKIP all cases skipped\n", number, s->name);
	else
		printk("ok %u %s\n", number, s->name);
	totals->pass += mine.pass;
	totals->fail += mine.fail;
	totals->skip += mine.skip;
	totals->error += mine.error;
}

static void list_suites(void)
{
	for (const struct test_suite *s = __test_suites_start; s < __test_suites_end; s++)
		printk("#   %s (%u cases)%s\n", s->name, s->case_count,
		       s->flags & TEST_OPT_IN ? " opt-in" : "");
}

int run_tests(const char *tests)
{
	struct totals totals = { 0 };
	u32 n = 0, suites;

	filter = tests;
	boot_seed = rdtsc() * 0x2545f4914f6cdd1dULL;
	suites = selected_suites();
	if (suites == 0) {
		printk("# suites:\n");
		list_suites();
		printk("mmulab: error: tests=%s matched no suite or case\n", tests);
		return VERDICT_FAIL;
	}
	printk("KTAP version 1\n1..%u\n", suites);
	for (const struct test_suite *s = __test_suites_start; s < __test_suites_end; s++)
		if (selected_cases(s) && !watchdog_fired())
			run_suite(s, ++n, &totals);
	if (watchdog_fired())
		printk("# watchdog: run ended after a case timed out; other CPUs are stopped\n");
	printk("# totals: pass=%u fail=%u skip=%u error=%u\n", totals.pass, totals.fail, totals.skip,
	       totals.error);
	printk("mmulab: done pass=%u fail=%u\n", totals.pass, totals.fail);
	if (watchdog_fired())
		return VERDICT_PANIC;
	return totals.fail || totals.error ? VERDICT_FAIL : VERDICT_PASS;
}
