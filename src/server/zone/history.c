/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone change history (history.h): diffs in IXFR's wire form, the
 * difference between two zone versions, condensing, serial policies.
 *
 * Records are compared as whole uncompressed records (owner, type, class,
 * TTL, RDATA), the owner without regard to case: so a changed TTL is a
 * removal and an addition, as IXFR says it, and set operations need no
 * knowledge of RDATA formats. Sets are open-addressing tables of pointers
 * into the diffs' own data: linear in the records involved.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/hash.h"
#include "lib/wire.h"
#include "server/zone/history.h"
#include "server/zone/zone.h"

#define DEFAULT_DEPTH 1000u
#define DEFAULT_BYTES ((size_t)16 << 20)

void rwd_zone_history_ref(struct rwd_zone_history *h)
{
	if (h)
		__atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
}

void rwd_zone_diff_ref(struct rwd_zone_diff *d)
{
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
}

void rwd_zone_diff_free(struct rwd_zone_diff *d)
{
	if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(d);
}

void rwd_zone_history_free(struct rwd_zone_history *h)
{
	if (h == NULL || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < h->n; i++)
		rwd_zone_diff_free(h->diffs[i]);
	free(h);
}

long rwd_zone_history_find(const struct rwd_zone_history *h, uint32_t serial)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (h->diffs[i]->serial_from == serial)
			return (long)i;
	return -1;
}

/* ---- records ---- */

size_t rwd_diff_rr_parse(const uint8_t *p, size_t avail, struct rwd_diff_rr *rr)
{
	size_t at = 0;
	/* a flat name: labels up to the root, at most 255 bytes */
	while (at < avail && p[at] != 0) {
		if (p[at] > 63)
			return 0;
		at += 1u + p[at];
	}
	if (at >= avail || at + 1 > 255 || avail - at - 1 < 10)
		return 0;
	rr->owner = p;
	rr->owner_len = at + 1;
	const uint8_t *f = p + at + 1;
	rr->type = rw_get16(f);
	rr->rclass = rw_get16(f + 2);
	rr->ttl = rw_get32(f + 4);
	rr->rdlen = rw_get16(f + 8);
	if (avail - at - 11 < rr->rdlen)
		return 0;
	rr->rdata = f + 10;
	rr->len = at + 11 + rr->rdlen;
	return rr->len;
}

/* A growable byte buffer. */
struct buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static uint8_t *buf_room(struct buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (p == NULL) {
			b->err = RW_ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	uint8_t *at = b->p + b->len;
	b->len += n;
	return at;
}

static void buf_put(struct buf *b, const void *data, size_t n)
{
	uint8_t *at = buf_room(b, n);
	if (at)
		memcpy(at, data, n);
}

/* One record: owner, type, IN, ttl, rdata (rd: uint16 length, bytes). */
static void buf_rr(struct buf *b, const uint8_t *owner, size_t owner_len, uint16_t type,
                   uint32_t ttl, const uint8_t *rd)
{
	uint16_t rdlen = rw_get16(rd);
	uint8_t *at = buf_room(b, owner_len + 10u + rdlen);
	if (at == NULL)
		return;
	memcpy(at, owner, owner_len);
	at += owner_len;
	rw_put16(at, type);
	rw_put16(at + 2, RW_CLASS_IN);
	rw_put32(at + 4, ttl);
	memcpy(at + 8, rd, 2u + rdlen);
}

/* ---- record sets ---- */

/* A set of records (pointers into data held elsewhere). */
struct rrset_set {
	const uint8_t **v;             /* record starts; NULL: empty slot */
	uint32_t *lens;
	size_t mask;
};

static uint64_t rr_hash(const uint8_t *r, size_t len, size_t owner_len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = r[i];
		if (i < owner_len && c >= 'A' && c <= 'Z')   /* length bytes are < 64 */
			c += 32;
		h = (h ^ c) * 0x100000001b3ull;
	}
	return rw_mix64(h);
}

static bool rr_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t owner_len)
{
	if (alen != blen)
		return false;
	if (owner_len == 0)
		return memcmp(a, b, alen) == 0;
	return rw_dname_eq(a, b) && memcmp(a + owner_len, b + owner_len, alen - owner_len) == 0;
}

static int set_init(struct rrset_set *s, size_t n)
{
	size_t size = 8;
	while (size < n * 2)
		size *= 2;
	s->v = calloc(size, sizeof(*s->v));
	s->lens = calloc(size, sizeof(*s->lens));
	s->mask = size - 1;
	return s->v && s->lens ? 0 : RW_ENOMEM;
}

static void set_free(struct rrset_set *s)
{
	free(s->v);
	free(s->lens);
	memset(s, 0, sizeof(*s));
}

/* owner_len: bytes of owner name at the start (0: compare the bytes as
 * they are, for RDATA within one RRset). */
static void set_add(struct rrset_set *s, const uint8_t *r, size_t len, size_t owner_len)
{
	size_t i = rr_hash(r, len, owner_len) & s->mask;
	while (s->v[i]) {
		if (rr_eq(s->v[i], s->lens[i], r, len, owner_len))
			return;
		i = (i + 1) & s->mask;
	}
	s->v[i] = r;
	s->lens[i] = (uint32_t)len;
}

static bool set_has(const struct rrset_set *s, const uint8_t *r, size_t len, size_t owner_len)
{
	if (s->v == NULL)
		return false;
	for (size_t i = rr_hash(r, len, owner_len) & s->mask; s->v[i]; i = (i + 1) & s->mask)
		if (rr_eq(s->v[i], s->lens[i], r, len, owner_len))
			return true;
	return false;
}

/* ---- diffs ---- */

struct rwd_zone_diff *rwd_zone_diff_new(uint32_t serial_from, uint32_t serial_to,
                                        const uint8_t *old_soa, size_t old_soa_len,
                                        const uint8_t *removed, size_t removed_len,
                                        uint32_t n_removed, const uint8_t *new_soa,
                                        size_t new_soa_len, const uint8_t *added,
                                        size_t added_len, uint32_t n_added)
{
	size_t len = old_soa_len + removed_len + new_soa_len + added_len;
	if (len > UINT32_MAX)
		return NULL;
	struct rwd_zone_diff *d = malloc(sizeof(*d) + len);
	if (d == NULL)
		return NULL;
	d->refs = 1;
	d->serial_from = serial_from;
	d->serial_to = serial_to;
	d->n_removed = n_removed;
	d->n_added = n_added;
	d->len = (uint32_t)len;
	d->added_at = (uint32_t)(old_soa_len + removed_len);
	uint8_t *p = d->data;
	if (old_soa_len)
		memcpy(p, old_soa, old_soa_len);
	if (removed_len)
		memcpy(p + old_soa_len, removed, removed_len);
	if (new_soa_len)
		memcpy(p + d->added_at, new_soa, new_soa_len);
	if (added_len)
		memcpy(p + d->added_at + new_soa_len, added, added_len);
	return d;
}

/* The SOA serial inside a parsed SOA record (NULL: not an SOA). */
static uint8_t *soa_serial_at(const struct rwd_diff_rr *rr)
{
	if (rr->type != RW_TYPE_SOA)
		return NULL;
	size_t at = 0;
	for (int k = 0; k < 2; k++) {            /* mname, rname */
		while (at < rr->rdlen && rr->rdata[at] != 0)
			at += 1u + rr->rdata[at];
		at++;
	}
	return at + 20 <= rr->rdlen ? (uint8_t *)rr->rdata + at : NULL;
}

/* Count the records of data[from, to); -1 when they do not parse end to end. */
static long count_rrs(const uint8_t *data, size_t from, size_t to)
{
	long n = 0;
	struct rwd_diff_rr rr;
	while (from < to) {
		size_t l = rwd_diff_rr_parse(data + from, to - from, &rr);
		if (l == 0)
			return -1;
		from += l;
		n++;
	}
	return n;
}

bool rwd_zone_diff_valid(const struct rwd_zone_diff *d)
{
	struct rwd_diff_rr a, b;
	if (d->added_at >= d->len)
		return false;
	size_t la = rwd_diff_rr_parse(d->data, d->added_at, &a);
	size_t lb = rwd_diff_rr_parse(d->data + d->added_at, d->len - d->added_at, &b);
	const uint8_t *sa = la ? soa_serial_at(&a) : NULL, *sb = lb ? soa_serial_at(&b) : NULL;
	if (sa == NULL || sb == NULL || rw_get32(sa) != d->serial_from ||
	    rw_get32(sb) != d->serial_to)
		return false;
	return count_rrs(d->data, la, d->added_at) == (long)d->n_removed &&
	       count_rrs(d->data, d->added_at + lb, d->len) == (long)d->n_added;
}

void rwd_zone_diff_set_serial_to(struct rwd_zone_diff *d, uint32_t serial)
{
	struct rwd_diff_rr rr;
	d->serial_to = serial;
	if (rwd_diff_rr_parse(d->data + d->added_at, d->len - d->added_at, &rr)) {
		uint8_t *at = soa_serial_at(&rr);
		if (at)
			rw_put32(at, serial);
	}
}

/* The records of data[from, to) into set (owner-aware). */
static int set_of(struct rrset_set *s, const uint8_t *data, size_t from, size_t to, size_t n)
{
	if (set_init(s, n) < 0)
		return RW_ENOMEM;
	struct rwd_diff_rr rr;
	while (from < to) {
		size_t l = rwd_diff_rr_parse(data + from, to - from, &rr);
		if (l == 0)
			return RW_EINVAL;
		set_add(s, data + from, l, rr.owner_len);
		from += l;
	}
	return 0;
}

/* The records of data[from, to) not in minus, onto out; how many. */
static uint32_t copy_minus(struct buf *out, const uint8_t *data, size_t from, size_t to,
                           const struct rrset_set *minus)
{
	uint32_t n = 0;
	struct rwd_diff_rr rr;
	while (from < to) {
		size_t l = rwd_diff_rr_parse(data + from, to - from, &rr);
		if (l == 0)
			break;
		if (!set_has(minus, data + from, l, rr.owner_len)) {
			buf_put(out, data + from, l);
			n++;
		}
		from += l;
	}
	return n;
}

/* Where a diff's parts are: the SOA records' lengths. */
static size_t soa_len(const uint8_t *p, size_t avail)
{
	struct rwd_diff_rr rr;
	return rwd_diff_rr_parse(p, avail, &rr);
}

struct rwd_zone_diff *rwd_zone_diff_merge(const struct rwd_zone_diff *a,
                                          const struct rwd_zone_diff *b)
{
	if (a->serial_to != b->serial_from)
		return NULL;
	size_t a_soa0 = soa_len(a->data, a->added_at);
	size_t a_soa1 = soa_len(a->data + a->added_at, a->len - a->added_at);
	size_t b_soa0 = soa_len(b->data, b->added_at);
	size_t b_soa1 = soa_len(b->data + b->added_at, b->len - b->added_at);
	if (!a_soa0 || !a_soa1 || !b_soa0 || !b_soa1)
		return NULL;
	/* the parts, as [from, to) of each diff's data */
	size_t a_rem = a_soa0, a_rem_end = a->added_at;
	size_t a_add = a->added_at + a_soa1, a_add_end = a->len;
	size_t b_rem = b_soa0, b_rem_end = b->added_at;
	size_t b_add = b->added_at + b_soa1, b_add_end = b->len;
	struct rrset_set a_r = { 0 }, a_a = { 0 }, b_r = { 0 }, b_a = { 0 };
	struct buf rem = { 0 }, add = { 0 };
	struct rwd_zone_diff *d = NULL;
	if (set_of(&a_r, a->data, a_rem, a_rem_end, a->n_removed) == 0 &&
	    set_of(&a_a, a->data, a_add, a_add_end, a->n_added) == 0 &&
	    set_of(&b_r, b->data, b_rem, b_rem_end, b->n_removed) == 0 &&
	    set_of(&b_a, b->data, b_add, b_add_end, b->n_added) == 0) {
		/* removed: what a took that b did not bring back, what b took that
		 * a had not brought; added: the converse */
		uint32_t n_rem = copy_minus(&rem, a->data, a_rem, a_rem_end, &b_a);
		n_rem += copy_minus(&rem, b->data, b_rem, b_rem_end, &a_a);
		uint32_t n_add = copy_minus(&add, a->data, a_add, a_add_end, &b_r);
		n_add += copy_minus(&add, b->data, b_add, b_add_end, &a_r);
		if (!rem.err && !add.err)
			d = rwd_zone_diff_new(a->serial_from, b->serial_to, a->data, a_soa0, rem.p,
			                      rem.len, n_rem, b->data + b->added_at, b_soa1, add.p,
			                      add.len, n_add);
	}
	set_free(&a_r);
	set_free(&a_a);
	set_free(&b_r);
	set_free(&b_a);
	free(rem.p);
	free(add.p);
	return d;
}

/* ---- the difference between two versions ---- */

/* The SOA record of z with z's serial (the loaded record may carry another). */
static void put_soa(struct buf *b, const struct rwd_zone *z)
{
	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, RW_TYPE_SOA);
	size_t start = b->len;
	buf_rr(b, z->apex_name, z->apex_len, RW_TYPE_SOA, soa->ttl, soa->rdata);
	if (b->err)
		return;
	const uint8_t *serial = rwd_soa_serial(soa);
	/* record: owner, 10 bytes of fields; the rdata from there as in the zone */
	size_t off = start + z->apex_len + 10u + (size_t)(serial - (soa->rdata + 2));
	rw_put32(b->p + off, z->serial);
}

/* Does the SOA differ in anything but its serial (TTL, fields)? */
static bool soa_differs(const struct rwd_zone *a, const struct rwd_zone *b)
{
	const struct rwd_rrset *x = rwd_node_rrset(a->apex, RW_TYPE_SOA);
	const struct rwd_rrset *y = rwd_node_rrset(b->apex, RW_TYPE_SOA);
	uint16_t lx = rw_get16(x->rdata), ly = rw_get16(y->rdata);
	if (x->ttl != y->ttl || lx != ly)
		return true;
	size_t s = (size_t)(rwd_soa_serial(x) - x->rdata);   /* same layout: same length */
	return memcmp(x->rdata, y->rdata, s) != 0 ||
	       memcmp(x->rdata + s + 4, y->rdata + s + 4, 2u + lx - s - 4) != 0;
}

/* The records of rs not in other (NULL: all; the TTLs must match to
 * compare records), onto out. */
static int rrset_minus(struct buf *out, uint32_t *n, const struct rwd_node *node,
                       const struct rwd_rrset *rs, const struct rwd_rrset *other)
{
	bool all = other == NULL || other->ttl != rs->ttl;
	struct rrset_set s = { 0 };
	if (!all && other->count > 8) {
		if (set_init(&s, other->count) < 0)
			return RW_ENOMEM;
		RWD_RRSET_FOREACH(other, rd, i)
			set_add(&s, rd, 2u + rw_get16(rd), 0);
	}
	RWD_RRSET_FOREACH(rs, rd, i) {
		size_t len = 2u + rw_get16(rd);
		bool found = false;
		if (!all && s.v)
			found = set_has(&s, rd, len, 0);
		else if (!all)
			RWD_RRSET_FOREACH(other, od, k)
				if (!found && rw_get16(od) + 2u == len && memcmp(od, rd, len) == 0)
					found = true;
		if (!found) {
			buf_rr(out, node->name, node->name_len, rs->type, rs->ttl, rd);
			(*n)++;
		}
	}
	set_free(&s);
	return out->err;
}

/* Every record of node (an RRset of it: only type) onto out, the apex's SOA
 * left out. */
static int node_all(struct buf *out, uint32_t *n, const struct rwd_zone *z,
                    const struct rwd_node *node)
{
	for (unsigned k = 0; k < node->n_rrsets; k++) {
		const struct rwd_rrset *rs = &node->rrsets[k];
		if (rs->count == 0 || (rs->type == RW_TYPE_SOA && node == z->apex))
			continue;
		int ret = rrset_minus(out, n, node, rs, NULL);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Both directions in one walk of from's table: each node's RRsets against
 * those of to's node of the same name (removed, added), that node marked
 * by its id; then to's unmarked nodes, whose records are all added. One
 * hash lookup per node of from, none per node of to (ids are below
 * next_id; one that is not is looked up instead).
 */
static int zones_diff(struct buf *rem, uint32_t *n_rem, struct buf *add, uint32_t *n_add,
                      const struct rwd_zone *a, const struct rwd_zone *b)
{
	uint64_t *seen = calloc(((size_t)b->next_id + 63) / 64 + 1, sizeof(*seen));
	if (seen == NULL)
		return RW_ENOMEM;
	int ret = 0;
	for (size_t i = 0; i <= a->table_mask && ret == 0; i++) {
		const struct rwd_node *node = a->table[i];
		if (node == NULL)
			continue;
		const struct rwd_node *other = rwd_zone_find(b, node->name, node->name_len);
		if (other == NULL) {
			ret = node_all(rem, n_rem, a, node);
			continue;
		}
		if (other->id < b->next_id)
			seen[other->id / 64] |= 1ull << (other->id % 64);
		for (unsigned k = 0; k < node->n_rrsets && ret == 0; k++) {
			const struct rwd_rrset *rs = &node->rrsets[k];
			if (rs->count == 0 || (rs->type == RW_TYPE_SOA && node == a->apex))
				continue;
			const struct rwd_rrset *os = rwd_node_rrset(other, rs->type);
			ret = rrset_minus(rem, n_rem, node, rs, os && os->count ? os : NULL);
			if (ret == 0 && os && os->count)
				ret = rrset_minus(add, n_add, other, os, rs);
		}
		for (unsigned k = 0; k < other->n_rrsets && ret == 0; k++) {
			const struct rwd_rrset *os = &other->rrsets[k];
			const struct rwd_rrset *rs = rwd_node_rrset(node, os->type);
			if (os->count == 0 || (rs && rs->count) || (os->type == RW_TYPE_SOA &&
			                                            other == b->apex))
				continue;
			ret = rrset_minus(add, n_add, other, os, NULL);
		}
	}
	for (size_t i = 0; i <= b->table_mask && ret == 0; i++) {
		const struct rwd_node *node = b->table[i];
		if (node == NULL || node->n_rrsets == 0)
			continue;
		bool matched = node->id < b->next_id
		               ? (seen[node->id / 64] >> (node->id % 64)) & 1
		               : rwd_zone_find(a, node->name, node->name_len) != NULL;
		if (!matched)
			ret = node_all(add, n_add, b, node);
	}
	free(seen);
	return ret;
}

int rwd_zone_diff_versions(const struct rwd_zone *from, const struct rwd_zone *to,
                           struct rwd_zone_diff **out)
{
	*out = NULL;
	if (from->failed || to->failed || rwd_node_rrset(from->apex, RW_TYPE_SOA) == NULL ||
	    rwd_node_rrset(to->apex, RW_TYPE_SOA) == NULL)
		return RW_EINVAL;
	struct buf rem = { 0 }, add = { 0 }, soa0 = { 0 }, soa1 = { 0 };
	uint32_t n_rem = 0, n_add = 0;
	int ret = zones_diff(&rem, &n_rem, &add, &n_add, from, to);
	if (ret == 0 && (n_rem || n_add || soa_differs(from, to))) {
		put_soa(&soa0, from);
		put_soa(&soa1, to);
		ret = soa0.err ? soa0.err : soa1.err;
		if (ret == 0 && (*out = rwd_zone_diff_new(from->serial, to->serial, soa0.p, soa0.len,
		                                          rem.p, rem.len, n_rem, soa1.p, soa1.len,
		                                          add.p, add.len, n_add)) == NULL)
			ret = RW_ENOMEM;
	}
	free(rem.p);
	free(add.p);
	free(soa0.p);
	free(soa1.p);
	return ret;
}

/* ---- histories ---- */

static struct rwd_zone_history *history_alloc(size_t n)
{
	struct rwd_zone_history *h = calloc(1, sizeof(*h) + (n ? n : 1) * sizeof(h->diffs[0]));
	if (h)
		h->refs = 1;
	return h;
}

struct rwd_zone_history *rwd_zone_history_append(const struct rwd_zone_history *prev,
                                                 struct rwd_zone_diff *d, size_t max_depth,
                                                 size_t max_bytes)
{
	max_depth = max_depth ? max_depth : DEFAULT_DEPTH;
	max_bytes = max_bytes ? max_bytes : DEFAULT_BYTES;
	bool chained = prev && prev->n && prev->diffs[prev->n - 1]->serial_to == d->serial_from;
	size_t n_prev = chained ? prev->n : 0;
	struct rwd_zone_history *h = history_alloc(n_prev + 1);
	if (h == NULL)
		return NULL;
	for (size_t i = 0; i < n_prev; i++) {
		rwd_zone_diff_ref(prev->diffs[i]);
		h->diffs[i] = prev->diffs[i];
		h->bytes += prev->diffs[i]->len;
	}
	rwd_zone_diff_ref(d);
	h->diffs[h->n = n_prev] = d;
	h->n++;
	h->bytes += d->len;
	/* One diff past the bound alone: nothing to keep (history.h). */
	if (d->len > max_bytes) {
		for (size_t i = 0; i < h->n; i++)
			rwd_zone_diff_free(h->diffs[i]);
		h->n = 0;
		h->bytes = 0;
		return h;
	}
	while (h->n >= 2 && (h->n > max_depth || h->bytes > max_bytes)) {
		struct rwd_zone_diff *m = rwd_zone_diff_merge(h->diffs[0], h->diffs[1]);
		if (m == NULL) {
			rwd_zone_history_free(h);
			return NULL;
		}
		struct rwd_zone_diff *a = h->diffs[0], *b = h->diffs[1];
		if (h->n <= max_depth && m->len > (a->len > b->len ? a->len : b->len)) {
			/* Past the bytes only, and merging would not shrink them
			 * (records that do not cancel): the oldest goes, the history
			 * starts one serial later. */
			rwd_zone_diff_free(m);
			h->bytes -= a->len;
			rwd_zone_diff_free(a);
			memmove(h->diffs, h->diffs + 1, (h->n - 1) * sizeof(h->diffs[0]));
			h->n--;
			continue;
		}
		h->bytes = h->bytes - a->len - b->len + m->len;
		rwd_zone_diff_free(a);
		rwd_zone_diff_free(b);
		h->diffs[0] = m;
		memmove(h->diffs + 1, h->diffs + 2, (h->n - 2) * sizeof(h->diffs[0]));
		h->n--;
	}
	if (h->bytes > max_bytes) {          /* the one diff left, still too large */
		rwd_zone_diff_free(h->diffs[0]);
		h->n = 0;
		h->bytes = 0;
	}
	return h;
}

/* ---- serials ---- */

uint32_t rwd_serial_next(int policy, uint32_t cur, time_t now)
{
	uint32_t want = cur + 1;
	/* enum rwd_serial_policy (conf.h, a layer above): 1 unixtime, 2 dateserial */
	if (policy == 1) {
		want = (uint32_t)now;
	} else if (policy == 2) {
		struct tm tm;
		if (gmtime_r(&now, &tm) != NULL)
			want = (uint32_t)(tm.tm_year + 1900) * 1000000u + (uint32_t)(tm.tm_mon + 1) * 10000u +
			       (uint32_t)tm.tm_mday * 100u;
	}
	return rwd_serial_newer(want, cur) ? want : cur + 1;
}

/* ---- digests ---- */

static uint64_t rr_digest(const uint8_t *r, size_t len, size_t owner_len)
{
	return rr_hash(r, len, owner_len);
}

uint64_t rwd_zone_digest(const struct rwd_zone *z)
{
	uint64_t sum = 0;
	struct buf b = { 0 };
	for (size_t i = 0; i <= z->table_mask; i++) {
		const struct rwd_node *node = z->table[i];
		for (unsigned k = 0; node && k < node->n_rrsets; k++) {
			const struct rwd_rrset *rs = &node->rrsets[k];
			RWD_RRSET_FOREACH(rs, rd, j) {
				b.len = 0;
				buf_rr(&b, node->name, node->name_len, rs->type, rs->ttl, rd);
				if (b.err)
					break;
				if (rs->type == RW_TYPE_SOA && node == z->apex) {
					/* the serial apart: zero it in the copy */
					size_t off = node->name_len + 10u +
					             (size_t)(rwd_soa_serial(rs) - (rs->rdata + 2));
					rw_put32(b.p + off, 0);
				}
				sum += rr_digest(b.p, b.len, node->name_len);
			}
		}
	}
	free(b.p);
	return sum;
}

/* The digest of the records of data[from, to), the SOA's serial zeroed. */
static uint64_t digest_range(const uint8_t *data, size_t from, size_t to)
{
	uint64_t sum = 0;
	struct rwd_diff_rr rr;
	while (from < to) {
		size_t l = rwd_diff_rr_parse(data + from, to - from, &rr);
		if (l == 0)
			break;
		sum += rr_digest(data + from, l, rr.owner_len);
		from += l;
	}
	return sum;
}

static uint64_t soa_digest(const uint8_t *p, size_t avail)
{
	struct rwd_diff_rr rr;
	uint8_t copy[1024];
	size_t l = rwd_diff_rr_parse(p, avail, &rr);
	if (l == 0 || l > sizeof(copy))
		return 0;
	memcpy(copy, p, l);
	rwd_diff_rr_parse(copy, l, &rr);
	uint8_t *at = soa_serial_at(&rr);
	if (at)
		rw_put32(at, 0);
	return rr_digest(copy, l, rr.owner_len);
}

uint64_t rwd_zone_diff_digest(const struct rwd_zone_diff *d)
{
	size_t s0 = soa_len(d->data, d->added_at);
	size_t s1 = soa_len(d->data + d->added_at, d->len - d->added_at);
	uint64_t plus = digest_range(d->data, d->added_at + s1, d->len) +
	                soa_digest(d->data + d->added_at, d->len - d->added_at);
	uint64_t minus = digest_range(d->data, s0, d->added_at) + soa_digest(d->data, d->added_at);
	return plus - minus;
}

void rwd_zone_set_serial_unpublished(struct rwd_zone *z, uint32_t serial)
{
	const struct rwd_rrset *soa = z->apex ? rwd_node_rrset(z->apex, RW_TYPE_SOA) : NULL;
	z->serial = serial;
	if (soa)
		rw_put32((uint8_t *)rwd_soa_serial(soa), serial);
}

size_t rwd_zone_soa_record(const struct rwd_zone *z, uint32_t serial, uint8_t *out, size_t size)
{
	if (z->apex == NULL || rwd_node_rrset(z->apex, RW_TYPE_SOA) == NULL)
		return 0;
	struct buf b = { 0 };
	put_soa(&b, z);
	size_t len = b.err || b.len > size ? 0 : b.len;
	if (len) {
		memcpy(out, b.p, len);
		struct rwd_diff_rr rr;
		rwd_diff_rr_parse(out, len, &rr);
		rw_put32(soa_serial_at(&rr), serial);
	}
	free(b.p);
	return len;
}
