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
