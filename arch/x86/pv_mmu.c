/*
 * The validator of the read-only page-table mode (mmu=pv): it plays the
 * hypervisor of a Xen PV guest. The kernel's page tables are read-only to
 * the kernel; every entry write comes here and is checked against the
 * rules below before it is made, through the validator's own alias of
 * machine memory (a top-level slot no kernel table may touch, like Xen's
 * hole in the PV guest's address space).
 *
 * The rules (one enum pv_rule each, arch/pv_mmu.h):
 *  - An entry may be written only in a pinned table (TARGET_NOT_PINNED).
 *  - A present entry that is not a leaf must point at a table pinned one
 *    level down (BAD_NEXT_LEVEL); leaves exist at L1 and, as 2 MiB pages,
 *    at L2 (LEAF_LEVEL).
 *  - No table page may have a writable mapping anywhere (WRITABLE_TABLE),
 *    and a frame with one may not be pinned (PIN_WRITABLE): otherwise the
 *    kernel could change a table behind the validator's back. Read-only
 *    mappings of tables are allowed, as the direct map needs them.
 *  - A table is pinned once (PIN_PINNED) and only with entries the rules
 *    allow (PIN_BAD_ENTRY); it is unpinned only when no entry points at it
 *    (UNPIN_REFERENCED), and only a pinned top-level table may be loaded
 *    into CR3 (ROOT_NOT_PINNED).
 *  - The alias slot holds the validator's entry and nothing else
 *    (HYPERVISOR_SLOT).
 * A refused update is not made: it prints one line naming the rule, the
 * entry and both values, and stops the caller with an invalid-opcode trap,
 * as Linux BUG()s on a failed mmu_update: the running case fails with its
 * backtrace, and outside a case it is a panic.
 *
 * What the validator knows is per machine frame: the table level it is
 * pinned at, and a count — for a data frame its writable mappings, for a
 * table the entries pointing at it. Counts change only here, under one
 * lock, so an update and its bookkeeping are one step.
 */

#include <arch/pv_mmu.h>
#include <arch/cpu.h>
#include <mmulab/bugs.h>
#include <mmulab/cmdline.h>
#include <mmulab/cpumask.h>
#include <mmulab/kernel.h>
#include <mmulab/mm.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>

BUG_SWITCH_IN_MODE(pv_xlate_present_only,
	   "3.12.7 Xen PV: frame translation keyed on the present bit alone, so a NUMA-hint "
	   "entry (P cleared on a present one) keeps a machine frame the kernel reads back "
	   "as pseudo-physical", cmdline_mmu_pv, "mmu=pv");

struct pv_xlate pv_xlate;

/* The alias slot: Linux leaves 0xffff800000000000.. to the hypervisor. */
#define HV_SLOT 256
#define HV_ALIAS_BASE 0xffff800000000000UL

struct frame_info {
	u16 count; /* writable mappings (data frame) or entries pointing at it (table) */
	u8 level;  /* enum pt_level */
	u8 unused;
};

static struct {
	struct frame_info *frames;
	u64 nframes;
	u64 alias_entry; /* the L4 entry of the alias, in every pinned L4 */
	u32 lock;
} hv;

static struct {
	u64 calls, updates, pins, unpins, refusals;
} stats;

static const struct {
	const char *name, *text;
} rules[PV_RULE_COUNT] = {
	[PV_OK] = { "ok", "allowed" },
	[PV_TARGET_NOT_PINNED] = { "target_not_pinned", "the entry is not in a pinned table" },
	[PV_WRITABLE_TABLE] = { "writable_table", "a writable mapping of a page-table page" },
	[PV_BAD_NEXT_LEVEL] = { "bad_next_level",
				"points at a frame that is not a table pinned one level down" },
	[PV_LEAF_LEVEL] = { "leaf_level", "a leaf at a level that holds none in this mode" },
	[PV_HYPERVISOR_SLOT] = { "hypervisor_slot", "the validator's own top-level slot" },
	[PV_PIN_PINNED] = { "pin_pinned", "the table is pinned already" },
	[PV_PIN_WRITABLE] = { "pin_writable", "the frame has a writable mapping" },
	[PV_PIN_BAD_ENTRY] = { "pin_bad_entry", "the table holds an entry the rules refuse" },
	[PV_UNPIN_NOT_PINNED] = { "unpin_not_pinned", "the frame is not a pinned table" },
	[PV_UNPIN_REFERENCED] = { "unpin_referenced", "an entry still points at the table" },
	[PV_ROOT_NOT_PINNED] = { "root_not_pinned", "CR3 may hold only a pinned top-level table" },
};

const char *pv_rule_name(enum pv_rule r)
{
	ASSERT(r < PV_RULE_COUNT);
	return rules[r].name;
}

static void count(u64 *c, u64 n) { __atomic_add_fetch(c, n, __ATOMIC_RELAXED); }

static u64 hv_lock(void)
{
	u64 flags = read_rflags();

	irq_disable();
	while (__atomic_exchange_n(&hv.lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	return flags;
}

static void hv_unlock(u64 flags)
{
	__atomic_store_n(&hv.lock, 0, __ATOMIC_RELEASE);
	if (flags & X86_RFLAGS_IF)
		irq_enable();
}

static struct frame_info *frame_of(paddr_t machine)
{
	u64 f = machine >> PAGE_SHIFT;
	return f < hv.nframes ? &hv.frames[f] : NULL;
}

/* The validator's own view of a machine word: its alias once the kernel
 * runs on its tables; before that the boot tables, whose direct map is
 * machine memory one to one. */
static u64 *hv_word(paddr_t machine)
{
	if (pv_xlate.validating)
		return (u64 *)(HV_ALIAS_BASE + machine);
	return phys_to_virt(machine);
}

static bool entry_is_leaf(enum pt_level level, u64 v)
{
	return level == PT_L1 || (v & _PAGE_PSE);
}

static u64 leaf_frames(enum pt_level level)
{
	return level == PT_L1 ? 1 : PT_ENTRIES;
}

/* Whether v may stand at index of a table of level: the rules above. */
static enum pv_rule check_entry(enum pt_level level, unsigned index, u64 v)
{
	/* The CPU sets A in whichever copy it walks. */
	if (level == PT_L4 && index == HV_SLOT)
		return ((v ^ hv.alias_entry) & ~_PAGE_ACCESSED) == 0 ? PV_OK : PV_HYPERVISOR_SLOT;
	if (!(v & _PAGE_PRESENT))
		return PV_OK;
	paddr_t frame = v & _PAGE_ADDR_MASK;
	if (!entry_is_leaf(level, v)) {
		struct frame_info *fi = frame_of(frame);
		return fi && fi->level == level - 1 ? PV_OK : PV_BAD_NEXT_LEVEL;
	}
	if (level > PT_L2)
		return PV_LEAF_LEVEL;
	if (!(v & _PAGE_RW))
		return PV_OK;
	frame &= ~((leaf_frames(level) << PAGE_SHIFT) - 1);
	for (u64 i = 0; i < leaf_frames(level); i++) {
		struct frame_info *fi = frame_of(frame + (i << PAGE_SHIFT));
		if (fi && fi->level != PT_NOT_TABLE)
			return PV_WRITABLE_TABLE;
	}
	return PV_OK;
}

/* Takes (delta 1) or drops (-1) what an allowed entry holds: a writable
 * leaf counts against each frame it maps, a table entry against the table. */
static void adjust_refs(enum pt_level level, unsigned index, u64 v, int delta)
{
	if (!(v & _PAGE_PRESENT) || (level == PT_L4 && index == HV_SLOT))
		return;
	paddr_t frame = v & _PAGE_ADDR_MASK;
	u64 n = 1;

	if (entry_is_leaf(level, v)) {
		if (!(v & _PAGE_RW))
			return;
		n = leaf_frames(level);
		frame &= ~((n << PAGE_SHIFT) - 1);
	}
	for (u64 i = 0; i < n; i++) {
		struct frame_info *fi = frame_of(frame + (i << PAGE_SHIFT));
		if (!fi)
			continue;
		ASSERT(delta > 0 ? fi->count < 0xffff : fi->count > 0);
		fi->count += delta;
	}
}

static const char *const level_names[] = { "unpinned", "L1", "L2", "L3", "L4" };

/* level: of the table the entry is in, or is being pinned as; 0 when the
 * frame is no table at all. */
static void print_refused_entry(enum pv_rule r, enum pt_level level, paddr_t table,
				unsigned index, u64 old, u64 new)
{
	printk("mmulab: pv: refused %s: %s entry M0x%lx[%u] old 0x%016lx new 0x%016lx: %s\n",
	       rules[r].name, level_names[level], table, index, old, new, rules[r].text);
}

static void report_update(enum pv_rule r, const struct frame_info *fi, paddr_t table,
			  unsigned index, u64 old, u64 new)
{
	count(&stats.refusals, 1);
	print_refused_entry(r, fi ? fi->level : PT_NOT_TABLE, table, index, old, new);
}

/* Where slot lives: the machine frame of its table and its index. Tables
 * are reached through the direct map only. */
static bool locate(const u64 *slot, paddr_t *table, unsigned *index)
{
	vaddr_t va = (vaddr_t)slot;

	if (va < DIRECT_MAP_BASE || va >= DIRECT_MAP_BASE + DIRECT_MAP_SIZE || (va & 7))
		return false;
	*table = pv_phys_to_machine((va - DIRECT_MAP_BASE) & PAGE_MASK);
	*index = (va & ~PAGE_MASK) >> 3;
	return true;
}

/* One update under the lock: checked, made, accounted. */
static enum pv_rule update_locked(u64 *slot, u64 new, u64 *old)
{
	paddr_t table = 0;
	unsigned index = 0;
	bool located = locate(slot, &table, &index);
	struct frame_info *fi = located ? frame_of(table) : NULL;

	if (!fi || fi->level == PT_NOT_TABLE) {
		report_update(PV_TARGET_NOT_PINNED, fi, table, index, 0, new);
		return PV_TARGET_NOT_PINNED;
	}
	enum pt_level level = fi->level;
	u64 *word = hv_word(table + index * 8);
	enum pv_rule r = check_entry(level, index, new);
	if (r != PV_OK) {
		report_update(r, fi, table, index, __atomic_load_n(word, __ATOMIC_RELAXED), new);
		return r;
	}
	adjust_refs(level, index, new, 1);
	*old = __atomic_exchange_n(word, new, __ATOMIC_ACQ_REL);
	adjust_refs(level, index, *old, -1);
	count(&stats.updates, 1);
	return PV_OK;
}

static enum pv_rule update(u64 *slot, u64 new, u64 *old)
{
	u64 flags = hv_lock();
	enum pv_rule r = update_locked(slot, new, old);

	count(&stats.calls, 1);
	hv_unlock(flags);
	return r;
}

/* The hook path refuses like a BUG(): the trap report that follows
 * carries the caller's backtrace. */
static void __noreturn refused(void)
{
	asm volatile("ud2");
	__builtin_unreachable();
}

/* --- batches: a list of updates in one call, like Xen's mmu_update --- */

struct batch {
	u32 depth, n;
	struct {
		u64 *slot;
		u64 val;
	} q[PV_BATCH_MAX];
};

static struct batch batches[MAX_CPUS];

static struct batch *this_batch(void) { return &batches[this_cpu()->id]; }

static void batch_flush(struct batch *b)
{
	enum pv_rule r = PV_OK;
	u64 old;

	if (!b->n)
		return;
	u64 flags = hv_lock();
	for (u32 i = 0; i < b->n && r == PV_OK; i++)
		r = update_locked(b->q[i].slot, b->q[i].val, &old);
	count(&stats.calls, 1);
	hv_unlock(flags);
	b->n = 0;
	if (r != PV_OK)
		refused();
}

void pv_mmu_batch_begin(void)
{
	if (pv_validating())
		this_batch()->depth++;
}

void pv_mmu_batch_end(void)
{
	if (!pv_validating())
		return;
	struct batch *b = this_batch();
	ASSERT(b->depth > 0);
	if (--b->depth == 0)
		batch_flush(b);
}

void pv_mmu_set_entry(u64 *slot, u64 machine_val)
{
	struct batch *b = this_batch();
	u64 old;

	if (b->depth) {
		if (b->n == PV_BATCH_MAX)
			batch_flush(b);
		b->q[b->n].slot = slot;
		b->q[b->n++].val = machine_val;
		return;
	}
	if (update(slot, machine_val, &old) != PV_OK)
		refused();
}

/* An exchange returns the old value, so queued updates go first. */
u64 pv_mmu_xchg_entry(u64 *slot, u64 machine_val)
{
	u64 old = 0;

	batch_flush(this_batch());
	if (update(slot, machine_val, &old) != PV_OK)
		refused();
	return old;
}

enum pv_rule pv_mmu_try_update(u64 *slot, u64 machine_val)
{
	u64 old;

	ASSERT(pv_validating());
	batch_flush(this_batch());
	return update(slot, machine_val, &old);
}

/* --- pin, unpin, CR3 --- */

/* count: the frame's writable mappings or referencing entries, as known
 * when the operation was refused. */
static void report_frame(enum pv_rule r, paddr_t table, enum pt_level level, const char *what,
			 u32 count_now)
{
	count(&stats.refusals, 1);
	printk("mmulab: pv: refused %s: %s of M0x%lx as %s (count %u): %s\n", rules[r].name, what,
	       table, level_names[level], count_now, rules[r].text);
}

static void undo_refs(enum pt_level level, const u64 *t, unsigned upto)
{
	for (unsigned i = 0; i < upto; i++)
		adjust_refs(level, i, t[i], -1);
}

static enum pv_rule pin_locked(paddr_t table, enum pt_level level)
{
	struct frame_info *fi = frame_of(table);
	u64 *t = hv_word(table);

	if (!fi)
		return PV_BAD_NEXT_LEVEL;
	if (fi->level != PT_NOT_TABLE)
		return PV_PIN_PINNED;
	if (fi->count)
		return PV_PIN_WRITABLE;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		u64 v = t[i];
		if (level == PT_L4 && i == HV_SLOT && v == 0)
			continue;
		enum pv_rule r = check_entry(level, i, v);
		if (r != PV_OK) {
			undo_refs(level, t, i);
			/* Which entry; the pin's own refusal is the one counted. */
			print_refused_entry(r, level, table, i, v, v);
			return PV_PIN_BAD_ENTRY;
		}
		adjust_refs(level, i, v, 1);
	}
	if (level == PT_L4)
		__atomic_store_n(&t[HV_SLOT], hv.alias_entry, __ATOMIC_RELEASE);
	fi->level = level;
	return PV_OK;
}

enum pv_rule pv_mmu_pin(paddr_t table, enum pt_level level)
{
	paddr_t m = pv_phys_to_machine(table);
	u64 flags = hv_lock();
	enum pv_rule r = pin_locked(m, level);
	struct frame_info *fi = frame_of(m);
	u32 now = fi ? fi->count : 0;

	count(&stats.calls, 1);
	count(&stats.pins, r == PV_OK);
	hv_unlock(flags);
	if (r != PV_OK)
		report_frame(r, m, level, "pin", now);
	return r;
}

enum pv_rule pv_mmu_unpin(paddr_t table)
{
	paddr_t m = pv_phys_to_machine(table);
	u64 flags = hv_lock();
	struct frame_info *fi = frame_of(m);
	enum pv_rule r = PV_OK;
	enum pt_level level = fi ? fi->level : PT_NOT_TABLE;
	u32 now = fi ? fi->count : 0;

	if (level == PT_NOT_TABLE)
		r = PV_UNPIN_NOT_PINNED;
	else if (fi->count)
		r = PV_UNPIN_REFERENCED;
	else {
		undo_refs(level, hv_word(m), PT_ENTRIES);
		fi->level = PT_NOT_TABLE;
	}
	count(&stats.calls, 1);
	count(&stats.unpins, r == PV_OK);
	hv_unlock(flags);
	if (r != PV_OK)
		report_frame(r, m, level, "unpin", now);
	return r;
}

void pt_load_root(paddr_t root)
{
	paddr_t m = pv_phys_to_machine(root);
	struct frame_info *fi = frame_of(m);

	if (pv_validating() && (!fi || fi->level != PT_L4)) {
		report_frame(PV_ROOT_NOT_PINNED, m, PT_L4, "CR3 load", fi ? fi->count : 0);
		refused();
	}
	write_cr3(m);
}

void pv_mmu_assert_unpinned(const void *table)
{
	if (!pv_validating())
		return;
	struct frame_info *fi = frame_of(pv_phys_to_machine(virt_to_phys(table)));
	ASSERT(!fi || fi->level == PT_NOT_TABLE);
}

enum pt_level pv_mmu_level(paddr_t pa)
{
	struct frame_info *fi = frame_of(pv_phys_to_machine(pa));
	return fi ? fi->level : PT_NOT_TABLE;
}

u32 pv_mmu_frame_count(paddr_t pa)
{
	struct frame_info *fi = frame_of(pv_phys_to_machine(pa));
	return fi ? fi->count : 0;
}

bool pv_mmu_in_hypervisor_slot(vaddr_t va)
{
	return pgd_index(va) == HV_SLOT && va >= HV_ALIAS_BASE;
}

struct pv_mmu_stats pv_mmu_stats(void)
{
	return (struct pv_mmu_stats){
		__atomic_load_n(&stats.calls, __ATOMIC_RELAXED),
		__atomic_load_n(&stats.updates, __ATOMIC_RELAXED),
		__atomic_load_n(&stats.pins, __ATOMIC_RELAXED),
		__atomic_load_n(&stats.unpins, __ATOMIC_RELAXED),
		__atomic_load_n(&stats.refusals, __ATOMIC_RELAXED),
	};
}

/* --- setup --- */

static u64 alias_gib(paddr_t span) { return ALIGN_UP(span, PUD_SIZE) / PUD_SIZE; }

static u64 frames_bytes(paddr_t span)
{
	return ALIGN_UP((span >> PAGE_SHIFT) * sizeof(struct frame_info), PAGE_SIZE);
}

u64 pv_mmu_state_bytes(paddr_t span)
{
	u64 pmd_pages = cpu_has(X86_GBPAGES) ? 0 : alias_gib(span);

	ASSERT(alias_gib(span) <= PT_ENTRIES);
	return frames_bytes(span) + (1 + pmd_pages) * PAGE_SIZE;
}

/* The alias maps machine memory [0, span) read-write, 1 GiB or 2 MiB at a
 * time; its tables are the validator's and none of the kernel's. */
static u64 build_alias(u64 *pud, paddr_t span)
{
	const u64 leaf = _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE | _PAGE_NX;
	u64 *pmd = pud + PT_ENTRIES;

	memset(pud, 0, PAGE_SIZE);
	for (u64 g = 0; g < alias_gib(span); g++) {
		if (cpu_has(X86_GBPAGES)) {
			pud[g] = g * PUD_SIZE | leaf;
			continue;
		}
		for (u64 i = 0; i < PT_ENTRIES; i++)
			pmd[i] = (g * PUD_SIZE + i * PMD_SIZE) | leaf;
		pud[g] = virt_to_phys(pmd) | _PAGE_PRESENT | _PAGE_RW;
		pmd += PT_ENTRIES;
	}
	return virt_to_phys(pud) | _PAGE_PRESENT | _PAGE_RW;
}

void pv_mmu_init(void *state, paddr_t span, const u32 *p2m, const u32 *m2p, u64 blocks)
{
	memset(state, 0, frames_bytes(span));
	hv.frames = state;
	hv.nframes = span >> PAGE_SHIFT;
	hv.alias_entry = build_alias((u64 *)((u8 *)state + frames_bytes(span)), span);
	pv_xlate.p2m = p2m;
	pv_xlate.m2p = m2p;
	pv_xlate.blocks = blocks;
	pv_xlate.present_only = BUG_ACTIVE(pv_xlate_present_only);
	pv_xlate.on = true;
}

void pv_mmu_start_validating(void)
{
	__atomic_store_n(&pv_xlate.validating, true, __ATOMIC_RELEASE);
}
