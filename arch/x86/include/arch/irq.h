#ifndef ARCH_IRQ_H
#define ARCH_IRQ_H

#include <mmulab/types.h>

/* Vectors the kernel uses; all above the 32 exceptions and below the
 * spurious vector. Higher vectors have higher priority at the APIC. */
enum irq_vector {
	SYSCALL_VECTOR = 0x80, /* int 0x80 from ring-3 tasks */
	IRQ_TIMER = 0xe0,
	IRQ_CALL = 0xf0,
	IRQ_TLB = 0xf1,
};

struct trap_frame;
typedef void (*irq_handler_t)(struct trap_frame *frame);

/* A handler for vector; it must send the EOI itself (apic_eoi), so it can
 * do so early and let other interrupts in while it works. */
void irq_register(u8 vector, irq_handler_t handler);
void irq_dispatch(struct trap_frame *frame);

#endif
