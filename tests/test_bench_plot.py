"""tools/bench_plot.py: every plot drawn as a PNG from a results.json that
has its figures, and left out with one line when it has none."""

import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                    "bench_plot.py")
PLOTS = ("shootdown.png", "faults.png", "migration.png", "boot_ram.png", "boot_nodes.png")


def record(name, median, run="main", unit="cycles"):
    return {"name": name, "unit": unit, "min": median * 0.9, "median": median,
            "p90": median * 1.2, "samples": 1000, "run": run}


def results():
    r = [record(f"tlb_shootdown_{w}_{t}", 20000 * t + (5000 if w == "across" else 0))
         for w in ("within", "across") for t in (1, 2, 4, 8)]
    r += [record(k, v) for k, v in (("fault_null", 2500), ("fault_cow_reuse", 4000),
                                     ("fault_demand_zero", 9000), ("thp_collapse", 5000000))]
    r += [record(f"migrate_bw_4k_n{s}_n{d}", 100 + 10 * s + d, unit="MiB/s")
          for s in range(4) for d in range(4) if s != d]
    for mem in (2, 4, 8, 16):
        r += [record(f"boot_{p}", v * mem, f"boot-ram-{mem}G", "us")
              for p, v in (("memblock", 600), ("struct_pages_parallel", 30000))]
    for nodes in (1, 2, 4, 8):
        r += [record(f"boot_{p}", v * nodes, f"boot-nodes-{nodes}", "us")
              for p, v in (("topology", 900), ("smp", 8000))]
    return r


class Plot(unittest.TestCase):
    def draw(self, records):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "results.json")
        with open(path, "w") as f:
            json.dump(records, f)
        r = subprocess.run([sys.executable, TOOL, path, d], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return d, r.stdout

    def test_every_plot_is_a_png(self):
        d, out = self.draw(results())
        for name in PLOTS:
            with open(os.path.join(d, name), "rb") as f:
                head = f.read(24)
            self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n", name)
            width, height = struct.unpack(">II", head[16:24])
            self.assertGreaterEqual(min(width, height), 400, name)
        self.assertIn("5 plots", out)

    def test_missing_figures_leave_the_plot_out(self):
        d, out = self.draw([record("fault_null", 2500)])
        self.assertTrue(os.path.exists(os.path.join(d, "faults.png")))
        self.assertFalse(os.path.exists(os.path.join(d, "shootdown.png")))
        self.assertIn("shootdown.png left out", out)
        self.assertIn("1 plots", out)


if __name__ == "__main__":
    unittest.main()
