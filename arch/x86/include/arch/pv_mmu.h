#ifndef ARCH_PV_MMU_H
#define ARCH_PV_MMU_H

/*
 * The read-only page-table mode's "hypervisor" (arch/x86/pv_mmu.c): a
 * validator that owns every page-table page, modelled on Xen PV's
 * mmu_update and pin operations. The entry stores of arch/pgtable.h reach
 * it once the kernel's tables are pinned; these are the other operations.
 */

#include <arch/pgtable.h>

/* What the validator refuses; each has a name and one line of text. */
enum pv_rule {
	PV_OK,
	PV_TARGET_NOT_PINNED,  /* the entry is not in a pinned table */
	PV_WRITABLE_TABLE,     /* a writable mapping of a table page */
	PV_BAD_NEXT_LEVEL,     /* points at a frame that is not a pinned table one level down */
	PV_LEAF_LEVEL,         /* a leaf at a level this mode does not validate */
	PV_HYPERVISOR_SLOT,    /* the top-level slot of the validator's own alias */
	PV_PIN_PINNED,         /* pin of a table that is already pinned */
	PV_PIN_WRITABLE,       /* pin of a frame that has a writable mapping */
	PV_PIN_BAD_ENTRY,      /* pin of a table holding an entry the rules refuse */
	PV_UNPIN_NOT_PINNED,
	PV_UNPIN_REFERENCED,   /* unpin of a table an entry still points at */
	PV_ROOT_NOT_PINNED,    /* CR3 load of a frame that is not a pinned L4 */
	PV_RULE_COUNT
};

const char *pv_rule_name(enum pv_rule r);

/* Updates a batch queues before it calls the validator. */
#define PV_BATCH_MAX 32

/* Memory the kernel hands over at setup: the frame records and the
 * alias tables (pv_mmu_state_bytes), from identity-mapped memory. */
u64 pv_mmu_state_bytes(paddr_t machine_span);
/* p2m/m2p cover blocks 2 MiB blocks; translation is on from here. */
void pv_mmu_init(void *state, paddr_t machine_span, const u32 *p2m, const u32 *m2p, u64 blocks);
/* Called once the kernel's tables are pinned: every store validated. */
void pv_mmu_start_validating(void);

/* Pin/unpin a table page by its pseudo-physical address. The caller has
 * made the direct map's mapping of it read-only (pin) and makes it
 * writable again after (unpin). */
enum pv_rule pv_mmu_pin(paddr_t table, enum pt_level level);
enum pv_rule pv_mmu_unpin(paddr_t table);
/* One update of the entry at slot, as a test asks for it: the rule it
 * broke (and its line) instead of stopping the caller. */
enum pv_rule pv_mmu_try_update(u64 *slot, u64 machine_val);

/* What the validator knows of a pseudo-physical frame. */
enum pt_level pv_mmu_level(paddr_t pa);
/* Writable mappings of a data frame; entries pointing at a table. */
u32 pv_mmu_frame_count(paddr_t pa);
bool pv_mmu_in_hypervisor_slot(vaddr_t va);

struct pv_mmu_stats {
	u64 calls;   /* entries into the validator: an update, a batch, a pin */
	u64 updates; /* entries written */
	u64 pins, unpins, refusals;
};
struct pv_mmu_stats pv_mmu_stats(void);

#endif
