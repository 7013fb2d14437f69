/*
 * ptdump: a range of an address space, level by level, one line per
 * non-empty entry, flags by name:
 *
 *   PGD[  0] V0x0000100000000000 table P0x00000000001a3000
 *    PUD[  0] V0x0000100000000000 table P0x00000000001a4000
 *     PMD[  0] V0x0000100000000000 table P0x00000000001a5000
 *      PTE[  3] V0x0000100000003000 P0x000000000210e000 P W U NX A D
 *      PTE[  4] V0x0000100000004000 P0x000000000210f000 protnone U NX
 *     PMD[  1] V0x0000100000200000 2M P0x0000000002200000 P W U NX A D
 *     PMD[  2] V0x0000100000400000 2M-invalid P0x0000000002400000 - W U NX A D
 *
 * A huge PMD prints its frame without the PAT bit (bit 12 there), and PAT
 * by name; "2M-invalid" is one mid-split (P clear, PS kept).
 *
 * Lines go to a callback, so tests can read what a user would.
 */

#include <mmulab/ptdump.h>
#include <mmulab/format.h>
#include <mmulab/log.h>
#include <mmulab/pgtable.h>

struct dump {
	void (*emit)(void *ctx, const char *line);
	void *ctx;
};

static void flag_names(u64 e, bool leaf, char *buf, size_t size)
{
	static const struct {
		u64 bit;
		const char *name;
	} names[] = {
		{ _PAGE_RW, "W" },   { _PAGE_USER, "U" },     { _PAGE_PWT, "PWT" },
		{ _PAGE_PCD, "PCD" }, { _PAGE_ACCESSED, "A" }, { _PAGE_DIRTY, "D" },
		{ _PAGE_NX, "NX" },
	};
	size_t n = format(buf, size, "%s", (e & _PAGE_PRESENT) ? "P" :
				   (e & _PAGE_PROTNONE) ? "protnone" : "-");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (e & names[i].bit)
			n += format(buf + n, size - n, " %s", names[i].name);
	if (leaf && (e & _PAGE_PRESENT) && (e & _PAGE_GLOBAL))
		n += format(buf + n, size - n, " G");
}

static void line(struct dump *d, int depth, const char *level, unsigned index, vaddr_t va,
		 u64 e, paddr_t pa, const char *kind)
{
	char flags[64], text[160];
	bool leaf = kind[0] != 't';

	flag_names(e, leaf, flags, sizeof(flags));
	format(text, sizeof(text), "%*s%s[%3u] V0x%016lx %s P0x%016lx %s", depth, "", level, index,
	       va, kind, pa, flags);
	d->emit(d->ctx, text);
}

static void dump_ptes(struct dump *d, pmd_t *pmd, vaddr_t va, vaddr_t end)
{
	pte_t *pte = pte_offset(pmd, va);

	for (; va < end; va += PAGE_SIZE, pte++)
		if (!pte_none(*pte))
			line(d, 3, "PTE", pte_index(va), va, pte_val(*pte), pte_paddr(*pte), "4K");
}

static void dump_pmds(struct dump *d, pud_t *pud, vaddr_t va, vaddr_t end)
{
	pmd_t *pmd = pmd_offset(pud, va);

	for (vaddr_t next; va < end; va = next, pmd++) {
		next = pmd_addr_end(va, end);
		if (pmd_none(*pmd))
			continue;
		if (pmd_trans_huge(*pmd)) {
			line(d, 2, "PMD", pmd_index(va), va, pmd_val(*pmd), pmd_huge_paddr(*pmd),
			     pmd_is_invalid_huge(*pmd) ? "2M-invalid" : pmd_protnone(*pmd) ? "2M-protnone" : pmd_pat(*pmd) ? "2M PAT" : "2M");
			continue;
		}
		bool leaf = !pmd_present(*pmd);
		line(d, 2, "PMD", pmd_index(va), va, pmd_val(*pmd), pmd_paddr(*pmd),
		     leaf ? "2M" : "table");
		if (!leaf)
			dump_ptes(d, pmd, va, next);
	}
}

static void dump_puds(struct dump *d, pgd_t *pgd, vaddr_t va, vaddr_t end)
{
	pud_t *pud = pud_offset(pgd, va);

	for (vaddr_t next; va < end; va = next, pud++) {
		next = pud_addr_end(va, end);
		if (pud_none(*pud))
			continue;
		bool leaf = pud_leaf(*pud) || !pud_present(*pud);
		line(d, 1, "PUD", pud_index(va), va, pud_val(*pud), pud_paddr(*pud),
		     leaf ? "1G" : "table");
		if (!leaf)
			dump_pmds(d, pud, va, next);
	}
}

void ptdump(paddr_t root, vaddr_t start, vaddr_t end,
	    void (*emit)(void *ctx, const char *line), void *ctx)
{
	struct dump d = { emit, ctx };
	pgd_t *pgd = pgd_offset(root, start);

	for (vaddr_t va = start, next; va < end; va = next, pgd++) {
		next = pgd_addr_end(va, end);
		if (pgd_none(*pgd))
			continue;
		line(&d, 0, "PGD", pgd_index(va), va, pgd_val(*pgd), pgd_paddr(*pgd), "table");
		if (pgd_present(*pgd))
			dump_puds(&d, pgd, va, next);
	}
}

void ptdump_emit_printk(void *ctx, const char *text)
{
	printk("%s%s\n", ctx ? (const char *)ctx : "", text);
}
