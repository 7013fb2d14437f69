/*
 * ACPI parsing and the topology built from it: the real tables in
 * tests/data/acpi (their facts.txt give the numbers asserted here), tables
 * built in memory for what QEMU under TCG cannot make (x2APIC ids > 255),
 * and one hand-broken table per malformed case, each of which must give
 * exactly one report line naming the table and the documented fallback.
 */

#include <stdio.h>
#include <stdlib.h>
#include "host_test.h"
#include <mmulab/ratelimit.h>
#include <mmulab/topology.h>

/* --- report capture --- */

struct lines {
	int count;
	char last[256];
};

static void capture(void *ctx, const char *line)
{
	struct lines *l = ctx;
	l->count++;
	snprintf(l->last, sizeof(l->last), "%s", line);
}

/* --- a fake physical memory for acpi_scan --- */

static u8 phys[64 * 1024];

static const void *map_fake(void *ctx, paddr_t pa, size_t len)
{
	(void)ctx;
	return pa + len <= sizeof(phys) && pa ? phys + pa : NULL;
}

static struct lines seen;
static const struct acpi_reader reader = { map_fake, capture, &seen };
static struct acpi_info info;
static struct topology topo;

static void reset(void)
{
	memset(&seen, 0, sizeof(seen));
	memset(&info, 0, sizeof(info));
}

/* --- files --- */

static size_t load(const char *machine, const char *table, u8 *buf, size_t max)
{
	return host_load(buf, max, "tests/data/acpi/%s/%s.dat", machine, table);
}

static bool parse_machine(const char *machine)
{
	static u8 buf[8192];
	size_t n;

	reset();
	if (!(n = load(machine, "APIC", buf, sizeof(buf))) || !acpi_table_valid(&reader, buf, n, "APIC"))
		return false;
	acpi_parse_madt(&reader, buf, n, &info);
	if (!(n = load(machine, "SRAT", buf, sizeof(buf))) || !acpi_table_valid(&reader, buf, n, "SRAT"))
		return false;
	acpi_parse_srat(&reader, buf, n, &info);
	if ((n = load(machine, "SLIT", buf, sizeof(buf))) && acpi_table_valid(&reader, buf, n, "SLIT"))
		acpi_parse_slit(&reader, buf, n, &info);
	return true;
}

static u32 present_cpus(void)
{
	u32 n = 0;
	for (u32 i = 0; i < info.cpu_count; i++)
		n += info.cpus[i].enabled;
	return n;
}

static void build(const struct mem_range *ram, u32 n, struct topology_options opt)
{
	topology_build(&info, ram, n, &opt, &topo, capture, &seen);
}

static const struct mem_range guest_2g[] = { { 0, 0xa0000 }, { 0x100000, 0x80000000 } };

static void dell_r820(void)
{
	CHECK(parse_machine("dell-r820-4s-xeon-e5-4600"));
	CHECK(present_cpus() == 80 && info.cpu_affinity_count == 80);
	CHECK(info.mem_count == 4);
	CHECK(info.mem[0].pxm == 1 && info.mem[0].base == 0 && info.mem[0].length == 0x440000000ULL);
	CHECK(info.mem[3].pxm == 4 && info.mem[3].base == 0xc40000000ULL);
	CHECK(info.slit_localities == 5 && info.slit[2 * 5 + 4] == 30 && info.slit[1 * 5 + 3] == 30);
	CHECK(seen.count == 0);
	/* All 65 GiB: four nodes, domains 1..4, SLIT rows by domain number. */
	struct mem_range all[] = { { 0, 0x1040000000ULL } };
	build(all, 1, (struct topology_options){ 0 });
	CHECK(topo.node_count == 4 && topo.slit_used);
	CHECK(topo.nodes[0].pxm == 1 && topo.nodes[3].pxm == 4);
	CHECK(topo.nodes[0].bytes == 0x440000000ULL && topo.nodes[1].bytes == 0x400000000ULL);
	CHECK(topo.distance[0][2] == 30 && topo.distance[1][3] == 30 && topo.distance[0][1] == 20);
	CHECK(topo.cpu_count == 80 && topo.nodes[2].cpu_count == 20);
	int order[MAX_NODES];
	CHECK(topology_fallback_order(&topo, 0, order) == 4 && order[0] == 0 && order[3] == 2);
	/* A 2 GiB guest: RAM only in domain 1, the others memoryless. */
	reset();
	CHECK(parse_machine("dell-r820-4s-xeon-e5-4600"));
	build(guest_2g, 2, (struct topology_options){ 0 });
	CHECK(topo.node_count == 4 && topo.nodes[0].bytes > 0 && topo.nodes[1].bytes == 0);
	CHECK(topology_node_of(&topo, 0x7fffffff) == 0 && topology_node_of(&topo, 0xb0000) == -1);
}

static void smc_h8qg6(void)
{
	CHECK(parse_machine("smc-h8qg6-4s-opteron-6100"));
	CHECK(present_cpus() == 64);
	u32 lo = ~0u, hi = 0;
	for (u32 i = 0; i < info.cpu_count; i++) {
		lo = info.cpus[i].apic_id < lo ? info.cpus[i].apic_id : lo;
		hi = info.cpus[i].apic_id > hi ? info.cpus[i].apic_id : hi;
	}
	CHECK(lo == 32 && hi == 143);
	CHECK(info.mem_count == 10 && info.slit_localities == 8);
	struct mem_range all[] = { { 0, 0xa0000 }, { 0x100000, 0xd8000000 }, { 0x100000000ULL, 0x2028000000ULL } };
	build(all, 3, (struct topology_options){ 0 });
	CHECK(topo.node_count == 8);
	CHECK(topo.distance[0][1] == 16 && topo.distance[0][3] == 22 && topo.distance[7][6] == 16);
	for (u32 n = 0; n < 8; n++)
		CHECK(topo.nodes[n].cpu_count == 8);
	CHECK(topo.nodes[1].bytes == 16ULL << 30);
}

static void hp_dl380e_no_slit(void)
{
	CHECK(parse_machine("hp-dl380e-gen8-2s-noslit"));
	CHECK(present_cpus() == 8 && !info.have_slit);
	CHECK(info.mem_count == 2); /* the disabled entries with a base are skipped */
	struct mem_range all[] = { { 0, 0x1480000000ULL } };
	build(all, 1, (struct topology_options){ 0 });
	CHECK(topo.node_count == 2 && !topo.slit_used);
	CHECK(topo.distance[0][1] == 20 && topo.distance[1][1] == 10);
	CHECK(topo.nodes[0].cpu_count == 4 && topo.nodes[1].cpu_count == 4);
}

static void tyan_memoryless(void)
{
	CHECK(parse_machine("tyan-s8225-opteron-memless"));
	CHECK(present_cpus() == 16);
	struct mem_range all[] = { { 0, 0xa0000 }, { 0x100000, 0xc8000000 }, { 0x100000000ULL, 0x437000000ULL } };
	build(all, 3, (struct topology_options){ 0 });
	CHECK(topo.node_count == 2);
	CHECK(topo.nodes[1].bytes == 0 && topo.nodes[1].cpu_count == 8);
	CHECK(topo.distance[0][1] == 16);
	CHECK(seen.count == 1 && strstr(seen.last, "domain 1 has CPUs but no RAM"));
}

/* --- built tables --- */

static u8 sum8(const u8 *p, size_t n)
{
	u8 s = 0;
	while (n--)
		s += *p++;
	return s;
}

static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void put64(u8 *p, u64 v) { memcpy(p, &v, 8); }

/* Starts a table of sig at t with room after the header. */
static size_t header(u8 *t, const char *sig, size_t reserved)
{
	memset(t, 0, 36 + reserved);
	memcpy(t, sig, 4);
	t[8] = 1;
	return 36 + reserved;
}

static void finish(u8 *t, size_t len)
{
	put32(t + 4, (u32)len);
	t[9] = 0;
	t[9] = (u8)(0 - sum8(t, len));
}

static size_t srat_mem(u8 *t, size_t off, u32 pxm, u64 base, u64 len, u32 flags)
{
	u8 *e = t + off;
	memset(e, 0, 40);
	e[0] = 1;
	e[1] = 40;
	put32(e + 2, pxm);
	put64(e + 8, base);
	put64(e + 16, len);
	put32(e + 28, flags);
	return off + 40;
}

static size_t srat_x2apic(u8 *t, size_t off, u32 pxm, u32 id)
{
	u8 *e = t + off;
	memset(e, 0, 24);
	e[0] = 2;
	e[1] = 24;
	put32(e + 4, pxm);
	put32(e + 8, id);
	put32(e + 12, 1);
	return off + 24;
}

static size_t srat_lapic(u8 *t, size_t off, u32 pxm, u8 id)
{
	u8 *e = t + off;
	memset(e, 0, 16);
	e[0] = 0;
	e[1] = 16;
	e[2] = (u8)pxm;
	e[3] = id;
	put32(e + 4, 1);
	return off + 16;
}

static size_t madt_x2apic(u8 *t, size_t off, u32 id)
{
	u8 *e = t + off;
	memset(e, 0, 16);
	e[0] = 9;
	e[1] = 16;
	put32(e + 4, id);
	put32(e + 8, 1);
	return off + 16;
}

static size_t madt_lapic(u8 *t, size_t off, u8 id)
{
	u8 *e = t + off;
	memset(e, 0, 8);
	e[1] = 8;
	e[3] = id;
	put32(e + 4, 1);
	return off + 8;
}

static const struct mem_range ram_4g[] = { { 0, 4ULL << 30 } };

static void x2apic_ids_above_255(void)
{
	static u8 madt[256], srat[256];
	size_t m = header(madt, "APIC", 8), s = header(srat, "SRAT", 12);

	reset();
	m = madt_x2apic(madt, m, 300);
	m = madt_x2apic(madt, m, 301);
	finish(madt, m);
	s = srat_mem(srat, s, 0, 0, 2ULL << 30, 1);
	s = srat_mem(srat, s, 1, 2ULL << 30, 2ULL << 30, 1);
	s = srat_x2apic(srat, s, 0, 300);
	s = srat_x2apic(srat, s, 1, 301);
	finish(srat, s);
	CHECK(acpi_table_valid(&reader, madt, m, "APIC") && acpi_table_valid(&reader, srat, s, "SRAT"));
	acpi_parse_madt(&reader, madt, m, &info);
	acpi_parse_srat(&reader, srat, s, &info);
	build(ram_4g, 1, (struct topology_options){ 0 });
	CHECK(topo.node_count == 2 && topo.cpu_count == 2);
	CHECK(topo.cpus[0].apic_id == 300 && topo.cpus[0].x2apic && topo.cpus[0].node == 0);
	CHECK(topo.cpus[1].apic_id == 301 && topo.cpus[1].node == 1);
	CHECK(seen.count == 0);
}

/* One malformed SRAT at a time on top of a good two-domain layout. */
static void expect_one_line(const char *needle)
{
	if (seen.count != 1 || !strstr(seen.last, needle))
		printf("  # %d lines, last: \"%s\" (wanted \"%s\")\n", seen.count, seen.last, needle);
	CHECK(seen.count == 1 && strstr(seen.last, needle));
}

static void bad_table_headers(void)
{
	static u8 t[128];
	size_t n = header(t, "SRAT", 12);
	finish(t, n);

	reset();
	t[20] ^= 1; /* checksum broken */
	CHECK(!acpi_table_valid(&reader, t, n, "SRAT"));
	expect_one_line("SRAT: checksum");
	t[20] ^= 1;
	reset();
	CHECK(!acpi_table_valid(&reader, t, n - 4, "SRAT")); /* truncated */
	expect_one_line("SRAT: Length");
	reset();
	CHECK(!acpi_table_valid(&reader, t, n, "SLIT"));
	expect_one_line("signature");
}

static void zero_length_subtable(void)
{
	static u8 madt[128];
	size_t m = header(madt, "APIC", 8);

	reset();
	m = madt_lapic(madt, m, 0);
	madt[m] = 0; /* type 0, length 0 */
	madt[m + 1] = 0;
	m += 8;
	finish(madt, m);
	acpi_parse_madt(&reader, madt, m, &info);
	CHECK(info.cpu_count == 1);
	expect_one_line("MADT: subtable type 0 at offset 52 has length 0");
}

static size_t good_srat(u8 *srat)
{
	size_t s = header(srat, "SRAT", 12);
	s = srat_lapic(srat, s, 0, 0);
	s = srat_lapic(srat, s, 1, 1);
	return s;
}

static void parse_srat_and_build(u8 *srat, size_t s)
{
	static u8 madt[128];
	size_t m = header(madt, "APIC", 8);

	m = madt_lapic(madt, m, 0);
	m = madt_lapic(madt, m, 1);
	finish(madt, m);
	finish(srat, s);
	acpi_parse_madt(&reader, madt, m, &info);
	acpi_parse_srat(&reader, srat, s, &info);
	build(ram_4g, 1, (struct topology_options){ 0 });
}

static void overlapping_domains(void)
{
	static u8 srat[512];
	size_t s = good_srat(srat);

	reset();
	s = srat_mem(srat, s, 0, 0, 3ULL << 30, 1);
	s = srat_mem(srat, s, 1, 2ULL << 30, 2ULL << 30, 1);
	parse_srat_and_build(srat, s);
	CHECK(!info.srat_valid && topo.node_count == 1 && topo.nodes[0].bytes == 4ULL << 30);
	expect_one_line("overlaps");
}

static void domain_without_anything(void)
{
	static u8 srat[512];
	size_t s = good_srat(srat);

	reset();
	s = srat_mem(srat, s, 0, 0, 2ULL << 30, 1);
	s = srat_mem(srat, s, 1, 2ULL << 30, 2ULL << 30, 1);
	s = srat_mem(srat, s, 5, 64ULL << 30, 1ULL << 30, 1); /* beyond the RAM, no CPU */
	parse_srat_and_build(srat, s);
	CHECK(topo.node_count == 2);
	expect_one_line("domain 5 has neither RAM nor a present CPU");
}

static void apic_ids_nobody_has(void)
{
	static u8 srat[512];
	size_t s = good_srat(srat);

	reset();
	s = srat_lapic(srat, s, 1, 77);
	s = srat_lapic(srat, s, 1, 78);
	s = srat_mem(srat, s, 0, 0, 2ULL << 30, 1);
	s = srat_mem(srat, s, 1, 2ULL << 30, 2ULL << 30, 1);
	parse_srat_and_build(srat, s);
	CHECK(topo.node_count == 2 && topo.possible_only == 2 && topo.cpu_count == 2);
	expect_one_line("2 CPU entries name APIC ids no present CPU has");
}

static void zero_and_absurd_memory(void)
{
	static u8 srat[512];
	size_t s = good_srat(srat);

	reset();
	s = srat_mem(srat, s, 0, 0, 4ULL << 30, 1);
	s = srat_mem(srat, s, 1, 8ULL << 30, 0, 1);
	finish(srat, s);
	acpi_parse_srat(&reader, srat, s, &info);
	CHECK(info.mem_count == 1 && info.srat_valid);
	expect_one_line("has length 0");
	reset();
	s = good_srat(srat);
	s = srat_mem(srat, s, 0, 0, 4ULL << 30, 1);
	s = srat_mem(srat, s, 1, 1ULL << 60, 1ULL << 30, 1);
	finish(srat, s);
	acpi_parse_srat(&reader, srat, s, &info);
	CHECK(info.mem_count == 1);
	expect_one_line("beyond 2^52");
}

static size_t slit(u8 *t, u64 n, const u8 *m)
{
	size_t len = header(t, "SLIT", 8);
	put64(t + 36, n);
	memcpy(t + 44, m, n * n);
	len += n * n;
	finish(t, len);
	return len;
}

static void slit_too_small(void)
{
	static u8 srat[512], sl[128];
	static const u8 m2[] = { 10, 21, 21, 10 };
	size_t s = header(srat, "SRAT", 12);

	reset();
	s = srat_lapic(srat, s, 0, 0);
	s = srat_lapic(srat, s, 3, 1);
	s = srat_mem(srat, s, 0, 0, 2ULL << 30, 1);
	s = srat_mem(srat, s, 3, 2ULL << 30, 2ULL << 30, 1);
	size_t l = slit(sl, 2, m2);
	acpi_parse_slit(&reader, sl, l, &info);
	parse_srat_and_build(srat, s);
	CHECK(topo.node_count == 2 && !topo.slit_used && topo.distance[0][1] == 20);
	expect_one_line("SLIT: 2 localities but domain 3 is in use");
}

static void slit_bad_diagonal(void)
{
	static u8 sl[128];
	static const u8 m[] = { 10, 20, 20, 11 };

	reset();
	size_t l = slit(sl, 2, m);
	CHECK(!acpi_parse_slit(&reader, sl, l, &info) && !info.have_slit);
	expect_one_line("SLIT: entry [1][1] is 11");
}

static void unknown_srat_types_counted(void)
{
	static u8 srat[512];
	size_t s = good_srat(srat);

	reset();
	s = srat_mem(srat, s, 0, 0, 4ULL << 30, 1);
	srat[s] = 5; /* a generic-initiator entry, say */
	srat[s + 1] = 32;
	memset(srat + s + 2, 0, 30);
	s += 32;
	finish(srat, s);
	acpi_parse_srat(&reader, srat, s, &info);
	CHECK(info.srat_valid && info.mem_count == 1);
	expect_one_line("SRAT: 1 subtables of types other than 0, 1, 2 (skipped)");
}

static void short_madt_entry_stops(void)
{
	static u8 madt[128];
	size_t m = header(madt, "APIC", 8);

	reset();
	m = madt_lapic(madt, m, 0);
	madt[m] = 9; /* an x2APIC entry 8 bytes long: too short */
	madt[m + 1] = 8;
	memset(madt + m + 2, 0, 6);
	m += 8;
	m = madt_lapic(madt, m, 1);
	finish(madt, m);
	acpi_parse_madt(&reader, madt, m, &info);
	CHECK(info.cpu_count == 1);
	expect_one_line("MADT: type 9 entry at offset 52 has length 8, too short");
}

/* --- the RSDP walk over a fake memory --- */

static void place_rsdp(paddr_t at, u8 revision, paddr_t rsdt, paddr_t xsdt)
{
	u8 *r = phys + at;
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	r[15] = revision;
	put32(r + 16, (u32)rsdt);
	put32(r + 20, 36);
	put64(r + 24, xsdt);
	r[8] = (u8)(0 - sum8(r, 20));
	r[32] = (u8)(0 - sum8(r, 36));
}

static void place_root(paddr_t at, const char *sig, const paddr_t *tables, int n, bool wide)
{
	size_t len = header(phys + at, sig, 0);
	for (int i = 0; i < n; i++) {
		if (wide)
			put64(phys + at + len, tables[i]);
		else
			put32(phys + at + len, (u32)tables[i]);
		len += wide ? 8 : 4;
	}
	finish(phys + at, len);
}

static void place_slit(paddr_t at, u8 d)
{
	u8 m[] = { 10, d, d, 10 };
	slit(phys + at, 2, m);
}

static void xsdt_null_and_duplicates(void)
{
	paddr_t tables[] = { 0x3000, 0, 0x3100 };

	memset(phys, 0, sizeof(phys));
	reset();
	place_slit(0x3000, 17);
	place_slit(0x3100, 33);
	place_root(0x2000, "XSDT", tables, 3, true);
	place_rsdp(0x1000, 2, 0, 0x2000);
	CHECK(acpi_scan(&reader, 0x1000, &info));
	CHECK(info.have_slit && info.slit[1] == 17); /* the first one wins */
	CHECK(seen.count == 2 && strstr(seen.last, "another SLIT at P0x3100 ignored"));
}

/* A SRAT rejected for its contents does not stop a later valid one, and
 * nothing of the rejected one is left in what the later one produced. */
static void rejected_srat_then_valid_one(void)
{
	paddr_t tables[] = { 0x3000, 0x4000, 0x5000 };
	u8 *bad = phys + 0x3000, *good = phys + 0x4000, *late = phys + 0x5000;
	size_t n;

	memset(phys, 0, sizeof(phys));
	reset();
	n = header(bad, "SRAT", 12);
	n = srat_mem(bad, n, 0, 0, 2ULL << 30, 1);
	n = srat_mem(bad, n, 1, 1ULL << 30, 2ULL << 30, 1);
	finish(bad, n);
	n = header(good, "SRAT", 12);
	n = srat_mem(good, n, 3, 0, 4ULL << 30, 1);
	finish(good, n);
	n = header(late, "SRAT", 12);
	n = srat_mem(late, n, 7, 0, 4ULL << 30, 1);
	finish(late, n);
	place_root(0x2000, "XSDT", tables, 3, true);
	place_rsdp(0x1000, 2, 0, 0x2000);
	CHECK(acpi_scan(&reader, 0x1000, &info));
	CHECK(info.srat_valid && info.mem_count == 1 && info.mem[0].pxm == 3);
	CHECK(seen.count == 2 && strstr(seen.last, "another SRAT at P0x5000 ignored"));
}

/* An XSDT of 400 entries that repeat every kind of root-walk problem:
 * each kind gives RATELIMIT_BURST lines and one summary, and the valid
 * SLIT after all of them is still found. */
static void root_walk_lines_bounded(void)
{
	static paddr_t tables[401];
	int n = 0;
	size_t len;

	memset(phys, 0, sizeof(phys));
	reset();
	place_slit(0x3000, 17);
	len = header(phys + 0x3100, "SRAT", 12); /* overlapping domains: rejected */
	len = srat_mem(phys + 0x3100, len, 0, 0, 2ULL << 30, 1);
	len = srat_mem(phys + 0x3100, len, 1, 1ULL << 30, 2ULL << 30, 1);
	finish(phys + 0x3100, len);
	memcpy(phys + 0x3300, phys + 0x3000, 48);
	phys[0x3300 + 9]++; /* bad checksum */
	for (int i = 0; i < 100; i++) {
		tables[n++] = 0;
		tables[n++] = 0x3100;
		tables[n++] = 0x3300;
		tables[n++] = 0xfffff000; /* cannot be mapped */
	}
	tables[n++] = 0x3000;
	place_root(0x8000, "XSDT", tables, n, true);
	place_rsdp(0x1000, 2, 0, 0x8000);
	CHECK(acpi_scan(&reader, 0x1000, &info));
	CHECK(info.have_slit && info.slit[1] == 17 && !info.srat_valid);
	/* NULL, bad header, unmappable: BURST + 1 lines each. The rejected
	 * SRAT: its line for the first table and for BURST more, then the
	 * summary: 4 * (BURST + 1) + 1 in all. */
	if (seen.count != 4 * (RATELIMIT_BURST + 1) + 1)
		printf("  # %d lines, last: \"%s\"\n", seen.count, seen.last);
	CHECK(seen.count == 4 * (RATELIMIT_BURST + 1) + 1);
	CHECK(strstr(seen.last, "... and 96 more \"another table of a rejected signature, parsed "
			       "quietly\""));
}

static void rsdt_only_and_unmappable(void)
{
	paddr_t tables[] = { 0x3000, 0xfffff000 };

	memset(phys, 0, sizeof(phys));
	reset();
	place_slit(0x3000, 19);
	place_root(0x2000, "RSDT", tables, 2, false);
	place_rsdp(0x1000, 0, 0x2000, 0);
	CHECK(acpi_scan(&reader, 0x1000, &info));
	CHECK(info.have_slit && info.slit[1] == 19);
	expect_one_line("RSDT: table at P0xfffff000 cannot be mapped");
}

static void bad_rsdp(void)
{
	memset(phys, 0, sizeof(phys));
	reset();
	place_rsdp(0x1000, 2, 0, 0x2000);
	phys[0x1000 + 8] ^= 0xff;
	CHECK(!acpi_scan(&reader, 0x1000, &info));
	expect_one_line("RSDP: bad signature or checksum");
}

/* A DSDT at pa in the fake memory holding aml after its header. */
static size_t place_dsdt(paddr_t pa, const u8 *aml, size_t n)
{
	size_t len = header(phys + pa, "DSDT", n);

	memcpy(phys + pa + 36, aml, n);
	finish(phys + pa, len);
	return len;
}

/* QEMU's form: Name (\_S5, Package (0x04) { Zero, Zero, Zero, Zero }). */
static const u8 qemu_s5[] = { 0x10, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04,
			      0x00, 0x00, 0x00, 0x00 };

/* The PM timer port: from X_PM_TMR_BLK when it is in I/O space, else
 * PM_TMR_BLK; a memory-mapped one is refused with a line. */
static void fadt_pm_timer(void)
{
	static u8 f[276];
	size_t n = header(f, "FACP", 276 - 36);

	memset(phys, 0, sizeof(phys));
	place_dsdt(0x3000, qemu_s5, sizeof(qemu_s5));
	reset();
	put32(f + 40, 0x3000);
	put32(f + 76, 0x608);
	put32(f + 112, 1U << 8);
	finish(f, n);
	CHECK(acpi_parse_fadt(&reader, f, n, &info) && info.pm_timer_port == 0x608 && info.pm_timer_32bit);
	reset();
	f[208] = 1; /* I/O space */
	put64(f + 212, 0xb008);
	finish(f, n);
	CHECK(acpi_parse_fadt(&reader, f, n, &info) && info.pm_timer_port == 0xb008);
	reset();
	f[208] = 0; /* memory space */
	finish(f, n);
	CHECK(!acpi_parse_fadt(&reader, f, n, &info) && info.pm_timer_port == 0);
	expect_one_line("FADT: X_PM_TMR_BLK is not in I/O space");
}

/* --- SPCR: the console the firmware names (tests/data/spcr/gen.py) --- */

static size_t load_spcr(const char *name, u8 *buf, size_t max)
{
	size_t n = host_load(buf, max, "tests/data/spcr/%s.dat", name);

	CHECK(n > 0);
	return n;
}

static bool parse_spcr_file(const char *name)
{
	static u8 t[128];
	size_t n = load_spcr(name, t, sizeof(t));

	reset();
	return acpi_table_valid(&reader, t, n, "SPCR") && acpi_parse_spcr(&reader, t, n, &info);
}

static void spcr_com2_and_mmio(void)
{
	CHECK(parse_spcr_file("spcr-com2"));
	CHECK(info.spcr_valid && !info.spcr.mmio && info.spcr.base == 0x2f8);
	CHECK(info.spcr.baud == 115200 && info.spcr.clock_hz == 1843200 && seen.count == 0);
	CHECK(parse_spcr_file("spcr-mmio32"));
	CHECK(info.spcr_valid && info.spcr.mmio && info.spcr.base == 0xfe030000);
	CHECK(info.spcr.reg_bytes == 4 && info.spcr.baud == 9600 && info.spcr.interface_type == 0x12);
	CHECK(seen.count == 0);
}

/* Each unusable SPCR: rejected with exactly one line, which says the
 * console stays on COM1. */
static void spcr_unusable(void)
{
	static const char *const cases[][2] = {
		{ "spcr-pl011", "SPCR: interface type 0x3 is not a 16550" },
		{ "spcr-pci-space", "SPCR: base address space id 2 is neither memory" },
		{ "spcr-io-16bit", "SPCR: I/O registers of 16 bits" },
		{ "spcr-disabled", "SPCR: base address 0: console redirection is disabled" },
		{ "spcr-bad-baud", "SPCR: baud rate code 5 is not 0, 3, 4, 6 or 7" },
		{ "spcr-short", "SPCR: Length 60 is shorter than 80" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK(!parse_spcr_file(cases[i][0]));
		CHECK(info.have_spcr && !info.spcr_valid);
		expect_one_line(cases[i][1]);
		CHECK(strstr(seen.last, "(console stays on COM1)"));
	}
}

/* Revisions 3 and 4: the UART clock and the precise baud rate; a rate no
 * 16 bit divisor of that clock gives is refused; baud code 0 keeps the
 * firmware's rate. Built from the COM2 table. */
static void spcr_clock_and_precise_baud(void)
{
	static u8 t[88];
	size_t n = load_spcr("spcr-com2", t, 80) + 8;

	reset();
	t[8] = 4;
	put32(t + 76, 48000000);
	put32(t + 80, 3000000);
	finish(t, n);
	CHECK(acpi_parse_spcr(&reader, t, n, &info) && info.spcr.baud == 3000000);
	CHECK(info.spcr.clock_hz == 48000000);
	reset();
	put32(t + 80, 1);
	finish(t, n);
	CHECK(!acpi_parse_spcr(&reader, t, n, &info));
	expect_one_line("SPCR: 1 baud from a 48000000 Hz clock needs divisor 3000000");
	reset();
	t[8] = 2; /* revision 2: offsets 76 and 80 are not read */
	t[58] = 0;
	finish(t, n);
	CHECK(acpi_parse_spcr(&reader, t, n, &info) && info.spcr.baud == 0);
	CHECK(info.spcr.clock_hz == 1843200 && seen.count == 0);
}

/* Through the XSDT: no SPCR at all; a rejected one then a good one (the
 * good one is used, one line for the first). */
static void spcr_found_by_scan(void)
{
	static u8 t[128];
	paddr_t tables[] = { 0x3000, 0x3100 };

	memset(phys, 0, sizeof(phys));
	reset();
	place_slit(0x3000, 19);
	place_root(0x2000, "XSDT", tables, 1, true);
	place_rsdp(0x1000, 2, 0, 0x2000);
	CHECK(acpi_scan(&reader, 0x1000, &info) && !info.have_spcr && seen.count == 0);
	memcpy(phys + 0x3000, t, load_spcr("spcr-pl011", t, sizeof(t)));
	memcpy(phys + 0x3100, t, load_spcr("spcr-com2", t, sizeof(t)));
	place_root(0x2000, "XSDT", tables, 2, true);
	reset();
	CHECK(acpi_scan(&reader, 0x1000, &info));
	CHECK(info.spcr_valid && info.spcr.base == 0x2f8);
	expect_one_line("SPCR: interface type 0x3");
}

/* on_done=: the reset register (only with RESET_REG_SUP, only I/O or
 * memory space), the PM1 control ports (X_ fields win when in I/O space)
 * and \_S5 from the DSDT the FADT points at (X_DSDT wins). */
static void fadt_power_controls(void)
{
	static u8 f[276];
	static const u8 s5_five[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05,
				      0x0a, 0x06, 0x00, 0x00 };
	size_t n = header(f, "FACP", 276 - 36);

	memset(phys, 0, sizeof(phys));
	place_dsdt(0x3000, qemu_s5, sizeof(qemu_s5));
	place_dsdt(0x4000, s5_five, sizeof(s5_five));
	reset();
	put32(f + 40, 0x3000);
	put64(f + 140, 0x4000); /* X_DSDT */
	put32(f + 64, 0x604);
	put32(f + 68, 0x704);
	f[172] = 1; /* X_PM1a_CNT_BLK in I/O space */
	put64(f + 176, 0xb004);
	put32(f + 112, 1U << 10); /* RESET_REG_SUP */
	f[116] = 1;
	put64(f + 120, 0xcf9);
	f[128] = 0x06;
	finish(f, n);
	acpi_parse_fadt(&reader, f, n, &info);
	CHECK(seen.count == 0);
	CHECK(info.power.reset_supported && info.power.reset_reg.space == ACPI_GAS_IO);
	CHECK(info.power.reset_reg.address == 0xcf9 && info.power.reset_value == 6);
	CHECK(info.power.pm1a_cnt == 0xb004 && info.power.pm1b_cnt == 0x704);
	CHECK(info.power.have_s5 && info.power.slp_typa == 5 && info.power.slp_typb == 6);

	reset();
	put64(f + 140, 0); /* only the 32-bit DSDT: QEMU's zeros */
	f[116] = 2;        /* PCI configuration space: not supported */
	finish(f, n);
	acpi_parse_fadt(&reader, f, n, &info);
	CHECK(info.power.have_s5 && info.power.slp_typa == 0 && info.power.slp_typb == 0);
	CHECK(!info.power.reset_supported);
	expect_one_line("FADT: RESET_REG is in address space 2 at 0xcf9");

	reset();
	put32(f + 112, 0); /* no RESET_REG_SUP: the register is not used, silently */
	f[116] = 1;
	put32(f + 40, 0);
	finish(f, n);
	acpi_parse_fadt(&reader, f, n, &info);
	CHECK(!info.power.reset_supported && !info.power.have_s5);
	expect_one_line("FADT: no DSDT that can be mapped");
}

static bool s5(const u8 *aml, size_t n)
{
	static u8 t[128];
	size_t len = header(t, "DSDT", n);

	memcpy(t + 36, aml, n);
	finish(t, len);
	reset();
	return acpi_parse_s5(&reader, t, len, &info.power);
}

/* The \_S5 forms firmware writes, and each malformed one: one line and no
 * poweroff, never a read past the package or the table. */
static void s5_package_forms(void)
{
	static const u8 one_element[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x57 };
	static const u8 long_pkglength[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x47, 0x00, 0x02,
					     0x0b, 0x07, 0x00, 0x01 };
	static const u8 method_not_name[] = { 0x14, 0x06, '_', 'S', '5', '_', 0x00, 0xa4, 0x00 };
	static const u8 past_table[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x3f, 0x02, 0x00, 0x00 };
	static const u8 not_integer[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0d, 'x', 0x00 };
	static const u8 cut_constant[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x0c };
	static const u8 above_seven[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x08, 0x00 };
	static const u8 empty[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x00 };

	CHECK(s5(qemu_s5, sizeof(qemu_s5)) && info.power.slp_typa == 0 && seen.count == 0);
	CHECK(s5(one_element, sizeof(one_element)) && info.power.slp_typa == 7 &&
	      info.power.slp_typb == 5);
	CHECK(s5(long_pkglength, sizeof(long_pkglength)) && info.power.slp_typa == 7 &&
	      info.power.slp_typb == 1);
	CHECK(!s5(method_not_name, sizeof(method_not_name)));
	expect_one_line("DSDT: \\_S5 not found");
	CHECK(!s5(past_table, sizeof(past_table)));
	expect_one_line("DSDT: \\_S5 is not a package within the table");
	CHECK(!s5(not_integer, sizeof(not_integer)));
	expect_one_line("element is not an integer constant");
	CHECK(!s5(cut_constant, sizeof(cut_constant)));
	expect_one_line("element is not an integer constant");
	CHECK(!s5(above_seven, sizeof(above_seven)));
	expect_one_line("sleep type is above 7");
	CHECK(!s5(empty, sizeof(empty)));
	expect_one_line("is an empty package");
	CHECK(!info.power.have_s5);
}

/* --- options --- */

static void numa_off_and_fake(void)
{
	CHECK(parse_machine("smc-h8qg6-4s-opteron-6100"));
	build(guest_2g, 2, (struct topology_options){ .numa_off = true });
	CHECK(topo.node_count == 1 && topo.cpu_count == 64);
	build(guest_2g, 2, (struct topology_options){ .fake_nodes = 4 });
	CHECK(topo.node_count == 4);
	u64 total = 0;
	for (u32 n = 0; n < 4; n++) {
		total += topo.nodes[n].bytes;
		CHECK(topo.nodes[n].cpu_count == 16);
		CHECK(topo.nodes[n].bytes > (450ULL << 20) && topo.nodes[n].bytes < (560ULL << 20));
	}
	CHECK(total == 0xa0000 + 0x80000000 - 0x100000);
	CHECK(topo.nodes[1].ranges[0].start % (2 << 20) == 0);
	CHECK(topo.distance[1][2] == 20);
	reset();
	const struct mem_range tiny[] = { { 0x100000, 0x100000 + (8ULL << 20) } };
	build(tiny, 1, (struct topology_options){ .fake_nodes = 64 });
	CHECK(topo.node_count == 4);
	expect_one_line("numa=fake=64: only 4 nodes fit");
	/* 2 MiB cuts on a little, fragmented RAM: no node may end up empty. */
	reset();
	const struct mem_range frag[] = { { 0, 0xa0000 }, { 0x100000, 0x880000 } };
	build(frag, 2, (struct topology_options){ .fake_nodes = 4 });
	for (u32 i = 0; i < topo.node_count; i++)
		CHECK(topo.nodes[i].bytes > 0);
	for (u32 c = 0; c < topo.cpu_count; c++)
		CHECK((u32)topo.cpus[c].node < topo.node_count);
	CHECK(topo.node_count == 4 && seen.count == 0);
	reset();
	build(guest_2g, 2, (struct topology_options){ .fake_nodes = 2 });
	CHECK(topo.node_count == 2 && topo.nodes[0].bytes > (900ULL << 20) &&
	      topo.nodes[1].bytes > (900ULL << 20));
}

HOST_SUITE(acpi,
	HOST_CASE(dell_r820),
	HOST_CASE(smc_h8qg6),
	HOST_CASE(hp_dl380e_no_slit),
	HOST_CASE(tyan_memoryless),
	HOST_CASE(x2apic_ids_above_255),
	HOST_CASE(bad_table_headers),
	HOST_CASE(zero_length_subtable),
	HOST_CASE(overlapping_domains),
	HOST_CASE(domain_without_anything),
	HOST_CASE(apic_ids_nobody_has),
	HOST_CASE(zero_and_absurd_memory),
	HOST_CASE(slit_too_small),
	HOST_CASE(slit_bad_diagonal),
	HOST_CASE(xsdt_null_and_duplicates),
	HOST_CASE(rejected_srat_then_valid_one),
	HOST_CASE(unknown_srat_types_counted),
	HOST_CASE(short_madt_entry_stops),
	HOST_CASE(root_walk_lines_bounded),
	HOST_CASE(rsdt_only_and_unmappable),
	HOST_CASE(bad_rsdp),
	HOST_CASE(fadt_pm_timer),
	HOST_CASE(spcr_com2_and_mmio),
	HOST_CASE(spcr_unusable),
	HOST_CASE(spcr_clock_and_precise_baud),
	HOST_CASE(spcr_found_by_scan),
	HOST_CASE(fadt_power_controls),
	HOST_CASE(s5_package_forms),
	HOST_CASE(numa_off_and_fake));
