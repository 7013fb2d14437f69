#ifndef MMULAB_LOCKDEP_H
#define MMULAB_LOCKDEP_H

/*
 * The lock order, checked (kernel/lockdep.c). A lock with a class may be
 * taken only while every classed lock this CPU holds has a lower class;
 * taking one of the same class or a lower one panics naming both locks.
 * Class 0 is unchecked (locks that never nest with the mm ones). The order
 * and why it is this one: docs/ARCHITECTURE.md, "Locking".
 */

#include <mmulab/types.h>

enum lock_class {
	LOCK_UNCHECKED = 0,
	LOCK_MM_LIST,  /* the list of address spaces (the periodic scan holds it over a pass) */
	LOCK_MMAP,     /* an address space's mmap_lock */
	LOCK_PGD_TABLE, /* page-table locks, by the level of the table holding the entries */
	LOCK_PUD_TABLE,
	LOCK_PMD_TABLE,
	LOCK_PTE_TABLE,
	LOCK_NODE,     /* a node's free lists */
	LOCK_CONSOLE,
	LOCK_CLASSES
};

#define LOCKDEP_MAX_HELD 8

struct held_lock {
	const void *lock;
	const char *name;
	u32 class;
};

/* Called by the lock primitives before they spin and after they release. */
void lockdep_acquire(const void *lock, u32 class, const char *name);
void lockdep_release(const void *lock, u32 class);
/* True when this CPU holds lock as a classed lock (assert helpers). */
bool lockdep_held(const void *lock);
const char *lock_class_name(u32 class);

#endif
