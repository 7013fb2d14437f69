/*
 * mm_lock: the address space is no longer one lock. Faults, the NUMA
 * scanner and DONTNEED hold the mmap_lock shared and run at the same time
 * on different CPUs; what keeps them apart is the lock of each page-table
 * page, and the rule that every lockless look is checked again under it.
 *
 *  - parallel_faults_share_tables: two CPUs fault interleaved pages of one
 *    fresh 2 MiB range at once, so both find the PMD (and the upper
 *    levels) empty and race to link a new table; the loser must free its
 *    table and use the winner's. A fault that links without looking again
 *    under the lock orphans the other CPU's table and the pages in it.
 *  - fault_races_dontneed: a hammer CPU keeps writing a range while this
 *    CPU throws half of it away (mm_dontneed) and hints the rest of it
 *    (numa_scan), so demand-zero, hint and COW-reuse faults race the zap.
 *    During the race a read gives the hammer's last write or zero (the
 *    page was thrown away), never anything else; afterwards, with the
 *    hammer still holding its translations, one last DONTNEED must leave
 *    the thrown-away half reading zero and the other half untouched.
 *  - scan_races_faults: the scanner hints pages while another CPU faults
 *    new pages in next to them and writes them: no write lost, no page
 *    leaked (a scan that clears an entry and sets it again without the
 *    table's lock can overwrite the page a fault just installed).
 *
 * Every case ends with exact per-node free counts (a leaked page or
 * table fails it) and the suite runs the audit after each case.
 */

#include <mmulab/smp.h>
#include "live.h"
#include "numa_util.h"

#define RACE_TABLES 16     /* PTE tables raced for per round */
#define FAULT_ROUNDS 4
#define RANGE_PAGES 16
#define RACE_PAGES 8       /* fault_races_dontneed: 4 thrown away, 4 kept */
#define RACE_ROUNDS 40
#define RACE_MAX_ROUNDS 4096
#define SCAN_REPEATS 8
#define SCAN_MAX_PASSES 64

static struct mm *new_space(struct test *t, u64 pages)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, pages * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	return mm;
}

static struct cpumask two_cpus(struct test *t)
{
	struct cpumask m = test_some_cpus(2);

	if (cpumask_weight(&m) < 2)
		test_skip(t, "needs two CPUs");
	return m;
}

/* Index of this CPU among the two racing ones: 0 for the case CPU. */
static u32 racer(u32 case_cpu)
{
	return this_cpu()->id == case_cpu ? 0 : 1;
}

/* --- two CPUs fault one fresh table --- */

struct fault_race {
	struct mm *mm;
	u32 case_cpu;
	struct smp_barrier start;
	u64 bad[2];
};

/* Page `me` of table k: the two CPUs' pages share the PTE table. */
static vaddr_t table_page(u32 k, u32 me)
{
	return USER_BASE + (vaddr_t)k * PMD_SIZE + (vaddr_t)me * PAGE_SIZE;
}

/* The range is fresh (its tables were freed by an unmap); the CPUs line
 * up before each table, so both find its PMD none at about once. */
static void fault_my_pages(struct test *t, void *arg)
{
	struct fault_race *r = arg;
	u32 me = racer(r->case_cpu);

	(void)t;
	mm_switch(r->mm);
	for (u32 k = 0; k < RACE_TABLES; k++) {
		vaddr_t va = table_page(k, me);
		smp_barrier_wait(&r->start);
		r->bad[me] += user_write64(va, pattern(va, k)).vector != FAULT_NONE;
	}
	mm_switch(NULL);
}

static void parallel_faults_share_tables(struct test *t)
{
	static struct fault_race r;
	struct cpumask m = two_cpus(t);
	struct free_snapshot before = free_snapshot();
	struct mm *mm = new_space(t, RACE_TABLES * PT_ENTRIES);
	u64 wrong = 0;

	r = (struct fault_race){ .mm = mm, .case_cpu = this_cpu()->id };
	smp_barrier_init(&r.start, 2);
	for (u32 round = 0; round < FAULT_ROUNDS; round++) {
		test_on_cpus(t, &m, fault_my_pages, &r);
		mm_switch(mm);
		for (u32 k = 0; k < RACE_TABLES; k++)
			for (u32 me = 0; me < 2; me++) {
				vaddr_t va = table_page(k, me);
				u64 v = 0;
				wrong += user_read64(va, &v).vector != FAULT_NONE ||
					 v != pattern(va, k);
			}
		mm_switch(NULL);
		SETUP_TRUE(t, mm_unmap(mm, USER_BASE, RACE_TABLES * PMD_SIZE) == 0);
		SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, RACE_TABLES * PMD_SIZE,
					  VM_READ | VM_WRITE, 0) == 0);
	}
	EXPECT_EQ(t, r.bad[0] + r.bad[1], 0);
	if (!EXPECT_EQ(t, wrong, 0))
		test_diag(t, "%lu of %u pages lost what their CPU wrote", wrong,
			  2 * RACE_TABLES * FAULT_ROUNDS);
	EXPECT_EQ(t, mm->faults.demand_zero, 2ULL * RACE_TABLES * FAULT_ROUNDS);
	/* Every round's tables went with its unmap; a lost race leaks one. */
	if (!EXPECT_EQ(t, mm->table_pages, 1)) {
		test_diag(t, "destroy would panic on the leaked tables: left alone");
		return;
	}
	mm_destroy(mm);
	expect_same_free(t, before);
}

/* --- a hammer against DONTNEED and the scanner --- */

struct dontneed_race {
	struct mm *mm;
	u32 case_cpu;
	struct smp_barrier start, stopped, zapped, read;
	u32 done;
	u64 seq;
	u64 last[RACE_PAGES];
	u64 faults, odd_reads, kept_lost; /* during the race */
	u64 after_not_zero, after_kept_lost; /* after the last DONTNEED */
	u64 zero_fills_during; /* demand-zero faults by the end of the race */
};

static vaddr_t race_va(u32 p)
{
	return USER_BASE + (vaddr_t)p * PAGE_SIZE + 128;
}

static bool thrown_away(u32 p)
{
	return p < RACE_PAGES / 2;
}

static void hammer_pass(struct dontneed_race *r)
{
	for (u32 p = 0; p < RACE_PAGES; p++) {
		u64 v = 1;
		r->faults += user_read64(race_va(p), &v).vector != FAULT_NONE;
		if (v != r->last[p] && !(thrown_away(p) && v == 0)) {
			if (thrown_away(p))
				r->odd_reads++;
			else
				r->kept_lost++;
		}
		r->last[p] = 0x10c4000000000000ULL | ++r->seq;
		r->faults += user_write64(race_va(p), r->last[p]).vector != FAULT_NONE;
	}
}

/* The hammer keeps the space loaded from the first pass to its last
 * read, so its TLB may hold every page the zaps throw away. */
static void hammer(struct dontneed_race *r)
{
	mm_switch(r->mm);
	hammer_pass(r);
	smp_barrier_wait(&r->start);
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE))
		hammer_pass(r);
	smp_barrier_wait(&r->stopped);
	smp_barrier_wait(&r->zapped);
	for (u32 p = 0; p < RACE_PAGES; p++) {
		u64 v = 1;
		r->faults += user_read64(race_va(p), &v).vector != FAULT_NONE;
		if (thrown_away(p))
			r->after_not_zero += v != 0;
		else
			r->after_kept_lost += v != r->last[p];
	}
	smp_barrier_wait(&r->read);
	mm_switch(NULL);
}

static void zap_and_scan(struct dontneed_race *r)
{
	smp_barrier_wait(&r->start);
	/* RACE_ROUNDS at least; more (up to RACE_MAX_ROUNDS) until the hammer
	 * has faulted a thrown-away page back in: on a loaded host its vCPU
	 * may not have run during the first rounds. */
	for (u32 round = 0; round < RACE_MAX_ROUNDS; round++) {
		mm_dontneed(r->mm, USER_BASE, RACE_PAGES / 2 * PAGE_SIZE);
		numa_scan(r->mm, USER_BASE, USER_BASE + RACE_PAGES * PAGE_SIZE);
		if (round + 1 >= RACE_ROUNDS &&
		    __atomic_load_n(&r->mm->faults.demand_zero, __ATOMIC_RELAXED) > RACE_PAGES)
			break;
	}
	r->zero_fills_during = __atomic_load_n(&r->mm->faults.demand_zero, __ATOMIC_RELAXED);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	smp_barrier_wait(&r->stopped);
	/* The hammer has stopped writing but still translates: the last
	 * DONTNEED must reach its TLB before it returns. */
	mm_dontneed(r->mm, USER_BASE, RACE_PAGES / 2 * PAGE_SIZE);
	smp_barrier_wait(&r->zapped);
	smp_barrier_wait(&r->read);
}

static void hammer_or_zap(struct test *t, void *arg)
{
	struct dontneed_race *r = arg;

	(void)t;
	if (racer(r->case_cpu))
		hammer(r);
	else
		zap_and_scan(r);
}

static void fault_races_dontneed(struct test *t)
{
	static struct dontneed_race r;
	struct cpumask m = two_cpus(t);
	struct free_snapshot before = free_snapshot();
	struct mm *mm = new_space(t, RACE_PAGES);

	r = (struct dontneed_race){ .mm = mm, .case_cpu = this_cpu()->id };
	smp_barrier_init(&r.start, 2);
	smp_barrier_init(&r.stopped, 2);
	smp_barrier_init(&r.zapped, 2);
	smp_barrier_init(&r.read, 2);
	test_on_cpus(t, &m, hammer_or_zap, &r);
	test_diag(t, "%lu hammer writes; %lu demand-zero, %lu COW-reuse faults", r.seq,
		  mm->faults.demand_zero, mm->faults.cow_reuse);
	EXPECT_EQ(t, r.faults, 0);
	EXPECT_EQ(t, r.odd_reads, 0);  /* thrown-away pages: last write or zero */
	EXPECT_EQ(t, r.kept_lost, 0);  /* the rest: always the last write */
	EXPECT_EQ(t, r.after_not_zero, 0);
	EXPECT_EQ(t, r.after_kept_lost, 0);
	/* Beyond the first pass's: the zaps hit pages the hammer was using. */
	SETUP_TRUE(t, r.zero_fills_during > RACE_PAGES);
	mm_destroy(mm);
	expect_same_free(t, before);
}

/* --- the scanner against faults into fresh pages --- */

struct scan_race {
	struct mm *mm;
	u32 case_cpu;
	struct smp_barrier start;
	u32 done;
	u64 faults, lost, not_zero, hinted;
};

/* The faulting CPU fills each page (a demand-zero fault next to pages
 * the scanner is hinting), reads it back, throws it away and reads zero,
 * a few times over; the scanner's clear-and-set of an entry races both
 * the fault that fills it and the zap that empties it. Passes go on until
 * the scanner has hinted something (its vCPU may not have run at all
 * during the first one on a loaded host), at most SCAN_MAX_PASSES. */
static void fault_pass(struct scan_race *r)
{
	for (u32 p = 0; p < RANGE_PAGES; p++) {
		vaddr_t va = USER_BASE + (vaddr_t)p * PAGE_SIZE;
		for (u32 rep = 0; rep < SCAN_REPEATS; rep++) {
			u64 v = 1;
			r->faults += user_write64(va, pattern(va, rep)).vector != FAULT_NONE;
			r->faults += user_read64(va, &v).vector != FAULT_NONE;
			r->lost += v != pattern(va, rep);
			mm_dontneed(r->mm, va, PAGE_SIZE);
			r->faults += user_read64(va, &v).vector != FAULT_NONE;
			r->not_zero += v != 0;
		}
	}
}

static void fault_pages(struct scan_race *r)
{
	mm_switch(r->mm);
	smp_barrier_wait(&r->start);
	for (u32 pass = 0; pass < SCAN_MAX_PASSES; pass++) {
		fault_pass(r);
		if (__atomic_load_n(&r->hinted, __ATOMIC_ACQUIRE))
			break;
	}
	mm_switch(NULL);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

static void scan_until_done(struct scan_race *r)
{
	smp_barrier_wait(&r->start);
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&r->hinted,
				   numa_scan(r->mm, USER_BASE, USER_BASE + RANGE_PAGES * PAGE_SIZE),
				   __ATOMIC_RELEASE);
}

static void fault_or_scan(struct test *t, void *arg)
{
	struct scan_race *r = arg;

	(void)t;
	if (racer(r->case_cpu))
		fault_pages(r);
	else
		scan_until_done(r);
}

static void scan_races_faults(struct test *t)
{
	static struct scan_race r;
	struct cpumask m = two_cpus(t);
	struct free_snapshot before = free_snapshot();
	struct mm *mm = new_space(t, RANGE_PAGES);

	r = (struct scan_race){ .mm = mm, .case_cpu = this_cpu()->id };
	smp_barrier_init(&r.start, 2);
	test_on_cpus(t, &m, fault_or_scan, &r);
	test_diag(t, "%lu entries hinted while pages were faulted in and thrown away", r.hinted);
	EXPECT_EQ(t, r.faults, 0);
	EXPECT_EQ(t, r.lost, 0);
	EXPECT_EQ(t, r.not_zero, 0);
	SETUP_TRUE(t, r.hinted > 0);
	mm_destroy(mm);
	expect_same_free(t, before);
}

TEST_SUITE_FLAGS(mm_lock, TEST_MM_AUDIT,
	TEST_CASE(parallel_faults_share_tables),
	TEST_CASE(fault_races_dontneed),
	TEST_CASE(scan_races_faults));
