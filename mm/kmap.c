/*
 * The kernel's final page tables, replacing the UEFI stage's bootstrap
 * ones: a direct map of every RAM range with the largest pages that fit
 * (1 GiB where the CPU has them, else 2 MiB, 4 KiB at unaligned edges),
 * the kernel image W^X, and nothing else: no identity map, NX on all data.
 * Holes between RAM ranges (MMIO) stay unmapped, so no speculative
 * write-back access ever reaches a device.
 */

#include <mmulab/mm.h>
#include <mmulab/boot_info.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/cmdline.h>
#include <mmulab/pgtable.h>
#include <arch/cpu.h>

extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[];

static paddr_t root;
static const struct boot_info *boot;

paddr_t kernel_root(void)
{
	return root;
}

paddr_t kernel_image_phys(vaddr_t va)
{
	ASSERT(va >= boot->kernel_virt && va < boot->kernel_virt + boot->kernel_size);
	return boot->kernel_phys + (va - boot->kernel_virt);
}

/* Memory a RAM mapping may cover: everything but device and reserved
 * ranges. Firmware tables (ACPI reclaim/NVS) are RAM too. */
static bool is_ram(u32 type)
{
	switch (type) {
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
	case EFI_RUNTIME_SERVICES_CODE:
	case EFI_RUNTIME_SERVICES_DATA:
	case EFI_CONVENTIONAL:
	case EFI_ACPI_RECLAIM:
	case EFI_ACPI_NVS:
	case EFI_PERSISTENT:
		return true;
	default:
		return false;
	}
}

/* The read-only mode maps every page on its own: any RAM page may become
 * a table, which must be read-only while its neighbours stay writable. */
static u64 largest_page(paddr_t pa, paddr_t end)
{
	if (cmdline.mmu_pv)
		return PAGE_SIZE;
	if (cpu_has(X86_GBPAGES) && IS_ALIGNED(pa, PUD_SIZE) && end - pa >= PUD_SIZE)
		return PUD_SIZE;
	if (IS_ALIGNED(pa, PMD_SIZE) && end - pa >= PMD_SIZE)
		return PMD_SIZE;
	return PAGE_SIZE;
}

static void map_direct_range(paddr_t pa, paddr_t end, u64 counts[3])
{
	while (pa < end) {
		u64 size = largest_page(pa, end);
		pt_map(root, DIRECT_MAP_BASE + pa, pa, size, size, VM_READ | VM_WRITE | VM_GLOBAL);
		counts[size == PUD_SIZE ? 2 : size == PMD_SIZE ? 1 : 0]++;
		pa += size;
	}
}

/* Adjacent RAM ranges are mapped as one, so large pages span their seams. */
static void map_direct(void)
{
	const struct boot_mem_range *r = phys_to_virt(boot->memmap);
	u64 counts[3] = { 0 };
	paddr_t start = 0, end = 0;

	for (u32 i = 0; i <= boot->memmap_count; i++) {
		bool last = i == boot->memmap_count;
		if (!last && !is_ram(r[i].type))
			continue;
		if (!last && r[i].phys == end) {
			end += r[i].pages * PAGE_SIZE;
			continue;
		}
		if (end > start)
			map_direct_range(start, end, counts);
		if (!last) {
			start = r[i].phys;
			end = start + r[i].pages * PAGE_SIZE;
		}
	}
	printk("mmulab: mm: direct map: %lu x 1G, %lu x 2M, %lu x 4K pages\n", counts[2],
	       counts[1], counts[0]);
}

static void map_image_part(const char *start, const char *end, enum vm_prot prot)
{
	vaddr_t va = (vaddr_t)start;
	pt_map(root, va, kernel_image_phys(va), (vaddr_t)end - va, PAGE_SIZE, prot | VM_GLOBAL);
}

extern const char boot_guard_low[], boot_guard_high[];

/* Data and bss, less the guard pages under the boot-time stacks. */
static void map_kernel_image(void)
{
	const char *guards[] = { boot_guard_low, boot_guard_high };
	const char *from = __data_start;

	map_image_part(__text_start, __text_end, VM_READ | VM_EXEC);
	map_image_part(__rodata_start, __rodata_end, VM_READ);
	for (size_t i = 0; i < ARRAY_SIZE(guards); i++) {
		map_image_part(from, guards[i], VM_READ | VM_WRITE);
		from = guards[i] + PAGE_SIZE;
	}
	map_image_part(from, __data_end, VM_READ | VM_WRITE);
}

void *kmap_firmware(paddr_t pa, size_t len)
{
	paddr_t first = ALIGN_DOWN(pa, PAGE_SIZE), last = ALIGN_UP(pa + len, PAGE_SIZE);

	for (paddr_t p = first; p < last; p += PAGE_SIZE) {
		struct pt_walk w = pt_walk(root, DIRECT_MAP_BASE + p);
		if (!w.leaf_size)
			pt_map(root, DIRECT_MAP_BASE + p, p, PAGE_SIZE, PAGE_SIZE,
			       VM_READ | VM_WRITE | VM_UNCACHED);
	}
	return phys_to_virt(pa);
}

static paddr_t ram_span(void)
{
	const struct boot_mem_range *r = phys_to_virt(boot->memmap);
	paddr_t span = 0;

	for (u32 i = 0; i < boot->memmap_count; i++)
		if (is_ram(r[i].type))
			span = MAX(span, r[i].phys + r[i].pages * PAGE_SIZE);
	return span;
}

/*
 * An upper bound on the tables kmap_init needs: per GiB of RAM span one
 * PMD page (used only without 1 GiB pages or at unaligned edges), per
 * run of RAM two PTE pages for its unaligned ends, the image's tables,
 * and a few for the firmware pages mapped 4 KiB at a time. The read-only
 * mode maps 4 KiB pages only: one PTE page per 2 MiB of span.
 */
static u64 pgt_buf_estimate(void)
{
	const struct boot_mem_range *r = phys_to_virt(boot->memmap);
	u64 runs = 0;

	for (u32 i = 0; i < boot->memmap_count; i++)
		runs += is_ram(r[i].type);
	u64 gib = ALIGN_UP(ram_span(), PUD_SIZE) / PUD_SIZE;
	u64 pte_pages = cmdline.mmu_pv ? gib * PT_ENTRIES : 0;
	return 1 + (gib + PT_ENTRIES - 1) / PT_ENTRIES + gib + 2 * runs + pte_pages +
	       3 + boot->kernel_size / PMD_SIZE + 4;
}

/* Builds the tables from the early page-table buffer, switches to them,
 * then gives back what the UEFI stage's tables and the buffer's unused
 * tail occupied. NXE and the other protections go on before the CR3 load:
 * the new entries use NX, which is a reserved bit without EFER.NXE. In the
 * read-only mode the frames are permuted before anything is built, and
 * the finished tables are made read-only and pinned before the load. */
void kmap_init(const struct boot_info *info)
{
	boot = info;
	pgt_buf_init(pgt_buf_estimate());
	if (cmdline.mmu_pv)
		pv_mode_setup(ram_span());
	root = pt_table_frame(PT_L4);
	map_direct();
	map_kernel_image();
	if (info->rsdp)
		kmap_firmware(info->rsdp, 36);
	if (cmdline.mmu_pv) {
		pgt_buf_protect();
		pv_mode_pin_kernel_tables(root);
	}
	cpu_enable_protections();
	pt_load_root(root);
	memblock_release_boot_tables(info);
	pgt_buf_release_tail();
}
