#ifndef MMULAB_TIMER_H
#define MMULAB_TIMER_H

/* Per-CPU ticks and the watchdog (kernel/watchdog.c). */

#include <mmulab/types.h>

#define TIMER_HZ 100

/* Boot CPU, APIC on: lets the LAPIC timer count down from here, so that
 * timer_init can calibrate it over everything boot did in between instead
 * of waiting. */
void timer_calibration_start(void);
/* Calibrates the LAPIC timer (boot CPU) against the TSC and starts this
 * CPU's ticks. */
void timer_init(void);
void timer_start_this_cpu(void);

/* The run's case watchdog: a case running longer than `seconds` is
 * stopped and failed as TIMEOUT, with every CPU's RIP and backtrace, and
 * the run then ends. */
void watchdog_arm(u64 seconds);
void watchdog_disarm(void);
bool watchdog_fired(void);

#endif
