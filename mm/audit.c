/* The address-space audit (include/mmulab/audit.h). page->private holds
 * the audit's own count of entries per page while it runs. */

#include <mmulab/audit.h>
#include <mmulab/kernel.h>
#include <mmulab/memory.h>
#include <mmulab/page.h>

typedef void (*leaf_fn)(struct mm *mm, vaddr_t va, u64 entry, u64 *bad, const char *prefix);

static const u64 *table(u64 entry)
{
	return phys_to_virt(entry & _PAGE_ADDR_MASK);
}

static bool leaf_maps_frame(u64 e)
{
	return (e & _PAGE_PRESENT) || (e & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}

/* Every 4 KiB leaf of the user half; large leaves are not used there. */
static void for_each_user_leaf(struct mm *mm, leaf_fn fn, u64 *bad, const char *prefix)
{
	const u64 *pgd = phys_to_virt(mm->root);

	for (int i = 0; i < PT_ENTRIES / 2; i++) {
		if (!(pgd[i] & _PAGE_PRESENT))
			continue;
		const u64 *pud = table(pgd[i]);
		for (int j = 0; j < PT_ENTRIES; j++) {
			if (!(pud[j] & _PAGE_PRESENT))
				continue;
			const u64 *pmd = table(pud[j]);
			for (int k = 0; k < PT_ENTRIES; k++) {
				if (!(pmd[k] & _PAGE_PRESENT))
					continue;
				const u64 *pte = table(pmd[k]);
				for (int l = 0; l < PT_ENTRIES; l++)
					if (leaf_maps_frame(pte[l]))
						fn(mm, ((u64)i << 39) | ((u64)j << 30) | ((u64)k << 21) |
							       ((u64)l << 12), pte[l], bad, prefix);
			}
		}
	}
}

static void bad_page_map(struct mm *mm, vaddr_t va, u64 entry, const char *why, const char *prefix)
{
	struct page *p = phys_to_page(entry & _PAGE_ADDR_MASK);

	printk("%sBUG: Bad page map in mm %p: %s\n", prefix, mm, why);
	printk("%s  addr:V0x%016lx pte:%016lx page P0x%lx refcount:%d mapcount:%d pincount:%d "
	       "flags:0x%x node:%u\n", prefix, va, entry, entry & _PAGE_ADDR_MASK, p->refcount,
	       p->mapcount, p->pincount, p->flags, p->node);
}

static void count_entry(struct mm *mm, vaddr_t va, u64 e, u64 *bad, const char *prefix)
{
	paddr_t pa = e & _PAGE_ADDR_MASK;

	if (!pfn_valid(pa >> PAGE_SHIFT)) {
		bad_page_map(mm, va, e, "frame is not RAM", prefix);
		(*bad)++;
		return;
	}
	phys_to_page(pa)->private++;
}

static void check_entry(struct mm *mm, vaddr_t va, u64 e, u64 *bad, const char *prefix)
{
	paddr_t pa = e & _PAGE_ADDR_MASK;
	struct page *p;

	if (!pfn_valid(pa >> PAGE_SHIFT))
		return;
	p = phys_to_page(pa);
	if (p->private == 0)
		return; /* reported for an earlier entry of the same page */
	const char *why = NULL;
	if (p->flags & (PG_buddy | PG_reserved) || p->refcount <= 0)
		why = "maps a free or reserved frame";
	else if ((u64)p->mapcount != p->private)
		why = "map count differs from the entries mapping the page";
	else if (p->refcount < p->mapcount + p->pincount)
		why = "reference count below map count + pins";
	if (why) {
		bad_page_map(mm, va, e, why, prefix);
		printk("%s  entries found mapping it: %lu\n", prefix, p->private);
		(*bad)++;
	}
	p->private = 0;
}

static u64 check_kernel_half(struct mm *mm, const char *prefix)
{
	const u64 *mine = phys_to_virt(mm->root), *ref = phys_to_virt(kernel_root());
	u64 bad = 0;

	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		if ((mine[i] & _PAGE_PRESENT) && mine[i] != ref[i]) {
			printk("%sBUG: mm %p kernel top-level entry %d is %016lx, reference %016lx\n",
			       prefix, mm, i, mine[i], ref[i]);
			bad++;
		}
	return bad;
}

u64 mm_audit(const char *prefix)
{
	u64 bad = 0;

	spin_lock(&mm_list_lock);
	for (struct mm *mm = mm_list_first(); mm; mm = mm->next)
		for_each_user_leaf(mm, count_entry, &bad, prefix);
	for (struct mm *mm = mm_list_first(); mm; mm = mm->next) {
		for_each_user_leaf(mm, check_entry, &bad, prefix);
		bad += check_kernel_half(mm, prefix);
	}
	spin_unlock(&mm_list_lock);
	return bad;
}
