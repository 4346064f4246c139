/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Query counters for /metrics.
 *
 * Each thread that answers queries owns one struct rwd_qstats and is its
 * only writer: plain increments, no atomics, no shared cache lines on the
 * query path. The scraper sums every registered block with relaxed loads;
 * an aligned 64-bit load is never torn, so at worst a scrape misses the
 * increments of the last few nanoseconds.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "server/common/stage.h"
#include "server/common/transport.h"

#define RWD_STATS_ZONES 256        /* zones counted per thread (the rest: "other") */
#define RWD_STATS_ANSWERS 1024     /* (traffic name, endpoint) pairs per thread */
#define RWD_STATS_NAME 96

struct rwd_qstats_zone {
	uint32_t hash;                 /* 0: free */
	char name[RWD_STATS_NAME];
	uint64_t queries;
};

struct rwd_qstats_answer {
	uint32_t hash;                 /* 0: free */
	char traffic[RWD_STATS_NAME];
	char endpoint[64];
	uint64_t answers;
};

/* Why the TCP transport closed a connection on its own (see net/tcp.h). */
enum rwd_tcp_limit {
	RWD_TCP_PER_CLIENT,            /* refused: tcp.max_per_client */
	RWD_TCP_MAX_CLIENTS,           /* longest idle, closed to make room: tcp.max_clients */
	RWD_TCP_IDLE,                  /* tcp.idle_timeout */
	RWD_TCP_IO,                    /* tcp.io_timeout: message not whole, answers not read */
	RWD_TCP_LIMITS
};

/* What rate limiting did with an answer over UDP (query/limit.c). */
enum rwd_rrl_stat {
	RWD_RRL_DROPPED,               /* over the limit: not sent */
	RWD_RRL_SLIPPED,               /* over the limit: sent truncated (or BADCOOKIE) */
	RWD_RRL_EXEMPT,                /* not counted: client in rate_limit.exempt */
	RWD_RRL_COOKIE,                /* not counted: valid server cookie */
	RWD_RRL_STATS
};

struct rwd_qstats {
	uint64_t transport[RWD_TRANSPORT_KINDS]; /* by enum rwd_transport_kind */
	uint64_t decided[RWD_STAGES];  /* by the stage that decided the outcome (enum rwd_stage) */
	uint64_t qtype[256];           /* by type; [0]: types >= 256 */
	uint64_t rcode[32];
	uint64_t dropped;              /* nothing sent */
	uint64_t other_zones;          /* table full */
	uint64_t rrl[RWD_RRL_STATS];
	uint64_t cookies[3];           /* queries with a COOKIE option, by server cookie:
	                                * none, valid, invalid (enum rwd_cookie - 1) */
	uint64_t tcp_open;             /* TCP connections open now (gauge) */
	uint64_t tcp_accepted;         /* TCP connections accepted */
	uint64_t tcp_closed[RWD_TCP_LIMITS];
	struct rwd_qstats_zone zones[RWD_STATS_ZONES];
	struct rwd_qstats_answer answers[RWD_STATS_ANSWERS];
};

/* Make a thread's block visible to the scraper, until unregistered. */
void rwd_stats_register(struct rwd_qstats *s);
void rwd_stats_unregister(struct rwd_qstats *s);

/* Count one query for a zone (flat apex name, its node hash). */
void rwd_stats_zone(struct rwd_qstats *s, const uint8_t *apex, uint32_t hash);
/* Count one answer of a traffic name (flat) by an endpoint (name). */
void rwd_stats_answer(struct rwd_qstats *s, const uint8_t *traffic, const char *endpoint);

/* Events counted outside the query path (any thread). */
void rwd_stats_reload(void);
void rwd_stats_api_change(void);

/* Write every counter in the Prometheus text format. */
void rwd_stats_write(FILE *f);
