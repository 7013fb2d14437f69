/*
 * The early page-table buffer (seed 003). The kernel's own tables are built
 * from one buffer carved out up front: start..top, with end moving up as
 * tables are taken. Afterwards only start..end stays reserved and the tail
 * end..top goes back to memblock.
 *
 * In the read-only page-table mode the whole buffer is mapped read-only in
 * the new direct map, as Xen PV mapped it in 2.6.39, since any page of it
 * may become a table. The tail must then be made writable again before it
 * is returned: the pagetable_reserve hook of 279b706bf800. Without that
 * (bugs=pgt_reserve_no_rw_fixup) the first early writer of a tail page
 * takes a write-protection fault, as the 2.6.39 NUMA setup did under Xen.
 */

#include <mmulab/bugs.h>
#include <mmulab/cmdline.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/pgtable.h>
#include <mmulab/tlb.h>

BUG_SWITCH_IN_MODE(pgt_reserve_no_rw_fixup,
	   "2.6.39 (4b239f458c22 without 279b706bf800): the early page-table buffer's unused "
	   "tail is returned while still mapped read-only", cmdline_mmu_pv, "mmu=pv");
BUG_SWITCH_IN_MODE(pgt_buffer_mapped_rw,
	   "the early page-table buffer stays writable in the direct map, so the validator "
	   "must refuse to pin its pages as tables", cmdline_mmu_pv, "mmu=pv");

static struct {
	paddr_t start, end, top;
	bool active;
	u64 overflow; /* tables that had to come from memblock instead */
} pgt_buf;

void pgt_buf_init(u64 pages)
{
	pgt_buf.start = memblock_alloc(pages * PAGE_SIZE, PAGE_SIZE);
	if (!pgt_buf.start)
		panic("pgt_buf: no room for %lu pages of early page tables", pages);
	pgt_buf.end = pgt_buf.start;
	pgt_buf.top = pgt_buf.start + pages * PAGE_SIZE;
	pgt_buf.active = true;
}

static paddr_t take_table_frame(void)
{
	if (!pgt_buf.active)
		return kernel_frame_alloc();
	if (pgt_buf.end == pgt_buf.top) {
		/* Read-only mode: memory outside the buffer is not read-only in
		 * the new direct map, so the validator would refuse the tables. */
		if (pv_xlate.on)
			panic("pgt_buf: the early page-table buffer (%lu pages) is full in mmu=pv",
			      (pgt_buf.top - pgt_buf.start) / PAGE_SIZE);
		pgt_buf.overflow++;
		return kernel_frame_alloc();
	}
	pgt_buf.end += PAGE_SIZE;
	return pgt_buf.end - PAGE_SIZE;
}

paddr_t pt_table_frame(enum pt_level level)
{
	paddr_t pa = take_table_frame();

	pt_table_clear(phys_to_virt(pa));
	pt_table_pin(pa, level);
	return pa;
}

/* Writes the new tables' direct map directly: they are not loaded or
 * pinned yet. */
void pgt_buf_protect(void)
{
	if (BUG_ACTIVE(pgt_buffer_mapped_rw))
		return;
	for (paddr_t pa = pgt_buf.start; pa < pgt_buf.top; pa += PAGE_SIZE)
		direct_map_set_writable(pa, false);
}

static void make_tail_writable(void)
{
	if (!pv_xlate.on || BUG_ACTIVE(pgt_reserve_no_rw_fixup))
		return;
	for (paddr_t pa = pgt_buf.end; pa < pgt_buf.top; pa += PAGE_SIZE) {
		direct_map_set_writable(pa, true);
		flush_tlb_local_page((vaddr_t)phys_to_virt(pa));
	}
}

void pgt_buf_release_tail(void)
{
	make_tail_writable();
	memblock_free(pgt_buf.end, pgt_buf.top - pgt_buf.end);
	pgt_buf.active = false;
	printk("mmulab: mm: pgt_buf start=P0x%lx end=P0x%lx top=P0x%lx: %lu pages used, "
	       "%lu returned, %lu taken from memblock after it filled\n", pgt_buf.start,
	       pgt_buf.end, pgt_buf.top, (pgt_buf.end - pgt_buf.start) / PAGE_SIZE,
	       (pgt_buf.top - pgt_buf.end) / PAGE_SIZE, pgt_buf.overflow);
}

bool pgt_buf_explain_fault(vaddr_t va, const char *prefix)
{
	paddr_t pa = va - DIRECT_MAP_BASE;

	if (va < DIRECT_MAP_BASE || pa < pgt_buf.end || pa >= pgt_buf.top)
		return false;
	printk("%sP0x%lx is in the early page-table buffer's released tail "
	       "P0x%lx..P0x%lx, still read-only: the tail went back to memblock without "
	       "pagetable_reserve's flip to writable\n", prefix, pa, pgt_buf.end, pgt_buf.top);
	return true;
}

void pgt_buf_bounds(paddr_t *start, paddr_t *end, paddr_t *top)
{
	*start = pgt_buf.start;
	*end = pgt_buf.end;
	*top = pgt_buf.top;
}
