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
 */

#include <mmulab/page.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/numa.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/spinlock.h>
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

static void poison_block(struct page *p, unsigned order)
{
	for (u64 i = 0; i < (1ULL << order); i++) {
		u64 *w = page_address(&p[i]);
		for (u32 j = 0; j < PAGE_SIZE / 8; j++)
			w[j] = PAGE_POISON;
		p[i].flags |= PG_poisoned;
	}
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
		printk("mmulab: page_alloc: free frame P0x%lx written after it was freed: byte +0x%x "
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
	release_block(p, 0);
}

void free_pages(struct page *p, unsigned order)
{
	check_free(p, order);
	p->refcount = 0;
	release_block(p, order);
}

/* --- boot --- */

static void map_vmemmap(paddr_t base, paddr_t end)
{
	vaddr_t va = ALIGN_DOWN((vaddr_t)pfn_to_page(base >> PAGE_SHIFT), PAGE_SIZE);
	vaddr_t va_end = ALIGN_UP((vaddr_t)pfn_to_page(end >> PAGE_SHIFT), PAGE_SIZE);

	for (; va < va_end; va += PAGE_SIZE)
		if (!pt_walk(kernel_root(), va).leaf_size)
			pt_map(kernel_root(), va, kernel_frame_alloc(), PAGE_SIZE, PAGE_SIZE,
			       VM_READ | VM_WRITE | VM_GLOBAL);
}

/* Every page of RAM starts reserved, on its node; freeing to the buddy
 * allocator is what makes a page allocatable. */
static void init_struct_pages(paddr_t base, paddr_t end)
{
	paddr_t node_end = 0;
	int nid = 0;

	for (pfn_t pfn = base >> PAGE_SHIFT; pfn < end >> PAGE_SHIFT; pfn++) {
		paddr_t pa = pfn << PAGE_SHIFT;
		if (pa >= node_end) { /* one lookup per node range, not per page */
			nid = numa_node_of_phys(pa);
			node_end = numa_node_range_end(nid, pa);
			if (node_end == ~0ULL)
				node_end = pa + PAGE_SIZE;
		}
		struct page *p = pfn_to_page(pfn);
		memset(p, 0, sizeof(*p));
		p->flags = PG_reserved;
		p->node = (u16)nid;
		nodes[nid].present++;
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

static void release_range(paddr_t base, paddr_t end, void *unused)
{
	(void)unused;
	pfn_t pfn = base >> PAGE_SHIFT;
	pfn_t last = end >> PAGE_SHIFT;

	while (pfn < last) {
		int nid = numa_node_of_phys(pfn << PAGE_SHIFT);
		pfn_t node_end = MIN(last, numa_node_range_end(nid, pfn << PAGE_SHIFT) >> PAGE_SHIFT);
		unsigned order = largest_order(pfn, node_end);
		for (u64 i = 0; i < (1ULL << order); i++)
			pfn_to_page(pfn + i)->flags &= ~PG_reserved;
		free_block(&nodes[nid], nid, pfn, order);
		pfn += 1ULL << order;
	}
}

void page_alloc_init(void)
{
	const struct memblock_type *mem = &memblock.memory;
	u64 t0 = rdtsc();

	for (u32 i = 0; i < mem->count; i++)
		map_vmemmap(mem->regions[i].base, mem->regions[i].base + mem->regions[i].size);
	for (u32 i = 0; i < mem->count; i++)
		init_struct_pages(mem->regions[i].base, mem->regions[i].base + mem->regions[i].size);
	u64 t1 = rdtsc();
	memblock_for_each_free(release_range, NULL);
	memblock_retire();
	ready = true;
	u64 t2 = rdtsc();
	printk("mmulab: mm: struct page init %lu us, buddy init %lu us, for %lu MiB of RAM\n",
	       cycles_to_us(t1 - t0), cycles_to_us(t2 - t1), memblock_total(mem) / MiB);
}

void page_alloc_report(void)
{
	printk("mmulab: mm: %-6s %12s %12s\n", "node", "present KiB", "free KiB");
	for (int nid = 0; nid < nr_nodes(); nid++)
		printk("mmulab: mm: %-6d %12lu %12lu\n", nid, nodes[nid].present * (PAGE_SIZE / KiB),
		       nodes[nid].free * (PAGE_SIZE / KiB));
}
