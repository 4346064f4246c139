/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The zones' change log: for each zone, in order, the difference each
 * committed change made (serial_from -> serial_to, the records removed, the
 * records added), as IXFR (RFC 1995) will serve it: "every change since
 * serial S", or "too old" when the log no longer reaches back to S.
 *
 * Kept in the store's "journal" table, written in the same transaction as
 * the change itself (so it is exactly as durable), keyed "ZONE|SEQUENCE"
 * with a per-zone sequence number (serials wrap, RFC 1982; sequence numbers
 * do not). Each zone keeps its last RWD_JOURNAL_MAX_ENTRIES entries, and
 * at most RWD_JOURNAL_MAX_BYTES of them: older ones are dropped as new ones
 * come. ZONE is the zone's name in store keys
 * ("example.com.", "@VIEW/example.com.").
 *
 * Records are zone file lines, "owner TTL IN TYPE RDATA", absolute names.
 * The SOA itself is not among them (its serials are the entry's): whoever
 * serves the differences writes the SOA records around them.
 *
 * A change the log cannot describe (a stored change dropped, which loads
 * the zone afresh) clears the zone's log: asking since an older serial then
 * gets "too old", never a wrong answer.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

#define RWD_JOURNAL_MAX_ENTRIES 1000u
/* and at most this many bytes of entries (JSON): a batch may carry up to
 * a million records; a change larger than this alone restarts the log. */
#define RWD_JOURNAL_MAX_BYTES (64u << 20)

struct rwd_journal_entry {
	uint32_t serial_from, serial_to;
	const char *const *removed;    /* zone file lines */
	size_t n_removed;
	const char *const *added;
	size_t n_added;
};

/* Append an entry for zone inside t (the change's own transaction),
 * dropping the oldest past max_entries or max_bytes (0 or more than the
 * defaults: RWD_JOURNAL_MAX_ENTRIES, RWD_JOURNAL_MAX_BYTES). 0, RW_ENOMEM
 * or RW_EIO. */
int rwd_journal_append(struct rwd_store_txn *t, const char *zone,
                       const struct rwd_journal_entry *e, size_t max_entries, size_t max_bytes);

/* Forget zone's log inside t. */
int rwd_journal_clear(struct rwd_store_txn *t, const char *zone);

/*
 * Call fn for every entry of zone from the one whose serial_from is serial
 * on, in order (a chain: each entry's serial_from is the one before's
 * serial_to). Returns 0 (also when serial is the last serial_to: nothing
 * since), RW_ENOENT when the log does not reach back to serial ("too old",
 * or never seen), fn's non-zero value, or RW_EIO/RW_ENOMEM.
 */
typedef int (*rwd_journal_fn)(void *ctx, const struct rwd_journal_entry *e);
int rwd_journal_since(struct rwd_store *s, const char *zone, uint32_t serial,
                      rwd_journal_fn fn, void *ctx);
