/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Table-driven tests of the policy evaluator (steer/eval.c): one model (a
 * configuration read by the real loader, with own geoip networks and a
 * latency table), and a table of cases {traffic name, client, family,
 * endpoints down, endpoints drained} -> {the endpoints answered, whether it
 * failed open, the ECS scope, and what the trace says of chosen endpoints}.
 * Random policies run many times with a fixed seed: every answer must lie
 * in the expected set and, together, cover it. Each case also runs without
 * a trace and must give the same answer and scope (tracing changes nothing).
 * Evaluation allocates nothing; its cost with and without a trace is printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/steer/eval.h"
#include "server/steer/geo.h"
#include "allocs.h"

static char tmpdir[] = "/tmp/test_eval.XXXXXX";

/* Endpoints: a Frankfurt, b Ashburn, c Tokyo (IPv4 only), d Sydney (IPv6
 * only), e unchecked (always up, IPv4 only), cn a CNAME. */
static const char config[] =
	"zones: [{ name: t., file: t.zone }]\n"
	"health_checks:\n"
	"  hc: { type: tcp, port: 9 }\n"
	"endpoints:\n"
	"  a:  { address: [192.0.2.1, \"2001:db8::1\"], health_check: hc, location: { lat: 50.11, lon: 8.68 } }\n"
	"  b:  { address: [192.0.2.2, \"2001:db8::2\"], health_check: hc, location: { lat: 39.04, lon: -77.49 } }\n"
	"  c:  { address: [192.0.2.3], health_check: hc, location: { lat: 35.68, lon: 139.69 } }\n"
	"  d:  { address: [\"2001:db8::4\"], health_check: hc, location: { lat: -33.87, lon: 151.21 } }\n"
	"  e:  { address: [192.0.2.5] }\n"
	"  cn: { cname: edge.cdn.example.net., health_check: hc }\n"
	"geoip: { networks: networks.yaml }\n"
	"latency: { file: latency.csv }\n"
	"traffic:\n"
	"  weighted.t.: { policy: { weighted: { a: 3, b: 1 } } }\n"
	"  zero.t.: { policy: { weighted: [ { weight: 1, node: a }, { weight: 0, node: b } ] } }\n"
	"  failover.t.: { policy: { failover: [a, b, c] } }\n"
	"  nofo.t.: { fail_open: false, policy: { failover: [a, b] } }\n"
	"  geo.t.: { policy: { geolocation: { DE: a, US-VA: b, AS: c, default: e } } }\n"
	"  nodefault.t.: { policy: { geolocation: { DE: a } } }\n"
	"  prox.t.: { policy: { geoproximity: { a: 0, b: 0, c: 0 } } }\n"
	"  bias.t.: { policy: { geoproximity: { a: 0, b: 90 } } }\n"
	"  latency.t.: { policy: { latency: [a, b, c] } }\n"
	"  mv.t.: { policy: { multivalue: [a, b, c, e] } }\n"
	"  mv2.t.: { policy: { multivalue: { count: 2, of: [a, b, c, e] } } }\n"
	"  cidr.t.: { policy: { cidr: { 10.1.0.0/16: a, 10.1.2.0/24: b, \"2001:db8:9::/48\": c, default: e } } }\n"
	"  nest.t.:\n"
	"    policy:\n"
	"      geolocation:\n"
	"        EU:\n"
	"          weighted:\n"
	"            - { weight: 100, node: { failover: [a, { multivalue: [b, c] }] } }\n"
	"            - { weight: 0, node: e }\n"
	"        default:\n"
	"          cidr:\n"
	"            10.9.0.0/16: c\n"
	"            default: { geoproximity: { a: 0, b: 0 } }\n"
	"  cname.t.: { policy: { failover: [cn, a] } }\n"
	"  v6.t.: { policy: { failover: [c, d] } }\n";

/* Where the clients are (geoip.networks). 10.9.0.0/16 is nowhere. */
static const char networks[] =
	"- { network: 10.1.2.0/24, continent: EU, country: DE, lat: 50.1, lon: 8.7 }\n"
	"- { network: 10.1.3.0/24, continent: EU, country: DE, lat: 48.1, lon: 11.6 }\n"
	"- { network: 10.2.0.0/16, continent: NA, country: US, subdivision: VA, lat: 39.0, lon: -77.5 }\n"
	"- { network: 10.3.0.0/16, continent: AS, country: JP, lat: 35.7, lon: 139.7 }\n"
	"- { network: 10.4.0.0/16, continent: OC, country: AU, lat: -33.9, lon: 151.2 }\n";

/* The Frankfurt resolver measured b fastest (against geography); Japan by country. */
static const char latency[] =
	"10.1.2.0/24,b,5\n"
	"10.1.2.0/24,a,50\n"
	"JP,a,10\n"
	"JP,c,40\n";

static struct rwd_conf *conf;
static struct rwd_model *model;
static struct rwd_geo *geo;

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	put("networks.yaml", networks);
	put("latency.csv", latency);
	put("t.zone", "$ORIGIN t.\n@ 300 SOA ns hostmaster 1 3600 600 86400 300\n@ 300 NS ns\n"
	              "ns 300 A 192.0.2.53\n");
	char err[RWD_CONF_ERRLEN] = "";
	if (rwd_conf_load_buf(config, strlen(config), "eval.yaml", tmpdir, &conf, err) != 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	model = conf->model;
	char gerr[256] = "";
	if (rwd_geo_open(model, &geo, gerr) != 0) {
		fprintf(stderr, "geo: %s\n", gerr);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	rwd_geo_close(geo);
	rwd_conf_free(conf);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

/* ---- the table ---- */

struct eval_case {
	const char *name;              /* traffic name, text */
	const char *client;            /* prefix, "10.1.2.0/24" */
	int family;                    /* AF_INET (default) or AF_INET6 */
	const char *down;              /* endpoints whose every address fails its check, "a b" */
	const char *drained;
	/* expected */
	const char *want;              /* the endpoints answered (union over runs), "" for none */
	unsigned runs;                 /* random policies: evaluations; 0 = 1 */
	unsigned per_run;              /* endpoints in each answer; 0: unchecked */
	bool failed_open;
	int scope;                     /* ECS scope + 1 (SCOPE(n)); 0: unchecked */
	const char *why;               /* trace verdicts, "b=down e=weight0 c=drained ..." */
};

#define SCOPE(n) .scope = (n) + 1

static const struct eval_case cases[] = {
	/* weighted: by weight among up children; weight 0 only when every weighted child is down */
	{ "weighted.t", "10.1.2.0/24", .want = "a b", .runs = 400, .per_run = 1, SCOPE(0) },
	{ "weighted.t", "10.1.2.0/24", .down = "a", .want = "b", .runs = 50, .why = "a=down b=used" },
	{ "zero.t", "10.1.2.0/24", .want = "a", .runs = 200, .why = "a=used b=weight0" },
	{ "zero.t", "10.1.2.0/24", .down = "a", .want = "b", .runs = 50, .why = "a=down b=used" },
	{ "zero.t", "10.1.2.0/24", .drained = "b", .down = "a", .want = "a", .failed_open = true,
	  .why = "a=used b=drained" },
	/* failover: the first up child; fail open; drained stays out even then */
	{ "failover.t", "10.1.2.0/24", .want = "a", SCOPE(0), .why = "a=used b=notchosen c=notchosen" },
	{ "failover.t", "10.1.2.0/24", .down = "a", .want = "b", .why = "a=down b=used c=notchosen" },
	{ "failover.t", "10.1.2.0/24", .down = "b", .drained = "a", .want = "c",
	  .why = "a=drained b=down c=used" },
	{ "failover.t", "10.1.2.0/24", .down = "a b c", .want = "a", .failed_open = true,
	  .why = "a=used b=down c=down" },
	{ "failover.t", "10.1.2.0/24", .down = "b c", .drained = "a", .want = "b", .failed_open = true,
	  .why = "a=drained b=used" },
	{ "failover.t", "10.1.2.0/24", .drained = "a b c", .want = "",
	  .why = "a=drained b=drained c=drained" },
	{ "failover.t", "10.1.2.0/24", .family = AF_INET6, .down = "a", .want = "b",
	  .why = "a=down b=used c=nofamily" },
	{ "failover.t", "10.1.2.0/24", .family = AF_INET6, .down = "a b", .want = "a",
	  .failed_open = true, .why = "a=used b=down c=nofamily" },
	{ "nofo.t", "10.1.2.0/24", .down = "a b", .want = "", .why = "a=down b=down" },
	{ "v6.t", "10.1.2.0/24", .family = AF_INET6, .want = "d", .why = "c=nofamily d=used" },
	/* geolocation: most specific matching rule, less specific ones, default */
	{ "geo.t", "10.1.2.0/24", .want = "a", SCOPE(24) },
	{ "geo.t", "10.2.7.0/24", .want = "b", SCOPE(16) },
	{ "geo.t", "10.3.1.0/24", .want = "c", SCOPE(16) },           /* JP: continent AS */
	{ "geo.t", "10.4.1.0/24", .want = "e" },                        /* AU: no rule */
	{ "geo.t", "10.9.1.0/24", .want = "e" },                        /* nowhere */
	{ "geo.t", "10.1.2.0/24", .down = "a", .want = "e", .why = "a=down e=used b=notchosen" },
	{ "nodefault.t", "10.2.7.0/24", .want = "", .why = "a=notchosen" },   /* no rule, no default */
	/* geoproximity: the nearest up child, bias shrinks a distance */
	{ "prox.t", "10.1.2.0/24", .want = "a", SCOPE(24) },
	{ "prox.t", "10.2.7.0/24", .want = "b" },
	{ "prox.t", "10.3.1.0/24", .want = "c" },
	{ "prox.t", "10.1.2.0/24", .down = "a", .want = "b", .why = "a=down b=used c=notchosen" },
	{ "bias.t", "10.1.2.0/24", .want = "a" },
	{ "bias.t", "10.3.1.0/24", .want = "b" },                       /* 10,900 km x 0.1 < 9,300 */
	{ "prox.t", "10.9.1.0/24", .want = "a" },                       /* nowhere: the first up */
	/* latency: network rows, then country rows, then geoproximity */
	{ "latency.t", "10.1.2.0/24", .want = "b", SCOPE(24) },
	{ "latency.t", "10.1.2.0/24", .down = "b", .want = "a" },
	{ "latency.t", "10.3.1.0/24", .want = "a" },
	{ "latency.t", "10.3.1.0/24", .down = "a", .want = "c" },
	{ "latency.t", "10.4.1.0/24", .want = "c" },                    /* no row: nearest */
	/* multivalue: every up endpoint (up to count), shuffled */
	{ "mv.t", "10.1.2.0/24", .want = "a b c e", .per_run = 4, SCOPE(0) },
	{ "mv.t", "10.1.2.0/24", .down = "a", .drained = "e", .want = "b c", .per_run = 2,
	  .why = "a=down b=used c=used e=drained" },
	{ "mv.t", "10.1.2.0/24", .family = AF_INET6, .want = "a b", .per_run = 2,
	  .why = "a=used b=used c=nofamily e=nofamily" },
	{ "mv2.t", "10.1.2.0/24", .want = "a b c e", .runs = 200, .per_run = 2 },
	{ "mv2.t", "10.1.2.0/24", .down = "a b c", .want = "e", .per_run = 1 },
	/* cidr: the longest matching prefix, then shorter ones, then default */
	{ "cidr.t", "10.1.2.0/24", .want = "b", SCOPE(24) },
	{ "cidr.t", "10.1.3.0/24", .want = "a", SCOPE(24) },
	{ "cidr.t", "10.1.2.0/24", .down = "b", .want = "a", .why = "a=used b=down" },
	{ "cidr.t", "10.7.0.0/24", .want = "e", SCOPE(24) },
	{ "cidr.t", "2001:db8:9::/56", .want = "c", SCOPE(48) },
	{ "cidr.t", "2001:db8:9::/56", .down = "c", .want = "e" },
	/* nesting: geolocation > weighted > failover > multivalue; cidr > geoproximity */
	{ "nest.t", "10.1.2.0/24", .want = "a", .runs = 50, .why = "a=used b=notchosen e=weight0" },
	{ "nest.t", "10.1.2.0/24", .down = "a", .want = "b c", .per_run = 2, .runs = 20,
	  .why = "a=down b=used c=used e=weight0" },
	{ "nest.t", "10.1.2.0/24", .down = "a b c", .want = "e", .why = "a=down e=used" },
	{ "nest.t", "10.9.1.0/24", .want = "c", .why = "c=used a=notchosen" },
	{ "nest.t", "10.2.7.0/24", .want = "b" },
	{ "nest.t", "10.2.7.0/24", .drained = "b", .want = "a", .why = "b=drained a=used" },
	/* CNAME endpoints yield for every family */
	{ "cname.t", "10.1.2.0/24", .want = "cn", .why = "cn=used a=notchosen" },
	{ "cname.t", "10.1.2.0/24", .family = AF_INET6, .want = "cn" },
	{ "cname.t", "10.1.2.0/24", .down = "cn", .want = "a", .why = "cn=down a=used" },
};

/* ---- running a case ---- */

static const struct rwd_traffic *traffic(const char *text)
{
	uint8_t flat[255];
	size_t n = 0, len = strlen(text);
	for (size_t i = 0; i < len;) {   /* "a.b" -> \1a\1b\0 */
		const char *dot = strchr(text + i, '.');
		size_t l = dot ? (size_t)(dot - text - i) : len - i;
		flat[n++] = (uint8_t)l;
		memcpy(flat + n, text + i, l);
		n += l;
		i += l + 1;
	}
	flat[n++] = 0;
	const struct rwd_traffic *t = rwd_model_find(model, flat, n);
	if (t == NULL)
		fail_msg("no traffic name %s", text);
	return t;
}

static struct rwd_endpoint *endpoint(const char *name)
{
	struct rwd_endpoint *e = (struct rwd_endpoint *)rwd_model_find_endpoint(model, name);
	if (e == NULL)
		fail_msg("no endpoint %s", name);
	return e;
}

/* Call fn for each space-separated word of list. */
static void each(const char *list, void (*fn)(const char *word, void *ctx), void *ctx)
{
	char buf[200];
	snprintf(buf, sizeof(buf), "%s", list ? list : "");
	for (char *save, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		fn(w, ctx);
}

static void set_down(const char *name, void *ctx)
{
	uint8_t *state = ctx;
	const struct rwd_endpoint *e = endpoint(name);
	if (e->cname_len)
		state[e->slot] = RWD_SLOT_DOWN;
	for (unsigned i = 0; i < e->n_addrs; i++)
		state[e->addrs[i].slot] = RWD_SLOT_DOWN;
}

static void set_drained(const char *name, void *ctx)
{
	endpoint(name)->drained = *(bool *)ctx;
}

static const char *why_name(uint8_t why)
{
	static const char *names[] = { [RWD_WHY_USED] = "used", [RWD_WHY_NOT_CHOSEN] = "notchosen",
	                               [RWD_WHY_WEIGHT_ZERO] = "weight0", [RWD_WHY_DRAINED] = "drained",
	                               [RWD_WHY_DOWN] = "down", [RWD_WHY_NO_FAMILY] = "nofamily" };
	return why < sizeof(names) / sizeof(names[0]) && names[why] ? names[why] : "?";
}

struct why_check {
	const struct rwd_trace *trace;
	const char *where;
};

static void check_why(const char *word, void *ctx)
{
	const struct why_check *w = ctx;
	char name[32];
	const char *eq = strchr(word, '=');
	assert_non_null(eq);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - word), word);
	const struct rwd_endpoint *e = endpoint(name);
	for (unsigned i = 0; i < w->trace->n_endpoints; i++) {
		if (w->trace->endpoints[i].endpoint != e)
			continue;
		if (strcmp(why_name(w->trace->endpoints[i].why), eq + 1) != 0)
			fail_msg("%s: %s is '%s', want '%s'", w->where, name,
			         why_name(w->trace->endpoints[i].why), eq + 1);
		return;
	}
	fail_msg("%s: %s is not in the trace", w->where, name);
}

/* Is name in the space-separated list? */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static void run_case(const struct eval_case *c, size_t index)
{
	char where[160];
	snprintf(where, sizeof(where), "case %zu (%s %s%s down [%s] drained [%s])", index, c->name,
	         c->client, c->family == AF_INET6 ? " AAAA" : "", c->down ? c->down : "",
	         c->drained ? c->drained : "");
	const struct rwd_traffic *t = traffic(c->name);
	uint8_t *state = calloc(model->n_slots ? model->n_slots : 1, 1);
	assert_non_null(state);
	each(c->down, set_down, state);
	bool yes = true;
	for (size_t i = 0; i < model->n_endpoints; i++)   /* none drained but the case's */
		model->endpoints[i].drained = false;
	each(c->drained, set_drained, &yes);
	struct rwd_health_state health = { .n_slots = model->n_slots, .state = state };
	struct rwd_client client = { 0 };
	if (rw_prefix_parse(c->client, &client.addr, &client.prefix_len) != 0)
		fail_msg("%s: bad client", where);
	int family = c->family ? c->family : AF_INET;

	char seen[200] = "";
	unsigned runs = c->runs ? c->runs : 1;
	uint64_t rng = 0x853c49e6748fea9bULL + index, rng2 = rng;
	struct rwd_trace *trace = calloc(1, sizeof(*trace));
	assert_non_null(trace);
	for (unsigned r = 0; r < runs; r++) {
		struct rwd_client cl = client, cl2 = client;
		struct rwd_steer st = { .model = model, .health = &health, .geo = geo, .rng = &rng,
		                        .client = &cl, .trace = trace };
		struct rwd_steer st2 = { .model = model, .health = &health, .geo = geo, .rng = &rng2,
		                         .client = &cl2 };
		struct rwd_steer_result res, res2;
		bool ok = rwd_steer_eval(&st, t, family, &res);
		bool ok2 = rwd_steer_eval(&st2, t, family, &res2);
		/* The trace changes nothing: same answer, same scope, same stream. */
		assert_int_equal(ok, ok2);
		assert_int_equal(st.scope, st2.scope);
		assert_int_equal(rng, rng2);
		if (ok) {
			assert_int_equal(res.n, res2.n);
			assert_memory_equal(res.endpoints, res2.endpoints, res.n * sizeof(res.endpoints[0]));
		}
		if (ok != (c->want[0] != '\0'))
			fail_msg("%s: answered %d, want [%s]", where, ok, c->want);
		if (c->per_run && ok && res.n != c->per_run)
			fail_msg("%s: %u endpoints, want %u", where, res.n, c->per_run);
		assert_int_equal(st.failed_open, c->failed_open);
		assert_int_equal(trace->failed_open, c->failed_open);
		if (c->scope && st.scope != c->scope - 1)
			fail_msg("%s: scope %u, want %d", where, st.scope, c->scope - 1);
		for (unsigned i = 0; ok && i < res.n; i++) {
			const char *n = res.endpoints[i]->name;
			if (!listed(c->want, n))
				fail_msg("%s: answered %s, want only [%s]", where, n, c->want);
			if (!listed(seen, n))
				snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s",
				         seen[0] ? " " : "", n);
			const struct rwd_trace_endpoint *te = NULL;
			for (unsigned k = 0; k < trace->n_endpoints; k++)
				if (trace->endpoints[k].endpoint == res.endpoints[i])
					te = &trace->endpoints[k];
			if (te == NULL || te->why != RWD_WHY_USED)
				fail_msg("%s: %s answered but traced as %s", where, n,
				         te ? why_name(te->why) : "absent");
		}
		struct why_check w = { trace, where };
		each(c->why, check_why, &w);
	}
	/* Over the runs, every expected endpoint came up. */
	char want[200];
	snprintf(want, sizeof(want), "%s", c->want);
	for (char *save, *x = strtok_r(want, " ", &save); x; x = strtok_r(NULL, " ", &save))
		if (!listed(seen, x))
			fail_msg("%s: %s never answered in %u runs (seen [%s])", where, x, runs, seen);
	for (size_t i = 0; i < model->n_endpoints; i++)
		model->endpoints[i].drained = false;
	free(trace);
	free(state);
}

static void test_table(void **unused)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], i);
}

/* weighted 3:1 over many runs: the split follows the weights. */
static void test_weighted_split(void **unused)
{
	const struct rwd_traffic *t = traffic("weighted.t");
	struct rwd_health_state health = { 0 };
	uint64_t rng = 42;
	unsigned a = 0, n = 40000;
	for (unsigned i = 0; i < n; i++) {
		struct rwd_client cl = { 0 };
		struct rwd_steer st = { .model = model, .health = &health, .geo = geo, .rng = &rng,
		                        .client = &cl };
		struct rwd_steer_result res;
		assert_true(rwd_steer_eval(&st, t, AF_INET, &res));
		a += strcmp(res.endpoints[0]->name, "a") == 0;
	}
	double share = (double)a / n;   /* 0.75; 5 sigma at n = 40000 is 0.011 */
	if (share < 0.735 || share > 0.765)
		fail_msg("a got %.3f of the answers, want 0.75", share);
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* No allocation on the query path, with or without a trace; the cost of
 * one evaluation of a nested tree, printed (not asserted: shared CI). */
static void test_cost(void **unused)
{
	const struct rwd_traffic *t = traffic("nest.t");
	struct rwd_health_state health = { 0 };
	struct rwd_trace *trace = calloc(1, sizeof(*trace));
	struct rwd_geo_cache *cache = calloc(1, sizeof(*cache));
	assert_non_null(trace);
	assert_non_null(cache);
	struct rwd_client client = { 0 };
	assert_int_equal(rw_prefix_parse("10.1.2.0/24", &client.addr, &client.prefix_len), 0);
	uint64_t rng = 7;
	double ns[2];
	enum { N = 200000 };
	for (int traced = 0; traced < 2; traced++) {
		allocs = 0;
		counting = 1;
		double t0 = now_ns();
		for (unsigned i = 0; i < N; i++) {
			struct rwd_client cl = client;
			struct rwd_steer st = { .model = model, .health = &health, .geo = geo,
			                        .geo_cache = cache, .rng = &rng, .client = &cl,
			                        .trace = traced ? trace : NULL };
			struct rwd_steer_result res;
			if (!rwd_steer_eval(&st, t, AF_INET, &res))
				break;
		}
		ns[traced] = (now_ns() - t0) / N;
		counting = 0;
		assert_int_equal(allocs, 0);
	}
	printf("eval of nest.t (geolocation > weighted > failover, cached location): "
	       "%.0f ns without a trace, %.0f ns with one\n", ns[0], ns[1]);
	free(cache);
	free(trace);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_weighted_split),
		cmocka_unit_test(test_cost),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
