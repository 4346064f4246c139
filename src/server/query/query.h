/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The query path: one received message in; one response, several (a zone
 * transfer, later), or nothing out. Shared by every transport (UDP, TCP,
 * later DoT/DoH/DoQ/XDP), which it knows by its descriptor (qr->transport:
 * datagram, address_verified, ...), never by name.
 *
 * Contract:
 *   rwd_query_begin(s, qr)    runs the stages that decide the outcome, in
 *                             order, until one decides (or drops); it resets
 *                             every state field, so a transport may keep one
 *                             struct and set only wire, wire_len, client, out;
 *   rwd_query_produce(s, qr)  writes the next message into qr->out and
 *                             returns its length (0: nothing to send, or no
 *                             more); qr->more says another message follows.
 *                             The first call also runs "limit" and counts
 *                             the query; a stream transport calls it again
 *                             while qr->more, each time with out emptied;
 *   rwd_query_process(s, qr)  begin and one produce: the datagram
 *                             transports' call (one message, or nothing).
 * The stages (enum rwd_stage, rwd_stage_names: common/stage.h):
 *   parse   rw_query_parse: header, question, EDNS; malformed -> FORMERR/drop
 *   cookie  DNS Cookies: check the server cookie, make ours; invalid over UDP
 *           -> BADCOOKIE; a header-only query for a cookie (RFC 7873 5.4)
 *   filter  classes other than IN/ANY, AXFR over a datagram, TYPE0
 *   view    the zone set of the client's view (source address); none -> REFUSED
 *   zone    most specific served zone; none -> REFUSED
 *   steer   traffic names answer from their policy and endpoints (query/steer.c)
 *   lookup  closest encloser -> precomputed answer, referral, wildcard, NXDOMAIN
 *   sign    DNSSEC                                     (later)
 *   limit   response rate limiting over UDP: drop, or slip (TC=1)  (query/limit.c)
 *   encode  header, question, body, truncation, OPT
 * Each deciding stage returns enum rwd_stage_result: CONTINUE to the next,
 * DONE when it set the outcome (rcode, answer or body), DROP to send
 * nothing; the one that decided is qr->stage. Every outcome but DROP goes
 * through limit and encode. A stage that answers in several messages sets
 * qr->producer: encode then calls it for each message's body, and MORE
 * from it means another message follows (Knot DNS's KNOT_STATE_PRODUCE).
 *
 * Contract: no allocation, no locks, no system calls. Pre: the caller holds
 * the RCU read side (worker online) from begin to the last produce and
 * passes the same, current snapshot to each.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/pkt.h"
#include "server/snapshot/snapshot.h"
#include "server/common/stage.h"
#include "server/common/stats.h"
#include "server/common/transport.h"
#include "server/common/tsig.h"
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

/* What a stage says of the query. */
enum rwd_stage_result {
	RWD_CONTINUE,                    /* not decided: on to the next stage */
	RWD_DONE,                        /* decided: limit and encode the outcome */
	RWD_MORE,                        /* a message is ready, another will follow */
	RWD_DROP,                        /* send nothing */
};

struct rwd_query;
/*
 * Writes one message's body at p (room bytes at most) for a query answered
 * in several messages, sets qr->body_len, body_an and body_ar, keeps its
 * position in qr->cursor; returns RWD_MORE while messages remain, RWD_DONE
 * with the last (RWD_DROP: stop, the stream is broken).
 */
typedef enum rwd_stage_result (*rwd_query_producer)(const struct rwd_snapshot *s,
                                                    struct rwd_query *qr, uint8_t *p,
                                                    size_t room);

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
	/* the pipeline's own state (query.c) */
	uint8_t stage;                   /* enum rwd_stage: the one that decided */
	uint8_t state;                   /* enum rwd_stage_result, for produce */
	bool more;                       /* out of rwd_query_produce: a message follows */
	uint32_t produced;               /* rwd_query_produce calls so far */
	rwd_query_producer producer;     /* set by a stage answering in several messages */
	uint64_t cursor;                 /* the producer's position between messages */
	/* TSIG (stage tsig, tsig.c): the request's signature and what the next
	 * message's signature chains to; tsig.key NULL: unsigned */
	struct rwd_tsig_ctx tsig;
	/* zone transfers (stage transfer, xfr.c) */
	struct rwd_zone *xfr_zone;       /* the version being transferred: the transport
	                                  * holds a reference while the stream lasts
	                                  * (rwd_query_xfr_hold), so publications do not cut it */
	uint64_t xfr_cursor2;            /* the producer's second position (diff, record) */
	uint32_t xfr_serial;             /* IXFR: the client's serial */
};

#define RWD_QUERY_OUT_MIN RW_MSG_MAXLEN   /* always enough */

/*
 * Zone transfers (xfr.c). A stream transport that keeps a transfer's query
 * between messages while it leaves the RCU read side (the stream waits for
 * its reader) holds it: a reference to qr->xfr_zone and a copy of the TSIG
 * key (qr->tsig.key points to it then), so the stream goes on from that
 * version, signed, whatever is published meanwhile (the producer reads
 * nothing else of the snapshot it began on), and one count of the transfers
 * running (xfr.max_out: more are REFUSED). Release it, once, when the
 * stream ends, whichever way. Both do nothing when qr->xfr_zone is NULL
 * (not a transfer). hold: 0 or RW_ENOMEM (nothing held then).
 */
int rwd_query_xfr_hold(struct rwd_query *qr);
void rwd_query_xfr_release(struct rwd_query *qr);
/* Transfers held now (any thread). */
unsigned rwd_query_xfr_running(void);
/* Transfers begun since start (/metrics, runway_xfr_out_total), by how
 * they are answered: [0] the whole zone (AXFR, or IXFR in its form), [1]
 * IXFR differences, [2] the SOA alone (IXFR up to date, or over UDP). */
void rwd_query_xfr_counts(uint64_t out[3]);

/* Run the deciding stages on qr->wire (qr->stage, qr->state say how it went). */
void rwd_query_begin(const struct rwd_snapshot *s, struct rwd_query *qr);
/* Write the next message into qr->out; its length, 0 when there is nothing
 * (more) to send. qr->more: call again for the next message. */
size_t rwd_query_produce(const struct rwd_snapshot *s, struct rwd_query *qr);
/* begin + produce once: the response length in qr->out, 0 to send nothing. */
size_t rwd_query_process(const struct rwd_snapshot *s, struct rwd_query *qr);
