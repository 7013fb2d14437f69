#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

/* Shared by the UEFI-stage files; nothing here is visible to the kernel. */

#include <mmulab/types.h>
#include <mmulab/boot_info.h>
#include <mmulab/layout.h>

void __noreturn boot_fail(const CHAR16 *what, EFI_STATUS status);
void *boot_alloc_pages(u64 pages, enum boot_reserved_kind kind);

void read_cmdline(EFI_HANDLE image, struct boot_info *info);
vaddr_t load_kernel(struct boot_info *info);
void copy_symbols(struct boot_info *info);
u64 build_bootstrap_tables(struct boot_info *info);
void exit_boot_services(EFI_HANDLE image, struct boot_info *info);
void __noreturn enter_kernel(u64 cr3, vaddr_t entry, struct boot_info *info);

/* The kernel ELF and its symbol table, linked into this image by blobs.asm. */
#define BLOB(name) extern const u8 name[] __attribute__((visibility("hidden")))
BLOB(kernel_elf_start);
BLOB(kernel_elf_end);
BLOB(kernel_syms_start);
BLOB(kernel_syms_end);

#endif
