/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Flap dampening of one health slot (docs/health-checks.md#flap-dampening).
 *
 * rise and fall turn results into up/down changes; a server that breaks
 * and recovers over and over (a crash loop, a flaky link, rise 1/fall 1)
 * would turn every change into a different answer. Like the hold-down of
 * BGP route flap dampening, a slot whose state changed flap_changes times
 * within flap_window is *held*: it counts as down whatever rise and fall
 * say, until it has passed every probe for flap_hold (and rise says up).
 * Then it is released, and its change history starts afresh.
 *
 * So while a slot flaps, the answers change at most flap_changes - 1 times
 * before it is held, once when it is held (if it was up), and not again
 * until it has been stable for flap_hold.
 *
 * Pure functions of the state below and a clock passed in (milliseconds,
 * monotonic), so they are tested without sockets.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define RWD_FLAP_MAX 16              /* most flap_changes (the ring below) */

/* A check's flap_changes, flap_window and flap_hold with the defaults applied. */
struct rwd_flap_conf {
	unsigned changes;               /* 0: off */
	unsigned window_ms, hold_ms;
};

struct rwd_flap {
	uint64_t at[RWD_FLAP_MAX];      /* times of the latest changes, a ring */
	uint8_t n;                      /* changes in the ring */
	uint8_t next;                   /* where the next one goes */
	bool held;
	bool passing;                   /* the last result passed */
	uint64_t passing_since;         /* time of the first pass of the current run */
	uint64_t held_at;               /* when the hold began */
};

/*
 * The slot's rise/fall state changed at now. Returns true when this change
 * makes it held (it was not before). Changes while held are counted too
 * (they do not release it). With c->changes 0: never held.
 */
bool rwd_flap_change(struct rwd_flap *f, const struct rwd_flap_conf *c, uint64_t now);

/*
 * A probe result at now; raw_up is the rise/fall state after it. Returns
 * true when it releases a held slot: it passed, raw_up, and every result
 * since passing_since (at least flap_hold_ms ago) passed.
 */
bool rwd_flap_result(struct rwd_flap *f, const struct rwd_flap_conf *c, bool pass, bool raw_up,
                     uint64_t now);

/* Changes recorded within the window ending at now. */
unsigned rwd_flap_recent(const struct rwd_flap *f, const struct rwd_flap_conf *c, uint64_t now);
