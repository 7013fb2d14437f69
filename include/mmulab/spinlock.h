#ifndef MMULAB_SPINLOCK_H
#define MMULAB_SPINLOCK_H

/*
 * A ticket lock: FIFO, so no CPU starves in the races the tests stage.
 * 24 bytes, so a page-table page's lock fits in its struct page.
 * A class (include/mmulab/lockdep.h) puts it under the lock-order check.
 */

#include <mmulab/types.h>
#include <mmulab/lockdep.h>

struct spinlock {
	u32 next;
	u32 owner;
	s32 holder; /* CPU id + 1 while held (0: free), for the recursion check */
	u32 class;  /* enum lock_class; 0: not checked */
	const char *name;
};

#define SPINLOCK_INIT(n) { .name = (n) }
#define SPINLOCK_INIT_CLASS(n, c) { .name = (n), .class = (c) }

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
bool spin_is_locked(const struct spinlock *l);
/* Held by this CPU (for ASSERTs). */
bool spin_held(const struct spinlock *l);

/*
 * A reader/writer lock that prefers writers: readers that arrive while a
 * writer waits wait behind it, so a stream of readers (faults on every
 * CPU) cannot starve mmap or munmap under TCG's uneven vCPU speeds.
 */
struct rwlock {
	s32 state;          /* readers holding it; -1 while a writer holds it */
	u32 writers_waiting;
	s32 writer;         /* CPU id + 1 of the writer */
	u32 class;
	const char *name;
};

#define RWLOCK_INIT_CLASS(n, c) { .name = (n), .class = (c) }

void read_lock(struct rwlock *l);
void read_unlock(struct rwlock *l);
void write_lock(struct rwlock *l);
void write_unlock(struct rwlock *l);
/* Held for writing by this CPU. */
bool write_held(const struct rwlock *l);

#endif
