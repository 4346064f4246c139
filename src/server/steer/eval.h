/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Policy evaluation: which endpoints answer a traffic name for one client.
 * A pure function of the model, the health state, the client and a random
 * stream; it allocates nothing and takes no lock, so it runs on the query
 * path (the "steer" stage) and in the answer simulator alike.
 *
 * Semantics (docs/traffic.md):
 * - A node is up while it can yield at least one healthy endpoint for the
 *   query's address family; an endpoint with no address of that family is
 *   down for that query. CNAME endpoints yield for every family.
 * - weighted: random among up children by weight; weight 0 only when no
 *   child with weight > 0 is up. failover: the first up child.
 * - geolocation: the most specific rule matching the client (subdivision,
 *   country, continent), falling back to less specific rules and "default"
 *   when the match is down.
 * - geoproximity: the nearest up child by great-circle distance, scaled by
 *   bias as Route 53 does; latency: the lowest RTT in the latency table for
 *   the client's network (longest prefix) or country, geoproximity where the
 *   table has no row; cidr: the longest matching prefix, then shorter ones,
 *   then "default"; multivalue: up to count endpoints from up children,
 *   shuffled.
 * - When nothing is up, the name answers as if everything were up (fail
 *   open), unless it says fail_open: false.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "server/common/stats.h"
#include "server/health/state.h"
#include "server/steer/geo.h"
#include "server/steer/model.h"

#define RWD_STEER_MAX 32

struct rwd_client {
	struct rw_addr addr;          /* ECS address or source address, host bits zero */
	uint8_t prefix_len;            /* ECS source prefix length, or 32/128 */
	bool located;                  /* loc filled (lazily, on first need) */
	struct rwd_location loc;
};

/*
 * Optional record of what the steer stage decided and why: the simulator
 * (/v1/simulate) hangs one in the thread context (rwd_query_thread.trace)
 * and runs the real pipeline. NULL on the query path: recording costs one
 * pointer test per decision. Pointers refer to the model of the snapshot
 * the query ran on (valid while the caller holds it).
 */
#define RWD_TRACE_MAX 32
#define RWD_TRACE_ENDPOINTS 64

struct rwd_trace_step {
	const struct rwd_policy *node;
	const char *what;              /* static text: "failover: first up child" */
	int chosen;                    /* child or rule index, or -1 */
};

/* Why an endpoint of the evaluated tree is in the answer or not. */
enum rwd_trace_why {
	RWD_WHY_USED,                  /* in the answer */
	RWD_WHY_NOT_CHOSEN,            /* usable; the policy chose others */
	RWD_WHY_WEIGHT_ZERO,           /* usable, under weight 0 while a weighted sibling is up */
	RWD_WHY_DRAINED,               /* taken out of service (also in the fail-open pass);
	                                * by whom: endpoint->drained_by (a lease's expiry, ...) */
	RWD_WHY_DOWN,                  /* its health check fails for every address of the family */
	RWD_WHY_NO_FAMILY,             /* no address of the query's family */
};

struct rwd_trace_endpoint {
	const struct rwd_endpoint *endpoint;
	uint8_t why;                   /* enum rwd_trace_why */
	bool down;                     /* its check fails (DOWN, or USED while failing open) */
	uint32_t slot;                 /* down: its first failing slot of the family */
};

struct rwd_trace {
	/* the steer stage (query/steer.c) */
	const struct rwd_traffic *traffic;   /* the entry of the name for this client, or NULL */
	bool from_view;                /* it is the client's view's own entry (views[].traffic) */
	bool steered;                  /* the stage answered (else the zone's records did) */
	const struct rwd_traffic *evaluated; /* the policy entry evaluated (an ALIAS's target) */
	int family;                    /* AF_INET, AF_INET6; 0 for SRV and other types */
	/* the policy evaluation (eval.c), of the last entry evaluated */
	struct rwd_trace_step steps[RWD_TRACE_MAX];
	unsigned n;
	bool failed_open;              /* nothing was up: answered as if everything were */
	struct rwd_trace_endpoint endpoints[RWD_TRACE_ENDPOINTS];  /* each endpoint of the tree once
	                                                            * (the first 64) */
	unsigned n_endpoints;
};

struct rwd_steer {
	const struct rwd_model *model;
	const struct rwd_health_state *health;
	const struct rwd_geo *geo;             /* may be NULL */
	struct rwd_geo_cache *geo_cache;       /* may be NULL */
	uint64_t *rng;                         /* per-thread xorshift state, non-zero */
	struct rwd_client *client;
	struct rwd_trace *trace;               /* may be NULL */
	struct rwd_qstats *stats;              /* answers counted here; may be NULL */
	bool heaviest;                         /* no randomness, for a static rendering
	                                        * (control/render.c): weighted takes the up
	                                        * child of the highest weight (the first of
	                                        * equals), multivalue its first up children
	                                        * in order, unshuffled; rng unused */
	/* out */
	uint8_t scope;                         /* ECS scope: prefix length the decision used */
	bool failed_open;                      /* nothing was up: answered as if all were */
	/* internal */
	bool all_up;
};

struct rwd_steer_result {
	const struct rwd_endpoint *endpoints[RWD_STEER_MAX];
	unsigned n;
};

/*
 * Evaluate t (kind POLICY) for address family (AF_INET / AF_INET6).
 * Returns true with at least one endpoint in out, or false when the name has
 * nothing to give (every endpoint down and fail_open off, or no endpoint of
 * that family at all).
 */
bool rwd_steer_eval(struct rwd_steer *s, const struct rwd_traffic *t, int family,
                    struct rwd_steer_result *out);

/* Is this address/slot usable right now (health, or fail-open pass)? */
bool rwd_steer_slot_up(const struct rwd_steer *s, uint32_t slot);

/* Seed a per-thread random stream (never zero). */
uint64_t rwd_steer_seed(void);
