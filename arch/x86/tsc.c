/*
 * TSC calibration. CPUID leaf 15h gives the TSC rate on recent Intel
 * parts, but neither QEMU's TCG nor AMD machines report it, so the rate is
 * measured over 5 ms windows, best of three (an SMI or a host hiccup can
 * only make a window longer: the TSC is read first at the start and last
 * at the end), against the ACPI PM timer (3.579545 MHz,
 * port from the FADT) when there is one, else against PIT channel 2
 * (1.193182 MHz, mode 0, its output on port 0x61 bit 5). Some modern
 * machines have no PIT; every ACPI machine has a PM timer or a reason.
 */

#include <arch/tsc.h>
#include <arch/cpu.h>
#include <arch/io.h>
#include <mmulab/log.h>

#define PIT_HZ 1193182ULL
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_B 0x61
#define PORTB_GATE2 0x01
#define PORTB_SPEAKER 0x02
#define PORTB_OUT2 0x20
/* The error is about one port read at each end of a window, microseconds
 * even emulated: 5 ms windows keep it near 0.1 %, all the timings and the
 * watchdog need, at half the wait of 10 ms ones. */
#define WINDOW_MS 5
#define FALLBACK_KHZ 2000000ULL /* assumed when no PIT answers */

#define PM_TIMER_HZ 3579545ULL

static u64 khz;

/* TSC cycles in one PIT window, or 0 when the PIT never signalled. */
static u64 measure_window(void)
{
	u16 count = (u16)(PIT_HZ * WINDOW_MS / 1000);

	outb(PORT_B, (inb(PORT_B) & ~PORTB_SPEAKER) | PORTB_GATE2);
	outb(PIT_CMD, 0xb0); /* channel 2, lo/hi byte, mode 0, binary */
	outb(PIT_CH2, count & 0xff);
	u64 start = rdtsc();
	outb(PIT_CH2, count >> 8);
	for (u64 spins = 0; !(inb(PORT_B) & PORTB_OUT2); spins++)
		if (spins > 50000000)
			return 0;
	return rdtsc() - start;
}

static u32 inl(u16 port)
{
	u32 v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* TSC cycles while the PM timer advances one window, or 0 when it does not
 * move (a wrong port from a broken FADT). */
static u64 measure_pm_window(u16 port, bool wide)
{
	u32 mask = wide ? 0xffffffff : 0xffffff;
	u32 want = (u32)(PM_TIMER_HZ * WINDOW_MS / 1000);
	u64 tsc = rdtsc();
	u32 start = inl(port) & mask;

	for (u64 spins = 0; ((inl(port) - start) & mask) < want; spins++)
		if (spins > 50000000)
			return 0;
	return rdtsc() - tsc;
}

static u64 best_window(u16 pm_port, bool wide)
{
	u64 best = 0;

	for (int i = 0; i < 3; i++) {
		u64 c = pm_port ? measure_pm_window(pm_port, wide) : measure_window();
		if (c && (!best || c < best))
			best = c;
	}
	return best;
}

void tsc_calibrate(u16 pm_port, bool pm_32bit)
{
	u64 best = pm_port ? best_window(pm_port, pm_32bit) : 0;
	const char *ref = "the ACPI PM timer";

	if (!best) {
		best = best_window(0, false);
		ref = "the PIT";
	}
	if (!best) {
		khz = FALLBACK_KHZ;
		printk("mmulab: tsc: the PIT did not answer; assuming %lu MHz (delays and times "
		       "are estimates)\n", khz / 1000);
		return;
	}
	khz = best / WINDOW_MS;
	printk("mmulab: tsc: %lu.%03lu MHz (measured against %s)\n", khz / 1000, khz % 1000, ref);
}

u64 tsc_khz(void)
{
	return khz;
}

u64 cycles_to_us(u64 cycles)
{
	return khz ? cycles * 1000 / khz : 0;
}

void udelay(u64 us)
{
	u64 end = rdtsc() + us * khz / 1000;

	while (rdtsc() < end)
		cpu_relax();
}
