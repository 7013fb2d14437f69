; Kernel entry from the UEFI stage: bootstrap page tables loaded, interrupts
; off, RDI = struct boot_info * (direct-map address). The boot stack lives
; in .bss until kmain moves to a guarded stack.

bits 64
default rel

extern kmain

section .text.entry
global _start
_start:
	lea rsp, [boot_stack_top]
	xor ebp, ebp
	call kmain
.hang:
	cli
	hlt
	jmp .hang

; void call_on_stack(void *arg, void (*fn)(void *), vaddr_t stack_top)
; Switches to stack_top and calls fn(arg); fn must not return.
section .text
global call_on_stack
call_on_stack:
	mov rsp, rdx
	xor ebp, ebp
	call rsi
	ud2

; void enter_user(vaddr_t rip, vaddr_t rsp, u64 arg)
; Drops to ring 3 at rip with stack rsp, RDI = arg and interrupts on (so
; shootdowns and the watchdog reach a CPU running user code). Only a trap
; brings the CPU back, through the trap handler. No kernel value is left
; in a register the user code can read.
global enter_user
enter_user:
	push 0x1b		; SS: GDT_USER_DS
	push rsi		; RSP
	push 0x202		; RFLAGS: IF and reserved bit 1
	push 0x23		; CS: GDT_USER_CS
	push rdi		; RIP
	mov rdi, rdx
	xor eax, eax
	xor ebx, ebx
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor ebp, ebp
	xor r8d, r8d
	xor r9d, r9d
	xor r10d, r10d
	xor r11d, r11d
	xor r12d, r12d
	xor r13d, r13d
	xor r14d, r14d
	xor r15d, r15d
	iretq

; The boot stack, and the stack the IST slots use until kmain gives each
; its own. Each sits above a guard page that the kernel's page tables leave
; unmapped (mm/kmap.c), like every other kernel stack.
section .bss
align 4096
global boot_guard_low, early_ist_top, boot_guard_high, boot_stack, boot_stack_top
boot_guard_low:
	resb 4096
	resb 4096
early_ist_top:
boot_guard_high:
	resb 4096
boot_stack:
	resb 16384
boot_stack_top:

section .note.GNU-stack noalloc noexec nowrite progbits
