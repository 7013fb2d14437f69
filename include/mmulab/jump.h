#ifndef MMULAB_JUMP_H
#define MMULAB_JUMP_H

/* A saved execution context, for leaving a faulting code path
 * (kernel setjmp/longjmp; arch/x86/jump.asm). klongjmp restores rflags too,
 * so the interrupt and SMAP state of the saved context come back. */

#include <mmulab/types.h>

struct jump_buf {
	u64 rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
};

int ksetjmp(struct jump_buf *buf) __attribute__((returns_twice));
void __noreturn klongjmp(struct jump_buf *buf, int value);

#endif
