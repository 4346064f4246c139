/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Records -> RRsets, and the checks that need a whole node: one SOA at the
 * apex, NS at the apex, CNAME alone at its name (RFC 1034 3.6.2, RFC 2181
 * 10.1), one TTL per RRset (RFC 2181 5.2), duplicates dropped (RFC 2181 5),
 * at most zone_limits.max_rrset_records records per RRset.
 */
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/zone/build.h"
#include "server/zone/limits.h"

static int cmp_rec(const void *a, const void *b)
{
	const struct rwd_zone_rec *x = *(const struct rwd_zone_rec *const *)a;
	const struct rwd_zone_rec *y = *(const struct rwd_zone_rec *const *)b;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	/* Stable within a type: file order. */
	return x->line < y->line ? -1 : x->line > y->line;
}

static bool same_rdata(const struct rwd_zone_rec *a, const struct rwd_zone_rec *b)
{
	return rw_rdata_equal(a->type, a->rdata, a->rdlen, b->rdata, b->rdlen);
}

/* Reused across RRsets: a hash table of record indexes for duplicate detection. */
struct dedup {
	uint32_t *slot;                  /* index + 1 into the run; 0: empty */
	size_t cap;                      /* power of two */
};

/* FNV-1a over the rdata with ASCII letters folded: records that
 * rw_rdata_equal() calls equal (names compared without case) hash alike. */
static uint32_t rdata_hash(const struct rwd_zone_rec *r)
{
	uint32_t h = 2166136261u ^ r->rdlen;
	for (uint16_t i = 0; i < r->rdlen; i++) {
		uint8_t b = r->rdata[i];
		h = (h ^ (b >= 'A' && b <= 'Z' ? b + 32 : b)) * 16777619u;
	}
	return h;
}

/*
 * Mark the duplicates in recs[0..n) (one RRset, in file order) by setting
 * their rdlen to UINT16_MAX, keeping the first of each. Linear: a small
 * RRset compares pairwise, a larger one through a hash table (a 70,000-record
 * RRset took 19 s pairwise). RW_ENOMEM.
 */
static int mark_duplicates(struct dedup *d, struct rwd_zone_rec **recs, size_t n)
{
	if (n <= 16) {
		for (size_t j = 1; j < n; j++)
			for (size_t k = 0; k < j; k++)
				if (recs[k]->rdlen != UINT16_MAX && same_rdata(recs[k], recs[j])) {
					recs[j]->rdlen = UINT16_MAX;
					break;
				}
		return 0;
	}
	size_t cap = 64;
	while (cap < 2 * n)
		cap *= 2;
	if (cap > d->cap) {
		uint32_t *t = realloc(d->slot, cap * sizeof(*t));
		if (t == NULL)
			return RW_ENOMEM;
		d->slot = t;
		d->cap = cap;
	}
	memset(d->slot, 0, cap * sizeof(*d->slot));
	for (size_t j = 0; j < n; j++) {
		size_t i = rdata_hash(recs[j]) & (cap - 1);
		for (; d->slot[i]; i = (i + 1) & (cap - 1))
			if (same_rdata(recs[d->slot[i] - 1], recs[j]))
				break;
		if (d->slot[i])
			recs[j]->rdlen = UINT16_MAX;
		else
			d->slot[i] = (uint32_t)j + 1;
	}
	return 0;
}

/* Build the RRsets of one node from recs[0..n), sorted by type. */
static int make_rrsets(struct rwd_zone_ctx *c, struct dedup *d, struct rwd_node *node,
                       struct rwd_zone_rec **recs, size_t n)
{
	struct rwd_zone *z = c->z;
	unsigned n_sets = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || recs[i]->type != recs[i - 1]->type)
			n_sets++;
	node->rrsets = rw_arena_alloc(z->arena, n_sets * sizeof(*node->rrsets));
	if (node->rrsets == NULL)
		return RW_ENOMEM;
	node->n_rrsets = (uint16_t)n_sets;

	char name[RW_DNAME_MAXLEN * 4 + 1] = "";
	uint32_t max = c->limits->max_rrset_records;
	size_t i = 0;
	for (unsigned s = 0; s < n_sets; s++) {
		size_t j = i, bytes = 0;
		unsigned count = 0;
		while (j < n && recs[j]->type == recs[i]->type)
			j++;
		if (j - i > 1 && mark_duplicates(d, recs + i, j - i) < 0)
			return RW_ENOMEM;
		for (size_t k = i; k < j; k++) {
			if (recs[k]->rdlen == UINT16_MAX)
				continue;
			if (count == max) {
				char type[32] = "";
				rw_dname_to_str(node->name, name, sizeof(name));
				knot_rrtype_to_string(recs[i]->type, type, sizeof(type));
				rwd_zone_report(c, false, recs[k]->file, recs[k]->line,
				                "RRset %s %s has more than %u records "
				                "(zone_limits.max_rrset_records)", name, type, max);
				break;
			}
			/* RRSIGs have the TTL of what they cover (RFC 4034 3; answers.c). */
			if (recs[k]->ttl != recs[i]->ttl && recs[i]->type != RW_TYPE_RRSIG &&
			    rw_dname_to_str(node->name, name, sizeof(name)))
				rwd_zone_report(c, true, recs[k]->file, recs[k]->line,
				                "TTL %u differs from %u in the same RRset at %s, using %u",
				                recs[k]->ttl, recs[i]->ttl, name, recs[i]->ttl);
			bytes += 2u + recs[k]->rdlen;
			count++;
		}
		if (count > UINT16_MAX / 2)
			return RW_ELIMIT;
		struct rwd_rrset *rs = &node->rrsets[s];
		rs->type = recs[i]->type;
		rs->ttl = recs[i]->ttl;
		rs->count = (uint16_t)count;
		z->n_records += count;
		rs->rdata = rw_arena_alloc(z->arena, bytes);
		if (rs->rdata == NULL)
			return RW_ENOMEM;
		uint8_t *p = rs->rdata;
		for (size_t k = i, w = 0; k < j && w < count; k++) {
			if (recs[k]->rdlen == UINT16_MAX)
				continue;
			rw_put16(p, recs[k]->rdlen);
			memcpy(p + 2, recs[k]->rdata, recs[k]->rdlen);
			p += 2u + recs[k]->rdlen;
			w++;
		}
		i = j;
	}
	return 0;
}

static void check_node(struct rwd_zone_ctx *c, struct rwd_node *node,
                       struct rwd_zone_rec **recs, size_t n)
{
	bool apex = node == c->z->apex;
	char name[RW_DNAME_MAXLEN * 4 + 1] = "";
	unsigned soa = 0, cname = 0, other = 0;
	const struct rwd_zone_rec *cname_rec = NULL, *other_rec = NULL;
	for (size_t i = 0; i < n; i++) {
		switch (recs[i]->type) {
		case RW_TYPE_SOA:
			if (!apex && rw_dname_to_str(node->name, name, sizeof(name)))
				rwd_zone_report(c, false, recs[i]->file, recs[i]->line,
				                "SOA record at %s, which is not the zone apex", name);
			else if (++soa > 1)
				rwd_zone_report(c, false, recs[i]->file, recs[i]->line,
				                "more than one SOA record at the zone apex");
			other++;
			break;
		case RW_TYPE_CNAME:
			if (++cname > 1 && !same_rdata(recs[i], recs[i - 1]) &&
			    rw_dname_to_str(node->name, name, sizeof(name)))
				rwd_zone_report(c, false, recs[i]->file, recs[i]->line,
				                "more than one CNAME record at %s", name);
			cname_rec = recs[i];
			break;
		case RW_TYPE_RRSIG: case RW_TYPE_NSEC:
			break;   /* may accompany a CNAME (RFC 4035 2.5) */
		default:
			other++;
			other_rec = recs[i];
		}
	}
	if (cname && other) {
		/* Blame whichever of the two comes later in the file. */
		const struct rwd_zone_rec *r = cname_rec;
		if (other_rec && other_rec->line > cname_rec->line)
			r = other_rec;
		rw_dname_to_str(node->name, name, sizeof(name));
		rwd_zone_report(c, false, r->file, r->line, "CNAME and other data at %s", name);
	}
}

bool rwd_zone_rrsets_ok(const struct rwd_node *n, bool apex)
{
	bool cname = false, other = false;
	for (unsigned i = 0; i < n->n_rrsets; i++) {
		const struct rwd_rrset *rs = &n->rrsets[i];
		switch (rs->type) {
		case RW_TYPE_SOA:
			if (!apex || rs->count > 1)
				return false;
			other = true;
			break;
		case RW_TYPE_CNAME:
			if (rs->count > 1)
				return false;
			cname = true;
			break;
		case RW_TYPE_RRSIG: case RW_TYPE_NSEC:
			break;
		default:
			other = true;
		}
	}
	if (cname && other)
		return false;
	return !apex || (rwd_node_rrset(n, RW_TYPE_SOA) && rwd_node_rrset(n, RW_TYPE_NS));
}

int rwd_zone_group(struct rwd_zone_ctx *c)
{
	struct rwd_zone *z = c->z;
	struct rwd_zone_rec **recs = NULL;
	struct dedup d = { 0 };
	size_t cap = 0;
	int ret = 0;

	for (size_t id = 0; id < z->n_nodes && ret == 0; id++) {
		struct rwd_node *node = c->nodes[id];
		size_t n = 0;
		for (struct rwd_zone_rec *r = c->heads[id]; r; r = r->next) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct rwd_zone_rec **nr = realloc(recs, cap * sizeof(*nr));
				if (nr == NULL) { ret = RW_ENOMEM; break; }
				recs = nr;
			}
			recs[n++] = r;
		}
		if (ret < 0 || n == 0)
			continue;
		if (n > 1)
			qsort(recs, n, sizeof(*recs), cmp_rec);
		check_node(c, node, recs, n);
		ret = make_rrsets(c, &d, node, recs, n);
	}
	free(recs);
	free(d.slot);
	if (ret < 0)
		return ret;

	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, RW_TYPE_SOA);
	if (soa == NULL)
		rwd_zone_report(c, false, c->path, 0, "no SOA record at the zone apex");
	else
		z->serial = rw_get32(rwd_soa_serial(soa));
	if (rwd_node_rrset(z->apex, RW_TYPE_NS) == NULL)
		rwd_zone_report(c, false, c->path, 0, "no NS records at the zone apex");
	return 0;
}
