/*
 * The page-fault path for address spaces. One entry decodes, then a ladder
 * of small handlers, one per kind:
 *
 *   no VMA / VMA forbids the access  -> segfault record (the test reads it)
 *   empty entry                      -> demand-zero page on this CPU's node
 *   write to a read-only present page in a writable VMA
 *                                    -> reuse if exclusive, else copy (COW)
 *   protnone entry in an accessible VMA
 *                                    -> restore from the VMA
 *   anything else                    -> spurious: another CPU fixed it, or
 *                                       this CPU's TLB was stale
 */

#include <mmulab/memory.h>
#include <mmulab/fault.h>
#include <mmulab/kernel.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>
#include <mmulab/vmalloc.h>
#include <mmulab/bugs.h>
#include <mmulab/numa_balance.h>
#include <arch/cpu.h>
#include <arch/trap.h>

static bool segv(struct mm *mm, vaddr_t addr, u32 access, enum segv_reason reason)
{
	mm->segv = (struct segv_record){ addr, access, reason, mm->segv.count + 1 };
	mm->faults.segv++;
	return false;
}

static bool do_anonymous_page(struct mm *mm, const struct vma *v, pte_t *pte, vaddr_t addr)
{
	struct page *p = alloc_pages(this_cpu()->node, 0, ALLOC_ZERO);

	if (!p)
		panic("fault: out of memory for a demand-zero page at V0x%lx", addr);
	p->mapcount = 1;
	set_pte(pte, pte_mkleaf(page_to_phys(p), anon_leaf_bits(v->prot, true)));
	mm->faults.demand_zero++;
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
		mm->faults.cow_reuse++;
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
	mm->faults.cow_copy++;
	return true;
}

BUG_SWITCH(numa_protnone_by_bits,
	   "3.12.7-era _PAGE_NUMA == _PAGE_PROTNONE: the fault path takes a protnone entry "
	   "for a NUMA hint from its bits alone, without asking the VMA");

/* The entry is protnone but the VMA allows the access: a NUMA hint. */
static bool hint_fault_by_bits(struct mm *mm, const struct vma *v, vaddr_t addr)
{
	pte_t *pte = pt_pte_lookup(mm->root, addr);
	return v && pte && pte_protnone(*pte) && do_numa_page(mm, v, pte, addr);
}

static bool access_allowed(const struct vma *v, u32 access)
{
	return (v->prot & access) == access;
}

bool handle_mm_fault(struct mm *mm, vaddr_t addr, u32 access)
{
	bool ok;

	spin_lock(&mm->lock);
	const struct vma *v = vma_find(&mm->vmas, addr);
	if (BUG_ACTIVE(numa_protnone_by_bits) && hint_fault_by_bits(mm, v, addr)) {
		ok = true;
	} else if (!v) {
		ok = segv(mm, addr, access, SEGV_MAPERR);
	} else if (!access_allowed(v, access)) {
		ok = segv(mm, addr, access, SEGV_ACCERR);
	} else {
		pte_t *pte = mm_pte_alloc(mm, addr);
		if (pte_none(*pte))
			ok = do_anonymous_page(mm, v, pte, addr);
		else if (pte_protnone(*pte))
			ok = do_numa_page(mm, v, pte, addr);
		else if ((access & VM_WRITE) && !pte_write(*pte))
			ok = do_wp_page(mm, v, pte, addr);
		else {
			invlpg(addr); /* stale local entry */
			mm->faults.spurious++;
			ok = true;
		}
	}
	spin_unlock(&mm->lock);
	return ok;
}

static u32 access_of(u32 error_code)
{
	if (error_code & X86_PF_INSTR)
		return VM_EXEC;
	return (error_code & X86_PF_WRITE) ? VM_WRITE : VM_READ;
}

/*
 * From the trap handler, for #PF on a user address with an address space
 * loaded. Interrupts go back on when the faulting code had them, because
 * resolving may need a TLB shootdown, and a CPU waiting for one must take
 * the shootdowns others send it.
 */
bool handle_page_fault(const struct fault_info *f, const struct trap_frame *frame)
{
	struct mm *mm = current_mm();

	if (f->error_code & X86_PF_RSVD)
		return false;
	/* Only a not-present fault can be a missing top-level entry; a
	 * protection fault there (a write to a read-only or a fetch from an NX
	 * mapping) is never resolved. */
	if (is_vmalloc_addr(f->addr) && !(f->error_code & (X86_PF_USER | X86_PF_PROT)))
		return vmalloc_sync_fault(f->addr);
	if (!mm || f->addr >= USER_TOP)
		return false;
	/* The kernel touching user memory outside a user_access window (or
	 * running user code) is a kernel bug, never something to resolve:
	 * resolving would also loop forever on a SMAP fault. */
	if (!(f->error_code & X86_PF_USER) &&
	    ((f->error_code & X86_PF_INSTR) ||
	     (cpu_has(X86_SMAP) && !(frame->rflags & X86_RFLAGS_AC))))
		return false;
	if (frame->rflags & X86_RFLAGS_IF)
		irq_enable();
	bool ok = handle_mm_fault(mm, f->addr, access_of(f->error_code));
	irq_disable();
	return ok;
}
