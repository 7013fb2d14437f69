/*
 * memblock: sorted, non-overlapping region arrays. Adding merges with
 * neighbours so the arrays stay small even for firmware maps with hundreds
 * of fragments; a full array is recorded (overflowed) rather than hidden.
 */

#include <mmulab/memblock.h>
#include <mmulab/string.h>

struct memblock memblock = {
	.memory = { .name = "memory" },
	.reserved = { .name = "reserved" },
	.alloc_min = 1 * MiB,
};

void memblock_reset(void)
{
	memblock.memory.count = 0;
	memblock.reserved.count = 0;
	memblock.overflowed = false;
	memblock.retired = false;
	memblock.alloc_min = 1 * MiB;
}

static void remove_at(struct memblock_type *t, u32 i)
{
	memmove(&t->regions[i], &t->regions[i + 1], (t->count - i - 1) * sizeof(t->regions[0]));
	t->count--;
}

static void insert_at(struct memblock_type *t, u32 i, paddr_t base, u64 size)
{
	if (t->count == MEMBLOCK_MAX_REGIONS) {
		memblock.overflowed = true;
		return;
	}
	memmove(&t->regions[i + 1], &t->regions[i], (t->count - i) * sizeof(t->regions[0]));
	t->regions[i] = (struct memblock_region){ base, size };
	t->count++;
}

static paddr_t region_end(const struct memblock_region *r)
{
	return r->base + r->size;
}

/* Inserts [base, end) and absorbs every region it overlaps or touches. */
static void add_range(struct memblock_type *t, paddr_t base, paddr_t end)
{
	u32 i = 0;

	if (end <= base)
		return;
	while (i < t->count && region_end(&t->regions[i]) < base)
		i++;
	while (i < t->count && t->regions[i].base <= end) {
		base = MIN(base, t->regions[i].base);
		end = MAX(end, region_end(&t->regions[i]));
		remove_at(t, i);
	}
	insert_at(t, i, base, end - base);
}

/* Cuts [base, end) out of every region, splitting one if needed. */
static void remove_range(struct memblock_type *t, paddr_t base, paddr_t end)
{
	for (u32 i = 0; i < t->count;) {
		struct memblock_region r = t->regions[i];
		paddr_t r_end = region_end(&r);
		if (r_end <= base || r.base >= end) {
			i++;
			continue;
		}
		remove_at(t, i);
		if (r.base < base)
			insert_at(t, i++, r.base, base - r.base);
		if (r_end > end)
			insert_at(t, i++, end, r_end - end);
	}
}

void memblock_add(paddr_t base, u64 size)
{
	add_range(&memblock.memory, base, base + size);
}

void memblock_reserve(paddr_t base, u64 size)
{
	add_range(&memblock.reserved, base, base + size);
}

void memblock_free(paddr_t base, u64 size)
{
	remove_range(&memblock.reserved, base, base + size);
}

static bool type_contains(const struct memblock_type *t, paddr_t pa)
{
	u32 lo = 0, hi = t->count;

	while (lo < hi) {
		u32 mid = (lo + hi) / 2;
		if (pa < t->regions[mid].base)
			hi = mid;
		else if (pa >= region_end(&t->regions[mid]))
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool memblock_is_memory(paddr_t pa)
{
	return type_contains(&memblock.memory, pa);
}

bool memblock_is_reserved(paddr_t pa)
{
	return type_contains(&memblock.reserved, pa);
}

u64 memblock_total(const struct memblock_type *t)
{
	u64 sum = 0;

	for (u32 i = 0; i < t->count; i++)
		sum += t->regions[i].size;
	return sum;
}

paddr_t memblock_end_of_ram(void)
{
	const struct memblock_type *m = &memblock.memory;
	return m->count ? region_end(&m->regions[m->count - 1]) : 0;
}

/* Walks memory minus reserved; both arrays are sorted and disjoint. */
void memblock_for_each_free(void (*fn)(paddr_t base, paddr_t end, void *arg), void *arg)
{
	const struct memblock_type *res = &memblock.reserved;
	u32 r = 0;

	for (u32 m = 0; m < memblock.memory.count; m++) {
		paddr_t base = memblock.memory.regions[m].base;
		paddr_t end = region_end(&memblock.memory.regions[m]);
		while (base < end) {
			while (r < res->count && region_end(&res->regions[r]) <= base)
				r++;
			if (r == res->count || res->regions[r].base >= end) {
				fn(base, end, arg);
				break;
			}
			if (res->regions[r].base > base)
				fn(base, res->regions[r].base, arg);
			base = region_end(&res->regions[r]);
		}
	}
}

struct alloc_search {
	u64 size, align;
	paddr_t min, max, found;
};

static void try_range(paddr_t base, paddr_t end, void *arg)
{
	struct alloc_search *s = arg;

	if (s->found)
		return;
	base = ALIGN_UP(MAX(base, s->min), s->align);
	end = MIN(end, s->max);
	if (base < end && end - base >= s->size)
		s->found = base;
}

paddr_t memblock_alloc_range(u64 size, u64 align, paddr_t min, paddr_t max)
{
	struct alloc_search s = { size, align, MAX(min, memblock.alloc_min), max, 0 };

	if (size == 0 || (align & (align - 1)) || memblock.retired)
		return 0;
	memblock_for_each_free(try_range, &s);
	if (s.found)
		memblock_reserve(s.found, size);
	return s.found;
}

void memblock_retire(void)
{
	memblock.retired = true;
}

paddr_t memblock_alloc(u64 size, u64 align)
{
	return memblock_alloc_range(size, align, 0, ~0ULL);
}
