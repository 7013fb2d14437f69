/*
 * PVH start info → struct boot_info (arch/pvh.h). Pure: memory is read
 * through the reader, so host tests feed hand-built start infos.
 *
 * Rules:
 *  - magic must be PVH_START_MAGIC; version >= 1 with a non-empty memory
 *    map (version 0 has none, and guessing RAM is worse than stopping).
 *  - E820 types map to UEFI ones one to one, never merged: RAM →
 *    conventional, reserved → reserved, ACPI → ACPI reclaim, NVS → ACPI
 *    NVS, unusable → unusable, persistent → persistent, anything else →
 *    reserved. RAM is rounded inward to pages, everything else outward, so
 *    no partial page of a device or firmware range is ever used as RAM;
 *    two non-RAM ranges sharing a page give it to the first.
 *  - Ranges in the raw map must not overlap (firmware that says a byte is
 *    both RAM and reserved is not guessed about).
 *  - The kernel image must lie inside one RAM range; that range is split
 *    and the image marked loader data, as the UEFI stage's allocation is.
 *  - An RSDP is required (the topology and the timers come from ACPI).
 *  - The command line is plain ASCII of at most BOOT_CMDLINE_MAX - 1 bytes.
 *  - At most one module, the kernel symbol table (QEMU -initrd): inside RAM,
 *    clear of the kernel image. None is allowed: backtraces then print
 *    bare addresses.
 */

#include <arch/pvh.h>
#include <mmulab/format.h>
#include <mmulab/layout.h>
#include <mmulab/string.h>

struct conv {
	const struct pvh_reader *r;
	struct boot_info *info;
	struct boot_mem_range *map;
	char *err;
	size_t err_size;
};

static bool fail(struct conv *c, const char *fmt, ...) __printf(2, 3);
static bool fail(struct conv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(c->err, c->err_size, fmt, ap);
	va_end(ap);
	return false;
}

static u32 efi_type_of(u32 e820)
{
	switch (e820) {
	case E820_RAM:
		return EFI_CONVENTIONAL;
	case E820_ACPI:
		return EFI_ACPI_RECLAIM;
	case E820_NVS:
		return EFI_ACPI_NVS;
	case E820_UNUSABLE:
		return EFI_UNUSABLE;
	case E820_PERSISTENT:
		return EFI_PERSISTENT;
	default:
		return EFI_RESERVED;
	}
}

static paddr_t range_end(const struct boot_mem_range *m)
{
	return m->phys + m->pages * PAGE_SIZE;
}

static void sort_by_address(struct boot_mem_range *map, u32 n)
{
	for (u32 i = 1; i < n; i++) {
		struct boot_mem_range m = map[i];
		u32 j = i;
		for (; j > 0 && map[j - 1].phys > m.phys; j--)
			map[j] = map[j - 1];
		map[j] = m;
	}
}

static bool raw_overlap(const struct hvm_memmap_entry *e, u32 n, u32 *a, u32 *b)
{
	for (*a = 0; *a < n; (*a)++)
		for (*b = *a + 1; *b < n; (*b)++)
			if (e[*a].size && e[*b].size && e[*a].addr < e[*b].addr + e[*b].size &&
			    e[*b].addr < e[*a].addr + e[*a].size)
				return true;
	return false;
}

/* Translated, page-rounded, sorted; a non-RAM range that starts inside
 * the page its predecessor ended in starts after it. */
static bool translate_map(struct conv *c, const struct hvm_start_info *si)
{
	u32 n = si->memmap_entries, a, b, count = 0;

	if (n > PVH_MEMMAP_MAX - 2)
		return fail(c, "pvh: %u memory map entries, at most %u understood", n,
			    PVH_MEMMAP_MAX - 2);
	const struct hvm_memmap_entry *e = c->r->map(c->r->ctx, si->memmap_paddr, n * sizeof(*e));
	if (!e)
		return fail(c, "pvh: memory map at P0x%lx unreadable", si->memmap_paddr);
	if (raw_overlap(e, n, &a, &b))
		return fail(c, "pvh: memory map entries %u (P0x%lx+0x%lx) and %u (P0x%lx+0x%lx) "
			    "overlap", a, e[a].addr, e[a].size, b, e[b].addr, e[b].size);
	for (u32 i = 0; i < n; i++) {
		bool ram = e[i].type == E820_RAM;
		paddr_t lo = ram ? ALIGN_UP(e[i].addr, PAGE_SIZE) : ALIGN_DOWN(e[i].addr, PAGE_SIZE);
		paddr_t hi = e[i].addr + e[i].size;
		hi = ram ? ALIGN_DOWN(hi, PAGE_SIZE) : ALIGN_UP(hi, PAGE_SIZE);
		if (e[i].size == 0 || hi <= lo)
			continue;
		c->map[count++] = (struct boot_mem_range){
			.phys = lo, .pages = (hi - lo) / PAGE_SIZE, .type = efi_type_of(e[i].type),
		};
	}
	sort_by_address(c->map, count);
	u32 kept = 0;
	for (u32 i = 0; i < count; i++) {
		struct boot_mem_range m = c->map[i];
		if (kept && m.phys < range_end(&c->map[kept - 1])) {
			paddr_t end = range_end(&m);
			m.phys = range_end(&c->map[kept - 1]);
			if (end <= m.phys)
				continue;
			m.pages = (end - m.phys) / PAGE_SIZE;
		}
		c->map[kept++] = m;
	}
	if (kept == 0)
		return fail(c, "pvh: start info has no memory map (no usable entry)");
	c->info->memmap_count = kept;
	return true;
}

static int ram_range_holding(const struct conv *c, paddr_t lo, paddr_t hi)
{
	for (u32 i = 0; i < c->info->memmap_count; i++)
		if (c->map[i].type == EFI_CONVENTIONAL && c->map[i].phys <= lo &&
		    hi <= range_end(&c->map[i]))
			return (int)i;
	return -1;
}

/* [before: conventional][image: loader data][after: conventional] */
static void mark_image_loader_data(struct conv *c, u32 i, paddr_t lo, paddr_t hi)
{
	struct boot_mem_range whole = c->map[i];
	struct boot_mem_range parts[3] = {
		{ .phys = whole.phys, .pages = (lo - whole.phys) / PAGE_SIZE, .type = EFI_CONVENTIONAL },
		{ .phys = lo, .pages = (hi - lo) / PAGE_SIZE, .type = EFI_LOADER_DATA },
		{ .phys = hi, .pages = (range_end(&whole) - hi) / PAGE_SIZE, .type = EFI_CONVENTIONAL },
	};
	u32 n = c->info->memmap_count, out = i;

	memmove(&c->map[i + 3], &c->map[i + 1], (n - i - 1) * sizeof(c->map[0]));
	for (u32 p = 0; p < 3; p++)
		if (parts[p].pages)
			c->map[out++] = parts[p];
	memmove(&c->map[out], &c->map[i + 3], (n - i - 1) * sizeof(c->map[0]));
	c->info->memmap_count = out + (n - i - 1);
}

static void add_reserved(struct boot_info *info, paddr_t pa, u64 size, enum boot_reserved_kind kind)
{
	info->reserved[info->reserved_count++] = (struct boot_reserved){
		.phys = ALIGN_DOWN(pa, PAGE_SIZE),
		.size = ALIGN_UP(pa + size, PAGE_SIZE) - ALIGN_DOWN(pa, PAGE_SIZE),
		.kind = kind,
	};
}

static bool place_kernel(struct conv *c, const struct pvh_image *img)
{
	paddr_t lo = img->phys, hi = img->phys + img->size;
	int i = ram_range_holding(c, lo, hi);

	if (!IS_ALIGNED(lo, PAGE_SIZE) || !IS_ALIGNED(img->size, PAGE_SIZE))
		return fail(c, "pvh: kernel image P0x%lx+0x%lx not page aligned", lo, img->size);
	if (i < 0)
		return fail(c, "pvh: memory map does not hold the kernel image P0x%lx..P0x%lx in "
			    "one RAM range", lo, hi);
	mark_image_loader_data(c, (u32)i, lo, hi);
	c->info->kernel_phys = lo;
	c->info->kernel_virt = img->virt;
	c->info->kernel_size = img->size;
	add_reserved(c->info, lo, img->size, BOOT_RES_KERNEL);
	return true;
}

static bool read_rsdp(struct conv *c, const struct hvm_start_info *si)
{
	if (!si->rsdp_paddr)
		return fail(c, "pvh: start info has no RSDP");
	const u8 *rsdp = c->r->map(c->r->ctx, si->rsdp_paddr, 20);
	if (!rsdp)
		return fail(c, "pvh: RSDP at P0x%lx unreadable", si->rsdp_paddr);
	c->info->rsdp = si->rsdp_paddr;
	c->info->rsdp_revision = rsdp[15] >= 2 ? 2 : 0;
	return true;
}

static bool read_cmdline(struct conv *c, const struct hvm_start_info *si)
{
	char *out = c->info->cmdline;

	c->info->cmdline_source = si->cmdline_paddr ? BOOT_CMDLINE_PVH : BOOT_CMDLINE_NONE;
	if (!si->cmdline_paddr)
		return true;
	for (u32 i = 0;; i++) {
		const char *ch = c->r->map(c->r->ctx, si->cmdline_paddr + i, 1);
		if (!ch)
			return fail(c, "pvh: command line at P0x%lx unreadable", si->cmdline_paddr);
		if (*ch == 0)
			break;
		if (i == BOOT_CMDLINE_MAX - 1)
			return fail(c, "pvh: command line longer than %d bytes", BOOT_CMDLINE_MAX - 1);
		if (*ch < 0x20 || *ch > 0x7e)
			return fail(c, "pvh: command line byte %u is 0x%02x, not plain ASCII", i,
				    (u8)*ch);
		out[i] = *ch;
	}
	return true;
}

static bool read_symbols(struct conv *c, const struct hvm_start_info *si)
{
	if (si->nr_modules == 0)
		return true;
	if (si->nr_modules > 1)
		return fail(c, "pvh: %u modules; only one, the symbol table, is understood",
			    si->nr_modules);
	const struct hvm_modlist_entry *m = c->r->map(c->r->ctx, si->modlist_paddr, sizeof(*m));
	if (!m)
		return fail(c, "pvh: module list at P0x%lx unreadable", si->modlist_paddr);
	paddr_t k = c->info->kernel_phys, k_end = k + c->info->kernel_size;
	if (m->size == 0 || ram_range_holding(c, m->paddr, m->paddr + m->size) < 0 ||
	    (m->paddr < k_end && k < m->paddr + m->size))
		return fail(c, "pvh: symbol table module P0x%lx+0x%lx not in RAM clear of the "
			    "kernel", m->paddr, m->size);
	c->info->symbols = m->paddr;
	c->info->symbols_size = m->size;
	add_reserved(c->info, m->paddr, m->size, BOOT_RES_SYMBOLS);
	return true;
}

bool pvh_to_boot_info(const struct pvh_reader *r, paddr_t start_pa, const struct pvh_image *img,
		      struct boot_info *info, struct boot_mem_range *map, char *err, size_t err_size)
{
	struct conv c = { r, info, map, err, err_size };
	const struct hvm_start_info *si = r->map(r->ctx, start_pa, sizeof(*si));

	memset(info, 0, sizeof(*info));
	if (!si)
		return fail(&c, "pvh: start info at P0x%lx unreadable", start_pa);
	if (si->magic != PVH_START_MAGIC)
		return fail(&c, "pvh: start info magic 0x%x, want 0x%x (not a PVH boot?)", si->magic,
			    PVH_START_MAGIC);
	if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries)
		return fail(&c, "pvh: start info has no memory map (version %u, %u entries)",
			    si->version, si->version < 1 ? 0 : si->memmap_entries);
	info->magic = BOOT_INFO_MAGIC;
	info->version = BOOT_INFO_VERSION;
	return translate_map(&c, si) && place_kernel(&c, img) && read_rsdp(&c, si) &&
	       read_cmdline(&c, si) && read_symbols(&c, si);
}
