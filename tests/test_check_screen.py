"""tools/check-screen.py must find the summary a screen shows, and only that.

A screen is drawn here the way kernel/fbcon.c draws its summary (the same
PSF glyphs, pure white, scaled 4x and 2x, on a coloured band and on black)
at an offset the checker is not told, with grey text around it. The
checker must find it, must report a screen whose headline or counts differ
from the serial log's closing line, and must read back the PNG it wrote.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "check-screen.py")
sys.path.insert(0, os.path.join(ROOT, "tools"))
spec = importlib.util.spec_from_file_location("check_screen", TOOL)
check_screen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_screen)

WIDTH, HEIGHT = 800, 600
CLOSING = "mmulab: done pass=7 fail=1 skip=2 error=0 verdict=fail\n"


def draw(pixels, font, text, scale, x0, y0, ink):
    for y, row in enumerate(check_screen.render(font, text, scale)):
        for x, on in enumerate(row):
            if on:
                i = ((y0 + y) * WIDTH + x0 + x) * 3
                pixels[i:i + 3] = ink


@unittest.skipUnless(os.path.exists(check_screen.DEFAULT_FONT),
                     "needs console-setup-linux's fonts (make deps)")
class CheckScreen(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        font = check_screen.load_psf(check_screen.DEFAULT_FONT)
        pixels = bytearray(WIDTH * HEIGHT * 3)
        for i in range(0, WIDTH * 90 * 3, 3):
            pixels[i:i + 3] = b"\xa0\x00\x00"
        white, grey = b"\xff\xff\xff", b"\xb0\xb0\xb0"
        draw(pixels, font, "verdict: FAIL", 4, 21, 13, white)
        draw(pixels, font, "pass 7  fail 1  skip 2  error 0", 2, 17, 110, white)
        draw(pixels, font, "FAILED cow.fork", 2, 17, 150, white)
        draw(pixels, font, "verdict: PASS pass 7 fail 0", 1, 0, 300, grey)
        # Only pure white is the summary's: the same name in grey is not it.
        draw(pixels, font, "FAILED cow.other", 2, 17, 400, grey)
        self.ppm = os.path.join(self.dir, "screen.ppm")
        with open(self.ppm, "wb") as f:
            f.write(b"P6\n%d %d\n255\n" % (WIDTH, HEIGHT) + bytes(pixels))

    def check(self, log, *extra, screen=None):
        serial = os.path.join(self.dir, "serial")
        with open(serial, "w") as f:
            f.write(log)
        return subprocess.run([sys.executable, TOOL, "check", "--screen", screen or self.ppm,
                               "--serial", serial, *extra], capture_output=True, text=True)

    def test_finds_the_summary_and_writes_a_png_that_checks_again(self):
        png = os.path.join(self.dir, "out", "screen.png")
        log = "# failed: cow.fork\n" + CLOSING
        proc = self.check(log, "--png", png)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("found 'verdict: FAIL' (4x) at 21,13", proc.stdout)
        self.assertEqual(self.check(log, screen=png).returncode, 0)

    def test_another_headline_is_not_there(self):
        proc = self.check(CLOSING, "--headline", "verdict: PASS")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("'verdict: PASS' (4x) is not on the 800x600 screen", proc.stderr)

    def test_other_counts_or_a_name_not_shown_are_missed(self):
        proc = self.check(CLOSING.replace("skip=2", "skip=3"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("'pass 7  fail 1  skip 3  error 0' (2x) is not", proc.stderr)
        proc = self.check("# failed: cow.other\n" + CLOSING)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("'FAILED cow.other' (2x) is not", proc.stderr)

    def test_a_log_without_closing_line_is_bad_input(self):
        proc = self.check("KTAP version 1\n")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no closing line", proc.stderr)


if __name__ == "__main__":
    unittest.main()
