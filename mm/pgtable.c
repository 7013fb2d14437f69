/*
 * The page-table walker: one small step function per level, each taking
 * the entry above it. Tables are reached through the direct map.
 */

#include <mmulab/pgtable.h>
#include <mmulab/kernel.h>
#include <mmulab/mm.h>
#include <mmulab/format.h>
#include <arch/cpu.h>

paddr_t pt_current_root(void)
{
	return pt_root_of_cr3(read_cr3());
}

u64 pt_leaf_bits(enum vm_prot prot)
{
	return prot_to_leaf_bits(prot, cpu_has(X86_NX));
}

/* Where the kernel's page-table pages come from: the early buffer or
 * memblock, then the buddy allocator (pt_table_frame). */
struct pt_alloc {
	paddr_t (*frame)(void *ctx, enum pt_level level);
	void *ctx;
};

static paddr_t kernel_table_frame(void *ctx, enum pt_level level)
{
	(void)ctx;
	return pt_table_frame(level);
}

static const struct pt_alloc kernel_tables = { kernel_table_frame, NULL };

static pud_t *pud_alloc(pgd_t *pgd, vaddr_t va, const struct pt_alloc *a)
{
	if (pgd_none(*pgd))
		set_pgd(pgd, pgd_mktable(a->frame(a->ctx, PT_L3)));
	if (!pgd_present(*pgd))
		panic("pud_alloc: non-present pgd entry 0x%lx for V0x%lx", pgd_val(*pgd), va);
	return pud_offset(pgd, va);
}

static pmd_t *pmd_alloc(pud_t *pud, vaddr_t va, const struct pt_alloc *a)
{
	if (pud_none(*pud))
		set_pud(pud, pud_mktable(a->frame(a->ctx, PT_L2)));
	if (!pud_present(*pud) || pud_leaf(*pud))
		panic("pmd_alloc: pud entry 0x%lx for V0x%lx is not a table", pud_val(*pud), va);
	return pmd_offset(pud, va);
}

static pte_t *pte_alloc(pmd_t *pmd, vaddr_t va, const struct pt_alloc *a)
{
	if (pmd_none(*pmd))
		set_pmd(pmd, pmd_mktable(a->frame(a->ctx, PT_L1)));
	if (!pmd_present(*pmd) || pmd_leaf(*pmd))
		panic("pte_alloc: pmd entry 0x%lx for V0x%lx is not a table", pmd_val(*pmd), va);
	return pte_offset(pmd, va);
}

static pte_t *pt_pte_alloc_with(paddr_t root, vaddr_t va, const struct pt_alloc *a)
{
	return pte_alloc(pmd_alloc(pud_alloc(pgd_offset(root, va), va, a), va, a), va, a);
}

pte_t *pt_pte_alloc(paddr_t root, vaddr_t va)
{
	return pt_pte_alloc_with(root, va, &kernel_tables);
}

/* Built whole at each exit: entries are read-only values once read. */
struct pt_walk pt_walk(paddr_t root, vaddr_t va)
{
	pgd_t *pgd = pgd_offset(root, va);
	pgd_t g = *pgd;

	if (!pgd_present(g))
		return (struct pt_walk){ .pgd = g, .levels = 1 };
	pud_t *pud = pud_offset(pgd, va);
	pud_t u = *pud;
	if (!pud_present(u) || pud_leaf(u))
		return (struct pt_walk){ .pgd = g, .pud = u, .levels = 2,
					 .leaf_size = pud_leaf(u) ? PUD_SIZE : 0 };
	pmd_t *pmd = pmd_offset(pud, va);
	pmd_t m = *pmd;
	if (!pmd_present(m) || pmd_leaf(m))
		return (struct pt_walk){ .pgd = g, .pud = u, .pmd = m, .levels = 3,
					 .leaf_size = pmd_leaf(m) ? PMD_SIZE : 0 };
	pte_t e = *pte_offset(pmd, va);
	return (struct pt_walk){ .pgd = g, .pud = u, .pmd = m, .pte = e, .levels = 4,
				 .leaf_size = pte_present(e) ? PAGE_SIZE : 0 };
}

pte_t *pt_pte_lookup(paddr_t root, vaddr_t va)
{
	struct pt_walk w = pt_walk(root, va);

	if (w.levels < 3 || !pmd_present(w.pmd) || pmd_leaf(w.pmd))
		return NULL;
	return pte_offset(pmd_offset(pud_offset(pgd_offset(root, va), va), va), va);
}

void pt_print_walk(paddr_t root, vaddr_t va, const char *prefix)
{
	struct pt_walk w = pt_walk(root, va);
	static const char *const names[] = { "PGD", "PUD", "PMD", "PTE" };
	u64 vals[] = { pgd_val(w.pgd), pud_val(w.pud), pmd_val(w.pmd), pte_val(w.pte) };
	char line[160];
	size_t n = 0;

	for (int i = 0; i < w.levels; i++)
		n += format(line + n, sizeof(line) - n, "%s%s %016lx", i ? " " : "", names[i],
			    vals[i]);
	printk("%s%s\n", prefix, line);
}

static void map_one(paddr_t root, vaddr_t va, paddr_t pa, u64 page_size, u64 bits)
{
	const struct pt_alloc *a = &kernel_tables;
	pud_t *pud = pud_alloc(pgd_offset(root, va), va, a);

	if (page_size == PUD_SIZE) {
		if (!pud_none(*pud) && pud_val(*pud) != pud_val(pud_mkhuge(pa, bits)))
			panic("pt_map: V0x%lx already mapped by pud 0x%lx", va, pud_val(*pud));
		set_pud(pud, pud_mkhuge(pa, bits));
		return;
	}
	pmd_t *pmd = pmd_alloc(pud, va, a);
	if (page_size == PMD_SIZE) {
		if (!pmd_none(*pmd) && pmd_val(*pmd) != pmd_val(pmd_mkhuge(pa, bits)))
			panic("pt_map: V0x%lx already mapped by pmd 0x%lx", va, pmd_val(*pmd));
		set_pmd(pmd, pmd_mkhuge(pa, bits));
		return;
	}
	pte_t *pte = pte_alloc(pmd, va, a);
	if (!pte_none(*pte) && pte_val(*pte) != pte_val(pte_mkleaf(pa, bits)))
		panic("pt_map: V0x%lx already mapped by pte 0x%lx", va, pte_val(*pte));
	set_pte(pte, pte_mkleaf(pa, bits));
}

void pt_map(paddr_t root, vaddr_t va, paddr_t pa, u64 size, u64 page_size, enum vm_prot prot)
{
	u64 bits = pt_leaf_bits(prot);

	ASSERT(page_size == PAGE_SIZE || page_size == PMD_SIZE || page_size == PUD_SIZE);
	ASSERT(IS_ALIGNED(va | pa | size, page_size));
	for (u64 off = 0; off < size; off += page_size)
		map_one(root, va + off, pa + off, page_size, bits);
}
