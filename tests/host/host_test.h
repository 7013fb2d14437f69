#ifndef HOST_TEST_H
#define HOST_TEST_H

/*
 * A small host-side test runner for the kernel's pure code. Each test file
 * defines HOST_SUITE(name, cases...); main.c runs them all and prints KTAP
 * in the kernel's own shape, so tests/matrix.py reads it the same way.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
