/* The VMA array against a page-by-page model: random add / remove /
 * protect sequences, compared page by page after every step, plus the
 * array's own invariants (sorted, disjoint, no mergeable neighbours). */

#include <stdlib.h>
#include "host_test.h"
#include <mmulab/vma.h>

#define PAGES 256
#define PG 4096ULL
#define BASE 0x400000ULL

struct page_model {
	bool mapped;
	u32 prot, flags;
};

static bool invariants_hold(const struct vma_list *l)
{
	for (u32 i = 0; i < l->count; i++) {
		const struct vma *v = &l->v[i];
		if (v->start >= v->end)
			return false;
		if (i && (l->v[i - 1].end > v->start ||
			  (l->v[i - 1].end == v->start && l->v[i - 1].prot == v->prot &&
			   l->v[i - 1].flags == v->flags)))
			return false;
	}
	return true;
}

static bool matches_model(struct vma_list *l, const struct page_model *m)
{
	for (u32 p = 0; p < PAGES; p++) {
		struct vma *v = vma_find(l, BASE + p * PG);
		if (!!v != m[p].mapped)
			return false;
		if (v && (v->prot != m[p].prot || v->flags != m[p].flags))
			return false;
	}
	return true;
}

static void one_step(struct vma_list *l, struct page_model *m, unsigned *seed, bool *ok)
{
	u32 a = rand_r(seed) % PAGES, n = 1 + rand_r(seed) % 24, op = rand_r(seed) % 3;
	u32 prot = rand_r(seed) % 8, flags = rand_r(seed) % 2 ? VMA_ANON : VMA_ANON | VMA_HUGE_OK;
	if (a + n > PAGES)
		n = PAGES - a;
	vaddr_t s = BASE + a * PG, e = s + n * PG;
	bool any = false, all = true;
	for (u32 p = a; p < a + n; p++) {
		any |= m[p].mapped;
		all &= m[p].mapped;
	}
	enum vma_error err;
	if (op == 0) {
		err = vma_add(l, s, e, prot, flags);
		if (any) {
			*ok &= err == VMA_EEXIST;
			return;
		}
		if (err == VMA_ENOMEM)
			return;
		for (u32 p = a; p < a + n; p++)
			m[p] = (struct page_model){ true, prot, flags };
	} else if (op == 1) {
		err = vma_remove(l, s, e);
		if (err == VMA_ENOMEM)
			return;
		for (u32 p = a; p < a + n; p++)
			m[p].mapped = false;
	} else {
		err = vma_protect(l, s, e, prot);
		if (!all) {
			*ok &= err == VMA_ENOENT;
			return;
		}
		if (err == VMA_ENOMEM)
			return;
		for (u32 p = a; p < a + n; p++)
			m[p].prot = prot;
	}
	*ok &= err == VMA_OK;
}

static void random_against_model(void)
{
	static struct vma_list l;
	static struct page_model m[PAGES];
	unsigned seed = 4242;
	bool ok = true;

	for (int round = 0; round < 20000 && ok; round++) {
		one_step(&l, m, &seed, &ok);
		ok &= invariants_hold(&l) && matches_model(&l, m);
		if (!ok)
			printf("  # diverged at step %d (%u areas)\n", round, l.count);
	}
	CHECK(ok);
}

static void split_and_merge_back(void)
{
	struct vma_list l = { 0 };

	CHECK(vma_add(&l, BASE, BASE + 16 * PG, VM_READ | VM_WRITE, VMA_ANON) == VMA_OK);
	CHECK(vma_protect(&l, BASE + 4 * PG, BASE + 8 * PG, VM_READ) == VMA_OK);
	CHECK(l.count == 3);
	CHECK(l.v[1].start == BASE + 4 * PG && l.v[1].end == BASE + 8 * PG && l.v[1].prot == VM_READ);
	CHECK(vma_protect(&l, BASE + 4 * PG, BASE + 8 * PG, VM_READ | VM_WRITE) == VMA_OK);
	CHECK(l.count == 1 && l.v[0].end == BASE + 16 * PG);
	CHECK(vma_remove(&l, BASE + 15 * PG, BASE + 20 * PG) == VMA_OK);
	CHECK(l.count == 1 && l.v[0].end == BASE + 15 * PG);
	CHECK(vma_protect(&l, BASE, BASE + 16 * PG, 0) == VMA_ENOENT);
	CHECK(vma_add(&l, BASE + PG, BASE + 2 * PG, 0, VMA_ANON) == VMA_EEXIST);
	CHECK(vma_add(&l, BASE + 1, BASE + 2 * PG, 0, VMA_ANON) == VMA_EINVAL);
}

static void full_array_says_enomem(void)
{
	static struct vma_list l;

	l.count = 0;
	for (u32 i = 0; i < MAX_VMAS; i++)
		CHECK(vma_add(&l, BASE + 2 * i * PG, BASE + (2 * i + 1) * PG, VM_READ, VMA_ANON) == VMA_OK);
	CHECK(vma_add(&l, BASE + 2 * MAX_VMAS * PG, BASE + (2 * MAX_VMAS + 1) * PG, VM_READ,
		      VMA_ANON) == VMA_ENOMEM);
	/* Whole-area changes need no split, so they still work when full. */
	CHECK(vma_protect(&l, BASE, BASE + PG, VM_READ | VM_WRITE) == VMA_OK);
	CHECK(vma_protect(&l, BASE, BASE + PG / 2, VM_READ) == VMA_EINVAL);
	CHECK(vma_remove(&l, BASE, BASE + PG) == VMA_OK);
	CHECK(l.count == MAX_VMAS - 1);
}

HOST_SUITE(vma,
	HOST_CASE(split_and_merge_back),
	HOST_CASE(random_against_model),
	HOST_CASE(full_array_says_enomem));
