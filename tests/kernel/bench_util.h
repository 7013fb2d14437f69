#ifndef TESTS_BENCH_UTIL_H
#define TESTS_BENCH_UTIL_H

/* The "# bench:" lines of the bench suites (numa_bench, thp_bench, pv_bench):
 * the minimum, median and 90th percentile of many samples, with what the
 * clock measures (tools/bench_collect.py parses them). */

#include <mmulab/string.h>
#include <mmulab/test.h>
#include <arch/cpu.h>
#include <arch/tsc.h>

static inline void bench_sort(u64 *v, u32 n)
{
	for (u32 i = 1; i < n; i++) {
		u64 x = v[i];
		u32 j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static inline const char *bench_clock_note(void)
{
	return strcmp(cpu_hypervisor(), "TCGTCGTCGTCG") == 0 ?
		       "TSC under TCG: host emulation time, not CPU cycles" : "TSC";
}

/* Sorts the n samples of v, prints NAME=median (min, median, p90, n) and
 * returns the median. */
static inline u64 bench_report(struct test *t, const char *name, u64 *v, u32 n)
{
	bench_sort(v, n);
	test_diag(t, "bench: %s=%lu cycles (min %lu, median %lu, p90 %lu, %u samples; %s)", name,
		  v[n / 2], v[0], v[n / 2], v[(u64)n * 9 / 10], n, bench_clock_note());
	return v[n / 2];
}

/* Turns n samples of cycles, each spent moving `bytes`, into MiB/s (the
 * TSC's rate from tsc_khz) in place, and prints NAME=median MiB/s (min,
 * median, p90, n): min is the slowest sample. Returns the median. */
static inline u64 bench_report_rate(struct test *t, const char *name, u64 *v, u32 n, u64 bytes)
{
	for (u32 i = 0; i < n; i++)
		v[i] = (bytes >> 10) * tsc_khz() * 1000 / ((v[i] ? v[i] : 1) << 10);
	bench_sort(v, n);
	test_diag(t, "bench: %s=%lu MiB/s (min %lu, median %lu, p90 %lu, %u samples; %s)", name,
		  v[n / 2], v[0], v[n / 2], v[(u64)n * 9 / 10], n, bench_clock_note());
	return v[n / 2];
}

/* NAME=a/b with two decimals; what says which figures. */
static inline void bench_ratio(struct test *t, const char *name, u64 a, u64 b, const char *what)
{
	if (b)
		test_diag(t, "bench: %s=%lu.%02lu (%s)", name, a / b, a * 100 / b % 100, what);
}

#endif
