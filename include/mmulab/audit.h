#ifndef MMULAB_AUDIT_H
#define MMULAB_AUDIT_H

/*
 * mm_audit: an independent walk of every live address space (it does not
 * reuse the walkers it checks) that verifies the rules below. Each
 * violation prints one "BUG: Bad page map" report naming its rule and is
 * counted under it; the return value is the total.
 */

#include <mmulab/types.h>

enum audit_rule {
	AUDIT_NOT_RAM,           /* an entry maps a frame that is not RAM */
	AUDIT_FREE_OR_RESERVED,  /* an entry maps a free or reserved frame */
	AUDIT_MAP_COUNT,         /* map count != entries mapping the frame (protnone included) */
	AUDIT_REF_COUNT,         /* reference count < map count + pins */
	AUDIT_KERNEL_HALF,       /* a present kernel top-level entry differs from the reference */
	AUDIT_DEPOSIT,           /* a PMD table's deposited tables != its huge PMDs */
	AUDIT_TABLE_PAGES,       /* mm->table_pages != tables reachable + deposited */
	/* The read-only page-table mode (mmu=pv) adds: */
	AUDIT_PV_TRANSLATION,    /* an entry's frame, read back, is not its machine frame's */
	AUDIT_PV_TABLE,          /* a table page not pinned at its level, or writable in the direct map */
	AUDIT_PV_WRITABLE_TABLE, /* a user entry maps a table page writable */
	AUDIT_RULE_COUNT,
};

extern const char *const audit_rule_names[AUDIT_RULE_COUNT];

/* Violations found per rule, for callers that must know which one fired
 * (the audit suite proves each rule reports). */
struct audit_result {
	u64 by_rule[AUDIT_RULE_COUNT];
};

u64 mm_audit(const char *prefix);
/* The same, also filling *result (zeroed first). */
u64 mm_audit_rules(const char *prefix, struct audit_result *result);

/* The read-only mode's global rules (mm/pv_mode.c), 0 natively: every
 * kernel table pinned at its level and read-only; over all RAM, a frame
 * is read-only in the direct map exactly when it is pinned, and no free
 * frame is pinned; the used early buffer is reserved tables. One line per
 * violation (the first few), returns their number. Walks all RAM: run it
 * with the other CPUs idle. */
u64 pv_audit(const char *prefix);

#endif
