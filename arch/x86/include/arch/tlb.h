#ifndef ARCH_TLB_H
#define ARCH_TLB_H

#include <arch/cpu.h>

/* Everything, global entries included: toggling CR4.PGE flushes them
 * (SDM Vol. 3A 4.10.4.1); without PGE there are none and a CR3 reload
 * does it. */
static inline void arch_flush_tlb_all_local(void)
{
	u64 cr4 = read_cr4();

	if (cr4 & X86_CR4_PGE) {
		write_cr4(cr4 & ~X86_CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

#endif
