/* The address-space audit (include/mmulab/audit.h). page->private holds
 * the audit's own count of entries per page while it runs. */

#include <mmulab/audit.h>
#include <mmulab/huge_memory.h>
#include <mmulab/kernel.h>
#include <mmulab/memory.h>
#include <mmulab/page.h>
#include <mmulab/pgtable.h>
#include <arch/pv_mmu.h>

const char *const audit_rule_names[AUDIT_RULE_COUNT] = {
	[AUDIT_NOT_RAM] = "not_ram",
	[AUDIT_FREE_OR_RESERVED] = "free_or_reserved",
	[AUDIT_MAP_COUNT] = "map_count",
	[AUDIT_REF_COUNT] = "ref_count",
	[AUDIT_KERNEL_HALF] = "kernel_half",
	[AUDIT_DEPOSIT] = "deposit",
	[AUDIT_TABLE_PAGES] = "table_pages",
	[AUDIT_PV_TRANSLATION] = "pv_translation",
	[AUDIT_PV_TABLE] = "pv_table",
	[AUDIT_PV_WRITABLE_TABLE] = "pv_writable_table",
};

typedef void (*leaf_fn)(struct mm *mm, vaddr_t va, pte_t entry, struct audit_result *r,
			const char *prefix);

static bool leaf_maps_frame(pte_t e)
{
	return pte_present(e) || pte_protnone(e);
}

static vaddr_t user_va(int i, int j, int k, int l)
{
	return ((u64)i << 39) | ((u64)j << 30) | ((u64)k << 21) | ((u64)l << 12);
}

/* A huge PMD, present or mid-split (invalid), maps each of its 512
 * sub-pages once: the audit counts it as 512 entries. */
static void huge_leaves(struct mm *mm, pmd_t huge, vaddr_t va, leaf_fn fn,
			struct audit_result *r, const char *prefix)
{
	for (unsigned l = 0; l < PT_ENTRIES; l++)
		fn(mm, va + ((vaddr_t)l << PAGE_SHIFT), pte_from_huge_pmd(huge, l), r, prefix);
}

/* Every leaf of the user half, a huge PMD as its 512 sub-pages. */
static void for_each_user_leaf(struct mm *mm, leaf_fn fn, struct audit_result *r,
			      const char *prefix)
{
	const pgd_t *pgd = phys_to_virt(mm->root);

	for (int i = 0; i < PT_ENTRIES / 2; i++) {
		if (!pgd_present(pgd[i]))
			continue;
		const pud_t *pud = phys_to_virt(pgd_paddr(pgd[i]));
		for (int j = 0; j < PT_ENTRIES; j++) {
			if (!pud_present(pud[j]))
				continue;
			const pmd_t *pmd = phys_to_virt(pud_paddr(pud[j]));
			for (int k = 0; k < PT_ENTRIES; k++) {
				if (pmd_trans_huge(pmd[k]))
					huge_leaves(mm, pmd[k], user_va(i, j, k, 0), fn, r, prefix);
				if (!pmd_present(pmd[k]) || pmd_leaf(pmd[k]))
					continue;
				const pte_t *pte = phys_to_virt(pmd_paddr(pmd[k]));
				for (int l = 0; l < PT_ENTRIES; l++)
					if (leaf_maps_frame(pte[l]))
						fn(mm, user_va(i, j, k, l), pte[l], r, prefix);
			}
		}
	}
}

/* Counts a broken rule; true when its report (and the caller's detail
 * lines) is to be printed: the first RATELIMIT_BURST per rule and audit,
 * the rest summarised at the audit's end (print_held). */
static bool report(struct audit_result *r, enum audit_rule rule, struct mm *mm, const char *why,
		   const char *prefix)
{
	bool loud = r->by_rule[rule]++ < RATELIMIT_BURST;

	if (loud)
		printk("%sBUG: Bad page map in mm %p: %s [rule %s]\n", prefix, mm, why,
		       audit_rule_names[rule]);
	return loud;
}

static void print_held(const struct audit_result *r, const char *prefix)
{
	for (int i = 0; i < AUDIT_RULE_COUNT; i++)
		if (r->by_rule[i] > RATELIMIT_BURST)
			printk("%s... and %lu more \"BUG: Bad page map [rule %s]\"\n", prefix,
			       r->by_rule[i] - RATELIMIT_BURST, audit_rule_names[i]);
}

static void print_page(vaddr_t va, pte_t entry, const char *prefix)
{
	struct page *p = phys_to_page(pte_paddr(entry));

	printk("%s  addr:V0x%016lx pte:%016lx page P0x%lx refcount:%d mapcount:%d pincount:%d "
	       "flags:0x%x node:%u\n", prefix, va, pte_val(entry), pte_paddr(entry), p->refcount,
	       p->mapcount, p->pincount, p->flags, p->node);
}

/* Read-only mode: the kernel's reading of the entry's frame must be the
 * pseudo-physical frame of the machine frame it holds (seed 000's Xen
 * facet: a hint entry read back untranslated), and a table page may be
 * mapped read-only only. Checked against the validator, not the kernel. */
static void check_pv_leaf(struct mm *mm, vaddr_t va, pte_t e, struct audit_result *r,
			  const char *prefix)
{
	paddr_t machine = pte_machine_paddr(e);

	if (!pv_xlate.on)
		return;
	if (pv_machine_to_phys(machine) != pte_paddr(e)) {
		if (report(r, AUDIT_PV_TRANSLATION, mm, "entry read back as another frame", prefix))
				printk("%s  addr:V0x%016lx entry %016lx (machine) holds M0x%lx = P0x%lx, "
			       "read as P0x%lx\n", prefix, va, pte_machine_val(e), machine,
			       pv_machine_to_phys(machine), pte_paddr(e));
	}
	if (pte_present(e) && pte_write(e) && pv_mmu_level(pv_machine_to_phys(machine))) {
		if (report(r, AUDIT_PV_WRITABLE_TABLE, mm, "maps a page-table page writable", prefix))
			printk("%s  addr:V0x%016lx entry %016lx\n", prefix, va, pte_val(e));
	}
}

static void count_entry(struct mm *mm, vaddr_t va, pte_t e, struct audit_result *r,
			const char *prefix)
{
	paddr_t pa = pte_paddr(e);

	check_pv_leaf(mm, va, e, r, prefix);

	if (!pfn_valid(pa >> PAGE_SHIFT)) {
		if (report(r, AUDIT_NOT_RAM, mm, "frame is not RAM", prefix))
			printk("%s  addr:V0x%016lx pte:%016lx\n", prefix, va, pte_val(e));
		return;
	}
	phys_to_page(pa)->private++;
}

static void check_entry(struct mm *mm, vaddr_t va, pte_t e, struct audit_result *r,
			const char *prefix)
{
	paddr_t pa = pte_paddr(e);
	struct page *p;
	bool loud;

	if (!pfn_valid(pa >> PAGE_SHIFT))
		return;
	p = phys_to_page(pa);
	if (p->private == 0)
		return; /* reported for an earlier entry of the same page */
	/* One report per page, the first rule it breaks: the later rules
	 * mean nothing for a frame nobody owns. */
	if (p->flags & (PG_buddy | PG_reserved) || p->refcount <= 0)
		loud = report(r, AUDIT_FREE_OR_RESERVED, mm, "maps a free or reserved frame", prefix);
	else if ((u64)p->mapcount != p->private)
		loud = report(r, AUDIT_MAP_COUNT, mm, "map count differs from the entries mapping "
			      "the page", prefix);
	else if (p->refcount < p->mapcount + p->pincount)
		loud = report(r, AUDIT_REF_COUNT, mm, "reference count below map count + pins",
			      prefix);
	else {
		p->private = 0;
		return;
	}
	if (loud) {
		print_page(va, e, prefix);
		printk("%s  entries found mapping it: %lu\n", prefix, p->private);
	}
	p->private = 0;
}

static u64 huge_pmds_in(const pmd_t *pmd)
{
	u64 n = 0;

	for (int k = 0; k < PT_ENTRIES; k++)
		n += pmd_trans_huge(pmd[k]);
	return n;
}

/* Read-only mode: a table of the address space is pinned at its level
 * and read-only where the direct map maps it. */
static void check_pv_table(struct mm *mm, paddr_t table, enum pt_level level,
			   struct audit_result *r, const char *prefix)
{
	if (!pv_xlate.on)
		return;
	struct pt_walk w = pt_walk(kernel_root(), (vaddr_t)phys_to_virt(table));
	bool writable = w.leaf_size == PAGE_SIZE && pte_write(w.pte);
	if (pv_mmu_level(table) == level && w.leaf_size && !writable)
		return;
	if (report(r, AUDIT_PV_TABLE, mm, "table page not pinned at its level or writable", prefix))
		printk("%s  table P0x%lx: L%d, validator has L%d, direct map %s\n", prefix, table,
		       level, pv_mmu_level(table),
		       writable ? "writable" : w.leaf_size ? "read-only" : "absent");
}

/* One deposit per huge PMD, table by table (a PMD that went none with its
 * deposit left behind shows here too), and every table page the address
 * space counts is either linked in or deposited: none leaked. */
static void check_tables(struct mm *mm, struct audit_result *r, const char *prefix)
{
	const pgd_t *pgd = phys_to_virt(mm->root);
	u64 tables = 1; /* the root */

	check_pv_table(mm, mm->root, PT_L4, r, prefix);
	for (int i = 0; i < PT_ENTRIES / 2; i++) {
		if (!pgd_present(pgd[i]))
			continue;
		const pud_t *pud = phys_to_virt(pgd_paddr(pgd[i]));
		tables++;
		check_pv_table(mm, pgd_paddr(pgd[i]), PT_L3, r, prefix);
		for (int j = 0; j < PT_ENTRIES; j++) {
			if (!pud_present(pud[j]))
				continue;
			const pmd_t *pmd = phys_to_virt(pud_paddr(pud[j]));
			u64 huge = huge_pmds_in(pmd), deposits = huge_pmd_deposits(pmd);
			tables += 1 + deposits;
			check_pv_table(mm, pud_paddr(pud[j]), PT_L2, r, prefix);
			for (int k = 0; k < PT_ENTRIES; k++) {
				if (!pmd_present(pmd[k]) || pmd_leaf(pmd[k]))
					continue;
				tables++;
				check_pv_table(mm, pmd_paddr(pmd[k]), PT_L1, r, prefix);
			}
			if (huge != deposits && report(r, AUDIT_DEPOSIT, mm, "deposited tables differ "
							       "from huge PMDs", prefix))
				printk("%s  PMD table V0x%016lx: %lu huge PMDs, %lu deposits\n", prefix,
				       user_va(i, j, 0, 0), huge, deposits);
		}
	}
	if (tables != mm->table_pages &&
	    report(r, AUDIT_TABLE_PAGES, mm, "table page count differs from the tables found", prefix))
		printk("%s  table_pages %lu, found %lu (linked + deposited)\n", prefix,
		       mm->table_pages, tables);
}

static void check_kernel_half(struct mm *mm, struct audit_result *r, const char *prefix)
{
	const pgd_t *mine = phys_to_virt(mm->root), *ref = phys_to_virt(kernel_root());

	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		if (pgd_present(mine[i]) && !pgd_same(mine[i], ref[i]) &&
		    report(r, AUDIT_KERNEL_HALF, mm, "kernel top-level entry differs", prefix))
			printk("%s  entry %d is %016lx, reference %016lx\n", prefix, i,
			       pgd_val(mine[i]), pgd_val(ref[i]));
}

u64 mm_audit_rules(const char *prefix, struct audit_result *result)
{
	struct audit_result r = { 0 };
	u64 bad = 0;

	spin_lock(&mm_list_lock);
	for (struct mm *mm = mm_list_first(); mm; mm = mm->next)
		for_each_user_leaf(mm, count_entry, &r, prefix);
	for (struct mm *mm = mm_list_first(); mm; mm = mm->next) {
		for_each_user_leaf(mm, check_entry, &r, prefix);
		check_kernel_half(mm, &r, prefix);
		check_tables(mm, &r, prefix);
	}
	spin_unlock(&mm_list_lock);
	print_held(&r, prefix);
	for (int i = 0; i < AUDIT_RULE_COUNT; i++)
		bad += r.by_rule[i];
	if (result)
		*result = r;
	return bad;
}

u64 mm_audit(const char *prefix)
{
	return mm_audit_rules(prefix, NULL);
}
