#ifndef MMULAB_FBCON_H
#define MMULAB_FBCON_H

/*
 * The screen console (kernel/fbcon.c): when the UEFI stage found a GOP
 * framebuffer, every log line is also drawn on the screen, and the run
 * ends with a summary large enough to read from across a room. The font
 * is Terminus Bold 8x16 from Debian's console-setup-linux, converted at
 * build time by tools/psf2c.py (third_party/terminus/LICENSE).
 */

#include <mmulab/types.h>
#include <mmulab/boot_info.h>

/* ASCII only: glyphs holds 128 glyphs of height rows of row_bytes bytes,
 * the leftmost pixel in each row's top bit. */
struct fbcon_font {
	u32 width, height, row_bytes;
	const u8 *glyphs;
};

extern const struct fbcon_font fbcon_font;

/* What the end of a run puts on the screen: a headline on a green or red
 * band (4x), the counts and the failed cases' names (2x), then the last
 * log lines (1x). names holds up to name_count entries of named_total;
 * the rest are summed up in one line. */
struct fbcon_summary {
	bool passed;
	const char *headline;
	const char *counts;
	const char *const *names;
	u32 name_count, named_total;
};

/* After the kernel's page tables are up (the framebuffer is mapped then);
 * without a framebuffer, or with screen=off, the console stays off. */
void fbcon_init(const struct boot_framebuffer *fb);
bool fbcon_active(void);
/* Under the console lock (or in panic mode, alone). */
void fbcon_write(const char *s, size_t n);
void fbcon_show_summary(const struct fbcon_summary *s);

#endif
