/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone building: the zone's record sources (source.h: the zone file,
 * source_file.c; the API's overrides, source_overrides.c) hand records over
 * in order; each is checked and attached to its node as it comes (one hash
 * lookup each, no global sort), then the records are grouped into RRsets,
 * checked, linked (ENTs, cuts, wildcards) and handed to answers.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/zone/build.h"
#include "server/zone/limits.h"
#include "server/zone/history.h"
#include "server/zone/source.h"

void rwd_zone_report(struct rwd_zone_ctx *c, bool warning, const char *file,
                     unsigned long line, const char *fmt, ...)
{
	char msg[RWD_ZONE_ERRLEN];
	int n = line ? snprintf(msg, sizeof(msg), "%s:%lu: %s", file, line, warning ? "warning: " : "")
	             : snprintf(msg, sizeof(msg), "%s: %s", file, warning ? "warning: " : "");
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (!warning)
		c->errors++;
	if (c->report)
		c->report(c->ctx, msg);
}

void rwd_zone_build_error(struct rwd_zone_ctx *c, const char *file, unsigned long line,
                          const char *fmt, ...)
{
	char msg[RWD_ZONE_ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rwd_zone_report(c, false, file, line, "%s", msg);
}

const uint8_t *rwd_zone_build_apex(const struct rwd_zone_ctx *c)
{
	return c->z->apex_name;
}

const struct rwd_zone_limits *rwd_zone_build_limits(const struct rwd_zone_ctx *c)
{
	return c->limits;
}

unsigned rwd_zone_build_errors(const struct rwd_zone_ctx *c)
{
	return c->errors;
}

uint32_t rwd_name_hash(const uint8_t *name, size_t len)
{
	/* Multiply-rotate over 8-byte words (lib/dname.h's steps, which
	 * rw_query_parse runs while it lowercases the question): names are
	 * short, this is a few cycles. */
	const size_t name_len = len;
	uint64_t h = rw_name_hash_init(len);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, name, 8);
		h = rw_name_hash_step(h, w);
		name += 8;
		len -= 8;
	}
	if (len) {
		/* The last 1..7 bytes as memcpy() into a zeroed word would give
		 * them, without its call: on a little-endian machine, the 8 bytes
		 * ending with the name shifted down (when the name had 8), or
		 * pieces of 4, 2 and 1. */
		uint64_t w = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (name_len >= 8) {
			memcpy(&w, name + len - 8, 8);
			w >>= (8 - len) * 8;
		} else {
			size_t o = 0;
			if (len & 4) {
				uint32_t x;
				memcpy(&x, name, 4);
				w = x;
				o = 4;
			}
			if (len & 2) {
				uint16_t x;
				memcpy(&x, name + o, 2);
				w |= (uint64_t)x << (o * 8);
				o += 2;
			}
			if (len & 1)
				w |= (uint64_t)name[o] << (o * 8);
		}
#else
		memcpy(&w, name, len);
#endif
		h = rw_name_hash_step(h, w);
	}
	return rw_name_hash_final(h);
}

static int table_grow(struct rwd_zone *z, size_t cap)
{
	struct rwd_node **t = rw_bigalloc(cap * sizeof(*t));
	if (t == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; z->table && i <= z->table_mask; i++) {
		struct rwd_node *n = z->table[i];
		if (n == NULL)
			continue;
		size_t j = n->hash & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = n;
	}
	if (z->table)
		rw_bigfree(z->table, (z->table_mask + 1) * sizeof(*t));
	z->table = t;
	z->table_mask = cap - 1;
	return 0;
}

/* A first table size from the sources' size in bytes (~40 bytes per name
 * in typical zone files), so big zones are not rehashed on the way up. */
static size_t initial_table(size_t bytes)
{
	size_t cap = 64;
	while (cap < bytes / 40 * 2 && cap < ((size_t)1 << 30))
		cap *= 2;
	return cap;
}

struct rwd_node *rwd_zone_get_node(struct rwd_zone_ctx *c, const uint8_t *name, size_t len)
{
	struct rwd_zone *z = c->z;
	uint32_t h = rwd_name_hash(name, len);
	size_t i = h & z->table_mask;
	for (struct rwd_node *n; (n = z->table[i]) != NULL; i = (i + 1) & z->table_mask)
		if (n->hash == h && n->name_len == len && memcmp(n->name, name, len) == 0)
			return n;

	/* Keep the load factor under 1/2: misses then probe ~1.5 slots. */
	if ((z->n_nodes + 1) * 2 > z->table_mask + 1) {
		if (table_grow(z, (z->table_mask + 1) * 2) < 0)
			return NULL;
		i = h & z->table_mask;
		while (z->table[i])
			i = (i + 1) & z->table_mask;
	}
	if (z->n_nodes == c->cap_nodes) {
		size_t cap = c->cap_nodes ? c->cap_nodes * 2 : 1024;
		struct rwd_node **nn = realloc(c->nodes, cap * sizeof(*nn));
		if (nn == NULL)
			return NULL;
		c->nodes = nn;
		struct rwd_zone_rec **nh = realloc(c->heads, cap * sizeof(*nh));
		if (nh == NULL)
			return NULL;
		c->heads = nh;
		c->cap_nodes = cap;
	}
	struct rwd_node *n = rw_arena_alloc(z->arena, sizeof(*n) + len);
	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	memcpy(n->name, name, len);
	n->name_len = (uint8_t)len;
	n->hash = h;
	n->id = (uint32_t)z->n_nodes;
	c->nodes[n->id] = n;
	c->heads[n->id] = NULL;
	z->table[i] = n;
	z->n_nodes++;
	return n;
}

static bool is_meta_type(uint16_t t)
{
	return t == RW_TYPE_OPT || (t >= 128 && t <= 255) /* TKEY, TSIG, IXFR, AXFR, ANY, ... */;
}

int rwd_zone_add_record(struct rwd_zone_ctx *c, const uint8_t *owner_in, size_t owner_len,
                        uint16_t rclass, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                        uint16_t rdlen, const char *file, unsigned long line)
{
	struct rwd_zone *z = c->z;
	uint8_t owner[RW_DNAME_MAXLEN];
	memcpy(owner, owner_in, owner_len);
	rw_dname_lower(owner);
	char txt[RW_DNAME_MAXLEN * 4 + 1];

	if (rclass != RW_CLASS_IN) {
		rwd_zone_report(c, false, file, line, "class %u not supported (only IN)", rclass);
		return 0;
	}
	if (!rw_dname_is_sub(owner, z->apex_name)) {
		rw_dname_to_str(owner, txt, sizeof(txt));
		rwd_zone_report(c, false, file, line, "%s is outside the zone", txt);
		return 0;
	}
	if (is_meta_type(type)) {
		rwd_zone_report(c, false, file, line, "type %u cannot appear in a zone", type);
		return 0;
	}
	if (rw_rdata_check(type, rdata, rdlen) < 0) {
		rwd_zone_report(c, false, file, line, "malformed data for type %u", type);
		return 0;
	}
	/* Records of one name usually come together: skip the hash lookup. */
	struct rwd_node *n = c->last_node;
	if (n == NULL || n->name_len != owner_len || memcmp(n->name, owner, n->name_len) != 0)
		n = c->last_node = rwd_zone_get_node(c, owner, owner_len);
	struct rwd_zone_rec *r = rw_arena_alloc(&c->scratch, sizeof(*r) + rdlen);
	if (n == NULL || r == NULL)
		return RW_ENOMEM;
	/* A source may free the file name once done with it (zscanner does an
	 * $INCLUDE's): keep a copy. */
	if (c->last_file == NULL || strcmp(c->last_file, file) != 0)
		c->last_file = rw_arena_memdup(&c->scratch, file, strlen(file) + 1);
	if (c->last_file == NULL)
		return RW_ENOMEM;
	r->file = c->last_file;
	r->type = type;
	r->ttl = ttl;
	r->line = (uint32_t)line;
	r->rdlen = rdlen;
	memcpy(r->rdata, rdata, rdlen);
	r->next = c->heads[n->id];
	c->heads[n->id] = r;
	return 0;
}

/* Backward-shift deletion: the entries after n in its probe run move up
 * into the hole when their home slot allows, so no run is broken. */
void rwd_zone_table_remove(struct rwd_zone *z, const struct rwd_node *n)
{
	size_t m = z->table_mask, i = n->hash & m;
	while (z->table[i] != n)
		i = (i + 1) & m;
	for (size_t j = (i + 1) & m; z->table[j] != NULL; j = (j + 1) & m) {
		size_t home = z->table[j]->hash & m;
		if (((j - home) & m) >= ((j - i) & m)) {   /* the hole is between home and j */
			z->table[i] = z->table[j];
			i = j;
		}
	}
	z->table[i] = NULL;
}

int rwd_zone_replace_rrset(struct rwd_zone_ctx *c, const struct rwd_zone_override *ov)
{
	size_t len = rw_dname_len(ov->owner);
	/* Removing what is not there makes no name. */
	struct rwd_node *n = ov->count ? rwd_zone_get_node(c, ov->owner, len)
	                               : (struct rwd_node *)rwd_zone_find(c->z, ov->owner, len);
	if (n == NULL)
		return ov->count == 0 ? 0 : RW_ENOMEM;
	struct rwd_zone_rec **pp = &c->heads[n->id];
	while (*pp)
		if ((*pp)->type == ov->type)
			*pp = (*pp)->next;
		else
			pp = &(*pp)->next;
	/* In the order given: grouping keeps the list order of records
	 * on one line (here all 0), and the list is newest first. */
	const uint8_t *rd = ov->rdata;
	pp = &c->heads[n->id];
	for (unsigned k = 0; k < ov->count; k++) {
		uint16_t rdlen = rw_get16(rd);
		struct rwd_zone_rec *r = rw_arena_alloc(&c->scratch, sizeof(*r) + rdlen);
		if (r == NULL)
			return RW_ENOMEM;
		*r = (struct rwd_zone_rec){ .file = c->path, .ttl = ov->ttl, .line = 0,
		                            .type = ov->type, .rdlen = rdlen };
		memcpy(r->rdata, rd + 2, rdlen);
		r->next = *pp;
		*pp = r;
		pp = &r->next;
		rd += 2u + rdlen;
	}
	return 0;
}

void rwd_zone_set_serial(struct rwd_zone_ctx *c, uint32_t serial)
{
	for (struct rwd_zone_rec *r = c->heads[c->z->apex->id]; r; r = r->next) {
		if (r->type != RW_TYPE_SOA)
			continue;
		size_t off = rw_dname_len(r->rdata);
		off += rw_dname_len(r->rdata + off);
		rw_put32(r->rdata + off, serial);
	}
}

/*
 * A name exists only if it owns records or a name below it does (RFC 1034
 * 3.1, RFC 4592 2.2.2, RFC 8020): a node the overrides left without records
 * goes, so its name is NXDOMAIN (or matched by a wildcard again), unless
 * rwd_zone_link() brings it back as the empty non-terminal above a name
 * that remains. Ids stay dense, in creation order.
 */
void rwd_zone_drop_empty_nodes(struct rwd_zone_ctx *c)
{
	struct rwd_zone *z = c->z;
	size_t n = z->n_nodes, kept = 0;
	for (size_t id = 0; id < n; id++) {
		struct rwd_node *node = c->nodes[id];
		if (c->heads[id] == NULL && node != z->apex) {
			rwd_zone_table_remove(z, node);
			continue;
		}
		node->id = (uint32_t)kept;
		c->nodes[kept] = node;
		c->heads[kept++] = c->heads[id];
	}
	z->n_nodes = kept;
	c->last_node = NULL;
}

struct rwd_zone *rwd_zone_load(const uint8_t *origin, const char *path,
                               rwd_report_fn report, void *ctx)
{
	return rwd_zone_load_opts(origin, path, NULL, report, ctx);
}

struct rwd_zone *rwd_zone_load_opts(const uint8_t *origin, const char *path,
                                    const struct rwd_zone_load_opts *opts,
                                    rwd_report_fn report, void *ctx)
{
	return rwd_zone_load_limits(origin, path, opts, NULL, report, ctx);
}

struct rwd_zone *rwd_zone_load_limits(const uint8_t *origin, const char *path,
                                      const struct rwd_zone_load_opts *opts,
                                      const struct rwd_zone_limits *limits,
                                      rwd_report_fn report, void *ctx)
{
	struct rwd_record_source src[2] = { rwd_source_file(path) };
	size_t n = 1;
	if (opts != NULL)
		src[n++] = rwd_source_overrides(opts);
	return rwd_zone_build_sources(origin, path, src, n, limits, report, ctx);
}

struct rwd_zone *rwd_zone_build_sources(const uint8_t *origin, const char *path,
                                        const struct rwd_record_source *src, size_t n_src,
                                        const struct rwd_zone_limits *limits,
                                        rwd_report_fn report, void *ctx)
{
	static const struct rwd_zone_limits defaults = RWD_ZONE_LIMITS_DEFAULT;
	struct rwd_zone *z = calloc(1, sizeof(*z));
	struct rwd_zone_ctx c = { .z = z, .path = path, .report = report, .ctx = ctx,
	                          .limits = limits ? limits : &defaults };
	if (z == NULL)
		return NULL;
	z->refs = 1;
	z->seg = rwd_zone_seg_new(NULL, 16 * 1024);
	if (z->seg == NULL) {
		free(z);
		return NULL;
	}
	size_t hint = 0;
	for (size_t i = 0; i < n_src; i++)
		hint += src[i].size_hint ? src[i].size_hint(&src[i]) : 0;
	z->arena = &z->seg->arena;
	z->deps = z->seg->deps = rwd_deps_new(initial_table(hint) / 4);
	rw_arena_init(&c.scratch, 16 * 1024);
	z->apex_len = (uint8_t)rw_dname_len(origin);
	z->apex_labels = (uint8_t)rw_dname_labels(origin);
	memcpy(z->apex_name, origin, z->apex_len);
	z->file = strdup(path);

	int ret = z->file && z->deps ? table_grow(z, initial_table(hint)) : RW_ENOMEM;
	if (ret == 0 && (z->apex = rwd_zone_get_node(&c, origin, z->apex_len)) == NULL)
		ret = RW_ENOMEM;
	/* In order; a source's errors keep the next from running (the zone
	 * fails anyway, and an override on a broken file means nothing). */
	for (size_t i = 0; i < n_src && ret == 0 && c.errors == 0; i++)
		ret = src[i].read(&src[i], &c);
	if (ret == 0 && c.errors == 0)
		ret = rwd_zone_group(&c);
	if (ret == 0 && c.errors == 0)
		ret = rwd_zone_link(&c);
	if (ret == 0 && c.errors == 0)
		ret = rwd_zone_build_answers(&c);

	if (ret == RW_ENOMEM)
		rwd_zone_report(&c, false, path, 0, "out of memory");
	rw_arena_free(&c.scratch);
	free(c.heads);
	free(c.nodes);
	free(c.parents);
	if (ret < 0 || c.errors > 0) {
		rwd_zone_free(z);
		return NULL;
	}
	z->next_id = (uint32_t)z->n_nodes;
	z->seg->base_bytes = z->arena->total;
	return z;
}

void rwd_zone_ref(struct rwd_zone *z)
{
	__atomic_add_fetch(&z->refs, 1, __ATOMIC_RELAXED);
}

void rwd_zone_free(struct rwd_zone *z)
{
	if (z == NULL || __atomic_sub_fetch(&z->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	rw_bigfree(z->table, (z->table_mask + 1) * sizeof(*z->table));
	rwd_zone_seg_unref(z->seg);
	rwd_zone_history_free(z->history);
	free(z->file);
	free(z);
}

struct rwd_zone *rwd_zone_failed(const uint8_t *origin, const char *path)
{
	struct rwd_zone *z = calloc(1, sizeof(*z));
	struct rwd_zone_ctx c = { .z = z, .path = path };
	if (z == NULL)
		return NULL;
	z->refs = 1;
	z->failed = true;
	z->apex_len = (uint8_t)rw_dname_len(origin);
	z->apex_labels = (uint8_t)rw_dname_labels(origin);
	memcpy(z->apex_name, origin, z->apex_len);
	z->file = strdup(path);
	z->seg = rwd_zone_seg_new(NULL, 1024);
	struct rwd_answer *a = NULL;
	if (z->seg && z->file) {
		z->arena = &z->seg->arena;
		if (table_grow(z, 4) == 0 && (z->apex = rwd_zone_get_node(&c, origin, z->apex_len)))
			a = rw_arena_alloc(z->arena, sizeof(*a));
	}
	free(c.heads);
	free(c.nodes);
	if (a == NULL) {
		rwd_zone_free(z);
		return NULL;
	}
	/*
	 * Every lookup ends in SERVFAIL with no records, without a test on the
	 * query path: the apex is every name's closest encloser (no other node),
	 * its own wildcard (so names below it take the apex's answer, not
	 * NXDOMAIN), and answers every type, like the zone's shared negative
	 * answers, with the one SERVFAIL answer. Not authoritative, as Knot DNS.
	 */
	memset(a, 0, sizeof(*a));
	a->rcode = RW_RCODE_SERVFAIL;
	a->qname_len = z->apex_len;
	z->apex->flags = RWD_NODE_APEX;
	z->apex->wildcard = z->apex;
	z->apex->other = a;
	z->nxdomain = z->nodata = a;
	z->next_id = (uint32_t)z->n_nodes;
	return z;
}

struct rwd_zone_seg *rwd_zone_seg_new(struct rwd_zone_seg *prev, size_t chunk)
{
	struct rwd_zone_seg *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->refs = 1;
	rw_arena_init(&s->arena, chunk);
	if (prev != NULL) {
		__atomic_add_fetch(&prev->refs, 1, __ATOMIC_RELAXED);
		s->prev = prev;
		s->deps = prev->deps;
		s->base_bytes = prev->base_bytes;
		s->patch_bytes = prev->patch_bytes;
	}
	return s;
}

/* Iterative: a chain may be thousands of segments long. */
void rwd_zone_seg_unref(struct rwd_zone_seg *s)
{
	while (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		struct rwd_zone_seg *prev = s->prev;
		rw_arena_free(&s->arena);
		if (prev == NULL)
			rwd_deps_free(s->deps);
		free(s);
		s = prev;
	}
}
