#!/usr/bin/env python3
"""Takes and checks the screen at the end of a run (run-qemu.sh --screendump).

  check-screen.py dump --qmp SOCKET --serial FILE --out SCREEN.ppm [--timeout S]
      Waits until the kernel's closing line ("mmulab: done ... verdict=V")
      is in the serial FILE, then asks QEMU over QMP for a screendump. The
      kernel draws its summary before that line and, with screen_hold_ms,
      keeps it up for that long before it exits.

  check-screen.py check --screen SCREEN.ppm|.png --serial LOG [--png OUT.png]
                        [--font PSF] [--headline TEXT]
      Renders, with the glyphs of the font the kernel was built with, the
      lines the kernel's summary must show for the run in LOG (headline
      "verdict: V", the counts, the first failed cases' names) and finds
      each, pixel for pixel, among the screen's pure white pixels (only
      the summary is drawn in pure white). Writes the screen as OUT.png for
      people to look at; a PNG kept that way can be checked again. --headline looks for another headline instead:
      the way to see the check fail. Exit 0 when all are there, 1 when
      one is missing (each named on stderr), 2 on bad input.

Python's standard library only: PPM is read by hand, PNG written with zlib.
"""
import argparse
import json
import os
import re
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from psf2c import load_psf  # noqa: E402

DEFAULT_FONT = "/usr/share/consolefonts/Lat15-TerminusBold16.psf.gz"
# kernel/fbcon.c's summary: scales and layout are the kernel's; the
# search does not depend on where the lines are.
HEADLINE_SCALE, DETAIL_SCALE = 4, 2
NAMES_CHECKED = 3
CLOSING = re.compile(r"^mmulab: done pass=(\d+) fail=(\d+) skip=(\d+) error=(\d+) "
                     r"verdict=(\w+)\s*$", re.M)
NAMED = re.compile(r"^# (failed|error): (\S+)\s*$", re.M)


def fail(msg, code=2):
    print(f"check-screen: {msg}", file=sys.stderr)
    sys.exit(code)


# --- taking the screen ---

def qmp_command(sock_file, command, arguments=None):
    msg = {"execute": command}
    if arguments:
        msg["arguments"] = arguments
    sock_file.write(json.dumps(msg).encode() + b"\n")
    sock_file.flush()
    for line in sock_file:  # events may come first
        reply = json.loads(line)
        if "return" in reply:
            return reply["return"]
        if "error" in reply:
            fail(f"QMP {command}: {reply['error'].get('desc', reply['error'])}")
    fail(f"QMP {command}: QEMU closed the connection (it exited: screen_hold_ms too short?)")


def wait_for_closing_line(serial, deadline):
    while time.monotonic() < deadline:
        try:
            with open(serial, "rb") as f:
                if CLOSING.search(f.read().decode("latin-1").replace("\r", "")):
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    fail("no closing line on serial before the timeout")


def dump(args):
    wait_for_closing_line(args.serial, time.monotonic() + args.timeout)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(args.qmp)
    except OSError as e:
        fail(f"QMP socket {args.qmp}: {e} (QEMU already exited?)")
    try:
        with s, s.makefile("rwb") as f:
            json.loads(f.readline())  # the greeting
            qmp_command(f, "qmp_capabilities")
            qmp_command(f, "screendump", {"filename": os.path.abspath(args.out)})
    except (OSError, ValueError) as e:
        fail(f"QMP: {e or 'connection closed'} (QEMU exited before the screendump: "
             "screen_hold_ms too short?)")
    if not os.path.exists(args.out):
        fail(f"QEMU wrote no screendump to {args.out}")


# --- reading and writing images ---

def read_ppm(path):
    """Binary PPM (P6, maxval 255) as QEMU's screendump writes it."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        fail(f"{path}: not a binary PPM with 8-bit channels")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[pos + 1:pos + 1 + width * height * 3]
    if len(pixels) != width * height * 3:
        fail(f"{path}: truncated ({len(pixels)} of {width * height * 3} bytes)")
    return width, height, pixels


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def unfilter(kind, line, prev, bpp):
    out = bytearray(line)
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        out[i] = (out[i] + (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]) & 0xFF
    return bytes(out)


def read_png(path):
    """8-bit RGB, not interlaced (what write_png makes), any row filter."""
    with open(path, "rb") as f:
        data = f.read()
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    if not header or header[2:5] != (8, 2, 0) or header[6] != 0:
        fail(f"{path}: not an 8-bit RGB PNG without interlacing")
    width, height = header[:2]
    raw, stride, rows, prev = zlib.decompress(idat), width * 3, [], bytes(width * 3)
    for y in range(height):
        start = y * (stride + 1)
        prev = unfilter(raw[start], raw[start + 1:start + 1 + stride], prev, 3) \
            if raw[start] else raw[start + 1:start + 1 + stride]
        rows.append(prev)
    return width, height, b"".join(rows)


def read_screen(path):
    with open(path, "rb") as f:
        png = f.read(8) == b"\x89PNG\r\n\x1a\n"
    return read_png(path) if png else read_ppm(path)


def write_png(path, width, height, rgb):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    stride = width * 3
    raw = b"".join(b"\0" + rgb[y * stride:(y + 1) * stride] for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


WHITE_TO_ONE = bytes(1 if i == 255 else 0 for i in range(256))


def white_rows(width, height, rgb):
    """Each screen row as bytes: 1 where the pixel is pure white."""
    rows = []
    for y in range(height):
        row = rgb[y * width * 3:(y + 1) * width * 3]
        r, g, b = (int.from_bytes(row[c::3].translate(WHITE_TO_ONE), "big") for c in range(3))
        rows.append((r & g & b).to_bytes(width, "big"))
    return rows


# --- rendering and finding text ---

def render(font, text, scale):
    """The text's pixels as rows of bytes, 1 for ink, glyph cells included."""
    rows = []
    for y in range(font.height * scale):
        row = bytearray()
        for ch in text:
            glyph = font.glyph_for(ord(ch))
            for x in range(font.width * scale):
                row.append(font.pixel(glyph, x // scale, y // scale))
        rows.append(bytes(row))
    return rows


def find(screen, template):
    """(x, y) of the template's top left on the screen, or None."""
    anchor = max(range(len(template)), key=lambda i: template[i].count(1))
    for y in range(anchor, len(screen) - len(template) + anchor + 1):
        x = screen[y].find(template[anchor])
        while x >= 0:
            top = y - anchor
            if all(screen[top + i][x:x + len(t)] == t for i, t in enumerate(template)):
                return x, top
            x = screen[y].find(template[anchor], x + 1)
    return None


def expected_lines(log, headline):
    closing = CLOSING.findall(log)
    if not closing:
        fail("the serial log has no closing line 'mmulab: done ... verdict=V'")
    p, f, s, e, verdict = closing[-1]
    lines = [(headline or f"verdict: {verdict.upper()}", HEADLINE_SCALE),
             (f"pass {p}  fail {f}  skip {s}  error {e}", DETAIL_SCALE)]
    for kind, name in NAMED.findall(log)[:NAMES_CHECKED]:
        lines.append((f"{'FAILED' if kind == 'failed' else 'ERROR'} {name}", DETAIL_SCALE))
    return lines


def check(args):
    font = load_psf(args.font)
    width, height, rgb = read_screen(args.screen)
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        write_png(args.png, width, height, rgb)
    with open(args.serial, "rb") as f:
        log = f.read().decode("latin-1").replace("\r", "")
    screen = white_rows(width, height, rgb)
    missing = 0
    for text, scale in expected_lines(log, args.headline):
        at = find(screen, render(font, text, scale))
        if at:
            print(f"check-screen: found '{text}' ({scale}x) at {at[0]},{at[1]}")
        else:
            print(f"check-screen: '{text}' ({scale}x) is not on the {width}x{height} screen",
                  file=sys.stderr)
            missing += 1
    if missing:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--qmp", required=True)
    d.add_argument("--serial", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--timeout", type=float, default=600)
    c = sub.add_parser("check")
    c.add_argument("--screen", required=True)
    c.add_argument("--serial", required=True)
    c.add_argument("--png")
    c.add_argument("--font", default=DEFAULT_FONT)
    c.add_argument("--headline")
    args = ap.parse_args()
    dump(args) if args.cmd == "dump" else check(args)


if __name__ == "__main__":
    main()
