/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The health state as the query path sees it: one byte per slot, published
 * whole by the health service (health.h) and read under RCU with no lock.
 * This header needs nothing of the traffic model, so the steering code can
 * read health without depending on the service that produces it.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum rwd_slot_state {
	RWD_SLOT_UP = 0,        /* also: not checked yet, or no check */
	RWD_SLOT_DOWN = 1,
};

#define RWD_HEALTH_REASON 96
#define RWD_HEALTH_HISTORY 8

struct rwd_slot_transition {
	struct timespec at;            /* CLOCK_REALTIME */
	uint8_t state;                 /* state entered */
	char reason[RWD_HEALTH_REASON];
};

/* Per-slot detail for status displays (not read on the query path). */
struct rwd_slot_info {
	struct timespec since;         /* last change, or start */
	uint32_t checks, failures;     /* totals */
	uint32_t last_duration_us;     /* of the last probe */
	char last_result[RWD_HEALTH_REASON];
	struct rwd_slot_transition history[RWD_HEALTH_HISTORY];  /* newest first */
	unsigned n_history;
	bool flapping;                 /* held down by flap dampening (flap.h) */
};

struct rwd_health_state {
	uint64_t generation;           /* increments with every publication */
	uint32_t n_slots;
	uint8_t *state;                /* [n_slots] enum rwd_slot_state: the query path reads this */
	struct rwd_slot_info *info;    /* [n_slots] */
};

/* The current state; NULL before the service starts. RCU read side only. */
const struct rwd_health_state *rwd_health_get(void);

/* True when slot is up in state s (slots beyond s count as up). */
static inline bool rwd_slot_up(const struct rwd_health_state *s, uint32_t slot)
{
	return s == NULL || slot >= s->n_slots || s->state[slot] == RWD_SLOT_UP;
}
