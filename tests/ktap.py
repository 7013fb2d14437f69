"""A KTAP version 1 reader for mmulab logs, tolerant and strict at once.

The log may start with firmware noise (ANSI escapes, CRs) and kernel boot
lines, may be cut anywhere by a timeout, and nests one subtest per suite.
What comes out: every case as "suite.case" with its status and the
diagnostic lines before its result, plus what the run said about itself
(the closing `mmulab: done` line, `# totals:`, a panic, bench figures).

Two lists of what is wrong:
  problems  what the tolerant reading noticed (plans short, results out of
            order); a log cut short still yields the cases it holds.
  strict    everything a strict KTAP consumer (Documentation/dev-tools/
            ktap.rst; Linux's kunit parser) would object to, and more: every
            plan met, every subtest closed by its result line under the
            subtest's name, suites "not ok" exactly when a case is, the
            `# totals:` and closing lines present and equal to the counts of
            the result lines, the verdict agreeing with them. The kernel
            keeps all of this true even after a panic or a watchdog stop.
"""

import re
from dataclasses import dataclass, field

ANSI = re.compile(r"\x1b\[[0-9;=?]*[A-Za-z]|\x1b[()][A-Z0-9]")
RESULT = re.compile(r"^(not ok|ok)\s+(\d+)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(\S+)\s*(.*))?$")
PLAN = re.compile(r"^1\.\.(\d+)")
DONE = re.compile(r"^mmulab: done pass=(\d+) fail=(\d+)(?: skip=(\d+) error=(\d+))?"
                  r"(?: verdict=(\w+))?")
TOTALS = re.compile(r"^# totals: pass=(\d+) fail=(\d+) skip=(\d+)(?: error=(\d+))?")
PANIC = re.compile(r"^(?:#\s*)?mmulab: PANIC:\s*(.*)$")
BENCH = re.compile(r"#\s*bench:\s*(\S+?)=(\S+)\s*(.*)$")

# How each status counts in the kernel's totals.
COUNTED_AS = {"pass": "pass", "xfail": "pass", "fail": "fail", "timeout": "fail",
              "skip": "skip", "error": "error"}


@dataclass
class Case:
    name: str
    status: str  # pass, fail, skip, xfail, timeout, error, crashed (no result line)
    directive: str = ""
    reason: str = ""
    diagnostics: list = field(default_factory=list)


@dataclass
class Run:
    cases: list = field(default_factory=list)
    suites: list = field(default_factory=list)  # (name, status) of top-level results
    problems: list = field(default_factory=list)
    strict: list = field(default_factory=list)
    done: dict = None    # pass, fail, skip, error (None if not given), verdict (None)
    totals: dict = None  # from "# totals:"
    panic: str = None
    bench: dict = field(default_factory=dict)
    saw_ktap: bool = False

    def count(self, status):
        return sum(1 for c in self.cases if c.status == status)

    def counts(self):
        """The result lines counted as the kernel counts them."""
        out = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
        for c in self.cases:
            if c.status in COUNTED_AS:
                out[COUNTED_AS[c.status]] += 1
        return out

    @property
    def verdict(self):
        """The closing line's verdict (derived from its counts if it has none)."""
        if not self.done:
            return None
        if self.done["verdict"]:
            return self.done["verdict"]
        return "fail" if self.done["fail"] or self.done["error"] else "pass"


@dataclass
class _Level:
    indent: int
    name: str = ""
    plan: int = None
    results: int = 0
    bad: bool = False  # some result at this level is not ok


def clean(line):
    return ANSI.sub("", line).replace("\r", "").rstrip("\n")


def _status(kind, directive):
    d = (directive or "").upper()
    if d in ("SKIP", "TODO"):
        return "skip"
    if d == "TIMEOUT":
        return "timeout"
    if d == "XFAIL":
        return "xfail"
    if d == "ERROR":
        return "error"
    return "pass" if kind == "ok" else "fail"


def _numbers(m):
    return {k: (int(v) if v is not None else None)
            for k, v in zip(("pass", "fail", "skip", "error"), m.groups()[:4])}


def parse(text):
    run = Run()
    stack = []
    pending = []          # diagnostics since the last result line
    unclosed = None       # a subtest that ended and awaits its result line
    closing_seen = False

    def close_levels_deeper_than(indent):
        nonlocal unclosed
        while stack and stack[-1].indent > indent:
            lvl = stack.pop()
            _check_plan(run, lvl, truncated=False)
            if unclosed is not None:
                run.strict.append(f"subtest '{unclosed.name}': missing subtest result line")
            unclosed = lvl

    def expect_no_unclosed():
        nonlocal unclosed
        if unclosed is not None:
            run.strict.append(f"subtest '{unclosed.name}': missing subtest result line")
            unclosed = None

    for raw in text.splitlines():
        line = clean(raw)
        stripped = line.strip()
        if not stripped:
            continue
        p = PANIC.match(stripped)
        if p and run.panic is None:
            run.panic = p.group(1).strip()
        m = DONE.match(stripped)
        if m:
            run.done = dict(_numbers(m), verdict=m.group(5))
            closing_seen = True
            continue
        m = TOTALS.match(stripped)
        if m:
            run.totals = _numbers(m)
        b = BENCH.search(stripped)
        if b:
            run.bench[b.group(1)] = (b.group(2) + " " + b.group(3)).strip()
        indent = len(line) - len(line.lstrip(" "))
        is_result = RESULT.match(stripped)
        is_ktap = (stripped.startswith("KTAP version") or stripped.startswith("# Subtest:")
                   or PLAN.match(stripped) or is_result)
        if is_ktap and closing_seen:
            run.strict.append(f"KTAP after the closing line: '{stripped}'")
        if stripped.startswith("KTAP version"):
            run.saw_ktap = True
            close_levels_deeper_than(indent)
            expect_no_unclosed()
            if len(stack) >= 2 and stack[-1].indent == indent:
                # A sibling subtest begins: the open one never got its result.
                close_levels_deeper_than(indent - 1)
                expect_no_unclosed()
            if not stack or stack[-1].indent < indent:
                stack.append(_Level(indent))
            continue
        if not stack:
            continue
        if stripped.startswith("# Subtest:"):
            close_levels_deeper_than(indent)
            expect_no_unclosed()
            if stack[-1].indent == indent:
                stack[-1].name = stripped[len("# Subtest:"):].strip()
            continue
        if stripped.startswith("#"):
            pending.append(stripped)
            continue
        m = PLAN.match(stripped)
        if m:
            close_levels_deeper_than(indent)
            expect_no_unclosed()
            if stack[-1].indent == indent:
                stack[-1].plan = int(m.group(1))
            continue
        if not is_result:
            continue
        close_levels_deeper_than(indent)
        kind, number, name, directive, reason = is_result.groups()
        status = _status(kind, directive)
        lvl = stack[-1]
        lvl.results += 1
        if int(number) != lvl.results:
            run.problems.append(f"result {number} '{name}' out of order in '{lvl.name}'")
            run.strict.append(f"result {number} '{name}' out of order in '{lvl.name}'")
        if status not in ("pass", "skip", "xfail"):
            lvl.bad = True
        if unclosed is not None:
            if unclosed.name != name:
                run.strict.append(f"subtest '{unclosed.name}' closed by a result named '{name}'")
            if unclosed.bad != (kind == "not ok"):
                run.strict.append(f"subtest '{unclosed.name}' is '{kind}' but "
                                  + ("has" if unclosed.bad else "has no")
                                  + " failed or error cases")
            unclosed = None
        if len(stack) >= 2:  # a case inside a suite
            run.cases.append(Case(f"{lvl.name}.{name}" if lvl.name else name, status,
                                  directive or "", reason or "", pending))
        else:
            run.suites.append((name, status))
        pending = []
    expect_no_unclosed()
    while stack:
        lvl = stack.pop()
        _check_plan(run, lvl, truncated=True)
        if stack:
            run.strict.append(f"subtest '{lvl.name}': missing subtest result line "
                              "(the log ends inside it)")
    _check_closing(run)
    return run


def _check_plan(run, lvl, truncated):
    what = lvl.name or "top level"
    if lvl.plan is None:
        run.strict.append(f"{what}: no plan line")
        return
    if lvl.results == lvl.plan:
        return
    if lvl.results < lvl.plan:
        msg = f"{what}: {lvl.results} of {lvl.plan} results"
        run.problems.append(msg + (" (log ends there)" if truncated else ""))
        if lvl.name and truncated:
            run.cases.append(Case(f"{lvl.name}.<case {lvl.results + 1}>", "crashed",
                                  reason="no result: the run ended inside this case"))
    else:
        msg = f"{what}: {lvl.results} results for a plan of {lvl.plan}"
        run.problems.append(msg)
    run.strict.append(msg)


def _check_closing(run):
    counts = run.counts()
    line = " ".join(f"{k}={v}" for k, v in counts.items())
    if run.done is None:
        run.strict.append("no closing line 'mmulab: done ... verdict=...'")
    else:
        said = {k: v for k, v in run.done.items() if k != "verdict" and v is not None}
        if any(counts[k] != v for k, v in said.items()):
            run.strict.append(f"closing line says {_fmt(said)}, the result lines say {line}")
        if run.done["verdict"] is None or run.done["skip"] is None:
            run.strict.append("closing line without skip=, error= and verdict=")
        _check_verdict(run, counts)
    if run.saw_ktap or run.totals is not None:
        if run.totals is None:
            run.strict.append("no '# totals:' line")
        else:
            said = {k: v for k, v in run.totals.items() if v is not None}
            if any(counts[k] != v for k, v in said.items()):
                run.strict.append(f"'# totals:' says {_fmt(said)}, the result lines say {line}")


def _check_verdict(run, counts):
    verdict = run.verdict
    failed = counts["fail"] + counts["error"]
    timeouts = run.count("timeout")
    if verdict == "pass" and (failed or run.panic):
        run.strict.append("verdict=pass with failed or error cases or a panic")
    elif verdict == "fail" and (run.panic or timeouts or (run.saw_ktap and not failed)):
        run.strict.append("verdict=fail but " + ("a panic" if run.panic else
                          "a watchdog timeout" if timeouts else "no case failed"))
    elif verdict == "panic" and not (run.panic or timeouts):
        run.strict.append("verdict=panic without a panic or a watchdog timeout")
    elif verdict not in ("pass", "fail", "panic"):
        run.strict.append(f"unknown verdict '{verdict}'")


def _fmt(d):
    return " ".join(f"{k}={v}" for k, v in d.items())
