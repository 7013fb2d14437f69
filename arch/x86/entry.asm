; Exception and interrupt entry: one stub per vector feeding trap_common,
; which saves the general registers as a struct trap_frame (arch/trap.h
; draws the layout) and calls trap_dispatch(frame).

bits 64
default rel

extern trap_dispatch

; Vectors for which the CPU pushes an error code (SDM Vol. 3A, 6.13).
%define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

section .text

%macro VECTOR_STUB 1
align 16
vector_stub_%1:
%if HAS_ERROR(%1) == 0
	push 0
%endif
	push %1
	jmp trap_common
%endmacro

%assign v 0
%rep 256
	VECTOR_STUB v
%assign v v + 1
%endrep

trap_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	cld
	mov rdi, rsp
	; The CPU aligned RSP to 16 before its frame; 22 pushes keep it so.
	call trap_dispatch
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16		; vector and error code
	iretq

section .rodata
align 8
global vector_stubs
vector_stubs:
%assign v 0
%rep 256
	dq vector_stub_ %+ v
%assign v v + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
