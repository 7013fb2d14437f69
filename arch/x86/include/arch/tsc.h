#ifndef ARCH_TSC_H
#define ARCH_TSC_H

#include <mmulab/types.h>

/* Measures the TSC rate against the ACPI PM timer at pm_port (0: none),
 * falling back to the 8254 PIT. */
void tsc_calibrate(u16 pm_port, bool pm_32bit);
u64 tsc_khz(void);
u64 cycles_to_us(u64 cycles);
void udelay(u64 us);

#endif
