"""tools/check-layering.py: passes on this tree, fails on a copy with one
forbidden include added (or one allowed include no longer needed)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "check-layering.py")


def run(root):
    p = subprocess.run([sys.executable, SCRIPT, "--root", root], capture_output=True, text=True)
    return p.returncode, p.stdout


class Layering(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        for top in ("arch", "kernel", "mm", "include", "docs"):
            shutil.copytree(os.path.join(ROOT, top), os.path.join(self.tmp, top))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def edit(self, path, old, new):
        full = os.path.join(self.tmp, path)
        with open(full) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(full, "w") as f:
            f.write(text.replace(old, new, 1))

    def assert_fails(self, case, detail):
        status, out = run(self.tmp)
        self.assertEqual(status, 1, out)
        self.assertRegex(out, rf"\n  not ok \d+ {case}\n")
        self.assertIn(detail, out)
        self.assertIn("verdict=fail", out)

    def test_real_tree_passes(self):
        status, out = run(ROOT)
        self.assertEqual(status, 0, out)
        self.assertIn("fail=0", out)

    def test_copy_passes(self):
        self.assertEqual(run(self.tmp)[0], 0)

    def test_mm_including_an_unlisted_arch_header_fails(self):
        self.edit("mm/vma.c", "#include <mmulab/vma.h>", "#include <mmulab/vma.h>\n#include <arch/apic.h>")
        self.assert_fails("mm_includes_listed_arch_headers", "mm/vma.c:4: includes <arch/apic.h>")

    def test_kernel_including_an_unlisted_arch_header_fails(self):
        self.edit("kernel/glob.c", "#include <mmulab/glob.h>", "#include <mmulab/glob.h>\n#include <arch/io.h>")
        self.assert_fails("kernel_includes_listed_arch_headers", "kernel/glob.c:4: includes <arch/io.h>")

    def test_neutral_header_including_an_unlisted_arch_header_fails(self):
        self.edit("include/mmulab/vma.h", "#include <mmulab/prot.h>",
                  "#include <mmulab/prot.h>\n#include <arch/cpu.h>")
        self.assert_fails("neutral_headers_include_listed_arch_headers", "include/mmulab/vma.h")

    def test_arch_including_an_mm_header_fails(self):
        self.edit("arch/x86/serial.c", "#include <arch/io.h>", "#include <arch/io.h>\n#include <mmulab/memory.h>")
        self.assert_fails("arch_includes_no_mm_or_test_headers", "an mm-only header")

    def test_arch_including_a_test_header_fails(self):
        self.edit("arch/x86/serial.c", "#include <arch/io.h>",
                  '#include <arch/io.h>\n#include "../../tests/kernel/probe.h"')
        self.assert_fails("arch_includes_no_mm_or_test_headers", "from mm/ or tests/")
        self.edit("arch/x86/serial.c", '#include "../../tests/kernel/probe.h"', "#include <mmulab/test.h>")
        self.assert_fails("arch_includes_no_mm_or_test_headers", "the test harness")

    def test_mm_including_the_test_harness_fails(self):
        self.edit("mm/vma.c", "#include <mmulab/vma.h>", "#include <mmulab/vma.h>\n#include <mmulab/test.h>")
        self.assert_fails("mm_includes_no_test_harness", "mm/vma.c:4: includes <mmulab/test.h>")

    def test_entry_no_longer_needed_fails(self):
        self.edit("mm/mm.c", "#include <arch/cpu.h>", "")
        self.assert_fails("allowed_list_has_no_stale_entry", "mm/mm.c: listed for cpu.h")

    def test_docs_differing_from_the_list_fails(self):
        self.edit("docs/ARCHITECTURE.md", "| `mm/mm.c` | `arch/cpu.h` |", "| `mm/mm.c` | `arch/tsc.h` |")
        self.assert_fails("docs_show_the_list", "--update-docs")


if __name__ == "__main__":
    unittest.main()
