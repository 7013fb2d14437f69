#ifndef ARCH_PVH_H
#define ARCH_PVH_H

/*
 * The PVH direct boot entry (arch/x86/pvh_entry.asm, pvh.c): QEMU `-kernel` with
 * SeaBIOS starts the kernel ELF at the XEN_ELFNOTE_PHYS32_ENTRY note in 32-bit
 * protected mode, paging off, EBX = physical address of the start info below.
 * pvh_to_boot_info() turns that into the struct boot_info the UEFI stage
 * hands over, so everything after the hand-off is the same code. It is pure
 * (memory is read through a callback) so the host tests build start infos
 * by hand.
 */

#include <mmulab/boot_info.h>

#define PVH_START_MAGIC 0x336ec578u

/* The layouts of the Xen/HVM direct boot ABI, version 1. */
struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;   /* version >= 1 */
	u32 memmap_entries; /* version >= 1 */
	u32 reserved;
};

struct hvm_modlist_entry {
	u64 paddr;
	u64 size;
	u64 cmdline_paddr;
	u64 reserved;
};

/* type uses the E820 numbering. */
struct hvm_memmap_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI = 3,
	E820_NVS = 4,
	E820_UNUSABLE = 5,
	E820_PERSISTENT = 7,
};

/* Translated ranges, including the two the kernel image splits off. */
#define PVH_MEMMAP_MAX 256

struct pvh_reader {
	/* len bytes at physical pa, or NULL when they cannot be read */
	const void *(*map)(void *ctx, paddr_t pa, u64 len);
	void *ctx;
};

/* Where the loader put the kernel image (its PT_LOAD span). */
struct pvh_image {
	paddr_t phys;
	vaddr_t virt;
	u64 size;
};

/*
 * Fills info (magic, version, command line, RSDP, kernel, symbols, the
 * kernel and symbol entries of the reserved list) and map[0..info->memmap_count)
 * from the start info at start_pa. info->memmap (a physical address) is
 * the caller's. On bad start info returns false with one line in err.
 */
bool pvh_to_boot_info(const struct pvh_reader *r, paddr_t start_pa, const struct pvh_image *img,
		      struct boot_info *info, struct boot_mem_range *map, char *err, size_t err_size);

#endif
