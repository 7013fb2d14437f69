/*
 * vmalloc_sync: seed 002 on real tables. An address space created before a
 * vmalloc that needed a new top-level entry lacks that entry. In lazy mode
 * the first kernel access from it faults once and the fault copies the
 * entry; in prealloc and eager modes it never faults. With the sync
 * skipped (bugs=vmalloc_no_sync) or the 2020 preallocation at the wrong
 * level (bugs=vmalloc_prealloc_wrong_level, with vmalloc_sync=prealloc)
 * the access is an unexpected kernel fault on the reading CPU, and the
 * case fails with it decoded.
 *
 * The later cases check the sync under concurrency: the table repaired is
 * the one loaded (CR3) even mid-switch; several CPUs taking the fault on
 * one entry at once; eager sync against mm_create; and a vfree seen by a
 * CPU that has a user address space loaded. Then eager sync of areas that
 * do not start at a slot boundary, prealloc of every slot, and vfree
 * against a CPU slow to take the shootdown (poisoned frames).
 */

#include <mmulab/mm_struct.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/spinlock.h>
#include <mmulab/tlb.h>
#include <mmulab/smp.h>
#include <mmulab/vmalloc.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include "mm_util.h"

#define PAGES 4

struct reader {
	struct mm *mm;
	u64 *data;
	u64 pages;
	u64 seed;
	u64 mismatches;
	u64 syncs_first, syncs_again;
};

/* Runs on the reading CPU: load the old address space, read everything
 * twice (plain reads: a fault nobody fixes is reported by the harness). */
static void read_in_old_space(struct test *t, void *arg)
{
	struct reader *r = arg;
	u64 words = r->pages * PAGE_SIZE / 8;

	(void)t;
	mm_switch(r->mm);
	for (u64 i = 0; i < words; i += 64)
		r->mismatches += ((volatile u64 *)r->data)[i] != pattern(i, r->seed);
	r->syncs_first = r->mm->faults.vmalloc_sync;
	for (u64 i = 0; i < words; i += 64)
		r->mismatches += ((volatile u64 *)r->data)[i] != pattern(i, r->seed);
	r->syncs_again = r->mm->faults.vmalloc_sync;
	mm_switch(NULL);
}

static void fill(u64 *data, u64 pages, u64 seed)
{
	for (u64 i = 0; i < pages * PAGE_SIZE / 8; i += 64)
		data[i] = pattern(i, seed);
}

static struct cpumask reading_cpu(void)
{
	struct cpumask m = { 0 };
	int other = test_other_cpu();
	cpumask_set(&m, other >= 0 ? (u32)other : this_cpu()->id);
	return m;
}

/* Exactly one sync fault in lazy mode, none in the others, and the data
 * reads back either way. */
static void new_top_level_entry(struct test *t)
{
	static struct reader r;
	struct mm *old = mm_create(0);
	u64 expect = vmalloc_mode() == VMALLOC_SYNC_LAZY ? 1 : 0;

	ASSERT_TRUE(t, old != NULL);
	u64 *data = vmalloc_aligned(PAGES * PAGE_SIZE, VMALLOC_SLOT_SIZE);
	ASSERT_TRUE(t, data != NULL);
	fill(data, PAGES, 0x5eed);
	r = (struct reader){ old, data, PAGES, 0x5eed, 0, 0, 0 };
	struct cpumask m = reading_cpu();
	test_on_cpus(t, &m, read_in_old_space, &r);
	test_diag(t, "mode %s: %lu sync faults on first access, %lu more after",
		  vmalloc_mode_name(vmalloc_mode()), r.syncs_first, r.syncs_again - r.syncs_first);
	EXPECT_EQ(t, r.syncs_first, expect);
	EXPECT_EQ(t, r.syncs_again, r.syncs_first);
	EXPECT_EQ(t, r.mismatches, 0);
	mm_destroy(old);
	vfree(data);
}

struct all_read {
	u64 *data;
	u64 seed;
	u64 mismatches[MAX_CPUS];
};

static void read_everywhere(struct test *t, void *arg)
{
	struct all_read *a = arg;

	(void)t;
	for (u64 i = 0; i < PAGES * PAGE_SIZE / 8; i += 64)
		a->mismatches[this_cpu()->id] += ((volatile u64 *)a->data)[i] != pattern(i, a->seed);
}

/* vfree then vmalloc at the same address: every CPU, each of which had
 * the old pages in its TLB, reads the new data. */
static void reuse_reads_new_data(struct test *t)
{
	static struct all_read a;
	u64 *first = vmalloc(PAGES * PAGE_SIZE);

	ASSERT_TRUE(t, first != NULL);
	fill(first, PAGES, 1);
	a = (struct all_read){ first, 1, { 0 } };
	test_on_cpus(t, &cpu_online_mask, read_everywhere, &a);
	vfree(first);
	u64 *second = vmalloc(PAGES * PAGE_SIZE);
	ASSERT_TRUE(t, second == first);
	fill(second, PAGES, 2);
	a = (struct all_read){ second, 2, { 0 } };
	test_on_cpus(t, &cpu_online_mask, read_everywhere, &a);
	for_each_cpu_in(cpu, &cpu_online_mask)
		if (!EXPECT_EQ(t, a.mismatches[cpu], 0))
			test_diag(t, "cpu%u read the freed pages' data", cpu);
	vfree(second);
}

/* The top-level entry of mm for va's slot. */
static pgd_t *slot_entry(struct mm *mm, vaddr_t va)
{
	return pgd_offset(mm->root, va);
}

/* Makes mm lack va's top-level entry, as an address space created before
 * the vmalloc that first used the slot does (the slot may already be in
 * the reference from an earlier case). mm is loaded nowhere yet. */
static void forget_slot(struct mm *mm, vaddr_t va)
{
	pgd_clear(slot_entry(mm, va));
}

static void require_lazy(struct test *t)
{
	if (vmalloc_mode() != VMALLOC_SYNC_LAZY)
		test_skip(t, "lazy sync only (the other modes never take the fault)");
}

/*
 * Mid-switch: this CPU's bookkeeping says address space A while CR3
 * already holds B (mm_switch between its CR3 load and its bookkeeping
 * store, where an interrupt handler may touch vmalloc memory). Neither
 * has the area's top-level entry. The access must repair B, the table
 * the CPU walks; repairing A would leave the access faulting.
 */
static void sync_repairs_loaded_table_mid_switch(struct test *t)
{
	require_lazy(t);
	struct mm *believed = mm_create(0), *loaded = mm_create(0);
	SETUP_TRUE(t, believed && loaded);
	u64 *data = vmalloc_aligned(PAGE_SIZE, VMALLOC_SLOT_SIZE);
	SETUP_TRUE(t, data != NULL);
	data[0] = pattern(0, 0x3c3);
	forget_slot(believed, (vaddr_t)data);
	forget_slot(loaded, (vaddr_t)data);

	mm_switch(believed);
	irq_disable();
	cpumask_set(&loaded->tlb.active, this_cpu()->id);
	pt_load_root(loaded->root);
	invlpg((vaddr_t)data); /* the global translation from the write above */
	struct fault_info f = probe_read((vaddr_t)data, &(u8){ 0 });
	u64 seen = f.vector == FAULT_NONE ? ((volatile u64 *)data)[0] : 0;
	pt_load_root(believed->root);
	cpumask_clear_cpu(&loaded->tlb.active, this_cpu()->id);
	irq_enable();
	mm_switch(NULL);

	if (!EXPECT_EQ(t, f.vector, FAULT_NONE))
		test_diag(t, "the access mid-switch faulted (error 0x%x): the sync repaired another table",
			  f.error_code);
	EXPECT_EQ(t, seen, pattern(0, 0x3c3));
	EXPECT_EQ(t, pgd_val(*slot_entry(loaded, (vaddr_t)data)),
		  pgd_val(*pgd_offset(kernel_root(), (vaddr_t)data)));
	EXPECT_TRUE(t, pgd_none(*slot_entry(believed, (vaddr_t)data)));
	mm_destroy(believed);
	mm_destroy(loaded);
	vfree(data);
}

/*
 * Two CPUs with one address space loaded, neither having the area's
 * top-level entry, released by a barrier onto the same word: they take
 * the lazy fault on one entry at once. The first copies it; the other
 * finds it present and equal, which is a raced fault to retry, not a
 * broken sharing. Repeated with a fresh address space each round. Two
 * racers, not more: on a 2-core host two vCPUs really run at once (a
 * raced fault in nearly every round, 3 ms for 50), while four take turns
 * on the cores (fewer races, 4 ms per round).
 */
#define RACE_ROUNDS 100
#define RACERS 2

struct sync_race {
	struct mm *mm;
	u64 *data;
	struct smp_barrier barrier;
	u64 mismatches[MAX_CPUS];
};

static void touch_together(struct test *t, void *arg)
{
	struct sync_race *r = arg;

	(void)t;
	mm_switch(r->mm);
	invlpg((vaddr_t)r->data); /* a global translation from an earlier round */
	smp_barrier_wait(&r->barrier);
	r->mismatches[this_cpu()->id] += ((volatile u64 *)r->data)[0] != pattern(0, 0x7ace);
	mm_switch(NULL);
}

static void concurrent_sync_of_one_entry(struct test *t)
{
	static struct sync_race r;
	u64 raced = vmalloc_raced_faults;
	struct cpumask racers = test_some_cpus(RACERS);

	require_lazy(t);
	if (nr_cpus < 2)
		test_skip(t, "needs a second CPU");
	r = (struct sync_race){ .data = vmalloc_aligned(PAGE_SIZE, VMALLOC_SLOT_SIZE) };
	SETUP_TRUE(t, r.data != NULL);
	r.data[0] = pattern(0, 0x7ace);
	for (u32 round = 0; round < RACE_ROUNDS; round++) {
		r.mm = mm_create(0);
		SETUP_TRUE(t, r.mm != NULL);
		forget_slot(r.mm, (vaddr_t)r.data);
		smp_barrier_init(&r.barrier, cpumask_weight(&racers));
		test_on_cpus(t, &racers, touch_together, &r);
		mm_destroy(r.mm);
		if (t->failed)
			break;
	}
	test_diag(t, "%lu faults found the entry already copied by another CPU",
		  vmalloc_raced_faults - raced);
	for_each_cpu_in(cpu, &racers)
		EXPECT_EQ(t, r.mismatches[cpu], 0);
	vfree(r.data);
}

/*
 * eager: mm_create against vmalloc. The creating CPU (this one) makes and
 * destroys address spaces in a loop; the other CPU interrupts it at a
 * moment that moves from round to round (a cross-CPU call that holds it
 * for a while, so an mm_create caught between copying the kernel half and
 * joining the list stays there), and meanwhile vmallocs an area in a new
 * top-level slot. Every address space whose mm_create returned after that
 * vmalloc returned must have the slot's entry: either it copied it or the
 * eager sync reached it on the list.
 */
#define CREATE_ROUNDS 48
#define HOLD_SPAN 20000 /* pauses, about 20 ms: a vmalloc not done by then waits for a lock the creator holds */
#define DELAY_STEPS 32
#define DELAY_STEP 64

struct create_race {
	u32 creator;
	u32 round;       /* armed by the vmalloc CPU */
	u32 checked;     /* the creator checked an mm created after the vmalloc */
	u32 creates;     /* mm_create calls started */
	u32 held;        /* the creator is held by the call */
	u32 allocated;   /* this round's vmalloc returned */
	vaddr_t area[CREATE_ROUNDS];
	u32 rounds;
	u64 missed, created;
	bool create_failed;
};

/* On the creator, from the call IPI: hold it until the vmalloc is done,
 * or for a bounded time (it may hold a lock the vmalloc needs). */
static void hold_creator(void *arg)
{
	struct create_race *c = arg;

	__atomic_store_n(&c->held, 1, __ATOMIC_RELEASE);
	for (u64 i = 0; i < HOLD_SPAN && !__atomic_load_n(&c->allocated, __ATOMIC_ACQUIRE); i++)
		cpu_relax();
}

static void create_until_allocated(struct create_race *c)
{
	bool after;

	do {
		__atomic_add_fetch(&c->creates, 1, __ATOMIC_RELEASE);
		struct mm *mm = mm_create(0);
		after = __atomic_load_n(&c->allocated, __ATOMIC_ACQUIRE);
		if (!mm) {
			c->create_failed = true;
			return;
		}
		c->created++;
		vaddr_t va = c->area[c->round - 1];
		if (after && va && pgd_val(*slot_entry(mm, va)) != pgd_val(*pgd_offset(kernel_root(), va)))
			c->missed++;
		mm_destroy(mm);
	} while (!after);
}

static void vmalloc_during_create(struct create_race *c, u32 round)
{
	u32 creates = __atomic_load_n(&c->creates, __ATOMIC_ACQUIRE);

	while (__atomic_load_n(&c->creates, __ATOMIC_ACQUIRE) == creates)
		cpu_relax();
	for (u32 i = 0; i < (round % DELAY_STEPS) * DELAY_STEP; i++)
		cpu_relax();
	smp_call_cpu(c->creator, hold_creator, c, false);
	while (!__atomic_load_n(&c->held, __ATOMIC_ACQUIRE))
		cpu_relax();
	c->area[round - 1] = (vaddr_t)vmalloc_aligned(PAGE_SIZE, VMALLOC_SLOT_SIZE);
	__atomic_store_n(&c->allocated, 1, __ATOMIC_RELEASE);
}

static void create_or_vmalloc(struct test *t, void *arg)
{
	struct create_race *c = arg;

	(void)t;
	for (u32 round = 1; round <= c->rounds; round++) {
		if (this_cpu()->id == c->creator) {
			while (__atomic_load_n(&c->round, __ATOMIC_ACQUIRE) != round)
				cpu_relax();
			create_until_allocated(c);
			__atomic_store_n(&c->checked, round, __ATOMIC_RELEASE);
			if (!c->area[round - 1])
				return; /* no slot left: the vmalloc CPU stops too */
			continue;
		}
		__atomic_store_n(&c->held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->allocated, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->round, round, __ATOMIC_RELEASE);
		vmalloc_during_create(c, round);
		while (__atomic_load_n(&c->checked, __ATOMIC_ACQUIRE) != round)
			cpu_relax();
		smp_call_wait(c->creator);
		if (!c->area[round - 1])
			return; /* no slot left */
	}
}

static void eager_sync_reaches_new_spaces(struct test *t)
{
	static struct create_race c;

	if (vmalloc_mode() != VMALLOC_SYNC_EAGER)
		test_skip(t, "eager sync only");
	c = (struct create_race){ .creator = this_cpu()->id, .rounds = CREATE_ROUNDS };
	struct cpumask m = { 0 };
	cpumask_set(&m, this_cpu()->id);
	int other = test_other_cpu();
	if (other < 0)
		test_skip(t, "needs a second CPU");
	cpumask_set(&m, (u32)other);
	test_on_cpus(t, &m, create_or_vmalloc, &c);
	u32 slots = 0;
	for (u32 i = 0; i < CREATE_ROUNDS && c.area[i]; i++, slots++)
		vfree((void *)c.area[i]);
	SETUP_TRUE(t, !c.create_failed);
	SETUP_TRUE(t, slots >= CREATE_ROUNDS / 2);
	test_diag(t, "%lu address spaces created around %u vmallocs; %lu lacked the new entry",
		  c.created, slots, c.missed);
	EXPECT_EQ(t, c.missed, 0);
}

/*
 * Touches every page of a list of areas from the reading CPU with an old
 * user address space loaded; a page that faults is counted (in eager and
 * prealloc modes nothing repairs a missing top-level entry at fault time).
 */
#define MAX_SPANS 2

struct span_reader {
	struct mm *mm;
	vaddr_t start[MAX_SPANS];
	u64 pages[MAX_SPANS];
	u32 spans;
	u64 seed;
	u64 faults, mismatches;
	vaddr_t first_fault;
};

static void read_spans_in_old_space(struct test *t, void *arg)
{
	struct span_reader *r = arg;

	(void)t;
	mm_switch(r->mm);
	for (u32 s = 0; s < r->spans; s++)
		for (vaddr_t va = r->start[s]; va < r->start[s] + r->pages[s] * PAGE_SIZE;
		     va += PAGE_SIZE) {
			if (probe_read(va, &(u8){ 0 }).vector != FAULT_NONE) {
				if (!r->faults++)
					r->first_fault = va;
				continue;
			}
			r->mismatches += *(volatile u64 *)va != pattern(va, r->seed);
		}
	mm_switch(NULL);
}

static void fill_span(vaddr_t start, u64 pages, u64 seed)
{
	for (vaddr_t va = start; va < start + pages * PAGE_SIZE; va += PAGE_SIZE)
		*(u64 *)va = pattern(va, seed);
}

/*
 * The areas of a ladder: vmalloc hands out space from a cursor that only
 * moves up, each area followed by a guard page, a start rounded up to the
 * alignment asked. Areas of halving alignment walk the cursor from the
 * start of a slot to the last few pages before its end, where the case
 * wants its area. Every step is checked to land where it must (an area
 * reused from an earlier case would not): otherwise the case is an ERROR.
 */
#define LADDER_MAX 64
#define LADDER_STEP_PAGES 5
#define LADDER_LAST_ALIGN (8 * PAGE_SIZE)

struct ladder {
	void *held[LADDER_MAX];
	u32 n;
	bool off_course;
};

static vaddr_t ladder_take(struct ladder *l, u64 pages, u64 align, vaddr_t want)
{
	void *p = l->n < LADDER_MAX ? vmalloc_aligned(pages * PAGE_SIZE, align) : NULL;

	if (p)
		l->held[l->n++] = p;
	if ((vaddr_t)p != want)
		l->off_course = true;
	return (vaddr_t)p;
}

/* From a cursor a few pages into the slot starting at slot, the next area
 * (last_pages long) starts LADDER_LAST_ALIGN before the slot's end. */
static void ladder_climb(struct ladder *l, vaddr_t slot, u64 last_pages)
{
	vaddr_t end = slot + VMALLOC_SLOT_SIZE;

	for (u64 align = VMALLOC_SLOT_SIZE / 2; align > LADDER_LAST_ALIGN; align /= 2)
		ladder_take(l, LADDER_STEP_PAGES, align, end - align);
	ladder_take(l, last_pages, LADDER_LAST_ALIGN, end - LADDER_LAST_ALIGN);
}

static void ladder_free(struct ladder *l)
{
	for (u32 i = 0; i < l->n; i++)
		vfree(l->held[i]);
}

static bool slot_unused(vaddr_t va)
{
	return pgd_none(*pgd_offset(kernel_root(), va));
}

/*
 * eager: areas that do not start at a slot boundary. Every address space
 * must get every top-level entry an area covers, counted from the slot
 * holding the area's first page. Two areas, built in slots nobody used:
 *   - one straddling a boundary: its first pages at the end of a slot in
 *     use, the rest in an unused slot;
 *   - one starting one page into an unused slot (the page before is the
 *     guard page of an area ending exactly at the boundary, so the slot's
 *     first mapped page is the area's first page, not at the boundary).
 * An address space created before both, loaded on another CPU, reads
 * every page of both without a fault (eager mode has no fault-time sync;
 * a sync loop that starts from the next boundary misses the second area's
 * slot entirely).
 */
#define STRADDLE_PAGES 6
#define INSIDE_PAGES 6

static void eager_sync_covers_unaligned_areas(struct test *t)
{
	static struct ladder l;
	static struct span_reader r;

	if (vmalloc_mode() != VMALLOC_SYNC_EAGER)
		test_skip(t, "eager sync only");
	l = (struct ladder){ 0 };
	struct mm *old = mm_create(0);
	SETUP_TRUE(t, old != NULL);
	vaddr_t s0 = (vaddr_t)vmalloc_aligned(8 * PAGE_SIZE, VMALLOC_SLOT_SIZE);
	SETUP_TRUE(t, s0 != 0);
	l.held[l.n++] = (void *)s0;
	vaddr_t s1 = s0 + VMALLOC_SLOT_SIZE, s2 = s1 + VMALLOC_SLOT_SIZE;
	SETUP_TRUE(t, s2 + VMALLOC_SLOT_SIZE <= VMALLOC_BASE + VMALLOC_SIZE);
	SETUP_TRUE(t, slot_unused(s1) && slot_unused(s2));

	ladder_climb(&l, s0, 4); /* ends 4 pages + a guard before s1 */
	vaddr_t straddle = ladder_take(&l, STRADDLE_PAGES, PAGE_SIZE, s1 - 3 * PAGE_SIZE);
	ladder_climb(&l, s1, 8); /* ends at s2, its guard page is s2's first */
	vaddr_t inside = ladder_take(&l, INSIDE_PAGES, PAGE_SIZE, s2 + PAGE_SIZE);
	if (l.off_course) {
		ladder_free(&l);
		mm_destroy(old);
		test_error(t, "vmalloc did not place the areas where the case needs them");
	}
	fill_span(straddle, STRADDLE_PAGES, 0x57a);
	fill_span(inside, INSIDE_PAGES, 0x57a);
	r = (struct span_reader){ .mm = old, .start = { straddle, inside },
				  .pages = { STRADDLE_PAGES, INSIDE_PAGES }, .spans = 2,
				  .seed = 0x57a };
	struct cpumask m = reading_cpu();
	test_on_cpus(t, &m, read_spans_in_old_space, &r);
	if (!EXPECT_EQ(t, r.faults, 0))
		test_diag(t, "%lu pages faulted, the first V0x%lx", r.faults, r.first_fault);
	EXPECT_EQ(t, r.mismatches, 0);
	ladder_free(&l);
	mm_destroy(old);
}

/*
 * prealloc: every top-level slot of the vmalloc area was filled at boot,
 * so the reference and any address space have all of them, and a mapping
 * made now in the very last page of the area, far beyond anything vmalloc
 * has handed out, is reachable at once from an address space created
 * before it, loaded on another CPU (prealloc has no fault-time sync).
 */
static void prealloc_fills_every_slot(struct test *t)
{
	static struct span_reader r;
	vaddr_t last = VMALLOC_BASE + VMALLOC_SIZE - PAGE_SIZE;
	u32 missing_ref = 0, missing_new = 0;

	if (vmalloc_mode() != VMALLOC_SYNC_PREALLOC)
		test_skip(t, "prealloc only");
	struct mm *old = mm_create(0);
	SETUP_TRUE(t, old != NULL);
	for (vaddr_t va = VMALLOC_BASE; va < VMALLOC_BASE + VMALLOC_SIZE; va += VMALLOC_SLOT_SIZE) {
		missing_ref += !pgd_present(*pgd_offset(kernel_root(), va));
		missing_new += !pgd_present(*slot_entry(old, va));
	}
	test_diag(t, "top-level slots missing: %u in the reference, %u in a new address space",
		  missing_ref, missing_new);
	EXPECT_EQ(t, missing_ref, 0);
	EXPECT_EQ(t, missing_new, 0);

	struct page *p = alloc_pages(NO_NODE, 0, ALLOC_ZERO);
	SETUP_TRUE(t, p != NULL);
	test_map(last, page_to_phys(p), VM_READ | VM_WRITE);
	fill_span(last, 1, 0x1a57);
	r = (struct span_reader){ .mm = old, .start = { last }, .pages = { 1 }, .spans = 1,
				  .seed = 0x1a57 };
	struct cpumask m = reading_cpu();
	test_on_cpus(t, &m, read_spans_in_old_space, &r);
	test_unmap(last);
	flush_tlb_range(&kernel_space, last, last + PAGE_SIZE);
	put_page(p);
	if (!EXPECT_EQ(t, r.faults, 0))
		test_diag(t, "the last page of the area faulted from an older address space");
	EXPECT_EQ(t, r.mismatches, 0);
	mm_destroy(old);
}

/*
 * vfree while another CPU, with a user address space loaded, keeps
 * reading the area: once vfree has returned, that CPU's next read must
 * fault. Kernel mappings are global and survive CR3 loads, so the
 * shootdown must reach every CPU, not only those on the kernel's tables.
 */
#define STALE_LIMIT 100000
#define WARM_READS 10000

struct vfree_reader {
	struct mm *mm;
	u64 *data;
	u32 freeing_cpu;
	u32 warm, freed;
	u64 stale_reads;
	struct fault_info fault;
};

static void read_until_fault(void *arg)
{
	struct vfree_reader *r = arg;

	for (u64 reads = 0;; reads++) {
		u32 after = __atomic_load_n(&r->freed, __ATOMIC_ACQUIRE);
		(void)((volatile u64 *)r->data)[0];
		if (reads == WARM_READS)
			__atomic_store_n(&r->warm, 1, __ATOMIC_RELEASE);
		if (after && ++r->stale_reads >= STALE_LIMIT)
			return;
	}
}

static void read_or_vfree(struct test *t, void *arg)
{
	struct vfree_reader *r = arg;

	(void)t;
	if (this_cpu()->id != r->freeing_cpu) {
		mm_switch(r->mm);
		r->fault = run_catching_faults(read_until_fault, r);
		mm_switch(NULL);
		return;
	}
	while (!__atomic_load_n(&r->warm, __ATOMIC_ACQUIRE))
		cpu_relax();
	vfree(r->data);
	__atomic_store_n(&r->freed, 1, __ATOMIC_RELEASE);
}

static void vfree_reaches_cpu_in_user_space(struct test *t)
{
	static struct vfree_reader r;
	int other = test_other_cpu();

	if (other < 0)
		test_skip(t, "needs a second CPU");
	r = (struct vfree_reader){ .mm = mm_create(0), .data = vmalloc(PAGE_SIZE),
				   .freeing_cpu = this_cpu()->id };
	SETUP_TRUE(t, r.mm && r.data);
	struct cpumask m = { 0 };
	cpumask_set(&m, (u32)other);
	cpumask_set(&m, this_cpu()->id);
	test_on_cpus(t, &m, read_or_vfree, &r);
	test_diag(t, "reads after vfree returned: %lu", r.stale_reads);
	EXPECT_EQ(t, r.stale_reads, 0);
	EXPECT_EQ(t, r.fault.vector, X86_TRAP_PF);
	EXPECT_EQ(t, r.fault.addr, (vaddr_t)r.data);
	mm_destroy(r.mm);
}

/*
 * vfree against a CPU that is slow to take the shootdown: it read every
 * page of an area (the translations are in its TLB; the area is small
 * enough that the emulated TLB, direct-mapped and as small as 64 entries
 * under TCG, keeps most of them), turned
 * interrupts off, and waits for the flush request to be posted; then,
 * still with interrupts off, it reads every page once more through its
 * TLB before it lets the request in. The freed frames are poisoned by the
 * buddy allocator as they are freed, so a read of PAGE_POISON in that
 * pass is a frame freed before this CPU's translation was gone: vfree
 * must free the pages only after the shootdown has completed everywhere.
 * Reads of the old data are fine (the flush has not happened yet). When
 * no request ever comes (a shootdown that skips remote CPUs) the reader
 * stops waiting once vfree has returned.
 */
#define SLOW_PAGES 32
#define SLOW_MARK 0x5c

struct slow_reader {
	u8 *data;
	u32 freeing_cpu;
	u32 waiting, freed;
	u64 poison_reads, old_reads, faults;
	bool requested; /* a flush request was posted while it waited */
};

/* A page that faults in the second pass is fine: the TLB may have dropped
 * its translation (the entry is already cleared). */
static void read_area(struct slow_reader *r, bool count)
{
	for (u32 i = 0; i < SLOW_PAGES; i++) {
		u8 v = 0;
		bool faulted = probe_read((vaddr_t)(r->data + i * PAGE_SIZE), &v).vector != FAULT_NONE;
		if (!count)
			continue;
		r->faults += faulted;
		r->poison_reads += !faulted && v == (u8)PAGE_POISON;
		r->old_reads += !faulted && v == SLOW_MARK;
	}
}

static void read_slowly_or_vfree(struct test *t, void *arg)
{
	struct slow_reader *r = arg;

	(void)t;
	if (this_cpu()->id == r->freeing_cpu) {
		while (!__atomic_load_n(&r->waiting, __ATOMIC_ACQUIRE))
			cpu_relax();
		vfree(r->data);
		__atomic_store_n(&r->freed, 1, __ATOMIC_RELEASE);
		return;
	}
	irq_disable();
	read_area(r, false);
	u64 sent = __atomic_load_n(&tlb_stats.ipis_sent, __ATOMIC_ACQUIRE);
	__atomic_store_n(&r->waiting, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&tlb_stats.ipis_sent, __ATOMIC_ACQUIRE) == sent &&
	       !__atomic_load_n(&r->freed, __ATOMIC_ACQUIRE))
		cpu_relax();
	r->requested = __atomic_load_n(&tlb_stats.ipis_sent, __ATOMIC_ACQUIRE) != sent;
	read_area(r, true);
	irq_enable();
}

static void vfree_frees_after_slow_cpu_flushed(struct test *t)
{
	static struct slow_reader r;
	int other = test_other_cpu();

	if (other < 0)
		test_skip(t, "needs a second CPU");
	r = (struct slow_reader){ .data = vmalloc(SLOW_PAGES * PAGE_SIZE),
				  .freeing_cpu = this_cpu()->id };
	SETUP_TRUE(t, r.data != NULL);
	for (u32 i = 0; i < SLOW_PAGES; i++)
		r.data[i * PAGE_SIZE] = SLOW_MARK;
	struct cpumask m = { 0 };
	cpumask_set(&m, (u32)other);
	cpumask_set(&m, this_cpu()->id);
	test_on_cpus(t, &m, read_slowly_or_vfree, &r);
	test_diag(t, "%s; the pass with interrupts off read %lu pages of old data, %lu of poison, "
		  "%lu faulted", r.requested ? "flush requested" : "no flush request came",
		  r.old_reads, r.poison_reads, r.faults);
	EXPECT_EQ(t, r.poison_reads, 0);
}

TEST_SUITE_FLAGS(vmalloc_sync, TEST_MM_AUDIT,
	TEST_CASE(new_top_level_entry),
	TEST_CASE(reuse_reads_new_data),
	TEST_CASE(sync_repairs_loaded_table_mid_switch),
	TEST_CASE(concurrent_sync_of_one_entry),
	TEST_CASE(eager_sync_reaches_new_spaces),
	TEST_CASE(vfree_reaches_cpu_in_user_space),
	TEST_CASE(eager_sync_covers_unaligned_areas),
	TEST_CASE(prealloc_fills_every_slot),
	TEST_CASE(vfree_frees_after_slow_cpu_flushed));
