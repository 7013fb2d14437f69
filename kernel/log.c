#include <mmulab/log.h>
#include <mmulab/fbcon.h>
#include <mmulab/format.h>
#include <mmulab/ratelimit.h>
#include <mmulab/spinlock.h>
#include <mmulab/test.h>
#include <arch/serial.h>

#define LOG_CHUNK 512

static struct spinlock console_lock = SPINLOCK_INIT_CLASS("console", LOCK_CONSOLE);
static bool panic_mode;

void vprintk(const char *fmt, va_list ap)
{
	char buf[LOG_CHUNK];
	int n = vformat(buf, sizeof(buf), fmt, ap);

	if (n >= LOG_CHUNK)
		n = LOG_CHUNK - 1;
	if (panic_mode) {
		serial_write(buf, n);
		fbcon_write(buf, n);
		return;
	}
	spin_lock(&console_lock);
	serial_write(buf, n);
	fbcon_write(buf, n);
	spin_unlock(&console_lock);
}

void printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

void printk_diag(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	printk("%s# %s\n", run_diag_indent(), line);
}

static struct ratelimit_list limited_kinds;

void printk_limited(struct ratelimit *rl, const char *fmt, ...)
{
	va_list ap;

	if (!ratelimit_pass_listed(&limited_kinds, rl))
		return;
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

void printk_limited_flush(void)
{
	struct ratelimit *rl = ratelimit_list_take(&limited_kinds);

	while (rl) {
		const char *kind = rl->kind;
		u32 held;
		rl = ratelimit_unlist(rl, &held);
		if (held)
			printk("%s# ... and %u more \"%s\"\n", run_diag_indent(), held, kind);
	}
}

/* The panicking CPU may hold the console lock itself (a fault inside
 * printk), so from here on output does not wait for it. */
void printk_panic_mode(void)
{
	panic_mode = true;
}
