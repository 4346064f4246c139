/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * From configuration to a published snapshot: loading every zone, and at
 * reload keeping the previous version of any zone that fails to load again.
 */
#pragma once
#include "server/conf/conf.h"
#include "server/snapshot/snapshot.h"
#include "server/dnstap/dnstap.h"
#include "server/health/health.h"
#include "server/net/tcp.h"
#include "server/net/udp.h"

/* Told of each zone a publication serves with a new serial (or newly):
 * apex flat, view NULL for the top level. Called by the publishing thread
 * under the control lock, before the previous snapshot is freed: must not
 * block (NOTIFY, xfr/notify.c, queues the work for its own thread). */
typedef void (*rwd_zone_serial_fn)(void *ctx, const char *view, const uint8_t *apex,
                                   uint32_t serial);

/* The running daemon: what main() starts and every change goes through. */
struct rwd_server {
	rwd_zone_serial_fn on_zone_serial;   /* NULL: nobody listens */
	void *on_zone_serial_ctx;
	struct rwd_conf *conf;
	struct rwd_health *health;
	struct rwd_udp *udp;
	struct rwd_tcp *tcp;
	struct rwd_dnstap *dnstap;     /* NULL: no dnstap output */
};

/*
 * Load every zone of conf (top level and views') into a new snapshot, with
 * conf's views, traffic model (taken over: conf->model becomes NULL) and
 * its geo data, each zone held to conf->zone_limits. Each problem is logged
 * as "FILE:LINE: message". A zone that fails to load keeps its version from
 * prev (reload; a view's zone: that view's own version), or else is served
 * by a placeholder that answers SERVFAIL (rwd_zone_failed: the zone stays
 * known by name, as in Knot DNS); either way it is listed in s->failures,
 * and the next build tries its file again. Without prev (start-up) with
 * conf->strict_zones, any zone that fails fails the whole build (NULL), as
 * does geo data that fails to open. *n_errors counts errors.
 */
/* Fills out for zone cz before it loads; called again with cz NULL after,
 * to release what it allocated. */
typedef void (*rwd_zone_opts_fn)(void *ctx, const struct rwd_conf_zone *cz,
                                 struct rwd_zone_load_opts *out);
struct rwd_snapshot *rwd_server_build(struct rwd_conf *conf,
                                      const struct rwd_snapshot *prev, unsigned *n_errors);
/* The same, with load options (overrides, serial) per zone from opts(). */
struct rwd_snapshot *rwd_server_build_opts(struct rwd_conf *conf, const struct rwd_snapshot *prev,
                                           rwd_zone_opts_fn opts, void *opts_ctx,
                                           unsigned *n_errors);
/*
 * A new snapshot for conf that reuses prev's zones and views (by
 * reference), except that replace (if not NULL) takes the place of the zone
 * with its apex: at the top level (view NULL, and so in every view that does
 * not have its own zone of that apex), or among the own zones of the view
 * called view. replace is taken over in any case. prev's failures stay,
 * but that of the zone replace loaded. For live changes: no zone file is
 * read again. NULL when out of memory or geo data fails to open.
 */
struct rwd_snapshot *rwd_server_rebuild(struct rwd_conf *conf, const struct rwd_snapshot *prev,
                                        struct rwd_zone *replace, const char *view);

/* Where every snapshot built from now on sends NOTIFYs for secondary zones
 * (xfr/secondary.c sets it before the first build; NULL fn: refused). */
void rwd_server_set_notify_sink(const struct rwd_notify_sink *sink);

/*
 * Make s the snapshot queries see, hand its model to the health checker and
 * free the previous snapshot, in that order: the checker must let go of the
 * old model before it is freed. One publisher at a time: under the
 * control lock (control/control.h), from whichever thread holds it.
 */
void rwd_server_publish(struct rwd_server *srv, struct rwd_snapshot *s);
