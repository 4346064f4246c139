/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "lib/dname.h"
#include "server/common/stats.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rwd_qstats **blocks;
static size_t n_blocks;
static uint64_t reloads, api_changes;

void rwd_stats_register(struct rwd_qstats *s)
{
	pthread_mutex_lock(&lock);
	struct rwd_qstats **n = realloc(blocks, (n_blocks + 1) * sizeof(*n));
	if (n != NULL) {
		blocks = n;
		blocks[n_blocks++] = s;
	}
	pthread_mutex_unlock(&lock);
}

void rwd_stats_unregister(struct rwd_qstats *s)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_blocks; i++)
		if (blocks[i] == s)
			blocks[i] = blocks[--n_blocks];
	pthread_mutex_unlock(&lock);
}

void rwd_stats_reload(void) { __atomic_add_fetch(&reloads, 1, __ATOMIC_RELAXED); }
void rwd_stats_api_change(void) { __atomic_add_fetch(&api_changes, 1, __ATOMIC_RELAXED); }

void rwd_stats_zone(struct rwd_qstats *s, const uint8_t *apex, uint32_t hash)
{
	hash |= 1;   /* never 0, the free mark */
	for (unsigned i = 0; i < RWD_STATS_ZONES; i++) {
		struct rwd_qstats_zone *z = &s->zones[(hash + i) % RWD_STATS_ZONES];
		if (z->hash == hash) {
			z->queries++;
			return;
		}
		if (z->hash == 0) {   /* first query of this zone on this thread */
			rw_dname_to_str(apex, z->name, sizeof(z->name));
			z->queries = 1;
			__atomic_store_n(&z->hash, hash, __ATOMIC_RELEASE);
			return;
		}
	}
	s->other_zones++;
}

static uint32_t fnv(const void *p, size_t n, uint32_t h)
{
	for (const uint8_t *b = p; n--; b++)
		h = (h ^ *b) * 16777619u;
	return h;
}

void rwd_stats_answer(struct rwd_qstats *s, const uint8_t *traffic, const char *endpoint)
{
	uint32_t hash = fnv(endpoint, strlen(endpoint), fnv(traffic, rw_dname_len(traffic),
	                                                    2166136261u)) | 1;
	for (unsigned i = 0; i < 8; i++) {   /* short probes: this runs per answer */
		struct rwd_qstats_answer *a = &s->answers[(hash + i) % RWD_STATS_ANSWERS];
		if (a->hash == hash) {
			a->answers++;
			return;
		}
		if (a->hash == 0) {
			rw_dname_to_str(traffic, a->traffic, sizeof(a->traffic));
			snprintf(a->endpoint, sizeof(a->endpoint), "%s", endpoint);
			a->answers = 1;
			__atomic_store_n(&a->hash, hash, __ATOMIC_RELEASE);
			return;
		}
	}
}

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

static uint64_t get(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

/* Sum a counter over every block into a zeroed scratch block. */
static void sum_all(struct rwd_qstats *t)
{
	for (size_t b = 0; b < n_blocks; b++) {
		const struct rwd_qstats *s = blocks[b];
		for (int i = 0; i < RWD_TRANSPORT_KINDS; i++)
			t->transport[i] += get(&s->transport[i]);
		for (int i = 0; i < RWD_STAGES; i++)
			t->decided[i] += get(&s->decided[i]);
		for (int i = 0; i < COUNT(t->qtype); i++)
			t->qtype[i] += get(&s->qtype[i]);
		for (int i = 0; i < COUNT(t->rcode); i++)
			t->rcode[i] += get(&s->rcode[i]);
		t->dropped += get(&s->dropped);
		t->other_zones += get(&s->other_zones);
		for (int i = 0; i < RWD_RRL_STATS; i++)
			t->rrl[i] += get(&s->rrl[i]);
		for (int i = 0; i < COUNT(t->cookies); i++)
			t->cookies[i] += get(&s->cookies[i]);
		t->tcp_open += get(&s->tcp_open);
		t->tcp_accepted += get(&s->tcp_accepted);
		for (int i = 0; i < RWD_TCP_LIMITS; i++)
			t->tcp_closed[i] += get(&s->tcp_closed[i]);
		for (int i = 0; i < RWD_STATS_ZONES; i++) {
			uint32_t h = __atomic_load_n(&s->zones[i].hash, __ATOMIC_ACQUIRE);
			if (h == 0)
				continue;
			for (int k = 0; k < RWD_STATS_ZONES; k++) {
				struct rwd_qstats_zone *z = &t->zones[(h + (unsigned)k) % RWD_STATS_ZONES];
				if (z->hash == 0 || z->hash == h) {
					if (z->hash == 0)
						memcpy(z->name, s->zones[i].name, sizeof(z->name));
					z->hash = h;
					z->queries += get(&s->zones[i].queries);
					break;
				}
			}
		}
		for (int i = 0; i < RWD_STATS_ANSWERS; i++) {
			uint32_t h = __atomic_load_n(&s->answers[i].hash, __ATOMIC_ACQUIRE);
			if (h == 0)
				continue;
			for (int k = 0; k < RWD_STATS_ANSWERS; k++) {
				struct rwd_qstats_answer *a = &t->answers[(h + (unsigned)k) % RWD_STATS_ANSWERS];
				if (a->hash == 0 || a->hash == h) {
					if (a->hash == 0) {
						memcpy(a->traffic, s->answers[i].traffic, sizeof(a->traffic));
						memcpy(a->endpoint, s->answers[i].endpoint, sizeof(a->endpoint));
					}
					a->hash = h;
					a->answers += get(&s->answers[i].answers);
					break;
				}
			}
		}
	}
}

void rwd_stats_write(FILE *f)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
		"NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };
	struct rwd_qstats *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	sum_all(t);
	pthread_mutex_unlock(&lock);

	fprintf(f, "# HELP runway_queries_total Queries received, by transport.\n"
	           "# TYPE runway_queries_total counter\n");
	for (int i = 0; i < RWD_TRANSPORT_KINDS; i++)
		fprintf(f, "runway_queries_total{transport=\"%s\"} %lu\n", rwd_transports[i]->name,
		        (unsigned long)t->transport[i]);
	fprintf(f, "# HELP runway_queries_decided_total Queries by the pipeline stage that decided "
	           "their outcome: lookup and steer answered, parse a malformed query or one "
	           "dropped, cookie a BADCOOKIE or a query without a question (RFC 7873 5.4), filter view "
	           "zone a refusal, limit a drop by rate limiting.\n"
	           "# TYPE runway_queries_decided_total counter\n");
	for (int i = 0; i < RWD_STAGES; i++)
		if (i != RWD_STAGE_ENCODE)   /* never decides */
			fprintf(f, "runway_queries_decided_total{stage=\"%s\"} %lu\n", rwd_stage_names[i],
			        (unsigned long)t->decided[i]);
	fprintf(f, "# HELP runway_queries_by_type_total Queries by query type.\n"
	           "# TYPE runway_queries_by_type_total counter\n");
	for (int i = 0; i < COUNT(t->qtype); i++) {
		if (t->qtype[i] == 0)
			continue;
		char name[32] = "other";
		if (i > 0)
			knot_rrtype_to_string((uint16_t)i, name, sizeof(name));
		fprintf(f, "runway_queries_by_type_total{type=\"%s\"} %lu\n", name,
		        (unsigned long)t->qtype[i]);
	}
	fprintf(f, "# HELP runway_responses_total Responses by rcode (BADVERS counts as 16, BADCOOKIE as 23).\n"
	           "# TYPE runway_responses_total counter\n");
	for (int i = 0; i < COUNT(t->rcode); i++) {
		if (t->rcode[i] == 0)
			continue;
		char other[16];
		const char *name = i < 11 ? rcodes[i] : i == 16 ? "BADVERS" : i == 23 ? "BADCOOKIE" : NULL;
		if (name == NULL) {
			snprintf(other, sizeof(other), "RCODE%u", (unsigned)i & 31u);
			name = other;
		}
		fprintf(f, "runway_responses_total{rcode=\"%s\"} %lu\n", name,
		        (unsigned long)t->rcode[i]);
	}
	fprintf(f, "# HELP runway_dropped_total Messages that got no response.\n"
	           "# TYPE runway_dropped_total counter\nrunway_dropped_total %lu\n",
	        (unsigned long)t->dropped);
	fprintf(f, "# HELP runway_zone_queries_total Queries answered from each zone.\n"
	           "# TYPE runway_zone_queries_total counter\n");
	for (int i = 0; i < RWD_STATS_ZONES; i++)
		if (t->zones[i].hash)
			fprintf(f, "runway_zone_queries_total{zone=\"%s\"} %lu\n", t->zones[i].name,
			        (unsigned long)t->zones[i].queries);
	fprintf(f, "# HELP runway_traffic_answers_total Steered answers by traffic name and endpoint.\n"
	           "# TYPE runway_traffic_answers_total counter\n");
	for (int i = 0; i < RWD_STATS_ANSWERS; i++)
		if (t->answers[i].hash)
			fprintf(f, "runway_traffic_answers_total{name=\"%s\",endpoint=\"%s\"} %lu\n",
			        t->answers[i].traffic, t->answers[i].endpoint,
			        (unsigned long)t->answers[i].answers);
	static const char *const tcp_limits[RWD_TCP_LIMITS] = {
		[RWD_TCP_PER_CLIENT] = "max_per_client", [RWD_TCP_MAX_CLIENTS] = "max_clients",
		[RWD_TCP_IDLE] = "idle_timeout", [RWD_TCP_IO] = "io_timeout" };
	fprintf(f, "# HELP runway_tcp_connections TCP connections open.\n"
	           "# TYPE runway_tcp_connections gauge\nrunway_tcp_connections %lu\n"
	           "# HELP runway_tcp_accepted_total TCP connections accepted.\n"
	           "# TYPE runway_tcp_accepted_total counter\nrunway_tcp_accepted_total %lu\n"
	           "# HELP runway_tcp_closed_total TCP connections closed by the server, by the limit"
	           " (tcp.*) that closed them.\n"
	           "# TYPE runway_tcp_closed_total counter\n",
	        (unsigned long)t->tcp_open, (unsigned long)t->tcp_accepted);
	for (int i = 0; i < RWD_TCP_LIMITS; i++)
		fprintf(f, "runway_tcp_closed_total{limit=\"%s\"} %lu\n", tcp_limits[i],
		        (unsigned long)t->tcp_closed[i]);
	fprintf(f, "# HELP runway_rrl_limited_total UDP answers over the rate limit (rate_limit), "
	           "by what was sent instead: nothing (dropped) or a truncated reply (slipped).\n"
	           "# TYPE runway_rrl_limited_total counter\n"
	           "runway_rrl_limited_total{action=\"dropped\"} %lu\n"
	           "runway_rrl_limited_total{action=\"slipped\"} %lu\n"
	           "# HELP runway_rrl_exempt_total UDP answers rate limiting let through uncounted: "
	           "client in rate_limit.exempt (acl) or with a valid server cookie (cookie).\n"
	           "# TYPE runway_rrl_exempt_total counter\n"
	           "runway_rrl_exempt_total{reason=\"acl\"} %lu\n"
	           "runway_rrl_exempt_total{reason=\"cookie\"} %lu\n",
	        (unsigned long)t->rrl[RWD_RRL_DROPPED], (unsigned long)t->rrl[RWD_RRL_SLIPPED],
	        (unsigned long)t->rrl[RWD_RRL_EXEMPT], (unsigned long)t->rrl[RWD_RRL_COOKIE]);
	fprintf(f, "# HELP runway_cookie_queries_total Queries with a DNS COOKIE option, by the "
	           "server cookie they held: none, valid or invalid.\n"
	           "# TYPE runway_cookie_queries_total counter\n"
	           "runway_cookie_queries_total{server_cookie=\"none\"} %lu\n"
	           "runway_cookie_queries_total{server_cookie=\"valid\"} %lu\n"
	           "runway_cookie_queries_total{server_cookie=\"invalid\"} %lu\n",
	        (unsigned long)t->cookies[0], (unsigned long)t->cookies[1],
	        (unsigned long)t->cookies[2]);
	fprintf(f, "# HELP runway_reloads_total Reloads (SIGHUP) done.\n"
	           "# TYPE runway_reloads_total counter\nrunway_reloads_total %lu\n"
	           "# HELP runway_api_changes_total Changes applied through the API.\n"
	           "# TYPE runway_api_changes_total counter\nrunway_api_changes_total %lu\n",
	        (unsigned long)__atomic_load_n(&reloads, __ATOMIC_RELAXED),
	        (unsigned long)__atomic_load_n(&api_changes, __ATOMIC_RELAXED));
	free(t);
}

/* The API's /metrics asks for extra lines through this hook (api.h). */
void rwd_api_metrics_extra(FILE *f)
{
	rwd_stats_write(f);
}
