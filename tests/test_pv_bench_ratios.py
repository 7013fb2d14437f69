"""tools/pv_bench_ratios.py: ratios from a native and an mmu=pv log."""

import os
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                    "pv_bench_ratios.py")
OPS = ("fault_cow_reuse", "numa_hint_nomigrate", "mprotect_512", "fork_512")


def log(mode, cycles, calls):
    lines = ["ok 1 boot_info"]
    for op in OPS:
        lines.append(f"  # bench: pv_{mode}_{op}={cycles} cycles (min 1, median {cycles}, "
                     f"p90 {cycles}, 1000 samples; TSC)")
        lines.append(f"  # bench: pv_{mode}_{op}_validator_calls={calls} per op")
        lines.append(f"  # bench: pv_{mode}_{op}_validator_updates={calls} per op")
    return "\n".join(lines) + "\n"


class Ratios(unittest.TestCase):
    def run_tool(self, native, pv):
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for name, text in (("native", native), ("pv", pv)):
                paths.append(os.path.join(d, name))
                with open(paths[-1], "w") as f:
                    f.write(text)
            return subprocess.run([sys.executable, TOOL, *paths], capture_output=True,
                                  text=True)

    def test_ratio_and_calls_per_op(self):
        r = self.run_tool(log("native", 400, "0.00"), log("pv", 1000, "16.00"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# bench: pv_fault_ratio=2.50 (", r.stdout)
        self.assertIn("# bench: pv_fork_ratio=2.50 (", r.stdout)
        self.assertIn("# bench: pv_mprotect_validator_calls=16.00 per op", r.stdout)

    def test_logs_swapped(self):
        r = self.run_tool(log("pv", 1000, "1.00"), log("native", 400, "0.00"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("a pv figure in the native log", r.stderr)

    def test_missing_op(self):
        native = log("native", 400, "0.00").replace("fork_512", "fork_other")
        r = self.run_tool(native, log("pv", 1000, "1.00"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("native fork_512", r.stderr)


if __name__ == "__main__":
    unittest.main()
