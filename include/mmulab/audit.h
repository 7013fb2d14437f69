#ifndef MMULAB_AUDIT_H
#define MMULAB_AUDIT_H

/*
 * mm_audit: an independent walk of every live address space (it does not
 * reuse the walkers it checks) that verifies
 *   - each mapped frame's map count equals the entries mapping it,
 *     protnone entries included;
 *   - reference count >= map count + pins;
 *   - no entry maps a free or reserved frame;
 *   - kernel top-level entries equal the reference table's where present,
 *     so the tables below are the same frames (shared).
 * Each violation prints one "BUG: Bad page map" report. Returns the count.
 */

#include <mmulab/types.h>

u64 mm_audit(const char *prefix);

#endif
