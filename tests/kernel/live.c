/* Live address spaces: hammers on other CPUs during an operation (live.h). */

#include "live.h"
#include <mmulab/kernel.h>
#include <mmulab/percpu.h>
#include <mmulab/smp.h>
#include <arch/cpu.h>

static bool is_hammer(const struct live *l, u32 cpu)
{
	for (u32 i = 0; i < l->nr_hammers; i++)
		if (l->h[i].cpu == cpu)
			return true;
	return false;
}

static void add_hammer(struct live *l, u32 cpu)
{
	if (l->nr_hammers < LIVE_MAX_HAMMERS && cpu != l->case_cpu && !is_hammer(l, cpu))
		l->h[l->nr_hammers++].cpu = cpu;
}

/* A CPU on another node first (a remote TLB is what a shootdown must
 * reach), then any other CPU. */
void live_init(struct test *t, struct live *l, struct mm *mm, vaddr_t start, u32 pages,
	       u32 access)
{
	int here = this_cpu()->node;

	ASSERT(pages <= LIVE_MAX_PAGES);
	*l = (struct live){ .mm = mm, .start = start, .pages = pages, .access = access,
			    .case_cpu = this_cpu()->id };
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (cpus[cpu].node != here)
			add_hammer(l, cpu);
	for_each_cpu_in(cpu, &cpu_online_mask)
		add_hammer(l, cpu);
	if (!l->nr_hammers)
		test_skip(t, "needs a second CPU to keep the address space live");
}

static bool refused(struct live_hammer *h, u32 phase, struct fault_info f)
{
	if (f.vector == FAULT_NONE)
		return false;
	if (!h->faults[phase]++)
		h->first_fault[phase] = f;
	return true;
}

static void hammer_read(struct live *l, struct live_hammer *h, u32 i, u32 p, u32 phase)
{
	u64 v = 0;

	h->accesses[phase]++;
	if (refused(h, phase, user_read64(live_word(l, i, p), &v)))
		return;
	h->poison_reads += v == PAGE_POISON;
	if (h->last[p] && v != h->last[p])
		h->lost_writes++;
	if (phase == LIVE_RETURNED) {
		h->ok_reads_after++;
		h->stale_reads += l->check_expect && v != l->expect_after;
	}
}

static void hammer_write(struct live *l, struct live_hammer *h, u32 i, u32 p, u32 phase)
{
	u64 v = live_value(i, h->seq + 1);

	h->accesses[phase]++;
	if (refused(h, phase, user_write64(live_word(l, i, p), v)))
		return;
	h->seq++;
	h->last[p] = v;
	if (phase == LIVE_RETURNED)
		h->ok_writes_after++;
	else
		h->seq_at_return = h->seq;
}

static void hammer(struct live *l, u32 i)
{
	struct live_hammer *h = &l->h[i];
	u32 passes_after = 0;
	bool warm = false;

	mm_switch(l->mm);
	while (passes_after < LIVE_PASSES_AFTER) {
		bool whole_pass_after = true;
		for (u32 p = 0; p < l->pages; p++) {
			u32 phase = __atomic_load_n(&l->phase, __ATOMIC_ACQUIRE);
			whole_pass_after &= phase == LIVE_RETURNED;
			if (l->access & LIVE_READ)
				hammer_read(l, h, i, p, phase);
			if (l->access & LIVE_WRITE)
				hammer_write(l, h, i, p, phase);
		}
		passes_after += whole_pass_after;
		if (!warm) {
			warm = true;
			__atomic_add_fetch(&l->warm, 1, __ATOMIC_RELEASE);
		}
	}
	mm_switch(NULL);
}

/* The case CPU: waits until every hammer holds the translations, then
 * runs the operation between the two phase stores. */
static void operate(struct test *t, struct live *l)
{
	while (__atomic_load_n(&l->warm, __ATOMIC_ACQUIRE) < l->nr_hammers)
		cpu_relax();
	__atomic_store_n(&l->phase, LIVE_DURING, __ATOMIC_RELEASE);
	l->op(t, l->op_arg);
	__atomic_store_n(&l->phase, LIVE_RETURNED, __ATOMIC_RELEASE);
}

static void live_body(struct test *t, void *arg)
{
	struct live *l = arg;
	u32 self = this_cpu()->id;

	if (self == l->case_cpu) {
		operate(t, l);
		return;
	}
	for (u32 i = 0; i < l->nr_hammers; i++)
		if (l->h[i].cpu == self)
			hammer(l, i);
}

void live_run(struct test *t, struct live *l, void (*op)(struct test *t, void *arg), void *arg)
{
	struct cpumask m = { 0 };

	l->op = op;
	l->op_arg = arg;
	l->phase = LIVE_BEFORE;
	l->warm = 0;
	cpumask_set(&m, l->case_cpu);
	for (u32 i = 0; i < l->nr_hammers; i++)
		cpumask_set(&m, l->h[i].cpu);
	test_on_cpus(t, &m, live_body, l);
	for (u32 i = 0; i < l->nr_hammers; i++) {
		const struct live_hammer *h = &l->h[i];
		test_diag(t, "hammer CPU %u (node %d): accesses before/during/after %lu/%lu/%lu, "
			  "refused %lu/%lu/%lu", h->cpu, cpus[h->cpu].node, h->accesses[LIVE_BEFORE],
			  h->accesses[LIVE_DURING], h->accesses[LIVE_RETURNED], h->faults[LIVE_BEFORE],
			  h->faults[LIVE_DURING], h->faults[LIVE_RETURNED]);
		for (u32 ph = 0; ph < LIVE_PHASES; ph++)
			if (h->faults[ph])
				test_diag(t, "  first refused in phase %u: vector %d error 0x%x at V0x%lx "
					  "rip 0x%lx", ph, h->first_fault[ph].vector,
					  h->first_fault[ph].error_code, h->first_fault[ph].addr,
					  h->first_fault[ph].rip);
	}
}

bool live_expect_ran(struct test *t, const struct live *l)
{
	bool ok = EXPECT_GT(t, l->nr_hammers, 0);

	for (u32 i = 0; i < l->nr_hammers; i++) {
		ok &= EXPECT_GE(t, l->h[i].accesses[LIVE_BEFORE], l->pages);
		ok &= EXPECT_GE(t, l->h[i].accesses[LIVE_RETURNED], LIVE_PASSES_AFTER * l->pages);
	}
	return ok;
}

bool live_expect_refused_after(struct test *t, const struct live *l)
{
	bool ok = true;

	for (u32 i = 0; i < l->nr_hammers; i++) {
		const struct live_hammer *h = &l->h[i];
		ok &= EXPECT_EQ(t, h->ok_reads_after + h->ok_writes_after, 0);
		ok &= EXPECT_EQ(t, h->faults[LIVE_RETURNED], h->accesses[LIVE_RETURNED]);
		if (h->ok_reads_after + h->ok_writes_after)
			test_diag(t, "hammer CPU %u: %lu reads and %lu writes completed after the "
				  "operation returned (a stale TLB entry)", h->cpu, h->ok_reads_after,
				  h->ok_writes_after);
	}
	return ok;
}

bool live_expect_clean_reads(struct test *t, const struct live *l)
{
	bool ok = true;

	for (u32 i = 0; i < l->nr_hammers; i++) {
		const struct live_hammer *h = &l->h[i];
		if (!EXPECT_EQ(t, h->poison_reads, 0))
			test_diag(t, "hammer CPU %u read a freed frame's poison", h->cpu);
		if (!EXPECT_EQ(t, h->lost_writes, 0))
			test_diag(t, "hammer CPU %u read back something other than its last write",
				  h->cpu);
		if (!EXPECT_EQ(t, h->stale_reads, 0))
			test_diag(t, "hammer CPU %u read old data after the operation returned",
				  h->cpu);
		ok &= !h->poison_reads && !h->lost_writes && !h->stale_reads;
	}
	return ok;
}

bool live_expect_last_writes_visible(struct test *t, const struct live *l)
{
	bool ok = true;

	for (u32 i = 0; i < l->nr_hammers; i++)
		for (u32 p = 0; p < l->pages; p++) {
			u64 v = 0;
			if (!l->h[i].last[p])
				continue;
			ok &= EXPECT_EQ(t, user_read64(live_word(l, i, p), &v).vector, FAULT_NONE);
			if (!EXPECT_EQ(t, v, l->h[i].last[p])) {
				ok = false;
				test_diag(t, "page %u: hammer CPU %u's last write is lost", p,
					  l->h[i].cpu);
			}
		}
	return ok;
}

void live_note_frames(struct live *l)
{
	for (u32 p = 0; p < l->pages; p++)
		l->old_frames[p] = frame_at(l->mm, l->start + (vaddr_t)p * PAGE_SIZE);
}

static bool still_mapped(const struct live *l, paddr_t frame)
{
	for (u32 p = 0; p < l->pages; p++)
		if (frame_at(l->mm, l->start + (vaddr_t)p * PAGE_SIZE) == frame)
			return true;
	return false;
}

bool live_expect_old_frames_untouched(struct test *t, const struct live *l)
{
	bool ok = true;
	u32 checked = 0;

	for (u32 p = 0; p < l->pages; p++) {
		paddr_t f = l->old_frames[p];
		struct page *pg = phys_to_page(f);
		u32 off;
		if (!f || still_mapped(l, f) || __atomic_load_n(&pg->refcount, __ATOMIC_ACQUIRE))
			continue;
		checked++;
		if (!page_poison_intact(pg, &off)) {
			ok = false;
			test_check(t, false, __FILE__, __LINE__, "freed frame keeps its poison");
			test_diag(t, "freed frame P0x%lx (was page %u) written after it was freed: "
				  "byte +0x%x holds 0x%lx", f, p, off,
				  off < PAGE_SIZE ? ((u64 *)frame_va(f))[off / 8] : 0);
		}
	}
	test_diag(t, "%u freed frames checked for poison", checked);
	return ok;
}
