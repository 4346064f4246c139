/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/dname.h"
#include "server/snapshot/snapshot.h"
#include "server/limit/rrl.h"

static struct rwd_snapshot *current;

const struct rwd_snapshot *rwd_snapshot_get(void)
{
	return rcu_dereference(current);
}

void rwd_snapshot_free(struct rwd_snapshot *s)
{
	if (s == NULL)
		return;
	rwd_zonedb_free(s->zones);
	rwd_views_free(s->views, s->n_views);
	rwd_model_free(s->model);
	rwd_geo_close(s->geo);
	rwd_rrl_free(s->rrl);
	rwd_failures_free(s->failures, s->n_failures);
	for (size_t i = 0; s->zone_settings && i < s->n_zone_settings; i++) {
		struct rwd_zone_settings *z = &s->zone_settings[i];
		for (size_t k = 0; k < z->n_allow_transfer; k++)
			rwd_acl_free(&z->allow_transfer[k].match);
		free(z->allow_transfer);
		for (size_t k = 0; k < z->n_allow_notify; k++)
			rwd_acl_free(&z->allow_notify[k].match);
		free(z->allow_notify);
	}
	free(s->zone_settings);
	rwd_tsig_keyring_free(&s->tsig);
	free(s);
}

void rwd_failures_free(struct rwd_zone_failure *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].zone);
		free(f[i].view);
		free(f[i].error);
	}
	free(f);
}

const struct rwd_zone_failure *rwd_snapshot_failure(const struct rwd_snapshot *s,
                                                    const char *view, const uint8_t *apex)
{
	for (size_t i = 0; i < s->n_failures; i++) {
		const struct rwd_zone_failure *f = &s->failures[i];
		if ((view == NULL) == (f->view == NULL) && (view == NULL || !strcmp(view, f->view)) &&
		    rw_dname_eq(apex, f->apex))
			return f;
	}
	return NULL;
}

const struct rwd_zone_settings *rwd_snapshot_zone_settings(const struct rwd_snapshot *s,
                                                           uint32_t view, const uint8_t *apex,
                                                           size_t apex_len)
{
	const struct rwd_zone_settings *top = NULL;
	for (size_t i = 0; i < s->n_zone_settings; i++) {
		const struct rwd_zone_settings *z = &s->zone_settings[i];
		if (z->apex_len != apex_len || memcmp(z->apex, apex, apex_len) != 0)
			continue;
		if (z->view == view)
			return z;
		if (z->view == 0)
			top = z;
	}
	/* a view's zone that is not its own is the top level's */
	if (top && view && s->views && view <= s->n_views &&
	    rwd_zonedb_get(s->views[view - 1].zones, apex, apex_len) !=
	        rwd_zonedb_get(s->zones, apex, apex_len))
		return NULL;
	return top;
}

void rwd_views_free(struct rwd_view *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		rwd_acl_free(&v[i].match);
		rwd_zonedb_free(v[i].zones);
	}
	free(v);
}

const struct rwd_view *rwd_snapshot_view(const struct rwd_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_views; i++)
		if (!strcmp(s->views[i].name, name))
			return &s->views[i];
	return NULL;
}

struct rwd_snapshot *rwd_snapshot_swap(struct rwd_snapshot *s)
{
	struct rwd_snapshot *old = current;
	s->generation = old ? old->generation + 1 : 1;
	rcu_xchg_pointer(&current, s);
	if (old)
		synchronize_rcu();   /* every worker has passed a quiescent state */
	return old;
}

void rwd_snapshot_publish(struct rwd_snapshot *s)
{
	rwd_snapshot_free(rwd_snapshot_swap(s));
}
