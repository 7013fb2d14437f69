/*
 * boot_info: what the UEFI stage handed over is sane, and the kernel's own
 * tables are what kmain promised (W^X image, NX direct map with large
 * pages, guarded stacks).
 */

#include <mmulab/boot_info.h>
#include <mmulab/cmdline.h>
#include <mmulab/kernel.h>
#include <mmulab/kstack.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/numa.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/string.h>
#include <mmulab/test.h>
#include <arch/cpu.h>
#include "probe.h"



static const struct boot_mem_range *memmap(u32 *count)
{
	*count = boot_info()->memmap_count;
	return phys_to_virt(boot_info()->memmap);
}

/* The map is sorted by address and no two ranges overlap. */
static void memmap_sorted_disjoint(struct test *t)
{
	u32 n;
	const struct boot_mem_range *r = memmap(&n);

	EXPECT_GE(t, n, 3);
	for (u32 i = 1; i < n; i++) {
		if (!EXPECT_LE(t, r[i - 1].phys + r[i - 1].pages * PAGE_SIZE, r[i].phys))
			test_diag(t, "ranges %u and %u overlap or are out of order", i - 1, i);
	}
}

/* The kernel image sits inside one loader-data range. */
static void memmap_covers_kernel(struct test *t)
{
	u32 n;
	const struct boot_mem_range *r = memmap(&n);
	paddr_t k = boot_info()->kernel_phys, k_end = k + boot_info()->kernel_size;
	bool covered = false;

	for (u32 i = 0; i < n; i++)
		if (r[i].type == EFI_LOADER_DATA && r[i].phys <= k &&
		    k_end <= r[i].phys + r[i].pages * PAGE_SIZE)
			covered = true;
	EXPECT_TRUE(t, covered);
}

static u8 byte_sum(const u8 *p, size_t n)
{
	u8 s = 0;
	while (n--)
		s += *p++;
	return s;
}

/* ACPI RSDP: signature, the ACPI 1.0 checksum over 20 bytes and, for
 * revision 2+, the extended checksum over Length bytes and an XSDT. */
static void rsdp_checksum(struct test *t)
{
	if (!boot_info()->rsdp)
		test_skip(t, "firmware offered no RSDP");
	const u8 *rsdp = phys_to_virt(boot_info()->rsdp);
	EXPECT_EQ(t, memcmp(rsdp, "RSD PTR ", 8), 0);
	EXPECT_EQ(t, byte_sum(rsdp, 20), 0);
	if (rsdp[15] >= 2) {
		u32 length;
		u64 xsdt;
		memcpy(&length, rsdp + 20, 4);
		memcpy(&xsdt, rsdp + 24, 8);
		EXPECT_GE(t, length, 36);
		EXPECT_EQ(t, byte_sum(rsdp, length), 0);
		EXPECT_NE(t, xsdt, 0);
	}
}

extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[];

extern const char boot_guard_low[], boot_guard_high[];

static bool is_boot_guard(vaddr_t va)
{
	return va == (vaddr_t)boot_guard_low || va == (vaddr_t)boot_guard_high;
}

static void expect_image_part(struct test *t, const char *start, const char *end, bool write,
			      bool exec)
{
	for (vaddr_t va = (vaddr_t)start; va < (vaddr_t)end; va += PAGE_SIZE) {
		if (is_boot_guard(va))
			continue;
		struct pt_walk w = pt_walk(kernel_root(), va);
		if (!EXPECT_EQ(t, w.leaf_size, PAGE_SIZE) || !EXPECT_EQ(t, pte_write(w.pte), write) ||
		    !EXPECT_EQ(t, pte_exec(w.pte), exec) || !EXPECT_TRUE(t, pte_global(w.pte))) {
			test_diag(t, "kernel page V0x%lx", va);
			pt_print_walk(kernel_root(), va, "  # ");
			return;
		}
	}
}

/* Text is read+exec, rodata read-only, data and bss read+write; never
 * writable and executable at once. */
static void kernel_image_wx(struct test *t)
{
	expect_image_part(t, __text_start, __text_end, false, true);
	expect_image_part(t, __rodata_start, __rodata_end, false, false);
	expect_image_part(t, __data_start, __data_end, true, false);
}

/* The write a W^X image must refuse: into its own text. */
static void kernel_text_write_faults(struct test *t)
{
	vaddr_t va = (vaddr_t)__text_start;
	struct fault_info f = probe_write(va + 1, *(volatile u8 *)(va + 1));

	EXPECT_EQ(t, f.vector, 14);
	EXPECT_EQ(t, f.error_code, 0x3); /* P | W */
}

/* The largest page that fits at pa inside [start, end). */
/* The largest page the direct map should use at pa; the read-only mode
 * maps every page on its own (any page may become a table). */
static u64 page_that_fits(paddr_t pa, paddr_t start, paddr_t end)
{
	if (cmdline.mmu_pv)
		return PAGE_SIZE;
	if (cpu_has(X86_GBPAGES) && IS_ALIGNED(pa, PUD_SIZE) && pa >= start && pa + PUD_SIZE <= end)
		return PUD_SIZE;
	if (IS_ALIGNED(pa, PMD_SIZE) && pa >= start && pa + PMD_SIZE <= end)
		return PMD_SIZE;
	return PAGE_SIZE;
}

static u64 leaf_bits(const struct pt_walk *w)
{
	return w->levels == 4 ? pte_val(w->pte) : w->levels == 3 ? pmd_val(w->pmd) : pud_val(w->pud);
}

/* The direct map is NX, and every 2 MiB-aligned stretch of conventional
 * memory is mapped with a leaf at least as large as fits in its range
 * (larger is fine: neighbouring RAM ranges are mapped together). */
static void direct_map_large_nx(struct test *t)
{
	u32 n, checked = 0;
	const struct boot_mem_range *r = memmap(&n);

	for (u32 i = 0; i < n; i++) {
		if (r[i].type != EFI_CONVENTIONAL)
			continue;
		paddr_t start = r[i].phys, end = start + r[i].pages * PAGE_SIZE;
		for (paddr_t pa = ALIGN_UP(start, PMD_SIZE); pa + PMD_SIZE <= end; pa += PMD_SIZE) {
			struct pt_walk w = pt_walk(kernel_root(), DIRECT_MAP_BASE + pa);
			checked++;
			if (!EXPECT_GE(t, w.leaf_size, page_that_fits(pa, start, end)) ||
			    !EXPECT_TRUE(t, leaf_bits(&w) & _PAGE_NX)) {
				pt_print_walk(kernel_root(), DIRECT_MAP_BASE + pa, "  # ");
				return;
			}
		}
	}
	test_diag(t, "%u large-page stretches checked", checked);
	if (!checked)
		test_skip(t, "no conventional range holds an aligned 2 MiB page");
}

static void expect_guard(struct test *t, vaddr_t guard)
{
	struct fault_info f = probe_write(guard + PAGE_SIZE - 8, 0);

	EXPECT_FALSE(t, kstack_contains(guard, 8));
	EXPECT_EQ(t, f.vector, 14);
	EXPECT_EQ(t, f.error_code, 0x2); /* not present, W */
	EXPECT_EQ(t, f.addr, guard + PAGE_SIZE - 8);
}

/* Below each stack is an unmapped page: a write there faults as
 * not-present instead of corrupting a neighbour. */
static void stack_guard_pages(struct test *t)
{
	struct cpu *cpu = this_cpu();

	expect_guard(t, kstack_guard(cpu->stack_top));
	for (int i = IST_DF; i <= IST_COUNT; i++)
		expect_guard(t, kstack_guard(cpu->ist_top[i]));
	expect_guard(t, (vaddr_t)boot_guard_low);
	expect_guard(t, (vaddr_t)boot_guard_high);
}

/* Which frames of the early buffer start..top the kernel's tables use:
 * as a table, or as a 4 KiB..1 GiB leaf outside the direct map (stacks,
 * the struct page array: what boot allocations after the release map).
 * The direct map's leaves cover all RAM and say nothing, so they are left
 * out. */
#define PGT_BUF_MAX_PAGES 32768

struct pgt_buf_use {
	paddr_t start, top;
	u8 used[PGT_BUF_MAX_PAGES / 8];
};

static void mark_used(struct pgt_buf_use *u, paddr_t pa, u64 size)
{
	paddr_t lo = MAX(pa, u->start), hi = MIN(pa + size, u->top);

	for (paddr_t f = lo; f < hi; f += PAGE_SIZE) {
		u64 i = (f - u->start) / PAGE_SIZE;
		u->used[i / 8] |= (u8)(1u << (i % 8));
	}
}

static bool is_used(const struct pgt_buf_use *u, paddr_t pa)
{
	u64 i = (pa - u->start) / PAGE_SIZE;
	return u->used[i / 8] & (1u << (i % 8));
}

static void mark_kernel_tables(struct pgt_buf_use *u)
{
	const pgd_t *pgd = phys_to_virt(kernel_root());

	mark_used(u, kernel_root(), PAGE_SIZE);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (!pgd_present(pgd[i]))
			continue;
		bool leaves = i != pgd_index(DIRECT_MAP_BASE);
		const pud_t *pud = phys_to_virt(pgd_paddr(pgd[i]));
		mark_used(u, pgd_paddr(pgd[i]), PAGE_SIZE);
		for (unsigned j = 0; j < PT_ENTRIES; j++) {
			if (!pud_present(pud[j]))
				continue;
			if (pud_leaf(pud[j])) {
				if (leaves)
					mark_used(u, pud_paddr(pud[j]), PUD_SIZE);
				continue;
			}
			const pmd_t *pmd = phys_to_virt(pud_paddr(pud[j]));
			mark_used(u, pud_paddr(pud[j]), PAGE_SIZE);
			for (unsigned k = 0; k < PT_ENTRIES; k++) {
				if (!pmd_present(pmd[k]))
					continue;
				if (pmd_leaf(pmd[k])) {
					if (leaves)
						mark_used(u, pmd_paddr(pmd[k]), PMD_SIZE);
					continue;
				}
				const pte_t *pte = phys_to_virt(pmd_paddr(pmd[k]));
				mark_used(u, pmd_paddr(pmd[k]), PAGE_SIZE);
				for (unsigned l = 0; leaves && l < PT_ENTRIES; l++)
					if (pte_present(pte[l]))
						mark_used(u, pte_paddr(pte[l]), PAGE_SIZE);
			}
		}
	}
}

/* Seed 003's groundwork: the kernel's tables came from the early buffer,
 * start..end is exactly what they took (every frame of it is in use by
 * the kernel's tables), and the tail end..top went back: every tail frame
 * is either owned by the buddy allocator now (not reserved) or was handed
 * out again by a later boot allocation, whose use the tables show, or the
 * topology setup's (seed 003's early writer). A tail never released would
 * stay reserved and unused. (That the tail is writable in the read-only
 * mode is the pv suite's and the audit's to check.) */
static void pgt_buf_tail_returned(struct test *t)
{
	static struct pgt_buf_use u;
	paddr_t start, end, top;
	u64 unused = 0, kept = 0;

	pgt_buf_bounds(&start, &end, &top);
	test_diag(t, "pgt_buf start=P0x%lx end=P0x%lx top=P0x%lx", start, end, top);
	ASSERT_TRUE(t, start < end && end <= top);
	EXPECT_TRUE(t, start <= kernel_root() && kernel_root() < end);
	SETUP_TRUE(t, (top - start) / PAGE_SIZE <= PGT_BUF_MAX_PAGES);
	u = (struct pgt_buf_use){ .start = start, .top = top };
	mark_kernel_tables(&u);
	paddr_t early;
	u64 early_bytes;
	numa_early_allocation(&early, &early_bytes);
	mark_used(&u, early, early_bytes);
	for (paddr_t pa = start; pa < end; pa += PAGE_SIZE)
		unused += !is_used(&u, pa);
	for (paddr_t pa = end; pa < top; pa += PAGE_SIZE)
		kept += (phys_to_page(pa)->flags & PG_reserved) && !is_used(&u, pa);
	if (!EXPECT_EQ(t, unused, 0))
		test_diag(t, "%lu frames of start..end hold none of the kernel's tables", unused);
	if (!EXPECT_EQ(t, kept, 0))
		test_diag(t, "%lu tail frames are still reserved and unused: never returned", kept);
}

TEST_SUITE(boot_info,
	TEST_CASE(memmap_sorted_disjoint),
	TEST_CASE(memmap_covers_kernel),
	TEST_CASE(rsdp_checksum),
	TEST_CASE(kernel_image_wx),
	TEST_CASE(kernel_text_write_faults),
	TEST_CASE(direct_map_large_nx),
	TEST_CASE(stack_guard_pages),
	TEST_CASE(pgt_buf_tail_returned));
