#ifndef HOST_TEST_H
#define HOST_TEST_H

/*
 * A small host-side test runner for the kernel's pure code. Each test file
 * defines HOST_SUITE(name, cases...); main.c runs them all and prints KTAP
 * in the kernel's own shape, so tests/matrix.py reads it the same way.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Up to max bytes of the file the printf-style path names (a table under
 * tests/data/); 0 when it cannot be read. */
static inline size_t host_load(unsigned char *buf, size_t max, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

struct host_case {
	const char *name;
	void (*run)(void);
};

struct host_suite {
	const char *name;
	const struct host_case *cases;
	unsigned count;
};

extern bool host_case_failed;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("  # %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
			host_case_failed = true;                                 \
		}                                                                \
	} while (0)

#define CHECK_STR(got, want)                                                     \
	do {                                                                     \
		const char *_g = (got), *_w = (want);                            \
		if (strcmp(_g, _w) != 0) {                                       \
			printf("  # %s:%d: got \"%s\", expected \"%s\"\n", __FILE__, \
			       __LINE__, _g, _w);                                \
			host_case_failed = true;                                 \
		}                                                                \
	} while (0)

#define HOST_CASE(fn) { #fn, fn }
#define HOST_SUITE(sname, ...)                                                   \
	static const struct host_case sname##_cases[] = { __VA_ARGS__ };         \
	const struct host_suite sname##_suite = { #sname, sname##_cases,          \
						  sizeof(sname##_cases) / sizeof(sname##_cases[0]) }

#endif
