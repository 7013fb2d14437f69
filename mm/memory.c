/*
 * Range operations on an address space's user half, one small function per
 * level, each looping with next = pXd_addr_end(va, end):
 *
 *  - zap: clear entries, then flush, then drop the pages, then free tables
 *    that became empty. The order matters: a page or a page-table page may
 *    only be reused once no CPU can still translate through it (the SDM's
 *    rule; Linux's August 2018 tlb fixes were about the table half of it).
 *  - change_protection: rebuild entries with a VMA's new permissions;
 *    PROT_NONE keeps the frame in a protnone entry.
 *  - copy (fork): share every mapped page read-only, or copy it at once
 *    when it is pinned, so the pin keeps following the parent.
 *
 * Locks: zap_range, change_protection and copy_range run under the
 * exclusive mmap_lock (they may free tables); zap_range_keep_tables under
 * the shared one, beside faults. Every entry changes under the lock of the
 * table page holding it (mm/ptlock.c). The upper levels are looked at
 * without locks; a PMD is looked at without its lock too, and a huge one
 * is handled under pmd_lock after a second look (mm/huge_memory.c).
 *
 *  - lazy free and its reclaim (MADV_FREE): clean and mark, then drop
 *    what is still clean (see the end of this file).
 *
 * A huge PMD the range covers whole is handled as one entry; one the range
 * covers in part is split first (split_huge_pmd), and its PTEs handled.
 */

#include <mmulab/memory.h>
#include <mmulab/huge_memory.h>
#include <mmulab/kernel.h>
#include <mmulab/page.h>
#include <mmulab/pgtable.h>
#include <mmulab/string.h>

/* The leaf bits of an anonymous private page in a VMA with prot: write
 * only when the page is known to be this mapping's alone (exclusive). */
u64 anon_leaf_bits(u32 prot, bool exclusive)
{
	u32 p = prot | VM_USER;

	if (!exclusive)
		p &= ~VM_WRITE;
	return pt_leaf_bits(p);
}

/* Exclusive: this mapping holds the only reference (no other mapping, no
 * pin). The reference count decides, never the map count alone: it is
 * what the write-fault path trusts before writing in place. */
bool page_exclusive(const struct page *p)
{
	return __atomic_load_n(&p->refcount, __ATOMIC_ACQUIRE) == 1;
}

/* Owned by this one mapping, pins of it aside: one mapping, and no
 * reference beyond that mapping's and the pins'. mprotect may give such a
 * page its write permission back directly. It must: a pinned page left
 * read-only would be copied by the next write fault (the reference count
 * says "shared"), and the pin would be left on a frame the process no
 * longer maps. Linux 6.x tracks this as PageAnonExclusive. */
bool page_owned_by_mapping(const struct page *p)
{
	s32 refs = __atomic_load_n(&p->refcount, __ATOMIC_ACQUIRE);
	return p->mapcount == 1 && refs == 1 + p->pincount;
}

/* --- zap --- */

struct zap_batch {
	struct page *pages[PT_ENTRIES];
	u32 count;
};

/* Clears [va, end) of one PTE table under its lock and flushes before
 * the lock is dropped, so once it is dropped no CPU translates through a
 * cleared entry; the pages are freed after that. */
static void zap_pte_table(struct mm *mm, pmd_t *pmd, vaddr_t va, vaddr_t end,
			  struct zap_batch *b)
{
	struct spinlock *ptl;
	pte_t *pte = pte_offset_map_lock(mm, pmd, va, &ptl);
	vaddr_t start = va;

	b->count = 0;
	if (!pte)
		panic("zap: PMD for V0x%lx changed under a lockless look", va);
	for (; va < end; va += PAGE_SIZE, pte++) {
		pte_t old = ptep_get_and_clear(pte);
		if (!pte_mapped(old))
			continue;
		struct page *p = phys_to_page(pte_paddr(old));
		__atomic_sub_fetch(&p->mapcount, 1, __ATOMIC_RELAXED);
		b->pages[b->count++] = p;
	}
	if (b->count)
		flush_tlb_range(&mm->tlb, start, end);
	pte_unmap_unlock(pte, ptl);
	for (u32 i = 0; i < b->count; i++)
		put_page(b->pages[i]);
}

static bool table_empty(paddr_t table)
{
	return pt_table_empty(phys_to_virt(table));
}

/* Frees a table its caller has just unhooked (cleared the entry above it,
 * under the lock of the table holding that entry), after a flush:
 * paging-structure caches may still hold it. */
static void free_table(struct mm *mm, paddr_t table, vaddr_t start, vaddr_t end)
{
	flush_tlb_range(&mm->tlb, start, end);
	mm_table_free(mm, table);
}

static bool covers_pmd(vaddr_t va, vaddr_t next)
{
	return IS_ALIGNED(va, PMD_SIZE) && next - va == PMD_SIZE;
}

/* The entry-clearing steps, each under the lock of the table holding the
 * entry; the table's own lock (in its struct page) must be dropped before
 * the table is freed. */
static paddr_t unhook_pmd(struct mm *mm, pmd_t *pmd)
{
	struct spinlock *ptl = pmd_lock(mm, pmd);
	paddr_t table = pmd_paddr(pmdp_get_and_clear(pmd));

	spin_unlock(ptl);
	return table;
}

static paddr_t unhook_pud(pud_t *pud)
{
	struct spinlock *l = table_lock_of(pud);

	spin_lock(l);
	paddr_t table = pud_paddr(pudp_get_and_clear(pud));
	spin_unlock(l);
	return table;
}

static paddr_t unhook_pgd(pgd_t *pgd)
{
	struct spinlock *l = table_lock_of(pgd);

	spin_lock(l);
	paddr_t table = pgd_paddr(pgdp_get_and_clear(pgd));
	spin_unlock(l);
	return table;
}

/*
 * The PMD step, shared by munmap's zap (free_tables) and DONTNEED's. The
 * PMD is looked at without its lock: none means nothing is mapped under
 * it and the 2 MiB are skipped (which is why nothing may make a live PMD
 * read none, even for a moment: seed 001). A huge or invalid-huge PMD the
 * range covers whole is zapped as one entry under pmd_lock (zap_huge_pmd
 * looks again); one it covers in part is split, and the PTE step runs on
 * whatever the PMD is once the split (ours or a racer's) is done.
 */
/* A huge or invalid-huge PMD: zapped whole when [va, next) covers it (true),
 * else split. Loops while a racing fault makes it huge again (after a
 * racing zap of the whole 2 MiB left it none). */
static bool zap_huge_or_split(struct mm *mm, pmd_t *pmd, vaddr_t va, vaddr_t next)
{
	while (pmd_trans_huge(pmdp_get(pmd))) {
		if (covers_pmd(va, next) && zap_huge_pmd(mm, pmd, va))
			return true;
		split_huge_pmd(mm, pmd, va);
	}
	return false;
}

static void zap_pmd_range(struct mm *mm, pud_t *pud, vaddr_t va, vaddr_t end,
			  struct zap_batch *b, bool free_tables)
{
	pmd_t *pmd = pmd_offset(pud, va);

	for (vaddr_t next; va < end; va = next, pmd++) {
		next = pmd_addr_end(va, end);
		if (zap_huge_or_split(mm, pmd, va, next))
			continue;
		pmd_t m = pmdp_get(pmd);
		if (pmd_none(m))
			continue;
		ASSERT(pmd_present(m) && !pmd_leaf(m));
		zap_pte_table(mm, pmd, va, next, b);
		if (free_tables && table_empty(pmd_paddr(*pmd)))
			free_table(mm, unhook_pmd(mm, pmd), ALIGN_DOWN(va, PMD_SIZE),
				   ALIGN_DOWN(va, PMD_SIZE) + PMD_SIZE);
	}
}

static void zap_pud_range(struct mm *mm, pgd_t *pgd, vaddr_t va, vaddr_t end,
			  struct zap_batch *b, bool free_tables)
{
	pud_t *pud = pud_offset(pgd, va);

	for (vaddr_t next; va < end; va = next, pud++) {
		next = pud_addr_end(va, end);
		if (!pud_present(pudp_get(pud)))
			continue;
		zap_pmd_range(mm, pud, va, next, b, free_tables);
		if (free_tables && table_empty(pud_paddr(*pud))) {
			/* Every zapped huge PMD took its deposit with it. */
			ASSERT(!huge_pmd_deposits(phys_to_virt(pud_paddr(*pud))));
			free_table(mm, unhook_pud(pud), ALIGN_DOWN(va, PUD_SIZE),
				   ALIGN_DOWN(va, PUD_SIZE) + PUD_SIZE);
		}
	}
}

static void zap(struct mm *mm, vaddr_t va, vaddr_t end, bool free_tables)
{
	/* Per call, on the stack (4 KiB of the 16): zaps of different address
	 * spaces, and DONTNEEDs of one, run at once, so a shared batch would
	 * hand one zap's pages to the other (tlb.zaps_of_two_spaces_at_once). */
	struct zap_batch batch;
	struct zap_batch *b = &batch;
	pgd_t *pgd = pgd_offset(mm->root, va);

	ASSERT(end <= USER_TOP);
	for (vaddr_t next; va < end; va = next, pgd++) {
		next = pgd_addr_end(va, end);
		if (!pgd_present(pgdp_get(pgd)))
			continue;
		zap_pud_range(mm, pgd, va, next, b, free_tables);
		if (free_tables && table_empty(pgd_paddr(*pgd)))
			free_table(mm, unhook_pgd(pgd), ALIGN_DOWN(va, 1ULL << PGD_SHIFT),
				   ALIGN_DOWN(va, 1ULL << PGD_SHIFT) + (1ULL << PGD_SHIFT));
	}
}

void zap_range(struct mm *mm, vaddr_t va, vaddr_t end)
{
	mmap_assert_write_locked(mm);
	zap(mm, va, end, true);
}

void zap_range_keep_tables(struct mm *mm, vaddr_t va, vaddr_t end)
{
	mmap_assert_locked(mm);
	zap(mm, va, end, false);
}

/* --- walking every leaf of a range --- */

struct pte_walker {
	/* Before a PTE table's lock is taken (may allocate, take other locks). */
	void (*before_table)(struct mm *mm, pte_t *pte, vaddr_t va, vaddr_t end, void *arg);
	/* Each slot, under its table's lock; true asks for a flush. */
	bool (*fn)(struct mm *mm, pte_t *pte, vaddr_t va, void *arg);
	/* A huge PMD the range covers whole, no lock held: false to have it
	 * split and its PTEs visited instead; sets *flush when other CPUs
	 * must flush. */
	bool (*huge)(struct mm *mm, pmd_t *pmd, vaddr_t va, void *arg, bool *flush);
};

/* Calls w->huge on every huge PMD the range covers whole and w->fn on every
 * PTE slot that exists in [va, end) (tables not allocated are skipped; a
 * huge PMD covered in part is split first), one table at a time under its
 * lock; returns true if one asked for a flush. */
static bool for_each_pte(struct mm *mm, vaddr_t va, vaddr_t end, const struct pte_walker *w,
			 void *arg)
{
	bool flush = false;

	while (va < end) {
		struct pt_walk pw = pt_walk(mm->root, va);
		if (pw.levels < 3) {
			/* No table at some level: skip to the end of its span. */
			u64 span = pw.levels == 1 ? 1ULL << PGD_SHIFT : PUD_SIZE;
			va = ALIGN_DOWN(va, span) + span;
			continue;
		}
		pmd_t *pmd = mm_pmd_lookup(mm, va);
		vaddr_t next = pmd_addr_end(va, end);
		if (pmd_trans_huge(pmdp_get(pmd)) &&
		    !(covers_pmd(va, next) && w->huge(mm, pmd, va, arg, &flush)))
			split_huge_pmd(mm, pmd, va);
		pmd_t m = pmdp_get(pmd);
		if (pmd_present(m) && !pmd_leaf(m)) {
			if (w->before_table)
				w->before_table(mm, pte_offset(pmd, va), va, next, arg);
			struct spinlock *ptl;
			pte_t *pte = pte_offset_map_lock(mm, pmd, va, &ptl);
			ASSERT(pte); /* tables change only under the exclusive mmap_lock we hold */
			pte_t *first = pte;
			/* In the read-only mode the callbacks' stores go to the
			 * validator as one batch per table (a no-op natively);
			 * each slot is visited once, and an exchange sends the
			 * queue first. */
			pv_mmu_batch_begin();
			for (vaddr_t a = va; a < next; a += PAGE_SIZE, pte++)
				flush |= w->fn(mm, pte, a, arg);
			pv_mmu_batch_end();
			pte_unmap_unlock(first, ptl);
		}
		va = next;
	}
	return flush;
}

/* --- change_protection --- */

static bool protect_one(struct mm *mm, pte_t *pte, vaddr_t va, void *arg)
{
	u32 prot = *(u32 *)arg;
	pte_t old = *pte;

	(void)mm;
	(void)va;
	if (!pte_mapped(old))
		return false;
	if (prot == 0) {
		if (pte_protnone(old))
			return false;
		set_pte(pte, pte_mkprotnone(old));
		return true;
	}
	struct page *p = phys_to_page(pte_paddr(old));
	pte_t new = pte_modify(old, anon_leaf_bits(prot, page_owned_by_mapping(p)));
	set_pte(pte, new);
	/* Only a lost permission needs other CPUs to flush; a gained one at
	 * worst costs a spurious fault (SDM Vol. 3A 4.10.4.3). */
	return pte_protnone(old) ? false : (pte_write(old) && !pte_write(new)) ||
					    (pte_exec(old) && !pte_exec(new));
}

static bool protect_huge(struct mm *mm, pmd_t *pmd, vaddr_t va, void *arg, bool *flush)
{
	bool split;

	*flush |= change_huge_pmd(mm, pmd, va, *(u32 *)arg, &split);
	return !split;
}

void change_protection(struct mm *mm, vaddr_t start, vaddr_t end, u32 prot)
{
	static const struct pte_walker w = { NULL, protect_one, protect_huge };

	mmap_assert_write_locked(mm);
	if (for_each_pte(mm, start, end, &w, &prot))
		flush_tlb_range(&mm->tlb, start, end);
}

/* --- fork --- */

struct copy_ctx {
	struct mm *child;
	u32 prot;
	bool downgraded;
};

static bool copy_one(struct mm *parent, pte_t *pte, vaddr_t va, void *arg)
{
	struct copy_ctx *c = arg;
	pte_t old = *pte;

	(void)parent;
	if (!pte_mapped(old))
		return false;
	struct page *p = phys_to_page(pte_paddr(old));
	pte_t *child_pte = pte_offset(mm_pmd_lookup(c->child, va), va);
	if (p->pincount) {
		/* A pinned page stays the parent's: the child gets its copy now,
		 * so a later parent write needs no COW that would leave the pin
		 * behind on a frame the parent no longer maps. */
		struct page *copy = alloc_pages(c->child->home_node, 0, 0);
		if (!copy)
			panic("mm_fork: out of memory copying a pinned page");
		memcpy(page_address(copy), page_address(p), PAGE_SIZE);
		copy->mapcount = 1;
		pte_t e = pte_mkleaf(page_to_phys(copy), anon_leaf_bits(c->prot, true));
		set_pte(child_pte, pte_protnone(old) ? pte_mkprotnone(e) : e);
		return false;
	}
	get_page(p);
	__atomic_add_fetch(&p->mapcount, 1, __ATOMIC_RELAXED);
	pte_t shared = pte_wrprotect(old);
	set_pte(child_pte, shared);
	if (pte_write(old)) {
		set_pte(pte, shared);
		return true;
	}
	return false;
}

/* The child's table is allocated before the parent's table lock is taken
 * (the lock order puts upper-level table locks first), and only where the
 * parent maps something: with the exclusive mmap_lock held, only the
 * hardware's A/D bits can change under this look. */
static void copy_prepare_table(struct mm *parent, pte_t *pte, vaddr_t va, vaddr_t end, void *arg)
{
	struct copy_ctx *c = arg;

	(void)parent;
	for (; va < end; va += PAGE_SIZE, pte++)
		if (pte_mapped(ptep_get(pte))) {
			mm_pte_alloc(c->child, va);
			return;
		}
}

static bool copy_huge(struct mm *parent, pmd_t *pmd, vaddr_t va, void *arg, bool *flush)
{
	struct copy_ctx *c = arg;

	return copy_huge_pmd(parent, c->child, pmd, va, flush);
}

void copy_range(struct mm *parent, struct mm *child, vaddr_t start, vaddr_t end, u32 prot)
{
	static const struct pte_walker w = { copy_prepare_table, copy_one, copy_huge };
	struct copy_ctx c = { child, prot, false };

	mmap_assert_write_locked(parent);
	if (for_each_pte(parent, start, end, &w, &c))
		flush_tlb_range(&parent->tlb, start, end);
}

/* --- lazy free and reclaim --- */

struct lazyfree_stats lazyfree_stats;

static void count_pages(u64 *counter, u64 n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* Mapped here alone and not pinned: lazy free may mark it, reclaim drop it. */
static bool page_lazyfree_candidate(const struct page *p)
{
	return p->mapcount == 1 && page_exclusive(p);
}

/* The D bit goes through an exchange (the slot is none in between, and a
 * write faults and waits for this table's lock), never a read then a
 * store, which would lose a D the CPU sets in between. A write through a
 * translation still cached dirty until the walk's flush races the lazy
 * free itself, and may be discarded, as in Linux. */
static bool lazyfree_one(struct mm *mm, pte_t *pte, vaddr_t va, void *arg)
{
	pte_t e = ptep_get(pte);

	(void)mm, (void)va, (void)arg;
	if (!pte_present(e))
		return false;
	struct page *p = phys_to_page(pte_paddr(e));
	if (!page_lazyfree_candidate(p))
		return false;
	set_pte(pte, pte_mkclean(ptep_get_and_clear(pte)));
	__atomic_or_fetch(&p->flags, PG_lazyfree, __ATOMIC_RELAXED);
	count_pages(&lazyfree_stats.pglazyfree, 1);
	return true;
}

static bool lazyfree_huge(struct mm *mm, pmd_t *pmd, vaddr_t va, void *arg, bool *flush)
{
	(void)arg, (void)flush; /* it flushes the 2 MiB itself */
	return lazyfree_huge_pmd(mm, pmd, va);
}

void lazyfree_range(struct mm *mm, vaddr_t start, vaddr_t end)
{
	static const struct pte_walker w = { NULL, lazyfree_one, lazyfree_huge };

	mmap_assert_locked(mm);
	if (for_each_pte(mm, start, end, &w, NULL))
		flush_tlb_range(&mm->tlb, start, end);
}

/* Drops the lazily freed, still clean pages of [va, end) in one PTE table:
 * each entry is exchanged for none under the table's lock and the D bit
 * of the returned value decides (set: written since, put back, unmarked);
 * the pages are freed after the flush, as zap_pte_table does. */
static void reclaim_pte_table(struct mm *mm, pmd_t *pmd, vaddr_t va, vaddr_t end,
			      struct zap_batch *b)
{
	const vaddr_t start = va;
	struct spinlock *ptl;
	pte_t *pte = pte_offset_map_lock(mm, pmd, va, &ptl);

	b->count = 0;
	if (!pte)
		return; /* not a table any more: nothing of this pass's to drop */
	for (; va < end; va += PAGE_SIZE, pte++) {
		pte_t e = ptep_get(pte);
		if (!pte_present(e))
			continue;
		struct page *p = phys_to_page(pte_paddr(e));
		if (!(p->flags & PG_lazyfree) || !page_lazyfree_candidate(p))
			continue;
		pte_t old = ptep_get_and_clear(pte);
		if (pte_dirty(old)) {
			set_pte(pte, old);
			__atomic_and_fetch(&p->flags, ~(u32)PG_lazyfree, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_sub_fetch(&p->mapcount, 1, __ATOMIC_RELAXED);
		b->pages[b->count++] = p;
	}
	if (!b->count) {
		pte_unmap_unlock(pte, ptl);
		return;
	}
	flush_tlb_range(&mm->tlb, start, end);
	pte_unmap_unlock(pte, ptl);
	for (u32 i = 0; i < b->count; i++)
		put_page(b->pages[i]);
	count_pages(&lazyfree_stats.pglazyfreed, b->count);
}

void reclaim_lazyfree_range(struct mm *mm, vaddr_t va, vaddr_t end)
{
	struct zap_batch batch;

	mmap_assert_locked(mm);
	while (va < end) {
		const vaddr_t next = pmd_addr_end(va, end);
		pmd_t *pmd = mm_pmd_lookup(mm, va);
		bool huge_done = pmd && pmd_trans_huge(pmdp_get(pmd)) &&
				 reclaim_huge_pmd(mm, pmd, va);
		if (pmd && !huge_done) {
			pmd_t m = pmdp_get(pmd);
			if (pmd_present(m) && !pmd_leaf(m))
				reclaim_pte_table(mm, pmd, va, next, &batch);
		}
		va = next;
	}
}
