/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The store's traffic, endpoint and drain changes as configuration overlays
 * (rwd_conf_overlay): the file's text with the changes on top is loaded and
 * validated like the file itself. A stored change that no longer applies
 * (the file changed under it) is left out at start and reload, logged and
 * counted, instead of failing the whole state; GET /v1/changes shows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "lib/error.h"
#include "server/common/log.h"
#include "server/control/internal.h"

static char *keep(struct overlays *o, const char *text, size_t len)
{
	char *c = strndup(text, len);
	char **n = c ? realloc(o->owned, (o->n_owned + 1) * sizeof(*n)) : NULL;
	if (n == NULL) {
		free(c);
		return NULL;
	}
	o->owned = n;
	o->owned[o->n_owned++] = c;
	return c;
}

int overlays_add(struct overlays *o, struct rwd_conf_overlay ov)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct rwd_conf_overlay *n = realloc(o->v, cap * sizeof(*n));
		if (n == NULL)
			return RW_ENOMEM;
		o->v = n;
		o->cap = cap;
	}
	o->v[o->n++] = ov;
	return 0;
}

void overlays_free(struct overlays *o)
{
	for (size_t i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	free(o->owned);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* ---- skipped stored changes ---- */

static const struct skipped_change *find_skipped(const struct skipped_list *l, const char *table,
                                                 const char *key)
{
	size_t tl = strlen(table);
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i].key, table, tl) == 0 && l->v[i].key[tl] == '/' &&
		    strcasecmp(l->v[i].key + tl + 1, key) == 0)
			return &l->v[i];
	return NULL;
}

bool ctl_is_skipped(const struct rwd_control *c, const char *table, const char *key)
{
	return find_skipped(&c->skipped, table, key) != NULL;
}

void ctl_unskip(struct rwd_control *c, const char *table, const char *key)
{
	const struct skipped_change *s = find_skipped(&c->skipped, table, key);
	if (s == NULL)
		return;
	size_t i = (size_t)(s - c->skipped.v);
	free(c->skipped.v[i].key);
	free(c->skipped.v[i].error);
	memmove(&c->skipped.v[i], &c->skipped.v[i + 1], (c->skipped.n - i - 1) * sizeof(*s));
	c->skipped.n--;
}

/* ---- collecting ---- */

struct collect {
	struct overlays *o;
	const char *table, *section, *field;
	const char *skip;              /* key to leave out (the one being changed) */
	const struct skipped_list *skipped;   /* and these; NULL: none */
};

/* Stored values: JSON text, or "null" for an entry removed from the file.
 * The origin, "store TABLE/KEY", is how errors name the change. */
static int collect_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct collect *c = ctx;
	if (c->skip && strcasecmp(c->skip, key) == 0)
		return 0;
	if (c->skipped && find_skipped(c->skipped, c->table, key))
		return 0;
	bool removed = len == 4 && memcmp(val, "null", 4) == 0;
	const char *k = keep(c->o, key, strlen(key));
	const char *v = removed ? NULL : keep(c->o, val, len);
	if (k == NULL || (!removed && v == NULL))
		return RW_ENOMEM;
	char origin[1200];
	snprintf(origin, sizeof(origin), "store %s/%s", c->table, key);
	const char *org = keep(c->o, origin, strlen(origin));
	return org ? overlays_add(c->o, (struct rwd_conf_overlay){ c->section, k, c->field, v, org })
	           : RW_ENOMEM;
}

/* Endpoints first (traffic entries may name them), then traffic, then drains. */
static int collect(struct rwd_control *c, struct overlays *o, const char *skip_table,
                   const char *skip_key, const struct skipped_list *skipped)
{
	static const struct { const char *table, *section, *field; } order[] = {
		{ "endpoints", "endpoints", NULL },
		{ "traffic", "traffic", NULL },
		{ "drains", "endpoints", "drained" },
	};
	if (c->store == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct collect col = { o, order[i].table, order[i].section, order[i].field, NULL,
		                       skipped };
		if (skip_table && strcmp(skip_table, order[i].table) == 0)
			col.skip = skip_key;
		int ret = rwd_store_foreach(c->store, order[i].table, collect_one, &col);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int overlays_collect(struct rwd_control *c, struct overlays *o, const char *skip_table,
                     const char *skip_key)
{
	return collect(c, o, skip_table, skip_key, &c->skipped);
}

/* ---- drains ---- */

/*
 * A drain overlay's value (endpoints/NAME/drained) as the store keeps it
 * (control/endpoints.c): {"by": "operator"|"lease", "since": SECONDS}, or
 * "true" from older stores (an operator's drain, time unknown). True with
 * who and when; false for anything else, which the configuration then
 * reads (and rejects, naming the stored change) as it is.
 */
static bool drain_value(const char *json, enum rwd_drain_by *by, int64_t *since)
{
	if (json == NULL)
		return false;
	if (strcmp(json, "true") == 0) {
		*by = RWD_DRAIN_OPERATOR;
		*since = 0;
		return true;
	}
	json_t *o = json_loads(json, 0, NULL);
	json_t *b = json_object_get(o, "by"), *t = json_object_get(o, "since");
	const char *who = json_string_value(b);
	bool ok = json_is_object(o) && json_object_size(o) == 2 && who && json_is_integer(t) &&
	          json_integer_value(t) >= 0 &&
	          (strcmp(who, "operator") == 0 || strcmp(who, "lease") == 0);
	if (ok) {
		*by = strcmp(who, "lease") == 0 ? RWD_DRAIN_LEASE : RWD_DRAIN_OPERATOR;
		*since = (int64_t)json_integer_value(t);
	}
	json_decref(o);
	return ok;
}

static bool is_drain(const struct rwd_conf_overlay *ov)
{
	return ov->field && strcmp(ov->section, "endpoints") == 0 &&
	       strcmp(ov->field, "drained") == 0;
}

/* The drains of v[0..n) onto the model built with them: who and since when
 * (the configuration itself only knows drained or not). The last overlay
 * of an endpoint wins, as it does in the configuration. */
static void mark_drains(struct rwd_model *m, const struct rwd_conf_overlay *v, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		enum rwd_drain_by by;
		int64_t since;
		if (!is_drain(&v[i]) || !drain_value(v[i].json, &by, &since))
			continue;
		for (size_t k = 0; k < m->n_endpoints; k++) {
			struct rwd_endpoint *e = &m->endpoints[k];
			if (e->drained && strcmp(e->name, v[i].key) == 0) {
				e->drained_by = (uint8_t)by;
				e->drained_since = since;
			}
		}
	}
}

/* ---- configurations ---- */

/* base's text with overlays v[0..n), validated; no latency merge. A
 * stored drain goes to the configuration as "drained: true", and who
 * drained it, and when, onto its model (mark_drains). */
static int load_with(const struct rwd_conf *base, const struct rwd_conf_overlay *given, size_t n,
                     struct rwd_conf **out, char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_conf_overlay *v = n ? malloc(n * sizeof(*v)) : NULL;
	if (n && v == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
		return RW_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		enum rwd_drain_by by;
		int64_t since;
		v[i] = given[i];
		if (is_drain(&v[i]) && drain_value(v[i].json, &by, &since)) {
			v[i].json = "true";
		} else if (is_drain(&v[i]) && v[i].json && v[i].json[0] == '{') {
			/* Named as the configuration names a change, so it is skipped. */
			snprintf(err, RWD_CONTROL_ERRLEN, "%s:1: a drain is {\"by\": \"operator\" or "
			         "\"lease\", \"since\": UNIX SECONDS}, or true", v[i].origin);
			free(v);
			return RW_EINVAL;
		}
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", base->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	char cerr[RWD_CONF_ERRLEN];
	int ret = rwd_conf_load_overlay(base->text, base->text_len, base->path, dir, v, n, out, cerr);
	free(v);
	if (ret == 0)
		mark_drains((*out)->model, given, n);
	if (ret == RW_ENOMEM) {
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
		return ret;
	}
	if (ret < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "%s", cerr);
		return RW_EINVAL;
	}
	return 0;
}

static int with_latency(struct rwd_control *c, struct rwd_conf *conf, struct rwd_conf **out,
                        char err[RWD_CONTROL_ERRLEN])
{
	/* the stored members of catalog consumers as zones (catalog.c) */
	if ((c->store && ctl_merge_latency(c, conf->model) < 0) ||
	    ctl_catalog_conf(c, conf, false) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
		rwd_conf_free(conf);
		return RW_ENOMEM;
	}
	*out = conf;
	return 0;
}

int ctl_conf_with(struct rwd_control *c, const struct rwd_conf *base, const struct overlays *o,
                  struct rwd_conf **out, char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_conf *conf = NULL;
	int ret = load_with(base, o->v, o->n, &conf, err);
	return ret < 0 ? ret : with_latency(c, conf, out, err);
}

int ctl_conf_live(struct rwd_control *c, struct rwd_conf **out, char err[RWD_CONTROL_ERRLEN])
{
	struct overlays o = { 0 };
	int ret = overlays_collect(c, &o, NULL, NULL);
	if (ret == 0)
		ret = ctl_conf_with(c, c->srv->conf, &o, out, err);
	else
		snprintf(err, RWD_CONTROL_ERRLEN, "cannot read the store");
	overlays_free(&o);
	return ret;
}

/* The overlay whose origin the message starts with ("store traffic/x:3: ..."). */
static ssize_t blamed(const struct overlays *o, const bool *off, const char *msg)
{
	for (size_t i = 0; i < o->n; i++) {
		size_t len = strlen(o->v[i].origin);
		if (!off[i] && strncmp(msg, o->v[i].origin, len) == 0 && msg[len] == ':')
			return (ssize_t)i;
	}
	return -1;
}

/* The overlays not switched off, in order (pointers into o). */
static size_t pick(const struct overlays *o, const bool *off, struct rwd_conf_overlay *v)
{
	size_t n = 0;
	for (size_t i = 0; i < o->n; i++)
		if (!off[i])
			v[n++] = o->v[i];
	return n;
}

int ctl_skip(struct skipped_list *l, const char *origin, const char *error, ctl_report_fn report,
             void *ctx)
{
	const char *key = strncmp(origin, "store ", 6) == 0 ? origin + 6 : origin;
	char msg[RWD_CONTROL_ERRLEN + 1300];
	/* "ORIGIN:LINE: message" as the configuration says it, else prefixed. */
	bool named = strncmp(error, origin, strlen(origin)) == 0;
	snprintf(msg, sizeof(msg), "%s%s%s (stored change %s skipped: it no longer applies; "
	         "'runway changes drop %s' forgets it)", named ? "" : origin, named ? "" : ": ",
	         error, key, key);
	report(ctx, msg);
	struct skipped_change *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL)
		return RW_ENOMEM;
	l->v = v;
	v[l->n].key = strdup(key);
	v[l->n].error = strdup(error);
	if (v[l->n].key == NULL || v[l->n].error == NULL) {
		free(v[l->n].key);
		free(v[l->n].error);
		return RW_ENOMEM;
	}
	l->n++;
	return 0;
}

/*
 * Every stored change, then without each one an error names, until the
 * result validates. An error that names no stored change (a line of the
 * file a change broke) falls back to adding the changes one at a time and
 * leaving out each that makes the result fail: n loads, on this rare path
 * only.
 */
struct rwd_conf *ctl_conf_stored(struct rwd_control *c, const struct rwd_conf *base,
                                 struct skipped_list *skipped, ctl_report_fn report, void *ctx)
{
	struct overlays o = { 0 };
	struct rwd_conf *conf = NULL;
	char err[RWD_CONTROL_ERRLEN];
	if (collect(c, &o, NULL, NULL, NULL) < 0) {
		overlays_free(&o);
		return NULL;
	}
	bool *off = calloc(o.n + 1, sizeof(*off));
	struct rwd_conf_overlay *v = calloc(o.n + 1, sizeof(*v));
	int ret = off && v ? 0 : RW_ENOMEM;
	for (size_t round = 0; ret == 0 && conf == NULL && round <= o.n; round++) {
		ret = load_with(base, v, pick(&o, off, v), &conf, err);
		if (ret != RW_EINVAL)
			break;
		ret = 0;
		ssize_t k = blamed(&o, off, err);
		if (k >= 0) {
			off[k] = true;
			ret = ctl_skip(skipped, o.v[k].origin, err, report, ctx);
			continue;
		}
		/* One at a time: each change that the ones kept so far reject goes. */
		bool *tried = calloc(o.n + 1, sizeof(*tried));
		if (tried == NULL) {
			ret = RW_ENOMEM;
			break;
		}
		for (size_t i = 0; i < o.n && ret == 0; i++) {
			if (off[i])
				continue;
			bool *keep_off = calloc(o.n + 1, sizeof(*keep_off));
			if (keep_off == NULL) {
				ret = RW_ENOMEM;
				break;
			}
			for (size_t j = 0; j < o.n; j++)
				keep_off[j] = off[j] || (j != i && !tried[j]);
			struct rwd_conf *trial = NULL;
			ret = load_with(base, v, pick(&o, keep_off, v), &trial, err);
			free(keep_off);
			rwd_conf_free(trial);
			if (ret == RW_EINVAL) {
				off[i] = true;
				ret = ctl_skip(skipped, o.v[i].origin, err, report, ctx);
			} else if (ret == 0) {
				tried[i] = true;
			}
		}
		free(tried);
	}
	free(off);
	free(v);
	overlays_free(&o);
	if (ret < 0 || conf == NULL) {
		rwd_conf_free(conf);
		return NULL;
	}
	return with_latency(c, conf, &conf, err) == 0 ? conf : NULL;
}

/* ---- one change ---- */

/* The stored changes that ops delete are left out of o (overlays come from
 * the store as "store TABLE/KEY"): the change is built as it will be
 * stored, whichever rows it takes with it (an endpoint's drain). */
static void drop_deleted(struct overlays *o, const struct store_op *ops, size_t n_ops)
{
	for (size_t k = 0; k < n_ops; k++) {
		if (ops[k].value != NULL)
			continue;
		char origin[1200];
		snprintf(origin, sizeof(origin), "store %s/%s", ops[k].table, ops[k].key);
		size_t n = 0;
		for (size_t i = 0; i < o->n; i++)
			if (strcasecmp(o->v[i].origin, origin) != 0)
				o->v[n++] = o->v[i];
		o->n = n;
	}
}

/*
 * The last overlay replaces a whole entry: the stored field changes of that
 * entry (its drain) go after it, in their order, so they apply to the new
 * entry as they did to the old one. Collected in table order, they would
 * come first, onto an entry not there yet ("no endpoint"): an endpoint the
 * API registered could not be registered again while drained.
 */
static void fields_last(struct overlays *o)
{
	struct rwd_conf_overlay whole = o->v[o->n - 1];
	size_t n = 0, last = o->n - 1;
	struct rwd_conf_overlay moved[8];
	for (size_t i = 0; i < last; i++) {
		struct rwd_conf_overlay ov = o->v[i];
		if (n < 8 && ov.field && strcmp(ov.section, whole.section) == 0 &&
		    strcmp(ov.key, whole.key) == 0)
			moved[n++] = ov;
		else
			o->v[i - n] = ov;
	}
	o->v[last - n] = whole;
	memcpy(&o->v[last - n + 1], moved, n * sizeof(moved[0]));
}

int ctl_overlay_change(struct rwd_control *c, const char *table, const char *key,
                       const struct rwd_conf_overlay *change, const struct store_op *ops,
                       size_t n_ops, char err[RWD_CONTROL_ERRLEN])
{
	if (c->store == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no store configured (api.data)");
		return RW_EIO;
	}
	struct overlays o = { 0 };
	struct rwd_conf *conf = NULL;
	int ret = overlays_collect(c, &o, table, key);
	if (ret == 0)
		drop_deleted(&o, ops, n_ops);
	if (ret == 0 && change)
		ret = overlays_add(&o, *change);
	if (ret == 0 && change && change->field == NULL && change->json)
		fields_last(&o);
	if (ret == 0)
		ret = ctl_conf_with(c, c->srv->conf, &o, &conf, err);
	else
		snprintf(err, RWD_CONTROL_ERRLEN, "cannot read the store");
	overlays_free(&o);
	if (ret < 0)
		return ret;
	/* Built before it is stored: a change is stored only if it can be
	 * served, and acknowledged only once it is. */
	struct rwd_snapshot *s = ctl_prepare(c, conf, NULL, NULL, err);
	if (s == NULL) {
		rwd_conf_free(conf);
		return RW_ENOMEM;
	}
	if ((ret = ctl_store_write(c, ops, n_ops, err)) < 0) {
		rwd_snapshot_free(s);
		rwd_conf_free(conf);
		return ret;
	}
	ctl_publish(c, s, conf);
	ctl_unskip(c, table, key);
	for (size_t k = 0; k < n_ops; k++)
		if (ops[k].value == NULL)
			ctl_unskip(c, ops[k].table, ops[k].key);
	return 0;
}

/* ---- traffic names ---- */

int rwd_control_traffic_put(struct rwd_control *c, const char *name, const char *json,
                            char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "PUT /v1/traffic/%s", name);
	struct rwd_conf_overlay ov = { "traffic", name, NULL, json, origin };
	struct store_op op = { "traffic", name, json };
	pthread_mutex_lock(&c->lock);
	return ctl_unlock(c, ctl_overlay_change(c, "traffic", name, &ov, &op, 1, err));
}

int rwd_control_traffic_delete(struct rwd_control *c, const char *name,
                               char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "DELETE /v1/traffic/%s", name);
	struct rwd_conf_overlay ov = { "traffic", name, NULL, NULL, origin };
	struct store_op removed = { "traffic", name, "null" }, forget = { "traffic", name, NULL };
	pthread_mutex_lock(&c->lock);
	/* A name from the file is removed by a stored "null"; one the API made
	 * is simply forgotten. Try the first: it fails if the file lacks it. */
	char first[RWD_CONTROL_ERRLEN];
	int ret = ctl_overlay_change(c, "traffic", name, &ov, &removed, 1, first);
	if (ret == RW_EINVAL) {
		char *v = NULL;
		if (rwd_store_get(c->store, "traffic", name, &v, NULL) == 0 && strcmp(v, "null") != 0) {
			ret = ctl_overlay_change(c, "traffic", name, NULL, &forget, 1, err);
		} else {
			snprintf(err, RWD_CONTROL_ERRLEN, "%s", first);
			ret = RW_ENOENT;
		}
		free(v);
	} else if (ret < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "%s", first);
	}
	return ctl_unlock(c, ret);
}
