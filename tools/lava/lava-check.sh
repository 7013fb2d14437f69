#!/usr/bin/env bash
# `make lava-check`: runs the qemu LAVA job here with Debian's lava-dispatcher
# (lava-run, no LAVA server) and checks that its results are the KTAP cases
# the same run printed (tools/lava/check-results.py). Two runs:
#   passing   paging,boot_info,page_alloc: every case passes, verdict pass;
#   mixed     harness_selftest,audit: two cases fail on purpose and two skip
#             (no mmu=pv), verdict fail: the fail and skip mappings are used.
#
#   tools/lava/lava-check.sh [SUITES]     one run of SUITES instead
#
# Then the real-machine job (x86-uefi-usb) passes lava-run --validate, and
# tools/lava/qemu-uefi.yaml is what make-job.py writes.
#
# Writes build/lava/NAME/: job.yaml and device.yaml (what lava-run was
# given), lava-run.log (its log: serial output and results), out/. lava-run
# keeps its downloads under /var/lib/lava/dispatcher/tmp: run as root, as a
# LAVA worker does.
set -euo pipefail
cd "$(dirname "$0")/../.."

ovmf=/usr/share/OVMF

die() { echo "lava-check: $*" >&2; exit 1; }

# run NAME SUITES [RESULTS]: one lava-run of the qemu job; fails if lava-run
# or the comparison does, or no case has one of RESULTS.
run() {
    local out=build/lava/$1 suites=$2 results=${3:-} status=0
    rm -rf "$out"
    mkdir -p "$out"
    tools/lava/make-job.py qemu --suites "$suites" --elf build/kernel.elf \
        --kernel-url "file://$PWD/build/BOOTX64.EFI" \
        --ovmf-code-url "file://$ovmf/OVMF_CODE_4M.fd" \
        --ovmf-vars-url "file://$ovmf/OVMF_VARS_4M.fd" \
        --out "$out/job.yaml" --device-out "$out/device.yaml"
    # A job id of our own: lava-run's work directory is named after it.
    lava-run --job-id "mmulab-$1-$$" --output-dir "$out/out" --device "$out/device.yaml" \
        "$out/job.yaml" > "$out/lava-run.log" 2>&1 || status=$?
    [ "$status" = 0 ] || echo "lava-check: $1: lava-run exited $status (log $out/lava-run.log)"
    tools/lava/check-results.py "$out/lava-run.log" "$suites" $results && [ "$status" = 0 ]
}

command -v lava-run >/dev/null || die "lava-run not found (tools/install-deps.sh --lava)"
[ "$(id -u)" = 0 ] || die "lava-run writes to /var/lib/lava: run as root"
[ -r build/BOOTX64.EFI ] && [ -r build/kernel.elf ] && [ -r build/mmulab-usb.img ] ||
    die "build/BOOTX64.EFI or build/mmulab-usb.img not found (run 'make all usb')"

# validate_usb_job: the real-machine job, for the image `make usb` builds,
# must pass lava-run's validation against the example device dictionary.
validate_usb_job() {
    local out=build/lava/x86-uefi-usb
    rm -rf "$out"
    mkdir -p "$out"
    tools/lava/make-job.py x86-uefi-usb --elf build/kernel.elf \
        --image-url "file://$PWD/build/mmulab-usb.img" --out "$out/job.yaml"
    if lava-run --validate --job-id "mmulab-usb-$$" --output-dir "$out/out" \
        --device tools/lava/x86-uefi-usb-device.example.yaml "$out/job.yaml" > "$out/lava-run.log" 2>&1; then
        echo "lava-check: x86-uefi-usb job: lava-run --validate passes"
    else
        echo "lava-check: x86-uefi-usb job: lava-run --validate fails (log $out/lava-run.log)"
        return 1
    fi
}

# The committed qemu example must be what make-job.py writes.
example_is_current() {
    if tools/lava/make-job.py qemu --suites paging,boot_info,page_alloc --elf build/kernel.elf |
        cmp -s - tools/lava/qemu-uefi.yaml; then
        return 0
    fi
    echo "lava-check: tools/lava/qemu-uefi.yaml differs from make-job.py's output (regenerate it)"
    return 1
}

if [ $# -gt 0 ]; then
    run custom "$1"
    exit
fi
failed=0
run passing paging,boot_info,page_alloc pass || failed=1
run mixed harness_selftest,audit pass,fail,skip || failed=1
validate_usb_job || failed=1
example_is_current || failed=1
[ "$failed" = 0 ] && echo "lava-check: ok" || die "FAILED (logs in build/lava/)"
