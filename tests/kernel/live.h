#ifndef TESTS_LIVE_H
#define TESTS_LIVE_H

/*
 * Live address spaces: checks of what other CPUs see while an operation
 * changes or frees a user translation.
 *
 * Tests that reload CR3 (mm_switch) before they look flush every user
 * translation, so a dropped or misplaced shootdown passes them. Here one
 * or two other CPUs ("hammers", on another node first when there is one)
 * keep the address space loaded and keep touching a range while the case
 * CPU runs the operation; under TCG each vCPU keeps its own TLB and never
 * snoops page-table writes, so a missing shootdown leaves a hammer using
 * the old translation, and the hammer records it.
 *
 * The protocol, as seen from a hammer: the operation's shootdown reaches
 * it before the operation returns; the case sets `phase` to LIVE_RETURNED
 * (release) after it returns; the hammer loads the phase (acquire) before
 * each access. So an access made after the hammer saw LIVE_RETURNED must
 * go through a fresh walk of the new tables:
 *   - it never reaches a freed frame (freed frames hold PAGE_POISON: a
 *     read of it is counted, a write damages it, see live_expect_old_frames);
 *   - it never uses a permission that was taken away (ok_reads_after /
 *     ok_writes_after count accesses that completed);
 *   - it reads what the operation left there (expect_after).
 * Each hammer writes only its own word of each page (live_word), values
 * live_value(h, seq) with seq rising from 1, so its own reads can be
 * checked against its own last write (lost_writes).
 *
 * The hammers each make one full pass before the operation starts (so the
 * translations are in their TLBs) and stop on their own after
 * LIVE_PASSES_AFTER passes made after they saw LIVE_RETURNED: event
 * counts, never time.
 *
 * Reuse: any suite that changes user translations (THP split/collapse,
 * read-only page tables) can run its operation under live_run and apply
 * the same expectations.
 */

#include "mm_util.h"

#define LIVE_MAX_HAMMERS 2
#define LIVE_MAX_PAGES 16
#define LIVE_PASSES_AFTER 2

enum live_access {
	LIVE_READ = 1 << 0,  /* read the hammer's word */
	LIVE_WRITE = 1 << 1, /* then write the next value to it */
};

enum live_phase {
	LIVE_BEFORE,   /* the operation has not started */
	LIVE_DURING,   /* it is running on the case CPU */
	LIVE_RETURNED, /* it has returned: the protocol's promises hold */
	LIVE_PHASES,
};

/* What one hammer CPU did and saw. */
struct live_hammer {
	u32 cpu;
	u64 accesses[LIVE_PHASES];  /* reads + writes tried, by the phase seen before each */
	u64 faults[LIVE_PHASES];    /* of those, refused with a fault (segfault) */
	u64 ok_reads_after;         /* reads that completed after LIVE_RETURNED */
	u64 ok_writes_after;        /* writes that completed after LIVE_RETURNED */
	u64 poison_reads;           /* reads of PAGE_POISON: a freed frame */
	u64 lost_writes;            /* reads of something other than its last write */
	u64 stale_reads;            /* reads after LIVE_RETURNED != expect_after */
	u64 seq;                    /* last sequence number written */
	u64 seq_at_return;          /* last one written before it saw LIVE_RETURNED */
	u64 last[LIVE_MAX_PAGES];   /* last value written to each page, 0: none */
	struct fault_info first_fault[LIVE_PHASES]; /* for the diagnostics */
};

struct live {
	/* Set by live_init; a case may change access, expect_after. */
	struct mm *mm;
	vaddr_t start;
	u32 pages;
	u32 access;            /* enum live_access */
	bool check_expect;     /* reads after LIVE_RETURNED must be expect_after */
	u64 expect_after;
	u32 nr_hammers;
	struct live_hammer h[LIVE_MAX_HAMMERS];
	paddr_t old_frames[LIVE_MAX_PAGES]; /* live_note_frames */

	/* Between the CPUs of live_run. */
	u32 phase;
	u32 warm;
	void (*op)(struct test *t, void *arg);
	void *op_arg;
	u32 case_cpu;
};

/* Picks the hammer CPUs (skips the case when there is no other CPU). */
void live_init(struct test *t, struct live *l, struct mm *mm, vaddr_t start, u32 pages,
	       u32 access);
/* Runs op(t, arg) on this CPU while the hammers touch the range. */
void live_run(struct test *t, struct live *l, void (*op)(struct test *t, void *arg), void *arg);

/* The word hammer h touches in page p, and the value its seq-th write stores. */
static inline vaddr_t live_word(const struct live *l, u32 h, u32 p)
{
	return l->start + (vaddr_t)p * PAGE_SIZE + 64 + 8 * h;
}

static inline u64 live_value(u32 h, u64 seq)
{
	return 0x11fe000000000000ULL | ((u64)h << 40) | seq;
}

/* The hammers ran: a pass before the operation, LIVE_PASSES_AFTER after. */
bool live_expect_ran(struct test *t, const struct live *l);
/* No hammer access completed after LIVE_RETURNED (unmapped, or the
 * permission it needs was taken away). */
bool live_expect_refused_after(struct test *t, const struct live *l);
/* No hammer ever read a freed frame, lost a write, or read stale data. */
bool live_expect_clean_reads(struct test *t, const struct live *l);
/* Through a fresh walk on this CPU (mm must be loaded): every hammer's
 * word holds its last write. */
bool live_expect_last_writes_visible(struct test *t, const struct live *l);

/* Records the frames mapped in the range now (before the operation). */
void live_note_frames(struct live *l);
/* Every noted frame the range no longer maps that is free now still holds
 * its poison in every byte: nobody wrote it after it was freed. */
bool live_expect_old_frames_untouched(struct test *t, const struct live *l);

#endif
