/*
 * pv: the read-only page-table mode (mmu=pv) holds. Every rule of the
 * validator (arch/x86/pv_mmu.c) refuses its own forbidden update, pin,
 * unpin or CR3 load, names the rule and leaves the entry as it was; the
 * hardware backs it: a pinned page, a live page table and the early
 * page-table buffer are read-only to the kernel (a store faults), so no
 * entry changes except through the validator, and an unpinned page or
 * the buffer's returned tail is writable again. Batched updates cost one
 * validator call per 32 entries; every entry kind that names a frame
 * translates pseudo-physical <-> machine both ways, and mappings made from
 * translated entries reach the right frame.
 *
 * Refusals print their "refused <rule>" line on purpose; the cases check
 * the returned rule. Every case skips without mmu=pv.
 */

#include <arch/cpu.h>
#include <arch/pv_mmu.h>
#include <arch/trap.h>
#include <mmulab/cmdline.h>
#include <mmulab/memory.h>
#include <mmulab/mm.h>
#include <mmulab/mm_struct.h>
#include <mmulab/page.h>
#include <mmulab/pgtable.h>
#include <mmulab/test.h>
#include <mmulab/tlb.h>
#include "mm_util.h"
#include "probe.h"

/* Kernel scratch addresses of this suite: 2 MiB aligned, so the batch's
 * entries share one L1 table. */
#define PV_VA (TEST_AREA_BASE + 0x58000000ULL)
#define BATCH_VA (PV_VA + PMD_SIZE)
#define BATCH_ENTRIES 70 /* three flushes of at most 32 */

static void need_pv(struct test *t)
{
	if (!cmdline.mmu_pv)
		test_skip(t, "needs mmu=pv");
}

/* --- scratch pages and tables --- */

static paddr_t new_page(struct test *t)
{
	struct page *p = alloc_pages(NO_NODE, 0, ALLOC_ZERO);

	SETUP_TRUE(t, p);
	return page_to_phys(p);
}

static void free_page_at(paddr_t pa)
{
	free_pages(pfn_to_page(pa >> PAGE_SHIFT), 0);
}

static paddr_t new_table(struct test *t, enum pt_level level)
{
	paddr_t pa = new_page(t);

	pt_table_pin(pa, level);
	return pa;
}

static u64 *slot_of(paddr_t table, unsigned index)
{
	return (u64 *)phys_to_virt(table) + index;
}

static u64 slot_read(paddr_t table, unsigned index)
{
	return __atomic_load_n(slot_of(table, index), __ATOMIC_ACQUIRE);
}

/* Empties a slot a case filled (or a broken validator let through), so
 * that the tables it names can be unpinned. */
static void clear_slot(paddr_t table, unsigned index)
{
	if (slot_read(table, index))
		pv_mmu_try_update(slot_of(table, index), 0);
}

static void free_table(paddr_t pa)
{
	if (pv_mmu_level(pa) != PT_NOT_TABLE)
		pt_table_unpin(pa);
	free_page_at(pa);
}

/* The frame bits of a stored (machine) value: flag bits sit at the same
 * positions at every level. */
static paddr_t machine_frame(u64 machine_val)
{
	return machine_val & ~pte_flag_bits(pte_raw(machine_val));
}

static bool expect_rule(struct test *t, enum pv_rule got, enum pv_rule want)
{
	if (EXPECT_EQ(t, got, want))
		return true;
	test_diag(t, "validator said %s, expected %s", pv_rule_name(got), pv_rule_name(want));
	return false;
}

/* One update the rules forbid: refused with rule, the entry unchanged,
 * one refusal counted. */
static void expect_refused_update(struct test *t, paddr_t table, unsigned index, u64 machine_val,
				  enum pv_rule rule)
{
	u64 before = slot_read(table, index);
	u64 refusals = pv_mmu_stats().refusals;

	expect_rule(t, pv_mmu_try_update(slot_of(table, index), machine_val), rule);
	EXPECT_EQ(t, slot_read(table, index), before);
	EXPECT_EQ(t, pv_mmu_stats().refusals, refusals + 1);
}

static void expect_allowed_update(struct test *t, paddr_t table, unsigned index, u64 machine_val)
{
	expect_rule(t, pv_mmu_try_update(slot_of(table, index), machine_val), PV_OK);
	EXPECT_EQ(t, slot_read(table, index), machine_val);
}

/* A pin the rules forbid: refused with rule, the frame's level unchanged. */
static void expect_refused_pin(struct test *t, paddr_t pa, enum pt_level level, enum pv_rule rule)
{
	enum pt_level before = pv_mmu_level(pa);
	u64 refusals = pv_mmu_stats().refusals;

	expect_rule(t, pv_mmu_pin(pa, level), rule);
	EXPECT_EQ(t, pv_mmu_level(pa), before);
	EXPECT_EQ(t, pv_mmu_stats().refusals, refusals + 1);
}

static void expect_refused_unpin(struct test *t, paddr_t pa, enum pv_rule rule)
{
	enum pt_level before = pv_mmu_level(pa);
	u64 refusals = pv_mmu_stats().refusals;

	expect_rule(t, pv_mmu_unpin(pa), rule);
	EXPECT_EQ(t, pv_mmu_level(pa), before);
	EXPECT_EQ(t, pv_mmu_stats().refusals, refusals + 1);
}

/* --- one case per rule --- */

/* An entry written into a page that is not a pinned table. */
static void target_not_pinned(struct test *t)
{
	need_pv(t);
	paddr_t data = new_page(t), frame = new_page(t);

	expect_refused_update(t, data, 3, pte_machine_val(pte_mkleaf(frame, _PAGE_PRESENT)),
			      PV_TARGET_NOT_PINNED);
	free_page_at(frame);
	free_page_at(data);
}

/* A writable leaf onto a table page; read-only is allowed (the direct map
 * needs it). */
static void writable_table(struct test *t)
{
	need_pv(t);
	paddr_t l1 = new_table(t, PT_L1), target = new_table(t, PT_L1);

	expect_refused_update(t, l1, 5,
			      pte_machine_val(pte_mkleaf(target, _PAGE_PRESENT | _PAGE_RW)),
			      PV_WRITABLE_TABLE);
	expect_allowed_update(t, l1, 6, pte_machine_val(pte_mkleaf(target, _PAGE_PRESENT)));
	clear_slot(l1, 5);
	clear_slot(l1, 6);
	free_table(target);
	free_table(l1);
}

/* A table entry must name a table pinned one level down: not a data
 * frame, not a table of its own level. */
static void bad_next_level(struct test *t)
{
	need_pv(t);
	paddr_t l2 = new_table(t, PT_L2), other_l2 = new_table(t, PT_L2);
	paddr_t l1 = new_table(t, PT_L1), data = new_page(t);

	expect_refused_update(t, l2, 1, pmd_machine_val(pmd_mktable(data)), PV_BAD_NEXT_LEVEL);
	expect_refused_update(t, l2, 2, pmd_machine_val(pmd_mktable(other_l2)), PV_BAD_NEXT_LEVEL);
	expect_allowed_update(t, l2, 3, pmd_machine_val(pmd_mktable(l1)));
	for (unsigned i = 1; i <= 3; i++)
		clear_slot(l2, i);
	free_page_at(data);
	free_table(l1);
	free_table(other_l2);
	free_table(l2);
}

/* Leaves live at L1 and L2 only: a 1 GiB leaf is refused, read-only too. */
static void leaf_level(struct test *t)
{
	need_pv(t);
	paddr_t l3 = new_table(t, PT_L3);

	expect_refused_update(t, l3, 7, pud_machine_val(pud_mkhuge(0, _PAGE_PRESENT)),
			      PV_LEAF_LEVEL);
	clear_slot(l3, 7);
	free_table(l3);
}

/* The validator's alias slot of a pinned L4 can be neither cleared nor
 * pointed elsewhere. */
static void hypervisor_slot(struct test *t)
{
	need_pv(t);
	paddr_t l4 = new_table(t, PT_L4), l3 = new_table(t, PT_L3);
	unsigned slot = pgd_index(0xffff800000000000UL);

	EXPECT_NE(t, slot_read(l4, slot), 0); /* the pin put the alias there */
	expect_refused_update(t, l4, slot, 0, PV_HYPERVISOR_SLOT);
	expect_refused_update(t, l4, slot, pgd_machine_val(pgd_mktable(l3)), PV_HYPERVISOR_SLOT);
	free_table(l3);
	free_table(l4);
}

static void pin_pinned(struct test *t)
{
	need_pv(t);
	paddr_t l1 = new_table(t, PT_L1);

	expect_refused_pin(t, l1, PT_L2, PV_PIN_PINNED);
	EXPECT_EQ(t, pv_mmu_level(l1), PT_L1);
	free_table(l1);
}

/* A page from the allocator is writable in the direct map. */
static void pin_writable(struct test *t)
{
	need_pv(t);
	paddr_t data = new_page(t);

	EXPECT_GT(t, pv_mmu_frame_count(data), 0);
	expect_refused_pin(t, data, PT_L1, PV_PIN_WRITABLE);
	if (pv_mmu_level(data) != PT_NOT_TABLE)
		pv_mmu_unpin(data);
	free_page_at(data);
}

/* A read-only page whose second entry is a writable leaf onto a table
 * cannot become an L1, and the refused pin keeps no reference it took
 * for the allowed first entry (a writable leaf onto a data frame). */
static void pin_bad_entry(struct test *t)
{
	need_pv(t);
	paddr_t page = new_page(t), data = new_page(t), target = new_table(t, PT_L1);
	u64 *word = slot_of(page, 0);

	word[0] = pte_machine_val(pte_mkleaf(data, _PAGE_PRESENT | _PAGE_RW));
	word[1] = pte_machine_val(pte_mkleaf(target, _PAGE_PRESENT | _PAGE_RW));
	direct_map_set_writable(page, false);
	flush_tlb_range(&kernel_space, (vaddr_t)word, (vaddr_t)word + PAGE_SIZE);
	u32 data_refs = pv_mmu_frame_count(data), target_refs = pv_mmu_frame_count(target);
	expect_refused_pin(t, page, PT_L1, PV_PIN_BAD_ENTRY);
	EXPECT_EQ(t, pv_mmu_frame_count(data), data_refs);
	EXPECT_EQ(t, pv_mmu_frame_count(target), target_refs);
	if (pv_mmu_level(page) != PT_NOT_TABLE) {
		clear_slot(page, 0);
		clear_slot(page, 1);
		pv_mmu_unpin(page);
	}
	direct_map_set_writable(page, true);
	flush_tlb_local_page((vaddr_t)word);
	word[0] = word[1] = 0;
	free_table(target);
	free_page_at(data);
	free_page_at(page);
}

static void unpin_referenced(struct test *t)
{
	need_pv(t);
	paddr_t l2 = new_table(t, PT_L2), l1 = new_table(t, PT_L1);

	expect_allowed_update(t, l2, 0, pmd_machine_val(pmd_mktable(l1)));
	expect_refused_unpin(t, l1, PV_UNPIN_REFERENCED);
	EXPECT_EQ(t, pv_mmu_level(l1), PT_L1);
	clear_slot(l2, 0);
	free_table(l1);
	free_table(l2);
}

static void unpin_not_pinned(struct test *t)
{
	need_pv(t);
	paddr_t data = new_page(t);

	expect_refused_unpin(t, data, PV_UNPIN_NOT_PINNED);
	free_page_at(data);
}

static void load_root(void *arg)
{
	pt_load_root(*(paddr_t *)arg);
}

/* CR3 takes only a pinned L4. The candidate is a copy of the live root,
 * so a validator that let it through would still leave a working CPU for
 * the case to report from. */
static void root_not_pinned(struct test *t)
{
	need_pv(t);
	paddr_t copy = new_page(t);
	u64 cr3 = read_cr3();
	u64 refusals = pv_mmu_stats().refusals;

	for (unsigned i = 0; i < PT_ENTRIES; i++)
		*slot_of(copy, i) = slot_read(pt_current_root(), i);
	struct fault_info f = run_catching_faults(load_root, &copy);
	EXPECT_EQ(t, f.vector, X86_TRAP_UD);
	EXPECT_EQ(t, pv_mmu_stats().refusals, refusals + 1);
	if (!EXPECT_EQ(t, read_cr3(), cr3))
		write_cr3(cr3);
	free_page_at(copy);
}

/* --- the hardware: table pages are read-only to the kernel --- */

static void null_store(void *arg)
{
	asm volatile("lock orb $0, %0" : "+m"(*(volatile u8 *)arg));
}

/* A store that leaves the byte as it was, atomically: safe on a live page
 * table or on memory someone else owns, and still a write access. */
static struct fault_info probe_null_store(vaddr_t va)
{
	return run_catching_faults(null_store, (void *)va);
}

static bool expect_write_protected(struct test *t, vaddr_t va)
{
	struct fault_info f = probe_null_store(va);
	bool ok = EXPECT_EQ(t, f.vector, X86_TRAP_PF);

	ok &= EXPECT_EQ(t, f.error_code, X86_PF_PROT | X86_PF_WRITE);
	ok &= EXPECT_EQ(t, f.addr, va);
	return ok;
}

static bool expect_writable(struct test *t, vaddr_t va)
{
	struct fault_info f = probe_null_store(va);

	if (f.vector == FAULT_NONE)
		return true;
	test_diag(t, "store to V0x%lx: vector %d error 0x%x", va, f.vector, f.error_code);
	return EXPECT_EQ(t, f.vector, FAULT_NONE);
}

/* The direct map's leaf for pa, as the hardware walks it. */
static bool direct_map_leaf_writable(struct test *t, paddr_t pa)
{
	struct pt_walk w = pt_walk(kernel_root(), (vaddr_t)phys_to_virt(pa));

	EXPECT_EQ(t, w.leaf_size, PAGE_SIZE);
	return w.leaf_size && pte_write(w.pte);
}

/* Pinned, a page takes no store through the direct map (reads work);
 * unpinned, it does again. */
static void pin_write_protects(struct test *t)
{
	need_pv(t);
	paddr_t pa = new_page(t);
	vaddr_t va = (vaddr_t)phys_to_virt(pa) + 0x18;
	u8 v = 1;

	EXPECT_EQ(t, probe_write(va, 0x5a).vector, FAULT_NONE);
	pt_table_pin(pa, PT_L1);
	EXPECT_FALSE(t, direct_map_leaf_writable(t, pa));
	struct fault_info f = probe_write(va, 0);
	EXPECT_EQ(t, f.vector, X86_TRAP_PF);
	EXPECT_EQ(t, f.error_code, X86_PF_PROT | X86_PF_WRITE);
	EXPECT_EQ(t, f.addr, va);
	EXPECT_EQ(t, probe_read(va, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 0x5a);
	pt_table_unpin(pa);
	EXPECT_TRUE(t, direct_map_leaf_writable(t, pa));
	EXPECT_EQ(t, probe_write(va, 0xa5).vector, FAULT_NONE);
	EXPECT_EQ(t, probe_read(va, &v).vector, FAULT_NONE);
	EXPECT_EQ(t, v, 0xa5);
	free_page_at(pa);
}

/* A stray store into any level of a live address space's tables, and of
 * the kernel's own, faults: only the validator writes entries. */
static void live_tables_write_protected(struct test *t)
{
	need_pv(t);
	struct mm *mm = mm_create(0);

	SETUP_TRUE(t, mm && mm_map_anon(mm, USER_BASE, PMD_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	EXPECT_EQ(t, user_write64(USER_BASE + 0x40, 1).vector, FAULT_NONE);
	pgd_t *pgd = pgd_offset(mm->root, USER_BASE);
	pud_t *pud = pud_offset(pgd, USER_BASE);
	pmd_t *pmd = pmd_offset(pud, USER_BASE);
	pte_t *pte = pte_offset(pmd, USER_BASE);
	EXPECT_TRUE(t, pte_present(*pte));
	EXPECT_EQ(t, pv_mmu_level(virt_to_phys(pte)), PT_L1);
	expect_write_protected(t, (vaddr_t)pgd);
	expect_write_protected(t, (vaddr_t)pud);
	expect_write_protected(t, (vaddr_t)pmd);
	expect_write_protected(t, (vaddr_t)pte);
	expect_write_protected(t, (vaddr_t)pt_pte_lookup(kernel_root(), (vaddr_t)pte));
	expect_write_protected(t, (vaddr_t)phys_to_virt(kernel_root()));
	mm_switch(NULL);
	mm_destroy(mm);
}

/* --- batches --- */

static u64 irq_save(void)
{
	u64 flags = read_rflags();

	irq_disable();
	return flags;
}

static void irq_restore(u64 flags)
{
	if (flags & X86_RFLAGS_IF)
		irq_enable();
}

static void map_batch(pte_t *slots, paddr_t frames, bool *queued)
{
	*queued = true;
	pv_mmu_batch_begin();
	for (unsigned i = 0; i < BATCH_ENTRIES; i++) {
		set_pte(&slots[i], pte_mkleaf(frames + i * PAGE_SIZE, _PAGE_PRESENT | _PAGE_NX));
		/* Nothing is written before the first flush. */
		if (i < PV_BATCH_MAX)
			*queued &= pte_none(ptep_get(&slots[0]));
	}
	pv_mmu_batch_end();
}

/* N set_pte in a batch are N updates in ceil(N/32) validator calls, none
 * made before its flush, and all there after the end: each scratch
 * address reads its own frame. Interrupts are off on this CPU and the
 * others are idle between cases, so the deltas are exact. */
static void batch_calls(struct test *t)
{
	need_pv(t);
	struct page *block = alloc_pages(NO_NODE, 7, ALLOC_ZERO);
	bool queued;

	SETUP_TRUE(t, block);
	paddr_t frames = page_to_phys(block);
	for (unsigned i = 0; i < BATCH_ENTRIES; i++)
		*(u64 *)phys_to_virt(frames + i * PAGE_SIZE) = pattern(i, 0xba);
	/* BATCH_VA starts an L1 table, which holds all the entries. */
	pte_t *slots = pt_pte_alloc(kernel_root(), BATCH_VA);
	u64 flags = irq_save();
	struct pv_mmu_stats before = pv_mmu_stats();
	map_batch(slots, frames, &queued);
	struct pv_mmu_stats after = pv_mmu_stats();
	irq_restore(flags);

	EXPECT_EQ(t, after.updates - before.updates, BATCH_ENTRIES);
	EXPECT_EQ(t, after.calls - before.calls, (BATCH_ENTRIES + PV_BATCH_MAX - 1) / PV_BATCH_MAX);
	EXPECT_TRUE(t, queued);
	u64 wrong = 0;
	for (unsigned i = 0; i < BATCH_ENTRIES; i++) {
		vaddr_t va = BATCH_VA + i * PAGE_SIZE;
		invlpg(va);
		wrong += pte_paddr(ptep_get(&slots[i])) != frames + i * PAGE_SIZE ||
			 *(volatile u64 *)va != pattern(i, 0xba);
	}
	EXPECT_EQ(t, wrong, 0);
	pv_mmu_batch_begin();
	for (unsigned i = 0; i < BATCH_ENTRIES; i++)
		pte_clear(&slots[i]);
	pv_mmu_batch_end();
	for (unsigned i = 0; i < BATCH_ENTRIES; i++)
		invlpg(BATCH_VA + i * PAGE_SIZE);
	free_pages(block, 7);
}

/* An exchange inside a batch sees what was queued before it: the queue
 * goes to the validator first, so the old value returned is the queued
 * one, and no queued store lands after the exchange. */
static void batch_exchange_after_queue(struct test *t)
{
	need_pv(t);
	paddr_t a = new_page(t), b = new_page(t);
	pte_t *slot = pt_pte_alloc(kernel_root(), BATCH_VA);
	u64 bits = pt_leaf_bits(VM_READ);

	pv_mmu_batch_begin();
	set_pte(slot, pte_mkleaf(a, bits));
	pte_t old = pte_xchg(slot, pte_mkleaf(b, bits));
	pv_mmu_batch_end();
	EXPECT_EQ(t, pte_paddr(old), a);
	EXPECT_EQ(t, pte_paddr(ptep_get(slot)), b);
	pte_clear(slot);
	invlpg(BATCH_VA);
	free_page_at(a);
	free_page_at(b);
}

/* --- translation --- */

/* e (a machine value) names pa: read back as pa, stored as pa's machine
 * frame, and rebuilt unchanged from its pseudo-physical view. */
#define EXPECT_NAMES(t, lvl, e, pa)                                                     \
	do {                                                                            \
		EXPECT_EQ(t, lvl##_paddr(e), pa);                                       \
		EXPECT_EQ(t, machine_frame(lvl##_machine_val(e)), pv_phys_to_machine(pa)); \
		EXPECT_EQ(t, lvl##_machine_val(__##lvl(lvl##_val(e))), lvl##_machine_val(e)); \
	} while (0)

static void translation_round_trips(struct test *t)
{
	need_pv(t);
	paddr_t pa = new_page(t), huge = pa & ~(PMD_SIZE - 1);

	EXPECT_NE(t, pv_phys_to_machine(pa), pa);
	EXPECT_EQ(t, pv_machine_to_phys(pv_phys_to_machine(pa)), pa);
	pte_t leaf = pte_mkleaf(pa, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
	EXPECT_NAMES(t, pte, leaf, pa);
	EXPECT_TRUE(t, pte_protnone(pte_mkprotnone(leaf)));
	EXPECT_NAMES(t, pte, pte_mkprotnone(leaf), pa);
	EXPECT_TRUE(t, pte_migration(pte_mkmigration(leaf)));
	EXPECT_NAMES(t, pte, pte_mkmigration(leaf), pa);
	pmd_t hpmd = pmd_mkhuge(huge, _PAGE_PRESENT | _PAGE_RW);
	EXPECT_NAMES(t, pmd, hpmd, huge);
	EXPECT_TRUE(t, pmd_is_invalid_huge(pmd_mkinvalid(hpmd)));
	EXPECT_NAMES(t, pmd, pmd_mkinvalid(hpmd), huge);
	EXPECT_EQ(t, pmd_huge_paddr(pmd_mkinvalid(hpmd)), huge);
	EXPECT_TRUE(t, pmd_protnone(pmd_mkprotnone(hpmd)));
	EXPECT_NAMES(t, pmd, pmd_mkprotnone(hpmd), huge);
	EXPECT_NAMES(t, pmd, pmd_mktable(pa), pa);
	EXPECT_NAMES(t, pud, pud_mktable(pa), pa);
	EXPECT_NAMES(t, pgd, pgd_mktable(pa), pa);
	free_page_at(pa);
}

static u64 words_unlike(vaddr_t va, paddr_t pa, u64 seed)
{
	u64 bad = 0;

	for (u32 w = 0; w < PAGE_SIZE / 8; w += 64)
		bad += ((volatile u64 *)va)[w] != pattern(w, seed) ||
		       ((u64 *)phys_to_virt(pa))[w] != pattern(w, seed);
	return bad;
}

/* A non-present entry that names the frame, turned back into a leaf from
 * its own frame (as a NUMA hint fault or a finished migration does),
 * still maps pa. */
static void expect_restores(struct test *t, pte_t *slot, pte_t parked, paddr_t pa, u64 seed)
{
	u8 v;

	set_pte(slot, parked);
	invlpg(PV_VA);
	EXPECT_EQ(t, probe_read(PV_VA, &v).vector, X86_TRAP_PF);
	set_pte(slot, pte_modify(ptep_get(slot), _PAGE_PRESENT | _PAGE_NX));
	invlpg(PV_VA);
	EXPECT_EQ(t, pte_paddr(ptep_get(slot)), pa);
	EXPECT_EQ(t, words_unlike(PV_VA, pa, seed), 0);
}

/* Through the hardware: a mapping built from a pseudo-physical frame
 * reaches that frame's memory although the entry holds another frame. */
static void translation_reaches_frame(struct test *t)
{
	need_pv(t);
	paddr_t pa = new_page(t);

	test_map(PV_VA, pa, VM_READ | VM_WRITE);
	for (u32 w = 0; w < PAGE_SIZE / 8; w += 64)
		((volatile u64 *)PV_VA)[w] = pattern(w, 0x77);
	EXPECT_EQ(t, words_unlike(PV_VA, pa, 0x77), 0);
	pte_t *slot = pt_pte_lookup(kernel_root(), PV_VA);
	pte_t e = ptep_get(slot);
	EXPECT_EQ(t, pte_paddr(e), pa);
	EXPECT_NE(t, machine_frame(pte_machine_val(e)), pa);
	expect_restores(t, slot, pte_mkprotnone(ptep_get(slot)), pa, 0x77);
	expect_restores(t, slot, pte_mkmigration(ptep_get(slot)), pa, 0x77);
	test_unmap(PV_VA);
	free_page_at(pa);
}

/* --- the early page-table buffer --- */

/* [start, end) holds the kernel's first tables: read-only. The tail went
 * back to memblock: a page of it may be a kernel table again (pinned, so
 * read-only) or anyone's data (writable), so it is probed with stores
 * that change nothing. */
static void pgt_buf_protection(struct test *t)
{
	need_pv(t);
	paddr_t start, end, top;
	u64 writable_used = 0, wrong_tail = 0, tail_tables = 0;

	pgt_buf_bounds(&start, &end, &top);
	EXPECT_LT(t, start, end);
	for (paddr_t pa = start; pa < end; pa += PAGE_SIZE) {
		writable_used += direct_map_leaf_writable(t, pa);
		if (!expect_write_protected(t, (vaddr_t)phys_to_virt(pa)))
			test_diag(t, "used buffer page P0x%lx takes stores", pa);
	}
	for (paddr_t pa = end; pa < top; pa += PAGE_SIZE) {
		bool table = pv_mmu_level(pa) != PT_NOT_TABLE;
		vaddr_t va = (vaddr_t)phys_to_virt(pa);

		tail_tables += table;
		wrong_tail += direct_map_leaf_writable(t, pa) == table;
		if (!(table ? expect_write_protected(t, va) : expect_writable(t, va)))
			test_diag(t, "tail page P0x%lx (%s) has the wrong protection", pa,
				  table ? "a table now" : "not a table");
	}
	EXPECT_EQ(t, writable_used, 0);
	EXPECT_EQ(t, wrong_tail, 0);
	test_diag(t, "buffer P0x%lx..P0x%lx..P0x%lx: %lu pages used, %lu returned (%lu of them "
		  "tables again)", start, end, top, (end - start) / PAGE_SIZE,
		  (top - end) / PAGE_SIZE, tail_tables);
}

/* --- an address space's tables --- */

#define MAX_TABLES 16

struct tables {
	u32 n;
	struct {
		paddr_t pa;
		enum pt_level level;
	} t[MAX_TABLES];
};

static void note_table(struct tables *ts, paddr_t pa, enum pt_level level)
{
	if (ts->n < MAX_TABLES)
		ts->t[ts->n++] = (typeof(ts->t[0])){ pa, level };
}

static void collect_pmd_table(struct tables *ts, paddr_t table)
{
	note_table(ts, table, PT_L2);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		pmd_t e = pmdp_get((pmd_t *)phys_to_virt(table) + i);
		if (pmd_present(e) && !pmd_leaf(e))
			note_table(ts, pmd_paddr(e), PT_L1);
	}
}

/* The root and every table below its user half. */
static void collect_tables(struct tables *ts, paddr_t root)
{
	note_table(ts, root, PT_L4);
	for (unsigned i = 0; i < PT_ENTRIES / 2; i++) {
		pgd_t g = pgdp_get((pgd_t *)phys_to_virt(root) + i);
		if (!pgd_present(g))
			continue;
		note_table(ts, pgd_paddr(g), PT_L3);
		for (unsigned j = 0; j < PT_ENTRIES; j++) {
			pud_t u = pudp_get((pud_t *)phys_to_virt(pgd_paddr(g)) + j);
			if (pud_present(u) && !pud_leaf(u))
				collect_pmd_table(ts, pud_paddr(u));
		}
	}
}

/* One page each, so no fault maps a huge page: two L1 tables under one
 * L2, and a second L2. */
static const vaddr_t touched[] = { USER_BASE, USER_BASE + 2 * PMD_SIZE, USER_BASE + PUD_SIZE };

static void mm_tables_pinned(struct test *t)
{
	need_pv(t);
	struct mm *mm = mm_create(0);
	struct tables ts = { 0 };

	SETUP_TRUE(t, mm);
	for (unsigned i = 0; i < ARRAY_SIZE(touched); i++)
		SETUP_TRUE(t, mm_map_anon(mm, touched[i], PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	for (unsigned i = 0; i < ARRAY_SIZE(touched); i++)
		EXPECT_EQ(t, user_write64(touched[i], i).vector, FAULT_NONE);
	mm_switch(NULL);
	collect_tables(&ts, mm->root);
	EXPECT_EQ(t, ts.n, 1 + 1 + 2 + 3); /* L4, L3, two L2, three L1 */
	for (u32 i = 0; i < ts.n; i++) {
		EXPECT_EQ(t, pv_mmu_level(ts.t[i].pa), ts.t[i].level);
		EXPECT_FALSE(t, direct_map_leaf_writable(t, ts.t[i].pa));
		expect_write_protected(t, (vaddr_t)phys_to_virt(ts.t[i].pa));
	}
	mm_destroy(mm);
	for (u32 i = 0; i < ts.n; i++) {
		EXPECT_EQ(t, pv_mmu_level(ts.t[i].pa), PT_NOT_TABLE);
		EXPECT_TRUE(t, direct_map_leaf_writable(t, ts.t[i].pa));
		expect_writable(t, (vaddr_t)phys_to_virt(ts.t[i].pa));
	}
}

TEST_SUITE(pv,
	TEST_CASE(target_not_pinned),
	TEST_CASE(writable_table),
	TEST_CASE(bad_next_level),
	TEST_CASE(leaf_level),
	TEST_CASE(hypervisor_slot),
	TEST_CASE(pin_pinned),
	TEST_CASE(pin_writable),
	TEST_CASE(pin_bad_entry),
	TEST_CASE(unpin_referenced),
	TEST_CASE(unpin_not_pinned),
	TEST_CASE(root_not_pinned),
	TEST_CASE(pin_write_protects),
	TEST_CASE(live_tables_write_protected),
	TEST_CASE(batch_calls),
	TEST_CASE(batch_exchange_after_queue),
	TEST_CASE(translation_round_trips),
	TEST_CASE(translation_reaches_frame),
	TEST_CASE(pgt_buf_protection),
	TEST_CASE(mm_tables_pinned));
