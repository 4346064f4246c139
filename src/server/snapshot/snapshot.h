/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the query path reads: one immutable snapshot of zones and settings.
 * Published by swapping one pointer under RCU (liburcu QSBR flavour):
 * workers never lock; a reload builds a new snapshot, publishes it, waits
 * for a grace period and frees the old one. Later issues add views, traffic
 * policies and health state here, so one swap changes them consistently.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "server/common/acl.h"
#include "server/common/tsig.h"
#include "server/steer/geo.h"
#include "server/steer/model.h"
#include "server/zone/zonedb.h"

#define RWD_NSID_MAX 128

struct rwd_rrl;

/*
 * A view (config views:): the zone set its clients see. Its zonedb holds
 * the view's own zones first, zones[0..n_own), then by reference every
 * top-level zone (the very objects of the snapshot's zones) whose apex
 * none of its own has: top-level zones are loaded once, whatever the
 * number of views.
 */
struct rwd_view {
	char *name;
	struct rwd_acl match;          /* a copy of the config's */
	struct rwd_zonedb *zones;
	size_t n_own;
};

/*
 * A zone whose last load (at start, at reload) failed. Its zonedb entry is
 * then its previous version (stale: a reload failed) or a placeholder that
 * answers SERVFAIL (rwd_zone_failed(): it never loaded, or the previous
 * version was such a placeholder). The next reload tries the file again.
 */
struct rwd_zone_failure {
	char *zone;                    /* "example.com." */
	uint8_t apex[255];             /* flat, lowercased */
	char *view;                    /* the view whose own zone it is; NULL: top level */
	char *error;                   /* the first error, "FILE:LINE: message" */
	unsigned errors;               /* errors the load reported */
	bool stale;                    /* the previous version is served */
};

/*
 * What the query path needs of a zone's transfer settings (conf's zones:
 * allow_transfer, allow_notify, primaries), by apex and view: the transfer
 * and notify stages look them up (rare queries: a linear scan is fine).
 */
struct rwd_xfr_rule {
	struct rwd_acl match;                /* a copy */
	const struct rwd_tsig_key *key;      /* in the snapshot's keyring; NULL: any or none */
};
struct rwd_zone_settings {
	uint8_t apex[255];                   /* flat, lowercased */
	uint8_t apex_len;
	uint32_t view;                       /* index of the view + 1; 0: top level */
	bool secondary;                      /* primaries: set */
	struct rwd_xfr_rule *allow_transfer; /* none: transfers are REFUSED */
	size_t n_allow_transfer;
	struct rwd_xfr_rule *allow_notify;   /* only for secondaries */
	size_t n_allow_notify;
};

/* Where a NOTIFY accepted for a secondary zone goes (xfr/secondary.c): called
 * on the query path (any thread); must not block (it wakes a service). */
struct rwd_notify_sink {
	void (*fn)(void *ctx, uint32_t view, const uint8_t *apex, uint32_t serial);
	void *ctx;
};

struct rwd_snapshot {
	struct rwd_zonedb *zones;      /* the top-level zones; all that is served without views */
	struct rwd_view *views;        /* in config order; NULL without views */
	size_t n_views;
	struct rwd_model *model;       /* traffic names, endpoints, checks; never NULL */
	struct rwd_geo *geo;           /* client location; NULL without geoip */
	uint16_t edns_udp_size;        /* largest UDP answer we send with EDNS */
	uint16_t nsid_len;             /* 0: no NSID configured */
	uint8_t nsid[RWD_NSID_MAX];
	struct rwd_rrl *rrl;           /* response rate limiting (limit/rrl.h); NULL: off */
	bool cookies;                  /* answer DNS Cookies (query/cookie.c) */
	uint8_t cookie_secret[16];     /* RFC 9018 server secret */
	uint64_t generation;           /* increments with every publication */
	struct rwd_zone_failure *failures;  /* zones whose last load failed, in config order */
	size_t n_failures;
	uint64_t zone_load_failures;   /* zone loads that failed since start (a counter) */
	struct rwd_tsig_keyring tsig;  /* tsig_keys: (common/tsig.h) */
	struct rwd_zone_settings *zone_settings;  /* zones with transfer settings */
	size_t n_zone_settings;
	struct rwd_notify_sink notify_sink;       /* fn NULL: NOTIFY is refused */
	unsigned xfr_max_out;          /* transfers out at once (xfr.max_out) */
};

/* The transfer settings of the zone at apex in view (0: top level; a view's
 * zone falls back to the top level's settings when it is not its own), or
 * NULL: no transfers, no NOTIFY. */
const struct rwd_zone_settings *rwd_snapshot_zone_settings(const struct rwd_snapshot *s,
                                                           uint32_t view, const uint8_t *apex,
                                                           size_t apex_len);

/*
 * The zone set client sees: without views, s->zones; with views, that of
 * the first view whose match list holds client's address (*view, if not
 * NULL, is set to it), or NULL when none does (the query is REFUSED).
 * client NULL matches only views that match `any`.
 */
static inline const struct rwd_zonedb *rwd_snapshot_zones_for(const struct rwd_snapshot *s,
                                                              const struct sockaddr *client,
                                                              const struct rwd_view **view)
{
	const struct rwd_view *v = NULL;
	const struct rwd_zonedb *db = s->zones;
	if (s->n_views) {
		db = NULL;
		for (size_t i = 0; i < s->n_views && db == NULL; i++)
			if (rwd_acl_match(&s->views[i].match, client))
				v = &s->views[i], db = v->zones;
	}
	if (view)
		*view = v;
	return db;
}

/* The view called name, or NULL. */
const struct rwd_view *rwd_snapshot_view(const struct rwd_snapshot *s, const char *name);

/* The current snapshot. Only valid inside an RCU read-side section
 * (for QSBR: while the calling thread is online). */
const struct rwd_snapshot *rwd_snapshot_get(void);

/* Publish s and return the previous snapshot once no reader can see it
 * (after a grace period), for the caller to free. One publisher at a time:
 * callers hold the control lock (control/control.h), or are the only thread. */
struct rwd_snapshot *rwd_snapshot_swap(struct rwd_snapshot *s);

/* rwd_snapshot_swap, then free the previous snapshot. */
void rwd_snapshot_publish(struct rwd_snapshot *s);

/* The failure of the zone with this apex (view NULL: top level), or NULL. */
const struct rwd_zone_failure *rwd_snapshot_failure(const struct rwd_snapshot *s,
                                                    const char *view, const uint8_t *apex);

/* Free failures f[0..n) and the array. NULL is allowed. */
void rwd_failures_free(struct rwd_zone_failure *f, size_t n);

/* Free a snapshot no reader can see. */
void rwd_snapshot_free(struct rwd_snapshot *s);

/* Free views v[0..n) (their zonedbs drop their zone references). NULL is allowed. */
void rwd_views_free(struct rwd_view *v, size_t n);
