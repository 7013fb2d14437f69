#ifndef MMULAB_SPINLOCK_H
#define MMULAB_SPINLOCK_H

/* A ticket lock: FIFO, so no CPU starves in the races the tests stage. */

#include <mmulab/types.h>

struct spinlock {
	u32 next;
	u32 owner;
	const char *name;
	s32 holder; /* CPU id + 1 while held (0: free), for the recursion check */
};

#define SPINLOCK_INIT(n) { 0, 0, n, 0 }

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
bool spin_is_locked(const struct spinlock *l);

#endif
