/*
 * vmalloc (see include/mmulab/vmalloc.h). Areas are handed out first-fit
 * from a small table, so a freed area's address comes back for the next
 * allocation that fits (vmalloc_sync checks that no CPU then reads the old
 * pages through a stale TLB entry). One unmapped guard page follows each
 * area.
 */

#include <mmulab/vmalloc.h>
#include <mmulab/bugs.h>
#include <mmulab/cmdline.h>
#include <mmulab/kernel.h>
#include <mmulab/layout.h>
#include <mmulab/mm.h>
#include <mmulab/mm_struct.h>
#include <mmulab/page.h>
#include <mmulab/pgtable.h>
#include <mmulab/spinlock.h>
#include <mmulab/tlb.h>

static bool lazy_mode(const struct cmdline *c) { return c->vmalloc_sync == VMALLOC_SYNC_LAZY; }
static bool prealloc_mode(const struct cmdline *c) { return c->vmalloc_sync == VMALLOC_SYNC_PREALLOC; }

BUG_SWITCH_IN_MODE(vmalloc_no_sync,
	   "lazy vmalloc sync skipped: a kernel fault on a vmalloc address in an older "
	   "address space is not fixed up", lazy_mode, "vmalloc_sync=lazy (the default)");
BUG_SWITCH_IN_MODE(vmalloc_prealloc_wrong_level,
	   "Aug 2020 x86-64: the boot-time preallocation fills the level below the top, so "
	   "the top-level entries stay empty while fault-time sync is off", prealloc_mode,
	   "vmalloc_sync=prealloc");

#define MAX_AREAS 256

struct area {
	vaddr_t start;
	u64 pages; /* mapped pages; the guard page follows */
	bool used;
};

static struct area areas[MAX_AREAS];
static u32 nr_areas;
static vaddr_t cursor = VMALLOC_BASE;
static struct spinlock lock = SPINLOCK_INIT("vmalloc");
static enum vmalloc_sync_mode mode;
u64 vmalloc_sync_faults;
u64 vmalloc_raced_faults;

static const char *const mode_names[] = { "lazy", "prealloc", "eager" };

const char *vmalloc_mode_name(enum vmalloc_sync_mode m)
{
	return mode_names[m];
}

enum vmalloc_sync_mode vmalloc_mode(void)
{
	return mode;
}

static pgd_t *reference_pgd(vaddr_t va)
{
	return pgd_offset(kernel_root(), va);
}

/*
 * prealloc: a PUD table under every top-level entry of the area, before
 * any address space exists. With the 2020 bug the work happens one level
 * down, under top-level entries that are present, and at boot none is.
 */
static void preallocate(void)
{
	for (vaddr_t va = VMALLOC_BASE; va < VMALLOC_BASE + VMALLOC_SIZE; va += VMALLOC_SLOT_SIZE) {
		pgd_t *pgd = reference_pgd(va);
		if (BUG_ACTIVE(vmalloc_prealloc_wrong_level)) {
			if (pgd_present(*pgd)) {
				pud_t *pud = pud_offset(pgd, va);
				if (pud_none(*pud))
					set_pud(pud, pud_mktable(pt_table_frame(PT_L2)));
			}
			continue;
		}
		if (pgd_none(*pgd))
			set_pgd(pgd, pgd_mktable(pt_table_frame(PT_L3)));
	}
}

void vmalloc_init(enum vmalloc_sync_mode m)
{
	mode = m;
	if (mode == VMALLOC_SYNC_PREALLOC)
		preallocate();
	printk("mmulab: vmalloc: V0x%lx..V0x%lx, top-level sync %s\n", VMALLOC_BASE,
	       VMALLOC_BASE + VMALLOC_SIZE, mode_names[mode]);
}

static struct area *find_free(u64 pages, u64 align)
{
	for (u32 i = 0; i < nr_areas; i++)
		if (!areas[i].used && areas[i].pages >= pages && IS_ALIGNED(areas[i].start, align))
			return &areas[i];
	if (nr_areas == MAX_AREAS)
		return NULL;
	vaddr_t start = ALIGN_UP(cursor, align);
	if (start + (pages + 1) * PAGE_SIZE > VMALLOC_BASE + VMALLOC_SIZE)
		return NULL;
	cursor = start + (pages + 1) * PAGE_SIZE;
	areas[nr_areas] = (struct area){ start, pages, false };
	return &areas[nr_areas++];
}

/* eager: copy top-level entries the reference has and an address space
 * lacks, into every address space. */
static void sync_all(vaddr_t start, vaddr_t end)
{
	spin_lock(&mm_list_lock);
	for (struct mm *mm = mm_list_first(); mm; mm = mm->next)
		for (vaddr_t va = ALIGN_DOWN(start, VMALLOC_SLOT_SIZE); va < end; va += VMALLOC_SLOT_SIZE) {
			pgd_t *mine = pgd_offset(mm->root, va);
			if (pgd_none(*mine))
				set_pgd(mine, *reference_pgd(va));
		}
	spin_unlock(&mm_list_lock);
}

void *vmalloc_aligned(u64 size, u64 align)
{
	u64 pages = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;

	spin_lock(&lock);
	struct area *a = find_free(pages, MAX(align, PAGE_SIZE));
	if (a)
		a->used = true;
	spin_unlock(&lock);
	if (!a)
		return NULL;
	for (u64 i = 0; i < pages; i++) {
		struct page *p = alloc_pages(NO_NODE, 0, ALLOC_ZERO);
		if (!p)
			panic("vmalloc: out of memory after %lu of %lu pages", i, pages);
		pt_map(kernel_root(), a->start + i * PAGE_SIZE, page_to_phys(p), PAGE_SIZE, PAGE_SIZE,
		       VM_READ | VM_WRITE | VM_GLOBAL);
	}
	a->pages = pages;
	if (mode == VMALLOC_SYNC_EAGER)
		sync_all(a->start, a->start + pages * PAGE_SIZE);
	return (void *)a->start;
}

void *vmalloc(u64 size)
{
	return vmalloc_aligned(size, PAGE_SIZE);
}

static struct area *area_of(vaddr_t va)
{
	for (u32 i = 0; i < nr_areas; i++)
		if (areas[i].used && areas[i].start == va)
			return &areas[i];
	return NULL;
}

/* Entries first, then the shootdown on every CPU (kernel mappings are
 * global and every CPU may hold them), then the pages. */
void vfree(void *addr)
{
	struct area *a = area_of((vaddr_t)addr);
	struct page *pages[64];

	if (!a)
		panic("vfree: V0x%lx is not a vmalloc area", (vaddr_t)addr);
	for (u64 done = 0; done < a->pages;) {
		u64 n = MIN(a->pages - done, ARRAY_SIZE(pages));
		vaddr_t start = a->start + done * PAGE_SIZE;
		for (u64 i = 0; i < n; i++) {
			pte_t *pte = pt_pte_lookup(kernel_root(), start + i * PAGE_SIZE);
			pages[i] = phys_to_page(pte_paddr(ptep_get_and_clear(pte)));
		}
		flush_tlb_range(&kernel_space, start, start + n * PAGE_SIZE);
		for (u64 i = 0; i < n; i++)
			put_page(pages[i]);
		done += n;
	}
	spin_lock(&lock);
	a->used = false;
	spin_unlock(&lock);
}

/* The top level this CPU walks (pt_current_root reads the hardware), not
 * the address space the kernel believes is current. A fault may hit
 * mid-switch, between mm_switch's root load and its bookkeeping store;
 * repairing the believed table would leave the loaded one faulting
 * (vmalloc_sync.sync_repairs_loaded_table_mid_switch). */
static paddr_t loaded_root(void)
{
	return pt_current_root();
}

/* Another CPU with the same top level loaded copied the entry between
 * this CPU's walk and its look. The retry then succeeds if the address is
 * mapped in the loaded table; a guard page or a freed area is not, and
 * stays a kernel fault. */
static bool raced_fault(vaddr_t addr)
{
	if (pt_walk(loaded_root(), addr).leaf_size == 0)
		return false;
	__atomic_add_fetch(&vmalloc_raced_faults, 1, __ATOMIC_RELAXED);
	return true;
}

/*
 * The lazy-sync fault (a not-present fault in kernel mode): the loaded top
 * level lacks a top-level entry the reference has. Copy that one entry;
 * everything below is shared. Present and equal is a fault raced with
 * another CPU's copy. Present and different means the sharing broke: that
 * is a bug worth stopping for.
 */
bool vmalloc_sync_fault(vaddr_t addr)
{
	pgd_t *mine = pgd_offset(loaded_root(), addr);
	pgd_t *ref = reference_pgd(addr);

	if (mode != VMALLOC_SYNC_LAZY || BUG_ACTIVE(vmalloc_no_sync) || !pgd_present(*ref))
		return false;
	if (pgd_present(*mine)) {
		if (!pgd_same(*mine, *ref))
			panic("vmalloc: top-level entry for V0x%lx is 0x%lx here but 0x%lx in the "
			      "reference table", addr, pgd_val(*mine), pgd_val(*ref));
		return raced_fault(addr);
	}
	set_pgd(mine, *ref);
	__atomic_add_fetch(&vmalloc_sync_faults, 1, __ATOMIC_RELAXED);
	struct mm *mm = current_mm();
	if (mm && mm->root == loaded_root())
		__atomic_add_fetch(&mm->faults.vmalloc_sync, 1, __ATOMIC_RELAXED);
	return true;
}
