"""Entry writes go through arch/x86/include/arch/pgtable.h, and both guards
that keep it so can fail.

The compiler: the raw field is const and privately named, so a struct store
through an entry pointer or the old `->val` does not build (the control,
the same function through set_pte, does). The scan (tools/check-entry-
writes.py): the tree as it is passes; a copy of the tree with one raw write
planted in mm/memory.c fails and names the file and line, for each kind of
raw write it looks for.
"""

import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKER = ROOT / "tools" / "check-entry-writes.py"
TREES = ("mm", "kernel", "tests/kernel", "arch")

# A line planted at the end of mm/memory.c: each one a raw entry write.
PLANTS = {
    "field by its old name": "void planted(pte_t *pte) { pte->val = 0; }",
    "raw field spelled out": "void planted(pte_t *pte) { *(u64 *)&pte->__raw_pgtable_h_only = 0; }",
    "struct store": "void planted(pte_t *pte) { *pte = __pte(0); }",
    "slot store": "void planted(pmd_t *pmd) { pmd[3] = __pmd(0); }",
    "memset onto a table": "void planted(pmd_t *pmd) { memset(pmd, 0, PAGE_SIZE); }",
    "memcpy onto a top level": "void planted(void *a, void *b) { memcpy((pgd_t *)a, b, 8); }",
    "hand-built frame mask": "paddr_t planted(u64 e) { return e & _PAGE_ADDR_MASK; }",
    "entry pointer as a word": "void planted(pte_t *pte) { __atomic_store_n((u64 *)pte, 0, 0); }",
    "table as raw words": "void planted(u64 *pgd) { (void)pgd; }",
}

SNIPPET = """#include <mmulab/types.h>
#include <arch/pgtable.h>
void f(pte_t *slot, pte_t e) { %s }
"""


def run_checker(root):
    return subprocess.run([sys.executable, str(CHECKER), "--root", str(root)],
                          capture_output=True, text=True)


class EntryWrites(unittest.TestCase):
    def test_tree_is_clean(self):
        r = run_checker(ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_each_planted_write_is_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            for top in TREES:
                shutil.copytree(ROOT / top, pathlib.Path(tmp) / top)
            target = pathlib.Path(tmp) / "mm" / "memory.c"
            clean = target.read_text()
            line = clean.count("\n") + 1
            for kind, plant in PLANTS.items():
                with self.subTest(kind):
                    target.write_text(clean + plant + "\n")
                    r = run_checker(tmp)
                    self.assertEqual(r.returncode, 1, r.stdout)
                    self.assertIn(f"mm/memory.c:{line}:", r.stdout)
            target.write_text(clean)
            self.assertEqual(run_checker(tmp).returncode, 0)

    def compiles(self, body):
        with tempfile.TemporaryDirectory() as tmp:
            src = pathlib.Path(tmp) / "t.c"
            src.write_text(SNIPPET % body)
            r = subprocess.run(["gcc", "-std=gnu11", "-fsyntax-only", "-Werror",
                                "-I", str(ROOT / "include"), "-I", str(ROOT / "arch/x86/include"),
                                str(src)], capture_output=True, text=True)
            return r.returncode == 0

    def test_compiler_refuses_raw_stores(self):
        self.assertTrue(self.compiles("set_pte(slot, e);"))
        self.assertFalse(self.compiles("*slot = e;"))
        self.assertFalse(self.compiles("slot->val = 0;"))
        self.assertFalse(self.compiles("slot[1] = e;"))


if __name__ == "__main__":
    unittest.main()
