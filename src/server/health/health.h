/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Health checks, run by runwayd itself on their own libuv loop (one thread),
 * never on the query path.
 *
 * Each health slot (an endpoint address, or a CNAME endpoint, numbered by the
 * model: steer/model.h) with a check is probed every interval. rise
 * consecutive passes make it up, fall consecutive failures make it down.
 * Before its first result a slot counts as up (no traffic blackout at start).
 * A slot that changes too often is held down until it is stable (flap
 * dampening, flap.h).
 *
 * What the query path sees is a struct rwd_health_state (state.h: no model
 * in it, so steering can include it alone), immutable, swapped under RCU
 * whenever a slot changes: a worker reads one byte per slot with no lock,
 * and a flip reaches every worker at once. Each change is logged with
 * its reason ("health: us-east 192.0.2.10:80 down: HTTP 503 (2 consecutive
 * failures)"). docs/health-checks.md describes every probe and message.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/health/state.h"
#include "server/steer/model.h"

struct rwd_health;

/*
 * Start checking every slot of model that has a check, on a new thread.
 * model must stay valid until the next rwd_health_apply() or rwd_health_stop()
 * (it lives in a snapshot, which outlives both). The first state (all up)
 * is published before it returns. Returns 0 or a negative RW_E* code after
 * logging why (RW_EEXIST: a service is already running).
 */
int rwd_health_start(const struct rwd_model *model, struct rwd_health **out);

/*
 * Switch to a new model (reload, API change): slots whose (check, address)
 * is unchanged keep their state and counters, new ones start up and
 * unchecked, removed ones stop. Returns when the loop has taken it over,
 * so the old model may be freed afterwards; the state under the new slot
 * numbers is published by then. Not concurrently with rwd_health_stop().
 */
void rwd_health_apply(struct rwd_health *h, const struct rwd_model *model);

/*
 * Stop the loop, join the thread, free everything. NULL is fine. Probes in
 * flight are abandoned (sockets closed, TLS state freed); the published
 * state is withdrawn (rwd_health_get() returns NULL again: everything up).
 */
void rwd_health_stop(struct rwd_health *h);

/*
 * ---- Additions (health.c implements them; docs/health-checks.md) ----
 *
 * Where per-slot detail lives. rwd_health_state.info is a copy taken at each
 * publication, i.e. at start, after every apply and after state changes
 * (several changes close together are published together, at most one
 * publication per RWD_HEALTH_PUBLISH_MS). Its history and `since` are thus
 * always current, while its counters and last result are as of the last
 * publication. For live counters use rwd_health_foreach(), which reads the
 * health thread's own copy under a lock.
 *
 * Only one service may run at a time (rwd_health_get() is process-wide):
 * rwd_health_start() fails with RW_EEXIST while another one runs.
 */
#define RWD_HEALTH_PUBLISH_MS 10

/* One checked slot, as shown by rwd_health_foreach(). Everything it points
 * to is valid during the callback only. */
struct rwd_health_target {
	uint32_t slot;
	const char *endpoint;          /* endpoint name */
	const char *check;             /* check name */
	const char *target;            /* "192.0.2.10:443", "[2001:db8::1]:53", "lb.example.net:443" */
	enum rwd_check_type type;
	enum rwd_slot_state state;
	bool checked;                  /* false until the first result */
	const struct rwd_slot_info *info;
};

/*
 * Call cb once per checked slot, in slot order, with live detail. Runs on the
 * caller's thread while holding the service's lock: cb must be quick and must
 * not call back into the service. Any thread; not for the query path.
 */
void rwd_health_foreach(struct rwd_health *h,
                        void (*cb)(void *ctx, const struct rwd_health_target *t), void *ctx);

/* Start delay of a probe: when it started minus when it was due. */
#define RWD_HEALTH_LATE_BUCKETS 8
/* Upper bounds (microseconds) of the buckets but the last, which is open. */
#define RWD_HEALTH_LATE_BOUNDS_US { 1000, 2000, 5000, 10000, 20000, 50000, 100000 }

struct rwd_health_stats {
	uint32_t targets;              /* slots being checked */
	uint32_t in_flight;            /* probes running now */
	uint64_t probes;               /* started since rwd_health_start() */
	uint64_t passes, failures;     /* finished */
	uint64_t skipped;              /* rounds not run: the previous probe still running, or the loop fell behind */
	uint64_t transitions;          /* state changes */
	uint64_t holds;                /* slots held down for flapping (flap.h) */
	uint64_t unstarted;            /* probes that could not run for want of a local resource
	                                  (descriptors, memory, ports): no result, state kept */
	uint64_t publications;         /* rwd_health_state generations published */
	uint64_t late_max_us, late_sum_us;
	uint64_t late_hist[RWD_HEALTH_LATE_BUCKETS];
	uint64_t cpu_ns;               /* CPU time used by the health thread so far */
};

/* Counters of the service, for status displays and benchmarks. Any thread. */
void rwd_health_get_stats(struct rwd_health *h, struct rwd_health_stats *out);
