#ifndef MMULAB_KSTACK_H
#define MMULAB_KSTACK_H

/* Kernel stacks, each under an unmapped guard page so an overflow faults
 * (and, with the #DF IST stack, is reported) instead of corrupting memory. */

#include <mmulab/types.h>

/* Maps a fresh KSTACK_SIZE stack; returns its top (initial RSP). */
vaddr_t kstack_alloc(void);
/* True when [addr, addr+len) lies inside one stack (boot stack included). */
bool kstack_contains(vaddr_t addr, size_t len);
/* The guard page of the stack whose top is top. */
vaddr_t kstack_guard(vaddr_t top);

#endif
