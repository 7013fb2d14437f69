/*
 * Address spaces (include/mmulab/mm_struct.h). The kernel half of a new
 * address space's top level is copied from the kernel's reference table
 * at creation: the tables below are shared, so later kernel mappings under
 * an existing top-level entry show up everywhere, and a new top-level
 * entry (vmalloc) needs a sync (mm/vmalloc.c).
 */

#include <mmulab/memory.h>
#include <mmulab/kernel.h>
#include <mmulab/mm.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <arch/cpu.h>

_Static_assert(sizeof(struct mm) <= PAGE_SIZE, "struct mm fits one page");

struct spinlock mm_list_lock = SPINLOCK_INIT_CLASS("mm list", LOCK_MM_LIST);
static struct mm *mm_list;

struct mm *mm_list_first(void)
{
	return mm_list;
}

void mmap_assert_locked(struct mm *mm)
{
	if (!lockdep_held(&mm->mmap_lock))
		panic("mm %p: mmap_lock not held by this CPU", mm);
}

void mmap_assert_write_locked(struct mm *mm)
{
	if (!write_held(&mm->mmap_lock))
		panic("mm %p: mmap_lock not held exclusively by this CPU", mm);
}

struct mm *mm_create(int node)
{
	struct page *p = alloc_pages(node, 0, ALLOC_ZERO);

	if (!p)
		return NULL;
	struct mm *mm = page_address(p);
	mm->home_node = page_to_nid(p);
	mm->mmap_lock = (struct rwlock)RWLOCK_INIT_CLASS("mmap_lock", LOCK_MMAP);
	mm->root = mm_table_alloc(mm, LOCK_PGD_TABLE);
	/* Copy and link under one hold of the list lock: eager vmalloc sync
	 * walks the list under it after writing the reference, so it either
	 * finishes before the copy (which then sees its entry) or finds this
	 * address space linked. Copying first would let a vmalloc in between
	 * miss it (vmalloc_sync.eager_sync_reaches_new_spaces). */
	spin_lock(&mm_list_lock);
	pgd_copy_range(phys_to_virt(mm->root), phys_to_virt(kernel_root()), PT_ENTRIES / 2,
		       PT_ENTRIES / 2);
	mm->next = mm_list;
	mm_list = mm;
	spin_unlock(&mm_list_lock);
	return mm;
}

static void unlink_mm(struct mm *mm)
{
	spin_lock(&mm_list_lock);
	for (struct mm **pp = &mm_list; *pp; pp = &(*pp)->next)
		if (*pp == mm) {
			*pp = mm->next;
			break;
		}
	spin_unlock(&mm_list_lock);
}

void mm_destroy(struct mm *mm)
{
	if (cpumask_weight(&mm->tlb.active))
		panic("mm_destroy: address space still loaded on %u CPUs",
		      cpumask_weight(&mm->tlb.active));
	unlink_mm(mm);
	mmap_write_lock(mm);
	zap_range(mm, 0, USER_TOP);
	mmap_write_unlock(mm);
	ASSERT(mm->table_pages == 1);
	mm_table_free(mm, mm->root);
	put_page(phys_to_page(virt_to_phys(mm)));
}

struct mm *current_mm(void)
{
	return this_cpu()->mm;
}

/* Joins the new space's active set before loading it, and leaves the old
 * one's after: a shootdown must never miss a CPU that may hold entries. */
void mm_switch(struct mm *mm)
{
	struct cpu *cpu = this_cpu();
	struct mm *old = cpu->mm;

	if (old == mm)
		return;
	if (mm)
		cpumask_set(&mm->tlb.active, cpu->id);
	pt_load_root(mm ? mm->root : kernel_root());
	if (old)
		cpumask_clear_cpu(&old->tlb.active, cpu->id);
	cpu->mm = mm;
}

static int vma_errno(enum vma_error e)
{
	return -(int)e;
}

int mm_map_anon(struct mm *mm, vaddr_t start, u64 len, u32 prot, u32 flags)
{
	if (start + len > USER_TOP || start + len < start)
		return vma_errno(VMA_EINVAL);
	mmap_write_lock(mm);
	enum vma_error e = vma_add(&mm->vmas, start, start + len, prot, flags | VMA_ANON);
	mmap_write_unlock(mm);
	return vma_errno(e);
}

int mm_unmap(struct mm *mm, vaddr_t start, u64 len)
{
	if (start + len > USER_TOP || start + len < start)
		return vma_errno(VMA_EINVAL);
	mmap_write_lock(mm);
	enum vma_error e = vma_remove(&mm->vmas, start, start + len);
	if (e == VMA_OK)
		zap_range(mm, start, start + len);
	mmap_write_unlock(mm);
	return vma_errno(e);
}

int mm_protect(struct mm *mm, vaddr_t start, u64 len, u32 prot)
{
	if (start + len > USER_TOP || start + len < start)
		return vma_errno(VMA_EINVAL);
	mmap_write_lock(mm);
	enum vma_error e = vma_protect(&mm->vmas, start, start + len, prot);
	if (e == VMA_OK)
		change_protection(mm, start, start + len, prot);
	mmap_write_unlock(mm);
	return vma_errno(e);
}

/* A page-aligned user range op under the shared mmap_lock: faults (and
 * other such ops) run beside it. */
static int shared_range_op(struct mm *mm, vaddr_t start, u64 len,
			   void (*op)(struct mm *mm, vaddr_t start, vaddr_t end))
{
	if (start + len > USER_TOP || start + len < start ||
	    !IS_ALIGNED(start | len, PAGE_SIZE))
		return vma_errno(VMA_EINVAL);
	mmap_read_lock(mm);
	op(mm, start, start + len);
	mmap_read_unlock(mm);
	return 0;
}

/* Each PTE table is cleared under its lock, and the tables stay (only the
 * exclusive holder frees tables, which is what lets walkers look without
 * locks). */
int mm_dontneed(struct mm *mm, vaddr_t start, u64 len)
{
	return shared_range_op(mm, start, len, zap_range_keep_tables);
}

/* The pages stay mapped, only entries' D bits and page flags change
 * (mm/memory.c). */
int mm_lazyfree(struct mm *mm, vaddr_t start, u64 len)
{
	return shared_range_op(mm, start, len, lazyfree_range);
}

/* The reclaim pass over every VMA (shared mmap_lock: faults and writes
 * run beside it, which is what its D-bit check is for). */
void reclaim_lazyfree(struct mm *mm)
{
	mmap_read_lock(mm);
	for (u32 i = 0; i < mm->vmas.count; i++)
		reclaim_lazyfree_range(mm, mm->vmas.v[i].start, mm->vmas.v[i].end);
	mmap_read_unlock(mm);
}

struct mm *mm_fork(struct mm *parent)
{
	struct mm *child = mm_create(parent->home_node);

	if (!child)
		return NULL;
	/* The child is reachable by no other CPU until it is returned: only
	 * the parent needs its lock. */
	mmap_write_lock(parent);
	child->vmas = parent->vmas;
	for (u32 i = 0; i < parent->vmas.count; i++) {
		const struct vma *v = &parent->vmas.v[i];
		copy_range(parent, child, v->start, v->end, v->prot);
	}
	mmap_write_unlock(parent);
	return child;
}
