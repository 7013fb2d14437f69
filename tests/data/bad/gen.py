#!/usr/bin/env python3
"""Writes the malformed SRATs the matrix injects with -acpitable.

QEMU rewrites an injected table's Length and checksum, so what is broken
is the structure inside (python3 tests/data/bad/gen.py regenerates them):

  srat-overlap.dat        domains 0 and 1 claim overlapping memory
  srat-zero-subtable.dat  a CPU entry, then a subtable of length 0
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


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


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


G = 1 << 30
write("srat-overlap.dat",
      table(b"SRAT", cpu(0, 0) + cpu(1, 1) + mem(0, 0, 2 * G) + mem(1, G, 2 * G)))
write("srat-zero-subtable.dat",
      table(b"SRAT", cpu(0, 0) + mem(0, 0, 4 * G) + b"\x01\x00" + b"\x00" * 38))
