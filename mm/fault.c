/*
 * The page-fault path for address spaces. One entry decodes, then a ladder
 * of small handlers, one per kind:
 *
 *   no VMA / VMA forbids the access  -> segfault record (the test reads it)
 *   empty PMD, huge pages allowed    -> 2 MiB page on this CPU's node
 *                                       (mm/huge_memory.c), else on:
 *   write to a read-only huge PMD    -> split, then the 4 KiB ladder
 *   empty entry                      -> demand-zero page on this CPU's node
 *   write to a read-only present page in a writable VMA
 *                                    -> reuse if exclusive, else copy (COW)
 *   protnone entry in an accessible VMA
 *                                    -> restore from the VMA
 *   anything else                    -> spurious: another CPU fixed it, or
 *                                       this CPU's TLB was stale
 *
 * After the ladder the entry is read again: a fault that leaves the entry
 * unchanged and still forbidding the access would refault forever. A few
 * of those in a row on one CPU, at one address and one entry value, end
 * the access with a named report (see no_progress) instead.
 *
 * mm_handle_fault is the one entry from arch/: it gets a neutral struct
 * mm_fault (include/mmulab/fault.h) and decides from it alone.
 *
 * Locks: the mmap_lock shared (faults on other CPUs, the NUMA scanner and
 * DONTNEED run at the same time), the upper tables and the PMD looked at
 * without locks, and the ladder under the PTE table's lock: every rung
 * reads the entry again under that lock, so a page another CPU installed
 * or a DONTNEED cleared meanwhile is seen as it is now.
 */

#include <mmulab/memory.h>
#include <mmulab/huge_memory.h>
#include <mmulab/fault.h>
#include <mmulab/kernel.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>
#include <mmulab/vmalloc.h>
#include <mmulab/bugs.h>
#include <mmulab/numa_balance.h>
#include <mmulab/tlb.h>

/* Faults of one address space run at once on several CPUs. */
static void count_fault(u64 *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static bool segv(struct mm *mm, vaddr_t addr, u32 access, enum segv_reason reason)
{
	mm->segv = (struct segv_record){ addr, access, reason, mm->segv.count + 1 };
	count_fault(&mm->faults.segv);
	return false;
}

static bool do_anonymous_page(struct mm *mm, const struct vma *v, pte_t *pte, vaddr_t addr)
{
	struct page *p = alloc_pages(this_cpu()->node, 0, ALLOC_ZERO);

	if (!p)
		panic("fault: out of memory for a demand-zero page at V0x%lx", addr);
	p->mapcount = 1;
	set_pte(pte, pte_mkleaf(page_to_phys(p), anon_leaf_bits(v->prot, true)));
	count_fault(&mm->faults.demand_zero);
	return true;
}

/* Copy-on-write. Reuse only when the reference count proves this mapping
 * is the page's only user: a pin or another mapping makes it > 1, and
 * writing in place would then change memory someone else relies on. */
static bool do_wp_page(struct mm *mm, const struct vma *v, pte_t *pte, vaddr_t addr)
{
	pte_t old = *pte;
	struct page *p = phys_to_page(pte_paddr(old));

	if (page_exclusive(p)) {
		set_pte(pte, pte_mkwrite(old));
		count_fault(&mm->faults.cow_reuse);
		return true;
	}
	struct page *copy = alloc_pages(this_cpu()->node, 0, 0);
	if (!copy)
		panic("fault: out of memory for a COW copy at V0x%lx", addr);
	memcpy(page_address(copy), page_address(p), PAGE_SIZE);
	copy->mapcount = 1;
	set_pte(pte, pte_mkleaf(page_to_phys(copy), anon_leaf_bits(v->prot, true)));
	/* Other CPUs may still translate to the old frame: flush before
	 * dropping our reference to it. */
	flush_tlb_range(&mm->tlb, ALIGN_DOWN(addr, PAGE_SIZE), ALIGN_DOWN(addr, PAGE_SIZE) + PAGE_SIZE);
	__atomic_sub_fetch(&p->mapcount, 1, __ATOMIC_RELAXED);
	put_page(p);
	count_fault(&mm->faults.cow_copy);
	return true;
}

BUG_SWITCH(numa_protnone_by_bits,
	   "3.12.7-era _PAGE_NUMA == _PAGE_PROTNONE: the fault path takes a protnone entry "
	   "for a NUMA hint from its bits alone, without asking the VMA");

/* The entry is protnone but the VMA allows the access: a NUMA hint. */
static bool hint_fault_by_bits(struct mm *mm, const struct vma *v, vaddr_t addr)
{
	struct spinlock *ptl;
	pte_t *pte = v ? mm_pte_lookup_lock(mm, addr, &ptl) : NULL;

	if (!pte)
		return false;
	bool hint = pte_protnone(*pte) && do_numa_page(mm, v, pte, addr);
	pte_unmap_unlock(pte, ptl);
	return hint;
}

static bool access_allowed(const struct vma *v, u32 access)
{
	return (v->prot & access) == access;
}

/* What the entry lets through, as the hardware will judge it on retry. */
static bool pte_allows(pte_t e, u32 access)
{
	if (!pte_present(e))
		return false;
	if ((access & VM_WRITE) && !pte_write(e))
		return false;
	return !(access & VM_EXEC) || pte_exec(e);
}

static void print_no_progress(const struct vma *v, const struct no_progress_record *r)
{
	printk_diag("fault: no progress: %s at V0x%016lx, entry 0x%016lx unchanged after %u faults; "
		    "vma [V0x%016lx, V0x%016lx) prot %c%c%c",
		    r->access == VM_EXEC ? "fetch" : r->access == VM_WRITE ? "write" : "read",
		    r->addr, r->entry, FAULT_REPEAT_LIMIT, v->start, v->end,
		    (v->prot & VM_READ) ? 'r' : '-', (v->prot & VM_WRITE) ? 'w' : '-',
		    (v->prot & VM_EXEC) ? 'x' : '-');
}

/*
 * The ladder ran and the entry is the one that faulted, still forbidding
 * the access: the retry will fault again the same way. Count such faults
 * on this CPU at one address and one entry value; the first repeats are
 * tolerated, the limit ends the access (false: the caller's fault path
 * fails the case or panics) with one named report.
 */
static bool no_progress(struct mm *mm, const struct vma *v, vaddr_t addr, pte_t e, u32 access)
{
	struct fault_repeat *r = &this_cpu()->fault_repeat;
	vaddr_t page = ALIGN_DOWN(addr, PAGE_SIZE);

	if (r->addr != page || r->entry != pte_val(e))
		*r = (struct fault_repeat){ page, pte_val(e), 0 };
	if (++r->count < FAULT_REPEAT_LIMIT)
		return true;
	*r = (struct fault_repeat){ 0 };
	mm->no_progress = (struct no_progress_record){ addr, pte_val(e), access };
	count_fault(&mm->faults.no_progress);
	print_no_progress(v, &mm->no_progress);
	return false;
}

/* The ladder for an access the VMA allows. */
static bool resolve(struct mm *mm, const struct vma *v, pte_t *pte, vaddr_t addr, u32 access)
{
	if (pte_none(*pte))
		return do_anonymous_page(mm, v, pte, addr);
	if (pte_protnone(*pte))
		return do_numa_page(mm, v, pte, addr);
	if ((access & VM_WRITE) && !pte_write(*pte))
		return do_wp_page(mm, v, pte, addr);
	flush_tlb_local_page(addr); /* stale local entry */
	count_fault(&mm->faults.spurious);
	return true;
}

/*
 * The PMD step, looked at without its lock. None or huge (or invalid-huge:
 * a split under way): the THP fault first (huge_pmd_fault takes pmd_lock
 * and looks again); it maps a huge page, finds one that allows the access,
 * or splits one a write must copy. Still none: link a new PTE table
 * (mm_pte_table_alloc takes pmd_lock and looks again; the loser of a race
 * frees its table). Returns the PTE slot with its table's lock held, or
 * NULL when the fault was resolved at the PMD.
 */
static pte_t *fault_pte_lock(struct mm *mm, const struct vma *v, vaddr_t addr, u32 access,
			     struct spinlock **ptl)
{
	pmd_t *pmd = mm_pmd_alloc(mm, addr);

	for (;;) {
		pmd_t m = pmdp_get(pmd);
		if ((pmd_none(m) || pmd_trans_huge(m)) && huge_pmd_fault(mm, v, pmd, addr, access))
			return NULL;
		if (pmd_none(pmdp_get(pmd)))
			mm_pte_table_alloc(mm, pmd);
		pte_t *pte = pte_offset_map_lock(mm, pmd, addr, ptl);
		if (pte)
			return pte;
	}
}

static bool resolve_and_check(struct mm *mm, const struct vma *v, vaddr_t addr, u32 access)
{
	struct spinlock *ptl;
	pte_t *pte = fault_pte_lock(mm, v, addr, access, &ptl);

	if (!pte)
		return true; /* resolved at the PMD: a huge mapping */
	pte_t before = *pte;
	bool ok = resolve(mm, v, pte, addr, access);

	if (ok && pte_val(*pte) == pte_val(before) && !pte_allows(*pte, access)) {
		pte_t e = *pte;
		pte_unmap_unlock(pte, ptl);
		return no_progress(mm, v, addr, e, access);
	}
	pte_unmap_unlock(pte, ptl);
	if (ok)
		this_cpu()->fault_repeat = (struct fault_repeat){ 0 };
	return ok;
}

bool handle_mm_fault(struct mm *mm, vaddr_t addr, u32 access)
{
	bool ok;

	mmap_read_lock(mm);
	const struct vma *v = vma_find(&mm->vmas, addr);
	if (BUG_ACTIVE(numa_protnone_by_bits) && hint_fault_by_bits(mm, v, addr))
		ok = true;
	else if (!v)
		ok = segv(mm, addr, access, SEGV_MAPERR);
	else if (!access_allowed(v, access))
		ok = segv(mm, addr, access, SEGV_ACCERR);
	else
		ok = resolve_and_check(mm, v, addr, access);
	mmap_read_unlock(mm);
	return ok;
}

/*
 * The read-only page-table mode makes a freed table page writable again in
 * the direct map with a flush on this CPU only (mm/pv_mode.c): another CPU
 * may still hold the read-only translation, and its first write there is a
 * spurious fault, which its own flush ends. Anything else stays a fault.
 */
static bool spurious_direct_map_fault(const struct mm_fault *f)
{
	if (!pv_xlate.on || f->user || f->not_present || f->access != VM_WRITE ||
	    f->addr < DIRECT_MAP_BASE || f->addr >= DIRECT_MAP_BASE + DIRECT_MAP_SIZE)
		return false;
	struct pt_walk w = pt_walk(pt_current_root(), f->addr);
	if (w.leaf_size != PAGE_SIZE || !pte_write(w.pte))
		return false;
	flush_tlb_local_page(f->addr);
	return true;
}

/*
 * From arch/, for every page fault. A malformed entry is never resolved.
 * Only a not-present kernel fault can be a missing top-level entry of the
 * vmalloc area; a protection fault there (a write to a read-only or a
 * fetch from an NX mapping) is never resolved.
 */
bool mm_handle_fault(const struct mm_fault *f)
{
	struct mm *mm = current_mm();

	if (f->reserved_bit)
		return false;
	if (is_vmalloc_addr(f->addr) && !f->user && f->not_present)
		return vmalloc_sync_fault(f->addr);
	if (spurious_direct_map_fault(f))
		return true;
	if (!mm || f->addr >= USER_TOP)
		return false;
	return handle_mm_fault(mm, f->addr, f->access);
}
