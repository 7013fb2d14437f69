"""tools/bench_collect.py: records, JSON and table from canned serial logs."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                    "bench_collect.py")
ARGS = '--boot pvh --nodes 1 --cpus 1 --mem 1G --cmdline "tests=numa_bench"'
LOG = """KTAP version 1
1..1
  # Subtest: numa_bench
  1..2
  # bench: fault_cow_reuse=3045 cycles (min 2940, median 3045, p90 3087, 1000 samples; TSC)
  ok 1 cow_reuse
  # bench: numa_hint_nomigrate_ratio=3.77 (numa_hint_nomigrate / fault_cow_reuse)
  # bench: pv_native_fork_512_validator_calls=0.00 per op
  ok 2 hint
ok 1 numa_bench
mmulab: done pass=2 fail=0 skip=0 error=0 verdict=pass
"""


class Collect(unittest.TestCase):
    def run_tool(self, text, derived=None):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "serial.log")
            with open(log, "w") as f:
                f.write(text)
            cmd = [sys.executable, TOOL, "--out", d, "--run", "numa", log, ARGS]
            if derived is not None:
                with open(os.path.join(d, "ratios"), "w") as f:
                    f.write(derived)
                cmd += ["--derived", "ratios", os.path.join(d, "ratios"), "from numa"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            records = table = None
            if r.returncode == 0:
                with open(os.path.join(d, "results.json")) as f:
                    records = {x["name"]: x for x in json.load(f)}
                with open(os.path.join(d, "results.md")) as f:
                    table = f.read()
            return r, records, table

    def test_records_and_table(self):
        r, records, table = self.run_tool(LOG)
        self.assertEqual(r.returncode, 0, r.stderr)
        c = records["fault_cow_reuse"]
        self.assertEqual((c["unit"], c["min"], c["median"], c["p90"], c["samples"]),
                         ("cycles", 2940, 3045, 3087, 1000))
        self.assertEqual((c["boot_path"], c["configuration"], c["clock_note"]), ("pvh", ARGS, "TSC"))
        self.assertTrue(c["qemu_version"] and c["host_cpu"])
        ratio = records["numa_hint_nomigrate_ratio"]
        self.assertEqual((ratio["unit"], ratio["median"], ratio["samples"]), ("ratio", 3.77, None))
        self.assertEqual(records["pv_native_fork_512_validator_calls"]["unit"], "per op")
        self.assertIn("| fault_cow_reuse | 3045 | 2940 | 3087 | 1000 | cycles |", table)
        self.assertIn("| numa_hint_nomigrate_ratio | 3.77 | 3.77 | 3.77 |  | ratio |", table)

    def test_derived_lines_need_no_verdict(self):
        r, records, _ = self.run_tool(LOG, "# bench: pv_fault_ratio=2.50 (pv / native)\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((records["pv_fault_ratio"]["median"], records["pv_fault_ratio"]["boot_path"]),
                         (2.5, "-"))

    def assert_refused(self, text, why):
        r, _, _ = self.run_tool(text)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(why, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_no_closing_line(self):
        self.assert_refused(LOG.replace("mmulab: done", "mmulab: gone"), "no closing line")

    def test_failed_run(self):
        self.assert_refused(LOG.replace("verdict=pass", "verdict=fail"), "verdict=fail")

    def test_no_bench_line(self):
        self.assert_refused("\n".join(l for l in LOG.splitlines() if "bench:" not in l),
                            "no '# bench:' line")

    def test_missing_p90(self):
        self.assert_refused(LOG.replace(", p90 3087", ""), "has no 'min X, median Y, p90 Z")

    def test_min_above_median(self):
        self.assert_refused(LOG.replace("min 2940", "min 4000"), "not min <= median <= p90")

    def test_p90_below_median(self):
        self.assert_refused(LOG.replace("p90 3087", "p90 3000"), "not min <= median <= p90")

    def test_no_samples(self):
        self.assert_refused(LOG.replace("1000 samples", "0 samples"), "samples 0")

    def test_headline_not_the_median(self):
        self.assert_refused(LOG.replace("fault_cow_reuse=3045", "fault_cow_reuse=3046"),
                            "but its median is 3045")


    def test_rate_with_spread(self):
        r, records, _ = self.run_tool(LOG.replace(
            "  ok 2 hint", "  # bench: migrate_bw_4k_n0_n1=120 MiB/s (min 90, median 120, p90 131, "
            "32 samples; TSC)\n  ok 2 hint"))
        self.assertEqual(r.returncode, 0, r.stderr)
        bw = records["migrate_bw_4k_n0_n1"]
        self.assertEqual((bw["unit"], bw["min"], bw["median"], bw["p90"], bw["samples"]),
                         ("MiB/s", 90, 120, 131, 32))


BOOT = """mmulab: boot: phase memblock {m} us
mmulab: boot: phase smp {s} us
  # boot: kernel_entry_to_first_test={t} us
mmulab: done pass=3 fail=0 skip=0 error=0 verdict=pass
"""
LINUX = LOG.replace("fault_cow_reuse=3045 cycles (min 2940, median 3045, p90 3087",
                    "linux_page_fault=6090 cycles (min 5000, median 6090, p90 7000")
OURS = LOG.replace("fault_cow_reuse=3045", "user_page_fault=3045")


class Merge(unittest.TestCase):
    def tool(self, d, *args):
        r = subprocess.run([sys.executable, TOOL, "--out", d, *args], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(d, "results.json")) as f:
            records = json.load(f)
        with open(os.path.join(d, "results.md")) as f:
            return records, f.read()

    def write(self, d, name, text):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_boot_phases_over_boots(self):
        with tempfile.TemporaryDirectory() as d:
            logs = [self.write(d, f"b{i}", BOOT.format(m=m, s=s, t=m + s + 5))
                    for i, (m, s) in enumerate(((600, 9000), (700, 8000), (650, 8500)))]
            records, table = self.tool(d, "--boots", "boot-ram-2G", ARGS, *logs)
        by = {r["name"]: r for r in records}
        self.assertEqual((by["boot_memblock"]["min"], by["boot_memblock"]["median"],
                          by["boot_memblock"]["p90"], by["boot_memblock"]["samples"]),
                         (600, 650, 700, 3))
        self.assertEqual(by["boot_kernel_entry_to_first_test"]["median"], 9155)
        self.assertEqual((by["boot_smp"]["unit"], by["boot_smp"]["run"]), ("us", "boot-ram-2G"))
        self.assertIn("| boot_smp | 8500 | 8000 | 9000 | 3 | us |", table)

    def test_linux_column_and_later_records_replace_earlier(self):
        with tempfile.TemporaryDirectory() as d:
            ours, linux = os.path.join(d, "ours"), os.path.join(d, "linux")
            self.tool(ours, "--run", "main", self.write(d, "o.log", OURS), ARGS)
            self.tool(linux, "--run", "linux", self.write(d, "l.log", LINUX), "--linux K")
            first = os.path.join(d, "first.json")
            os.rename(os.path.join(linux, "results.json"), first)
            self.tool(linux, "--run", "linux", self.write(d, "l2.log", LINUX.replace(
                "6090 cycles (min 5000, median 6090", "6100 cycles (min 5000, median 6100")),
                "--linux K")
            records, table = self.tool(ours, "--json", os.path.join(ours, "results.json"),
                                       "--json", first,
                                       "--json", os.path.join(linux, "results.json"))
        self.assertEqual([r["median"] for r in records if r["name"] == "linux_page_fault"], [6100])
        self.assertIn("| page_fault | 3045 | 6100 | 0.50 | 1000 / 1000 | the first write", table)
        self.assertIn("Linux: `--linux K`", table)


if __name__ == "__main__":
    unittest.main()
