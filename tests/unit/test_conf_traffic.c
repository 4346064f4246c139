/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the traffic sections of the configuration (health_checks,
 * endpoints, geoip, latency, traffic) and the model they build: a full
 * valid config with every policy kind nested 3 deep, defaults, YAML alias
 * sharing, the depth limit, the model helpers (steer/model.c), and a table
 * of broken configs each with its exact "FILE:LINE: message".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/steer/model.h"

static char tmpdir[] = "/tmp/test_conf_traffic.XXXXXX";

/* Write text to tmpdir/name; returns the path (static, overwritten by the next call). */
static const char *put(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	put("GeoLite2-City.mmdb", "not really an mmdb: only its path is checked\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static struct rwd_conf *load_ok(const char *text)
{
	struct rwd_conf *conf = NULL;
	char err[RWD_CONF_ERRLEN] = "";
	int rc = rwd_conf_load(put("ok.yaml", text), &conf, err);
	if (rc != 0)
		fail_msg("unexpected error %d: %s", rc, err);
	assert_non_null(conf);
	assert_non_null(conf->model);
	return conf;
}

/* The error of a config that must not load. */
static const char *load_err(const char *text)
{
	static char err[RWD_CONF_ERRLEN];
	struct rwd_conf *conf = (struct rwd_conf *)1;
	int rc = rwd_conf_load_buf(text, strlen(text), "x.yaml", tmpdir, &conf, err);
	assert_int_equal(rc, RW_ECONF);
	assert_null(conf);
	return err;
}

static const struct rwd_traffic *find(const struct rwd_model *m, const char *flat)
{
	return rwd_model_find(m, (const uint8_t *)flat, strlen(flat) + 1);
}

static const struct rwd_endpoint *ep(const struct rwd_model *m, const char *name)
{
	const struct rwd_endpoint *e = rwd_model_find_endpoint(m, name);
	if (!e)
		fail_msg("no endpoint %s", name);
	return e;
}

/* Asserts p is an ENDPOINT node for name. */
static void is_endpoint(const struct rwd_policy *p, const char *name)
{
	assert_non_null(p);
	assert_int_equal(p->kind, RWD_POLICY_ENDPOINT);
	assert_string_equal(p->u.endpoint->name, name);
}

static struct rw_addr addr(const char *text)
{
	struct rw_addr a;
	assert_int_equal(rw_addr_parse(text, &a), 0);
	return a;
}

static void prefix_is(const struct rw_addr *a, uint8_t len, const char *want)
{
	char buf[RW_PREFIX_STRLEN];
	rw_prefix_format(a, len, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* The product issue's example, completed with zones and the endpoints it names. */
static const char full_yaml[] =
	"zones:\n"                                                                    /* 1 */
	"  - {name: example.com., file: example.com.zone}\n"                          /* 2 */
	"  - {name: Example.NET, file: example.net.zone}\n"                           /* 3 */
	"health_checks:\n"                                                            /* 4 */
	"  web:\n"                                                                    /* 5 */
	"    type: http              # tcp | http | https | dns\n"                    /* 6 */
	"    port: 8080\n"                                                            /* 7 */
	"    path: /healthz\n"                                                        /* 8 */
	"    expect_status: [200]\n"                                                  /* 9 */
	"    expect_body: ok         # optional: substring of the body\n"             /* 10 */
	"    interval: 1s\n"                                                          /* 11 */
	"    timeout: 500ms\n"                                                        /* 12 */
	"    rise: 2                 # consecutive passes to become up\n"             /* 13 */
	"    fall: 2                 # consecutive failures to become down\n"         /* 14 */
	"  tls: {type: https, host: www.example.com, tls_verify: true, cert_warn_days: 30,\n" /* 15 */
	"        expect_status: [200, 204]}\n"                                        /* 16 */
	"  ns: {type: dns, query: Example.COM, qtype: aaaa, expect_rcode: NXDOMAIN,\n"/* 17 */
	"       expect_answer: \"2001:db8\", interval: 10s}\n"                         /* 18 */
	"  db: {type: tcp, port: 5432, interval: 500ms}\n"                            /* 19 */
	"endpoints:\n"                                                                /* 20 */
	"  us-east:\n"                                                                /* 21 */
	"    address: [192.0.2.10, \"2001:db8::10\"]\n"                               /* 22 */
	"    health_check: web       # checked at each of its addresses\n"            /* 23 */
	"    location: { lat: 39.04, lon: -77.49 }\n"                                 /* 24 */
	"  eu-west: { address: [198.51.100.10], health_check: web, location: { lat: 53.35, lon: -6.26 } }\n" /* 25 */
	"  cdn: { cname: edge.cdn.example.net., health_check: tls }      # answers with a CNAME\n" /* 26 */
	"  us-west: {address: 192.0.2.20, location: {lat: 37.4, lon: -122.1}}\n"     /* 27 */
	"  us-west-canary: {address: 192.0.2.21, target: canary.example.com.}\n"      /* 28 */
	"  sip1: {address: 192.0.2.30, target: Sip1.Example.com, health_check: db}\n" /* 29 */
	"geoip:\n"                                                                    /* 30 */
	"  mmdb: GeoLite2-City.mmdb  # MaxMind format; path relative to the config file's folder\n" /* 31 */
	"  networks: networks.yaml   # optional own CIDR -> location entries, win over the mmdb\n" /* 32 */
	"latency:\n"                                                                  /* 33 */
	"  file: latency.csv         # rows: client (CIDR or country code), endpoint, rtt_ms\n" /* 34 */
	"traffic:\n"                                                                  /* 35 */
	"  www.example.com.:\n"                                                       /* 36 */
	"    ttl: 30\n"                                                               /* 37 */
	"    policy:\n"                                                               /* 38 */
	"      geolocation:\n"                                                        /* 39 */
	"        EU: { failover: [eu-west, us-east] }\n"                              /* 40 */
	"        US-CA: { weighted: { us-west: 90, us-west-canary: 10 } }\n"          /* 41 */
	"        default: { latency: [us-east, eu-west] }\n"                          /* 42 */
	"  Deep.Example.com:          # every kind, nested 3 deep\n"                  /* 43 */
	"    fail_open: false\n"                                                      /* 44 */
	"    policy:\n"                                                               /* 45 */
	"      failover:\n"                                                           /* 46 */
	"        - weighted:\n"                                                       /* 47 */
	"            - {weight: 3, node: {geoproximity: {us-east: 10, eu-west: -10}}}\n" /* 48 */
	"            - weight: 0\n"                                                   /* 49 */
	"              node:\n"                                                       /* 50 */
	"                cidr: {\"10.0.0.0/8\": us-west, \"2001:db8::/32\": cdn, default: eu-west,\n" /* 51 */
	"                       \"10.1.0.0/16\": us-east, 0.0.0.0/0: us-west-canary}\n" /* 52 */
	"        - multivalue:\n"                                                     /* 53 */
	"            count: 2\n"                                                      /* 54 */
	"            of:\n"                                                           /* 55 */
	"              - latency: [us-east, {geolocation: {de: eu-west, NA: us-east, US-NY: us-east,\n" /* 56 */
	"                                                  \"country:SA\": eu-west}}]\n" /* 57 */
	"              - geoproximity: [{bias: 5, node: us-west}, {bias: -99, node: {failover: [us-east]}}]\n" /* 58 */
	"        - cidr: {192.0.2.0/24: {multivalue: [us-east, eu-west]}, 192.0.0.0/16: cdn}\n" /* 59 */
	"  apex.example.net.: {alias: WWW.example.com.}\n"                            /* 60 */
	"  _sip._udp.example.com.:\n"                                                 /* 61 */
	"    srv:\n"                                                                  /* 62 */
	"      - {endpoint: sip1, port: 5060, priority: 10, weight: 5}\n"             /* 63 */
	"      - {endpoint: us-west-canary, port: 5061}\n"                            /* 64 */
	"  example.com: {policy: cdn, ttl: 0}\n";                                     /* 65 */

static const char networks_yaml[] =
	"# own networks\n"
	"- { network: 203.0.113.0/24, continent: NA, country: US, subdivision: CA, lat: 37.4, lon: -122.1 }\n"
	"- network: \"2001:db8:1::/48\"\n"
	"  country: de\n"
	"- {network: 198.51.100.128/25, continent: eu}\n";

static const char latency_csv[] =
	"# measured last week\n"
	"client,endpoint,rtt_ms\n"
	"203.0.113.0/24,us-east,12\n"
	"\n"
	"de, eu-west , 8.6\r\n"
	"2001:db8::/32,eu-west,30\n"
	"DE,us-east,95.4";

static void test_full(void **state)
{
	put("networks.yaml", networks_yaml);
	put("latency.csv", latency_csv);
	struct rwd_conf *c = load_ok(full_yaml);
	const struct rwd_model *m = c->model;
	char want[300];

	/* health checks, in file order, with their defaults */
	assert_int_equal(m->n_checks, 4);
	const struct rwd_check *web = &m->checks[0], *tls = &m->checks[1], *ns = &m->checks[2],
	                       *db = &m->checks[3];
	assert_string_equal(web->name, "web");
	assert_int_equal(web->line, 5);
	assert_int_equal(web->type, RWD_CHECK_HTTP);
	assert_int_equal(web->port, 8080);
	assert_string_equal(web->path, "/healthz");
	assert_null(web->host);
	assert_int_equal(web->n_expect_status, 1);
	assert_int_equal(web->expect_status[0], 200);
	assert_string_equal(web->expect_body, "ok");
	assert_int_equal(web->interval_ms, 1000);
	assert_int_equal(web->timeout_ms, 500);
	assert_int_equal(web->rise, 2);
	assert_int_equal(web->fall, 2);

	assert_string_equal(tls->name, "tls");
	assert_int_equal(tls->type, RWD_CHECK_HTTPS);
	assert_int_equal(tls->port, 443);
	assert_string_equal(tls->path, "/");
	assert_string_equal(tls->host, "www.example.com");
	assert_true(tls->tls_verify);
	assert_int_equal(tls->cert_warn_days, 30);
	assert_int_equal(tls->n_expect_status, 2);
	assert_int_equal(tls->expect_status[1], 204);
	assert_null(tls->expect_body);
	assert_int_equal(tls->interval_ms, 1000);
	assert_int_equal(tls->timeout_ms, 500);   /* default: half the interval, at most 1s */

	assert_int_equal(ns->type, RWD_CHECK_DNS);
	assert_int_equal(ns->port, 53);
	assert_memory_equal(ns->dns_qname, "\7example\3com\0", 13);
	assert_int_equal(ns->dns_qtype, 28);
	assert_int_equal(ns->dns_rcode, 3);
	assert_string_equal(ns->dns_expect, "2001:db8");
	assert_int_equal(ns->interval_ms, 10000);
	assert_int_equal(ns->timeout_ms, 1000);
	assert_false(ns->tls_verify);
	assert_int_equal(ns->cert_warn_days, 14);

	assert_int_equal(db->type, RWD_CHECK_TCP);
	assert_int_equal(db->port, 5432);
	assert_int_equal(db->timeout_ms, 250);
	assert_int_equal(db->dns_qname[0], 0);    /* defaults of other types are harmless */
	assert_int_equal(db->dns_qtype, 6);
	assert_int_equal(db->dns_rcode, 0);

	/* endpoints */
	assert_int_equal(m->n_endpoints, 6);
	const struct rwd_endpoint *use = ep(m, "us-east"), *euw = ep(m, "eu-west"),
	                          *cdn = ep(m, "cdn"), *usw = ep(m, "us-west"),
	                          *canary = ep(m, "us-west-canary"), *sip = ep(m, "sip1");
	assert_ptr_equal(use, &m->endpoints[0]);
	assert_int_equal(use->line, 21);
	assert_int_equal(use->n_addrs, 2);
	struct rw_addr a = addr("192.0.2.10");
	assert_memory_equal(&use->addrs[0].addr, &a, sizeof(a));
	a = addr("2001:db8::10");
	assert_int_equal(use->addrs[1].addr.family, AF_INET6);
	assert_memory_equal(&use->addrs[1].addr, &a, sizeof(a));
	assert_ptr_equal(use->check, web);
	assert_true(use->has_location);
	assert_true(use->lat == 39.04 && use->lon == -77.49);
	assert_int_equal(use->cname_len, 0);
	assert_int_equal(use->target_len, 0);
	assert_ptr_equal(euw->check, web);
	assert_true(euw->lat == 53.35 && euw->lon == -6.26);
	assert_int_equal(cdn->n_addrs, 0);
	assert_int_equal(cdn->cname_len, 22);
	assert_memory_equal(cdn->cname, "\4edge\3cdn\7example\3net\0", 22);
	assert_ptr_equal(cdn->check, tls);
	assert_false(cdn->has_location);
	assert_null(usw->check);
	assert_int_equal(canary->target_len, 20);
	assert_memory_equal(canary->target, "\6canary\7example\3com\0", 20);
	assert_memory_equal(sip->target, "\4sip1\7example\3com\0", 18);
	assert_ptr_equal(sip->check, db);

	/* health slots: every address, and the CNAME endpoint */
	assert_int_equal(m->n_slots, 7);
	assert_int_equal(use->addrs[0].slot, 0);
	assert_int_equal(use->addrs[1].slot, 1);
	assert_int_equal(euw->addrs[0].slot, 2);
	assert_int_equal(cdn->slot, 3);
	assert_int_equal(use->slot, RWD_NO_SLOT);
	assert_int_equal(usw->addrs[0].slot, 4);
	assert_int_equal(canary->addrs[0].slot, 5);
	assert_int_equal(sip->addrs[0].slot, 6);

	/* geoip */
	snprintf(want, sizeof(want), "%s/GeoLite2-City.mmdb", tmpdir);
	assert_string_equal(m->mmdb_path, want);
	assert_int_equal(m->n_networks, 3);
	const struct rwd_network_location *nl = &m->networks[0];
	prefix_is(&nl->prefix, nl->len, "203.0.113.0/24");
	assert_string_equal(nl->continent, "NA");
	assert_string_equal(nl->country, "US");
	assert_string_equal(nl->subdivision, "CA");
	assert_true(nl->has_location && nl->lat == 37.4 && nl->lon == -122.1);
	nl = &m->networks[1];
	prefix_is(&nl->prefix, nl->len, "2001:db8:1::/48");
	assert_string_equal(nl->continent, "");
	assert_string_equal(nl->country, "DE");
	assert_string_equal(nl->subdivision, "");
	assert_false(nl->has_location);
	assert_string_equal(m->networks[2].continent, "EU");

	/* latency */
	assert_int_equal(m->n_latency, 4);
	const struct rwd_latency_row *r = m->latency;
	assert_false(r[0].is_country);
	prefix_is(&r[0].prefix, r[0].len, "203.0.113.0/24");
	assert_ptr_equal(r[0].endpoint, use);
	assert_int_equal(r[0].rtt_ms, 12);
	assert_true(r[1].is_country);
	assert_string_equal(r[1].country, "DE");
	assert_ptr_equal(r[1].endpoint, euw);
	assert_int_equal(r[1].rtt_ms, 9);
	prefix_is(&r[2].prefix, r[2].len, "2001:db8::/32");
	assert_int_equal(r[2].rtt_ms, 30);
	assert_ptr_equal(r[3].endpoint, use);
	assert_int_equal(r[3].rtt_ms, 95);

	/* traffic: the product example */
	assert_int_equal(m->n_traffic, 5);
	const struct rwd_traffic *t = find(m, "\3www\7example\3com");
	assert_ptr_equal(t, &m->traffic[0]);
	assert_int_equal(t->kind, RWD_TRAFFIC_POLICY);
	assert_int_equal(t->line, 36);
	assert_int_equal(t->ttl, 30);
	assert_true(t->fail_open);
	const struct rwd_policy *p = t->policy;
	assert_int_equal(p->kind, RWD_POLICY_GEOLOCATION);
	assert_int_equal(p->line, 39);
	assert_int_equal(p->u.geo.n, 2);
	assert_int_equal(p->u.geo.v[0].level, RWD_GEO_SUBDIVISION);   /* most specific first */
	assert_string_equal(p->u.geo.v[0].code, "US-CA");
	assert_int_equal(p->u.geo.v[1].level, RWD_GEO_CONTINENT);
	assert_string_equal(p->u.geo.v[1].code, "EU");
	const struct rwd_policy *w = p->u.geo.v[0].node;
	assert_int_equal(w->kind, RWD_POLICY_WEIGHTED);
	assert_int_equal(w->u.children.n, 2);
	is_endpoint(w->u.children.v[0].node, "us-west");
	assert_int_equal(w->u.children.v[0].weight, 90);
	is_endpoint(w->u.children.v[1].node, "us-west-canary");
	assert_int_equal(w->u.children.v[1].weight, 10);
	const struct rwd_policy *f = p->u.geo.v[1].node;
	assert_int_equal(f->kind, RWD_POLICY_FAILOVER);
	assert_int_equal(f->u.children.n, 2);
	is_endpoint(f->u.children.v[0].node, "eu-west");
	is_endpoint(f->u.children.v[1].node, "us-east");
	assert_int_equal(p->u.geo.fallback->kind, RWD_POLICY_LATENCY);
	is_endpoint(p->u.geo.fallback->u.children.v[1].node, "eu-west");

	/* every kind, three deep */
	t = find(m, "\4deep\7example\3com");
	assert_non_null(t);
	assert_memory_equal(t->name, "\4deep\7example\3com\0", 18);
	assert_int_equal(t->name_len, 18);
	assert_int_equal(t->ttl, 60);
	assert_false(t->fail_open);
	p = t->policy;
	assert_int_equal(p->kind, RWD_POLICY_FAILOVER);
	assert_int_equal(p->u.children.n, 3);
	w = p->u.children.v[0].node;
	assert_int_equal(w->kind, RWD_POLICY_WEIGHTED);
	assert_int_equal(w->line, 47);
	assert_int_equal(w->u.children.v[0].weight, 3);
	assert_int_equal(w->u.children.v[1].weight, 0);
	const struct rwd_policy *gp = w->u.children.v[0].node;
	assert_int_equal(gp->kind, RWD_POLICY_GEOPROXIMITY);
	assert_int_equal(gp->u.children.n, 2);
	is_endpoint(gp->u.children.v[0].node, "us-east");
	assert_int_equal(gp->u.children.v[0].bias, 10);
	assert_int_equal(gp->u.children.v[1].bias, -10);
	const struct rwd_policy *cidr = w->u.children.v[1].node;
	assert_int_equal(cidr->kind, RWD_POLICY_CIDR);
	assert_int_equal(cidr->u.cidr.n, 4);    /* longest first; IPv4 before IPv6 */
	prefix_is(&cidr->u.cidr.v[0].prefix, cidr->u.cidr.v[0].len, "2001:db8::/32");
	prefix_is(&cidr->u.cidr.v[1].prefix, cidr->u.cidr.v[1].len, "10.1.0.0/16");
	is_endpoint(cidr->u.cidr.v[1].node, "us-east");
	prefix_is(&cidr->u.cidr.v[2].prefix, cidr->u.cidr.v[2].len, "10.0.0.0/8");
	prefix_is(&cidr->u.cidr.v[3].prefix, cidr->u.cidr.v[3].len, "0.0.0.0/0");
	is_endpoint(cidr->u.cidr.v[3].node, "us-west-canary");
	is_endpoint(cidr->u.cidr.fallback, "eu-west");

	const struct rwd_policy *mv = p->u.children.v[1].node;
	assert_int_equal(mv->kind, RWD_POLICY_MULTIVALUE);
	assert_int_equal(mv->u.children.count, 2);
	assert_int_equal(mv->u.children.n, 2);
	const struct rwd_policy *lat = mv->u.children.v[0].node;
	assert_int_equal(lat->kind, RWD_POLICY_LATENCY);
	const struct rwd_policy *geo = lat->u.children.v[1].node;
	assert_int_equal(geo->kind, RWD_POLICY_GEOLOCATION);
	assert_int_equal(geo->u.geo.n, 4);
	assert_null(geo->u.geo.fallback);
	assert_string_equal(geo->u.geo.v[0].code, "US-NY");
	assert_int_equal(geo->u.geo.v[1].level, RWD_GEO_COUNTRY);
	assert_string_equal(geo->u.geo.v[1].code, "DE");
	assert_int_equal(geo->u.geo.v[2].level, RWD_GEO_COUNTRY);
	assert_string_equal(geo->u.geo.v[2].code, "SA");                /* Saudi Arabia */
	assert_int_equal(geo->u.geo.v[3].level, RWD_GEO_CONTINENT);
	assert_string_equal(geo->u.geo.v[3].code, "NA");
	gp = mv->u.children.v[1].node;
	assert_int_equal(gp->kind, RWD_POLICY_GEOPROXIMITY);
	assert_int_equal(gp->u.children.v[1].bias, -99);
	assert_int_equal(gp->u.children.v[1].node->kind, RWD_POLICY_FAILOVER);
	cidr = p->u.children.v[2].node;
	assert_int_equal(cidr->kind, RWD_POLICY_CIDR);
	prefix_is(&cidr->u.cidr.v[0].prefix, cidr->u.cidr.v[0].len, "192.0.2.0/24");
	assert_int_equal(cidr->u.cidr.v[0].node->kind, RWD_POLICY_MULTIVALUE);
	assert_int_equal(cidr->u.cidr.v[0].node->u.children.count, 8);
	assert_null(cidr->u.cidr.fallback);

	/* alias, srv, a name at the apex */
	t = find(m, "\4apex\7example\3net");
	assert_int_equal(t->kind, RWD_TRAFFIC_ALIAS);
	assert_null(t->policy);
	assert_int_equal(t->alias_len, 17);
	assert_memory_equal(t->alias, "\3www\7example\3com\0", 17);
	t = find(m, "\4_sip\4_udp\7example\3com");
	assert_int_equal(t->kind, RWD_TRAFFIC_SRV);
	assert_int_equal(t->n_srv, 2);
	assert_ptr_equal(t->srv[0].endpoint, sip);
	assert_int_equal(t->srv[0].port, 5060);
	assert_int_equal(t->srv[0].priority, 10);
	assert_int_equal(t->srv[0].weight, 5);
	assert_ptr_equal(t->srv[1].endpoint, canary);
	assert_int_equal(t->srv[1].priority, 0);
	assert_int_equal(t->srv[1].weight, 0);
	t = find(m, "\7example\3com");
	assert_int_equal(t->ttl, 0);
	is_endpoint(t->policy, "cdn");
	assert_null(find(m, "\7example\3net"));
	assert_null(find(m, "\3WWW\7example\3com"));   /* the key is lowercase */
	rwd_conf_free(c);
}

static void test_empty(void **state)
{
	static const char *empties[] = {
		"", "zones: []\n", "health_checks:\nendpoints: ~\ngeoip: {}\nlatency:\ntraffic: {}\n",
	};
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct rwd_conf *c = load_ok(empties[i]);
		const struct rwd_model *m = c->model;
		assert_int_equal(m->n_checks + m->n_endpoints + m->n_traffic + m->n_networks + m->n_latency, 0);
		assert_int_equal(m->n_slots, 0);
		assert_null(m->mmdb_path);
		assert_null(find(m, "\3www\7example\3com"));
		rwd_conf_free(c);
	}
	/* Empty side files. */
	put("empty.yaml", "# nothing yet\n");
	put("empty.csv", "client,endpoint,rtt_ms\n");
	struct rwd_conf *c = load_ok("geoip: {networks: empty.yaml}\nlatency: {file: empty.csv}\n");
	assert_int_equal(c->model->n_networks, 0);
	assert_int_equal(c->model->n_latency, 0);
	rwd_conf_free(c);
}

/* The sections may come in any order: names are resolved after the whole file is read. */
static void test_any_order(void **state)
{
	struct rwd_conf *c = load_ok(
		"traffic:\n  a.example.com: {policy: e}\n"
		"endpoints:\n  e: {address: 192.0.2.1, health_check: h}\n"
		"health_checks:\n  h: {type: tcp, port: 1}\n"
		"zones:\n  - {name: example.com, file: z}\n");
	assert_ptr_equal(c->model->endpoints[0].check, &c->model->checks[0]);
	is_endpoint(c->model->traffic[0].policy, "e");
	rwd_conf_free(c);
}

/* YAML aliases share one subtree; a loop through an alias is an error, an alias bomb is cheap. */
static void test_aliases(void **state)
{
	struct rwd_conf *c = load_ok(
		"zones: [{name: example.com, file: z}]\n"
		"endpoints: {a: {address: 192.0.2.1}, b: {address: 192.0.2.2}}\n"
		"traffic:\n"
		"  x.example.com: {policy: &p {failover: [a, b]}}\n"
		"  y.example.com: {policy: {weighted: [{weight: 1, node: *p}, {weight: 2, node: a}]}}\n");
	const struct rwd_model *m = c->model;
	assert_ptr_equal(m->traffic[1].policy->u.children.v[0].node, m->traffic[0].policy);
	rwd_conf_free(c);

	assert_string_equal(load_err(
		"zones: [{name: example.com, file: z}]\n"
		"endpoints: {a: {address: 192.0.2.1}}\n"
		"traffic:\n"
		"  x.example.com: {policy: &p {failover: [a, *p]}}\n"),
		"x.yaml:4: policy contains itself (through a YAML alias)");

	/* 2^29 paths through 29 shared levels: each is read once. */
	char *yaml = malloc(8192);
	size_t n = (size_t)sprintf(yaml, "zones: [{name: example.com, file: z}]\n"
	                           "endpoints: {a: {address: 192.0.2.1}}\n"
	                           "traffic:\n  x.example.com:\n    policy:\n      failover:\n"
	                           "        - &l0 {failover: [a, a]}\n");
	for (int i = 1; i < 29; i++)
		n += (size_t)sprintf(yaml + n, "        - &l%d {failover: [*l%d, *l%d]}\n", i, i - 1, i - 1);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = load_ok(yaml);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	const struct rwd_policy *top = c->model->traffic[0].policy;
	assert_int_equal(top->u.children.n, 29);
	assert_ptr_equal(top->u.children.v[28].node->u.children.v[0].node, top->u.children.v[27].node);
	assert_ptr_equal(top->u.children.v[28].node->u.children.v[1].node, top->u.children.v[27].node);
	rwd_conf_free(c);
	free(yaml);
}

/* Policies nest up to 32 levels. */
static void test_depth(void **state)
{
	for (int depth = 31; depth <= 33; depth++) {
		char yaml[4096];
		size_t n = (size_t)sprintf(yaml, "zones: [{name: example.com, file: z}]\n"
		                           "endpoints: {a: {address: 192.0.2.1}}\n"
		                           "traffic:\n  x.example.com:\n    policy: ");
		for (int i = 1; i < depth; i++)
			n += (size_t)sprintf(yaml + n, "{failover: [");
		n += (size_t)sprintf(yaml + n, "a");
		for (int i = 1; i < depth; i++)
			n += (size_t)sprintf(yaml + n, "]}");
		sprintf(yaml + n, "\n");
		if (depth <= 32) {
			struct rwd_conf *c = load_ok(yaml);
			rwd_conf_free(c);
		} else {
			assert_string_equal(load_err(yaml), "x.yaml:5: policy nested deeper than 32 levels");
		}
	}
	/* The same through an alias: the shared subtree is 2 levels, placed at level 32. */
	char yaml[4096];
	size_t n = (size_t)sprintf(yaml, "zones: [{name: example.com, file: z}]\n"
	                           "endpoints: {a: {address: 192.0.2.1}}\n"
	                           "traffic:\n  w.example.com: {policy: &s {latency: [a]}}\n"
	                           "  x.example.com:\n    policy: ");
	for (int i = 1; i < 32; i++)
		n += (size_t)sprintf(yaml + n, "{failover: [");
	n += (size_t)sprintf(yaml + n, "*s");
	for (int i = 1; i < 32; i++)
		n += (size_t)sprintf(yaml + n, "]}");
	sprintf(yaml + n, "\n");
	assert_string_equal(load_err(yaml), "x.yaml:4: policy nested deeper than 32 levels");
}

static void test_model_helpers(void **state)
{
	struct rw_addr a;
	uint8_t len;
	assert_int_equal(rw_prefix_parse("10.0.0.0/8", &a, &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(rw_prefix_parse("10.0.0.1", &a, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(rw_prefix_parse("::/0", &a, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(rw_prefix_parse("2001:db8::/128", &a, &len), 0);
	assert_int_equal(rw_prefix_parse("10.0.0.1/8", &a, &len), RW_EINVAL);
	assert_int_equal(rw_prefix_parse("10.128.0.0/8", &a, &len), RW_EINVAL);
	assert_int_equal(rw_prefix_parse("2001:db8::1/64", &a, &len), RW_EINVAL);
	static const char *bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/8x",
		"::/129", "10/8", "host/8", "10.0.0.0 /8", "1.2.3.4.5/32",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rw_prefix_parse(bad[i], &a, &len) != RW_EMALFORMED)
			fail_msg("'%s' accepted", bad[i]);

	static const struct { const char *in; enum rwd_geo_level level; const char *code; } geo_ok[] = {
		{ "eu", RWD_GEO_CONTINENT, "EU" }, { "SA", RWD_GEO_CONTINENT, "SA" },
		{ "country:sa", RWD_GEO_COUNTRY, "SA" }, { "Continent:oc", RWD_GEO_CONTINENT, "OC" },
		{ "de", RWD_GEO_COUNTRY, "DE" }, { "us-ca", RWD_GEO_SUBDIVISION, "US-CA" },
		{ "GB-ENG", RWD_GEO_SUBDIVISION, "GB-ENG" }, { "FR-75", RWD_GEO_SUBDIVISION, "FR-75" },
	};
	static const char *geo_bad[] = {
		"", "E", "EUR", "E1", "US-", "US-ABCD", "US_CA", "1S-CA", "continent:DE",
		"country:US-CA", "US-C@", "default",
	};
	for (size_t i = 0; i < sizeof(geo_ok) / sizeof(geo_ok[0]); i++) {
		enum rwd_geo_level level;
		char code[8];
		if (rwd_geo_code_parse(geo_ok[i].in, &level, code) != 0)
			fail_msg("'%s' rejected", geo_ok[i].in);
		assert_int_equal(level, geo_ok[i].level);
		assert_string_equal(code, geo_ok[i].code);
	}
	for (size_t i = 0; i < sizeof(geo_bad) / sizeof(geo_bad[0]); i++) {
		enum rwd_geo_level level;
		char code[8];
		if (rwd_geo_code_parse(geo_bad[i], &level, code) != RW_EINVAL)
			fail_msg("'%s' accepted", geo_bad[i]);
	}

	/* A model built by hand: table, duplicates, slots. */
	struct rwd_model *m = rwd_model_new();
	assert_non_null(m);
	assert_null(rwd_model_find(m, (const uint8_t *)"", 1));
	const struct rwd_traffic *dup = (const struct rwd_traffic *)1;
	assert_int_equal(rwd_model_build_table(m, &dup), 0);
	assert_null(dup);
	m->traffic = rw_arena_alloc(&m->arena, 1000 * sizeof(*m->traffic));
	memset(m->traffic, 0, 1000 * sizeof(*m->traffic));
	m->n_traffic = 1000;
	for (int i = 0; i < 1000; i++) {
		struct rwd_traffic *t = &m->traffic[i];
		int n = sprintf((char *)t->name + 1, "n%d", i);
		t->name[0] = (uint8_t)n;
		t->name[n + 1] = 0;
		t->name_len = (uint8_t)(n + 2);
	}
	assert_int_equal(rwd_model_build_table(m, &dup), 0);
	assert_true(m->table_mask + 1 >= 2000);
	for (int i = 0; i < 1000; i++)
		assert_ptr_equal(rwd_model_find(m, m->traffic[i].name, m->traffic[i].name_len), &m->traffic[i]);
	assert_null(rwd_model_find(m, (const uint8_t *)"\5n1000", 7));
	assert_null(rwd_model_find(m, (const uint8_t *)"\2n1", 3));     /* length counts */
	memcpy(&m->traffic[700], &m->traffic[3], sizeof(m->traffic[3]));
	assert_int_equal(rwd_model_build_table(m, &dup), RW_EEXIST);
	assert_ptr_equal(dup, &m->traffic[700]);

	struct rwd_endpoint_addr addrs[3] = { { .slot = 99 }, { .slot = 99 }, { .slot = 99 } };
	struct rwd_endpoint eps[4] = {
		{ .name = "two", .addrs = addrs, .n_addrs = 2 },
		{ .name = "cname", .cname = "\1x\0", .cname_len = 3 },
		{ .name = "target-only", .target = "\1t\0", .target_len = 3 },
		{ .name = "one", .addrs = addrs + 2, .n_addrs = 1 },
	};
	m->endpoints = eps;
	m->n_endpoints = 4;
	rwd_model_assign_slots(m);
	assert_int_equal(m->n_slots, 4);
	assert_int_equal(addrs[0].slot, 0);
	assert_int_equal(addrs[1].slot, 1);
	assert_int_equal(eps[0].slot, RWD_NO_SLOT);
	assert_int_equal(eps[1].slot, 2);
	assert_int_equal(eps[2].slot, RWD_NO_SLOT);
	assert_int_equal(addrs[2].slot, 3);
	assert_ptr_equal(rwd_model_find_endpoint(m, "one"), &eps[3]);
	assert_null(rwd_model_find_endpoint(m, "on"));
	m->endpoints = NULL;
	m->n_endpoints = 0;
	rwd_model_free(m);
	rwd_model_free(NULL);
}

/* The complete example in docs/configuration.md loads, with the files it shows. */
static void test_docs_example(void **state)
{
	FILE *f = fopen("docs/configuration.md", "r");
	if (!f) {
		print_message("docs/configuration.md not found (run from the repo root); skipped\n");
		skip();
	}
	char line[1024], name[64] = "", *text = NULL;
	size_t len = 0;
	FILE *out = NULL;
	int blocks = 0;
	while (fgets(line, sizeof(line), f)) {
		if (out) {                       /* inside an example block */
			if (!strncmp(line, "```", 3)) {
				fclose(out);
				out = NULL;
				put(name, text);
				free(text);
				text = NULL;
				blocks++;
			} else {
				fputs(line, out);
			}
		} else if (sscanf(line, "<!-- example: %63s", name) == 1) {
			assert_non_null(fgets(line, sizeof(line), f));   /* the opening fence */
			assert_memory_equal(line, "```", 3);
			out = open_memstream(&text, &len);
		}
	}
	fclose(f);
	assert_null(out);
	assert_int_equal(blocks, 3);
	struct rwd_conf *c = NULL;
	char path[300], err[RWD_CONF_ERRLEN];
	snprintf(path, sizeof(path), "%s/runway.yaml", tmpdir);
	if (rwd_conf_load(path, &c, err) != 0)
		fail_msg("docs example: %s", err);
	const struct rwd_model *m = c->model;
	assert_int_equal(m->n_traffic, 2);
	assert_int_equal(m->n_networks, 2);
	assert_int_equal(m->n_latency, 3);
	assert_int_equal(find(m, "\3www\7example\3com")->policy->kind, RWD_POLICY_GEOLOCATION);
	rwd_conf_free(c);
}

/* Configs that must fail: FILE is broken.yaml, or `file` when set; `dir` is put first. */
#define ZONE "zones:\n  - {name: example.com., file: z}\n"                         /* 1-2 */
#define EPS "endpoints:\n  a: {address: 192.0.2.1}\n  b: {address: \"2001:db8::2\"}\n" \
            "  c: {address: 192.0.2.3, location: {lat: 1.5, lon: -2}}\n"            /* 3-6 */
#define HEAD ZONE EPS "traffic:\n"                                                  /* 7 */
#define POLICY(p) HEAD "  w.example.com: {policy: " p "}\n"                         /* 8 */
#define KINDS "weighted, failover, geolocation, geoproximity, latency, multivalue or cidr"
#define GEO_CODES "(expected a continent AF AN AS EU NA OC SA, a country like DE or a subdivision like US-CA)"

static const struct {
	const char *yaml;
	const char *side_name, *side_text;   /* a networks or latency file to write first */
	const char *file;                    /* FILE of the message, if not broken.yaml */
	const char *want;                    /* after "FILE:"; "%s" is the temporary folder */
} broken[] = {
	/* policies */
	{ HEAD "  www.example.com.:\n    policy: {failover: [a, x]}\n", .want = "9: unknown endpoint 'x'" },
	{ HEAD "  www.example.com.:\n    policy:\n      failover:\n        - a\n        - nope\n",
	  .want = "12: unknown endpoint 'nope'" },
	{ POLICY("zz"), .want = "8: unknown endpoint 'zz'" },
	{ POLICY("{weighted: {a: 300}}"), .want = "8: weighted: expected a weight 0..255" },
	{ POLICY("{weighted: {a: -1}}"), .want = "8: weighted: expected a weight 0..255" },
	{ POLICY("{weighted: {a: x}}"), .want = "8: weighted: expected a weight 0..255" },
	{ POLICY("{weighted: {x: 1}}"), .want = "8: unknown endpoint 'x'" },
	{ POLICY("{weighted: [{weight: 256, node: a}]}"), .want = "8: weighted: expected a weight 0..255" },
	{ POLICY("{weighted: [{node: a}]}"), .want = "8: missing required key 'weight' in weighted" },
	{ POLICY("{weighted: [{weight: 1}]}"), .want = "8: missing required key 'node' in weighted" },
	{ POLICY("{weighted: [{weight: 1, node: a, bias: 2}]}"), .want = "8: unknown key 'bias' in weighted" },
	{ POLICY("{weighted: [a]}"), .want = "8: weighted: expected a list of {weight: N, node: POLICY}" },
	{ POLICY("{weighted: a}"),
	  .want = "8: weighted: expected a mapping of endpoint: weight, or a list of {weight: N, node: POLICY}" },
	{ POLICY("{weighted: {}}"), .want = "8: weighted: expected at least one entry" },
	{ HEAD "  w.example.com:\n    policy:\n      weighted:\n        a: 1\n        b: 2\n        a: 3\n",
	  .want = "13: weighted: duplicate endpoint 'a' (first on line 11)" },
	{ POLICY("{geoproximity: {c: 100}}"), .want = "8: geoproximity: expected a bias -99..99" },
	{ POLICY("{geoproximity: [{bias: -100, node: c}]}"), .want = "8: geoproximity: expected a bias -99..99" },
	{ POLICY("{geoproximity: {c: 1, a: 10}}"), .want = "8: geoproximity: endpoint 'a' has no location" },
	{ HEAD "  w.example.com:\n    policy:\n      geoproximity:\n        - {bias: 1, node: c}\n"
	  "        - bias: 2\n          node: b\n", .want = "13: geoproximity: endpoint 'b' has no location" },
	{ POLICY("{failover: [a], latency: [b]}"),
	  .want = "8: a policy has exactly one key, not 'failover' and 'latency'" },
	{ HEAD "  w.example.com:\n    policy:\n      weighted: {a: 1}\n      cidr: {default: a}\n",
	  .want = "11: a policy has exactly one key, not 'weighted' and 'cidr'" },
	{ POLICY("{roundrobin: [a]}"), .want = "8: unknown policy 'roundrobin' (expected " KINDS ")" },
	{ POLICY("{Failover: [a]}"), .want = "8: unknown policy 'Failover' (expected " KINDS ")" },
	{ POLICY("{}"), .want = "8: expected a policy: an endpoint name, or a mapping with one key: " KINDS },
	{ POLICY("[a]"), .want = "8: expected a policy: an endpoint name, or a mapping with one key: " KINDS },
	{ HEAD "  w.example.com: {policy: }\n",
	  .want = "8: expected a policy: an endpoint name, or a mapping with one key: " KINDS },
	{ POLICY("{failover: a}"), .want = "8: failover: expected a list of policies" },
	{ POLICY("{latency: []}"), .want = "8: latency: expected at least one entry" },
	{ POLICY("{multivalue: {count: 33, of: [a]}}"), .want = "8: multivalue: expected a count 1..32" },
	{ POLICY("{multivalue: {count: 0, of: [a]}}"), .want = "8: multivalue: expected a count 1..32" },
	{ POLICY("{multivalue: {count: 2}}"), .want = "8: missing required key 'of' in multivalue" },
	{ POLICY("{multivalue: {of: [a], max: 2}}"), .want = "8: unknown key 'max' in multivalue" },
	{ POLICY("{multivalue: a}"),
	  .want = "8: multivalue: expected a list of policies or {count: N, of: [POLICY, ...]}" },
	{ POLICY("{geolocation: {XYZ: a}}"), .want = "8: geolocation: bad code 'XYZ' " GEO_CODES },
	{ POLICY("{geolocation: {US-CALI: a}}"), .want = "8: geolocation: bad code 'US-CALI' " GEO_CODES },
	{ POLICY("{geolocation: {E1: a}}"), .want = "8: geolocation: bad code 'E1' " GEO_CODES },
	{ POLICY("{geolocation: {Default: a}}"), .want = "8: geolocation: bad code 'Default' " GEO_CODES },
	{ HEAD "  w.example.com:\n    policy:\n      geolocation:\n        EU: a\n        DE: b\n        eu: c\n",
	  .want = "13: geolocation: duplicate code 'EU' (first on line 11)" },
	{ HEAD "  w.example.com:\n    policy:\n      geolocation:\n        default: a\n        default: b\n",
	  .want = "12: geolocation: duplicate code 'default' (first on line 11)" },
	{ POLICY("{geolocation: a}"), .want = "8: geolocation: expected a mapping of codes to policies" },
	{ POLICY("{geolocation: {}}"), .want = "8: geolocation: expected at least one entry" },
	{ POLICY("{cidr: {10.0.0.1/8: a}}"), .want = "8: cidr: 10.0.0.1/8 has host bits set" },
	{ POLICY("{cidr: {\"2001:db8::1/32\": a}}"), .want = "8: cidr: 2001:db8::1/32 has host bits set" },
	{ POLICY("{cidr: {10.0.0.0/33: a}}"), .want = "8: cidr: bad prefix '10.0.0.0/33' (expected ADDR/LEN)" },
	{ HEAD "  w.example.com:\n    policy:\n      cidr:\n        10.0.0.0/8: a\n        10.0.0.0/08: b\n",
	  .want = "12: cidr: bad prefix '10.0.0.0/08' (expected ADDR/LEN)" },
	{ HEAD "  w.example.com:\n    policy:\n      cidr:\n        10.0.0.0/8: a\n        ::/0: b\n"
	  "        \"10.0.0.0/8\": c\n", .want = "13: cidr: duplicate prefix 10.0.0.0/8 (first on line 11)" },
	{ POLICY("{cidr: [a]}"), .want = "8: cidr: expected a mapping of prefixes to policies" },
	/* traffic names */
	{ HEAD "  www.example.org.: {policy: a}\n",
	  .want = "8: traffic name www.example.org. is not inside any zone" },
	{ HEAD "  com.: {policy: a}\n", .want = "8: traffic name com. is not inside any zone" },
	{ HEAD "  a.example.com: {policy: a}\n  b.example.com: {policy: a}\n  A.Example.Com.: {policy: b}\n",
	  .want = "10: duplicate traffic name 'a.example.com.' (first on line 8)" },
	{ HEAD "  a..example.com: {policy: a}\n", .want = "8: traffic: 'a..example.com' is not a domain name" },
	{ HEAD "  a.example.com: a\n", .want = "8: traffic: expected a mapping of domain names to mappings" },
	{ HEAD "  a.example.com: {ttl: 5}\n", .want = "8: traffic name a.example.com. needs a policy, an alias or srv" },
	{ HEAD "  a.example.com: {policy: a, alias: b.example.com}\n",
	  .want = "8: traffic name a.example.com. has both policy and alias (only one of policy, alias and srv)" },
	{ HEAD "  a.example.com:\n    srv: []\n    alias: b.example.com\n",
	  .want = "10: traffic name a.example.com. has both alias and srv (only one of policy, alias and srv)" },
	{ HEAD "  a.example.com: {alias: A.example.com.}\n",
	  .want = "8: traffic name a.example.com. is an alias of itself" },
	{ HEAD "  a.example.com: {policy: a, ttl: 86401}\n", .want = "8: traffic.ttl: expected an integer 0..86400" },
	{ HEAD "  a.example.com: {policy: a, fail_open: yes}\n",
	  .want = "8: traffic.fail_open: expected a boolean (true or false)" },
	{ HEAD "  a.example.com: {policy: a, weight: 1}\n", .want = "8: unknown key 'weight' in traffic" },
	{ HEAD "  a.example.com: {srv: [{endpoint: a, port: 1}]}\n", .want = "8: srv: endpoint 'a' has no target" },
	{ HEAD "  a.example.com: {srv: [{endpoint: q, port: 1}]}\n", .want = "8: unknown endpoint 'q'" },
	{ HEAD "  a.example.com: {srv: [{endpoint: a}]}\n", .want = "8: missing required key 'port' in traffic.srv" },
	{ HEAD "  a.example.com: {srv: []}\n", .want = "8: traffic.srv: expected at least one entry" },
	{ HEAD "  a.example.com: {srv: {endpoint: a}}\n", .want = "8: traffic.srv: expected a list of mappings" },
	/* health checks */
	{ "health_checks:\n  h: {type: tcp, port: 80, interval: 1s, timeout: 1s}\n",
	  .want = "2: health_checks.timeout: 1s is not shorter than the interval (1s)" },
	{ "health_checks:\n  h:\n    type: http\n    timeout: 2s\n",
	  .want = "4: health_checks.timeout: 2s is not shorter than the interval (1s)" },
	{ "health_checks:\n  h: {type: tcp}\n",
	  .want = "2: missing required key 'port' in health_checks (tcp checks need one)" },
	{ "health_checks:\n  h: {port: 80}\n", .want = "2: missing required key 'type' in health_checks" },
	{ "health_checks:\n  h: {type: icmp}\n",
	  .want = "2: health_checks.type: expected one of tcp, http, https or dns" },
	{ "health_checks:\n  h:\n    type: dns\n    path: /x\n",
	  .want = "4: health_checks.path: not used by dns checks" },
	{ "health_checks:\n  h: {type: http, tls_verify: true}\n",
	  .want = "2: health_checks.tls_verify: not used by http checks" },
	{ "health_checks:\n  h: {type: https, qtype: A}\n", .want = "2: health_checks.qtype: not used by https checks" },
	{ "health_checks:\n  h: {type: http, path: healthz}\n",
	  .want = "2: health_checks.path: expected a path starting with '/', without spaces" },
	{ "health_checks:\n  h: {type: http, host: \"a b\"}\n",
	  .want = "2: health_checks.host: expected a host name, without spaces or '/'" },
	{ "health_checks:\n  h: {type: http, expect_status: 99}\n",
	  .want = "2: health_checks.expect_status: expected a status code 100..599 or a list of up to 8" },
	{ "health_checks:\n  h: {type: http, expect_status: [200, 201, 202, 203, 204, 205, 206, 207, 208]}\n",
	  .want = "2: health_checks.expect_status: expected a status code 100..599 or a list of up to 8" },
	{ "health_checks:\n  h: {type: http, expect_body: \"a\\nb\"}\n",
	  .want = "2: health_checks.expect_body: expected a string without control characters" },
	{ "health_checks:\n  h: {type: dns, qtype: BOGUS}\n",
	  .want = "2: health_checks.qtype: expected a record type (A, AAAA, SOA, ...)" },
	{ "health_checks:\n  h: {type: dns, expect_rcode: OK}\n",
	  .want = "2: health_checks.expect_rcode: expected a response code (NOERROR, NXDOMAIN, ...)" },
	{ "health_checks:\n  h: {type: https, cert_warn_days: 3651}\n",
	  .want = "2: health_checks.cert_warn_days: expected an integer 0..3650" },
	{ "health_checks:\n  h: {type: http, interval: 5ms}\n",
	  .want = "2: health_checks.interval: expected a duration 10ms..1h" },
	{ "health_checks:\n  h: {type: http, rise: 0}\n", .want = "2: health_checks.rise: expected an integer 1..100" },
	{ "health_checks:\n  h: {type: http, bogus: 0}\n", .want = "2: unknown key 'bogus' in health_checks" },
	{ "health_checks:\n  h: {type: http}\n  i: {type: http}\n  h: {type: dns}\n",
	  .want = "4: duplicate health check 'h' (first on line 2)" },
	{ "health_checks:\n  \"a b\": {type: http}\n",
	  .want = "2: health_checks: bad name 'a b' (1..63 letters, digits, '-', '_' or '.')" },
	{ "health_checks: [a]\n", .want = "1: health_checks: expected a mapping of names to mappings" },
	/* endpoints */
	{ "endpoints:\n  a: {address: 192.0.2.1, cname: x.example.net.}\n",
	  .want = "2: endpoint 'a' has both address and cname (one or the other)" },
	{ "endpoints:\n  a:\n    cname: x.example.net.\n    address: 192.0.2.1\n",
	  .want = "4: endpoint 'a' has both address and cname (one or the other)" },
	{ "endpoints:\n  a: {address: 192.0.2.1, health_check: web}\n", .want = "2: unknown health check 'web'" },
	{ "health_checks: {web: {type: http}}\nendpoints:\n  a: {target: a.example.com, health_check: web}\n",
	  .want = "3: endpoint 'a' has a health_check but no address or cname to check" },
	{ "endpoints:\n  a: {location: {lat: 1, lon: 2}}\n",
	  .want = "2: endpoint 'a' needs an address, a cname or a target" },
	{ "endpoints:\n  a: {address: 192.0.2.1, location: {lat: 1}}\n",
	  .want = "2: missing required key 'lon' in endpoints.location" },
	{ "endpoints:\n  a: {address: 192.0.2.1, location: {lat: 90.5, lon: 0}}\n",
	  .want = "2: endpoints.location.lat: expected a number -90..90" },
	{ "endpoints:\n  a: {address: 192.0.2.1, location: {lat: 1e2, lon: 0}}\n",
	  .want = "2: endpoints.location.lat: expected a number -90..90" },
	{ "endpoints:\n  a: {address: 192.0.2.1, location: {lat: 0, lon: nan}}\n",
	  .want = "2: endpoints.location.lon: expected a number -180..180" },
	{ "endpoints:\n  a: {address: 192.0.2.1, location: {lat: 0, lon: 1, alt: 3}}\n",
	  .want = "2: unknown key 'alt' in endpoints.location" },
	{ "endpoints:\n  a:\n    address:\n      - 192.0.2.1\n      - 192.0.2.300\n",
	  .want = "5: endpoints.address: expected an IP address or list of IP addresses" },
	{ "endpoints:\n  a: {address: \"192.0.2.1:80\"}\n",
	  .want = "2: endpoints.address: expected an IP address or list of IP addresses" },
	{ "endpoints:\n  a: {address: [\"2001:db8::1\", \"2001:DB8:0::1\"]}\n",
	  .want = "2: endpoints.address: 2001:db8::1 is listed twice" },
	{ "endpoints:\n  a: {address: []}\n",
	  .want = "2: endpoints.address: expected an IP address or list of IP addresses" },
	{ "endpoints:\n  a: {cname: \"a..b\"}\n", .want = "2: endpoints.cname: expected a domain name" },
	{ "endpoints:\n  a: {address: 192.0.2.1}\n  a: {address: 192.0.2.2}\n",
	  .want = "3: duplicate endpoint 'a' (first on line 2)" },
	/* geoip */
	{ "geoip:\n  mmdb: missing.mmdb\n",
	  .want = "2: geoip.mmdb: cannot open %s/missing.mmdb: No such file or directory" },
	{ "geoip:\n  mmdb: .\n", .want = "2: geoip.mmdb: cannot read %s/.: Is a directory" },
	{ "geoip:\n  networks: nowhere.yaml\n",
	  .want = "2: geoip.networks: cannot open %s/nowhere.yaml: No such file or directory" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 203.0.113.0/24}\n- {network: 203.0.113.1/24}\n",
	  "n.yaml", "2: geoip.networks.network: 203.0.113.1/24 has host bits set" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- network: 10.0.0.0/33\n",
	  "n.yaml", "1: geoip.networks.network: expected a CIDR prefix" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {continent: EU}\n",
	  "n.yaml", "1: missing required key 'network' in geoip.networks" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8, continent: XX}\n",
	  "n.yaml", "1: geoip.networks.continent: expected a continent code (AF AN AS EU NA OC SA)" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8, country: USA}\n",
	  "n.yaml", "1: geoip.networks.country: expected a country code (two letters)" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8, subdivision: CA}\n",
	  "n.yaml", "1: geoip.networks.subdivision: needs a country" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8, lat: 1}\n",
	  "n.yaml", "1: missing required key 'lon' in geoip.networks (lat and lon go together)" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8, city: Dublin}\n",
	  "n.yaml", "1: unknown key 'city' in geoip.networks" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8}\n- network: 10.0.0.0/16\n"
	  "- {network: \"10.0.0.0/8\"}\n", "n.yaml", "3: geoip.networks: duplicate network 10.0.0.0/8 (first on line 1)" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "network: 10.0.0.0/8\n",
	  "n.yaml", "1: geoip.networks: expected a list of mappings" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8\n",
	  "n.yaml", "2: did not find expected ',' or '}'" },
	{ "geoip:\n  networks: n.yaml\n", "n.yaml", "- {network: 10.0.0.0/8}\n---\n- {}\n",
	  "n.yaml", "2: only one YAML document is allowed" },
	{ "geoip:\n  city: x\n", .want = "2: unknown key 'city' in geoip" },
	/* latency */
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv",
	  "client,endpoint,rtt_ms\n10.0.0.0/8,a,5\n10.0.0.0/8,zz,5\n", "lat.csv", "3: unknown endpoint 'zz'" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "# x\n\n10.0.0.0/33,a,5\n",
	  "lat.csv", "3: bad client '10.0.0.0/33' (expected a CIDR prefix or a two-letter country code)" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "10.0.0.1/8,a,5\n",
	  "lat.csv", "1: client 10.0.0.1/8 has host bits set" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "DE,a,fast\n",
	  "lat.csv", "1: bad rtt_ms 'fast' (expected milliseconds 0..3600000)" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "DE,a,-5\n",
	  "lat.csv", "1: bad rtt_ms '-5' (expected milliseconds 0..3600000)" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "DE,a,3600001\n",
	  "lat.csv", "1: bad rtt_ms '3600001' (expected milliseconds 0..3600000)" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "DE,a\n",
	  "lat.csv", "1: expected client,endpoint,rtt_ms" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "DE,a,5,6\n",
	  "lat.csv", "1: expected client,endpoint,rtt_ms" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "DE,a,5\n10.0.0.0/8,a,1\nclient,endpoint,rtt_ms\n",
	  "lat.csv", "3: bad client 'client' (expected a CIDR prefix or a two-letter country code)" },
	{ ZONE EPS "latency:\n  file: lat.csv\n", "lat.csv", "DE,a,5\nde,b,5\nDe,a,7\n",
	  "lat.csv", "3: duplicate row for client DE and endpoint 'a' (first on line 1)" },
	{ "latency:\n  file: none.csv\n", .want = "2: latency.file: cannot open %s/none.csv: No such file or directory" },
	{ "latency:\n  path: x.csv\n", .want = "2: unknown key 'path' in latency" },
};

static void test_broken(void **state)
{
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		struct rwd_conf *c = (struct rwd_conf *)1;
		char err[RWD_CONF_ERRLEN], want[2 * RWD_CONF_ERRLEN], msg[RWD_CONF_ERRLEN], file[300];
		if (broken[i].side_name)
			put(broken[i].side_name, broken[i].side_text);
		const char *path = put("broken.yaml", broken[i].yaml);
		if (broken[i].file)
			snprintf(file, sizeof(file), "%s/%s", tmpdir, broken[i].file);
		else
			snprintf(file, sizeof(file), "%s", path);
		snprintf(msg, sizeof(msg), broken[i].want, tmpdir);
		snprintf(want, sizeof(want), "%s:%s", file, msg);
		int rc = rwd_conf_load(path, &c, err);
		if (rc != RW_ECONF || c != NULL || strcmp(err, want) != 0)
			fail_msg("case %zu: rc %d\n  got:  %s\n  want: %s", i, rc, err, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_any_order),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_model_helpers),
		cmocka_unit_test(test_docs_example),
		cmocka_unit_test(test_broken),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
