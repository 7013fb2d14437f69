#include "host_test.h"
#include <mmulab/cmdline.h>

static bool parse(const char *text, struct cmdline *c, char *err)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s", text);
	return cmdline_parse(buf, c, err, 320);
}

static void good_lines(void)
{
	struct cmdline c;
	char err[320];

	CHECK(parse("", &c, err) && !c.tests && !c.seed_given);
	CHECK(parse("  tests=paging*,boot_info.rsdp*   seed=0x10 iterations=5 ", &c, err));
	CHECK_STR(c.tests, "paging*,boot_info.rsdp*");
	CHECK(c.seed_given && c.seed == 16 && c.iterations == 5);
	CHECK(parse("bugs=a,b", &c, err));
	CHECK_STR(c.bugs, "a,b");
	CHECK(parse("", &c, err) && c.thp == 0); /* madvise */
	CHECK(parse("thp=always", &c, err) && c.thp == 1);
	CHECK(parse("thp=never", &c, err) && c.thp == 2);
	CHECK(!parse("thp=sometimes", &c, err));
	CHECK(parse("", &c, err) && !c.mmu_pv);
	CHECK(parse("mmu=pv", &c, err) && c.mmu_pv);
	CHECK(parse("mmu=native", &c, err) && !c.mmu_pv);
	CHECK(!parse("mmu=xen", &c, err));
	CHECK(parse("", &c, err) && c.race_delay_us == 0);
	CHECK(parse("race_delay_us=200", &c, err) && c.race_delay_us == 200);
	CHECK(!parse("race_delay_us=2000000", &c, err));
	CHECK(parse("", &c, err) && c.on_done == ON_DONE_DEFAULT);
	CHECK(parse("on_done=halt", &c, err) && c.on_done == ON_DONE_HALT);
	CHECK(parse("on_done=reboot", &c, err) && c.on_done == ON_DONE_REBOOT);
	CHECK(parse("on_done=poweroff", &c, err) && c.on_done == ON_DONE_POWEROFF);
	CHECK(!parse("on_done=suspend", &c, err));
	CHECK(strstr(err, "bad value 'suspend' for on_done= (halt, reboot or poweroff") != NULL);
}

static void bad_lines_say_what(void)
{
	struct cmdline c;
	char err[320];

	CHECK(!parse("tests=x bogus=1", &c, err));
	CHECK_STR(err, "unknown option 'bogus' (known: tests seed iterations bugs watchdog x2apic vmalloc_sync numa numa_policy numa_restore_write numa_scan_period_ms numa_scan_pages thp mmu race_delay_us screen screen_hold_ms on_done expect_topology)");
	CHECK(!parse("seed=12z", &c, err));
	CHECK(strstr(err, "bad value '12z' for seed=") != NULL);
	CHECK(!parse("iterations=0", &c, err));
	CHECK(!parse("tests=", &c, err));
	CHECK(!parse("lonely", &c, err));
	CHECK_STR(err, "'lonely' is not key=value");
}

HOST_SUITE(cmdline, HOST_CASE(good_lines), HOST_CASE(bad_lines_say_what));
