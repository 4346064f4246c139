/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/common/log.h"
#include "server/daemon/server.h"
#include "server/limit/rrl.h"
#include "server/query/cookie.h"
#include "server/zone/history.h"
#include "server/zone/source.h"

/* The failures of one build, in the order the zones were loaded. */
struct failures {
	struct rwd_zone_failure *v;
	size_t n, cap;
	unsigned loads;                /* zone loads that failed */
	size_t pending;                /* of the n, secondaries not transferred yet: no error */
};

struct load_report {
	unsigned errors;               /* every error of the build */
	unsigned zone_errors;          /* those of the zone being loaded */
	char first[RWD_ZONE_ERRLEN];   /* the first of those */
	struct failures failed;
};

static void report(void *ctx, const char *msg)
{
	struct load_report *r = ctx;
	if (strstr(msg, ": warning: ") != NULL) {
		rwd_warn("%s", msg);
	} else {
		rwd_error("%s", msg);
		r->errors++;
		if (r->zone_errors++ == 0)
			snprintf(r->first, sizeof(r->first), "%s", msg);
	}
}

/* Note that zone cz failed (its first error in rep). 0 or RW_ENOMEM. */
static int add_failure(struct failures *f, const struct rwd_conf_zone *cz,
                       const struct load_report *rep, bool stale)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		struct rwd_zone_failure *v = realloc(f->v, cap * sizeof(*v));
		if (v == NULL)
			return RW_ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	struct rwd_zone_failure *x = &f->v[f->n];
	*x = (struct rwd_zone_failure){ .zone = strdup(cz->name), .error = strdup(rep->first),
	                                .view = cz->view ? strdup(cz->view) : NULL,
	                                .errors = rep->zone_errors, .stale = stale };
	memcpy(x->apex, cz->dname, rw_dname_len(cz->dname));
	if (x->zone == NULL || x->error == NULL || (cz->view && x->view == NULL)) {
		free(x->zone);
		free(x->error);
		free(x->view);
		return RW_ENOMEM;
	}
	f->n++;
	return 0;
}

/* The traffic model and geo data of a new snapshot. */
static int build_steering(struct rwd_snapshot *s, struct rwd_conf *conf,
                          const struct rwd_snapshot *prev)
{
	s->model = conf->model ? conf->model : rwd_model_new();
	conf->model = NULL;
	if (s->model == NULL || rwd_model_keep_slots(s->model, prev ? prev->model : NULL) < 0)
		return RW_ENOMEM;
	if (s->model->mmdb_path == NULL && s->model->n_networks == 0)
		return 0;
	char err[256];
	int ret = rwd_geo_open(s->model, &s->geo, err);
	if (ret < 0)
		rwd_error("%s", err);
	return ret;
}

/* Tell srv->on_zone_serial of every zone of db whose serial is not that of
 * the same apex in old (NULL: every zone). */
static void zone_serials(struct rwd_server *srv, const char *view, const struct rwd_zonedb *db,
                         size_t n, const struct rwd_zonedb *old)
{
	for (size_t i = 0; db && i < n; i++) {
		const struct rwd_zone *z = db->zones[i];
		const struct rwd_zone *o = old ? rwd_zonedb_get(old, z->apex_name, z->apex_len) : NULL;
		if (z->failed || (o && !o->failed && o->serial == z->serial))
			continue;
		srv->on_zone_serial(srv->on_zone_serial_ctx, view, z->apex_name, z->serial);
	}
}

void rwd_server_publish(struct rwd_server *srv, struct rwd_snapshot *s)
{
	struct rwd_snapshot *old = rwd_snapshot_swap(s);
	if (srv->on_zone_serial) {
		zone_serials(srv, NULL, s->zones, s->zones->n_zones, old ? old->zones : NULL);
		for (size_t v = 0; v < s->n_views; v++) {
			const struct rwd_view *ov = old ? rwd_snapshot_view(old, s->views[v].name) : NULL;
			zone_serials(srv, s->views[v].name, s->views[v].zones, s->views[v].n_own,
			             ov ? ov->zones : NULL);
		}
	}
	if (srv->health)
		rwd_health_apply(srv->health, s->model);
	rwd_snapshot_free(old);
}

struct rwd_snapshot *rwd_server_build(struct rwd_conf *conf,
                                      const struct rwd_snapshot *prev, unsigned *n_errors)
{
	return rwd_server_build_opts(conf, prev, NULL, NULL, n_errors);
}

static struct rwd_notify_sink notify_sink;

void rwd_server_set_notify_sink(const struct rwd_notify_sink *sink)
{
	notify_sink = *sink;
}

/* The rules rs[0..n) with their ACLs copied and keys pointing into s->tsig. */
static int copy_rules(const struct rwd_snapshot *s, const struct rwd_conf_xfr_rule *rs, size_t n,
                      struct rwd_xfr_rule **out, size_t *n_out)
{
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct rwd_xfr_rule *r = &(*out)[i];
		*n_out = i + 1;
		if (rwd_acl_copy(&r->match, &rs[i].match) < 0)
			return RW_ENOMEM;
		r->key = rs[i].key ? rwd_tsig_keyring_find(&s->tsig, rs[i].key->dname,
		                                           rw_dname_len(rs[i].key->dname)) : NULL;
		if (rs[i].key && r->key == NULL)
			return RW_EINVAL;       /* not in the keyring: cannot be */
	}
	return 0;
}

/* The zones of cz[0..n) (view: its index + 1, 0 for the top level) that
 * have transfer settings into s->zone_settings (room made by the caller). */
static int zone_settings(struct rwd_snapshot *s, const struct rwd_conf_zone *cz, size_t n,
                         uint32_t view)
{
	for (size_t i = 0; i < n; i++) {
		const struct rwd_conf_zone *z = &cz[i];
		if (!z->n_allow_transfer && !z->n_primaries && !z->n_allow_notify)
			continue;
		struct rwd_zone_settings *x = &s->zone_settings[s->n_zone_settings++];
		size_t len = rw_dname_len(z->dname);
		memcpy(x->apex, z->dname, len);
		x->apex_len = (uint8_t)len;
		x->view = view;
		x->secondary = z->n_primaries > 0;
		int ret = copy_rules(s, z->allow_transfer, z->n_allow_transfer, &x->allow_transfer,
		                     &x->n_allow_transfer);
		if (ret == 0)
			ret = copy_rules(s, z->allow_notify, z->n_allow_notify, &x->allow_notify,
			                 &x->n_allow_notify);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The keyring, each zone's transfer settings and the transfer limits of
 * s from conf (rwd_snapshot_free frees them). 0 or RW_ENOMEM. */
static int xfr_settings(struct rwd_snapshot *s, const struct rwd_conf *conf)
{
	s->xfr_max_out = conf->xfr.max_out;
	for (size_t i = 0; i < conf->n_tsig_keys; i++) {
		const struct rwd_conf_tsig_key *k = &conf->tsig_keys[i];
		int ret = rwd_tsig_keyring_add(&s->tsig, k->dname, k->algorithm, k->secret,
		                               k->secret_len);
		if (ret < 0)
			return ret;
	}
	size_t n = conf->n_zones;
	for (size_t v = 0; v < conf->n_views; v++)
		n += conf->views[v].n_zones;
	if (n == 0)
		return 0;
	if ((s->zone_settings = calloc(n, sizeof(*s->zone_settings))) == NULL)
		return RW_ENOMEM;
	int ret = zone_settings(s, conf->zones, conf->n_zones, 0);
	for (size_t v = 0; ret == 0 && v < conf->n_views; v++)
		ret = zone_settings(s, conf->views[v].zones, conf->views[v].n_zones, (uint32_t)v + 1);
	return ret;
}

/* Settings of the query path that come straight from the configuration;
 * rate limiting keeps prev's bucket table. 0 or RW_ENOMEM. */
static int copy_settings(struct rwd_snapshot *s, const struct rwd_conf *conf,
                         const struct rwd_snapshot *prev)
{
	s->notify_sink = notify_sink;
	int ret = xfr_settings(s, conf);
	if (ret < 0) {
		rwd_error("transfer settings: %s", rw_strerror(ret));
		return ret;
	}
	s->edns_udp_size = conf->edns_udp_size;
	s->nsid_len = (uint16_t)(conf->nsid_len < RWD_NSID_MAX ? conf->nsid_len : RWD_NSID_MAX);
	if (s->nsid_len)
		memcpy(s->nsid, conf->nsid, s->nsid_len);
	s->cookies = conf->cookies_enabled;
	memcpy(s->cookie_secret, conf->cookie_secret_text ? conf->cookie_secret
	                                                  : rwd_cookie_random_secret(),
	       sizeof(s->cookie_secret));
	return rwd_rrl_build(&conf->rrl, prev ? prev->rrl : NULL, &s->rrl);
}

/* " (view NAME)" for a zone of a view, "" for a top-level one: for log lines. */
static const char *view_label(const char *view, char *buf, size_t size)
{
	if (view == NULL)
		return "";
	snprintf(buf, size, " (view %s)", view);
	return buf;
}

/*
 * Views of a new snapshot from own zone lists: views[i] gets name and match
 * from conf view i, own[i][0..n_own[i]) (taken over; each array with room
 * for the top-level zones too) layered over top. On failure every own
 * array is freed with its zones.
 */
static int make_views(struct rwd_snapshot *s, const struct rwd_conf_view *cv, size_t n,
                      struct rwd_zone ***own, const size_t *n_own)
{
	int ret = 0;
	s->views = calloc(n, sizeof(*s->views));
	for (size_t i = 0; i < n; i++) {
		struct rwd_view *v = s->views ? &s->views[i] : NULL;
		if (ret == 0 && v && (v->name = strdup(cv[i].name)) != NULL &&
		    rwd_acl_copy(&v->match, &cv[i].match) == 0 &&
		    (v->zones = rwd_zonedb_layer(own[i], n_own[i], s->zones)) != NULL) {
			v->n_own = n_own[i];
			s->n_views = i + 1;
			continue;
		}
		ret = RW_ENOMEM;
		for (size_t k = 0; k < n_own[i]; k++)
			rwd_zone_free(own[i][k]);
		free(own[i]);
		if (v) {
			free(v->name);
			rwd_acl_free(&v->match);
			v->name = NULL;
		}
	}
	if (ret < 0) {
		rwd_views_free(s->views, s->n_views);
		s->views = NULL;
		s->n_views = 0;
	}
	return ret;
}

static bool same_apex(const struct rwd_zone *a, const struct rwd_zone *b)
{
	return a->apex_len == b->apex_len && memcmp(a->apex_name, b->apex_name, a->apex_len) == 0;
}

/* zones[0..n) by new references, with replace (taken over) instead of the
 * zone of its apex, or appended; in a new array with room for extra more.
 * NULL when out of memory (replace is then not taken over). */
static struct rwd_zone **copy_zones(struct rwd_zone *const *zones, size_t n,
                                    struct rwd_zone *replace, size_t extra, size_t *n_out)
{
	struct rwd_zone **v = calloc(n + 1 + extra, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (replace && same_apex(zones[i], replace)) {
			v[i] = replace;
			replace = NULL;
		} else {
			rwd_zone_ref(zones[i]);
			v[i] = zones[i];
		}
	}
	if (replace)
		v[n++] = replace;
	*n_out = n;
	return v;
}

static void free_zone_list(struct rwd_zone **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		rwd_zone_free(v[i]);
	free(v);
}

/* prev's failures into s, but that of the zone replace takes the place of
 * (it loaded). 0 or RW_ENOMEM. */
static int copy_failures(struct rwd_snapshot *s, const struct rwd_snapshot *prev,
                         const struct rwd_zone *replace, const char *view)
{
	s->zone_load_failures = prev->zone_load_failures;
	if (prev->n_failures == 0)
		return 0;
	const struct rwd_zone_failure *gone =
		replace ? rwd_snapshot_failure(prev, view, replace->apex_name) : NULL;
	if ((s->failures = calloc(prev->n_failures, sizeof(*s->failures))) == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; i < prev->n_failures; i++) {
		const struct rwd_zone_failure *f = &prev->failures[i];
		if (f == gone)
			continue;
		struct rwd_zone_failure *x = &s->failures[s->n_failures++];
		*x = *f;
		x->zone = strdup(f->zone);
		x->error = strdup(f->error);
		x->view = f->view ? strdup(f->view) : NULL;
		if (x->zone == NULL || x->error == NULL || (f->view && x->view == NULL))
			return RW_ENOMEM;    /* rwd_snapshot_free() frees what was copied */
	}
	return 0;
}

struct rwd_snapshot *rwd_server_rebuild(struct rwd_conf *conf, const struct rwd_snapshot *prev,
                                        struct rwd_zone *replace, const char *view)
{
	struct rwd_snapshot *s = calloc(1, sizeof(*s));
	struct rwd_zone ***own = NULL;
	size_t *n_own = NULL, n_copied = 0, n = 0;
	struct rwd_conf_view *cv = NULL;
	if (s == NULL || build_steering(s, conf, prev) < 0 || copy_failures(s, prev, replace, view) < 0)
		goto fail;
	struct rwd_zone **zones = copy_zones(prev->zones->zones, prev->zones->n_zones,
	                                     view ? NULL : replace, 0, &n);
	if (zones == NULL)
		goto fail;
	if (view == NULL)
		replace = NULL;                /* taken over by the top level */
	if ((s->zones = rwd_zonedb_new(zones, n)) == NULL) {
		free_zone_list(zones, n);
		goto fail;
	}
	/* Views keep their own zones (and the replacement, in its view) over
	 * the new top level, with prev's names and clients. */
	if (prev->n_views) {
		own = calloc(prev->n_views, sizeof(*own));
		n_own = calloc(prev->n_views, sizeof(*n_own));
		cv = calloc(prev->n_views, sizeof(*cv));
		if (own == NULL || n_own == NULL || cv == NULL)
			goto fail;
		for (; n_copied < prev->n_views; n_copied++) {
			const struct rwd_view *pv = &prev->views[n_copied];
			bool mine = replace && strcmp(pv->name, view) == 0;
			own[n_copied] = copy_zones(pv->zones->zones, pv->n_own, mine ? replace : NULL,
			                           s->zones->n_zones, &n_own[n_copied]);
			if (own[n_copied] == NULL)
				goto fail;
			if (mine)
				replace = NULL;
			cv[n_copied].name = pv->name;
			cv[n_copied].match = pv->match;
		}
		n_copied = 0;                  /* make_views takes every list over */
		if (make_views(s, cv, prev->n_views, own, n_own) < 0)
			goto fail;
		free(own);
		free(n_own);
		free(cv);
	}
	rwd_zone_free(replace);            /* a view prev does not have: unused */
	if (copy_settings(s, conf, prev) < 0) {
		rwd_snapshot_free(s);
		return NULL;
	}
	return s;
fail:
	for (size_t i = 0; i < n_copied; i++)
		free_zone_list(own[i], n_own[i]);
	free(own);
	free(n_own);
	free(cv);
	rwd_zone_free(replace);
	rwd_snapshot_free(s);
	return NULL;
}

/* The version of a zone in prev that a failed load keeps: the top-level
 * zone of that apex, or for a view, that view's own zone of that apex. */
static struct rwd_zone *previous(const struct rwd_snapshot *prev, const char *view,
                                 const uint8_t *apex)
{
	if (prev == NULL)
		return NULL;
	size_t len = rw_dname_len(apex);
	struct rwd_zone *top = rwd_zonedb_get(prev->zones, apex, len);
	if (view == NULL)
		return top;
	const struct rwd_view *v = rwd_snapshot_view(prev, view);
	struct rwd_zone *z = v ? rwd_zonedb_get(v->zones, apex, len) : NULL;
	return z != top ? z : NULL;
}

/*
 * The catalog zone cz (catalog: {role: producer}) generated from the
 * top-level zones that name it (zone/source_catalog.c), then the API's
 * stored changes to it (zo), as a zone file's are applied. Without such
 * changes, the version prev serves stays when it holds the same members,
 * so a reload that changes nothing changes no serial; else the serial is
 * the time now, or one more than the served one when that is not newer
 * (RFC 1982), as Knot's generated catalogs (the control layer's settling
 * of a reload keeps the served serial when the records are the same after
 * all). NULL after reporting (out of memory, a name too long).
 */
static struct rwd_zone *build_catalog(const struct rwd_conf_zone *cz, const char *view,
                                      const struct rwd_snapshot *prev,
                                      const struct rwd_conf *conf,
                                      const struct rwd_zone_load_opts *zo,
                                      struct load_report *rep)
{
	size_t apex_len = rw_dname_len(cz->dname), n = 0;
	struct rwd_catalog_member *m = calloc(conf->n_zones + 1, sizeof(*m));
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < conf->n_zones; i++) {
		const struct rwd_conf_zone *z = &conf->zones[i];
		if (z->catalog_role == RWD_CATALOG_MEMBER &&
		    rw_dname_len(z->catalog_member_of) == apex_len &&
		    memcmp(z->catalog_member_of, cz->dname, apex_len) == 0)
			m[n++] = (struct rwd_catalog_member){ .name = z->dname, .group = z->catalog_group };
	}
	struct rwd_zone *old = previous(prev, view, cz->dname);
	struct rwd_source_catalog cat = { .members = m, .n = n, .name = cz->file,
	                                  .serial = old ? old->serial : 0 };
	bool changes = zo && (zo->n_overrides || zo->serial);
	if (!changes && old && !rwd_zone_is_placeholder(old) && rwd_catalog_same(&cat, old)) {
		free(m);
		rwd_zone_ref(old);
		return old;
	}
	uint32_t now = (uint32_t)time(NULL);
	cat.serial = old && !rwd_zone_is_placeholder(old) && !rwd_serial_newer(now, old->serial)
	           ? old->serial + 1 : now;
	struct rwd_record_source src[2] = { rwd_source_catalog(&cat) };
	if (changes)
		src[1] = rwd_source_overrides(zo);
	struct rwd_zone *z = rwd_zone_build_sources(cz->dname, cz->file, src, changes ? 2 : 1,
	                                            &conf->zone_limits, report, rep);
	free(m);
	return z;
}

/*
 * A secondary zone (primaries:) whose copy (file) does not exist yet: not
 * an error, strict_zones or not. The version prev serves stays (a transfer
 * installed it), else a placeholder answers SERVFAIL until the first
 * transfer, listed among the failures as "not transferred yet".
 */
static void not_transferred(const struct rwd_conf_zone *cz, const char *view,
                            const struct rwd_snapshot *prev, struct load_report *rep,
                            struct rwd_zone **out, size_t *n_out)
{
	char label[96];
	const char *in = view_label(view, label, sizeof(label));
	struct rwd_zone *old = previous(prev, view, cz->dname);
	if (old != NULL && !rwd_zone_is_placeholder(old)) {
		rwd_info("zone %s%s: secondary, %s not written yet: serving serial %u", cz->name, in,
		         cz->file, old->serial);
		rwd_zone_ref(old);
		out[(*n_out)++] = old;
		return;
	}
	if ((old = rwd_zone_failed(cz->dname, cz->file)) == NULL) {
		rwd_error("zone %s%s: not served (out of memory)", cz->name, in);
		rep->errors++;
		return;
	}
	rwd_info("zone %s%s: secondary, not transferred yet: queries get SERVFAIL until the first "
	         "transfer", cz->name, in);
	out[(*n_out)++] = old;
	snprintf(rep->first, sizeof(rep->first), "not transferred yet");
	if (add_failure(&rep->failed, cz, rep, false) < 0)
		rep->errors++;
	else
		rep->failed.pending++;
}

/*
 * Load the zones cz[0..n) into out (counting *n_out). A zone that fails
 * keeps its previous version at reload (prev), else a placeholder that
 * answers SERVFAIL takes its place (rwd_zone_failed), so the zone stays
 * known by name; each failure is noted in rep->failed.
 */
static void load_zones(const struct rwd_conf_zone *cz, size_t n, const char *view,
                       const struct rwd_snapshot *prev, const struct rwd_conf *conf,
                       rwd_zone_opts_fn opts, void *opts_ctx, struct load_report *rep,
                       struct rwd_zone **out, size_t *n_out)
{
	char label[96];
	const char *in = view_label(view, label, sizeof(label));
	bool strict = prev == NULL && conf->strict_zones;   /* the start fails: no placeholders */
	for (size_t i = 0; i < n; i++) {
		unsigned before = rep->errors;
		struct rwd_zone_load_opts zo = { 0 };
		rep->zone_errors = 0;
		rep->first[0] = '\0';
		if (cz[i].n_primaries && access(cz[i].file, F_OK) != 0 && errno == ENOENT) {
			not_transferred(&cz[i], view, prev, rep, out, n_out);
			continue;
		}
		if (opts)
			opts(opts_ctx, &cz[i], &zo);
		struct rwd_zone *z = cz[i].catalog_role == RWD_CATALOG_PRODUCER
		                   ? build_catalog(&cz[i], view, prev, conf, &zo, rep)
		                   : rwd_zone_load_limits(cz[i].dname, cz[i].file, &zo,
		                                          &conf->zone_limits, report, rep);
		if (opts)
			opts(opts_ctx, NULL, &zo);   /* release */
		if (z != NULL) {
			rwd_info("zone %s%s: loaded serial %u, %zu records", cz[i].name, in, z->serial,
			         z->n_records);
			out[(*n_out)++] = z;
			continue;
		}
		if (rep->errors == before) {   /* failed without a message (out of memory) */
			rep->errors++;
			rep->zone_errors++;
			snprintf(rep->first, sizeof(rep->first), "%s: out of memory", cz[i].file);
		}
		rep->failed.loads++;
		struct rwd_zone *old = previous(prev, view, cz[i].dname);
		if (strict) {
			rwd_error("zone %s%s: not loaded (%u error%s)", cz[i].name, in, rep->zone_errors,
			          rep->zone_errors == 1 ? "" : "s");
			old = NULL;
		} else if (old != NULL && !rwd_zone_is_placeholder(old)) {
			rwd_error("zone %s%s: keeping the previous version (serial %u)", cz[i].name, in,
			          old->serial);
			rwd_zone_ref(old);
			out[(*n_out)++] = old;
		} else if ((old = rwd_zone_failed(cz[i].dname, cz[i].file)) != NULL) {
			rwd_error("zone %s%s: not loaded (%u error%s): queries get SERVFAIL until a "
			          "reload loads it", cz[i].name, in, rep->zone_errors,
			          rep->zone_errors == 1 ? "" : "s");
			out[(*n_out)++] = old;
		} else {
			rwd_error("zone %s%s: not served (out of memory)", cz[i].name, in);
			continue;
		}
		if (add_failure(&rep->failed, &cz[i], rep, old && !rwd_zone_is_placeholder(old)) < 0)
			rep->errors++;
	}
}

struct rwd_snapshot *rwd_server_build_opts(struct rwd_conf *conf, const struct rwd_snapshot *prev,
                                           rwd_zone_opts_fn opts, void *opts_ctx,
                                           unsigned *n_errors)
{
	struct rwd_snapshot *s = calloc(1, sizeof(*s));
	struct rwd_zone **zones = calloc(conf->n_zones ? conf->n_zones : 1, sizeof(*zones));
	struct rwd_zone ***own = calloc(conf->n_views ? conf->n_views : 1, sizeof(*own));
	size_t *n_own = calloc(conf->n_views ? conf->n_views : 1, sizeof(*n_own));
	size_t n = 0, views_loaded = 0;
	struct load_report rep = { 0 };
	int steering = 0;
	if (s == NULL || zones == NULL || own == NULL || n_own == NULL)
		goto fail;

	load_zones(conf->zones, conf->n_zones, NULL, prev, conf, opts, opts_ctx, &rep,
	           zones, &n);
	/* A view's array has room for the top-level zones it will share. */
	for (size_t v = 0; v < conf->n_views; v++, views_loaded++) {
		const struct rwd_conf_view *cv = &conf->views[v];
		if ((own[v] = calloc(cv->n_zones + n + 1, sizeof(**own))) == NULL)
			goto fail;
		load_zones(cv->zones, cv->n_zones, cv->name, prev, conf, opts, opts_ctx,
		           &rep, own[v], &n_own[v]);
	}
	/* Loading used scratch memory (records, parser) several times the size
	 * of what it freed at the end; hand it back to the system. */
	malloc_trim(0);
	steering = build_steering(s, conf, prev);
	if (steering < 0)
		rep.errors++;
	*n_errors = rep.errors;
	size_t failed = rep.failed.n - rep.failed.pending;
	if (prev == NULL && failed > 0 && conf->strict_zones) {
		rwd_error("%zu zone%s failed to load and server.strict_zones is set", failed,
		          failed == 1 ? "" : "s");
		goto fail;
	}
	if ((prev == NULL && steering < 0) || s->model == NULL ||
	    (s->geo == NULL && (s->model->mmdb_path || s->model->n_networks)))
		goto fail;
	s->zones = rwd_zonedb_new(zones, n);
	if (s->zones == NULL)
		goto fail;
	zones = NULL;
	n = 0;
	if (conf->n_views) {
		views_loaded = 0;              /* make_views takes every list over */
		if (make_views(s, conf->views, conf->n_views, own, n_own) < 0)
			goto fail;
	}
	free(own);
	free(n_own);
	s->failures = rep.failed.v;
	s->n_failures = rep.failed.n;
	s->zone_load_failures = (prev ? prev->zone_load_failures : 0) + rep.failed.loads;
	if (copy_settings(s, conf, prev) < 0) {
		rwd_snapshot_free(s);
		return NULL;
	}
	return s;
fail:
	rwd_failures_free(rep.failed.v, rep.failed.n);
	if (zones)
		for (size_t i = 0; i < n; i++)
			rwd_zone_free(zones[i]);
	free(zones);
	for (size_t v = 0; own && v < views_loaded; v++) {
		for (size_t k = 0; k < n_own[v]; k++)
			rwd_zone_free(own[v][k]);
		free(own[v]);
	}
	free(own);
	free(n_own);
	if (s) {
		rwd_model_free(s->model);
		rwd_geo_close(s->geo);
		rwd_zonedb_free(s->zones);
	}
	free(s);
	return NULL;
}
