/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The zones' change log, durable: for each zone the diffs of its history
 * (zone/history.h), the very bytes IXFR serves (old SOA, removed, new SOA,
 * added, uncompressed wire records), so that a restart serves IXFR from
 * where it was.
 *
 * The store mirrors the in-memory history of the version served: each
 * publication writes, in the same transaction as the rest of the change,
 * rwd_journal_sync(the new version's history), which appends the new diff
 * and replays the condensing the history did (the two oldest diffs merged
 * into one) as one put and a few deletes; at start rwd_journal_load reads
 * it back, and only when it is a chain that ends at the serial served.
 *
 * Kept in the store's "journal" table, keyed "ZONE|SEQUENCE" (20 digits:
 * key order is history order; serials wrap, RFC 1982, sequence numbers do
 * not), the value a 24-byte header ("RWJ1", serial_from, serial_to,
 * n_removed, n_added, added_at, big-endian) and the diff's data. ZONE is the
 * zone's name in store keys ("example.com.", "@VIEW/example.com."). Beside
 * them "ZONE#digest": the digest of the zone version the journal ends at
 * (rwd_zone_digest), by which the start tells a zone file edited while
 * runwayd was stopped.
 *
 * A change the log cannot describe (a stored change dropped, which loads
 * the zone afresh) clears the zone's log: asking since an older serial then
 * gets "too old", never a wrong answer.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"
#include "server/zone/history.h"

/* Make zone's stored log hold exactly h's diffs, in order (h NULL or
 * empty: none), inside t. 0, RW_ENOMEM or RW_EIO. */
int rwd_journal_sync(struct rwd_store_txn *t, const char *zone, const struct rwd_zone_history *h);

/* Forget zone's log and digest inside t. */
int rwd_journal_clear(struct rwd_store_txn *t, const char *zone);

/*
 * zone's stored log as a history (a new reference) when its diffs are
 * well-formed and chain up to serial (the last serial_to); else *out NULL:
 * no log, or one that does not lead to what is served, which must not be
 * served (the caller clears it). 0, RW_ENOMEM or RW_EIO.
 */
int rwd_journal_load(struct rwd_store *s, const char *zone, uint32_t serial,
                     struct rwd_zone_history **out);

/* The digest stored with zone's log: 0, or RW_ENOENT when there is none. */
int rwd_journal_digest_get(struct rwd_store *s, const char *zone, uint64_t *out);
int rwd_journal_digest_put(struct rwd_store_txn *t, const char *zone, uint64_t digest);

/* A diff as text, for the API (GET /v1/zones/{zone}/changes): records as
 * zone file lines "owner TTL IN TYPE RDATA", absolute names; the SOA
 * records are not among them (their serials are the entry's). */
struct rwd_journal_entry {
	uint32_t serial_from, serial_to;
	const char *const *removed;
	size_t n_removed;
	const char *const *added;
	size_t n_added;
};
typedef int (*rwd_journal_fn)(void *ctx, const struct rwd_journal_entry *e);

/* Call fn once with d as text. fn's value, RW_ENOMEM or RW_EINVAL (a
 * record libknot cannot print). */
int rwd_journal_render(const struct rwd_zone_diff *d, rwd_journal_fn fn, void *ctx);
