/*
 * The early page-table buffer (seed 003). The kernel's own tables are built
 * from one buffer carved out up front: start..top, with end moving up as
 * tables are taken. Afterwards only start..end stays reserved and the tail
 * end..top goes back to memblock, but only after checking that every tail
 * page is mapped writable in the direct map: the 2011 Xen breakage was
 * exactly a tail that was still mapped read-only (as page tables are under
 * Xen) being handed to other users who then wrote to it. A later issue
 * re-enacts that with read-only page tables.
 */

#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/pgtable.h>

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
		pgt_buf.overflow++;
		return kernel_frame_alloc();
	}
	pgt_buf.end += PAGE_SIZE;
	return pgt_buf.end - PAGE_SIZE;
}

paddr_t pt_table_frame(void)
{
	paddr_t pa = take_table_frame();

	pt_table_clear(phys_to_virt(pa));
	return pa;
}

static bool direct_map_writable(paddr_t pa)
{
	struct pt_walk w = pt_walk(kernel_root(), (vaddr_t)phys_to_virt(pa));
	u64 leaf = w.levels == 4 ? pte_val(w.pte) : w.levels == 3 ? pmd_val(w.pmd) : pud_val(w.pud);

	return w.leaf_size && (leaf & _PAGE_RW);
}

/* Called with the kernel's tables live: returns end..top to memblock. */
void pgt_buf_release_tail(void)
{
	for (paddr_t pa = pgt_buf.end; pa < pgt_buf.top; pa += PAGE_SIZE)
		if (!direct_map_writable(pa))
			panic("pgt_buf: tail page P0x%lx is not writable in the direct map; "
			      "releasing it would hand out memory nobody can write", pa);
	memblock_free(pgt_buf.end, pgt_buf.top - pgt_buf.end);
	pgt_buf.active = false;
	printk("mmulab: mm: pgt_buf start=P0x%lx end=P0x%lx top=P0x%lx: %lu pages used, "
	       "%lu returned, %lu taken from memblock after it filled\n", pgt_buf.start,
	       pgt_buf.end, pgt_buf.top, (pgt_buf.end - pgt_buf.start) / PAGE_SIZE,
	       (pgt_buf.top - pgt_buf.end) / PAGE_SIZE, pgt_buf.overflow);
}

void pgt_buf_bounds(paddr_t *start, paddr_t *end, paddr_t *top)
{
	*start = pgt_buf.start;
	*end = pgt_buf.end;
	*top = pgt_buf.top;
}
