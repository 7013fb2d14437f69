#ifndef ARCH_ACPI_TABLES_H
#define ARCH_ACPI_TABLES_H

/*
 * ACPI MADT, SRAT, SLIT, FADT and SPCR parsing into plain structs. Pure code: table
 * memory is reached through a callback, so the host tests and the fuzzer
 * run the same parser over files and built tables. Every problem is
 * reported as one line naming the table and the field; see acpi_tables.c
 * for the rules and fallbacks.
 */

#include <mmulab/types.h>

#define ACPI_MAX_CPUS 1024
#define ACPI_MAX_MEM 256
#define ACPI_MAX_SLIT 64
#define ACPI_MAX_DOMAINS 64 /* distinct SRAT proximity domains (MAX_NODES) */
#define ACPI_MAX_TABLE_LEN (1U << 20)

struct acpi_cpu {
	u32 apic_id;
	u32 uid;
	bool x2apic;
	bool enabled;        /* present now */
	bool online_capable; /* may come online later (MADT rev 5+) */
};

struct acpi_cpu_affinity {
	u32 apic_id;
	u32 pxm;
	bool x2apic;
};

struct acpi_mem_affinity {
	u64 base, length;
	u32 pxm;
	bool hotplug, nonvolatile;
};

/* The serial console the SPCR names, when it is a 16550 the kernel can
 * drive: registers at an I/O port, or in memory 1 or 4 bytes apart. */
struct acpi_spcr {
	bool mmio;         /* false: I/O port space */
	u64 base;          /* the port, or the registers' physical address */
	u8 reg_bytes;      /* MMIO: 1 (8-bit registers) or 4 (32-bit registers) */
	u32 baud;          /* 0: the firmware's settings, left as they are */
	u32 clock_hz;      /* the UART's input clock (the PC's 1.8432 MHz unless given) */
	u8 interface_type; /* 0 16550, 1 16450 / 16550 subset, 0x12 16550 by the GAS */
};

/* A FADT generic address: in I/O space (port) or memory space. */
struct acpi_gas {
	u8 space; /* ACPI_GAS_MEMORY or ACPI_GAS_IO */
	u64 address;
};
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1

/* What ending a run needs (on_done=): the FADT's reset register and PM1
 * control blocks, and the \_S5 sleep types from the DSDT. */
struct acpi_power {
	bool reset_supported; /* FADT RESET_REG_SUP and a usable RESET_REG */
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 pm1a_cnt, pm1b_cnt; /* I/O ports, 0: none */
	bool have_s5;
	u8 slp_typa, slp_typb;
};

struct acpi_info {
	bool have_madt, have_srat, have_slit, have_fadt;
	u16 pm_timer_port;  /* ACPI PM timer I/O port from the FADT, 0: none */
	bool pm_timer_32bit;
	struct acpi_power power;
	bool srat_valid; /* false: the SRAT was found but rejected whole */
	u32 cpu_count;
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	u32 cpu_affinity_count;
	struct acpi_cpu_affinity cpu_affinity[ACPI_MAX_CPUS];
	u32 mem_count;
	struct acpi_mem_affinity mem[ACPI_MAX_MEM];
	u32 slit_localities;
	u8 slit[ACPI_MAX_SLIT * ACPI_MAX_SLIT]; /* [pxm_i * slit_localities + pxm_j] */
	bool have_spcr;  /* an SPCR with a valid header was seen */
	bool spcr_valid; /* and it names a usable 16550 (spcr below) */
	struct acpi_spcr spcr;
};

struct acpi_reader {
	/* A readable view of [pa, pa + len), or NULL when it cannot be had. */
	const void *(*map)(void *ctx, paddr_t pa, size_t len);
	void (*report)(void *ctx, const char *line);
	void *ctx;
};

/* Finds and parses the tables from the RSDP; returns false (one report
 * line) when there is no usable RSDP/XSDT/RSDT at all. */
bool acpi_scan(const struct acpi_reader *r, paddr_t rsdp, struct acpi_info *out);

/* One table each, given its bytes (header included). False: rejected. */
bool acpi_parse_madt(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out);
bool acpi_parse_srat(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out);
bool acpi_parse_slit(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out);
bool acpi_parse_fadt(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out);
bool acpi_parse_spcr(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out);

/* The \_S5 package's SLP_TYPa/b from DSDT bytes (header included); false
 * (one line) when there is none or it is not a plain package of integers. */
bool acpi_parse_s5(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_power *out);

/* Header checks: signature, length within [36, available], checksum. */
bool acpi_table_valid(const struct acpi_reader *r, const u8 *t, size_t available, const char *sig);

#endif
