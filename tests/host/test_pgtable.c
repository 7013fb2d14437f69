/*
 * The page-table walker and entry encoding (mm/pgtable.c, arch/pgtable.h)
 * on the host, over a fake physical memory: random map / unmap / protect
 * sequences on 4 KiB, 2 MiB and 1 GiB pages, compared entry by entry with
 * a plain model (address -> frame, permissions) through pt_walk.
 */

#include <stdarg.h>
#include <stdlib.h>
#include "host_test.h"
#include <mmulab/kernel.h>
#include <mmulab/pgtable.h>
#include <arch/cpu.h>

#define PHYS_PAGES 4096 /* tables live here */

u8 *host_phys_base;
static u64 next_table;

/* Link-time stand-ins for what the walker calls in the kernel. */
void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	abort();
}
void printk(const char *fmt, ...) { (void)fmt; }
bool cpu_has(enum x86_feature f) { return f == X86_NX; }
/* The read-only mode's validator is off on the host; translation can be
 * turned on (pv_xlate) to run the walker over machine-frame entries. */
struct pv_xlate pv_xlate;
void pv_mmu_set_entry(u64 *slot, u64 machine_val) { (void)slot; (void)machine_val; abort(); }
u64 pv_mmu_xchg_entry(u64 *slot, u64 machine_val) { (void)slot; (void)machine_val; abort(); }
void pv_mmu_batch_begin(void) {}
void pv_mmu_batch_end(void) {}
void pv_mmu_assert_unpinned(const void *table) { (void)table; }
paddr_t pt_table_frame(enum pt_level level)
{
	(void)level;
	if (next_table == PHYS_PAGES)
		panic("host: out of table pages");
	return (next_table++) * 4096;
}

static void reset_phys(void)
{
	if (!host_phys_base)
		host_phys_base = aligned_alloc(4096, PHYS_PAGES * 4096ULL);
	memset(host_phys_base, 0, PHYS_PAGES * 4096ULL);
	next_table = 1; /* page 0 is the root */
}

#define SLOTS 64
#define BASE 0x0000100000000000ULL

struct model {
	bool mapped;
	paddr_t frame;
	u32 prot;
};

static vaddr_t slot_va(int i) { return BASE + (u64)i * 0x1000 * 37; }

static bool walk_matches(paddr_t root, const struct model *m, int i)
{
	struct pt_walk w = pt_walk(root, slot_va(i));
	if (!m[i].mapped)
		return w.leaf_size == 0;
	if (w.leaf_size != 4096 || pte_paddr(w.pte) != m[i].frame)
		return false;
	return pte_write(w.pte) == !!(m[i].prot & VM_WRITE) &&
	       pte_user(w.pte) == !!(m[i].prot & VM_USER) &&
	       pte_exec(w.pte) == !!(m[i].prot & VM_EXEC);
}

static void random_4k_against_model(void)
{
	struct model m[SLOTS] = { 0 };
	unsigned seed = 99;
	bool ok = true;

	reset_phys();
	for (int step = 0; step < 20000 && ok; step++) {
		int i = rand_r(&seed) % SLOTS, op = rand_r(&seed) % 3;
		u32 prot = VM_READ | (rand_r(&seed) % 2 ? VM_WRITE : 0) |
			   (rand_r(&seed) % 2 ? VM_EXEC : 0) | (rand_r(&seed) % 2 ? VM_USER : 0);
		pte_t *pte = pt_pte_alloc(0, slot_va(i));
		if (op == 0) {
			m[i] = (struct model){ true, (paddr_t)(rand_r(&seed) % 100000) << 12, prot };
			set_pte(pte, pte_mkleaf(m[i].frame, pt_leaf_bits(prot)));
		} else if (op == 1) {
			set_pte(pte, __pte(0));
			m[i].mapped = false;
		} else if (m[i].mapped) {
			m[i].prot = prot;
			set_pte(pte, pte_modify(*pte, pt_leaf_bits(prot)));
		}
		for (int j = 0; j < SLOTS; j++)
			if (!walk_matches(0, m, j)) {
				printf("  # step %d: slot %d differs from the model\n", step, j);
				ok = false;
				break;
			}
	}
	CHECK(ok);
	CHECK(pt_pte_lookup(0, BASE + (1ULL << 39)) == NULL); /* never mapped */
}

static void large_pages_map_and_walk(void)
{
	reset_phys();
	pt_map(0, BASE, 0x40000000, 1ULL << 30, 1ULL << 30, VM_READ | VM_WRITE);
	pt_map(0, BASE + (1ULL << 30), 0x200000, 4ULL << 20, 2ULL << 20, VM_READ);
	struct pt_walk w = pt_walk(0, BASE + 0x12345);
	CHECK(w.levels == 2 && w.leaf_size == (1ULL << 30) && pud_leaf(w.pud));
	CHECK(pud_paddr(w.pud) == 0x40000000);
	struct pt_walk w2 = pt_walk(0, BASE + (1ULL << 30) + (3ULL << 20));
	CHECK(w2.levels == 3 && w2.leaf_size == (2ULL << 20) && pmd_paddr(w2.pmd) == 0x400000);
	CHECK(!(pmd_val(w2.pmd) & _PAGE_RW) && (pmd_val(w2.pmd) & _PAGE_NX));
}

/* PROT_NONE entries keep the frame and A/D, drop every permission, and
 * are neither present nor none. */
static void protnone_round_trip(void)
{
	pte_t e = __pte(pte_val(pte_mkleaf(0x1234000, pt_leaf_bits(VM_READ | VM_WRITE | VM_USER))) |
			_PAGE_ACCESSED | _PAGE_DIRTY);
	pte_t n = pte_mkprotnone(e);

	CHECK(pte_protnone(n) && !pte_present(n) && pte_mapped(n) && !pte_none(n));
	CHECK(pte_paddr(n) == 0x1234000 && pte_dirty(n) && pte_accessed(n));
	CHECK(!pte_write(n) && !pte_user(n));
	pte_t back = pte_modify(n, pt_leaf_bits(VM_READ | VM_USER));
	CHECK(pte_present(back) && !pte_protnone(back) && pte_paddr(back) == 0x1234000);
	CHECK(pte_user(back) && !pte_write(back) && pte_dirty(back));
	CHECK(!pte_protnone(__pte(0)) && !pte_protnone(e)); /* G on a present entry is not protnone */
}

/* A rotation of the 2 MiB blocks of the host's 16 MiB in two groups of
 * four, as mm/pv_mode.c makes them: block b of a group goes to b + 1. */
static u32 p2m[8], m2p[8];

static void translation_on(void)
{
	for (u32 b = 0; b < 8; b++) {
		p2m[b] = (b & ~3u) | ((b + 1) & 3u);
		m2p[p2m[b]] = b;
	}
	pv_xlate = (struct pv_xlate){ .on = true, .blocks = 8, .p2m = p2m, .m2p = m2p };
}

static void translation_off(void)
{
	pv_xlate = (struct pv_xlate){ 0 };
}

/* Every kind of entry that names a frame holds the machine frame and
 * reads back the pseudo-physical one; 2 MiB offsets and PAT survive. */
static void translated_round_trips(void)
{
	const paddr_t pa = 0x345000, machine = 0x545000; /* block 1 -> block 2 */
	const u64 bits = pt_leaf_bits(VM_READ | VM_WRITE);

	translation_on();
	pte_t leaf = pte_mkleaf(pa, bits);
	CHECK((pte_machine_val(leaf) & _PAGE_ADDR_MASK) == machine && pte_paddr(leaf) == pa);
	CHECK(pte_paddr(pte_mkprotnone(leaf)) == pa);
	CHECK((pte_machine_val(pte_mkprotnone(leaf)) & _PAGE_ADDR_MASK) == machine);
	CHECK(pte_paddr(pte_mkmigration(leaf)) == pa);
	CHECK(pte_paddr(pte_modify(pte_mkprotnone(leaf), bits)) == pa);
	pmd_t huge = pmd_mkpat(pmd_mkhuge(0x200000, bits));
	CHECK((pmd_machine_val(huge) & _PMD_HUGE_ADDR_MASK) == 0x400000 && pmd_pat(huge));
	CHECK(pmd_huge_paddr(pmd_mkinvalid(huge)) == 0x200000);
	CHECK(pmd_huge_paddr(pmd_mkprotnone(huge)) == 0x200000);
	CHECK(pte_paddr(pte_from_huge_pmd(pmd_mkprotnone(huge), 3)) == 0x203000);
	CHECK(pud_paddr(pud_mktable(pa)) == pa && pgd_paddr(pgd_mktable(pa)) == pa);
	CHECK((pgd_machine_val(pgd_mktable(pa)) & _PAGE_ADDR_MASK) == machine);
	CHECK(pt_root_of_cr3(machine | 0x18) == pa);
	/* Keyed on P alone, as Xen's translation was in 3.12.7: the hint
	 * entry reads back as its machine frame. */
	pv_xlate.present_only = true;
	CHECK(pte_paddr(pte_mkprotnone(leaf)) == machine);
	translation_off();
}

/* The walker over translated entries: the same model, the same results. */
static void random_4k_translated(void)
{
	translation_on();
	random_4k_against_model();
	translation_off();
}

HOST_SUITE(pgtable,
	HOST_CASE(random_4k_against_model),
	HOST_CASE(large_pages_map_and_walk),
	HOST_CASE(protnone_round_trip),
	HOST_CASE(translated_round_trips),
	HOST_CASE(random_4k_translated));
