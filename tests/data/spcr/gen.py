#!/usr/bin/env python3
"""Writes the SPCR tables the matrix injects with -acpitable and the host
tests parse (python3 tests/data/spcr/gen.py regenerates them). Layout:
Microsoft's Serial Port Console Redirection Table, revision 2 (80 bytes).

  spcr-com2.dat        a 16550 at I/O 0x2f8 (QEMU's second -serial), 115200 baud
  spcr-mmio32.dat      a 16550 in memory at 0xfe030000, 32-bit registers, 9600 baud
  spcr-pl011.dat       an ARM PL011 (interface type 3): not a 16550
  spcr-pci-space.dat   base address in PCI configuration space (id 2)
  spcr-io-16bit.dat    I/O registers 16 bits wide
  spcr-disabled.dat    base address 0: redirection disabled
  spcr-bad-baud.dat    baud rate code 5 (reserved)
  spcr-short.dat       Length 60: the table ends inside the base address
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_MEMORY, SYSTEM_IO, PCI_CONFIG = 0, 1, 2
BAUD_9600, BAUD_115200 = 3, 7


def gas(space, bits, address, access=0):
    return struct.pack("<BBBBQ", space, bits, 0, access, address)


def spcr(interface=0, base=gas(SYSTEM_IO, 8, 0x2F8), baud=BAUD_115200, length=80):
    body = struct.pack("<B3s", interface, b"") + base
    # 8259 IRQ 3, baud, no parity, 1 stop bit, no flow control, VT100; not on PCI
    body += struct.pack("<BBIBBBBBBHHBBBIB", 1, 3, 0, baud, 0, 1, 0, 0, 0,
                        0xFFFF, 0xFFFF, 0, 0, 0, 0, 0)
    body += b"\x00" * 4  # revision 3's UART clock: unused in revision 2
    header = struct.pack("<4sIBB6s8sI4sI", b"SPCR", 36 + len(body), 2, 0, b"MMULAB",
                         b"SPCRTEST", 1, b"MMUL", 1)
    raw = bytearray(header + body)[:length]
    raw[4:8] = struct.pack("<I", len(raw))
    raw[9] = (-sum(raw)) & 0xFF
    assert len(header + body) == 80
    return bytes(raw)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


write("spcr-com2.dat", spcr())
write("spcr-mmio32.dat", spcr(0x12, gas(SYSTEM_MEMORY, 32, 0xFE030000, 3), BAUD_9600))
write("spcr-pl011.dat", spcr(3, gas(SYSTEM_MEMORY, 32, 0x9000000, 3)))
write("spcr-pci-space.dat", spcr(base=gas(PCI_CONFIG, 8, 0x2F8)))
write("spcr-io-16bit.dat", spcr(base=gas(SYSTEM_IO, 16, 0x2F8)))
write("spcr-disabled.dat", spcr(base=gas(SYSTEM_IO, 8, 0)))
write("spcr-bad-baud.dat", spcr(baud=5))
write("spcr-short.dat", spcr(length=60))
