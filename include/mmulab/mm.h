#ifndef MMULAB_MM_H
#define MMULAB_MM_H

#include <mmulab/types.h>
#include <mmulab/layout.h>

struct boot_info;

static inline void *phys_to_virt(paddr_t pa)
{
	return (void *)(pa + DIRECT_MAP_BASE);
}

static inline paddr_t virt_to_phys(const void *direct_map_va)
{
	return (vaddr_t)direct_map_va - DIRECT_MAP_BASE;
}

/* The physical address of a kernel-image address (code, data, bss). */
paddr_t kernel_image_phys(vaddr_t va);

/* Early frame allocator (mm/early.c): zeroed 4 KiB frames from the UEFI
 * map's conventional memory, for page tables and stacks before the real
 * allocators exist. Panics when memory runs out. */
void early_alloc_init(const struct boot_info *info);
paddr_t early_alloc_frame(void);
void early_alloc_report(void);

/* The kernel's own page tables (mm/kmap.c). */
void kmap_init(const struct boot_info *info);
paddr_t kernel_root(void);
/* A 4 KiB uncached, non-executable mapping of an MMIO or firmware page in
 * the direct map (for addresses outside RAM); returns its virtual address. */
void *kmap_firmware(paddr_t pa, size_t len);

#endif
