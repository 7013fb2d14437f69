/*
 * Leaving boot services. The memory map key goes stale whenever firmware
 * allocates or frees memory (timers and events can do so behind our back),
 * and ExitBootServices then fails with EFI_INVALID_PARAMETER. The UEFI
 * specification's answer is to fetch the map again and retry; between the
 * two calls only GetMemoryMap may be used, so every buffer is allocated up
 * front with room to spare.
 */

#include <efi.h>
#include <efilib.h>

#include "boot.h"

#define EXTRA_DESCRIPTORS 64
#define MAX_EXIT_TRIES 8

static EFI_MEMORY_DESCRIPTOR *raw_map;
static UINTN raw_map_capacity;

static void allocate_map_buffers(struct boot_info *info)
{
	UINTN size = 0, key, desc_size;
	UINT32 desc_version;

	uefi_call_wrapper(BS->GetMemoryMap, 5, &size, NULL, &key, &desc_size, &desc_version);
	/* The allocations below add descriptors of their own. */
	u64 entries = size / desc_size + EXTRA_DESCRIPTORS;
	raw_map_capacity = entries * desc_size;
	raw_map = boot_alloc_pages(EFI_SIZE_TO_PAGES(raw_map_capacity), BOOT_RES_MEMMAP);
	info->memmap = (paddr_t)boot_alloc_pages(
		EFI_SIZE_TO_PAGES(entries * sizeof(struct boot_mem_range)), BOOT_RES_MEMMAP);
}

static void sort_ranges(struct boot_mem_range *r, u32 n)
{
	for (u32 i = 1; i < n; i++) {
		struct boot_mem_range key = r[i];
		u32 j = i;
		while (j > 0 && r[j - 1].phys > key.phys) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = key;
	}
}

/* Runs after ExitBootServices: plain memory copies only. */
static void translate_map(struct boot_info *info, UINTN size, UINTN desc_size)
{
	struct boot_mem_range *out = (struct boot_mem_range *)info->memmap;
	u32 n = 0;

	for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)((u8 *)raw_map + off);
		out[n++] = (struct boot_mem_range){
			.phys = d->PhysicalStart, .pages = d->NumberOfPages,
			.type = d->Type, .attr = d->Attribute,
		};
	}
	sort_ranges(out, n);
	info->memmap_count = n;
}

void exit_boot_services(EFI_HANDLE image, struct boot_info *info)
{
	UINTN size, key, desc_size;
	UINT32 desc_version;
	EFI_STATUS status = EFI_INVALID_PARAMETER;

	allocate_map_buffers(info);
	Print(L"mmulab: boot: leaving boot services\r\n");
	for (u32 tries = 1; tries <= MAX_EXIT_TRIES; tries++) {
		size = raw_map_capacity;
		status = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, raw_map, &key,
					   &desc_size, &desc_version);
		if (EFI_ERROR(status))
			break;
		status = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (!EFI_ERROR(status)) {
			info->exit_boot_tries = tries;
			translate_map(info, size, desc_size);
			return;
		}
	}
	boot_fail(L"ExitBootServices", status);
}

void enter_kernel(u64 cr3, vaddr_t entry, struct boot_info *info)
{
	vaddr_t arg = DIRECT_MAP_BASE + (paddr_t)info;

	/* This code and its stack stay reachable through the identity map of
	 * the new tables; the kernel switches to its own stack at once. */
	asm volatile("cli\n\t"
		     "mov %0, %%cr3\n\t"
		     "xor %%ebp, %%ebp\n\t"
		     "jmp *%1"
		     :
		     : "r"(cr3), "r"(entry), "D"(arg)
		     : "memory");
	__builtin_unreachable();
}
