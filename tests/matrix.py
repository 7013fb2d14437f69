#!/usr/bin/env python3
"""Runs the QEMU configuration matrix (tests/matrix.conf) and the host tests.

Each configuration boots once (run-qemu.sh), its serial log is kept in
OUT/NAME.log and read with tests/ktap.py, and its result is checked against
what the configuration expects:

  pass             every case ok (SKIP allowed), verdict line and exit code
                   agree with the cases, no panic
  pass:REGEX       the same, and the log matches REGEX (a fallback was logged)
  fail             at least one case not ok, a clean run otherwise (a panic
                   or a timeout is NOT an acceptable failure): bug switches
  fail:A.B,C.D     exactly these cases not ok, every other case ok
  exit:N           run-qemu.sh exits N and no case runs (e.g. tests=nomatch)
  panic:REGEX      run-qemu.sh exits 2 and the log matches REGEX (the
                   stack-overflow, double-free and watchdog selftests)

Counting for the closing line: in a `pass` configuration every case counts
(ok: passed, not ok: failed, SKIP: skipped) and any configuration-level
problem counts one failure more. Every other configuration counts as one
case: passed only when it failed exactly as expected.

The last line printed is "N passed, N failed, N skipped"; JUnit XML goes
to OUT/junit.xml.
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


class Config:
    def __init__(self, name, expect, args, lineno):
        self.name, self.expect, self.args, self.lineno = name, expect, args, lineno


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
            if not re.match(r"^(pass|pass:.+|fail|fail:[\w.,<> -]+|exit:\d+|panic:.+)$", parts[1]):
                raise SystemExit(f"{path}:{lineno}: unknown expectation '{parts[1]}'")
            configs.append(Config(parts[0], parts[1], parts[2], lineno))
    names = [c.name for c in configs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"{path}: duplicate configuration names: {', '.join(sorted(dup))}")
    return configs


def command_for(cfg, log):
    if cfg.args.startswith("@"):
        return shlex.split(cfg.args[1:]), False
    args = shlex.split(cfg.args)
    if "--timeout" not in args:
        args += ["--timeout", str(DEFAULT_TIMEOUT)]
    return [os.path.join(ROOT, "run-qemu.sh")] + args + ["--log", log], True


class Outcome:
    def __init__(self, cfg):
        self.cfg = cfg
        self.passed = self.failed = self.skipped = 0
        self.reasons = []
        self.run = None
        self.exit = None
        self.seconds = 0.0
        self.log = None

    @property
    def ok(self):
        return self.failed == 0


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


def verdict_problems(o):
    """What is wrong with a run that should be clean (pass or fail)."""
    r, problems = o.run, []
    if r.panic:
        problems.append(f"panic: {r.panic}")
    if o.exit == 2 and not r.panic:
        problems.append("run-qemu exit 2 (timeout or boot failure; see the log)")
    if not r.cases:
        problems.append("no case ran")
    fails = sum(1 for c in r.cases if c.status in ("fail", "timeout", "crashed"))
    passes = sum(1 for c in r.cases if c.status in ("pass", "xfail"))
    if r.done is None:
        problems.append("no 'mmulab: done' verdict line")
    elif r.done != (passes, fails):
        problems.append(f"verdict line says pass={r.done[0]} fail={r.done[1]}, "
                        f"cases say pass={passes} fail={fails}")
    if o.exit not in (0, 1):
        problems.append(f"exit status {o.exit}")
    elif (o.exit == 0) != (fails == 0):
        problems.append(f"exit status {o.exit} disagrees with {fails} failed cases")
    problems += r.problems
    return problems, fails


def judge(o):
    exp, r = o.cfg.expect, o.run
    if exp == "pass" or exp.startswith("pass:"):
        problems, _ = verdict_problems(o)
        if exp.startswith("pass:") and not re.search(exp[5:], log_text(o)):
            problems.append(f"log does not match /{exp[5:]}/")
        for c in r.cases:
            if c.status in ("pass", "xfail"):
                o.passed += 1
            elif c.status == "skip":
                o.skipped += 1
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
    failing = sorted(c.name for c in r.cases if c.status not in ("pass", "xfail", "skip"))
    if exp.startswith("exit:"):
        want = int(exp[5:])
        if o.exit != want:
            return False, f"expected exit {want}, got {o.exit}"
        if r.cases:
            return False, f"expected no case to run, {len(r.cases)} ran"
        return True, ""
    if exp.startswith("panic:"):
        text = log_text(o)
        if o.exit != 2:
            return False, f"expected exit 2 (panic), got {o.exit}"
        if not re.search(exp[6:], text):
            return False, f"log does not match /{exp[6:]}/"
        return True, ""
    problems, fails = verdict_problems(o)
    if problems:
        return False, "; ".join(problems)
    if exp == "fail":
        return (fails > 0, "expected some case to fail, all passed")
    want = sorted(exp[5:].split(","))
    if failing != want:
        return False, f"expected exactly {', '.join(want)} to fail, got {', '.join(failing) or 'none'}"
    return True, ""


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
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="glob over configuration names")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--bench", action="store_true", help="print the bench lines")
    opts = ap.parse_args()

    configs = load_matrix(opts.matrix)
    if opts.only:
        configs = [c for c in configs if fnmatch.fnmatch(c.name, opts.only)]
    if opts.list:
        for c in configs:
            print(f"{c.name:24} {c.expect:40} {c.args}")
        return 0
    if not configs:
        print("matrix: no configuration selected")
        print("0 passed, 1 failed")
        return 1
    os.makedirs(opts.out, exist_ok=True)

    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        futures = [pool.submit(run_config, c, opts.out) for c in configs]
        for fut in concurrent.futures.as_completed(futures):
            o = fut.result()
            outcomes.append(o)
            tag = "[ ok ]" if o.ok else "[FAIL]"
            print(f"{tag} {o.cfg.name}: {o.passed} passed, {o.failed} failed, "
                  f"{o.skipped} skipped ({o.seconds:.1f} s)", flush=True)
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
    bad = [o.cfg.name for o in outcomes if not o.ok]
    print(f"matrix: {len(outcomes)} configurations, {len(bad)} failed"
          + (f": {', '.join(bad)}" if bad else ""))
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
