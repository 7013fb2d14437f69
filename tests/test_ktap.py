"""Unit tests of the KTAP reader (tolerant and strict) and the matrix judge.

Run by `make check` (python3 -m unittest). The logs are written by hand in
the shapes the kernel prints: a clean run, a panic inside a case, a
watchdog stop, an ERROR case, and broken ones the strict reading must name.
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402
import matrix  # noqa: E402

CLEAN = """\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r
mmulab: kernel entered\r
KTAP version 1
1..2
  KTAP version 1
  # Subtest: paging
  1..3
  ok 1 nx_exec
  # tests/kernel/paging.c:12: expected a == b
  not ok 2 write_ro
  ok 3 smap # SKIP CPU lacks SMAP
not ok 1 paging
  KTAP version 1
  # Subtest: boot_info
  1..1
  # bench: fault_null=412 cycles
  ok 1 memmap_sorted
ok 2 boot_info
# failed: paging.write_ro
# totals: pass=2 fail=1 skip=1 error=0
mmulab: done pass=2 fail=1 skip=1 error=0 verdict=fail
"""

# A panic in the second case of the first of two suites: the kernel closes
# everything it had planned.
PANICKED = """KTAP version 1
1..2
  KTAP version 1
  # Subtest: page_alloc
  1..3
  ok 1 counts
  # mmulab: PANIC: cpu0: free_pages: double free of P0x1000
  # Call Trace:
  #   [V0xffffffff8000c061] free_pages+0xd1/0x100
  not ok 2 double_free # ERROR panic: cpu0: free_pages: double free of P0x1000
  ok 3 buddies # SKIP not run: run aborted
not ok 1 page_alloc
  KTAP version 1
  # Subtest: tlb
  1..2
  ok 1 flush # SKIP not run: run aborted
  ok 2 remote # SKIP not run: run aborted
ok 2 tlb # SKIP not run: run aborted
# error: page_alloc.double_free
# totals: pass=1 fail=0 skip=3 error=1
mmulab: done pass=1 fail=0 skip=3 error=1 verdict=panic
"""

# What the kernel printed before it closed KTAP after a panic: cut off.
PANIC_CUT = """KTAP version 1
1..2
  KTAP version 1
  # Subtest: page_alloc
  1..2
  ok 1 counts
mmulab: PANIC: cpu0: free_pages: double free of P0x1000
# Call Trace:
mmulab: PANIC: run aborted
"""

WATCHDOG = """KTAP version 1
1..2
  KTAP version 1
  # Subtest: harness_selftest
  1..2
  # watchdog: the case has run longer than its limit; state of every CPU:
  # watchdog: cpu0 (APIC 0) at V0xffffffff8000e832 hang+0x2/0x10
  not ok 1 hang # TIMEOUT after 3 s
  ok 2 expect_fails # SKIP not run: run aborted
not ok 1 harness_selftest
  KTAP version 1
  # Subtest: tlb
  1..1
  ok 1 flush # SKIP not run: run aborted
ok 2 tlb # SKIP not run: run aborted
# watchdog: run ended after a case timed out; other CPUs are stopped
# failed: harness_selftest.hang
# totals: pass=0 fail=1 skip=2 error=0
mmulab: done pass=0 fail=1 skip=2 error=0 verdict=panic
"""

ERROR_CASE = """KTAP version 1
1..1
  KTAP version 1
  # Subtest: numa_race
  1..2
  not ok 1 migrate # ERROR set-up failed at tests/kernel/numa_race.c:40: page
  ok 2 scan
not ok 1 numa_race
# error: numa_race.migrate
# totals: pass=1 fail=0 skip=0 error=1
mmulab: done pass=1 fail=0 skip=0 error=1 verdict=fail
"""

# The second suite never gets its result line: kunit.py's "missing
# subtest result line".
UNCLOSED = """KTAP version 1
1..2
  KTAP version 1
  # Subtest: a
  1..1
  ok 1 x
  KTAP version 1
  # Subtest: b
  1..1
  ok 1 y
ok 2 b
# totals: pass=2 fail=0 skip=0 error=0
mmulab: done pass=2 fail=0 skip=0 error=0 verdict=pass
"""

BAD_OPTION = """mmulab: cmdline: "bogus=1"
mmulab: error: cmdline: unknown option 'bogus' (known: tests seed)
# totals: pass=0 fail=0 skip=0 error=0
mmulab: done pass=0 fail=0 skip=0 error=0 verdict=fail
"""


class Parse(unittest.TestCase):
    def test_clean_run(self):
        r = ktap.parse(CLEAN)
        self.assertEqual([(c.name, c.status) for c in r.cases],
                         [("paging.nx_exec", "pass"), ("paging.write_ro", "fail"),
                          ("paging.smap", "skip"), ("boot_info.memmap_sorted", "pass")])
        self.assertEqual(r.cases[1].diagnostics, ["# tests/kernel/paging.c:12: expected a == b"])
        self.assertEqual(r.cases[2].reason, "CPU lacks SMAP")
        self.assertEqual(r.done, {"pass": 2, "fail": 1, "skip": 1, "error": 0, "verdict": "fail"})
        self.assertEqual(r.bench, {"fault_null": "412 cycles"})
        self.assertEqual(r.problems, [])
        self.assertEqual(r.strict, [])
        self.assertIsNone(r.panic)

    def test_panic_mid_case_is_strict(self):
        r = ktap.parse(PANICKED)
        self.assertEqual(r.strict, [])
        self.assertEqual(r.panic, "cpu0: free_pages: double free of P0x1000")
        self.assertEqual([c.status for c in r.cases], ["pass", "error", "skip", "skip", "skip"])
        crashed = r.cases[1]
        self.assertEqual(crashed.reason, "panic: cpu0: free_pages: double free of P0x1000")
        self.assertIn("# Call Trace:", crashed.diagnostics)
        self.assertEqual(r.verdict, "panic")

    def test_panic_cut_short_is_reported(self):
        r = ktap.parse(PANIC_CUT)
        self.assertEqual(r.panic, "cpu0: free_pages: double free of P0x1000")
        self.assertEqual([c.status for c in r.cases], ["pass", "crashed"])
        self.assertIsNone(r.done)
        self.assertTrue(any("1 of 2 results" in p for p in r.problems))
        self.assertTrue(any("missing subtest result line" in p for p in r.strict), r.strict)
        self.assertTrue(any("no closing line" in p for p in r.strict), r.strict)

    def test_watchdog_stop_is_strict(self):
        r = ktap.parse(WATCHDOG)
        self.assertEqual(r.strict, [])
        self.assertEqual([c.status for c in r.cases], ["timeout", "skip", "skip"])
        self.assertEqual(r.counts(), {"pass": 0, "fail": 1, "skip": 2, "error": 0})

    def test_error_case_counted_apart(self):
        r = ktap.parse(ERROR_CASE)
        self.assertEqual(r.strict, [])
        self.assertEqual(r.cases[0].status, "error")
        self.assertEqual(r.counts(), {"pass": 1, "fail": 0, "skip": 0, "error": 1})

    def test_unclosed_subtest_is_reported(self):
        r = ktap.parse(UNCLOSED)
        self.assertIn("subtest 'a': missing subtest result line", r.strict)

    def test_unclosed_last_subtest_is_reported(self):
        r = ktap.parse(CLEAN.replace("ok 2 boot_info\n", ""))
        self.assertIn("subtest 'boot_info': missing subtest result line "
                      "(the log ends inside it)", r.strict)

    def test_counts_must_equal_the_closing_line(self):
        r = ktap.parse(CLEAN.replace("mmulab: done pass=2", "mmulab: done pass=3"))
        self.assertTrue(any(p.startswith("closing line says") for p in r.strict), r.strict)
        r = ktap.parse(CLEAN.replace("# totals: pass=2 fail=1 skip=1",
                                     "# totals: pass=2 fail=1 skip=0"))
        self.assertTrue(any(p.startswith("'# totals:' says") for p in r.strict), r.strict)

    def test_plan_not_met_is_strict(self):
        r = ktap.parse(CLEAN.replace("  1..3\n", "  1..4\n"))
        self.assertIn("paging: 3 of 4 results", r.strict)

    def test_suite_status_must_follow_its_cases(self):
        r = ktap.parse(CLEAN.replace("not ok 1 paging", "ok 1 paging"))
        self.assertTrue(any("has failed or error cases" in p for p in r.strict), r.strict)

    def test_suite_result_must_carry_its_name(self):
        r = ktap.parse(CLEAN.replace("ok 2 boot_info", "ok 2 bootinfo"))
        self.assertIn("subtest 'boot_info' closed by a result named 'bootinfo'", r.strict)

    def test_verdict_must_agree(self):
        r = ktap.parse(CLEAN.replace("verdict=fail", "verdict=pass"))
        self.assertTrue(any("verdict=pass" in p for p in r.strict), r.strict)
        r = ktap.parse(PANICKED.replace("verdict=panic", "verdict=fail"))
        self.assertTrue(any("verdict=fail but a panic" in p for p in r.strict), r.strict)

    def test_rejected_command_line_has_no_ktap(self):
        r = ktap.parse(BAD_OPTION)
        self.assertEqual(r.strict, [])
        self.assertEqual(r.cases, [])
        self.assertEqual(r.verdict, "fail")

    def test_xfail_and_timeout(self):
        r = ktap.parse("KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: s\n  1..2\n"
                       "  ok 1 a # XFAIL known\n  not ok 2 b # TIMEOUT after 3 s\nnot ok 1 s\n")
        self.assertEqual([c.status for c in r.cases], ["xfail", "timeout"])

    def test_noise_only(self):
        r = ktap.parse("garbage\r\nmore \x1b[1mnoise\n")
        self.assertFalse(r.saw_ktap)
        self.assertEqual(r.cases, [])
        self.assertIn("no closing line 'mmulab: done ... verdict=...'", r.strict)


class Judge(unittest.TestCase):
    def outcome(self, text, expect, exit_status):
        cfg = matrix.Config("c", expect, "", 1)
        o = matrix.Outcome(cfg)
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(text)
        o.log, o.exit, o.run = f.name, exit_status, ktap.parse(text)
        matrix.judge(o)
        os.unlink(f.name)
        return o

    def test_pass_config_counts_cases(self):
        o = self.outcome(CLEAN, "pass", 1)
        self.assertEqual((o.passed, o.failed, o.skipped, o.errors), (2, 1, 1, 0))

    def test_pass_config_with_wrong_exit_fails_once_more(self):
        o = self.outcome(CLEAN, "pass", 0)
        self.assertEqual(o.failed, 2)

    def test_error_is_not_a_failure(self):
        o = self.outcome(ERROR_CASE, "pass", 1)
        self.assertEqual((o.passed, o.failed, o.errors), (1, 0, 1))
        self.assertFalse(o.ok)
        self.assertFalse(self.outcome(ERROR_CASE, "fail:numa_race.migrate", 1).ok)

    def test_expected_failure_exact_set(self):
        self.assertTrue(self.outcome(CLEAN, "fail:paging.write_ro", 1).ok)
        self.assertFalse(self.outcome(CLEAN, "fail:paging.nx_exec", 1).ok)
        self.assertFalse(self.outcome(CLEAN, "fail:paging.write_ro,paging.nx_exec", 1).ok)
        self.assertFalse(self.outcome(CLEAN, "fail:paging.write_ro", 2).ok)

    def test_bare_fail_is_refused(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("bug | fail | --nodes 1\n")
        try:
            with self.assertRaises(SystemExit) as e:
                matrix.load_matrix(f.name)
            self.assertIn("must name its cases", str(e.exception))
        finally:
            os.unlink(f.name)

    def test_a_panic_or_timeout_is_not_the_expected_failure(self):
        self.assertFalse(self.outcome(PANICKED, "fail:page_alloc.double_free", 2).ok)
        self.assertFalse(self.outcome(WATCHDOG, "fail:harness_selftest.hang", 2).ok)
        self.assertTrue(self.outcome(PANICKED, "panic:double free", 2).ok)
        self.assertFalse(self.outcome(PANICKED, "panic:stack overflow", 2).ok)
        self.assertTrue(self.outcome(WATCHDOG, "panic:hang # TIMEOUT", 2).ok)

    def test_a_panic_config_needs_strict_ktap(self):
        self.assertFalse(self.outcome(PANIC_CUT, "panic:double free", 2).ok)

    def test_exit_config(self):
        self.assertTrue(self.outcome(BAD_OPTION, "exit:1:unknown option 'bogus'", 1).ok)
        self.assertFalse(self.outcome(BAD_OPTION, "exit:1:unknown option 'other'", 1).ok)
        self.assertFalse(self.outcome(BAD_OPTION, "exit:2", 2).ok)

    def test_junit_keeps_errors_apart(self):
        o = self.outcome(ERROR_CASE, "pass", 1)
        o.cfg.name = "c"
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "junit.xml")
            matrix.write_junit([o], path)
            with open(path) as f:
                xml = f.read()
        self.assertIn('<error message="set-up failed', xml)
        self.assertNotIn('<failure message="error"', xml)


if __name__ == "__main__":
    unittest.main()
