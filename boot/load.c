/*
 * Places the embedded kernel ELF: one block of pages for the whole image
 * span, each PT_LOAD segment at its offset from the lowest virtual address,
 * .bss zeroed. The kernel later maps the same block with its own W^X tables.
 */

#include <efi.h>
#include <efilib.h>
#include <elf.h>

#include "boot.h"

static const Elf64_Ehdr *kernel_header(void)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)kernel_elf_start;
	u64 size = kernel_elf_end - kernel_elf_start;

	if (size < sizeof(*eh) || CompareMem(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_EXEC || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + (u64)eh->e_phnum * sizeof(Elf64_Phdr) > size)
		boot_fail(L"embedded kernel ELF check", EFI_LOAD_ERROR);
	return eh;
}

static const Elf64_Phdr *program_header(const Elf64_Ehdr *eh, unsigned i)
{
	return (const Elf64_Phdr *)(kernel_elf_start + eh->e_phoff) + i;
}

static void kernel_span(const Elf64_Ehdr *eh, vaddr_t *lo, vaddr_t *hi)
{
	*lo = ~0ULL;
	*hi = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = program_header(eh, i);
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_filesz > ph->p_memsz ||
		    ph->p_offset + ph->p_filesz > (u64)(kernel_elf_end - kernel_elf_start))
			boot_fail(L"kernel segment bounds", EFI_LOAD_ERROR);
		*lo = MIN(*lo, ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE));
		*hi = MAX(*hi, ALIGN_UP(ph->p_vaddr + ph->p_memsz, PAGE_SIZE));
	}
	if (*lo != KERNEL_VIRT_BASE || *hi <= *lo || *hi - *lo > GiB)
		boot_fail(L"kernel image span", EFI_LOAD_ERROR);
}

vaddr_t load_kernel(struct boot_info *info)
{
	const Elf64_Ehdr *eh = kernel_header();
	vaddr_t lo, hi;

	kernel_span(eh, &lo, &hi);
	u8 *block = boot_alloc_pages((hi - lo) / PAGE_SIZE, BOOT_RES_KERNEL);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = program_header(eh, i);
		if (ph->p_type == PT_LOAD)
			CopyMem(block + (ph->p_vaddr - lo), kernel_elf_start + ph->p_offset,
				ph->p_filesz);
	}
	info->kernel_phys = (paddr_t)block;
	info->kernel_virt = lo;
	info->kernel_size = hi - lo;
	if (eh->e_entry < lo || eh->e_entry >= hi)
		boot_fail(L"kernel entry point", EFI_LOAD_ERROR);
	return eh->e_entry;
}

void copy_symbols(struct boot_info *info)
{
	u64 size = kernel_syms_end - kernel_syms_start;
	void *copy = boot_alloc_pages(EFI_SIZE_TO_PAGES(size + 1), BOOT_RES_SYMBOLS);

	CopyMem(copy, kernel_syms_start, size);
	info->symbols = (paddr_t)copy;
	info->symbols_size = size;
}
