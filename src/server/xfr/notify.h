/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * NOTIFY out (RFC 1996): when a publication serves a zone with a new serial,
 * tell its secondaries, on a thread of its own with a libuv loop.
 *
 * Where the work comes from. rwd_notify_zone_serial() is the daemon's
 * rwd_server.on_zone_serial: the publishing thread calls it under the
 * control lock with srv->conf already the configuration that goes with the
 * new snapshot. It copies what the exchange needs (the zone's `notify:`
 * remotes with their TSIG keys, and with `notify_ns` the addresses of the
 * zone's NS targets, the zone's SOA with the new serial) into the service's
 * table, since the configuration and the snapshot will be freed, and wakes
 * the loop (uv_async_send). It never blocks on the network.
 *
 * The exchange, per (zone, view, remote): a NOTIFY (opcode 4, AA, the
 * question zone SOA IN, the SOA record in the answer section, as BIND and
 * Knot send it), TSIG-signed when the remote has a key, over UDP from an
 * ephemeral port (one socket per address family, shared by every exchange);
 * the answer must match the id, the question and the remote's address and
 * port, and verify with the key. Unanswered, the same message (id,
 * signature: an answer to any try counts, as with BIND) is sent
 * again after xfr.notify_timeout, then after twice that, and so on,
 * xfr.notify_retries times at most (both read when the change is queued).
 * A newer serial for the same zone and remote replaces a pending one (the
 * tries start over, with a new id). At most RWD_NOTIFY_MAX_PENDING exchanges
 * are pending; past that the oldest is dropped with a warning.
 * A burst is started 256 exchanges a loop turn (10,000 remotes: queued in
 * ~30 ms under the control lock, all sent within ~110 ms; test_notify).
 *
 * Each outcome is one log line: "notify: example.com. serial 7 to
 * 127.0.0.2:53: answered (NOERROR) after 1 try", "...: refused (REFUSED)",
 * "...: TSIG failure (BADSIG)", "...: gave up after 6 tries (no answer)",
 * "...: dropped (10000 NOTIFY exchanges pending, ...)" (one line for all
 * those a change drops).
 *
 * NS targets (notify_ns): only addresses found in the served zones (an A or
 * AAAA at the target's name in the zone of the same view that holds it, glue
 * included) are used; names served nowhere here are not resolved. The
 * target named by the SOA MNAME (the primary itself, RFC 1996 3.6) and
 * runwayd's own listen addresses are left out; port 53, no key.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>

#define RWD_NOTIFY_MAX_PENDING 10000

struct rwd_notify;
struct rwd_server;    /* daemon/server.h */
struct rwd_snapshot;  /* snapshot/snapshot.h */

/* What the service has done since it started (rwd_notify_get_stats). */
struct rwd_notify_stats {
	uint64_t sent;        /* NOTIFY messages sent, every try counted */
	uint64_t answered;    /* exchanges answered NOERROR */
	uint64_t failed;      /* exchanges refused, failing TSIG, given up, dropped */
	uint64_t superseded;  /* pending exchanges replaced by a newer serial */
	unsigned pending;     /* exchanges not finished */
};

/*
 * Start the service on a new thread. srv is where rwd_notify_zone_serial()
 * reads the configuration (srv->conf); it must outlive the service. The
 * caller then sets srv->on_zone_serial = rwd_notify_zone_serial and
 * srv->on_zone_serial_ctx = *out. 0, or a negative RW_E* after logging why.
 */
int rwd_notify_start(struct rwd_server *srv, struct rwd_notify **out);

/* Stop the loop and join its thread; pending exchanges are abandoned.
 * NULL is fine. The caller clears srv->on_zone_serial first. */
void rwd_notify_stop(struct rwd_notify *n);

/* rwd_zone_serial_fn (daemon/server.h): ctx is the struct rwd_notify.
 * Queues a NOTIFY of the zone at apex (flat) in view (NULL: top level) with
 * serial to each of its remotes, if it has any. Under the control lock. */
void rwd_notify_zone_serial(void *ctx, const char *view, const uint8_t *apex, uint32_t serial);

/* The same for every zone s serves (top level and each view's own): at
 * start, where secondaries may have missed changes made while runwayd was
 * down (as BIND and Knot notify after loading). s must be the current
 * snapshot and srv->conf its configuration. */
void rwd_notify_snapshot(struct rwd_notify *n, const struct rwd_snapshot *s);

void rwd_notify_get_stats(struct rwd_notify *n, struct rwd_notify_stats *out);

/*
 * The service's counters in the Prometheus text format (/metrics):
 * runway_notify_sent_total, runway_notify_answered_total,
 * runway_notify_failed_total, runway_notify_pending. n NULL: the running
 * service (nothing is written when none runs).
 */
void rwd_notify_metrics(struct rwd_notify *n, FILE *f);
