#ifndef MMULAB_FORMAT_H
#define MMULAB_FORMAT_H

/* printf-style formatting, shared by the kernel log and the host tests.
 * Conversions: d i u x X o p s c %; flags - 0 + space #; width and
 * precision (also *); length hh h l ll z t. Returns the length the full
 * output would have had, like snprintf. */

#include <stdarg.h>
#include <mmulab/types.h>

int vformat(char *buf, size_t size, const char *fmt, va_list ap);
int format(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Parses an unsigned number: decimal, or hex with 0x; false on anything else
 * or on overflow. */
bool parse_u64(const char *s, size_t len, u64 *out);
/* Bare hexadecimal digits, as nm prints addresses. */
bool parse_hex(const char *s, size_t len, u64 *out);

#endif
