; The ring-3 bench loop of tests/kernel/user_bench.c: position-independent
; bytes that user_bench copies into a task's code page (task_load). For each
; sample i it reads the TSC, does one operation, reads the TSC again and
; stores the difference into the task's own sample array, so a sample holds
; the operation and nothing else the kernel does. It uses no stack.
;
; RDI points at struct user_bench_params (user_bench.c, same offsets):
P_OP      equ 0   ; OP_READ, OP_WRITE or OP_CALL
P_N       equ 8   ; samples
P_BASE    equ 16  ; sample i works on page base + i * stride ...
P_STRIDE  equ 24
P_OFF     equ 32  ; ... at offset off
P_NR      equ 40  ; OP_CALL: the system call number (RAX)
P_ARG1    equ 48  ; OP_CALL: RSI for even i, then for odd i
P_ARG2    equ 64  ; OP_CALL: RDX for even i, then for odd i
P_PREP    equ 80  ; nonzero: before each sample, untimed, a write of i to
                  ; the page's first word (faults in a fresh page)
P_SAMPLES equ 88  ; u64[n]: TSC deltas
P_RESULTS equ 96  ; u64[n]: what the operation left in RAX

OP_READ   equ 0
OP_WRITE  equ 1
OP_CALL   equ 2
SYS_EXIT  equ 0

; rax = the TSC, fenced so that it is read after what came before.
%macro tsc 0
	lfence
	rdtsc
	shl rdx, 32
	or rax, rdx
%endmacro

bits 64
section .rodata
global user_bench_loop, user_bench_loop_end
user_bench_loop:
	mov r12, rdi			; r12 = params
	xor r13d, r13d			; r13 = i
.next:
	cmp r13, [r12 + P_N]
	jae .done
	mov r14, r13
	imul r14, [r12 + P_STRIDE]
	add r14, [r12 + P_BASE]		; r14 = the page
	cmp qword [r12 + P_PREP], 0
	je .args
	mov [r14], r13
.args:
	mov rdi, r14
	add rdi, [r12 + P_OFF]		; rdi = the operation's address
	mov ecx, r13d
	and ecx, 1			; odd samples take the second arguments
	mov rsi, [r12 + P_ARG1 + rcx * 8]
	mov r11, [r12 + P_ARG2 + rcx * 8] ; RDX after the TSC read
	mov r9, [r12 + P_NR]
	mov rax, [r12 + P_OP]
	cmp rax, OP_READ
	je .read
	cmp rax, OP_WRITE
	je .write

	tsc
	mov r10, rax			; r10 = start
	mov rax, r9
	mov rdx, r11
	int 0x80
	mov rbx, rax			; rbx = the result
	jmp .stop
.read:
	tsc
	mov r10, rax
	mov rbx, [rdi]
	jmp .stop
.write:
	tsc
	mov r10, rax
	mov [rdi], r13
	mov rbx, r13
.stop:
	tsc
	sub rax, r10
	mov rcx, [r12 + P_SAMPLES]
	mov [rcx + r13 * 8], rax
	mov rcx, [r12 + P_RESULTS]
	mov [rcx + r13 * 8], rbx
	inc r13
	jmp .next
.done:
	xor edi, edi
	mov eax, SYS_EXIT
	int 0x80
user_bench_loop_end:

section .note.GNU-stack noalloc noexec nowrite progbits
