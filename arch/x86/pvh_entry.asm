; The PVH entry (docs/ARCHITECTURE.md, Boot flow). QEMU -kernel with SeaBIOS
; loads the kernel ELF's segments at their load addresses (linker.ld: from
; KERNEL_LOAD_PHYS up) and starts here in 32-bit protected mode, paging
; off, interrupts off, EBX = physical address of the PVH start info.
;
; This code only gets to 64-bit C: early tables in .bss that identity-map
; and direct-map [0, 4 GiB) with 2 MiB pages (the start info, the memory
; map, the modules and the RSDP all live there) and map the kernel image
; at KERNEL_VIRT_BASE. pvh_main (pvh.c) then builds the same bootstrap
; tables the UEFI stage builds and jumps to _start. Nothing here needs a
; stack.

%define KERNEL_VIRT_BASE 0xffffffff80000000
%define KERNEL_LOAD_PHYS 0x1000000	; linker.ld checks it agrees
%define PHYS(sym) ((sym) - KERNEL_VIRT_BASE + KERNEL_LOAD_PHYS)

%define XEN_ELFNOTE_PHYS32_ENTRY 18
%define PTE_TABLE 0x3			; present, writable
%define PTE_LARGE 0x83			; present, writable, 2 MiB page
%define CR4_PAE (1 << 5)
%define EFER_MSR 0xc0000080
%define EFER_LME (1 << 8)
%define CR0_PE_PG 0x80000001
%define GDT_CODE64 0x08
%define GDT_DATA 0x10

extern pvh_main, boot_stack_top

global pvh_kernel_load_phys
pvh_kernel_load_phys equ KERNEL_LOAD_PHYS

; The note QEMU looks for. Its descriptor is 8 bytes: QEMU 7.2 reads a
; size_t for an ELF64 kernel, later versions 32 bits; the upper half is 0.
; The segment's alignment must be 4: QEMU pads the name to it.
section .note.pvh alloc noexec nowrite align=4
	dd 4				; name size, "Xen\0"
	dd 8				; descriptor size
	dd XEN_ELFNOTE_PHYS32_ENTRY
	db "Xen", 0
	dq PHYS(pvh_start32)

section .text
bits 32
pvh_start32:
	cld
	; PML4: slot 0 (identity) and slot 273 (direct map) share one PDPT.
	mov eax, PHYS(pvh_pdpt_low) + PTE_TABLE
	mov [PHYS(pvh_pml4)], eax
	mov [PHYS(pvh_pml4) + 273 * 8], eax
	mov eax, PHYS(pvh_pdpt_high) + PTE_TABLE
	mov [PHYS(pvh_pml4) + 511 * 8], eax
	; PDPT low: four PDs, 4 GiB.
	mov eax, PHYS(pvh_pd_low) + PTE_TABLE
	mov edi, PHYS(pvh_pdpt_low)
	mov ecx, 4
.pdpt:
	mov [edi], eax
	add eax, 4096
	add edi, 8
	loop .pdpt
	; The four PDs: 2048 entries of 2 MiB from 0.
	mov eax, PTE_LARGE
	mov edi, PHYS(pvh_pd_low)
	mov ecx, 2048
.pd_low:
	mov [edi], eax
	add eax, 0x200000
	add edi, 8
	loop .pd_low
	; KERNEL_VIRT_BASE is PML4 511, PDPT 510: 1 GiB from the load address.
	mov eax, PHYS(pvh_pd_high) + PTE_TABLE
	mov [PHYS(pvh_pdpt_high) + 510 * 8], eax
	mov eax, KERNEL_LOAD_PHYS + PTE_LARGE
	mov edi, PHYS(pvh_pd_high)
	mov ecx, 512
.pd_high:
	mov [edi], eax
	add eax, 0x200000
	add edi, 8
	loop .pd_high

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, PHYS(pvh_pml4)
	mov cr3, eax
	mov ecx, EFER_MSR
	rdmsr
	or eax, EFER_LME
	wrmsr
	lgdt [PHYS(pvh_gdtr)]
	mov eax, cr0
	or eax, CR0_PE_PG
	mov cr0, eax
	jmp GDT_CODE64:PHYS(pvh_start64_low)

bits 64
pvh_start64_low:
	mov rax, pvh_start64
	jmp rax
pvh_start64:
	mov eax, GDT_DATA
	mov ds, eax
	mov es, eax
	mov ss, eax
	mov rsp, boot_stack_top
	xor ebp, ebp
	mov edi, ebx
	call pvh_main
.hang:
	cli
	hlt
	jmp .hang

; void pvh_enter_kernel(u64 cr3, vaddr_t entry, struct boot_info *info)
; Loads the bootstrap tables and jumps to the common entry with RDI = info.
global pvh_enter_kernel
pvh_enter_kernel:
	mov cr3, rdi
	mov rdi, rdx
	jmp rsi

section .rodata
align 8
pvh_gdt:
	dq 0
	dq 0x00af9a000000ffff		; 0x08: 64-bit code, ring 0
	dq 0x00cf92000000ffff		; 0x10: data, ring 0
pvh_gdt_end:
pvh_gdtr:
	dw pvh_gdt_end - pvh_gdt - 1
	dd PHYS(pvh_gdt)

section .bss
align 4096
pvh_pml4:	resb 4096
pvh_pdpt_low:	resb 4096
pvh_pd_low:	resb 4 * 4096
pvh_pdpt_high:	resb 4096
pvh_pd_high:	resb 4096

section .note.GNU-stack noalloc noexec nowrite progbits
