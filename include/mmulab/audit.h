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

#endif
