/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control layer (control.h): the lock, the one way a change becomes the
 * running state (ctl_prepare, then the store, then ctl_publish), the
 * start-up build and SIGHUP reloads. The changes themselves are in
 * overlays.c, zones.c, endpoints.c and latency.c (internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/common/log.h"
#include "server/common/stats.h"
#include "server/control/internal.h"

/* ---- publication ---- */

struct rwd_snapshot *ctl_prepare(struct rwd_control *c, struct rwd_conf *conf,
                                 struct rwd_zone *zone, const char *view,
                                 char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_snapshot *s = rwd_server_rebuild(conf, rwd_snapshot_get(), zone, view);
	if (s == NULL) {
		c->publish_failures++;
		snprintf(err, RWD_CONTROL_ERRLEN, "cannot build the new state (out of memory, or the "
		         "geo data failed to open): nothing was changed");
		rwd_error("control: %s", err);
	}
	return s;
}

void ctl_publish(struct rwd_control *c, struct rwd_snapshot *s, struct rwd_conf *conf)
{
	/* conf first: the publication's listeners (rwd_server.on_zone_serial)
	 * read the configuration that goes with s */
	struct rwd_conf *old = c->srv->conf;
	c->srv->conf = conf;
	rwd_server_publish(c->srv, s);
	rwd_stats_api_change();
	rwd_conf_free(old);
}

int ctl_unlock(struct rwd_control *c, int ret)
{
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_store_write(struct rwd_control *c, const struct store_op *ops, size_t n,
                    char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_store_txn *t;
	int ret = rwd_store_begin(c->store, &t);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = ops[i].value ? rwd_store_put(t, ops[i].table, ops[i].key, ops[i].value,
		                                   strlen(ops[i].value))
		                   : rwd_store_del(t, ops[i].table, ops[i].key);
	return ctl_store_end(t, ret, err);
}

int ctl_store_end(struct rwd_store_txn *t, int ret, char err[RWD_CONTROL_ERRLEN])
{
	if (ret == 0)
		ret = rwd_store_commit(t);
	else if (t)
		rwd_store_abort(t);
	if (ret < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "cannot write the store: nothing was changed");
		return RW_EIO;
	}
	return 0;
}

/* ---- entry points ---- */

static int open_with(struct rwd_server *srv, const char *dir, bool readonly,
                     struct rwd_control **out, char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_control *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return RW_ENOMEM;
	c->srv = srv;
	pthread_mutex_init(&c->lock, NULL);
	if (dir) {
		char serr[256];
		int ret = readonly ? rwd_store_open_readonly(dir, &c->store, serr)
		                   : rwd_store_open(dir, &c->store, serr);
		if (ret < 0 && !(readonly && ret == RW_ENOENT)) {
			snprintf(err, RWD_CONTROL_ERRLEN, "%s", serr);
			pthread_mutex_destroy(&c->lock);
			free(c);
			return ret;
		}
	}
	*out = c;
	return 0;
}

int rwd_control_open(struct rwd_server *srv, const char *dir, struct rwd_control **out,
                     char err[RWD_CONTROL_ERRLEN])
{
	return open_with(srv, dir, false, out, err);
}

int rwd_control_open_check(const char *dir, struct rwd_control **out,
                           char err[RWD_CONTROL_ERRLEN])
{
	return open_with(NULL, dir, true, out, err);
}

void rwd_control_stop(struct rwd_control *c)
{
	if (c == NULL)
		return;
	ctl_compact_stop(c);
}

static void skipped_free(struct skipped_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].error);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void rwd_control_close(struct rwd_control *c)
{
	if (c == NULL)
		return;
	rwd_control_stop(c);
	rwd_store_close(c->store);
	skipped_free(&c->skipped);
	ctl_render_free(c);
	ctl_catalog_free(c);
	free(c->backoff);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void log_report(void *ctx, const char *msg)
{
	rwd_error("%s", msg);
}

static void quiet(void *ctx, const char *msg)
{
}

/* For each zone that failed to load: the stored RRset changes to blame
 * (it loads without them), into skipped. How many were found. */
static int skip_broken_rrsets(struct rwd_control *c, const struct rwd_conf *conf,
                              const struct rwd_snapshot *s, struct skipped_list *skipped)
{
	int found = 0;
	for (size_t i = 0; i < s->n_failures; i++) {
		const struct rwd_zone_failure *f = &s->failures[i];
		const struct rwd_conf_zone *czs = conf->zones;
		size_t n = conf->n_zones;
		for (size_t v = 0; f->view && v < conf->n_views; v++)
			if (strcmp(conf->views[v].name, f->view) == 0) {
				czs = conf->views[v].zones;
				n = conf->views[v].n_zones;
			}
		for (size_t k = 0; k < n; k++) {
			if (!rw_dname_eq(czs[k].dname, f->apex))
				continue;
			int ret = ctl_zone_skip_broken(c, &czs[k], skipped, log_report, NULL);
			found += ret > 0 ? ret : 0;
			break;
		}
	}
	return found;
}

struct rwd_snapshot *rwd_control_build(struct rwd_control *c, struct rwd_conf **conf,
                                       const struct rwd_snapshot *prev, unsigned *n_errors)
{
	struct rwd_conf *live = *conf;
	struct skipped_list skipped = { 0 };
	if (c->store) {
		live = ctl_conf_stored(c, *conf, &skipped, log_report, NULL);
		if (live == NULL) {
			rwd_error("store: cannot apply the stored changes: out of memory");
			skipped_free(&skipped);
			(*n_errors)++;
			return NULL;
		}
		rwd_conf_free(*conf);
		*conf = live;
	}
	/* catalog consumers' members (without a store: those of this run) */
	if (ctl_catalog_conf(c, live, true) < 0) {
		rwd_error("catalog: cannot add the member zones: out of memory");
		skipped_free(&skipped);
		(*n_errors)++;
		return NULL;
	}
	c->building = &skipped;
	/* the store's overrides, then the traffic names rendered (render.c) */
	struct ctl_render_build rb = { c, live, prev, false };
	struct rwd_snapshot *s = rwd_server_build_opts(live, prev, ctl_render_opts, &rb, n_errors);
	if (s && s->n_failures && c->store && skip_broken_rrsets(c, live, s, &skipped) > 0) {
		/* Built again without them (this rare path only): from the same
		 * text, the stored changes again, the zones again. */
		struct skipped_list scratch = { 0 };
		struct rwd_conf *again = ctl_conf_stored(c, live, &scratch, quiet, NULL);
		skipped_free(&scratch);
		unsigned errors = 0;
		struct ctl_render_build rb2 = { c, again, prev, false };
		struct rwd_snapshot *s2 = again ? rwd_server_build_opts(again, prev, ctl_render_opts,
		                                                        &rb2, &errors) : NULL;
		if (s2) {
			rwd_snapshot_free(s);      /* never published */
			s = s2;
			rwd_conf_free(live);
			*conf = live = again;
			*n_errors = errors;
		} else {
			rwd_conf_free(again);
		}
	}
	c->building = NULL;
	if (s)
		ctl_render_built(c, live, s, prev);
	if (s)
		ctl_zones_settle(c, live, s, prev);
	if (s) {
		/* What runs now leaves these out; /metrics and GET /v1/changes say so. */
		c->skipped_total += skipped.n;
		skipped_free(&c->skipped);
		c->skipped = skipped;
	} else {
		skipped_free(&skipped);
	}
	return s;
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
	struct rwd_conf *prev = c->srv->conf;
	c->srv->conf = next;               /* before: publication listeners read it */
	rwd_server_publish(c->srv, s);
	rwd_stats_reload();
	if (!same_listeners(prev, next))
		rwd_warn("server.listen and server.workers change only at restart");
	if (!rwd_dnstap_opts_equal(&prev->dnstap, &next->dnstap))
		rwd_warn("dnstap settings change only at restart");
	rwd_info("reload done: %zu zones, %zu traffic names, %u errors, %zu stored change(s) "
	         "skipped", s->zones->n_zones, s->model->n_traffic, errors, c->skipped.n);
	rwd_conf_free(prev);
	pthread_mutex_unlock(&c->lock);
}

void rwd_control_read_lock(struct rwd_control *c) { pthread_mutex_lock(&c->lock); }
void rwd_control_read_unlock(struct rwd_control *c) { pthread_mutex_unlock(&c->lock); }

void rwd_control_metrics(struct rwd_control *c, FILE *f)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	fprintf(f, "# HELP runway_stored_changes_skipped Stored API changes left out of the running "
	        "state because they no longer apply to the files (GET /v1/changes).\n"
	        "# TYPE runway_stored_changes_skipped gauge\nrunway_stored_changes_skipped %zu\n",
	        c->skipped.n);
	fprintf(f, "# HELP runway_stored_changes_skipped_total Stored API changes skipped at start "
	        "and reloads.\n# TYPE runway_stored_changes_skipped_total counter\n"
	        "runway_stored_changes_skipped_total %llu\n", (unsigned long long)c->skipped_total);
	fprintf(f, "# HELP runway_control_publish_failures_total Changes refused because the new "
	        "state could not be built.\n# TYPE runway_control_publish_failures_total counter\n"
	        "runway_control_publish_failures_total %llu\n",
	        (unsigned long long)c->publish_failures);
	fprintf(f, "# HELP runway_zone_compactions_total Zone compactions published.\n"
	        "# TYPE runway_zone_compactions_total counter\nrunway_zone_compactions_total %llu\n",
	        (unsigned long long)c->compactions);
	fprintf(f, "# HELP runway_zone_compaction_failures_total Zone compactions that failed (the "
	        "zone file would not load).\n# TYPE runway_zone_compaction_failures_total counter\n"
	        "runway_zone_compaction_failures_total %llu\n",
	        (unsigned long long)c->compaction_failures);
	fprintf(f, "# HELP runway_zone_compaction_backoff_seconds Seconds before a zone whose "
	        "compaction failed is tried again.\n"
	        "# TYPE runway_zone_compaction_backoff_seconds gauge\n");
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 0; i < c->n_backoff; i++) {
		const struct compact_backoff *b = &c->backoff[i];
		if (b->failures == 0)
			continue;
		fprintf(f, "runway_zone_compaction_backoff_seconds{zone=\"");
		for (const char *p = b->skey; *p; p++) {
			if (*p == '\\' || *p == '"')
				fputc('\\', f);
			fputc(*p, f);
		}
		fprintf(f, "\"} %lld\n", (long long)(b->next > now.tv_sec ? b->next - now.tv_sec : 0));
	}
	pthread_mutex_unlock(&c->lock);
}
