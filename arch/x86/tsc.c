/*
 * TSC calibration. CPUID leaf 15h gives the TSC rate on recent Intel
 * parts, but neither QEMU's TCG nor AMD machines report it, so the rate is
 * measured: PIT channel 2 counts down 10 ms at 1.193182 MHz in mode 0 and
 * its output (port 0x61 bit 5) rises at the end. Best of three, as an SMI
 * or a host hiccup can only make one window longer.
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
#define WINDOW_MS 10
#define FALLBACK_KHZ 2000000ULL /* assumed when no PIT answers */

static u64 khz;

/* TSC cycles in one PIT window, or 0 when the PIT never signalled. */
static u64 measure_window(void)
{
	u16 count = (u16)(PIT_HZ * WINDOW_MS / 1000);

	outb(PORT_B, (inb(PORT_B) & ~PORTB_SPEAKER) | PORTB_GATE2);
	outb(PIT_CMD, 0xb0); /* channel 2, lo/hi byte, mode 0, binary */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	u64 start = rdtsc();
	for (u64 spins = 0; !(inb(PORT_B) & PORTB_OUT2); spins++)
		if (spins > 50000000)
			return 0;
	return rdtsc() - start;
}

void tsc_calibrate(void)
{
	u64 best = 0;

	for (int i = 0; i < 3; i++) {
		u64 c = measure_window();
		if (c && (!best || c < best))
			best = c;
	}
	if (!best) {
		khz = FALLBACK_KHZ;
		printk("mmulab: tsc: the PIT did not answer; assuming %lu MHz (delays and times "
		       "are estimates)\n", khz / 1000);
		return;
	}
	khz = best / WINDOW_MS;
	printk("mmulab: tsc: %lu.%03lu MHz (measured against the PIT)\n", khz / 1000, khz % 1000);
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
