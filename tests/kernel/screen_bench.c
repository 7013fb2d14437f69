/*
 * screen_bench: what the screen console costs. One case logs 5000 lines
 * of 72 characters, the length of a long KTAP line, and reports how long
 * they took as a "# bench:" line, tagged on or off by whether the screen
 * console is drawing (UEFI with a GOP and without screen=off) or not
 * (PVH, screen=off). The lines go to serial either way, so off is the
 * serial cost alone. 5000 lines scroll a 50-row screen 200 times.
 * Opt-in (`tests=screen_bench`): it floods the log. No assertion on time:
 * under TCG the TSC follows the host's clock.
 */

#include <mmulab/fbcon.h>
#include <mmulab/test.h>
#include <arch/tsc.h>
#include "bench_util.h"

#define LINES 5000

static void log_5000_lines(struct test *t)
{
	u64 start = rdtsc();

	for (u32 i = 0; i < LINES; i++)
		printk("  # screen_bench: line %4u of %u, the quick brown fox jumps over it\n", i + 1,
		       LINES);
	u64 cycles = rdtsc() - start;
	if (!tsc_khz())
		test_skip(t, "no TSC rate to turn cycles into time");
	test_diag(t, "bench: screen_log_%u_lines_%s=%lu ms (%lu us a line; %s)", LINES,
		  fbcon_active() ? "on" : "off", cycles / tsc_khz(),
		  cycles * 1000 / tsc_khz() / LINES, bench_clock_note());
}

TEST_SUITE_FLAGS(screen_bench, TEST_OPT_IN, TEST_CASE(log_5000_lines));
