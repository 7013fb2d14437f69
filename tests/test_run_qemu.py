"""run-qemu.sh must not read QEMU's own failure as the kernel's verdict.

QEMU exits 1 when it refuses to start, and 1 is also what isa-debug-exit
makes of the kernel's pass verdict. run-qemu.sh reads the verdict from the
kernel's closing line instead; with no closing line it exits 2 and QEMU's
message stays on stderr. Each case here makes QEMU refuse to start, which
it does at once, so the cases are quick.
"""

import os
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "run-qemu.sh")
EFI = os.path.join(ROOT, "build", "BOOTX64.EFI")


def have_qemu():
    return (os.path.exists(EFI) and os.path.exists("/usr/share/OVMF/OVMF_CODE_4M.fd")
            and subprocess.run(["sh", "-c", "command -v qemu-system-x86_64"],
                               capture_output=True).returncode == 0)


@unittest.skipUnless(have_qemu(), "needs QEMU, OVMF and build/BOOTX64.EFI")
class QemuRefusesToStart(unittest.TestCase):
    def run_qemu(self, *args):
        # Options first: everything after "--" goes to QEMU.
        opts, extra = list(args), []
        if "--" in opts:
            extra = opts[opts.index("--"):]
            opts = opts[:opts.index("--")]
        proc = subprocess.run([SCRIPT, "--timeout", "60"] + opts + extra, cwd=ROOT,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=120)
        return proc

    def assert_refused(self, proc, qemu_says):
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("qemu-system-x86_64:", proc.stderr)
        self.assertIn(qemu_says, proc.stderr)
        self.assertIn("run-qemu: QEMU did not start", proc.stderr)

    def test_bad_cpu_model(self):
        self.assert_refused(self.run_qemu("--nodes", "1", "--cpus", "1", "--cpu", "nosuchcpu"),
                            "nosuchcpu")

    def test_distance_qemu_rejects(self):
        self.assert_refused(self.run_qemu("--nodes", "2", "--cpus", "2", "--dist", "0-1=5"),
                            "NUMA distance (5) is invalid")

    def test_more_cpus_than_the_machine_allows(self):
        self.assert_refused(self.run_qemu("--nodes", "1", "--cpus", "5000"), "Invalid SMP CPUs")

    def test_bad_extra_qemu_argument(self):
        self.assert_refused(self.run_qemu("--nodes", "1", "--cpus", "1", "--", "-nosuchoption"),
                            "-nosuchoption")


if __name__ == "__main__":
    unittest.main()
