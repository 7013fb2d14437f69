/*
 * tlb_bench: what a TLB shootdown costs against the number of CPUs it must
 * reach, as "# bench:" lines (TSC cycles; no assertion on time). Under TCG
 * the TSC follows the host's clock: the figures measure how long the host
 * took to emulate the IPIs and the wake-ups, not CPU cycles; each line
 * says so. Opt-in (`tests=tlb_bench`, run by `make bench` with
 * `--nodes 2 --cpus 18`): 8 figures of SAMPLES shootdowns each. A figure
 * the topology has too few CPUs for is skipped with one line saying so.
 *
 *   tlb_shootdown_within_T  T target CPUs on the initiator's node
 *   tlb_shootdown_across_T  T target CPUs all on other nodes
 *
 * for T in 1, 2, 4, 8. One sample is one flush_tlb_range of one page of an
 * address space the initiator and the T targets have loaded, from the call
 * until it returns, that is until every target acknowledged its flush (the
 * initiator's own INVLPG included, as when a thread of the process unmaps).
 *
 * What a target does: it keeps the address space loaded and waits the way
 * an idle CPU does, halted with interrupts on (STI; HLT, so no wake-up is
 * lost between its last look and the halt); the flush IPI wakes it, and
 * 8 targets do not spin on the host's cores. Woken by its flush, it reads
 * the page through the user mapping and goes back to sleep.
 *
 * Every sample reaches every target, checked through the hardware: each
 * sample points the page's entry at the other of two frames before it
 * flushes, and a target, once it flushed, reads the page through the
 * translation it cached before: it must read the new frame's value. A
 * target the flush skipped is woken by its timer tick, sees the sample
 * returned, and reads the old frame (its TLB under TCG is its own and
 * never snoops the tables). Each target's flush IPI count must also rise
 * by exactly SAMPLES. The initiator starts a sample only once every target has checked the
 * last one and is about to halt.
 */

#include <mmulab/format.h>
#include <mmulab/percpu.h>
#include <arch/cpu.h>
#include "numa_util.h"
#include "bench_util.h"

#define SAMPLES 1000
#define PAGE_VALUE(frame) (0x7b0000000000000ULL + (frame))

struct shootdown {
	struct mm *mm;
	pte_t *pte;
	paddr_t frame[2]; /* the two frames a sample alternates between */
	struct cpumask targets;
	u32 initiator;
	u32 loaded;  /* targets with the mm loaded and the page cached */
	u32 posted;  /* sample number whose flush started */
	u32 done;    /* sample number whose flush returned */
	bool stop;
	u32 ready[MAX_CPUS];      /* last sample checked; about to halt */
	u64 stale[MAX_CPUS];      /* reads of the old frame after a flush returned */
	u64 unreadable[MAX_CPUS]; /* reads that faulted */
	u64 ipis[MAX_CPUS];       /* flush IPIs taken during the samples */
	u64 v[SAMPLES];
};

/* Sleeps until an interrupt; an IPI sent after the caller's last look at
 * the shared state still wakes it (irq_enable_and_halt). */
static void idle_until_interrupt(struct shootdown *s, u32 me, u32 checked)
{
	irq_disable();
	__atomic_store_n(&s->ready[me], checked, __ATOMIC_RELEASE);
	irq_enable_and_halt();
}

static void check_page(struct shootdown *s, u32 me, u32 sample)
{
	u64 v = 0;

	if (user_read64(USER_BASE, &v).vector != FAULT_NONE)
		s->unreadable[me]++;
	else if (v != PAGE_VALUE(sample % 2))
		s->stale[me]++;
}

static u64 flush_ipis_here(void)
{
	return __atomic_load_n(&this_cpu()->flush_ipis, __ATOMIC_RELAXED);
}

/* Woken before its flush IPI came (a timer tick): waits for the IPI, or
 * for the sample to return without it (then the check sees what a target
 * the flush skipped sees). Interrupts are on, so the IPI gets in. */
static void wait_flush_or_return(struct shootdown *s, u32 sample, u64 seen_ipis)
{
	while (flush_ipis_here() == seen_ipis &&
	       __atomic_load_n(&s->done, __ATOMIC_ACQUIRE) != sample)
		cpu_relax();
}

static void target(struct shootdown *s, u32 me)
{
	u32 checked = 0;

	mm_switch(s->mm);
	check_page(s, me, 0);
	u64 start_ipis = flush_ipis_here(), seen_ipis = start_ipis;
	__atomic_add_fetch(&s->loaded, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		idle_until_interrupt(s, me, checked);
		u32 posted = __atomic_load_n(&s->posted, __ATOMIC_ACQUIRE);
		if (posted == checked)
			continue; /* a timer tick */
		wait_flush_or_return(s, posted, seen_ipis);
		seen_ipis = flush_ipis_here();
		/* It flushed (or the sample returned): no waiting for the
		 * initiator's `done`, which would keep woken targets spinning
		 * on the host's cores while the others wait to be scheduled. */
		check_page(s, me, posted);
		checked = posted;
	}
	s->ipis[me] = flush_ipis_here() - start_ipis;
	mm_switch(NULL);
}

static void wait_targets_ready(struct shootdown *s, u32 sample)
{
	for_each_cpu_in(cpu, &s->targets)
		while (__atomic_load_n(&s->ready[cpu], __ATOMIC_ACQUIRE) != sample)
			cpu_relax();
}

static void initiator(struct shootdown *s)
{
	u32 want = cpumask_weight(&s->targets);

	mm_switch(s->mm);
	while (__atomic_load_n(&s->loaded, __ATOMIC_ACQUIRE) != want)
		cpu_relax();
	for (u32 i = 1; i <= SAMPLES; i++) {
		wait_targets_ready(s, i - 1);
		__atomic_store_n(&s->posted, i, __ATOMIC_RELEASE);
		set_pte(s->pte, pte_set_paddr(*s->pte, s->frame[i % 2]));
		u64 t0 = rdtsc();
		flush_tlb_range(&s->mm->tlb, USER_BASE, USER_BASE + PAGE_SIZE);
		s->v[i - 1] = rdtsc() - t0;
		__atomic_store_n(&s->done, i, __ATOMIC_RELEASE);
	}
	wait_targets_ready(s, SAMPLES);
	/* The targets see it at their next timer tick. */
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	mm_switch(NULL);
}

static void shootdown_body(struct test *t, void *arg)
{
	struct shootdown *s = arg;
	u32 me = this_cpu()->id;

	(void)t;
	if (me == s->initiator)
		initiator(s);
	else
		target(s, me);
}

/* Two pages whose frames hold PAGE_VALUE(0) and PAGE_VALUE(1); page 0's
 * entry is the one the samples switch. */
static void map_two_frames(struct test *t, struct shootdown *s)
{
	s->mm = mm_create(this_cpu()->node);
	SETUP_TRUE(t, s->mm != NULL);
	SETUP_TRUE(t, mm_map_anon(s->mm, USER_BASE, 2 * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(s->mm);
	SETUP_TRUE(t, user_write64(USER_BASE, PAGE_VALUE(0)).vector == FAULT_NONE);
	SETUP_TRUE(t, user_write64(USER_BASE + PAGE_SIZE, PAGE_VALUE(1)).vector == FAULT_NONE);
	mm_switch(NULL);
	s->pte = pt_pte_lookup(s->mm->root, USER_BASE);
	s->frame[0] = frame_at(s->mm, USER_BASE);
	s->frame[1] = frame_at(s->mm, USER_BASE + PAGE_SIZE);
}

static void expect_every_sample_reached(struct test *t, const struct shootdown *s)
{
	for_each_cpu_in(cpu, &s->targets) {
		if (!EXPECT_EQ(t, s->stale[cpu], 0))
			test_diag(t, "cpu%u read the old frame %lu times after a flush returned", cpu,
				  s->stale[cpu]);
		EXPECT_EQ(t, s->unreadable[cpu], 0);
		EXPECT_EQ(t, s->ipis[cpu], SAMPLES);
	}
}

/* Up to n online CPUs other than this one, on this node (within) or on
 * any other (across). */
static struct cpumask pick_targets(bool within, u32 n)
{
	struct cpumask m = { 0 };
	u32 self = this_cpu()->id, taken = 0;

	for_each_cpu_in(cpu, &cpu_online_mask)
		if (taken < n && cpu != self && (cpus[cpu].node == this_cpu()->node) == within) {
			cpumask_set(&m, cpu);
			taken++;
		}
	return m;
}

static void shootdown_cost(struct test *t, bool within, u32 n)
{
	static struct shootdown s;
	char name[40];

	format(name, sizeof(name), "tlb_shootdown_%s_%u", within ? "within" : "across", n);
	s = (struct shootdown){ .initiator = this_cpu()->id, .targets = pick_targets(within, n) };
	if (cpumask_weight(&s.targets) < n) {
		test_diag(t, "%s: skipped, only %u CPUs %s node %d", name,
			  cpumask_weight(&s.targets), within ? "besides this one on" : "off",
			  this_cpu()->node);
		return;
	}
	map_two_frames(t, &s);
	struct cpumask all = s.targets;
	cpumask_set(&all, s.initiator);
	test_on_cpus(t, &all, shootdown_body, &s);
	set_pte(s.pte, pte_set_paddr(*s.pte, s.frame[0]));
	flush_tlb_range(&s.mm->tlb, USER_BASE, USER_BASE + PAGE_SIZE);
	expect_every_sample_reached(t, &s);
	bench_report(t, name, s.v, SAMPLES);
	mm_destroy(s.mm);
}

static void within_node(struct test *t)
{
	for (u32 n = 1; n <= 8; n *= 2)
		shootdown_cost(t, true, n);
}

static void across_nodes(struct test *t)
{
	for (u32 n = 1; n <= 8; n *= 2)
		shootdown_cost(t, false, n);
}

TEST_SUITE_FLAGS(tlb_bench, TEST_MM_AUDIT | TEST_OPT_IN,
	TEST_CASE(within_node),
	TEST_CASE(across_nodes));
