#!/usr/bin/env python3
"""Runs the QEMU configuration matrix (tests/matrix.conf) and the host tests.

Each configuration boots once (run-qemu.sh), its serial log is kept in
OUT/NAME.log and read with tests/ktap.py, and its result is checked against
what the configuration expects. Every configuration, whatever it expects,
must produce strict KTAP (ktap.py's strict list empty: plans met, subtests
closed, totals and the closing line equal to the result lines) and an exit
status equal to its closing line's verdict (pass 0, fail 1, panic 2).

  pass             every case ok (SKIP allowed), verdict=pass, no panic
  pass:REGEX       the same, and the log matches REGEX (a fallback was logged)
  fail:A.B,C.D     exactly these cases fail as check failures (plain not ok:
                   not ERROR, not TIMEOUT, no panic), every other case ok or
                   SKIP, verdict=fail: the bug switches and the selftest
  exit:N[:REGEX]   run-qemu.sh exits N, no case runs, the log matches REGEX
                   (a rejected command line, tests= matching nothing)
  panic:REGEX      verdict=panic, run-qemu.sh exits 2 and the log matches
                   REGEX (the stack-overflow, double-free and watchdog
                   selftests)
  noboot:REGEX     the kernel never ran: run-qemu.sh exits 2, the log has
                   no KTAP at all (no header, case or closing line) and
                   matches REGEX (the firmware refused the image)

Counting for the closing line: in a `pass` configuration every case counts
(ok: passed, not ok: failed, ERROR: error, SKIP: skipped) and any
configuration-level problem counts one failure more. Every other
configuration counts as one case: passed only when it ended exactly as
expected.

The last line printed is "N passed, N failed, N skipped, N errors"; JUnit
XML goes to OUT/junit.xml (ERROR cases as <error>, failures as <failure>).
"""

import argparse
import concurrent.futures
import fnmatch
import os
import re
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TIMEOUT = 900
EXPECT = re.compile(r"^(pass|pass:.+|fail:[\w.]+(,[\w.]+)*|exit:\d+(:.+)?|panic:.+|noboot:.+)$")
EXIT_FOR_VERDICT = {"pass": 0, "fail": 1, "panic": 2}


class Config:
    def __init__(self, name, expect, args, lineno):
        self.name, self.expect, self.args, self.lineno = name, expect, args, lineno

    @property
    def boots_qemu(self):
        """run-qemu.sh arguments, or a host program marked @@ that boots
        QEMU itself; a plain @program runs on the host alone."""
        return not self.args.startswith("@") or self.args.startswith("@@")


def load_matrix(path):
    configs = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 3 or not parts[0] or not parts[1]:
                raise SystemExit(f"{path}:{lineno}: want 'name | expect | arguments'")
            if parts[1] == "fail":
                raise SystemExit(f"{path}:{lineno}: 'fail' must name its cases: "
                                 "fail:suite.case,...")
            if not EXPECT.match(parts[1]):
                raise SystemExit(f"{path}:{lineno}: unknown expectation '{parts[1]}'")
            configs.append(Config(parts[0], parts[1], parts[2], lineno))
    names = [c.name for c in configs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"{path}: duplicate configuration names: {', '.join(sorted(dup))}")
    return configs


def command_for(cfg, log):
    if cfg.args.startswith("@"):
        return shlex.split(cfg.args.lstrip("@")), False
    args = shlex.split(cfg.args)
    if "--timeout" not in args:
        args += ["--timeout", str(DEFAULT_TIMEOUT)]
    return [os.path.join(ROOT, "run-qemu.sh")] + args + ["--log", log], True


class Outcome:
    def __init__(self, cfg):
        self.cfg = cfg
        self.passed = self.failed = self.skipped = self.errors = 0
        self.reasons = []
        self.run = None
        self.exit = None
        self.seconds = 0.0
        self.log = None

    @property
    def ok(self):
        return self.failed == 0 and self.errors == 0


def run_config(cfg, out):
    o = Outcome(cfg)
    o.log = os.path.join(out, cfg.name + ".log")
    cmd, is_qemu = command_for(cfg, o.log)
    start = time.monotonic()
    with open(o.log + ".out", "w") as stdout:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=stdout, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    o.seconds = time.monotonic() - start
    o.exit = proc.returncode
    if not is_qemu:
        os.replace(o.log + ".out", o.log)
    else:
        # The serial log (--log) plus what run-qemu itself said.
        with open(o.log + ".out") as f:
            tail = [l for l in f if l.startswith("run-qemu:") or "qemu-system" in l]
        if tail:
            with open(o.log, "a") as f:
                f.writelines(tail)
        os.remove(o.log + ".out")
    with open(o.log, errors="replace") as f:
        o.run = ktap.parse(f.read())
    judge(o)
    return o


def run_problems(o):
    """What is wrong with any run: strict KTAP, exit status against verdict."""
    r = o.run
    problems = list(r.strict)
    verdict = r.verdict
    if verdict is not None and o.exit != EXIT_FOR_VERDICT.get(verdict):
        problems.append(f"exit status {o.exit} disagrees with verdict={verdict}")
    return problems


def clean_run_problems(o, verdict):
    """What is wrong with a run that should end with this verdict, no panic."""
    r = o.run
    problems = run_problems(o)
    if r.panic:
        problems.append(f"panic: {r.panic}")
    if not r.cases:
        problems.append("no case ran")
    if r.verdict is not None and r.verdict != verdict:
        problems.append(f"verdict={r.verdict}, expected verdict={verdict}")
    return problems


def judge(o):
    exp, r = o.cfg.expect, o.run
    if exp == "pass" or exp.startswith("pass:"):
        failing = any(c.status not in ("pass", "xfail", "skip") for c in r.cases)
        problems = clean_run_problems(o, "fail" if failing else "pass")
        if exp.startswith("pass:") and not re.search(exp[5:], log_text(o)):
            problems.append(f"log does not match /{exp[5:]}/")
        for c in r.cases:
            if c.status in ("pass", "xfail"):
                o.passed += 1
            elif c.status == "skip":
                o.skipped += 1
            elif c.status == "error":
                o.errors += 1
                o.reasons.append(f"{c.name}: ERROR {c.reason}")
            else:
                o.failed += 1
                o.reasons.append(f"{c.name}: {c.status}")
        if problems:
            o.failed += 1
            o.reasons += problems
        return
    ok, why = expectation_met(o)
    if ok:
        o.passed = 1
    else:
        o.failed = 1
        o.reasons.append(why)


def log_text(o):
    with open(o.log, errors="replace") as f:
        return ktap.clean(f.read())


def expectation_met(o):
    exp, r = o.cfg.expect, o.run
    if exp.startswith("exit:"):
        want, _, regex = exp[5:].partition(":")
        problems = run_problems(o)
        if o.exit != int(want):
            problems.append(f"expected exit {want}, got {o.exit}")
        if r.cases:
            problems.append(f"expected no case to run, {len(r.cases)} ran")
        if r.panic:
            problems.append(f"panic: {r.panic}")
        if regex and not re.search(regex, log_text(o)):
            problems.append(f"log does not match /{regex}/")
        return not problems, "; ".join(problems)
    if exp.startswith("noboot:"):
        problems = []
        if o.exit != 2:
            problems.append(f"expected exit 2 (no boot), got {o.exit}")
        if r.saw_ktap or r.cases or r.done is not None:
            problems.append("expected no KTAP at all: the kernel ran")
        if not re.search(exp[7:], log_text(o)):
            problems.append(f"log does not match /{exp[7:]}/")
        return not problems, "; ".join(problems)
    if exp.startswith("panic:"):
        problems = run_problems(o)
        if o.exit != 2:
            problems.append(f"expected exit 2 (panic), got {o.exit}")
        if r.verdict != "panic":
            problems.append(f"expected verdict=panic, got {r.verdict}")
        if not re.search(exp[6:], log_text(o)):
            problems.append(f"log does not match /{exp[6:]}/")
        return not problems, "; ".join(problems)
    problems = clean_run_problems(o, "fail")
    want = sorted(exp[5:].split(","))
    failing = sorted(c.name for c in r.cases if c.status == "fail")
    others = [f"{c.name} ({c.status.upper()} {c.reason})".rstrip()
              for c in r.cases if c.status not in ("pass", "xfail", "skip", "fail")]
    if others:
        problems.append("not check failures: " + ", ".join(others))
    if failing != want:
        problems.append(f"expected exactly {', '.join(want)} to fail, "
                        f"got {', '.join(failing) or 'none'}")
    return not problems, "; ".join(problems)


def write_junit(outcomes, path):
    suites = ET.Element("testsuites")
    for o in outcomes:
        s = ET.SubElement(suites, "testsuite", name=o.cfg.name, time=f"{o.seconds:.1f}",
                          tests=str(len(o.run.cases) + 1))
        if o.run.bench:
            props = ET.SubElement(s, "properties")
            for k, v in sorted(o.run.bench.items()):
                ET.SubElement(props, "property", name=k, value=v)
        for c in o.run.cases:
            tc = ET.SubElement(s, "testcase", classname=o.cfg.name, name=c.name)
            if c.status == "skip":
                ET.SubElement(tc, "skipped", message=c.reason)
            elif c.status == "error":
                e = ET.SubElement(tc, "error", message=c.reason)
                e.text = "\n".join(c.diagnostics)
            elif c.status not in ("pass", "xfail"):
                f = ET.SubElement(tc, "failure", message=c.status)
                f.text = "\n".join(c.diagnostics)
        verdict = ET.SubElement(s, "testcase", classname=o.cfg.name,
                                name=f"configuration ({o.cfg.expect})")
        if not o.ok:
            f = ET.SubElement(verdict, "failure", message="configuration")
            f.text = "\n".join(o.reasons)
        ET.SubElement(s, "system-out").text = f"log: {o.log}"
    ET.ElementTree(suites).write(path, encoding="unicode", xml_declaration=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--matrix", default=os.path.join(ROOT, "tests", "matrix.conf"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "check"))
    ap.add_argument("--jobs", type=int, default=1,
                    help="QEMU runs at once (default 1; host programs run beside them)")
    ap.add_argument("--only", help="comma-separated globs over configuration names")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--bench", action="store_true", help="print the bench lines")
    opts = ap.parse_args()

    configs = load_matrix(opts.matrix)
    if opts.only:
        globs = opts.only.split(",")
        configs = [c for c in configs if any(fnmatch.fnmatch(c.name, g) for g in globs)]
    if opts.list:
        for c in configs:
            print(f"{c.name:24} {c.expect:40} {c.args}")
        return 0
    if not configs:
        print("matrix: no configuration selected")
        print("0 passed, 1 failed, 0 skipped, 0 errors")
        return 1
    os.makedirs(opts.out, exist_ok=True)

    # Two lanes: QEMU runs (--jobs at once) and host programs (one at a
    # time) beside them. QEMU runs are not run two at a time by default:
    # under TCG a vCPU waiting for another spins on a host core, so two
    # multi-vCPU guests on this 2-core machine stall each other's
    # handshakes for whole scheduler slices (a 12 ms case took 2.5 s).
    outcomes = []
    qemu_pool = concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs)
    host_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    with qemu_pool, host_pool:
        futures = [(qemu_pool if c.boots_qemu else host_pool).submit(run_config, c, opts.out)
                   for c in configs]
        for fut in concurrent.futures.as_completed(futures):
            o = fut.result()
            outcomes.append(o)
            tag = "[ ok ]" if o.ok else "[FAIL]"
            print(f"{tag} {o.cfg.name}: {o.passed} passed, {o.failed} failed, "
                  f"{o.skipped} skipped, {o.errors} errors ({o.seconds:.1f} s)", flush=True)
            for why in o.reasons[:12]:
                print(f"         {why}")
            if not o.ok:
                print(f"         log: {os.path.relpath(o.log, ROOT)}")
            if opts.bench:
                for k, v in sorted(o.run.bench.items()):
                    print(f"         bench {k}={v}")
    outcomes.sort(key=lambda o: configs.index(o.cfg))
    write_junit(outcomes, os.path.join(opts.out, "junit.xml"))
    passed = sum(o.passed for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    skipped = sum(o.skipped for o in outcomes)
    errors = sum(o.errors for o in outcomes)
    bad = [o.cfg.name for o in outcomes if not o.ok]
    print(f"matrix: {len(outcomes)} configurations, {len(bad)} failed"
          + (f": {', '.join(bad)}" if bad else ""))
    print(f"{passed} passed, {failed} failed, {skipped} skipped, {errors} errors")
    return 0 if failed == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
