/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The transfer-in parser (xfrin.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/xfr/xfrin.h"
#include "server/zone/history.h"
#include "server/zone/source.h"
#include "server/zone/zone.h"

static void seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, RWD_XFRIN_ERRLEN, fmt, ap);
	va_end(ap);
}

/* The first error a build reports (warnings aside). */
static void report_first(void *ctx, const char *msg)
{
	char *err = ctx;
	if (err[0] == '\0' && strstr(msg, ": warning: ") == NULL)
		seterr(err, "%s", msg);
}

/* Where the stream is: what the next answer record may be. */
enum {
	ST_FIRST = 0,                  /* the zone's SOA */
	ST_SECOND,                     /* IXFR: an SOA (differences) or not (AXFR-style) */
	ST_AXFR,                       /* the zone's records, or the closing SOA */
	ST_DEL,                        /* IXFR: removed records, or the new SOA */
	ST_ADD,                        /* IXFR: added records, the next old SOA, or the end */
	ST_END,
};

static int fail(struct rwd_xfrin *x, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct rwd_xfrin *x, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->error, sizeof(x->error), fmt, ap);
	va_end(ap);
	x->state = ST_END;
	x->done = false;
	return ret;
}

void rwd_xfrin_init(struct rwd_xfrin *x, const uint8_t *apex, uint16_t qtype, uint16_t id,
                    uint32_t our_serial, const struct rwd_xfrin_limits *lim)
{
	memset(x, 0, sizeof(*x));
	x->apex_len = rw_dname_len(apex);
	memcpy(x->apex, apex, x->apex_len);
	rw_dname_lower(x->apex);
	x->qtype = qtype;
	x->id = id;
	x->our_serial = our_serial;
	if (lim)
		x->lim = *lim;
	x->state = ST_FIRST;
}

void rwd_xfrin_free(struct rwd_xfrin *x)
{
	free(x->recs);
	free(x->diffs);
	x->recs = NULL;
	x->diffs = NULL;
	x->len = x->cap = x->n_diffs = x->cap_diffs = 0;
}

bool rwd_xfrin_rr_next(const uint8_t *buf, size_t len, size_t *pos, struct rwd_xfrin_rr *rr)
{
	size_t p = *pos, n = 0;
	while (p + n < len && buf[p + n] != 0 && n < 255)
		n += buf[p + n] + 1u;
	if (p + n >= len || n >= 255 || buf[p + n] != 0)
		return false;
	n++;
	if (len - p - n < 10)
		return false;
	const uint8_t *f = buf + p + n;
	uint16_t rdlen = rw_get16(f + 8);
	if (len - p - n - 10 < rdlen)
		return false;
	*rr = (struct rwd_xfrin_rr){ .owner = buf + p, .owner_len = n, .type = rw_get16(f),
	                             .rclass = rw_get16(f + 2), .ttl = rw_get32(f + 4),
	                             .rdlen = rdlen, .rdata = f + 10, .len = n + 10u + rdlen };
	*pos = p + rr->len;
	return true;
}

/* Append one record; its offset in *at. */
static int put_rr(struct rwd_xfrin *x, const uint8_t *owner, size_t owner_len, uint16_t type,
                  uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, size_t *at)
{
	size_t need = owner_len + 10u + rdlen;
	if (x->cap - x->len < need) {
		size_t cap = x->cap ? x->cap : 4096;
		while (cap - x->len < need)
			cap *= 2;
		uint8_t *r = realloc(x->recs, cap);
		if (r == NULL)
			return fail(x, RW_ENOMEM, "out of memory");
		x->recs = r;
		x->cap = cap;
	}
	uint8_t *p = x->recs + x->len;
	memcpy(p, owner, owner_len);
	rw_dname_lower(p);
	p += owner_len;
	rw_put16(p, type);
	rw_put16(p + 2, RW_CLASS_IN);
	rw_put32(p + 4, ttl);
	rw_put16(p + 8, rdlen);
	memcpy(p + 10, rdata, rdlen);
	*at = x->len;
	x->len += need;
	return 0;
}

static int new_diff(struct rwd_xfrin *x)
{
	if (x->n_diffs == x->cap_diffs) {
		size_t cap = x->cap_diffs ? 2 * x->cap_diffs : 8;
		struct rwd_xfrin_diff *d = realloc(x->diffs, cap * sizeof(*d));
		if (d == NULL)
			return fail(x, RW_ENOMEM, "out of memory");
		x->diffs = d;
		x->cap_diffs = cap;
	}
	memset(&x->diffs[x->n_diffs++], 0, sizeof(x->diffs[0]));
	return 0;
}

static uint32_t soa_serial(const uint8_t *rdata, uint16_t rdlen)
{
	return rw_get32(rdata + rdlen - 20);   /* rw_rdata_check: two names, then 5 x 32 bits */
}

static const char *rcode_name(uint8_t rcode)
{
	const knot_lookup_t *l = knot_lookup_by_id(knot_rcode_names, rcode);
	return l ? l->name : "unknown rcode";
}

/* One answer record, checked, through the state machine. last: it is the
 * last record of the message. */
static int record(struct rwd_xfrin *x, const knot_rrset_t *rr, const knot_rdata_t *rd, bool last)
{
	char name[RW_DNAME_MAXLEN * 4 + 1];
	size_t owner_len = knot_dname_size(rr->owner);
	if (rr->rclass != KNOT_CLASS_IN)
		return fail(x, RW_EMALFORMED, "a record of class %u (only IN)", rr->rclass);
	if (owner_len > RW_DNAME_MAXLEN || !rw_dname_is_sub(rr->owner, x->apex)) {
		rw_dname_to_str(rr->owner, name, sizeof(name));
		return fail(x, RW_EMALFORMED, "%s is outside the zone", name);
	}
	/* As the zone loader (load.c): OPT and the meta range (TKEY, TSIG, IXFR,
	 * AXFR, ANY...), and TYPE0. */
	if (rr->type == 0 || rr->type == KNOT_RRTYPE_OPT || (rr->type >= 128 && rr->type <= 255))
		return fail(x, RW_EMALFORMED, "a record of type %u, which cannot be in a zone",
		            rr->type);
	if (rw_rdata_check(rr->type, rd->data, rd->len) < 0) {
		rw_dname_to_str(rr->owner, name, sizeof(name));
		return fail(x, RW_EMALFORMED, "%s: malformed data for type %u", name, rr->type);
	}
	if (x->lim.max_records && x->records >= x->lim.max_records)
		return fail(x, RW_ELIMIT, "more than %llu records (xfr.max_records)",
		            (unsigned long long)x->lim.max_records);
	x->records++;

	bool soa = rr->type == KNOT_RRTYPE_SOA;
	bool at_apex = soa && owner_len == x->apex_len && rw_dname_is_sub(x->apex, rr->owner);
	uint32_t serial = soa ? soa_serial(rd->data, rd->len) : 0;
	if (soa && !at_apex) {
		rw_dname_to_str(rr->owner, name, sizeof(name));
		return fail(x, RW_EMALFORMED, "an SOA record at %s, not at the apex", name);
	}
	size_t at;
	int ret;
#define PUT() (ret = put_rr(x, rr->owner, owner_len, rr->type, rr->ttl, rd->data, rd->len, &at))

	switch (x->state) {
	case ST_FIRST:
		if (!soa)
			return fail(x, RW_EMALFORMED, "the first record is not the zone's SOA");
		if (PUT() < 0)
			return ret;
		x->serial = serial;
		x->first_soa_len = x->len;
		x->n_zone_records = 1;
		if (x->qtype == KNOT_RRTYPE_IXFR && last && x->messages == 1 &&
		    !rwd_serial_newer(serial, x->our_serial)) {
			x->kind = RWD_XFRIN_UPTODATE;  /* RFC 1995 2: one SOA, ours is as new */
			x->state = ST_END;
			x->done = true;
			return 0;
		}
		x->state = x->qtype == KNOT_RRTYPE_IXFR ? ST_SECOND : ST_AXFR;
		if (x->state == ST_AXFR)
			x->kind = RWD_XFRIN_AXFR;
		return 0;
	case ST_SECOND:
		if (!soa || serial == x->serial) {
			x->kind = RWD_XFRIN_AXFR;     /* AXFR-style (RFC 1995 4) */
			x->state = ST_AXFR;
			x->records--;                 /* counted again there */
			return record(x, rr, rd, last);
		}
		x->kind = RWD_XFRIN_IXFR;
		if (serial != x->our_serial)
			return fail(x, RW_EMALFORMED, "the IXFR starts at serial %u, ours is %u",
			            serial, x->our_serial);
		goto diff_start;
	case ST_AXFR:
		if (soa) {
			/* The closing SOA: the first one again, and the last record. */
			if (rd->len + owner_len + 10u != x->first_soa_len ||
			    memcmp(x->recs + owner_len + 10u, rd->data, rd->len) != 0)
				return fail(x, RW_EMALFORMED, "an SOA record (serial %u) inside the "
				            "zone's records", serial);
			if (!last)
				return fail(x, RW_EMALFORMED, "records after the closing SOA");
			x->state = ST_END;
			x->done = true;
			return 0;
		}
		if (PUT() < 0)
			return ret;
		x->n_zone_records++;
		return 0;
	case ST_DEL: {
		struct rwd_xfrin_diff *d = &x->diffs[x->n_diffs - 1];
		if (soa) {
			if (!rwd_serial_newer(serial, d->serial_from))
				return fail(x, RW_EMALFORMED, "an IXFR difference from serial %u to %u, "
				            "not newer", d->serial_from, serial);
			if (PUT() < 0)
				return ret;
			d->serial_to = serial;
			d->new_soa = at;
			d->new_soa_len = x->len - at;
			d->added = x->len;
			x->state = ST_ADD;
			return 0;
		}
		if (PUT() < 0)
			return ret;
		d->n_removed++;
		d->removed_len = x->len - d->removed;
		return 0;
	}
	case ST_ADD: {
		struct rwd_xfrin_diff *d = &x->diffs[x->n_diffs - 1];
		if (!soa) {
			if (PUT() < 0)
				return ret;
			d->n_added++;
			d->added_len = x->len - d->added;
			return 0;
		}
		if (d->serial_to == x->serial && serial == x->serial) {
			if (!last)
				return fail(x, RW_EMALFORMED, "records after the closing SOA");
			x->state = ST_END;
			x->done = true;
			return 0;
		}
		if (serial != d->serial_to)
			return fail(x, RW_EMALFORMED, "an IXFR difference starts at serial %u, the "
			            "previous one ended at %u", serial, d->serial_to);
		if (d->serial_to == x->serial)
			return fail(x, RW_EMALFORMED, "an IXFR difference past the serial announced (%u)",
			            x->serial);
		goto diff_start;
	}
	default:
		return fail(x, RW_EMALFORMED, "records after the closing SOA");
	}
diff_start:
	if ((ret = new_diff(x)) < 0 || PUT() < 0)
		return ret;
	{
		struct rwd_xfrin_diff *d = &x->diffs[x->n_diffs - 1];
		d->serial_from = serial;
		d->old_soa = at;
		d->old_soa_len = x->len - at;
		d->removed = x->len;
	}
	x->state = ST_DEL;
	return 0;
#undef PUT
}

int rwd_xfrin_feed(struct rwd_xfrin *x, const uint8_t *msg, size_t len)
{
	if (x->state == ST_END)
		return fail(x, RW_EMALFORMED, "a message after the end of the transfer");
	x->messages++;
	x->bytes += len;
	if (x->lim.max_messages && x->messages > x->lim.max_messages)
		return fail(x, RW_ELIMIT, "more than %u messages (xfr.max_messages)",
		            x->lim.max_messages);
	if (x->lim.max_bytes && x->bytes > x->lim.max_bytes)
		return fail(x, RW_ELIMIT, "more than %llu bytes (xfr.max_bytes)",
		            (unsigned long long)x->lim.max_bytes);
	if (len < KNOT_WIRE_HEADER_SIZE || len > KNOT_WIRE_MAX_PKTSIZE)
		return fail(x, RW_EMALFORMED, "a message of %zu bytes", len);
	if (knot_wire_get_id(msg) != x->id)
		return fail(x, RW_EMALFORMED, "an answer with another ID");
	if (!knot_wire_get_qr(msg) || knot_wire_get_opcode(msg) != KNOT_OPCODE_QUERY)
		return fail(x, RW_EMALFORMED, "not an answer to a query");
	uint8_t rcode = knot_wire_get_rcode(msg);
	if (rcode != KNOT_RCODE_NOERROR) {
		x->rcode = rcode;
		x->fallback = x->qtype == KNOT_RRTYPE_IXFR && x->messages == 1 &&
		              (rcode == KNOT_RCODE_NOTIMPL || rcode == KNOT_RCODE_FORMERR ||
		               rcode == KNOT_RCODE_REFUSED);
		return fail(x, RW_EREFUSED, "the primary answered %s", rcode_name(rcode));
	}
	if (knot_wire_get_tc(msg))
		return fail(x, RW_EMALFORMED, "a truncated answer");

	/* libknot parses a copy: it may write into the wire it is given. */
	uint8_t *copy = malloc(len);
	if (copy == NULL)
		return fail(x, RW_ENOMEM, "out of memory");
	memcpy(copy, msg, len);
	knot_pkt_t *pkt = knot_pkt_new(copy, (uint16_t)len, NULL);
	int ret = 0;
	if (pkt == NULL) {
		ret = fail(x, RW_ENOMEM, "out of memory");
		goto out;
	}
	int kr = knot_pkt_parse(pkt, KNOT_PF_KEEPWIRE | KNOT_PF_NOCANON);
	if (kr != KNOT_EOK) {
		ret = fail(x, RW_EMALFORMED, "a malformed message (%s)", knot_strerror(kr));
		goto out;
	}
	uint16_t qd = knot_wire_get_qdcount(msg);
	if (qd > 1 || (qd == 0 && x->messages == 1)) {
		ret = fail(x, RW_EMALFORMED, "%u questions in an answer", qd);
		goto out;
	}
	if (qd == 1) {
		const knot_dname_t *qn = knot_pkt_qname(pkt);
		if (knot_pkt_qtype(pkt) != x->qtype || knot_pkt_qclass(pkt) != KNOT_CLASS_IN ||
		    qn == NULL || knot_dname_size(qn) != x->apex_len ||
		    !rw_dname_is_sub(qn, x->apex)) {
			ret = fail(x, RW_EMALFORMED, "an answer to another question");
			goto out;
		}
	}
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	if (an->count == 0) {
		ret = fail(x, RW_EMALFORMED, "an answer without records");
		goto out;
	}
	for (uint16_t i = 0; i < an->count && ret == 0; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t k = 0; k < rr->rrs.count && ret == 0; k++) {
			bool last = i + 1u == an->count && k + 1u == rr->rrs.count;
			ret = record(x, rr, rd, last);
			rd = knot_rdataset_next(rd);
		}
	}
	if (ret == 0)
		ret = x->done ? 1 : 0;
out:
	knot_pkt_free(pkt);
	free(copy);
	return ret;
}

/* ---- applying an IXFR ---- */

/* The RRsets an IXFR changes, each as it will be: a hash table by (owner,
 * type), started from the served version's RRset. */
struct change {
	uint8_t owner[255];
	uint16_t type;
	uint32_t ttl;
	uint32_t count;
	uint8_t *rdata;                /* count x (uint16 len, data) */
	size_t len, cap;
	uint32_t hash;
	bool used;
};
struct changes {
	struct change *v;
	size_t mask, n;
};

static void changes_free(struct changes *c)
{
	for (size_t i = 0; c->v && i <= c->mask; i++)
		free(c->v[i].rdata);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int rd_put(struct change *e, const uint8_t *rd, uint16_t len)
{
	if (e->cap - e->len < 2u + len) {
		size_t cap = e->cap ? e->cap : 256;
		while (cap - e->len < 2u + len)
			cap *= 2;
		uint8_t *r = realloc(e->rdata, cap);
		if (r == NULL)
			return RW_ENOMEM;
		e->rdata = r;
		e->cap = cap;
	}
	rw_put16(e->rdata + e->len, len);
	memcpy(e->rdata + e->len + 2, rd, len);
	e->len += 2u + len;
	e->count++;
	return 0;
}

static struct change *change_get(struct changes *c, const struct rwd_zone *z,
                                 const uint8_t *owner, size_t owner_len, uint16_t type)
{
	if (c->v == NULL || 2 * (c->n + 1) > c->mask + 1) {
		size_t mask = c->v ? 2 * c->mask + 1 : 63;
		struct change *v = calloc(mask + 1, sizeof(*v));
		if (v == NULL)
			return NULL;
		for (size_t i = 0; c->v && i <= c->mask; i++) {
			if (!c->v[i].used)
				continue;
			size_t k = c->v[i].hash & mask;
			while (v[k].used)
				k = (k + 1) & mask;
			v[k] = c->v[i];
		}
		free(c->v);
		c->v = v;
		c->mask = mask;
	}
	uint32_t h = rwd_name_hash(owner, owner_len) ^ (type * 0x9e3779b1u);
	size_t k = h & c->mask;
	for (; c->v[k].used; k = (k + 1) & c->mask) {
		struct change *e = &c->v[k];
		if (e->hash == h && e->type == type && memcmp(e->owner, owner, owner_len) == 0)
			return e;
	}
	struct change *e = &c->v[k];
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->hash = h;
	e->type = type;
	memcpy(e->owner, owner, owner_len);
	c->n++;
	const struct rwd_node *node = rwd_zone_find(z, owner, owner_len);
	const struct rwd_rrset *rs = node ? rwd_node_rrset(node, type) : NULL;
	if (rs) {
		e->ttl = rs->ttl;
		RWD_RRSET_FOREACH(rs, rd, i) {
			if (rd_put(e, rd + 2, rw_get16(rd)) < 0)
				return NULL;
		}
	}
	return e;
}

/* Apply x's difference sequences to z, as RRset overrides in *ov (each
 * owning nothing: rdata points into ch). 0, RW_ENOENT (a removed record
 * that is not there: err), RW_ELIMIT, RW_ENOMEM. */
static int ixfr_changes(const struct rwd_xfrin *x, const struct rwd_zone *z,
                        const struct rwd_zone_limits *zl, struct changes *ch,
                        struct rwd_zone_override **ov, size_t *n_ov, char *err)
{
	char name[RW_DNAME_MAXLEN * 4 + 1];
	for (size_t i = 0; i < x->n_diffs; i++) {
		const struct rwd_xfrin_diff *d = &x->diffs[i];
		struct rwd_xfrin_rr rr;
		for (size_t pos = d->removed; pos < d->removed + d->removed_len &&
		     rwd_xfrin_rr_next(x->recs, d->removed + d->removed_len, &pos, &rr);) {
			struct change *e = change_get(ch, z, rr.owner, rr.owner_len, rr.type);
			if (e == NULL)
				return RW_ENOMEM;
			size_t at = 0;
			bool found = false;
			for (uint32_t k = 0; k < e->count && !found; k++) {
				uint16_t l = rw_get16(e->rdata + at);
				if (rw_rdata_equal(rr.type, e->rdata + at + 2, l, rr.rdata, rr.rdlen)) {
					memmove(e->rdata + at, e->rdata + at + 2 + l, e->len - at - 2 - l);
					e->len -= 2u + l;
					e->count--;
					found = true;
				}
				at += found ? 0 : 2u + l;
			}
			if (!found) {
				rw_dname_to_str(rr.owner, name, sizeof(name));
				seterr(err, "the IXFR from serial %u removes a record the zone does "
				       "not hold (%s type %u)", d->serial_from, name, rr.type);
				return RW_ENOENT;
			}
		}
		for (size_t pos = d->added; pos < d->added + d->added_len &&
		     rwd_xfrin_rr_next(x->recs, d->added + d->added_len, &pos, &rr);) {
			struct change *e = change_get(ch, z, rr.owner, rr.owner_len, rr.type);
			if (e == NULL)
				return RW_ENOMEM;
			size_t at = 0;
			bool dup = false;
			for (uint32_t k = 0; k < e->count && !dup; k++) {
				uint16_t l = rw_get16(e->rdata + at);
				dup = rw_rdata_equal(rr.type, e->rdata + at + 2, l, rr.rdata, rr.rdlen);
				at += 2u + l;
			}
			e->ttl = rr.ttl;
			if (!dup && rd_put(e, rr.rdata, rr.rdlen) < 0)
				return RW_ENOMEM;
			if (e->count > zl->max_rrset_records) {
				rw_dname_to_str(rr.owner, name, sizeof(name));
				seterr(err, "%s type %u: more than %u records in one RRset "
				          "(zone_limits.max_rrset_records)", name, rr.type,
				          zl->max_rrset_records);
				return RW_ELIMIT;
			}
		}
	}
	*ov = calloc(ch->n ? ch->n : 1, sizeof(**ov));
	if (*ov == NULL)
		return RW_ENOMEM;
	*n_ov = 0;
	for (size_t i = 0; ch->v && i <= ch->mask; i++) {   /* none: only the SOA changed */
		const struct change *e = &ch->v[i];
		if (!e->used)
			continue;
		struct rwd_zone_override *o = &(*ov)[(*n_ov)++];
		memcpy(o->owner, e->owner, rw_dname_len(e->owner));
		o->type = e->type;
		o->ttl = e->ttl;
		o->count = (uint16_t)e->count;
		o->rdata = e->rdata;
	}
	return 0;
}

/* The new SOA of an IXFR equals the served one but for the serial. */
static bool soa_same_but_serial(const struct rwd_zone *z, const struct rwd_xfrin *x)
{
	const struct rwd_xfrin_diff *d = &x->diffs[x->n_diffs - 1];
	struct rwd_xfrin_rr rr;
	size_t pos = d->new_soa;
	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, KNOT_RRTYPE_SOA);
	if (soa == NULL || soa->count != 1 ||
	    !rwd_xfrin_rr_next(x->recs, d->new_soa + d->new_soa_len, &pos, &rr))
		return false;
	uint16_t l = rw_get16(soa->rdata);
	if (rr.ttl != soa->ttl || rr.rdlen != l || l < 20)
		return false;
	return memcmp(rr.rdata, soa->rdata + 2, l - 20u) == 0 &&
	       memcmp(rr.rdata + l - 16, soa->rdata + 2 + l - 16, 16) == 0;
}

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	uint32_t n;
};

static int wbuf_rr(struct wbuf *b, const uint8_t *owner, size_t owner_len, uint16_t type,
                   uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	size_t need = owner_len + 10u + rdlen;
	if (b->cap - b->len < need) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap - b->len < need)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (q == NULL)
			return RW_ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	uint8_t *w = b->p + b->len;
	memcpy(w, owner, owner_len);
	w += owner_len;
	rw_put16(w, type);
	rw_put16(w + 2, KNOT_CLASS_IN);
	rw_put32(w + 4, ttl);
	rw_put16(w + 8, rdlen);
	memcpy(w + 10, rd, rdlen);
	b->len += need;
	b->n++;
	return 0;
}

/* Is rd[0..len) among the count records (uint16 len, data) at set? */
static bool rd_in(uint16_t type, const uint8_t *set, uint32_t count, const uint8_t *rd,
                  uint16_t len)
{
	for (uint32_t k = 0; k < count; k++, set += 2u + rw_get16(set))
		if (rw_rdata_equal(type, set + 2, rw_get16(set), rd, len))
			return true;
	return false;
}

/* The net difference of all of x's sequences, from the changed RRsets (ch)
 * against old: what the history of the new version continues with (a
 * changed TTL removes and adds, as rwd_zone_diff_versions says). O(changes),
 * not O(zone). NULL when out of memory. */
static struct rwd_zone_diff *net_diff(const struct rwd_xfrin *x, const struct rwd_zone *old,
                                      const struct changes *ch)
{
	const struct rwd_xfrin_diff *first = &x->diffs[0], *last = &x->diffs[x->n_diffs - 1];
	if (x->n_diffs == 1)
		return rwd_zone_diff_new(first->serial_from, first->serial_to, x->recs + first->old_soa,
		                         first->old_soa_len, x->recs + first->removed,
		                         first->removed_len, first->n_removed,
		                         x->recs + first->new_soa, first->new_soa_len,
		                         x->recs + first->added, first->added_len, first->n_added);
	struct wbuf rem = { 0 }, add = { 0 };
	int ret = 0;
	for (size_t i = 0; ch->v && i <= ch->mask && ret == 0; i++) {
		const struct change *e = &ch->v[i];
		if (!e->used)
			continue;
		size_t olen = rw_dname_len(e->owner);
		const struct rwd_node *node = rwd_zone_find(old, e->owner, olen);
		const struct rwd_rrset *rs = node ? rwd_node_rrset(node, e->type) : NULL;
		bool ttl_changed = rs && e->count && rs->ttl != e->ttl;
		if (rs) {
			RWD_RRSET_FOREACH(rs, rd, k) {
				if (ret == 0 && (ttl_changed ||
				                 !rd_in(e->type, e->rdata, e->count, rd + 2, rw_get16(rd))))
					ret = wbuf_rr(&rem, e->owner, olen, e->type, rs->ttl, rd + 2,
					              rw_get16(rd));
			}
		}
		const uint8_t *rd = e->rdata;
		for (uint32_t k = 0; k < e->count && ret == 0; k++, rd += 2u + rw_get16(rd))
			if (ttl_changed || rs == NULL ||
			    !rd_in(e->type, rs->rdata, rs->count, rd + 2, rw_get16(rd)))
				ret = wbuf_rr(&add, e->owner, olen, e->type, e->ttl, rd + 2, rw_get16(rd));
	}
	struct rwd_zone_diff *d = NULL;
	if (ret == 0)
		d = rwd_zone_diff_new(first->serial_from, last->serial_to, x->recs + first->old_soa,
		                      first->old_soa_len, rem.p, rem.len, rem.n,
		                      x->recs + last->new_soa, last->new_soa_len, add.p, add.len,
		                      add.n);
	free(rem.p);
	free(add.p);
	return d;
}

int rwd_xfrin_apply(const struct rwd_xfrin *x, struct rwd_zone *old,
                    const struct rwd_zone_limits *zl, const char *path,
                    void (*lock)(void *ctx, bool on), void *lock_ctx, struct rwd_zone **out,
                    struct rwd_zone_diff **diff, const char **how, char err[RWD_XFRIN_ERRLEN])
{
	struct changes ch = { 0 };
	struct rwd_zone_override *ov = NULL;
	size_t n_ov = 0;
	struct rwd_zone *z = NULL;
	*out = NULL;
	*how = NULL;
	if (diff)
		*diff = NULL;
	err[0] = '\0';
	if (x->kind != RWD_XFRIN_IXFR || x->n_diffs == 0) {
		seterr(err, "not an IXFR");
		return RW_EINVAL;
	}
	int ret = ixfr_changes(x, old, zl, &ch, &ov, &n_ov, err);
	if (ret < 0)
		goto out;
	/* Patched: one patching thread per chain, whoever holds the caller's
	 * lock (runwayd's control lock: API changes patch under it too). */
	if (soa_same_but_serial(old, x)) {
		if (lock)
			lock(lock_ctx, true);
		z = rwd_zone_patch(old, ov, n_ov, x->serial);
		if (lock)
			lock(lock_ctx, false);
		if (z) {
			*how = "patched";
			goto out;
		}
	}
	/* Built afresh: old's records, the changed RRsets (the new SOA among them). */
	const struct rwd_xfrin_diff *d = &x->diffs[x->n_diffs - 1];
	struct rwd_xfrin_rr soa;
	size_t pos = d->new_soa;
	ret = RW_ENOMEM;
	struct rwd_zone_override *ov2 = realloc(ov, (n_ov + 1) * sizeof(*ov));
	if (ov2 == NULL || !rwd_xfrin_rr_next(x->recs, d->new_soa + d->new_soa_len, &pos, &soa)) {
		if (ov2)
			ov = ov2;
		seterr(err, "out of memory");
		goto out;
	}
	ov = ov2;
	uint8_t *soa_rd = malloc(2u + soa.rdlen);
	if (soa_rd == NULL) {
		seterr(err, "out of memory");
		goto out;
	}
	rw_put16(soa_rd, soa.rdlen);
	memcpy(soa_rd + 2, soa.rdata, soa.rdlen);
	ov[n_ov] = (struct rwd_zone_override){ .type = KNOT_RRTYPE_SOA, .ttl = soa.ttl, .count = 1,
	                                       .rdata = soa_rd };
	memcpy(ov[n_ov].owner, old->apex_name, old->apex_len);
	uint8_t *recs = NULL;
	size_t len = 0, n = 0;
	if (rwd_zone_records(old, &recs, &len, &n) < 0) {
		free(soa_rd);
		seterr(err, "out of memory");
		goto out;
	}
	struct rwd_source_records sr = { recs, len, "served records", 0 };
	struct rwd_zone_load_opts opts = { ov, n_ov + 1, x->serial };
	struct rwd_record_source src[2] = { rwd_source_records(&sr), rwd_source_overrides(&opts) };
	z = rwd_zone_build_sources(old->apex_name, path, src, 2, zl, report_first, err);
	free(recs);
	free(soa_rd);
	*how = "rebuilt";
	ret = 0;
	if (z == NULL) {
		if (err[0] == '\0')
			seterr(err, "the zone with the IXFR applied does not build");
		ret = RW_EZONE;
	}
out:
	if (z && diff)
		*diff = net_diff(x, old, &ch);   /* NULL (out of memory): the history restarts */
	free(ov);
	changes_free(&ch);
	*out = z;
	return z ? 0 : (ret < 0 ? ret : RW_EZONE);
}
