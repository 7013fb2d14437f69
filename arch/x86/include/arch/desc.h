#ifndef ARCH_DESC_H
#define ARCH_DESC_H

/* Segment descriptors, the TSS and its IST stacks. */

#include <mmulab/types.h>

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_USER_DS (0x18 | 3)
#define GDT_USER_CS (0x20 | 3)
#define GDT_TSS 0x28
#define GDT_ENTRIES 7 /* the TSS descriptor takes two */

/* Interrupt-stack-table slots: the exceptions that must not run on a stack
 * that may be the cause (a #DF from a kernel stack overflow), or that can
 * arrive at any instruction (NMI, #MC). */
enum ist_slot {
	IST_NONE = 0,
	IST_DF = 1,
	IST_NMI = 2,
	IST_MC = 3,
	IST_COUNT = 3
};

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

struct arch_cpu {
	u64 gdt[GDT_ENTRIES];
	struct tss64 tss;
};

struct cpu;
void desc_init_cpu(struct cpu *cpu);
void desc_init_stacks(struct cpu *cpu);

#endif
