#ifndef MMULAB_PTDUMP_H
#define MMULAB_PTDUMP_H

#include <mmulab/types.h>

/* Dumps [start, end) of the tables under root; see mm/ptdump.c. */
void ptdump(paddr_t root, vaddr_t start, vaddr_t end,
	    void (*emit)(void *ctx, const char *line), void *ctx);
/* An emit callback for the console; ctx is a line prefix (or NULL). */
void ptdump_emit_printk(void *ctx, const char *line);

#endif
