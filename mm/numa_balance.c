/*
 * NUMA balancing: the scanner and the hint-fault handler (see
 * include/mmulab/numa_balance.h). Seed 004 is in the scanner's skip
 * rule: whether a page "has other users" is decided by its reference
 * count, which sees pins, never by its map count, which does not.
 */

#include <mmulab/numa_balance.h>
#include <mmulab/huge_memory.h>
#include <mmulab/bugs.h>
#include <mmulab/log.h>
#include <mmulab/memory.h>
#include <mmulab/format.h>
#include <mmulab/numa.h>
#include <mmulab/percpu.h>
#include <arch/cpu.h>
#include <arch/tsc.h>

BUG_SWITCH(numa_cow_mapcount,
	   "seed 004: the NUMA scanner judges 'no other users' by the map count, so a "
	   "pinned page gets hinted, restored read-only and then copied on write");

static enum numa_policy policy;
static bool restore_write;
static u64 period_cycles, pages_per_pass;

void numa_balance_init(u32 p, bool write, u64 scan_period_ms, u64 scan_pages)
{
	policy = p;
	restore_write = write;
	period_cycles = scan_period_ms * tsc_khz();
	pages_per_pass = scan_pages;
	if (period_cycles)
		printk("mmulab: numa: periodic scan every %lu ms, %lu pages per pass\n",
		       scan_period_ms, scan_pages);
}

bool numa_set_restore_write(bool on)
{
	bool was = restore_write;

	restore_write = on;
	return was;
}

/* The window [cursor, cursor + pages) over the address space's VMAs,
 * wrapping to the first VMA after the last. */
static void periodic_pass(struct mm *mm)
{
	if (!mm->vmas.count)
		return;
	vaddr_t last = mm->vmas.v[mm->vmas.count - 1].end;
	if (mm->numa_cursor < mm->vmas.v[0].start || mm->numa_cursor >= last)
		mm->numa_cursor = mm->vmas.v[0].start;
	vaddr_t end = MIN(last, mm->numa_cursor + pages_per_pass * PAGE_SIZE);
	numa_scan(mm, mm->numa_cursor, end);
	mm->numa_cursor = end;
}

void numa_periodic_scan(void)
{
	if (!period_cycles)
		return;
	u64 now = rdtsc();
	spin_lock(&mm_list_lock);
	for (struct mm *mm = mm_list_first(); mm; mm = mm->next) {
		if (!mm->numa_periodic || now < mm->numa_next_tsc)
			continue;
		mm->numa_next_tsc = now + period_cycles;
		periodic_pass(mm);
	}
	spin_unlock(&mm_list_lock);
}

enum numa_policy numa_policy(void)
{
	return policy;
}

static bool has_other_users(const struct page *p)
{
	if (BUG_ACTIVE(numa_cow_mapcount))
		return p->mapcount != 1;
	return p->refcount != 1;
}

static bool scannable(const struct vma *v)
{
	return v->prot && (v->flags & VMA_ANON) && !(v->flags & VMA_NO_MIGRATE);
}

static bool huge_has_other_users(const struct page *p)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (has_other_users(&p[i]))
			return true;
	return false;
}

/*
 * A huge PMD becomes one huge hint, under pmd_lock after a second look
 * (split, zapped or already hinted meanwhile: left alone). The exchange
 * to the invalid form first catches every A/D bit a CPU sets until then,
 * and the slot never reads none (a lockless DONTNEED would skip it).
 */
static u64 scan_huge_pmd(struct mm *mm, pmd_t *pmd)
{
	struct spinlock *ptl = pmd_lock(mm, pmd);
	pmd_t e = pmdp_get(pmd);
	bool hint = pmd_trans_huge(e) && pmd_present(e) &&
		    !huge_has_other_users(phys_to_page(pmd_huge_paddr(e)));

	if (hint)
		set_pmd(pmd, pmd_mkprotnone(huge_pmd_take(pmd)));
	spin_unlock(ptl);
	return hint;
}

static u64 scan_vma(struct mm *mm, vaddr_t start, vaddr_t end)
{
	u64 changed = 0;

	for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
		pmd_t *pmd = mm_pmd_lookup(mm, va);
		if (pmd && pmd_trans_huge(pmdp_get(pmd))) {
			u64 huge = scan_huge_pmd(mm, pmd);
			__atomic_add_fetch(&numa_stats.numa_huge_pte_updates, huge, __ATOMIC_RELAXED);
			changed += huge;
			va = ALIGN_DOWN(va, PMD_SIZE) + PMD_SIZE - PAGE_SIZE;
			continue;
		}
		struct spinlock *ptl;
		pte_t *pte = mm_pte_lookup_lock(mm, va, &ptl);
		if (!pte)
			continue;
		/* Empty, or already a hint, or shared: left alone. */
		if (pte_present(*pte) && !has_other_users(phys_to_page(pte_paddr(*pte)))) {
			set_pte(pte, pte_mkprotnone(ptep_get_and_clear(pte)));
			changed++;
		}
		pte_unmap_unlock(pte, ptl);
	}
	return changed;
}

u64 numa_scan(struct mm *mm, vaddr_t start, vaddr_t end)
{
	u64 changed = 0;

	mmap_read_lock(mm);
	for (u32 i = 0; i < mm->vmas.count; i++) {
		const struct vma *v = &mm->vmas.v[i];
		if (scannable(v) && v->end > start && v->start < end)
			changed += scan_vma(mm, MAX(v->start, start), MIN(v->end, end));
	}
	/* Hinting is a downgrade: nobody may rely on it before every CPU has
	 * flushed, so the scan returns only after the shootdown (a huge hint
	 * covers its whole 2 MiB, maybe beyond [start, end)). */
	if (changed)
		flush_tlb_range(&mm->tlb, ALIGN_DOWN(start, PMD_SIZE), ALIGN_UP(end, PMD_SIZE));
	mmap_read_unlock(mm);
	__atomic_add_fetch(&numa_stats.numa_pte_updates, changed, __ATOMIC_RELAXED);
	return changed;
}

/* last_node holds node + 1, 0 meaning "no fault recorded yet". */
static bool should_migrate(struct page *p, int here)
{
	bool same_as_last = p->last_node == here + 1;

	p->last_cpu = (u16)this_cpu()->id;
	p->last_node = (u16)(here + 1);
	if (page_to_nid(p) == here)
		return false;
	return policy == NUMA_POLICY_FIRST || same_as_last;
}

bool do_numa_page(struct mm *mm, const struct vma *v, pte_t *pte, vaddr_t addr)
{
	int here = this_cpu()->node;
	struct page *p = phys_to_page(pte_paddr(*pte));

	__atomic_add_fetch(&numa_stats.numa_hint_faults, 1, __ATOMIC_RELAXED);
	if (page_to_nid(p) == here)
		__atomic_add_fetch(&numa_stats.numa_hint_faults_local, 1, __ATOMIC_RELAXED);
	if (should_migrate(p, here) && migrate_one(mm, pte, addr, here)) {
		__atomic_add_fetch(&numa_stats.numa_pages_migrated, 1, __ATOMIC_RELAXED);
		p = phys_to_page(pte_paddr(*pte));
	}
	/* The VMA's base protection: a private writable mapping comes back
	 * read-only unless numa_restore_write=on proves exclusivity now. */
	set_pte(pte, pte_modify(*pte, anon_leaf_bits(v->prot, restore_write && page_exclusive(p))));
	return true;
}

/*
 * A hint fault on a huge protnone PMD (pmd_lock held, the entry looked at
 * again): the same target-node policy as a 4 KiB hint, decided by the
 * first sub-page's record; then the whole 2 MiB moves, or stays and is
 * restored. False when the migration failed (pinned or shared sub-page,
 * no order-9 block on the target): the caller splits, and the sub-pages
 * go on as 4 KiB pages (later hints move them one by one).
 */
bool do_huge_numa_page(struct mm *mm, const struct vma *v, pmd_t *pmd, vaddr_t addr)
{
	int here = this_cpu()->node;
	pmd_t e = pmdp_get(pmd);
	struct page *p = phys_to_page(pmd_huge_paddr(e));

	__atomic_add_fetch(&numa_stats.numa_hint_faults, 1, __ATOMIC_RELAXED);
	if (page_to_nid(p) == here)
		__atomic_add_fetch(&numa_stats.numa_hint_faults_local, 1, __ATOMIC_RELAXED);
	if (should_migrate(p, here)) {
		if (!migrate_huge_pmd(mm, pmd, addr, here))
			return false;
		__atomic_add_fetch(&numa_stats.numa_pages_migrated, PT_ENTRIES, __ATOMIC_RELAXED);
	}
	/* W only if the hint kept it (see pmd_protnone) and the VMA allows it;
	 * the frame is the new one after a move. */
	set_pmd(pmd, pmd_modify_huge(pmdp_get(pmd), anon_leaf_bits(v->prot, pmd_write(e))));
	return true;
}

void numa_stats_print(const char *prefix)
{
	printk("%snuma_pte_updates=%lu numa_hint_faults=%lu numa_hint_faults_local=%lu "
	       "numa_pages_migrated=%lu pgmigrate_success=%lu\n", prefix,
	       numa_stats.numa_pte_updates, numa_stats.numa_hint_faults,
	       numa_stats.numa_hint_faults_local, numa_stats.numa_pages_migrated,
	       numa_stats.pgmigrate_success);
	printk("%snuma_huge_pte_updates=%lu\n", prefix, numa_stats.numa_huge_pte_updates);
	printk("%smigrations refused: pinned or shared %lu, no memory on target %lu\n", prefix,
	       numa_stats.migrate_refused_pinned, numa_stats.migrate_refused_nomem);
	printk("%smigrated pages, from (rows) to (columns):\n", prefix);
	for (int i = 0; i < nr_nodes(); i++) {
		char line[256];
		size_t n = format(line, sizeof(line), "%s%6d", prefix, i);
		for (int j = 0; j < nr_nodes() && n < sizeof(line); j++)
			n += format(line + n, sizeof(line) - n, " %6lu", numa_stats.matrix[i][j]);
		printk("%s\n", line);
	}
}
