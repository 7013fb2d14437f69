/*
 * smp: the secondary CPUs are up and usable. Each CPU proves who it is
 * (its APIC answers with the id its slot was started for), per-CPU data is
 * distinct, cross-CPU calls reach exactly the CPUs asked, and a storm of
 * calls loses none (each CPU counts what it ran; the sums must match).
 */

#include <mmulab/numa.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <mmulab/test.h>
#include <arch/apic.h>
#include <arch/cpu.h>

struct identity {
	u32 apic_id[MAX_CPUS];
	struct cpu *self[MAX_CPUS];
	u64 gs_base[MAX_CPUS];
	u32 seen;
};

static void record_identity(struct test *t, void *arg)
{
	struct identity *id = arg;
	u32 me = this_cpu()->id;

	(void)t;
	id->apic_id[me] = apic_id();
	id->self[me] = this_cpu();
	id->gs_base[me] = rdmsr(MSR_GS_BASE);
	__atomic_add_fetch(&id->seen, 1, __ATOMIC_RELAXED);
}

/* Every online CPU answers, in its own slot, with its own APIC id. */
static void every_cpu_answers(struct test *t)
{
	static struct identity id;

	id = (struct identity){ 0 };
	test_on_cpus(t, &cpu_online_mask, record_identity, &id);
	EXPECT_EQ(t, id.seen, nr_cpus);
	EXPECT_EQ(t, cpumask_weight(&cpu_online_mask), nr_cpus);
	for_each_cpu_in(cpu, &cpu_online_mask) {
		EXPECT_EQ(t, id.apic_id[cpu], cpus[cpu].apic_id);
		EXPECT_TRUE(t, id.self[cpu] == &cpus[cpu]);
		EXPECT_EQ(t, id.gs_base[cpu], (u64)&cpus[cpu]);
		EXPECT_LT(t, cpus[cpu].node, nr_nodes());
	}
	test_diag(t, "%u CPUs online", nr_cpus);
}

struct counts {
	u64 ran[MAX_CPUS];
};

static void count_call(void *arg)
{
	struct counts *c = arg;
	__atomic_add_fetch(&c->ran[this_cpu()->id], 1, __ATOMIC_RELAXED);
}

/* A call to a mask runs on the CPUs in it and nowhere else. */
static void call_reaches_mask_only(struct test *t)
{
	static struct counts c;
	struct cpumask odd = { 0 };

	c = (struct counts){ 0 };
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (cpu & 1)
			cpumask_set(&odd, cpu);
	smp_call_mask(&odd, count_call, &c, true);
	smp_call_mask(&cpu_online_mask, count_call, &c, true);
	for_each_cpu_in(cpu, &cpu_online_mask)
		EXPECT_EQ(t, c.ran[cpu], (cpu & 1) ? 2 : 1);
}

/* Thousands of calls without waiting for each: none is lost. */
static void ipi_storm(struct test *t)
{
	static struct counts c;
	u64 sent[MAX_CPUS] = { 0 };
	u32 self = this_cpu()->id;

	if (nr_cpus < 2)
		test_skip(t, "needs a second CPU");
	c = (struct counts){ 0 };
	for (u64 i = 0; i < t->iterations; i++) {
		u32 cpu = (u32)(test_random(t) % MAX_CPUS);
		if (cpu == self || !cpumask_test(&cpu_online_mask, cpu))
			continue;
		smp_call_cpu(cpu, count_call, &c, false);
		sent[cpu]++;
	}
	for_each_cpu_in(cpu, &cpu_online_mask) {
		if (cpu != self)
			smp_call_wait(cpu);
		EXPECT_EQ(t, c.ran[cpu], sent[cpu]);
	}
}

struct barrier_run {
	struct smp_barrier barrier;
	u64 counter;
	u32 rounds;
};

static void barrier_rounds(struct test *t, void *arg)
{
	struct barrier_run *b = arg;

	for (u32 round = 1; round <= b->rounds; round++) {
		__atomic_add_fetch(&b->counter, 1, __ATOMIC_RELAXED);
		smp_barrier_wait(&b->barrier);
		EXPECT_EQ(t, __atomic_load_n(&b->counter, __ATOMIC_RELAXED), (u64)round * nr_cpus);
		smp_barrier_wait(&b->barrier);
	}
}

/* No CPU leaves a barrier round before every CPU has entered it. */
static void barrier_lines_up(struct test *t)
{
	static struct barrier_run b;

	b = (struct barrier_run){ .rounds = 10 };
	smp_barrier_init(&b.barrier, nr_cpus);
	test_on_cpus(t, &cpu_online_mask, barrier_rounds, &b);
}

TEST_SUITE(smp,
	TEST_CASE(every_cpu_answers),
	TEST_CASE(call_reaches_mask_only),
	TEST_CASE_RANDOM(ipi_storm, 5000),
	TEST_CASE(barrier_lines_up));
