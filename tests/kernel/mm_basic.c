/*
 * mm_basic: an address space behaves like a process's. Each case builds a
 * fresh mm, loads it on this CPU, accesses user memory from the kernel
 * with the SMAP window open (faults resolve through the same path as a
 * user's), and destroys it; the per-node free counts must then be exactly
 * what they were before, so a leaked page or page table fails the case.
 */

#include <mmulab/audit.h>
#include <mmulab/ptdump.h>
#include <mmulab/string.h>
#include "live.h"
#include "numa_util.h"

#define PAGES 64

static struct mm *setup(struct test *t, u32 prot)
{
	struct mm *mm = mm_create(0);

	ASSERT_TRUE(t, mm != NULL);
	ASSERT_EQ(t, mm_map_anon(mm, USER_BASE, PAGES * PAGE_SIZE, prot, 0), 0);
	mm_switch(mm);
	return mm;
}

static void teardown(struct mm *mm)
{
	mm_switch(NULL);
	mm_destroy(mm);
}

/* Demand-zero pages read as zero; what is written reads back. */
static void demand_zero_and_back(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	u64 v = 1;

	for (vaddr_t va = USER_BASE; va < USER_BASE + PAGES * PAGE_SIZE; va += PAGE_SIZE) {
		EXPECT_EQ(t, user_read64(va + 8, &v).vector, FAULT_NONE);
		EXPECT_EQ(t, v, 0);
	}
	EXPECT_EQ(t, mm->faults.demand_zero, PAGES);
	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, 0x1234), 0);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 0x1234), 0);
	EXPECT_EQ(t, mm->faults.demand_zero, PAGES); /* no page faulted twice */
	teardown(mm);
	expect_same_free(t, before);
}

/* munmap returns the pages and the tables that held them. */
static void munmap_returns_frames(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	struct free_snapshot mapped_nothing = free_snapshot();

	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, 7), 0);
	u64 used = 0;
	for (int n = 0; n < nr_nodes(); n++)
		used += mapped_nothing.free[n] - node_free_pages(n);
	EXPECT_GE(t, used, PAGES + 3); /* the pages and their PUD, PMD and PTE tables */
	EXPECT_EQ(t, mm_unmap(mm, USER_BASE, PAGES * PAGE_SIZE), 0);
	EXPECT_EQ(t, mm->table_pages, 1);
	expect_same_free(t, mapped_nothing);
	teardown(mm);
}

/* RW -> R makes writes segfault (reads still work); R -> RW lets them
 * through again, and the data stayed. */
static void mprotect_rw_r_rw(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	u64 v;

	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, 99), 0);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ), 0);
	struct fault_info f = user_write64(USER_BASE + 3 * PAGE_SIZE, 5);
	EXPECT_EQ(t, f.vector, 14);
	EXPECT_EQ(t, mm->segv.reason, SEGV_ACCERR);
	EXPECT_EQ(t, mm->segv.access, VM_WRITE);
	EXPECT_EQ(t, mm->segv.addr, USER_BASE + 3 * PAGE_SIZE);
	EXPECT_EQ(t, user_read64(USER_BASE + 3 * PAGE_SIZE, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE), 0);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 99), 0);
	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, 100), 0);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 100), 0);
	teardown(mm);
}

/* PROT_NONE: every access is a segfault, the entries keep their frames
 * (protnone), and back to RW the data is intact. */
static void prot_none_and_back(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	paddr_t frames[PAGES];
	u64 v;

	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, 3), 0);
	for (u32 i = 0; i < PAGES; i++)
		frames[i] = frame_at(mm, USER_BASE + i * PAGE_SIZE);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, PAGES * PAGE_SIZE, 0), 0);
	u64 segv_before = mm->faults.segv;
	for (u32 i = 0; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		EXPECT_TRUE(t, pte_protnone(pte_at(mm, va)));
		EXPECT_EQ(t, frame_at(mm, va), frames[i]);
		EXPECT_EQ(t, user_read64(va, &v).vector, 14);
		EXPECT_EQ(t, user_write64(va, 1).vector, 14);
	}
	EXPECT_EQ(t, mm->faults.segv - segv_before, 2 * PAGES);
	/* A protnone entry still maps its page: the counts do not move. The
	 * audit agrees only because it counts protnone entries too
	 * (audit.protnone_entry_counted proves that it does). */
	for (u32 i = 0; i < PAGES; i++) {
		struct page *p = phys_to_page(frames[i]);
		if (!EXPECT_EQ(t, p->mapcount, 1) || !EXPECT_EQ(t, p->refcount, 1))
			test_diag(t, "page %u of the PROT_NONE range", i);
	}
	EXPECT_EQ(t, mm_audit("  # "), 0);
	EXPECT_EQ(t, mm->segv.reason, SEGV_ACCERR);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE), 0);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 3), 0);
	teardown(mm);
}

/* An access outside every VMA is a segfault that names no VMA. */
static void no_vma_is_maperr(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	u64 v;

	EXPECT_EQ(t, user_read64(USER_BASE + PAGES * PAGE_SIZE, &v).vector, 14);
	EXPECT_EQ(t, mm->segv.reason, SEGV_MAPERR);
	teardown(mm);
}

/*
 * A fault the handler cannot make progress on ends the access at once,
 * never in a watchdog timeout. A migration entry exists only while the
 * migrating CPU holds the PTE table lock, so the fault ladder has no rung for one:
 * left in the table by hand, it is an entry kind the ladder does not know,
 * and every retry faults on the same unchanged entry. The access must come
 * back as a fault after exactly FAULT_REPEAT_LIMIT tries, with the record
 * the named report prints: the address, the entry, the access. Catches a
 * fault path that retries whatever it does not recognise.
 */
static void fault_without_progress_is_given_up(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	vaddr_t va = USER_BASE + 5 * PAGE_SIZE;
	u64 v;

	SETUP_TRUE(t, user_write64(va, 42).vector == FAULT_NONE);
	pte_t *pte = pt_pte_lookup(mm->root, va);
	pte_t mapped = *pte, stuck = pte_mkmigration(mapped);
	set_pte(pte, stuck);
	flush_tlb_range(&mm->tlb, va, va + PAGE_SIZE);
	u64 spurious_before = mm->faults.spurious;

	EXPECT_EQ(t, user_read64(va + 8, &v).vector, 14);
	EXPECT_EQ(t, mm->faults.no_progress, 1);
	EXPECT_EQ(t, mm->faults.spurious - spurious_before, FAULT_REPEAT_LIMIT);
	EXPECT_EQ(t, mm->no_progress.addr, va + 8);
	EXPECT_EQ(t, mm->no_progress.entry, pte_val(stuck));
	EXPECT_EQ(t, mm->no_progress.access, VM_READ);
	/* The entry was left as it was: put the page back, it still holds
	 * what was written. */
	set_pte(pte, mapped);
	EXPECT_EQ(t, user_read64(va, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 42);
	teardown(mm);
}

struct dump_text {
	char buf[2048];
	size_t len;
};

static void collect(void *ctx, const char *line)
{
	struct dump_text *d = ctx;
	size_t n = strlen(line);
	if (d->len + n + 1 < sizeof(d->buf)) {
		memcpy(d->buf + d->len, line, n);
		d->buf[d->len + n] = '\n';
		d->len += n + 1;
	}
}

static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* ptdump names what the entries say: a written page P W U A D NX, a
 * read-only one the same without W, a PROT_NONE one protnone with its
 * permission bits gone (only A and D stay, as in Linux's PAGE_NONE). */
static void ptdump_shows_flags(struct test *t)
{
	static struct dump_text d;
	struct mm *mm = setup(t, VM_READ | VM_WRITE);

	d.len = 0;
	EXPECT_EQ(t, user_write64(USER_BASE, 1).vector, FAULT_NONE);
	EXPECT_EQ(t, user_write64(USER_BASE + PAGE_SIZE, 1).vector, FAULT_NONE);
	EXPECT_EQ(t, user_write64(USER_BASE + 2 * PAGE_SIZE, 1).vector, FAULT_NONE);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE + PAGE_SIZE, PAGE_SIZE, VM_READ), 0);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE + 2 * PAGE_SIZE, PAGE_SIZE, 0), 0);
	ptdump(mm->root, USER_BASE, USER_BASE + 3 * PAGE_SIZE, collect, &d);
	d.buf[d.len] = 0;
	EXPECT_TRUE(t, contains(d.buf, "PTE[  0] V0x0000000040000000 4K"));
	EXPECT_TRUE(t, contains(d.buf, " P W U A D NX\n"));
	EXPECT_TRUE(t, contains(d.buf, " P U A D NX\n"));
	EXPECT_TRUE(t, contains(d.buf, " protnone A D\n"));
	if (t->failed)
		ptdump(mm->root, USER_BASE, USER_BASE + 3 * PAGE_SIZE, ptdump_emit_printk, "  # ");
	teardown(mm);
}

/* The audit is not silent by construction: a map count off by one is one
 * report, and putting it right makes the audit clean again. */
static void audit_sees_bad_mapcount(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);

	EXPECT_EQ(t, user_write64(USER_BASE, 1).vector, FAULT_NONE);
	struct page *p = phys_to_page(frame_at(mm, USER_BASE));
	p->mapcount++;
	EXPECT_EQ(t, mm_audit("  # expected: "), 1);
	p->mapcount--;
	EXPECT_EQ(t, mm_audit("  # "), 0);
	teardown(mm);
}

/* --- live address space: what other CPUs see (live.h) --- */

#define LIVE_PAGES 8

/* An address space with LIVE_PAGES written pages, not loaded here. */
static struct mm *live_setup(struct test *t, u32 prot)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);

	SETUP_TRUE(t, fill_user(USER_BASE, LIVE_PAGES, 3) == 0);
	if (prot != (VM_READ | VM_WRITE))
		SETUP_TRUE(t, mm_protect(mm, USER_BASE, LIVE_PAGES * PAGE_SIZE, prot) == 0);
	mm_switch(NULL);
	return mm;
}

struct range_op {
	struct mm *mm;
	u32 prot;
	int result;
};

static void op_unmap(struct test *t, void *arg)
{
	struct range_op *o = arg;
	(void)t;
	o->result = mm_unmap(o->mm, USER_BASE, LIVE_PAGES * PAGE_SIZE);
}

static void op_protect(struct test *t, void *arg)
{
	struct range_op *o = arg;
	(void)t;
	o->result = mm_protect(o->mm, USER_BASE, LIVE_PAGES * PAGE_SIZE, o->prot);
}

/* munmap while other CPUs read and write the range: once it returned,
 * every access of theirs faults, none reads a freed frame's poison, and
 * no freed frame is written (its poison is intact). A zap that frees
 * before its shootdown, or skips it, leaves them on the old frames. */
static void live_munmap(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	u64 damaged = page_poison_damaged();
	struct mm *mm = live_setup(t, VM_READ | VM_WRITE);
	static struct live l;
	struct range_op o = { mm, 0, -1 };

	live_init(t, &l, mm, USER_BASE, LIVE_PAGES, LIVE_READ | LIVE_WRITE);
	live_note_frames(&l);
	live_run(t, &l, op_unmap, &o);
	EXPECT_EQ(t, o.result, 0);
	live_expect_ran(t, &l);
	live_expect_refused_after(t, &l);
	live_expect_clean_reads(t, &l);
	live_expect_old_frames_untouched(t, &l);
	EXPECT_EQ(t, page_poison_damaged(), damaged);
	mm_destroy(mm);
	expect_same_free(t, before);
}

/* mprotect(READ) while other CPUs write: no write completes once the
 * call returned (the lost write permission was shot down), and what they
 * wrote before is what the range holds. */
static void live_mprotect_rw_to_r(struct test *t)
{
	struct mm *mm = live_setup(t, VM_READ | VM_WRITE);
	static struct live l;
	struct range_op o = { mm, VM_READ, -1 };

	live_init(t, &l, mm, USER_BASE, LIVE_PAGES, LIVE_WRITE);
	live_run(t, &l, op_protect, &o);
	EXPECT_EQ(t, o.result, 0);
	live_expect_ran(t, &l);
	live_expect_refused_after(t, &l);
	mm_switch(mm);
	live_expect_last_writes_visible(t, &l);
	teardown(mm);
}

/* mprotect(NONE) while other CPUs read: no read completes once the call
 * returned. */
static void live_mprotect_r_to_none(struct test *t)
{
	struct mm *mm = live_setup(t, VM_READ);
	static struct live l;
	struct range_op o = { mm, 0, -1 };

	live_init(t, &l, mm, USER_BASE, LIVE_PAGES, LIVE_READ);
	live_run(t, &l, op_protect, &o);
	EXPECT_EQ(t, o.result, 0);
	live_expect_ran(t, &l);
	live_expect_refused_after(t, &l);
	teardown(mm);
}

/* --- contents and placement of demand-zero pages --- */

/* A fresh anonymous page reads zero in every byte, even on a frame that
 * last held someone's data: fill pages completely, unmap them (their
 * frames go back to this node's free lists), map again and fault in. */
static void fresh_page_zero_on_dirty_frame(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	paddr_t old[LIVE_PAGES];
	u32 reused = 0, nonzero = 0;

	for (u32 i = 0; i < LIVE_PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		SETUP_TRUE(t, user_write64(va, 1).vector == FAULT_NONE);
		old[i] = frame_at(mm, va);
		fill_frame(old[i], 9, i);
	}
	SETUP_TRUE(t, mm_unmap(mm, USER_BASE, PAGES * PAGE_SIZE) == 0);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	for (u32 i = 0; i < LIVE_PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		u64 v = 1;
		EXPECT_EQ(t, user_read64(va, &v).vector, FAULT_NONE);
		paddr_t f = frame_at(mm, va);
		for (u32 j = 0; j < LIVE_PAGES; j++)
			reused += f == old[j];
		const u64 *w = frame_va(f);
		for (u32 j = 0; j < PAGE_SIZE / 8; j++)
			nonzero += w[j] != 0;
	}
	test_diag(t, "%u of %u new pages are on frames that held data", reused, LIVE_PAGES);
	SETUP_TRUE(t, reused > 0);
	EXPECT_EQ(t, nonzero, 0);
	teardown(mm);
}

static void fault_here(struct test *t, void *arg)
{
	struct mm *mm = arg;
	(void)t;
	mm_switch(mm);
	vaddr_t va = USER_BASE + this_cpu()->node * PAGE_SIZE;
	EXPECT_EQ(t, user_write64(va, 5).vector, FAULT_NONE);
	mm_switch(NULL);
}

/* A demand-zero page comes from the faulting CPU's node: one fault from
 * a CPU on each node with memory, each into its own page. */
static void demand_zero_on_faulting_node(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	u32 tried = 0;

	mm_switch(NULL);
	for (int n = 0; n < nr_nodes() && n < PAGES; n++) {
		int cpu = cpu_on_node(n);
		if (cpu < 0 || !node_present_pages(n))
			continue;
		struct cpumask m = { 0 };
		cpumask_set(&m, (u32)cpu);
		test_on_cpus(t, &m, fault_here, mm);
		EXPECT_EQ(t, node_at(mm, USER_BASE + n * PAGE_SIZE), n);
		tried++;
	}
	if (tried < 2) {
		mm_destroy(mm);
		test_skip(t, "needs CPUs on two nodes with memory");
	}
	mm_destroy(mm);
}

/* --- zap: the flush covers every page it frees, and comes first --- */

/* munmap of part of a page table with the address space loaded here
 * alone: page 0 stays mapped, so the table stays and no table-free flush
 * covers the range; the zap's own flush is all that drops this CPU's
 * translations of pages 1.., which it just used. Every one of them must
 * fault afterwards, never reach the freed frame. A zap that skips the
 * flush when no other CPU has the space loaded forgets this CPU. */
static void zap_flushes_own_tlb(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	u32 completed = 0, poison = 0;

	SETUP_TRUE(t, fill_user(USER_BASE, PAGES, 5) == 0);
	SETUP_TRUE(t, check_user(USER_BASE, PAGES, 5) == 0);
	EXPECT_EQ(t, mm_unmap(mm, USER_BASE + PAGE_SIZE, (PAGES - 1) * PAGE_SIZE), 0);
	for (u32 i = 1; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		u64 v = 0;
		if (user_read64(va, &v).vector == FAULT_NONE) {
			completed++;
			poison += v == PAGE_POISON;
		}
		completed += user_write64(va, 1).vector == FAULT_NONE;
	}
	if (!EXPECT_EQ(t, completed, 0))
		test_diag(t, "%u accesses to unmapped pages completed (%u read poison): a stale "
			  "TLB entry on the CPU that ran munmap", completed, poison);
	EXPECT_EQ(t, check_user(USER_BASE, 1, 5), 0);
	teardown(mm);
}

struct unmap_op {
	struct mm *mm;
	vaddr_t start;
	u64 pages;
	int result;
};

static void op_unmap_range(struct test *t, void *arg)
{
	struct unmap_op *o = arg;
	(void)t;
	o->result = mm_unmap(o->mm, o->start, o->pages * PAGE_SIZE);
}

/* The checks of a live munmap: nobody used the range after it returned,
 * nobody read or wrote a freed frame at any time (no poison damaged since
 * damaged_before was read, at the case's start). */
static void expect_live_unmap_clean(struct test *t, const struct live *l, const struct unmap_op *o,
				    u64 damaged_before)
{
	EXPECT_EQ(t, o->result, 0);
	live_expect_ran(t, l);
	live_expect_refused_after(t, l);
	live_expect_clean_reads(t, l);
	live_expect_old_frames_untouched(t, l);
	EXPECT_EQ(t, page_poison_damaged() - damaged_before, 0);
}

/* munmap of part of one page table while other CPUs hold every page of
 * that part: page 0 stays mapped, so the table is not freed and no
 * table-free flush covers the range. The zap's flush must cover all of
 * it: one that flushes only the first page of the table's range leaves
 * the hammers using the rest (on freed frames) after munmap returned. */
static void zap_part_of_table_live(struct test *t)
{
	struct mm *mm = setup(t, VM_READ | VM_WRITE);
	static struct live l;
	struct unmap_op o = { mm, USER_BASE + PAGE_SIZE, LIVE_MAX_PAGES, -1 };
	u64 damaged_before = page_poison_damaged();

	SETUP_TRUE(t, fill_user(USER_BASE, 1 + LIVE_MAX_PAGES, 4) == 0);
	mm_switch(NULL);
	live_init(t, &l, mm, o.start, LIVE_MAX_PAGES, LIVE_READ | LIVE_WRITE);
	live_note_frames(&l);
	live_run(t, &l, op_unmap_range, &o);
	expect_live_unmap_clean(t, &l, &o, damaged_before);
	mm_switch(mm);
	EXPECT_EQ(t, check_user(USER_BASE, 1, 4), 0);
	teardown(mm);
}

#define ZAP_ROUNDS 6
#define ZAP_SYNC_PAGES 16 /* <= the INVLPG limit: their flush keeps other entries */

/* munmap of a whole page table's worth of pages while other CPUs keep
 * cycling over the first LIVE_MAX_PAGES of them. zap clears a table's
 * entries, flushes, then frees its pages in order, each freed page filled
 * with poison (4 KiB of stores, slow under TCG). A zap that frees before
 * its flush leaves the first pages reachable through the hammers' TLBs
 * while the whole table's pages are freed and poisoned: a window of
 * hundreds of page fills in which the hammers read poison or write over
 * it, checked in every phase.
 *
 * The hammers must be running on the host while the window is open, so
 * the munmap starts ZAP_SYNC_PAGES before that table, in the table below
 * it (which keeps a page and stays): the flush of those pages waits for
 * every hammer to take its IPI, so the hammers have just run when the
 * window opens, and that flush (INVLPG of those pages only) leaves their
 * translations of the hammered pages in place. Still, on a loaded host a
 * hammer's thread may be off its core for the whole window (about 0.6 ms
 * of host time), so a round can miss: ZAP_ROUNDS rounds, each a chance. */
static void zap_frees_after_flush_live(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	u64 damaged_before = page_poison_damaged();
	const vaddr_t table = USER_BASE + PMD_SIZE;
	const vaddr_t sync = table - ZAP_SYNC_PAGES * PAGE_SIZE;
	static struct live l;

	for (u32 r = 0; r < ZAP_ROUNDS && !t->failed; r++) {
		struct mm *mm = mm_create(0);
		SETUP_TRUE(t, mm != NULL);
		SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE, 0) == 0);
		mm_switch(mm);
		SETUP_TRUE(t, fill_user(USER_BASE, 1, r) == 0);
		SETUP_TRUE(t, fill_user(sync, ZAP_SYNC_PAGES + PT_ENTRIES, r) == 0);
		mm_switch(NULL);
		struct unmap_op o = { mm, sync, ZAP_SYNC_PAGES + PT_ENTRIES, -1 };
		live_init(t, &l, mm, table, LIVE_MAX_PAGES, LIVE_READ | LIVE_WRITE);
		live_note_frames(&l);
		live_run(t, &l, op_unmap_range, &o);
		expect_live_unmap_clean(t, &l, &o, damaged_before);
		mm_destroy(mm);
	}
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(mm_basic, TEST_MM_AUDIT,
	TEST_CASE(demand_zero_and_back),
	TEST_CASE(munmap_returns_frames),
	TEST_CASE(mprotect_rw_r_rw),
	TEST_CASE(prot_none_and_back),
	TEST_CASE(no_vma_is_maperr),
	TEST_CASE(fault_without_progress_is_given_up),
	TEST_CASE(ptdump_shows_flags),
	TEST_CASE(audit_sees_bad_mapcount),
	TEST_CASE(live_munmap),
	TEST_CASE(live_mprotect_rw_to_r),
	TEST_CASE(live_mprotect_r_to_none),
	TEST_CASE(fresh_page_zero_on_dirty_frame),
	TEST_CASE(demand_zero_on_faulting_node),
	TEST_CASE(zap_flushes_own_tlb),
	TEST_CASE(zap_part_of_table_live),
	TEST_CASE(zap_frees_after_flush_live));
