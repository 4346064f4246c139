/*
 * The query path: one received message in, one response (or nothing) out.
 * Shared by every transport (UDP workers, TCP, later DoT/DoH).
 *
 * Stages, in order (docs/architecture.md):
 *   parse   rw_query_parse: header, question, EDNS; malformed -> FORMERR/drop
 *   cookie  DNS Cookies: check the server cookie, make ours; invalid over UDP -> BADCOOKIE
 *   filter  classes other than IN/ANY, AXFR over UDP, TYPE0
 *   view    the zone set of the client's view (source address); none -> REFUSED
 *   zone    most specific served zone; none -> REFUSED
 *   steer   traffic names answer from their policy and endpoints (query/steer.c)
 *   lookup  closest encloser -> precomputed answer, referral, wildcard, NXDOMAIN
 *   sign    DNSSEC                                     (later)
 *   limit   response rate limiting over UDP: drop, or slip (TC=1)  (query/limit.c)
 *   encode  header, question, body, truncation, OPT
 * Each stage is a function taking struct rwd_query (in query.c, or in the
 * file named); a stage that decides the outcome sets rcode/answer and the
 * stages up to limit are skipped: every outcome is limited and encoded.
 *
 * Contract: no allocation, no locks, no system calls. Pre: the caller holds
 * the RCU read side (worker online) and passes the current snapshot.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/pkt.h"
#include "server/snapshot/snapshot.h"
#include "server/common/stats.h"
#include "server/common/transport.h"
#include "server/steer/geo.h"

struct rwd_health_state;             /* server/health/health.h */
struct rwd_trace;                    /* server/steer/eval.h */

/* What a thread running queries keeps between them: never shared, so the
 * pipeline needs no lock for randomness or caches. */
struct rwd_query_thread {
	uint64_t rng;                    /* rwd_steer_seed() */
	struct rwd_geo_cache *geo_cache; /* may be NULL */
	struct rwd_qstats *stats;        /* may be NULL: not counted */
	uint32_t now;                    /* wall clock, seconds, read once per batch by the
	                                  * transport (rate limiting, cookies); 0: read per query */
	const struct rwd_health_state *health; /* rwd_health_get(), read once per batch by the
	                                  * transport under the RCU read side; NULL: all up */
	struct rwd_trace *trace;         /* steer decisions are recorded here (the simulator);
	                                  * NULL on the query path: nothing recorded, no cost */
};

/* The clock of rwd_query_thread.now: coarse, read from the vDSO (no system call). */
static inline uint32_t rwd_query_clock(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME_COARSE, &t);
	return (uint32_t)t.tv_sec;
}

/* What the query's COOKIE option held (stage cookie, cookie.c). */
enum rwd_cookie {
	RWD_COOKIE_NONE,                 /* no option, or cookies are off */
	RWD_COOKIE_CLIENT,               /* a client cookie only */
	RWD_COOKIE_VALID,                /* and a server cookie we made, still fresh */
	RWD_COOKIE_INVALID,              /* and a server cookie we did not make, or stale */
};
#define RWD_SERVER_COOKIE_LEN 16     /* RFC 9018: version, reserved, timestamp, hash */

struct rwd_query {
	/* in */
	const uint8_t *wire;
	size_t wire_len;
	const struct rwd_transport *transport; /* &rwd_transport_udp, ... (common/transport.h) */
	const struct sockaddr *client;   /* may be NULL (tests, fuzzing) */
	struct rwd_query_thread *thread; /* may be NULL (tests, fuzzing) */
	/* out: answers are truncated to out_cap; RW_MSG_MAXLEN for TCP, at least
	 * edns_udp_size + 512 for UDP (room for the question and OPT). */
	uint8_t *out;
	size_t out_cap;
	/* state, filled by the stages */
	struct rw_query q;
	const struct rwd_zonedb *zones;  /* stage view: the zone set this client sees */
	uint32_t view;                   /* stage view: index of the client's view + 1; 0: no views */
	const struct rwd_zone *zone;
	const struct rwd_answer *answer; /* precomputed body, or: */
	const struct rwd_answer *synth;  /* lookup: == answer when the body is built at
	                                  * query time instead (DNAME, chains across
	                                  * zones: body.c); answer is then the first
	                                  * zone's, for the limit stage */
	uint16_t body_len;               /* body written in place by a stage (steer) */
	uint16_t body_an, body_ar;
	uint8_t ecs_scope;               /* echoed in ECS: how far the answer depends on the client */
	uint8_t rcode;
	uint16_t ede;                    /* Extended DNS Error info-code + 1; 0 = none */
	uint8_t cookie;                  /* enum rwd_cookie */
	uint8_t server_cookie[RWD_SERVER_COOKIE_LEN]; /* ours, sent unless cookie is NONE */
	bool aa;
	bool tc;
};

#define RWD_QUERY_OUT_MIN RW_MSG_MAXLEN   /* always enough */

/* Process qr->wire; returns the response length in qr->out, 0 to send nothing. */
size_t rwd_query_process(const struct rwd_snapshot *s, struct rwd_query *qr);
