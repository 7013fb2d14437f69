; The kernel travels inside BOOTX64.EFI so that one file boots. The Makefile
; passes the paths of the stripped kernel ELF and its symbol list.

section .rodata align=4096

global kernel_elf_start, kernel_elf_end, kernel_syms_start, kernel_syms_end

kernel_elf_start:
	incbin KERNEL_ELF
kernel_elf_end:

align 16
kernel_syms_start:
	incbin KERNEL_SYMS
kernel_syms_end:

section .note.GNU-stack noalloc noexec nowrite progbits
