/*
 * page_alloc: the buddy allocator keeps its books. Every case compares the
 * per-node free counts before and after, so a leaked or double-counted
 * frame fails the case that caused it. random_churn allocates and frees
 * random orders against a model of the live blocks: no two overlap, each
 * keeps the pattern written into it, and the counts come back exactly.
 * split_halves_merge_back: a block split to serve a request is whole
 * again once the request is freed.
 */

#include <mmulab/numa.h>
#include <mmulab/page.h>
#include <mmulab/string.h>
#include <mmulab/test.h>

static u64 total_free(void)
{
	u64 sum = 0;

	for (int n = 0; n < nr_nodes(); n++)
		sum += node_free_pages(n);
	return sum;
}

/* Each order takes exactly its size and gives it back. */
static void counts_every_order(struct test *t)
{
	u64 before = total_free();

	for (unsigned order = 0; order <= MAX_ORDER; order++) {
		struct page *p = alloc_pages(0, order, 0);
		if (!EXPECT_TRUE(t, p != NULL))
			return;
		EXPECT_EQ(t, total_free(), before - (1ULL << order));
		EXPECT_TRUE(t, IS_ALIGNED(page_to_pfn(p), 1ULL << order));
		EXPECT_EQ(t, p->refcount, 1);
		free_pages(p, order);
		EXPECT_EQ(t, total_free(), before);
	}
}

/* A 2 MiB compound page: aligned, head and tails marked, unmarked again
 * on free. */
static void huge_compound(struct test *t)
{
	struct page *p = alloc_pages(0, HUGE_ORDER, ALLOC_COMPOUND);

	ASSERT_TRUE(t, p != NULL);
	EXPECT_TRUE(t, IS_ALIGNED(page_to_phys(p), 2 * MiB));
	EXPECT_TRUE(t, p->flags & PG_head);
	EXPECT_TRUE(t, (p[1].flags & PG_tail) && p[1].head == p);
	EXPECT_TRUE(t, (p[511].flags & PG_tail) && p[511].head == p);
	free_pages(p, HUGE_ORDER);
	EXPECT_FALSE(t, p[511].flags & PG_tail);
}

/* ALLOC_ZERO zeroes even a block that was dirty when freed. */
static void zeroed(struct test *t)
{
	struct page *p = alloc_pages(0, 2, 0);

	ASSERT_TRUE(t, p != NULL);
	memset(page_address(p), 0xa5, 4 * PAGE_SIZE);
	free_pages(p, 2);
	p = alloc_pages(0, 2, ALLOC_ZERO);
	ASSERT_TRUE(t, p != NULL);
	const u64 *w = page_address(p);
	u64 nonzero = 0;
	for (u64 i = 0; i < 4 * PAGE_SIZE / 8; i++)
		nonzero += w[i] != 0;
	EXPECT_EQ(t, nonzero, 0);
	free_pages(p, 2);
}

#define CHURN_SLOTS 64

struct live {
	struct page *page;
	unsigned order;
	u64 pattern;
};

static bool overlaps(const struct live *a, const struct live *b)
{
	pfn_t a0 = page_to_pfn(a->page), a1 = a0 + (1ULL << a->order);
	pfn_t b0 = page_to_pfn(b->page), b1 = b0 + (1ULL << b->order);
	return a0 < b1 && b0 < a1;
}

static bool pattern_intact(const struct live *l)
{
	const u64 *w = page_address(l->page);
	for (u64 i = 0; i < (PAGE_SIZE << l->order) / 8; i += 509)
		if (w[i] != l->pattern + i)
			return false;
	return true;
}

static void fill(const struct live *l)
{
	u64 *w = page_address(l->page);
	for (u64 i = 0; i < (PAGE_SIZE << l->order) / 8; i += 509)
		w[i] = l->pattern + i;
}

static void churn_release(struct test *t, struct live *l)
{
	EXPECT_TRUE(t, pattern_intact(l));
	free_pages(l->page, l->order);
	l->page = NULL;
}

/* The order of a churn allocation: geometric (order k with probability
 * 2^-(k+1)), as small requests dominate, but uniform one draw in four so
 * the largest orders and their splits and merges still come up often.
 * Large orders are what a churn costs: a block up to order 9 is poisoned
 * on free and checked on allocation, a pass over each of its bytes. */
static unsigned churn_order(u64 r)
{
	if ((r & 3) == 0)
		return (unsigned)((r >> 2) % (MAX_ORDER + 1));
	return MIN((unsigned)__builtin_ctzll((r >> 2) | 1ULL << 60), MAX_ORDER);
}

static void random_churn(struct test *t)
{
	struct live slots[CHURN_SLOTS] = { 0 };
	u64 before = total_free();

	for (u64 i = 0; i < t->iterations && !t->failed; i++) {
		u64 r = test_random(t);
		struct live *l = &slots[r % CHURN_SLOTS];
		if (l->page) {
			churn_release(t, l);
			continue;
		}
		l->order = churn_order(r >> 8);
		l->page = alloc_pages(NO_NODE, l->order, 0);
		if (!l->page)
			continue; /* out of memory at this order is allowed */
		l->pattern = r;
		fill(l);
		for (int j = 0; j < CHURN_SLOTS; j++)
			if (&slots[j] != l && slots[j].page && !EXPECT_FALSE(t, overlaps(l, &slots[j])))
				test_diag(t, "P0x%lx order %u overlaps P0x%lx order %u",
					  page_to_phys(l->page), l->order,
					  page_to_phys(slots[j].page), slots[j].order);
	}
	for (int j = 0; j < CHURN_SLOTS; j++)
		if (slots[j].page)
			churn_release(t, &slots[j]);
	EXPECT_EQ(t, total_free(), before);
}

/*
 * Splitting and merging undo each other: a free 4 MiB block split to serve
 * a 2 MiB request is whole again once that half comes back, because the
 * half left on the lists merges with it. The case frees a 4 MiB block B
 * (the lists hand out the block freed last first), takes 2 MiB blocks
 * until one comes out of B (the ones already free go first), frees that
 * one and asks for 4 MiB: it must be B. A split that labels the half it
 * lists with the wrong order leaves the halves unmergeable, and B is
 * never whole again (memory fragments a little more with every split).
 */
#define SPLIT_HOLD 512

static void split_halves_merge_back(struct test *t)
{
	static struct page *held[SPLIT_HOLD];
	u64 before = total_free();
	struct page *half = NULL;
	u32 n = 0;

	struct page *whole = alloc_pages(NO_NODE, MAX_ORDER, 0);
	SETUP_TRUE(t, whole != NULL);
	int node = whole->node;
	free_pages(whole, MAX_ORDER);
	pfn_t first = page_to_pfn(whole), end = first + (1ULL << MAX_ORDER);
	while (!half && n < SPLIT_HOLD) {
		struct page *p = alloc_pages(node, MAX_ORDER - 1, ALLOC_THISNODE);
		if (!p)
			break;
		if (page_to_pfn(p) >= first && page_to_pfn(p) < end)
			half = p;
		else
			held[n++] = p;
	}
	for (u32 i = 0; i < n; i++)
		free_pages(held[i], MAX_ORDER - 1);
	SETUP_TRUE(t, half != NULL);
	free_pages(half, MAX_ORDER - 1);
	struct page *again = alloc_pages(node, MAX_ORDER, ALLOC_THISNODE);
	if (!EXPECT_EQ(t, again, whole))
		test_diag(t, "P0x%lx came back in halves that did not merge",
			  page_to_phys(whole));
	if (again)
		free_pages(again, MAX_ORDER);
	EXPECT_EQ(t, total_free(), before);
}

/* Opt-in by name: must panic ("double free"); the matrix expects it. */
static void double_free_panics(struct test *t)
{
	struct page *p = alloc_pages(0, 0, 0);

	ASSERT_TRUE(t, p != NULL);
	free_pages(p, 0);
	free_pages(p, 0);
	test_diag(t, "not reached: the second free panics");
}

TEST_SUITE(page_alloc,
	TEST_CASE(counts_every_order),
	TEST_CASE(huge_compound),
	TEST_CASE(zeroed),
	TEST_CASE_RANDOM(random_churn, 3000),
	TEST_CASE(split_halves_merge_back),
	TEST_CASE_FLAGS(double_free_panics, TEST_OPT_IN));
