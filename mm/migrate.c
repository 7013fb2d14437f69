/*
 * Page migration between nodes. The order is the point:
 *
 *   1. refuse a page with any reference beyond its one mapping: a pinned
 *      page (a device may be writing it) or a shared one never moves;
 *   2. replace the entry with a migration entry and shoot down every CPU
 *      that may translate it, BEFORE copying: a CPU still holding the old
 *      translation could otherwise write to the old frame after its
 *      contents were copied, and the write would be lost (Linux's
 *      December 2013 fix for the same race);
 *   3. copy, install the new frame, then drop the old page.
 *
 * Everything runs under the lock of the PTE table holding the entry (and
 * the shared mmap_lock), so a fault on the migration entry just waits for
 * that lock, and sees the new entry.
 */

#include <mmulab/numa_balance.h>
#include <mmulab/bugs.h>
#include <mmulab/huge_memory.h>
#include <mmulab/kernel.h>
#include <mmulab/memory.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>

BUG_SWITCH(migrate_copy_before_flush,
	   "migration copies the page before the shootdown: a CPU with a stale translation "
	   "writes to the old frame after the copy (the race of Linux's December 2013 fix)");

struct numa_stats numa_stats;

static void count(u64 *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

bool migrate_one(struct mm *mm, pte_t *pte, vaddr_t addr, int node)
{
	pte_t old = *pte;
	struct page *page = phys_to_page(pte_paddr(old));
	int from = page_to_nid(page);

	if (page->refcount != 1 || page->mapcount != 1) {
		count(&numa_stats.migrate_refused_pinned);
		return false;
	}
	struct page *copy = alloc_pages(node, 0, ALLOC_THISNODE);
	if (!copy) {
		count(&numa_stats.migrate_refused_nomem);
		return false;
	}
	vaddr_t va = ALIGN_DOWN(addr, PAGE_SIZE);
	if (BUG_ACTIVE(migrate_copy_before_flush))
		memcpy(page_address(copy), page_address(page), PAGE_SIZE);
	set_pte(pte, pte_mkmigration(old));
	flush_tlb_range(&mm->tlb, va, va + PAGE_SIZE);
	if (!BUG_ACTIVE(migrate_copy_before_flush))
		memcpy(page_address(copy), page_address(page), PAGE_SIZE);
	copy->mapcount = 1;
	copy->last_cpu = page->last_cpu;
	copy->last_node = page->last_node;
	set_pte(pte, pte_set_paddr(old, page_to_phys(copy)));
	page->mapcount = 0;
	put_page(page);
	count(&numa_stats.pgmigrate_success);
	count(&numa_stats.matrix[from][node]);
	return true;
}

static bool huge_page_movable(const struct page *p)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (p[i].refcount != 1 || p[i].mapcount != 1)
			return false;
	return true;
}

/*
 * The whole 2 MiB of a huge hint, in one piece. The entry is protnone and
 * the scanner that made it so flushed every CPU before returning: no CPU
 * holds or can load a translation of the old frames, and every fault on
 * the range waits for the pmd_lock held here; so the copy needs no
 * migration entry and no shootdown of its own. Any sub-page with another
 * user (a pin, a second mapping) refuses the whole move.
 */
bool migrate_huge_pmd(struct mm *mm, pmd_t *pmd, vaddr_t addr, int node)
{
	pmd_t old = pmdp_get(pmd);
	struct page *page = phys_to_page(pmd_huge_paddr(old));
	int from = page_to_nid(page);

	(void)mm;
	(void)addr;
	ASSERT(pmd_protnone(old));
	if (!huge_page_movable(page)) {
		count(&numa_stats.migrate_refused_pinned);
		count(&thp_stats.thp_migration_fail);
		return false;
	}
	struct page *copy = alloc_pages(node, HUGE_ORDER, ALLOC_THISNODE);
	if (!copy) {
		count(&numa_stats.migrate_refused_nomem);
		count(&thp_stats.thp_migration_fail);
		return false;
	}
	split_page(copy, HUGE_ORDER);
	memcpy(page_address(copy), page_address(page), PMD_SIZE);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		copy[i].mapcount = 1;
	copy->last_cpu = page->last_cpu;
	copy->last_node = page->last_node;
	set_pmd(pmd, pmd_set_huge_paddr(old, page_to_phys(copy)));
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		page[i].mapcount = 0;
		put_page(&page[i]);
	}
	count(&thp_stats.thp_migration_success);
	__atomic_add_fetch(&numa_stats.pgmigrate_success, PT_ENTRIES, __ATOMIC_RELAXED);
	__atomic_add_fetch(&numa_stats.matrix[from][node], PT_ENTRIES, __ATOMIC_RELAXED);
	return true;
}

u64 migrate_pages(struct mm *mm, vaddr_t start, vaddr_t end, int node)
{
	u64 moved = 0;

	mmap_read_lock(mm);
	for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
		struct spinlock *ptl;
		pte_t *pte = mm_pte_lookup_lock(mm, va, &ptl);
		if (!pte)
			continue;
		if (pte_mapped(*pte) && !pte_migration(*pte) &&
		    page_to_nid(phys_to_page(pte_paddr(*pte))) != node)
			moved += migrate_one(mm, pte, va, node);
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mm);
	return moved;
}

/* The 4 KiB page at addr, under its PTE table's lock. */
static int move_small_page(struct mm *mm, vaddr_t addr, int node)
{
	struct spinlock *ptl;
	pte_t *pte = mm_pte_lookup_lock(mm, addr, &ptl);
	int on = -VMA_ENOENT;

	if (!pte)
		return on;
	if (pte_mapped(*pte) && !pte_migration(*pte)) {
		if (page_to_nid(phys_to_page(pte_paddr(*pte))) != node)
			migrate_one(mm, pte, addr, node);
		on = page_to_nid(phys_to_page(pte_paddr(*pte)));
	}
	pte_unmap_unlock(pte, ptl);
	return on;
}

/*
 * A present huge page is made a huge hint first, flushed, so that
 * migrate_huge_pmd's premise holds (no CPU can reach the old frames while
 * they are copied), and restored afterwards as a hint fault restores it. A
 * PMD split since it was looked at goes the 4 KiB way.
 */
static int move_huge_page(struct mm *mm, const struct vma *v, pmd_t *pmd, vaddr_t addr, int node)
{
	vaddr_t haddr = ALIGN_DOWN(addr, PMD_SIZE);
	struct spinlock *ptl = pmd_lock(mm, pmd);
	pmd_t e = pmdp_get(pmd);

	if (!pmd_trans_huge(e)) {
		spin_unlock(ptl);
		return move_small_page(mm, addr, node);
	}
	if (page_to_nid(phys_to_page(pmd_huge_paddr(e))) != node) {
		bool hinted = pmd_protnone(e);
		if (!hinted) {
			set_pmd(pmd, pmd_mkprotnone(huge_pmd_take(pmd)));
			flush_tlb_range(&mm->tlb, haddr, haddr + PMD_SIZE);
		}
		migrate_huge_pmd(mm, pmd, addr, node);
		if (!hinted)
			set_pmd(pmd, pmd_modify_huge(pmdp_get(pmd), anon_leaf_bits(v->prot, pmd_write(e))));
	}
	int on = page_to_nid(phys_to_page(pmd_huge_paddr(pmdp_get(pmd))));
	spin_unlock(ptl);
	return on;
}

int move_page(struct mm *mm, vaddr_t addr, int node)
{
	int on = -VMA_ENOENT;

	mmap_read_lock(mm);
	const struct vma *v = vma_find(&mm->vmas, addr);
	pmd_t *pmd = v ? mm_pmd_lookup(mm, addr) : NULL;
	if (pmd && pmd_trans_huge(pmdp_get(pmd)))
		on = move_huge_page(mm, v, pmd, addr, node);
	else if (pmd)
		on = move_small_page(mm, addr, node);
	mmap_read_unlock(mm);
	return on;
}
