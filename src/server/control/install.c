/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rwd_control_zone_install (control.h): a zone version that came from
 * elsewhere (a transfer in, xfr/secondary.c) published as an API change
 * is: built first, then its serial, change log and digest stored in one
 * transaction, then published (ctl_prepare, the store, ctl_publish). Its
 * history continues the served version's with the diff, or starts again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/common/log.h"
#include "server/control/internal.h"
#include "server/store/journal.h"
#include "server/zone/history.h"
#include "server/zone/source.h"

/* The configuration entry of apex in view (NULL: top level), or NULL. */
static const struct rwd_conf_zone *conf_zone(const struct rwd_conf *conf, const char *view,
                                             const uint8_t *apex)
{
	const struct rwd_conf_zone *czs = conf->zones;
	size_t n = conf->n_zones;
	if (view) {
		n = 0;
		for (size_t v = 0; v < conf->n_views; v++)
			if (strcmp(conf->views[v].name, view) == 0) {
				czs = conf->views[v].zones;
				n = conf->views[v].n_zones;
			}
	}
	for (size_t i = 0; i < n; i++)
		if (rw_dname_eq(czs[i].dname, apex))
			return &czs[i];
	return NULL;
}

/* s lists the zone as failed with reason (an expired secondary copy), in
 * place of any failure it had: /v1/zones, /metrics and runway status show
 * it. 0 or RW_ENOMEM. */
static int add_failure(struct rwd_snapshot *s, const char *view, const uint8_t *apex,
                       const char *reason)
{
	struct rwd_zone_failure *v = realloc(s->failures, (s->n_failures + 1) * sizeof(*v));
	if (v == NULL)
		return RW_ENOMEM;
	s->failures = v;
	char name[1100];
	rw_dname_to_str(apex, name, sizeof(name));
	struct rwd_zone_failure *f = &v[s->n_failures];
	*f = (struct rwd_zone_failure){ .zone = strdup(name), .view = view ? strdup(view) : NULL,
	                                .error = strdup(reason), .errors = 1, .stale = false };
	memcpy(f->apex, apex, rw_dname_len(apex));
	if (f->zone == NULL || f->error == NULL || (view && f->view == NULL)) {
		free(f->zone);
		free(f->view);
		free(f->error);
		return RW_ENOMEM;
	}
	s->n_failures++;
	return 0;
}

int rwd_control_zone_install(struct rwd_control *c, const char *view, const uint8_t *apex,
                             struct rwd_zone *z, struct rwd_zone_diff *d, const char *reason,
                             char err[RWD_CONTROL_ERRLEN])
{
	char skey[1200], zname[1100];
	ctl_store_zone_name(view, apex, skey, sizeof(skey));
	rw_dname_to_str(apex, zname, sizeof(zname));
	pthread_mutex_lock(&c->lock);
	const struct rwd_zone *cur = c->srv && c->srv->conf && !c->stopping
	                             ? ctl_served_zone(view, apex) : NULL;
	if (cur == NULL) {
		rwd_zone_free(z);
		snprintf(err, RWD_CONTROL_ERRLEN, view ? "no zone '%.200s' in view '%.100s'"
		                                       : "no zone '%.200s'", zname, view);
		return ctl_unlock(c, RW_ENOENT);
	}
	const struct rwd_conf_zone *cz = conf_zone(c->srv->conf, view, apex);
	size_t max_depth = cz ? cz->journal_max_depth : 0;
	size_t max_bytes = cz ? (size_t)cz->journal_max_size : 0;
	bool placeholder = reason != NULL || z->failed || rwd_zone_is_placeholder(z);

	/* The history: the served one's and d, or none (a full replacement,
	 * or an expired zone, which serves no transfer). */
	struct rwd_zone_history *h = NULL;
	if (d && !placeholder && (h = rwd_zone_history_append(cur->history, d, max_depth,
	                                                      max_bytes)) == NULL) {
		rwd_zone_free(z);
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
		return ctl_unlock(c, RW_ENOMEM);
	}
	rwd_zone_history_free(z->history);
	z->history = h;
	uint64_t digest = 0;
	bool have_digest = false;
	if (c->store && !placeholder) {
		have_digest = true;
		if (d && h && h->n && rwd_journal_digest_get(c->store, skey, &digest) == 0)
			digest += rwd_zone_diff_digest(d);
		else
			digest = rwd_zone_digest(z);
	}
	uint32_t serial = z->serial;

	struct rwd_conf *conf = NULL;
	int ret = ctl_conf_live(c, &conf, err);
	if (ret < 0) {
		rwd_zone_free(z);
		return ctl_unlock(c, ret == RW_ENOMEM ? RW_ENOMEM : RW_EIO);
	}
	rwd_zone_history_ref(h);           /* for the store: ctl_prepare takes z over */
	struct rwd_snapshot *s = ctl_prepare(c, conf, z, view, err);
	if (s == NULL)
		ret = RW_ENOMEM;
	if (ret == 0 && reason && add_failure(s, view, apex, reason) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
		ret = RW_ENOMEM;
	}
	if (ret == 0 && c->store) {
		struct rwd_store_txn *t = NULL;
		ret = rwd_store_begin(c->store, &t);
		if (ret == 0 && !placeholder) {
			char sv[16];
			snprintf(sv, sizeof(sv), "%u", serial);
			ret = rwd_store_put(t, "serials", skey, sv, strlen(sv));
		}
		if (ret == 0)
			ret = h && h->n ? rwd_journal_sync(t, skey, h) : rwd_journal_clear(t, skey);
		if (ret == 0 && have_digest)
			ret = rwd_journal_digest_put(t, skey, digest);
		ret = ctl_store_end(t, ret, err);
	}
	rwd_zone_history_free(h);
	if (ret < 0) {
		rwd_snapshot_free(s);
		rwd_conf_free(conf);
		return ctl_unlock(c, ret);
	}
	ctl_publish(c, s, conf);
	if (reason)
		rwd_warn("zone %s%s%s: %s: queries get SERVFAIL", zname, view ? " in view " : "",
		         view ? view : "", reason);
	else
		rwd_info("zone %s%s%s: serial %u installed (%s)", zname, view ? " in view " : "",
		         view ? view : "", serial, d ? "a difference" : "a full copy");
	/* a catalog consumer's members follow the new version (catalog.c) */
	return ctl_unlock(c, ctl_catalog_installed(c, view, apex) > 0 ? 1 : 0);
}
