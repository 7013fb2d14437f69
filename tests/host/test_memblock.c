/* memblock over synthetic maps: fragmented, above 4 GiB, tiny. The model
 * is a byte-per-page map of what is memory and what is reserved. */

#include "host_test.h"
#include <stdlib.h>
#include <mmulab/memblock.h>

#define PG 4096ULL

static void merges_and_splits(void)
{
	memblock_reset();
	memblock_add(0x100000, 0x100000);
	memblock_add(0x300000, 0x100000);
	memblock_add(0x200000, 0x100000); /* bridges the two */
	CHECK(memblock.memory.count == 1);
	CHECK(memblock.memory.regions[0].base == 0x100000);
	CHECK(memblock.memory.regions[0].size == 0x300000);
	memblock_reserve(0x180000, 0x10000);
	memblock_reserve(0x250000, 0x10000);
	memblock_free(0x180000, 0x8000);
	CHECK(memblock.reserved.count == 2);
	CHECK(memblock.reserved.regions[0].base == 0x188000);
	CHECK(memblock_is_reserved(0x188000) && !memblock_is_reserved(0x180000));
	CHECK(memblock_is_memory(0x3fffff) && !memblock_is_memory(0x400000));
	memblock_free(0x240000, 0x30000); /* covers the second entirely */
	CHECK(memblock.reserved.count == 1);
}

static void alloc_respects_align_min_and_reserved(void)
{
	memblock_reset();
	memblock_add(0, 0x800000);
	memblock_reserve(0x100000, 0x1000);
	paddr_t a = memblock_alloc(0x1000, 0x1000);
	CHECK(a == 0x101000); /* not below alloc_min, not on the reservation */
	paddr_t b = memblock_alloc(0x200000, 0x200000);
	CHECK(b == 0x200000);
	CHECK(memblock_is_reserved(b) && memblock_is_reserved(b + 0x1fffff));
	CHECK(memblock_alloc(0x1000000, 0x1000) == 0); /* too big */
	CHECK(memblock_alloc_range(0x1000, 0x1000, 0x600000, 0x601000) == 0x600000);
	CHECK(memblock_alloc_range(0x2000, 0x1000, 0x600000, 0x602000) == 0); /* 0x600000 taken */
}

static void above_4g(void)
{
	memblock_reset();
	memblock_add(0x100000, 0x7ff00000);
	memblock_add(0x100000000ULL, 0x380000000ULL); /* 14 GiB above 4 GiB */
	CHECK(memblock_end_of_ram() == 0x480000000ULL);
	CHECK(memblock_total(&memblock.memory) == 0x7ff00000ULL + 0x380000000ULL);
	paddr_t a = memblock_alloc_range(1ULL << 30, 1ULL << 30, 4ULL << 30, ~0ULL);
	CHECK(a == 4ULL << 30);
}

static void tiny(void)
{
	memblock_reset();
	memblock_add(0x100000, PG);
	CHECK(memblock_alloc(PG, PG) == 0x100000);
	CHECK(memblock_alloc(PG, PG) == 0);
}

static void retired_allocates_nothing(void)
{
	memblock_reset();
	memblock_add(0x100000, 16 * PG);
	memblock_retire();
	CHECK(memblock_alloc(PG, PG) == 0);
	CHECK(memblock_is_memory(0x100000));
}

struct free_sum {
	u64 bytes;
	paddr_t last_end;
	bool ordered;
};

static void sum_free(paddr_t base, paddr_t end, void *arg)
{
	struct free_sum *s = arg;
	s->ordered &= base >= s->last_end && end > base;
	s->last_end = end;
	s->bytes += end - base;
}

/* Hundreds of fragments with random reservations, against a page model. */
static void fragmented_against_model(void)
{
	enum { PAGES = 65536 };
	static unsigned char mem[PAGES], res[PAGES];
	unsigned seed = 12345;

	memset(mem, 0, sizeof(mem));
	memset(res, 0, sizeof(res));
	memblock_reset();
	memblock.alloc_min = 0;
	for (int i = 0; i < 600; i++) {
		unsigned start = rand_r(&seed) % PAGES, len = 1 + rand_r(&seed) % 64;
		if (start + len > PAGES)
			len = PAGES - start;
		if (i % 3 == 2) {
			memblock_reserve(start * PG, len * PG);
			memset(res + start, 1, len);
		} else {
			memblock_add(start * PG, len * PG);
			memset(mem + start, 1, len);
		}
	}
	u64 model_free = 0;
	for (unsigned p = 0; p < PAGES; p++) {
		CHECK(memblock_is_memory(p * PG) == mem[p]);
		CHECK(memblock_is_reserved(p * PG) == res[p]);
		model_free += mem[p] && !res[p];
	}
	struct free_sum s = { 0, 0, true };
	memblock_for_each_free(sum_free, &s);
	CHECK(s.ordered);
	CHECK(s.bytes == model_free * PG);
	CHECK(!memblock.overflowed);
	CHECK(memblock.memory.count > 100);
}

static void overflow_is_recorded(void)
{
	memblock_reset();
	for (u64 i = 0; i <= MEMBLOCK_MAX_REGIONS; i++)
		memblock_add(i * 2 * PG, PG);
	CHECK(memblock.overflowed);
	CHECK(memblock.memory.count == MEMBLOCK_MAX_REGIONS);
}

HOST_SUITE(memblock,
	HOST_CASE(merges_and_splits),
	HOST_CASE(alloc_respects_align_min_and_reserved),
	HOST_CASE(above_4g),
	HOST_CASE(tiny),
	HOST_CASE(retired_allocates_nothing),
	HOST_CASE(fragmented_against_model),
	HOST_CASE(overflow_is_recorded));
