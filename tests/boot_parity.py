#!/usr/bin/env python3
"""Boots the same QEMU options through UEFI and through PVH and compares
what the kernel saw: the NUMA topology (nodes, their CPUs, distances), the
memory per node and the result of every case.

What may differ, and why: the firmware keeps different memory for itself
(OVMF: its runtime services, ACPI and boot-services ranges at the top of
RAM and below 1 MiB; SeaBIOS: 0x9fc00-0xfffff and its ACPI tables at the
top of low RAM), so each node's MiB and the physical ranges printed under
it may differ by at most SLACK_MIB; everything else must be equal. Prints
KTAP with one case per compared fact and the closing line, like the kernel.

usage: boot_parity.py [run-qemu.sh options]   (default: the two-node set)
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SLACK_MIB = 64
DEFAULT = ["--nodes", "2", "--cpus", "4", "--cmdline", "tests=boot_info,topology,page_alloc,smp"]
NODE = re.compile(r"^mmulab: numa: node (\d+) \(domain (\d+)\): (\d+) MiB, CPUs \(APIC ids\):(.*)$")


def boot(way, args):
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serial.log"
        subprocess.run([str(HERE / "run-qemu.sh"), "--boot", way, "--log", str(log), *args],
                       stdout=subprocess.DEVNULL, check=False)
        return log.read_text(errors="replace") if log.exists() else ""


def facts(log):
    nodes, other_numa, results = {}, [], {}
    suite = None
    for line in log.splitlines():
        m = NODE.match(line)
        if m:
            nodes[int(m.group(1))] = (m.group(2), int(m.group(3)), m.group(4).split())
        elif line.startswith("mmulab: numa:") and "P0x" not in line:
            other_numa.append(line)
        s = re.match(r"^  # Subtest: (\S+)", line)
        if s:
            suite = s.group(1)
        c = re.match(r"^  (ok|not ok) \d+ (\S+)(.*)$", line)
        if c and suite:
            results[f"{suite}.{c.group(2)}"] = c.group(1) + (" SKIP" if "# SKIP" in c.group(3) else "")
    return nodes, other_numa, results


def main():
    args = sys.argv[1:] or DEFAULT
    uefi, pvh = facts(boot("uefi", args)), facts(boot("pvh", args))
    checks = []
    u_nodes, p_nodes = uefi[0], pvh[0]
    checks.append(("same_nodes_and_cpus", u_nodes.keys() == p_nodes.keys() and bool(u_nodes) and all(
        u_nodes[n][0] == p_nodes[n][0] and u_nodes[n][2] == p_nodes[n][2] for n in u_nodes),
        f"uefi {u_nodes} pvh {p_nodes}"))
    checks.append(("node_memory_within_slack", u_nodes.keys() == p_nodes.keys() and all(
        abs(u_nodes[n][1] - p_nodes[n][1]) <= SLACK_MIB for n in u_nodes),
        f"MiB uefi {[v[1] for v in u_nodes.values()]} pvh {[v[1] for v in p_nodes.values()]}"))
    checks.append(("same_topology_and_distances", uefi[1] == pvh[1], f"uefi {uefi[1]} pvh {pvh[1]}"))
    checks.append(("same_case_results", uefi[2] == pvh[2] and bool(uefi[2]),
                   "differ: " + ", ".join(sorted(k for k in uefi[2].keys() | pvh[2].keys()
                                                  if uefi[2].get(k) != pvh[2].get(k)))))
    print("KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: boot_parity")
    print(f"  1..{len(checks)}")
    for i, (name, ok, why) in enumerate(checks, 1):
        if not ok:
            print(f"  # {why}")
        print(f"  {'ok' if ok else 'not ok'} {i} {name}")
    failed = [c for c in checks if not c[1]]
    print(f"{'not ok' if failed else 'ok'} 1 boot_parity")
    for name, ok, _ in checks:
        if not ok:
            print(f"# failed: boot_parity.{name}")
    passed = len(checks) - len(failed)
    print(f"# totals: pass={passed} fail={len(failed)} skip=0 error=0")
    print(f"mmulab: done pass={passed} fail={len(failed)} skip=0 error=0 "
          f"verdict={'fail' if failed else 'pass'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
