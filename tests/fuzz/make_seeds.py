#!/usr/bin/env python3
"""Writes the fuzz corpus tests/fuzz/seeds (kept in the repository; run
python3 tests/fuzz/make_seeds.py after changing the tables it is made of).

Each seed is the selector byte fuzz_acpi.c reads first, then its input:
  MACHINE-APIC/SRAT/SLIT  the real tables of tests/data/acpi (0, 1, 2)
  spcr-*                  the SPCRs of tests/data/spcr, good and bad (4)
  scan-xsdt-spcr-slit     a fake physical memory: RSDP at 0x10 (revision 2),
                          an XSDT naming an SPCR (COM2) and a SLIT (3)
"""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
OUT = os.path.join(HERE, "seeds")
MADT, SRAT, SLIT, SCAN, SPCR = 0, 1, 2, 3, 4


def checksum_fix(raw, at, upto):
    raw[at] = 0
    raw[at] = (-sum(raw[:upto])) & 0xFF


def table(sig, body):
    raw = bytearray(struct.pack("<4sIBB6s8sI4sI", sig, 36 + len(body), 1, 0, b"MMULAB",
                                b"FUZZSEED", 1, b"MMUL", 1) + body)
    checksum_fix(raw, 9, len(raw))
    return bytes(raw)


def scan_memory():
    spcr = open(os.path.join(DATA, "spcr", "spcr-com2.dat"), "rb").read()
    slit = table(b"SLIT", struct.pack("<Q", 2) + bytes([10, 20, 20, 10]))
    mem = bytearray(0x400)
    mem[0x200:0x200 + len(spcr)] = spcr
    mem[0x300:0x300 + len(slit)] = slit
    xsdt = table(b"XSDT", struct.pack("<QQ", 0x200, 0x300))
    mem[0x100:0x100 + len(xsdt)] = xsdt
    rsdp = bytearray(struct.pack("<8sB6sBIIQB3s", b"RSD PTR ", 0, b"MMULAB", 2, 0, 36,
                                 0x100, 0, b""))
    checksum_fix(rsdp, 8, 20)
    checksum_fix(rsdp, 32, 36)
    mem[0x10:0x10 + 36] = rsdp
    return bytes(mem)


def write(name, selector, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([selector]) + data)


os.makedirs(OUT, exist_ok=True)
for d in sorted(glob.glob(os.path.join(DATA, "acpi", "*", ""))):
    machine = os.path.basename(os.path.dirname(d))
    for sig, sel in (("APIC", MADT), ("SRAT", SRAT), ("SLIT", SLIT)):
        path = os.path.join(d, sig + ".dat")
        if os.path.exists(path):
            write(f"{machine}-{sig}", sel, open(path, "rb").read())
for path in sorted(glob.glob(os.path.join(DATA, "spcr", "*.dat"))):
    write(os.path.basename(path)[:-4], SPCR, open(path, "rb").read())
write("scan-xsdt-spcr-slit", SCAN, scan_memory())
