/*
 * numa_race: one CPU writes its counter into every page of a range, over
 * and over, while a CPU on another node scans and migrates the same pages
 * back and forth between the nodes. No write may be lost: migration
 * replaces the entry and shoots down every CPU before it copies (the
 * December 2013 fix), so the writer either faults and waits or writes the
 * old frame before the copy. Each round the writer first reads back what
 * it wrote the round before: a lost write shows up as an older value. At
 * the end each page holds the last value, and the audit is clean.
 *
 * The race runs until enough of what matters has happened, however the
 * host schedules the two vCPUs: ROUNDS writer rounds and MIN_LIVE_MOVES
 * migrations of pages the writer had a present translation for (moves in
 * passes without a scan). A generous wall-clock cap ends a run the host
 * starved; reaching it without a lost write is an ERROR (the race was not
 * run), never a failure. bugs=migrate_copy_before_flush loses writes.
 */

#include <arch/cpu.h>
#include <arch/tsc.h>
#include "live.h"
#include "numa_util.h"

#define PAGES 2
#define ROUNDS 3000
#define MIN_LIVE_MOVES 500
#define CAP_SECONDS 180 /* the watchdog stops a case at 300 */

struct race {
	struct mm *mm;
	u32 writer;
	int nodes[2];
	struct smp_barrier start;
	u64 deadline; /* TSC */
	u32 done;
	bool capped;
	u64 rounds, faults, lost;
	u64 moves, live_moves; /* all migrations; those in passes without a scan */
};

static bool writer_may_stop(struct race *r, u64 round)
{
	if (round >= ROUNDS &&
	    __atomic_load_n(&r->live_moves, __ATOMIC_RELAXED) >= MIN_LIVE_MOVES)
		return true;
	r->capped = rdtsc() >= r->deadline;
	return r->capped;
}

static void write_rounds(struct race *r)
{
	u64 round = 0;

	mm_switch(r->mm);
	do {
		round++;
		for (u32 i = 0; i < PAGES; i++) {
			vaddr_t va = USER_BASE + i * PAGE_SIZE + 64;
			u64 seen = 0;
			/* What the last round wrote must still be there: a
			 * write that went to the old frame is gone now. */
			r->faults += user_read64(va, &seen).vector != FAULT_NONE;
			r->lost += seen != round - 1;
			r->faults += user_write64(va, round).vector != FAULT_NONE;
		}
	} while (!writer_may_stop(r, round));
	r->rounds = round;
	mm_switch(NULL);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

/* One pass in four scans first, so hint faults race the moves too; in
 * the others the writer holds present, writable translations while the
 * pages move, the case the shootdown-before-copy order is for. */
static void migrate_passes(struct race *r)
{
	for (u32 pass = 0; !__atomic_load_n(&r->done, __ATOMIC_ACQUIRE); pass++) {
		bool scanned = pass % 4 == 0;
		if (scanned)
			numa_scan(r->mm, USER_BASE, USER_BASE + PAGES * PAGE_SIZE);
		u64 moved = migrate_pages(r->mm, USER_BASE, USER_BASE + PAGES * PAGE_SIZE,
					  r->nodes[pass & 1]);
		__atomic_add_fetch(&r->moves, moved, __ATOMIC_RELAXED);
		if (!scanned)
			__atomic_add_fetch(&r->live_moves, moved, __ATOMIC_RELAXED);
	}
}

static void write_or_migrate(struct test *t, void *arg)
{
	struct race *r = arg;

	(void)t;
	smp_barrier_wait(&r->start);
	if (this_cpu()->id == r->writer)
		write_rounds(r);
	else
		migrate_passes(r);
}

static void no_lost_write(struct test *t)
{
	static struct race r;
	int home = this_cpu()->node;
	int away_cpu = cpu_off_node(home);

	if (away_cpu < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	struct mm *mm = mm_create(home);
	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	r = (struct race){ .mm = mm, .writer = (u32)away_cpu, .nodes = { cpus[away_cpu].node, home },
			   .deadline = rdtsc() + CAP_SECONDS * 1000 * tsc_khz() };
	smp_barrier_init(&r.start, 2);
	struct cpumask m = { 0 };
	cpumask_set(&m, this_cpu()->id);
	cpumask_set(&m, (u32)away_cpu);
	test_on_cpus(t, &m, write_or_migrate, &r);
	test_diag(t, "%lu migrations (%lu under live translations) while %lu writes went on",
		  r.moves, r.live_moves, r.rounds * PAGES);
	EXPECT_EQ(t, r.faults, 0);
	if (!EXPECT_EQ(t, r.lost, 0))
		test_diag(t, "%lu writes were lost (found an older value next round)", r.lost);
	mm_switch(mm);
	for (u32 i = 0; i < PAGES; i++) {
		u64 v = 0;
		EXPECT_EQ(t, user_read64(USER_BASE + i * PAGE_SIZE + 64, &v).vector, FAULT_NONE);
		if (!EXPECT_EQ(t, v, r.rounds))
			test_diag(t, "page %u lost writes: holds %lu", i, v);
	}
	mm_switch(NULL);
	mm_destroy(mm);
	if (r.capped && !t->failed)
		test_error(t, "%u s cap reached after %lu rounds and %lu live migrations "
			   "(want %u and %u): the host starved the race", CAP_SECONDS, r.rounds,
			   r.live_moves, ROUNDS, MIN_LIVE_MOVES);
}

/* --- live address space (live.h) --- */

#define LIVE_PAGES 8

struct migrate_op {
	struct mm *mm;
	int node;
	u64 moved;
};

static void op_migrate(struct test *t, void *arg)
{
	struct migrate_op *o = arg;
	(void)t;
	o->moved = migrate_pages(o->mm, USER_BASE, USER_BASE + LIVE_PAGES * PAGE_SIZE, o->node);
}

/* Hammers read back their last write and write the next, on every page,
 * while this CPU migrates the pages to another node. No write may be lost
 * (each read finds the hammer's own last write, and so does a fresh walk
 * afterwards), no hammer reads a freed frame, and the old frames, freed
 * by the migration, are never written after (their poison is intact). */
static void live_migrate_keeps_writes(struct test *t)
{
	int home = this_cpu()->node;
	int away_cpu = cpu_off_node(home);
	static struct live l;

	if (away_cpu < 0)
		test_skip(t, "needs CPUs on two nodes with memory");
	struct mm *mm = mm_create(home);
	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, LIVE_PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	SETUP_TRUE(t, write_from(t, this_cpu()->id, mm, USER_BASE, LIVE_PAGES, 5) == 0);
	struct migrate_op o = { mm, cpus[away_cpu].node, 0 };
	live_init(t, &l, mm, USER_BASE, LIVE_PAGES, LIVE_READ | LIVE_WRITE);
	live_note_frames(&l);
	live_run(t, &l, op_migrate, &o);
	EXPECT_EQ(t, o.moved, LIVE_PAGES);
	live_expect_ran(t, &l);
	live_expect_clean_reads(t, &l);
	live_expect_old_frames_untouched(t, &l);
	mm_switch(mm);
	live_expect_last_writes_visible(t, &l);
	mm_switch(NULL);
	mm_destroy(mm);
}

TEST_SUITE_FLAGS(numa_race, TEST_MM_AUDIT, TEST_CASE(no_lost_write),
	TEST_CASE(live_migrate_keeps_writes));
