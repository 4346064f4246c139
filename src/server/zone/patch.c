/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Incremental zone changes (see "Incremental changes" in zone.h): a new
 * version of a built zone from RRset overrides, rebuilding only the nodes
 * the change reaches and sharing every other node, RRset and answer with
 * the previous version. And the dependency index that finds those nodes.
 *
 * The steps of rwd_zone_patch(), over a working set W of touched names:
 *   1. the overridden RRsets (and the apex's SOA with the new serial);
 *   2. new names and the empty non-terminals above them; and, since a name
 *      exists only if it owns records or a name below it does (RFC 1034
 *      3.1, RFC 8020), the names left without records and nothing below
 *      go, with the empty non-terminals above them left with nothing below
 *      (up to the apex), as the full load drops them: the new table loses
 *      them, and their names count as changed (existence) from here on;
 *   3. every node below a node that is or was a delegation (cut pointers);
 *   4. the cut each node of W is under, top-down; with 1-3 this gives the
 *      names whose meaning changed (data, existence, cut);
 *   5. the nodes whose answers read those names (the index), to rebuild;
 *   6. closure: a replaced delegation brings its subtree (cut pointers), a
 *      replaced or removed "*" node its parent (wildcard pointer);
 * then every node of W that stays gets a new version in the new segment,
 * the new table (a copy of the old one) points at them and loses the
 * removed ones (backward-shift deletion), pointers are set by name (a
 * removed "*" node leaves none), the answers of the nodes from 1, 2, 4 and
 * 5 are rebuilt, and the index learns the new dependencies (the new
 * children it learnt in step 2: a new child keeps its parent in
 * existence, which the removals must see).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/zone/build.h"

/* ---- the dependency index ---- */

struct dep_entry {
	uint32_t key;
	uint32_t next;                   /* 1 + index of the next entry of the bucket, 0: end;
	                                    the top bit is the kind (CHILD) */
	const uint8_t *name;
};
#define KIND_BIT 0x80000000u

struct rwd_zone_deps {
	struct dep_entry *e;
	size_t n, cap;
	uint32_t *heads;                 /* per bucket: 1 + index of the newest entry */
	size_t mask;                     /* buckets - 1 */
	bool broken;                     /* an update failed half-way: patches refused */
	struct rw_arena names;
};

struct rwd_zone_deps *rwd_deps_new(size_t hint)
{
	struct rwd_zone_deps *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	size_t buckets = 1024;
	while (buckets < hint && buckets < ((size_t)1 << 30))
		buckets *= 2;
	d->mask = buckets - 1;
	d->heads = rw_bigalloc(buckets * sizeof(uint32_t));
	rw_arena_init(&d->names, 4096);
	if (d->heads == NULL) {
		rwd_deps_free(d);
		return NULL;
	}
	return d;
}

void rwd_deps_free(struct rwd_zone_deps *d)
{
	if (d == NULL)
		return;
	rw_bigfree(d->heads, (d->mask + 1) * sizeof(uint32_t));
	rw_bigfree(d->e, d->cap * sizeof(*d->e));
	rw_arena_free(&d->names);
	free(d);
}

/* Twice the buckets, chains rebuilt in entry order (newest first again). */
static int deps_rehash(struct rwd_zone_deps *d)
{
	size_t buckets = (d->mask + 1) * 2;
	uint32_t *h = rw_bigalloc(buckets * sizeof(uint32_t));
	if (h == NULL)
		return RW_ENOMEM;
	rw_bigfree(d->heads, (d->mask + 1) * sizeof(uint32_t));
	d->mask = buckets - 1;
	for (size_t i = 0; i < d->n; i++) {
		uint32_t *head = &h[d->e[i].key & d->mask];
		d->e[i].next = (d->e[i].next & KIND_BIT) | *head;
		*head = (uint32_t)(i + 1);
	}
	d->heads = h;
	return 0;
}

int rwd_deps_add(struct rwd_zone_deps *d, enum rwd_dep_kind kind, uint32_t key,
                 const uint8_t *name)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4096;
		if (cap >= KIND_BIT)
			return RW_ELIMIT;
		struct dep_entry *e = rw_bigalloc(cap * sizeof(*e));
		if (e == NULL)
			return RW_ENOMEM;
		if (d->n)
			memcpy(e, d->e, d->n * sizeof(*e));
		rw_bigfree(d->e, d->cap * sizeof(*d->e));
		d->e = e;
		d->cap = cap;
	}
	/* Two entries per bucket on average: chains stay short, the buckets
	 * take a quarter of the entries' memory. */
	if (d->n > 2 * (d->mask + 1) && deps_rehash(d) < 0)
		return RW_ENOMEM;
	uint32_t *head = &d->heads[key & d->mask];
	d->e[d->n] = (struct dep_entry){ .key = key, .name = name,
	                                 .next = *head | (kind == RWD_DEP_CHILD ? KIND_BIT : 0) };
	*head = (uint32_t)(++d->n);
	return 0;
}

const uint8_t *rwd_deps_name(struct rwd_zone_deps *d, const uint8_t *name, size_t len)
{
	return rw_arena_memdup(&d->names, name, len);
}

/* Walk the names registered under (kind, key), from entry i on (1-based). */
static uint32_t deps_scan(const struct rwd_zone_deps *d, uint32_t i, enum rwd_dep_kind kind,
                          uint32_t key)
{
	uint32_t k = kind == RWD_DEP_CHILD ? KIND_BIT : 0;
	while (i && (d->e[i - 1].key != key || (d->e[i - 1].next & KIND_BIT) != k))
		i = d->e[i - 1].next & ~KIND_BIT;
	return i;
}

static uint32_t deps_first(const struct rwd_zone_deps *d, enum rwd_dep_kind kind, uint32_t key)
{
	return deps_scan(d, d->heads[key & d->mask], kind, key);
}

static uint32_t deps_next(const struct rwd_zone_deps *d, uint32_t i, enum rwd_dep_kind kind)
{
	return deps_scan(d, d->e[i - 1].next & ~KIND_BIT, kind, d->e[i - 1].key);
}

/* ---- the working set ---- */

struct pn {
	const struct rwd_node *old;      /* NULL: a new node */
	struct rwd_node *n;              /* the new version */
	const uint8_t *name;             /* old->name, or a copy in the scratch arena */
	uint32_t hash;
	uint8_t name_len, labels;
	bool rrsets_changed;             /* rrsets[] below replace old's */
	bool meaning;                    /* data (other than the serial), existence or cut changed */
	bool rebuild;                    /* answers rebuilt */
	bool subtree;                    /* its descendants are in W too */
	bool deleg;                      /* new RWD_NODE_DELEG */
	bool live;                       /* a new name that becomes a node (step 2) */
	bool gone;                       /* no node in the new version */
	const uint8_t *iname;            /* a new node's name in the index */
	const uint8_t *cut;              /* name of the new cut, NULL: none */
	struct rwd_rrset *rrsets;        /* scratch copy while overrides apply */
	uint16_t n_rrsets, cap_rrsets;
};

struct patch {
	const struct rwd_zone *o;
	struct rwd_zone *z;
	struct pn *v;
	size_t n, cap, limit;
	uint32_t *map;                   /* open addressing: 1 + index into v */
	size_t map_mask;
	uint32_t *work;                  /* subtree expansion stack */
	size_t n_work, cap_work;
	struct rw_arena scratch;
	bool fail;
};

static bool is_wild(const uint8_t *name) { return name[0] == 1 && name[1] == '*'; }

/*
 * Does a change at x touch a DNAME (one added, removed or changed there, or
 * one above it)? Those are left to the full load: it checks that nothing
 * is below a DNAME (link.c), and names below one are answered at query
 * time, from whatever the zone holds then.
 */
static bool dname_involved(const struct patch *p, const struct pn *x, const struct rwd_node *view)
{
	if (rwd_node_rrset(view, RW_TYPE_DNAME) || (x->old && (x->old->flags & RWD_NODE_DNAME)))
		return true;
	const uint8_t *name = x->name;
	size_t len = x->name_len;
	while (len > p->o->apex_len) {
		len -= name[0] + 1u;
		name += name[0] + 1u;
		const struct rwd_node *a = rwd_zone_find(p->o, name, len);
		if (a && (a->flags & RWD_NODE_DNAME))
			return true;
	}
	return false;
}

static int map_grow(struct patch *p)
{
	size_t cap = (p->map_mask + 1) * 2;
	uint32_t *m = calloc(cap, sizeof(*m));
	if (m == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		size_t j = p->v[i].hash & (cap - 1);
		while (m[j])
			j = (j + 1) & (cap - 1);
		m[j] = (uint32_t)(i + 1);
	}
	free(p->map);
	p->map = m;
	p->map_mask = cap - 1;
	return 0;
}

/* Index in W of name, or -1. */
static long w_find(const struct patch *p, const uint8_t *name, size_t len, uint32_t h)
{
	for (size_t j = h & p->map_mask; p->map[j]; j = (j + 1) & p->map_mask) {
		const struct pn *x = &p->v[p->map[j] - 1];
		if (x->hash == h && x->name_len == len && memcmp(x->name, name, len) == 0)
			return (long)p->map[j] - 1;
	}
	return -1;
}

/*
 * Put name into W (if not there yet) and return its index; -1 on failure
 * (p->fail set) or, with !create, when the name is not a node of the old
 * zone either.
 */
static long touch(struct patch *p, const uint8_t *name, size_t len, bool create)
{
	uint32_t h = rwd_name_hash(name, len);
	long i = w_find(p, name, len, h);
	if (i >= 0 || p->fail)
		return i;
	const struct rwd_node *old = rwd_zone_find(p->o, name, len);
	if (old == NULL && !create)
		return -1;
	if (p->n == p->limit) {          /* too broad: the full load is as fast */
		p->fail = true;
		return -1;
	}
	if ((p->n + 1) * 2 > p->map_mask + 1 && map_grow(p) < 0) {
		p->fail = true;
		return -1;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct pn *v = realloc(p->v, cap * sizeof(*v));
		if (v == NULL) {
			p->fail = true;
			return -1;
		}
		p->v = v;
		p->cap = cap;
	}
	struct pn *x = &p->v[p->n];
	memset(x, 0, sizeof(*x));
	x->old = old;
	x->name = old ? old->name : rw_arena_memdup(&p->scratch, name, len);
	if (x->name == NULL) {
		p->fail = true;
		return -1;
	}
	x->hash = h;
	x->name_len = (uint8_t)len;
	x->labels = (uint8_t)rw_dname_labels(name);
	x->meaning = x->rebuild = old == NULL;
	x->cut = old && old->cut ? old->cut->name : NULL;
	x->deleg = old && (old->flags & RWD_NODE_DELEG);
	size_t j = h & p->map_mask;
	while (p->map[j])
		j = (j + 1) & p->map_mask;
	p->map[j] = (uint32_t)(p->n + 1);
	return (long)p->n++;
}

static void push_work(struct patch *p, uint32_t i)
{
	if (p->n_work == p->cap_work) {
		size_t cap = p->cap_work ? p->cap_work * 2 : 64;
		uint32_t *w = realloc(p->work, cap * sizeof(*w));
		if (w == NULL) {
			p->fail = true;
			return;
		}
		p->work = w;
		p->cap_work = cap;
	}
	p->work[p->n_work++] = i;
}

/* Mark i's subtree, putting every existing descendant into W. */
static void expand_subtree(struct patch *p, uint32_t i)
{
	if (p->v[i].subtree)
		return;
	p->v[i].subtree = true;
	push_work(p, i);
	const struct rwd_zone_deps *d = p->o->deps;
	while (p->n_work && !p->fail) {
		uint32_t k = p->work[--p->n_work];
		uint32_t h = p->v[k].hash;
		for (uint32_t e = deps_first(d, RWD_DEP_CHILD, h); e && !p->fail;
		     e = deps_next(d, e, RWD_DEP_CHILD)) {
			const uint8_t *child = d->e[e - 1].name;
			size_t clen = rw_dname_len(child);
			/* A hash collision is not a child: its parent is another name. */
			if (clen != p->v[k].name_len + child[0] + 1u ||
			    memcmp(child + child[0] + 1, p->v[k].name, p->v[k].name_len) != 0)
				continue;
			long c = touch(p, child, clen, false);
			if (c >= 0 && !p->v[c].subtree) {
				p->v[c].subtree = true;
				push_work(p, (uint32_t)c);
			}
		}
	}
}

/* Records of W entry x in the new version. */
static unsigned new_rrsets(const struct pn *x)
{
	return x->rrsets_changed ? x->n_rrsets : x->old ? x->old->n_rrsets : 0;
}

/* Whether W entry i will have a child node: one of the old zone's that
 * stays, or a new one (the index knows them from step 2 on). */
static bool has_live_child(const struct patch *p, long i)
{
	const struct rwd_zone_deps *d = p->o->deps;
	const uint8_t *name = p->v[i].name;
	size_t len = p->v[i].name_len;
	for (uint32_t e = deps_first(d, RWD_DEP_CHILD, p->v[i].hash); e;
	     e = deps_next(d, e, RWD_DEP_CHILD)) {
		const uint8_t *child = d->e[e - 1].name;
		size_t clen = rw_dname_len(child);
		if (clen != len + child[0] + 1u || memcmp(child + child[0] + 1, name, len) != 0)
			continue;
		long k = w_find(p, child, clen, rwd_name_hash(child, clen));
		if (k >= 0 ? !p->v[k].gone : rwd_zone_find(p->o, child, clen) != NULL)
			return true;
	}
	return false;
}

/*
 * W entry i has no records and no names below: it goes, and so does each
 * empty non-terminal above it that is left with nothing below (never the
 * apex). A child not decided yet counts as staying; when it goes, this
 * runs for it and looks at the parent again.
 */
static void remove_up(struct patch *p, long i)
{
	for (;;) {
		struct pn *x = &p->v[i];
		x->gone = x->meaning = true;
		const uint8_t *parent = x->name + x->name[0] + 1;
		size_t plen = x->name_len - x->name[0] - 1u;
		if (plen <= p->o->apex_len)
			return;
		long k = w_find(p, parent, plen, rwd_name_hash(parent, plen));
		if (k >= 0 && (p->v[k].gone || new_rrsets(&p->v[k]) > 0))
			return;
		if (k < 0) {
			const struct rwd_node *pn = rwd_zone_find(p->o, parent, plen);
			if (pn == NULL || pn->n_rrsets > 0 || (k = touch(p, parent, plen, false)) < 0)
				return;
		}
		if (has_live_child(p, k))
			return;
		i = k;
	}
}

/* Give W entry i its own copy of its rrsets, to change. */
static int own_rrsets(struct patch *p, struct pn *x)
{
	if (x->rrsets_changed)
		return 0;
	unsigned n = x->old ? x->old->n_rrsets : 0;
	x->cap_rrsets = (uint16_t)(n + 4);
	x->rrsets = rw_arena_alloc(&p->scratch, x->cap_rrsets * sizeof(*x->rrsets));
	if (x->rrsets == NULL)
		return RW_ENOMEM;
	if (n)
		memcpy(x->rrsets, x->old->rrsets, n * sizeof(*x->rrsets));
	x->n_rrsets = (uint16_t)n;
	x->rrsets_changed = true;
	return 0;
}

/* Replace (or with rs NULL remove) the rrset of a type, keeping them sorted. */
static int set_rrset(struct patch *p, struct pn *x, uint16_t type, const struct rwd_rrset *rs)
{
	int ret = own_rrsets(p, x);
	if (ret < 0)
		return ret;
	unsigned i = 0;
	while (i < x->n_rrsets && x->rrsets[i].type < type)
		i++;
	bool present = i < x->n_rrsets && x->rrsets[i].type == type;
	if (rs == NULL) {
		if (present) {
			memmove(&x->rrsets[i], &x->rrsets[i + 1], (x->n_rrsets - i - 1u) * sizeof(*rs));
			x->n_rrsets--;
		}
		return 0;
	}
	if (!present) {
		if (x->n_rrsets == x->cap_rrsets) {
			if (x->cap_rrsets > UINT16_MAX / 2)
				return RW_ELIMIT;
			struct rwd_rrset *r = rw_arena_alloc(&p->scratch,
			                                     2u * x->cap_rrsets * sizeof(*r));
			if (r == NULL)
				return RW_ENOMEM;
			memcpy(r, x->rrsets, x->n_rrsets * sizeof(*r));
			x->rrsets = r;
			x->cap_rrsets = (uint16_t)(2u * x->cap_rrsets);
		}
		memmove(&x->rrsets[i + 1], &x->rrsets[i], (x->n_rrsets - i) * sizeof(*rs));
		x->n_rrsets++;
	}
	x->rrsets[i] = *rs;
	return 0;
}

/* An override as an RRset in the new segment: as make_rrsets() in group.c,
 * records in the order given, duplicates dropped. */
static int override_rrset(struct patch *p, const struct rwd_zone_override *ov, struct rwd_rrset *rs)
{
	const uint8_t *rd = ov->rdata, **recs = malloc((ov->count + 1u) * sizeof(*recs));
	size_t bytes = 0;
	unsigned count = 0;
	if (recs == NULL)
		return RW_ENOMEM;
	for (unsigned k = 0; k < ov->count; k++, rd += 2u + rw_get16(rd)) {
		bool dup = false;
		for (unsigned j = 0; j < count && !dup; j++)
			dup = rw_rdata_equal(ov->type, recs[j] + 2, rw_get16(recs[j]), rd + 2, rw_get16(rd));
		if (dup)
			continue;
		if (count > UINT16_MAX / 2 - 1) {
			free(recs);
			return RW_ELIMIT;
		}
		recs[count++] = rd;
		bytes += 2u + rw_get16(rd);
	}
	rs->type = ov->type;
	rs->ttl = ov->ttl;
	rs->count = (uint16_t)count;
	rs->rdata = rw_arena_alloc(p->z->arena, bytes);
	for (unsigned j = 0, at = 0; rs->rdata && j < count; j++) {
		memcpy(rs->rdata + at, recs[j], 2u + rw_get16(recs[j]));
		at += 2u + rw_get16(recs[j]);
	}
	free(recs);
	return rs->rdata ? 0 : RW_ENOMEM;
}

static unsigned record_count(const struct rwd_rrset *rs, unsigned n)
{
	unsigned c = 0;
	for (unsigned i = 0; i < n; i++)
		c += rs[i].count;
	return c;
}

/* The new version of the apex's SOA: the same record with the serial. */
static int soa_with_serial(struct patch *p, struct pn *apex, uint32_t serial)
{
	const struct rwd_rrset *soa = rwd_node_rrset(apex->old, RW_TYPE_SOA);
	if (soa == NULL || soa->count != 1)
		return RW_EZONE;
	struct rwd_rrset rs = *soa;
	size_t len = 2u + rw_get16(soa->rdata);
	rs.rdata = rw_arena_memdup(p->z->arena, soa->rdata, len);
	if (rs.rdata == NULL)
		return RW_ENOMEM;
	rw_put32(rs.rdata + (rwd_soa_serial(soa) - soa->rdata), serial);
	return set_rrset(p, apex, RW_TYPE_SOA, &rs);
}

static int by_labels(const void *a, const void *b, void *ctx)
{
	const struct pn *v = ctx;
	unsigned x = v[*(const uint32_t *)a].labels, y = v[*(const uint32_t *)b].labels;
	return x < y ? -1 : x > y;
}

/* Steps 1-6 (see the top of the file): fill W. */
static int collect(struct patch *p, const struct rwd_zone_override *ov, size_t n_ov,
                   uint32_t serial)
{
	const struct rwd_zone *o = p->o;
	int ret = 0;

	/* 1. Overrides, and the serial. */
	for (size_t i = 0; i < n_ov && ret == 0; i++) {
		size_t len = rw_dname_len(ov[i].owner);
		if (ov[i].type == RW_TYPE_SOA || !rw_dname_is_sub(ov[i].owner, o->apex_name))
			return RW_EINVAL;
		long k = touch(p, ov[i].owner, len, true);
		if (k < 0)
			return RW_ENOMEM;
		struct rwd_rrset rs;
		if (ov[i].count && (ret = override_rrset(p, &ov[i], &rs)) < 0)
			return ret;
		ret = set_rrset(p, &p->v[k], ov[i].type, ov[i].count ? &rs : NULL);
		p->v[k].meaning = p->v[k].rebuild = true;
	}
	long apex = touch(p, o->apex_name, o->apex_len, false);
	if (apex < 0)
		return RW_ENOMEM;
	if (ret == 0 && serial)
		ret = soa_with_serial(p, &p->v[apex], serial);
	for (size_t i = 0; i < p->n && ret == 0; i++) {
		struct pn *x = &p->v[i];
		struct rwd_node view = { .rrsets = x->rrsets, .n_rrsets = x->n_rrsets };
		if (x->rrsets_changed && !rwd_zone_rrsets_ok(&view, i == (size_t)apex))
			return RW_EZONE;     /* the full load says why */
		if (x->rrsets_changed && dname_involved(p, x, &view))
			return RW_EZONE;     /* the full load checks DNAMEs (link.c) */
		if (x->rrsets_changed && (long)i != apex)
			x->deleg = rwd_node_rrset(&view, RW_TYPE_NS) != NULL;
	}
	if (ret < 0)
		return ret;

	/* 2. A new name with records is a node, and so is every name above it
	 * up to an existing one (empty non-terminals, W grows behind i); the
	 * index learns them as children now, for has_live_child(). */
	struct rwd_zone_deps *d = o->deps;
	for (size_t i = 0; i < p->n && !p->fail; i++) {
		if (p->v[i].old != NULL || p->v[i].n_rrsets == 0)
			continue;
		for (long k = (long)i; k >= 0 && !p->v[k].live;) {
			struct pn *x = &p->v[k];
			const uint8_t *parent = x->name + x->name[0] + 1;
			size_t plen = x->name_len - x->name[0] - 1u;
			x->live = true;
			if ((x->iname = rwd_deps_name(d, x->name, x->name_len)) == NULL ||
			    rwd_deps_add(d, RWD_DEP_CHILD, rwd_name_hash(parent, plen), x->iname) < 0)
				return RW_ENOMEM;
			if (rwd_zone_find(o, parent, plen) != NULL)
				break;
			k = touch(p, parent, plen, true);
		}
	}
	if (p->fail)
		return RW_ENOMEM;
	/* A new name left without records (a removal of what never was) makes
	 * no node; then (has_live_child() must see all of those) an old one
	 * without records or names below goes. */
	for (size_t i = 0; i < p->n; i++) {
		struct pn *x = &p->v[i];
		if (x->old == NULL && !x->live)
			x->gone = true, x->meaning = x->rebuild = false;
	}
	for (size_t i = 0, n0 = p->n; i < n0 && !p->fail; i++) {
		const struct pn *x = &p->v[i];
		if (x->old && x->rrsets_changed && x->n_rrsets == 0 && !x->gone &&
		    (long)i != apex && !has_live_child(p, (long)i))
			remove_up(p, (long)i);
	}
	if (p->fail)
		return RW_ENOMEM;

	/* 3. Below a delegation that is, was or became one, every node moves. */
	for (size_t i = 0; i < p->n && !p->fail; i++) {
		const struct pn *x = &p->v[i];
		if (x->old && (x->deleg || (x->old->flags & RWD_NODE_DELEG)))
			expand_subtree(p, (uint32_t)i);
	}
	if (p->fail)
		return RW_ENOMEM;

	/* 4. Cuts, top-down (a parent not in W keeps its cut). */
	uint32_t *order = malloc(p->n * sizeof(*order));
	if (order == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, p->n, sizeof(*order), by_labels, p->v);
	for (size_t k = 0; k < p->n; k++) {
		struct pn *x = &p->v[order[k]];
		const uint8_t *pcut = NULL;
		if ((long)order[k] != apex) {
			const uint8_t *parent = x->name + x->name[0] + 1;
			size_t plen = x->name_len - x->name[0] - 1u;
			long pi = w_find(p, parent, plen, rwd_name_hash(parent, plen));
			if (pi >= 0) {
				pcut = p->v[pi].cut;
			} else {
				const struct rwd_node *pn = rwd_zone_find(o, parent, plen);
				pcut = pn && pn->cut ? pn->cut->name : NULL;
			}
		}
		x->cut = pcut ? pcut : x->deleg ? x->name : NULL;
		const uint8_t *was = x->old && x->old->cut ? x->old->cut->name : NULL;
		if ((was == NULL) != (x->cut == NULL) || (was && !rw_dname_eq(was, x->cut)))
			x->meaning = x->rebuild = true;
	}
	free(order);

	/* 5. Whoever reads a name whose meaning changed is rebuilt. */
	size_t n_meaning = p->n;
	for (size_t i = 0; i < n_meaning && !p->fail; i++) {
		if (!p->v[i].meaning)
			continue;
		for (uint32_t e = deps_first(d, RWD_DEP_READS, p->v[i].hash); e && !p->fail;
		     e = deps_next(d, e, RWD_DEP_READS)) {
			const uint8_t *name = d->e[e - 1].name;
			long k = touch(p, name, rw_dname_len(name), false);
			if (k >= 0)
				p->v[k].rebuild = true;
		}
	}

	/* 6. Pointers to replaced nodes: cuts below, wildcards above. */
	for (size_t i = 0; i < p->n && !p->fail; i++) {
		const struct pn *x = &p->v[i];
		if (x->cut == x->name && x->old)
			expand_subtree(p, (uint32_t)i);
		if (is_wild(x->name) && (x->old || !x->gone))
			touch(p, x->name + 2, x->name_len - 2u, false);
	}
	return p->fail ? RW_ENOMEM : 0;
}

/* Put n into the table, over its old version if there is one. */
static void table_put(struct rwd_zone *z, struct rwd_node *n)
{
	size_t i = n->hash & z->table_mask;
	for (struct rwd_node *t; (t = z->table[i]) != NULL; i = (i + 1) & z->table_mask)
		if (t->hash == n->hash && t->name_len == n->name_len &&
		    memcmp(t->name, n->name, n->name_len) == 0)
			break;
	z->table[i] = n;
}

static int new_table(struct patch *p, size_t n_new)
{
	const struct rwd_zone *o = p->o;
	struct rwd_zone *z = p->z;
	size_t cap = o->table_mask + 1;
	while ((o->n_nodes + n_new) * 2 > cap)
		cap *= 2;
	z->table = rw_bigalloc(cap * sizeof(*z->table));
	if (z->table == NULL)
		return RW_ENOMEM;
	z->table_mask = cap - 1;
	if (cap == o->table_mask + 1) {
		memcpy(z->table, o->table, cap * sizeof(*z->table));
		return 0;
	}
	for (size_t i = 0; i <= o->table_mask; i++) {
		struct rwd_node *n = o->table[i];
		if (n == NULL)
			continue;
		size_t j = n->hash & z->table_mask;
		while (z->table[j])
			j = (j + 1) & z->table_mask;
		z->table[j] = n;
	}
	return 0;
}

/* New versions of the nodes of W, in the table, pointers set, answers built. */
static int build(struct patch *p, uint32_t serial)
{
	const struct rwd_zone *o = p->o;
	struct rwd_zone *z = p->z;
	size_t n_new = 0, n_gone = 0;
	long records = (long)o->n_records;
	for (size_t i = 0; i < p->n; i++) {
		n_new += p->v[i].old == NULL && !p->v[i].gone;
		n_gone += p->v[i].old != NULL && p->v[i].gone;
	}
	int ret = new_table(p, n_new);
	if (ret < 0)
		return ret;

	for (size_t i = 0; i < p->n; i++) {
		struct pn *x = &p->v[i];
		if (x->gone) {               /* no records left (step 2) */
			records -= x->old ? (long)record_count(x->old->rrsets, x->old->n_rrsets) : 0;
			if (x->old)
				rwd_zone_table_remove(z, x->old);
			x->n = NULL;
			continue;
		}
		struct rwd_node *n = rw_arena_alloc(z->arena, sizeof(*n) + x->name_len);
		if (n == NULL)
			return RW_ENOMEM;
		if (x->old) {
			memcpy(n, x->old, sizeof(*n) + x->name_len);
		} else {
			memset(n, 0, sizeof(*n));
			memcpy(n->name, x->name, x->name_len);
			n->name_len = x->name_len;
			n->hash = x->hash;
			n->id = z->next_id++;
		}
		if (x->rrsets_changed) {
			records -= x->old ? (long)record_count(x->old->rrsets, x->old->n_rrsets) : 0;
			records += record_count(x->rrsets, x->n_rrsets);
			n->rrsets = x->n_rrsets ? rw_arena_memdup(z->arena, x->rrsets,
			                                          x->n_rrsets * sizeof(*x->rrsets)) : NULL;
			if (x->n_rrsets && n->rrsets == NULL)
				return RW_ENOMEM;
			n->n_rrsets = x->n_rrsets;
		}
		if (x->old == NULL || x->rrsets_changed) {
			n->flags = RWD_NODE_LINKED;
			if (rw_dname_eq(x->name, o->apex_name))
				n->flags |= RWD_NODE_APEX;
			else if (x->deleg)
				n->flags |= RWD_NODE_DELEG;
			if (rwd_node_rrset(n, RW_TYPE_CNAME))
				n->flags |= RWD_NODE_CNAME;
			if (rwd_node_rrset(n, RW_TYPE_DNAME))
				n->flags |= RWD_NODE_DNAME;
		}
		if (x->rebuild) {
			n->answers = NULL;
			n->n_answers = 0;
			n->other = n->referral = NULL;
		}
		x->n = n;
		table_put(z, n);
	}
	z->n_nodes = o->n_nodes + n_new - n_gone;
	z->n_records = (size_t)records;
	z->apex = (struct rwd_node *)rwd_zone_find(z, o->apex_name, o->apex_len);

	/* Pointers: to the new version if the target is in W, else as they
	 * were (a node outside W did not change). */
	for (size_t i = 0; i < p->n; i++) {
		struct pn *x = &p->v[i];
		struct rwd_node *n = x->n;
		if (n == NULL)
			continue;
		n->cut = NULL;
		if (x->cut) {
			size_t len = rw_dname_len(x->cut);
			long k = w_find(p, x->cut, len, rwd_name_hash(x->cut, len));
			n->cut = k >= 0 ? p->v[k].n : (struct rwd_node *)rwd_zone_find(z, x->cut, len);
		}
		n->wildcard = NULL;
		if (x->name_len + 2u <= RW_DNAME_MAXLEN) {
			uint8_t wild[RW_DNAME_MAXLEN] = { 1, '*' };
			memcpy(wild + 2, x->name, x->name_len);
			long k = w_find(p, wild, x->name_len + 2u, rwd_name_hash(wild, x->name_len + 2u));
			n->wildcard = k >= 0 ? p->v[k].n /* NULL if gone */
			                     : x->old ? x->old->wildcard : NULL;
		}
	}

	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, RW_TYPE_SOA);
	z->serial = serial ? serial : rw_get32(rwd_soa_serial(soa));
	struct rwd_answers *a = rwd_answers_new(z);
	if (a == NULL)
		return RW_ENOMEM;
	ret = rwd_answers_negative(a);
	for (size_t i = 0; i < p->n && ret == 0; i++)
		if (p->v[i].rebuild && !p->v[i].gone)
			ret = rwd_answers_node(a, p->v[i].n, p->v[i].old);
	rwd_answers_free(a);
	return ret;
}

static bool has_dep(const uint32_t *deps, uint32_t key)
{
	for (uint32_t k = 0; deps && k < deps[0]; k++)
		if (deps[k + 1] == key)
			return true;
	return false;
}

/* The index learns the rebuilt nodes' reads (new nodes' places: step 2). */
static int index_update(struct patch *p)
{
	struct rwd_zone_deps *d = p->z->deps;
	for (size_t i = 0; i < p->n; i++) {
		struct pn *x = &p->v[i];
		const uint8_t *name = x->iname;   /* new nodes: known as children since step 2 */
		if (x->gone)
			continue;
		const uint32_t *nd = x->n->deps, *od = x->old ? x->old->deps : NULL;
		for (uint32_t k = 0; x->rebuild && nd && k < nd[0]; k++) {
			if (has_dep(od, nd[k + 1]))
				continue;
			if (name == NULL && (name = rwd_deps_name(d, x->name, x->name_len)) == NULL)
				return RW_ENOMEM;
			if (rwd_deps_add(d, RWD_DEP_READS, nd[k + 1], name) < 0)
				return RW_ENOMEM;
		}
	}
	return 0;
}

/* The segment remembers what the patch applied, for rwd_zone_rebase(). */
static int keep_overrides(struct rwd_zone *z, const struct rwd_zone_override *ov, size_t n)
{
	struct rwd_zone_override *v = rw_arena_alloc(z->arena, (n ? n : 1) * sizeof(*v));
	if (v == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *rd = ov[i].rdata;
		size_t len = 0;
		for (unsigned k = 0; k < ov[i].count; k++)
			len += 2u + rw_get16(rd + len);
		v[i] = ov[i];
		v[i].rdata = len ? rw_arena_memdup(z->arena, ov[i].rdata, len) : NULL;
		if (len && v[i].rdata == NULL)
			return RW_ENOMEM;
	}
	z->seg->ov = v;
	z->seg->n_ov = n;
	return 0;
}

bool rwd_zone_wants_compaction(const struct rwd_zone *z)
{
	size_t soft = z->seg->base_bytes / 8 > ((size_t)1 << 20) ? z->seg->base_bytes / 8
	                                                        : (size_t)1 << 20;
	return z->seg->patch_bytes > soft;
}

struct rwd_zone *rwd_zone_rebase(struct rwd_zone *fresh, const struct rwd_zone *base,
                                 const struct rwd_zone *cur)
{
	if (cur == base) {
		rwd_zone_ref(fresh);
		return fresh;
	}
	size_t n = 0;
	const struct rwd_zone_seg *s = cur->seg;
	for (; s != NULL && s != base->seg; s = s->prev)
		n += s->n_ov;
	if (s == NULL)
		return NULL;                 /* not patched from base */
	struct rwd_zone_override *v = malloc((n ? n : 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	/* Oldest first: a later override of an RRset wins. */
	size_t at = n;
	for (s = cur->seg; s != base->seg; s = s->prev) {
		at -= s->n_ov;
		memcpy(v + at, s->ov, s->n_ov * sizeof(*v));
	}
	struct rwd_zone *z = rwd_zone_patch(fresh, v, n, cur->serial);
	free(v);
	return z;
}

struct rwd_zone *rwd_zone_patch(const struct rwd_zone *o,
                                const struct rwd_zone_override *overrides, size_t n,
                                uint32_t serial)
{
	const struct rwd_zone_seg *seg = o->seg;
	size_t garbage_max = seg->base_bytes > ((size_t)64 << 20) ? seg->base_bytes
	                                                          : (size_t)64 << 20;
	if (o->deps == NULL || o->deps->broken || seg->patch_bytes > garbage_max)
		return NULL;

	struct patch p = { .o = o, .limit = o->n_nodes / 4 > 4096 ? o->n_nodes / 4 : 4096 };
	rw_arena_init(&p.scratch, 16 * 1024);
	struct rwd_zone *z = calloc(1, sizeof(*z));
	p.map = calloc(64, sizeof(*p.map));
	p.map_mask = 63;
	if (z == NULL || p.map == NULL || (z->seg = rwd_zone_seg_new(o->seg, 4096)) == NULL) {
		free(z);
		z = NULL;
		goto out;
	}
	p.z = z;
	z->refs = 1;
	z->arena = &z->seg->arena;
	z->deps = o->deps;
	z->file = strdup(o->file);
	z->apex_len = o->apex_len;
	z->apex_labels = o->apex_labels;
	memcpy(z->apex_name, o->apex_name, o->apex_len);
	z->next_id = o->next_id;

	int ret = z->file ? collect(&p, overrides, n, serial) : RW_ENOMEM;
	if (ret == 0)
		ret = build(&p, serial);
	if (ret == 0)
		ret = keep_overrides(z, overrides, n);
	if (ret == 0 && (ret = index_update(&p)) < 0)
		o->deps->broken = true;      /* entries may be missing: no more patches */
	if (ret < 0) {
		rwd_zone_free(z);
		z = NULL;
	} else {
		z->seg->patch_bytes += z->arena->total;
	}
out:
	free(p.v);
	free(p.map);
	free(p.work);
	rw_arena_free(&p.scratch);
	return z;
}
