#!/usr/bin/env python3
"""Fails when kernel code writes a page-table entry other than through the
accessors of arch/x86/include/arch/pgtable.h.

Every store into a table (set_pXd, pXd_clear, pXd_xchg, pgd_copy_range,
pt_table_clear) lives in that header, so the read-only page-table mode
redirects all of them in one place, to its validator (arch/x86/pv_mmu.c,
the other file allowed to touch entry words). The compiler already refuses `*pte = e`
(the raw field is const) and the old field name `val`; this scan catches
what it cannot: the raw field spelled out, casts of an entry pointer to a
plain word, memset/memcpy onto a table, frame masks built by hand, and
tables walked as raw u64 arrays.

    tools/check-entry-writes.py [--root DIR]

Prints one `file:line: why: text` per finding and exits 1, or exits 0.
"""

import argparse
import pathlib
import re
import sys

SCANNED = ("mm", "kernel", "tests/kernel", "arch")
HEADER = "arch/x86/include/arch/pgtable.h"
# The read-only mode's validator plays the hypervisor: it is where the
# accessors' stores end up, and it works on machine words by design.
VALIDATOR = "arch/x86/pv_mmu.c"
LEVELS = r"(?:pgd|pud|pmd|pte)_t"

# Names a file declares as pointers to entries (`pte_t *pte`, `pmd_t *pd`).
ENTRY_POINTER = re.compile(LEVELS + r"\s*\*\s*(\w+)")

RULES = [
    (re.compile(r"\b(__raw_pgtable_h_only|PT_RAW|PT_SLOT_WORD)\b"),
     "the raw entry field belongs to " + HEADER),
    (re.compile(r"(\.|->)\s*val\b"), "raw entry field (.val / ->val)"),
    (re.compile(r"\b_PAGE_ADDR_MASK\b"),
     "hand-built frame mask: use pXd_paddr / pte_set_paddr / pt_root_of_cr3"),
    (re.compile(r"\(\s*(?:const\s+)?u64\s*\*\s*\)\s*&"),
     "address of an entry taken as a plain word"),
    (re.compile(r"\bu64\s*\*\s*(?:pml4|pdpt|pd|pt|pgd|pud|pmd|pte)\b"),
     "table walked as raw u64 words: use pgd_t/pud_t/pmd_t/pte_t"),
    (re.compile(r"\bmem(?:set|cpy|move)\s*\(\s*\(\s*" + LEVELS + r"\s*\*"),
     "memset/memcpy onto a table: use pt_table_clear / pgd_copy_range"),
]


def pointer_rules(names):
    """Stores through, and raw copies onto, the entry pointers of a file."""
    if not names:
        return []
    alt = "|".join(sorted(names))
    return [
        (re.compile(r"(?:^|[;{}]|\belse\b)\s*\*\s*\(?\s*(?:" + alt + r")\b[^=;]*=(?!=)"),
         "struct store into an entry: use set_pXd / pXd_clear / pXd_xchg"),
        (re.compile(r"\b(?:" + alt + r")\s*\[[^\]]*\]\s*=(?!=)"),
         "store into a table slot: use set_pXd"),
        (re.compile(r"\bmem(?:set|cpy|move)\s*\(\s*&?\s*(?:" + alt + r")\b"),
         "memset/memcpy onto a table: use pt_table_clear / pgd_copy_range"),
        (re.compile(r"\(\s*(?:const\s+)?u64\s*\*\s*\)\s*(?:" + alt + r")\b"),
         "entry pointer cast to a plain word"),
    ]


def strip_comments(text):
    """Blanks comments and string literals, keeping line numbers."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', blank, text, flags=re.S)


def scan_file(path, rel):
    code = strip_comments(path.read_text(errors="replace"))
    rules = RULES + pointer_rules(set(ENTRY_POINTER.findall(code)))
    raw_lines = path.read_text(errors="replace").splitlines()
    found = []
    for n, line in enumerate(code.splitlines(), 1):
        for rx, why in rules:
            if rx.search(line):
                found.append(f"{rel}:{n}: {why}: {raw_lines[n - 1].strip()}")
                break
    return found


def scan(root):
    root = pathlib.Path(root)
    found = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".c", ".h") or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            if rel not in (HEADER, VALIDATOR):
                found += scan_file(path, rel)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent)
    found = scan(ap.parse_args().root)
    for f in found:
        print(f)
    if found:
        print(f"check-entry-writes: {len(found)} entry write(s) outside {HEADER}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
