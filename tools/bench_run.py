#!/usr/bin/env python3
"""`make bench`: boots every bench configuration one after another (never in
parallel: the figures are host time under TCG, and two guests on the same
cores would measure each other), then writes build/bench/results.json and
results.md (tools/bench_collect.py, with stock Linux's figures beside ours
when `make bench-linux` has left them in build/bench/linux/results.json) and
the plots (tools/bench_plot.py) in build/bench/plots/.

usage: bench_run.py [--boots N] [--only NAME,...]
  --boots N   N boots of each boot-sweep configuration (default 9)
  --only      only these runs or sweeps (names below, e.g. tlb,boot-ram-16G); their
              figures replace the same runs' figures in an existing results.json
"""

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_collect  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
BUILD = HERE / "build"
OUT = BUILD / "bench"

# name -> run-qemu.sh arguments. main is the configuration `make
# bench-linux` boots Linux in (UEFI, 2 nodes of one CPU, 2 GiB): user_bench's
# ring-3 figures there are the ones compared with Linux's.
RUNS = {
    "main": '--nodes 2 --cpus 2 --mem 2G --cmdline "tests=numa_bench,thp_bench,user_bench"',
    "pv-native": '--boot pvh --nodes 2 --cpus 2 --cmdline "tests=pv_bench"',
    "pv": '--boot pvh --nodes 2 --cpus 2 --cmdline "mmu=pv tests=pv_bench"',
    "tlb": '--boot pvh --nodes 2 --cpus 18 --cmdline "tests=tlb_bench"',
    "migrate": '--boot pvh --nodes 4 --cpus 4 --mem 4G --cmdline "tests=migrate_bench"',
}
# Boot phases against RAM and against nodes: PVH boots running one tiny
# suite, so the phases up to the first test are the boot's.
BOOT_SWEEPS = {
    **{f"boot-ram-{g}G": f'--boot pvh --nodes 2 --cpus 2 --mem {g}G --cmdline "tests=skeleton"'
       for g in (2, 4, 8, 16)},
    **{f"boot-nodes-{n}": f'--boot pvh --nodes {n} --cpus 8 --mem 8G --cmdline "tests=skeleton"'
       for n in (1, 2, 4, 8)},
}


def boot(name, args, log):
    """One boot; stops `make bench` with one line if it did not pass."""
    r = subprocess.run([str(HERE / "run-qemu.sh"), *shlex.split(args), "--log", str(log)],
                       cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        tail = r.stderr.strip().splitlines()[-1:] or ["(no message)"]
        sys.exit(f"bench_run: {name} ({args}) failed, exit {r.returncode}: {tail[0]}; log {log}")


def bench_lines(log):
    return [line.split("# ", 1)[1] for line in Path(log).read_text(errors="replace").splitlines()
            if "# bench:" in line]


def run_benches(logs, runs):
    for name, args in runs.items():
        log = logs / f"{name}.log"
        print(f"bench_run: {name}: {args}", flush=True)
        boot(name, args, log)
        print("\n".join(bench_lines(log)), flush=True)


def pv_ratios(logs):
    out = logs / "pv-ratios.txt"
    with open(out, "w") as f:
        subprocess.run([sys.executable, str(HERE / "tools" / "pv_bench_ratios.py"),
                        str(logs / "pv-native.log"), str(logs / "pv.log")], stdout=f, check=True)
    print(out.read_text().replace("# ", ""), end="", flush=True)
    return out


def run_boot_sweeps(logs, sweeps_wanted, boots):
    sweeps = []
    for name, args in sweeps_wanted.items():
        print(f"bench_run: {name}: {boots} boots of {args}", flush=True)
        paths = [logs / f"{name}.{i}.log" for i in range(boots)]
        for path in paths:
            boot(name, args, path)
        sweeps.append((name, args, paths))
    return sweeps


def selected(only):
    """The runs and boot sweeps to boot: all, or those --only names."""
    if not only:
        return RUNS, BOOT_SWEEPS
    names = only.split(",")
    unknown = [n for n in names if n not in RUNS and n not in BOOT_SWEEPS]
    if unknown:
        sys.exit(f"bench_run: unknown run {', '.join(unknown)} (known: "
                 f"{', '.join([*RUNS, *BOOT_SWEEPS])})")
    return ({n: a for n, a in RUNS.items() if n in names},
            {n: a for n, a in BOOT_SWEEPS.items() if n in names})


def main():
    ap = argparse.ArgumentParser(usage=__doc__.strip().split("usage: ")[1])
    ap.add_argument("--boots", type=int, default=9)
    ap.add_argument("--only", default="")
    opts = ap.parse_args()
    runs, boot_sweeps = selected(opts.only)
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    run_benches(logs, runs)
    derived = []
    if "pv-native" in runs and "pv" in runs:
        derived.append(("pv-ratios", pv_ratios(logs),
                        "pv / native medians of the two pv_bench runs"))
    sweeps = run_boot_sweeps(logs, boot_sweeps, opts.boots)
    earlier = [OUT / "results.json"] if opts.only and (OUT / "results.json").exists() else []
    linux = OUT / "linux" / "results.json"
    earlier += [linux] if linux.exists() else []
    try:
        records = bench_collect.collect(
            [(name, logs / f"{name}.log", args) for name, args in runs.items()],
            derived, sweeps, earlier)
    except (bench_collect.BadLog, OSError) as e:
        sys.exit(f"bench_collect: {e}")
    bench_collect.write(records, OUT)
    print(f"bench_run: {len(records)} figures in {OUT}/results.json and results.md"
          + ("" if linux.exists() else " (no Linux column: run `make bench-linux`)"))
    subprocess.run([sys.executable, str(HERE / "tools" / "bench_plot.py"), str(OUT / "results.json"),
                    str(OUT / "plots")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
