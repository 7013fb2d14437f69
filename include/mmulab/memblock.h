#ifndef MMULAB_MEMBLOCK_H
#define MMULAB_MEMBLOCK_H

/*
 * memblock: the boot-time physical memory map. "memory" holds the RAM the
 * kernel may use (from the UEFI map), "reserved" what of it is taken. It
 * allocates until the buddy allocator takes over the free remainder. Pure
 * code over fixed arrays: the host tests drive it with synthetic maps.
 */

#include <mmulab/types.h>

#define MEMBLOCK_MAX_REGIONS 1024

struct memblock_region {
	paddr_t base;
	u64 size;
};

struct memblock_type {
	u32 count;
	const char *name;
	struct memblock_region regions[MEMBLOCK_MAX_REGIONS];
};

struct memblock {
	struct memblock_type memory;
	struct memblock_type reserved;
	paddr_t alloc_min; /* allocations never go below (the AP trampoline) */
	bool overflowed;   /* a region was lost: more than MEMBLOCK_MAX_REGIONS */
	bool retired;      /* the buddy allocator owns the free memory now */
};

extern struct memblock memblock;

void memblock_reset(void);
/* Both merge with overlapping or adjacent regions; size 0 is ignored. */
void memblock_add(paddr_t base, u64 size);
void memblock_reserve(paddr_t base, u64 size);
/* Takes [base, base+size) out of reserved. */
void memblock_free(paddr_t base, u64 size);

/* The lowest free, aligned range of size bytes in [min, max); reserved on
 * return. 0 when none (0 is never a valid result: alloc_min > 0). */
paddr_t memblock_alloc_range(u64 size, u64 align, paddr_t min, paddr_t max);
paddr_t memblock_alloc(u64 size, u64 align);

/* After this every allocation fails: the free ranges belong to the buddy
 * allocator. The arrays stay, as the record of what is RAM. */
void memblock_retire(void);

bool memblock_is_memory(paddr_t pa);
bool memblock_is_reserved(paddr_t pa);
u64 memblock_total(const struct memblock_type *t);
paddr_t memblock_end_of_ram(void);

/* Calls fn for each maximal free range (memory minus reserved), in
 * address order. */
void memblock_for_each_free(void (*fn)(paddr_t base, paddr_t end, void *arg), void *arg);

#endif
