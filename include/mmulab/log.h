#ifndef MMULAB_LOG_H
#define MMULAB_LOG_H

/*
 * The console log. printk writes one formatted chunk to every console with
 * the console lock held, so lines from different CPUs never interleave as
 * long as callers print whole lines. Panic output goes through
 * printk_panic, which does not wait for a lock another CPU may never
 * release.
 */

#include <stdarg.h>
#include <mmulab/types.h>
#include <mmulab/ratelimit.h>

void printk(const char *fmt, ...) __printf(1, 2);
void vprintk(const char *fmt, va_list ap);
/* One KTAP diagnostic line ("# ..." at the indentation the run is at now):
 * for reports from anywhere in the kernel that may come in a case. */
void printk_diag(const char *fmt, ...) __printf(1, 2);
void printk_panic_mode(void);

/*
 * A line that can repeat without bound (once per frame, per CPU, per
 * entry): printk_ratelimited("kind", fmt, ...) prints the first
 * RATELIMIT_BURST of a burst and counts the rest; printk_limited_flush
 * (at the end of each boot phase and before each case's result line) ends
 * the burst with one "# ... and N more \"kind\"" diagnostic.
 */
void printk_limited(struct ratelimit *rl, const char *fmt, ...) __printf(2, 3);
void printk_limited_flush(void);
#define printk_ratelimited(what, fmt, ...)                                \
	do {                                                              \
		static struct ratelimit rl_ = { .kind = what };           \
		printk_limited(&rl_, fmt, ##__VA_ARGS__);                  \
	} while (0)

#endif
