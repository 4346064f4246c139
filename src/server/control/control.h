/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control layer: the one way the running state changes, whether the
 * change comes from the HTTP API, a SIGHUP reload, a registration that
 * expired or a zone compaction.
 *
 * State = configuration file + zone files + the store's changes on top.
 * Every change is, in order: validated and built into a new snapshot
 * (nothing is written if that fails), written to the store and made
 * durable (LMDB commit; nothing is published if that fails), published
 * (RCU swap, which cannot fail), and only then acknowledged. So a change
 * that was answered with success is served and survives a restart, and one
 * answered with an error changed nothing.
 *
 * A stored change that no longer applies to the files (an endpoint a stored
 * traffic name uses was removed from the file) is left out at start and at
 * reload with an error in the log and in /metrics, instead of failing them;
 * rwd_control_changes() lists it, rwd_control_change_drop() forgets it.
 *
 * Threading: every entry point takes the control lock, and the holder of
 * the lock is the one publisher. The API thread (changes), the main thread
 * (reload, tick) and the compaction thread all publish, one at a time.
 * Queries never wait for it. Reading: a thread that is not a query thread
 * reads the current snapshot while holding the lock (rwd_control_read_lock),
 * which keeps it from being swapped and freed.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "server/daemon/server.h"
#include "server/zone/limits.h"

#define RWD_CONTROL_ERRLEN 512

struct rwd_control;

/* Open the store in dir and replay it onto srv's running state. */
int rwd_control_open(struct rwd_server *srv, const char *dir, struct rwd_control **out,
                     char err[RWD_CONTROL_ERRLEN]);
/* For runway check: the store in dir read only (a missing store has no
 * changes), with no server: nothing is published. */
int rwd_control_open_check(const char *dir, struct rwd_control **out,
                           char err[RWD_CONTROL_ERRLEN]);
/* Stop background work (zone compaction) that would publish: before the
 * services a publication touches (health) stop. rwd_control_close() does it too. */
void rwd_control_stop(struct rwd_control *c);
void rwd_control_close(struct rwd_control *c);

/* SIGHUP: re-read configuration and zones, replay the store on top, publish. */
void rwd_control_reload(struct rwd_control *c);

/* ---- zones (Route 53's ChangeResourceRecordSets) ---- */

enum rwd_rr_action { RWD_RR_CREATE, RWD_RR_UPSERT, RWD_RR_DELETE };

struct rwd_rr_change {
	enum rwd_rr_action action;
	const char *name;              /* absolute owner name */
	const char *type;              /* mnemonic or TYPEnnn */
	uint32_t ttl;
	const char *const *records;    /* presentation form, e.g. "10 mail.example.com." */
	size_t n_records;
};

/*
 * Apply changes to zone all or nothing, in order, bump its SOA serial.
 * CREATE fails if the RRset exists, DELETE if it does not match what exists
 * (as Route 53); "exists" counts the earlier changes of the same batch, so
 * two CREATEs of one RRset fail. view NULL: the top-level zone (served in
 * every view without its own zone of that apex); else the own zone of that
 * view. Errors name the failing change: "change 2: ...". Returns 0,
 * RW_ENOENT (no such zone or view), RW_EEXIST (CREATE of an RRset that
 * exists), RW_ELIMIT (more records in an RRset than the per-RRset limit,
 * zone/limits.h; refused before any record is parsed), RW_EINVAL (bad
 * change), RW_ENOMEM or RW_EIO (store).
 */
int rwd_control_zone_change(struct rwd_control *c, const char *zone, const char *view,
                            const struct rwd_rr_change *changes, size_t n,
                            char err[RWD_CONTROL_ERRLEN]);

/*
 * The zone's change log: every change since serial (API changes, reloads
 * that changed the zone, transfers in), in order, through fn (struct
 * rwd_journal_entry, store/journal.h): the history of the version served
 * (zone/history.h), which IXFR answers from. 0, RW_ENOENT (no such zone,
 * or the log does not reach back to serial: "too old"), RW_ENOMEM. view as
 * for rwd_control_zone_change.
 */
struct rwd_journal_entry;
typedef int (*rwd_control_journal_fn)(void *ctx, const struct rwd_journal_entry *e);
int rwd_control_zone_journal(struct rwd_control *c, const char *zone, const char *view,
                             uint32_t serial, rwd_control_journal_fn fn, void *ctx,
                             char err[RWD_CONTROL_ERRLEN]);

/*
 * Serve z as the new version of the zone at apex in view (NULL: top level):
 * a transfer in (xfr/secondary.c) or an expiry (z a placeholder,
 * rwd_zone_failed, with reason set). d is the difference from the version
 * served (its history continues with d, and the store's journal gets it),
 * NULL for a full replacement (the history and journal restart). Takes z
 * over in any case, and a reference of its own to d (the caller still
 * frees its own). A placeholder (reason set) serves no history and is
 * listed among the snapshot's failures with reason until a version
 * replaces it. 0, RW_ENOENT (no such zone), RW_ENOMEM, RW_EIO (store);
 * 1 when z is a catalog consumer's whose member zones changed (served
 * from now on: the zone list is new, control/catalog.c).
 */
struct rwd_zone_diff;
int rwd_control_zone_install(struct rwd_control *c, const char *view, const uint8_t *apex,
                             struct rwd_zone *z, struct rwd_zone_diff *d, const char *reason,
                             char err[RWD_CONTROL_ERRLEN]);

/* ---- traffic model (JSON in the same shape as the YAML) ---- */

/* Replace or create a traffic name: json is the YAML entry's value,
 * e.g. {"ttl": 30, "policy": {...}}. Validated like the configuration. */
int rwd_control_traffic_put(struct rwd_control *c, const char *name, const char *json,
                            char err[RWD_CONTROL_ERRLEN]);
int rwd_control_traffic_delete(struct rwd_control *c, const char *name,
                               char err[RWD_CONTROL_ERRLEN]);
/* Register or update an endpoint; ttl_seconds > 0: removed unless re-registered. */
int rwd_control_endpoint_put(struct rwd_control *c, const char *name, const char *json,
                             unsigned ttl_seconds, char err[RWD_CONTROL_ERRLEN]);
/* A drained endpoint counts as down without touching its health check. */
int rwd_control_drain(struct rwd_control *c, const char *endpoint, bool drained,
                      char err[RWD_CONTROL_ERRLEN]);

/*
 * The start-up (and reload) build: conf plus the stored changes (conf is
 * replaced by the live configuration), zones with their stored overrides.
 * A stored change that no longer applies is left out, logged and counted
 * (rwd_control_changes lists it): a traffic/endpoint/drain change whose
 * configuration would not validate, an RRset change whose zone would not
 * load with it but loads without it. Not thread-safe against the other
 * entry points: call it before any runs, or under the lock (reload).
 */
struct rwd_snapshot *rwd_control_build(struct rwd_control *c, struct rwd_conf **conf,
                                       const struct rwd_snapshot *prev, unsigned *n_errors);

/* Real-user RTT samples (POST /v1/latency). Each (client, endpoint) keeps
 * a moving average that feeds the latency policy, winning over the
 * latency file's row for the same pair. At most RWD_LATENCY_MAX_PAIRS pairs
 * are kept: a batch that would add more is refused (RW_ELIMIT). */
#define RWD_LATENCY_MAX_PAIRS 10000u
struct rwd_latency_sample {
	const char *client;            /* a prefix ("203.0.113.0/24") or a country code */
	const char *endpoint;
	double rtt_ms;
};
int rwd_control_latency(struct rwd_control *c, const struct rwd_latency_sample *v, size_t n,
                        char err[RWD_CONTROL_ERRLEN]);

/* Once a second from the main thread: remove endpoints whose ttl_seconds
 * ran out without a new registration, with their stored drain (the
 * operator's or an earlier lease's) when the endpoint is gone. One a policy
 * still uses stays, down: drained by the lease (drained_by "lease", since
 * the lease's end), unless the operator drained it already: that drain
 * stays as it is and only the expiry is forgotten. When none of this works
 * (the store or the rebuild fails) the registration stays due and the next
 * tick tries again. */
void rwd_control_tick(struct rwd_control *c);

/* ---- stored changes (GET/DELETE /v1/changes, runway changes) ---- */

struct rwd_stored_change {
	/* "traffic/NAME", "endpoints/NAME", "drains/NAME", "expiry/NAME" or
	 * "rrsets/ZONE|OWNER|TYPE" (ZONE "@VIEW/apex" for a view's own zone) */
	const char *key;
	const char *value;             /* as stored: JSON text, "null" for removed */
	const char *error;             /* NULL: applied; else why it is skipped */
};
typedef int (*rwd_stored_change_fn)(void *ctx, const struct rwd_stored_change *ch);
/* Call fn for every stored change, table by table in key order (latency
 * averages are not listed: there may be thousands). fn's non-zero value
 * stops the walk and is returned. */
int rwd_control_changes(struct rwd_control *c, rwd_stored_change_fn fn, void *ctx);
/*
 * Forget a stored change: the file's version (or nothing) is served again.
 * Validated and published like any change: RW_ENOENT (no such change),
 * RW_EEXIST (the state without it would not validate, e.g. a stored
 * traffic name still uses the endpoint: err says why), RW_EIO.
 */
int rwd_control_change_drop(struct rwd_control *c, const char *key, char err[RWD_CONTROL_ERRLEN]);
/* Forget a stored change in the store only (runway changes -c, runwayd
 * stopped): nothing is validated or published; the next start or reload
 * applies what is left. RW_ENOENT, RW_EIO. */
int rwd_control_change_forget(struct rwd_control *c, const char *key,
                              char err[RWD_CONTROL_ERRLEN]);

/* ---- runway check ---- */

typedef void (*rwd_control_report_fn)(void *ctx, const char *msg);
/* *conf (replaced) with the stored changes applied as runwayd would at
 * start; each that no longer applies is reported (and then listed as
 * skipped by rwd_control_changes). Returns how many were skipped, or
 * RW_ENOMEM. */
int rwd_control_check_stored(struct rwd_control *c, struct rwd_conf **conf,
                             rwd_control_report_fn report, void *ctx);
/* Stored changes skipped so far (by rwd_control_check_stored and zone
 * loads), or left out of the running state (runwayd). */
size_t rwd_control_n_skipped(struct rwd_control *c);
/* Load zone cz with its stored changes, as runwayd would at start, held to
 * limits (NULL: the defaults): a change that keeps it from loading is
 * reported and left out. */
struct rwd_zone *rwd_control_check_zone(struct rwd_control *c, const struct rwd_conf_zone *cz,
                                        const struct rwd_zone_limits *limits,
                                        rwd_report_fn report, void *ctx);

/* Prometheus lines for /metrics: stored changes skipped, compactions and
 * their failures and backoff, publications refused. Takes the lock. */
void rwd_control_metrics(struct rwd_control *c, FILE *f);

/* Hold while reading rwd_snapshot_get() outside a query thread. */
void rwd_control_read_lock(struct rwd_control *c);
void rwd_control_read_unlock(struct rwd_control *c);
