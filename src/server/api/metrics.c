/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GET /metrics: the Prometheus text exposition format (version 0.0.4).
 * runway's own gauges and counters, then whatever rwd_api_metrics_extra()
 * adds (query counters, defined by the query path).
 */
#include <stdio.h>
#include <stdlib.h>

#include "server/api/internal.h"
#include "server/health/health.h"
#include "server/zone/source.h"

__attribute__((weak)) void rwd_api_metrics_extra(FILE *f)
{
	(void)f;
}

/* A label value, escaped as the format wants (\\, \", \n). */
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

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One zone's runway_zone_loaded and runway_zone_load_failed samples. */
static void zone_state(FILE *f, const struct rwd_snapshot *s, const struct rwd_zone *z,
                       const char *view, bool loaded)
{
	char name[API_NAME_TXT];
	api_dname_str(z->apex_name, name, sizeof(name));
	fprintf(f, "%s{zone=\"", loaded ? "runway_zone_loaded" : "runway_zone_load_failed");
	label(f, name);
	fprintf(f, "\",view=\"");
	label(f, view ? view : "");
	fprintf(f, "\"} %d\n", loaded ? !rwd_zone_is_placeholder(z)
	                                : rwd_snapshot_failure(s, view, z->apex_name) != NULL);
}

/*
 * Whether each zone loaded: top-level zones (view "") and each view's own.
 * A zone that failed to load answers SERVFAIL (loaded 0); one whose reload
 * failed keeps its previous version (loaded 1, load_failed 1).
 */
static void zone_load_metrics(FILE *f, const struct rwd_snapshot *s)
{
	for (int pass = 0; pass < 2; pass++) {
		bool loaded = pass == 0;
		if (loaded)
			head(f, "runway_zone_loaded", "gauge",
			     "1 when a version of the zone is served, 0 when it failed to load "
			     "(its queries get SERVFAIL until a reload loads it).");
		else
			head(f, "runway_zone_load_failed", "gauge",
			     "1 when the zone's last load (start or reload) failed: see runway status.");
		for (size_t i = 0; i < s->zones->n_zones; i++)
			zone_state(f, s, s->zones->zones[i], NULL, loaded);
		for (size_t v = 0; v < s->n_views; v++)
			for (size_t i = 0; i < s->views[v].n_own; i++)
				zone_state(f, s, s->views[v].zones->zones[i], s->views[v].name, loaded);
	}
	head(f, "runway_zone_load_failures_total", "counter",
	     "Zone loads that failed (at start and at each reload), since start.");
	fprintf(f, "runway_zone_load_failures_total %llu\n",
	        (unsigned long long)s->zone_load_failures);
}

void api_metrics(const struct rwd_api_env *e, struct rwd_api_response *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return api_error(out, 500, "out of memory");

	head(f, "runway_up", "gauge", "1 while runwayd serves.");
	fprintf(f, "runway_up 1\n");

	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	const struct rwd_model *m = s->model;
	head(f, "runway_snapshot_generation", "gauge",
	     "Snapshots published since start (each reload or API change publishes one).");
	fprintf(f, "runway_snapshot_generation %llu\n", (unsigned long long)s->generation);
	head(f, "runway_zones", "gauge", "Zones served.");
	fprintf(f, "runway_zones %zu\n", s->zones->n_zones);
	head(f, "runway_zone_serial", "gauge", "SOA serial of each zone.");
	for (size_t i = 0; i < s->zones->n_zones; i++) {
		char name[API_NAME_TXT];
		api_dname_str(s->zones->zones[i]->apex_name, name, sizeof(name));
		fprintf(f, "runway_zone_serial{zone=\"");
		label(f, name);
		fprintf(f, "\"} %u\n", s->zones->zones[i]->serial);
	}
	head(f, "runway_zone_records", "gauge", "Records of each zone.");
	for (size_t i = 0; i < s->zones->n_zones; i++) {
		char name[API_NAME_TXT];
		api_dname_str(s->zones->zones[i]->apex_name, name, sizeof(name));
		fprintf(f, "runway_zone_records{zone=\"");
		label(f, name);
		fprintf(f, "\"} %zu\n", s->zones->zones[i]->n_records);
	}
	zone_load_metrics(f, s);
	head(f, "runway_traffic_names", "gauge", "Names answered by traffic steering.");
	fprintf(f, "runway_traffic_names %zu\n", m->n_traffic);
	head(f, "runway_endpoints", "gauge", "Endpoints in the traffic model.");
	fprintf(f, "runway_endpoints %zu\n", m->n_endpoints);

	const struct rwd_health_state *hs = rwd_health_get();
	head(f, "runway_endpoint_up", "gauge",
	     "1 when an endpoint address may be given out (healthy, or not checked), 0 when down.");
	for (size_t i = 0; i < m->n_endpoints; i++) {
		const struct rwd_endpoint *ep = &m->endpoints[i];
		for (unsigned k = 0; k <= ep->n_addrs; k++) {
			uint32_t slot;
			char addr[API_NAME_TXT];
			if (!api_endpoint_slot(ep, k, &slot, addr, sizeof(addr)))
				break;
			fprintf(f, "runway_endpoint_up{endpoint=\"");
			label(f, ep->name);
			fprintf(f, "\",address=\"");
			label(f, addr);
			fprintf(f, "\"} %d\n", rwd_slot_up(hs, slot) ? 1 : 0);
		}
	}
	head(f, "runway_endpoint_drained", "gauge", "1 when an endpoint is drained by the operator.");
	for (size_t i = 0; i < m->n_endpoints; i++) {
		fprintf(f, "runway_endpoint_drained{endpoint=\"");
		label(f, m->endpoints[i].name);
		fprintf(f, "\"} %d\n", api_endpoint_drained(e, &m->endpoints[i]) ? 1 : 0);
	}
	head(f, "runway_health_generation", "gauge", "Health states published since start.");
	fprintf(f, "runway_health_generation %llu\n",
	        (unsigned long long)(hs ? hs->generation : 0));
	api_read_end(e);
	rwd_control_metrics(e->ctl, f);    /* stored changes skipped, compactions */
	api_xfr_metrics(e, f);             /* secondary zones, transfers, NOTIFY (xfr.c) */

	if (e->health) {
		struct rwd_health_stats st;
		rwd_health_get_stats(e->health, &st);
		head(f, "runway_health_targets", "gauge", "Health slots being checked.");
		fprintf(f, "runway_health_targets %u\n", st.targets);
		head(f, "runway_health_probes_in_flight", "gauge", "Health probes running now.");
		fprintf(f, "runway_health_probes_in_flight %u\n", st.in_flight);
		head(f, "runway_health_probes_total", "counter", "Health probes started.");
		fprintf(f, "runway_health_probes_total %llu\n", (unsigned long long)st.probes);
		head(f, "runway_health_probe_results_total", "counter", "Health probes finished, by result.");
		fprintf(f, "runway_health_probe_results_total{result=\"pass\"} %llu\n",
		        (unsigned long long)st.passes);
		fprintf(f, "runway_health_probe_results_total{result=\"fail\"} %llu\n",
		        (unsigned long long)st.failures);
		head(f, "runway_health_probes_skipped_total", "counter",
		     "Probe rounds not run (the previous probe still running, or the loop behind).");
		fprintf(f, "runway_health_probes_skipped_total %llu\n", (unsigned long long)st.skipped);
		head(f, "runway_health_probes_unstarted_total", "counter",
		     "Health probes that could not run for want of a local resource (file descriptors, "
		     "memory, ports); the endpoint keeps its state.");
		fprintf(f, "runway_health_probes_unstarted_total %llu\n", (unsigned long long)st.unstarted);
		head(f, "runway_health_holds_total", "counter",
		     "Endpoint addresses held down for flapping (health_checks.flap_changes).");
		fprintf(f, "runway_health_holds_total %llu\n", (unsigned long long)st.holds);
		head(f, "runway_health_transitions_total", "counter", "Health state changes (up/down).");
		fprintf(f, "runway_health_transitions_total %llu\n", (unsigned long long)st.transitions);
		head(f, "runway_health_publications_total", "counter", "Health states published.");
		fprintf(f, "runway_health_publications_total %llu\n", (unsigned long long)st.publications);
		head(f, "runway_health_probe_delay_seconds", "histogram",
		     "How late probes start after they are due.");
		static const uint64_t bounds[] = RWD_HEALTH_LATE_BOUNDS_US;
		uint64_t cum = 0;
		for (unsigned i = 0; i < RWD_HEALTH_LATE_BUCKETS; i++) {
			cum += st.late_hist[i];
			if (i < RWD_HEALTH_LATE_BUCKETS - 1)
				fprintf(f, "runway_health_probe_delay_seconds_bucket{le=\"%g\"} %llu\n",
				        bounds[i] / 1e6, (unsigned long long)cum);
			else
				fprintf(f, "runway_health_probe_delay_seconds_bucket{le=\"+Inf\"} %llu\n",
				        (unsigned long long)cum);
		}
		fprintf(f, "runway_health_probe_delay_seconds_sum %g\n", st.late_sum_us / 1e6);
		fprintf(f, "runway_health_probe_delay_seconds_count %llu\n", (unsigned long long)cum);
		head(f, "runway_health_cpu_seconds_total", "counter", "CPU time of the health thread.");
		fprintf(f, "runway_health_cpu_seconds_total %g\n", st.cpu_ns / 1e9);
	}
	rwd_api_metrics_extra(f);
	if (fclose(f) != 0) {
		free(text);
		return api_error(out, 500, "out of memory");
	}
	api_text(out, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
