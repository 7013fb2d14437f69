/*
 * The PVH entry's 64-bit half: runs on pvh_entry.asm's early tables (identity and
 * direct map of [0, 4 GiB), the kernel image), converts the start info into
 * a struct boot_info (pvh_info.c), builds the same bootstrap tables the UEFI
 * stage builds (boot/pagetables.c):
 *  - identity and direct map of [0, max(4 GiB, top of RAM)) with 2 MiB
 *    pages, sharing tables;
 *  - the kernel image at KERNEL_VIRT_BASE with 4 KiB pages;
 * all from one block of RAM above the kernel image, listed as
 * BOOT_RES_BOOT_PT so the kernel frees it once it runs on its own tables,
 * and jumps to the common entry _start. Bad start info is one line on the
 * serial console and the panic verdict, as in the UEFI stage.
 */

#include <arch/pvh.h>
#include <arch/serial.h>
#include <arch/cpu.h>
#include <arch/pgtable.h>
#include <mmulab/kernel.h>
#include <mmulab/layout.h>
#include <mmulab/mm.h>

/* Supervisor-only at every level, as the UEFI stage builds them. */
#define TABLE_FLAGS (_PAGE_PRESENT | _PAGE_RW)

void _start(void);
void __noreturn pvh_main(u32 start_info);
void __noreturn pvh_enter_kernel(u64 cr3, vaddr_t entry, struct boot_info *info);
extern const char pvh_kernel_load_phys[], __kernel_end[];

static struct boot_info info __aligned(PAGE_SIZE);
static struct boot_mem_range map[PVH_MEMMAP_MAX];
static paddr_t pool;
static u64 pool_pages, pool_used;

static paddr_t image_phys(const void *p)
{
	return (paddr_t)pvh_kernel_load_phys + ((vaddr_t)p - KERNEL_VIRT_BASE);
}

static void __noreturn pvh_fail(const char *line)
{
	serial_init();
	printk("\nmmulab: boot: %s\n", line);
	printk("mmulab: PANIC: the PVH entry could not start the kernel\n");
	cpu_detect_features();
	machine_exit(VERDICT_PANIC);
}

/* Everything the start info points to is below 4 GiB: the early tables
 * map exactly that. */
static const void *map_low(void *ctx, paddr_t pa, u64 len)
{
	(void)ctx;
	return pa && pa + len >= pa && pa + len <= 4 * GiB ? phys_to_virt(pa) : NULL;
}

static bool ram_type(u32 type)
{
	return type == EFI_CONVENTIONAL || type == EFI_LOADER_DATA || type == EFI_ACPI_RECLAIM ||
	       type == EFI_ACPI_NVS || type == EFI_PERSISTENT;
}

static paddr_t physical_top(void)
{
	paddr_t top = 4 * GiB;

	for (u32 i = 0; i < info.memmap_count; i++)
		if (ram_type(map[i].type))
			top = MAX(top, map[i].phys + map[i].pages * PAGE_SIZE);
	if (top > DIRECT_MAP_SIZE)
		pvh_fail("pvh: physical memory above the direct map size");
	return ALIGN_UP(top, GiB);
}

static u64 tables_needed(paddr_t top)
{
	u64 gib = top / GiB;

	/* PML4, the direct map's PDPTs and PDs, the kernel's PDPT, PD, PTs. */
	return 1 + (gib + PT_ENTRIES - 1) / PT_ENTRIES + gib + 2 +
	       (info.kernel_size / PAGE_SIZE + PT_ENTRIES - 1) / PT_ENTRIES;
}

static bool overlaps_reserved(paddr_t lo, paddr_t hi, paddr_t *past)
{
	for (u32 i = 0; i < info.reserved_count; i++) {
		const struct boot_reserved *r = &info.reserved[i];
		if (lo < r->phys + r->size && r->phys < hi) {
			*past = r->phys + r->size;
			return true;
		}
	}
	return false;
}

static bool inside_free_ram(paddr_t lo, paddr_t hi)
{
	for (u32 i = 0; i < info.memmap_count; i++)
		if (map[i].type == EFI_CONVENTIONAL && map[i].phys <= lo &&
		    hi <= map[i].phys + map[i].pages * PAGE_SIZE)
			return true;
	return false;
}

/* The first free block above the kernel image, clear of the symbol table,
 * written through the early direct map (so below 4 GiB). */
static paddr_t place_tables(u64 pages)
{
	paddr_t at = info.kernel_phys + info.kernel_size, past;

	while (overlaps_reserved(at, at + pages * PAGE_SIZE, &past))
		at = past;
	if (!inside_free_ram(at, at + pages * PAGE_SIZE) || at + pages * PAGE_SIZE > 4 * GiB)
		pvh_fail("pvh: no free RAM right above the kernel image for the bootstrap tables");
	return at;
}

static paddr_t new_table(void)
{
	ASSERT(pool_used < pool_pages);
	paddr_t pa = pool + pool_used++ * PAGE_SIZE;
	pt_table_clear(phys_to_virt(pa));
	return pa;
}

static void map_physical(paddr_t pml4, paddr_t top)
{
	pgd_t *pgd = phys_to_virt(pml4);
	pud_t *pud = NULL;

	for (paddr_t pa = 0; pa < top; pa += GiB) {
		if (pud_index(pa) == 0) {
			paddr_t pdpt = new_table();
			set_pgd(&pgd[pgd_index(pa)], __pgd(pdpt | TABLE_FLAGS));
			set_pgd(&pgd[pgd_index(DIRECT_MAP_BASE + pa)], __pgd(pdpt | TABLE_FLAGS));
			pud = phys_to_virt(pdpt);
		}
		paddr_t pd = new_table();
		pmd_t *pmd = phys_to_virt(pd);
		set_pud(&pud[pud_index(pa)], __pud(pd | TABLE_FLAGS));
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			set_pmd(&pmd[i], pmd_mkhuge(pa + i * PMD_SIZE, TABLE_FLAGS));
	}
}

/* The table below the lvl entry for va in table, made on first use. */
#define DEFINE_NEXT_TABLE(lvl)                                                   \
	static void *next_table_##lvl(void *table, vaddr_t va)                   \
	{                                                                        \
		lvl##_t *e = (lvl##_t *)table + lvl##_index(va);                 \
		if (!lvl##_present(*e))                                          \
			set_##lvl(e, __##lvl(new_table() | TABLE_FLAGS));        \
		return phys_to_virt(lvl##_paddr(*e));                            \
	}
DEFINE_NEXT_TABLE(pgd)
DEFINE_NEXT_TABLE(pud)
DEFINE_NEXT_TABLE(pmd)

static void map_kernel(paddr_t pml4)
{
	for (u64 off = 0; off < info.kernel_size; off += PAGE_SIZE) {
		vaddr_t va = info.kernel_virt + off;
		void *pt = next_table_pmd(next_table_pud(next_table_pgd(phys_to_virt(pml4), va),
							 va), va);
		set_pte((pte_t *)pt + pte_index(va), pte_mkleaf(info.kernel_phys + off, TABLE_FLAGS));
	}
}

static void add_reserved(const void *p, u64 size, enum boot_reserved_kind kind)
{
	ASSERT(info.reserved_count < BOOT_RESERVED_MAX);
	info.reserved[info.reserved_count++] = (struct boot_reserved){
		.phys = ALIGN_DOWN(image_phys(p), PAGE_SIZE),
		.size = ALIGN_UP(image_phys(p) + size, PAGE_SIZE) - ALIGN_DOWN(image_phys(p), PAGE_SIZE),
		.kind = kind,
	};
}

void pvh_main(u32 start_info)
{
	static const struct pvh_reader reader = { map_low, NULL };
	const struct pvh_image img = {
		.phys = image_phys((void *)KERNEL_VIRT_BASE),
		.virt = KERNEL_VIRT_BASE,
		.size = ALIGN_UP((vaddr_t)__kernel_end, PAGE_SIZE) - KERNEL_VIRT_BASE,
	};
	char err[200];

	if (!pvh_to_boot_info(&reader, start_info, &img, &info, map, err, sizeof(err)))
		pvh_fail(err);
	info.memmap = image_phys(map);
	add_reserved(&info, sizeof(info), BOOT_RES_BOOT_INFO);
	add_reserved(map, sizeof(map), BOOT_RES_MEMMAP);

	paddr_t top = physical_top();
	pool_pages = tables_needed(top);
	pool = place_tables(pool_pages);
	info.reserved[info.reserved_count++] = (struct boot_reserved){
		.phys = pool, .size = pool_pages * PAGE_SIZE, .kind = BOOT_RES_BOOT_PT,
	};
	paddr_t pml4 = new_table();
	map_physical(pml4, top);
	map_kernel(pml4);
	pvh_enter_kernel(pml4, (vaddr_t)_start, phys_to_virt(image_phys(&info)));
}
