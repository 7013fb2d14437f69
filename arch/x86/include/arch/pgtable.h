#ifndef ARCH_PGTABLE_H
#define ARCH_PGTABLE_H

/*
 * x86-64 page-table entry encoding: the only place that knows bit
 * positions. mm/ uses the typed accessors; one struct type per level keeps
 * levels from being mixed up (a pmd_t cannot be passed where a pte_t goes).
 *
 * The only place that writes an entry, too: every store into a live table
 * is set_pXd, pXd_clear, pXd_xchg (in-place read-modify-write),
 * pgd_copy_range or pt_table_clear, so the read-only page-table mode
 * (mmu=pv) redirects them all from here to its validator. The raw field is named for this header alone and
 * is const, so `*pte = e` outside these accessors does not compile;
 * tools/check-entry-writes.py keeps its name out of every other file.
 */

#include <mmulab/types.h>
#include <mmulab/prot.h>
#include <mmulab/layout.h>

#define PT_ENTRIES 512

#define _PAGE_PRESENT (1UL << 0)
#define _PAGE_RW (1UL << 1)
#define _PAGE_USER (1UL << 2)
#define _PAGE_PWT (1UL << 3)
#define _PAGE_PCD (1UL << 4)
#define _PAGE_ACCESSED (1UL << 5)
#define _PAGE_DIRTY (1UL << 6)
#define _PAGE_PSE (1ULL << 7) /* a leaf at PMD/PUD level */
#define _PAGE_GLOBAL (1UL << 8)
#define _PAGE_NX (1UL << 63)
#define _PAGE_ADDR_MASK 0x000ffffffffff000UL

#define PGD_SHIFT 39
#define PUD_SHIFT 30
#define PMD_SHIFT 21
#define PMD_SIZE (1ULL << PMD_SHIFT)
#define PUD_SIZE (1ULL << PUD_SHIFT)

/* Table levels, numbered as Xen's validator does: L1 holds PTEs, L4 is
 * the top-level table. */
enum pt_level { PT_NOT_TABLE = 0, PT_L1 = 1, PT_L2, PT_L3, PT_L4 };

/* Non-leaf entries grant everything; the leaf decides. */
#define _PAGE_TABLE (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER)

/* Undefined at the end of this header. */
#define PT_RAW __raw_pgtable_h_only

/*
 * Frame translation for the read-only page-table mode (mmu=pv, see
 * arch/x86/pv_mmu.c). There the kernel's frame numbers are pseudo-physical
 * and entries hold machine frames: a fixed permutation of 2 MiB blocks, so
 * that huge pages stay machine-contiguous. An entry is translated when it
 * names a frame: present, or one of the non-present kinds the kernel keeps
 * a frame in (protnone/NUMA-hint, migration, an invalid huge PMD). Natively
 * `on` is false and every value is its own translation.
 */
struct pv_xlate {
	bool on;           /* entries hold machine frames */
	bool validating;   /* entry writes go to the validator */
	bool present_only; /* bugs=pv_xlate_present_only: translate on P alone */
	u64 blocks;        /* 2 MiB blocks the maps cover; identity above */
	const u32 *p2m;    /* pseudo-physical block -> machine block */
	const u32 *m2p;    /* machine block -> pseudo-physical block */
};
extern struct pv_xlate pv_xlate;

#define _PAGE_BLOCK_MASK (_PAGE_ADDR_MASK & ~(PMD_SIZE - 1))

/* The frame bits of v (a whole entry or an address) through map, offset
 * within the 2 MiB block and every other bit kept. */
static inline u64 pv_xlate_frame(u64 v, const u32 *map)
{
	u64 block = (v & _PAGE_BLOCK_MASK) >> PMD_SHIFT;

	if (block >= pv_xlate.blocks)
		return v;
	return (v & ~_PAGE_BLOCK_MASK) | ((u64)map[block] << PMD_SHIFT);
}

static inline paddr_t pv_phys_to_machine(paddr_t pa)
{
	return pv_xlate.on ? pv_xlate_frame(pa, pv_xlate.p2m) : pa;
}

static inline paddr_t pv_machine_to_phys(paddr_t ma)
{
	return pv_xlate.on ? pv_xlate_frame(ma, pv_xlate.m2p) : ma;
}

/* Bit 8 while P is clear marks protnone, bit 9 a migration entry (below);
 * a huge PMD keeps PS in every form. Upper levels name frames only when
 * present. */
#define _PAGE_NONPRESENT_FRAME_BITS ((1UL << 8) | (1UL << 9))
static inline bool pte_raw_names_frame(u64 v)
{
	if (v & _PAGE_PRESENT)
		return true;
	return !pv_xlate.present_only && (v & _PAGE_NONPRESENT_FRAME_BITS);
}
static inline bool pmd_raw_names_frame(u64 v)
{
	return pte_raw_names_frame(v) || (!pv_xlate.present_only && (v & _PAGE_PSE));
}
static inline bool pud_raw_names_frame(u64 v) { return v & _PAGE_PRESENT; }
static inline bool pgd_raw_names_frame(u64 v) { return v & _PAGE_PRESENT; }

/*
 * lvl_val and __lvl are the kernel's view: pseudo-physical frames. The
 * machine value is stored; the raw constructor (lvl##_raw) is for bit
 * operations inside this header, which keep whatever frame is there.
 */
#define DEFINE_PT_LEVEL(lvl, shift)                                                \
	typedef struct {                                                           \
		const u64 PT_RAW;                                                  \
	} lvl##_t;                                                                 \
	_Static_assert(sizeof(lvl##_t) == 8, #lvl "_t is one 64-bit entry");       \
	static inline lvl##_t lvl##_raw(u64 v) { return (lvl##_t){ v }; }          \
	static inline u64 lvl##_machine_val(lvl##_t e) { return e.PT_RAW; }        \
	static inline paddr_t lvl##_machine_paddr(lvl##_t e) { return e.PT_RAW & _PAGE_ADDR_MASK; } \
	static inline u64 lvl##_val(lvl##_t e)                                     \
	{                                                                          \
		u64 v = e.PT_RAW;                                                  \
		return pv_xlate.on && lvl##_raw_names_frame(v) ? pv_xlate_frame(v, pv_xlate.m2p) : v; \
	}                                                                          \
	static inline lvl##_t __##lvl(u64 v)                                       \
	{                                                                          \
		return (lvl##_t){ pv_xlate.on && lvl##_raw_names_frame(v) ?        \
					  pv_xlate_frame(v, pv_xlate.p2m) : v };   \
	}                                                                          \
	static inline bool lvl##_none(lvl##_t e) { return e.PT_RAW == 0; }            \
	static inline bool lvl##_present(lvl##_t e) { return e.PT_RAW & _PAGE_PRESENT; } \
	static inline paddr_t lvl##_paddr(lvl##_t e) { return lvl##_val(e) & _PAGE_ADDR_MASK; } \
	static inline unsigned lvl##_index(vaddr_t va) { return (va >> (shift)) & (PT_ENTRIES - 1); } \
	static inline lvl##_t lvl##_mktable(paddr_t table)                         \
	{                                                                          \
		return (lvl##_t){ pv_phys_to_machine(table) | _PAGE_TABLE };       \
	}

DEFINE_PT_LEVEL(pgd, PGD_SHIFT)
DEFINE_PT_LEVEL(pud, PUD_SHIFT)
DEFINE_PT_LEVEL(pmd, PMD_SHIFT)
DEFINE_PT_LEVEL(pte, PAGE_SHIFT)

/* The same top-level entry, but for the Accessed bit, which the CPU sets
 * on whichever copy it walks: copies of a shared entry drift in it. */
static inline bool pgd_same(pgd_t a, pgd_t b)
{
	return ((a.PT_RAW ^ b.PT_RAW) & ~_PAGE_ACCESSED) == 0;
}

static inline bool pud_leaf(pud_t e) { return pud_present(e) && (e.PT_RAW & _PAGE_PSE); }
static inline bool pmd_leaf(pmd_t e) { return pmd_present(e) && (e.PT_RAW & _PAGE_PSE); }

/* Leaf permission bits for prot; the same at every level, bit 7 aside. */
static inline u64 prot_to_leaf_bits(enum vm_prot prot, bool has_nx)
{
	u64 bits = _PAGE_PRESENT;

	if (prot & VM_WRITE)
		bits |= _PAGE_RW;
	if (prot & VM_USER)
		bits |= _PAGE_USER;
	if (prot & VM_GLOBAL)
		bits |= _PAGE_GLOBAL;
	if (prot & VM_UNCACHED)
		bits |= _PAGE_PCD | _PAGE_PWT;
	if (!(prot & VM_EXEC) && has_nx)
		bits |= _PAGE_NX;
	return bits;
}

/* Entries for a pseudo-physical frame pa hold its machine frame. */
static inline pte_t pte_mkleaf(paddr_t pa, u64 bits) { return pte_raw(pv_phys_to_machine(pa) | bits); }
static inline pmd_t pmd_mkhuge(paddr_t pa, u64 bits)
{
	return pmd_raw(pv_phys_to_machine(pa) | bits | _PAGE_PSE);
}
static inline pud_t pud_mkhuge(paddr_t pa, u64 bits)
{
	return pud_raw(pv_phys_to_machine(pa) | bits | _PAGE_PSE);
}

static inline bool pte_write(pte_t e) { return e.PT_RAW & _PAGE_RW; }
static inline bool pte_user(pte_t e) { return e.PT_RAW & _PAGE_USER; }
static inline bool pte_exec(pte_t e) { return !(e.PT_RAW & _PAGE_NX); }
static inline bool pte_global(pte_t e) { return e.PT_RAW & _PAGE_GLOBAL; }
static inline bool pte_accessed(pte_t e) { return e.PT_RAW & _PAGE_ACCESSED; }
static inline bool pte_dirty(pte_t e) { return e.PT_RAW & _PAGE_DIRTY; }

static inline u64 pte_flag_bits(pte_t e) { return e.PT_RAW & ~_PAGE_ADDR_MASK; }

/*
 * PROT_NONE and NUMA-hint entries, as Linux's x86 PAGE_NONE encodes them:
 * P clear, bit 8 (_PAGE_PROTNONE) and A set, the frame and the dirty bit
 * kept, every permission bit cleared. The hardware ignores every bit of a
 * non-present entry, so bit 8 means "protnone" only while P is clear;
 * present entries use it as G. Restoring takes the permissions from the
 * VMA, never from the entry.
 */
#define _PAGE_PROTNONE _PAGE_GLOBAL

static inline bool pte_protnone(pte_t e)
{
	return (e.PT_RAW & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}

/*
 * Migration entries: P and bit 8 clear, software bit 9 set, frame kept.
 * They exist only while the migrating CPU holds the page-table lock, so a fault
 * on one simply waits for that lock (see mm/migrate.c).
 */
#define _PAGE_MIGRATION (1UL << 9)

static inline bool pte_migration(pte_t e)
{
	return (e.PT_RAW & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_MIGRATION)) == _PAGE_MIGRATION;
}

static inline pte_t pte_mkmigration(pte_t e)
{
	return pte_raw((e.PT_RAW & (_PAGE_ADDR_MASK | _PAGE_ACCESSED | _PAGE_DIRTY)) | _PAGE_MIGRATION);
}

/* Present, protnone or migrating: the entry still owns its frame. */
static inline bool pte_mapped(pte_t e)
{
	return pte_present(e) || pte_protnone(e) || pte_migration(e);
}

static inline pte_t pte_mkprotnone(pte_t e)
{
	return pte_raw((e.PT_RAW & (_PAGE_ADDR_MASK | _PAGE_DIRTY)) | _PAGE_PROTNONE | _PAGE_ACCESSED);
}

/* A leaf entry with the same frame and new permission bits. */
static inline pte_t pte_modify(pte_t e, u64 bits)
{
	return pte_mkleaf(pte_paddr(e), bits | (e.PT_RAW & (_PAGE_ACCESSED | _PAGE_DIRTY)));
}

static inline pte_t pte_mkwrite(pte_t e) { return pte_raw(e.PT_RAW | _PAGE_RW); }
static inline pte_t pte_wrprotect(pte_t e) { return pte_raw(e.PT_RAW & ~_PAGE_RW); }

/* A leaf entry with every bit kept but the frame, which becomes pa. */
static inline pte_t pte_set_paddr(pte_t e, paddr_t pa)
{
	return pte_raw((e.PT_RAW & ~_PAGE_ADDR_MASK) | pv_phys_to_machine(pa));
}

/*
 * Transparent huge pages: a 2 MiB leaf PMD (PS set) and its "invalid"
 * form, the state a split holds it in: P clear, PS and the frame kept, so
 * the entry is never none and never "not huge" while the split runs, and
 * no CPU can load a 2 MiB translation from it. The hardware ignores every
 * bit of a non-present entry.
 *
 * PAT is bit 7 in a 4 KiB PTE but bit 12 in a huge PMD (bit 7 is PS
 * there), and bit 12 of a PTE is a frame bit: a split converts it, it
 * never copies the bit position.
 */
#define _PAGE_PAT (1UL << 7)
#define _PAGE_PAT_LARGE (1UL << 12)
#define _PMD_HUGE_ADDR_MASK (_PAGE_ADDR_MASK & ~(PMD_SIZE - 1))

/* Huge, present or mid-split. */
static inline bool pmd_trans_huge(pmd_t e) { return !pmd_none(e) && (e.PT_RAW & _PAGE_PSE); }
/*
 * A huge NUMA hint (huge protnone): P clear, PS and bit 8 (_PAGE_PROTNONE)
 * set, the frame, A, D, PAT and the permission bits kept. Only NUMA
 * balancing makes one (a huge PROT_NONE splits), and a write to a
 * read-only huge PMD splits it, so the hint keeps W for the restore, as
 * Linux's saved write did; the restore still asks the VMA.
 */
static inline bool pmd_protnone(pmd_t e)
{
	return (e.PT_RAW & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE)) == (_PAGE_PROTNONE | _PAGE_PSE);
}
static inline bool pmd_is_invalid_huge(pmd_t e)
{
	return pmd_trans_huge(e) && !pmd_present(e) && !pmd_protnone(e);
}
static inline paddr_t pmd_huge_paddr(pmd_t e) { return pmd_val(e) & _PMD_HUGE_ADDR_MASK; }
static inline bool pmd_write(pmd_t e) { return e.PT_RAW & _PAGE_RW; }
static inline bool pmd_dirty(pmd_t e) { return e.PT_RAW & _PAGE_DIRTY; }
static inline bool pmd_accessed(pmd_t e) { return e.PT_RAW & _PAGE_ACCESSED; }
static inline bool pmd_exec(pmd_t e) { return !(e.PT_RAW & _PAGE_NX); }
static inline bool pmd_pat(pmd_t e) { return e.PT_RAW & _PAGE_PAT_LARGE; }
static inline bool pte_pat(pte_t e) { return e.PT_RAW & _PAGE_PAT; }

static inline pmd_t pmd_mkinvalid(pmd_t e) { return pmd_raw(e.PT_RAW & ~(_PAGE_PRESENT | _PAGE_PROTNONE)); }
static inline pmd_t pmd_wrprotect(pmd_t e) { return pmd_raw(e.PT_RAW & ~_PAGE_RW); }
static inline pmd_t pmd_mkpat(pmd_t e) { return pmd_raw(e.PT_RAW | _PAGE_PAT_LARGE); }
/* Lazy free (MADV_FREE): a clean entry says "not written since". */
static inline pmd_t pmd_mkclean(pmd_t e) { return pmd_raw(e.PT_RAW & ~_PAGE_DIRTY); }
static inline pte_t pte_mkclean(pte_t e) { return pte_raw(e.PT_RAW & ~_PAGE_DIRTY); }
/* From a present (or invalid) huge leaf; A set as on a 4 KiB hint. */
static inline pmd_t pmd_mkprotnone(pmd_t e)
{
	return pmd_raw((e.PT_RAW & ~_PAGE_PRESENT) | _PAGE_PROTNONE | _PAGE_ACCESSED);
}
static inline pmd_t pmd_mkyoung(pmd_t e) { return pmd_raw(e.PT_RAW | _PAGE_ACCESSED); }
static inline pmd_t pmd_mkdirty(pmd_t e) { return pmd_raw(e.PT_RAW | _PAGE_DIRTY); }
/* The same huge leaf bits on another 2 MiB frame (a huge migration). */
static inline pmd_t pmd_set_huge_paddr(pmd_t e, paddr_t pa)
{
	return pmd_raw((e.PT_RAW & ~_PMD_HUGE_ADDR_MASK) | pv_phys_to_machine(pa));
}

/* A huge leaf with the same frame, A, D and PAT, and new permission bits
 * (from prot_to_leaf_bits, which never sets bit 7 or 12). */
static inline pmd_t pmd_modify_huge(pmd_t e, u64 bits)
{
	return pmd_mkhuge(pmd_huge_paddr(e),
			  bits | (e.PT_RAW & (_PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PAT_LARGE)));
}

/* The 4 KiB entry for sub-page index of a present (or protnone) huge leaf: the frame
 * offset by index pages, the permission, cache, A and D bits of the huge
 * entry, and PAT moved from bit 12 to bit 7. */
static inline pte_t pte_from_huge_pmd(pmd_t huge, unsigned index)
{
	const u64 kept = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_PWT | _PAGE_PCD |
			 _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | _PAGE_NX;
	u64 bits = huge.PT_RAW & kept;

	/* A huge NUMA hint splits into present PTEs with its kept permission
	 * bits: bit 8 is G in a present PTE, and a hint carried to 512 PTEs
	 * would cost 512 hint faults for one. */
	if (pmd_protnone(huge))
		bits = (bits & ~_PAGE_PROTNONE) | _PAGE_PRESENT;
	if (huge.PT_RAW & _PAGE_PAT_LARGE)
		bits |= _PAGE_PAT;
	return pte_mkleaf(pmd_huge_paddr(huge) + ((paddr_t)index << PAGE_SHIFT), bits);
}

/* The root table a CR3 value names (its low bits are PCID/cache bits). */
static inline paddr_t pt_root_of_cr3(u64 cr3) { return pv_machine_to_phys(cr3 & _PAGE_ADDR_MASK); }
/* Loads root (pseudo-physical) into CR3; in the read-only mode only a
 * pinned top-level table is accepted (arch/x86/pv_mmu.c). */
void pt_load_root(paddr_t root);

/* The raw word of a table slot, writable: for the stores below only (the
 * field is const so that nothing else can store into a slot). */
#define PT_SLOT_WORD(slot) ((u64 *)&(slot)->PT_RAW)

/*
 * In the read-only page-table mode every table page is read-only to the
 * kernel: once the validator is on, each store goes to it (an update it
 * refuses stops the caller like a BUG()). arch/x86/pv_mmu.c.
 */
void pv_mmu_set_entry(u64 *slot, u64 machine_val);
u64 pv_mmu_xchg_entry(u64 *slot, u64 machine_val);
void pv_mmu_batch_begin(void);
void pv_mmu_batch_end(void);
void pv_mmu_assert_unpinned(const void *table);

static inline bool pv_validating(void) { return __builtin_expect(pv_xlate.validating, 0); }

/*
 * Entry stores are single atomic writes: the CPU may walk the table at any
 * moment and must never see half an entry. The exchange is the in-place
 * read-modify-write: it returns the old entry, so Accessed/Dirty bits the
 * CPU sets concurrently are never lost.
 */
#define DEFINE_SET_ENTRY(lvl)                                                    \
	static inline void set_##lvl(lvl##_t *slot, lvl##_t e)                   \
	{                                                                        \
		if (pv_validating())                                             \
			pv_mmu_set_entry(PT_SLOT_WORD(slot), e.PT_RAW);          \
		else                                                             \
			__atomic_store_n(PT_SLOT_WORD(slot), e.PT_RAW, __ATOMIC_RELEASE); \
	}                                                                        \
	static inline void lvl##_clear(lvl##_t *slot) { set_##lvl(slot, lvl##_raw(0)); } \
	/* One read of a slot another CPU may change (a lockless walker's look). */ \
	static inline lvl##_t lvl##p_get(const lvl##_t *slot)                    \
	{                                                                        \
		return lvl##_raw(__atomic_load_n(&slot->PT_RAW, __ATOMIC_ACQUIRE)); \
	}                                                                        \
	static inline lvl##_t lvl##_xchg(lvl##_t *slot, lvl##_t e)               \
	{                                                                        \
		if (pv_validating())                                             \
			return lvl##_raw(pv_mmu_xchg_entry(PT_SLOT_WORD(slot), e.PT_RAW)); \
		return lvl##_raw(__atomic_exchange_n(PT_SLOT_WORD(slot), e.PT_RAW, \
						     __ATOMIC_ACQ_REL));           \
	}
DEFINE_SET_ENTRY(pgd)
DEFINE_SET_ENTRY(pud)
DEFINE_SET_ENTRY(pmd)
DEFINE_SET_ENTRY(pte)

/* The split's first step: the huge entry becomes its invalid form in one
 * atomic exchange, which returns the entry as it was at that instant, so an
 * Accessed or Dirty bit a CPU set up to then is in the returned value. */
static inline pmd_t pmdp_invalidate(pmd_t *slot) { return pmd_xchg(slot, pmd_mkinvalid(*slot)); }

static inline pte_t ptep_get_and_clear(pte_t *slot) { return pte_xchg(slot, pte_raw(0)); }
static inline pmd_t pmdp_get_and_clear(pmd_t *slot) { return pmd_xchg(slot, pmd_raw(0)); }
static inline pud_t pudp_get_and_clear(pud_t *slot) { return pud_xchg(slot, pud_raw(0)); }
static inline pgd_t pgdp_get_and_clear(pgd_t *slot) { return pgd_xchg(slot, pgd_raw(0)); }

/* Copies top-level entries [first, first + count) of src into dst, one
 * entry store each (an address space's kernel half, the trampoline's),
 * as one batch for the validator. */
static inline void pgd_copy_range(pgd_t *dst, const pgd_t *src, unsigned first, unsigned count)
{
	pv_mmu_batch_begin();
	for (unsigned i = first; i < first + count; i++)
		set_pgd(&dst[i], pgdp_get(&src[i]));
	pv_mmu_batch_end();
}

/* Empties a fresh table page before it is pinned and linked in (in the
 * read-only mode a pinned one is read-only: this would fault). Entries are
 * the same 64-bit word at every level. */
static inline void pt_table_clear(void *table)
{
	pv_mmu_assert_unpinned(table);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		__atomic_store_n(PT_SLOT_WORD((pte_t *)table + i), 0, __ATOMIC_RELAXED);
}

/* No entry of the table is in use (every level encodes "none" as 0). */
static inline bool pt_table_empty(const void *table)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (!pte_none(((const pte_t *)table)[i]))
			return false;
	return true;
}

#undef PT_SLOT_WORD
#undef PT_RAW

#endif
