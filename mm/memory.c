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
 * A huge PMD the range covers whole is handled as one entry; one the range
 * covers in part is split first (split_huge_pmd), and its PTEs handled.
 *
 * Callers hold mm->lock.
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

static void zap_pte_table(struct mm *mm, pmd_t *pmd, vaddr_t va, vaddr_t end,
			  struct zap_batch *b)
{
	pte_t *pte = pte_offset(pmd, va);
	vaddr_t start = va;

	b->count = 0;
	for (; va < end; va += PAGE_SIZE, pte++) {
		pte_t old = ptep_get_and_clear(pte);
		if (!pte_mapped(old))
			continue;
		struct page *p = phys_to_page(pte_paddr(old));
		__atomic_sub_fetch(&p->mapcount, 1, __ATOMIC_RELAXED);
		b->pages[b->count++] = p;
	}
	if (!b->count)
		return;
	flush_tlb_range(&mm->tlb, start, end);
	for (u32 i = 0; i < b->count; i++)
		put_page(b->pages[i]);
}

static bool table_empty(paddr_t table)
{
	return pt_table_empty(phys_to_virt(table));
}

/* Frees a table its caller has just unhooked (cleared the entry above it),
 * after a flush: paging-structure caches may still hold it. */
static void free_table(struct mm *mm, paddr_t table, vaddr_t start, vaddr_t end)
{
	flush_tlb_range(&mm->tlb, start, end);
	put_page(phys_to_page(table));
	mm->table_pages--;
}

static bool covers_pmd(vaddr_t va, vaddr_t next)
{
	return IS_ALIGNED(va, PMD_SIZE) && next - va == PMD_SIZE;
}

static void zap_pmd_range(struct mm *mm, pud_t *pud, vaddr_t va, vaddr_t end,
			  struct zap_batch *b)
{
	pmd_t *pmd = pmd_offset(pud, va);

	for (vaddr_t next; va < end; va = next, pmd++) {
		next = pmd_addr_end(va, end);
		if (pmd_trans_huge(*pmd)) {
			if (covers_pmd(va, next)) {
				zap_huge_pmd(mm, pmd, va);
				continue;
			}
			split_huge_pmd(mm, pmd, va);
		}
		if (!pmd_present(*pmd))
			continue;
		ASSERT(!pmd_leaf(*pmd));
		zap_pte_table(mm, pmd, va, next, b);
		if (table_empty(pmd_paddr(*pmd)))
			free_table(mm, pmd_paddr(pmdp_get_and_clear(pmd)), ALIGN_DOWN(va, PMD_SIZE),
				   ALIGN_DOWN(va, PMD_SIZE) + PMD_SIZE);
	}
}

static void zap_pud_range(struct mm *mm, pgd_t *pgd, vaddr_t va, vaddr_t end,
			  struct zap_batch *b)
{
	pud_t *pud = pud_offset(pgd, va);

	for (vaddr_t next; va < end; va = next, pud++) {
		next = pud_addr_end(va, end);
		if (!pud_present(*pud))
			continue;
		zap_pmd_range(mm, pud, va, next, b);
		if (table_empty(pud_paddr(*pud))) {
			/* Every zapped huge PMD took its deposit with it. */
			ASSERT(!huge_pmd_deposits(phys_to_virt(pud_paddr(*pud))));
			free_table(mm, pud_paddr(pudp_get_and_clear(pud)), ALIGN_DOWN(va, PUD_SIZE),
				   ALIGN_DOWN(va, PUD_SIZE) + PUD_SIZE);
		}
	}
}

void zap_range(struct mm *mm, vaddr_t va, vaddr_t end)
{
	/* Per call, on the stack (4 KiB of the 16): zaps of different address
	 * spaces run at once under different locks, so a shared batch would
	 * hand one zap's pages to the other (tlb.zaps_of_two_spaces_at_once). */
	struct zap_batch batch;
	struct zap_batch *b = &batch;
	pgd_t *pgd = pgd_offset(mm->root, va);

	ASSERT(end <= USER_TOP);
	for (vaddr_t next; va < end; va = next, pgd++) {
		next = pgd_addr_end(va, end);
		if (!pgd_present(*pgd))
			continue;
		zap_pud_range(mm, pgd, va, next, b);
		if (table_empty(pgd_paddr(*pgd)))
			free_table(mm, pgd_paddr(pgdp_get_and_clear(pgd)),
				   ALIGN_DOWN(va, 1ULL << PGD_SHIFT),
				   ALIGN_DOWN(va, 1ULL << PGD_SHIFT) + (1ULL << PGD_SHIFT));
	}
}

/* --- walking every leaf of a range --- */

struct range_ops {
	/* One PTE slot; true when other CPUs must flush. */
	bool (*pte)(struct mm *mm, pte_t *pte, vaddr_t va, void *arg);
	/* A huge PMD the range covers whole: false to have it split and its
	 * PTEs visited instead; sets *flush when other CPUs must flush. */
	bool (*huge)(struct mm *mm, pmd_t *pmd, vaddr_t va, void *arg, bool *flush);
};

/* Calls ops on every PTE slot and huge PMD in [va, end) (tables not
 * allocated are skipped); returns true if one asked for a flush. */
static bool for_each_pte(struct mm *mm, vaddr_t va, vaddr_t end, const struct range_ops *ops,
			 void *arg)
{
	bool flush = false;

	while (va < end) {
		struct pt_walk w = pt_walk(mm->root, va);
		if (w.levels < 3) {
			/* No table at some level: skip to the end of its span. */
			u64 span = w.levels == 1 ? 1ULL << PGD_SHIFT : PUD_SIZE;
			va = ALIGN_DOWN(va, span) + span;
			continue;
		}
		pmd_t *pmd = pt_pmd_lookup(mm->root, va);
		vaddr_t next = pmd_addr_end(va, end);
		if (pmd_trans_huge(*pmd) &&
		    !(covers_pmd(va, next) && ops->huge(mm, pmd, va, arg, &flush)))
			split_huge_pmd(mm, pmd, va);
		if (pmd_present(*pmd) && !pmd_leaf(*pmd)) {
			pte_t *pte = pte_offset(pmd, va);
			for (vaddr_t a = va; a < next; a += PAGE_SIZE, pte++)
				flush |= ops->pte(mm, pte, a, arg);
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
	static const struct range_ops ops = { protect_one, protect_huge };

	if (for_each_pte(mm, start, end, &ops, &prot))
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
	pte_t *child_pte = mm_pte_alloc(c->child, va);
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

static bool copy_huge(struct mm *parent, pmd_t *pmd, vaddr_t va, void *arg, bool *flush)
{
	struct copy_ctx *c = arg;

	return copy_huge_pmd(parent, c->child, pmd, va, flush);
}

void copy_range(struct mm *parent, struct mm *child, vaddr_t start, vaddr_t end, u32 prot)
{
	static const struct range_ops ops = { copy_one, copy_huge };
	struct copy_ctx c = { child, prot, false };

	if (for_each_pte(parent, start, end, &ops, &c))
		flush_tlb_range(&parent->tlb, start, end);
}
