/* VMA array operations (see include/mmulab/vma.h). */

#include <mmulab/vma.h>
#include <mmulab/string.h>
#include <mmulab/layout.h>

static bool valid_range(vaddr_t start, vaddr_t end)
{
	return start < end && IS_ALIGNED(start, PAGE_SIZE) && IS_ALIGNED(end, PAGE_SIZE);
}

/* Index of the first area ending above addr (count if none). */
static u32 first_ending_after(const struct vma_list *l, vaddr_t addr)
{
	u32 lo = 0, hi = l->count;

	while (lo < hi) {
		u32 mid = (lo + hi) / 2;
		if (l->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct vma *vma_find(struct vma_list *l, vaddr_t addr)
{
	u32 i = first_ending_after(l, addr);
	return i < l->count && l->v[i].start <= addr ? &l->v[i] : NULL;
}

static bool insert_at(struct vma_list *l, u32 i, struct vma v)
{
	if (l->count == MAX_VMAS)
		return false;
	memmove(&l->v[i + 1], &l->v[i], (l->count - i) * sizeof(v));
	l->v[i] = v;
	l->count++;
	return true;
}

static void remove_at(struct vma_list *l, u32 i)
{
	memmove(&l->v[i], &l->v[i + 1], (l->count - i - 1) * sizeof(l->v[0]));
	l->count--;
}

static bool mergeable(const struct vma *a, const struct vma *b)
{
	return a->end == b->start && a->prot == b->prot && a->flags == b->flags;
}

/* Merges area i with its neighbours where possible. */
static void merge_around(struct vma_list *l, u32 i)
{
	if (i + 1 < l->count && mergeable(&l->v[i], &l->v[i + 1])) {
		l->v[i].end = l->v[i + 1].end;
		remove_at(l, i + 1);
	}
	if (i > 0 && mergeable(&l->v[i - 1], &l->v[i])) {
		l->v[i - 1].end = l->v[i].end;
		remove_at(l, i);
	}
}

/* Makes addr an area boundary; false only when the array is full. */
static bool split_at(struct vma_list *l, vaddr_t addr)
{
	u32 i = first_ending_after(l, addr);
	if (i == l->count || l->v[i].start >= addr)
		return true;
	struct vma tail = l->v[i];
	tail.start = addr;
	if (!insert_at(l, i + 1, tail))
		return false;
	l->v[i].end = addr;
	return true;
}

enum vma_error vma_add(struct vma_list *l, vaddr_t start, vaddr_t end, u32 prot, u32 flags)
{
	if (!valid_range(start, end))
		return VMA_EINVAL;
	u32 i = first_ending_after(l, start);
	if (i < l->count && l->v[i].start < end)
		return VMA_EEXIST;
	if (!insert_at(l, i, (struct vma){ start, end, prot, flags }))
		return VMA_ENOMEM;
	merge_around(l, i);
	return VMA_OK;
}

enum vma_error vma_remove(struct vma_list *l, vaddr_t start, vaddr_t end)
{
	if (!valid_range(start, end))
		return VMA_EINVAL;
	if (!split_at(l, start) || !split_at(l, end))
		return VMA_ENOMEM;
	u32 i = first_ending_after(l, start);
	while (i < l->count && l->v[i].end <= end)
		remove_at(l, i);
	return VMA_OK;
}

static bool fully_mapped(const struct vma_list *l, vaddr_t start, vaddr_t end)
{
	u32 i = first_ending_after(l, start);

	for (vaddr_t at = start; at < end; i++) {
		if (i == l->count || l->v[i].start > at)
			return false;
		at = l->v[i].end;
	}
	return true;
}

enum vma_error vma_protect(struct vma_list *l, vaddr_t start, vaddr_t end, u32 prot)
{
	if (!valid_range(start, end))
		return VMA_EINVAL;
	if (!fully_mapped(l, start, end))
		return VMA_ENOENT;
	if (!split_at(l, start) || !split_at(l, end))
		return VMA_ENOMEM;
	u32 first = first_ending_after(l, start), last = first;
	while (last < l->count && l->v[last].end <= end)
		l->v[last++].prot = prot;
	/* Merge from the right so indices to the left stay valid. */
	for (u32 i = last; i-- > first;)
		if (i < l->count)
			merge_around(l, i);
	return VMA_OK;
}
