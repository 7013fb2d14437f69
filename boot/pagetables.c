/*
 * Bootstrap page tables: just enough for the kernel to build its own.
 *  - identity map of [0, top) with 2 MiB pages, so this code keeps running
 *    after the CR3 load;
 *  - the same physical range at DIRECT_MAP_BASE (the kernel's direct map
 *    from its first instruction), sharing the identity map's tables;
 *  - the kernel image block at KERNEL_VIRT_BASE with 4 KiB pages.
 * Everything is writable and executable: the kernel replaces these tables
 * with W^X ones before it runs any test. 2 MiB pages work on every x86-64
 * CPU; 1 GiB pages need a CPUID bit, which the kernel checks, not us.
 */

#include <efi.h>
#include <efilib.h>

#include "boot.h"

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_PS 0x80ULL
#define TABLE_FLAGS (PTE_P | PTE_W)
#define ENTRIES 512

/* All tables come from one block sized up front (one reserved range for
 * the kernel to account for, however much memory there is). */
static u64 *pool;
static u64 pool_used, pool_pages;

static u64 *new_table(void)
{
	if (pool_used == pool_pages)
		boot_fail(L"bootstrap page-table pool (too small)", EFI_OUT_OF_RESOURCES);
	return pool + (pool_used++) * ENTRIES;
}

static u64 tables_needed(paddr_t top, u64 kernel_size)
{
	u64 gib = top / GiB;
	u64 pdpts = (gib + ENTRIES - 1) / ENTRIES;
	u64 kernel_pts = (kernel_size / PAGE_SIZE + ENTRIES - 1) / ENTRIES;

	/* PML4, the direct map's PDPTs and PDs, the kernel's PDPT, PD, PTs. */
	return 1 + pdpts + gib + 2 + kernel_pts;
}

static unsigned index_at(vaddr_t va, unsigned shift)
{
	return (va >> shift) & (ENTRIES - 1);
}

/* The end of the highest range that may hold RAM or firmware tables. */
static paddr_t physical_top(void)
{
	UINTN entries, key, desc_size;
	UINT32 desc_version;
	EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
	paddr_t top = 4 * GiB;

	if (!map)
		boot_fail(L"GetMemoryMap", EFI_OUT_OF_RESOURCES);
	for (UINTN i = 0; i < entries; i++) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)((u8 *)map + i * desc_size);
		if (d->Type != EfiMemoryMappedIO && d->Type != EfiMemoryMappedIOPortSpace)
			top = MAX(top, d->PhysicalStart + d->NumberOfPages * EFI_PAGE_SIZE);
	}
	FreePool(map);
	if (top > DIRECT_MAP_SIZE)
		boot_fail(L"physical memory above the direct map size", EFI_UNSUPPORTED);
	return ALIGN_UP(top, GiB);
}

static void map_physical(u64 *pml4, paddr_t top)
{
	u64 *pdpt = NULL;

	for (paddr_t pa = 0; pa < top; pa += GiB) {
		if (index_at(pa, 30) == 0) {
			pdpt = new_table();
			pml4[index_at(pa, 39)] = (u64)pdpt | TABLE_FLAGS;
			pml4[index_at(DIRECT_MAP_BASE + pa, 39)] = (u64)pdpt | TABLE_FLAGS;
		}
		u64 *pd = new_table();
		pdpt[index_at(pa, 30)] = (u64)pd | TABLE_FLAGS;
		for (unsigned i = 0; i < ENTRIES; i++)
			pd[i] = (pa + i * 2 * MiB) | TABLE_FLAGS | PTE_PS;
	}
}

static u64 *next_table(u64 *table, unsigned index)
{
	if (!(table[index] & PTE_P))
		table[index] = (u64)new_table() | TABLE_FLAGS;
	return (u64 *)(table[index] & ~0xfffULL);
}

static void map_kernel(u64 *pml4, const struct boot_info *info)
{
	for (u64 off = 0; off < info->kernel_size; off += PAGE_SIZE) {
		vaddr_t va = info->kernel_virt + off;
		u64 *pdpt = next_table(pml4, index_at(va, 39));
		u64 *pd = next_table(pdpt, index_at(va, 30));
		u64 *pt = next_table(pd, index_at(va, 21));
		pt[index_at(va, 12)] = (info->kernel_phys + off) | TABLE_FLAGS;
	}
}

u64 build_bootstrap_tables(struct boot_info *info)
{
	paddr_t top = physical_top();

	pool_pages = tables_needed(top, info->kernel_size);
	pool = boot_alloc_pages(pool_pages, BOOT_RES_BOOT_PT);
	u64 *pml4 = new_table();
	map_physical(pml4, top);
	map_kernel(pml4, info);
	return (u64)pml4;
}
