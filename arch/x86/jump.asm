; ksetjmp / klongjmp (include/mmulab/jump.h): the callee-saved registers,
; the stack pointer, the return address and RFLAGS.

bits 64
default rel
section .text

; int ksetjmp(struct jump_buf *buf)
global ksetjmp
ksetjmp:
	mov [rdi + 0x00], rbx
	mov [rdi + 0x08], rbp
	mov [rdi + 0x10], r12
	mov [rdi + 0x18], r13
	mov [rdi + 0x20], r14
	mov [rdi + 0x28], r15
	lea rax, [rsp + 8]
	mov [rdi + 0x30], rax	; RSP as it will be after our ret
	mov rax, [rsp]
	mov [rdi + 0x38], rax	; return address
	pushfq
	pop qword [rdi + 0x40]
	xor eax, eax
	ret

; void klongjmp(struct jump_buf *buf, int value)
global klongjmp
klongjmp:
	mov rbx, [rdi + 0x00]
	mov rbp, [rdi + 0x08]
	mov r12, [rdi + 0x10]
	mov r13, [rdi + 0x18]
	mov r14, [rdi + 0x20]
	mov r15, [rdi + 0x28]
	mov rsp, [rdi + 0x30]
	push qword [rdi + 0x40]
	popfq
	mov eax, esi
	test eax, eax
	jnz .nonzero
	inc eax			; ksetjmp must not appear to return 0 twice
.nonzero:
	jmp [rdi + 0x38]

section .note.GNU-stack noalloc noexec nowrite progbits
