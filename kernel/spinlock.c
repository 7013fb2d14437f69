/*
 * Ticket locks with a recursion check: taking a lock this CPU already
 * holds would spin forever, so it panics instead, naming the lock. Before
 * the per-CPU area exists (the first console lines) there is one CPU and
 * no check.
 */

#include <mmulab/spinlock.h>
#include <mmulab/kernel.h>
#include <mmulab/percpu.h>
#include <arch/cpu.h>

static s32 me(void)
{
	return percpu_ready ? (s32)this_cpu()->id + 1 : 0;
}

void spin_lock(struct spinlock *l)
{
	s32 self = me();

	if (self && __atomic_load_n(&l->holder, __ATOMIC_RELAXED) == self)
		panic("spin_lock: cpu%d takes '%s' again while holding it", self - 1, l->name);
	u32 ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
	__atomic_store_n(&l->holder, self, __ATOMIC_RELAXED);
}

void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->holder, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

bool spin_is_locked(const struct spinlock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->next, __ATOMIC_RELAXED);
}
