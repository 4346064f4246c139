/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A zone's change history: the differences between its successive versions,
 * in the form IXFR (RFC 1995) sends them, kept in memory with each zone
 * version so that the query path serves IXFR without reading the store,
 * allocating or locking (the store's journal, store/journal.h, keeps the
 * same bytes durably and refills this at start).
 *
 * A diff is one step serial_from -> serial_to: the old SOA record, the
 * records removed, the new SOA record, the records added, in that order,
 * each record uncompressed in wire form (owner as a flat name, type, class,
 * TTL, RDLENGTH, RDATA): exactly an IXFR "difference sequence", so serving
 * it is copying records. Diffs are immutable and reference counted: a new
 * zone version's history is its predecessor's plus one diff, sharing every
 * older diff. A history is bounded (max_depth diffs, max_bytes of them):
 * past that the oldest two are condensed into one (their net difference),
 * so an old serial still gets an IXFR, only a coarser one; a serial older
 * than the first diff gets AXFR.
 *
 * Where diffs come from: API changes (control/zones.c), a zone file reloaded
 * with other content (rwd_zone_diff_versions: Knot's "zonefile-load:
 * difference"), an IXFR received as a secondary; a full replacement (AXFR
 * in, a change the log cannot describe) starts an empty history.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rwd_zone;

struct rwd_zone_diff {
	int refs;                      /* atomic */
	uint32_t serial_from, serial_to;
	uint32_t n_removed, n_added;   /* records, SOAs not counted */
	uint32_t len;                  /* bytes of data */
	uint32_t added_at;             /* offset in data of the new SOA record */
	uint8_t data[];                /* old SOA, removed..., new SOA, added... */
};

struct rwd_zone_history {
	int refs;                      /* atomic */
	size_t n;                      /* diffs, oldest first, a chain: each
	                                * serial_from is the previous serial_to */
	size_t bytes;                  /* sum of their len */
	struct rwd_zone_diff *diffs[]; /* each holds a reference */
};

/* A new diff from its parts: old_soa/new_soa one record each, removed/added
 * n records each, all uncompressed wire records. NULL when out of memory. */
struct rwd_zone_diff *rwd_zone_diff_new(uint32_t serial_from, uint32_t serial_to,
                                        const uint8_t *old_soa, size_t old_soa_len,
                                        const uint8_t *removed, size_t removed_len,
                                        uint32_t n_removed, const uint8_t *new_soa,
                                        size_t new_soa_len, const uint8_t *added,
                                        size_t added_len, uint32_t n_added);
void rwd_zone_diff_ref(struct rwd_zone_diff *d);
void rwd_zone_diff_free(struct rwd_zone_diff *d);

/*
 * The difference between two versions of a zone (same apex), records
 * compared as sets per RRset (a changed TTL removes and adds), the SOA kept
 * apart: what a zone file reload changed. *out NULL when they hold the same
 * records and the same SOA but for its serial; a diff with no records when
 * only the SOA's other fields (or TTL) changed. The diff goes from
 * from->serial to to->serial (rwd_zone_diff_set_serial_to moves the
 * latter). 0, RW_ENOMEM, or RW_EINVAL for a placeholder (no SOA).
 */
int rwd_zone_diff_versions(const struct rwd_zone *from, const struct rwd_zone *to,
                           struct rwd_zone_diff **out);

/*
 * prev (NULL: empty) plus d (its serial_from must be the last serial_to,
 * else the new history holds d alone), condensed to max_depth diffs and
 * max_bytes (0: the defaults, 1000 and 16 MiB). Takes a reference to d.
 * NULL when out of memory. Condensing, until both bounds hold: past
 * max_depth the two oldest diffs are merged (rwd_zone_diff_merge); past
 * max_bytes alone they are merged when that does not make the larger of
 * them larger (records that cancel: the same names changed again), else
 * the oldest is dropped (merging distinct changes saves nothing; the
 * history then starts a serial later). When the one diff left is still
 * past max_bytes (a change about as large as the zone), the history holds
 * nothing (n 0): IXFR from any older serial gets AXFR, which costs about
 * as much. The store's journal mirrors the result exactly.
 */
struct rwd_zone_history *rwd_zone_history_append(const struct rwd_zone_history *prev,
                                                 struct rwd_zone_diff *d, size_t max_depth,
                                                 size_t max_bytes);
void rwd_zone_history_ref(struct rwd_zone_history *h);
void rwd_zone_history_free(struct rwd_zone_history *h);

/* The index of the diff whose serial_from is serial, or -1: IXFR from serial
 * can be answered from diffs[i..n) when it is found. */
long rwd_zone_history_find(const struct rwd_zone_history *h, uint32_t serial);

/* RFC 1982 serial arithmetic: a is newer than b. */
static inline bool rwd_serial_newer(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/* ---- beyond the lead's interface: what the producers and the store share ---- */

#include <time.h>

/* One record of a diff's data, as rwd_diff_rr_parse reads it. */
struct rwd_diff_rr {
	const uint8_t *owner;          /* flat; as received (not necessarily lowercased) */
	size_t owner_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
	size_t len;                    /* the whole record */
};

/* The record at p (at most avail bytes): its length, 0 when it is not one
 * well-formed uncompressed record. */
size_t rwd_diff_rr_parse(const uint8_t *p, size_t avail, struct rwd_diff_rr *rr);

/* Is d's data what its header says: records that parse end to end, two SOA
 * records at 0 and added_at with d's serials, n_removed and n_added of them?
 * For diffs read back from the store or built from a transfer. */
bool rwd_zone_diff_valid(const struct rwd_zone_diff *d);

/* Set the serial a diff nobody else holds yet leads to (serial_to and the
 * new SOA record's serial): a reload learns the serial after the diff. */
void rwd_zone_diff_set_serial_to(struct rwd_zone_diff *d, uint32_t serial);

/*
 * a (X -> Y) followed by b (Y -> Z) as one diff X -> Z: their net
 * difference, records compared as sets (owner case aside): a record a
 * removes and b adds back cancels, as does one a adds and b removes. The
 * order is kept (a's records, then b's), so merging is deterministic.
 * NULL when out of memory or b does not follow a.
 */
struct rwd_zone_diff *rwd_zone_diff_merge(const struct rwd_zone_diff *a,
                                          const struct rwd_zone_diff *b);

/*
 * The serial that follows cur when runway changes a zone, by policy
 * (enum rwd_serial_policy of conf.h, by value: 0 increment, 1 unixtime,
 * 2 dateserial; the control layer checks they agree): increment cur + 1; unixtime now if that
 * is newer than cur (RFC 1982), else cur + 1; dateserial YYYYMMDD00 of
 * today (UTC, as Knot) if newer, else cur + 1; cur + 1 wraps to 0 past
 * 4294967295 (RFC 1982 has no forbidden value).
 */
uint32_t rwd_serial_next(int policy, uint32_t cur, time_t now);

/*
 * An order-independent digest of a zone's content (every record but the
 * SOA's serial; owner names lowercased): equal digests mean the same
 * records, whatever the load order. Additive, so a diff moves it:
 * digest(to) = digest(from) + rwd_zone_diff_digest(d) (mod 2^64). The
 * control layer keeps it in the store to tell at start whether the zone
 * file changed while runwayd was stopped. Not for security.
 */
uint64_t rwd_zone_digest(const struct rwd_zone *z);
uint64_t rwd_zone_diff_digest(const struct rwd_zone_diff *d);

/* Give a version that is not published yet (just loaded or patched, held
 * by nobody else) another serial: z->serial and its SOA record. */
void rwd_zone_set_serial_unpublished(struct rwd_zone *z, uint32_t serial);

/* The SOA record of z (its first) with serial in place of its own, as a
 * diff holds it, into out: its length, 0 when it does not fit or z has no
 * SOA. */
size_t rwd_zone_soa_record(const struct rwd_zone *z, uint32_t serial, uint8_t *out, size_t size);
