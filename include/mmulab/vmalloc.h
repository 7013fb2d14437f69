#ifndef MMULAB_VMALLOC_H
#define MMULAB_VMALLOC_H

/*
 * vmalloc: virtually contiguous kernel memory, page by page from the buddy
 * allocator, mapped in the kernel's reference table. How other address
 * spaces learn of a new top-level entry is the experiment (seed 002):
 *
 *   lazy      the 2014 x86-64 scheme: a kernel fault on a vmalloc address
 *             copies exactly the missing top-level entry (nothing below it:
 *             lower tables are shared) and retries
 *   prealloc  x86-64 since 5.8: every top-level entry of the area exists
 *             from boot, so no address space can miss one
 *   eager     the old vmalloc_sync_all: a new top-level entry is copied
 *             into every address space at vmalloc time
 */

#include <mmulab/types.h>
#include <mmulab/layout.h>

#define VMALLOC_SIZE (32UL << 40) /* 64 top-level slots */
#define VMALLOC_SLOT_SIZE (1UL << 39)

enum vmalloc_sync_mode { VMALLOC_SYNC_LAZY, VMALLOC_SYNC_PREALLOC, VMALLOC_SYNC_EAGER };

void vmalloc_init(enum vmalloc_sync_mode mode);
enum vmalloc_sync_mode vmalloc_mode(void);
const char *vmalloc_mode_name(enum vmalloc_sync_mode mode);

void *vmalloc(u64 size);
/* The same, starting at a multiple of align (VMALLOC_SLOT_SIZE: in a
 * top-level slot of its own). */
void *vmalloc_aligned(u64 size, u64 align);
/* Unmaps, shoots down on every CPU, then frees the pages. */
void vfree(void *addr);

static inline bool is_vmalloc_addr(vaddr_t va)
{
	return va >= VMALLOC_BASE && va < VMALLOC_BASE + VMALLOC_SIZE;
}

struct mm;
/* The lazy-sync fault (not-present, kernel mode): true when the access may
 * be retried: it copied the missing entry, or another CPU just had. */
bool vmalloc_sync_fault(vaddr_t addr);

extern u64 vmalloc_sync_faults; /* all address spaces */
/* Faults that found the entry already copied by another CPU. */
extern u64 vmalloc_raced_faults;

#endif
