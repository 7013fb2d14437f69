#!/usr/bin/env python3
"""Checks a lava-run log against the KTAP the same run printed.

    check-results.py LOG SUITE[,SUITE...] [RESULT[,RESULT...]]

LOG is lava-run's standard output: one YAML mapping a line, "target" lines
being the kernel's serial output and "results" lines LAVA's test cases. Every
KTAP case of the named suites must be a LAVA case of the same suite with the
same result (ok: pass, not ok: fail, # SKIP: skip), with no case more or
less, and the serial output LAVA kept must be strict KTAP; the run's verdict must be the case mmulab/verdict; the monitors and the
job must have finished. Each RESULT named (pass, fail, skip) must be the
result of some case, so a run meant to show a mapping does. Prints one line saying what matched, or every
difference and exits 1.
"""
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "tests"))
import ktap  # noqa: E402

# The kernel's results as LAVA's fixupdict maps them (make-job.py): a
# TIMEOUT or ERROR case is "not ok", a fail; a case cut off by a panic has a
# "not ok ... # ERROR panic" line of its own.
LAVA_RESULT = {"pass": "pass", "skip": "skip", "fail": "fail", "timeout": "fail",
               "error": "fail"}
VERDICT_RESULT = {"pass": "pass", "fail": "fail", "panic": "fail"}


def read_log(path):
    with open(path) as f:
        return [yaml.safe_load(line) for line in f if line.strip()]


def ktap_cases(target_lines):
    """{(suite, case): LAVA result}, the verdict, and what a strict KTAP
    reader (tests/ktap.py) finds wrong, from the serial output."""
    run = ktap.parse("\n".join(target_lines))
    cases = {tuple(c.name.split(".", 1)): LAVA_RESULT.get(c.status, "fail") for c in run.cases}
    verdict = VERDICT_RESULT.get(run.verdict) if run.verdict else None
    return cases, verdict, run.strict


def lava_results(entries):
    """{(definition, case): result} of the test cases, and LAVA's own results."""
    cases, own = {}, {}
    for e in entries:
        msg = e["msg"]
        if e["lvl"] != "results":
            continue
        if msg["definition"] == "lava":
            own[msg["case"]] = msg
        else:
            cases[(msg["definition"], msg["case"])] = msg["result"]
    return cases, own


def differences(suites, kernel, verdict, lava, own):
    problems = []
    for suite in suites:
        if not any(s == suite for s, _ in kernel):
            problems.append(f"suite {suite}: no KTAP case on the serial output")
    for key in sorted(set(kernel) | set(lava)):
        if key[0] == "mmulab":
            continue
        name = ".".join(key)
        if key not in lava:
            problems.append(f"{name}: KTAP says {kernel[key]}, LAVA has no such case")
        elif key not in kernel:
            problems.append(f"{name}: LAVA has {lava[key]}, the KTAP has no such case")
        elif kernel[key] != lava[key]:
            problems.append(f"{name}: KTAP says {kernel[key]}, LAVA says {lava[key]}")
    if verdict is None:
        problems.append("no 'mmulab: done ... verdict=' line on the serial output")
    elif lava.get(("mmulab", "verdict")) != verdict:
        problems.append(f"mmulab.verdict: the kernel says {verdict}, "
                        f"LAVA says {lava.get(('mmulab', 'verdict'), 'nothing')}")
    monitor = own.get("lava-test-monitor", {})
    if monitor.get("extra", {}).get("status") != "passed":
        problems.append("the monitors did not all see their end line "
                        f"(lava-test-monitor: {monitor.get('extra', 'no result')})")
    if own.get("job", {}).get("result") != "pass":
        problems.append(f"the LAVA job did not finish: {own.get('job', 'no job result')}")
    return problems


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    entries = read_log(sys.argv[1])
    suites = sys.argv[2].split(",")
    target = [e["msg"] for e in entries if e["lvl"] == "target" and isinstance(e["msg"], str)]
    cases, verdict, not_ktap = ktap_cases(target)
    lava, own = lava_results(entries)
    problems = [f"serial output: {p}" for p in not_ktap]
    problems += differences(suites, cases, verdict, lava, own)
    for wanted in sys.argv[3].split(",") if len(sys.argv) == 4 else []:
        if wanted not in [r for key, r in lava.items() if key[0] != "mmulab"]:
            problems.append(f"no LAVA case has the result {wanted}: this run cannot show its mapping")
    if problems:
        for p in problems:
            print(f"lava-check: {p}")
        print(f"lava-check: FAIL ({len(problems)} differences; log {sys.argv[1]})")
        sys.exit(1)
    per_suite = ", ".join(f"{s} {sum(1 for k in cases if k[0] == s)}" for s in suites)
    per_result = ", ".join(f"{r} {list(cases.values()).count(r)}" for r in ("pass", "fail", "skip"))
    print(f"lava-check: {len(cases)} KTAP cases ({per_suite}; {per_result}) are LAVA cases "
          f"with the same results; verdict {verdict}")


if __name__ == "__main__":
    main()
