/*
 * thp_numa: NUMA balancing of huge pages (mm/numa_balance.c, mm/migrate.c).
 *
 * What: the scanner makes a huge PMD one huge hint (protnone, PS kept); a
 * hint fault from a CPU on another node moves the whole 2 MiB to an
 * order-9 block there and maps it huge again; when the move cannot happen
 * (no order-9 block on the target) the PMD is split into present PTEs and
 * the access goes on with 4 KiB pages, data intact.
 *
 * How: a huge page is faulted in on this CPU's node, hinted by numa_scan,
 * then read (every page's pattern checked) from a CPU on another node;
 * the case looks at the PMD, the frame's node, the counters and every
 * node's exact free count (the old 512 frames back on their node, the new
 * ones taken from the target). The live case lets other CPUs keep the
 * address space loaded and keep reading and writing the page while this
 * CPU scans and takes the hint faults (live.h).
 *
 * Which bugs: a move that copies the wrong bytes or leaves the PMD small
 * (remote_hint_moves_whole), a failed move that loses data or carries the
 * hint into the PTEs (failed_move_splits), a scanner that skips its
 * shootdown, so a CPU keeps writing the old frames after they are freed
 * (live_hint_moves_under_hammers), a pinned huge page hinted at all
 * (pinned_huge_not_hinted).
 */

#include <mmulab/audit.h>
#include <mmulab/gup.h>
#include <mmulab/huge_memory.h>
#include <arch/cpu.h>
#include <mmulab/smp.h>
#include "live.h"
#include "numa_util.h"
#include "thp_util.h"


static int huge_node(struct mm *mm)
{
	return page_to_nid(phys_to_page(pmd_huge_paddr(pmd_at(mm, USER_BASE))));
}

/* 4 MiB of huge-page memory at USER_BASE, its first 2 MiB faulted in huge
 * by this CPU (so on this CPU's node) with the pattern of seed. */
static struct mm *huge_here(struct test *t, u64 seed)
{
	struct mm *mm = mm_create(this_cpu()->node);
	u64 allocs = thp_stats.thp_fault_alloc;

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE, VMA_HUGE_OK) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, fill_user(USER_BASE, HUGE_PAGES, seed) == 0);
	mm_switch(NULL);
	if (thp_stats.thp_fault_alloc == allocs)
		test_error(t, "no huge page: no order-9 block free on node %u", this_cpu()->node);
	SETUP_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)));
	return mm;
}

/* Hint faults from one node a huge hint needs to move: one or two by
 * policy; twostage may need one fewer, since a page's last-node record
 * outlives a free and the block may come with a record of that node. */
static u32 rounds_to_move(void)
{
	return numa_policy() == NUMA_POLICY_FIRST ? 1 : 2;
}

/* A remote read of a hinted huge page moves all 2 MiB to the reader's
 * node: still one huge PMD, every byte the same, the 512 old frames free
 * again on the old node, 512 taken on the new one. */
static void remote_hint_moves_whole(struct test *t)
{
	int away_cpu = cpu_off_node(this_cpu()->node);

	if (away_cpu < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	int home = this_cpu()->node, away = cpus[away_cpu].node;
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_here(t, 21);
	u64 moved = thp_stats.thp_migration_success, splits = thp_stats.thp_split_pmd;
	struct free_snapshot hinted = free_snapshot();

	for (u32 r = 1; r <= rounds_to_move() && huge_node(mm) == home; r++) {
		EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + PMD_SIZE), 1);
		EXPECT_TRUE(t, pmd_protnone(pmd_at(mm, USER_BASE)));
		EXPECT_EQ(t, read_from(t, away_cpu, mm, USER_BASE, HUGE_PAGES, 21), 0);
	}
	pmd_t e = pmd_at(mm, USER_BASE);
	EXPECT_TRUE(t, pmd_leaf(e) && pmd_write(e));
	EXPECT_EQ(t, huge_node(mm), away);
	EXPECT_EQ(t, thp_stats.thp_migration_success - moved, 1);
	EXPECT_EQ(t, thp_stats.thp_split_pmd, splits);
	EXPECT_EQ(t, node_free_pages(home), hinted.free[home] + HUGE_PAGES);
	EXPECT_EQ(t, node_free_pages(away), hinted.free[away] - HUGE_PAGES);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	mm_switch(mm);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 21), 0);
	mm_switch(NULL);
	mm_destroy(mm);
	expect_same_free(t, before);
}


/* No order-9 block on the reader's node: the hint fault splits instead,
 * into present PTEs (the hint is not carried into 512 small hints), the
 * frames stay where they were and no byte changes. */
static void failed_move_splits(struct test *t)
{
	int away_cpu = cpu_off_node(this_cpu()->node);

	if (away_cpu < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	int home = this_cpu()->node, away = cpus[away_cpu].node;
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_here(t, 22);
	paddr_t frame = pmd_huge_paddr(pmd_at(mm, USER_BASE));
	u64 failed = thp_stats.thp_migration_fail, splits = thp_stats.thp_split_pmd;
	u32 n = take_huge_blocks(away);

	if (n == MAX_TAKEN) {
		give_back_huge_blocks(n);
		mm_destroy(mm);
		test_error(t, "more than %u blocks of order >= 9 on node %d", MAX_TAKEN, away);
	}
	for (u32 r = 1; r <= rounds_to_move() && pmd_trans_huge(pmd_at(mm, USER_BASE)); r++) {
		EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + PMD_SIZE), 1);
		EXPECT_EQ(t, read_from(t, away_cpu, mm, USER_BASE, HUGE_PAGES, 22), 0);
	}
	give_back_huge_blocks(n);
	EXPECT_EQ(t, thp_stats.thp_migration_fail - failed, 1);
	EXPECT_EQ(t, thp_stats.thp_split_pmd - splits, 1);
	pmd_t e = pmd_at(mm, USER_BASE);
	EXPECT_TRUE(t, pmd_present(e) && !pmd_trans_huge(e));
	u32 bad = 0;
	for (u32 i = 0; i < HUGE_PAGES; i++) {
		pte_t p = pte_at(mm, USER_BASE + i * PAGE_SIZE);
		bool ok = pte_present(p) && pte_write(p) && pte_paddr(p) == frame + i * PAGE_SIZE;
		if (!ok && bad++ == 0)
			test_diag(t, "PTE %u is %016lx after the failed move", i, pte_val(p));
	}
	EXPECT_EQ(t, bad, 0);
	EXPECT_EQ(t, page_to_nid(phys_to_page(frame)), home);
	mm_switch(mm);
	EXPECT_EQ(t, check_user(USER_BASE, HUGE_PAGES, 22), 0);
	mm_switch(NULL);
	mm_destroy(mm);
	expect_same_free(t, before);
}

/* A huge page with a pinned sub-page has another user: the scanner leaves
 * it alone (seed 004's rule, by reference count, on every sub-page). */
static void pinned_huge_not_hinted(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_here(t, 23);
	struct page *pin;

	SETUP_TRUE(t, pin_pages(mm, USER_BASE + 77 * PAGE_SIZE, 1, true, &pin) == 0);
	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + PMD_SIZE), 0);
	EXPECT_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)));
	unpin_pages(&pin, 1);
	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + PMD_SIZE), 1);
	mm_destroy(mm);
	expect_same_free(t, before);
}

#define LIVE_HINT_ROUNDS 32

struct hint_op {
	struct mm *mm;
	struct live *l;
	int home;
	u32 rounds;
};

/* Until every hammer has made one more full pass over its pages: then each
 * has touched the hinted page (taking the hint fault, or using a stale
 * translation). */
static void wait_for_a_pass(struct live *l)
{
	u64 start[LIVE_MAX_HAMMERS];

	for (u32 h = 0; h < l->nr_hammers; h++)
		start[h] = __atomic_load_n(&l->h[h].accesses[LIVE_DURING], __ATOMIC_ACQUIRE);
	for (u32 h = 0; h < l->nr_hammers; h++)
		while (__atomic_load_n(&l->h[h].accesses[LIVE_DURING], __ATOMIC_ACQUIRE) <
		       start[h] + 2 * l->pages)
			cpu_relax();
}

/* Hints the page until a hammer's hint fault has moved it off home. Each
 * round's scan returns only after its shootdown. */
static void op_hint_until_moved(struct test *t, void *arg)
{
	struct hint_op *o = arg;

	(void)t;
	while (o->rounds < LIVE_HINT_ROUNDS && huge_node(o->mm) == o->home) {
		o->rounds++;
		numa_scan(o->mm, USER_BASE, USER_BASE + PMD_SIZE);
		wait_for_a_pass(o->l);
	}
}

/* A hint fault taken on a memoryless node cannot move the page there: it
 * splits it instead (failed_move_splits), and whether such a hammer's
 * fault came first decided the case. Only hammers on nodes with memory. */
static void keep_hammers_with_memory(struct live *l)
{
	u32 kept = 0;

	for (u32 h = 0; h < l->nr_hammers; h++)
		if (node_present_pages(cpus[l->h[h].cpu].node))
			l->h[kept++] = l->h[h];
	l->nr_hammers = kept;
}

/*
 * The page starts on this CPU's node; hammers on other nodes keep reading
 * and writing it while this CPU hints it, until a hammer's hint fault
 * moves it to the hammer's node and frees the old frames. A hammer still
 * holding the 2 MiB translation after the scan (no shootdown) never takes
 * the hint, or keeps writing the freed frames after another CPU moved the
 * page: its writes are lost and it reads poison.
 */
static void live_hint_moves_under_hammers(struct test *t)
{
	static struct live l;
	static struct hint_op o;
	int here = this_cpu()->node;

	if (cpu_off_node(here) < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_here(t, 24);
	u64 moved = thp_stats.thp_migration_success;

	live_init(t, &l, mm, USER_BASE, LIVE_MAX_PAGES, LIVE_READ | LIVE_WRITE);
	keep_hammers_with_memory(&l);
	SETUP_TRUE(t, l.nr_hammers > 0 && cpus[l.h[0].cpu].node != here);
	o = (struct hint_op){ mm, &l, here, 0 };
	live_run(t, &l, op_hint_until_moved, &o);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	EXPECT_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)));
	EXPECT_NE(t, huge_node(mm), here);
	EXPECT_GE(t, thp_stats.thp_migration_success - moved, 1);
	test_diag(t, "moved after %u hint rounds", o.rounds);
	mm_switch(mm);
	live_expect_last_writes_visible(t, &l);
	EXPECT_EQ(t, check_user(USER_BASE + LIVE_MAX_PAGES * PAGE_SIZE, HUGE_PAGES - LIVE_MAX_PAGES, 24),
		  0);
	mm_switch(NULL);
	mm_destroy(mm);
	expect_same_free(t, before);
}

/*
 * A hint fault racing a zap: the huge page is hinted, then another CPU
 * (the space loaded, on another node where there is one) reads every
 * sub-page, taking the huge hint fault (a whole-2 MiB move or a restore),
 * while this CPU DONTNEEDs all 2 MiB; released together, HINT_ZAP_ROUNDS
 * times. Every read gives the page's data or zero, never anything else
 * and never a fault; afterwards all 2 MiB read zero, and every frame is
 * accounted (audit, free counts).
 */
#define HINT_ZAP_ROUNDS 8

struct hint_zap {
	struct mm *mm;
	u32 reader;
	u64 seed;
	struct smp_barrier go;
	u64 faults, odd;
};

static void read_through_hint(struct hint_zap *r)
{
	mm_switch(r->mm);
	smp_barrier_wait(&r->go);
	for (u32 i = 0; i < HUGE_PAGES; i++) {
		vaddr_t va = USER_BASE + (vaddr_t)i * PAGE_SIZE;
		u64 v = 1;
		r->faults += user_read64(va, &v).vector != FAULT_NONE;
		r->odd += v != 0 && v != pattern(va, r->seed);
	}
	mm_switch(NULL);
}

static void hint_or_zap(struct test *t, void *arg)
{
	struct hint_zap *r = arg;

	if (this_cpu()->id == r->reader) {
		read_through_hint(r);
		return;
	}
	smp_barrier_wait(&r->go);
	EXPECT_EQ(t, mm_dontneed(r->mm, USER_BASE, PMD_SIZE), 0);
}

static void hint_fault_races_zap(struct test *t)
{
	static struct hint_zap r;
	int reader = cpu_off_node(this_cpu()->node);

	if (reader < 0)
		reader = test_other_cpu();
	if (reader < 0)
		test_skip(t, "needs a second CPU");
	struct free_snapshot before = free_snapshot();
	struct mm *mm = huge_here(t, 40);
	struct cpumask m = { 0 };
	cpumask_set(&m, this_cpu()->id);
	cpumask_set(&m, (u32)reader);
	u64 not_zero = 0;
	for (u32 round = 0; round < HINT_ZAP_ROUNDS && !t->failed; round++) {
		r = (struct hint_zap){ .mm = mm, .reader = (u32)reader, .seed = 40 + round };
		EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + PMD_SIZE), 1);
		smp_barrier_init(&r.go, 2);
		test_on_cpus(t, &m, hint_or_zap, &r);
		EXPECT_EQ(t, r.faults, 0);
		EXPECT_EQ(t, r.odd, 0);
		mm_switch(mm);
		not_zero += nonzero_words(USER_BASE, HUGE_PAGES);
		/* Back to a none PMD and a fresh huge page for the next round. */
		SETUP_TRUE(t, mm_unmap(mm, USER_BASE, 2 * PMD_SIZE) == 0);
		SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE,
					  VMA_HUGE_OK) == 0);
		SETUP_TRUE(t, fill_user(USER_BASE, HUGE_PAGES, 41 + round) == 0);
		mm_switch(NULL);
		SETUP_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)));
	}
	EXPECT_EQ(t, not_zero, 0);
	mm_destroy(mm);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(thp_numa, TEST_MM_AUDIT,
	TEST_CASE(remote_hint_moves_whole),
	TEST_CASE(failed_move_splits),
	TEST_CASE(pinned_huge_not_hinted),
	TEST_CASE(live_hint_moves_under_hammers),
	TEST_CASE(hint_fault_races_zap));
