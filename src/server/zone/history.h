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
 * records (serials aside). 0 or RW_ENOMEM.
 */
int rwd_zone_diff_versions(const struct rwd_zone *from, const struct rwd_zone *to,
                           struct rwd_zone_diff **out);

/*
 * prev (NULL: empty) plus d (its serial_from must be the last serial_to,
 * else the new history holds d alone), condensed to max_depth diffs and
 * max_bytes (0: the defaults, 1000 and 16 MiB). Takes a reference to d.
 * NULL when out of memory.
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
