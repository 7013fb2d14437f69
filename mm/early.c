/*
 * The early frame allocator: hands out conventional-memory frames from the
 * UEFI map in address order, above 1 MiB (the low megabyte is kept for the
 * real-mode AP trampoline). It never frees; the physical-memory issue
 * replaces it with memblock and the buddy allocator.
 */

#include <mmulab/mm.h>
#include <mmulab/boot_info.h>
#include <mmulab/kernel.h>
#include <mmulab/string.h>

#define LOW_RESERVED (1 * MiB)

static const struct boot_mem_range *ranges;
static u32 range_count, current;
static paddr_t next_frame;
static u64 frames_used;

void early_alloc_init(const struct boot_info *info)
{
	ranges = phys_to_virt(info->memmap);
	range_count = info->memmap_count;
	current = 0;
	next_frame = 0;
}

static bool usable(const struct boot_mem_range *r)
{
	return r->type == EFI_CONVENTIONAL && r->phys + r->pages * PAGE_SIZE > LOW_RESERVED;
}

paddr_t early_alloc_frame(void)
{
	for (; current < range_count; current++) {
		const struct boot_mem_range *r = &ranges[current];
		paddr_t end = r->phys + r->pages * PAGE_SIZE;
		if (!usable(r))
			continue;
		if (next_frame < MAX(r->phys, LOW_RESERVED))
			next_frame = MAX(r->phys, LOW_RESERVED);
		if (next_frame < end) {
			paddr_t pa = next_frame;
			next_frame += PAGE_SIZE;
			frames_used++;
			memset(phys_to_virt(pa), 0, PAGE_SIZE);
			return pa;
		}
	}
	panic("early_alloc_frame: out of conventional memory after %lu frames", frames_used);
}

void early_alloc_report(void)
{
	printk("mmulab: mm: early allocator used %lu frames (%lu KiB)\n", frames_used,
	       frames_used * PAGE_SIZE / KiB);
}
