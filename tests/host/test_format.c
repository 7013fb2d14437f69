/* The kernel's vformat against the C library's snprintf, which defines
 * the behaviour it promises. */

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include "host_test.h"
#include <mmulab/format.h>

static void compare(const char *fmt, ...)
{
	char ours[128], libc[128];
	va_list a, b;

	va_start(a, fmt);
	va_copy(b, a);
	int n1 = vformat(ours, sizeof(ours), fmt, a);
	int n2 = vsnprintf(libc, sizeof(libc), fmt, b);
	va_end(a);
	va_end(b);
	CHECK_STR(ours, libc);
	CHECK(n1 == n2);
}

static void integers(void)
{
	compare("%d %i %u", 42, -7, 3000000000u);
	compare("%ld %lu %lld", -1234567890123L, 18446744073709551615UL, -9223372036854775807LL - 1);
	compare("%hhd %hd %hhu", 300, 70000, 511);
	compare("%zu %td", (size_t)12345, (ptrdiff_t)-5);
	compare("%5d|%-5d|%05d|%+d|% d", 42, 42, 42, 42, 42);
	compare("%.3d %.0d %8.3d", 7, 0, -7);
	compare("%x %X %#x %#X %o %#o", 0xbeefu, 0xbeefu, 0xbeefu, 0u, 8u, 0u);
	compare("%016lx %-16lx|", 0xffffffff80000000UL, 0x10UL);
	compare("%*d %-*d| %.*d", 6, 1, 6, 2, 4, 3);
}

static void strings_and_chars(void)
{
	compare("%s|%10s|%-10s|%.2s|%.*s", "abc", "abc", "abc", "abc", 1, "abc");
	compare("%c%c%5c", 'x', 'y', 'z');
	compare("100%% %p", (void *)0x1234);
}

static void truncation(void)
{
	char buf[8];
	int n = format(buf, sizeof(buf), "%s", "0123456789");

	CHECK(n == 10);
	CHECK_STR(buf, "0123456");
	CHECK(format(NULL, 0, "%d", 12345) == 5);
}

static void unknown_conversion_is_shown(void)
{
	char buf[16];

	const char *fmt = "a%yb"; /* not a literal: the compiler would refuse it */
	format(buf, sizeof(buf), fmt);
	CHECK_STR(buf, "a%yb");
}

static void numbers_parse(void)
{
	uint64_t v = 0;

	CHECK(parse_u64("12345", 5, &v) && v == 12345);
	CHECK(parse_u64("0x1F", 4, &v) && v == 31);
	CHECK(parse_u64("18446744073709551615", 20, &v) && v == UINT64_MAX);
	CHECK(!parse_u64("18446744073709551616", 20, &v));
	CHECK(!parse_u64("0x", 2, &v));
	CHECK(!parse_u64("", 0, &v));
	CHECK(!parse_u64("12a", 3, &v));
	CHECK(parse_hex("ffffffff80000000", 16, &v) && v == 0xffffffff80000000ULL);
	CHECK(!parse_hex("xyz", 3, &v));
}

HOST_SUITE(format,
	HOST_CASE(integers),
	HOST_CASE(strings_and_chars),
	HOST_CASE(truncation),
	HOST_CASE(unknown_conversion_is_shown),
	HOST_CASE(numbers_parse));
