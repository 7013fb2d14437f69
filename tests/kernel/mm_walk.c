/*
 * mm_walk: the range walks of mm/memory.c (mprotect, fork, munmap) over
 * sparse address spaces, checked through the hardware.
 *
 * A walk skips what is not there one level at a time (no PGD entry: its
 * 512 GiB; no PUD entry: 1 GiB; no page table under a PMD entry: 2 MiB)
 * and stops at the end of each page table. The other suites' ranges sit
 * inside one page table, so a walk that skips too far, or runs on past a
 * table's last entry into whatever frame follows it, passes them.
 *
 * Here one VMA runs from 2 GiB - 4 MiB to 1 TiB + 4 MiB, with holes at
 * every level: its first 2 MiB have no page table although the rest of
 * that PMD table is in use, most of [2 GiB, 3 GiB) has no page tables,
 * [3 GiB, 4 GiB) no PMD table, [512 GiB, 1 TiB) no PUD table; marked
 * pages sit on both sides of 2 MiB and 1 GiB boundaries and after each
 * hole. Each operation covers the whole VMA; then, with the space loaded
 * on this CPU (the operation flushed it), every marked page is read for
 * its contents and written where the protection says a write must be
 * refused, and pages in the holes read zero. Destroying the spaces gives
 * back every frame and table (the per-node free counts).
 */

#include "mm_util.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define TIB (1ULL << 40)

#define VMA_START (2 * GIB - 4 * MIB)
#define VMA_END (TIB + 4 * MIB)

static const vaddr_t marks[] = {
	2 * GIB - 2 * MIB,             /* after a 2 MiB hole in a used PMD table */
	2 * GIB - 2 * MIB + PAGE_SIZE,
	2 * GIB - PAGE_SIZE,           /* the two sides of a 1 GiB boundary */
	2 * GIB,
	2 * GIB + 2 * MIB - PAGE_SIZE, /* the two sides of a 2 MiB boundary */
	2 * GIB + 2 * MIB,
	3 * GIB - PAGE_SIZE,           /* after 1 GiB - 4 MiB without page tables */
	4 * GIB + 2 * MIB + PAGE_SIZE, /* after 1 GiB without a PMD table, then 2 MiB */
	TIB + 2 * MIB,                 /* after 512 GiB without a PUD table */
	VMA_END - PAGE_SIZE,           /* the VMA's last page */
};

static const vaddr_t holes[] = {
	VMA_START, 2 * GIB - 2 * MIB - PAGE_SIZE, 2 * GIB + 4 * MIB, 3 * GIB,
	4 * GIB, 4 * GIB + 2 * MIB, 512 * GIB, TIB,
};

#define NR_MARKS ARRAY_SIZE(marks)

/* A space with the sparse VMA and nothing in it, loaded here. */
static struct mm *sparse_create(struct test *t)
{
	struct mm *mm = mm_create(0);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, VMA_START, VMA_END - VMA_START, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	return mm;
}

static void fill_marks(struct test *t, u64 seed)
{
	for (u32 i = 0; i < NR_MARKS; i++)
		SETUP_TRUE(t, fill_user(marks[i], 1, seed) == 0);
}

/* The same with every mark written with seed. */
static struct mm *sparse_setup(struct test *t, u64 seed)
{
	struct mm *mm = sparse_create(t);

	fill_marks(t, seed);
	return mm;
}

/* Marks that do not read seed's pattern (or fault) in the loaded space. */
static u32 marks_not_reading(struct test *t, u64 seed)
{
	u32 bad = 0;

	for (u32 i = 0; i < NR_MARKS; i++)
		if (check_user(marks[i], 1, seed)) {
			bad++;
			test_diag(t, "mark V0x%lx does not read its pattern (seed %lu)", marks[i], seed);
		}
	return bad;
}

/* Marks where an access of kind a completed (the caller expects it refused). */
static u32 marks_accessible(struct test *t, enum user_access a)
{
	u32 done = 0;

	for (u32 i = 0; i < NR_MARKS; i++) {
		u64 v;
		struct fault_info f = a == USER_WRITE ? user_write64(marks[i] + 8, 1)
						      : user_read64(marks[i] + 8, &v);
		if (f.vector == FAULT_NONE) {
			done++;
			test_diag(t, "mark V0x%lx: the %s completed", marks[i],
				  a == USER_WRITE ? "write" : "read");
		}
	}
	return done;
}

/* Hole pages that do not read zero; reading them faults them in. */
static u32 holes_not_zero(struct test *t)
{
	u32 bad = 0;

	for (u32 i = 0; i < ARRAY_SIZE(holes); i++) {
		u64 v = 1;
		if (user_read64(holes[i], &v).vector != FAULT_NONE || v) {
			bad++;
			test_diag(t, "hole V0x%lx reads 0x%lx", holes[i], v);
		}
	}
	return bad;
}

static void sparse_teardown(struct mm *mm)
{
	mm_switch(NULL);
	mm_destroy(mm);
}

/* A 16-page range across one 2 MiB boundary (two page tables): mprotect
 * READ must reach the pages of both tables. A walk that runs on past the
 * end of the first table edits the frame that follows it instead of the
 * second table, whose pages stay writable. */
static void protect_across_2mib_boundary(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = mm_create(0);
	const vaddr_t start = USER_BASE + 2 * MIB - 8 * PAGE_SIZE;
	const u32 pages = 16;
	u32 writable = 0;

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, start, pages * PAGE_SIZE, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	SETUP_TRUE(t, fill_user(start, pages, 21) == 0);
	EXPECT_EQ(t, mm_protect(mm, start, pages * PAGE_SIZE, VM_READ), 0);
	for (u32 i = 0; i < pages; i++)
		if (user_write64(start + i * PAGE_SIZE + 8, 1).vector == FAULT_NONE) {
			writable++;
			test_diag(t, "page %u (V0x%lx) still writable after mprotect(READ)", i,
				  start + i * PAGE_SIZE);
		}
	EXPECT_EQ(t, writable, 0);
	EXPECT_EQ(t, check_user(start, pages, 21), 0);
	EXPECT_EQ(t, mm_protect(mm, start, pages * PAGE_SIZE, VM_READ | VM_WRITE), 0);
	EXPECT_EQ(t, fill_user(start, pages, 22), 0);
	EXPECT_EQ(t, check_user(start, pages, 22), 0);
	sparse_teardown(mm);
	expect_same_free(t, before);
}

/* mprotect READ, then NONE, then READ|WRITE over the whole sparse VMA:
 * each step reaches every mark (writes refused, then reads refused, then
 * writes allowed again), and the contents survive. */
static void protect_sparse_range(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *mm = sparse_setup(t, 31);
	const u64 len = VMA_END - VMA_START;

	EXPECT_EQ(t, mm_protect(mm, VMA_START, len, VM_READ), 0);
	EXPECT_EQ(t, marks_accessible(t, USER_WRITE), 0);
	EXPECT_EQ(t, marks_not_reading(t, 31), 0);
	EXPECT_EQ(t, mm_protect(mm, VMA_START, len, 0), 0);
	EXPECT_EQ(t, marks_accessible(t, USER_READ), 0);
	EXPECT_EQ(t, mm_protect(mm, VMA_START, len, VM_READ | VM_WRITE), 0);
	EXPECT_EQ(t, marks_not_reading(t, 31), 0);
	fill_marks(t, 32);
	EXPECT_EQ(t, marks_not_reading(t, 32), 0);
	EXPECT_EQ(t, holes_not_zero(t), 0);
	sparse_teardown(mm);
	expect_same_free(t, before);
}

/* fork of the sparse VMA: the child reads every mark's contents and
 * nothing in the holes; afterwards writes on either side stay on that
 * side (both were write-protected, each write copies). */
static void fork_sparse_range(struct test *t)
{
	struct free_snapshot before = free_snapshot();
	struct mm *parent = sparse_setup(t, 41);
	struct mm *child = mm_fork(parent);

	SETUP_TRUE(t, child != NULL);
	mm_switch(child);
	EXPECT_EQ(t, marks_not_reading(t, 41), 0);
	for (u32 i = 0; i < NR_MARKS; i++)
		EXPECT_EQ(t, fill_user(marks[i], 1, 42), 0);
	mm_switch(parent);
	EXPECT_EQ(t, marks_not_reading(t, 41), 0);
	for (u32 i = 0; i < NR_MARKS; i++)
		EXPECT_EQ(t, fill_user(marks[i], 1, 43), 0);
	mm_switch(child);
	EXPECT_EQ(t, marks_not_reading(t, 42), 0);
	EXPECT_EQ(t, holes_not_zero(t), 0);
	sparse_teardown(child);
	mm_switch(parent);
	EXPECT_EQ(t, marks_not_reading(t, 43), 0);
	EXPECT_EQ(t, holes_not_zero(t), 0);
	sparse_teardown(parent);
	expect_same_free(t, before);
}

/* munmap of the sparse VMA in two parts, the first ending inside a page
 * table: the marks of each part fault once it is gone, the others keep
 * their contents, and in the end the space holds nothing but its root
 * (the free counts are those of the empty space). */
static void unmap_sparse_range(struct test *t)
{
	struct mm *mm = sparse_create(t);
	struct free_snapshot empty = free_snapshot();
	const vaddr_t cut = 2 * GIB + 2 * MIB; /* marks below it go first */
	u32 first_part = 0;

	fill_marks(t, 51);
	EXPECT_EQ(t, mm_unmap(mm, VMA_START, cut - VMA_START), 0);
	for (u32 i = 0; i < NR_MARKS; i++) {
		u64 v;
		struct fault_info f = user_read64(marks[i], &v);
		if (marks[i] < cut) {
			first_part++;
			if (!EXPECT_EQ(t, f.vector, 14))
				test_diag(t, "unmapped mark V0x%lx still reads 0x%lx", marks[i], v);
		} else if (!EXPECT_EQ(t, check_user(marks[i], 1, 51), 0)) {
			test_diag(t, "mapped mark V0x%lx lost its contents", marks[i]);
		}
	}
	SETUP_TRUE(t, first_part > 0 && first_part < NR_MARKS);
	EXPECT_EQ(t, mm_unmap(mm, cut, VMA_END - cut), 0);
	EXPECT_EQ(t, marks_accessible(t, USER_READ), 0);
	expect_same_free(t, empty);
	sparse_teardown(mm);
}

TEST_SUITE_FLAGS(mm_walk, TEST_MM_AUDIT,
	TEST_CASE(protect_across_2mib_boundary),
	TEST_CASE(protect_sparse_range),
	TEST_CASE(fork_sparse_range),
	TEST_CASE(unmap_sparse_range));
