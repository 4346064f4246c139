/*
 * The control layer: the one way the running state changes, whether the
 * change comes from the HTTP API or a SIGHUP reload.
 *
 * State = configuration file + zone files + the store's changes on top.
 * Every change is, in order, validated against a rebuild of the affected
 * state (nothing is written if that fails), written to the store and made
 * durable (LMDB commit), then published as a new snapshot (RCU swap), and
 * only then acknowledged. A mutex serialises changes; queries never wait.
 *
 * Reading: the API reads the current snapshot while holding the control
 * lock (rwd_control_read_lock), which keeps it from being swapped and freed.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/daemon/server.h"

#define RWD_CONTROL_ERRLEN 512

struct rwd_control;

/* Open the store in dir and replay it onto srv's running state. */
int rwd_control_open(struct rwd_server *srv, const char *dir, struct rwd_control **out,
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
 * Apply changes to zone all or nothing, bump its SOA serial. CREATE fails if
 * the RRset exists, DELETE if it does not match what exists (as Route 53).
 * view NULL: the top-level zone (served in every view without its own zone
 * of that apex); else the own zone of that view. Errors name the failing
 * change: "change 2: ...". Returns 0, RW_ENOENT (no such zone or view),
 * RW_EINVAL (bad change), or RW_EIO (store).
 */
int rwd_control_zone_change(struct rwd_control *c, const char *zone, const char *view,
                            const struct rwd_rr_change *changes, size_t n,
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

/* The start-up build: conf plus the stored changes (conf is replaced by
 * the live configuration), zones with their stored overrides. */
struct rwd_snapshot *rwd_control_build(struct rwd_control *c, struct rwd_conf **conf,
                                       const struct rwd_snapshot *prev, unsigned *n_errors);

/* Real-user RTT samples (POST /v1/latency). Each (client, endpoint) keeps
 * a moving average that feeds the latency policy, winning over the
 * latency file's row for the same pair. */
struct rwd_latency_sample {
	const char *client;            /* a prefix ("203.0.113.0/24") or a country code */
	const char *endpoint;
	double rtt_ms;
};
int rwd_control_latency(struct rwd_control *c, const struct rwd_latency_sample *v, size_t n,
                        char err[RWD_CONTROL_ERRLEN]);

/* Once a second from the main thread: remove endpoints whose ttl_seconds
 * ran out without a new registration. */
void rwd_control_tick(struct rwd_control *c);

/* Hold while reading rwd_snapshot_get() outside a query thread. */
void rwd_control_read_lock(struct rwd_control *c);
void rwd_control_read_unlock(struct rwd_control *c);
