#!/usr/bin/env python3
"""What mmu=pv costs against native, from two pv_bench logs.

pv_bench (tests/kernel/pv_bench.c) measures in whichever mode the kernel
booted, so the ratios need a native boot and an mmu=pv boot. This reads
both serial logs and prints, as "# bench:" lines, pv_<op>_ratio = pv
median / native median for each op, and the validator calls and updates
per op of the mmu=pv run.

usage: pv_bench_ratios.py NATIVE_LOG PV_LOG
"""

import re
import sys

# Ratio name -> the op's name in pv_bench's lines.
OPS = {
    "fault": "fault_cow_reuse",
    "hint": "numa_hint_nomigrate",
    "mprotect": "mprotect_512",
    "fork": "fork_512",
}

CYCLES = re.compile(r"# bench: pv_(native|pv)_(\w+?)=(\d+) cycles")
PER_OP = re.compile(r"# bench: pv_(native|pv)_(\w+)_validator_(calls|updates)=([\d.]+) per op")


def read_figures(path, mode):
    """{op: median cycles} and {(op, 'calls'|'updates'): per op} of one log
    taken in mode (native or pv)."""
    medians, per_op = {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            m = PER_OP.search(line)
            if m:
                if m.group(1) != mode:
                    sys.exit(f"{path}: a {m.group(1)} figure in the {mode} log")
                per_op[(m.group(2), m.group(3))] = m.group(4)
                continue
            m = CYCLES.search(line)
            if m:
                if m.group(1) != mode:
                    sys.exit(f"{path}: a {m.group(1)} figure in the {mode} log")
                medians[m.group(2)] = int(m.group(3))
    return medians, per_op


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    native, _ = read_figures(argv[1], "native")
    pv, pv_per_op = read_figures(argv[2], "pv")
    missing = [f"{mode} {op}" for name, op in OPS.items()
               for mode, figures in (("native", native), ("pv", pv)) if op not in figures]
    if missing:
        sys.exit("missing pv_bench figures: " + ", ".join(missing))
    for name, op in OPS.items():
        print(f"# bench: pv_{name}_ratio={pv[op] / native[op]:.2f} "
              f"(pv median / native median of {op}: {pv[op]} / {native[op]} cycles)")
    for name, op in OPS.items():
        calls = pv_per_op.get((op, "calls"), "?")
        updates = pv_per_op.get((op, "updates"), "?")
        print(f"# bench: pv_{name}_validator_calls={calls} per op "
              f"({updates} entry updates per op under mmu=pv)")


if __name__ == "__main__":
    main(sys.argv)
