#ifndef MMULAB_PERCPU_H
#define MMULAB_PERCPU_H

#include <mmulab/types.h>
#include <arch/desc.h>

struct recovery;
struct test;

struct cpu {
	struct cpu *self; /* at offset 0: this_cpu() reads it through GS */
	u32 id;
	u32 apic_id;
	int node;
	struct recovery *recovery; /* innermost expected-fault context */
	struct test *test;         /* the case running here, if any */
	bool in_panic;
	vaddr_t stack_top;
	vaddr_t ist_top[IST_COUNT + 1];
	struct arch_cpu arch;
};

_Static_assert(__builtin_offsetof(struct cpu, self) == 0, "GS:0 is the self pointer");

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	asm volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

void percpu_init_boot_cpu(void);
struct cpu *boot_cpu(void);

#endif
