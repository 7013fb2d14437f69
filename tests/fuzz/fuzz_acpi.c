/*
 * libFuzzer target for the firmware-input parsers. The first byte picks
 * what the rest is (byte % 5): 0 MADT, 1 SRAT, 2 SLIT, 4 SPCR (header
 * checks included except for the SLIT), or 3 a whole fake physical memory
 * for the RSDP -> XSDT/RSDT walk (RSDP at offset 0x10). Whatever parses is
 * then built into a topology over a fixed RAM layout, so the builder sees
 * the parsers' worst output too. Every input must also keep its report
 * lines bounded whatever its size (repeated kinds summarised, struct
 * ratelimit): more than MAX_LINES aborts, a finding like a crash.
 *
 * The corpus is tests/fuzz/seeds (selector byte included): the real and
 * SPCR tables at its top (tests/fuzz/make_seeds.py), the oversized tables
 * in madt/, srat/ and scan/ (tests/data/bad/gen.py); libFuzzer reads the
 * directory recursively.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mmulab/topology.h>

static const uint8_t *mem;
static size_t mem_len;

static const void *map(void *ctx, paddr_t pa, size_t len)
{
	(void)ctx;
	return pa && pa <= mem_len && len <= mem_len - pa ? mem + pa : NULL;
}

/* A generous bound: each table parsed loudly gives at most a few kinds of
 * BURST + 1 lines, and the root walk parses at most BURST + 1 tables of a
 * rejected signature loudly. An unbounded repeat passes it at once. */
#define MAX_LINES 200

static unsigned lines;

static void count(void *ctx, const char *line)
{
	(void)ctx;
	if (++lines > MAX_LINES) {
		fprintf(stderr, "more than %d report lines; the last: %s\n", MAX_LINES, line);
		abort();
	}
}

static struct acpi_info info;
static struct topology topo;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mem_range ram[] = { { 0, 0xa0000 }, { 0x100000, 0x80000000 },
						{ 0x100000000ULL, 0x180000000ULL } };
	const struct acpi_reader r = { map, count, NULL };

	if (size < 1)
		return 0;
	memset(&info, 0, sizeof(info));
	lines = 0;
	mem = data + 1;
	mem_len = size - 1;
	switch (data[0] % 5) {
	case 0:
		if (acpi_table_valid(&r, mem, mem_len, "APIC"))
			acpi_parse_madt(&r, mem, mem_len, &info);
		break;
	case 1:
		if (acpi_table_valid(&r, mem, mem_len, "SRAT"))
			acpi_parse_srat(&r, mem, mem_len, &info);
		break;
	case 2:
		/* Header checks are separate: feed the body parser raw bytes. */
		if (mem_len >= 36)
			acpi_parse_slit(&r, mem, mem_len, &info);
		break;
	case 3:
		acpi_scan(&r, 0x10, &info);
		break;
	default:
		if (acpi_table_valid(&r, mem, mem_len, "SPCR"))
			acpi_parse_spcr(&r, mem, mem_len, &info);
	}
	struct topology_options opt = { .fake_nodes = data[0] >> 6 };
	topology_build(&info, ram, 3, &opt, &topo, count, NULL);
	for (uint32_t n = 0; n < topo.node_count; n++) {
		int order[MAX_NODES];
		topology_fallback_order(&topo, (int)n, order);
	}
	return 0;
}
