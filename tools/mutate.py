#!/usr/bin/env python3
"""Mutation testing: plants each mistake of tests/mutations.txt in a copy of
the tree and reports which test caught it.

  tools/mutate.py                run every mutation (make mutate)
  tools/mutate.py --only a,b     a subset (make mutate MUTATIONS=a,b)
  tools/mutate.py --check        every mutation applies exactly once and its
                                 file still compiles (make check, seconds)

A run builds the unmodified tree once in build/mutate/base and checks that
the host tests and every QEMU configuration the list uses pass there (a
kill only means something against a green baseline). Then, for each
mutation, at most --jobs at a time: a copy of the base (sources and build
products, so make rebuilds only what the mutation touches), the edit,
`make all build/host/unit-tests`, the host tests, then the mutation's QEMU
configurations in order; the first test that fails kills it. A mutation
that does not build is an error of the list, never a kill. The table and
the kill rate go to stdout and build/mutate/report.md; logs stay in
build/mutate/logs.

Exit status: 0 every mutation killed (or marked equivalent), 1 some
survived, 2 the list is broken or the baseline does not pass.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import ktap  # noqa: E402

LIST = os.path.join(ROOT, "tests", "mutations.txt")
FIELDS = ("mechanism", "file", "what", "runs", "equivalent")


class ListError(Exception):
    pass


class Mutation:
    def __init__(self, mid, lineno):
        self.id, self.lineno = mid, lineno
        self.mechanism = self.file = self.what = self.equivalent = ""
        self.runs = []
        self.original = self.replacement = None


class MutationList:
    def __init__(self):
        self.configs = {}  # name -> run-qemu.sh arguments
        self.default = []
        self.unreliable = {}
        self.mutations = []


def parse_list(path):
    """The format is described at the top of tests/mutations.txt."""
    ml = MutationList()
    cur, block = None, None  # block: the list of lines being collected

    def finish():
        if cur is None:
            return
        for f in ("mechanism", "file", "what"):
            if not getattr(cur, f):
                raise ListError(f"{path}:{cur.lineno}: {cur.id}: no '{f}:'")
        if cur.original is None or cur.replacement is None:
            raise ListError(f"{path}:{cur.lineno}: {cur.id}: wants a '---' and a '+++' block")
        cur.original = "\n".join(_trim(cur.original))
        cur.replacement = "\n".join(_trim(cur.replacement))
        if not cur.original.strip():
            raise ListError(f"{path}:{cur.lineno}: {cur.id}: empty original text")
        if cur.original == cur.replacement:
            raise ListError(f"{path}:{cur.lineno}: {cur.id}: replacement equals original")
        ml.mutations.append(cur)

    with open(path) as f:
        lines = f.read().split("\n")
    for lineno, line in enumerate(lines, 1):
        if line.startswith("== "):
            finish()
            cur, block = Mutation(line[3:].strip(), lineno), None
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", cur.id):
                raise ListError(f"{path}:{lineno}: bad mutation id '{cur.id}'")
            continue
        if cur is not None and line in ("---", "+++"):
            block = []
            if line == "---":
                cur.original = block
            else:
                cur.replacement = block
            continue
        if line == "#" or line.startswith("# "):
            continue  # a comment of the list, even between entries' text
        if block is not None:
            block.append(line)
            continue
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            raise ListError(f"{path}:{lineno}: want 'key: value', got '{line}'")
        if cur is None:
            if key.startswith("config "):
                ml.configs[key[len("config "):].strip()] = value
            elif key == "default":
                ml.default = value.split()
            elif key == "unreliable":
                case, _, regex = value.partition(" ")
                ml.unreliable[case] = regex.strip() or "."
            else:
                raise ListError(f"{path}:{lineno}: unknown header key '{key}'")
        elif key in FIELDS:
            setattr(cur, key, value.split() if key == "runs" else value)
        else:
            raise ListError(f"{path}:{lineno}: {cur.id}: unknown key '{key}'")
    finish()

    ids = [m.id for m in ml.mutations]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ListError(f"{path}: duplicate ids: {', '.join(dup)}")
    for m in ml.mutations:
        m.runs = m.runs or ml.default
        for r in m.runs:
            if r not in ml.configs:
                raise ListError(f"{path}:{m.lineno}: {m.id}: unknown configuration '{r}'")
    return ml


def _trim(block):
    """A text block ends at the next entry; blank lines before it are layout."""
    while block and not block[-1].strip():
        block.pop()
    return block


def _norm(line):
    return " ".join(line.split())


def apply(m, root):
    """The mutated text of m's file under root. The original text matches
    whole lines, whitespace aside (indentation and spacing may change
    without breaking the entry); ListError unless it matches exactly once."""
    path = os.path.join(root, m.file)
    if not os.path.isfile(path):
        raise ListError(f"{m.id}: {m.file} does not exist")
    with open(path) as f:
        lines = f.read().split("\n")
    want = [_norm(l) for l in m.original.split("\n")]
    norm = [_norm(l) for l in lines]
    hits = [i for i in range(len(lines) - len(want) + 1) if norm[i:i + len(want)] == want]
    if len(hits) != 1:
        raise ListError(f"{m.id}: original text found {len(hits)} times in {m.file} "
                        "(want exactly 1)")
    i = hits[0]
    repl = m.replacement.split("\n") if m.replacement else []
    return "\n".join(lines[:i] + repl + lines[i + len(want):])


# --- make's view of the build: flags and which sources go where ---

def make_vars(names):
    rule = "mutate-vars:\n" + "".join(f"\t@echo '{n}=$({n})'\n" for n in names)
    out = subprocess.run(["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", "-",
                          "mutate-vars"], cwd=ROOT, input=rule, capture_output=True,
                         text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def compile_commands(m, v):
    """(label, argv) for each object m's file is built into; the mutated
    source comes on stdin, includes resolve as for the real file."""
    def flags(s):
        return [f for f in shlex.split(s) if f not in ("-MMD", "-MP")]
    here = ["-iquote", os.path.dirname(m.file) or "."]
    cmds = []
    if m.file in v["KERNEL_SRCS"].split():
        cmds.append(("kernel", ["gcc"] + flags(v["KCFLAGS"]) + here))
    if m.file in v["HOST_SRCS"].split():
        cmds.append(("host", ["gcc"] + flags(v["HOST_CFLAGS"]) + here))
    return [(label, argv + ["-x", "c", "-c", "-", "-o", os.devnull]) for label, argv in cmds]


def check(ml):
    """KTAP on stdout (a tests/matrix.conf entry reads it)."""
    v = make_vars(["KCFLAGS", "HOST_CFLAGS", "KERNEL_SRCS", "HOST_SRCS"])
    print("KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: mutations")
    print(f"  1..{len(ml.mutations)}")
    failed = []
    for i, m in enumerate(ml.mutations, 1):
        why = None
        try:
            text = apply(m, ROOT)
            cmds = compile_commands(m, v)
            if not cmds:
                why = f"{m.file} is not a kernel or host source of the Makefile"
            for label, argv in cmds:
                p = subprocess.run(argv, cwd=ROOT, input=text, capture_output=True, text=True)
                if p.returncode:
                    why = f"does not compile ({label})"
                    for line in p.stderr.splitlines()[:8]:
                        print(f"  # {line}")
                    break
        except ListError as e:
            why = str(e)
        if why:
            failed.append(m.id)
            print(f"  # {why}")
            print(f"  not ok {i} {m.id}")
        else:
            print(f"  ok {i} {m.id}")
    print(f"{'not ok' if failed else 'ok'} 1 mutations")
    for name in failed:
        print(f"# failed: mutations.{name}")
    passed = len(ml.mutations) - len(failed)
    print(f"# totals: pass={passed} fail={len(failed)} skip=0 error=0")
    print(f"mmulab: done pass={passed} fail={len(failed)} skip=0 error=0 "
          f"verdict={'fail' if failed else 'pass'}")
    return 1 if failed else 0


# --- the full run ---

def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                         check=True).stdout
    return [p for p in out.decode().split("\0") if p and os.path.isfile(os.path.join(ROOT, p))]


def copy_tree(dest):
    """The working tree's tracked files (uncommitted edits included)."""
    for rel in tracked_files():
        d = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), d)


def build(tree, log):
    with open(log, "w") as f:
        p = subprocess.run(["make", "-j1", "all", "build/host/unit-tests"], cwd=tree,
                           stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return p.returncode == 0


UNRELIABLE = {}  # case -> regex: a failure whose diagnostics match proves nothing


def first_failure(run):
    """The first case that failed its check. An ERROR result (set-up
    failed before the mechanism was checked) and a case the list calls
    unreliable are no kill."""
    for c in run.cases:
        if c.status in ("pass", "xfail", "skip") or c.directive.upper() == "ERROR":
            continue
        if c.name in UNRELIABLE and c.status == "fail" and \
                any(re.search(UNRELIABLE[c.name], d) for d in c.diagnostics):
            continue
        return c.name + (f" ({c.status})" if c.status != "fail" else "")
    return None


def host_tests(tree, log):
    """None when they pass, else what failed."""
    with open(log, "w") as f:
        p = subprocess.run([os.path.join(tree, "build/host/unit-tests")], cwd=tree, stdout=f,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300)
    if p.returncode == 0:
        return None
    with open(log, errors="replace") as f:
        return "host: " + (first_failure(ktap.parse(f.read())) or f"exit {p.returncode}")


# QEMU runs at once (--qemu-jobs): builds of other mutations go on beside
# them, but two multi-vCPU TCG guests on a 2-core machine stall each
# other's cross-CPU handshakes (see tests/matrix.py).
qemu_slots = threading.Semaphore(1)


def qemu_run(tree, name, args, timeout, log):
    """None when the run passes cleanly, else what failed."""
    argv = [os.path.join(tree, "run-qemu.sh")] + shlex.split(args) + \
        ["--timeout", str(timeout), "--log", log]
    with qemu_slots, open(log + ".out", "w") as f:
        p = subprocess.run(argv, cwd=tree, stdout=f, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    # The serial log (--log) plus what run-qemu itself said.
    with open(log + ".out", errors="replace") as f:
        tail = [l for l in f if l.startswith("run-qemu:") or "qemu-system" in l]
    with open(log, "a") as f:
        f.writelines(tail)
    os.remove(log + ".out")
    with open(log, errors="replace") as f:
        run = ktap.parse(f.read())
    case = first_failure(run)
    if p.returncode in (0, 1) and not case and run.done and not run.panic and run.cases:
        return None
    if run.panic:
        return f"{name}: panic in {case or 'boot'}: {run.panic[:60]}"
    if case:
        return f"{name}: {case}"
    if p.returncode == 2:
        return f"{name}: timeout or boot failure (exit 2)"
    return f"{name}: exit {p.returncode}, {len(run.cases)} cases, no failing case"


class Result:
    def __init__(self, m):
        self.m, self.killed_by, self.error, self.seconds = m, None, None, 0.0


def mutate_one(m, ml, out, timeout):
    r = Result(m)
    start = time.monotonic()
    tree = os.path.join(out, "work", m.id)
    logs = os.path.join(out, "logs", m.id)
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(logs, exist_ok=True)
    try:
        # The copy keeps the base's times: only what the edit touches rebuilds.
        shutil.copytree(os.path.join(out, "base"), tree, symlinks=True)
        text = apply(m, tree)
        path = os.path.join(tree, m.file)
        with open(path, "w") as f:
            f.write(text)
        if not build(tree, os.path.join(logs, "build.log")):
            r.error = f"does not build (see {os.path.relpath(logs, ROOT)}/build.log)"
            return r
        r.killed_by = host_tests(tree, os.path.join(logs, "host.log"))
        for name in m.runs:
            if r.killed_by:
                break
            r.killed_by = qemu_run(tree, name, ml.configs[name], timeout,
                                   os.path.join(logs, name + ".log"))
    except ListError as e:
        r.error = str(e)
    finally:
        r.seconds = time.monotonic() - start
        shutil.rmtree(tree, ignore_errors=True)
    return r


def baseline(ml, mutations, out, timeout):
    """Builds the base tree; returns the problems (empty when green)."""
    base = os.path.join(out, "base")
    logs = os.path.join(out, "logs", "baseline")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(logs, exist_ok=True)
    copy_tree(base)
    print("mutate: building the baseline in", os.path.relpath(base, ROOT), flush=True)
    if not build(base, os.path.join(logs, "build.log")):
        return ["the unmodified tree does not build"]
    problems = []
    why = host_tests(base, os.path.join(logs, "host.log"))
    if why:
        problems.append(why)
    used = [c for c in ml.configs if any(c in m.runs for m in mutations)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for name, why in zip(used, pool.map(
                lambda c: qemu_run(base, c, ml.configs[c], timeout,
                                   os.path.join(logs, c + ".log")), used)):
            print(f"mutate: baseline {name}: {why or 'pass'}", flush=True)
            if why:
                problems.append(why)
    return problems


def report(results, ml, path, wall):
    rows, equivalent, errors = [], [], []
    for r in results:
        if r.error:
            errors.append(r)
        elif r.m.equivalent:
            equivalent.append(r)
        rows.append(r)
    counted = [r for r in results if not r.error and not r.m.equivalent]
    killed = [r for r in counted if r.killed_by]
    survived = [r for r in counted if not r.killed_by]

    def verdict(r):
        if r.error:
            return "ERROR: " + r.error
        if r.m.equivalent:
            return ("equivalent, yet killed by " + r.killed_by) if r.killed_by else "equivalent"
        return r.killed_by or "SURVIVED"

    lines = ["| id | mechanism | killed by | time |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.m.id} | {r.m.mechanism} | {verdict(r)} | {r.seconds:.0f} s |")
    rate = f"{len(killed)}/{len(counted)}" + \
        (f" ({100.0 * len(killed) / len(counted):.0f}%)" if counted else "")
    summary = [f"Kill rate: {rate}; {len(survived)} survived, {len(equivalent)} equivalent "
               f"(not counted), {len(errors)} list errors; {wall:.0f} s."]
    if survived:
        summary.append("")
        summary.append("Survivors (no test catches these mistakes):")
        summary += [f"- {r.m.id} ({r.m.file}): {r.m.what}" for r in survived]
    if equivalent:
        summary.append("")
        summary.append("Equivalent (no observable difference; not counted):")
        summary += [f"- {r.m.id}: {r.m.equivalent}" for r in equivalent]
    text = "\n".join(["# Mutation report", ""] + lines + [""] + summary) + "\n"
    with open(path, "w") as f:
        f.write(text)

    width = max([len(r.m.id) for r in rows] + [2])
    mw = max([len(r.m.mechanism) for r in rows] + [9])
    print(f"\n{'id':<{width}}  {'mechanism':<{mw}}  {'time':>5}  killed by")
    for r in rows:
        print(f"{r.m.id:<{width}}  {r.m.mechanism:<{mw}}  {r.seconds:4.0f}s  {verdict(r)}")
    print("\n" + "\n".join(summary))
    print(f"mutate: report in {os.path.relpath(path, ROOT)}")
    return 2 if errors else 1 if survived else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", default=LIST, help="the mutation list")
    ap.add_argument("--check", action="store_true",
                    help="only check that every mutation applies once and compiles")
    ap.add_argument("--only", help="comma-separated mutation ids")
    ap.add_argument("--jobs", type=int, default=2, help="mutations at once (default 2)")
    ap.add_argument("--qemu-jobs", type=int, default=1,
                    help="QEMU runs at once, across all mutations (default 1)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per QEMU run")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mutate"))
    ap.add_argument("--no-baseline", action="store_true",
                    help="reuse OUT/base as it is, without checking that it passes")
    opts = ap.parse_args()
    global qemu_slots
    qemu_slots = threading.Semaphore(max(1, opts.qemu_jobs))

    try:
        ml = parse_list(opts.list)
    except ListError as e:
        if opts.check:
            print("KTAP version 1\n1..1\n# " + str(e) + "\nnot ok 1 mutations")
            print("# failed: mutations\n# totals: pass=0 fail=1 skip=0 error=0")
            print("mmulab: done pass=0 fail=1 skip=0 error=0 verdict=fail")
        else:
            print("mutate:", e, file=sys.stderr)
        return 2 if not opts.check else 1
    if opts.check:
        return check(ml)
    UNRELIABLE.update(ml.unreliable)

    mutations = ml.mutations
    if opts.only:
        want = [w for w in opts.only.replace(" ", ",").split(",") if w]
        unknown = [w for w in want if w not in {m.id for m in mutations}]
        if unknown:
            print("mutate: unknown mutation ids:", ", ".join(unknown), file=sys.stderr)
            return 2
        mutations = [m for m in mutations if m.id in want]

    start = time.monotonic()
    os.makedirs(opts.out, exist_ok=True)
    if not opts.no_baseline:
        problems = baseline(ml, mutations, opts.out, opts.timeout)
        if problems:
            print("mutate: the baseline does not pass, so no kill would mean anything:",
                  file=sys.stderr)
            for p in problems:
                print("  " + p, file=sys.stderr)
            return 2
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as pool:
        futures = {pool.submit(mutate_one, m, ml, opts.out, opts.timeout): m for m in mutations}
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            results[r.m.id] = r
            state = ("ERROR " + r.error) if r.error else (r.killed_by or "SURVIVED")
            print(f"mutate: [{len(results)}/{len(mutations)}] {r.m.id}: {state} "
                  f"({r.seconds:.0f} s)", flush=True)
    ordered = [results[m.id] for m in mutations]
    return report(ordered, ml, os.path.join(opts.out, "report.md"), time.monotonic() - start)


if __name__ == "__main__":
    sys.exit(main())
