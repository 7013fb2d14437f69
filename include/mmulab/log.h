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

void printk(const char *fmt, ...) __printf(1, 2);
void vprintk(const char *fmt, va_list ap);
/* One KTAP diagnostic line ("# ..." at the indentation the run is at now):
 * for reports from anywhere in the kernel that may come in a case. */
void printk_diag(const char *fmt, ...) __printf(1, 2);
void printk_panic_mode(void);

#endif
