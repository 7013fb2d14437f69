#ifndef MMULAB_PERCPU_H
#define MMULAB_PERCPU_H

#include <mmulab/types.h>
#include <mmulab/cpumask.h>
#include <mmulab/lockdep.h>
#include <arch/desc.h>

struct recovery;
struct test;
struct mm;

/* A cross-CPU call waiting for, or running on, this CPU (kernel/smp.c). */
struct call_slot {
	void (*fn)(void *arg);
	void *arg;
	u32 pending; /* set by the caller, cleared when fn has returned */
};

/* mm/fault.c: the last run of faults here that made no progress. */
struct fault_repeat {
	vaddr_t addr; /* page */
	u64 entry;
	u32 count;
};

struct cpu {
	struct cpu *self; /* at offset 0: this_cpu() reads it through GS */
	u32 id;           /* dense index: cpus[id] */
	u32 apic_id;
	int node;
	bool online;
	struct recovery *recovery; /* innermost expected-fault context */
	struct test *test;         /* the case running here, if any */
	struct mm *mm;             /* the address space loaded, NULL: the kernel's */
	bool in_panic;
	vaddr_t stack_top;
	vaddr_t ist_top[IST_COUNT + 1];
	struct call_slot call;
	u64 ticks;          /* timer interrupts taken */
	u64 calls_handled;  /* cross-CPU calls run */
	u64 flush_ipis;     /* TLB shootdown IPIs taken */
	struct fault_repeat fault_repeat;
	struct held_lock held_locks[LOCKDEP_MAX_HELD]; /* kernel/lockdep.c */
	u32 nr_held;
	struct arch_cpu arch;
};

extern struct cpu cpus[MAX_CPUS];
extern u32 nr_cpus; /* online, the boot CPU included */
extern struct cpumask cpu_online_mask;
extern bool percpu_ready; /* this_cpu() works (the boot CPU's GS is set) */

_Static_assert(__builtin_offsetof(struct cpu, self) == 0, "GS:0 is the self pointer");

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	asm volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* Makes c this CPU's per-CPU area (GS base). */
void percpu_install(struct cpu *c);
struct cpu *boot_cpu(void);

#endif
