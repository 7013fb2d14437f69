/*
 * PVH start info → boot_info (arch/x86/pvh_info.c) over start infos built by
 * hand in a fake physical memory: a QEMU-shaped good one (its E820 map,
 * command line, RSDP, symbol module), then one broken field per malformed
 * case, each of which must be refused with its own line.
 */

#include <stdio.h>
#include "host_test.h"
#include <arch/pvh.h>

static u8 phys[64 * 1024];

#define START_PA 0x1000
#define MEMMAP_PA 0x2000
#define CMDLINE_PA 0x3000
#define MODLIST_PA 0x4000
#define RSDP_PA 0x5000

static const void *map_fake(void *ctx, paddr_t pa, u64 len)
{
	(void)ctx;
	return pa && pa + len <= sizeof(phys) ? phys + pa : NULL;
}

static const struct pvh_reader reader = { map_fake, NULL };
static const struct pvh_image image = { 0x1000000, 0xffffffff80000000, 0x90000 };
static struct boot_info info;
static struct boot_mem_range map[PVH_MEMMAP_MAX];
static char err[200];

static struct hvm_start_info *start(void)
{
	return (struct hvm_start_info *)(phys + START_PA);
}

static struct hvm_memmap_entry *e820(void)
{
	return (struct hvm_memmap_entry *)(phys + MEMMAP_PA);
}

/* What QEMU's PVH option ROM hands over for 2 GiB, plus one ACPI and one
 * NVS range and a persistent one so every translation is seen. */
static void build_good(void)
{
	static const struct hvm_memmap_entry ranges[] = {
		{ 0x0, 0x9fc00, E820_RAM, 0 },
		{ 0x9fc00, 0x400, E820_RESERVED, 0 },
		{ 0xf0000, 0x10000, E820_RESERVED, 0 },
		{ 0x100000, 0x7fe00000 - 0x100000, E820_RAM, 0 },
		{ 0x7fe00000, 0x10000, E820_ACPI, 0 },
		{ 0x7fe10000, 0x1000, E820_NVS, 0 },
		{ 0x7fe11000, 0x1ef000, E820_RESERVED, 0 },
		{ 0xb0000000, 0x10000000, E820_RESERVED, 0 },
		{ 0x100000000, 0x40000000, E820_PERSISTENT, 0 },
		{ 0x140000000, 0x1000, E820_UNUSABLE, 0 },
	};
	memset(phys, 0, sizeof(phys));
	*start() = (struct hvm_start_info){
		.magic = PVH_START_MAGIC, .version = 1, .nr_modules = 1,
		.modlist_paddr = MODLIST_PA, .cmdline_paddr = CMDLINE_PA, .rsdp_paddr = RSDP_PA,
		.memmap_paddr = MEMMAP_PA, .memmap_entries = sizeof(ranges) / sizeof(ranges[0]),
	};
	memcpy(e820(), ranges, sizeof(ranges));
	strcpy((char *)phys + CMDLINE_PA, "tests=paging* seed=7");
	*(struct hvm_modlist_entry *)(phys + MODLIST_PA) =
		(struct hvm_modlist_entry){ .paddr = 0x7f000000, .size = 0x1234 };
	memcpy(phys + RSDP_PA, "RSD PTR ", 8);
	phys[RSDP_PA + 15] = 2;
}

static bool convert(void)
{
	err[0] = 0;
	return pvh_to_boot_info(&reader, START_PA, &image, &info, map, err, sizeof(err));
}

static const struct boot_mem_range *find(paddr_t pa)
{
	for (u32 i = 0; i < info.memmap_count; i++)
		if (map[i].phys == pa)
			return &map[i];
	return NULL;
}

static void good_start_info(void)
{
	build_good();
	CHECK(convert());
	CHECK_STR(err, "");
	CHECK(info.magic == BOOT_INFO_MAGIC && info.version == BOOT_INFO_VERSION);
	CHECK_STR(info.cmdline, "tests=paging* seed=7");
	CHECK(info.cmdline_source == BOOT_CMDLINE_PVH);
	CHECK(info.rsdp == RSDP_PA && info.rsdp_revision == 2);
	CHECK(info.kernel_phys == 0x1000000 && info.kernel_size == 0x90000);
	CHECK(info.kernel_virt == 0xffffffff80000000);
	CHECK(info.symbols == 0x7f000000 && info.symbols_size == 0x1234);
	CHECK(info.reserved_count == 2);
	CHECK(info.reserved[0].kind == BOOT_RES_KERNEL && info.reserved[0].size == 0x90000);
	CHECK(info.reserved[1].kind == BOOT_RES_SYMBOLS && info.reserved[1].size == 0x2000);
	/* 10 ranges, the 1 MiB.. RAM range split in three around the image. */
	CHECK(info.memmap_count == 12);
	for (u32 i = 1; i < info.memmap_count; i++)
		CHECK(map[i - 1].phys + map[i - 1].pages * 4096 <= map[i].phys);
}

/* Types kept apart; RAM rounded inward, the rest outward. */
static void types_and_rounding(void)
{
	build_good();
	CHECK(convert());
	CHECK(find(0) && find(0)->type == EFI_CONVENTIONAL && find(0)->pages == 0x9f);
	CHECK(find(0x9f000) && find(0x9f000)->type == EFI_RESERVED && find(0x9f000)->pages == 1);
	CHECK(find(0x100000) && find(0x100000)->type == EFI_CONVENTIONAL &&
	      find(0x100000)->pages == (0x1000000 - 0x100000) / 4096);
	CHECK(find(0x1000000) && find(0x1000000)->type == EFI_LOADER_DATA &&
	      find(0x1000000)->pages == 0x90);
	CHECK(find(0x1090000) && find(0x1090000)->type == EFI_CONVENTIONAL);
	CHECK(find(0x7fe00000) && find(0x7fe00000)->type == EFI_ACPI_RECLAIM);
	CHECK(find(0x7fe10000) && find(0x7fe10000)->type == EFI_ACPI_NVS);
	CHECK(find(0x7fe11000) && find(0x7fe11000)->type == EFI_RESERVED);
	CHECK(find(0x100000000) && find(0x100000000)->type == EFI_PERSISTENT);
	CHECK(find(0x140000000) && find(0x140000000)->type == EFI_UNUSABLE);
}

/* An unsorted map comes out sorted; an unaligned RAM edge gives up its
 * partial page; two reserved ranges sharing a page do not overlap. */
static void unsorted_and_shared_pages(void)
{
	build_good();
	struct hvm_memmap_entry t = e820()[0];
	e820()[0] = e820()[3];
	e820()[3] = t;
	e820()[1] = (struct hvm_memmap_entry){ 0x9fc00, 0x200, E820_RESERVED, 0 };
	e820()[2] = (struct hvm_memmap_entry){ 0x9fe00, 0x200, E820_NVS, 0 };
	CHECK(convert());
	for (u32 i = 1; i < info.memmap_count; i++)
		CHECK(map[i - 1].phys + map[i - 1].pages * 4096 <= map[i].phys);
	CHECK(find(0x9f000) && find(0x9f000)->type == EFI_RESERVED);
}

static void expect_refused(const char *want_prefix)
{
	CHECK(!convert());
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0) {
		printf("  # got \"%s\", expected a line starting \"%s\"\n", err, want_prefix);
		host_case_failed = true;
	}
	CHECK(strchr(err, '\n') == NULL);
}

static void bad_magic(void)
{
	build_good();
	start()->magic = 0x12345678;
	expect_refused("pvh: start info magic 0x12345678");
}

static void no_memory_map(void)
{
	build_good();
	start()->memmap_entries = 0;
	expect_refused("pvh: start info has no memory map");
	build_good();
	start()->version = 0;
	expect_refused("pvh: start info has no memory map");
	build_good();
	start()->memmap_paddr = 0;
	expect_refused("pvh: start info has no memory map");
}

static void map_overlaps_kernel(void)
{
	build_good();
	e820()[3].size = 0x1000000 - 0x100000; /* RAM ends where the kernel starts */
	e820()[4].addr = 0x1000000;            /* ... and ACPI data sits on it */
	e820()[4].size = 0x10000;
	expect_refused("pvh: memory map does not hold the kernel image");
}

static void overlapping_entries(void)
{
	build_good();
	e820()[2].addr = 0x9f000; /* reserved range reaching into low RAM */
	expect_refused("pvh: memory map entries 0");
}

static void no_rsdp(void)
{
	build_good();
	start()->rsdp_paddr = 0;
	expect_refused("pvh: start info has no RSDP");
}

static void bad_cmdline(void)
{
	build_good();
	phys[CMDLINE_PA + 3] = 0x80;
	expect_refused("pvh: command line byte 3 is 0x80");
	build_good();
	memset(phys + CMDLINE_PA, 'a', BOOT_CMDLINE_MAX);
	expect_refused("pvh: command line longer than");
}

static void bad_modules(void)
{
	build_good();
	start()->nr_modules = 2;
	expect_refused("pvh: 2 modules");
	build_good();
	((struct hvm_modlist_entry *)(phys + MODLIST_PA))->paddr = 0x1010000; /* in the kernel */
	expect_refused("pvh: symbol table module");
	build_good();
	start()->nr_modules = 0; /* none is fine: bare addresses in backtraces */
	CHECK(convert());
	CHECK(info.symbols == 0 && info.symbols_size == 0 && info.reserved_count == 1);
}

static void too_many_entries(void)
{
	build_good();
	start()->memmap_entries = PVH_MEMMAP_MAX;
	expect_refused("pvh: 256 memory map entries");
}

HOST_SUITE(pvh,
	HOST_CASE(good_start_info),
	HOST_CASE(types_and_rounding),
	HOST_CASE(unsorted_and_shared_pages),
	HOST_CASE(bad_magic),
	HOST_CASE(no_memory_map),
	HOST_CASE(map_overlaps_kernel),
	HOST_CASE(overlapping_entries),
	HOST_CASE(no_rsdp),
	HOST_CASE(bad_cmdline),
	HOST_CASE(bad_modules),
	HOST_CASE(too_many_entries));
