/*
 * Kernel stacks in their own area: slot i is one unmapped guard page and
 * KSTACK_SIZE of stack above it. Slots are never reused, so a stale
 * pointer into an old stack faults instead of hitting a new one.
 */

#include <mmulab/kstack.h>
#include <mmulab/mm.h>
#include <mmulab/pgtable.h>
#include <mmulab/spinlock.h>

#define SLOT_SIZE (KSTACK_SIZE + PAGE_SIZE)

extern const char boot_guard_low[], early_ist_top[], boot_stack[], boot_stack_top[];

static struct spinlock lock = SPINLOCK_INIT("kstack");
static vaddr_t next_slot = KSTACK_AREA_BASE;

vaddr_t kstack_alloc(void)
{
	spin_lock(&lock);
	vaddr_t slot = next_slot;
	next_slot += SLOT_SIZE;
	spin_unlock(&lock);

	for (vaddr_t va = slot + PAGE_SIZE; va < slot + SLOT_SIZE; va += PAGE_SIZE)
		pt_map(kernel_root(), va, kernel_frame_alloc(), PAGE_SIZE, PAGE_SIZE,
		       VM_READ | VM_WRITE | VM_GLOBAL);
	return slot + SLOT_SIZE;
}

vaddr_t kstack_guard(vaddr_t top)
{
	return top - SLOT_SIZE;
}

bool kstack_contains(vaddr_t addr, size_t len)
{
	vaddr_t end = addr + len;

	if (addr >= (vaddr_t)boot_stack && end <= (vaddr_t)boot_stack_top)
		return true;
	if (addr >= (vaddr_t)boot_guard_low + PAGE_SIZE && end <= (vaddr_t)early_ist_top)
		return true;
	if (addr < KSTACK_AREA_BASE || end > __atomic_load_n(&next_slot, __ATOMIC_RELAXED))
		return false;
	vaddr_t slot = KSTACK_AREA_BASE + (addr - KSTACK_AREA_BASE) / SLOT_SIZE * SLOT_SIZE;
	return addr >= slot + PAGE_SIZE && end <= slot + SLOT_SIZE;
}
