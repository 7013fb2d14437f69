/*
 * tlb: shootdowns reach every CPU that may hold a translation, and only
 * those. QEMU's TCG keeps a TLB per vCPU and never snoops page-table
 * writes, so a missing remote flush shows up here as stale accesses, as it
 * would on hardware (bugs=tlb_skip_remote makes this suite fail).
 *
 * The racing cases run one body on two CPUs (test_on_cpus): the case's
 * own CPU changes the mapping and shoots down, the other one accesses.
 *
 * Completion: a shootdown returns only once every target has flushed. The
 * slow_target cases make targets slow to take the IPI on purpose (they
 * spin with interrupts off, a translation cached) and then look through
 * that translation as soon as they see the shootdown return.
 *
 * Two initiators: two CPUs shoot at the same third CPU at once, over and
 * over; neither request may be lost to the other.
 *
 * Zap batch: zaps of two address spaces run at once on two CPUs (under two
 * different locks); the pages each frees must be its own.
 *
 * Mid-switch: a CPU interrupted right after mm_switch loaded CR3 must
 * already be among the CPUs a shootdown reaches.
 */

#include <mmulab/audit.h>
#include <mmulab/layout.h>
#include <mmulab/mm.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/smp.h>
#include <mmulab/test.h>
#include <mmulab/tlb.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include "mm_util.h"
#include "probe.h"

#define VA(n) (TEST_AREA_BASE + 0x40000000ULL + (u64)(n) * PAGE_SIZE)
#define STALE_LIMIT 1000000
#define WARM_READS 10000

static struct cpumask pair(u32 a, u32 b)
{
	struct cpumask m = { 0 };
	cpumask_set(&m, a);
	cpumask_set(&m, b);
	return m;
}

static u32 require_other_cpu(struct test *t)
{
	int other = test_other_cpu();
	if (other < 0)
		test_skip(t, "needs a second CPU");
	return (u32)other;
}

struct stale_probe {
	vaddr_t va;
	u32 main_cpu;
	u32 warm;     /* the reader has the translation cached */
	u32 unmapped; /* set once the shootdown returned */
	u64 stale_reads;
	struct fault_info fault;
};

/* Reads until the read faults; a read that succeeds after it saw the
 * shootdown complete is stale. Stops by itself if it never faults. */
static void read_until_fault(void *arg)
{
	struct stale_probe *s = arg;

	for (u64 reads = 0;; reads++) {
		u32 after = __atomic_load_n(&s->unmapped, __ATOMIC_ACQUIRE);
		(void)*(volatile u64 *)s->va;
		if (reads == WARM_READS)
			__atomic_store_n(&s->warm, 1, __ATOMIC_RELEASE);
		if (after && ++s->stale_reads >= STALE_LIMIT)
			return;
	}
}

static void unmap_or_read(struct test *t, void *arg)
{
	struct stale_probe *s = arg;

	(void)t;
	if (this_cpu()->id != s->main_cpu) {
		s->fault = run_catching_faults(read_until_fault, s);
		return;
	}
	while (!__atomic_load_n(&s->warm, __ATOMIC_ACQUIRE))
		cpu_relax();
	pte_clear(pt_pte_lookup(kernel_root(), s->va));
	flush_tlb_range(&kernel_space, s->va, s->va + PAGE_SIZE);
	__atomic_store_n(&s->unmapped, 1, __ATOMIC_RELEASE);
}

/* A CPU reading a mapping in a tight loop must fault, not read on, once
 * another CPU's unmap and shootdown have returned. */
static void no_stale_read_after_unmap(struct test *t)
{
	static struct stale_probe s;
	u32 other = require_other_cpu(t);

	s = (struct stale_probe){ .va = VA(0), .main_cpu = this_cpu()->id };
	test_map(s.va, test_frame(), VM_READ | VM_WRITE);
	struct cpumask m = pair(s.main_cpu, other);
	test_on_cpus(t, &m, unmap_or_read, &s);
	EXPECT_EQ(t, s.stale_reads, 0);
	EXPECT_EQ(t, s.fault.vector, X86_TRAP_PF);
	EXPECT_EQ(t, s.fault.addr, s.va);
	test_diag(t, "reads after the shootdown returned: %lu", s.stale_reads);
}

struct write_probe {
	vaddr_t va;
	struct fault_info fault[MAX_CPUS];
};

static void write_once(struct test *t, void *arg)
{
	struct write_probe *w = arg;
	(void)t;
	w->fault[this_cpu()->id] = probe_write(w->va, (u8)this_cpu()->id);
}

/* RW -> RO: after the shootdown every CPU's write faults, though each had
 * a writable translation cached just before. */
static void downgrade_seen_everywhere(struct test *t)
{
	static struct write_probe w;
	paddr_t pa = test_frame();

	require_other_cpu(t);
	w = (struct write_probe){ .va = VA(1) };
	test_map(w.va, pa, VM_READ | VM_WRITE);
	test_on_cpus(t, &cpu_online_mask, write_once, &w);
	for_each_cpu_in(cpu, &cpu_online_mask)
		EXPECT_EQ(t, w.fault[cpu].vector, FAULT_NONE);

	set_pte(pt_pte_lookup(kernel_root(), w.va), pte_mkleaf(pa, pt_leaf_bits(VM_READ)));
	flush_tlb_range(&kernel_space, w.va, w.va + PAGE_SIZE);
	test_on_cpus(t, &cpu_online_mask, write_once, &w);
	for_each_cpu_in(cpu, &cpu_online_mask) {
		if (!EXPECT_EQ(t, w.fault[cpu].vector, X86_TRAP_PF))
			test_diag(t, "cpu%u wrote through a stale writable translation", cpu);
		EXPECT_EQ(t, w.fault[cpu].error_code, X86_PF_PROT | X86_PF_WRITE);
	}
	test_unmap(w.va);
}

/* A flush interrupts exactly the other CPUs of the space's active set. */
static void only_active_cpus_interrupted(struct test *t)
{
	u64 before[MAX_CPUS];
	u32 self = this_cpu()->id, other = require_other_cpu(t);
	struct tlb_space space = { pair(self, other) };
	u64 ipis = tlb_stats.ipis_sent;

	for_each_cpu_in(cpu, &cpu_online_mask)
		before[cpu] = __atomic_load_n(&cpus[cpu].flush_ipis, __ATOMIC_RELAXED);
	flush_tlb_range(&space, VA(2), VA(3));
	for_each_cpu_in(cpu, &cpu_online_mask)
		EXPECT_EQ(t, __atomic_load_n(&cpus[cpu].flush_ipis, __ATOMIC_RELAXED) - before[cpu],
			  cpu == other ? 1 : 0);
	EXPECT_EQ(t, tlb_stats.ipis_sent - ipis, 1);
}

/*
 * Slow targets. Each target reads VA (caching VA -> old frame), turns
 * interrupts off and spins: it cannot take the flush IPI now. The
 * initiator points VA at a new frame, shoots down, and once the shootdown
 * has returned poisons the old frame and raises `returned`. A target's
 * spin is bounded (it never waits for the initiator with interrupts off,
 * so a correct shootdown, which waits for it, cannot deadlock) and ends
 * early when it sees `returned`; it then reads VA. A correct shootdown
 * cannot return while a target has interrupts off, so every read after
 * `returned` goes through the new entry. One that returns before the
 * targets flushed (acks not awaited, or only some) lets a target read the
 * poisoned old frame through its stale translation.
 */
#define OLD_VALUE 0x01d01d01d01d01dULL
#define NEW_VALUE 0x0e30e30e30e30e3ULL
#define POISON 0xdeadbeefdeadbeefULL
#define SLOW_ROUNDS 3
/* Pause-loop rounds with interrupts off, per target rank: long next to
 * the initiator's path from "posted" to "returned" (a few IPIs). The
 * ranks stagger: target k re-enables interrupts k+1 spans after the
 * shootdown was posted, so waiting for any one ack is not enough. A span
 * is about 10 ms of TCG here (PAUSE leaves the translated code each time);
 * a planted no-wait or wait-for-the-first-ack shows in every round. */
#define IRQ_OFF_SPAN 10000

struct slow_flush {
	vaddr_t va;
	u32 initiator;
	u32 targets;
	u32 ready;
	u32 posted;   /* the entry changed; the shootdown starts */
	u32 returned; /* the shootdown returned and the old frame is poisoned */
	u32 rank[MAX_CPUS];
	u64 before[MAX_CPUS];     /* read with the translation cached */
	bool early[MAX_CPUS];     /* saw `returned` with interrupts still off */
	u64 early_read[MAX_CPUS]; /* what VA read then */
	u64 after[MAX_CPUS];      /* read after interrupts came back on */
};

static u64 read_va(vaddr_t va)
{
	return *(volatile u64 *)va;
}

static void slow_target(struct slow_flush *s)
{
	u32 me = this_cpu()->id;
	u64 span = (u64)IRQ_OFF_SPAN * (s->rank[me] + 1);

	irq_disable();
	s->before[me] = read_va(s->va);
	__atomic_add_fetch(&s->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->posted, __ATOMIC_ACQUIRE))
		cpu_relax();
	for (u64 i = 0; i < span && !__atomic_load_n(&s->returned, __ATOMIC_ACQUIRE); i++)
		cpu_relax();
	if (__atomic_load_n(&s->returned, __ATOMIC_ACQUIRE)) {
		s->early[me] = true;
		s->early_read[me] = read_va(s->va);
	}
	irq_enable();
	while (!__atomic_load_n(&s->returned, __ATOMIC_ACQUIRE))
		cpu_relax();
	s->after[me] = read_va(s->va);
}

static void remap_and_shoot_down(struct slow_flush *s, paddr_t old, paddr_t new)
{
	while (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) != s->targets)
		cpu_relax();
	set_pte(pt_pte_lookup(kernel_root(), s->va), pte_mkleaf(new, pt_leaf_bits(VM_READ | VM_WRITE)));
	__atomic_store_n(&s->posted, 1, __ATOMIC_RELEASE);
	flush_tlb_range(&kernel_space, s->va, s->va + PAGE_SIZE);
	*(volatile u64 *)frame_va(old) = POISON;
	__atomic_store_n(&s->returned, 1, __ATOMIC_RELEASE);
}

struct slow_round {
	struct slow_flush *s;
	paddr_t old, new;
};

static void initiate_or_stall(struct test *t, void *arg)
{
	struct slow_round *r = arg;

	(void)t;
	if (this_cpu()->id == r->s->initiator)
		remap_and_shoot_down(r->s, r->old, r->new);
	else
		slow_target(r->s);
}

/* Runs SLOW_ROUNDS shootdowns against the targets in `targets`, checking
 * every value each target read. */
static void shootdown_against_slow_targets(struct test *t, const struct cpumask *targets)
{
	static struct slow_flush s;
	static struct slow_round r;
	paddr_t frames[2] = { test_frame(), test_frame() };
	u32 self = this_cpu()->id;
	struct cpumask all = *targets;
	u32 early = 0;

	cpumask_set(&all, self);
	for (u32 round = 0; round < SLOW_ROUNDS; round++) {
		paddr_t old = frames[round & 1], new = frames[!(round & 1)];
		s = (struct slow_flush){ .va = VA(4), .initiator = self };
		for_each_cpu_in(cpu, targets)
			s.rank[cpu] = s.targets++;
		*(volatile u64 *)frame_va(old) = OLD_VALUE;
		*(volatile u64 *)frame_va(new) = NEW_VALUE;
		test_map(s.va, old, VM_READ | VM_WRITE);
		r = (struct slow_round){ &s, old, new };
		test_on_cpus(t, &all, initiate_or_stall, &r);
		for_each_cpu_in(cpu, targets) {
			EXPECT_EQ(t, s.before[cpu], OLD_VALUE);
			if (s.early[cpu]) {
				early++;
				if (!EXPECT_EQ(t, s.early_read[cpu], NEW_VALUE))
					test_diag(t, "round %u: cpu%u read 0x%lx through its old translation "
						  "after the shootdown returned", round, cpu, s.early_read[cpu]);
			}
			if (!EXPECT_EQ(t, s.after[cpu], NEW_VALUE))
				test_diag(t, "round %u: cpu%u never flushed (read 0x%lx)", round, cpu,
					  s.after[cpu]);
		}
		test_unmap(s.va);
		flush_tlb_range(&kernel_space, s.va, s.va + PAGE_SIZE);
	}
	test_diag(t, "%u target rounds saw the shootdown return with interrupts still off", early);
	EXPECT_EQ(t, early, 0);
}

/* One target, slow to take the IPI: the initiator must wait for it. */
static void shootdown_waits_for_slow_target(struct test *t)
{
	struct cpumask one = { 0 };

	cpumask_set(&one, require_other_cpu(t));
	shootdown_against_slow_targets(t, &one);
}

/* Two other CPUs as targets, slow for different times: the initiator must
 * wait for the later one, not the first to answer. */
static void shootdown_waits_for_all_slow_targets(struct test *t)
{
	struct cpumask others = test_some_cpus(3);

	if (nr_cpus < 3)
		test_skip(t, "needs two CPUs besides the initiator");
	cpumask_clear_cpu(&others, this_cpu()->id);
	shootdown_against_slow_targets(t, &others);
}

/*
 * Two initiators, one target. Each round the target caches both pages
 * (VA(6), VA(7)) and releases two CPUs at once; each repoints its own page
 * to the other of its two frames and shoots it down at the target, so
 * their requests to it arrive together. The target sleeps (STI; HLT) until
 * it has taken two flush IPIs, or both shootdowns returned, then reads
 * both pages: each must come from the frame its entry now names. A request
 * lost or overwritten by the other (the target flushed one page twice)
 * leaves it translating the other page through the old frame. The two
 * initiators spin on the release without PAUSE, so they leave it within a
 * few instructions of each other. Opt-in (the `tlb-two-initiators` matrix
 * configuration, the `tlb-claim-two-step` mutation): three busy vCPUs on a
 * two-core host make each round cost milliseconds of host scheduling.
 */
#define COLLIDE_ROUNDS 2000
#define COLLIDE_VALUE(k, j) (0xc011de0000000000ULL + (u64)(k) * 2 + (j))

struct collide {
	struct tlb_space space; /* the target alone has these pages "loaded" */
	u32 target;
	u32 initiator[2];
	vaddr_t va[2];
	paddr_t frame[2][2];
	u32 go;       /* the round the initiators may start */
	u32 done[2];  /* the round whose shootdown returned */
	u64 stale[2]; /* rounds the target read a page through its old frame */
};

static void collide_initiate(struct collide *c, u32 k)
{
	pte_t *pte = pt_pte_lookup(kernel_root(), c->va[k]);

	for (u32 round = 1; round <= COLLIDE_ROUNDS; round++) {
		while (__atomic_load_n(&c->go, __ATOMIC_ACQUIRE) != round)
			;
		set_pte(pte, pte_mkleaf(c->frame[k][round % 2], pt_leaf_bits(VM_READ | VM_WRITE)));
		flush_tlb_range(&c->space, c->va[k], c->va[k] + PAGE_SIZE);
		__atomic_store_n(&c->done[k], round, __ATOMIC_RELEASE);
	}
}

static bool both_returned(const struct collide *c, u32 round)
{
	return __atomic_load_n(&c->done[0], __ATOMIC_ACQUIRE) == round &&
	       __atomic_load_n(&c->done[1], __ATOMIC_ACQUIRE) == round;
}

/* Two IPIs sent at once may reach the target as one interrupt, so a lost
 * request also ends the wait: once both shootdowns returned. */
static void sleep_until_both_flushes(const struct collide *c, u32 round, u64 ipis_before)
{
	irq_disable();
	while (this_cpu()->flush_ipis - ipis_before < 2 && !both_returned(c, round)) {
		irq_enable_and_halt();
		irq_disable();
	}
	irq_enable();
}

static void collide_target(struct collide *c)
{
	for (u32 round = 1; round <= COLLIDE_ROUNDS; round++) {
		(void)read_va(c->va[0]);
		(void)read_va(c->va[1]);
		u64 ipis = this_cpu()->flush_ipis;
		__atomic_store_n(&c->go, round, __ATOMIC_RELEASE);
		sleep_until_both_flushes(c, round, ipis);
		for (u32 k = 0; k < 2; k++)
			if (read_va(c->va[k]) != COLLIDE_VALUE(k, round % 2))
				c->stale[k]++;
		while (!both_returned(c, round))
			cpu_relax();
	}
}

static void initiate_or_check(struct test *t, void *arg)
{
	struct collide *c = arg;
	u32 me = this_cpu()->id;

	(void)t;
	if (me == c->target)
		collide_target(c);
	else
		collide_initiate(c, me == c->initiator[1]);
}

static void two_initiators_one_target(struct test *t)
{
	static struct collide c;
	struct cpumask three = test_some_cpus(3);

	if (nr_cpus < 3)
		test_skip(t, "needs three CPUs");
	cpumask_clear_cpu(&three, this_cpu()->id);
	c = (struct collide){ .initiator = { this_cpu()->id, MAX_CPUS }, .va = { VA(6), VA(7) } };
	for_each_cpu_in(cpu, &three) {
		if (c.initiator[1] == MAX_CPUS)
			c.initiator[1] = cpu;
		else
			c.target = cpu;
	}
	cpumask_set(&c.space.active, c.target);
	struct cpumask all = three;
	cpumask_set(&all, c.initiator[0]);
	for (u32 k = 0; k < 2; k++) {
		for (u32 j = 0; j < 2; j++) {
			c.frame[k][j] = test_frame();
			*(volatile u64 *)frame_va(c.frame[k][j]) = COLLIDE_VALUE(k, j);
		}
		test_map(c.va[k], c.frame[k][0], VM_READ | VM_WRITE);
	}
	test_on_cpus(t, &all, initiate_or_check, &c);
	for (u32 k = 0; k < 2; k++) {
		if (!EXPECT_EQ(t, c.stale[k], 0))
			test_diag(t, "cpu%u read page %u through its old frame in %lu rounds, after "
				  "cpu%u's shootdown reached it", c.target, k, c.stale[k], c.initiator[k]);
		test_unmap(c.va[k]);
		flush_tlb_range(&kernel_space, c.va[k], c.va[k] + PAGE_SIZE);
	}
}

/*
 * Two address spaces zapped at once on two CPUs: each CPU maps and fills
 * ZAP_PAGES pages in its own address space, then all unmap together
 * (released by a barrier), ZAP_ROUNDS times. The zaps take different
 * locks, so anything they share must be per call. A batch shared between
 * them drops one zap's pages and frees the other's twice (the allocator's
 * double-free check, or free counts that do not come back, or the audit).
 */
#define ZAP_PAGES 64
#define ZAP_ROUNDS 100
#define ZAP_VA (USER_BASE + 0x200000)

struct zap_race {
	struct mm *mm[MAX_CPUS];
	struct smp_barrier barrier;
	u64 bad_fills[MAX_CPUS];
	u64 unmap_errors[MAX_CPUS];
};

static void fill_and_zap(struct test *t, void *arg)
{
	struct zap_race *z = arg;
	u32 me = this_cpu()->id;
	struct mm *mm = z->mm[me];

	(void)t;
	mm_switch(mm);
	for (u32 round = 0; round < ZAP_ROUNDS; round++) {
		z->unmap_errors[me] += mm_map_anon(mm, ZAP_VA, ZAP_PAGES * PAGE_SIZE,
						   VM_READ | VM_WRITE, 0) != 0;
		z->bad_fills[me] += fill_user(ZAP_VA, ZAP_PAGES, round + me);
		z->bad_fills[me] += check_user(ZAP_VA, ZAP_PAGES, round + me);
		smp_barrier_wait(&z->barrier);
		z->unmap_errors[me] += mm_unmap(mm, ZAP_VA, ZAP_PAGES * PAGE_SIZE) != 0;
		smp_barrier_wait(&z->barrier);
	}
	mm_switch(NULL);
}

static void zaps_of_two_spaces_at_once(struct test *t)
{
	static struct zap_race z;
	struct cpumask m = pair(this_cpu()->id, require_other_cpu(t));
	struct free_snapshot before = free_snapshot();

	z = (struct zap_race){ 0 };
	smp_barrier_init(&z.barrier, 2);
	for_each_cpu_in(cpu, &m) {
		z.mm[cpu] = mm_create(cpus[cpu].node);
		SETUP_TRUE(t, z.mm[cpu] != NULL);
	}
	test_on_cpus(t, &m, fill_and_zap, &z);
	for_each_cpu_in(cpu, &m) {
		EXPECT_EQ(t, z.bad_fills[cpu], 0);
		EXPECT_EQ(t, z.unmap_errors[cpu], 0);
		EXPECT_EQ(t, z.mm[cpu]->table_pages, 1);
		mm_destroy(z.mm[cpu]);
	}
	EXPECT_EQ(t, mm_audit("  # "), 0);
	expect_same_free(t, before);
}

/*
 * A shootdown against a CPU caught in the middle of loading the address
 * space. The case CPU ("switcher") loads and unloads mm in a loop with
 * interrupts on. The other CPU sends it cross-CPU calls; under TCG an
 * interrupt is taken right after the instruction that loads CR3 (a write
 * to CR3 ends the translated block), so many calls land inside
 * mm_switch. The call reads a user page of mm through whatever table is
 * loaded (caching the translation), then waits while the other CPU
 * points the page at a new frame, shoots the range down on mm's CPUs and
 * publishes the new generation; then it reads again and must see the new
 * frame. A CPU that loads the table before it joins mm's active set is
 * skipped by a shootdown made in between, and keeps reading the old frame.
 */
#define SWITCH_ROUNDS 400
#define SWITCH_VA (USER_BASE + 0x400000)

struct switch_race {
	struct mm *mm;
	pte_t *pte;
	paddr_t frame[2];
	u32 switcher;
	u32 gen;       /* the generation mapped and shot down, published after */
	u32 cached;    /* the call read the page with mm loaded */
	u32 not_loaded;/* the call found another table loaded */
	u32 done;
	u64 loaded_calls, window_calls, stale_reads, first_stale_gen;
};

static void write_generation(paddr_t frame, u32 gen)
{
	*(volatile u64 *)frame_va(frame) = gen;
}

/* On the switcher, from a call that may interrupt mm_switch. */
static void read_across_remap(void *arg)
{
	struct switch_race *r = arg;
	u32 gen = __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE);
	u64 v = 0;

	if (pt_current_root() != r->mm->root) {
		__atomic_store_n(&r->not_loaded, 1, __ATOMIC_RELEASE);
		return;
	}
	r->loaded_calls++;
	r->window_calls += !cpumask_test(&r->mm->tlb.active, this_cpu()->id);
	user_read64(SWITCH_VA, &v);
	__atomic_store_n(&r->cached, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&r->gen, __ATOMIC_ACQUIRE) == gen)
		cpu_relax();
	if (user_read64(SWITCH_VA, &v).vector != FAULT_NONE || v != gen + 1) {
		if (!r->stale_reads++)
			r->first_stale_gen = gen + 1;
	}
}

/* On the other CPU: one call per round; a call that found mm loaded gets
 * a remap and a shootdown under it. */
static void remap_under_calls(struct switch_race *r)
{
	for (u32 round = 0; round < SWITCH_ROUNDS; round++) {
		r->cached = r->not_loaded = 0;
		smp_call_cpu(r->switcher, read_across_remap, r, false);
		while (!__atomic_load_n(&r->cached, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&r->not_loaded, __ATOMIC_ACQUIRE))
			cpu_relax();
		if (r->cached) {
			u32 next = r->gen + 1;
			paddr_t frame = r->frame[next & 1];
			write_generation(frame, next);
			set_pte(r->pte, pte_mkleaf(frame, pt_leaf_bits(VM_READ | VM_USER)));
			flush_tlb_range(&r->mm->tlb, SWITCH_VA, SWITCH_VA + PAGE_SIZE);
			__atomic_store_n(&r->gen, next, __ATOMIC_RELEASE);
		}
		smp_call_wait(r->switcher);
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

static void switch_or_remap(struct test *t, void *arg)
{
	struct switch_race *r = arg;

	(void)t;
	if (this_cpu()->id != r->switcher) {
		remap_under_calls(r);
		return;
	}
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
		mm_switch(r->mm);
		mm_switch(NULL);
	}
}

static void shootdown_reaches_cpu_mid_switch(struct test *t)
{
	static struct switch_race r;
	u32 other = require_other_cpu(t);
	struct page *frames[2] = { alloc_pages(NO_NODE, 0, ALLOC_ZERO),
				   alloc_pages(NO_NODE, 0, ALLOC_ZERO) };

	r = (struct switch_race){ .mm = mm_create(this_cpu()->node), .switcher = this_cpu()->id };
	SETUP_TRUE(t, r.mm && frames[0] && frames[1]);
	r.frame[0] = page_to_phys(frames[0]);
	r.frame[1] = page_to_phys(frames[1]);
	r.pte = mm_pte_alloc(r.mm, SWITCH_VA);
	SETUP_TRUE(t, r.pte != NULL);
	write_generation(r.frame[0], 0);
	set_pte(r.pte, pte_mkleaf(r.frame[0], pt_leaf_bits(VM_READ | VM_USER)));
	struct cpumask m = pair(this_cpu()->id, other);
	test_on_cpus(t, &m, switch_or_remap, &r);
	pte_clear(r.pte);
	mm_destroy(r.mm);
	put_page(frames[0]);
	put_page(frames[1]);
	test_diag(t, "%lu of %u calls found mm loaded, %lu of them before the switcher joined; "
		  "%lu stale reads", r.loaded_calls, SWITCH_ROUNDS, r.window_calls, r.stale_reads);
	SETUP_TRUE(t, r.loaded_calls > 0);
	if (!EXPECT_EQ(t, r.stale_reads, 0))
		test_diag(t, "generation %lu: the old frame read after the shootdown returned",
			  r.first_stale_gen);
}

TEST_SUITE(tlb,
	TEST_CASE(no_stale_read_after_unmap),
	TEST_CASE(downgrade_seen_everywhere),
	TEST_CASE(only_active_cpus_interrupted),
	TEST_CASE(shootdown_waits_for_slow_target),
	TEST_CASE(shootdown_waits_for_all_slow_targets),
	TEST_CASE_FLAGS(two_initiators_one_target, TEST_OPT_IN),
	TEST_CASE(zaps_of_two_spaces_at_once),
	TEST_CASE(shootdown_reaches_cpu_mid_switch));
