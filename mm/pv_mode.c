/*
 * The kernel's side of the read-only page-table mode (mmu=pv): the frame
 * permutation it runs under, and its table pages handed to the validator
 * (arch/x86/pv_mmu.c) — pinned when they become tables, unpinned when they
 * stop being tables. Natively every function here is a no-op.
 *
 * Why a permutation: under Xen PV the frames a guest kernel counts in are
 * pseudo-physical and its entries hold machine frames, and two Linux bugs
 * (seed 000's Xen facet among them) lived in that translation. Here the
 * machine frames are a fixed rotation of 2 MiB blocks within each 8 MiB
 * group of free memory: not its own inverse, so using one direction for the
 * other is caught; 2 MiB-granular, so huge pages stay machine-contiguous;
 * and only over memory nobody has touched yet, because the boot tables
 * still map physical memory one to one while the kernel builds its own.
 */

#include <arch/pv_mmu.h>
#include <mmulab/audit.h>
#include <mmulab/cmdline.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/page.h>
#include <mmulab/pgtable.h>
#include <mmulab/string.h>
#include <mmulab/tlb.h>

#define GROUP_BLOCKS 4
/* The AP trampoline, the boot stage and the kernel image live low. */
#define PERMUTE_FROM (16ULL << 20)

static bool *permuted_marks; /* scratch while choosing: block is free memory */

static void mark_free_blocks(paddr_t base, paddr_t end, void *arg)
{
	u64 blocks = *(u64 *)arg;

	for (paddr_t b = ALIGN_UP(MAX(base, PERMUTE_FROM), PMD_SIZE); b + PMD_SIZE <= end;
	     b += PMD_SIZE)
		if (b / PMD_SIZE < blocks)
			permuted_marks[b / PMD_SIZE] = true;
}

static bool group_free(u64 first)
{
	for (u64 i = 0; i < GROUP_BLOCKS; i++)
		if (!permuted_marks[first + i])
			return false;
	return true;
}

/* p2m rotates each free group by one block; everything else is identity. */
static u64 choose_permutation(u32 *p2m, u64 blocks)
{
	u64 permuted = 0;

	for (u64 b = 0; b < blocks; b++)
		p2m[b] = (u32)b;
	for (u64 g = 0; g + GROUP_BLOCKS <= blocks; g += GROUP_BLOCKS) {
		if (!group_free(g))
			continue;
		for (u64 i = 0; i < GROUP_BLOCKS; i++)
			p2m[g + i] = (u32)(g + (i + 1) % GROUP_BLOCKS);
		permuted += GROUP_BLOCKS;
	}
	return permuted;
}

static void *early_alloc(u64 bytes)
{
	paddr_t pa = memblock_alloc(ALIGN_UP(bytes, PAGE_SIZE), PAGE_SIZE);

	if (!pa)
		panic("pv: no memory for the validator's %lu bytes", bytes);
	return phys_to_virt(pa);
}

void pv_mode_setup(paddr_t ram_span)
{
	u64 blocks = ALIGN_UP(ram_span, PMD_SIZE) / PMD_SIZE;
	u32 *p2m = early_alloc(blocks * sizeof(u32));
	u32 *m2p = early_alloc(blocks * sizeof(u32));
	u64 state_bytes = pv_mmu_state_bytes(blocks * PMD_SIZE);
	void *state = early_alloc(state_bytes);

	/* Chosen after the allocations above, which stay one to one. */
	permuted_marks = early_alloc(blocks);
	memset(permuted_marks, 0, blocks);
	memblock_for_each_free(mark_free_blocks, &blocks);
	u64 permuted = choose_permutation(p2m, blocks);
	for (u64 b = 0; b < blocks; b++)
		m2p[p2m[b]] = (u32)b;
	memblock_free(virt_to_phys(permuted_marks), ALIGN_UP(blocks, PAGE_SIZE));
	pv_mmu_init(state, blocks * PMD_SIZE, p2m, m2p, blocks);
	printk("mmulab: pv: read-only page tables behind the validator; %lu of %lu 2 MiB blocks "
	       "permuted (pseudo-physical != machine), %lu KiB of validator state\n",
	       permuted, blocks, state_bytes / 1024);
}

/* Free pieces of one-to-one blocks, gathered first: memblock's lists may
 * not change while memblock_for_each_free walks them. */
#define MAX_HELD 128

struct held {
	u32 count;
	struct {
		paddr_t base, end;
	} r[MAX_HELD];
};

static void note_identity_part(paddr_t base, paddr_t end, void *arg)
{
	struct held *h = arg;

	for (paddr_t b = ALIGN_DOWN(base, PMD_SIZE); b < end; b += PMD_SIZE) {
		paddr_t lo = MAX(b, base), hi = MIN(b + PMD_SIZE, end);
		if (pv_phys_to_machine(b) != b || lo >= hi)
			continue;
		if (h->count && h->r[h->count - 1].end == lo)
			h->r[h->count - 1].end = hi;
		else if (h->count < MAX_HELD)
			h->r[h->count++] = (typeof(h->r[0])){ lo, hi };
		else
			panic("pv: more than %u free one-to-one ranges to keep back", MAX_HELD);
	}
}

/*
 * Before the page allocator takes the free memory: what is left free in
 * blocks that stayed one to one is kept back, so every frame the allocator
 * hands out has a machine frame different from its pseudo-physical one and
 * a translation that goes the wrong way, or not at all, shows in the data.
 */
void pv_mode_hold_identity_blocks(void)
{
	static struct held h;
	u64 held = 0;

	if (!pv_xlate.on)
		return;
	memblock_for_each_free(note_identity_part, &h);
	for (u32 i = 0; i < h.count; i++) {
		memblock_reserve(h.r[i].base, h.r[i].end - h.r[i].base);
		held += h.r[i].end - h.r[i].base;
	}
	printk("mmulab: pv: %lu KiB of free memory in one-to-one blocks kept from the page "
	       "allocator\n", held / 1024);
}

static pte_t *direct_map_pte(paddr_t pa)
{
	pte_t *pte = pt_pte_lookup(kernel_root(), (vaddr_t)phys_to_virt(pa));

	ASSERT(pte && pte_present(*pte));
	return pte;
}

void direct_map_set_writable(paddr_t pa, bool writable)
{
	pte_t *pte = direct_map_pte(pa);
	pte_t e = ptep_get(pte);

	set_pte(pte, writable ? pte_mkwrite(e) : pte_wrprotect(e));
}

/* A stale writable translation on another CPU would let it store into
 * the table behind the validator, so every CPU drops it before the pin. */
void pt_table_pin(paddr_t table, enum pt_level level)
{
	vaddr_t va = (vaddr_t)phys_to_virt(table);

	if (!pv_validating())
		return;
	direct_map_set_writable(table, false);
	flush_tlb_range(&kernel_space, va, va + PAGE_SIZE);
	enum pv_rule r = pv_mmu_pin(table, level);
	if (r != PV_OK)
		panic("pv: the validator refused to pin P0x%lx as L%d (%s)", table, level,
		      pv_rule_name(r));
}

/* A stale read-only translation elsewhere costs at most a spurious fault
 * (mm/fault.c), so only this CPU flushes. */
void pt_table_unpin(paddr_t table)
{
	if (!pv_validating())
		return;
	enum pv_rule r = pv_mmu_unpin(table);
	if (r != PV_OK)
		panic("pv: the validator refused to unpin P0x%lx (%s)", table, pv_rule_name(r));
	direct_map_set_writable(table, true);
	flush_tlb_local_page((vaddr_t)phys_to_virt(table));
}

/* The child table an entry of a level-level table points at, if any. */
static bool child_table(const void *table, enum pt_level level, unsigned i, paddr_t *child)
{
	switch (level) {
	case PT_L4: {
		pgd_t e = pgdp_get((const pgd_t *)table + i);
		*child = pgd_paddr(e);
		return pgd_present(e);
	}
	case PT_L3: {
		pud_t e = pudp_get((const pud_t *)table + i);
		*child = pud_paddr(e);
		return pud_present(e) && !pud_leaf(e);
	}
	case PT_L2: {
		pmd_t e = pmdp_get((const pmd_t *)table + i);
		*child = pmd_paddr(e);
		return pmd_present(e) && !pmd_leaf(e);
	}
	default:
		return false;
	}
}

/* Tables built before the validator runs are pinned bottom-up, as a Xen
 * guest pins what it built: each table's entries are checked when it is
 * pinned, so its children must be tables already. */
static void pin_tree(paddr_t table, enum pt_level level)
{
	paddr_t child;

	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (child_table(phys_to_virt(table), level, i, &child))
			pin_tree(child, level - 1);
	enum pv_rule r = pv_mmu_pin(table, level);
	if (r != PV_OK)
		panic("pv: the validator refused the kernel's own L%d table P0x%lx (%s): the "
		      "kernel cannot run on its tables", level, table, pv_rule_name(r));
}

void pv_mode_pin_kernel_tables(paddr_t root)
{
	pin_tree(root, PT_L4);
	pv_mmu_start_validating();
	struct pv_mmu_stats s = pv_mmu_stats();
	printk("mmulab: pv: kernel tables pinned: %lu tables, validator on\n", s.pins);
}

/* --- the audit of the mode (the per-address-space part is mm/audit.c) --- */

#define PV_AUDIT_LINES 8

struct pv_audit {
	u64 bad;
	const char *prefix;
};

static void pv_bad(struct pv_audit *a, const char *what, paddr_t pa, const char *detail)
{
	if (a->bad++ < PV_AUDIT_LINES)
		printk("%sBUG: pv audit: P0x%lx %s%s\n", a->prefix, pa, what, detail);
}

/* Every table the kernel's own tree holds is pinned at its level and
 * read-only in the direct map; the validator's slot is not the kernel's. */
static void audit_kernel_tree(struct pv_audit *a, paddr_t table, enum pt_level level)
{
	struct pt_walk w = pt_walk(kernel_root(), (vaddr_t)phys_to_virt(table));
	paddr_t child;

	if (pv_mmu_level(table) != level)
		pv_bad(a, "is a kernel table but not pinned at its level", table, "");
	if (!w.leaf_size || pte_write(w.pte))
		pv_bad(a, "is a kernel table but not read-only in the direct map", table, "");
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (level == PT_L4 && pv_mmu_in_hypervisor_slot((vaddr_t)i << PGD_SHIFT |
								 0xffff000000000000UL))
			continue;
		if (child_table(phys_to_virt(table), level, i, &child))
			audit_kernel_tree(a, child, level - 1);
	}
}

/* Over every RAM frame, through the direct map's own entries: read-only
 * exactly when pinned (so no free page is read-only, a released buffer
 * tail is writable unless it became a table since, and every table is
 * read-only there), and no free frame pinned. */
static void audit_frames(struct pv_audit *a)
{
	const struct memblock_type *m = &memblock.memory;
	pfn_t free_until = 0;

	for (u32 i = 0; i < m->count; i++) {
		pfn_t first = m->regions[i].base >> PAGE_SHIFT;
		pfn_t end = (m->regions[i].base + m->regions[i].size) >> PAGE_SHIFT;
		for (pfn_t pfn = first; pfn < end; pfn++) {
			struct page *p = pfn_to_page(pfn);
			paddr_t pa = pfn << PAGE_SHIFT;
			if (p->flags & PG_buddy)
				free_until = pfn + (1ULL << p->order);
			bool pinned = pv_mmu_level(pa) != PT_NOT_TABLE;
			bool writable = pte_write(ptep_get(direct_map_pte(pa)));
			if (pinned == writable)
				pv_bad(a, pinned ? "is pinned but writable in the direct map" :
						   "is read-only in the direct map but not a table", pa, "");
			if (pinned && pfn < free_until)
				pv_bad(a, "is free but still pinned", pa, "");
		}
	}
}

static void audit_buffer(struct pv_audit *a)
{
	paddr_t start, end, top;

	pgt_buf_bounds(&start, &end, &top);
	for (paddr_t pa = start; pa < end; pa += PAGE_SIZE)
		if (pv_mmu_level(pa) == PT_NOT_TABLE || !(phys_to_page(pa)->flags & PG_reserved))
			pv_bad(a, "is in the used early page-table buffer but not a reserved table",
			       pa, "");
}

u64 pv_audit(const char *prefix)
{
	struct pv_audit a = { 0, prefix };

	if (!pv_xlate.on)
		return 0;
	audit_kernel_tree(&a, kernel_root(), PT_L4);
	audit_frames(&a);
	audit_buffer(&a);
	if (a.bad > PV_AUDIT_LINES)
		printk("%sBUG: pv audit: ... and %lu more\n", prefix, a.bad - PV_AUDIT_LINES);
	return a.bad;
}
