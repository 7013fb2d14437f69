#ifndef MMULAB_MM_STRUCT_H
#define MMULAB_MM_STRUCT_H

/*
 * An address space: its own top-level table (kernel half copied from the
 * kernel's reference table when it is created), its VMAs, and the CPUs
 * that have it loaded (the shootdown targets).
 */

#include <mmulab/types.h>
#include <mmulab/spinlock.h>
#include <mmulab/tlb.h>
#include <mmulab/vma.h>

/* What a test learns of an access the VMA does not allow. */
enum segv_reason {
	SEGV_NONE = 0,
	SEGV_MAPERR, /* no VMA there */
	SEGV_ACCERR, /* the VMA forbids the access */
};

struct segv_record {
	vaddr_t addr;
	u32 access; /* VM_READ, VM_WRITE or VM_EXEC */
	u32 reason; /* enum segv_reason */
	u64 count;
};

/* A fault the handler could not make progress on (mm/fault.c). */
struct no_progress_record {
	vaddr_t addr;
	u64 entry;  /* the entry's value, unchanged by the handler */
	u32 access; /* VM_READ, VM_WRITE or VM_EXEC */
};

struct fault_counters {
	u64 demand_zero;
	u64 cow_copy;
	u64 cow_reuse;
	u64 spurious; /* already fixed by another CPU */
	u64 segv;
	u64 vmalloc_sync;
	u64 no_progress; /* accesses given up, see no_progress_record */
};

struct mm {
	paddr_t root;
	struct tlb_space tlb;
	/* Shared by faults, scans, DONTNEED and pins; exclusive for whatever
	 * changes VMAs or frees page tables. Entries change under the lock of
	 * the table page holding them (memory.h: pmd_lock, pte_offset_map_lock). */
	struct rwlock mmap_lock;
	struct vma_list vmas;
	int home_node;        /* where its tables come from */
	u64 table_pages;      /* page-table pages it owns (root included); atomic */
	struct fault_counters faults;
	struct segv_record segv;
	struct no_progress_record no_progress;
	struct mm *next;      /* the list of all address spaces */
	bool numa_periodic;   /* the periodic NUMA scanner visits it */
	vaddr_t numa_cursor;  /* where its next periodic pass starts */
	u64 numa_next_tsc;    /* when that pass is due */
};

static inline void mmap_read_lock(struct mm *mm) { read_lock(&mm->mmap_lock); }
static inline void mmap_read_unlock(struct mm *mm) { read_unlock(&mm->mmap_lock); }
static inline void mmap_write_lock(struct mm *mm) { write_lock(&mm->mmap_lock); }
static inline void mmap_write_unlock(struct mm *mm) { write_unlock(&mm->mmap_lock); }
/* This CPU holds mm's mmap_lock, shared or exclusive (panics otherwise). */
void mmap_assert_locked(struct mm *mm);
void mmap_assert_write_locked(struct mm *mm);

struct mm *mm_create(int node);
/* Unmaps everything, frees every page and table, and the mm itself. */
void mm_destroy(struct mm *mm);
/* Loads mm on this CPU (NULL: back to the kernel's own tables). */
void mm_switch(struct mm *mm);
struct mm *current_mm(void);

/* mmap-like: a new anonymous VMA; 0 or an errno-like VMA error. */
int mm_map_anon(struct mm *mm, vaddr_t start, u64 len, u32 prot, u32 flags);
int mm_unmap(struct mm *mm, vaddr_t start, u64 len);
int mm_protect(struct mm *mm, vaddr_t start, u64 len, u32 prot);
/* MADV_DONTNEED: the VMAs stay, the range reads as zero afterwards (its
 * pages are freed after the flush). Under the shared mmap_lock, racing
 * faults. 0 or an errno-like VMA error. */
int mm_dontneed(struct mm *mm, vaddr_t start, u64 len);
/* A copy sharing every anonymous page read-only (copy-on-write). */
struct mm *mm_fork(struct mm *parent);

/* Every live address space, for the audit and eager vmalloc sync. */
struct mm *mm_list_first(void);
extern struct spinlock mm_list_lock;

#endif
