/*
 * Firmware tables bigger than the kernel's limits (tests/data/bad/gen.py
 * writes them) and the bound on repeated lines: each oversized table must
 * be rejected whole with exactly one line naming the table and the limit,
 * and a line that repeats per entry must come a few times and then as one
 * "... and N more" summary.
 */

#include <stdio.h>
#include <stdlib.h>
#include "host_test.h"
#include <mmulab/ratelimit.h>
#include <mmulab/topology.h>

struct log {
	int count;
	char lines[16][200];
};

static void keep(void *ctx, const char *line)
{
	struct log *l = ctx;
	if (l->count < 16)
		snprintf(l->lines[l->count], sizeof(l->lines[0]), "%s", line);
	l->count++;
}

static struct log seen;
static struct acpi_info info;
static struct topology topo;

static void show(void)
{
	for (int i = 0; i < seen.count && i < 16; i++)
		printf("  # line %d: %s\n", i, seen.lines[i]);
}

static bool only_line(const char *needle)
{
	bool ok = seen.count == 1 && strstr(seen.lines[0], needle);
	if (!ok)
		show();
	return ok;
}

static size_t load_bad(const char *name, u8 *buf, size_t max)
{
	return host_load(buf, max, "tests/data/bad/%s.dat", name);
}

static u8 buf[64 * 1024];
static const struct acpi_reader reader = { NULL, keep, &seen };
static const struct mem_range ram_1g[] = { { 0, 0xa0000 }, { 0x100000, 0x40000000 } };

/* Parses one generated table into a fresh info; false if it was rejected. */
static bool parse_bad(const char *name, bool madt)
{
	memset(&seen, 0, sizeof(seen));
	memset(&info, 0, sizeof(info));
	size_t n = load_bad(name, buf, sizeof(buf));
	CHECK(n > 36 && acpi_table_valid(&reader, buf, n, madt ? "APIC" : "SRAT"));
	return madt ? acpi_parse_madt(&reader, buf, n, &info) : acpi_parse_srat(&reader, buf, n, &info);
}

static void build(void)
{
	struct topology_options opt = { 0 };
	topology_build(&info, ram_1g, 2, &opt, &topo, keep, &seen);
}

static void srat_with_80_domains_rejected_whole(void)
{
	CHECK(!parse_bad("srat-80-domains", false));
	CHECK(only_line("SRAT: more than 64 proximity domains, the kernel's limit (SRAT ignored: one node)"));
	build();
	CHECK(topo.node_count == 1 && !strcmp(topo.source, "SRAT rejected"));
}

static void srat_with_1100_cpus_rejected_whole(void)
{
	CHECK(!parse_bad("srat-1100-cpus", false));
	CHECK(only_line("SRAT: more than 1024 CPU affinity entries, the kernel's limit (SRAT ignored"));
	build();
	CHECK(topo.node_count == 1 && !strcmp(topo.source, "SRAT rejected"));
}

static void madt_with_1100_cpus_rejected_whole(void)
{
	CHECK(!parse_bad("madt-1100-cpus", true));
	CHECK(only_line("MADT: more than 1024 CPU entries, the parser's limit (MADT ignored: the boot CPU only)"));
	CHECK(info.cpu_count == 0 && !info.have_madt);
}

/* 512 threads of a two-socket server, x2APIC ids up to 1023, two domains. */
static void srat_x2apic_512_threads(void)
{
	CHECK(parse_bad("srat-x2apic-512", false));
	CHECK(seen.count == 0 && info.cpu_affinity_count == 512);
	u32 above = 0;
	for (u32 i = 0; i < info.cpu_affinity_count; i++)
		above += info.cpu_affinity[i].apic_id > 255 && info.cpu_affinity[i].x2apic;
	CHECK(above == 256);
	CHECK(info.cpu_affinity[511].apic_id == 767 && info.cpu_affinity[511].pxm == 1);
}

/* More present CPUs than MAX_CPUS: the first MAX_CPUS start, one line. */
static void cpus_beyond_the_limit_counted_once(void)
{
	CHECK(parse_bad("madt-x2apic-600", true));
	CHECK(seen.count == 0 && info.cpu_count == 600);
	size_t n = load_bad("srat-x2apic-512", buf, sizeof(buf));
	CHECK(acpi_parse_srat(&reader, buf, n, &info));
	build();
	char want[80];
	snprintf(want, sizeof(want), "MADT: %d CPUs beyond the limit of %d not started",
		 600 - MAX_CPUS, MAX_CPUS);
	bool found = false;
	for (int i = 0; i < seen.count && i < 16; i++)
		found |= strstr(seen.lines[i], want) != NULL;
	if (!found)
		show();
	CHECK(found && topo.cpu_count == MAX_CPUS);
	CHECK(topo.cpus[MAX_CPUS - 1].apic_id == (u32)(((MAX_CPUS - 1) / 256) << 9 | (MAX_CPUS - 1) % 256));
}

/* 100 duplicate APIC ids: three lines, then one summary with the rest. */
static void repeated_madt_line_summarised(void)
{
	static u8 t[36 + 8 + 101 * 16];
	size_t off = 44;

	memset(t, 0, sizeof(t));
	memcpy(t, "APIC", 4);
	for (int i = 0; i < 101; i++, off += 16) {
		t[off] = 9;
		t[off + 1] = 16;
		t[off + 4] = 7; /* every entry: x2APIC id 7, enabled */
		t[off + 8] = 1;
	}
	memset(&seen, 0, sizeof(seen));
	memset(&info, 0, sizeof(info));
	CHECK(acpi_parse_madt(&reader, t, off, &info) && info.cpu_count == 1);
	if (seen.count != RATELIMIT_BURST + 1)
		show();
	CHECK(seen.count == RATELIMIT_BURST + 1);
	CHECK(strstr(seen.lines[0], "MADT: APIC id 7 listed twice"));
	CHECK(strstr(seen.lines[RATELIMIT_BURST],
		     "... and 97 more \"MADT: APIC id listed twice\""));
}

static void ratelimit_burst_then_count(void)
{
	struct ratelimit rl = { .kind = "x" };
	int printed = 0;

	for (int i = 0; i < 1000; i++)
		printed += ratelimit_pass(&rl);
	CHECK(printed == RATELIMIT_BURST);
	CHECK(ratelimit_end_burst(&rl) == 1000 - RATELIMIT_BURST);
	/* A new burst prints again; a short one holds nothing back. */
	CHECK(ratelimit_pass(&rl) && ratelimit_end_burst(&rl) == 0);
	CHECK(ratelimit_end_burst(&rl) == 0);
}

/* The kernel's flush finds every kind a burst touched, once each, and
 * the next burst starts from nothing. */
static void ratelimit_list_summarises_each_kind_once(void)
{
	struct ratelimit_list list = { 0 };
	struct ratelimit a = { .kind = "a" }, b = { .kind = "b" };
	int printed = 0;

	for (int i = 0; i < 10; i++)
		printed += ratelimit_pass_listed(&list, &a);
	for (int i = 0; i < 2; i++)
		printed += ratelimit_pass_listed(&list, &b);
	CHECK(printed == RATELIMIT_BURST + 2);
	u32 held_a = 99, held_b = 99, kinds = 0;
	for (struct ratelimit *rl = ratelimit_list_take(&list); rl; kinds++) {
		struct ratelimit *was = rl;
		u32 held;
		rl = ratelimit_unlist(rl, &held);
		*(was == &a ? &held_a : &held_b) = held;
	}
	CHECK(kinds == 2 && held_a == 10 - RATELIMIT_BURST && held_b == 0);
	CHECK(ratelimit_list_take(&list) == NULL);
	CHECK(ratelimit_pass_listed(&list, &b) && list.head == &b && !b.next);
}

HOST_SUITE(limits,
	HOST_CASE(srat_with_80_domains_rejected_whole),
	HOST_CASE(srat_with_1100_cpus_rejected_whole),
	HOST_CASE(madt_with_1100_cpus_rejected_whole),
	HOST_CASE(srat_x2apic_512_threads),
	HOST_CASE(cpus_beyond_the_limit_counted_once),
	HOST_CASE(repeated_madt_line_summarised),
	HOST_CASE(ratelimit_burst_then_count),
	HOST_CASE(ratelimit_list_summarises_each_kind_once));
