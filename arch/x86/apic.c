/*
 * Local APIC access. In xAPIC mode registers are 32-bit MMIO words at
 * base + offset; in x2APIC mode the same register is MSR 0x800 + offset/16,
 * the ICR is one 64-bit MSR and APIC ids are 32 bits (ids above 255 exist
 * only there). Everything else is shared.
 */

#include <arch/apic.h>
#include <arch/io.h>
#include <arch/cpu.h>
#include <arch/tsc.h>
#include <mmulab/kernel.h>
#include <mmulab/mm.h>

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ULL << 11)
#define APIC_BASE_X2APIC (1ULL << 10)
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1
#define APIC_BASE_ADDR_MASK 0xffffff000ULL

#define APIC_ID 0x20
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_ESR 0x280
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0

#define SVR_ENABLE (1U << 8)
#define ICR_DELIVERY_PENDING (1U << 12)
#define ICR_FIXED 0x000
#define ICR_NMI 0x400
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_LEVEL_ASSERT (1U << 14)
#define LVT_MASKED (1U << 16)
#define LVT_TIMER_PERIODIC (1U << 17)
#define TIMER_DIVIDE_16 0x3

static volatile u32 *mmio;
static bool x2apic;

bool apic_x2apic_mode(void)
{
	return x2apic;
}

static u32 apic_read(u32 reg)
{
	return x2apic ? (u32)rdmsr(0x800 + (reg >> 4)) : mmio[reg / 4];
}

static void apic_write(u32 reg, u32 v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		mmio[reg / 4] = v;
}

static void enable_this_apic(void)
{
	u64 base = rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;

	wrmsr(MSR_APIC_BASE, base);
	if (x2apic)
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2APIC);
	apic_write(APIC_SVR, SVR_ENABLE | APIC_SPURIOUS_VECTOR);
	apic_write(APIC_LVT_TIMER, LVT_MASKED);
	apic_write(APIC_ESR, 0);
}

/* The 8259 PICs stay masked for good: SeaBIOS (the PVH path) leaves them
 * programmed with IRQ 0 at vector 8, so the first PIT tick after sti would
 * arrive looking like a #DF. OVMF masks them itself; doing it always keeps
 * both boot paths the same. */
static void mask_legacy_pics(void)
{
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
}

void apic_init_bsp(bool allow_x2apic)
{
	mask_legacy_pics();
	x2apic = allow_x2apic && cpu_has(X86_X2APIC);
	if (!x2apic)
		mmio = kmap_firmware(rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK, PAGE_SIZE);
	enable_this_apic();
}

void apic_init_ap(void)
{
	enable_this_apic();
}

u32 apic_id(void)
{
	u32 id = apic_read(APIC_ID);
	return x2apic ? id : id >> 24;
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

/* xAPIC: the high half names the target, the low-half write sends. The
 * previous IPI must have left first (delivery status), bounded so a dead
 * APIC cannot hang us. */
static void send_icr(u32 dest, u32 low)
{
	if (x2apic) {
		wrmsr(0x800 + (APIC_ICR_LOW >> 4), ((u64)dest << 32) | low);
		return;
	}
	for (int i = 0; i < 1000000 && (apic_read(APIC_ICR_LOW) & ICR_DELIVERY_PENDING); i++)
		cpu_relax();
	apic_write(APIC_ICR_HIGH, dest << 24);
	apic_write(APIC_ICR_LOW, low);
}

void apic_send_ipi(u32 dest, u8 vector)
{
	send_icr(dest, ICR_FIXED | vector);
}

void apic_send_nmi(u32 dest)
{
	send_icr(dest, ICR_NMI);
}

/* The SDM's universal start-up: INIT, 10 ms, STARTUP, 200 us, STARTUP,
 * 200 us. The 10 ms are for the INIT of physical CPUs; a hypervisor's
 * virtual CPU takes INIT and STARTUP as events, in order, at once (Linux
 * too skips the INIT wait on CPUs of the last twenty years, and waits
 * 10 us after each STARTUP). Under QEMU that is 10 ms less per AP. */
void apic_start_ap(u32 dest, u32 start_page)
{
	bool virtual_cpu = cpu_has(X86_HYPERVISOR);

	send_icr(dest, ICR_INIT | ICR_LEVEL_ASSERT);
	udelay(virtual_cpu ? 0 : 10000);
	for (int i = 0; i < 2; i++) {
		send_icr(dest, ICR_STARTUP | (start_page & 0xff));
		udelay(virtual_cpu ? 10 : 200);
	}
}

void apic_timer_periodic(u8 vector, u32 ticks)
{
	apic_write(APIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
	apic_write(APIC_LVT_TIMER, LVT_TIMER_PERIODIC | vector);
	apic_write(APIC_TIMER_INIT, ticks);
}

void apic_timer_start_count(u32 ticks)
{
	apic_write(APIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
	apic_write(APIC_LVT_TIMER, LVT_MASKED);
	apic_write(APIC_TIMER_INIT, ticks);
}

u32 apic_timer_current(void)
{
	return apic_read(APIC_TIMER_CURRENT);
}

void apic_timer_stop(void)
{
	apic_write(APIC_LVT_TIMER, LVT_MASKED);
	apic_write(APIC_TIMER_INIT, 0);
}
