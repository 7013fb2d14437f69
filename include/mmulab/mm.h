#ifndef MMULAB_MM_H
#define MMULAB_MM_H

#include <mmulab/types.h>
#include <mmulab/layout.h>

struct boot_info;

#ifdef MMULAB_HOST
/* Host unit tests: "physical memory" is an array in the test process. */
extern u8 *host_phys_base;
static inline void *phys_to_virt(paddr_t pa) { return host_phys_base + pa; }
static inline paddr_t virt_to_phys(const void *va) { return (const u8 *)va - host_phys_base; }
#else
static inline void *phys_to_virt(paddr_t pa)
{
	return (void *)(pa + DIRECT_MAP_BASE);
}

static inline paddr_t virt_to_phys(const void *direct_map_va)
{
	return (vaddr_t)direct_map_va - DIRECT_MAP_BASE;
}
#endif

/* The physical address of a kernel-image address (code, data, bss). */
paddr_t kernel_image_phys(vaddr_t va);

/* Boot-time memory (mm/bootmem.c): memblock from the UEFI map; zeroed
 * 4 KiB frames for the kernel's own use, from memblock until the buddy
 * allocator exists and from it after (panics when memory runs out). */
void memblock_init_from_boot(const struct boot_info *info);
void memblock_release_boot_tables(const struct boot_info *info);
paddr_t kernel_frame_alloc(void);

/* The early page-table buffer (mm/pgt_buf.c). pt_table_frame()
 * (mmulab/pgtable.h) is where every kernel page-table page comes from: the
 * buffer while it is active. */
void pgt_buf_init(u64 pages);
/* Makes [start, top) read-only in the kernel's new direct map (the
 * read-only mode: the buffer will hold tables). */
void pgt_buf_protect(void);
/* The 2.6.39 pagetable_reserve hook: keeps [start, end) reserved and
 * read-only, flips the tail [end, top) writable and returns it. */
void pgt_buf_release_tail(void);
/* For a fault report: says so in one line when va is a released tail
 * page of the buffer, which stays read-only without the fixup. */
bool pgt_buf_explain_fault(vaddr_t va, const char *prefix);
void pgt_buf_bounds(paddr_t *start, paddr_t *end, paddr_t *top);

/* The kernel's own page tables (mm/kmap.c). */
void kmap_init(const struct boot_info *info);
paddr_t kernel_root(void);
/* A 4 KiB uncached, non-executable mapping of an MMIO or firmware page in
 * the direct map (for addresses outside RAM); returns its virtual address. */
void *kmap_firmware(paddr_t pa, size_t len);

#endif
