/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to the control layer (control.h), split by concern:
 *   control.c    the lock, the one way to publish, start-up build, reload
 *   overlays.c   the store's traffic/endpoint/drain changes as config
 *                overlays; stored changes that no longer apply; traffic
 *   changes.c    listing and dropping stored changes (API, runway changes)
 *   zones.c      RRset changes (records from text, overrides, the batch)
 *   compact.c    background zone compaction, with a backoff on failure
 *   endpoints.c  registration, its expiry (rwd_control_tick), drains
 *   latency.c    real-user RTT samples and their merge into the model
 *
 * Threading: every function here runs under c->lock (the caller holds it)
 * unless it says otherwise. The lock makes the holder the one publisher:
 * the API thread, the main thread (reload, tick) and the compaction thread
 * all publish, one at a time.
 */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "server/control/control.h"
#include "server/store/store.h"

/* A stored change that no longer applies to the file (skipped at start or
 * reload, or by runway check), and why. */
struct skipped_change {
	char *key;                     /* "TABLE/KEY", as GET /v1/changes names it */
	char *error;
};
struct skipped_list {
	struct skipped_change *v;
	size_t n;
};

/* One write to the store: put value, or delete the key (value NULL). */
struct store_op {
	const char *table, *key, *value;
};

/* A zone whose compaction failed: when to try again. */
struct compact_backoff {
	char skey[1200];               /* the zone in store keys */
	unsigned failures;             /* in a row */
	time_t next;                   /* no new attempt before (monotonic seconds) */
	char error[RWD_CONTROL_ERRLEN];   /* the last failure, logged once */
};

struct rwd_control {
	struct rwd_server *srv;        /* NULL: runway check (nothing is published) */
	struct rwd_store *store;       /* NULL: no api.data, changes are refused */
	pthread_mutex_t lock;
	/* Zone compaction in the background (rwd_zone_wants_compaction): at
	 * most one thread at a time; these fields under lock. */
	pthread_t compactor;
	bool compacting;               /* started, not joined yet */
	bool compacted;                /* and finished: join it before the next */
	bool stopping;                 /* rwd_control_stop(): publish nothing more */
	struct compact_backoff *backoff;
	size_t n_backoff;
	/* Stored changes left out of the running state (overlays.c). */
	struct skipped_list skipped;
	/* While rwd_control_build runs: the changes it leaves out (zones.c
	 * leaves out RRsets in it); else NULL and c->skipped counts. */
	struct skipped_list *building;
	/* Latency averages being written (latency.c): the merge sees them
	 * before they are stored. */
	const struct store_op *pending;
	size_t n_pending;
	/* Counters for /metrics (rwd_control_metrics). */
	uint64_t skipped_total;        /* stored changes skipped, every start and reload */
	uint64_t compactions, compaction_failures;
	uint64_t publish_failures;     /* changes refused because the state would not build */
	/* Traffic names rendered into transferred zones (render.c): when each
	 * zone was last published for a new rendering. */
	struct ctl_render_zone *render;
	size_t n_render;
	/* What the last complete pass saw (snapshot generation, health
	 * publications): the same again, nothing can have changed. */
	bool render_seen;
	uint64_t render_gen, render_health;
	/* Members of consumed catalogs (catalog.c), as stored. */
	struct ctl_catalog *catalog;
};

/* ---- control.c ---- */

/* Build the snapshot that makes conf (and zone, if set: of view, or the
 * top level) the running state; takes zone over, and conf's model. NULL
 * (with err) when it cannot be built: nothing may then be stored. */
struct rwd_snapshot *ctl_prepare(struct rwd_control *c, struct rwd_conf *conf,
                                 struct rwd_zone *zone, const char *view,
                                 char err[RWD_CONTROL_ERRLEN]);
/* Publish s (from ctl_prepare with conf), which cannot fail; conf becomes
 * the live configuration. */
void ctl_publish(struct rwd_control *c, struct rwd_snapshot *s, struct rwd_conf *conf);

/* Unlock and return ret. */
int ctl_unlock(struct rwd_control *c, int ret);

/* Apply ops in one transaction, made durable. 0 or RW_EIO (err filled). */
/* Commit t when ret is 0, else abort it (t may be NULL: begin failed);
 * RW_EIO with "cannot write the store: nothing was changed" in err on any
 * failure, else 0. */
int ctl_store_end(struct rwd_store_txn *t, int ret, char err[RWD_CONTROL_ERRLEN]);
int ctl_store_write(struct rwd_control *c, const struct store_op *ops, size_t n,
                    char err[RWD_CONTROL_ERRLEN]);

/* ---- overlays.c ---- */

struct overlays {
	struct rwd_conf_overlay *v;
	size_t n, cap;
	char **owned;                  /* keys and values we copied */
	size_t n_owned;
};

int overlays_add(struct overlays *o, struct rwd_conf_overlay ov);
void overlays_free(struct overlays *o);

/* The stored traffic, endpoint and drain changes, in the order they apply,
 * leaving out table/key (the one being changed) and those skipped. */
int overlays_collect(struct rwd_control *c, struct overlays *o, const char *skip_table,
                     const char *skip_key);

/* The configuration base with overlays and the stored latency averages:
 * what the running state should be, in *out. 0, RW_EINVAL (the result does
 * not validate; err says why) or RW_ENOMEM. */
int ctl_conf_with(struct rwd_control *c, const struct rwd_conf *base, const struct overlays *o,
                  struct rwd_conf **out, char err[RWD_CONTROL_ERRLEN]);

/* The live configuration with every applied stored change (the zones'
 * changes leave it as it is): what a zone change publishes with it. */
int ctl_conf_live(struct rwd_control *c, struct rwd_conf **out, char err[RWD_CONTROL_ERRLEN]);

/*
 * The stored changes on top of base, leaving out (and recording in
 * c->skipped, and reporting) each that no longer applies: start, reload,
 * runway check. NULL only when out of memory or the latency merge fails.
 */
typedef void (*ctl_report_fn)(void *ctx, const char *msg);
struct rwd_conf *ctl_conf_stored(struct rwd_control *c, const struct rwd_conf *base,
                                 struct skipped_list *skipped, ctl_report_fn report, void *ctx);

/*
 * Validate a change of table/key (change NULL: the stored entry is
 * forgotten), write ops in one transaction, publish. Nothing is written
 * when the result would not validate (RW_EINVAL, "still referenced" and
 * the like) or not build (RW_ENOMEM); RW_EIO when the store fails.
 */
int ctl_overlay_change(struct rwd_control *c, const char *table, const char *key,
                       const struct rwd_conf_overlay *change, const struct store_op *ops,
                       size_t n_ops, char err[RWD_CONTROL_ERRLEN]);

/* Forget that table/key was skipped (it was replaced or dropped). */
void ctl_unskip(struct rwd_control *c, const char *table, const char *key);
bool ctl_is_skipped(const struct rwd_control *c, const char *table, const char *key);

/* Record a skipped change (origin "store TABLE/KEY", why) in l and
 * report it. 0 or RW_ENOMEM. */
int ctl_skip(struct skipped_list *l, const char *origin, const char *error, ctl_report_fn report,
             void *ctx);

/* ---- zones.c ---- */

/* The stored RRset changes that keep zone cz from loading (it loads
 * without them), found by halving and added to skipped (and reported).
 * How many, or RW_ENOMEM/RW_EIO. */
int ctl_zone_skip_broken(struct rwd_control *c, const struct rwd_conf_zone *cz,
                         struct skipped_list *skipped, ctl_report_fn report, void *ctx);

/* rwd_zone_opts_fn: the store's overrides and serial for a zone. */
void ctl_zone_opts(void *ctx, const struct rwd_conf_zone *cz, struct rwd_zone_load_opts *out);

/* The zone in store keys: its apex, or "@VIEW/apex" for a view's own zone. */
void ctl_store_zone_name(const char *view, const uint8_t *apex, char *out, size_t size);

/* Load a zone afresh from its file and the store's overrides, with serial
 * (0: the file's), held to limits (NULL: the defaults); skip_key: a stored
 * RRset key to leave out. Callers off the lock (compaction) pass a copy of
 * the limits, never ctl_zone_limits(): the configuration may be replaced. */
struct rwd_zone *ctl_zone_load(struct rwd_control *c, const uint8_t *apex, const char *file,
                               const char *skey, uint32_t serial, const char *skip_key,
                               const struct rwd_zone_limits *limits,
                               char err[RWD_CONTROL_ERRLEN]);

/* After a build (start, reload): the serial and history of every zone
 * version s loaded, from the version prev served (NULL: the store's), and
 * the store's serials, logs and digests to match (zones.c). */
void ctl_zones_settle(struct rwd_control *c, const struct rwd_conf *conf, struct rwd_snapshot *s,
                      const struct rwd_snapshot *prev);

/* A zone's serial as the store has it (0: none). */
uint32_t ctl_stored_serial(struct rwd_control *c, const char *skey);

/* Report callback for zone loads: keeps the first error (not warning) in
 * err as "the zone would not load: ...". */
struct zone_report {
	char *err;
	bool any;
};
void ctl_zone_report(void *ctx, const char *msg);
/* The configured zone_limits, NULL without a running configuration (defaults).
 * Under the control lock only: the configuration is replaced by changes. */
const struct rwd_zone_limits *ctl_zone_limits(const struct rwd_control *c);

/* The zone served at apex, in view (NULL: top level). */
const struct rwd_zone *ctl_served_zone(const char *view, const uint8_t *apex);

/* ---- compact.c ---- */

/* Start compacting zone (just published, a reference taken for us) from its
 * file (ours to free), unless a recent failure of this zone says wait. */
void ctl_compact_start(struct rwd_control *c, struct rwd_zone *zone, const char *view,
                       char *file, const char *skey, const char *zname);
/* Wait for a running compaction (lock not held). */
void ctl_compact_stop(struct rwd_control *c);

/* ---- render.c ---- */

/* rwd_zone_opts_fn of a build (start, reload): ctl_zone_opts, then the
 * rendering of the zone's traffic names for secondaries, with conf's model
 * (its slots renumbered after prev's, as the build will) and the health
 * state now. */
struct ctl_render_build {
	struct rwd_control *c;
	struct rwd_conf *conf;
	const struct rwd_snapshot *prev;
	bool slots_kept;
};
void ctl_render_opts(void *ctx, const struct rwd_conf_zone *cz, struct rwd_zone_load_opts *out);
/* After the build of s (not published): what the loaded zones themselves
 * tell (an ALIAS to a name of a zone, a CNAME where the name holds nothing
 * else), patched into them; before ctl_zones_settle, so that serials and
 * histories see the whole rendering. */
void ctl_render_built(struct rwd_control *c, const struct rwd_conf *conf, struct rwd_snapshot *s,
                      const struct rwd_snapshot *prev);
/* Render every zone that is transferred out again and publish those whose
 * rendering changed, at most once a second each. Takes the lock. */
void ctl_render_tick(struct rwd_control *c);
void ctl_render_free(struct rwd_control *c);

/* ---- catalog.c ---- */

/* Append to conf (fresh from the file) a zone for each member of its
 * catalog consumers, as stored; with report, log those left out. Once per
 * conf (a conf holding members is left as it is). 0 or RW_ENOMEM. */
int ctl_catalog_conf(struct rwd_control *c, struct rwd_conf *conf, bool report);
/* After the publication of a new version of apex in view: when it is a
 * catalog consumer whose members changed, store them and publish again
 * with their zones. 1 then (the zone list changed), 0 when nothing
 * changed, <0 when the members could not be taken (logged). */
int ctl_catalog_installed(struct rwd_control *c, const char *view, const uint8_t *apex);
void ctl_catalog_free(struct rwd_control *c);

/* ---- latency.c ---- */

/* The model's latency rows with the stored averages on top (linear). */
int ctl_merge_latency(struct rwd_control *c, struct rwd_model *m);
