/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The traffic model as JSON values and YAML sections (export.h): the
 * inverse of the loader, key for key the shape of the schema rows in conf.c
 * and of the policy grammar in traffic.c.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <libknot/libknot.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/conf/conf_int.h"
#include "server/conf/export.h"
#include "server/steer/model.h"

/* traffic.c's default count of a multivalue node */
#define DEFAULT_MULTIVALUE 8

/* Building a value: the first failure sticks, and the result is then NULL. */
struct out {
	bool failed;
};

static json_t *add(struct out *o, json_t *obj, const char *key, json_t *v)
{
	if (!obj || json_object_set_new(obj, key, v) != 0)   /* takes v even on failure */
		o->failed = true;
	return obj;
}

static json_t *push(struct out *o, json_t *arr, json_t *v)
{
	if (!arr || json_array_append_new(arr, v) != 0)
		o->failed = true;
	return arr;
}

static json_t *finish(struct out *o, json_t *v)
{
	if (o->failed || !v) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *name_json(const uint8_t *wire)
{
	char text[RW_DNAME_MAXLEN * 4 + 2];
	if (rw_dname_to_str(wire, text, sizeof(text)) < 0)
		return NULL;
	return json_string(text);
}

static json_t *ms_json(unsigned ms)
{
	char text[32];
	cf_fmt_ms(ms, text, sizeof(text));
	return json_string(text);
}

/* ---- policies ---- */

/* Nodes of p with shared subtrees written out, counting down *budget; false past it. */
static bool fits(const struct rwd_policy *p, long *budget)
{
	if (--*budget < 0)
		return false;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		return true;
	case RWD_POLICY_GEOLOCATION:
		for (unsigned i = 0; i < p->u.geo.n; i++)
			if (!fits(p->u.geo.v[i].node, budget))
				return false;
		return !p->u.geo.fallback || fits(p->u.geo.fallback, budget);
	case RWD_POLICY_CIDR:
		for (unsigned i = 0; i < p->u.cidr.n; i++)
			if (!fits(p->u.cidr.v[i].node, budget))
				return false;
		return !p->u.cidr.fallback || fits(p->u.cidr.fallback, budget);
	default:
		for (unsigned i = 0; i < p->u.children.n; i++)
			if (!fits(p->u.children.v[i].node, budget))
				return false;
		return true;
	}
}

static json_t *policy_json(struct out *o, const struct rwd_policy *p);

static json_t *children_list(struct out *o, const struct rwd_policy *p)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < p->u.children.n; i++)
		push(o, a, policy_json(o, p->u.children.v[i].node));
	return a;
}

/* weighted and geoproximity: the map form when every child is a different endpoint. */
static json_t *pairs_json(struct out *o, const struct rwd_policy *p)
{
	bool bias = p->kind == RWD_POLICY_GEOPROXIMITY, map = true;
	const char *attr = bias ? "bias" : "weight";
	for (unsigned i = 0; i < p->u.children.n && map; i++) {
		const struct rwd_policy *ch = p->u.children.v[i].node;
		if (ch->kind != RWD_POLICY_ENDPOINT)
			map = false;
		for (unsigned j = 0; j < i && map; j++)
			if (p->u.children.v[j].node->u.endpoint == ch->u.endpoint)
				map = false;
	}
	json_t *v = map ? json_object() : json_array();
	for (unsigned i = 0; i < p->u.children.n; i++) {
		const struct rwd_policy_child *ch = &p->u.children.v[i];
		json_t *n = json_integer(bias ? ch->bias : ch->weight);
		if (map) {
			add(o, v, ch->node->u.endpoint->name, n);
		} else {
			json_t *e = json_object();
			add(o, e, attr, n);
			add(o, e, "node", policy_json(o, ch->node));
			push(o, v, e);
		}
	}
	return v;
}

/* A geolocation code as the loader reads it back: "country:SA" for the
 * countries whose codes are also continents'. */
static void geo_key(const struct rwd_geo_rule *r, char buf[24])
{
	enum rwd_geo_level level;
	char code[8];
	if (rwd_geo_code_parse(r->code, &level, code) == 0 && level == r->level)
		snprintf(buf, 24, "%s", r->code);
	else
		snprintf(buf, 24, "country:%s", r->code);
}

static json_t *rules_json(struct out *o, const struct rwd_policy *p)
{
	json_t *v = json_object();
	bool geo = p->kind == RWD_POLICY_GEOLOCATION;
	unsigned n = geo ? p->u.geo.n : p->u.cidr.n;
	const struct rwd_policy *fallback = geo ? p->u.geo.fallback : p->u.cidr.fallback;
	for (unsigned i = 0; i < n; i++) {
		char key[RW_PREFIX_STRLEN + 24];
		if (geo) {
			geo_key(&p->u.geo.v[i], key);
			add(o, v, key, policy_json(o, p->u.geo.v[i].node));
		} else {
			const struct rwd_cidr_rule *r = &p->u.cidr.v[i];
			rw_prefix_format(&r->prefix, r->len, key, sizeof(key));
			add(o, v, key, policy_json(o, r->node));
		}
	}
	if (fallback)
		add(o, v, "default", policy_json(o, fallback));
	return v;
}

static json_t *policy_json(struct out *o, const struct rwd_policy *p)
{
	json_t *v = NULL, *w;
	const char *kind = NULL;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		return json_string(p->u.endpoint->name);
	case RWD_POLICY_WEIGHTED:
		kind = "weighted";
		v = pairs_json(o, p);
		break;
	case RWD_POLICY_GEOPROXIMITY:
		kind = "geoproximity";
		v = pairs_json(o, p);
		break;
	case RWD_POLICY_FAILOVER:
		kind = "failover";
		v = children_list(o, p);
		break;
	case RWD_POLICY_LATENCY:
		kind = "latency";
		v = children_list(o, p);
		break;
	case RWD_POLICY_MULTIVALUE:
		kind = "multivalue";
		v = children_list(o, p);
		if (p->u.children.count != DEFAULT_MULTIVALUE) {
			w = json_object();
			add(o, w, "count", json_integer(p->u.children.count));
			v = add(o, w, "of", v);
		}
		break;
	case RWD_POLICY_GEOLOCATION:
		kind = "geolocation";
		v = rules_json(o, p);
		break;
	case RWD_POLICY_CIDR:
		kind = "cidr";
		v = rules_json(o, p);
		break;
	}
	return add(o, json_object(), kind, v);
}

json_t *rwd_traffic_to_json(const struct rwd_traffic *t)
{
	struct out o = { false };
	json_t *v = json_object();
	add(&o, v, "ttl", json_integer(t->ttl));
	if (!t->fail_open)
		add(&o, v, "fail_open", json_false());
	switch (t->kind) {
	case RWD_TRAFFIC_POLICY: {
		long budget = RWD_EXPORT_MAX_NODES;
		if (!fits(t->policy, &budget)) {
			json_decref(v);
			return NULL;
		}
		add(&o, v, "policy", policy_json(&o, t->policy));
		break;
	}
	case RWD_TRAFFIC_ALIAS:
		add(&o, v, "alias", name_json(t->alias));
		break;
	case RWD_TRAFFIC_SRV: {
		json_t *a = json_array();
		for (unsigned i = 0; i < t->n_srv; i++) {
			const struct rwd_srv_member *m = &t->srv[i];
			json_t *e = json_object();
			add(&o, e, "endpoint", json_string(m->endpoint->name));
			add(&o, e, "port", json_integer(m->port));
			add(&o, e, "priority", json_integer(m->priority));
			add(&o, e, "weight", json_integer(m->weight));
			push(&o, a, e);
		}
		add(&o, v, "srv", a);
		break;
	}
	}
	return finish(&o, v);
}

/* ---- endpoints and checks ---- */

json_t *rwd_endpoint_to_json(const struct rwd_endpoint *e)
{
	struct out o = { false };
	json_t *v = json_object();
	if (e->n_addrs) {
		json_t *a = json_array();
		for (unsigned i = 0; i < e->n_addrs; i++) {
			char text[INET6_ADDRSTRLEN];
			const struct rw_addr *x = &e->addrs[i].addr;
			push(&o, a, inet_ntop(x->family, x->bytes, text, sizeof(text)) ? json_string(text)
			                                                                  : NULL);
		}
		add(&o, v, "address", a);
	}
	if (e->cname_len)
		add(&o, v, "cname", name_json(e->cname));
	if (e->check)
		add(&o, v, "health_check", json_string(e->check->name));
	if (e->has_location) {
		json_t *l = json_object();
		add(&o, l, "lat", json_real(e->lat));
		add(&o, l, "lon", json_real(e->lon));
		add(&o, v, "location", l);
	}
	if (e->target_len)
		add(&o, v, "target", name_json(e->target));
	if (e->drained)
		add(&o, v, "drained", json_true());
	return finish(&o, v);
}

json_t *rwd_check_to_json(const struct rwd_check *k)
{
	static const char *const types[] = { "tcp", "http", "https", "dns" };
	struct out o = { false };
	json_t *v = json_object();
	bool http = k->type == RWD_CHECK_HTTP || k->type == RWD_CHECK_HTTPS;
	add(&o, v, "type", json_string(types[k->type]));
	add(&o, v, "port", json_integer(k->port));
	if (http) {
		add(&o, v, "path", json_string(k->path));
		if (k->host)
			add(&o, v, "host", json_string(k->host));
		if (k->n_expect_status == 1) {
			add(&o, v, "expect_status", json_integer(k->expect_status[0]));
		} else {
			json_t *a = json_array();
			for (unsigned i = 0; i < k->n_expect_status; i++)
				push(&o, a, json_integer(k->expect_status[i]));
			add(&o, v, "expect_status", a);
		}
		if (k->expect_body)
			add(&o, v, "expect_body", json_string(k->expect_body));
	}
	if (k->type == RWD_CHECK_HTTPS) {
		add(&o, v, "tls_verify", json_boolean(k->tls_verify));
		add(&o, v, "cert_warn_days", json_integer(k->cert_warn_days));
	}
	if (k->type == RWD_CHECK_DNS) {
		char qtype[32];
		const char *rcode = cf_rcode_name(k->dns_rcode);
		add(&o, v, "query", name_json(k->dns_qname));
		add(&o, v, "qtype", knot_rrtype_to_string(k->dns_qtype, qtype, sizeof(qtype)) > 0
		                    ? json_string(qtype) : NULL);
		add(&o, v, "expect_rcode", rcode ? json_string(rcode) : NULL);
		if (k->dns_expect)
			add(&o, v, "expect_answer", json_string(k->dns_expect));
	}
	add(&o, v, "interval", ms_json(k->interval_ms));
	add(&o, v, "timeout", ms_json(k->timeout_ms));
	add(&o, v, "rise", json_integer(k->rise));
	add(&o, v, "fall", json_integer(k->fall));
	if (k->flap_changes != 6)        /* the schema's default: left out, like unset durations */
		add(&o, v, "flap_changes", json_integer(k->flap_changes));
	if (k->flap_window_ms)
		add(&o, v, "flap_window", ms_json(k->flap_window_ms));
	if (k->flap_hold_ms)
		add(&o, v, "flap_hold", ms_json(k->flap_hold_ms));
	return finish(&o, v);
}

/* ---- YAML ---- */

/* May this code point appear as it is in YAML text (YAML 1.1 "printable")? */
static bool printable(unsigned long cp)
{
	return cp == 0x09 || cp == 0x0a || cp == 0x0d || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
	       (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

/* s as a double-quoted scalar; what YAML would not keep as it is (control
 * characters, line breaks) is escaped. */
static void put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p) {
		unsigned long cp = *p;
		size_t n = 1;
		if (cp >= 0xf0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80) {
			cp = (cp & 0x07) << 18 | (p[1] & 0x3ful) << 12 | (p[2] & 0x3ful) << 6 | (p[3] & 0x3f);
			n = 4;
		} else if (cp >= 0xe0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
			cp = (cp & 0x0f) << 12 | (p[1] & 0x3ful) << 6 | (p[2] & 0x3f);
			n = 3;
		} else if (cp >= 0xc0 && (p[1] & 0xc0) == 0x80) {
			cp = (cp & 0x1f) << 6 | (p[1] & 0x3f);
			n = 2;
		} else if (cp >= 0x80) {
			cp = 0xfffd;   /* not UTF-8: cannot come from a YAML file */
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (printable(cp) && cp != 0x85 && cp != 0x2028 && cp != 0x2029 && cp != 0xfeff)
			fwrite(p, 1, n, f);
		else if (cp <= 0xffff)
			fprintf(f, "\\u%04lx", cp);
		else
			fprintf(f, "\\U%08lx", cp);
		p += n;
	}
	fputc('"', f);
}

/* The shortest fixed-point text that reads back as d (the loader takes no exponents). */
static void put_real(FILE *f, double d)
{
	char text[64];
	for (int round = 0; round < 2; round++) {
		for (int digits = 0; digits <= 17; digits++) {
			snprintf(text, sizeof(text), "%.*f", digits, d);
			if (strtod(text, NULL) == d) {
				fputs(text, f);
				return;
			}
		}
		/* Below 1e-17: what 17 decimals keep, which then reads back exactly. */
		d = strtod(text, NULL);
	}
	fputs(text, f);
}

static void put_json(FILE *f, const json_t *v)
{
	const char *key;
	const json_t *x;
	size_t i;
	bool first = true;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		fputc('{', f);
		json_object_foreach((json_t *)v, key, x) {
			fputs(first ? "" : ", ", f);
			first = false;
			put_string(f, key);
			fputs(": ", f);
			put_json(f, x);
		}
		fputc('}', f);
		break;
	case JSON_ARRAY:
		fputc('[', f);
		json_array_foreach(v, i, x) {
			fputs(i ? ", " : "", f);
			put_json(f, x);
		}
		fputc(']', f);
		break;
	case JSON_STRING:
		put_string(f, json_string_value(v));
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		put_real(f, json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", f);
		break;
	case JSON_FALSE:
		fputs("false", f);
		break;
	case JSON_NULL:
		fputs("null", f);
		break;
	}
}

/* One "  KEY: VALUE" line; v is consumed. */
static int put_entry(FILE *f, const char *key, json_t *v, int fail)
{
	if (!v)
		return fail;
	fputs("  ", f);
	put_string(f, key);
	fputs(": ", f);
	put_json(f, v);
	fputc('\n', f);
	json_decref(v);
	return 0;
}

int rwd_model_export_yaml(const struct rwd_model *m, FILE *out)
{
	int rc = 0;
	fputs(m->n_checks ? "health_checks:\n" : "health_checks: {}\n", out);
	for (size_t i = 0; i < m->n_checks && !rc; i++)
		rc = put_entry(out, m->checks[i].name, rwd_check_to_json(&m->checks[i]), RW_ENOMEM);
	fputs(m->n_endpoints ? "endpoints:\n" : "endpoints: {}\n", out);
	for (size_t i = 0; i < m->n_endpoints && !rc; i++)
		rc = put_entry(out, m->endpoints[i].name, rwd_endpoint_to_json(&m->endpoints[i]),
		               RW_ENOMEM);
	fputs(m->n_traffic ? "traffic:\n" : "traffic: {}\n", out);
	for (size_t i = 0; i < m->n_traffic && !rc; i++) {
		const struct rwd_traffic *t = &m->traffic[i];
		char name[RW_DNAME_MAXLEN * 4 + 2];
		long budget = RWD_EXPORT_MAX_NODES;
		if (rw_dname_to_str(t->name, name, sizeof(name)) < 0)
			return RW_EINVAL;
		if (t->kind == RWD_TRAFFIC_POLICY && !fits(t->policy, &budget))
			return RW_ELIMIT;
		rc = put_entry(out, name, rwd_traffic_to_json(t), RW_ENOMEM);
	}
	if (!rc && (fflush(out) != 0 || ferror(out)))
		rc = RW_EIO;
	return rc;
}
