/*
 * topology: the kernel's NUMA picture equals what the machine was built
 * with, and the allocator honours it. run-qemu.sh passes what it asked
 * QEMU for as expect_topology=NODES:CPUS/..:MIB/..:DIST/..; the kernel
 * compares: node count, online CPUs per node, memory per node (firmware
 * keeps a little of it), the distance matrix. Then every frame
 * alloc_pages(n) returns lies in node n's SRAT-derived memory, fallback
 * follows distance, and exhausting a node falls back to the nearest one
 * while ALLOC_THISNODE fails cleanly.
 */

#include <mmulab/cmdline.h>
#include <mmulab/format.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>
#include <mmulab/topology.h>
#include "mm_util.h"

#define FIRMWARE_SLACK_MIB 64

struct expected {
	u32 nodes;
	u64 cpus[MAX_NODES], mib[MAX_NODES], dist[MAX_NODES * MAX_NODES];
	u32 ncpus, nmib, ndist;
};

/* Parses "a/b/c" into out; the count, or -1 on a bad number. */
static int parse_list(const char *s, size_t len, u64 *out, u32 max)
{
	u32 n = 0;

	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && s[j] != '/')
			j++;
		if (n == max || !parse_u64(s + i, j - i, &out[n++]))
			return -1;
		i = j + 1;
	}
	return (int)n;
}

static bool parse_expectation(const char *s, struct expected *e)
{
	const char *field[4];
	size_t len[4];
	u64 nodes;
	int k = 0;

	for (const char *p = s; k < 4; k++) {
		const char *colon = strchr(p, ':');
		field[k] = p;
		len[k] = colon ? (size_t)(colon - p) : strlen(p);
		if (!colon && k < 3)
			return false;
		p = colon ? colon + 1 : p + len[k];
	}
	if (!parse_u64(field[0], len[0], &nodes) || nodes == 0 || nodes > MAX_NODES)
		return false;
	e->nodes = (u32)nodes;
	int c = parse_list(field[1], len[1], e->cpus, MAX_NODES);
	int m = parse_list(field[2], len[2], e->mib, MAX_NODES);
	int d = parse_list(field[3], len[3], e->dist, MAX_NODES * MAX_NODES);
	e->ncpus = (u32)c;
	e->nmib = (u32)m;
	e->ndist = (u32)d;
	return c == (int)nodes && m == (int)nodes && d == (int)(nodes * nodes);
}

static void matches_configuration(struct test *t)
{
	static struct expected e;
	const struct topology *topo = numa_topology();

	if (!cmdline.expect_topology)
		test_skip(t, "no expect_topology= given (injected tables or numa= option)");
	ASSERT_TRUE(t, parse_expectation(cmdline.expect_topology, &e));
	ASSERT_EQ(t, topo->node_count, e.nodes);
	for (u32 n = 0; n < e.nodes; n++) {
		u64 online = 0;
		for_each_cpu_in(cpu, &cpu_online_mask)
			online += cpus[cpu].node == (int)n;
		if (!EXPECT_EQ(t, online, e.cpus[n]))
			test_diag(t, "node %u: %lu CPUs online, %lu configured", n, online, e.cpus[n]);
		u64 mib = topo->nodes[n].bytes / MiB;
		if (!EXPECT_LE(t, mib, e.mib[n]) ||
		    !EXPECT_GE(t, mib + FIRMWARE_SLACK_MIB, e.mib[n]))
			test_diag(t, "node %u: %lu MiB, %lu configured", n, mib, e.mib[n]);
		for (u32 m = 0; m < e.nodes; m++)
			if (!EXPECT_EQ(t, topo->distance[n][m], e.dist[n * e.nodes + m]))
				test_diag(t, "distance %u->%u", n, m);
	}
}

/* Every frame a node hands out lies in that node's memory. */
static void frames_on_their_node(struct test *t)
{
	const struct topology *topo = numa_topology();

	for (u32 n = 0; n < topo->node_count; n++) {
		if (!topo->nodes[n].bytes)
			continue;
		for (unsigned order = 0; order <= HUGE_ORDER; order += 3) {
			struct page *p = alloc_pages((int)n, order, ALLOC_THISNODE);
			if (!EXPECT_TRUE(t, p != NULL))
				continue;
			EXPECT_EQ(t, page_to_nid(p), n);
			EXPECT_EQ(t, topology_node_of(topo, page_to_phys(p)), n);
			EXPECT_EQ(t, topology_node_of(topo, page_to_phys(p) + (PAGE_SIZE << order) - 1), n);
			free_pages(p, order);
		}
	}
}

/* Fallback lists start at the node and never get nearer. */
static void fallback_follows_distance(struct test *t)
{
	const struct topology *topo = numa_topology();
	int order[MAX_NODES];

	for (u32 n = 0; n < topo->node_count; n++) {
		u32 count = topology_fallback_order(topo, (int)n, order);
		EXPECT_EQ(t, count, topo->node_count);
		EXPECT_EQ(t, order[0], n);
		for (u32 i = 1; i < count; i++)
			EXPECT_LE(t, topo->distance[n][order[i - 1]], topo->distance[n][order[i]]);
	}
}

/*
 * The blocks taken while exhausting a node, recorded in pages of another
 * node. Writing into the taken blocks themselves would touch every 2 MiB
 * of the node, and under TCG each first touch of guest RAM makes the host
 * fault in and zero a huge page: about a second per GiB here.
 */
struct held_block {
	struct page *page;
	unsigned order;
};

#define HELD_PER_PAGE ((PAGE_SIZE - 16) / sizeof(struct held_block))

struct held_page {
	struct held_page *next;
	u64 count;
	struct held_block block[HELD_PER_PAGE];
};
_Static_assert(sizeof(struct held_page) <= PAGE_SIZE, "one record page");

static bool hold(struct held_page **list, int record_node, struct page *p, unsigned order)
{
	struct held_page *h = *list;

	if (!h || h->count == HELD_PER_PAGE) {
		struct page *rp = alloc_pages(record_node, 0, ALLOC_THISNODE);
		if (!rp)
			return false;
		h = page_address(rp);
		h->next = *list;
		h->count = 0;
		*list = h;
	}
	h->block[h->count++] = (struct held_block){ p, order };
	return true;
}

/* Every free block of node, largest first; false if the records ran out
 * of memory (what was taken is still on the list). */
static bool take_everything(int node, int record_node, struct held_page **list, u64 *pages)
{
	for (int order = MAX_ORDER; order >= 0; order--) {
		struct page *p;
		while ((p = alloc_pages(node, (unsigned)order, ALLOC_THISNODE))) {
			if (!hold(list, record_node, p, (unsigned)order)) {
				free_pages(p, (unsigned)order);
				return false;
			}
			*pages += 1ULL << order;
		}
	}
	return true;
}

static void give_back(struct held_page *list)
{
	while (list) {
		struct held_page *next = list->next;
		for (u64 i = 0; i < list->count; i++)
			free_pages(list->block[i].page, list->block[i].order);
		free_pages(phys_to_page(virt_to_phys(list)), 0);
		list = next;
	}
}

/* An exhausted node: ALLOC_THISNODE gets NULL, a plain allocation gets a
 * page from the nearest node that has memory. */
static void exhausted_node_falls_back(struct test *t)
{
	const struct topology *topo = numa_topology();
	int order[MAX_NODES], victim = -1, nearest = -1;

	for (u32 n = 0; n < topo->node_count && victim < 0; n++)
		if (topo->nodes[n].bytes)
			victim = (int)n;
	u32 count = topology_fallback_order(topo, victim, order);
	for (u32 i = 1; i < count && nearest < 0; i++)
		if (node_free_pages(order[i]))
			nearest = order[i];
	if (nearest < 0)
		test_skip(t, "needs two nodes with memory");
	struct free_snapshot before = free_snapshot();
	u64 taken = 0;
	struct held_page *list = NULL;
	bool recorded = take_everything(victim, nearest, &list, &taken);
	if (!recorded) {
		give_back(list);
		test_error(t, "no page on node %d left to record the taken blocks in", nearest);
	}
	EXPECT_EQ(t, node_free_pages(victim), 0);
	EXPECT_EQ(t, taken, before.free[victim]);
	EXPECT_TRUE(t, alloc_pages(victim, 0, ALLOC_THISNODE) == NULL);
	struct page *p = alloc_pages(victim, 0, 0);
	if (EXPECT_TRUE(t, p != NULL)) {
		EXPECT_EQ(t, page_to_nid(p), nearest);
		free_pages(p, 0);
	}
	give_back(list);
	expect_same_free(t, before);
}

TEST_SUITE(topology,
	TEST_CASE(matches_configuration),
	TEST_CASE(frames_on_their_node),
	TEST_CASE(fallback_follows_distance),
	TEST_CASE(exhausted_node_falls_back));
