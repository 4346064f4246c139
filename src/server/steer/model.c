/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The traffic model: construction helpers, the traffic name table, and the
 * small parsers (addresses, prefixes, geolocation codes) shared by the
 * configuration loader and, later, the control API.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/error.h"
#include "server/steer/model.h"

struct rwd_model *rwd_model_new(void)
{
	struct rwd_model *m = calloc(1, sizeof(*m));
	if (m)
		rw_arena_init(&m->arena, 16 * 1024);
	return m;
}

void rwd_model_free(struct rwd_model *m)
{
	if (!m)
		return;
	rw_arena_free(&m->arena);
	free(m);
}

void rwd_model_assign_slots(struct rwd_model *m)
{
	uint32_t slot = 0;
	for (size_t i = 0; i < m->n_endpoints; i++) {
		struct rwd_endpoint *e = &m->endpoints[i];
		for (unsigned k = 0; k < e->n_addrs; k++)
			e->addrs[k].slot = slot++;
		e->slot = e->n_addrs == 0 && e->cname_len > 0 ? slot++ : RWD_NO_SLOT;
	}
	m->n_slots = slot;
}

/* FNV-1a, 64 bits: names are short, and the table is built once per model. */
static uint64_t hash_name(const uint8_t *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 0x100000001b3ULL;
	return h;
}

/* A name table for traffic[0..n) in arena (see rwd_model_build_table). */
static int build_table(struct rw_arena *arena, struct rwd_traffic *traffic, size_t n,
                       struct rwd_traffic ***table, size_t *mask, const struct rwd_traffic **dup)
{
	*table = NULL;
	*mask = 0;
	*dup = NULL;
	if (n == 0)
		return 0;
	/* Load factor at most 1/2: probes stay short and always end at a NULL. */
	size_t size = 8;
	while (size < 2 * n) {
		if (size > SIZE_MAX / 4 / sizeof(**table))
			return RW_ENOMEM;
		size *= 2;
	}
	struct rwd_traffic **t = rw_arena_alloc(arena, size * sizeof(*t));
	if (!t)
		return RW_ENOMEM;
	memset(t, 0, size * sizeof(*t));
	*table = t;
	*mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		struct rwd_traffic *e = &traffic[i];
		size_t k = (size_t)hash_name(e->name, e->name_len) & (size - 1);
		for (; t[k]; k = (k + 1) & (size - 1)) {
			if (t[k]->name_len == e->name_len && !memcmp(t[k]->name, e->name, e->name_len)) {
				*dup = e;
				return RW_EEXIST;
			}
		}
		t[k] = e;
	}
	return 0;
}

int rwd_model_build_table(struct rwd_model *m, const struct rwd_traffic **dup)
{
	return build_table(&m->arena, m->traffic, m->n_traffic, &m->table, &m->table_mask, dup);
}

int rwd_model_build_view_table(struct rwd_model *m, struct rwd_view_traffic *v,
                               const struct rwd_traffic **dup)
{
	return build_table(&m->arena, v->traffic, v->n_traffic, &v->table, &v->table_mask, dup);
}

static const struct rwd_traffic *find(struct rwd_traffic *const *table, size_t mask,
                                      const uint8_t *name, size_t len)
{
	if (!table)
		return NULL;
	for (size_t k = (size_t)hash_name(name, len) & mask; table[k]; k = (k + 1) & mask) {
		const struct rwd_traffic *e = table[k];
		if (e->name_len == len && !memcmp(e->name, name, len))
			return e;
	}
	return NULL;
}

const struct rwd_traffic *rwd_model_find(const struct rwd_model *m, const uint8_t *name, size_t len)
{
	return find(m->table, m->table_mask, name, len);
}

const struct rwd_traffic *rwd_model_find_in_view(const struct rwd_model *m, size_t view,
                                                 const uint8_t *name, size_t len)
{
	if (view < m->n_views) {
		const struct rwd_view_traffic *v = &m->views[view];
		const struct rwd_traffic *t = find(v->table, v->table_mask, name, len);
		if (t)
			return t;
	}
	return find(m->table, m->table_mask, name, len);
}

const struct rwd_endpoint *rwd_model_find_endpoint(const struct rwd_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_endpoints; i++)
		if (!strcmp(m->endpoints[i].name, name))
			return &m->endpoints[i];
	return NULL;
}

/* ---- rule order ---- */

static int cmp_geo(const void *a, const void *b)
{
	const struct rwd_geo_rule *x = a, *y = b;
	if (x->level != y->level)
		return x->level > y->level ? -1 : 1;
	return strcmp(x->code, y->code);
}

static int cmp_cidr(const void *a, const void *b)
{
	const struct rwd_cidr_rule *x = a, *y = b;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	if (x->prefix.family != y->prefix.family)
		return x->prefix.family == AF_INET ? -1 : 1;
	return memcmp(x->prefix.bytes, y->prefix.bytes, sizeof(x->prefix.bytes));
}

void rwd_policy_sort_rules(struct rwd_policy *p)
{
	if (p->kind == RWD_POLICY_GEOLOCATION && p->u.geo.n > 1)
		qsort(p->u.geo.v, p->u.geo.n, sizeof(*p->u.geo.v), cmp_geo);
	else if (p->kind == RWD_POLICY_CIDR && p->u.cidr.n > 1)
		qsort(p->u.cidr.v, p->u.cidr.n, sizeof(*p->u.cidr.v), cmp_cidr);
}

/* ---- geolocation codes ---- */

static const char continents[][3] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };

static bool is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }
static bool is_alnum(char ch) { return is_alpha(ch) || (ch >= '0' && ch <= '9'); }
static char upper(char ch) { return ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch; }

static bool is_continent(const char *code)
{
	for (size_t i = 0; i < sizeof(continents) / sizeof(continents[0]); i++)
		if (!strcmp(code, continents[i]))
			return true;
	return false;
}

int rwd_geo_code_parse(const char *text, enum rwd_geo_level *level, char code[8])
{
	int force = 0;
	char c[8];
	size_t n = strlen(text);

	if (!strncasecmp(text, "country:", 8))
		force = RWD_GEO_COUNTRY, text += 8, n -= 8;
	else if (!strncasecmp(text, "continent:", 10))
		force = RWD_GEO_CONTINENT, text += 10, n -= 10;
	if (n < 2 || n > 6 || !is_alpha(text[0]) || !is_alpha(text[1]))
		return RW_EINVAL;
	for (size_t i = 0; i <= n; i++)
		c[i] = upper(text[i]);
	if (n == 2) {
		bool cont = is_continent(c);
		if (force == RWD_GEO_CONTINENT && !cont)
			return RW_EINVAL;
		*level = force ? (enum rwd_geo_level)force : cont ? RWD_GEO_CONTINENT : RWD_GEO_COUNTRY;
	} else {
		/* "US-CA": a country, '-', then 1..3 letters or digits. */
		if (force || c[2] != '-' || n < 4)
			return RW_EINVAL;
		for (size_t i = 3; i < n; i++)
			if (!is_alnum(c[i]))
				return RW_EINVAL;
		*level = RWD_GEO_SUBDIVISION;
	}
	memcpy(code, c, n + 1);
	return 0;
}
