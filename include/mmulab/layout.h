#ifndef MMULAB_LAYOUT_H
#define MMULAB_LAYOUT_H

/*
 * The kernel's virtual layout (4-level paging; top-level slot in brackets):
 *
 *   0x0000000000000000  user half: per address space, and test mappings
 *   0xffff888000000000  direct map of all RAM                     [273]
 *   0xffffc90000000000  vmalloc area                              [402]
 *   0xffffea0000000000  struct page array                         [468]
 *   0xfffffe0000000000  kernel stacks, each under a guard page    [508]
 *   0xffffffff80000000  kernel image (top 2 GiB, -mcmodel=kernel) [511]
 *
 * The slots are Linux's, so addresses in a log look familiar.
 */

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

/* The user half: everything below the canonical hole. */
#define USER_TOP 0x0000800000000000ULL

#define DIRECT_MAP_BASE 0xffff888000000000UL
#define DIRECT_MAP_SIZE (64UL << 40)
#define VMALLOC_BASE 0xffffc90000000000UL
#define VMEMMAP_BASE 0xffffea0000000000UL
#define KSTACK_AREA_BASE 0xfffffe0000000000UL
#define KERNEL_VIRT_BASE 0xffffffff80000000UL

/* Addresses the tests use for scratch mappings in the user half. */
#define TEST_AREA_BASE 0x0000100000000000UL

#define KSTACK_SIZE (16 * 1024ULL)

#endif
