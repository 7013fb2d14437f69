#ifndef MMULAB_VMA_H
#define MMULAB_VMA_H

/*
 * Virtual memory areas: the ranges of an address space and what they
 * allow. A sorted array of disjoint areas; mprotect and munmap split the
 * areas at their edges and neighbours with equal attributes merge again,
 * so the array stays minimal. Pure code: the host tests drive it against
 * a page-by-page model.
 */

#include <mmulab/types.h>
#include <mmulab/prot.h>

#define MAX_VMAS 64

enum vma_flags {
	VMA_ANON = 1 << 0,        /* anonymous, demand-zero */
	VMA_HUGE_OK = 1 << 1,     /* huge pages allowed (THP) */
	VMA_NO_MIGRATE = 1 << 2,  /* NUMA balancing leaves it alone */
};

struct vma {
	vaddr_t start, end; /* [start, end), page aligned */
	u32 prot;           /* enum vm_prot: VM_READ/WRITE/EXEC; none = PROT_NONE */
	u32 flags;          /* enum vma_flags */
};

struct vma_list {
	u32 count;
	struct vma v[MAX_VMAS];
};

enum vma_error {
	VMA_OK = 0,
	VMA_EINVAL,   /* unaligned or empty range */
	VMA_EEXIST,   /* overlaps an existing area */
	VMA_ENOMEM,   /* no room for another area */
	VMA_ENOENT,   /* part of the range is not mapped */
};

/* The area holding addr, or NULL. */
struct vma *vma_find(struct vma_list *l, vaddr_t addr);
/* Adds [start, end); merges with equal neighbours. */
enum vma_error vma_add(struct vma_list *l, vaddr_t start, vaddr_t end, u32 prot, u32 flags);
/* Removes [start, end) wherever it is mapped (holes are fine, like munmap). */
enum vma_error vma_remove(struct vma_list *l, vaddr_t start, vaddr_t end);
/* Sets prot on [start, end), which must be fully mapped (like mprotect). */
enum vma_error vma_protect(struct vma_list *l, vaddr_t start, vaddr_t end, u32 prot);

#endif
