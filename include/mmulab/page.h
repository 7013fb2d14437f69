#ifndef MMULAB_PAGE_H
#define MMULAB_PAGE_H

/*
 * struct page: one per frame of RAM, in a virtually contiguous array at
 * VMEMMAP_BASE indexed by frame number (only the parts covering RAM are
 * mapped). The per-node buddy allocator hands out frames as struct pages.
 */

#include <mmulab/types.h>
#include <mmulab/layout.h>
#include <mmulab/spinlock.h>

#define MAX_NODES 64
#define MAX_ORDER 10 /* largest block: 4 MiB */
#define HUGE_ORDER 9 /* 2 MiB */
#define NO_NODE (-1)

enum page_flags {
	PG_reserved = 1 << 0, /* never in the allocator: firmware, kernel image... */
	PG_buddy = 1 << 1,    /* head of a free block; order holds its order */
	PG_head = 1 << 2,     /* head of a compound (multi-page) allocation */
	PG_tail = 1 << 3,     /* part of one; head points at the head */
	PG_poisoned = 1 << 4, /* free, and filled with PAGE_POISON since it was freed */
	PG_lazyfree = 1 << 5, /* lazily freed (mm_lazyfree): reclaim may drop it while clean */
};

/*
 * Every frame freed to the buddy allocator is filled with this value and
 * checked when it is handed out again: a write through a stale translation
 * to a freed frame shows as damage naming the frame, and a stale read sees
 * this value. Frames free since boot were never allocated and carry no
 * poison (filling all of RAM at boot would cost seconds under TCG).
 */
#define PAGE_POISON 0xaaaaaaaaaaaaaaaaULL

struct page {
	u32 flags;
	s32 refcount;
	s32 mapcount; /* page-table entries mapping it */
	s32 pincount; /* pins (the GUP analogue) */
	u16 node;
	u8 order;
	u8 pad0;
	u16 last_cpu;  /* last accessing CPU and node, for the NUMA */
	u16 last_node; /* migration filter */
	union {
		struct {
			struct page *next, *prev; /* free list, while free */
		};
		/* A page-table page's lock (split page-table locks): a table is never
		 * free while in use, so its lock costs no space of its own. */
		struct spinlock ptl;
	};
	union {
		struct page *head; /* compound head, for tails */
		/* A PMD table: the first table deposited with its huge PMDs; a
		 * deposited table: the next one (mm/huge_memory.c). */
		struct page *deposit;
	};
	u64 private;
} __aligned(64);
_Static_assert(sizeof(struct page) == 64, "struct page is one cache line");

#define vmemmap ((struct page *)VMEMMAP_BASE)

typedef u64 pfn_t;

static inline struct page *pfn_to_page(pfn_t pfn) { return vmemmap + pfn; }
static inline pfn_t page_to_pfn(const struct page *p) { return (pfn_t)(p - vmemmap); }
static inline paddr_t page_to_phys(const struct page *p) { return page_to_pfn(p) << PAGE_SHIFT; }
static inline struct page *phys_to_page(paddr_t pa) { return pfn_to_page(pa >> PAGE_SHIFT); }
static inline int page_to_nid(const struct page *p) { return p->node; }
static inline void *page_address(const struct page *p)
{
	return (void *)(DIRECT_MAP_BASE + page_to_phys(p));
}

/* True when pfn is RAM that has a struct page. */
bool pfn_valid(pfn_t pfn);

enum alloc_flags {
	ALLOC_ZERO = 1 << 0,      /* zero the block */
	ALLOC_THISNODE = 1 << 1,  /* no fallback to other nodes: NULL instead */
	ALLOC_COMPOUND = 1 << 2,  /* mark head and tails (huge pages) */
};

/* A block of 2^order frames, from node (NO_NODE: the boot CPU's node) or
 * the nearest node with room, by distance. Refcount 1; NULL when none. */
struct page *alloc_pages(int node, unsigned order, unsigned flags);
/* Returns a block from alloc_pages. Panics on a double free, a reserved
 * frame, or a page still mapped or referenced. */
void free_pages(struct page *page, unsigned order);

/* Makes a block from alloc_pages (not ALLOC_COMPOUND) 2^order order-0
 * pages, each with its own reference, each freed on its own (put_page);
 * the buddy allocator merges them back as they return. */
void split_page(struct page *p, unsigned order);

/* Reference counting for pages shared by mappings and pins: the last
 * put returns the page (order 0) to the allocator. */
static inline void get_page(struct page *p)
{
	__atomic_add_fetch(&p->refcount, 1, __ATOMIC_RELAXED);
}
void put_page(struct page *p);

/* True when p is free and still holds the poison in every byte; else
 * false, with the first damaged byte's offset in *offset (PAGE_SIZE when
 * the page is not a poisoned free page at all). */
bool page_poison_intact(const struct page *p, u32 *offset);
/* Poisoned frames found damaged when they were handed out again. */
u64 page_poison_damaged(void);

u64 node_free_pages(int node);
u64 node_present_pages(int node);
int nr_nodes(void);

/* Boot, on the boot CPU: maps the struct page array for all memblock
 * memory, initialises and frees what boot needs (the first part of every
 * node); allocation works from here on. */
void page_alloc_init(void);
/* Boot, once the other CPUs are online: a CPU per node (a CPU-less node:
 * one of the nearest node with CPUs) initialises and frees the rest of
 * its node, all at once; returns when every node is done, and retires
 * memblock. */
void page_alloc_init_deferred(void);
bool page_alloc_ready(void);
void page_alloc_report(void);

#endif
