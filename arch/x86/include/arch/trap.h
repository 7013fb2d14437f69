#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

#include <mmulab/types.h>

enum x86_vector {
	X86_TRAP_DE = 0,
	X86_TRAP_DB = 1,
	X86_TRAP_NMI = 2,
	X86_TRAP_BP = 3,
	X86_TRAP_OF = 4,
	X86_TRAP_BR = 5,
	X86_TRAP_UD = 6,
	X86_TRAP_NM = 7,
	X86_TRAP_DF = 8,
	X86_TRAP_TS = 10,
	X86_TRAP_NP = 11,
	X86_TRAP_SS = 12,
	X86_TRAP_GP = 13,
	X86_TRAP_PF = 14,
	X86_TRAP_MF = 16,
	X86_TRAP_AC = 17,
	X86_TRAP_MC = 18,
	X86_TRAP_XM = 19,
	X86_TRAP_VE = 20,
	X86_TRAP_CP = 21,
	X86_TRAP_COUNT = 32
};

/* #PF error-code bits (SDM Vol. 3A, "Interrupt 14"). */
#define X86_PF_PROT (1U << 0)  /* 0: not present, 1: protection */
#define X86_PF_WRITE (1U << 1)
#define X86_PF_USER (1U << 2)
#define X86_PF_RSVD (1U << 3)
#define X86_PF_INSTR (1U << 4)
#define X86_PF_PK (1U << 5)
#define X86_PF_SHSTK (1U << 6)
#define X86_PF_SGX (1U << 15)

/*
 * The stack at the call to trap_dispatch, lowest address first. The vector
 * stubs in entry.asm push error_code (a zero where the CPU pushes none) and
 * vector; trap_common pushes the general registers, rax first:
 *
 *   +0x00 r15 .. +0x70 rax  | +0x78 vector | +0x80 error_code |
 *   +0x88 rip | +0x90 cs | +0x98 rflags | +0xa0 rsp | +0xa8 ss   (CPU)
 */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss;
};

_Static_assert(__builtin_offsetof(struct trap_frame, rax) == 0x70, "entry.asm pushes rax first");
_Static_assert(__builtin_offsetof(struct trap_frame, vector) == 0x78, "entry.asm vector slot");
_Static_assert(__builtin_offsetof(struct trap_frame, rip) == 0x88, "CPU frame after error code");
_Static_assert(sizeof(struct trap_frame) == 0xb0, "trap frame size");

const char *trap_name(unsigned vector);

struct fault_info;
/* arch/x86/fault.c: a #PF described to mm/; true when it was resolved. */
bool x86_page_fault(const struct fault_info *f, const struct trap_frame *frame);
void print_pf_cause(const struct fault_info *f, const char *prefix);
void trap_init(void);
void trap_load_idt(void);

#endif
