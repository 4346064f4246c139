#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/core/log.h"
#include "server/core/server.h"

struct load_report {
	unsigned errors;
};

static void report(void *ctx, const char *msg)
{
	struct load_report *r = ctx;
	if (strstr(msg, ": warning: ") != NULL) {
		rwd_warn("%s", msg);
	} else {
		rwd_error("%s", msg);
		r->errors++;
	}
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

void rwd_server_publish(struct rwd_server *srv, struct rwd_snapshot *s)
{
	struct rwd_snapshot *old = rwd_snapshot_swap(s);
	if (srv->health)
		rwd_health_apply(srv->health, s->model);
	rwd_snapshot_free(old);
}

struct rwd_snapshot *rwd_server_build(struct rwd_conf *conf,
                                      const struct rwd_snapshot *prev, unsigned *n_errors)
{
	return rwd_server_build_opts(conf, prev, NULL, NULL, n_errors);
}

/* Settings of the query path that come straight from the configuration. */
static void copy_settings(struct rwd_snapshot *s, const struct rwd_conf *conf)
{
	s->edns_udp_size = conf->edns_udp_size;
	s->nsid_len = (uint16_t)(conf->nsid_len < RWD_NSID_MAX ? conf->nsid_len : RWD_NSID_MAX);
	if (s->nsid_len)
		memcpy(s->nsid, conf->nsid, s->nsid_len);
}

struct rwd_snapshot *rwd_server_rebuild(struct rwd_conf *conf, const struct rwd_snapshot *prev,
                                        struct rwd_zone *replace)
{
	struct rwd_snapshot *s = calloc(1, sizeof(*s));
	size_t n = prev->zones->n_zones;
	struct rwd_zone **zones = calloc(n + 1, sizeof(*zones));
	if (s == NULL || zones == NULL || build_steering(s, conf, prev) < 0) {
		if (s) {
			rwd_model_free(s->model);
			rwd_geo_close(s->geo);
		}
		free(s);
		free(zones);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct rwd_zone *z = prev->zones->zones[i];
		if (replace && z->apex_len == replace->apex_len &&
		    memcmp(z->apex_name, replace->apex_name, z->apex_len) == 0) {
			zones[i] = replace;
			replace = NULL;
		} else {
			rwd_zone_ref(z);
			zones[i] = z;
		}
	}
	if (replace)
		zones[n++] = replace;
	s->zones = rwd_zonedb_new(zones, n);
	if (s->zones == NULL) {
		for (size_t i = 0; i < n; i++)
			rwd_zone_free(zones[i]);
		free(zones);
		rwd_snapshot_free(s);
		return NULL;
	}
	copy_settings(s, conf);
	return s;
}

struct rwd_snapshot *rwd_server_build_opts(struct rwd_conf *conf, const struct rwd_snapshot *prev,
                                           rwd_zone_opts_fn opts, void *opts_ctx,
                                           unsigned *n_errors)
{
	struct rwd_snapshot *s = calloc(1, sizeof(*s));
	struct rwd_zone **zones = calloc(conf->n_zones ? conf->n_zones : 1, sizeof(*zones));
	size_t n = 0;
	struct load_report rep = { 0 };
	if (s == NULL || zones == NULL)
		goto fail;

	for (size_t i = 0; i < conf->n_zones; i++) {
		const struct rwd_conf_zone *cz = &conf->zones[i];
		unsigned before = rep.errors;
		struct rwd_zone_load_opts zo = { 0 };
		if (opts)
			opts(opts_ctx, cz, &zo);
		struct rwd_zone *z = rwd_zone_load_opts(cz->dname, cz->file, &zo, report, &rep);
		if (opts)
			opts(opts_ctx, NULL, &zo);   /* release */
		if (z != NULL) {
			rwd_info("zone %s: loaded serial %u, %zu records", cz->name, z->serial, z->n_records);
			zones[n++] = z;
			continue;
		}
		if (rep.errors == before)
			rep.errors++;   /* failed without a message (out of memory) */
		struct rwd_zone *old = prev ? rwd_zonedb_get(prev->zones, cz->dname,
		                                             rw_dname_len(cz->dname)) : NULL;
		if (old != NULL) {
			rwd_error("zone %s: keeping the previous version (serial %u)", cz->name, old->serial);
			rwd_zone_ref(old);
			zones[n++] = old;
		} else if (prev != NULL) {
			rwd_error("zone %s: not served", cz->name);
		}
	}
	/* Loading used scratch memory (records, parser) several times the size
	 * of what it freed at the end; hand it back to the system. */
	malloc_trim(0);
	if (build_steering(s, conf, prev) < 0)
		rep.errors++;
	*n_errors = rep.errors;
	if ((prev == NULL && rep.errors > 0) || s->model == NULL || (s->geo == NULL &&
	    (s->model->mmdb_path || s->model->n_networks)))
		goto fail;
	s->zones = rwd_zonedb_new(zones, n);
	if (s->zones == NULL)
		goto fail;
	copy_settings(s, conf);
	return s;
fail:
	for (size_t i = 0; i < n; i++)
		rwd_zone_free(zones[i]);
	free(zones);
	if (s) {
		rwd_model_free(s->model);
		rwd_geo_close(s->geo);
	}
	free(s);
	return NULL;
}
