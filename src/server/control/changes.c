/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The stored changes as a list an operator can read and prune (GET and
 * DELETE /v1/changes, runway changes), and what runway check does with
 * them: the same leniency as the start-up build, each change that no
 * longer applies reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/common/log.h"
#include "server/control/internal.h"
#include "server/store/journal.h"
#include "server/zone/source.h"

/* The tables listed, in the order they apply. */
static const char *const listed[] = { "endpoints", "traffic", "drains", "expiry", "rrsets" };

static bool split_key(const char *key, char table[16], const char **k);

struct walk {
	struct rwd_control *c;
	const char *table;
	rwd_stored_change_fn fn;
	void *ctx;
};

static int walk_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct walk *w = ctx;
	char full[1100];
	char *value = strndup(val, len);
	if (value == NULL)
		return RW_ENOMEM;
	snprintf(full, sizeof(full), "%s/%s", w->table, key);
	const struct skipped_change *s = NULL;
	for (size_t i = 0; i < w->c->skipped.n && s == NULL; i++)
		if (strcasecmp(w->c->skipped.v[i].key, full) == 0)
			s = &w->c->skipped.v[i];
	struct rwd_stored_change ch = { full, value, s ? s->error : NULL };
	int ret = w->fn(w->ctx, &ch);
	free(value);
	return ret;
}

int rwd_control_changes(struct rwd_control *c, rwd_stored_change_fn fn, void *ctx)
{
	if (c->store == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	int ret = 0;
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]) && ret == 0; i++) {
		struct walk w = { c, listed[i], fn, ctx };
		ret = rwd_store_foreach(c->store, listed[i], walk_one, &w);
	}
	return ctl_unlock(c, ret);
}

/* Forget the stored RRset key ("ZONE|OWNER|TYPE"): its zone is loaded
 * afresh without it, with a new serial. */
static int drop_rrset(struct rwd_control *c, const char *key, char err[RWD_CONTROL_ERRLEN])
{
	char skey[1200], view[256] = "", apex_text[1200];
	const char *bar = strchr(key, '|');
	if (bar == NULL || (size_t)(bar - key) >= sizeof(skey)) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no stored change 'rrsets/%.200s'", key);
		return RW_ENOENT;
	}
	memcpy(skey, key, (size_t)(bar - key));
	skey[bar - key] = '\0';
	const char *apex_at = skey;
	if (skey[0] == '@') {
		const char *slash = strchr(skey, '/');
		if (slash == NULL || (size_t)(slash - skey - 1) >= sizeof(view)) {
			snprintf(err, RWD_CONTROL_ERRLEN, "no stored change 'rrsets/%.200s'", key);
			return RW_ENOENT;
		}
		memcpy(view, skey + 1, (size_t)(slash - skey - 1));
		view[slash - skey - 1] = '\0';
		apex_at = slash + 1;
	}
	snprintf(apex_text, sizeof(apex_text), "%s", apex_at);
	uint8_t apex[RW_DNAME_MAXLEN];
	const struct rwd_conf_zone *cz = NULL;
	const struct rwd_conf *conf = c->srv->conf;
	if (rw_dname_from_str(apex_text, NULL, apex) >= 0) {
		rw_dname_lower(apex);
		const struct rwd_conf_zone *czs = conf->zones;
		size_t n = conf->n_zones;
		for (size_t v = 0; view[0] && v < conf->n_views; v++)
			if (strcmp(conf->views[v].name, view) == 0) {
				czs = conf->views[v].zones;
				n = conf->views[v].n_zones;
			}
		for (size_t i = 0; i < n && cz == NULL; i++)
			if (rw_dname_eq(czs[i].dname, apex))
				cz = &czs[i];
	}
	const struct rwd_zone *cur = cz ? ctl_served_zone(view[0] ? view : NULL, apex) : NULL;
	struct store_op forget = { "rrsets", key, NULL };
	if (cur == NULL) {                 /* a zone no longer served: just forget it */
		int r = ctl_store_write(c, &forget, 1, err);
		if (r == 0)
			ctl_unskip(c, "rrsets", key);
		return r;
	}
	uint32_t stored = ctl_stored_serial(c, skey);
	uint32_t serial = (stored > cur->serial ? stored : cur->serial) + 1;
	char zerr[RWD_CONTROL_ERRLEN];
	struct rwd_zone *z = ctl_zone_load(c, cz->dname, cz->file, skey, serial, key,
	                                   ctl_zone_limits(c), zerr);
	if (z == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "without it %.480s", zerr);
		return RW_EEXIST;
	}
	struct rwd_conf *live = NULL;
	int ret = ctl_conf_live(c, &live, err);
	if (ret < 0) {
		rwd_zone_free(z);
		return ret;
	}
	struct rwd_snapshot *s = ctl_prepare(c, live, z, view[0] ? view : NULL, err);
	char sv[16];
	snprintf(sv, sizeof(sv), "%u", serial);
	/* The zone was loaded afresh: its change log cannot say how it got
	 * there from the serials before, and starts again. */
	struct rwd_store_txn *t = NULL;
	if (s) {
		ret = rwd_store_begin(c->store, &t);
		ret = ret == 0 ? rwd_store_del(t, "rrsets", key) : ret;
		ret = ret == 0 ? rwd_store_put(t, "serials", skey, sv, strlen(sv)) : ret;
		ret = ret == 0 ? rwd_journal_clear(t, skey) : ret;
		ret = ctl_store_end(t, ret, err);
	}
	if (s == NULL || ret < 0) {
		rwd_snapshot_free(s);
		rwd_conf_free(live);
		return s == NULL ? RW_ENOMEM : ret;
	}
	ctl_publish(c, s, live);
	ctl_unskip(c, "rrsets", key);
	rwd_info("zone %s: stored change rrsets/%s dropped, serial %u", skey, key, serial);
	return 0;
}

int rwd_control_change_drop(struct rwd_control *c, const char *key, char err[RWD_CONTROL_ERRLEN])
{
	char table[16];
	const char *k;
	if (c->store == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no store configured (api.data)");
		return RW_EIO;
	}
	if (!split_key(key, table, &k)) {
		snprintf(err, RWD_CONTROL_ERRLEN, "'%.200s' is not a stored change: keys are TABLE/KEY, "
		         "TABLE one of endpoints, traffic, drains, expiry, rrsets", key);
		return RW_ENOENT;
	}
	pthread_mutex_lock(&c->lock);
	char *v = NULL;
	if (rwd_store_get(c->store, table, k, &v, NULL) != 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no stored change '%.200s'", key);
		return ctl_unlock(c, RW_ENOENT);
	}
	free(v);
	int ret;
	if (strcmp(table, "rrsets") == 0) {
		ret = drop_rrset(c, k, err);
	} else if (strcmp(table, "expiry") == 0) {
		struct store_op op = { "expiry", k, NULL };
		ret = ctl_store_write(c, &op, 1, err);
	} else {
		/* An endpoint's registration goes with its expiry time, and with
		 * its drain when the endpoint goes: a drain (the operator's or a
		 * lapsed lease's) would name an endpoint that is gone, and the
		 * change would not validate. An endpoint the file still defines
		 * keeps its drain, as the lease expiry does (endpoints.c). */
		struct store_op ops[] = { { table, k, NULL }, { "expiry", k, NULL },
		                          { "drains", k, NULL } };
		bool endpoint = strcmp(table, "endpoints") == 0;
		char why[RWD_CONTROL_ERRLEN];
		ret = ctl_overlay_change(c, table, k, NULL, ops, endpoint ? 2 : 1, why);
		char *d = NULL;
		if (ret == RW_EINVAL && endpoint && rwd_store_get(c->store, "drains", k, &d, NULL) == 0)
			ret = ctl_overlay_change(c, table, k, NULL, ops, 3, why);
		free(d);
		if (ret == RW_EINVAL) {
			snprintf(err, RWD_CONTROL_ERRLEN, "without it the configuration would not "
			         "validate: %.400s", why);
			ret = RW_EEXIST;
		} else if (ret < 0) {
			snprintf(err, RWD_CONTROL_ERRLEN, "%s", why);
		}
	}
	if (ret == 0)
		rwd_info("stored change %s dropped", key);
	return ctl_unlock(c, ret);
}

/* The table and the key within it of "TABLE/KEY"; false if TABLE is not listed. */
static bool split_key(const char *key, char table[16], const char **k)
{
	const char *slash = strchr(key, '/');
	size_t tl = slash ? (size_t)(slash - key) : 0;
	if (tl == 0 || tl >= 16)
		return false;
	memcpy(table, key, tl);
	table[tl] = '\0';
	*k = slash + 1;
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
		if (strcmp(listed[i], table) == 0)
			return true;
	return false;
}

int rwd_control_change_forget(struct rwd_control *c, const char *key,
                              char err[RWD_CONTROL_ERRLEN])
{
	char table[16];
	const char *k;
	char *v = NULL;
	if (!split_key(key, table, &k) || c->store == NULL ||
	    rwd_store_get(c->store, table, k, &v, NULL) != 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no stored change '%.200s'", key);
		return RW_ENOENT;
	}
	free(v);
	struct store_op ops[] = { { table, k, NULL }, { "expiry", k, NULL } };
	pthread_mutex_lock(&c->lock);
	int ret = ctl_store_write(c, ops, strcmp(table, "endpoints") ? 1 : 2, err);
	return ctl_unlock(c, ret);
}

/* ---- runway check ---- */

int rwd_control_check_stored(struct rwd_control *c, struct rwd_conf **conf,
                             rwd_control_report_fn report, void *ctx)
{
	if (c->store == NULL)
		return 0;
	struct skipped_list skipped = { 0 };
	struct rwd_conf *live = ctl_conf_stored(c, *conf, &skipped, report, ctx);
	int n = (int)skipped.n;
	for (size_t i = 0; i < c->skipped.n; i++) {
		free(c->skipped.v[i].key);
		free(c->skipped.v[i].error);
	}
	free(c->skipped.v);
	c->skipped = skipped;
	if (live == NULL)
		return RW_ENOMEM;
	rwd_conf_free(*conf);
	*conf = live;
	return n;
}

size_t rwd_control_n_skipped(struct rwd_control *c)
{
	return c ? c->skipped.n : 0;
}

static void count_errors(void *ctx, const char *msg)
{
	if (strstr(msg, ": warning: ") == NULL)
		(*(unsigned *)ctx)++;
}

/*
 * With stored changes, a first quiet load tells whether they let the zone
 * load; if not, those to blame are reported as skipped (as runwayd would
 * skip them) and the zone is loaded without them, reporting what remains.
 */
struct rwd_zone *rwd_control_check_zone(struct rwd_control *c, const struct rwd_conf_zone *cz,
                                        const struct rwd_zone_limits *limits,
                                        rwd_report_fn report, void *ctx)
{
	struct rwd_zone_load_opts opts = { 0 };
	ctl_zone_opts(c, cz, &opts);
	if (opts.n_overrides) {
		unsigned errors = 0;
		struct rwd_zone *trial = rwd_zone_load_limits(cz->dname, cz->file, &opts, limits,
		                                              count_errors, &errors);
		bool ok = trial != NULL;
		rwd_zone_free(trial);
		if (!ok) {
			ctl_zone_opts(c, NULL, &opts);
			ctl_zone_skip_broken(c, cz, &c->skipped, report, ctx);
			ctl_zone_opts(c, cz, &opts);   /* without those */
		}
	}
	struct rwd_zone *z = rwd_zone_load_limits(cz->dname, cz->file, &opts, limits, report, ctx);
	ctl_zone_opts(c, NULL, &opts);
	return z;
}
