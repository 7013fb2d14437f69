/*
 * The screen console: the log drawn on the GOP framebuffer the UEFI stage
 * recorded, in a real console font (Terminus Bold 8x16, converted from
 * Debian's console-setup-linux at build time), and at the end of the run
 * a summary in the same glyphs scaled up.
 *
 * The framebuffer is mapped uncached (kmap_firmware): on a real machine
 * every pixel write crosses a bus and a read back is slower still. So it
 * is never read, and a glyph cell is drawn only when its character
 * changes: the text lives in RAM as a ring of lines (text), beside what
 * each screen cell shows (shown). A character is drawn as it is written.
 * When the screen is full the text jumps up by half a screen at once and
 * only the cells whose character changed are redrawn: one screen's worth
 * of drawing per rows/2 lines, instead of a full redraw (or a memmove of
 * the whole framebuffer) per line. Figures in docs/ARCHITECTURE.md.
 */

#include <mmulab/fbcon.h>
#include <mmulab/cmdline.h>
#include <mmulab/format.h>
#include <mmulab/kernel.h>
#include <mmulab/mm.h>
#include <mmulab/string.h>

/* Enough for 2048x2560 at 8x16; a larger screen uses its top left part. */
#define MAX_COLS 256
#define MAX_ROWS 160

/* EFI_GRAPHICS_PIXEL_FORMAT values the console can draw: 32-bit pixels,
 * red or blue in the lowest byte. Bit-mask and blt-only modes are not. */
enum gop_format { GOP_RGBX = 0, GOP_BGRX = 1 };

/* Colours as 0xRRGGBB. The summary's text is pure white and nothing else
 * is, so tools/check-screen.py can tell it from the log by colour alone. */
#define LOG_FG 0xb0b0b0
#define LOG_BG 0x000000
#define SUMMARY_FG 0xffffff
#define PASS_BAND 0x006000
#define FAIL_BAND 0xa00000
#define HEADLINE_SCALE 4
#define DETAIL_SCALE 2
#define MARGIN 16

static struct {
	bool on;
	bool frozen; /* the summary is up: the log goes on in text only */
	bool bgr;
	u32 *pixels;
	u32 stride; /* pixels per scan line */
	u32 width, height;
	u32 cols, rows;
	u32 top;      /* ring index of the screen's first row */
	u32 row, col; /* the cursor, in screen coordinates */
} con;

static char text[MAX_ROWS][MAX_COLS];
static char shown[MAX_ROWS][MAX_COLS];

bool fbcon_active(void)
{
	return con.on;
}

static u32 pixel(u32 rgb)
{
	if (con.bgr)
		return rgb;
	return (rgb & 0xff) << 16 | (rgb & 0xff00) | (rgb >> 16 & 0xff);
}

static void fill_rect(u32 x0, u32 y0, u32 w, u32 h, u32 rgb)
{
	u32 p = pixel(rgb);

	for (u32 y = y0; y < y0 + h && y < con.height; y++) {
		u32 *line = con.pixels + (u64)y * con.stride;
		for (u32 x = x0; x < x0 + w && x < con.width; x++)
			line[x] = p;
	}
}

static const u8 *glyph_of(char ch)
{
	return fbcon_font.glyphs + (u8)ch % 128 * fbcon_font.row_bytes * fbcon_font.height;
}

/* The caller keeps the cell inside the screen. */
static void draw_glyph(u32 x0, u32 y0, char ch, u32 scale, u32 fg_rgb, u32 bg_rgb)
{
	const u8 *glyph = glyph_of(ch);
	u32 fg = pixel(fg_rgb), bg = pixel(bg_rgb);

	for (u32 y = 0; y < fbcon_font.height * scale; y++) {
		const u8 *bits = glyph + y / scale * fbcon_font.row_bytes;
		u32 *line = con.pixels + (u64)(y0 + y) * con.stride + x0;
		for (u32 x = 0; x < fbcon_font.width * scale; x++) {
			u32 gx = x / scale;
			line[x] = (bits[gx / 8] >> (7 - gx % 8)) & 1 ? fg : bg;
		}
	}
}

/* One line of text at a scale, cut at the screen's right edge. */
static void draw_text(u32 x, u32 y, const char *s, u32 scale, u32 fg, u32 bg)
{
	u32 w = fbcon_font.width * scale, h = fbcon_font.height * scale;

	if (y + h > con.height)
		return;
	for (; *s && x + w <= con.width; s++, x += w)
		draw_glyph(x, y, *s, scale, fg, bg);
}

static char *ring_line(u32 screen_row)
{
	return text[(con.top + screen_row) % con.rows];
}

static void draw_cell(u32 r, u32 c)
{
	char ch = ring_line(r)[c];

	if (shown[r][c] == ch)
		return;
	shown[r][c] = ch;
	draw_glyph(c * fbcon_font.width, r * fbcon_font.height, ch, 1, LOG_FG, LOG_BG);
}

static void redraw_changed_cells(void)
{
	for (u32 r = 0; r < con.rows; r++)
		for (u32 c = 0; c < con.cols; c++)
			draw_cell(r, c);
}

/* The top half of the screen leaves; its ring lines come back blank as
 * the new bottom half. */
static void scroll(void)
{
	u32 jump = MAX(con.rows / 2, 1u);

	for (u32 r = 0; r < jump; r++)
		memset(ring_line(r), ' ', con.cols);
	con.top = (con.top + jump) % con.rows;
	con.row -= jump;
	if (!con.frozen)
		redraw_changed_cells();
}

static void new_line(void)
{
	con.col = 0;
	if (++con.row == con.rows)
		scroll();
}

/* A full line wraps only when one more character comes, so a line of
 * exactly cols characters and its newline make one screen line. */
static void put_printable(char ch)
{
	if (con.col == con.cols)
		new_line();
	ring_line(con.row)[con.col] = ch;
	if (!con.frozen)
		draw_cell(con.row, con.col);
	con.col++;
}

static void put_char(char ch)
{
	switch (ch) {
	case '\n':
		new_line();
		break;
	case '\r':
		con.col = 0;
		break;
	case '\t':
		do
			put_printable(' ');
		while (con.col % 8 && con.col < con.cols);
		break;
	default:
		put_printable(ch >= 0x20 && ch < 0x7f ? ch : '?');
	}
}

void fbcon_write(const char *s, size_t n)
{
	if (!con.on)
		return;
	for (size_t i = 0; i < n; i++)
		put_char(s[i]);
}

static bool framebuffer_usable(const struct boot_framebuffer *fb)
{
	if (fb->format != GOP_RGBX && fb->format != GOP_BGRX) {
		printk("mmulab: screen: GOP pixel format %u is not 32-bit RGB or BGR: "
		       "no screen console, serial only\n", fb->format);
		return false;
	}
	if (fb->pixels_per_line < fb->width || fb->width < fbcon_font.width ||
	    fb->height < fbcon_font.height || (u64)fb->pixels_per_line * fb->height * 4 > fb->size) {
		printk("mmulab: screen: GOP mode %ux%u (%u pixels a line) does not fit its %lu "
		       "bytes: no screen console, serial only\n", fb->width, fb->height,
		       fb->pixels_per_line, fb->size);
		return false;
	}
	return true;
}

void fbcon_init(const struct boot_framebuffer *fb)
{
	if (!fb->base || !fb->size)
		return; /* no GOP: PVH, or a headless firmware */
	if (cmdline.screen_off) {
		printk("mmulab: screen: off (screen=off), serial only\n");
		return;
	}
	if (!framebuffer_usable(fb))
		return;
	con.pixels = kmap_firmware(fb->base, (u64)fb->pixels_per_line * fb->height * 4);
	con.bgr = fb->format == GOP_BGRX;
	con.stride = fb->pixels_per_line;
	con.width = fb->width;
	con.height = fb->height;
	con.cols = MIN(fb->width / fbcon_font.width, (u32)MAX_COLS);
	con.rows = MIN(fb->height / fbcon_font.height, (u32)MAX_ROWS);
	memset(text, ' ', sizeof(text));
	memset(shown, ' ', sizeof(shown));
	fill_rect(0, 0, con.width, con.height, LOG_BG);
	con.on = true;
	printk("mmulab: screen: %ux%u framebuffer at P0x%lx, %ux%u characters of Terminus Bold "
	       "%ux%u\n", con.width, con.height, fb->base, con.cols, con.rows, fbcon_font.width,
	       fbcon_font.height);
}

/* The names that fit above the log tail; the last line that fits says
 * how many more there are. */
static u32 draw_names(u32 y, u32 bottom, const struct fbcon_summary *s)
{
	u32 h = fbcon_font.height * DETAIL_SCALE;
	char more[48];

	for (u32 i = 0; i < s->named_total; i++, y += h) {
		bool last_fitting = y + 2 * h > bottom;
		if (i >= s->name_count || (last_fitting && i + 1 < s->named_total)) {
			format(more, sizeof(more), "... and %u more", s->named_total - i);
			draw_text(MARGIN, y, more, DETAIL_SCALE, SUMMARY_FG, LOG_BG);
			return y + h;
		}
		draw_text(MARGIN, y, s->names[i], DETAIL_SCALE, SUMMARY_FG, LOG_BG);
	}
	return y;
}

/* The newest log lines that fit below y, at the normal size. */
static void draw_log_tail(u32 y)
{
	u32 h = fbcon_font.height, fit = y < con.height ? (con.height - y) / h : 0;
	u32 last = con.col ? con.row : con.row - (con.row > 0);
	u32 lines = MIN(fit, last + 1);

	for (u32 i = 0; i < lines; i++) {
		const char *line = ring_line(last + 1 - lines + i);
		for (u32 c = 0; c < con.cols; c++)
			draw_glyph(c * fbcon_font.width, y + i * h, line[c], 1, LOG_FG, LOG_BG);
	}
}

void fbcon_show_summary(const struct fbcon_summary *s)
{
	u32 band = fbcon_font.height * HEADLINE_SCALE + 2 * MARGIN;
	u32 detail = fbcon_font.height * DETAIL_SCALE;
	u32 band_rgb = s->passed ? PASS_BAND : FAIL_BAND;

	if (!con.on)
		return;
	con.frozen = true;
	fill_rect(0, 0, con.width, con.height, LOG_BG);
	fill_rect(0, 0, con.width, band, band_rgb);
	draw_text(MARGIN, MARGIN, s->headline, HEADLINE_SCALE, SUMMARY_FG, band_rgb);
	u32 y = band + MARGIN;
	draw_text(MARGIN, y, s->counts, DETAIL_SCALE, SUMMARY_FG, LOG_BG);
	y = draw_names(y + detail + MARGIN / 2, con.height * 2 / 3, s);
	fill_rect(0, y + MARGIN / 2, con.width, 2, LOG_FG);
	draw_log_tail(y + MARGIN);
}
