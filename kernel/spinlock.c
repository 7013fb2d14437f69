/*
 * Ticket locks with a recursion check: taking a lock this CPU already
 * holds would spin forever, so it panics instead, naming the lock. Before
 * the per-CPU area exists (the first console lines) there is one CPU and
 * no check. Classed locks (and every rwlock) also go through the
 * lock-order check (kernel/lockdep.c) before they spin.
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
	lockdep_acquire(l, l->class, l->name);
	u32 ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
	__atomic_store_n(&l->holder, self, __ATOMIC_RELAXED);
}

void spin_unlock(struct spinlock *l)
{
	lockdep_release(l, l->class);
	__atomic_store_n(&l->holder, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

bool spin_is_locked(const struct spinlock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->next, __ATOMIC_RELAXED);
}

bool spin_held(const struct spinlock *l)
{
	return !percpu_ready || __atomic_load_n(&l->holder, __ATOMIC_RELAXED) == me();
}

void read_lock(struct rwlock *l)
{
	lockdep_acquire(l, l->class, l->name);
	for (;;) {
		while (__atomic_load_n(&l->writers_waiting, __ATOMIC_RELAXED) ||
		       __atomic_load_n(&l->state, __ATOMIC_RELAXED) < 0)
			cpu_relax();
		s32 readers = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
		if (readers >= 0 && __atomic_compare_exchange_n(&l->state, &readers, readers + 1,
								false, __ATOMIC_ACQUIRE,
								__ATOMIC_RELAXED))
			return;
	}
}

void read_unlock(struct rwlock *l)
{
	lockdep_release(l, l->class);
	s32 left = __atomic_sub_fetch(&l->state, 1, __ATOMIC_RELEASE);
	if (left < 0)
		panic("read_unlock: '%s' was not read-locked", l->name);
}

void write_lock(struct rwlock *l)
{
	s32 self = me();

	if (self && __atomic_load_n(&l->writer, __ATOMIC_RELAXED) == self)
		panic("write_lock: cpu%d takes '%s' again while holding it", self - 1, l->name);
	lockdep_acquire(l, l->class, l->name);
	__atomic_add_fetch(&l->writers_waiting, 1, __ATOMIC_RELAXED);
	for (;;) {
		s32 free = 0;
		if (__atomic_compare_exchange_n(&l->state, &free, -1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
		cpu_relax();
	}
	__atomic_sub_fetch(&l->writers_waiting, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->writer, self, __ATOMIC_RELAXED);
}

void write_unlock(struct rwlock *l)
{
	if (__atomic_load_n(&l->state, __ATOMIC_RELAXED) != -1)
		panic("write_unlock: '%s' was not write-locked", l->name);
	lockdep_release(l, l->class);
	__atomic_store_n(&l->writer, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->state, 0, __ATOMIC_RELEASE);
}

bool write_held(const struct rwlock *l)
{
	return !percpu_ready || __atomic_load_n(&l->writer, __ATOMIC_RELAXED) == me();
}
