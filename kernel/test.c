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
#include <mmulab/fbcon.h>
#include <mmulab/fault.h>
#include <mmulab/format.h>
#include <mmulab/glob.h>
#include <mmulab/kernel.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <mmulab/audit.h>
#include <mmulab/mm_struct.h>
#include <mmulab/string.h>
#include <mmulab/symbols.h>
#include <arch/trap.h>
#include <mmulab/timer.h>
#include <arch/cpu.h>
#include <arch/tsc.h>

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

static void run_remote_part(void *p)
{
	struct test *t = p;
	t->part_fn(t, t->part_arg);
}

static void remote_part(void *p)
{
	struct test *t = p;
	struct fault_info f = run_catching_faults(run_remote_part, t);
	char sym[128];

	mm_switch(NULL); /* whatever the part had loaded */
	if (f.vector == FAULT_NONE || f.vector == FAULT_ABORTED)
		return;
	t->failed = true;
	symbolize(f.rip, sym, sizeof(sym));
	test_diag(t, "unexpected %s (vector %d, error 0x%x, address V0x%lx) at %s",
		  trap_name(f.vector), f.vector, f.error_code, f.addr, sym);
}

static void wait_for_parts(struct test *t)
{
	for_each_cpu_in(cpu, &t->part_cpus)
		smp_call_wait(cpu);
	t->part_cpus = (struct cpumask){ 0 };
}

void test_on_cpus(struct test *t, const struct cpumask *mask,
		  void (*fn)(struct test *t, void *arg), void *arg)
{
	bool self = cpumask_test(mask, this_cpu()->id);

	ASSERT(cpumask_weight(&t->part_cpus) == 0); /* no nesting */
	t->part_fn = fn;
	t->part_arg = arg;
	t->part_cpus = *mask;
	cpumask_clear_cpu(&t->part_cpus, this_cpu()->id);
	smp_call_mask(&t->part_cpus, remote_part, t, false);
	if (self)
		fn(t, arg);
	wait_for_parts(t);
}

int test_other_cpu(void)
{
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (cpu != this_cpu()->id)
			return (int)cpu;
	return -1;
}

struct cpumask test_some_cpus(u32 n)
{
	struct cpumask m = { 0 };
	u32 taken = 1;

	cpumask_set(&m, this_cpu()->id);
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (taken < n && cpu != this_cpu()->id) {
			cpumask_set(&m, cpu);
			taken++;
		}
	return m;
}

/* --- running --- */

enum result { RESULT_PASS, RESULT_FAIL, RESULT_TIMEOUT, RESULT_ERROR, RESULT_SKIP };

#define NAMED_MAX 32
#define NOT_RUN "not run: run aborted"

struct named_case {
	const struct test_suite *s;
	const struct test_case *c;
	bool error;
};

/*
 * Where the run stands, so that a panic on any CPU can still close the
 * KTAP it cut short (every plan met, every subtest closed) and print
 * totals that agree with the lines above them.
 */
static struct {
	bool ktap_started;
	u32 suite_number;		  /* of the open subtest; 0: none open */
	const struct test_suite *suite;   /* the open subtest */
	u32 next_case;			  /* index in suite->cases of the next case */
	u32 case_number;		  /* results printed in the open subtest */
	const struct test_case *running;  /* started, no result line yet */
	struct totals suite_totals, totals;
	u32 named;			  /* failed and error cases, by name below */
	struct named_case names[NAMED_MAX];
} run;

static void remember_name(const struct test_case *c, bool error)
{
	if (run.named < NAMED_MAX)
		run.names[run.named] = (struct named_case){ run.suite, c, error };
	run.named++;
}

static void print_result(const struct test_case *c, enum result r, const char *why)
{
	u32 n = ++run.case_number;

	printk_limited_flush(); /* the case's held-back lines, before its result */
	switch (r) {
	case RESULT_PASS:
		printk(SUITE_INDENT "ok %u %s\n", n, c->name);
		run.suite_totals.pass++;
		break;
	case RESULT_FAIL:
		printk(SUITE_INDENT "not ok %u %s\n", n, c->name);
		run.suite_totals.fail++;
		remember_name(c, false);
		break;
	case RESULT_TIMEOUT:
		printk(SUITE_INDENT "not ok %u %s # TIMEOUT %s\n", n, c->name, why);
		run.suite_totals.fail++;
		remember_name(c, false);
		break;
	case RESULT_ERROR:
		printk(SUITE_INDENT "not ok %u %s # ERROR %s\n", n, c->name, why);
		run.suite_totals.error++;
		remember_name(c, true);
		break;
	case RESULT_SKIP:
		printk(SUITE_INDENT "ok %u %s # SKIP %s\n", n, c->name, why);
		run.suite_totals.skip++;
		break;
	}
}

static void note_case_time(const struct test_suite *s, const struct test_case *c, u64 cycles);

static void run_case(const struct test_suite *s, const struct test_case *c)
{
	struct cpu *cpu = this_cpu();
	struct test t = {
		.suite = s,
		.tc = c,
		.seed = cmdline.seed_given ? cmdline.seed : boot_seed,
		.iterations = cmdline.iterations ? cmdline.iterations : c->default_iterations,
	};
	char timeout[32];
	u64 damaged_before = page_poison_damaged();

	t.rng = t.seed;
	if (c->flags & TEST_RANDOMIZED)
		test_diag(&t, "%s: seed=0x%lx iterations=%lu (replay: seed=0x%lx iterations=%lu)",
			  c->name, t.seed, t.iterations, t.seed, t.iterations);
	run.running = c;
	cpu->test = &t;
	u64 start = rdtsc();
	watchdog_arm(cmdline.watchdog_seconds);
	if (ksetjmp(&t.end) == 0)
		c->run(&t);
	if (!t.timed_out)
		wait_for_parts(&t); /* a case CPU that faulted left them running */
	watchdog_disarm();
	note_case_time(s, c, rdtsc() - start);
	cpu->test = NULL;
	cpu->recovery = NULL; /* an ASSERT may have left a probe's context */
	mm_switch(NULL);      /* and a failed case an address space */
	if ((s->flags & TEST_MM_AUDIT) && mm_audit(SUITE_INDENT "# ")) {
		test_diag(&t, "mm_audit found bad page maps after %s", c->name);
		t.failed = true;
	}
	/* A freed frame written through a stale entry is found when the
	 * frame is handed out again: whichever case is running then fails. */
	if (page_poison_damaged() != damaged_before) {
		test_diag(&t, "%lu freed frames were written after they were freed",
			  page_poison_damaged() - damaged_before);
		t.failed = true;
	}

	run.running = NULL;
	if (t.timed_out) {
		format(timeout, sizeof(timeout), "after %lu s", cmdline.watchdog_seconds);
		print_result(c, RESULT_TIMEOUT, timeout);
	} else if (t.error[0]) {
		print_result(c, RESULT_ERROR, t.error);
	} else if (t.skip_reason && !t.failed) {
		print_result(c, RESULT_SKIP, t.skip_reason);
	} else {
		print_result(c, t.failed ? RESULT_FAIL : RESULT_PASS, NULL);
	}
}

static void open_suite(const struct test_suite *s, u32 number)
{
	run.suite = s;
	run.suite_number = number;
	run.next_case = 0;
	run.case_number = 0;
	run.suite_totals = (struct totals){ 0 };
	printk(SUITE_INDENT "KTAP version 1\n" SUITE_INDENT "# Subtest: %s\n" SUITE_INDENT "1..%u\n",
	       s->name, selected_cases(s));
}

/* Cases from next_case on that were selected but will not run. */
static void skip_rest_of_suite(const char *why)
{
	const struct test_suite *s = run.suite;

	for (; run.next_case < s->case_count; run.next_case++)
		if (case_selected(s, &s->cases[run.next_case]))
			print_result(&s->cases[run.next_case], RESULT_SKIP, why);
}

/* A suite with no case passed and none failed is skipped as a whole: why
 * says whether its cases skipped themselves or never ran. */
static void close_suite(const char *why)
{
	const struct totals *mine = &run.suite_totals;
	const char *name = run.suite->name;
	u32 number = run.suite_number;

	if (mine->fail || mine->error)
		printk("not ok %u %s\n", number, name);
	else if (mine->pass)
		printk("ok %u %s\n", number, name);
	else
		printk("ok %u %s # SKIP %s\n", number, name, why);
	run.totals.pass += mine->pass;
	run.totals.fail += mine->fail;
	run.totals.skip += mine->skip;
	run.totals.error += mine->error;
	run.suite = NULL;
}

static bool run_aborted(void)
{
	return watchdog_fired();
}

static void run_suite(const struct test_suite *s, u32 number)
{
	open_suite(s, number);
	for (; run.next_case < s->case_count && !run_aborted(); run.next_case++)
		if (case_selected(s, &s->cases[run.next_case]))
			run_case(s, &s->cases[run.next_case]);
	skip_rest_of_suite(NOT_RUN);
	close_suite("all cases skipped");
}

/* Every suite after the open one (or after the last closed one) gets its
 * subtest with each selected case skipped: the plans stay met. */
static void skip_remaining_suites(void)
{
	u32 n = 0;

	for (const struct test_suite *s = __test_suites_start; s < __test_suites_end; s++) {
		if (!selected_cases(s) || ++n <= run.suite_number)
			continue;
		open_suite(s, n);
		skip_rest_of_suite(NOT_RUN);
		close_suite(NOT_RUN);
	}
}

static const char *verdict_name(enum run_verdict v)
{
	return v == VERDICT_PASS ? "pass" : v == VERDICT_FAIL ? "fail" : "panic";
}

/* The slowest cases of the run, slowest first: where the time of a run
 * to its verdict goes (TSC cycles; under TCG host emulation time). */
#define SLOWEST_MAX 5
static struct {
	const struct test_suite *s;
	const struct test_case *c;
	u64 cycles;
} slowest[SLOWEST_MAX];

static void note_case_time(const struct test_suite *s, const struct test_case *c, u64 cycles)
{
	int i = SLOWEST_MAX - 1;

	if (cycles <= slowest[i].cycles)
		return;
	for (; i > 0 && slowest[i - 1].cycles < cycles; i--)
		slowest[i] = slowest[i - 1];
	slowest[i].s = s;
	slowest[i].c = c;
	slowest[i].cycles = cycles;
}

static void print_slowest(void)
{
	u64 khz = tsc_khz();

	for (int i = 0; i < SLOWEST_MAX && slowest[i].c && khz; i++)
		printk("# slowest: %s.%s %lu ms\n", slowest[i].s->name, slowest[i].c->name,
		       slowest[i].cycles / khz);
}

/* The end of the run on the screen, drawn before the closing line: a
 * runner that sees that line on serial finds the summary up and, with
 * screen_hold_ms, time to take its screendump (run-qemu.sh --screendump). */
static void show_summary_on_screen(enum run_verdict verdict)
{
	static char names[NAMED_MAX][96];
	static const char *name_list[NAMED_MAX];
	const struct totals *t = &run.totals;
	u32 listed = MIN(run.named, (u32)NAMED_MAX);
	char headline[24], counts[80];

	if (!fbcon_active())
		return;
	for (u32 i = 0; i < listed; i++) {
		format(names[i], sizeof(names[i]), "%s %s.%s",
		       run.names[i].error ? "ERROR" : "FAILED", run.names[i].s->name,
		       run.names[i].c->name);
		name_list[i] = names[i];
	}
	format(headline, sizeof(headline), "verdict: %s",
	       verdict == VERDICT_PASS ? "PASS" : verdict == VERDICT_FAIL ? "FAIL" : "PANIC");
	format(counts, sizeof(counts), "pass %u  fail %u  skip %u  error %u", t->pass, t->fail,
	       t->skip, t->error);
	fbcon_show_summary(&(struct fbcon_summary){
		.passed = verdict == VERDICT_PASS,
		.headline = headline,
		.counts = counts,
		.names = name_list,
		.name_count = listed,
		.named_total = run.named,
	});
}

/* The hold does not depend on the screen console being on, so a
 * screendump also shows a screen the kernel did not draw. Before the TSC
 * is calibrated (an early panic) there is no clock to hold by: the exit
 * comes at once. */
static void hold_summary_on_screen(void)
{
	if (cmdline.screen_hold_ms && tsc_khz())
		udelay(cmdline.screen_hold_ms * 1000);
}

void run_end(enum run_verdict verdict)
{
	const struct totals *t = &run.totals;

	for (u32 i = 0; i < run.named && i < NAMED_MAX; i++)
		printk("# %s: %s.%s\n", run.names[i].error ? "error" : "failed", run.names[i].s->name,
		       run.names[i].c->name);
	if (run.named > NAMED_MAX)
		printk("# ... and %u more failed or error cases\n", run.named - NAMED_MAX);
	print_slowest();
	printk("# totals: pass=%u fail=%u skip=%u error=%u\n", t->pass, t->fail, t->skip, t->error);
	show_summary_on_screen(verdict);
	printk("mmulab: done pass=%u fail=%u skip=%u error=%u verdict=%s\n", t->pass, t->fail,
	       t->skip, t->error, verdict_name(verdict));
	hold_summary_on_screen();
	machine_exit(verdict);
}

const char *run_diag_indent(void)
{
	return run.suite ? SUITE_INDENT : "";
}

void run_end_after_panic(const char *reason)
{
	char why[160];

	if (run.ktap_started) {
		if (run.suite) {
			if (run.running) {
				format(why, sizeof(why), "panic: %s", reason);
				print_result(run.running, RESULT_ERROR, why);
				run.running = NULL;
				run.next_case++;
			}
			skip_rest_of_suite(NOT_RUN);
			close_suite("all cases skipped");
		}
		skip_remaining_suites();
	}
	run_end(VERDICT_PANIC);
}

static void list_suites(void)
{
	for (const struct test_suite *s = __test_suites_start; s < __test_suites_end; s++)
		printk("#   %s (%u cases)%s\n", s->name, s->case_count,
		       s->flags & TEST_OPT_IN ? " opt-in" : "");
}

void run_tests(const char *tests)
{
	u32 n = 0, suites;

	filter = tests;
	boot_seed = rdtsc() * 0x2545f4914f6cdd1dULL;
	suites = selected_suites();
	if (suites == 0) {
		printk("# suites:\n");
		list_suites();
		printk("mmulab: error: tests=%s matched no suite or case\n", tests);
		printk("mmulab: suites are the TEST_SUITE()s of tests/kernel/*.c (every file there is built; copy tests/kernel/skeleton.c): the list above is this build's\n");
		run_end(VERDICT_FAIL);
	}
	printk("KTAP version 1\n1..%u\n", suites);
	run.ktap_started = true;
	for (const struct test_suite *s = __test_suites_start; s < __test_suites_end; s++) {
		if (!selected_cases(s))
			continue;
		if (run_aborted())
			break;
		run_suite(s, ++n);
	}
	if (run_aborted()) {
		skip_remaining_suites();
		printk("# watchdog: run ended after a case timed out; other CPUs are stopped\n");
		run_end(VERDICT_PANIC);
	}
	run_end(run.totals.fail || run.totals.error ? VERDICT_FAIL : VERDICT_PASS);
}
