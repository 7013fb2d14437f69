#ifndef MMULAB_BOOT_INFO_H
#define MMULAB_BOOT_INFO_H

/*
 * The hand-over from the boot path to the kernel. The UEFI stage (boot/)
 * fills it in before ExitBootServices; the PVH entry (arch/x86/pvh.c) from
 * the PVH start info, in the same terms (UEFI memory types). After that
 * nothing firmware-specific is used, so everything the kernel needs from
 * firmware must be copied in here. Addresses are physical.
 */

#include <mmulab/types.h>

#define BOOT_INFO_MAGIC 0x6f666e69746f6f62ULL /* "bootinfo" */
#define BOOT_INFO_VERSION 1
#define BOOT_CMDLINE_MAX 1024
#define BOOT_RESERVED_MAX 16

/* UEFI memory types, as numbered by the UEFI specification. */
enum efi_memory_type {
	EFI_RESERVED = 0,
	EFI_LOADER_CODE = 1,
	EFI_LOADER_DATA = 2,
	EFI_BOOT_SERVICES_CODE = 3,
	EFI_BOOT_SERVICES_DATA = 4,
	EFI_RUNTIME_SERVICES_CODE = 5,
	EFI_RUNTIME_SERVICES_DATA = 6,
	EFI_CONVENTIONAL = 7,
	EFI_UNUSABLE = 8,
	EFI_ACPI_RECLAIM = 9,
	EFI_ACPI_NVS = 10,
	EFI_MMIO = 11,
	EFI_MMIO_PORT_SPACE = 12,
	EFI_PAL_CODE = 13,
	EFI_PERSISTENT = 14,
	EFI_MEMORY_TYPE_COUNT
};

struct boot_mem_range {
	paddr_t phys;
	u64 pages; /* 4 KiB pages */
	u32 type;  /* enum efi_memory_type */
	u32 pad;
	u64 attr;  /* EFI_MEMORY_* attribute bits */
};

/* Loader allocations the kernel goes on using (all EFI_LOADER_DATA). */
enum boot_reserved_kind {
	BOOT_RES_KERNEL,     /* the kernel image, all segments */
	BOOT_RES_BOOT_INFO,  /* this structure */
	BOOT_RES_MEMMAP,     /* the boot_mem_range array */
	BOOT_RES_SYMBOLS,    /* the kernel symbol table text */
	BOOT_RES_BOOT_PT,    /* the bootstrap page tables */
};

struct boot_reserved {
	paddr_t phys;
	u64 size;
	u32 kind;
	u32 pad;
};

struct boot_framebuffer {
	paddr_t base;
	u64 size;
	u32 width, height;
	u32 pixels_per_line;
	u32 format; /* EFI_GRAPHICS_PIXEL_FORMAT; 0 when there is no GOP */
};

enum boot_cmdline_source {
	BOOT_CMDLINE_NONE,
	BOOT_CMDLINE_LOAD_OPTIONS,
	BOOT_CMDLINE_FILE,
	BOOT_CMDLINE_PVH, /* the PVH start info's command line (QEMU -append) */
};

struct boot_info {
	u64 magic;
	u32 version;
	u32 cmdline_source;
	char cmdline[BOOT_CMDLINE_MAX];

	paddr_t rsdp;        /* 0 when firmware offered none */
	u32 rsdp_revision;   /* 2 when the ACPI 2.0 GUID was found */
	u32 pad0;

	struct boot_framebuffer fb;

	paddr_t kernel_phys; /* the image block: kernel_virt maps here */
	vaddr_t kernel_virt;
	u64 kernel_size;

	paddr_t symbols;     /* "addr type name\n" lines, sorted by address */
	u64 symbols_size;

	paddr_t memmap;      /* struct boot_mem_range[memmap_count] */
	u32 memmap_count;
	u32 exit_boot_tries; /* ExitBootServices calls until one succeeded; 0 on PVH */

	u32 reserved_count;
	u32 pad1;
	struct boot_reserved reserved[BOOT_RESERVED_MAX];
};

#endif
