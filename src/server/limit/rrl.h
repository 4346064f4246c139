/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Response rate limiting (RRL), as BIND and Knot DNS define it: a spoofed
 * query makes a server send its answer to a victim, so the answers one
 * client network gets are counted, and past a rate most are dropped.
 *
 * Accounting is by bucket. A bucket is one (client prefix, answer class,
 * key) triple: the prefix is the client address cut to rate_limit.ipv4_prefix
 * / ipv6_prefix bits, so a spoofer cannot spread one victim over many
 * buckets; the class and key say which answers count as "the same" (the
 * query stage, query/limit.c, picks them: identical answers, one zone's
 * NXDOMAINs, one delegation's referrals, all errors). Each bucket is a token
 * bucket holding at most `rate` tokens, refilled to `rate` every second; an
 * answer takes a token, and an answer finding none is limited: dropped, but
 * every slip-th one per bucket is sent truncated so that a real client
 * behind the prefix retries over TCP, which proves its address.
 *
 * The table of buckets is shared by every UDP worker. Its shape is chosen
 * for that:
 *   - fixed size, allocated once (rate_limit.table_size slots of 8 bytes);
 *     nothing is allocated per query;
 *   - a bucket is one 64-bit word (16-bit key fingerprint, 16-bit second,
 *     24-bit token count, 8-bit slip counter), updated by compare-and-swap:
 *     no lock. A slot is found by probing 4 neighbours from the key's hash;
 *     a key that finds neither its bucket nor a free slot takes the slot
 *     idle longest. A compare-and-swap that keeps failing (4 tries) gives
 *     up with the verdict of its last try, uncounted: a bucket with tokens
 *     lets one more answer out, an empty one still drops (a flood spread
 *     over every worker must not win by contention). A bucket reused
 *     by another key, or a fingerprint collision (1 in 32768 per slot),
 *     only mixes the counts of two keys;
 *   - time is whole seconds (the transport reads a coarse clock once per
 *     batch); only the low 16 bits are kept, so a bucket idle for a
 *     multiple of 18 hours may be refilled late by a second.
 *
 * The table outlives snapshots: every snapshot with rate limiting holds a
 * reference, a reload keeps the table (and the counts) unless
 * rate_limit.table_size changed, and the last snapshot to let go frees it.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "server/common/acl.h"

#define RWD_RRL_MAX_RATE ((1u << 24) - 1)  /* tokens fit 24 bits */
#define RWD_RRL_MAX_SLIP 255               /* the slip counter fits 8 bits */

struct rwd_rrl_table;

/*
 * The settings, as the configuration's rate_limit section gives them (conf
 * embeds this struct, so limit/ needs nothing of the YAML schema). conf
 * checks the ranges; rwd_rrl_build trusts them.
 */
struct rwd_rrl_opts {
	uint32_t rate;                 /* responses_per_second, per bucket; 0: off */
	uint32_t slip;                 /* <= RWD_RRL_MAX_SLIP */
	uint8_t ipv4_prefix, ipv6_prefix;
	uint32_t table_size;           /* slots; fewer than 4 count as 4 */
	struct rwd_acl exempt;         /* clients never limited; owned by the holder */
};

/* The settings of one snapshot, and the table it uses. */
struct rwd_rrl {
	uint32_t rate;                 /* answers per second per bucket, > 0 */
	uint32_t slip;                 /* every slip-th limited answer is sent truncated; 0: none */
	uint8_t ipv4_prefix, ipv6_prefix;
	struct rwd_acl exempt;         /* clients never limited */
	struct rwd_rrl_table *table;
	uint64_t seed;                 /* of the key hash: per table, so not guessable */
};

enum rwd_rrl_verdict {
	RWD_RRL_PASS,                  /* send the answer */
	RWD_RRL_DROP,                  /* send nothing */
	RWD_RRL_SLIP,                  /* send it truncated (TC=1, no records) */
};

/*
 * The settings of opts for a new snapshot (opts->exempt is copied): *out is
 * NULL when rate limiting is off (rate 0). The table of prev (may be NULL)
 * is shared when it has the same size, else a new one is allocated.
 * Returns 0 or RW_ENOMEM.
 */
int rwd_rrl_build(const struct rwd_rrl_opts *opts, const struct rwd_rrl *prev,
                  struct rwd_rrl **out);
/* Release a snapshot's settings (and the table with its last user). NULL is allowed. */
void rwd_rrl_free(struct rwd_rrl *r);

/* A table of size slots (>= 4), all free; NULL when out of memory. For tests. */
struct rwd_rrl_table *rwd_rrl_table_new(uint32_t size);
void rwd_rrl_table_unref(struct rwd_rrl_table *t);

/*
 * The bucket key: a hash of client's prefix (by r's prefix lengths; an
 * IPv4-mapped IPv6 address counts as IPv4), cls and key[0..len) (may be
 * empty). Pre: client is AF_INET or AF_INET6.
 */
uint64_t rwd_rrl_key(const struct rwd_rrl *r, const struct sockaddr *client, uint8_t cls,
                     const void *key, size_t len);

/*
 * Count one answer for the bucket hash at second now: PASS while the bucket
 * has tokens, else DROP, or SLIP for every slip-th limited answer of the
 * bucket (slip 1: all of them, 0: none). Lock-free; safe from any thread.
 */
enum rwd_rrl_verdict rwd_rrl_account(struct rwd_rrl_table *t, uint64_t hash, uint32_t rate,
                                     uint32_t slip, uint32_t now);
