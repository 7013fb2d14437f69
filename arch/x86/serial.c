/* The console's 16550 UART: COM1 at boot, the console QEMU's -serial and
 * most servers' serial port see; then, once ACPI is parsed, the one the
 * firmware's SPCR names (COM2 behind a BMC's serial-over-LAN, an MMIO UART). */

#include <arch/serial.h>
#include <arch/acpi_tables.h>
#include <arch/io.h>
#include <mmulab/format.h>
#include <mmulab/layout.h>
#include <mmulab/log.h>
#include <mmulab/mm.h>

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_DLL 0
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_REGS 8
#define LSR_THR_EMPTY 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define PC_UART_CLOCK 1843200

/* Bounded, so a machine without a UART (LSR floats to 0xff, which reads as
 * ready) or a stuck one never hangs the kernel. */
#define TX_SPIN_LIMIT 100000

/* Where the console's registers are. mmio: the mapped registers, reg_bytes
 * apart and accessed that wide; otherwise I/O ports from port. */
struct uart {
	u16 port;
	volatile u8 *mmio;
	u8 reg_bytes;
};

static struct uart console = { .port = COM1 };

static u8 uart_read(int reg)
{
	if (!console.mmio)
		return inb(console.port + reg);
	if (console.reg_bytes == 4)
		return (u8) * (volatile u32 *)(console.mmio + reg * 4);
	return console.mmio[reg];
}

static void uart_write(int reg, u8 v)
{
	if (!console.mmio)
		outb(console.port + reg, v);
	else if (console.reg_bytes == 4)
		*(volatile u32 *)(console.mmio + reg * 4) = v;
	else
		console.mmio[reg] = v;
}

/* 8N1 at clock / 16 / divisor baud; divisor 0 keeps the line settings the
 * firmware left (SPCR baud code 0). */
static void uart_setup(u32 divisor)
{
	uart_write(UART_IER, 0);
	if (divisor) {
		uart_write(UART_LCR, LCR_DLAB);
		uart_write(UART_DLL, (u8)divisor);
		uart_write(UART_DLM, (u8)(divisor >> 8));
		uart_write(UART_LCR, LCR_8N1);
	}
	uart_write(UART_FCR, 0x07); /* enable and clear the FIFOs */
	uart_write(UART_MCR, 0x03); /* DTR, RTS */
}

void serial_init(void)
{
	console = (struct uart){ .port = COM1 };
	uart_setup(PC_UART_CLOCK / 16 / 115200);
}

static void serial_putc(char c)
{
	for (int i = 0; i < TX_SPIN_LIMIT; i++)
		if (uart_read(UART_LSR) & LSR_THR_EMPTY)
			break;
	uart_write(UART_THR, (u8)c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

/* "16550 at I/O 0x2f8, 115200 baud" */
static void describe(const struct acpi_spcr *s, char *buf, size_t size)
{
	char baud[40];

	if (s->baud)
		format(baud, sizeof(baud), "%u baud", s->baud);
	else
		format(baud, sizeof(baud), "baud as the firmware set it");
	if (s->mmio)
		format(buf, size, "16550 at MMIO P0x%lx (%u-bit registers), %s", s->base,
		       s->reg_bytes * 8, baud);
	else
		format(buf, size, "16550 at I/O 0x%lx, %s", s->base, baud);
}

static bool is_com1(const struct acpi_spcr *s)
{
	return !s->mmio && s->base == COM1;
}

/* The UART the SPCR names, mapped when it is in memory; false when its
 * registers are beyond the direct map, where nothing can map them. */
static bool uart_from_spcr(const struct acpi_spcr *s, struct uart *u)
{
	if (!s->mmio) {
		*u = (struct uart){ .port = (u16)s->base };
		return true;
	}
	u64 span = UART_REGS * s->reg_bytes;
	if (s->base + span > DIRECT_MAP_SIZE)
		return false;
	*u = (struct uart){ .mmio = kmap_firmware(s->base, span), .reg_bytes = s->reg_bytes };
	return true;
}

/* Called once ACPI is parsed, on the boot CPU alone. The move is said on
 * COM1 first (someone may be watching only there), then on the new port. */
void serial_follow_spcr(const struct acpi_info *acpi)
{
	const struct acpi_spcr *s = &acpi->spcr;
	struct uart next;
	char where[120];

	if (!acpi->have_spcr) {
		printk("mmulab: console: no SPCR table: staying on COM1 (I/O 0x3f8, 115200 baud)\n");
		return;
	}
	if (!acpi->spcr_valid)
		return; /* the parser said why in one line */
	describe(s, where, sizeof(where));
	if (!uart_from_spcr(s, &next)) {
		printk("mmulab: console: SPCR: %s is beyond the direct map (staying on COM1)\n",
		       where);
		return;
	}
	if (!is_com1(s))
		printk("mmulab: console: SPCR: %s; continuing there\n", where);
	console = next;
	uart_setup(s->baud ? s->clock_hz / 16 / s->baud : 0);
	printk("mmulab: console: SPCR: %s; %s\n", where,
	       is_com1(s) ? "that is COM1, staying" : "continuing there");
}
