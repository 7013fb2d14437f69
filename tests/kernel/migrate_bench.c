/*
 * migrate_bench: migration bandwidth for every ordered pair of nodes with
 * memory, as "# bench:" lines in MiB/s (no assertion on time). Each sample
 * is the bandwidth of one region move, from the TSC cycles it took and
 * tsc_khz(); min is the slowest move. Under TCG the TSC follows the host's
 * clock: the figures say how fast the host emulated the move, not what a
 * machine's memory does; each line says so. Opt-in (`tests=migrate_bench`,
 * run by `make bench` with `--nodes 4 --cpus 4 --mem 4G`).
 *
 *   migrate_bw_4k_nS_nD  migrate_pages of REGION_PAGES 4 KiB pages (1 MiB)
 *                        from node S to node D, called on this CPU with the
 *                        address space loaded here only: per page a
 *                        migration entry, a local flush, the copy
 *   migrate_bw_2m_nS_nD  one 2 MiB huge page moved whole. migrate_pages
 *                        moves 4 KiB entries only; the kernel moves a huge
 *                        page in a hint fault (migrate_huge_pmd), so the
 *                        sample is numa_scan of the page, then the timed
 *                        read from a CPU of node D whose fault moves it:
 *                        the fault's own cost is in the figure
 *
 * The region ping-pongs between the two nodes of a pair, so one pass gives
 * samples for both directions. After every move: each page's frame is on
 * the destination node, the whole region moved (migrate_pages' count and
 * pgmigrate_success; a huge page: one thp_migration_success and still one
 * PMD), and the checksum of every word, read through the user mapping, is
 * the one taken before the first move. The case sums what went wrong and
 * fails once, naming the first wrong move.
 */

#include <mmulab/format.h>
#include <mmulab/huge_memory.h>
#include <arch/cpu.h>
#include "fault_bench.h"
#include "thp_util.h"
#include "bench_util.h"

#define SAMPLES_4K 256
#define SAMPLES_2M 64
#define REGION_PAGES 256

struct pair_samples {
	u64 v[SAMPLES_4K];
	u32 n;
};

static struct pair_samples samples[MAX_NODES][MAX_NODES];

static bool has_memory(int node)
{
	return node_present_pages(node) != 0;
}

static u64 word_value(u64 i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL;
}

/* Every word of the region through the user mapping (mm loaded here). */
static void fill_words(vaddr_t start, u64 pages)
{
	user_access_begin();
	for (u64 i = 0; i < pages * PAGE_SIZE / 8; i++)
		((volatile u64 *)start)[i] = word_value(i);
	user_access_end();
}

static u64 checksum(vaddr_t start, u64 pages)
{
	u64 sum = 0;

	user_access_begin();
	for (u64 i = 0; i < pages * PAGE_SIZE / 8; i++)
		sum = sum * 31 + ((volatile u64 *)start)[i];
	user_access_end();
	return sum;
}

/* The frame of page p of the region: its PTE's, or its part of the huge
 * page the PMD maps. */
static paddr_t region_frame(struct mm *mm, u64 p)
{
	pmd_t pmd = pmd_at(mm, USER_BASE);

	if (pmd_leaf(pmd))
		return pmd_huge_paddr(pmd) + p * PAGE_SIZE;
	return frame_at(mm, USER_BASE + p * PAGE_SIZE);
}

static u64 pages_off_node(struct mm *mm, u64 pages, int node)
{
	u64 off = 0;

	for (u64 p = 0; p < pages; p++) {
		paddr_t pa = region_frame(mm, p);
		off += !pa || page_to_nid(phys_to_page(pa)) != node;
	}
	return off;
}

/* What the moves of a case left wrong, summed so that a bug repeated in
 * every sample makes a few lines, not thousands. */
struct move_check {
	u64 moves;
	u64 short_moves; /* fewer pages moved, or counted, than the region */
	u64 pages_off;   /* pages not on the destination after a move */
	u64 bad_sums;    /* moves after which the checksum differed */
	int first_from, first_to; /* the first move that went wrong */
};

static struct move_check check;

static void note_move(int from, int to, bool short_move, u64 off, bool bad_sum)
{
	if ((short_move || off || bad_sum) && !(check.short_moves || check.pages_off || check.bad_sums)) {
		check.first_from = from;
		check.first_to = to;
	}
	check.moves++;
	check.short_moves += short_move;
	check.pages_off += off;
	check.bad_sums += bad_sum;
}

/* What every move must leave: the whole region on node to, contents
 * intact (mm loaded here). */
static void check_move(struct mm *mm, u64 pages, int from, int to, bool short_move, u64 sum)
{
	note_move(from, to, short_move, pages_off_node(mm, pages, to),
		  checksum(USER_BASE, pages) != sum);
}

static void expect_moves_right(struct test *t)
{
	EXPECT_EQ(t, check.short_moves, 0);
	EXPECT_EQ(t, check.pages_off, 0);
	EXPECT_EQ(t, check.bad_sums, 0);
	if (check.short_moves || check.pages_off || check.bad_sums)
		test_diag(t, "of %lu moves checked, the first wrong went from node %d to node %d", check.moves,
			  check.first_from, check.first_to);
}

static void report_pairs(struct test *t, const char *size, u64 bytes)
{
	char name[40];

	for (int s = 0; s < nr_nodes(); s++)
		for (int d = 0; d < nr_nodes(); d++)
			if (samples[s][d].n) {
				format(name, sizeof(name), "migrate_bw_%s_n%d_n%d", size, s, d);
				bench_report_rate(t, name, samples[s][d].v, samples[s][d].n, bytes);
			}
}

static void record(int from, int to, u64 cycles)
{
	struct pair_samples *p = &samples[from][to];

	p->v[p->n++] = cycles;
}

/* One timed migrate_pages of the region to node; all of it must move. */
static void move_4k(struct mm *mm, int from, int to, u64 sum)
{
	u64 success = numa_stats.pgmigrate_success;
	u64 t0 = rdtsc();
	u64 moved = migrate_pages(mm, USER_BASE, USER_BASE + REGION_PAGES * PAGE_SIZE, to);
	u64 cycles = rdtsc() - t0;
	bool short_move = moved != REGION_PAGES ||
			  numa_stats.pgmigrate_success - success != REGION_PAGES;
	check_move(mm, REGION_PAGES, from, to, short_move, sum);
	record(from, to, cycles);
}

static void pair_4k(struct test *t, int a, int b)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, REGION_PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	fill_words(USER_BASE, REGION_PAGES);
	u64 sum = checksum(USER_BASE, REGION_PAGES);
	migrate_pages(mm, USER_BASE, USER_BASE + REGION_PAGES * PAGE_SIZE, a);
	check_move(mm, REGION_PAGES, a, a, false, sum);
	for (u32 i = 0; i < SAMPLES_4K; i++) {
		move_4k(mm, a, b, sum);
		move_4k(mm, b, a, sum);
	}
	drop(mm);
}

static void for_each_node_pair(struct test *t, void (*fn)(struct test *t, int a, int b))
{
	memset(samples, 0, sizeof(samples));
	check = (struct move_check){ 0 };
	for (int a = 0; a < nr_nodes(); a++)
		for (int b = a + 1; b < nr_nodes(); b++)
			if (has_memory(a) && has_memory(b))
				fn(t, a, b);
}

static u32 nodes_with_memory(void)
{
	u32 n = 0;

	for (int node = 0; node < nr_nodes(); node++)
		n += has_memory(node);
	return n;
}

static void bandwidth_4k(struct test *t)
{
	if (nodes_with_memory() < 2)
		test_skip(t, "needs two nodes with memory");
	for_each_node_pair(t, pair_4k);
	expect_moves_right(t);
	report_pairs(t, "4k", REGION_PAGES * PAGE_SIZE);
}

struct hint_move {
	struct mm *mm;
	u64 cycles;
	u64 moved; /* huge pages the fault moved whole */
};

/* On a CPU of the destination: hint the huge page, then the timed read
 * whose fault moves it here. */
static void hint_and_read(struct test *t, void *arg)
{
	struct hint_move *h = arg;
	u64 moved = thp_stats.thp_migration_success;

	(void)t;
	mm_switch(h->mm);
	numa_scan(h->mm, USER_BASE, USER_BASE + PMD_SIZE);
	h->cycles = timed_read(USER_BASE);
	h->moved = thp_stats.thp_migration_success - moved;
	mm_switch(NULL);
}

static void move_2m(struct test *t, struct mm *mm, int from, int to, u64 sum)
{
	static struct hint_move h;
	struct cpumask m = { 0 };

	h = (struct hint_move){ .mm = mm };
	cpumask_set(&m, (u32)cpu_on_node(to));
	test_on_cpus(t, &m, hint_and_read, &h);
	mm_switch(mm); /* again, when the destination's CPU was this one */
	check_move(mm, HUGE_PAGES, from, to, h.moved != 1 || !pmd_leaf(pmd_at(mm, USER_BASE)), sum);
	record(from, to, h.cycles);
}

/* The huge page is faulted in on a's CPU, so it starts on a. */
static void pair_2m(struct test *t, int a, int b)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PMD_SIZE, VM_READ | VM_WRITE, VMA_HUGE_OK) == 0);
	SETUP_TRUE(t, write_from(t, cpu_on_node(a), mm, USER_BASE, 1, 1) == 0);
	SETUP_TRUE(t, pmd_leaf(pmd_at(mm, USER_BASE)));
	mm_switch(mm);
	fill_words(USER_BASE, HUGE_PAGES);
	u64 sum = checksum(USER_BASE, HUGE_PAGES);
	check_move(mm, HUGE_PAGES, a, a, false, sum);
	for (u32 i = 0; i < SAMPLES_2M; i++) {
		move_2m(t, mm, a, b, sum);
		move_2m(t, mm, b, a, sum);
	}
	drop(mm);
}

static bool every_memory_node_has_a_cpu(void)
{
	for (int node = 0; node < nr_nodes(); node++)
		if (has_memory(node) && cpu_on_node(node) < 0)
			return false;
	return true;
}

static void bandwidth_2m(struct test *t)
{
	if (nodes_with_memory() < 2)
		test_skip(t, "needs two nodes with memory");
	if (!every_memory_node_has_a_cpu())
		test_skip(t, "a huge page moves in a hint fault: needs a CPU on every node with memory");
	if (numa_policy() != NUMA_POLICY_FIRST)
		test_skip(t, "needs numa_policy=first (one fault migrates)");
	for_each_node_pair(t, pair_2m);
	expect_moves_right(t);
	report_pairs(t, "2m", PMD_SIZE);
}

TEST_SUITE_FLAGS(migrate_bench, TEST_MM_AUDIT | TEST_OPT_IN,
	TEST_CASE(bandwidth_4k),
	TEST_CASE(bandwidth_2m));
