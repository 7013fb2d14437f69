#!/usr/bin/env python3
"""The bench figures of some serial logs as build/bench/results.json and
results.md: one record per "# bench:" line, with the configuration that
produced it and what ran it (QEMU version, host CPU), so a table pasted
into a mail says where its numbers come from.

Each run is given as NAME LOG ARGS (ARGS: the run-qemu.sh arguments that
wrote LOG). A log must end with the kernel's closing line with verdict=pass
and hold at least one bench line, or this stops with one line saying why.
A derived file (tools/pv_bench_ratios.py's output) has bench lines only.
Repeated boots of one configuration (--boots) give one record per boot
phase ("mmulab: boot: phase NAME N us"), its samples the boots.
--json adds records collected before (`make bench-linux`'s, or a whole
results.json); a later input's record replaces an earlier one of the same
run and name.

The table puts each ring-3 figure of ours (user_X) beside stock Linux's
(linux_X) when both are there, with the ratio and what both sides time.

usage: bench_collect.py [--out DIR] [--run NAME LOG ARGS]... [--derived NAME FILE WHAT]...
                        [--boots NAME ARGS LOG...]... [--json FILE]...
       bench_collect.py --smoke   (boots one tiny PVH configuration; prints KTAP)
"""

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
FIELDS = ("name", "unit", "min", "median", "p90", "samples", "configuration", "boot_path",
          "qemu_version", "host_cpu", "clock_note")
BENCH = re.compile(r"#\s*bench:\s*(\S+?)=([\d.]+)\s*([^(]*?)\s*(?:\((.*)\))?\s*$")
STATS = re.compile(r"^min ([\d.]+), median ([\d.]+), p90 ([\d.]+), (\d+) samples(?:; (.*))?$")
PHASE = re.compile(r"^mmulab: boot: phase (\w+) (\d+) us", re.M)
BOOT_TOTAL = re.compile(r"# boot: (kernel_entry_to_first_test)=(\d+) us")
VERDICT = re.compile(r"^mmulab: done .*verdict=(\w+)", re.M)
SMOKE_ARGS = '--boot pvh --nodes 1 --cpus 1 --mem 1G --cmdline "tests=pv_bench"'


class BadLog(Exception):
    pass


def unit_of(name, unit):
    """What the figure counts: the word after the value, else ms for a
    *_ms name, else a ratio (bench_ratio's lines say only what they divide)."""
    if unit:
        return unit
    return "ms" if name.endswith("_ms") else "ratio"


def parse_line(line, where):
    """The figure of one bench line, without the run's fields; None if the
    line is no bench line."""
    m = BENCH.search(line)
    if not m:
        return None
    name, value, unit, detail = m.group(1), m.group(2), m.group(3), m.group(4) or ""
    unit = unit_of(name, unit)
    record = {"name": name, "unit": unit}
    s = STATS.match(detail)
    if s:
        record.update(min=numeric(s.group(1)), median=numeric(s.group(2)),
                      p90=numeric(s.group(3)), samples=int(s.group(4)),
                      clock_note=s.group(5) or "")
        if numeric(value) != record["median"]:
            raise BadLog(f"{where}: '{name}={value}' but its median is {record['median']}")
    elif unit == "cycles":
        raise BadLog(f"{where}: '{name}' has no 'min X, median Y, p90 Z, N samples' (a kernel "
                     "before p90 was printed?)")
    else:
        # One figure (a ratio of medians, a count per op, one timing): no
        # spread to give, so min = median = p90 and no sample count.
        v = float(value)
        record.update(min=v, median=v, p90=v, samples=None, clock_note=detail)
    return record


def numeric(text):
    return float(text) if "." in text else int(text)


def parse_log(text, where, needs_verdict=True):
    if needs_verdict:
        verdicts = VERDICT.findall(text)
        if not verdicts:
            raise BadLog(f"{where}: no closing line 'mmulab: done ... verdict=' (the run died?)")
        if verdicts[-1] != "pass":
            raise BadLog(f"{where}: verdict={verdicts[-1]}: a case failed, figures not collected")
    records = [r for r in (parse_line(l, where) for l in text.splitlines()) if r]
    if not records:
        raise BadLog(f"{where}: no '# bench:' line")
    return records


def record_problems(r):
    """What is wrong with one collected record (empty when sane)."""
    missing = [f for f in FIELDS if f not in r or (r[f] is None and f != "samples")]
    if missing:
        return [f"{r.get('name', '?')}: missing {', '.join(missing)}"]
    problems = []
    if not r["min"] <= r["median"] <= r["p90"]:
        problems.append(f"{r['name']}: not min <= median <= p90 ({r['min']}, {r['median']}, "
                        f"{r['p90']})")
    if r["samples"] is not None and not (isinstance(r["samples"], int) and r["samples"] > 0) or \
            r["unit"] == "cycles" and r["samples"] is None:
        problems.append(f"{r['name']}: samples {r['samples']}")
    return problems


def boot_path(args):
    words = shlex.split(args)
    return words[words.index("--boot") + 1] if "--boot" in words[:-1] else "uefi"


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True)
        return out.stdout.splitlines()[0] if out.stdout else "unknown"
    except OSError:
        return "unknown"


def host_cpu():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def percentile_record(name, unit, values, note):
    """A record of several samples, as bench_report sorts and picks them."""
    v = sorted(values)
    n = len(v)
    return {"name": name, "unit": unit, "min": v[0], "median": v[n // 2],
            "p90": v[n * 9 // 10], "samples": n, "clock_note": note}


def parse_boots(logs, where):
    """One record per boot phase over the logs of repeated boots of one
    configuration: boot_PHASE in microseconds, and the kernel's own
    boot_kernel_entry_to_first_test."""
    per_phase = {}
    for log in logs:
        text = Path(log).read_text(errors="replace")
        phases = PHASE.findall(text) + BOOT_TOTAL.findall(text)
        if not BOOT_TOTAL.search(text) or not VERDICT.search(text):
            raise BadLog(f"{where} ({log}): no boot phase lines or no closing line (the boot died?)")
        for phase, us in phases:
            per_phase.setdefault(phase, []).append(int(us))
    if len({len(v) for v in per_phase.values()}) != 1:
        raise BadLog(f"{where}: the boots did not report the same phases")
    return [percentile_record(f"boot_{phase}", "us", v, "TSC stamps, rate calibrated at boot; "
                              "under TCG: host emulation time")
            for phase, v in per_phase.items()]


def collect(runs, derived, boots=(), earlier=()):
    """runs: (name, log, args); derived: (name, file, what); boots: (name,
    args, logs); earlier: records collected before. The records, a later
    one replacing an earlier one of the same run and name."""
    host = {"qemu_version": qemu_version(), "host_cpu": host_cpu()}
    records = [r for path in earlier for r in json.loads(Path(path).read_text())]
    for name, log, args in runs:
        for r in parse_log(Path(log).read_text(errors="replace"), f"{name} ({log})"):
            records.append({**r, "run": name, "configuration": args, "boot_path": boot_path(args),
                            **host})
    for name, path, what in derived:
        for r in parse_log(Path(path).read_text(errors="replace"), f"{name} ({path})", False):
            records.append({**r, "run": name, "configuration": what, "boot_path": "-", **host})
    for name, args, logs in boots:
        for r in parse_boots(logs, name):
            records.append({**r, "run": name, "configuration": args, "boot_path": boot_path(args),
                            **host})
    latest = {(r.get("run"), r["name"]): r for r in records}
    records = list(latest.values())
    problems = [p for r in records for p in record_problems(r)]
    if problems:
        raise BadLog("; ".join(problems))
    return records


def number(v):
    return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


# The operations timed on both sides, by the X of user_X (ours, from the
# user_bench suite) and linux_X (tools/linux-bench/init.c): what both time.
COMPARED = {
    "null_syscall": "a system call that does nothing (ours: int 0x80 `null`; Linux: getppid "
                    "through the syscall instruction)",
    "page_fault": "the first write to a fresh anonymous 4 KiB page, huge pages off: trap, "
                  "allocate and clear a page, map it, return",
    "cow_fault": "a write to a 4 KiB page shared with a forked child: trap, copy the page, map "
                 "the copy, return",
    "mprotect_512": "one mprotect call over 512 present 4 KiB pages, read-only and back in "
                    "turn, with its TLB flush",
    "move_pages_4k": "move_pages of one 4 KiB page from node 0 to node 1 (each of 1000 pages "
                     "once): unmap, copy, remap, flush",
    "move_pages_2m": "move_pages of one 2 MiB huge page between the two nodes, back and forth",
    "thp_split": "MADV_DONTNEED of one 4 KiB page inside a freshly faulted 2 MiB huge page: "
                 "split the PMD, zap one page, flush",
    "numa_hint_fault": "a read of a page the NUMA scan made PROT_NONE, on the reader's node: "
                       "trap, hinting-fault bookkeeping, restore the entry, no migration",
}


def comparison(records):
    """The rows of the table against stock Linux, one per operation both
    sides measured."""
    by_name = {r["name"]: r for r in records}
    rows = []
    for op, what in COMPARED.items():
        ours, linux = by_name.get(f"user_{op}"), by_name.get(f"linux_{op}")
        if ours and linux:
            ratio = f"{ours['median'] / linux['median']:.2f}" if linux["median"] else ""
            rows.append(f"| {op} | {number(ours['median'])} | {number(linux['median'])} | "
                        f"{ratio} | {number(ours['samples'])} / {number(linux['samples'])} | "
                        f"{what} |")
    if not rows:
        return []
    ours_conf = next(r["configuration"] for r in records if r["name"].startswith("user_"))
    linux_conf = next(r["configuration"] for r in records if r["name"].startswith("linux_"))
    return ["## mmulab against stock Linux", "",
            "Median TSC cycles of the same operation from ring 3 on both sides, in the same QEMU "
            "configuration; each figure includes the user/kernel round trip (trap or system "
            "call entry and exit).", "",
            "| operation | mmulab | Linux | mmulab / Linux | samples | what both sides time |",
            "|---|---:|---:|---:|---:|---|", *rows, "",
            f"mmulab: `{ours_conf}`.  ", f"Linux: `{linux_conf}`.", "", "## All figures", ""]


def markdown(records):
    lines = comparison(records)
    lines += ["| run | name | median | min | p90 | samples | unit | configuration |",
              "|---|---|---:|---:|---:|---:|---|---|"]
    for r in records:
        lines.append(f"| {r.get('run', '')} | {r['name']} | {number(r['median'])} | {number(r['min'])} | "
                     f"{number(r['p90'])} | {number(r['samples'])} | {r['unit']} | "
                     f"`{r['configuration']}` |")
    if records:
        lines.append("")
        clocks = sorted({r["clock_note"] for r in records if r["unit"] == "cycles"})
        lines.append(f"QEMU: {records[0]['qemu_version']}; host CPU: {records[0]['host_cpu']}; "
                     f"cycles: {' / '.join(clocks) or '-'}.")
    return "\n".join(lines) + "\n"


def write(records, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(records, indent=1) + "\n")
    (out / "results.md").write_text(markdown(records))


def written_problems(out):
    """What is wrong with the JSON and table a collection wrote."""
    out = Path(out)
    records = json.loads((out / "results.json").read_text())
    problems = [p for r in records for p in record_problems(r)]
    if not records:
        problems.append("results.json has no record")
    table = (out / "results.md").read_text()
    problems += [f"results.md lacks {r['name']}" for r in records if f"| {r['name']} |" not in table]
    return problems


def boot(args, log):
    subprocess.run([str(HERE / "run-qemu.sh"), *shlex.split(args), "--log", str(log)],
                   cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def smoke():
    """Boots SMOKE_ARGS, collects it and checks what was written; KTAP."""
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serial.log"
        boot(SMOKE_ARGS, log)
        try:
            write(collect([("smoke", log, SMOKE_ARGS)], []), tmp)
            checks.append(("collects", True, ""))
            problems = written_problems(tmp)
            checks.append(("results_sane", not problems, "; ".join(problems)))
            cycles = [r for r in json.loads((Path(tmp) / "results.json").read_text())
                      if r["unit"] == "cycles"]
            checks.append(("has_cycle_figures", bool(cycles), "no cycles record"))
        except (BadLog, OSError) as e:
            checks.append(("collects", False, str(e)))
    print("KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: bench_collector")
    print(f"  1..{len(checks)}")
    for i, (name, ok, why) in enumerate(checks, 1):
        if not ok:
            print(f"  # {why}")
        print(f"  {'ok' if ok else 'not ok'} {i} {name}")
    failed = sum(1 for c in checks if not c[1])
    print(f"{'not ok' if failed else 'ok'} 1 bench_collector")
    for name, ok, _ in checks:
        if not ok:
            print(f"# failed: bench_collector.{name}")
    passed = len(checks) - failed
    print(f"# totals: pass={passed} fail={failed} skip=0 error=0")
    print(f"mmulab: done pass={passed} fail={failed} skip=0 error=0 "
          f"verdict={'fail' if failed else 'pass'}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(usage=__doc__.strip().split("usage: ")[1])
    ap.add_argument("--out", default=str(HERE / "build" / "bench"))
    ap.add_argument("--run", nargs=3, action="append", default=[], metavar=("NAME", "LOG", "ARGS"))
    ap.add_argument("--derived", nargs=3, action="append", default=[],
                    metavar=("NAME", "FILE", "WHAT"))
    ap.add_argument("--boots", nargs="+", action="append", default=[],
                    metavar="NAME ARGS LOG")
    ap.add_argument("--json", action="append", default=[], metavar="FILE")
    ap.add_argument("--smoke", action="store_true")
    opts = ap.parse_args()
    if opts.smoke:
        return smoke()
    if not (opts.run or opts.boots or opts.json):
        ap.error("no --run, --boots or --json given")
    if any(len(b) < 3 for b in opts.boots):
        ap.error("--boots needs NAME ARGS and at least one LOG")
    boots = [(b[0], b[1], b[2:]) for b in opts.boots]
    try:
        records = collect(opts.run, opts.derived, boots, opts.json)
    except (BadLog, OSError) as e:
        sys.exit(f"bench_collect: {e}")
    write(records, opts.out)
    print(f"bench_collect: {len(records)} figures in {opts.out}/results.json and results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
