/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone transfers in the API (docs/api.md, docs/transfers.md):
 *   GET  /v1/zones/{zone}/transfer[?view=V]    what the zone's transfers do
 *   POST /v1/zones/{zone}/refresh[?view=V]     a secondary: SOA check now
 *   POST /v1/zones/{zone}/retransfer[?view=V]  a secondary: AXFR now
 * and the transfer lines of /metrics.
 *
 * The role comes from the configuration (primaries: set: a secondary), the
 * served version from the snapshot, a secondary's timers and last transfer
 * from the secondary service (xfr/secondary.h). The service is asked
 * without the control lock held: it publishes through control, so its lock
 * is never taken inside ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/api/internal.h"
#include "server/conf/conf.h"
#include "server/daemon/server.h"
#include "server/query/query.h"
#include "server/xfr/notify.h"
#include "server/xfr/secondary.h"
#include "server/zone/history.h"
#include "server/zone/source.h"
#include "server/zone/zone.h"

/* A copy of one secondary zone's status (the service's strings are only
 * valid inside its callback). */
struct sec_copy {
	const char *view;              /* wanted (NULL: top level) */
	const uint8_t *apex;           /* flat, lowercased */
	bool found;
	struct rwd_secondary_status st;
	char state[32], primary[80], last_error[512], last_kind[8];
};

static int sec_one(void *ctx, const struct rwd_secondary_status *st)
{
	struct sec_copy *c = ctx;
	if ((c->view == NULL) != (st->view == NULL) || (c->view && strcmp(c->view, st->view) != 0))
		return 0;
	if (!rw_dname_eq(st->apex, c->apex))
		return 0;
	c->st = *st;
	snprintf(c->state, sizeof(c->state), "%s", st->state ? st->state : "");
	snprintf(c->primary, sizeof(c->primary), "%s", st->primary ? st->primary : "");
	snprintf(c->last_error, sizeof(c->last_error), "%s", st->last_error ? st->last_error : "");
	snprintf(c->last_kind, sizeof(c->last_kind), "%s", st->last_kind ? st->last_kind : "");
	c->st.view = c->view;
	c->st.zone = NULL;
	c->st.apex = NULL;
	c->st.state = c->state;
	c->st.primary = c->primary;
	c->st.last_error = c->last_error;
	c->st.last_kind = c->last_kind;
	c->found = true;
	return 1;
}

/* The configuration's entry for the zone at apex in view (NULL: top level). */
static const struct rwd_conf_zone *conf_zone(const struct rwd_conf *conf, const char *view,
                                             const uint8_t *apex)
{
	const struct rwd_conf_zone *zs = NULL;
	size_t n = 0;
	if (conf == NULL)
		return NULL;
	if (view == NULL) {
		zs = conf->zones;
		n = conf->n_zones;
	} else {
		for (size_t v = 0; v < conf->n_views; v++)
			if (strcmp(conf->views[v].name, view) == 0) {
				zs = conf->views[v].zones;
				n = conf->views[v].n_zones;
			}
	}
	for (size_t i = 0; i < n; i++)
		if (rw_dname_eq(zs[i].dname, apex))
			return &zs[i];
	return NULL;
}

static json_t *time_json(int64_t unix_s)
{
	struct timespec ts = { .tv_sec = (time_t)unix_s };
	return unix_s > 0 ? api_time_json(&ts) : json_null();
}

static json_t *remotes_json(const struct rwd_conf_remote *r, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:o}", "address", r[i].addr.text, "key",
		                                   r[i].key ? json_string(r[i].key->name) : json_null()));
	return a;
}

static const char *policy_name(enum rwd_serial_policy p)
{
	switch (p) {
	case RWD_SERIAL_UNIXTIME: return "unixtime";
	case RWD_SERIAL_DATESERIAL: return "dateserial";
	default: return "increment";
	}
}

/* The zone's change history (IXFR answers from it): null without one. */
static json_t *history_json(const struct rwd_zone *z)
{
	const struct rwd_zone_history *h = z ? z->history : NULL;
	if (h == NULL || h->n == 0)
		return json_pack("{s:i, s:n, s:i}", "changes", 0, "oldest_serial", "bytes", 0);
	return json_pack("{s:I, s:I, s:I}", "changes", (json_int_t)h->n, "oldest_serial",
	                 (json_int_t)h->diffs[0]->serial_from, "bytes", (json_int_t)h->bytes);
}

/* Find what the route names; false with out filled (404) when nothing. */
struct target {
	char name[API_NAME_TXT];
	uint8_t apex[255];
	size_t apex_len;
	const char *view;
};

static bool target_of(const char *zone, const struct rwd_api_request *r, struct target *t,
                      struct rwd_api_response *out)
{
	t->view = api_param(r, "view");
	if (t->view && *t->view == '\0')
		t->view = NULL;
	t->apex_len = api_dname(zone, t->apex);
	if (t->apex_len == 0) {
		api_error(out, 404, "no zone '%s'", zone);
		return false;
	}
	api_dname_str(t->apex, t->name, sizeof(t->name));
	return true;
}

/* The configuration's zone the target names (under the read lock): the
 * view's own, else, in a view that shares the top-level zone, that one
 * (t->view becomes NULL: the zone and its transfers are the top level's).
 * NULL with a 404 in out when there is none. */
static const struct rwd_conf_zone *configured(const struct rwd_api_env *e, struct target *t,
                                              const char *zone, struct rwd_api_response *out)
{
	const struct rwd_conf *conf = e->srv ? e->srv->conf : NULL;
	const struct rwd_conf_zone *cz = conf_zone(conf, t->view, t->apex);
	if (cz)
		return cz;
	bool view_known = t->view == NULL;
	for (size_t v = 0; conf && t->view && v < conf->n_views; v++)
		view_known |= strcmp(conf->views[v].name, t->view) == 0;
	if (view_known && t->view && (cz = conf_zone(conf, NULL, t->apex)) != NULL) {
		t->view = NULL;
		return cz;
	}
	if (!view_known)
		api_error(out, 404, "no view '%s'", t->view);
	else if (t->view)
		api_error(out, 404, "no zone '%s' in view '%s'", zone, t->view);
	else
		api_error(out, 404, "no zone '%s'", zone);
	return NULL;
}

/* The version served at the target: the view's own zone, or the top level's. */
static const struct rwd_zone *served(const struct rwd_snapshot *s, const struct target *t)
{
	if (s == NULL)
		return NULL;
	if (t->view) {
		const struct rwd_view *v = rwd_snapshot_view(s, t->view);
		return v ? rwd_zonedb_get(v->zones, t->apex, t->apex_len) : NULL;
	}
	return rwd_zonedb_get(s->zones, t->apex, t->apex_len);
}

void api_zone_transfer(const struct rwd_api_env *e, const char *zone,
                       const struct rwd_api_request *r, struct rwd_api_response *out)
{
	struct target t;
	if (!target_of(zone, r, &t, out))
		return;
	/* before the read lock (see the top): the view's zone, and the top
	 * level's, which a view without a zone of its own at the apex serves */
	struct sec_copy sv = { .view = t.view, .apex = t.apex };
	struct sec_copy stop = { .view = NULL, .apex = t.apex };
	if (e->secondary) {
		rwd_secondary_status(e->secondary, sec_one, &sv);
		if (t.view)
			rwd_secondary_status(e->secondary, sec_one, &stop);
	}
	const char *asked = t.view;

	api_read_begin(e);
	const struct rwd_conf_zone *cz = configured(e, &t, zone, out);
	if (cz == NULL) {
		api_read_end(e);
		return;
	}
	const struct rwd_zone *z = served(rwd_snapshot_get(), &t);
	bool secondary = cz->n_primaries > 0;
	bool loaded = z && !rwd_zone_is_placeholder(z);
	json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:b, s:o}", "zone", t.name, "view",
	                      t.view ? json_string(t.view) : json_null(), "role",
	                      secondary ? "secondary" : "primary", "serial",
	                      loaded ? json_integer(z->serial) : json_null(), "loaded", loaded,
	                      "records", loaded ? json_integer((json_int_t)z->n_records) : json_null());
	json_object_set_new(o, "history", history_json(loaded ? z : NULL));
	json_object_set_new(o, "notify", remotes_json(cz->notify, cz->n_notify));
	json_object_set_new(o, "notify_ns", json_boolean(cz->notify_ns));
	json_object_set_new(o, "allow_transfer", json_integer((json_int_t)cz->n_allow_transfer));
	json_object_set_new(o, "serial_policy", json_string(policy_name(cz->serial_policy)));
	if (secondary) {
		json_object_set_new(o, "primaries", remotes_json(cz->primaries, cz->n_primaries));
		const struct sec_copy *sc = t.view == asked ? &sv : &stop;
		const struct rwd_secondary_status *st = sc->found ? &sc->st : NULL;
		int64_t now = (int64_t)time(NULL);
		json_object_set_new(o, "state", st ? json_string(st->state) : json_null());
		json_object_set_new(o, "expired", json_boolean(st && st->expired));
		json_object_set_new(o, "primary", st && *st->primary ? json_string(st->primary)
		                                                     : json_null());
		json_object_set_new(o, "last_refresh", time_json(st ? st->last_refresh : 0));
		json_object_set_new(o, "next_refresh", time_json(st ? st->next_refresh : 0));
		json_object_set_new(o, "expires_at", time_json(st ? st->expire_at : 0));
		json_object_set_new(o, "expires_in", st && st->expire_at
		                    ? json_integer(st->expire_at - now) : json_null());
		json_object_set_new(o, "last_error", st && *st->last_error ? json_string(st->last_error)
		                                                           : json_null());
		json_object_set_new(o, "last_transfer",
		                    st && *st->last_kind
		                    ? json_pack("{s:s, s:o, s:I, s:I, s:I, s:I}", "kind", st->last_kind,
		                                "at", time_json(st->last_transfer),
		                                "bytes", (json_int_t)st->last_bytes,
		                                "records", (json_int_t)st->last_records,
		                                "messages", (json_int_t)st->last_messages,
		                                "duration_ms", (json_int_t)st->last_duration_ms)
		                    : json_null());
		json_object_set_new(o, "counters", st
		                    ? json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		                                "refreshes", (json_int_t)st->refreshes,
		                                "refresh_failures", (json_int_t)st->refresh_failures,
		                                "axfr", (json_int_t)st->axfr, "ixfr", (json_int_t)st->ixfr,
		                                "transfer_failures", (json_int_t)st->transfer_failures,
		                                "notifies", (json_int_t)st->notifies,
		                                "expiries", (json_int_t)st->expiries)
		                    : json_null());
	}
	api_read_end(e);
	api_json(out, 200, o);
}

void api_zone_refresh(const struct rwd_api_env *e, const char *zone, bool retransfer,
                      const struct rwd_api_request *r, struct rwd_api_response *out)
{
	struct target t;
	if (!target_of(zone, r, &t, out))
		return;
	api_read_begin(e);
	const struct rwd_conf_zone *cz = configured(e, &t, zone, out);
	bool secondary = cz && cz->n_primaries > 0;
	api_read_end(e);
	if (cz == NULL)
		return;
	if (!secondary)
		return api_error(out, 400, "zone %s is not a secondary (it has no primaries:): "
		                 "nothing to %s", t.name, retransfer ? "retransfer" : "refresh");
	if (e->secondary == NULL)
		return api_error(out, 503, "the secondary service is not running");
	int rc = rwd_secondary_refresh(e->secondary, t.view, t.apex, retransfer);
	if (rc == RW_ENOENT)               /* configured, but the service has not taken it yet */
		return api_error(out, 409, "zone %s is not known to the secondary service yet "
		                 "(a reload in progress?)", t.name);
	if (rc < 0)
		return api_error(out, 500, "%s: %s", t.name, rw_strerror(rc));
	api_json(out, 202, json_pack("{s:s, s:o, s:s}", "zone", t.name, "view",
	                             t.view ? json_string(t.view) : json_null(), "queued",
	                             retransfer ? "retransfer" : "refresh"));
}

/* ---- /metrics ---- */

static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

struct sec_metrics {
	FILE *f;
	int pass;
	int64_t now;
};

/* {zone="...",view="" without the closing brace: more labels may follow. */
static void zone_labels(FILE *f, const struct rwd_secondary_status *st)
{
	fputs("{zone=\"", f);
	label(f, st->zone ? st->zone : "");
	fputs("\",view=\"", f);
	label(f, st->view ? st->view : "");
	fputc('"', f);
}

static int sec_metric(void *ctx, const struct rwd_secondary_status *st)
{
	struct sec_metrics *m = ctx;
	FILE *f = m->f;
	switch (m->pass) {
	case 0:
		if (st->expire_at == 0)
			break;
		fputs("runway_zone_expires_in_seconds", f);
		zone_labels(f, st);
		fprintf(f, "} %lld\n", (long long)(st->expire_at - m->now));
		break;
	case 1:
		fputs("runway_zone_expired", f);
		zone_labels(f, st);
		fprintf(f, "} %d\n", st->expired ? 1 : 0);
		break;
	case 2: {
		static const char *const kinds[] = { "axfr", "ixfr" };
		for (int k = 0; k < 2; k++) {
			fputs("runway_xfr_in_total", f);
			zone_labels(f, st);
			fprintf(f, ",kind=\"%s\",result=\"ok\"} %llu\n", kinds[k],
			        (unsigned long long)(k ? st->ixfr : st->axfr));
		}
		fputs("runway_xfr_in_total", f);
		zone_labels(f, st);
		fprintf(f, ",kind=\"any\",result=\"failed\"} %llu\n",
		        (unsigned long long)st->transfer_failures);
		break;
	}
	case 3:
		fputs("runway_xfr_in_last_bytes", f);
		zone_labels(f, st);
		fprintf(f, "} %llu\n", (unsigned long long)st->last_bytes);
		break;
	case 4:
		fputs("runway_zone_refreshes_total", f);
		zone_labels(f, st);
		fprintf(f, ",result=\"ok\"} %llu\n", (unsigned long long)st->refreshes);
		fputs("runway_zone_refreshes_total", f);
		zone_labels(f, st);
		fprintf(f, ",result=\"failed\"} %llu\n", (unsigned long long)st->refresh_failures);
		break;
	case 5:
		fputs("runway_notify_received_total", f);
		zone_labels(f, st);
		fprintf(f, "} %llu\n", (unsigned long long)st->notifies);
		break;
	}
	return 0;
}

void api_xfr_metrics(const struct rwd_api_env *e, FILE *f)
{
	if (e->secondary) {
		static const struct {
			const char *name, *type, *help;
		} heads[] = {
			{ "runway_zone_expires_in_seconds", "gauge",
			  "Seconds until a secondary zone's copy expires (SERVFAIL) without a refresh." },
			{ "runway_zone_expired", "gauge",
			  "1 while a secondary zone's copy has expired (its queries get SERVFAIL)." },
			{ "runway_xfr_in_total", "counter",
			  "Transfers into secondary zones: by kind (axfr, ixfr) that succeeded, and "
			  "those that failed (limits, malformed, TSIG, timeouts)." },
			{ "runway_xfr_in_last_bytes", "gauge",
			  "Bytes of the last transfer that succeeded into each secondary zone." },
			{ "runway_zone_refreshes_total", "counter",
			  "SOA checks of secondary zones: answered (ok), or no primary answered (failed)." },
			{ "runway_notify_received_total", "counter",
			  "NOTIFYs received for each secondary zone." },
		};
		struct sec_metrics m = { .f = f, .now = (int64_t)time(NULL) };
		for (m.pass = 0; m.pass < (int)(sizeof(heads) / sizeof(heads[0])); m.pass++) {
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", heads[m.pass].name, heads[m.pass].help,
			        heads[m.pass].name, heads[m.pass].type);
			rwd_secondary_status(e->secondary, sec_metric, &m);
		}
	}
	uint64_t out[3];
	rwd_query_xfr_counts(out);
	fprintf(f, "# HELP runway_xfr_out_total Transfers served (query/xfr.c), by how: the whole "
	           "zone (axfr: AXFR, or IXFR in its form), differences (ixfr), the SOA alone "
	           "(soa: IXFR up to date, or over UDP).\n# TYPE runway_xfr_out_total counter\n"
	           "runway_xfr_out_total{kind=\"axfr\"} %llu\nrunway_xfr_out_total{kind=\"ixfr\"} %llu\n"
	           "runway_xfr_out_total{kind=\"soa\"} %llu\n"
	           "# HELP runway_xfr_out_running Transfers being streamed now (xfr.max_out bounds it).\n"
	           "# TYPE runway_xfr_out_running gauge\nrunway_xfr_out_running %u\n",
	        (unsigned long long)out[0], (unsigned long long)out[1], (unsigned long long)out[2],
	        rwd_query_xfr_running());
	rwd_notify_metrics(NULL, f);       /* runway_notify_sent_total, ..._failed_total, ... */
}
