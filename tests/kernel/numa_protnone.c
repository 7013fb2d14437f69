/*
 * numa_protnone: seed 000. A NUMA hint and a PROT_NONE entry are the same
 * bits; only the VMA tells them apart. PROT_NONE before, after and between
 * scans, and mprotect racing a scan on another CPU: every access to a
 * PROT_NONE VMA must be a segfault (never a hint fault that "restores" the
 * page), and back to RW the data is intact. bugs=numa_protnone_by_bits
 * decides from the entry bits alone and makes the PROT_NONE region
 * readable: this suite fails then.
 */

#include <mmulab/audit.h>
#include "numa_util.h"

#define PAGES 8
#define LEN (PAGES * PAGE_SIZE)

static struct mm *populated(struct test *t)
{
	struct mm *mm = mm_create(this_cpu()->node);

	SETUP_TRUE(t, mm != NULL);
	SETUP_TRUE(t, mm_map_anon(mm, USER_BASE, LEN, VM_READ | VM_WRITE, 0) == 0);
	mm_switch(mm);
	EXPECT_EQ(t, fill_user(USER_BASE, PAGES, 0xabc), 0);
	return mm;
}

/* Every page of the PROT_NONE range: read and write are segfaults, the
 * entry stays protnone, and no hint fault was counted. */
static void expect_inaccessible(struct test *t, struct mm *mm)
{
	u64 hints = numa_stats.numa_hint_faults, v;

	for (u32 i = 0; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		if (!EXPECT_EQ(t, user_read64(va, &v).vector, 14))
			test_diag(t, "read of PROT_NONE V0x%lx succeeded: 0x%lx", va, v);
		EXPECT_EQ(t, user_write64(va, 1).vector, 14);
		EXPECT_EQ(t, mm->segv.reason, SEGV_ACCERR);
		EXPECT_TRUE(t, pte_protnone(pte_at(mm, va)));
	}
	EXPECT_EQ(t, numa_stats.numa_hint_faults, hints);
}

static void back_to_rw(struct test *t, struct mm *mm)
{
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, LEN, VM_READ | VM_WRITE), 0);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 0xabc), 0);
	EXPECT_EQ(t, mm_audit("  # "), 0);
	mm_switch(NULL);
	mm_destroy(mm);
}

static void prot_none_before_scan(struct test *t)
{
	struct mm *mm = populated(t);

	EXPECT_EQ(t, mm_protect(mm, USER_BASE, LEN, 0), 0);
	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + LEN), 0); /* PROT_NONE VMAs are skipped */
	expect_inaccessible(t, mm);
	back_to_rw(t, mm);
}

static void prot_none_after_scan(struct test *t)
{
	struct mm *mm = populated(t);

	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + LEN), PAGES);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, LEN, 0), 0);
	expect_inaccessible(t, mm);
	back_to_rw(t, mm);
}

static void prot_none_between_scans(struct test *t)
{
	struct mm *mm = populated(t);
	u64 hints = numa_stats.numa_hint_faults;

	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + LEN), PAGES);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, LEN, 0), 0);
	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + LEN), 0);
	expect_inaccessible(t, mm);
	EXPECT_EQ(t, mm_protect(mm, USER_BASE, LEN, VM_READ | VM_WRITE), 0);
	EXPECT_EQ(t, numa_scan(mm, USER_BASE, USER_BASE + LEN), PAGES);
	EXPECT_EQ(t, check_user(USER_BASE, PAGES, 0xabc), 0); /* hint faults, then the data */
	EXPECT_EQ(t, numa_stats.numa_hint_faults - hints, PAGES);
	back_to_rw(t, mm);
}

struct flip {
	struct mm *mm;
	u32 scanner;
	u32 rounds;
	u32 done;
	u64 read_while_none;  /* accesses that got through PROT_NONE */
	u64 bad_while_rw;     /* faults or wrong data while RW */
};

/* One word of every page, as the flipper sees it between flips: while
 * PROT_NONE nothing may get through (a hint restore would let it), while
 * RW every word must be there (a hint fault restores it, data intact). */
static void access_while_flipping(struct flip *f, bool accessible)
{
	for (u32 i = 0; i < PAGES; i++) {
		vaddr_t va = USER_BASE + i * PAGE_SIZE;
		u64 v = 0;
		bool read = user_read64(va, &v).vector == FAULT_NONE;
		if (!accessible)
			f->read_while_none += read;
		else
			f->bad_while_rw += !read || v != pattern(va, 0xabc);
	}
}

/* One CPU scans over and over while the other flips the range between
 * PROT_NONE and RW with the address space loaded, touching every page
 * after each flip; the flip takes mmap_lock exclusive, the scan shared; the scanner skips PROT_NONE and
 * shoots down the flipper's CPU when it hints. */
static void scan_or_flip(struct test *t, void *arg)
{
	struct flip *f = arg;

	(void)t;
	if (this_cpu()->id == f->scanner) {
		while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE))
			numa_scan(f->mm, USER_BASE, USER_BASE + LEN);
		return;
	}
	mm_switch(f->mm);
	for (u32 i = 0; i < f->rounds; i++) {
		mm_protect(f->mm, USER_BASE, LEN, 0);
		access_while_flipping(f, false);
		mm_protect(f->mm, USER_BASE, LEN, VM_READ | VM_WRITE);
		access_while_flipping(f, true);
	}
	mm_protect(f->mm, USER_BASE, LEN, 0);
	mm_switch(NULL);
	__atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
}

static void scan_races_mprotect(struct test *t)
{
	static struct flip f;
	int other = test_other_cpu();

	if (other < 0)
		test_skip(t, "needs a second CPU");
	struct mm *mm = populated(t);
	u64 hints = numa_stats.numa_hint_faults;
	f = (struct flip){ .mm = mm, .scanner = this_cpu()->id, .rounds = 200 };
	struct cpumask m = { 0 };
	cpumask_set(&m, this_cpu()->id);
	cpumask_set(&m, (u32)other);
	mm_switch(NULL);
	test_on_cpus(t, &m, scan_or_flip, &f);
	test_diag(t, "%lu hint faults during the race",
		  numa_stats.numa_hint_faults - hints);
	EXPECT_EQ(t, f.read_while_none, 0);
	EXPECT_EQ(t, f.bad_while_rw, 0);
	mm_switch(mm);
	expect_inaccessible(t, mm);
	back_to_rw(t, mm);
}

TEST_SUITE_FLAGS(numa_protnone, TEST_MM_AUDIT,
	TEST_CASE(prot_none_before_scan),
	TEST_CASE(prot_none_after_scan),
	TEST_CASE(prot_none_between_scans),
	TEST_CASE(scan_races_mprotect));
