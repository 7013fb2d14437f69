#!/usr/bin/env python3
"""The scaling curves of a results.json (tools/bench_collect.py) as PNG
plots drawn by gnuplot (Debian's gnuplot-nox, pngcairo terminal):

  shootdown.png   TLB shootdown latency against the number of target CPUs,
                  within the initiator's node and across nodes (tlb_bench)
  faults.png      fault cost by kind (numa_bench, thp_bench)
  migration.png   migration bandwidth node x node (migrate_bench)
  boot_ram.png    boot phase times against guest RAM (runs boot-ram-NG)
  boot_nodes.png  boot phase times against NUMA nodes (runs boot-nodes-N)

A plot whose figures are not in the results is left out with one line.
Each plot shows the median, with min..p90 as error bars where it has them.

usage: bench_plot.py RESULTS_JSON OUT_DIR
"""

import json
import re
import subprocess
import sys
from pathlib import Path

CLOCK = "TSC cycles (under TCG: host emulation time)"
TARGETS = (1, 2, 4, 8)
# Fault kinds in the order of the plot: (record name, label).
FAULT_KINDS = (
    ("fault_null", "null (no VMA)"),
    ("fault_cow_reuse", "COW reuse"),
    ("numa_hint_nomigrate", "hint, no migration"),
    ("fault_demand_zero", "demand zero"),
    ("fault_cow_copy", "COW copy"),
    ("numa_hint_migrate_4k", "hint + 4 KiB migration"),
    ("thp_split", "THP split"),
    ("thp_migrate_2m", "hint + 2 MiB migration"),
    ("thp_collapse", "THP collapse"),
)
BANDWIDTH = re.compile(r"^migrate_bw_(4k|2m)_n(\d+)_n(\d+)$")
BOOT_SWEEPS = {
    "boot_ram": (re.compile(r"^boot-ram-(\d+)G$"), "guest RAM (GiB), 2 nodes, 2 CPUs"),
    "boot_nodes": (re.compile(r"^boot-nodes-(\d+)$"), "NUMA nodes (8 GiB, 8 CPUs)"),
}


def gnuplot(script, out):
    """Runs one gnuplot script that draws out; an error stops with its text."""
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    if r.returncode != 0 or not out.exists():
        sys.exit(f"bench_plot: gnuplot failed on {out.name}: {r.stderr.strip()}")


def header(out, title, width=900, height=560):
    return (f"set terminal pngcairo noenhanced size {width},{height} font 'sans,10'\n"
            f"set output '{out}'\nset title \"{title}\"\nset grid ytics\nset key top left\n")


def datablock(name, rows):
    return f"${name} << EOD\n" + "".join(" ".join(str(c) for c in r) + "\n" for r in rows) + "EOD\n"


def plot_shootdown(by_name, out):
    series = {}
    for where in ("within", "across"):
        rows = [(t, r["median"], r["min"], r["p90"]) for t in TARGETS
                if (r := by_name.get(f"tlb_shootdown_{where}_{t}"))]
        if rows:
            series[where] = rows
    if not series:
        return False
    titles = {"within": "targets on the initiator's node", "across": "targets on another node"}
    plots = [f'${w} using 1:2:3:4 with yerrorlines lw 2 pt 7 title "{titles[w]}"' for w in series]
    gnuplot(header(out, "TLB shootdown of one page: latency against target CPUs (tlb_bench)") +
            "".join(datablock(w, rows) for w, rows in series.items()) +
            "set xlabel 'target CPUs with the address space loaded'\n"
            f"set ylabel '{CLOCK}'\nset logscale x 2\nset xtics (1, 2, 4, 8)\n"
            "set xrange [0.8:10]\nset yrange [0:*]\n"
            "plot " + ", ".join(plots) + "\n", out)
    return True


def plot_faults(by_name, out):
    rows = [(i, f'"{label}"', r["median"], r["min"], r["p90"])
            for i, (name, label) in enumerate((k for k in FAULT_KINDS if k[0] in by_name))
            for r in [by_name[name]]]
    if not rows:
        return False
    gnuplot(header(out, "Fault cost by kind (median, min..p90): one fault from the kernel's "
                   "user-access window", 1000, 600) + datablock("d", rows) +
            f"set ylabel '{CLOCK}, log scale'\nset logscale y\nset xtics rotate by -30\n"
            "set style fill solid 0.6\nset boxwidth 0.7\nset xrange [-0.6:*]\nset key off\n"
            "plot $d using 1:3:xtic(2) with boxes lc rgb '#4477aa', "
            "$d using 1:3:4:5 with yerrorbars lc rgb 'black' lw 1.5 pt 0\n", out)
    return True


def bandwidth_matrix(by_name, size):
    cells = {}
    for name, r in by_name.items():
        m = BANDWIDTH.match(name)
        if m and m.group(1) == size:
            cells[int(m.group(2)), int(m.group(3))] = r["median"]
    nodes = sorted({n for pair in cells for n in pair})
    return nodes, cells


def plot_migration(by_name, out):
    panels = [(size, *bandwidth_matrix(by_name, size)) for size in ("4k", "2m")]
    panels = [p for p in panels if p[2]]
    if not panels:
        return False
    script = header(out, "", 560 * len(panels), 500)
    script += f"set multiplot layout 1,{len(panels)} title " \
              '"Migration bandwidth node x node, MiB/s\\n(migrate_bench: median of region moves)"\n'
    for size, nodes, cells in panels:
        rows = [[cells.get((s, d), "NaN") for d in nodes] for s in nodes]
        label = "4 KiB pages" if size == "4k" else "2 MiB huge pages"
        ticks = ", ".join(f'"{n}" {i}' for i, n in enumerate(nodes))
        script += (datablock(f"m{size}", rows) + f"set title '{label}'\n"
                   "set xlabel 'destination node'\nset ylabel 'source node'\n"
                   f"set xtics ({ticks})\nset ytics ({ticks})\nset cblabel 'MiB/s'\n"
                   "set palette defined (0 '#f7fbff', 1 '#08306b')\nset grid noytics\n"
                   "set yrange [:] reverse\n"
                   f"plot $m{size} matrix with image notitle, "
                   f"$m{size} matrix using 1:2:($3 == $3 ? sprintf('%d', $3) : 'same') "
                   "with labels tc rgb 'red' notitle\n")
    gnuplot(script + "unset multiplot\n", out)
    return True


def plot_boot(records, sweep, out):
    pattern, xlabel = BOOT_SWEEPS[sweep]
    runs = {}
    for r in records:
        m = pattern.match(r.get("run", ""))
        if m and r["name"].startswith("boot_") and r["name"] != "boot_kernel_entry_to_first_test":
            runs.setdefault(int(m.group(1)), {})[r["name"][len("boot_"):]] = r["median"] / 1000
    if not runs:
        return False
    phases = list(next(iter(runs.values())))
    rows = [[x] + [runs[x].get(p, 0) for p in phases] for x in sorted(runs)]
    cols = ", ".join(f"$d using {i + 2}{':xtic(1)' if i == 0 else ''} title '{p}'"
                     for i, p in enumerate(phases))
    colours = ("#4477aa", "#66ccee", "#228833", "#ccbb44", "#ee6677", "#aa3377", "#bbbbbb",
               "#332288", "#882255", "#117733", "#ddcc77", "#000000")
    styles = "".join(f"set linetype {i + 1} lc rgb '{c}'\n" for i, c in enumerate(colours))
    gnuplot(header(out, f"Boot phases (PVH boot, median of the boots) against {xlabel}") + styles +
            datablock("d", rows) +
            f"set xlabel '{xlabel}'\nset ylabel 'ms from kernel entry (TSC; under TCG host time)'\n"
            "set style data histograms\nset style histogram rowstacked\n"
            "set style fill solid 0.8 border -1\nset boxwidth 0.6\nset key outside right\n"
            f"plot {cols}\n", out)
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().split("usage: ")[1])
    records = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    by_name = {r["name"]: r for r in records if r.get("run") != "linux"}
    drawn = {
        "shootdown.png": plot_shootdown(by_name, out / "shootdown.png"),
        "faults.png": plot_faults(by_name, out / "faults.png"),
        "migration.png": plot_migration(by_name, out / "migration.png"),
        "boot_ram.png": plot_boot(records, "boot_ram", out / "boot_ram.png"),
        "boot_nodes.png": plot_boot(records, "boot_nodes", out / "boot_nodes.png"),
    }
    for name, done in drawn.items():
        if not done:
            print(f"bench_plot: {name} left out: its figures are not in {sys.argv[1]}")
    print(f"bench_plot: {sum(drawn.values())} plots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
