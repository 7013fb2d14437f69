/*
 * The lock-order checker: each CPU keeps the classed locks it holds, in
 * the order taken (struct cpu). Taking a classed lock while holding one
 * of the same or a higher class is the shape of an ABBA deadlock (or of a
 * second table lock of one level, which nothing here needs), and it
 * panics at once naming both, instead of hanging one run in a thousand.
 * Releases may come in any order. Off before the per-CPU area exists and
 * once this CPU is reporting a panic (the report must not recurse).
 */

#include <mmulab/lockdep.h>
#include <mmulab/kernel.h>
#include <mmulab/percpu.h>

static const char *const class_names[LOCK_CLASSES] = {
	[LOCK_UNCHECKED] = "unchecked", [LOCK_MM_LIST] = "mm list", [LOCK_MMAP] = "mmap_lock",
	[LOCK_PGD_TABLE] = "PGD table",  [LOCK_PUD_TABLE] = "PUD table",
	[LOCK_PMD_TABLE] = "PMD table",  [LOCK_PTE_TABLE] = "PTE table",
	[LOCK_NODE] = "node",            [LOCK_CONSOLE] = "console",
};

const char *lock_class_name(u32 class)
{
	return class < LOCK_CLASSES ? class_names[class] : "?";
}

static struct cpu *checking_cpu(u32 class)
{
	if (!class || !percpu_ready)
		return NULL;
	struct cpu *c = this_cpu();
	return c->in_panic ? NULL : c;
}

void lockdep_acquire(const void *lock, u32 class, const char *name)
{
	struct cpu *c = checking_cpu(class);

	if (!c)
		return;
	for (u32 i = 0; i < c->nr_held; i++) {
		const struct held_lock *h = &c->held_locks[i];
		if (h->class >= class)
			panic("lock order: cpu%u takes '%s' (%s, %p) while holding '%s' (%s, %p)%s",
			      c->id, name, lock_class_name(class), lock, h->name,
			      lock_class_name(h->class), h->lock,
			      h->class == class ? ": two locks of one class" : "");
	}
	if (c->nr_held == LOCKDEP_MAX_HELD)
		panic("lock order: cpu%u holds %u classed locks, taking '%s'", c->id,
		      LOCKDEP_MAX_HELD, name);
	c->held_locks[c->nr_held++] = (struct held_lock){ lock, name, class };
}

void lockdep_release(const void *lock, u32 class)
{
	struct cpu *c = checking_cpu(class);

	if (!c)
		return;
	for (u32 i = c->nr_held; i-- > 0;)
		if (c->held_locks[i].lock == lock) {
			for (; i + 1 < c->nr_held; i++)
				c->held_locks[i] = c->held_locks[i + 1];
			c->nr_held--;
			return;
		}
	panic("lock order: cpu%u releases %p (%s), which it does not hold", c->id, lock,
	      lock_class_name(class));
}

bool lockdep_held(const void *lock)
{
	if (!percpu_ready)
		return true; /* one CPU, no checks yet */
	struct cpu *c = this_cpu();
	for (u32 i = 0; i < c->nr_held; i++)
		if (c->held_locks[i].lock == lock)
			return true;
	return false;
}
