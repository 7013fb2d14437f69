/* The order-9 blocks a THP case takes away (thp_util.h). */

#include <mmulab/page.h>
#include "thp_util.h"

static struct taken {
	struct page *page;
	u8 order;
} taken[MAX_TAKEN];

u32 take_huge_blocks(int node)
{
	u32 n = 0;

	for (int order = MAX_ORDER; order >= HUGE_ORDER; order--) {
		struct page *p;
		while (n < MAX_TAKEN && (p = alloc_pages(node, (unsigned)order, ALLOC_THISNODE)))
			taken[n++] = (struct taken){ p, (u8)order };
	}
	return n;
}

void give_back_huge_blocks(u32 n)
{
	for (; n; n--)
		free_pages(taken[n - 1].page, taken[n - 1].order);
}
