/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Endpoints: registration (PUT /v1/endpoints/NAME, optionally with a TTL
 * that must be renewed), its expiry (rwd_control_tick, once a second from
 * the main thread) and drains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "server/common/log.h"
#include "server/control/internal.h"

int rwd_control_endpoint_put(struct rwd_control *c, const char *name, const char *json,
                             unsigned ttl_seconds, char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "PUT /v1/endpoints/%s", name);
	struct rwd_conf_overlay ov = { "endpoints", name, NULL, json, origin };
	/* A registration with a TTL must be renewed, or rwd_control_tick()
	 * removes it; without one it stays until deleted. One transaction. */
	char until[32];
	snprintf(until, sizeof(until), "%lld", (long long)time(NULL) + ttl_seconds);
	struct store_op ops[] = {
		{ "endpoints", name, json },
		{ "expiry", name, ttl_seconds ? until : NULL },
		{ "drains", name, NULL },
	};
	pthread_mutex_lock(&c->lock);
	/* Registering again ends a drain its lapsed lease caused (the drain
	 * stood for the missing registration), in the same transaction; an
	 * operator's drain stays (ctl_overlay_change applies it on top). */
	const struct rwd_endpoint *ep = rwd_model_find_endpoint(rwd_snapshot_get()->model, name);
	bool lease = ep && ep->drained && ep->drained_by == RWD_DRAIN_LEASE;
	int ret = ctl_overlay_change(c, "endpoints", name, &ov, ops, lease ? 3 : 2, err);
	if (ret == 0 && lease)
		rwd_info("endpoint %s: registered again, which ends its lease's drain", name);
	return ctl_unlock(c, ret);
}

/*
 * A stored drain (drains/NAME): {"by": "operator"|"lease", "since": UNIX
 * SECONDS}, which the change list shows as it is; overlays.c reads it back
 * onto the model (rwd_endpoint.drained_by/_since). Stores before this kept
 * "true", which reads as an operator's drain of unknown time.
 */
static void ctl_drain_value(char *buf, size_t size, enum rwd_drain_by by, long long since)
{
	snprintf(buf, size, "{\"by\": \"%s\", \"since\": %lld}",
	         by == RWD_DRAIN_LEASE ? "lease" : "operator", since);
}

int rwd_control_drain(struct rwd_control *c, const char *endpoint, bool drained,
                      char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "POST /v1/endpoints/%s/%s", endpoint,
	         drained ? "drain" : "undrain");
	pthread_mutex_lock(&c->lock);
	/* The drain says who and since when (ctl_drain_value); draining again
	 * keeps the time of the operator's first drain. */
	const struct rwd_endpoint *ep = rwd_model_find_endpoint(rwd_snapshot_get()->model, endpoint);
	long long since = ep && ep->drained && ep->drained_by == RWD_DRAIN_OPERATOR &&
	                  ep->drained_since ? (long long)ep->drained_since : (long long)time(NULL);
	char value[80];
	ctl_drain_value(value, sizeof(value), RWD_DRAIN_OPERATOR, since);
	struct rwd_conf_overlay ov = { "endpoints", endpoint, "drained", drained ? value : NULL,
	                               origin };
	struct store_op op = { "drains", endpoint, drained ? value : NULL };
	int ret;
	if (drained) {
		ret = ctl_overlay_change(c, "drains", endpoint, &ov, &op, 1, err);
	} else {
		/* Undrain forgets the stored drain; the endpoint must exist. */
		ret = ep ? 0 : RW_ENOENT;
		if (ret < 0)
			snprintf(err, RWD_CONTROL_ERRLEN, "no endpoint '%s'", endpoint);
		else
			ret = ctl_overlay_change(c, "drains", endpoint, NULL, &op, 1, err);
	}
	return ctl_unlock(c, ret);
}

/* ---- registration expiry ---- */

struct expired {
	char names[64][128];
	time_t ends[64];               /* when each lease ended */
	size_t n;
	time_t now;
};

static int find_expired(void *ctx, const char *key, const void *val, size_t len)
{
	struct expired *x = ctx;
	char text[32];
	if (len >= sizeof(text) || x->n == 64 || strlen(key) >= sizeof(x->names[0]))
		return 0;
	memcpy(text, val, len);
	text[len] = '\0';
	time_t end = (time_t)strtoll(text, NULL, 10);
	if (end <= x->now) {
		x->ends[x->n] = end;
		snprintf(x->names[x->n++], sizeof(x->names[0]), "%s", key);
	}
	return 0;
}

/*
 * One expired registration. Forgetting it is the normal case, with its
 * drain when it has one and nothing else defines the endpoint (the drain
 * would name an endpoint that is gone). When a policy still names it (the
 * change does not validate: RW_EINVAL) it stays, down but valid: drained
 * as the lease's, unless the operator drained it already (that drain says
 * more, and stays). The expiry key goes in the same transaction as
 * whichever succeeds; when none does (the store or the rebuild failed) it
 * stays, and the next tick tries again.
 */
static void expire(struct rwd_control *c, const char *name, time_t end)
{
	char err[RWD_CONTROL_ERRLEN], why[RWD_CONTROL_ERRLEN];
	const struct rwd_endpoint *ep = rwd_model_find_endpoint(rwd_snapshot_get()->model, name);
	bool drained = ep && ep->drained, by_operator = drained && ep->drained_by == RWD_DRAIN_OPERATOR;
	struct store_op forget[] = { { "endpoints", name, NULL }, { "expiry", name, NULL },
	                             { "drains", name, NULL } };
	int ret = ctl_overlay_change(c, "endpoints", name, NULL, forget, 2, why);
	if (ret == RW_EINVAL && drained)
		ret = ctl_overlay_change(c, "endpoints", name, NULL, forget, 3, why);
	if (ret == 0) {
		rwd_info("endpoint %s: registration expired, removed", name);
		return;
	}
	if (ret != RW_EINVAL) {
		rwd_error("endpoint %s: registration expired, but cannot be removed (tried again "
		          "in a second): %s", name, why);
		return;
	}
	if (by_operator) {
		ret = ctl_overlay_change(c, "expiry", name, NULL, &forget[1], 1, err);
		if (ret == 0)
			rwd_warn("endpoint %s: registration expired; still used (%s): stays drained by "
			         "the operator", name, why);
		else
			rwd_error("endpoint %s: registration expired; still used (%s), and its expiry "
			          "cannot be forgotten (tried again in a second): %s", name, why, err);
		return;
	}
	char origin[200];
	snprintf(origin, sizeof(origin), "expiry of %s", name);
	/* Drained by the lease, since it ended: not an operator's drain. */
	char value[80];
	ctl_drain_value(value, sizeof(value), RWD_DRAIN_LEASE, (long long)end);
	struct rwd_conf_overlay ov = { "endpoints", name, "drained", value, origin };
	struct store_op drain[] = { { "drains", name, value }, { "expiry", name, NULL } };
	ret = ctl_overlay_change(c, "drains", name, &ov, drain, 2, err);
	if (ret == 0)
		rwd_warn("endpoint %s: registration expired; still used (%s): drained instead", name,
		         why);
	else
		rwd_error("endpoint %s: registration expired; still used (%s), and cannot be drained "
		          "(tried again in a second): %s", name, why, err);
}

void rwd_control_tick(struct rwd_control *c)
{
	ctl_render_tick(c);            /* traffic names in transferred zones (render.c) */
	if (c == NULL || c->store == NULL)
		return;
	struct expired x = { .now = time(NULL) };
	pthread_mutex_lock(&c->lock);
	rwd_store_foreach(c->store, "expiry", find_expired, &x);
	for (size_t i = 0; i < x.n; i++)
		expire(c, x.names[i], x.ends[i]);
	pthread_mutex_unlock(&c->lock);
}
