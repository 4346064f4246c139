/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The secondary side of zone transfers (docs/transfers.md): for every zone
 * with `primaries:` (top level and views'), the SOA refresh, retry and
 * expire timers (RFC 1035 3.3.13, held within the zone's refresh_min..expire_max), the
 * SOA query to the primaries in order with failover, IXFR (RFC 1995) with
 * fallback to AXFR (RFC 5936), NOTIFY (RFC 1996) acted on at once, EDNS
 * EXPIRE (RFC 7314) used and answered, the transferred copy kept in the
 * zone's file, and expiry (SERVFAIL) when no primary answers for expire.
 *
 * One service thread runs a libuv loop: the timers, the queue of zones
 * waiting for a transfer slot (xfr.max_in at once) and the wake-ups from
 * other threads (NOTIFY, refresh, reload, stop) through one uv_async. Each
 * refresh (SOA query, then a transfer) runs on a thread of its own with
 * blocking sockets bounded by xfr.io_timeout_ms and xfr.timeout_ms; the
 * stream is parsed by xfr/xfrin.c, the new version built as a zone file
 * is (every record checked), and published through
 * rwd_control_zone_install (control.h).
 *
 * Threads: rwd_secondary_new before the first snapshot is built (it sets
 * the NOTIFY sink, daemon/server.h); rwd_secondary_start once the server
 * runs; rwd_secondary_reload after each reload (zones added keep nothing,
 * zones removed lose their state, others keep theirs); refresh and status
 * from any thread (the API); stop from the main thread.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rwd_server;
struct rwd_control;
struct rwd_secondary;

/* The service, and the NOTIFY sink of every snapshot built from now on.
 * 0 or RW_ENOMEM. Nothing runs until rwd_secondary_start. */
int rwd_secondary_new(struct rwd_secondary **out);
/* Start the thread: the zones of srv->conf get their state, each with a
 * copy on file refreshed at once if the file is older than its refresh
 * time, or missing. 0 or a negative RW_E*. */
int rwd_secondary_start(struct rwd_secondary *svc, struct rwd_server *srv,
                        struct rwd_control *ctl);
/* Wait until every transferred version is in its zone file (the copies
 * are written by a thread of their own): call before rwd_control_reload,
 * which reads the files again. */
void rwd_secondary_flush(struct rwd_secondary *svc);
/* The configuration changed (call after rwd_control_reload). */
void rwd_secondary_reload(struct rwd_secondary *svc);
/* Stop the thread, abort the transfers in progress, free everything
 * (NULL: nothing). Call before rwd_control_close. */
void rwd_secondary_stop(struct rwd_secondary *svc);

/*
 * Refresh the zone at apex (flat, any case) in view (NULL: top level) now:
 * SOA query, then a transfer when the primary's serial is newer; with
 * retransfer, an AXFR whatever the serials say. Returns once queued: 0, or
 * RW_ENOENT (no such secondary zone).
 */
int rwd_secondary_refresh(struct rwd_secondary *svc, const char *view, const uint8_t *apex,
                          bool retransfer);

/* What a secondary zone did last, for runway zone status, the API and /metrics. */
struct rwd_secondary_status {
	const char *view;              /* NULL: top level */
	const char *zone;              /* "example.com." */
	const uint8_t *apex;           /* flat, lowercased */
	const char *state;             /* "idle", "queued", "refreshing", "transferring" */
	bool loaded;                   /* a copy is served (serial valid) */
	bool expired;                  /* served as SERVFAIL: no refresh within expire */
	uint32_t serial;               /* served */
	const char *primary;           /* the last primary that answered ("127.0.0.1:53"); "" none */
	int64_t last_refresh;          /* unix seconds of the last successful SOA check; 0: never */
	int64_t next_refresh;          /* unix seconds the next check is due */
	int64_t expire_at;             /* unix seconds the copy expires; 0: unknown */
	const char *last_error;        /* of the last refresh; "" when it succeeded */
	/* The last transfer that succeeded. */
	const char *last_kind;         /* "AXFR", "IXFR", "" none */
	int64_t last_transfer;         /* unix seconds; 0: none */
	uint64_t last_bytes, last_records, last_messages;
	uint32_t last_duration_ms;
	/* Counters since start (kept across reloads while the zone stays). */
	uint64_t refreshes;            /* SOA checks that got an answer */
	uint64_t refresh_failures;     /* SOA checks no primary answered */
	uint64_t axfr, ixfr;           /* transfers that succeeded */
	uint64_t transfer_failures;    /* transfers aborted (limits, malformed, TSIG, timeouts) */
	uint64_t notifies;             /* NOTIFYs received */
	uint64_t expiries;             /* times the copy expired */
};
/* fn is called for each secondary zone, in configuration order, with the
 * service's lock held (do not call back into the service); its non-zero
 * value stops the walk and is returned. 0 when no zone is a secondary. */
typedef int (*rwd_secondary_status_fn)(void *ctx, const struct rwd_secondary_status *st);
int rwd_secondary_status(struct rwd_secondary *svc, rwd_secondary_status_fn fn, void *ctx);
