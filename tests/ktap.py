"""A tolerant KTAP version 1 reader for mmulab logs.

The log may start with firmware noise (ANSI escapes, CRs) and kernel boot
lines, may be cut anywhere by a panic or a timeout, and nests one subtest
per suite. What comes out: every case as "suite.case" with its status and
the diagnostic lines around it, plus what the run said about itself (the
`mmulab: done` verdict, a panic, bench figures) and every inconsistency
found on the way (plan mismatches, results that never came).
"""

import re
from dataclasses import dataclass, field

ANSI = re.compile(r"\x1b\[[0-9;=?]*[A-Za-z]|\x1b[()][A-Z0-9]")
RESULT = re.compile(r"^(not ok|ok)\s+(\d+)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(\S+)\s*(.*))?$")
PLAN = re.compile(r"^1\.\.(\d+)")
DONE = re.compile(r"^mmulab: done pass=(\d+) fail=(\d+)")
BENCH = re.compile(r"#\s*bench:\s*(\S+?)=(\S+)\s*(.*)$")


@dataclass
class Case:
    name: str
    status: str  # pass, fail, skip, xfail, timeout, crashed
    directive: str = ""
    reason: str = ""
    diagnostics: list = field(default_factory=list)


@dataclass
class Run:
    cases: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    done: tuple = None  # (pass, fail) from the last line's verdict
    panic: str = None
    bench: dict = field(default_factory=dict)
    saw_ktap: bool = False

    def count(self, status):
        return sum(1 for c in self.cases if c.status == status)


@dataclass
class _Level:
    indent: int
    name: str = ""
    plan: int = None
    results: int = 0


def clean(line):
    return ANSI.sub("", line).replace("\r", "").rstrip("\n")


def _status(kind, directive):
    d = (directive or "").upper()
    if d == "SKIP":
        return "skip"
    if d == "TIMEOUT":
        return "timeout"
    if d == "XFAIL":
        return "xfail"
    if d == "TODO":
        return "skip"
    return "pass" if kind == "ok" else "fail"


def parse(text):
    run = Run()
    stack = []
    pending = []  # diagnostics since the last result line

    def close_levels_deeper_than(indent):
        while stack and stack[-1].indent > indent:
            lvl = stack.pop()
            _check_plan(run, lvl, truncated=False)

    for raw in text.splitlines():
        line = clean(raw)
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("mmulab: PANIC:") and run.panic is None:
            run.panic = stripped[len("mmulab: PANIC:"):].strip()
        m = DONE.match(stripped)
        if m:
            run.done = (int(m.group(1)), int(m.group(2)))
            continue
        b = BENCH.search(stripped)
        if b:
            run.bench[b.group(1)] = (b.group(2) + " " + b.group(3)).strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped.startswith("KTAP version"):
            run.saw_ktap = True
            close_levels_deeper_than(indent)
            if not stack or stack[-1].indent < indent:
                stack.append(_Level(indent))
            continue
        if not stack:
            continue
        if stripped.startswith("# Subtest:"):
            close_levels_deeper_than(indent)
            if stack[-1].indent == indent:
                stack[-1].name = stripped[len("# Subtest:"):].strip()
            continue
        if stripped.startswith("#"):
            pending.append(stripped)
            continue
        m = PLAN.match(stripped)
        if m:
            close_levels_deeper_than(indent)
            if stack[-1].indent == indent:
                stack[-1].plan = int(m.group(1))
            continue
        m = RESULT.match(stripped)
        if m:
            close_levels_deeper_than(indent)
            kind, number, name, directive, reason = m.groups()
            lvl = stack[-1]
            lvl.results += 1
            if int(number) != lvl.results:
                run.problems.append(f"result {number} '{name}' out of order in '{lvl.name}'")
            if len(stack) >= 2:  # a case inside a suite
                run.cases.append(Case(f"{lvl.name}.{name}" if lvl.name else name,
                                      _status(kind, directive), directive or "",
                                      reason or "", pending))
            pending = []
    while stack:
        _check_plan(run, stack.pop(), truncated=True)
    return run


def _check_plan(run, lvl, truncated):
    if lvl.plan is None or lvl.results == lvl.plan:
        return
    what = lvl.name or "top level"
    if lvl.results < lvl.plan:
        run.problems.append(f"{what}: {lvl.results} of {lvl.plan} results"
                            + (" (log ends there)" if truncated else ""))
        if lvl.name and truncated:
            run.cases.append(Case(f"{lvl.name}.<case {lvl.results + 1}>", "crashed",
                                  reason="no result: the run ended inside this case"))
    else:
        run.problems.append(f"{what}: {lvl.results} results for a plan of {lvl.plan}")
