/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The traffic sections of the configuration: policy trees, the latency
 * table (a CSV file), and the checks that need several values of the
 * health_checks, endpoints, geoip and traffic sections. The walker in conf.c
 * reads the plain options of these sections from the schema table; this
 * file does what a table row cannot.
 *
 * A policy node is an endpoint name, or a mapping with exactly one key:
 *   weighted:     {ENDPOINT: WEIGHT, ...} or [{weight: N, node: NODE}, ...]
 *   failover:     [NODE, ...]
 *   geolocation:  {CODE: NODE, ..., default: NODE}
 *   geoproximity: {ENDPOINT: BIAS, ...} or [{bias: N, node: NODE}, ...]
 *   latency:      [NODE, ...]
 *   multivalue:   [NODE, ...] or {count: N, of: [NODE, ...]}
 *   cidr:         {PREFIX: NODE, ..., default: NODE}
 * YAML aliases may share a subtree between places: it is read once and
 * shared (the model is immutable), so an alias bomb costs nothing and a
 * loop is an error rather than endless recursion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/conf/conf_int.h"
#include "server/steer/model.h"

#define MAX_DEPTH 32
#define MAX_MULTIVALUE 32
#define DEFAULT_MULTIVALUE 8
#define MAX_RTT_MS 3600000
#define POLICY_KINDS "weighted, failover, geolocation, geoproximity, latency, multivalue or cidr"

/* Presentation form of a flat name, for messages. */
static const char *name_str(const uint8_t *name, char buf[RW_DNAME_MAXLEN * 4 + 2])
{
	if (rw_dname_to_str(name, buf, RW_DNAME_MAXLEN * 4 + 2) < 0)
		strcpy(buf, "?");
	return buf;
}

static unsigned count_of(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return (unsigned)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (n->type == YAML_MAPPING_NODE)
		return (unsigned)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	return 0;
}

/* ---- policies ---- */

static int policy(struct ctx *c, yaml_node_t *n, unsigned depth, struct rwd_policy **out,
                  unsigned *height);

static struct rwd_policy *new_policy(struct ctx *c, enum rwd_policy_kind kind, int line)
{
	struct rwd_policy *p = cf_alloc(c, 1, sizeof(*p));
	if (p) {
		p->kind = kind;
		p->line = line;
	}
	return p;
}

static int endpoint_node(struct ctx *c, const char *name, int line, struct rwd_policy **out)
{
	char buf[68];
	const struct rwd_endpoint *e = cf_lookup(c, cf_row_of("endpoints"), name);
	if (!e)
		return cf_fail(c, line, "unknown endpoint '%s'", cf_show(name, buf));
	if (!(*out = new_policy(c, RWD_POLICY_ENDPOINT, line)))
		return cf_nomem(c);
	(*out)->u.endpoint = e;
	return 0;
}

static int alloc_children(struct ctx *c, struct rwd_policy *p, unsigned n)
{
	if (!(p->u.children.v = cf_alloc(c, n, sizeof(*p->u.children.v))))
		return cf_nomem(c);
	p->u.children.n = n;
	return 0;
}

/* A list of policies: failover, latency, multivalue. */
static int child_list(struct ctx *c, const char *what, yaml_node_t *v, unsigned depth,
                      struct rwd_policy *p, unsigned *height)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return cf_fail(c, cf_line_of(v), "%s: expected a list of policies", what);
	unsigned n = count_of(v);
	if (n == 0)
		return cf_fail(c, cf_line_of(v), "%s: expected at least one entry", what);
	int rc = alloc_children(c, p, n);
	for (unsigned k = 0; k < n && !rc; k++) {
		unsigned h = 0;
		rc = policy(c, cf_node_at(c, v->data.sequence.items.start[k]), depth + 1,
		            &p->u.children.v[k].node, &h);
		if (h + 1 > *height)
			*height = h + 1;
	}
	return rc;
}

/* An integer value of a policy (weight, bias, count). */
static int policy_int(struct ctx *c, const char *what, const char *attr, yaml_node_t *v,
                      long long lo, long long hi, int *out)
{
	const char *s = cf_scalar(v);
	long long x;
	if (!s || !cf_parse_int(s, lo, hi, &x) || (lo >= 0 && (*s == '-' || *s == '+')))
		return cf_fail(c, cf_line_of(v), "%s: expected a%s %s %lld..%lld", what,
		               strchr("aeiou", attr[0]) ? "n" : "", attr, lo, hi);
	*out = (int)x;
	return 0;
}

/*
 * A small mapping inside a policy whose keys are among names[0..n): the value
 * of each goes to vals[i] (left alone when absent). Other keys and repeated
 * keys are errors. Pre: n <= 4.
 */
static int policy_keys(struct ctx *c, const char *what, yaml_node_t *map,
                       const char *const *names, size_t n, yaml_node_t **vals)
{
	int lines[4] = { 0, 0, 0, 0 };
	char buf[68];
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
		yaml_node_t *key = cf_node_at(c, q->key);
		const char *s = cf_scalar(key);
		int line = cf_line_of(key);
		size_t i = 0;
		if (!s)
			return cf_fail(c, line, "keys must be plain names (in %s)", what);
		while (i < n && strcmp(s, names[i]))
			i++;
		if (i == n)
			return cf_fail(c, line, "unknown key '%s' in %s", cf_show(s, buf), what);
		if (lines[i])
			return cf_fail(c, line, "duplicate key '%s' in %s (first on line %d)", s, what,
			               cf_ln(c, lines[i]));
		lines[i] = line;
		vals[i] = cf_node_at(c, q->value);
	}
	return 0;
}

/*
 * weighted and geoproximity: {ENDPOINT: N, ...} or [{ATTR: N, node: NODE}, ...],
 * where ATTR is "weight" (0..255) or "bias" (-99..99).
 */
static int child_pairs(struct ctx *c, const char *what, yaml_node_t *v, unsigned depth,
                       struct rwd_policy *p, unsigned *height)
{
	bool bias = p->kind == RWD_POLICY_GEOPROXIMITY;
	const char *attr = bias ? "bias" : "weight";
	long long lo = bias ? -99 : 0, hi = bias ? 99 : 255;
	int rc;

	if (v->type != YAML_MAPPING_NODE && v->type != YAML_SEQUENCE_NODE)
		return cf_fail(c, cf_line_of(v), "%s: expected a mapping of endpoint: %s, or a list of "
		               "{%s: N, node: POLICY}", what, attr, attr);
	unsigned n = count_of(v);
	if (n == 0)
		return cf_fail(c, cf_line_of(v), "%s: expected at least one entry", what);
	if ((rc = alloc_children(c, p, n)))
		return rc;
	for (unsigned k = 0; k < n; k++) {
		struct rwd_policy_child *ch = &p->u.children.v[k];
		int *val = bias ? &ch->bias : &ch->weight;
		unsigned h = 1;
		if (v->type == YAML_MAPPING_NODE) {
			yaml_node_pair_t *pair = &v->data.mapping.pairs.start[k];
			yaml_node_t *key = cf_node_at(c, pair->key);
			const char *s = cf_scalar(key);
			if (!s)
				return cf_fail(c, cf_line_of(key), "keys must be plain names (in %s)", what);
			if ((rc = endpoint_node(c, s, cf_line_of(key), &ch->node)) ||
			    (rc = policy_int(c, what, attr, cf_node_at(c, pair->value), lo, hi, val)))
				return rc;
			/* A key twice is a slip (YAML itself allows it); a list may repeat. */
			for (unsigned j = 0; j < k; j++)
				if (p->u.children.v[j].node->u.endpoint == ch->node->u.endpoint)
					return cf_fail(c, cf_line_of(key), "%s: duplicate endpoint '%s' (first "
					               "on line %d)", what, s,
					               cf_ln(c, p->u.children.v[j].node->line));
		} else {
			yaml_node_t *e = cf_node_at(c, v->data.sequence.items.start[k]);
			const char *names[] = { attr, "node" };
			yaml_node_t *vals[2] = { NULL, NULL }, *num, *node;
			if (e->type != YAML_MAPPING_NODE)
				return cf_fail(c, cf_line_of(e), "%s: expected a list of {%s: N, node: POLICY}",
				               what, attr);
			if ((rc = policy_keys(c, what, e, names, 2, vals)))
				return rc;
			num = vals[0];
			node = vals[1];
			if (!num || !node)
				return cf_fail(c, cf_line_of(e), "missing required key '%s' in %s",
				               num ? "node" : attr, what);
			if ((rc = policy_int(c, what, attr, num, lo, hi, val)) ||
			    (rc = policy(c, node, depth + 1, &ch->node, &h)))
				return rc;
		}
		if (h + 1 > *height)
			*height = h + 1;
		if (bias && ch->node->kind == RWD_POLICY_ENDPOINT && !ch->node->u.endpoint->has_location)
			return cf_fail(c, ch->node->line, "geoproximity: endpoint '%s' has no location",
			               ch->node->u.endpoint->name);
	}
	return 0;
}

static int multivalue(struct ctx *c, yaml_node_t *v, unsigned depth, struct rwd_policy *p,
                      unsigned *height)
{
	yaml_node_t *of = NULL;
	int count = DEFAULT_MULTIVALUE, rc;

	if (v->type == YAML_SEQUENCE_NODE) {
		of = v;
	} else if (v->type == YAML_MAPPING_NODE) {
		static const char *const names[] = { "count", "of" };
		yaml_node_t *vals[2] = { NULL, NULL };
		if ((rc = policy_keys(c, "multivalue", v, names, 2, vals)))
			return rc;
		if (vals[0] && (rc = policy_int(c, "multivalue", "count", vals[0], 1, MAX_MULTIVALUE,
		                                &count)))
			return rc;
		of = vals[1];
		if (!of)
			return cf_fail(c, cf_line_of(v), "missing required key 'of' in multivalue");
	} else {
		return cf_fail(c, cf_line_of(v), "multivalue: expected a list of policies or "
		               "{count: N, of: [POLICY, ...]}");
	}
	rc = child_list(c, "multivalue", of, depth, p, height);
	p->u.children.count = (unsigned)count;
	return rc;
}

/* geolocation and cidr: {KEY: NODE, ..., default: NODE}. */
static int rules(struct ctx *c, const char *what, yaml_node_t *v, unsigned depth,
                 struct rwd_policy *p, unsigned *height)
{
	bool geo = p->kind == RWD_POLICY_GEOLOCATION;
	struct rwd_policy **fallback = geo ? &p->u.geo.fallback : &p->u.cidr.fallback;
	unsigned *nrules = geo ? &p->u.geo.n : &p->u.cidr.n;
	int default_line = 0, rc = 0;
	char buf[68];

	if (v->type != YAML_MAPPING_NODE)
		return cf_fail(c, cf_line_of(v), "%s: expected a mapping of %s to policies", what,
		               geo ? "codes" : "prefixes");
	unsigned n = count_of(v);
	if (n == 0)
		return cf_fail(c, cf_line_of(v), "%s: expected at least one entry", what);
	struct keyline *keys = calloc(n, sizeof(*keys));
	if (!keys || !(geo ? (void *)(p->u.geo.v = cf_alloc(c, n, sizeof(*p->u.geo.v)))
	                   : (void *)(p->u.cidr.v = cf_alloc(c, n, sizeof(*p->u.cidr.v))))) {
		free(keys);
		return cf_nomem(c);
	}
	for (unsigned k = 0; k < n && !rc; k++) {
		yaml_node_pair_t *pair = &v->data.mapping.pairs.start[k];
		yaml_node_t *key = cf_node_at(c, pair->key);
		const char *s = cf_scalar(key);
		int line = cf_line_of(key);
		struct rwd_policy **node;
		unsigned h = 0;
		if (!s) {
			rc = cf_fail(c, line, "keys must be plain names (in %s)", what);
			break;
		}
		if (!strcmp(s, "default")) {
			if (default_line) {
				rc = cf_fail(c, line, "%s: duplicate %s 'default' (first on line %d)", what,
				             geo ? "code" : "prefix", cf_ln(c, default_line));
				break;
			}
			default_line = line;
			node = fallback;
		} else if (geo) {
			struct rwd_geo_rule *r = &p->u.geo.v[*nrules];
			if (rwd_geo_code_parse(s, &r->level, r->code) != 0) {
				rc = cf_fail(c, line, "geolocation: bad code '%s' (expected a continent AF AN "
				             "AS EU NA OC SA, a country like DE or a subdivision like US-CA)",
				             cf_show(s, buf));
				break;
			}
			struct keyline *kl = &keys[*nrules];
			kl->key[0] = (uint8_t)r->level;
			memcpy(kl->key + 1, r->code, sizeof(r->code));
			kl->line = line;
			kl->pos = *nrules;
			node = &r->node;
			(*nrules)++;
		} else {
			struct rwd_cidr_rule *r = &p->u.cidr.v[*nrules];
			int prc = rw_prefix_parse(s, &r->prefix, &r->len);
			if (prc == RW_EINVAL) {
				rc = cf_fail(c, line, "cidr: %s has host bits set", cf_show(s, buf));
				break;
			}
			if (prc) {
				rc = cf_fail(c, line, "cidr: bad prefix '%s' (expected ADDR/LEN)",
				             cf_show(s, buf));
				break;
			}
			struct keyline *kl = &keys[*nrules];
			kl->key[0] = r->prefix.family == AF_INET ? 4 : 6;
			memcpy(kl->key + 1, r->prefix.bytes, sizeof(r->prefix.bytes));
			kl->key[17] = r->len;
			kl->line = line;
			kl->pos = *nrules;
			node = &r->node;
			(*nrules)++;
		}
		rc = policy(c, cf_node_at(c, pair->value), depth + 1, node, &h);
		if (h + 1 > *height)
			*height = h + 1;
	}
	size_t dup, first;
	if (!rc && cf_find_dup(keys, *nrules, &dup, &first)) {
		char text[RW_PREFIX_STRLEN];
		if (geo) {
			rc = cf_fail(c, keys[dup].line, "geolocation: duplicate code '%s' (first on line %d)",
			             p->u.geo.v[keys[dup].pos].code, cf_ln(c, keys[first].line));
		} else {
			const struct rwd_cidr_rule *r = &p->u.cidr.v[keys[dup].pos];
			rw_prefix_format(&r->prefix, r->len, text, sizeof(text));
			rc = cf_fail(c, keys[dup].line, "cidr: duplicate prefix %s (first on line %d)", text,
			             cf_ln(c, keys[first].line));
		}
	}
	free(keys);
	if (!rc)
		rwd_policy_sort_rules(p);
	return rc;
}

static const struct {
	const char *name;
	enum rwd_policy_kind kind;
} policy_kinds[] = {
	{ "weighted", RWD_POLICY_WEIGHTED },
	{ "failover", RWD_POLICY_FAILOVER },
	{ "geolocation", RWD_POLICY_GEOLOCATION },
	{ "geoproximity", RWD_POLICY_GEOPROXIMITY },
	{ "latency", RWD_POLICY_LATENCY },
	{ "multivalue", RWD_POLICY_MULTIVALUE },
	{ "cidr", RWD_POLICY_CIDR },
};

static int policy_node(struct ctx *c, yaml_node_t *n, unsigned depth, struct rwd_policy **out,
                       unsigned *height)
{
	int line = cf_line_of(n);
	char buf[68], buf2[68];
	const char *s = cf_scalar(n);

	*height = 1;
	if (s && !cf_is_null(n))
		return endpoint_node(c, s, line, out);
	if (n->type != YAML_MAPPING_NODE || count_of(n) == 0)
		return cf_fail(c, line, "expected a policy: an endpoint name, or a mapping with one key: "
		               POLICY_KINDS);
	yaml_node_pair_t *pairs = n->data.mapping.pairs.start;
	yaml_node_t *key = cf_node_at(c, pairs[0].key);
	const char *k = cf_scalar(key);
	if (!k)
		return cf_fail(c, cf_line_of(key), "keys must be plain names (in a policy)");
	if (count_of(n) > 1) {
		yaml_node_t *key2 = cf_node_at(c, pairs[1].key);
		const char *k2 = cf_scalar(key2);
		return cf_fail(c, cf_line_of(key2), "a policy has exactly one key, not '%s' and '%s'",
		               cf_show(k, buf), k2 ? cf_show(k2, buf2) : "?");
	}
	size_t i;
	for (i = 0; i < sizeof(policy_kinds) / sizeof(policy_kinds[0]); i++)
		if (!strcmp(k, policy_kinds[i].name))
			break;
	if (i == sizeof(policy_kinds) / sizeof(policy_kinds[0]))
		return cf_fail(c, cf_line_of(key), "unknown policy '%s' (expected " POLICY_KINDS ")",
		               cf_show(k, buf));
	struct rwd_policy *p = new_policy(c, policy_kinds[i].kind, line);
	if (!p)
		return cf_nomem(c);
	*out = p;
	yaml_node_t *v = cf_node_at(c, pairs[0].value);
	switch (p->kind) {
	case RWD_POLICY_WEIGHTED:
	case RWD_POLICY_GEOPROXIMITY:
		return child_pairs(c, k, v, depth, p, height);
	case RWD_POLICY_FAILOVER:
	case RWD_POLICY_LATENCY:
		return child_list(c, k, v, depth, p, height);
	case RWD_POLICY_MULTIVALUE:
		return multivalue(c, v, depth, p, height);
	case RWD_POLICY_GEOLOCATION:
	case RWD_POLICY_CIDR:
		return rules(c, k, v, depth, p, height);
	case RWD_POLICY_ENDPOINT:
		break;
	}
	return 0;
}

/* One node at depth (1 = the traffic name's policy); *height: levels from it down. */
static int policy(struct ctx *c, yaml_node_t *n, unsigned depth, struct rwd_policy **out,
                  unsigned *height)
{
	int line = cf_line_of(n);
	if (depth > MAX_DEPTH)
		return cf_fail(c, line, "policy nested deeper than %d levels", MAX_DEPTH);
	if (!c->memo) {
		c->n_memo = (size_t)(c->doc->nodes.top - c->doc->nodes.start);
		if (!(c->memo = calloc(c->n_memo ? c->n_memo : 1, sizeof(*c->memo))))
			return cf_nomem(c);
	}
	size_t idx = (size_t)(n - c->doc->nodes.start);
	struct policy_memo *m = idx < c->n_memo ? &c->memo[idx] : NULL;
	if (m && m->state == 1)
		return cf_fail(c, line, "policy contains itself (through a YAML alias)");
	if (m && m->state == 2) {
		if (depth + m->height - 1 > MAX_DEPTH)
			return cf_fail(c, line, "policy nested deeper than %d levels", MAX_DEPTH);
		*out = m->p;
		*height = m->height;
		return 0;
	}
	if (m)
		m->state = 1;
	int rc = policy_node(c, n, depth, out, height);
	if (!rc && m) {
		m->state = 2;
		m->p = *out;
		m->height = (uint8_t)*height;
	}
	return rc;
}

int cf_parse_policy(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base)
{
	unsigned height = 0;
	return policy(c, v, 1, (struct rwd_policy **)((char *)base + o->off), &height);
}

/* ---- the latency table ---- */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Milliseconds: digits, optionally with a fraction (rounded). */
static bool parse_rtt(const char *s, uint32_t *ms)
{
	unsigned long long v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (unsigned)(*p - '0')) > MAX_RTT_MS)
			return false;
	if (p == s)
		return false;
	if (*p == '.') {
		if (!(p[1] >= '0' && p[1] <= '9'))
			return false;
		if (p[1] >= '5')
			v++;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p || v > MAX_RTT_MS)
		return false;
	*ms = (uint32_t)v;
	return true;
}

static bool is_letter(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* One row "client,endpoint,rtt_ms" (line already trimmed). */
static int latency_row(struct ctx *c, char *text, int line, struct rwd_latency_row *r)
{
	char buf[68];
	char *f[3];
	int n = 0;
	for (char *p = text; n < 3; n++) {
		f[n] = p;
		char *comma = strchr(p, ',');
		if (!comma)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	if (n != 2 || strchr(f[2], ','))
		return cf_fail(c, line, "expected client,endpoint,rtt_ms");
	for (int i = 0; i < 3; i++)
		f[i] = trim(f[i]);
	if (strlen(f[0]) == 2 && is_letter(f[0][0]) && is_letter(f[0][1])) {
		r->is_country = true;
		for (int i = 0; i < 2; i++)
			r->country[i] = f[0][i] >= 'a' ? (char)(f[0][i] - 32) : f[0][i];
	} else {
		int rc = rw_prefix_parse(f[0], &r->prefix, &r->len);
		if (rc == RW_EINVAL)
			return cf_fail(c, line, "client %s has host bits set", cf_show(f[0], buf));
		if (rc)
			return cf_fail(c, line, "bad client '%s' (expected a CIDR prefix or a two-letter "
			               "country code)", cf_show(f[0], buf));
	}
	if (!(r->endpoint = cf_lookup(c, cf_row_of("endpoints"), f[1])))
		return cf_fail(c, line, "unknown endpoint '%s'", cf_show(f[1], buf));
	if (!parse_rtt(f[2], &r->rtt_ms))
		return cf_fail(c, line, "bad rtt_ms '%s' (expected milliseconds 0..%d)", cf_show(f[2], buf),
		               MAX_RTT_MS);
	return 0;
}

/* "client,endpoint,rtt_ms", in any case, spaces allowed. */
static bool is_header(const char *s)
{
	const char *want = "client,endpoint,rtt_ms";
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t')
			continue;
		if ((*s >= 'A' && *s <= 'Z' ? *s + 32 : *s) != *want)
			return false;
		want++;
	}
	return !*want;
}

static int latency_rows(struct ctx *c, char *data, size_t len, struct rwd_model *m,
                        struct keyline *keys)
{
	bool first = true;
	int line = 0;
	char *nul = memchr(data, '\0', len);
	if (nul) {
		for (char *p = data; p <= nul; p++)
			line += p == data || p[-1] == '\n';
		return cf_fail(c, line, "NUL byte in the file");
	}
	for (char *p = data, *next; p; p = next) {
		char *nl = strchr(p, '\n');
		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		line++;
		char *s = trim(p);
		if (!*s || *s == '#')
			continue;
		if (first && is_header(s)) {
			first = false;
			continue;
		}
		first = false;
		struct rwd_latency_row *r = &m->latency[m->n_latency];
		int rc = latency_row(c, s, line, r);
		if (rc)
			return rc;
		struct keyline *k = &keys[m->n_latency];
		size_t e = (size_t)(r->endpoint - m->endpoints);
		k->key[0] = r->is_country ? 1 : r->prefix.family == AF_INET ? 4 : 6;
		if (r->is_country)
			memcpy(k->key + 1, r->country, 2);
		else
			memcpy(k->key + 1, r->prefix.bytes, sizeof(r->prefix.bytes));
		k->key[17] = r->len;
		for (int i = 0; i < 4; i++)
			k->key[18 + i] = (uint8_t)(e >> (24 - 8 * i));
		k->line = line;
		k->pos = m->n_latency++;
	}
	size_t dup, orig;
	if (cf_find_dup(keys, m->n_latency, &dup, &orig)) {
		const struct rwd_latency_row *r = &m->latency[keys[dup].pos];
		char client[RW_PREFIX_STRLEN];
		if (r->is_country)
			snprintf(client, sizeof(client), "%s", r->country);
		else
			rw_prefix_format(&r->prefix, r->len, client, sizeof(client));
		return cf_fail(c, keys[dup].line, "duplicate row for client %s and endpoint '%s' "
		               "(first on line %d)", client, r->endpoint->name, keys[orig].line);
	}
	return 0;
}

int cf_load_latency(struct ctx *c, const struct opt *o, const char *path, int line, void *base)
{
	struct rwd_model *m = base;
	const char *file = c->file;
	char *data;
	size_t len, n = 1;
	int rc = cf_read_whole(c, o, path, line, &data, &len);
	if (rc)
		return rc;
	for (size_t i = 0; i < len; i++)
		n += data[i] == '\n';
	struct keyline *keys = calloc(n, sizeof(*keys));
	if (!keys || !(m->latency = cf_alloc(c, n, sizeof(*m->latency)))) {
		free(keys);
		free(data);
		return cf_nomem(c);
	}
	m->n_latency = 0;
	c->file = path;
	rc = latency_rows(c, data, len, m, keys);
	c->file = file;
	free(keys);
	free(data);
	return rc;
}

/* ---- checks across values ---- */

enum { TCP = 1 << RWD_CHECK_TCP, HTTP = 1 << RWD_CHECK_HTTP, HTTPS = 1 << RWD_CHECK_HTTPS,
       DNS = 1 << RWD_CHECK_DNS };

int cf_check_health(struct ctx *c, const struct opt *o, void *elem, int line)
{
	static const struct { const char *key; unsigned types; } only[] = {
		{ "path", HTTP | HTTPS }, { "host", HTTP | HTTPS }, { "expect_status", HTTP | HTTPS },
		{ "expect_body", HTTP | HTTPS }, { "tls_verify", HTTPS }, { "cert_warn_days", HTTPS },
		{ "query", DNS }, { "qtype", DNS }, { "expect_rcode", DNS }, { "expect_answer", DNS },
	};
	static const char *const names[] = { "tcp", "http", "https", "dns" };
	static const uint16_t ports[] = { 0, 80, 443, 53 };
	struct rwd_check *k = elem;
	char path[64], a[32], b[32];

	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
		snprintf(path, sizeof(path), "health_checks.%s", only[i].key);
		int l = cf_was_set(c, path);
		if (l && !(only[i].types & (1u << k->type)))
			return cf_fail(c, l, "%s: not used by %s checks", path, names[k->type]);
	}
	if (!cf_was_set(c, "health_checks.port")) {
		if (k->type == RWD_CHECK_TCP)
			return cf_fail(c, line, "missing required key 'port' in health_checks (tcp checks "
			               "need one)");
		k->port = ports[k->type];
	}
	int l = cf_was_set(c, "health_checks.path");
	if (l && (k->path[0] != '/' || strchr(k->path, ' ')))
		return cf_fail(c, l, "health_checks.path: expected a path starting with '/', without spaces");
	l = cf_was_set(c, "health_checks.host");
	if (l && strpbrk(k->host, " /"))
		return cf_fail(c, l, "health_checks.host: expected a host name, without spaces or '/'");
	if (!cf_was_set(c, "health_checks.timeout"))
		k->timeout_ms = k->interval_ms / 2 < 1000 ? k->interval_ms / 2 : 1000;
	if (k->timeout_ms >= k->interval_ms) {
		l = cf_was_set(c, "health_checks.timeout");
		cf_fmt_ms(k->timeout_ms, a, sizeof(a));
		cf_fmt_ms(k->interval_ms, b, sizeof(b));
		return cf_fail(c, l ? l : line, "health_checks.timeout: %s is not shorter than the "
		               "interval (%s)", a, b);
	}
	return 0;
}

int cf_check_endpoint(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_endpoint *e = elem;
	int l = cf_was_set(c, "endpoints.location");
	if (l) {
		if (!cf_was_set(c, "endpoints.location.lat"))
			return cf_fail(c, l, "missing required key 'lat' in endpoints.location");
		if (!cf_was_set(c, "endpoints.location.lon"))
			return cf_fail(c, l, "missing required key 'lon' in endpoints.location");
		e->has_location = true;
	}
	int la = cf_was_set(c, "endpoints.address"), lc = cf_was_set(c, "endpoints.cname");
	if (la && lc)
		return cf_fail(c, la > lc ? la : lc, "endpoint '%s' has both address and cname "
		               "(one or the other)", e->name);
	if (!la && !lc && !e->target_len)
		return cf_fail(c, line, "endpoint '%s' needs an address, a cname or a target", e->name);
	if (e->check && !la && !lc)
		return cf_fail(c, cf_was_set(c, "endpoints.health_check"), "endpoint '%s' has a "
		               "health_check but no address or cname to check", e->name);
	return 0;
}

int cf_check_network(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_network_location *nl = elem;
	bool lat = cf_was_set(c, "geoip.networks.lat"), lon = cf_was_set(c, "geoip.networks.lon");
	if (lat != lon)
		return cf_fail(c, line, "missing required key '%s' in geoip.networks (lat and lon go "
		               "together)", lat ? "lon" : "lat");
	nl->has_location = lat;
	if (nl->subdivision[0] && !nl->country[0])
		return cf_fail(c, cf_was_set(c, "geoip.networks.subdivision"),
		               "geoip.networks.subdivision: needs a country");
	return 0;
}

int cf_check_networks(struct ctx *c, const struct opt *o, void *base)
{
	struct rwd_model *m = base;
	struct keyline *keys = calloc(m->n_networks ? m->n_networks : 1, sizeof(*keys));
	size_t dup, first;
	int rc = 0;
	if (!keys)
		return cf_nomem(c);
	for (size_t i = 0; i < m->n_networks; i++) {
		const struct rwd_network_location *nl = &m->networks[i];
		keys[i].key[0] = nl->prefix.family == AF_INET ? 4 : 6;
		memcpy(keys[i].key + 1, nl->prefix.bytes, sizeof(nl->prefix.bytes));
		keys[i].key[17] = nl->len;
		keys[i].line = c->lines[i];
		keys[i].pos = i;
	}
	if (cf_find_dup(keys, m->n_networks, &dup, &first)) {
		char text[RW_PREFIX_STRLEN];
		const struct rwd_network_location *nl = &m->networks[keys[dup].pos];
		rw_prefix_format(&nl->prefix, nl->len, text, sizeof(text));
		rc = cf_fail(c, keys[dup].line, "geoip.networks: duplicate network %s (first on line %d)",
		             text, keys[first].line);
	}
	free(keys);
	return rc;
}

int cf_check_srv(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_srv_member *s = elem;
	if (!s->endpoint->target_len)
		return cf_fail(c, cf_was_set(c, "traffic.srv.endpoint"), "srv: endpoint '%s' has no target",
		               s->endpoint->name);
	return 0;
}

static int cmp_wire(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int cmp_zone_ptr(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	return cmp_wire(x, rw_dname_len(x), y, rw_dname_len(y));
}

/* Is name at or below apex (both flat, lowercase)? */
static bool under(const uint8_t *name, const uint8_t *apex)
{
	size_t n = rw_dname_len(name), a = rw_dname_len(apex);
	for (const uint8_t *s = name; n >= a; n -= (size_t)*s + 1, s += *s + 1) {
		if (n == a)
			return !memcmp(s, apex, a);
		if (!*s)
			break;
	}
	return false;
}

/*
 * inside_zones for a view's own traffic: only the zones that view serves
 * (its own and the top-level ones), so that zone_len is the apex its
 * clients' answers come from. Views have few zones: a plain scan.
 */
static int inside_view_zones(struct ctx *c, const uint8_t *name, bool *inside, size_t *apex_len)
{
	const struct rwd_conf *conf = c->conf;
	const struct rwd_conf_view *v = c->view;
	*inside = false;
	*apex_len = 0;
	for (size_t i = 0; i < conf->n_zones + v->n_zones; i++) {
		const uint8_t *apex = i < conf->n_zones ? conf->zones[i].dname
		                                        : v->zones[i - conf->n_zones].dname;
		size_t len = rw_dname_len(apex);
		if (under(name, apex) && len > *apex_len) {
			*inside = true;
			*apex_len = len;
		}
	}
	return 0;
}

/*
 * Is name (flat, lowercase) at or below the apex of a configured zone, top
 * level or in a view? *apex_len: the length of the most specific such apex.
 */
static int inside_zones(struct ctx *c, const uint8_t *name, bool *inside, size_t *apex_len)
{
	if (c->view)
		return inside_view_zones(c, name, inside, apex_len);
	if (!c->zones_ready) {
		const struct rwd_conf *conf = c->conf;
		size_t n = conf->n_zones;
		for (size_t v = 0; v < conf->n_views; v++)
			n += conf->views[v].n_zones;
		if (n && !(c->zones = malloc(n * sizeof(*c->zones))))
			return cf_nomem(c);
		for (size_t i = 0; i < conf->n_zones; i++)
			c->zones[c->n_zones++] = conf->zones[i].dname;
		for (size_t v = 0; v < conf->n_views; v++)
			for (size_t i = 0; i < conf->views[v].n_zones; i++)
				c->zones[c->n_zones++] = conf->views[v].zones[i].dname;
		qsort(c->zones, c->n_zones, sizeof(*c->zones), cmp_zone_ptr);
		c->zones_ready = true;
	}
	*inside = false;
	for (const uint8_t *s = name;; s += *s + 1) {
		size_t slen = rw_dname_len(s), lo = 0, hi = c->n_zones;
		while (lo < hi && !*inside) {
			size_t mid = lo + (hi - lo) / 2;
			int d = cmp_wire(s, slen, c->zones[mid], rw_dname_len(c->zones[mid]));
			if (d == 0)
				*inside = true;
			else if (d < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (*inside)
			*apex_len = slen;
		if (*inside || !*s)
			return 0;
	}
}

int cf_check_traffic(struct ctx *c, const struct opt *o, void *elem, int line)
{
	static const char *const keys[] = { "policy", "alias", "srv" };
	struct rwd_traffic *t = elem;
	char name[RW_DNAME_MAXLEN * 4 + 2], path[32];
	int lines[3], first = -1, second = -1;
	bool inside = false;

	name_str(t->name, name);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "traffic.%s", keys[i]);
		lines[i] = cf_was_set(c, path);
		if (!lines[i])
			continue;
		if (first < 0 || lines[i] < lines[first]) {
			second = first;
			first = i;
		} else if (second < 0 || lines[i] < lines[second]) {
			second = i;
		}
	}
	if (first < 0)
		return cf_fail(c, line, "traffic name %s needs a policy, an alias or srv", name);
	if (second >= 0) {
		int a = first < second ? first : second, b = first < second ? second : first;
		return cf_fail(c, lines[second], "traffic name %s has both %s and %s (only one of policy, "
		               "alias and srv)", name, keys[a], keys[b]);
	}
	t->kind = first == 0 ? RWD_TRAFFIC_POLICY : first == 1 ? RWD_TRAFFIC_ALIAS : RWD_TRAFFIC_SRV;
	if (t->kind == RWD_TRAFFIC_SRV && t->n_srv == 0)
		return cf_fail(c, lines[2], "traffic.srv: expected at least one entry");
	if (t->kind == RWD_TRAFFIC_ALIAS && t->alias_len == t->name_len &&
	    !memcmp(t->alias, t->name, t->name_len))
		return cf_fail(c, lines[1], "traffic name %s is an alias of itself", name);
	size_t apex_len = 0;
	int rc = inside_zones(c, t->name, &inside, &apex_len);
	if (rc)
		return rc;
	if (!inside && c->view)
		return cf_fail(c, line, "traffic name %s is not inside any zone of view '%s'", name,
		               c->view->name);
	if (!inside)
		return cf_fail(c, line, "traffic name %s is not inside any zone", name);
	t->zone_len = (uint8_t)apex_len;
	return 0;
}

int cf_finish_model(struct ctx *c)
{
	struct rwd_model *m = c->model;
	const struct rwd_traffic *dup;
	char name[RW_DNAME_MAXLEN * 4 + 2];
	int rc = rwd_model_build_table(m, &dup);
	if (rc == RW_EEXIST) {
		const struct rwd_traffic *first = rwd_model_find(m, dup->name, dup->name_len);
		return cf_fail(c, dup->line, "duplicate traffic name '%s' (first on line %d)",
		               name_str(dup->name, name), cf_ln(c, first->line));
	}
	if (rc)
		return cf_nomem(c);
	rwd_model_assign_slots(m);
	return 0;
}

int cf_finish_view_traffic(struct ctx *c, struct rwd_view_traffic *v)
{
	const struct rwd_traffic *dup;
	char name[RW_DNAME_MAXLEN * 4 + 2];
	int rc = rwd_model_build_view_table(c->model, v, &dup);
	if (rc == RW_EEXIST) {
		const struct rwd_traffic *first = v->traffic;
		while (first->name_len != dup->name_len || memcmp(first->name, dup->name, dup->name_len))
			first++;
		return cf_fail(c, dup->line, "duplicate traffic name '%s' in view '%s' (first on line %d)",
		               name_str(dup->name, name), c->view->name, cf_ln(c, first->line));
	}
	return rc ? cf_nomem(c) : 0;
}

static int plain_line(struct ctx *c, int line)
{
	return line > c->main_lines ? 0 : line;
}

void cf_clear_overlay_lines(struct ctx *c)
{
	struct rwd_model *m = c->model;
	for (size_t i = 0; i < m->n_checks; i++)
		m->checks[i].line = plain_line(c, m->checks[i].line);
	for (size_t i = 0; i < m->n_endpoints; i++)
		m->endpoints[i].line = plain_line(c, m->endpoints[i].line);
	for (size_t i = 0; i < m->n_traffic; i++)
		m->traffic[i].line = plain_line(c, m->traffic[i].line);
	/* Every policy node is in the memo (shared ones once), or is an endpoint
	 * child of one (the map forms of weighted and geoproximity). */
	for (size_t i = 0; i < c->n_memo; i++) {
		struct rwd_policy *p = c->memo[i].state == 2 ? c->memo[i].p : NULL;
		if (!p)
			continue;
		p->line = plain_line(c, p->line);
		if (p->kind == RWD_POLICY_WEIGHTED || p->kind == RWD_POLICY_GEOPROXIMITY)
			for (unsigned k = 0; k < p->u.children.n; k++)
				p->u.children.v[k].node->line = plain_line(c, p->u.children.v[k].node->line);
	}
}

void cf_free_scratch(struct ctx *c)
{
	free(c->memo);
	free(c->zones);
	c->memo = NULL;
	c->zones = NULL;
}
