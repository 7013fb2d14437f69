#ifndef ARCH_TSC_H
#define ARCH_TSC_H

#include <mmulab/types.h>

/* Measures the TSC rate against the 8254 PIT (channel 2, gated through
 * port 0x61), the one reference every PC-compatible and QEMU machine has
 * without ACPI. */
void tsc_calibrate(void);
u64 tsc_khz(void);
u64 cycles_to_us(u64 cycles);
void udelay(u64 us);

#endif
