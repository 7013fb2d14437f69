#!/usr/bin/env python3
"""Writes the malformed SRATs the matrix injects with -acpitable.

QEMU rewrites an injected table's Length and checksum, so what is broken
is the structure inside (python3 tests/data/bad/gen.py regenerates them):

  srat-overlap.dat        domains 0 and 1 claim overlapping memory
  srat-zero-subtable.dat  a CPU entry, then a subtable of length 0
  srat-80-domains.dat     80 proximity domains, more than the kernel's 64
  srat-1100-cpus.dat      1100 x2APIC affinity entries, more than the 1024
                          the parser holds
  srat-x2apic-512.dat     a two-socket server's 512 hardware threads, x2APIC
                          ids 0..255 and 512..767 (ids above 255), domains 0-1;
                          QEMU's CPUs (ids 0, 1) are among them
  madt-1100-cpus.dat      an MADT with 1100 x2APIC entries (host tests only:
                          QEMU's own MADT comes first and wins)
  madt-x2apic-600.dat     an MADT with 600 enabled x2APIC entries, ids as
                          in srat-x2apic-512.dat (host tests: more present
                          CPUs than the 512 the kernel starts)

Each is also written, behind tests/fuzz/fuzz_acpi.c's selector byte (0 MADT,
1 SRAT), into the fuzzer's seeds corpus tests/fuzz/seeds/madt|srat/, and
tests/fuzz/seeds/scan/rsdt-repeats is a whole fake memory (selector 3) whose
RSDT lists 600 entries, NULL ones and one overlapping SRAT over and over.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "..", "fuzz", "seeds")
SELECTOR = {b"APIC": (0, "madt"), b"SRAT": (1, "srat")}


def table(sig, body, reserved=b"\x01\x00\x00\x00" + b"\x00" * 8):
    data = reserved + body
    length = 36 + len(data)
    header = struct.pack("<4sIBB6s8sI4sI", sig, length, 3, 0, b"MMULAB", b"BADSRAT ", 1,
                         b"MMUL", 1)
    raw = bytearray(header + data)
    raw[9] = (-sum(raw)) & 0xff
    return bytes(raw)


def cpu(pxm, apic):
    return struct.pack("<BBBBIB3sI", 0, 16, pxm, apic, 1, 0, b"\x00\x00\x00", 0)


def mem(pxm, base, length):
    return struct.pack("<BBIHQQIIQ", 1, 40, pxm, 0, base, length, 0, 1, 0)


def x2apic_cpu(pxm, apic):
    return struct.pack("<BBHIIIII", 2, 24, 0, pxm, apic, 1, 0, 0)


def madt_x2apic(apic, uid):
    return struct.pack("<BBHIII", 9, 16, 0, apic, 1, uid)


def madt(body):
    return table(b"APIC", body, reserved=struct.pack("<II", 0xfee00000, 1))


def thread_id(i):
    """A two-socket server's x2APIC ids: socket bit 9, core bits 1-8, SMT bit 0,
    so half the ids are above 255."""
    return (i // 256) << 9 | (i % 256)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    selector, table = SELECTOR[data[:4]]
    os.makedirs(os.path.join(SEEDS, table), exist_ok=True)
    with open(os.path.join(SEEDS, table, name[:-len(".dat")]), "wb") as f:
        f.write(bytes([selector]) + data)


G = 1 << 30
write("srat-overlap.dat",
      table(b"SRAT", cpu(0, 0) + cpu(1, 1) + mem(0, 0, 2 * G) + mem(1, G, 2 * G)))
write("srat-zero-subtable.dat",
      table(b"SRAT", cpu(0, 0) + mem(0, 0, 4 * G) + b"\x01\x00" + b"\x00" * 38))
write("srat-80-domains.dat",
      table(b"SRAT", cpu(0, 0) + cpu(0, 1) +
            b"".join(mem(d, d * 8 * (1 << 20), 8 * (1 << 20)) for d in range(80))))
write("srat-1100-cpus.dat",
      table(b"SRAT", b"".join(x2apic_cpu(i % 2, i) for i in range(1100)) + mem(0, 0, 4 * G)))
write("srat-x2apic-512.dat",
      table(b"SRAT", b"".join(x2apic_cpu(i // 256, thread_id(i)) for i in range(512)) +
            mem(0, 0, 512 * (1 << 20)) + mem(1, 512 * (1 << 20), 64 * G)))
write("madt-1100-cpus.dat", madt(b"".join(madt_x2apic(i, i) for i in range(1100))))
write("madt-x2apic-600.dat", madt(b"".join(madt_x2apic(thread_id(i), i) for i in range(600))))


def scan_seed(name, memory):
    os.makedirs(os.path.join(SEEDS, "scan"), exist_ok=True)
    with open(os.path.join(SEEDS, "scan", name), "wb") as f:
        f.write(bytes([3]) + memory)


def rsdt_repeats():
    """RSDP at 0x10, RSDT at 0x100, a rejected SRAT at 0x1000 (offsets in
    the fake memory fuzz_acpi.c maps)."""
    memory = bytearray(0x1000)
    rsdp = bytearray(b"RSD PTR " + b"\x00" + b"MMULAB" + b"\x00" + struct.pack("<I", 0x100))
    rsdp[8] = (-sum(rsdp)) & 0xff
    memory[0x10:0x10 + 20] = rsdp
    entries = b"".join(struct.pack("<I", 0 if i % 2 else 0x1000) for i in range(600))
    rsdt = table(b"RSDT", entries, reserved=b"")
    memory[0x100:0x100 + len(rsdt)] = rsdt
    return bytes(memory) + table(b"SRAT", cpu(0, 0) + mem(0, 0, 2 * G) + mem(1, G, 2 * G))


scan_seed("rsdt-repeats", rsdt_repeats())
