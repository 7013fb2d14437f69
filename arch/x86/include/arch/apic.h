#ifndef ARCH_APIC_H
#define ARCH_APIC_H

/* The local APIC, in xAPIC (MMIO) or x2APIC (MSR) mode. */

#include <mmulab/types.h>

#define APIC_SPURIOUS_VECTOR 0xff

/* Turns the BSP's APIC on; x2APIC mode when the CPU has it and allow_x2apic. */
void apic_init_bsp(bool allow_x2apic);
/* The same mode on an AP. */
void apic_init_ap(void);
bool apic_x2apic_mode(void);
u32 apic_id(void);
void apic_eoi(void);

void apic_send_ipi(u32 apic_id, u8 vector);
void apic_send_nmi(u32 apic_id);
/* INIT, then two STARTUPs at page (SDM Vol. 3A 8.4.4.1); returns after the
 * delays. */
void apic_start_ap(u32 apic_id, u32 start_page);

/* One-shot/periodic LAPIC timer on vector, counting `ticks` bus cycles
 * divided by 16. */
void apic_timer_periodic(u8 vector, u32 ticks);
u32 apic_timer_current(void);
void apic_timer_start_count(u32 ticks);
void apic_timer_stop(void);

#endif
