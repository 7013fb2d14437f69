/*
 * Boot-time memory: memblock fed from the UEFI map, and the frames the
 * kernel takes for itself (tables, stacks): from memblock during boot, from
 * the buddy allocator once it exists.
 *
 * Usable: conventional memory, boot-services code and data (free once
 * ExitBootServices returned), loader code and data except what the UEFI
 * stage handed over in boot_info's reserved list. Never ACPI reclaim/NVS
 * (the tables are parsed in place), runtime services, MMIO or reserved.
 */

#include <mmulab/boot_info.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/page.h>
#include <mmulab/string.h>

static bool usable_type(u32 type)
{
	switch (type) {
	case EFI_CONVENTIONAL:
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
		return true;
	default:
		return false;
	}
}

static u64 frames_handed_out;

void memblock_init_from_boot(const struct boot_info *info)
{
	const struct boot_mem_range *r = phys_to_virt(info->memmap);

	memblock_reset();
	for (u32 i = 0; i < info->memmap_count; i++)
		if (usable_type(r[i].type))
			memblock_add(r[i].phys, r[i].pages * PAGE_SIZE);
	/* The real-mode AP trampoline lives below 1 MiB. */
	memblock_reserve(0, 1 * MiB);
	for (u32 i = 0; i < info->reserved_count; i++)
		memblock_reserve(info->reserved[i].phys, info->reserved[i].size);
	if (info->fb.size)
		memblock_reserve(info->fb.base, info->fb.size);
	if (info->rsdp)
		memblock_reserve(ALIGN_DOWN(info->rsdp, PAGE_SIZE), PAGE_SIZE);
	if (memblock.overflowed)
		printk("mmulab: mm: memblock: more than %d regions, some memory left unused\n",
		       MEMBLOCK_MAX_REGIONS);
	printk("mmulab: mm: memblock: %u memory regions, %lu MiB usable, %lu KiB reserved, "
	       "RAM ends at P0x%lx\n", memblock.memory.count,
	       memblock_total(&memblock.memory) / MiB,
	       memblock_total(&memblock.reserved) / KiB, memblock_end_of_ram());
}

/* The bootstrap tables are dead once the kernel runs on its own. */
void memblock_release_boot_tables(const struct boot_info *info)
{
	for (u32 i = 0; i < info->reserved_count; i++)
		if (info->reserved[i].kind == BOOT_RES_BOOT_PT)
			memblock_free(info->reserved[i].phys, info->reserved[i].size);
}

paddr_t kernel_frame_alloc(void)
{
	if (page_alloc_ready()) {
		struct page *p = alloc_pages(NO_NODE, 0, ALLOC_ZERO);
		if (!p)
			panic("kernel_frame_alloc: no free page on any node");
		return page_to_phys(p);
	}
	paddr_t pa = memblock_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!pa)
		panic("kernel_frame_alloc: memblock has no free page left after %lu",
		      frames_handed_out);
	frames_handed_out++;
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}
