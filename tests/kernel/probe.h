#ifndef TESTS_PROBE_H
#define TESTS_PROBE_H

/*
 * Probes: one access each, returning what faulted (vector FAULT_NONE when
 * nothing did), in the manner of kvm-unit-tests' *_safe() helpers. Tests
 * compare the result with the fault they predict.
 */

#include <mmulab/fault.h>
#include <mmulab/prot.h>

struct fault_info probe_read(vaddr_t va, u8 *value);
struct fault_info probe_write(vaddr_t va, u8 value);
/* Calls va, which must hold a `ret` when it is executable. */
struct fault_info probe_exec(vaddr_t va);
/* The same three with SMAP's AC flag set, as copy_from_user would. */
struct fault_info probe_read_stac(vaddr_t va, u8 *value);
struct fault_info probe_write_stac(vaddr_t va, u8 value);

/* 64-bit user-memory accesses in kernel mode (SMAP window open) of the
 * address space loaded on this CPU; page faults are resolved by the fault
 * path as for the user, and a segfault comes back as the #PF. */
struct fault_info user_read64(vaddr_t va, u64 *value);
struct fault_info user_write64(vaddr_t va, u64 value);

enum user_access { USER_READ, USER_WRITE, USER_EXEC };
/*
 * Runs a few bytes of ring-3 code that make one access of kind a to
 * target, then execute ud2. A completed access therefore shows as #UD in
 * user mode; a refused one as the #PF it raised. Exec jumps to target,
 * which must hold ud2 to complete.
 */
struct fault_info probe_user(enum user_access a, vaddr_t target);

/* Scratch 4 KiB mappings in the kernel's tables for tests: set or clear
 * the entry for va and flush it from this CPU's TLB. */
void test_map(vaddr_t va, paddr_t pa, enum vm_prot prot);
void test_map_raw(vaddr_t va, u64 entry);
void test_unmap(vaddr_t va);
/* A zeroed frame for a test, and its direct-map address. */
paddr_t test_frame(void);
void *frame_va(paddr_t pa);

#endif
