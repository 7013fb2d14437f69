; The AP trampoline: copied to TRAMPOLINE_BASE (below 1 MiB, page aligned,
; reserved by memblock) and entered by a STARTUP IPI in real mode at
; TRAMPOLINE_BASE:0. It goes 16 -> 32 -> 64 bit on a page table the BSP
; built for it (identity map of the low 1 GiB so this code survives turning
; paging on, plus the kernel half), then jumps to ap_entry(cpu) on the
; stack the BSP gave it. The BSP starts one AP at a time, so one parameter
; block serves all.
;
; Assembled as a flat binary (nasm -f bin) and linked into the kernel by
; trampoline_blob.asm.

%define TRAMPOLINE_BASE 0x8000

bits 16
org TRAMPOLINE_BASE

start16:
	cli
	cld
	xor ax, ax
	mov ds, ax
	lgdt [gdt_ptr]
	mov eax, cr0
	or eax, 1			; PE
	mov cr0, eax
	jmp 0x08:start32

bits 32
start32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, 1 << 5			; PAE
	mov cr4, eax
	mov eax, [params.cr3]
	mov cr3, eax
	mov ecx, 0xc0000080		; EFER: long mode, and NX before any NX entry is used
	rdmsr
	or eax, (1 << 8) | (1 << 11)
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16)	; PG, WP
	mov cr0, eax
	jmp 0x18:start64

bits 64
start64:
	mov rsp, [params.stack]
	push 0				; a null return address ends backtraces
	mov rdi, [params.cpu]
	xor ebp, ebp
	mov rax, [params.entry]
	jmp rax

align 8
gdt:
	dq 0
	dq 0x00cf9a000000ffff		; 0x08: 32-bit code
	dq 0x00cf92000000ffff		; 0x10: 32-bit data
	dq 0x00209a0000000000		; 0x18: 64-bit code
gdt_end:
gdt_ptr:
	dw gdt_end - gdt - 1
	dd gdt

; Filled in by the BSP (arch/x86/smp.c struct trampoline_params).
align 8
params:
params.cr3:	dq 0
params.stack:	dq 0
params.cpu:	dq 0
params.entry:	dq 0
