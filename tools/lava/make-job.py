#!/usr/bin/env python3
"""Writes a LAVA job that runs mmulab's suites and turns every KTAP case into
a LAVA test case.

    make-job.py qemu --kernel-url URL --ovmf-code-url URL --ovmf-vars-url URL
                [--suites a,b,c | --suites default] [--elf build/kernel.elf] [--out job.yaml]
                [--device-out device.yaml]
    make-job.py x86-uefi-usb --image-url URL [--suites ...] [--elf ...] [--out job.yaml]

The kernel prints no shell prompt, so the test action is `monitors`: one
monitor per suite, named after it (LAVA's suite), whose cases are the
suite's KTAP lines, and a last monitor "mmulab" holding the run's verdict.
LAVA runs monitors one after the other, each waiting for its start line, so
they must be in the order the kernel runs the suites: its link order, read
from the kernel ELF's symbols (nm).

--device-out writes the device dictionary lava-run needs for the qemu job
(tools/lava/qemu-device.yaml plus the job's extra QEMU options, as a LAVA
server would render it).
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# A case line of a suite's subtest: "  ok 3 name", "  not ok 3 name # ERROR
# why", "  ok 3 name # SKIP why". LAVA takes the result from one named group
# and Python's re allows a name once, so `result` is captured inside a
# lookahead: from "SKIP" when the line is a skip, from "ok"/"not ok" when not.
# LAVA matches whatever part of a line has arrived: the line must be whole
# (its \r or \n seen), or a name is cut short and a skip read as a pass.
CASE_PATTERN = (r"\n  (?=(?:ok \d+ \S+ # )?(?P<result>SKIP|not ok|ok))"
                r"(?:not )?ok \d+ (?P<test_case_id>\S+)(?: [^\r\n]*)?(?=[\r\n])")
CASE_RESULTS = {"ok": "pass", "not ok": "fail", "SKIP": "skip"}

# "mmulab: done pass=.. fail=.. skip=.. error=.. verdict=pass|fail|panic"
VERDICT_START = r"\nmmulab: done "
VERDICT_PATTERN = r"(?P<test_case_id>verdict)=(?P<result>pass|fail|panic)(?=\s)"
VERDICT_RESULTS = {"panic": "fail"}

# What run-qemu.sh's default UEFI boot gives the kernel: q35, two NUMA nodes
# of two CPUs, 2 GiB, the exit device the kernel ends QEMU with. TCG (no_kvm)
# as in CI, so a lab's results compare with ours.
QEMU_CONTEXT = {
    "arch": "amd64",
    "no_kvm": True,
    "memory": 2048,
    "extra_options": [
        "-machine q35",
        "-cpu max",
        "-smp 4,sockets=2,cores=2,threads=1",
        "-object memory-backend-ram,id=m0,size=1024M -numa node,nodeid=0,memdev=m0",
        "-object memory-backend-ram,id=m1,size=1024M -numa node,nodeid=1,memdev=m1",
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1",
        "-device isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-no-reboot",
    ],
}


def suites_in_run_order(elf):
    """Every TEST_SUITE() of the kernel, in the order the kernel runs them."""
    nm = subprocess.run(["nm", "-n", str(elf)], check=True, capture_output=True, text=True)
    names, inside = [], False
    for line in nm.stdout.splitlines():
        symbol = line.split()[-1]
        if symbol == "__test_suites_start":
            inside = True
        elif symbol == "__test_suites_end":
            break
        elif inside and symbol.endswith("_suite"):
            names.append(symbol[: -len("_suite")])
    return names


def opt_in_suites():
    """Suites declared TEST_OPT_IN: not in a run without tests=."""
    found = set()
    for source in (ROOT / "tests" / "kernel").glob("*.c"):
        for m in re.finditer(r"TEST_SUITE_FLAGS\((\w+),([^,]*),", source.read_text()):
            if "TEST_OPT_IN" in m.group(2):
                found.add(m.group(1))
    return found


def selected_suites(request, elf):
    ordered = suites_in_run_order(elf)
    if request == "default":
        skipped = opt_in_suites()
        return [s for s in ordered if s not in skipped]
    wanted = request.split(",")
    unknown = [s for s in wanted if s not in ordered]
    if unknown:
        sys.exit(f"make-job: no suite named {', '.join(unknown)} in {elf} "
                 f"(suites: {', '.join(ordered)})")
    return [s for s in ordered if s in wanted]


def monitors(suites):
    per_suite = [{
        "name": s,
        "start": rf"# Subtest: {s}\s",
        "end": rf"\n(?:not )?ok \d+ {s}\s",
        "pattern": CASE_PATTERN,
        "fixupdict": dict(CASE_RESULTS),
    } for s in suites]
    verdict = {
        "name": "mmulab",
        "start": VERDICT_START,
        "end": r"\n",
        "pattern": VERDICT_PATTERN,
        "fixupdict": VERDICT_RESULTS,
    }
    return per_suite + [verdict]


def tests_option(suites, request):
    return "" if request == "default" else "tests=" + ",".join(suites)


def qemu_job(args, suites):
    append = tests_option(suites, args.suites)
    kernel_arg = "-kernel {kernel}" + (f" -append {append}" if append else "")
    return {
        "device_type": "qemu",
        "job_name": f"mmulab {append or 'default suites'} (qemu, OVMF)",
        "timeouts": {"job": {"minutes": 15}, "action": {"minutes": 10},
                     "connection": {"minutes": 2}},
        "priority": "medium",
        "visibility": "public",
        "context": QEMU_CONTEXT,
        "actions": [
            {"deploy": {
                "to": "tmpfs",
                "timeout": {"minutes": 5},
                "images": {
                    "ovmf_code": {"url": args.ovmf_code_url, "image_arg":
                                  "-drive if=pflash,format=raw,readonly=on,file={ovmf_code}"},
                    # Downloaded per job: a writable copy of the variable store.
                    "ovmf_vars": {"url": args.ovmf_vars_url, "image_arg":
                                  "-drive if=pflash,format=raw,file={ovmf_vars}"},
                    # OVMF starts the EFI application QEMU hands it, with
                    # -append as its load options: the kernel's command line.
                    "kernel": {"url": args.kernel_url, "image_arg": kernel_arg},
                },
            }},
            {"boot": {"method": "qemu", "media": "tmpfs", "timeout": {"minutes": 2}}},
            {"test": {"timeout": {"minutes": 10}, "monitors": monitors(suites)}},
        ],
    }


def usb_job(args, suites):
    return {
        # LAB: the device type of your x86 UEFI machines.
        "device_type": "LAB-x86-uefi-device-type",
        "job_name": "mmulab on an x86 UEFI machine, USB image",
        "timeouts": {"job": {"minutes": 60}, "action": {"minutes": 45},
                     "connection": {"minutes": 5}},
        "priority": "medium",
        "visibility": "public",
        "actions": [
            # The worker writes the image to the stick the machine boots from
            # (a USB-SD-mux or a switched USB port): the device dictionary's
            # flasher command, with {IMAGE} the downloaded file.
            {"deploy": {
                "to": "flasher",
                "timeout": {"minutes": 10},
                "images": {"image": {"url": args.image_url}},
            }},
            # Power on and read the serial console; the firmware's boot order
            # (or its removable-media default) starts EFI/BOOT/BOOTX64.EFI, and
            # the kernel reads its command line from EFI/BOOT/CMDLINE.TXT.
            {"boot": {"method": "minimal", "timeout": {"minutes": 5}}},
            {"test": {"timeout": {"minutes": 45}, "monitors": monitors(suites)}},
        ],
    }


QEMU_HEADER = """\
# mmulab's suites on LAVA's qemu device type: OVMF boots BOOTX64.EFI (QEMU's
# -kernel, the command line as -append), every KTAP case becomes a LAVA test
# case of its suite. Written by tools/lava/make-job.py; `make lava-check`
# runs it here with lava-run. A lab replaces LAB-STORAGE with where it serves
# build/BOOTX64.EFI and Debian's OVMF_CODE_4M.fd / OVMF_VARS_4M.fd (package
# ovmf), or writes its own with make-job.py --kernel-url ... --suites ...
"""

USB_HEADER = """\
# mmulab on a real x86 UEFI machine booting build/mmulab-usb.img from a USB
# stick. Not runnable here (no such machine): a lab fills in
#   device_type        its device type for the machine (LAB-x86-uefi-device-type)
#   images.image.url   where it serves the image (LAB-STORAGE)
# and its device dictionary gives (tools/lava/x86-uefi-usb-device.example.yaml):
#   actions.deploy.methods.flasher.commands  write {IMAGE} to the stick, e.g.
#       a USB-SD-mux switched to the worker, dd, switched back to the machine
#   commands.power_on / power_off / hard_reset  its PDU or BMC (ipmitool)
#   commands.connect   its serial console (ser2net, or IPMI serial-over-LAN)
# The kernel's command line is the image's EFI/BOOT/CMDLINE.TXT: set it before
# serving the image (tools/mkusb.sh --set-cmdline IMG "on_done=poweroff").
# The monitors are those of every default suite, in the build's run order:
# regenerate with make-job.py x86-uefi-usb --suites ... for another build.
"""


def device_dictionary(job):
    device = yaml.safe_load((HERE / "qemu-device.yaml").read_text())
    qemu = device["actions"]["boot"]["methods"]["qemu"]["parameters"]
    qemu["extra"] = job["context"]["extra_options"]
    return device


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("device", choices=["qemu", "x86-uefi-usb"])
    p.add_argument("--suites", default="default",
                   help="comma-separated suite names, or 'default' (every suite not opt-in)")
    p.add_argument("--elf", default=str(ROOT / "build" / "kernel.elf"))
    p.add_argument("--kernel-url", default="https://LAB-STORAGE/mmulab/BOOTX64.EFI")
    p.add_argument("--ovmf-code-url", default="https://LAB-STORAGE/mmulab/OVMF_CODE_4M.fd")
    p.add_argument("--ovmf-vars-url", default="https://LAB-STORAGE/mmulab/OVMF_VARS_4M.fd")
    p.add_argument("--image-url", default="https://LAB-STORAGE/mmulab/mmulab-usb.img")
    p.add_argument("--out", default="-")
    p.add_argument("--device-out")
    args = p.parse_args()

    suites = selected_suites(args.suites, args.elf)
    if args.device == "qemu":
        job, header = qemu_job(args, suites), QEMU_HEADER
    else:
        job, header = usb_job(args, suites), USB_HEADER
    text = header + yaml.safe_dump(job, sort_keys=False, width=200)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
    if args.device_out:
        if args.device != "qemu":
            sys.exit("make-job: --device-out is for the qemu job only")
        Path(args.device_out).write_text(yaml.safe_dump(device_dictionary(job), sort_keys=False))


if __name__ == "__main__":
    main()
