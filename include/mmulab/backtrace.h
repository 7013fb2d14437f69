#ifndef MMULAB_BACKTRACE_H
#define MMULAB_BACKTRACE_H

#include <mmulab/types.h>

struct trap_frame;

void backtrace(vaddr_t rip, vaddr_t rbp, const char *prefix);
/* arch: the registers, and a backtrace of kernel-mode code. */
void print_trap_frame(struct trap_frame *frame, const char *prefix);

#endif
