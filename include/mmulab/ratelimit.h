#ifndef MMULAB_RATELIMIT_H
#define MMULAB_RATELIMIT_H

/*
 * Bounding repeated diagnostics. Each kind of line has a struct ratelimit;
 * the first RATELIMIT_BURST lines of a burst are printed, the rest only
 * counted, and whoever ends the burst (the end of a table's parse, of a
 * boot phase, of a test case) prints one "... and N more" line from
 * ratelimit_end_burst, so the summary is never lost and a bad input costs
 * at most BURST + 1 lines per kind. Kinds that live for the whole boot
 * (printk_limited) also join a ratelimit_list on their first line, so that
 * the kernel's flush finds every kind a burst touched. Pure code:
 * host-tested.
 */

#include <mmulab/types.h>

#define RATELIMIT_BURST 3

struct ratelimit {
	const char *kind;        /* names the lines in the summary */
	u32 seen;                /* lines of this kind in this burst */
	bool listed;             /* on the kernel's list of kinds to summarise */
	struct ratelimit *next;
};

/* Counts one line; true when it is to be printed. */
static inline bool ratelimit_pass(struct ratelimit *rl)
{
	return __atomic_add_fetch(&rl->seen, 1, __ATOMIC_RELAXED) <= RATELIMIT_BURST;
}

/* Ends the burst: the number of lines held back, 0 when none were. */
static inline u32 ratelimit_end_burst(struct ratelimit *rl)
{
	u32 seen = __atomic_exchange_n(&rl->seen, 0, __ATOMIC_RELAXED);

	return seen > RATELIMIT_BURST ? seen - RATELIMIT_BURST : 0;
}

struct ratelimit_list {
	struct ratelimit *head;
};

/* ratelimit_pass, and rl joins the list if it is not on it yet. */
static inline bool ratelimit_pass_listed(struct ratelimit_list *l, struct ratelimit *rl)
{
	if (!__atomic_exchange_n(&rl->listed, true, __ATOMIC_ACQ_REL)) {
		rl->next = __atomic_load_n(&l->head, __ATOMIC_ACQUIRE);
		while (!__atomic_compare_exchange_n(&l->head, &rl->next, rl, false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE))
			;
	}
	return ratelimit_pass(rl);
}

/* Empties the list: its first kind, for ratelimit_unlist. */
static inline struct ratelimit *ratelimit_list_take(struct ratelimit_list *l)
{
	return __atomic_exchange_n(&l->head, NULL, __ATOMIC_ACQ_REL);
}

/* Ends the burst of a taken kind (*held: lines held back) and returns the
 * next taken kind. next is read first: once off the list, a line on
 * another CPU may list the kind again and rewrite it. */
static inline struct ratelimit *ratelimit_unlist(struct ratelimit *rl, u32 *held)
{
	struct ratelimit *next = rl->next;

	__atomic_store_n(&rl->listed, false, __ATOMIC_RELEASE);
	*held = ratelimit_end_burst(rl);
	return next;
}

#endif
