#!/usr/bin/env python3
"""The layering of docs/ARCHITECTURE.md as a check, reported as KTAP.

    tools/check-layering.py [--root DIR]     the check (make check: `layering`)
    tools/check-layering.py --markdown       the allowed list as the docs show it
    tools/check-layering.py --update-docs    rewrite that table in ARCHITECTURE.md

The arrows point one way: kernel/ and mm/ sit on arch/, arch/ never reaches
up into mm/'s internals or the tests. Each arch header that mm/, kernel/ or
an arch-neutral header (include/mmulab/) includes is listed below with the
reason; this list is the one place the allowed includes are kept (the docs
show a copy that the check compares). tests/kernel/ may include whatever it
needs: the suites look at every layer on purpose.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = "docs/ARCHITECTURE.md"
DOC_BEGIN = "<!-- layering: begin (tools/check-layering.py --update-docs) -->"
DOC_END = "<!-- layering: end -->"

# (file, arch headers it may include, why). A file may include nothing
# under arch/ beyond its entry; an entry the file no longer needs fails the
# check too, so the list never claims more than the code does.
ALLOWED = [
    # mm/
    ("mm/audit.c", ["pv_mmu.h"], "asks the read-only mode's validator what each table is pinned as"),
    ("mm/kmap.c", ["cpu.h"], "turns on NXE/WP/SMEP/SMAP before the switch; asks for 1 GiB pages"),
    ("mm/mm.c", ["cpu.h"], "loads CR3 when it switches address spaces"),
    ("mm/numa_balance.c", ["cpu.h", "tsc.h"], "times the periodic scan (rdtsc, the TSC rate)"),
    ("mm/page_alloc.c", ["cpu.h", "tsc.h"], "times the deferred struct page init per node"),
    ("mm/pgtable.c", ["cpu.h"], "drops NX from new entries when the CPU has none"),
    ("mm/pv_mode.c", ["pv_mmu.h"], "the read-only mode: hands the validator its state, pins and unpins"),
    ("mm/tlb.c", ["apic.h", "cpu.h", "irq.h", "tlb.h"],
     "the shootdown: its vector, the IPI, the local flush"),
    # kernel/
    ("kernel/bugs.c", ["tsc.h"], "race_delay_us holds a switch's race window open (udelay)"),
    ("kernel/fault.c", ["trap.h"], "the fault report names the trap (trap_name)"),
    ("kernel/log.c", ["serial.h"], "the console"),
    ("kernel/main.c", ["acpi_tables.h", "apic.h", "cpu.h", "desc.h", "serial.h", "trap.h", "tsc.h"],
     "boot brings each arch piece up in order"),
    ("kernel/panic.c", ["apic.h", "cpu.h", "trap.h", "tsc.h"],
     "stops the other CPUs with an NMI, prints the trap frame and its name"),
    ("kernel/percpu.c", ["cpu.h"], "the per-CPU pointer lives in GS base (MSR)"),
    ("kernel/smp.c", ["apic.h", "cpu.h", "irq.h"], "cross-CPU calls: their vector and IPI"),
    ("kernel/spinlock.c", ["cpu.h"], "pause while spinning"),
    ("kernel/task.c", ["cpu.h", "irq.h", "trap.h"],
     "the system-call vector and its trap frame; interrupts on during a call"),
    ("kernel/test.c", ["cpu.h", "trap.h", "tsc.h"], "case times; a fault in a case is reported by trap name"),
    ("kernel/watchdog.c", ["apic.h", "cpu.h", "irq.h", "trap.h", "tsc.h"],
     "the LAPIC timer tick and the NMI that stops a hung CPU"),
    # include/mmulab/: what every includer of these gets
    ("include/mmulab/numa_balance.h", ["pgtable.h"], "hint entries are typed entries"),
    ("include/mmulab/percpu.h", ["desc.h"], "struct cpu embeds its GDT and TSS"),
    ("include/mmulab/pgtable.h", ["pgtable.h"], "the walker over the arch's entry encoding"),
    ("include/mmulab/topology.h", ["acpi_tables.h"], "the topology is built from the parsed ACPI tables"),
]

# Headers of include/mmulab/ that only mm/ (and kernel/, tests/) may use:
# mm's own state and policy. arch/ may use the services mm gives the whole
# kernel (mm.h: frames and the direct map, pgtable.h: the walker, tlb.h,
# kstack.h) but not these; and never the test harness or tests/kernel/.
MM_ONLY = ["audit.h", "gup.h", "memblock.h", "memory.h", "mm_struct.h", "numa_balance.h",
           "page.h", "ptdump.h", "vma.h", "vmalloc.h"]
TEST_ONLY = ["test.h"]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def sources(root, top, exts=(".c", ".h")):
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        for f in sorted(files):
            if f.endswith(exts):
                yield os.path.relpath(os.path.join(dirpath, f), root)


def includes(root, path):
    with open(os.path.join(root, path), errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1), m.group(2)


def arch_includes_rule(root, tops, allowed, seen):
    """Every <arch/...> include of files under tops is listed for that file."""
    bad = []
    for top in tops:
        for path in sources(root, top):
            for n, _, inc in includes(root, path):
                if not inc.startswith("arch/"):
                    continue
                header = inc[len("arch/"):]
                if header in allowed.get(path, ()):
                    seen.add((path, header))
                else:
                    bad.append(f"{path}:{n}: includes <{inc}>, not in the allowed list "
                               "of tools/check-layering.py")
    return bad


def arch_upward_rule(root):
    """arch/ includes neither mm's own headers nor test headers nor files in mm/ or tests/."""
    bad = []
    for path in sources(root, "arch"):
        for n, kind, inc in includes(root, path):
            target = os.path.normpath(os.path.join(os.path.dirname(path), inc)) if kind == '"' else inc
            name = os.path.basename(inc)
            if inc.startswith("mmulab/") and name in MM_ONLY + TEST_ONLY:
                what = "the test harness" if name in TEST_ONLY else "an mm-only header"
                bad.append(f"{path}:{n}: includes <{inc}>, {what}")
            elif target.split("/")[0] in ("mm", "tests") or "tests/" in inc:
                bad.append(f"{path}:{n}: includes \"{inc}\" from mm/ or tests/")
    return bad


def mm_harness_rule(root):
    """mm/ never reaches into the test harness or the suites: tests look at mm, not back."""
    bad = []
    for path in sources(root, "mm"):
        for n, _, inc in includes(root, path):
            if inc == "mmulab/test.h" or "tests/" in inc:
                bad.append(f"{path}:{n}: includes <{inc}>, the test harness")
    return bad


def stale_rule(seen):
    """Every allowed entry is still used: the list says no more than the code."""
    listed = [(f, h) for f, hs, _ in ALLOWED for h in hs]
    return [f"{f}: listed for {h}, which it no longer includes: drop it from the list"
            for f, h in listed if (f, h) not in seen]


def markdown():
    rows = ["| file | may include | why |", "|---|---|---|"]
    for f, hs, why in ALLOWED:
        rows.append(f"| `{f}` | {', '.join('`arch/' + h + '`' for h in hs)} | {why} |")
    return "\n".join(rows) + "\n"


def doc_table(root):
    with open(os.path.join(root, DOC)) as f:
        text = f.read()
    start, end = text.find(DOC_BEGIN), text.find(DOC_END)
    if start < 0 or end < start:
        return text, None
    return text, (start + len(DOC_BEGIN) + 1, end)


def docs_rule(root):
    """docs/ARCHITECTURE.md shows exactly this list."""
    text, span = doc_table(root)
    if span is None:
        return [f"{DOC} has no '{DOC_BEGIN}' ... '{DOC_END}' block"]
    if text[span[0]:span[1]] != markdown():
        return [f"{DOC}'s table differs from the list: run tools/check-layering.py --update-docs"]
    return []


def update_docs(root):
    text, span = doc_table(root)
    if span is None:
        raise SystemExit(f"{DOC}: no layering block to update")
    with open(os.path.join(root, DOC), "w") as f:
        f.write(text[:span[0]] + markdown() + text[span[1]:])


def check(root):
    allowed = {f: hs for f, hs, _ in ALLOWED}
    seen = set()
    rules = [
        ("mm_includes_listed_arch_headers", lambda: arch_includes_rule(root, ["mm"], allowed, seen)),
        ("kernel_includes_listed_arch_headers", lambda: arch_includes_rule(root, ["kernel"], allowed, seen)),
        ("neutral_headers_include_listed_arch_headers",
         lambda: arch_includes_rule(root, ["include/mmulab"], allowed, seen)),
        ("arch_includes_no_mm_or_test_headers", lambda: arch_upward_rule(root)),
        ("mm_includes_no_test_harness", lambda: mm_harness_rule(root)),
        ("allowed_list_has_no_stale_entry", lambda: stale_rule(seen)),
        ("docs_show_the_list", lambda: docs_rule(root)),
    ]
    print("KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: layering")
    print(f"  1..{len(rules)}")
    failed = []
    for i, (name, rule) in enumerate(rules, 1):
        problems = rule()
        for p in problems:
            print(f"  # {p}")
        print(f"  {'not ok' if problems else 'ok'} {i} {name}")
        if problems:
            failed.append(name)
    print(f"{'not ok' if failed else 'ok'} 1 layering")
    for name in failed:
        print(f"# failed: layering.{name}")
    passed = len(rules) - len(failed)
    print(f"# totals: pass={passed} fail={len(failed)} skip=0 error=0")
    print(f"mmulab: done pass={passed} fail={len(failed)} skip=0 error=0 "
          f"verdict={'fail' if failed else 'pass'}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=ROOT, help="the tree to check (default: this one)")
    ap.add_argument("--markdown", action="store_true", help="print the allowed list as a table")
    ap.add_argument("--update-docs", action="store_true", help=f"rewrite the table in {DOC}")
    opts = ap.parse_args()
    if opts.markdown:
        sys.stdout.write(markdown())
        return 0
    if opts.update_docs:
        update_docs(opts.root)
        return 0
    return check(opts.root)


if __name__ == "__main__":
    sys.exit(main())
