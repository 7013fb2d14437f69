/*
 * The struct page array and the per-node buddy allocator.
 *
 * Free blocks of 2^order frames sit on per-node, per-order lists; the head
 * page of a free block carries PG_buddy and its order. A block never spans
 * two nodes or a hole: initial blocks are carved from free memblock ranges
 * cut at node boundaries, and two blocks merge only when the buddy is a
 * free head of the same order on the same node.
 *
 * Reference counts catch misuse on free: an allocated block has refcount 1
 * on its head, a free or never-allocated page 0, so a second free (even of
 * a page that was merged into a larger block since) sees 0.
 *
 * Freed frames are poisoned (see PAGE_POISON) and the poison is checked
 * on allocation: use after free by a stale TLB entry becomes visible.
 * Blocks above POISON_MAX_ORDER are not: no translation maps more than
 * 2 MiB, and filling whole nodes a test hands back costs seconds of TCG.
 */

#include <mmulab/page.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/numa.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/smp.h>
#include <mmulab/spinlock.h>
#include <mmulab/topology.h>
#include <mmulab/string.h>
#include <arch/cpu.h>
#include <arch/tsc.h>

struct free_area {
	struct page *list;
	u64 blocks;
};

struct node_pages {
	struct spinlock lock;
	struct free_area area[MAX_ORDER + 1];
	u64 free, present;
};

static struct node_pages nodes[MAX_NODES];
static bool ready;
static u64 poison_damaged;

bool pfn_valid(pfn_t pfn)
{
	return memblock_is_memory(pfn << PAGE_SHIFT);
}

bool page_alloc_ready(void)
{
	return ready;
}

u64 node_free_pages(int node)
{
	return nodes[node].free;
}

u64 node_present_pages(int node)
{
	return nodes[node].present;
}

static void list_add(struct free_area *a, struct page *p)
{
	p->prev = NULL;
	p->next = a->list;
	if (a->list)
		a->list->prev = p;
	a->list = p;
	a->blocks++;
}

static void list_del(struct free_area *a, struct page *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		a->list = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
	a->blocks--;
}

/* Puts [pfn, pfn + 2^order) on node's lists, merging with free buddies. */
static void free_block(struct node_pages *n, int nid, pfn_t pfn, unsigned order)
{
	n->free += 1ULL << order;
	while (order < MAX_ORDER) {
		pfn_t buddy_pfn = pfn ^ (1ULL << order);
		if (!pfn_valid(buddy_pfn))
			break;
		struct page *buddy = pfn_to_page(buddy_pfn);
		if (!(buddy->flags & PG_buddy) || buddy->order != order || buddy->node != nid)
			break;
		list_del(&n->area[order], buddy);
		buddy->flags &= ~PG_buddy;
		pfn &= ~(1ULL << order);
		order++;
	}
	struct page *head = pfn_to_page(pfn);
	head->flags |= PG_buddy;
	head->order = order;
	list_add(&n->area[order], head);
}

/* Takes a block of exactly 2^order from node, splitting a larger one. */
static struct page *take_block(struct node_pages *n, unsigned order)
{
	unsigned k = order;

	while (k <= MAX_ORDER && !n->area[k].list)
		k++;
	if (k > MAX_ORDER)
		return NULL;
	struct page *p = n->area[k].list;
	list_del(&n->area[k], p);
	p->flags &= ~PG_buddy;
	while (k > order) {
		k--;
		struct page *half = p + (1ULL << k);
		half->flags |= PG_buddy;
		half->order = k;
		list_add(&n->area[k], half);
	}
	n->free -= 1ULL << order;
	return p;
}

#define POISON_MAX_ORDER 9

static void poison_block(struct page *p, unsigned order)
{
	if (order > POISON_MAX_ORDER)
		return;
	memset(page_address(p), (u8)PAGE_POISON, PAGE_SIZE << order);
	for (u64 i = 0; i < (1ULL << order); i++)
		p[i].flags |= PG_poisoned;
}

/* Offset of the first byte of a poisoned page that lost its poison, or
 * PAGE_SIZE when all of it is intact. */
static u32 poison_damage_offset(const struct page *p)
{
	const u64 *w = page_address(p);

	for (u32 j = 0; j < PAGE_SIZE / 8; j++)
		if (w[j] != PAGE_POISON) {
			u32 byte = 0;
			while (((w[j] >> (8 * byte)) & 0xff) == (PAGE_POISON & 0xff))
				byte++;
			return j * 8 + byte;
		}
	return PAGE_SIZE;
}

bool page_poison_intact(const struct page *p, u32 *offset)
{
	*offset = PAGE_SIZE;
	if (!(__atomic_load_n(&p->flags, __ATOMIC_ACQUIRE) & PG_poisoned))
		return false;
	*offset = poison_damage_offset(p);
	return *offset == PAGE_SIZE;
}

u64 page_poison_damaged(void)
{
	return __atomic_load_n(&poison_damaged, __ATOMIC_RELAXED);
}

/* Called on allocation: the block's frames were written while free? */
static void check_poison(struct page *p, unsigned order)
{
	for (u64 i = 0; i < (1ULL << order); i++) {
		if (!(p[i].flags & PG_poisoned))
			continue;
		p[i].flags &= ~PG_poisoned;
		u32 off = poison_damage_offset(&p[i]);
		if (off == PAGE_SIZE)
			continue;
		__atomic_add_fetch(&poison_damaged, 1, __ATOMIC_RELAXED);
		printk_ratelimited("page_alloc: free frame written after it was freed",
				   "mmulab: page_alloc: free frame P0x%lx written after it was freed: byte +0x%x "
				   "holds 0x%lx (a write through a stale translation?)\n",
				   page_to_phys(&p[i]), off,
				   ((const u64 *)page_address(&p[i]))[off / 8]);
	}
}

static void prepare_block(struct page *p, unsigned order, unsigned flags)
{
	check_poison(p, order);
	p->refcount = 1;
	if ((flags & ALLOC_COMPOUND) && order) {
		p->flags |= PG_head;
		p->order = order;
		for (u64 i = 1; i < (1ULL << order); i++) {
			p[i].flags |= PG_tail;
			p[i].head = p;
		}
	}
	if (flags & ALLOC_ZERO)
		memset(page_address(p), 0, PAGE_SIZE << order);
}

static struct page *alloc_from(int nid, unsigned order)
{
	struct node_pages *n = &nodes[nid];

	spin_lock(&n->lock);
	struct page *p = take_block(n, order);
	spin_unlock(&n->lock);
	return p;
}

struct page *alloc_pages(int node, unsigned order, unsigned flags)
{
	int order_list[MAX_NODES];

	ASSERT(ready && order <= MAX_ORDER);
	if (node == NO_NODE)
		node = this_cpu()->node;
	ASSERT(node >= 0 && node < nr_nodes());
	int count = (flags & ALLOC_THISNODE) ? 1 : numa_fallback_order(node, order_list);
	if (flags & ALLOC_THISNODE)
		order_list[0] = node;
	for (int i = 0; i < count; i++) {
		struct page *p = alloc_from(order_list[i], order);
		if (p) {
			prepare_block(p, order, flags);
			return p;
		}
	}
	return NULL;
}

static void check_free(struct page *p, unsigned order)
{
	paddr_t pa = page_to_phys(p);

	if (p->flags & PG_reserved)
		panic("free_pages: P0x%lx is a reserved frame, never allocated", pa);
	if (p->refcount == 0)
		panic("free_pages: double free of P0x%lx order %u (refcount already 0)", pa, order);
	if (p->refcount != 1)
		panic("free_pages: P0x%lx still has %d references", pa, p->refcount);
	for (u64 i = 0; i < (1ULL << order); i++)
		if (p[i].mapcount || p[i].pincount)
			panic("free_pages: P0x%lx is still mapped (mapcount %d) or pinned "
			      "(pincount %d)", page_to_phys(&p[i]), p[i].mapcount, p[i].pincount);
	if ((p->flags & PG_head) && p->order != order)
		panic("free_pages: compound P0x%lx has order %u, freed as %u", pa, p->order, order);
}

static void release_block(struct page *p, unsigned order)
{
	struct node_pages *n = &nodes[p->node];

	if (p->flags & PG_head) {
		p->flags &= ~PG_head;
		for (u64 i = 1; i < (1ULL << order); i++) {
			p[i].flags &= ~PG_tail;
			p[i].head = NULL;
		}
	}
	poison_block(p, order);
	spin_lock(&n->lock);
	free_block(n, p->node, page_to_pfn(p), order);
	spin_unlock(&n->lock);
}

void put_page(struct page *p)
{
	s32 left = __atomic_sub_fetch(&p->refcount, 1, __ATOMIC_ACQ_REL);

	if (left < 0)
		panic("put_page: P0x%lx refcount went negative", page_to_phys(p));
	if (left)
		return;
	if (p->mapcount || p->pincount)
		panic("put_page: P0x%lx freed while mapped (mapcount %d) or pinned (pincount %d)",
		      page_to_phys(p), p->mapcount, p->pincount);
	/* A lazily freed page zapped or unmapped before reclaim saw it: the
	 * next owner's page is not lazy. */
	p->flags &= ~PG_lazyfree;
	release_block(p, 0);
}

void split_page(struct page *p, unsigned order)
{
	ASSERT(p->refcount == 1 && !(p->flags & PG_head));
	for (u64 i = 1; i < (1ULL << order); i++)
		p[i].refcount = 1;
}

void free_pages(struct page *p, unsigned order)
{
	check_free(p, order);
	p->refcount = 0;
	release_block(p, order);
}

/* --- boot ---
 *
 * Deferred, parallel struct page init (the idea of Linux's deferred memmap
 * init). The boot CPU initialises the struct pages of the first
 * EARLY_NODE_BYTES of every node, plus every max-order section that holds
 * a node or region boundary, and frees them: enough for stacks, tables and
 * starting the other CPUs. The rest of each node, whole sections that lie
 * in one node, is done after SMP bring-up by a CPU of that node (or of the
 * nearest node with CPUs), all nodes at once.
 *
 * Why whole sections: a buddy of a block below MAX_ORDER lies in the same
 * section, so no free during the deferred work ever reads a struct page
 * another CPU has not initialised yet. memblock stays read-only (and is
 * only retired) until every node is done; the deferred CPUs read it to
 * know which of their frames are free.
 */

#define SECTION_PAGES (1ULL << MAX_ORDER)
#define EARLY_NODE_BYTES (32 * MiB)
#define MAX_DEFERRED (2 * MEMBLOCK_MAX_REGIONS)

struct pfn_range {
	pfn_t start, end;
	int nid;
};

static struct pfn_range deferred[MAX_DEFERRED]; /* by address */
static u32 deferred_count;
static pfn_t early_end[MAX_NODES]; /* 0: the node's first range is still to come */

static vaddr_t vmemmap_va(paddr_t pa)
{
	return (vaddr_t)pfn_to_page(pa >> PAGE_SHIFT);
}

/* A 2 MiB frame for the struct pages of the node holding pa, from that
 * node when it can. Not zeroed: only struct pages of RAM are ever read, and
 * each is written whole by init_struct_pages. */
static paddr_t vmemmap_block(paddr_t pa)
{
	int nid = numa_node_of_phys(pa);
	const struct topo_node *n = &numa_topology()->nodes[nid];

	for (u32 i = 0; i < n->range_count; i++) {
		paddr_t got = memblock_alloc_range(PMD_SIZE, PMD_SIZE, n->ranges[i].start,
						   n->ranges[i].end);
		if (got)
			return got;
	}
	return memblock_alloc(PMD_SIZE, PMD_SIZE);
}

/* The struct pages of [base, end), in 2 MiB chunks (one covers 128 MiB of
 * RAM); a chunk no 2 MiB frame can be found for gets zeroed 4 KiB frames. */
static void map_vmemmap(paddr_t base, paddr_t end)
{
	vaddr_t va_end = ALIGN_UP(vmemmap_va(end), PAGE_SIZE);

	for (vaddr_t va = ALIGN_DOWN(vmemmap_va(base), PMD_SIZE); va < va_end; va += PMD_SIZE) {
		if (pt_walk(kernel_root(), va).leaf_size)
			continue;
		paddr_t block = vmemmap_block(base);
		if (block) {
			pt_map(kernel_root(), va, block, PMD_SIZE, PMD_SIZE,
			       VM_READ | VM_WRITE | VM_GLOBAL);
			continue;
		}
		for (vaddr_t small = va; small < va + PMD_SIZE; small += PAGE_SIZE)
			pt_map(kernel_root(), small, kernel_frame_alloc(), PAGE_SIZE, PAGE_SIZE,
			       VM_READ | VM_WRITE | VM_GLOBAL);
	}
}

/* [start, end) of node nid: zeroed in bulk, then the node of each page;
 * flags stay 0 (free) until mark_reserved. */
static void init_struct_pages(pfn_t start, pfn_t end, int nid)
{
	struct page *p = pfn_to_page(start);
	struct page *last = pfn_to_page(end);

	memset(p, 0, (end - start) * sizeof(*p));
	for (; p < last; p++)
		p->node = (u16)nid;
}

/* Every page memblock holds reserved in [start, end) (RAM without holes)
 * never enters the allocator: firmware, the kernel image, tables, the
 * struct pages themselves. */
static void mark_reserved(pfn_t start, pfn_t end)
{
	const struct memblock_type *res = &memblock.reserved;

	for (u32 i = 0; i < res->count; i++) {
		pfn_t r0 = MAX(start, res->regions[i].base >> PAGE_SHIFT);
		pfn_t r1 = MIN(end, ALIGN_UP(res->regions[i].base + res->regions[i].size,
					     PAGE_SIZE) >> PAGE_SHIFT);
		for (pfn_t pfn = r0; pfn < r1; pfn++)
			pfn_to_page(pfn)->flags = PG_reserved;
	}
}

static unsigned largest_order(pfn_t pfn, pfn_t end)
{
	unsigned order = 0;

	while (order < MAX_ORDER && IS_ALIGNED(pfn, 1ULL << (order + 1)) &&
	       pfn + (1ULL << (order + 1)) <= end)
		order++;
	return order;
}

/* Free frames [pfn, end) of node nid, initialised, in the largest aligned
 * blocks they hold. */
static void free_pfn_range(pfn_t pfn, pfn_t end, int nid)
{
	struct node_pages *n = &nodes[nid];

	while (pfn < end) {
		unsigned order = largest_order(pfn, end);
		spin_lock(&n->lock);
		free_block(n, nid, pfn, order);
		spin_unlock(&n->lock);
		pfn += 1ULL << order;
	}
}

/* Calls fn for each piece of [pfn, end) that lies in one node. */
static void for_each_node_piece(pfn_t pfn, pfn_t end, void (*fn)(pfn_t, pfn_t, int))
{
	while (pfn < end) {
		paddr_t pa = pfn << PAGE_SHIFT;
		int nid = numa_node_of_phys(pa);
		paddr_t node_end = numa_node_range_end(nid, pa);
		pfn_t stop = node_end == ~0ULL ? pfn + 1 : MIN(end, node_end >> PAGE_SHIFT);
		fn(pfn, stop, nid);
		pfn = stop;
	}
}

static void init_early(pfn_t start, pfn_t end, int nid)
{
	if (start < end) {
		init_struct_pages(start, end, nid);
		mark_reserved(start, end);
	}
}

/* One node's piece of a memory region: counted, and split into the part
 * left to its node's CPU (whole sections past the node's early bytes)
 * and the rest, initialised now. */
static void plan_piece(pfn_t start, pfn_t end, int nid)
{
	nodes[nid].present += end - start;
	if (!early_end[nid])
		early_end[nid] = ALIGN_UP(start + (EARLY_NODE_BYTES >> PAGE_SHIFT), SECTION_PAGES);
	pfn_t d0 = MAX(ALIGN_UP(start, SECTION_PAGES), early_end[nid]);
	pfn_t d1 = ALIGN_DOWN(end, SECTION_PAGES);
	if (d0 >= d1 || deferred_count == MAX_DEFERRED) {
		init_early(start, end, nid);
		return;
	}
	deferred[deferred_count++] = (struct pfn_range){ d0, d1, nid };
	init_early(start, d0, nid);
	init_early(d1, end, nid);
}

/* Frees a node piece of a free range, skipping the deferred ranges. */
static void free_early_piece(pfn_t pfn, pfn_t end, int nid)
{
	for (u32 i = 0; i < deferred_count && pfn < end; i++) {
		const struct pfn_range *d = &deferred[i];
		if (d->end <= pfn || d->start >= end)
			continue;
		free_pfn_range(pfn, MIN(end, d->start), nid);
		pfn = d->end;
	}
	if (pfn < end)
		free_pfn_range(pfn, end, nid);
}

static void free_early_range(paddr_t base, paddr_t end, void *unused)
{
	(void)unused;
	for_each_node_piece(base >> PAGE_SHIFT, end >> PAGE_SHIFT, free_early_piece);
}

void page_alloc_init(void)
{
	const struct memblock_type *mem = &memblock.memory;
	u64 t0 = rdtsc();

	for (int nid = 0; nid < MAX_NODES; nid++)
		nodes[nid].lock = (struct spinlock)SPINLOCK_INIT_CLASS("node free lists", LOCK_NODE);
	for (u32 i = 0; i < mem->count; i++)
		map_vmemmap(mem->regions[i].base, mem->regions[i].base + mem->regions[i].size);
	u64 t1 = rdtsc();
	for (u32 i = 0; i < mem->count; i++)
		for_each_node_piece(mem->regions[i].base >> PAGE_SHIFT,
				    (mem->regions[i].base + mem->regions[i].size) >> PAGE_SHIFT,
				    plan_piece);
	pv_mode_hold_identity_blocks();
	memblock_for_each_free(free_early_range, NULL);
	ready = true;
	u64 t2 = rdtsc();
	u64 later = 0;
	for (u32 i = 0; i < deferred_count; i++)
		later += deferred[i].end - deferred[i].start;
	printk("mmulab: mm: vmemmap %lu us, early struct pages and buddy %lu us, for %lu of %lu "
	       "MiB of RAM; the rest per node after SMP\n", cycles_to_us(t1 - t0),
	       cycles_to_us(t2 - t1), memblock_total(mem) / MiB - (later << PAGE_SHIFT) / MiB,
	       memblock_total(mem) / MiB);
}

/* --- the deferred part, per node --- */

struct node_work {
	u64 nodes;       /* bit per node this CPU initialises */
	u64 us[MAX_NODES]; /* how long each took */
};

static struct node_work work[MAX_CPUS];
static int work_cpu[MAX_NODES]; /* who did the node; -1 none */

static void free_deferred_range(paddr_t base, paddr_t end, void *arg)
{
	const struct pfn_range *d = arg;
	pfn_t start = MAX(d->start, base >> PAGE_SHIFT);
	pfn_t stop = MIN(d->end, end >> PAGE_SHIFT);

	if (start < stop)
		free_pfn_range(start, stop, d->nid);
}

static void init_node_deferred(int nid)
{
	for (u32 i = 0; i < deferred_count; i++) {
		struct pfn_range *d = &deferred[i];
		if (d->nid != nid)
			continue;
		init_struct_pages(d->start, d->end, nid);
		mark_reserved(d->start, d->end);
		memblock_for_each_free(free_deferred_range, d);
	}
}

static void node_worker(void *arg)
{
	struct node_work *w = arg;

	for (int nid = 0; nid < MAX_NODES; nid++) {
		if (!(w->nodes & (1ULL << nid)))
			continue;
		u64 t0 = rdtsc();
		init_node_deferred(nid);
		w->us[nid] = cycles_to_us(rdtsc() - t0);
	}
}

static bool node_has_deferred(int nid)
{
	for (u32 i = 0; i < deferred_count; i++)
		if (deferred[i].nid == nid)
			return true;
	return false;
}

/* The online CPU of node nid with the fewest nodes to do; -1 if none. */
static int idlest_cpu_of(int nid)
{
	int best = -1;

	for (u32 c = 0; c < MAX_CPUS; c++) {
		if (!cpus[c].online || cpus[c].node != nid)
			continue;
		if (best < 0 || __builtin_popcountll(work[c].nodes) <
				__builtin_popcountll(work[best].nodes))
			best = (int)c;
	}
	return best;
}

/* A CPU of the node, or of the nearest node (by distance) with CPUs. */
static int worker_for(int nid)
{
	int order[MAX_NODES];
	int count = numa_fallback_order(nid, order);

	for (int i = 0; i < count; i++) {
		int cpu = idlest_cpu_of(order[i]);
		if (cpu >= 0)
			return cpu;
	}
	return (int)this_cpu()->id;
}

void page_alloc_init_deferred(void)
{
	u32 self = this_cpu()->id;
	u64 t0 = rdtsc();

	for (int nid = 0; nid < nr_nodes(); nid++) {
		work_cpu[nid] = -1;
		if (!node_has_deferred(nid))
			continue;
		work_cpu[nid] = worker_for(nid);
		work[work_cpu[nid]].nodes |= 1ULL << nid;
	}
	for (u32 c = 0; c < MAX_CPUS; c++)
		if (c != self && work[c].nodes)
			smp_call_cpu(c, node_worker, &work[c], false);
	node_worker(&work[self]);
	for (u32 c = 0; c < MAX_CPUS; c++)
		if (c != self && work[c].nodes)
			smp_call_wait(c);
	memblock_retire();
	u64 total = cycles_to_us(rdtsc() - t0);
	for (int nid = 0; nid < nr_nodes(); nid++)
		if (work_cpu[nid] >= 0)
			printk("mmulab: mm: node %d: deferred struct pages and buddy on cpu%d in %lu us\n",
			       nid, work_cpu[nid], work[work_cpu[nid]].us[nid]);
	printk("mmulab: mm: deferred struct pages of every node done in %lu us\n", total);
}

void page_alloc_report(void)
{
	printk("mmulab: mm: %-6s %12s %12s\n", "node", "present KiB", "free KiB");
	for (int nid = 0; nid < nr_nodes(); nid++)
		printk("mmulab: mm: %-6d %12lu %12lu\n", nid, nodes[nid].present * (PAGE_SIZE / KiB),
		       nodes[nid].free * (PAGE_SIZE / KiB));
}
