/*
 * audit: the audit's own rules (mm/audit.c), each proved to report. A rule
 * that was weakened or dropped would let every suite flagged
 * TEST_MM_AUDIT pass over the very corruption it exists to catch, so each
 * case builds one broken state by hand in a scratch address space (never
 * loaded, so no CPU walks what is built), asks the audit, and expects
 * exactly that rule to fire once and no other. Then it repairs the state:
 * the audit must be clean again, here and after the case (the suite is
 * flagged TEST_MM_AUDIT too), so the run goes on over sound memory.
 */

#include <mmulab/audit.h>
#include <mmulab/cmdline.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/percpu.h>
#include "mm_util.h"

#define PAGES 4
#define FAULTED 2 /* pages 0 and 1 are faulted in, 2 and 3 stay empty */

static struct mm *scratch_mm(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	for (u32 i = 0; i < FAULTED; i++)
		SETUP_TRUE(t, user_write64(USER_BASE + i * PAGE_SIZE, i + 1).vector == FAULT_NONE);
	mm_switch(NULL);
	SETUP_TRUE(t, mm_audit("  # ") == 0);
	return mm;
}

static struct page *page_at(struct mm *mm, u32 i)
{
	return phys_to_page(frame_at(mm, USER_BASE + i * PAGE_SIZE));
}

/* The audit must report exactly one violation, under rule. */
static void expect_only(struct test *t, enum audit_rule rule)
{
	struct audit_result r;

	test_diag(t, "the audit must name rule %s:", audit_rule_names[rule]);
	u64 total = mm_audit_rules("  # expected: ", &r);
	EXPECT_EQ(t, total, 1);
	for (int i = 0; i < AUDIT_RULE_COUNT; i++)
		if (!EXPECT_EQ(t, r.by_rule[i], i == (int)rule))
			test_diag(t, "rule %s fired %lu times", audit_rule_names[i], r.by_rule[i]);
}

static void expect_clean_and_destroy(struct test *t, struct mm *mm)
{
	EXPECT_EQ(t, mm_audit("  # "), 0);
	mm_destroy(mm);
}

/* A hand-made leaf at an empty page of the scratch mm; the caller clears
 * it before the mm is destroyed (the zap would drop a page it never got). */
static pte_t *plant_leaf(struct test *t, struct mm *mm, u32 i, paddr_t pa)
{
	pte_t *pte = mm_pte_alloc(mm, USER_BASE + i * PAGE_SIZE);

	SETUP_TRUE(t, pte && pte_none(*pte));
	set_pte(pte, pte_mkleaf(pa, anon_leaf_bits(VM_READ, false)));
	return pte;
}

/* An entry pointing past the end of RAM. */
static void not_ram_frame_mapped(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	paddr_t hole = ALIGN_UP(memblock_end_of_ram(), PAGE_SIZE);

	SETUP_TRUE(t, !pfn_valid(hole >> PAGE_SHIFT));
	pte_t *pte = plant_leaf(t, mm, FAULTED, hole);
	expect_only(t, AUDIT_NOT_RAM);
	pte_clear(pte);
	expect_clean_and_destroy(t, mm);
}

/* An entry left behind on a frame that went back to the allocator. */
static void free_frame_mapped(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct page *p = alloc_pages(this_cpu()->node, 0, 0);

	SETUP_TRUE(t, p != NULL);
	free_pages(p, 0);
	pte_t *pte = plant_leaf(t, mm, FAULTED, page_to_phys(p));
	expect_only(t, AUDIT_FREE_OR_RESERVED);
	pte_clear(pte);
	expect_clean_and_destroy(t, mm);
}

/* A mapped page that the allocator believes is reserved (firmware, the
 * kernel image): its counts are right, only the flag is wrong. */
static void reserved_frame_mapped(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct page *p = page_at(mm, 0);

	p->flags |= PG_reserved;
	expect_only(t, AUDIT_FREE_OR_RESERVED);
	p->flags &= ~PG_reserved;
	expect_clean_and_destroy(t, mm);
}

/* The same rule, one condition at a time, on a mapped page whose counts
 * are otherwise right: a free-block head flag, and a reference count of
 * zero (what a frame inside a merged free block has). */
static void buddy_flag_on_mapped_page(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct page *p = page_at(mm, 0);

	p->flags |= PG_buddy;
	expect_only(t, AUDIT_FREE_OR_RESERVED);
	p->flags &= ~PG_buddy;
	expect_clean_and_destroy(t, mm);
}

static void zero_refcount_mapped(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct page *p = page_at(mm, 0);

	p->refcount = 0;
	expect_only(t, AUDIT_FREE_OR_RESERVED);
	p->refcount = 1;
	expect_clean_and_destroy(t, mm);
}

/* A map count one higher than the entries that map the page. */
static void map_count_above_entries(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct page *p = page_at(mm, 0);

	p->mapcount++;
	expect_only(t, AUDIT_MAP_COUNT);
	p->mapcount--;
	expect_clean_and_destroy(t, mm);
}

/* A protnone (PROT_NONE or NUMA-hint) entry still maps its frame: with the
 * map count one too high, the audit must see the entry to count it. */
static void protnone_entry_counted(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct page *p = page_at(mm, 0);

	SETUP_TRUE(t, mm_protect(mm, USER_BASE, PAGE_SIZE, 0) == 0);
	SETUP_TRUE(t, pte_protnone(pte_at(mm, USER_BASE)));
	p->mapcount++;
	expect_only(t, AUDIT_MAP_COUNT);
	p->mapcount--;
	SETUP_TRUE(t, mm_protect(mm, USER_BASE, PAGE_SIZE, VM_READ | VM_WRITE) == 0);
	expect_clean_and_destroy(t, mm);
}

/* Entries are counted across address spaces: a second mm maps the page
 * behind its map count's back (as a fork that forgot to count would). */
static void mapping_in_another_mm_counted(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct mm *other = mm_create(this_cpu()->node);

	SETUP_TRUE(t, other != NULL);
	SETUP_TRUE(t, mm_map_anon(other, USER_BASE, PAGES * PAGE_SIZE, VM_READ, 0) == 0);
	pte_t *pte = plant_leaf(t, other, 0, page_to_phys(page_at(mm, 0)));
	expect_only(t, AUDIT_MAP_COUNT);
	pte_clear(pte);
	mm_destroy(other);
	expect_clean_and_destroy(t, mm);
}

/* A pin that took no reference: refcount 1 < mapping 1 + pin 1. */
static void ref_count_below_maps_and_pins(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	struct page *p = page_at(mm, 1);

	p->pincount++;
	expect_only(t, AUDIT_REF_COUNT);
	p->pincount--;
	expect_clean_and_destroy(t, mm);
}

/* A kernel top-level entry that no longer points where the reference
 * table's does (here: the direct map's slot holds the image's table). */
static void kernel_half_differs(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	pgd_t *mine = phys_to_virt(mm->root);
	const pgd_t *ref = phys_to_virt(kernel_root());
	unsigned slot = pgd_index(DIRECT_MAP_BASE), other = pgd_index(KERNEL_VIRT_BASE);

	SETUP_TRUE(t, pgd_present(ref[slot]) && pgd_present(ref[other]));
	SETUP_TRUE(t, pgd_val(mine[slot]) == pgd_val(ref[slot]));
	set_pgd(&mine[slot], ref[other]);
	expect_only(t, AUDIT_KERNEL_HALF);
	set_pgd(&mine[slot], ref[slot]);
	expect_clean_and_destroy(t, mm);
}

/* The same slot keeping its table but not its flags: the direct map's
 * top-level entry made read-only here, so every kernel write through the
 * direct map would fault in this address space alone. The rule compares
 * whole entries; one that compared only the frames would pass it. */
static void kernel_half_flags_differ(struct test *t)
{
	struct mm *mm = scratch_mm(t);
	pgd_t *mine = phys_to_virt(mm->root);
	const pgd_t *ref = phys_to_virt(kernel_root());
	unsigned slot = pgd_index(DIRECT_MAP_BASE);
	pgd_t read_only = __pgd(pgd_val(ref[slot]) & ~_PAGE_RW);

	SETUP_TRUE(t, pgd_val(mine[slot]) == pgd_val(ref[slot]));
	SETUP_TRUE(t, pgd_val(read_only) != pgd_val(ref[slot]));
	SETUP_TRUE(t, pgd_paddr(read_only) == pgd_paddr(ref[slot]));
	set_pgd(&mine[slot], read_only);
	expect_only(t, AUDIT_KERNEL_HALF);
	set_pgd(&mine[slot], ref[slot]);
	expect_clean_and_destroy(t, mm);
}

/* A page table the address space counts but nobody can find: neither
 * linked in nor deposited (a leaked deposit looks like this). */
static void table_page_leaked(struct test *t)
{
	struct mm *mm = scratch_mm(t);

	mm->table_pages++;
	expect_only(t, AUDIT_TABLE_PAGES);
	mm->table_pages--;
	expect_clean_and_destroy(t, mm);
}

/* A huge PMD whose deposit is gone: its split would have no table. The
 * deposit is unhooked from the PMD table's list (and uncounted, so only
 * this rule fires), then hooked back. */
static void huge_pmd_without_deposit(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, PMD_SIZE, VM_READ | VM_WRITE, VMA_HUGE_OK) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, user_write64(USER_BASE, 1).vector == FAULT_NONE);
	mm_switch(NULL);
	pmd_t *pmd = mm_pmd_lookup(mm, USER_BASE);
	SETUP_TRUE(t, pmd && pmd_leaf(*pmd));
	struct page *holder = phys_to_page(virt_to_phys(pmd));
	struct page *deposit = holder->deposit;
	SETUP_TRUE(t, deposit != NULL);
	holder->deposit = NULL;
	mm->table_pages--;
	expect_only(t, AUDIT_DEPOSIT);
	holder->deposit = deposit;
	mm->table_pages++;
	expect_clean_and_destroy(t, mm);
}

/* Read-only mode: a hint entry read back through a translation keyed on
 * the present bit alone (seed 000's Xen facet) names another frame; the
 * audit compares the kernel's reading with the validator's m2p and names
 * the entry (the wrong frame may break the count rules too). */
static void pv_hint_read_untranslated(struct test *t)
{
	struct audit_result r;

	if (!cmdline.mmu_pv)
		test_skip(t, "needs mmu=pv");
	struct mm *mm = scratch_mm(t);
	SETUP_TRUE(t, mm_protect(mm, USER_BASE, PAGE_SIZE, 0) == 0);
	pv_xlate.present_only = true;
	mm_audit_rules("  # expected: ", &r);
	pv_xlate.present_only = false;
	EXPECT_GE(t, r.by_rule[AUDIT_PV_TRANSLATION], 1);
	SETUP_TRUE(t, mm_protect(mm, USER_BASE, PAGE_SIZE, VM_READ | VM_WRITE) == 0);
	expect_clean_and_destroy(t, mm);
}

/* The mode's global rules hold after everything the run did so far. */
static void pv_mode_invariants(struct test *t)
{
	if (!cmdline.mmu_pv)
		test_skip(t, "needs mmu=pv");
	EXPECT_EQ(t, pv_audit("  # "), 0);
}

TEST_SUITE_FLAGS(audit, TEST_MM_AUDIT,
	TEST_CASE(not_ram_frame_mapped),
	TEST_CASE(free_frame_mapped),
	TEST_CASE(reserved_frame_mapped),
	TEST_CASE(buddy_flag_on_mapped_page),
	TEST_CASE(zero_refcount_mapped),
	TEST_CASE(map_count_above_entries),
	TEST_CASE(protnone_entry_counted),
	TEST_CASE(mapping_in_another_mm_counted),
	TEST_CASE(ref_count_below_maps_and_pins),
	TEST_CASE(kernel_half_differs),
	TEST_CASE(kernel_half_flags_differ),
	TEST_CASE(table_page_leaked),
	TEST_CASE(huge_pmd_without_deposit),
	TEST_CASE(pv_hint_read_untranslated),
	TEST_CASE(pv_mode_invariants));
