"""Unit tests of the KTAP reader and the matrix judge (python3 -m unittest)."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402
import matrix  # noqa: E402

GOOD = """\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r
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
ok 1 paging
  KTAP version 1
  # Subtest: boot_info
  1..1
  # bench: fault_null=412 cycles
  ok 1 memmap_sorted
ok 2 boot_info
# totals: pass=2 fail=1 skip=1
mmulab: done pass=2 fail=1
"""

PANICKED = """KTAP version 1
1..2
  KTAP version 1
  # Subtest: page_alloc
  1..2
  ok 1 counts
mmulab: PANIC: cpu0: free_pages: double free of P0x1000
# Call Trace:
mmulab: PANIC: run aborted
"""


class Parse(unittest.TestCase):
    def test_nested_results_and_directives(self):
        r = ktap.parse(GOOD)
        self.assertEqual([(c.name, c.status) for c in r.cases],
                         [("paging.nx_exec", "pass"), ("paging.write_ro", "fail"),
                          ("paging.smap", "skip"), ("boot_info.memmap_sorted", "pass")])
        self.assertEqual(r.cases[1].diagnostics, ["# tests/kernel/paging.c:12: expected a == b"])
        self.assertEqual(r.cases[2].reason, "CPU lacks SMAP")
        self.assertEqual(r.done, (2, 1))
        self.assertEqual(r.bench, {"fault_null": "412 cycles"})
        self.assertEqual(r.problems, [])
        self.assertIsNone(r.panic)

    def test_truncated_by_panic(self):
        r = ktap.parse(PANICKED)
        self.assertEqual(r.panic, "cpu0: free_pages: double free of P0x1000")
        self.assertEqual([c.status for c in r.cases], ["pass", "crashed"])
        self.assertIsNone(r.done)
        self.assertTrue(any("1 of 2 results" in p for p in r.problems))

    def test_plan_mismatch(self):
        r = ktap.parse("KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: s\n  1..3\n"
                       "  ok 1 a\nok 1 s\nmmulab: done pass=1 fail=0\n")
        self.assertTrue(any("1 of 3" in p for p in r.problems))

    def test_xfail_and_timeout(self):
        r = ktap.parse("KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: s\n  1..2\n"
                       "  ok 1 a # XFAIL known\n  not ok 2 b # TIMEOUT after 3 s\nnot ok 1 s\n")
        self.assertEqual([c.status for c in r.cases], ["xfail", "timeout"])

    def test_noise_only(self):
        r = ktap.parse("garbage\r\nmore \x1b[1mnoise\n")
        self.assertFalse(r.saw_ktap)
        self.assertEqual(r.cases, [])


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
        o = self.outcome(GOOD, "pass", 1)
        self.assertEqual((o.passed, o.failed, o.skipped), (2, 1, 1))

    def test_pass_config_with_wrong_exit_fails_once_more(self):
        o = self.outcome(GOOD, "pass", 0)
        self.assertEqual(o.failed, 2)

    def test_expected_failure_exact_set(self):
        self.assertTrue(self.outcome(GOOD, "fail:paging.write_ro", 1).ok)
        self.assertFalse(self.outcome(GOOD, "fail:paging.nx_exec", 1).ok)
        self.assertTrue(self.outcome(GOOD, "fail", 1).ok)

    def test_a_panic_is_not_the_expected_failure(self):
        self.assertFalse(self.outcome(PANICKED, "fail", 2).ok)
        self.assertTrue(self.outcome(PANICKED, "panic:double free", 2).ok)
        self.assertFalse(self.outcome(PANICKED, "panic:stack overflow", 2).ok)


if __name__ == "__main__":
    unittest.main()
