/*
 * The control layer (control.h): live changes and reloads, durable in the
 * store, published as snapshots. Every entry point takes the lock, so
 * changes are applied one at a time and always on top of the latest state.
 */
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "server/control/control.h"
#include "server/common/log.h"
#include "server/common/stats.h"
#include "server/store/store.h"

struct rwd_control {
	struct rwd_server *srv;
	struct rwd_store *store;       /* NULL: no api.data, changes are refused */
	pthread_mutex_t lock;
	/* Zone compaction in the background (rwd_zone_wants_compaction): at
	 * most one thread at a time; these fields under lock. */
	pthread_t compactor;
	bool compacting;               /* started, not joined yet */
	bool compacted;                /* and finished: join it before the next */
	bool stopping;                 /* rwd_control_stop(): publish nothing more */
};

/* ---- the store's changes as config overlays ---- */

struct overlays {
	struct rwd_conf_overlay *v;
	size_t n, cap;
	char **owned;                  /* keys and values we copied */
	size_t n_owned;
};

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

static int add_overlay(struct overlays *o, struct rwd_conf_overlay ov)
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

static void overlays_free(struct overlays *o)
{
	for (size_t i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	free(o->owned);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

struct collect {
	struct overlays *o;
	const char *section, *field;
	const char *skip;              /* key to leave out (the one being changed) */
};

/* Stored values: JSON text, or "null" for an entry removed from the file. */
static int collect_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct collect *c = ctx;
	if (c->skip && strcasecmp(c->skip, key) == 0)
		return 0;
	bool removed = len == 4 && memcmp(val, "null", 4) == 0;
	const char *k = keep(c->o, key, strlen(key));
	const char *v = removed ? NULL : keep(c->o, val, len);
	if (k == NULL || (!removed && v == NULL))
		return RW_ENOMEM;
	char origin[300];
	snprintf(origin, sizeof(origin), "store %s/%s", c->section, key);
	const char *org = keep(c->o, origin, strlen(origin));
	return org ? add_overlay(c->o, (struct rwd_conf_overlay){ c->section, k, c->field, v, org })
	           : RW_ENOMEM;
}

/* Endpoints first (traffic entries may name them), then traffic, then drains. */
static int collect_overlays(struct rwd_control *c, struct overlays *o, const char *skip_section,
                            const char *skip_key)
{
	static const struct { const char *table, *section, *field; } order[] = {
		{ "endpoints", "endpoints", NULL },
		{ "traffic", "traffic", NULL },
		{ "drains", "endpoints", "drained" },
	};
	if (c->store == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct collect col = { o, order[i].section, order[i].field, NULL };
		if (skip_section && strcmp(skip_section, order[i].table) == 0)
			col.skip = skip_key;
		int ret = rwd_store_foreach(c->store, order[i].table, collect_one, &col);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- latency averages ---- */

/* A latency client: a country code ("JP") or a prefix; 0 or RW_EINVAL. */
static int parse_client(const char *text, struct rwd_latency_row *row)
{
	memset(row, 0, sizeof(*row));
	if (strlen(text) == 2 && isalpha((unsigned char)text[0]) && isalpha((unsigned char)text[1])) {
		row->is_country = true;
		row->country[0] = (char)toupper((unsigned char)text[0]);
		row->country[1] = (char)toupper((unsigned char)text[1]);
		return 0;
	}
	return rw_prefix_parse(text, &row->prefix, &row->len) == 0 ? 0 : RW_EINVAL;
}

static bool same_client(const struct rwd_latency_row *a, const struct rwd_latency_row *b)
{
	if (a->is_country || b->is_country)
		return a->is_country && b->is_country && strcmp(a->country, b->country) == 0;
	return a->len == b->len && a->prefix.family == b->prefix.family &&
	       memcmp(a->prefix.bytes, b->prefix.bytes, 16) == 0;
}

struct merge {
	struct rwd_model *m;
	struct rwd_latency_row *rows;
	size_t n;
};

/* Stored: key "client|endpoint", value "average count". */
static int merge_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct merge *mg = ctx;
	char client[128], endpoint[128], text[64];
	struct rwd_latency_row row;
	if (sscanf(key, "%127[^|]|%127s", client, endpoint) != 2 || len >= sizeof(text))
		return 0;
	memcpy(text, val, len);
	text[len] = '\0';
	row.endpoint = NULL;
	if (parse_client(client, &row) < 0 ||
	    (row.endpoint = rwd_model_find_endpoint(mg->m, endpoint)) == NULL)
		return 0;   /* the endpoint is gone from the configuration: ignore */
	row.rtt_ms = (uint32_t)(strtod(text, NULL) + 0.5);
	for (size_t i = 0; i < mg->n; i++) {
		if (mg->rows[i].endpoint == row.endpoint && same_client(&mg->rows[i], &row)) {
			mg->rows[i].rtt_ms = row.rtt_ms;
			return 0;
		}
	}
	mg->rows[mg->n++] = row;
	return 0;
}

static int count_one(void *ctx, const char *key, const void *val, size_t len)
{
	(*(size_t *)ctx)++;
	return 0;
}

/* The model's latency rows with the stored averages on top. */
static int merge_latency(struct rwd_control *c, struct rwd_model *m)
{
	size_t stored = 0;
	rwd_store_foreach(c->store, "latency", count_one, &stored);
	if (stored == 0)
		return 0;
	struct merge mg = { m, rw_arena_alloc(&m->arena, (m->n_latency + stored) * sizeof(*mg.rows)),
	                    m->n_latency };
	if (mg.rows == NULL)
		return RW_ENOMEM;
	if (m->n_latency)
		memcpy(mg.rows, m->latency, m->n_latency * sizeof(*mg.rows));
	rwd_store_foreach(c->store, "latency", merge_one, &mg);
	m->latency = mg.rows;
	m->n_latency = mg.n;
	return 0;
}

/* The configuration text with overlays: what the running state should be. */
static struct rwd_conf *conf_with(struct rwd_control *c, const struct rwd_conf *base,
                                  const struct overlays *o, char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_conf *conf = NULL;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", base->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	char cerr[RWD_CONF_ERRLEN];
	if (rwd_conf_load_overlay(base->text, base->text_len, base->path, dir, o->v, o->n,
	                          &conf, cerr) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "%s", cerr);
		return NULL;
	}
	if (c->store && merge_latency(c, conf->model) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
		rwd_conf_free(conf);
		return NULL;
	}
	return conf;
}

/* ---- record data from text ---- */

struct rr_parse {
	uint8_t *rdata;                /* count x (uint16 len, bytes) */
	size_t len, cap;
	uint16_t type;
	unsigned count;
	char error[128];
};

static void on_rr(zs_scanner_t *s)
{
	struct rr_parse *p = s->process.data;
	if (s->r_type != p->type) {
		snprintf(p->error, sizeof(p->error), "record does not match type");
		return;
	}
	if (p->len + 2 + s->r_data_length > p->cap) {
		size_t cap = (p->cap + s->r_data_length + 2) * 2;
		uint8_t *n = realloc(p->rdata, cap);
		if (n == NULL) {
			snprintf(p->error, sizeof(p->error), "out of memory");
			return;
		}
		p->rdata = n;
		p->cap = cap;
	}
	rw_put16(p->rdata + p->len, (uint16_t)s->r_data_length);
	memcpy(p->rdata + p->len + 2, s->r_data, s->r_data_length);
	p->len += 2 + s->r_data_length;
	p->count++;
}

static void on_rr_error(zs_scanner_t *s)
{
	struct rr_parse *p = s->process.data;
	if (p->error[0] == '\0')
		snprintf(p->error, sizeof(p->error), "%s", zs_strerror(s->error.code));
	s->state = ZS_STATE_STOP;
}

/* Parse records of one type through libzscanner, as a zone file would. */
static int parse_records(const char *owner, uint16_t type, uint32_t ttl,
                         const char *const *records, size_t n, struct rr_parse *p,
                         char err[RWD_CONTROL_ERRLEN], size_t change)
{
	char tname[32];
	knot_rrtype_to_string(type, tname, sizeof(tname));
	memset(p, 0, sizeof(*p));
	p->type = type;
	zs_scanner_t *s = malloc(sizeof(*s));
	if (s == NULL || zs_init(s, ".", KNOT_CLASS_IN, ttl) != 0) {
		free(s);
		return RW_ENOMEM;
	}
	zs_set_processing(s, on_rr, on_rr_error, p);
	for (size_t i = 0; i < n && p->error[0] == '\0'; i++) {
		if (strpbrk(records[i], "\n\r$;") != NULL) {
			snprintf(p->error, sizeof(p->error), "record %zu: not one record", i + 1);
			break;
		}
		char line[70000];
		int l = snprintf(line, sizeof(line), "%s %u IN %s %s\n", owner, ttl, tname, records[i]);
		if (l < 0 || (size_t)l >= sizeof(line) || zs_set_input_string(s, line, (size_t)l) != 0 ||
		    zs_parse_all(s) != 0 || p->count != i + 1) {
			if (p->error[0] == '\0')
				snprintf(p->error, sizeof(p->error), "record %zu: cannot parse '%s'", i + 1,
				         records[i]);
		}
	}
	zs_deinit(s);
	free(s);
	if (p->error[0]) {
		snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %s", change, p->error);
		free(p->rdata);
		p->rdata = NULL;
		return RW_EINVAL;
	}
	return 0;
}

/* ---- zone overrides kept in the store ---- */

/* Key of an RRset in the store: "zone|owner|TYPE", names absolute lowercase. */
static void rrset_key(char *out, size_t size, const char *zone, const char *owner, uint16_t type)
{
	char t[32];
	knot_rrtype_to_string(type, t, sizeof(t));
	/* Names are at most 1004 characters in text: key buffers have room. */
	if ((size_t)snprintf(out, size, "%s|%s|%s", zone, owner, t) >= size)
		out[0] = '\0';
}

struct zone_overrides {
	const char *zone;              /* canonical text */
	struct rwd_zone_override *v;
	struct rr_parse *parsed;       /* rdata owned here */
	size_t n, cap;
	int error;
};

static int zo_add(struct zone_overrides *zo, const char *owner, uint16_t type, uint32_t ttl,
                  const char *const *records, size_t n_records, char err[RWD_CONTROL_ERRLEN],
                  size_t change)
{
	if (zo->n == zo->cap) {
		size_t cap = zo->cap ? zo->cap * 2 : 8;
		struct rwd_zone_override *v = realloc(zo->v, cap * sizeof(*v));
		struct rr_parse *p = v ? realloc(zo->parsed, cap * sizeof(*p)) : NULL;
		if (v)
			zo->v = v;
		if (p == NULL)
			return RW_ENOMEM;
		zo->parsed = p;
		zo->cap = cap;
	}
	struct rwd_zone_override *ov = &zo->v[zo->n];
	struct rr_parse *p = &zo->parsed[zo->n];
	memset(ov, 0, sizeof(*ov));
	memset(p, 0, sizeof(*p));
	if (rw_dname_from_str(owner, NULL, ov->owner) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: bad name '%s'", change, owner);
		return RW_EINVAL;
	}
	rw_dname_lower(ov->owner);
	if (n_records > 0) {
		int ret = parse_records(owner, type, ttl, records, n_records, p, err, change);
		if (ret < 0)
			return ret;
	}
	/* A later change of the same RRset wins. */
	for (size_t i = 0; i < zo->n; i++) {
		if (zo->v[i].type == type && rw_dname_eq(zo->v[i].owner, ov->owner)) {
			free(zo->parsed[i].rdata);
			zo->parsed[i] = *p;
			zo->v[i].ttl = ttl;
			zo->v[i].count = (uint16_t)p->count;
			zo->v[i].rdata = p->rdata;
			return 0;
		}
	}
	ov->type = type;
	ov->ttl = ttl;
	ov->count = (uint16_t)p->count;
	ov->rdata = p->rdata;
	zo->n++;
	return 0;
}

static void zo_free(struct zone_overrides *zo)
{
	for (size_t i = 0; i < zo->n; i++)
		free(zo->parsed[i].rdata);
	free(zo->parsed);
	free(zo->v);
	memset(zo, 0, sizeof(*zo));
}

/* Stored value: {"ttl": N, "records": ["text", ...]}; no records: removed. */
static int zo_from_store(void *ctx, const char *key, const void *val, size_t len)
{
	struct zone_overrides *zo = ctx;
	size_t zl = strlen(zo->zone);
	if (strncasecmp(key, zo->zone, zl) != 0 || key[zl] != '|')
		return 0;
	char owner[1024], type[32];
	if (sscanf(key + zl + 1, "%1023[^|]|%31s", owner, type) != 2)
		return 0;
	uint16_t t;
	json_t *j = json_loadb(val, len, 0, NULL);
	if (j == NULL || knot_rrtype_from_string(type, &t) != 0) {
		json_decref(j);
		return 0;
	}
	json_t *recs = json_object_get(j, "records");
	size_t n = json_array_size(recs);
	const char **texts = calloc(n ? n : 1, sizeof(*texts));
	for (size_t i = 0; texts && i < n; i++)
		texts[i] = json_string_value(json_array_get(recs, i));
	char err[RWD_CONTROL_ERRLEN];
	int ret = texts ? zo_add(zo, owner, t, (uint32_t)json_integer_value(json_object_get(j, "ttl")),
	                         texts, n, err, 0) : RW_ENOMEM;
	if (ret < 0)
		rwd_error("store: %s: %s", key, err);
	free(texts);
	json_decref(j);
	return ret == RW_ENOMEM ? ret : 0;
}

static uint32_t stored_serial(struct rwd_control *c, const char *zone)
{
	char *v = NULL;
	uint32_t serial = 0;
	if (c->store && rwd_store_get(c->store, "serials", zone, &v, NULL) == 0)
		serial = (uint32_t)strtoul(v, NULL, 10);
	free(v);
	return serial;
}

/*
 * The zone's name in store keys: its apex ("example.com."), or for a view's
 * own zone "@VIEW/example.com." (a name in text never starts with an
 * unescaped '@', a view name holds no '/').
 */
static void store_zone_name(const char *view, const uint8_t *apex, char *out, size_t size)
{
	size_t at = view ? (size_t)snprintf(out, size, "@%s/", view) : 0;
	if (at >= size || rw_dname_to_str(apex, out + at, size - at) < 0)
		out[0] = '\0';
}

/* rwd_zone_opts_fn: the store's overrides and serial for a zone. */
static void zone_opts(void *ctx, const struct rwd_conf_zone *cz, struct rwd_zone_load_opts *out)
{
	struct rwd_control *c = ctx;
	static __thread struct zone_overrides zo;   /* main/API thread, one load at a time */
	if (cz == NULL) {
		zo_free(&zo);
		return;
	}
	zo_free(&zo);
	if (c->store == NULL)
		return;
	char zone[1200];
	store_zone_name(cz->view, cz->dname, zone, sizeof(zone));
	zo.zone = zone;
	rwd_store_foreach(c->store, "rrsets", zo_from_store, &zo);
	zo.zone = NULL;
	out->overrides = zo.v;
	out->n_overrides = zo.n;
	out->serial = stored_serial(c, zone);
}

/* ---- publication ---- */

/* Make conf (and zone, if set: of view, or top level) the running state; takes both over. */
static void publish(struct rwd_control *c, struct rwd_conf *conf, struct rwd_zone *zone,
                    const char *view)
{
	struct rwd_snapshot *s = rwd_server_rebuild(conf, rwd_snapshot_get(), zone, view);
	if (s == NULL) {
		rwd_error("control: cannot build the new state (out of memory or geo data)");
		rwd_conf_free(conf);
		return;
	}
	rwd_server_publish(c->srv, s);
	rwd_stats_api_change();
	rwd_conf_free(c->srv->conf);
	c->srv->conf = conf;
}

/* ---- entry points ---- */

int rwd_control_open(struct rwd_server *srv, const char *dir, struct rwd_control **out,
                     char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_control *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return RW_ENOMEM;
	c->srv = srv;
	pthread_mutex_init(&c->lock, NULL);
	if (dir) {
		char serr[256];
		int ret = rwd_store_open(dir, &c->store, serr);
		if (ret < 0) {
			snprintf(err, RWD_CONTROL_ERRLEN, "%s", serr);
			free(c);
			return ret;
		}
	}
	*out = c;
	return 0;
}

void rwd_control_stop(struct rwd_control *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	bool join = c->compacting;
	c->compacting = false;
	pthread_mutex_unlock(&c->lock);
	if (join)
		pthread_join(c->compactor, NULL);
}

void rwd_control_close(struct rwd_control *c)
{
	if (c == NULL)
		return;
	rwd_control_stop(c);
	rwd_store_close(c->store);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct rwd_snapshot *rwd_control_build(struct rwd_control *c, struct rwd_conf **conf,
                                       const struct rwd_snapshot *prev, unsigned *n_errors)
{
	struct overlays o = { 0 };
	char err[RWD_CONTROL_ERRLEN];
	struct rwd_conf *live = *conf;
	if (c->store) {
		if (collect_overlays(c, &o, NULL, NULL) < 0 || (live = conf_with(c, *conf, &o, err)) == NULL) {
			rwd_error("store: cannot apply the stored changes: %s", o.n ? err : "out of memory");
			overlays_free(&o);
			(*n_errors)++;
			return NULL;
		}
		rwd_conf_free(*conf);
		*conf = live;
	}
	overlays_free(&o);
	return rwd_server_build_opts(live, prev, zone_opts, c, n_errors);
}

static bool same_listeners(const struct rwd_conf *a, const struct rwd_conf *b)
{
	if (a->n_listen != b->n_listen || a->workers != b->workers)
		return false;
	for (size_t i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
			return false;
	return true;
}

void rwd_control_reload(struct rwd_control *c)
{
	char err[RWD_CONF_ERRLEN];
	struct rwd_conf *next;
	pthread_mutex_lock(&c->lock);
	rwd_info("reloading %s", c->srv->conf->path);
	if (rwd_conf_load(c->srv->conf->path, &next, err) < 0) {
		rwd_error("%s", err);
		rwd_error("reload failed: keeping the running configuration and zones");
		pthread_mutex_unlock(&c->lock);
		return;
	}
	unsigned errors = 0;
	struct rwd_snapshot *s = rwd_control_build(c, &next, rwd_snapshot_get(), &errors);
	if (s == NULL) {
		rwd_error("reload failed: keeping the running configuration, zones and traffic");
		rwd_conf_free(next);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	rwd_server_publish(c->srv, s);
	rwd_stats_reload();
	if (!same_listeners(c->srv->conf, next))
		rwd_warn("server.listen and server.workers change only at restart");
	if (!rwd_dnstap_conf_equal(c->srv->conf, next))
		rwd_warn("dnstap settings change only at restart");
	rwd_info("reload done: %zu zones, %zu traffic names, %u errors", s->zones->n_zones,
	         s->model->n_traffic, errors);
	rwd_conf_free(c->srv->conf);
	c->srv->conf = next;
	pthread_mutex_unlock(&c->lock);
}

void rwd_control_read_lock(struct rwd_control *c) { pthread_mutex_lock(&c->lock); }
void rwd_control_read_unlock(struct rwd_control *c) { pthread_mutex_unlock(&c->lock); }

/*
 * Validate a change (change NULL: forgetting the stored entry of key), store
 * it (store_value NULL: delete the key), publish. Lock held by the caller.
 */
static int overlay_change(struct rwd_control *c, const char *table, const char *key,
                          const struct rwd_conf_overlay *change, const char *store_value,
                          char err[RWD_CONTROL_ERRLEN])
{
	if (c->store == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no store configured (api.data)");
		return RW_EIO;
	}
	struct overlays o = { 0 };
	int ret = collect_overlays(c, &o, table, key);
	if (ret == 0 && change)
		ret = add_overlay(&o, *change);
	struct rwd_conf *conf = ret == 0 ? conf_with(c, c->srv->conf, &o, err) : NULL;
	overlays_free(&o);
	if (conf == NULL)
		return ret < 0 ? ret : RW_EINVAL;
	struct rwd_store_txn *t;
	ret = rwd_store_begin(c->store, &t);
	if (ret == 0) {
		ret = store_value ? rwd_store_put(t, table, key, store_value, strlen(store_value))
		                  : rwd_store_del(t, table, key);
		ret = ret == 0 ? rwd_store_commit(t) : (rwd_store_abort(t), ret);
	}
	if (ret < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "cannot write the store");
		rwd_conf_free(conf);
		return RW_EIO;
	}
	publish(c, conf, NULL, NULL);
	return 0;
}

static int locked(struct rwd_control *c, int ret)
{
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int rwd_control_traffic_put(struct rwd_control *c, const char *name, const char *json,
                            char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "PUT /v1/traffic/%s", name);
	struct rwd_conf_overlay ov = { "traffic", name, NULL, json, origin };
	pthread_mutex_lock(&c->lock);
	return locked(c, overlay_change(c, "traffic", name, &ov, json, err));
}

int rwd_control_traffic_delete(struct rwd_control *c, const char *name,
                               char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "DELETE /v1/traffic/%s", name);
	struct rwd_conf_overlay ov = { "traffic", name, NULL, NULL, origin };
	pthread_mutex_lock(&c->lock);
	/* A name from the file is removed by a stored "null"; one the API made
	 * is simply forgotten. Try the first: it fails if the file lacks it. */
	char first[RWD_CONTROL_ERRLEN];
	int ret = overlay_change(c, "traffic", name, &ov, "null", first);
	if (ret == RW_EINVAL) {
		char *v = NULL;
		if (rwd_store_get(c->store, "traffic", name, &v, NULL) == 0 && strcmp(v, "null") != 0) {
			ret = overlay_change(c, "traffic", name, NULL, NULL, err);
		} else {
			snprintf(err, RWD_CONTROL_ERRLEN, "%s", first);
			ret = RW_ENOENT;
		}
		free(v);
	} else if (ret < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "%s", first);
	}
	return locked(c, ret);
}

int rwd_control_endpoint_put(struct rwd_control *c, const char *name, const char *json,
                             unsigned ttl_seconds, char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "PUT /v1/endpoints/%s", name);
	struct rwd_conf_overlay ov = { "endpoints", name, NULL, json, origin };
	pthread_mutex_lock(&c->lock);
	int ret = overlay_change(c, "endpoints", name, &ov, json, err);
	struct rwd_store_txn *t;
	if (ret == 0 && rwd_store_begin(c->store, &t) == 0) {
		/* A registration with a TTL must be renewed, or rwd_control_tick()
		 * removes it; without one it stays until deleted. */
		char until[32];
		snprintf(until, sizeof(until), "%lld", (long long)time(NULL) + ttl_seconds);
		int r = ttl_seconds ? rwd_store_put(t, "expiry", name, until, strlen(until))
		                    : rwd_store_del(t, "expiry", name);
		if (r == 0)
			rwd_store_commit(t);
		else
			rwd_store_abort(t);
	}
	return locked(c, ret);
}

int rwd_control_drain(struct rwd_control *c, const char *endpoint, bool drained,
                      char err[RWD_CONTROL_ERRLEN])
{
	char origin[320];
	snprintf(origin, sizeof(origin), "POST /v1/endpoints/%s/%s", endpoint,
	         drained ? "drain" : "undrain");
	struct rwd_conf_overlay ov = { "endpoints", endpoint, "drained", drained ? "true" : NULL,
	                               origin };
	pthread_mutex_lock(&c->lock);
	int ret;
	if (drained) {
		ret = overlay_change(c, "drains", endpoint, &ov, "true", err);
	} else {
		/* Undrain forgets the stored drain; the endpoint must exist. */
		ret = rwd_model_find_endpoint(rwd_snapshot_get()->model, endpoint) ? 0 : RW_ENOENT;
		if (ret < 0)
			snprintf(err, RWD_CONTROL_ERRLEN, "no endpoint '%s'", endpoint);
		else
			ret = overlay_change(c, "drains", endpoint, NULL, NULL, err);
	}
	return locked(c, ret);
}

/* ---- latency samples, registration expiry ---- */

#define LATENCY_ALPHA 0.3   /* weight of a new sample in the moving average */

int rwd_control_latency(struct rwd_control *c, const struct rwd_latency_sample *v, size_t n,
                        char err[RWD_CONTROL_ERRLEN])
{
	pthread_mutex_lock(&c->lock);
	if (c->store == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no store configured (api.data)");
		return locked(c, RW_EIO);
	}
	const struct rwd_model *m = rwd_snapshot_get()->model;
	for (size_t i = 0; i < n; i++) {
		struct rwd_latency_row row;
		if (parse_client(v[i].client, &row) < 0) {
			snprintf(err, RWD_CONTROL_ERRLEN, "sample %zu: client '%.100s' is neither a "
			         "prefix nor a country code", i + 1, v[i].client);
			return locked(c, RW_EINVAL);
		}
		if (rwd_model_find_endpoint(m, v[i].endpoint) == NULL) {
			snprintf(err, RWD_CONTROL_ERRLEN, "sample %zu: no endpoint '%.100s'", i + 1,
			         v[i].endpoint);
			return locked(c, RW_EINVAL);
		}
		if (!(v[i].rtt_ms >= 0 && v[i].rtt_ms <= 600000)) {
			snprintf(err, RWD_CONTROL_ERRLEN, "sample %zu: rtt_ms must be 0..600000", i + 1);
			return locked(c, RW_EINVAL);
		}
	}
	struct rwd_store_txn *t;
	int ret = rwd_store_begin(c->store, &t);
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct rwd_latency_row row;
		char client[RW_PREFIX_STRLEN], key[300], val[64], *old = NULL;
		parse_client(v[i].client, &row);
		if (row.is_country)
			snprintf(client, sizeof(client), "%s", row.country);
		else
			rw_prefix_format(&row.prefix, row.len, client, sizeof(client));
		snprintf(key, sizeof(key), "%s|%.100s", client, v[i].endpoint);
		double avg = v[i].rtt_ms;
		/* Earlier samples of this batch are not visible yet: average per batch order. */
		if (rwd_store_get(c->store, "latency", key, &old, NULL) == 0)
			avg = (1 - LATENCY_ALPHA) * strtod(old, NULL) + LATENCY_ALPHA * v[i].rtt_ms;
		free(old);
		snprintf(val, sizeof(val), "%.3f", avg);
		ret = rwd_store_put(t, "latency", key, val, strlen(val));
	}
	if (ret == 0)
		ret = rwd_store_commit(t);
	else
		rwd_store_abort(t);
	if (ret < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "cannot write the store");
		return locked(c, RW_EIO);
	}
	struct overlays o = { 0 };
	struct rwd_conf *conf = collect_overlays(c, &o, NULL, NULL) == 0 ?
	                        conf_with(c, c->srv->conf, &o, err) : NULL;
	overlays_free(&o);
	if (conf == NULL)
		return locked(c, RW_EIO);
	publish(c, conf, NULL, NULL);
	return locked(c, 0);
}

struct expired {
	char names[64][128];
	size_t n;
	time_t now;
};

static int find_expired(void *ctx, const char *key, const void *val, size_t len)
{
	struct expired *x = ctx;
	char text[32];
	if (len >= sizeof(text) || x->n == 64)
		return 0;
	memcpy(text, val, len);
	text[len] = '\0';
	if ((time_t)strtoll(text, NULL, 10) <= x->now)
		snprintf(x->names[x->n++], sizeof(x->names[0]), "%s", key);
	return 0;
}

void rwd_control_tick(struct rwd_control *c)
{
	if (c == NULL || c->store == NULL)
		return;
	struct expired x = { .now = time(NULL) };
	pthread_mutex_lock(&c->lock);
	rwd_store_foreach(c->store, "expiry", find_expired, &x);
	for (size_t i = 0; i < x.n; i++) {
		char err[RWD_CONTROL_ERRLEN];
		/* Forget the registration; if policies still name the endpoint it
		 * cannot go, so it is drained instead: down, but still valid. */
		int ret = overlay_change(c, "endpoints", x.names[i], NULL, NULL, err);
		if (ret < 0) {
			char origin[200];
			snprintf(origin, sizeof(origin), "expiry of %s", x.names[i]);
			struct rwd_conf_overlay ov = { "endpoints", x.names[i], "drained", "true", origin };
			ret = overlay_change(c, "drains", x.names[i], &ov, "true", err);
			rwd_warn("endpoint %s: registration expired; still used by a policy, drained", x.names[i]);
		} else {
			rwd_info("endpoint %s: registration expired, removed", x.names[i]);
		}
		struct rwd_store_txn *t;
		if (rwd_store_begin(c->store, &t) == 0) {
			if (rwd_store_del(t, "expiry", x.names[i]) == 0)
				rwd_store_commit(t);
			else
				rwd_store_abort(t);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- zone changes ---- */

static bool same_rrset(const struct rwd_rrset *rs, const struct rr_parse *p, uint32_t ttl)
{
	if (rs == NULL || rs->ttl != ttl || rs->count != p->count)
		return false;
	const uint8_t *q = p->rdata;
	for (unsigned k = 0; k < p->count; k++, q += 2u + rw_get16(q)) {
		bool found = false;
		RWD_RRSET_FOREACH(rs, rd, i)
			if (!found && rw_rdata_equal(rs->type, rd + 2, rw_get16(rd), q + 2, rw_get16(q)))
				found = true;
		if (!found)
			return false;
	}
	return true;
}

struct zone_report {
	char *err;
	bool any;
};

static void zone_report(void *ctx, const char *msg)
{
	struct zone_report *r = ctx;
	if (!r->any && strstr(msg, ": warning: ") == NULL) {
		snprintf(r->err, RWD_CONTROL_ERRLEN, "the zone would not load: %s", msg);
		r->any = true;
	}
}

static json_t *change_value(const struct rwd_rr_change *ch)
{
	json_t *recs = json_array();
	for (size_t i = 0; ch->action != RWD_RR_DELETE && i < ch->n_records; i++)
		json_array_append_new(recs, json_string(ch->records[i]));
	return json_pack("{s:I,s:o}", "ttl", (json_int_t)ch->ttl, "records", recs);
}

/* ---- zone compaction ---- */

/* The zone served at apex, in view (NULL: top level). Lock held. */
static const struct rwd_zone *served_zone(const char *view, const uint8_t *apex)
{
	const struct rwd_snapshot *snap = rwd_snapshot_get();
	if (view == NULL)
		return rwd_zonedb_get(snap->zones, apex, rw_dname_len(apex));
	const struct rwd_view *sv = rwd_snapshot_view(snap, view);
	for (size_t i = 0; sv && i < sv->n_own; i++)
		if (rw_dname_eq(sv->zones->zones[i]->apex_name, apex))
			return sv->zones->zones[i];
	return NULL;
}

struct compaction {
	struct rwd_control *c;
	struct rwd_zone *base;         /* the version served when it started (a reference) */
	char *view, *file;
	char skey[1200];
	char zname[1024];
	uint8_t apex[RW_DNAME_MAXLEN];
};

/*
 * Load the zone afresh (file and store, as at start), then, under the lock,
 * replay onto it the changes applied since (rwd_zone_rebase) and publish it:
 * the memory the patches left behind goes with the old chain. Changes never
 * wait for the load; the replay is one patch.
 */
static void *compact_main(void *arg)
{
	struct compaction *j = arg;
	struct rwd_control *c = j->c;
	char err[RWD_CONTROL_ERRLEN] = "out of memory";
	struct zone_report rep = { err, false };
	struct zone_overrides zo = { .zone = j->skey };
	struct rwd_zone *fresh = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (rwd_store_foreach(c->store, "rrsets", zo_from_store, &zo) == 0) {
		struct rwd_zone_load_opts opts = { zo.v, zo.n, j->base->serial };
		fresh = rwd_zone_load_opts(j->apex, j->file, &opts, zone_report, &rep);
	}
	zo.zone = NULL;
	zo_free(&zo);

	pthread_mutex_lock(&c->lock);
	const struct rwd_zone *cur = c->stopping || fresh == NULL ? NULL : served_zone(j->view, j->apex);
	struct rwd_zone *z = cur ? rwd_zone_rebase(fresh, j->base, cur) : NULL;
	struct overlays o = { 0 };
	struct rwd_conf *conf = NULL;
	if (z && collect_overlays(c, &o, NULL, NULL) == 0)
		conf = conf_with(c, c->srv->conf, &o, err);
	overlays_free(&o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (conf) {
		publish(c, conf, z, j->view);
		rwd_info("zone %s: compacted in %.2f s (a fresh load, the changes since replayed)",
		         j->zname, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	} else {
		rwd_zone_free(z);
		if (fresh == NULL)
			rwd_warn("zone %s: compaction: %s", j->zname, err);
		else if (!c->stopping)
			rwd_info("zone %s: compaction dropped (reloaded meanwhile, or too many changes)",
			         j->zname);
	}
	c->compacted = true;
	pthread_mutex_unlock(&c->lock);

	rwd_zone_free(fresh);
	rwd_zone_free(j->base);
	free(j->view);
	free(j->file);
	free(j);
	return NULL;
}

/* Start compacting zone (just published, a reference taken for us) from its
 * file (ours to free). Lock held. */
static void compact_start(struct rwd_control *c, struct rwd_zone *zone, const char *view,
                          char *file, const char *skey, const char *zname)
{
	if (c->compacting && c->compacted) {
		pthread_join(c->compactor, NULL);
		c->compacting = false;
	}
	struct compaction *j = c->compacting || c->stopping || file == NULL ? NULL
	                                                                   : calloc(1, sizeof(*j));
	if (j == NULL) {
		rwd_zone_free(zone);
		free(file);
		return;
	}
	*j = (struct compaction){ .c = c, .base = zone, .view = view ? strdup(view) : NULL,
	                          .file = file };
	snprintf(j->skey, sizeof(j->skey), "%s", skey);
	snprintf(j->zname, sizeof(j->zname), "%s", zname);
	memcpy(j->apex, zone->apex_name, zone->apex_len);
	if ((view && j->view == NULL) || j->file == NULL ||
	    pthread_create(&c->compactor, NULL, compact_main, j) != 0) {
		rwd_zone_free(zone);
		free(j->view);
		free(j->file);
		free(j);
		return;
	}
	c->compacting = true;
	c->compacted = false;
}

int rwd_control_zone_change(struct rwd_control *c, const char *zone, const char *view,
                            const struct rwd_rr_change *changes, size_t n,
                            char err[RWD_CONTROL_ERRLEN])
{
	uint8_t apex[RW_DNAME_MAXLEN];
	if (rw_dname_from_str(zone, NULL, apex) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "bad zone name '%s'", zone);
		return RW_ENOENT;
	}
	rw_dname_lower(apex);
	char zname[1024];
	rw_dname_to_str(apex, zname, sizeof(zname));

	pthread_mutex_lock(&c->lock);
	/* The zone of the view, or of the top level: as configured and as served. */
	const struct rwd_conf *conf0 = c->srv->conf;
	const struct rwd_conf_zone *czs = conf0->zones;
	size_t n_czs = conf0->n_zones;
	const struct rwd_snapshot *snap = rwd_snapshot_get();
	const struct rwd_zone *cur = NULL;
	if (view) {
		const struct rwd_view *sv = rwd_snapshot_view(snap, view);
		size_t v = 0;
		while (v < conf0->n_views && strcmp(conf0->views[v].name, view) != 0)
			v++;
		if (sv == NULL || v == conf0->n_views) {
			snprintf(err, RWD_CONTROL_ERRLEN, "no view '%s'", view);
			return locked(c, RW_ENOENT);
		}
		czs = conf0->views[v].zones;
		n_czs = conf0->views[v].n_zones;
		for (size_t i = 0; i < sv->n_own && !cur; i++)
			if (rw_dname_eq(sv->zones->zones[i]->apex_name, apex))
				cur = sv->zones->zones[i];
	} else {
		cur = rwd_zonedb_get(snap->zones, apex, rw_dname_len(apex));
	}
	const struct rwd_conf_zone *cz = NULL;
	for (size_t i = 0; i < n_czs && !cz; i++)
		if (rw_dname_eq(czs[i].dname, apex))
			cz = &czs[i];
	if (cz == NULL || cur == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, view ? "no zone '%s' in view '%s'" : "no zone '%s'",
		         zone, view);
		return locked(c, RW_ENOENT);
	}
	char skey[1200];                   /* the zone in store keys */
	store_zone_name(view, apex, skey, sizeof(skey));
	if (c->store == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no store configured (api.data)");
		return locked(c, RW_EIO);
	}
	if (n == 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no changes");
		return locked(c, RW_EINVAL);
	}

	/* The changes, checked against the zone as served. */
	struct zone_overrides zo = { 0 };
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct rwd_rr_change *ch = &changes[i];
		uint16_t type;
		uint8_t owner[RW_DNAME_MAXLEN];
		if (knot_rrtype_from_string(ch->type, &type) != 0 || type == RW_TYPE_ANY) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: unknown type '%s'", i + 1, ch->type);
			ret = RW_EINVAL;
		} else if (type == RW_TYPE_SOA) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: the SOA is managed by runway", i + 1);
			ret = RW_EINVAL;
		} else if (rw_dname_from_str(ch->name, NULL, owner) < 0 || !rw_dname_is_sub(owner, apex)) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: '%.200s' is not a name in %.200s",
			         i + 1, ch->name, zname);
			ret = RW_EINVAL;
		} else if (ch->action != RWD_RR_DELETE && ch->n_records == 0) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: no records", i + 1);
			ret = RW_EINVAL;
		}
		if (ret < 0)
			break;
		rw_dname_lower(owner);
		const struct rwd_node *node = rwd_zone_find(cur, owner, rw_dname_len(owner));
		const struct rwd_rrset *rs = node ? rwd_node_rrset(node, type) : NULL;
		struct rr_parse p = { 0 };
		if (ch->action == RWD_RR_CREATE && rs) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %s %s already exists", i + 1,
			         ch->name, ch->type);
			ret = RW_EINVAL;
		} else if (ch->action == RWD_RR_DELETE &&
		           ((ret = parse_records(ch->name, type, ch->ttl, ch->records, ch->n_records,
		                                 &p, err, i + 1)) < 0 || !same_rrset(rs, &p, ch->ttl))) {
			if (ret == 0)
				snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %s %s does not match the "
				         "existing records (TTL and every record must match)", i + 1,
				         ch->name, ch->type);
			ret = RW_EINVAL;
		}
		free(p.rdata);
		if (ret == 0)
			ret = zo_add(&zo, ch->name, type, ch->ttl, ch->records,
			             ch->action == RWD_RR_DELETE ? 0 : ch->n_records, err, i + 1);
	}
	uint32_t stored = stored_serial(c, skey);
	uint32_t serial = (stored > cur->serial ? stored : cur->serial) + 1;

	/*
	 * Applied to the zone as served, only what the changes reach is rebuilt
	 * (rwd_zone_patch, zone.h). When the store is ahead of what is served
	 * (stored, not published) or the patch declines (too broad, rejected),
	 * the zone is loaded afresh: the file, everything stored, then these
	 * changes on top; that load also says what is wrong with a change.
	 */
	struct rwd_zone *z = NULL;
	bool incremental = false;
	if (ret == 0 && stored <= cur->serial)
		incremental = (z = rwd_zone_patch(cur, zo.v, zo.n, serial)) != NULL;
	if (ret == 0 && z == NULL) {
		struct zone_overrides all = { .zone = skey };
		ret = rwd_store_foreach(c->store, "rrsets", zo_from_store, &all);
		all.zone = NULL;
		for (size_t i = 0; i < n && ret == 0; i++) {
			uint16_t type;
			knot_rrtype_from_string(changes[i].type, &type);
			ret = zo_add(&all, changes[i].name, type, changes[i].ttl, changes[i].records,
			             changes[i].action == RWD_RR_DELETE ? 0 : changes[i].n_records, err, i + 1);
		}
		struct zone_report rep = { err, false };
		struct rwd_zone_load_opts opts = { all.v, all.n, serial };
		if (ret == 0 && (z = rwd_zone_load_opts(cz->dname, cz->file, &opts, zone_report,
		                                        &rep)) == NULL)
			ret = RW_EINVAL;
		zo_free(&all);
	}
	zo_free(&zo);

	/* Durable before visible: the change is acknowledged only after both. */
	struct rwd_store_txn *t = NULL;
	if (ret == 0 && (ret = rwd_store_begin(c->store, &t)) == 0) {
		for (size_t i = 0; i < n && ret == 0; i++) {
			uint8_t owner[RW_DNAME_MAXLEN];
			char oname[1024], key[2100];
			uint16_t type;
			rw_dname_from_str(changes[i].name, NULL, owner);
			rw_dname_lower(owner);
			rw_dname_to_str(owner, oname, sizeof(oname));
			knot_rrtype_from_string(changes[i].type, &type);
			rrset_key(key, sizeof(key), skey, oname, type);
			json_t *v = change_value(&changes[i]);
			char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
			ret = text ? rwd_store_put(t, "rrsets", key, text, strlen(text)) : RW_ENOMEM;
			free(text);
			json_decref(v);
		}
		char sv[16];
		snprintf(sv, sizeof(sv), "%u", serial);
		if (ret == 0)
			ret = rwd_store_put(t, "serials", skey, sv, strlen(sv));
		ret = ret == 0 ? rwd_store_commit(t) : (rwd_store_abort(t), ret);
		if (ret < 0)
			snprintf(err, RWD_CONTROL_ERRLEN, "cannot write the store");
	}
	if (ret < 0) {
		rwd_zone_free(z);
		return locked(c, ret);
	}
	/* The model is rebuilt from the same text and overlays: unchanged. */
	struct overlays o = { 0 };
	struct rwd_conf *conf = collect_overlays(c, &o, NULL, NULL) == 0 ?
	                        conf_with(c, c->srv->conf, &o, err) : NULL;
	overlays_free(&o);
	if (conf == NULL) {
		rwd_zone_free(z);
		return locked(c, RW_EIO);
	}
	bool compact = incremental && rwd_zone_wants_compaction(z);
	char *file = compact ? strdup(cz->file) : NULL;   /* cz goes with the old conf */
	if (compact)
		rwd_zone_ref(z);               /* the compactor's starting point */
	publish(c, conf, z, view);
	rwd_info("zone %s%s%s%s: %zu change(s) applied, serial %u (%s)", zname, view ? " (view " : "",
	         view ? view : "", view ? ")" : "", n, serial, incremental ? "incremental" : "full load");
	if (compact)
		compact_start(c, z, view, file, skey, zname);
	return locked(c, 0);
}
