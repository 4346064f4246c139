/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for live changes on top of the configuration
 * (rwd_conf_load_overlay), the endpoint field `drained` (and that the
 * steering never picks a drained endpoint), conf->text, and the export of the
 * model as JSON and YAML (conf/export.h), with the round trip
 * config -> model -> export -> load -> export.
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

#include <jansson.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/conf/export.h"
#include "server/steer/eval.h"
#include "server/steer/model.h"

#define OV(sec, k, f, j, o) ((struct rwd_conf_overlay){ .section = (sec), .key = (k), \
	                                                .field = (f), .json = (j), .origin = (o) })

static const char base_yaml[] =
	"zones:\n"                                                            /* 1 */
	"  - {name: example.com., file: example.com.zone}\n"                  /* 2 */
	"health_checks:\n"                                                    /* 3 */
	"  web: {type: http, port: 8080}\n"                                   /* 4 */
	"endpoints:\n"                                                        /* 5 */
	"  a: {address: [192.0.2.1, \"2001:db8::1\"], health_check: web}\n"   /* 6 */
	"  b: {address: 192.0.2.2}\n"                                         /* 7 */
	"  c: &c {address: 192.0.2.3}\n"                                      /* 8 */
	"  d: *c\n"                                                           /* 9 */
	"traffic:\n"                                                          /* 10 */
	"  www.example.com.: {policy: {failover: [a, b]}}\n"                  /* 11 */
	"  api.example.com: {ttl: 30, policy: b}\n";                          /* 12 */

static struct rwd_conf *load_ok(const char *yaml)
{
	struct rwd_conf *conf = NULL;
	char err[RWD_CONF_ERRLEN] = "";
	int rc = rwd_conf_load_buf(yaml, strlen(yaml), "x.yaml", NULL, &conf, err);
	if (rc != 0)
		fail_msg("unexpected error %d: %s", rc, err);
	return conf;
}

static struct rwd_conf *overlay_ok(const char *yaml, const struct rwd_conf_overlay *ov, size_t n)
{
	struct rwd_conf *conf = NULL;
	char err[RWD_CONF_ERRLEN] = "";
	int rc = rwd_conf_load_overlay(yaml, strlen(yaml), "x.yaml", NULL, ov, n, &conf, err);
	if (rc != 0)
		fail_msg("unexpected error %d: %s", rc, err);
	assert_non_null(conf);
	return conf;
}

/* The error of overlays that must fail with rc. */
static const char *overlay_err(const char *yaml, const struct rwd_conf_overlay *ov, size_t n,
                               int want_rc)
{
	static char err[RWD_CONF_ERRLEN];
	struct rwd_conf *conf = (struct rwd_conf *)1;
	int rc = rwd_conf_load_overlay(yaml, strlen(yaml), "x.yaml", NULL, ov, n, &conf, err);
	if (rc != want_rc)
		fail_msg("rc %d (want %d): %s", rc, want_rc, err);
	assert_null(conf);
	return err;
}

/* The model as YAML (malloc'd). */
static char *export(const struct rwd_conf *conf)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(rwd_model_export_yaml(conf->model, f), 0);
	fclose(f);
	return text;
}

/* Base and overlays build the same model as the file `yaml` (same export). */
static void same_as_file(const struct rwd_conf *got, const char *yaml)
{
	struct rwd_conf *want = load_ok(yaml);
	char *a = export(got), *b = export(want);
	if (strcmp(a, b))
		fail_msg("overlay gives:\n%s\nthe file gives:\n%s", a, b);
	assert_int_equal(got->model->n_slots, want->model->n_slots);
	assert_int_equal(got->model->n_traffic, want->model->n_traffic);
	free(a);
	free(b);
	rwd_conf_free(want);
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

/* base_yaml with line `n` (1-based) replaced by text (NULL: removed), and extra appended. */
static char *edit(int n, const char *text, const char *extra)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const char *p = base_yaml;
	for (int line = 1; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (line != n)
			fwrite(p, 1, l, f);
		else if (text)
			fprintf(f, "%s\n", text);
		p += l;
	}
	fputs(extra ? extra : "", f);
	fclose(f);
	return out;
}

/* ---- conf->text ---- */

static void test_text(void **state)
{
	struct rwd_conf *conf = load_ok(base_yaml);
	assert_int_equal(conf->text_len, strlen(base_yaml));
	assert_string_equal(conf->text, base_yaml);
	rwd_conf_free(conf);

	/* Not NUL-terminated input, and rwd_conf_load from a file. */
	char buf[] = "server: {workers: 2}XXXX";
	char err[RWD_CONF_ERRLEN];
	assert_int_equal(rwd_conf_load_buf(buf, 20, "b.yaml", NULL, &conf, err), 0);
	assert_int_equal(conf->text_len, 20);
	assert_string_equal(conf->text, "server: {workers: 2}");
	rwd_conf_free(conf);

	char path[] = "/tmp/test_conf_overlay.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, base_yaml, strlen(base_yaml)), (ssize_t)strlen(base_yaml));
	close(fd);
	assert_int_equal(rwd_conf_load(path, &conf, err), 0);
	assert_string_equal(conf->text, base_yaml);
	rwd_conf_free(conf);
	unlink(path);

	/* Empty file: an empty text, not NULL. The overlay result keeps the file's text. */
	assert_int_equal(rwd_conf_load_buf("", 0, "e.yaml", NULL, &conf, err), 0);
	assert_non_null(conf->text);
	assert_int_equal(conf->text_len, 0);
	rwd_conf_free(conf);
	struct rwd_conf_overlay ov = OV("endpoints", "z", NULL, "{\"address\": \"192.0.2.9\"}", "PUT");
	conf = overlay_ok(base_yaml, &ov, 1);
	assert_string_equal(conf->text, base_yaml);
	rwd_conf_free(conf);
}

/* ---- overlays ---- */

static void test_replace(void **state)
{
	/* Case and the trailing dot do not matter; the entry keeps its place. */
	struct rwd_conf_overlay ov = OV("traffic", "WWW.Example.COM", NULL,
	                                "{\"ttl\": 5, \"policy\": \"b\"}", "PUT /v1/traffic/www");
	struct rwd_conf *conf = overlay_ok(base_yaml, &ov, 1);
	const struct rwd_model *m = conf->model;
	assert_int_equal(m->n_traffic, 2);
	const struct rwd_traffic *t = find(m, "\3www\7example\3com");
	assert_non_null(t);
	assert_ptr_equal(t, &m->traffic[0]);
	assert_int_equal(t->ttl, 5);
	assert_int_equal(t->policy->kind, RWD_POLICY_ENDPOINT);
	assert_string_equal(t->policy->u.endpoint->name, "b");
	assert_int_equal(t->line, 0);               /* not a line of the file */
	assert_int_equal(m->traffic[1].line, 12);   /* the file's entries keep theirs */
	assert_int_equal(m->endpoints[0].line, 6);
	char *yaml = edit(11, "  www.example.com.: {\"ttl\": 5, \"policy\": \"b\"}", NULL);
	same_as_file(conf, yaml);
	free(yaml);
	rwd_conf_free(conf);

	/* An endpoint, replaced whole. */
	ov = OV("endpoints", "b", NULL, "{\"address\": [\"192.0.2.20\", \"192.0.2.21\"]}", "PUT");
	conf = overlay_ok(base_yaml, &ov, 1);
	assert_int_equal(ep(conf->model, "b")->n_addrs, 2);
	yaml = edit(7, "  b: {address: [192.0.2.20, 192.0.2.21]}", NULL);
	same_as_file(conf, yaml);
	free(yaml);
	rwd_conf_free(conf);

	/* The same name twice in a batch: the last one wins. */
	struct rwd_conf_overlay two[] = {
		OV("traffic", "api.example.com.", NULL, "{\"policy\": \"a\"}", "PUT 1"),
		OV("traffic", "API.example.com", NULL, "{\"policy\": \"c\", \"ttl\": 7}", "PUT 2"),
	};
	conf = overlay_ok(base_yaml, two, 2);
	assert_int_equal(conf->model->n_traffic, 2);
	t = find(conf->model, "\3api\7example\3com");
	assert_int_equal(t->ttl, 7);
	assert_string_equal(t->policy->u.endpoint->name, "c");
	rwd_conf_free(conf);
}

static void test_add(void **state)
{
	struct rwd_conf_overlay ov = OV("traffic", "new.example.com", NULL,
	                                "{\"policy\": {\"weighted\": {\"a\": 3, \"b\": 1}}}", "PUT");
	struct rwd_conf *conf = overlay_ok(base_yaml, &ov, 1);
	const struct rwd_model *m = conf->model;
	assert_int_equal(m->n_traffic, 3);
	assert_ptr_equal(find(m, "\3new\7example\3com"), &m->traffic[2]);   /* after the file's */
	assert_int_equal(m->traffic[2].policy->kind, RWD_POLICY_WEIGHTED);
	char *yaml = edit(0, NULL, "  new.example.com: {\"policy\": {\"weighted\": {\"a\": 3, \"b\": 1}}}\n");
	same_as_file(conf, yaml);
	free(yaml);
	rwd_conf_free(conf);

	/* Sections that are missing or empty are created. */
	const char *bare = "zones: [{name: example.com., file: z}]\nendpoints:\n";
	struct rwd_conf_overlay ovs[] = {
		OV("endpoints", "e1", NULL, "{\"address\": \"192.0.2.50\"}", "PUT e1"),
		OV("health_checks", "tcp", NULL, "{\"type\": \"tcp\", \"port\": 22}", "PUT hc"),
		OV("traffic", "example.com.", NULL, "{\"policy\": \"e1\"}", "PUT t"),
		OV("endpoints", "e1", "health_check", "\"tcp\"", "PUT e1/health_check"),
	};
	conf = overlay_ok(bare, ovs, 4);
	assert_ptr_equal(ep(conf->model, "e1")->check, &conf->model->checks[0]);
	same_as_file(conf, "zones: [{name: example.com., file: z}]\n"
	                   "endpoints: {e1: {address: 192.0.2.50, health_check: tcp}}\n"
	                   "health_checks: {tcp: {type: tcp, port: 22}}\n"
	                   "traffic: {example.com.: {policy: e1}}\n");
	rwd_conf_free(conf);

	/* An empty file, and an empty document ("~"). */
	conf = overlay_ok("", ovs, 2);
	assert_int_equal(conf->model->n_endpoints, 1);
	rwd_conf_free(conf);
	conf = overlay_ok("~\n", ovs, 2);
	assert_int_equal(conf->model->n_checks, 1);
	rwd_conf_free(conf);
	conf = overlay_ok("# nothing\n", ovs, 1);
	assert_int_equal(conf->model->n_endpoints, 1);
	rwd_conf_free(conf);
}

static void test_delete(void **state)
{
	struct rwd_conf_overlay ov = OV("traffic", "api.example.com.", NULL, NULL, "DELETE api");
	struct rwd_conf *conf = overlay_ok(base_yaml, &ov, 1);
	assert_int_equal(conf->model->n_traffic, 1);
	assert_null(find(conf->model, "\3api\7example\3com"));
	char *yaml = edit(12, NULL, NULL);
	same_as_file(conf, yaml);
	free(yaml);
	rwd_conf_free(conf);

	/* Delete, then put again: back, at the end. Delete every entry: an empty section. */
	struct rwd_conf_overlay ovs[] = {
		OV("traffic", "WWW.example.com", NULL, NULL, "DELETE www"),
		OV("traffic", "www.example.com.", NULL, "{\"policy\": \"d\"}", "PUT www"),
		OV("traffic", "api.example.com", NULL, NULL, "DELETE api"),
	};
	conf = overlay_ok(base_yaml, ovs, 2);
	assert_int_equal(conf->model->n_traffic, 2);
	assert_ptr_equal(find(conf->model, "\3www\7example\3com"), &conf->model->traffic[1]);
	rwd_conf_free(conf);
	ovs[1] = ovs[2];
	conf = overlay_ok(base_yaml, ovs, 2);
	assert_int_equal(conf->model->n_traffic, 0);
	rwd_conf_free(conf);

	/* An endpoint nothing refers to; a field taken away. */
	struct rwd_conf_overlay del[] = {
		OV("endpoints", "d", NULL, NULL, "DELETE d"),
		OV("endpoints", "a", "health_check", NULL, "DELETE a/health_check"),
		OV("endpoints", "a", "drained", NULL, "DELETE a/drained"),   /* not there: fine */
	};
	conf = overlay_ok(base_yaml, del, 3);
	assert_int_equal(conf->model->n_endpoints, 3);
	assert_null(ep(conf->model, "a")->check);
	yaml = edit(9, NULL, NULL);
	char *yaml2 = strdup(yaml);
	free(yaml);
	char *at = strstr(yaml2, ", health_check: web");
	memmove(at, at + strlen(", health_check: web"), strlen(at + strlen(", health_check: web")) + 1);
	same_as_file(conf, yaml2);
	free(yaml2);
	rwd_conf_free(conf);

	/* Missing entries. */
	ov = OV("traffic", "nope.example.com", NULL, NULL, "DELETE /v1/traffic/nope.example.com");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ENOENT),
	                    "DELETE /v1/traffic/nope.example.com: no traffic name 'nope.example.com'");
	ov = OV("endpoints", "zz", NULL, NULL, "DELETE zz");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ENOENT), "DELETE zz: no endpoint 'zz'");
	ov = OV("endpoints", "A", "drained", "true", "POST A/drain");   /* names are exact */
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ENOENT), "POST A/drain: no endpoint 'A'");
	ov = OV("traffic", "x.example.com", NULL, NULL, "DELETE x");
	assert_string_equal(overlay_err("zones: []\n", &ov, 1, RW_ENOENT),
	                    "DELETE x: no traffic name 'x.example.com'");   /* no section at all */
	/* Deleted twice in one batch. */
	struct rwd_conf_overlay twice[] = { OV("endpoints", "d", NULL, NULL, "DELETE 1"),
	                                    OV("endpoints", "d", NULL, NULL, "DELETE 2") };
	assert_string_equal(overlay_err(base_yaml, twice, 2, RW_ENOENT), "DELETE 2: no endpoint 'd'");
}

static void test_batch(void **state)
{
	/* A new endpoint and a new name using it, in either order. */
	struct rwd_conf_overlay ovs[] = {
		OV("endpoints", "eu-1", NULL, "{\"address\": [\"198.51.100.1\"], \"location\": "
		   "{\"lat\": 50.1, \"lon\": 8.7}}", "PUT eu-1"),
		OV("traffic", "geo.example.com", NULL, "{\"policy\": {\"geoproximity\": "
		   "{\"eu-1\": 10, \"e2\": 0}}}", "PUT geo"),
		OV("endpoints", "e2", NULL, "{\"address\": \"198.51.100.2\", \"location\": "
		   "{\"lat\": 40, \"lon\": -74}}", "PUT e2"),
	};
	struct rwd_conf *conf = overlay_ok(base_yaml, ovs, 3);
	const struct rwd_model *m = conf->model;
	assert_int_equal(m->n_endpoints, 6);
	const struct rwd_traffic *t = find(m, "\3geo\7example\3com");
	assert_non_null(t);
	assert_int_equal(t->policy->kind, RWD_POLICY_GEOPROXIMITY);
	assert_ptr_equal(t->policy->u.children.v[0].node->u.endpoint, ep(m, "eu-1"));
	assert_int_equal(t->policy->u.children.v[0].bias, 10);
	char *yaml = edit(10, "  eu-1: {address: [198.51.100.1], location: {lat: 50.1, lon: 8.7}}\n"
	                      "  e2: {address: 198.51.100.2, location: {lat: 40, lon: -74}}\n"
	                      "traffic:",
	                  "  geo.example.com: {policy: {geoproximity: {eu-1: 10, e2: 0}}}\n");
	same_as_file(conf, yaml);
	free(yaml);
	rwd_conf_free(conf);

	/* Without the endpoints the name is an error, in the overlay that names them. */
	assert_string_equal(overlay_err(base_yaml, &ovs[1], 1, RW_ECONF),
	                    "PUT geo:1: unknown endpoint 'eu-1'");
}

static void test_drained(void **state)
{
	/* In the file. */
	char *yaml = edit(7, "  b: {address: 192.0.2.2, drained: true}", NULL);
	struct rwd_conf *conf = load_ok(yaml);
	assert_true(ep(conf->model, "b")->drained);
	assert_false(ep(conf->model, "a")->drained);
	char *text = export(conf);
	assert_non_null(strstr(text, "  \"b\": {\"address\": [\"192.0.2.2\"], \"drained\": true}\n"));
	assert_non_null(strstr(text, "  \"a\": {\"address\": [\"192.0.2.1\", \"2001:db8::1\"], "
	                             "\"health_check\": \"web\"}\n"));
	free(text);
	rwd_conf_free(conf);

	/* As a field: the same model as the file. */
	struct rwd_conf_overlay ov = OV("endpoints", "b", "drained", "true", "POST b/drain");
	conf = overlay_ok(base_yaml, &ov, 1);
	assert_true(ep(conf->model, "b")->drained);
	same_as_file(conf, yaml);
	free(yaml);
	rwd_conf_free(conf);

	/* Undrain: the field set to false, or removed. */
	yaml = edit(7, "  b: {address: 192.0.2.2, drained: true}", NULL);
	struct rwd_conf_overlay undrain[] = { OV("endpoints", "b", "drained", "false", "POST undrain"),
	                                      OV("endpoints", "b", "drained", NULL, "DELETE drain") };
	for (int i = 0; i < 2; i++) {
		struct rwd_conf_overlay two[] = { ov, undrain[i] };
		conf = overlay_ok(yaml, &undrain[i], 1);
		assert_false(ep(conf->model, "b")->drained);
		rwd_conf_free(conf);
		conf = overlay_ok(base_yaml, two, 2);
		assert_false(ep(conf->model, "b")->drained);
		rwd_conf_free(conf);
	}
	free(yaml);

	/* c and d are one YAML node (an alias): draining d leaves c alone, as
	 * writing drained under d would (after expanding the alias). */
	ov = OV("endpoints", "d", "drained", "true", "POST d/drain");
	conf = overlay_ok(base_yaml, &ov, 1);
	assert_true(ep(conf->model, "d")->drained);
	assert_false(ep(conf->model, "c")->drained);
	rwd_conf_free(conf);

	/* A bad value: the overlay and its line. */
	ov = OV("endpoints", "b", "drained", "\"yes\"", "POST b/drain");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "POST b/drain:1: endpoints.drained: expected a boolean (true or false)");
	ov = OV("endpoints", "b", "drainde", "true", "PATCH b");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PATCH b:1: unknown key 'drainde' in endpoints");
}

static void test_errors(void **state)
{
	/* The line within the overlay's JSON. */
	struct rwd_conf_overlay ov = OV("traffic", "www.example.com.", NULL,
	                                "{\n  \"ttl\": 30,\n  \"policy\": \"nope\"\n}",
	                                "PUT /v1/traffic/www.example.com.");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT /v1/traffic/www.example.com.:3: unknown endpoint 'nope'");
	/* The entry as a whole: the overlay's first line. */
	ov.json = "{\"ttl\": 30}";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT /v1/traffic/www.example.com.:1: traffic name www.example.com. needs "
	                    "a policy, an alias or srv");
	ov.json = "{\"policy\": \"a\", \"ttl\": 90000}";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT /v1/traffic/www.example.com.:1: traffic.ttl: expected an integer 0..86400");
	ov.json = "[1, 2]";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT /v1/traffic/www.example.com.:1: traffic: expected a mapping of domain "
	                    "names to mappings");

	/* JSON syntax, nothing, two values. */
	ov.json = "{\"policy\": \"a\",\n \"ttl\": }}";
	const char *e = overlay_err(base_yaml, &ov, 1, RW_ECONF);
	assert_memory_equal(e, "PUT /v1/traffic/www.example.com.:2: ", 36);
	ov.json = "  ";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT /v1/traffic/www.example.com.:1: expected a JSON value, found nothing");
	ov.json = "{\"policy\": \"a\"}\n---\n{}";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT /v1/traffic/www.example.com.:2: expected one JSON value, found more");

	/* Several overlays: each its own lines; "first on line" is in the same text. */
	struct rwd_conf_overlay ovs[] = {
		OV("traffic", "t1.example.com", NULL, "{\n\"policy\": \"a\"\n}", "PUT t1"),
		OV("endpoints", "x", NULL, "{\"address\": \"192.0.2.77\"}", "PUT x"),
		OV("traffic", "t2.example.com", NULL,
		   "{\"policy\": {\"weighted\": {\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3}}}", "PUT t2"),
	};
	assert_string_equal(overlay_err(base_yaml, ovs, 3, RW_ECONF),
	                    "PUT t2:4: weighted: duplicate endpoint 'a' (first on line 2)");
	ovs[2].json = "{\"policy\": \"x\", \"ttl\": 1, \"ttl\": 2}";
	assert_string_equal(overlay_err(base_yaml, ovs, 3, RW_ECONF),
	                    "PUT t2:1: duplicate key 'ttl' in traffic (first on line 1)");

	/* The file's own errors keep FILE:LINE. */
	char *yaml = edit(7, "  b: {address: 192.0.2.2, helth_check: web}", NULL);
	assert_string_equal(overlay_err(yaml, ovs, 2, RW_ECONF),
	                    "x.yaml:7: unknown key 'helth_check' in endpoints");
	free(yaml);
	/* ... also when an overlay takes away what the file needs: the file is
	 * where the dangling name is. */
	ov = OV("endpoints", "a", NULL, NULL, "DELETE a");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF), "x.yaml:11: unknown endpoint 'a'");
	ov = OV("endpoints", "a", "address", NULL, "DELETE a/address");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "x.yaml:6: endpoint 'a' needs an address, a cname or a target");
	ov = OV("endpoints", "a", "address", "[]", "PUT a/address");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT a/address:1: endpoints.address: expected an IP address or list of "
	                    "IP addresses");

	/* A field that clashes with the rest of the entry: the overlay's line. */
	ov = OV("endpoints", "a", "cname", "\"edge.example.net\"", "PUT a/cname");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT a/cname:1: endpoint 'a' has both address and cname (one or the other)");
	/* Numbers as JSON writes them are fine; what is not a number is not. */
	ov = OV("endpoints", "a", "location", "{\"lat\": -3.5E+1, \"lon\": 1e-6}", "PUT a/location");
	struct rwd_conf *conf = overlay_ok(base_yaml, &ov, 1);
	assert_true(ep(conf->model, "a")->lat == -35.0 && ep(conf->model, "a")->lon == 1e-6);
	rwd_conf_free(conf);
	ov.json = "{\"lat\": 1e, \"lon\": 0}";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT a/location:1: endpoints.location.lat: expected a number -90..90");
	ov.json = "{\"lat\": 0,\n \"lon\": 1e999999}";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT a/location:2: endpoints.location.lon: expected a number -180..180");
	/* A field of a traffic name. */
	ov = OV("traffic", "www.example.com", "ttl", "5", "PUT www/ttl");
	conf = overlay_ok(base_yaml, &ov, 1);
	assert_int_equal(find(conf->model, "\3www\7example\3com")->ttl, 5);
	rwd_conf_free(conf);

	/* A name that is no domain name, a name outside the zones, a bad name. */
	ov = OV("traffic", "bad..example.com", NULL, "{\"policy\": \"a\"}", "PUT bad");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT bad:1: traffic: 'bad..example.com' is not a domain name");
	ov.key = "www.example.org";
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT bad:1: traffic name www.example.org. is not inside any zone");
	ov = OV("endpoints", "a b", NULL, "{\"address\": \"192.0.2.1\"}", "PUT e");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT e:1: endpoints: bad name 'a b' (1..63 letters, digits, '-', '_' or '.')");

	/* Sections that cannot change. */
	ov = OV("zones", "x", NULL, "{}", "PUT z");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT z: cannot change section 'zones' (only traffic, endpoints or "
	                    "health_checks)");
	ov.section = "endpoints.address";
	assert_int_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF)[0], 'P');

	/* Deep JSON: an error, not a crash. */
	size_t depth = 20000;
	char *deep = malloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	ov = OV("endpoints", "b", "drained", deep, "PUT deep");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT deep:1: endpoints.drained: expected a boolean (true or false)");
	ov = OV("traffic", "www.example.com", "policy", deep, "PUT deep");
	e = overlay_err(base_yaml, &ov, 1, RW_ECONF);
	assert_memory_equal(e, "PUT deep:1: ", 12);
	free(deep);
}

/* A YAML alias inside an overlay (JSON has none, YAML does) is kept: a loop is caught. */
static void test_overlay_yaml(void **state)
{
	struct rwd_conf_overlay ov = OV("traffic", "www.example.com", NULL,
	                                "{policy: &p {failover: [a, *p]}}", "PUT loop");
	assert_string_equal(overlay_err(base_yaml, &ov, 1, RW_ECONF),
	                    "PUT loop:1: policy contains itself (through a YAML alias)");
	ov.json = "{policy: {failover: [&x {weighted: {a: 1}}, *x]}}";
	struct rwd_conf *conf = overlay_ok(base_yaml, &ov, 1);
	const struct rwd_policy *p = conf->model->traffic[0].policy;
	assert_ptr_equal(p->u.children.v[0].node, p->u.children.v[1].node);   /* shared */
	rwd_conf_free(conf);
}

/* ---- steering: a drained endpoint is never chosen ---- */

static bool eval(const struct rwd_model *m, const char *flat, int family,
                 struct rwd_steer_result *out)
{
	const struct rwd_traffic *t = find(m, flat);
	assert_non_null(t);
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	struct rwd_client client = { .addr = { .family = AF_INET, .bytes = { 192, 0, 2, 99 } },
	                             .prefix_len = 32 };
	struct rwd_steer s = { .model = m, .health = NULL, .rng = &rng, .client = &client };
	return rwd_steer_eval(&s, t, family, out);
}

static void test_eval_drained(void **state)
{
	static const char yaml[] =
		"zones: [{name: example.com., file: z}]\n"
		"endpoints:\n"
		"  a: {address: [192.0.2.1, \"2001:db8::1\"]}\n"
		"  b: {address: 192.0.2.2}\n"
		"  c: {cname: cdn.example.net.}\n"
		"traffic:\n"
		"  f.example.com: {policy: {failover: [a, b]}}\n"
		"  w.example.com: {policy: {weighted: {a: 1, b: 1}}}\n"
		"  m.example.com: {policy: {multivalue: [a, b]}}\n"
		"  c.example.com: {policy: {failover: [c, a]}}\n"
		"  closed.example.com: {policy: {failover: [a, b]}, fail_open: false}\n";
	struct rwd_steer_result r;

	/* Nothing drained: a first. */
	struct rwd_conf *conf = load_ok(yaml);
	assert_true(eval(conf->model, "\1f\7example\3com", AF_INET, &r));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.endpoints[0]->name, "a");
	rwd_conf_free(conf);

	/* a drained: never a, whatever the policy. */
	struct rwd_conf_overlay ov[] = { OV("endpoints", "a", "drained", "true", "drain a"),
	                                 OV("endpoints", "b", "drained", "true", "drain b"),
	                                 OV("endpoints", "c", "drained", "true", "drain c") };
	conf = overlay_ok(yaml, ov, 1);
	const struct rwd_model *m = conf->model;
	assert_true(eval(m, "\1f\7example\3com", AF_INET, &r));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.endpoints[0]->name, "b");
	for (int i = 0; i < 200; i++) {
		assert_true(eval(m, "\1w\7example\3com", AF_INET, &r));
		assert_int_equal(r.n, 1);
		assert_string_equal(r.endpoints[0]->name, "b");
	}
	assert_true(eval(m, "\1m\7example\3com", AF_INET, &r));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.endpoints[0]->name, "b");
	/* Only a has IPv6: drained, nothing is left, and failing open does not bring it back. */
	assert_false(eval(m, "\1f\7example\3com", AF_INET6, &r));
	assert_int_equal(r.n, 0);
	rwd_conf_free(conf);

	/* Everything drained: nothing, fail_open or not. */
	conf = overlay_ok(yaml, ov, 3);
	m = conf->model;
	assert_false(eval(m, "\1f\7example\3com", AF_INET, &r));
	assert_int_equal(r.n, 0);
	assert_false(eval(m, "\1w\7example\3com", AF_INET, &r));
	assert_false(eval(m, "\1m\7example\3com", AF_INET, &r));
	assert_false(eval(m, "\1c\7example\3com", AF_INET, &r));
	assert_false(eval(m, "\6closed\7example\3com", AF_INET, &r));
	rwd_conf_free(conf);

	/* A drained CNAME endpoint: the next one. */
	conf = overlay_ok(yaml, &ov[2], 1);
	assert_true(eval(conf->model, "\1c\7example\3com", AF_INET, &r));
	assert_string_equal(r.endpoints[0]->name, "a");
	rwd_conf_free(conf);
}

/* ---- export ---- */

static const char zones_yaml[] =
	"zones:\n"
	"  - {name: example.com., file: example.com.zone}\n"
	"  - {name: example.net, file: example.net.zone}\n";

/* Every kind of value the model holds. */
static const char rich_yaml[] =
	"health_checks:\n"
	"  web: {type: http, port: 8080, path: /healthz, host: www.example.com, expect_status: [200, 204], expect_body: \"ok \\\"fine\\\" \\\\ caf\\u00e9\"}\n"
	"  tls: {type: https, tls_verify: true, cert_warn_days: 30, interval: 2m}\n"
	"  ns: {type: dns, query: Example.COM, qtype: TYPE65534, expect_rcode: nxdomain, expect_answer: 192.0.2, interval: 10s, timeout: 1500ms}\n"
	"  db: {type: tcp, port: 5432, interval: 500ms, timeout: 200ms, rise: 3, fall: 1}\n"
	"endpoints:\n"
	"  us-east: {address: [192.0.2.10, \"2001:db8::10\"], health_check: web, location: {lat: 39.04, lon: -77.49}}\n"
	"  us-west: {address: 192.0.2.20, location: {lat: 37.4, lon: -122.1}, drained: false}\n"
	"  eu-west: {address: 198.51.100.1, location: {lat: 0.000001, lon: -0.5}, drained: true}\n"
	"  tiny: {address: 198.51.100.2, location: {lat: 0.0000000000000000000001, lon: 180}}\n"
	"  cdn: {cname: Edge.CDN.example.net, health_check: tls}\n"
	"  sip1: {address: 192.0.2.30, target: sip1.example.com., health_check: db}\n"
	"  sip2: {target: sip2.example.com}\n"
	"traffic:\n"
	"  Example.com: {alias: WWW.example.com}\n"
	"  www.example.com: {ttl: 30, policy: us-east}\n"
	"  _sip._udp.example.com.:\n"
	"    srv:\n"
	"      - {endpoint: sip1, port: 5060, priority: 10, weight: 60}\n"
	"      - {endpoint: sip2, port: 5061}\n"
	"  api.example.com.:\n"
	"    fail_open: false\n"
	"    policy:\n"
	"      failover:\n"
	"        - weighted:\n"
	"            - {weight: 9, node: {geoproximity: {us-east: 10, eu-west: -10}}}\n"
	"            - {weight: 1, node: us-west}\n"
	"            - {weight: 0, node: us-west}\n"
	"        - multivalue: {count: 2, of: [us-east, eu-west, us-west]}\n"
	"        - multivalue: [us-east, cdn]\n"
	"  geo.example.net:\n"
	"    policy:\n"
	"      geolocation:\n"
	"        us-ca: {weighted: {us-west: 90, us-east: 10}}\n"
	"        US: us-east\n"
	"        \"country:SA\": eu-west\n"
	"        SA: us-east\n"
	"        EU: {geoproximity: [{bias: 5, node: eu-west}, {bias: -5, node: {failover: [us-east]}}]}\n"
	"        default: {latency: [us-east, eu-west]}\n"
	"  intranet.example.com:\n"
	"    policy:\n"
	"      cidr:\n"
	"        10.0.0.0/8: &shared {latency: [us-east, eu-west]}\n"
	"        \"2001:db8::/32\": eu-west\n"
	"        192.0.2.7: *shared\n"
	"        0.0.0.0/0: cdn\n"
	"  nodefault.example.com: {policy: {cidr: {10.0.0.0/8: us-east}}}\n";

static void test_export_roundtrip(void **state)
{
	char *full;
	assert_true(asprintf(&full, "%s%s", zones_yaml, rich_yaml) > 0);
	struct rwd_conf *c1 = load_ok(full);
	char *e1 = export(c1);
	char *again;
	assert_true(asprintf(&again, "%s%s", zones_yaml, e1) > 0);
	struct rwd_conf *c2 = load_ok(again);
	char *e2 = export(c2);
	if (strcmp(e1, e2))
		fail_msg("first export:\n%s\nsecond:\n%s", e1, e2);
	assert_int_equal(c1->model->n_slots, c2->model->n_slots);
	assert_int_equal(c1->model->n_traffic, c2->model->n_traffic);

	/* Some lines as they must be. */
	static const char *const lines[] = {
		"health_checks:\n",
		"  \"web\": {\"type\": \"http\", \"port\": 8080, \"path\": \"/healthz\", \"host\": "
		"\"www.example.com\", \"expect_status\": [200, 204], \"expect_body\": \"ok \\\"fine\\\" "
		"\\\\ caf\xc3\xa9\", \"interval\": \"1s\", \"timeout\": \"500ms\", \"rise\": 2, \"fall\": 2}\n",
		"  \"tls\": {\"type\": \"https\", \"port\": 443, \"path\": \"/\", \"expect_status\": 200, "
		"\"tls_verify\": true, \"cert_warn_days\": 30, \"interval\": \"2m\", \"timeout\": \"1s\", "
		"\"rise\": 2, \"fall\": 2}\n",
		"  \"ns\": {\"type\": \"dns\", \"port\": 53, \"query\": \"example.com.\", \"qtype\": "
		"\"TYPE65534\", \"expect_rcode\": \"NXDOMAIN\", \"expect_answer\": \"192.0.2\", "
		"\"interval\": \"10s\", \"timeout\": \"1500ms\", \"rise\": 2, \"fall\": 2}\n",
		"  \"db\": {\"type\": \"tcp\", \"port\": 5432, \"interval\": \"500ms\", \"timeout\": "
		"\"200ms\", \"rise\": 3, \"fall\": 1}\n",
		"endpoints:\n",
		"  \"us-east\": {\"address\": [\"192.0.2.10\", \"2001:db8::10\"], \"health_check\": "
		"\"web\", \"location\": {\"lat\": 39.04, \"lon\": -77.49}}\n",
		"  \"us-west\": {\"address\": [\"192.0.2.20\"], \"location\": {\"lat\": 37.4, \"lon\": "
		"-122.1}}\n",
		"  \"eu-west\": {\"address\": [\"198.51.100.1\"], \"location\": {\"lat\": 0.000001, "
		"\"lon\": -0.5}, \"drained\": true}\n",
		"  \"tiny\": {\"address\": [\"198.51.100.2\"], \"location\": {\"lat\": 0, \"lon\": 180}}\n",
		"  \"cdn\": {\"cname\": \"edge.cdn.example.net.\", \"health_check\": \"tls\"}\n",
		"  \"sip2\": {\"target\": \"sip2.example.com.\"}\n",
		"traffic:\n",
		"  \"example.com.\": {\"ttl\": 60, \"alias\": \"www.example.com.\"}\n",
		"  \"www.example.com.\": {\"ttl\": 30, \"policy\": \"us-east\"}\n",
		"  \"_sip._udp.example.com.\": {\"ttl\": 60, \"srv\": [{\"endpoint\": \"sip1\", \"port\": "
		"5060, \"priority\": 10, \"weight\": 60}, {\"endpoint\": \"sip2\", \"port\": 5061, "
		"\"priority\": 0, \"weight\": 0}]}\n",
		"  \"api.example.com.\": {\"ttl\": 60, \"fail_open\": false, \"policy\": {\"failover\": "
		"[{\"weighted\": [{\"weight\": 9, \"node\": {\"geoproximity\": {\"us-east\": 10, "
		"\"eu-west\": -10}}}, {\"weight\": 1, \"node\": \"us-west\"}, {\"weight\": 0, \"node\": "
		"\"us-west\"}]}, {\"multivalue\": {\"count\": 2, \"of\": [\"us-east\", \"eu-west\", "
		"\"us-west\"]}}, {\"multivalue\": [\"us-east\", \"cdn\"]}]}}\n",
		"  \"geo.example.net.\": {\"ttl\": 60, \"policy\": {\"geolocation\": {\"US-CA\": "
		"{\"weighted\": {\"us-west\": 90, \"us-east\": 10}}, \"country:SA\": \"eu-west\", \"US\": "
		"\"us-east\", \"EU\": {\"geoproximity\": [{\"bias\": 5, \"node\": \"eu-west\"}, "
		"{\"bias\": -5, \"node\": {\"failover\": [\"us-east\"]}}]}, \"SA\": \"us-east\", "
		"\"default\": {\"latency\": [\"us-east\", \"eu-west\"]}}}}\n",
		"  \"intranet.example.com.\": {\"ttl\": 60, \"policy\": {\"cidr\": {\"192.0.2.7/32\": "
		"{\"latency\": [\"us-east\", \"eu-west\"]}, \"2001:db8::/32\": \"eu-west\", "
		"\"10.0.0.0/8\": {\"latency\": [\"us-east\", \"eu-west\"]}, \"0.0.0.0/0\": \"cdn\"}}}\n",
		"  \"nodefault.example.com.\": {\"ttl\": 60, \"policy\": {\"cidr\": {\"10.0.0.0/8\": "
		"\"us-east\"}}}\n",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (!strstr(e1, lines[i]))
			fail_msg("export lacks\n%s\nin\n%s", lines[i], e1);

	/* An empty model. */
	struct rwd_conf *c3 = load_ok("");
	char *e3 = export(c3);
	assert_string_equal(e3, "health_checks: {}\nendpoints: {}\ntraffic: {}\n");
	free(e3);
	rwd_conf_free(c3);

	free(e1);
	free(e2);
	free(full);
	free(again);
	rwd_conf_free(c1);
	rwd_conf_free(c2);
}

static char *dump(json_t *v)
{
	assert_non_null(v);
	char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(v);
	return s;
}

static void test_json(void **state)
{
	char *full;
	assert_true(asprintf(&full, "%s%s", zones_yaml, rich_yaml) > 0);
	struct rwd_conf *conf = load_ok(full);
	const struct rwd_model *m = conf->model;
	char *s;

	s = dump(rwd_traffic_to_json(find(m, "\3www\7example\3com")));
	assert_string_equal(s, "{\"ttl\":30,\"policy\":\"us-east\"}");
	free(s);
	s = dump(rwd_traffic_to_json(find(m, "\11nodefault\7example\3com")));
	assert_string_equal(s, "{\"ttl\":60,\"policy\":{\"cidr\":{\"10.0.0.0/8\":\"us-east\"}}}");
	free(s);
	s = dump(rwd_endpoint_to_json(ep(m, "eu-west")));
	assert_string_equal(s, "{\"address\":[\"198.51.100.1\"],\"location\":{\"lat\":1e-6,"
	                       "\"lon\":-0.5},\"drained\":true}");
	free(s);
	s = dump(rwd_endpoint_to_json(ep(m, "cdn")));
	assert_string_equal(s, "{\"cname\":\"edge.cdn.example.net.\",\"health_check\":\"tls\"}");
	free(s);
	s = dump(rwd_check_to_json(&m->checks[3]));
	assert_string_equal(s, "{\"type\":\"tcp\",\"port\":5432,\"interval\":\"500ms\","
	                       "\"timeout\":\"200ms\",\"rise\":3,\"fall\":1}");
	free(s);

	/* GET then PUT: what the API shows is what it takes, for every entry. */
	for (size_t i = 0; i < m->n_traffic; i++) {
		char name[1024], *json = dump(rwd_traffic_to_json(&m->traffic[i]));
		const uint8_t *w = m->traffic[i].name;
		size_t n = 0;
		for (; *w; w += *w + 1)
			n += (size_t)snprintf(name + n, sizeof(name) - n, "%.*s.", *w, (const char *)w + 1);
		struct rwd_conf_overlay ov = OV("traffic", name, NULL, json, "PUT");
		struct rwd_conf *c2 = overlay_ok(full, &ov, 1);
		char *a = export(conf), *b = export(c2);
		assert_string_equal(a, b);
		free(a);
		free(b);
		free(json);
		rwd_conf_free(c2);
	}
	for (size_t i = 0; i < m->n_endpoints; i++) {
		char *json = dump(rwd_endpoint_to_json(&m->endpoints[i]));
		struct rwd_conf_overlay ov = OV("endpoints", m->endpoints[i].name, NULL, json, "PUT");
		struct rwd_conf *c2 = overlay_ok(full, &ov, 1);
		char *a = export(conf), *b = export(c2);
		assert_string_equal(a, b);
		free(a);
		free(b);
		free(json);
		rwd_conf_free(c2);
	}
	rwd_conf_free(conf);
	free(full);
}

/* Many names, each changed: the table of names keeps this linear. */
static void test_many(void **state)
{
	enum { N = 5000 };
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);
	fprintf(f, "zones: [{name: example.com, file: z}]\nendpoints: {a: {address: 192.0.2.1}, "
	           "b: {address: 192.0.2.2}}\ntraffic:\n");
	for (int i = 0; i < N; i++)
		fprintf(f, "  n%d.example.com: {policy: a}\n", i);
	fclose(f);
	struct rwd_conf_overlay *ov = calloc(2 * N, sizeof(*ov));
	char (*names)[32] = calloc(2 * N, sizeof(*names));
	for (int i = 0; i < 2 * N; i++) {
		snprintf(names[i], sizeof(names[i]), "N%d.Example.com.", i);
		ov[i] = OV("traffic", names[i], NULL, i % 3 == 2 && i < N ? NULL : "{\"policy\": \"b\"}",
		           "PUT");
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct rwd_conf *conf = overlay_ok(yaml, ov, 2 * N);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("%d overlays on %d names: %.0f ms\n", 2 * N, N, ms);
	const struct rwd_model *m = conf->model;
	assert_int_equal(m->n_traffic, 2 * N - N / 3);
	for (size_t i = 0; i < m->n_traffic; i++)
		assert_string_equal(m->traffic[i].policy->u.endpoint->name, "b");
	rwd_conf_free(conf);
	free(ov);
	free(names);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_drained),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_overlay_yaml),
		cmocka_unit_test(test_eval_drained),
		cmocka_unit_test(test_export_roundtrip),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
