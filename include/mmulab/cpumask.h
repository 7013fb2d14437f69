#ifndef MMULAB_CPUMASK_H
#define MMULAB_CPUMASK_H

/* A set of CPUs by index (not APIC id: ids can be sparse and above 255). */

#include <mmulab/types.h>

#define MAX_CPUS 512

struct cpumask {
	u64 bits[MAX_CPUS / 64];
};

static inline void cpumask_set(struct cpumask *m, u32 cpu)
{
	__atomic_fetch_or(&m->bits[cpu / 64], 1ULL << (cpu % 64), __ATOMIC_SEQ_CST);
}

static inline void cpumask_clear_cpu(struct cpumask *m, u32 cpu)
{
	__atomic_fetch_and(&m->bits[cpu / 64], ~(1ULL << (cpu % 64)), __ATOMIC_SEQ_CST);
}

static inline bool cpumask_test(const struct cpumask *m, u32 cpu)
{
	return (__atomic_load_n(&m->bits[cpu / 64], __ATOMIC_SEQ_CST) >> (cpu % 64)) & 1;
}

static inline u32 cpumask_weight(const struct cpumask *m)
{
	u32 n = 0;
	for (u32 i = 0; i < MAX_CPUS / 64; i++)
		n += __builtin_popcountll(__atomic_load_n(&m->bits[i], __ATOMIC_RELAXED));
	return n;
}

#define for_each_cpu_in(cpu, mask)                                               \
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)                                 \
		if (cpumask_test(mask, cpu))

#endif
