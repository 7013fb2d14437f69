#ifndef MMULAB_GUP_H
#define MMULAB_GUP_H

/*
 * Pinning (the GUP analogue): fault pages in and take a pin on each, as a
 * driver does before DMA. A pin is a reference (refcount) plus a pincount;
 * the page keeps its frame until unpinned, whatever happens to the mapping
 * meanwhile (mprotect, fork, COW, migration refuses it).
 */

#include <mmulab/mm_struct.h>

struct page;

/* Pins the n pages from addr (writable ones when write: a shared COW page
 * is copied first, so the pin holds this mapping's own page). Returns 0,
 * or -1 with nothing pinned when some page cannot be faulted in. */
int pin_pages(struct mm *mm, vaddr_t addr, u32 n, bool write, struct page **pages);
void unpin_pages(struct page **pages, u32 n);

#endif
