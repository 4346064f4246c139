/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for split-horizon views: the `views:` rows of the config
 * (values, and errors as "FILE:LINE: message"), then in process: a snapshot
 * built from a config with views (top-level zones shared by reference, a
 * view's zone replacing a top-level one), the pipeline's view stage choosing
 * by source address (no view: REFUSED + EDE 18), a reload that keeps a
 * view's previous zone when its file breaks, and a live rebuild that
 * replaces one view's zone only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <libknot/libknot.h>

#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/conf/conf.h"
#include "server/daemon/server.h"
#include "server/snapshot/snapshot.h"
#include "server/query/query.h"
#include "server/steer/model.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

static struct rwd_conf *load_in(const char *text, const char *dir, char err[RWD_CONF_ERRLEN])
{
	struct rwd_conf *conf = NULL;
	err[0] = '\0';
	rwd_conf_load_buf(text, strlen(text), "t.yaml", dir, &conf, err);
	return conf;
}

static struct rwd_conf *load(const char *text, char err[RWD_CONF_ERRLEN])
{
	return load_in(text, NULL, err);
}

static void test_conf_values(void **state)
{
	char err[RWD_CONF_ERRLEN], buf[128];
	struct rwd_conf *conf = load_in(
		"acls:\n"
		"  internal: [\"10.0.0.0/8\", \"127.0.0.2/32\"]\n"
		"zones:\n"
		"  - { name: example.com., file: out/example.com.zone }\n"
		"views:\n"
		"  - name: inside\n"
		"    match: [internal]\n"
		"    zones:\n"
		"      - { name: corp.example., file: corp.example.zone }\n"
		"      - { name: Example.COM, file: in/example.com.zone }\n"
		"  - name: outside\n"
		"    match: [any]\n", "/etc/runway", err);
	if (!conf)
		fail_msg("%s", err);
	assert_int_equal(conf->n_zones, 1);
	assert_null(conf->zones[0].view);
	assert_int_equal(conf->n_views, 2);
	const struct rwd_conf_view *v = &conf->views[0];
	assert_string_equal(v->name, "inside");
	assert_int_equal(v->line, 6);
	rwd_acl_format(&v->match, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8, 127.0.0.2/32");
	assert_int_equal(v->n_zones, 2);
	assert_string_equal(v->zones[0].name, "corp.example.");
	assert_string_equal(v->zones[0].file, "/etc/runway/corp.example.zone");
	assert_ptr_equal(v->zones[0].view, v->name);
	assert_memory_equal(v->zones[1].dname, "\7example\3com\0", 13);
	assert_string_equal(v->zones[1].file, "/etc/runway/in/example.com.zone");
	assert_int_equal(v->zones[1].line, 10);
	v = &conf->views[1];
	assert_string_equal(v->name, "outside");
	assert_true(v->match.any);
	assert_int_equal(v->n_zones, 0);
	rwd_conf_free(conf);

	/* No views: nothing changes. */
	conf = load("zones:\n  - { name: example.com., file: x }\n", err);
	assert_non_null(conf);
	assert_int_equal(conf->n_views, 0);
	assert_null(conf->views);
	rwd_conf_free(conf);

	/* A traffic name may live in a view's zone; it records that zone's apex. */
	conf = load("views:\n"
	            "  - name: inside\n"
	            "    match: 127.0.0.2\n"
	            "    zones: [{ name: corp.example., file: c }]\n"
	            "zones: [{ name: example., file: e }]\n"
	            "endpoints:\n  a: { address: 192.0.2.1 }\n"
	            "traffic:\n"
	            "  app.corp.example.: { policy: a }\n"
	            "  www.example.: { policy: a }\n", err);
	if (!conf)
		fail_msg("%s", err);
	assert_int_equal(conf->model->n_traffic, 2);
	for (size_t i = 0; i < conf->model->n_traffic; i++) {
		const struct rwd_traffic *t = &conf->model->traffic[i];
		assert_int_equal(t->zone_len, t->name_len == 18 ? 14 : 9);   /* corp.example. / example. */
	}
	rwd_conf_free(conf);
}

/* views[].traffic: per view, by view index; top-level traffic apart. */
static void test_conf_view_traffic(void **state)
{
	char err[RWD_CONF_ERRLEN];
	struct rwd_conf *conf = load(
		"zones:\n"
		"  - { name: example.com., file: a }\n"
		"endpoints:\n"
		"  in: { address: 10.0.0.1 }\n"
		"  out: { address: 192.0.2.1 }\n"
		"traffic:\n"
		"  www.example.com.: { policy: out }\n"
		"views:\n"
		"  - { name: other, match: 127.0.0.3 }\n"
		"  - name: inside\n"
		"    match: 127.0.0.2\n"
		"    zones: [{ name: corp.example., file: c }]\n"
		"    traffic:\n"
		"      www.example.com.: { ttl: 30, policy: in }\n"
		"      app.corp.example.: { policy: { failover: [in, out] } }\n", err);
	if (!conf)
		fail_msg("%s", err);
	const struct rwd_model *m = conf->model;
	static const uint8_t www[] = "\3www\7example\3com";
	static const uint8_t app[] = "\3app\4corp\7example";
	assert_int_equal(m->n_traffic, 1);
	assert_int_equal(m->n_views, 2);
	assert_int_equal(m->views[0].n_traffic, 0);
	assert_int_equal(m->views[1].n_traffic, 2);
	const struct rwd_traffic *g = rwd_model_find(m, www, sizeof(www));
	const struct rwd_traffic *t = rwd_model_find_in_view(m, 1, www, sizeof(www));
	assert_non_null(g);
	assert_non_null(t);
	assert_ptr_not_equal(g, t);
	assert_int_equal(t->ttl, 30);
	assert_int_equal(t->line, 14);
	assert_string_equal(t->policy->u.endpoint->name, "in");
	assert_ptr_equal(t->policy->u.endpoint, rwd_model_find_endpoint(m, "in"));
	assert_ptr_equal(rwd_model_find_in_view(m, 0, www, sizeof(www)), g);
	assert_ptr_equal(rwd_model_find_in_view(m, (size_t)-1, www, sizeof(www)), g);
	assert_null(rwd_model_find(m, app, sizeof(app)));
	assert_null(rwd_model_find_in_view(m, 0, app, sizeof(app)));
	t = rwd_model_find_in_view(m, 1, app, sizeof(app));
	assert_non_null(t);
	assert_int_equal(t->zone_len, 14);   /* corp.example. */
	assert_int_equal(t->policy->kind, RWD_POLICY_FAILOVER);
	rwd_conf_free(conf);
}

static void test_conf_errors(void **state)
{
	static const struct { const char *text, *err; } cases[] = {
		{ "views:\n  - name: inside\n    zones: []\n",
		  "t.yaml:2: missing required key 'match' in views" },
		{ "views:\n  - match: any\n",
		  "t.yaml:2: missing required key 'name' in views" },
		{ "views:\n  - name: inside\n    match: [internal]\n",
		  "t.yaml:3: views.match: 'internal' is neither an address, a prefix nor an ACL name" },
		{ "acls:\n  internal: 10.0.0.0/8\n"
		  "views:\n  - { name: inside, match: internal }\n  - { name: x, match: any }\n"
		  "  - { name: inside, match: any }\n",
		  "t.yaml:6: duplicate view 'inside' (first on line 4)" },
		{ "views:\n  - name: inside\n    match: any\n    zones:\n"
		  "      - { name: corp.example., file: a }\n"
		  "      - { name: example.com., file: b }\n"
		  "      - { name: CORP.example, file: c }\n",
		  "t.yaml:7: duplicate zone 'CORP.example.' (first on line 5)" },
		{ "views:\n  - name: in/side\n    match: any\n",
		  "t.yaml:2: views: bad name 'in/side' (1..63 letters, digits, '-', '_' or '.')" },
		{ "views:\n  - name: inside\n    match: any\n    zones:\n      - { name: corp.example. }\n",
		  "t.yaml:5: missing required key 'file' in views.zones" },
		{ "views:\n  - name: inside\n    match: any\n    colour: blue\n",
		  "t.yaml:4: unknown key 'colour' in views" },
		{ "views: { inside: any }\n",
		  "t.yaml:1: views: expected a list of mappings" },
		/* The same zone at the top level and in a view is fine, but twice in the top level is not. */
		{ "zones:\n  - { name: a., file: a }\n  - { name: a., file: b }\n"
		  "views:\n  - { name: v, match: any, zones: [{ name: a., file: c }] }\n",
		  "t.yaml:3: duplicate zone 'a.' (first on line 2)" },
		/* A traffic name inside no zone of any view. */
		{ "views:\n  - { name: v, match: any, zones: [{ name: corp.example., file: c }] }\n"
		  "endpoints:\n  a: { address: 192.0.2.1 }\n"
		  "traffic:\n  www.example.com.: { policy: a }\n",
		  "t.yaml:6: traffic name www.example.com. is not inside any zone" },
		/* A view's own traffic: checked as the top-level one, once endpoints are known. */
		{ "zones:\n  - { name: example.com., file: a }\n"
		  "views:\n  - name: v\n    match: any\n    traffic:\n"
		  "      www.example.com.: { policy: nope }\n"
		  "endpoints:\n  a: { address: 192.0.2.1 }\n",
		  "t.yaml:7: unknown endpoint 'nope'" },
		{ "zones:\n  - { name: example.com., file: a }\n"
		  "views:\n  - name: v\n    match: any\n    traffic:\n"
		  "      www.example.com.: { policy: { roundrobin: [a] } }\n"
		  "endpoints:\n  a: { address: 192.0.2.1 }\n",
		  "t.yaml:7: unknown policy 'roundrobin' (expected weighted, failover, geolocation, "
		  "geoproximity, latency, multivalue or cidr)" },
		{ "zones:\n  - { name: example.com., file: a }\n"
		  "views:\n  - name: v\n    match: any\n    traffic:\n"
		  "      www.example.com.: { ttl: 30 }\n"
		  "endpoints:\n  a: { address: 192.0.2.1 }\n",
		  "t.yaml:7: traffic name www.example.com. needs a policy, an alias or srv" },
		{ "zones:\n  - { name: example.com., file: a }\n"
		  "views:\n  - name: v\n    match: any\n    traffic:\n"
		  "      www.example.com.: { policy: a }\n"
		  "      WWW.example.com: { policy: a }\n"
		  "endpoints:\n  a: { address: 192.0.2.1 }\n",
		  "t.yaml:8: duplicate traffic name 'www.example.com.' in view 'v' (first on line 7)" },
		{ "views:\n  - name: v\n    match: any\n    traffic: [a]\n",
		  "t.yaml:4: views.traffic: expected a mapping of traffic names, as `traffic`" },
		/* Inside a zone, but only one of another view. */
		{ "views:\n  - { name: in, match: 127.0.0.2, zones: [{ name: corp.example., file: c }] }\n"
		  "  - name: out\n    match: any\n    traffic:\n      app.corp.example.: { policy: a }\n"
		  "endpoints:\n  a: { address: 192.0.2.1 }\n",
		  "t.yaml:6: traffic name app.corp.example. is not inside any zone of view 'out'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[RWD_CONF_ERRLEN];
		struct rwd_conf *conf = load(cases[i].text, err);
		if (conf)
			fail_msg("case %zu loaded", i);
		if (strcmp(err, cases[i].err))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].err);
	}
}

/* ---- in process: build, query, reload ---- */

static const char *zone_text(const char *origin, unsigned serial, const char *www)
{
	static char text[4][512];
	static unsigned next;
	char *t = text[next++ % 4];
	snprintf(t, 512, "$ORIGIN %s\n$TTL 300\n@ SOA ns hostmaster %u 3600 600 86400 300\n"
	         "@ NS ns\nns A 192.0.2.1\nwww A %s\n", origin, serial, www);
	return t;
}

static const char *CONFIG =
	"zones:\n"
	"  - { name: example.com., file: out.zone }\n"
	"  - { name: example.org., file: org.zone }\n"
	"views:\n"
	"  - name: inside\n"
	"    match: [127.0.0.2, \"10.0.0.0/8\"]\n"
	"    zones:\n"
	"      - { name: corp.example., file: corp.zone }\n"
	"      - { name: example.com., file: in.zone }\n"
	"  - name: lab\n"
	"    match: 127.0.0.3\n";

static struct sockaddr_in client(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	return sin;
}

/* Ask name A as addr (NULL: no address) over t; *rcode, and the first A as text into a. */
static void ask(const struct rwd_snapshot *s, const char *addr, const char *name,
                const struct rwd_transport *t, int *rcode, char a[32], uint16_t *ede)
{
	uint8_t q[512], out[RW_MSG_MAXLEN], dn[RW_DNAME_MAXLEN];
	struct rw_msgbuilder b;
	tz_name(name, dn);
	assert_int_equal(rw_msgb_init(&b, q, sizeof(q), 7, dn, RW_TYPE_A, RW_CLASS_IN, true), 0);
	rw_msgb_put_opt(&b, 1232, 0, false);
	rw_put16(q + RW_HDR_ARCOUNT, 1);
	struct sockaddr_in sin;
	if (addr)
		sin = client(addr);
	struct rwd_query qr = { .wire = q, .wire_len = b.len, .transport = t,
	                        .client = addr ? (const struct sockaddr *)&sin : NULL,
	                        .out = out, .out_cap = sizeof(out) };
	size_t len = rwd_query_process(s, &qr);
	assert_true(len > 0);
	knot_pkt_t *pkt = knot_pkt_new(out, (uint16_t)len, NULL);
	assert_non_null(pkt);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	*rcode = knot_pkt_ext_rcode(pkt);
	a[0] = '\0';
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	if (an->count && knot_pkt_rr(an, 0)->type == KNOT_RRTYPE_A)
		inet_ntop(AF_INET, knot_pkt_rr(an, 0)->rrs.rdata->data, a, 32);
	if (ede)
		*ede = qr.ede;
	knot_pkt_free(pkt);
}

static void expect(const struct rwd_snapshot *s, const char *addr, const char *name,
                   int rcode, const char *a)
{
	for (int t = 0; t < 2; t++) {
		int rc;
		char got[32];
		ask(s, addr, name, t ? &rwd_transport_tcp : &rwd_transport_udp, &rc, got, NULL);
		if (rc != rcode || strcmp(got, a))
			fail_msg("%s from %s (%s): rcode %d, A '%s'; want %d, '%s'", name,
			         addr ? addr : "nowhere", t ? "TCP" : "UDP", rc, got, rcode, a);
	}
}

static struct rwd_snapshot *build(const struct rwd_snapshot *prev, unsigned *errors)
{
	char err[RWD_CONF_ERRLEN];
	struct rwd_conf *conf = load_in(CONFIG, tz_dir, err);
	if (!conf)
		fail_msg("%s", err);
	struct rwd_snapshot *s = rwd_server_build(conf, prev, errors);
	rwd_conf_free(conf);
	return s;
}

static void test_build_and_query(void **state)
{
	assert_int_equal(tz_mkdir("test_conf_views"), 0);
	tz_write("out.zone", zone_text("example.com.", 1, "192.0.2.80"));
	tz_write("org.zone", zone_text("example.org.", 1, "192.0.2.90"));
	tz_write("corp.zone", zone_text("corp.example.", 1, "10.0.0.80"));
	tz_write("in.zone", zone_text("example.com.", 2, "10.1.1.1"));
	unsigned errors = 0;
	struct rwd_snapshot *s = build(NULL, &errors);
	assert_non_null(s);
	assert_int_equal(errors, 0);

	/* Top-level zones are shared by reference; a view's zone replaces one. */
	assert_int_equal(s->zones->n_zones, 2);
	assert_int_equal(s->n_views, 2);
	const struct rwd_view *in = &s->views[0], *lab = &s->views[1];
	assert_string_equal(in->name, "inside");
	assert_int_equal(in->n_own, 2);
	assert_int_equal(in->zones->n_zones, 3);        /* corp, example.com (own), example.org */
	assert_int_equal(lab->n_own, 0);
	assert_int_equal(lab->zones->n_zones, 2);
	const struct rwd_zone *org = rwd_zonedb_get(s->zones, (const uint8_t *)"\7example\3org", 13);
	const struct rwd_zone *com = rwd_zonedb_get(s->zones, (const uint8_t *)"\7example\3com", 13);
	assert_non_null(org);
	assert_ptr_equal(rwd_zonedb_get(in->zones, org->apex_name, org->apex_len), org);
	assert_ptr_equal(rwd_zonedb_get(lab->zones, org->apex_name, org->apex_len), org);
	assert_int_equal(org->refs, 3);                 /* the top level and both views */
	assert_ptr_not_equal(rwd_zonedb_get(in->zones, com->apex_name, com->apex_len), com);
	assert_ptr_equal(rwd_zonedb_get(lab->zones, com->apex_name, com->apex_len), com);
	static const uint8_t COM[] = "\7example\3com";   /* s and com go before the end */

	/* The view stage, by source address, UDP and TCP alike. */
	expect(s, "127.0.0.2", "www.corp.example.", RW_RCODE_NOERROR, "10.0.0.80");
	expect(s, "10.9.9.9", "www.corp.example.", RW_RCODE_NOERROR, "10.0.0.80");
	expect(s, "127.0.0.3", "www.corp.example.", RW_RCODE_REFUSED, "");
	expect(s, "127.0.0.2", "www.example.com.", RW_RCODE_NOERROR, "10.1.1.1");
	expect(s, "127.0.0.3", "www.example.com.", RW_RCODE_NOERROR, "192.0.2.80");
	expect(s, "127.0.0.2", "www.example.org.", RW_RCODE_NOERROR, "192.0.2.90");
	expect(s, "127.0.0.3", "www.example.org.", RW_RCODE_NOERROR, "192.0.2.90");
	/* No view matches (the last one is not `any`): REFUSED, EDE Prohibited. */
	expect(s, "127.0.0.1", "www.example.org.", RW_RCODE_REFUSED, "");
	expect(s, NULL, "www.example.org.", RW_RCODE_REFUSED, "");
	int rc;
	char a[32];
	uint16_t ede = 0;
	ask(s, "127.0.0.1", "www.example.org.", &rwd_transport_udp, &rc, a, &ede);
	assert_int_equal(ede, 18 + 1);
	ask(s, "127.0.0.3", "nowhere.example.", &rwd_transport_udp, &rc, a, &ede);
	assert_int_equal(rc, RW_RCODE_REFUSED);
	assert_int_equal(ede, 20 + 1);                  /* in a view, not authoritative */

	/* Reload: the view's example.com breaks and keeps its version, the
	 * top-level one changes, corp changes: one snapshot with all of it. */
	tz_write("in.zone", "$ORIGIN example.com.\n@ SOA broken\n");
	tz_write("out.zone", zone_text("example.com.", 3, "192.0.2.81"));
	tz_write("corp.zone", zone_text("corp.example.", 2, "10.0.0.81"));
	struct rwd_snapshot *s2 = build(s, &errors);
	assert_non_null(s2);
	assert_true(errors > 0);
	expect(s2, "127.0.0.2", "www.example.com.", RW_RCODE_NOERROR, "10.1.1.1");
	expect(s2, "127.0.0.3", "www.example.com.", RW_RCODE_NOERROR, "192.0.2.81");
	expect(s2, "127.0.0.2", "www.corp.example.", RW_RCODE_NOERROR, "10.0.0.81");
	assert_ptr_equal(rwd_zonedb_get(s2->views[0].zones, com->apex_name, com->apex_len),
	                 rwd_zonedb_get(in->zones, com->apex_name, com->apex_len));
	rwd_snapshot_free(s);

	/* A live change to the view's zone: only that view sees it. */
	char err[RWD_CONF_ERRLEN];
	struct rwd_conf *conf = load_in(CONFIG, tz_dir, err);
	assert_non_null(conf);
	tz_write("in2.zone", zone_text("example.com.", 5, "10.1.1.2"));
	struct tz_report r = { 0 };
	struct rwd_zone *z = rwd_zone_load(COM, tz_path("in2.zone"), tz_collect, &r);
	assert_non_null(z);
	struct rwd_snapshot *s3 = rwd_server_rebuild(conf, s2, z, "inside");
	assert_non_null(s3);
	expect(s3, "127.0.0.2", "www.example.com.", RW_RCODE_NOERROR, "10.1.1.2");
	expect(s3, "127.0.0.3", "www.example.com.", RW_RCODE_NOERROR, "192.0.2.81");
	expect(s3, "127.0.0.2", "www.corp.example.", RW_RCODE_NOERROR, "10.0.0.81");
	/* ... and to the top-level zone: the view that replaces it does not. */
	z = rwd_zone_load(COM, tz_path("org.zone"), tz_collect, &r);   /* another zone's file */
	assert_null(z);                                 /* wrong origin: a load error */
	tz_write("out2.zone", zone_text("example.com.", 6, "192.0.2.82"));
	z = rwd_zone_load(COM, tz_path("out2.zone"), tz_collect, &r);
	assert_non_null(z);
	struct rwd_snapshot *s4 = rwd_server_rebuild(conf, s3, z, NULL);
	assert_non_null(s4);
	expect(s4, "127.0.0.2", "www.example.com.", RW_RCODE_NOERROR, "10.1.1.2");
	expect(s4, "127.0.0.3", "www.example.com.", RW_RCODE_NOERROR, "192.0.2.82");
	assert_int_equal(s4->n_views, 2);
	assert_string_equal(s4->views[1].name, "lab");
	rwd_conf_free(conf);
	rwd_snapshot_free(s2);
	rwd_snapshot_free(s3);
	rwd_snapshot_free(s4);
	tz_rmdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_values),
		cmocka_unit_test(test_conf_view_traffic),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_build_and_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
