/*
 * The query path: one received message in, one response (or nothing) out.
 * Shared by every transport (UDP workers, TCP, later DoT/DoH).
 *
 * Stages, in order (docs/architecture.md):
 *   parse   rw_query_parse: header, question, EDNS; malformed -> FORMERR/drop
 *   view    the zone set of the client's view (source address); none -> REFUSED
 *   zone    most specific served zone; none -> REFUSED
 *   lookup  closest encloser -> precomputed answer, referral, wildcard, NXDOMAIN
 *   steer   traffic policy names answer from endpoints (issue: steering)
 *   sign    DNSSEC                                     (later)
 *   limit   response rate limiting                     (issue: abuse)
 *   encode  header, question, body, truncation, OPT
 * Each stage is a function in query.c taking struct rwd_query; a stage that
 * decides the outcome sets rcode/answer and the rest are skipped.
 *
 * Contract: no allocation, no locks, no system calls. Pre: the caller holds
 * the RCU read side (worker online) and passes the current snapshot.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/pkt.h"
#include "server/core/snapshot.h"
#include "server/core/stats.h"
#include "server/steer/geo.h"

enum rwd_transport { RWD_UDP, RWD_TCP };

/* What a thread running queries keeps between them: never shared, so the
 * pipeline needs no lock for randomness or caches. */
struct rwd_query_thread {
	uint64_t rng;                    /* rwd_steer_seed() */
	struct rwd_geo_cache *geo_cache; /* may be NULL */
	struct rwd_qstats *stats;        /* may be NULL: not counted */
};

struct rwd_query {
	/* in */
	const uint8_t *wire;
	size_t wire_len;
	enum rwd_transport transport;
	const struct sockaddr *client;   /* may be NULL (tests, fuzzing) */
	struct rwd_query_thread *thread; /* may be NULL (tests, fuzzing) */
	/* out: answers are truncated to out_cap; RW_MSG_MAXLEN for TCP, at least
	 * edns_udp_size + 512 for UDP (room for the question and OPT). */
	uint8_t *out;
	size_t out_cap;
	/* state, filled by the stages */
	struct rw_query q;
	const struct rwd_zonedb *zones;  /* stage view: the zone set this client sees */
	const struct rwd_zone *zone;
	const struct rwd_answer *answer; /* precomputed body, or: */
	uint16_t body_len;               /* body written in place by a stage (steer) */
	uint16_t body_an, body_ar;
	uint8_t ecs_scope;               /* echoed in ECS: how far the answer depends on the client */
	uint8_t rcode;
	uint16_t ede;                    /* Extended DNS Error info-code + 1; 0 = none */
	bool aa;
	bool tc;
};

#define RWD_QUERY_OUT_MIN RW_MSG_MAXLEN   /* always enough */

/* Process qr->wire; returns the response length in qr->out, 0 to send nothing. */
size_t rwd_query_process(const struct rwd_snapshot *s, struct rwd_query *qr);
