/*
 * ACPI table parsing (arch/acpi_tables.h).
 *
 * Rules, each problem reported as one line naming the table and field:
 *  - RSDP: signature and the 20-byte checksum; revision 2+ also the
 *    extended checksum and a Length of at least 36. The XSDT is used when
 *    present and valid, the RSDT otherwise.
 *  - Every table: signature, 36 <= Length <= 1 MiB and within what could
 *    be mapped, checksum. A bad table is skipped (a later valid one with
 *    the same signature may still be used).
 *  - NULL entries in the XSDT/RSDT are skipped (OVMF with acpi=off).
 *  - Two tables with one signature (QEMU's own and one injected with
 *    -acpitable): the first whose contents were accepted wins; a later one
 *    is reported and ignored. A table rejected for its contents (its own
 *    line) does not stop a later valid one.
 *  - MADT: Local APIC (0) and Local x2APIC (9) entries; a zero-length,
 *    overrunning or too short CPU subtable ends the parse of that table;
 *    duplicate APIC ids are reported and dropped. More than ACPI_MAX_CPUS
 *    CPU entries reject the MADT whole (the boot CPU only).
 *  - SRAT: disabled entries are skipped; zero-length, overflowing or
 *    beyond-2^52 memory entries are reported and skipped; memory ranges of
 *    different domains that overlap make the whole SRAT invalid; subtables
 *    of types other than 0, 1, 2 are skipped with one line per table.
 *    More CPU entries, memory ranges or distinct domains than
 *    ACPI_MAX_CPUS, ACPI_MAX_MEM, ACPI_MAX_DOMAINS reject the SRAT whole
 *    (one node), with one line naming the limit: never half a table.
 *  - A line that can repeat once per entry is printed for the first
 *    RATELIMIT_BURST entries, then one "... and N more" line at the end
 *    of the table.
 *  - SLIT: at most 64 localities, Length covering N*N, diagonal 10 and
 *    every other entry 11..255; otherwise the SLIT is rejected.
 *  - FADT: the PM timer: the X_PM_TMR_BLK generic address when it is
 *    in I/O space, else PM_TMR_BLK; a memory-mapped timer is not used.
 *  - SPCR (Microsoft's Serial Port Console Redirection table): a 16550
 *    (interface types 0, 1, 0x12) at an I/O port with 8-bit registers, or
 *    in memory with 8- or 32-bit registers; baud codes 0 (as the firmware
 *    left it), 3, 4, 6, 7, or revision 4's precise rate; revision 3's UART
 *    clock. Anything else (another UART, another address space, width or
 *    baud code, a zero base, a short table) is one line and the console
 *    stays on COM1.
 *    For on_done=: PM1a/PM1b_CNT (X_ when set and in I/O space), the
 *    RESET_REG when RESET_REG_SUP is set and it is in I/O or memory space
 *    (else one line), and \_S5 from the DSDT (X_DSDT, else DSDT): a Name
 *    holding a package of integer constants; anything else is one line
 *    and no poweroff.
 */

#include <arch/acpi_tables.h>
#include <mmulab/format.h>
#include <mmulab/ratelimit.h>
#include <mmulab/string.h>

#define HEADER_LEN 36
#define MAX_PHYS (1ULL << 52)

static void report(const struct acpi_reader *r, const char *fmt, ...) __printf(2, 3);
static void report(const struct acpi_reader *r, const char *fmt, ...)
{
	char line[200];
	va_list ap;

	va_start(ap, fmt);
	vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->report)
		r->report(r->ctx, line);
}

/* A line of a kind that may repeat once per entry: a few, then counted. */
static void report_limited(const struct acpi_reader *r, struct ratelimit *rl, const char *fmt, ...)
	__printf(3, 4);
static void report_limited(const struct acpi_reader *r, struct ratelimit *rl, const char *fmt, ...)
{
	char line[200];
	va_list ap;

	if (!ratelimit_pass(rl))
		return;
	va_start(ap, fmt);
	vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->report)
		r->report(r->ctx, line);
}

/* The summary of what report_limited held back, at the end of a table. */
static void report_held(const struct acpi_reader *r, struct ratelimit *rl)
{
	u32 held = ratelimit_end_burst(rl);

	if (held)
		report(r, "... and %u more \"%s\"", held, rl->kind);
}

static u8 rd8(const u8 *p, size_t off) { return p[off]; }
static u32 rd32(const u8 *p, size_t off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 rd64(const u8 *p, size_t off) { u64 v; memcpy(&v, p + off, 8); return v; }

static u8 checksum(const u8 *p, size_t len)
{
	u8 sum = 0;
	while (len--)
		sum += *p++;
	return sum;
}

bool acpi_table_valid(const struct acpi_reader *r, const u8 *t, size_t available, const char *sig)
{
	if (available < HEADER_LEN) {
		report(r, "%s: only %zu bytes, shorter than a table header (table ignored)", sig,
		       available);
		return false;
	}
	u32 len = rd32(t, 4);
	if (len < HEADER_LEN || len > ACPI_MAX_TABLE_LEN || len > available) {
		report(r, "%s: Length %u is not within 36..%zu (table ignored)", sig, len,
		       MIN(available, (size_t)ACPI_MAX_TABLE_LEN));
		return false;
	}
	if (memcmp(t, sig, 4) != 0) {
		report(r, "%s: signature is '%.4s' (table ignored)", sig, (const char *)t);
		return false;
	}
	if (checksum(t, len) != 0) {
		report(r, "%s: checksum does not add up to 0 (table ignored)", sig);
		return false;
	}
	return true;
}

/* --- MADT --- */

static bool have_apic_id(const struct acpi_info *out, u32 id)
{
	for (u32 i = 0; i < out->cpu_count; i++)
		if (out->cpus[i].apic_id == id)
			return true;
	return false;
}

/* False when the MADT lists more CPUs than the parser holds. */
static bool add_cpu(const struct acpi_reader *r, struct ratelimit *twice, struct acpi_info *out,
		    struct acpi_cpu c)
{
	if (!c.enabled && !c.online_capable)
		return true;
	if (have_apic_id(out, c.apic_id)) {
		report_limited(r, twice, "MADT: APIC id %u listed twice (second entry dropped)",
			       c.apic_id);
		return true;
	}
	if (out->cpu_count == ACPI_MAX_CPUS)
		return false;
	out->cpus[out->cpu_count++] = c;
	return true;
}

bool acpi_parse_madt(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out)
{
	struct ratelimit twice = { .kind = "MADT: APIC id listed twice" };
	bool rev5 = rd8(t, 8) >= 5, fits = true;
	size_t off = HEADER_LEN + 8;

	out->cpu_count = 0;
	while (fits && off + 2 <= len) {
		u8 type = rd8(t, off), sublen = rd8(t, off + 1);
		if (sublen < 2 || off + sublen > len) {
			report(r, "MADT: subtable type %u at offset %zu has length %u%s (rest of MADT "
			       "ignored)", type, off, sublen, sublen < 2 ? "" : ", past the table end");
			break;
		}
		if ((type == 0 && sublen < 8) || (type == 9 && sublen < 16)) {
			report(r, "MADT: type %u entry at offset %zu has length %u, too short (rest of "
			       "MADT ignored)", type, off, sublen);
			break;
		}
		if (type == 0) {
			u32 flags = rd32(t, off + 4);
			fits = add_cpu(r, &twice, out, (struct acpi_cpu){ rd8(t, off + 3), rd8(t, off + 2),
									  false, flags & 1, rev5 && (flags & 2) });
		} else if (type == 9) {
			u32 flags = rd32(t, off + 8);
			fits = add_cpu(r, &twice, out, (struct acpi_cpu){ rd32(t, off + 4), rd32(t, off + 12),
									  true, flags & 1, rev5 && (flags & 2) });
		}
		off += sublen;
	}
	report_held(r, &twice);
	if (!fits) {
		/* Half a MADT would start half the machine as if it were all. */
		report(r, "MADT: more than %d CPU entries, the parser's limit (MADT ignored: the "
		       "boot CPU only)", ACPI_MAX_CPUS);
		out->cpu_count = 0;
		return false;
	}
	out->have_madt = true;
	return true;
}

/* --- SRAT --- */

/* The SRAT's per-entry lines, each kind bounded (report_limited). */
struct srat_lines {
	struct ratelimit empty, beyond, length;
	const char *over; /* set: more of these than over_limit (SRAT rejected) */
	u32 over_limit;
};

static void add_cpu_affinity(struct srat_lines *l, struct acpi_info *out, u32 apic_id, u32 pxm,
			     bool x2apic)
{
	if (out->cpu_affinity_count == ACPI_MAX_CPUS) {
		l->over = "CPU affinity entries";
		l->over_limit = ACPI_MAX_CPUS;
		return;
	}
	out->cpu_affinity[out->cpu_affinity_count++] =
		(struct acpi_cpu_affinity){ apic_id, pxm, x2apic };
}

static void add_memory(const struct acpi_reader *r, struct srat_lines *l, struct acpi_info *out,
		       const u8 *e, size_t off)
{
	u32 pxm = rd32(e, 2), flags = rd32(e, 28);
	u64 base = rd64(e, 8), length = rd64(e, 16);

	if (!(flags & 1))
		return;
	if (length == 0) {
		report_limited(r, &l->empty, "SRAT: memory affinity at offset %zu (domain %u) has "
			       "length 0 (entry skipped)", off, pxm);
		return;
	}
	if (base + length < base || base + length > MAX_PHYS) {
		report_limited(r, &l->beyond, "SRAT: memory affinity at offset %zu (domain %u) base "
			       "0x%lx length 0x%lx is beyond 2^52 (entry skipped)", off, pxm, base,
			       length);
		return;
	}
	if (out->mem_count == ACPI_MAX_MEM) {
		l->over = "memory ranges";
		l->over_limit = ACPI_MAX_MEM;
		return;
	}
	out->mem[out->mem_count++] =
		(struct acpi_mem_affinity){ base, length, pxm, flags & 2, flags & 4 };
}

static bool srat_entry_length_ok(const struct acpi_reader *r, struct srat_lines *l, u8 type,
				 u8 sublen, size_t off)
{
	static const u8 want[] = { [0] = 16, [1] = 40, [2] = 24 };

	if (type > 2 || sublen == want[type])
		return true;
	report_limited(r, &l->length, "SRAT: type %u entry at offset %zu has length %u, not %u "
		       "(entry skipped)", type, off, sublen, want[type]);
	return false;
}

static bool domain_listed(const u32 *domains, u32 n, u32 pxm)
{
	for (u32 i = 0; i < n; i++)
		if (domains[i] == pxm)
			return true;
	return false;
}

/* More distinct domains than ACPI_MAX_DOMAINS (Linux: "Too many proximity
 * domains", bad_srat). Every accepted entry's domain counts, used or not. */
static bool srat_too_many_domains(const struct acpi_info *out)
{
	u32 domains[ACPI_MAX_DOMAINS], n = 0;

	for (u32 i = 0; i < out->mem_count + out->cpu_affinity_count; i++) {
		u32 pxm = i < out->mem_count ? out->mem[i].pxm :
					       out->cpu_affinity[i - out->mem_count].pxm;
		if (domain_listed(domains, n, pxm))
			continue;
		if (n == ACPI_MAX_DOMAINS)
			return true;
		domains[n++] = pxm;
	}
	return false;
}

static bool srat_overlaps(const struct acpi_reader *r, const struct acpi_info *out)
{
	for (u32 i = 0; i < out->mem_count; i++)
		for (u32 j = i + 1; j < out->mem_count; j++) {
			const struct acpi_mem_affinity *a = &out->mem[i], *b = &out->mem[j];
			if (a->pxm != b->pxm && a->base < b->base + b->length &&
			    b->base < a->base + a->length) {
				report(r, "SRAT: memory of domains %u and %u overlaps at P0x%lx (SRAT "
				       "ignored: one node)", a->pxm, b->pxm, MAX(a->base, b->base));
				return true;
			}
		}
	return false;
}

bool acpi_parse_srat(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out)
{
	struct srat_lines lines = { .empty.kind = "SRAT: memory affinity has length 0",
				    .beyond.kind = "SRAT: memory affinity is beyond 2^52",
				    .length.kind = "SRAT: entry has the wrong length" };
	size_t off = HEADER_LEN + 12;
	u32 unknown = 0;

	/* Start from nothing: an earlier SRAT may have been rejected. */
	out->have_srat = true;
	out->srat_valid = false;
	out->cpu_affinity_count = 0;
	out->mem_count = 0;
	while (!lines.over && off + 2 <= len) {
		u8 type = rd8(t, off), sublen = rd8(t, off + 1);
		if (sublen < 2 || off + sublen > len) {
			report(r, "SRAT: subtable type %u at offset %zu has length %u%s (rest of SRAT "
			       "ignored)", type, off, sublen, sublen < 2 ? "" : ", past the table end");
			break;
		}
		unknown += type > 2;
		if (srat_entry_length_ok(r, &lines, type, sublen, off)) {
			const u8 *e = t + off;
			if (type == 0 && (rd32(e, 4) & 1))
				add_cpu_affinity(&lines, out, rd8(e, 3),
						 rd8(e, 2) | (u32)rd8(e, 9) << 8 | (u32)rd8(e, 10) << 16 |
							 (u32)rd8(e, 11) << 24, false);
			else if (type == 1)
				add_memory(r, &lines, out, e, off);
			else if (type == 2 && (rd32(e, 12) & 1))
				add_cpu_affinity(&lines, out, rd32(e, 8), rd32(e, 4), true);
		}
		off += sublen;
	}
	report_held(r, &lines.empty);
	report_held(r, &lines.beyond);
	report_held(r, &lines.length);
	if (unknown)
		report(r, "SRAT: %u subtables of types other than 0, 1, 2 (skipped)", unknown);
	if (lines.over) {
		report(r, "SRAT: more than %u %s, the kernel's limit (SRAT ignored: one node)",
		       lines.over_limit, lines.over);
		return false;
	}
	if (srat_too_many_domains(out)) {
		report(r, "SRAT: more than %d proximity domains, the kernel's limit (SRAT ignored: "
		       "one node)", ACPI_MAX_DOMAINS);
		return false;
	}
	out->srat_valid = !srat_overlaps(r, out);
	return out->srat_valid;
}

/* --- SLIT --- */

bool acpi_parse_slit(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out)
{
	if (len < HEADER_LEN + 8) {
		report(r, "SLIT: Length %zu has no room for the locality count (SLIT ignored)", len);
		return false;
	}
	u64 n = rd64(t, HEADER_LEN);
	if (n == 0 || n > ACPI_MAX_SLIT) {
		report(r, "SLIT: locality count %lu is not within 1..%d (SLIT ignored)", n,
		       ACPI_MAX_SLIT);
		return false;
	}
	if (len < HEADER_LEN + 8 + n * n) {
		report(r, "SLIT: Length %zu is too short for %lu x %lu entries (SLIT ignored)", len,
		       n, n);
		return false;
	}
	const u8 *m = t + HEADER_LEN + 8;
	for (u64 i = 0; i < n; i++)
		for (u64 j = 0; j < n; j++) {
			u8 d = m[i * n + j];
			if ((i == j && d != 10) || (i != j && d <= 10)) {
				report(r, "SLIT: entry [%lu][%lu] is %u (diagonal must be 10, others "
				       "11..255) (SLIT ignored)", i, j, d);
				return false;
			}
		}
	memcpy(out->slit, m, n * n);
	out->slit_localities = (u32)n;
	out->have_slit = true;
	return true;
}

/* --- FADT --- */

#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1B_CNT_BLK 68
#define FADT_PM_TMR_BLK 76
#define FADT_FLAGS 112
#define FADT_TMR_VAL_EXT (1U << 8)
#define FADT_RESET_REG_SUP (1U << 10)
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM1B_CNT_BLK 184
#define FADT_X_PM_TMR_BLK 208
#define GAS_SYSTEM_IO 1
#define GAS_LEN 12

static const u8 *map_table(const struct acpi_reader *r, paddr_t pa, size_t *len);

static bool parse_pm_timer(const struct acpi_reader *r, const u8 *t, size_t len,
			   struct acpi_info *out)
{
	u32 port = len >= FADT_PM_TMR_BLK + 4 ? rd32(t, FADT_PM_TMR_BLK) : 0;

	if (len >= FADT_X_PM_TMR_BLK + GAS_LEN && rd64(t, FADT_X_PM_TMR_BLK + 4)) {
		if (rd8(t, FADT_X_PM_TMR_BLK) != GAS_SYSTEM_IO) {
			report(r, "FADT: X_PM_TMR_BLK is not in I/O space (PM timer not used)");
			return false;
		}
		port = (u32)rd64(t, FADT_X_PM_TMR_BLK + 4);
	}
	if (!port || port > 0xffff)
		return false;
	out->pm_timer_port = (u16)port;
	out->pm_timer_32bit = len >= FADT_FLAGS + 4 && (rd32(t, FADT_FLAGS) & FADT_TMR_VAL_EXT);
	return true;
}

/* --- SPCR --- */

#define SPCR_MIN_LEN 80
#define SPCR_INTERFACE 36
#define SPCR_BASE 40 /* a generic address structure */
#define SPCR_BAUD 58
#define SPCR_CLOCK 76        /* revision 3+ */
#define SPCR_PRECISE_BAUD 80 /* revision 4+ */
#define GAS_SYSTEM_MEMORY 0
#define UART_PC_CLOCK 1843200
#define UART_REGS 8

static bool spcr_interface_ok(const struct acpi_reader *r, u8 type)
{
	if (type == 0 || type == 1 || type == 0x12)
		return true;
	report(r, "SPCR: interface type 0x%x is not a 16550 (console stays on COM1)", type);
	return false;
}

/* The register block: I/O space with byte-wide ports, or memory with
 * registers 1 or 4 bytes apart. Access size 0 is "legacy": as wide. */
static bool spcr_address_ok(const struct acpi_reader *r, const u8 *gas, struct acpi_spcr *s)
{
	u8 space = rd8(gas, 0), bits = rd8(gas, 1), shift = rd8(gas, 2), access = rd8(gas, 3);
	u64 base = rd64(gas, 4);
	bool io = space == GAS_SYSTEM_IO;

	if (space != GAS_SYSTEM_IO && space != GAS_SYSTEM_MEMORY) {
		report(r, "SPCR: base address space id %u is neither memory (0) nor I/O (1) "
		       "(console stays on COM1)", space);
		return false;
	}
	if ((bits != 8 && (io || bits != 32)) || shift || (access && access != (bits == 8 ? 1 : 3))) {
		report(r, "SPCR: %s registers of %u bits at bit offset %u, access size %u are not "
		       "a 16550's (console stays on COM1)", io ? "I/O" : "memory", bits, shift, access);
		return false;
	}
	if (!base) {
		report(r, "SPCR: base address 0: console redirection is disabled (console stays "
		       "on COM1)");
		return false;
	}
	if (io ? base > 0x10000 - UART_REGS : base > MAX_PHYS - UART_REGS * (bits / 8)) {
		report(r, "SPCR: base address 0x%lx is beyond %s (console stays on COM1)", base,
		       io ? "the I/O space" : "2^52");
		return false;
	}
	*s = (struct acpi_spcr){ .mmio = !io, .base = base, .reg_bytes = bits / 8 };
	return true;
}

/* Baud code 0 keeps the firmware's settings; the rest must give a 16550
 * divisor (clock / 16 / baud) within 1..65535. */
static bool spcr_baud_ok(const struct acpi_reader *r, const u8 *t, size_t len,
			 struct acpi_spcr *s)
{
	static const u32 rate[] = { [3] = 9600, [4] = 19200, [6] = 57600, [7] = 115200 };
	u8 code = rd8(t, SPCR_BAUD), revision = rd8(t, 8);
	u32 precise = revision >= 4 && len >= SPCR_PRECISE_BAUD + 4 ? rd32(t, SPCR_PRECISE_BAUD) : 0;

	s->clock_hz = revision >= 3 && rd32(t, SPCR_CLOCK) ? rd32(t, SPCR_CLOCK) : UART_PC_CLOCK;
	if (code && (code >= ARRAY_SIZE(rate) || !rate[code])) {
		report(r, "SPCR: baud rate code %u is not 0, 3, 4, 6 or 7 (console stays on COM1)",
		       code);
		return false;
	}
	s->baud = precise ? precise : code ? rate[code] : 0;
	u64 divisor = s->baud ? s->clock_hz / 16 / s->baud : 1;
	if (divisor < 1 || divisor > 0xffff) {
		report(r, "SPCR: %u baud from a %u Hz clock needs divisor %lu, not 1..65535 "
		       "(console stays on COM1)", s->baud, s->clock_hz, divisor);
		return false;
	}
	return true;
}

bool acpi_parse_spcr(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out)
{
	struct acpi_spcr s;

	out->have_spcr = true;
	out->spcr_valid = false;
	if (len < SPCR_MIN_LEN) {
		report(r, "SPCR: Length %zu is shorter than %d (console stays on COM1)", len,
		       SPCR_MIN_LEN);
		return false;
	}
	if (!spcr_interface_ok(r, rd8(t, SPCR_INTERFACE)) ||
	    !spcr_address_ok(r, t + SPCR_BASE, &s) || !spcr_baud_ok(r, t, len, &s))
		return false;
	s.interface_type = rd8(t, SPCR_INTERFACE);
	out->spcr = s;
	out->spcr_valid = true;
	return true;
}

/* A PM1 control block's port: the X_ generic address when it is set and in
 * I/O space, else the 32-bit field; 0 when neither is a port. */
static u16 pm1_cnt_port(const u8 *t, size_t len, size_t legacy, size_t extended)
{
	u64 port = len >= legacy + 4 ? rd32(t, legacy) : 0;

	if (len >= extended + GAS_LEN && rd64(t, extended + 4))
		port = rd8(t, extended) == GAS_SYSTEM_IO ? rd64(t, extended + 4) : 0;
	return port <= 0xffff ? (u16)port : 0;
}

static void parse_reset_reg(const struct acpi_reader *r, const u8 *t, size_t len,
			    struct acpi_power *out)
{
	if (len < FADT_RESET_VALUE + 1 || !(rd32(t, FADT_FLAGS) & FADT_RESET_REG_SUP))
		return;
	u8 space = rd8(t, FADT_RESET_REG);
	u64 address = rd64(t, FADT_RESET_REG + 4);
	if ((space != ACPI_GAS_IO && space != ACPI_GAS_MEMORY) || !address ||
	    (space == ACPI_GAS_IO && address > 0xffff)) {
		report(r, "FADT: RESET_REG is in address space %u at 0x%lx, not a usable port or "
		       "memory (reset register not used)", space, address);
		return;
	}
	out->reset_supported = true;
	out->reset_reg = (struct acpi_gas){ .space = space, .address = address };
	out->reset_value = rd8(t, FADT_RESET_VALUE);
}

static void parse_dsdt_of(const struct acpi_reader *r, const u8 *fadt, size_t len,
			  struct acpi_power *out)
{
	paddr_t pa = len >= FADT_DSDT + 4 ? rd32(fadt, FADT_DSDT) : 0;
	size_t dsdt_len = 0;

	if (len >= FADT_X_DSDT + 8 && rd64(fadt, FADT_X_DSDT))
		pa = rd64(fadt, FADT_X_DSDT);
	const u8 *t = pa ? map_table(r, pa, &dsdt_len) : NULL;
	if (!t) {
		report(r, "FADT: no DSDT that can be mapped (no S5 sleep type: poweroff unavailable)");
		return;
	}
	if (acpi_table_valid(r, t, dsdt_len, "DSDT"))
		acpi_parse_s5(r, t, dsdt_len, out);
}

bool acpi_parse_fadt(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_info *out)
{
	out->have_fadt = true;
	out->power.pm1a_cnt = pm1_cnt_port(t, len, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
	out->power.pm1b_cnt = pm1_cnt_port(t, len, FADT_PM1B_CNT_BLK, FADT_X_PM1B_CNT_BLK);
	parse_reset_reg(r, t, len, &out->power);
	if (r->map)
		parse_dsdt_of(r, t, len, &out->power);
	return parse_pm_timer(r, t, len, out);
}

/* --- DSDT: the \_S5 object --- */

/*
 * Not an AML interpreter: the one form firmware uses for \_S5 (Linux
 * evaluates the same object), found by its bytes: NameOp, the name
 * (optionally after the root prefix), PackageOp, PkgLength, NumElements and
 * integer elements (Zero, One, or Byte/Word/DWord/QWord constants).
 * Every read stays inside the package, which stays inside the table.
 */
#define AML_NAME_OP 0x08
#define AML_ROOT_PREFIX '\\'
#define AML_PACKAGE_OP 0x12
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define SLP_TYP_MAX 7

/* The offset just past the name of "Name(_S5_, ...)", 0 when there is none. */
static size_t find_s5_name(const u8 *t, size_t len)
{
	for (size_t i = HEADER_LEN + 1; i + 4 <= len; i++) {
		if (memcmp(t + i, "_S5_", 4) != 0)
			continue;
		if (t[i - 1] == AML_NAME_OP ||
		    (t[i - 1] == AML_ROOT_PREFIX && i >= HEADER_LEN + 2 && t[i - 2] == AML_NAME_OP))
			return i + 4;
	}
	return 0;
}

/* PkgLength at *off: one lead byte whose top two bits count the bytes that
 * follow. Returns the offset where the package ends (the length counts
 * itself), 0 when that is past end. */
static size_t aml_package_end(const u8 *t, size_t end, size_t *off)
{
	size_t start = *off;
	u8 lead = t[start];
	u32 follow = lead >> 6;
	u64 length = follow ? lead & 0x0f : lead & 0x3f;

	if (start + 1 + follow > end)
		return 0;
	for (u32 k = 1; k <= follow; k++)
		length |= (u64)t[start + k] << (4 + 8 * (k - 1));
	*off = start + 1 + follow;
	return length > end - start ? 0 : start + length;
}

static bool aml_integer(const u8 *t, size_t end, size_t *off, u64 *v)
{
	u8 op = t[(*off)++];
	size_t size = op == AML_BYTE_PREFIX ? 1 : op == AML_WORD_PREFIX ? 2 :
		      op == AML_DWORD_PREFIX ? 4 : op == AML_QWORD_PREFIX ? 8 : 0;

	if (op == AML_ZERO_OP || op == AML_ONE_OP) {
		*v = op;
		return true;
	}
	if (!size || *off + size > end)
		return false;
	*v = 0;
	memcpy(v, t + *off, size); /* AML is little endian, as is x86 */
	*off += size;
	return true;
}

static bool s5_fails(const struct acpi_reader *r, const char *why)
{
	report(r, "DSDT: \\_S5 %s (poweroff unavailable)", why);
	return false;
}

bool acpi_parse_s5(const struct acpi_reader *r, const u8 *t, size_t len, struct acpi_power *out)
{
	size_t off = find_s5_name(t, len), end;
	u64 typ[2] = { 0, 0 };

	if (!off)
		return s5_fails(r, "not found");
	if (off + 3 > len || t[off++] != AML_PACKAGE_OP || !(end = aml_package_end(t, len, &off)) ||
	    off >= end)
		return s5_fails(r, "is not a package within the table");
	u8 count = t[off++];
	if (count == 0)
		return s5_fails(r, "is an empty package");
	for (u32 i = 0; i < 2 && i < count; i++)
		if (off >= end || !aml_integer(t, end, &off, &typ[i]))
			return s5_fails(r, "element is not an integer constant");
	if (count == 1) { /* one element: SLP_TYPa in its low nibble, SLP_TYPb above */
		typ[1] = typ[0] >> 4 & 0x0f;
		typ[0] &= 0x0f;
	}
	if (typ[0] > SLP_TYP_MAX || typ[1] > SLP_TYP_MAX)
		return s5_fails(r, "sleep type is above 7");
	out->have_s5 = true;
	out->slp_typa = (u8)typ[0];
	out->slp_typb = (u8)typ[1];
	return true;
}

/* --- RSDP and the root tables --- */

static const u8 *map_table(const struct acpi_reader *r, paddr_t pa, size_t *len)
{
	const u8 *h = r->map(r->ctx, pa, HEADER_LEN);

	if (!h)
		return NULL;
	u32 full = rd32(h, 4);
	if (full < HEADER_LEN || full > ACPI_MAX_TABLE_LEN) {
		*len = HEADER_LEN; /* acpi_table_valid reports it */
		return h;
	}
	const u8 *t = r->map(r->ctx, pa, full);
	*len = t ? full : HEADER_LEN;
	return t ? t : h;
}

static bool already_have(const struct acpi_info *out, const u8 *t)
{
	return (!memcmp(t, "APIC", 4) && out->have_madt) || (!memcmp(t, "SRAT", 4) && out->srat_valid) ||
	       (!memcmp(t, "SLIT", 4) && out->have_slit) || (!memcmp(t, "FACP", 4) && out->have_fadt) ||
	       (!memcmp(t, "SPCR", 4) && out->spcr_valid);
}

/*
 * The lines a walk of the root tables can repeat once per entry, each kind
 * bounded: a root may list thousands of NULL, unmappable, broken or
 * duplicate tables. A table whose signature was parsed and rejected
 * before is parsed again (it may be the valid one) but reports only for
 * the first few such tables.
 */
struct walk_lines {
	struct ratelimit null, unmapped, invalid, duplicate, again;
	u32 parsed; /* bit i: a table of wanted[i] was parsed */
};

static const struct acpi_reader *muted(const struct acpi_reader *r, struct acpi_reader *quiet)
{
	*quiet = *r;
	quiet->report = NULL;
	return quiet;
}

static bool table_valid_limited(const struct acpi_reader *r, struct walk_lines *l, const u8 *t,
				size_t len, const char *sig)
{
	struct acpi_reader quiet;

	if (acpi_table_valid(muted(r, &quiet), t, len, sig))
		return true;
	if (ratelimit_pass(&l->invalid))
		acpi_table_valid(r, t, len, sig);
	return false;
}

static void parse_table(const struct acpi_reader *r, struct walk_lines *l, paddr_t pa,
			const char *root, struct acpi_info *out)
{
	static const char *const wanted[] = { "APIC", "SRAT", "SLIT", "FACP", "SPCR" };
	struct acpi_reader quiet;
	size_t len = 0;
	const u8 *t = map_table(r, pa, &len);

	if (!t) {
		report_limited(r, &l->unmapped, "%s: table at P0x%lx cannot be mapped (skipped)", root,
			       pa);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		if (memcmp(t, wanted[i], 4) != 0)
			continue;
		const char *name = i == 0 ? "MADT" : i == 3 ? "FADT" : wanted[i];
		if (!table_valid_limited(r, l, t, len, wanted[i]))
			return;
		if (already_have(out, t)) {
			report_limited(r, &l->duplicate, "%s: another %s at P0x%lx ignored (the first "
				       "accepted one wins)", root, name, pa);
			return;
		}
		if ((l->parsed & (1U << i)) && !ratelimit_pass(&l->again))
			r = muted(r, &quiet);
		l->parsed |= 1U << i;
		if (i == 0)
			acpi_parse_madt(r, t, len, out);
		else if (i == 1)
			acpi_parse_srat(r, t, len, out);
		else if (i == 2)
			acpi_parse_slit(r, t, len, out);
		else if (i == 3)
			acpi_parse_fadt(r, t, len, out);
		else
			acpi_parse_spcr(r, t, len, out);
	}
}

static bool walk_root(const struct acpi_reader *r, struct walk_lines *l, paddr_t pa, bool xsdt,
		      struct acpi_info *out)
{
	const char *name = xsdt ? "XSDT" : "RSDT";
	size_t len = 0, entry = xsdt ? 8 : 4;
	const u8 *t = map_table(r, pa, &len);

	if (!t) {
		report(r, "%s: P0x%lx cannot be mapped", name, pa);
		return false;
	}
	if (!acpi_table_valid(r, t, len, xsdt ? "XSDT" : "RSDT"))
		return false;
	u32 n = (rd32(t, 4) - HEADER_LEN) / entry;
	for (u32 i = 0; i < n; i++) {
		paddr_t table = xsdt ? rd64(t, HEADER_LEN + i * 8) : rd32(t, HEADER_LEN + i * 4);
		if (!table) {
			report_limited(r, &l->null, "%s: entry %u is NULL (skipped)", name, i);
			continue;
		}
		parse_table(r, l, table, name, out);
	}
	return true;
}

static bool scan_roots(const struct acpi_reader *r, struct walk_lines *l, paddr_t rsdp_pa,
		       struct acpi_info *out)
{
	const u8 *rsdp = rsdp_pa ? r->map(r->ctx, rsdp_pa, 20) : NULL;

	if (!rsdp) {
		report(r, "RSDP: none given by the firmware (no ACPI: one node)");
		return false;
	}
	if (memcmp(rsdp, "RSD PTR ", 8) != 0 || checksum(rsdp, 20) != 0) {
		report(r, "RSDP: bad signature or checksum (no ACPI: one node)");
		return false;
	}
	if (rd8(rsdp, 15) >= 2) {
		const u8 *full = r->map(r->ctx, rsdp_pa, 36);
		u32 len = full ? rd32(full, 20) : 0;
		full = len >= 36 && len <= 4096 ? r->map(r->ctx, rsdp_pa, len) : NULL;
		if (!full || checksum(full, len) != 0)
			report(r, "RSDP: revision %u extended checksum or Length %u is bad (using "
			       "the RSDT)", rd8(rsdp, 15), len);
		else if (rd64(full, 24) && walk_root(r, l, rd64(full, 24), true, out))
			return true;
	}
	if (walk_root(r, l, rd32(rsdp, 16), false, out))
		return true;
	report(r, "RSDP: neither XSDT nor RSDT is usable (no ACPI: one node)");
	return false;
}

bool acpi_scan(const struct acpi_reader *r, paddr_t rsdp_pa, struct acpi_info *out)
{
	struct walk_lines l = { .null.kind = "root table entry is NULL",
				.unmapped.kind = "table cannot be mapped",
				.invalid.kind = "table header is bad",
				.duplicate.kind = "another table of an accepted signature",
				.again.kind = "another table of a rejected signature, parsed quietly" };
	bool found = scan_roots(r, &l, rsdp_pa, out);

	report_held(r, &l.null);
	report_held(r, &l.unmapped);
	report_held(r, &l.invalid);
	report_held(r, &l.duplicate);
	report_held(r, &l.again);
	return found;
}
