/*
 * Health checks, run by runwayd itself on their own libuv loop (one thread),
 * never on the query path.
 *
 * Each health slot (an endpoint address, or a CNAME endpoint, numbered by the
 * model: steer/model.h) with a check is probed every interval. rise
 * consecutive passes make it up, fall consecutive failures make it down.
 * Before its first result a slot counts as up (no traffic blackout at start).
 *
 * What the query path sees is a struct rwd_health_state, immutable, swapped
 * under RCU whenever a slot changes: a worker reads one byte per slot with no
 * lock, and a flip reaches every worker at once. Each change is logged with
 * its reason ("us-east 192.0.2.10: down: HTTP 503 (2 failures)").
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/steer/model.h"

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

struct rwd_health;

/*
 * Start checking every slot of model that has a check, on a new thread.
 * model must stay valid until the next rwd_health_apply() or rwd_health_stop()
 * (it lives in a snapshot, which outlives both). Returns 0 or a negative
 * RW_E* code after logging why.
 */
int rwd_health_start(const struct rwd_model *model, struct rwd_health **out);

/*
 * Switch to a new model (reload, API change): slots whose (check, address)
 * is unchanged keep their state and counters, new ones start up and
 * unchecked, removed ones stop. Returns when the loop has taken it over,
 * so the old model may be freed afterwards.
 */
void rwd_health_apply(struct rwd_health *h, const struct rwd_model *model);

/* Stop the loop, join the thread, free everything. NULL is fine. */
void rwd_health_stop(struct rwd_health *h);
