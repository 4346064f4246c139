/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Records from memory as a record source (source.h): a zone transfer's
 * (xfr/xfrin.c keeps them so), or a served zone's records read back
 * (rwd_zone_records), each handed to the build's checked add path as a
 * zone file's record is, so a transfer is held to what a file is.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/zone/source.h"

/* The record at *pos: owner (flat), then type, class, TTL, RDLENGTH, RDATA.
 * false at the end or on a record that does not fit. */
static bool next_rr(const uint8_t *buf, size_t len, size_t *pos, size_t *owner_len,
                    const uint8_t **fixed)
{
	size_t p = *pos, n = 0;
	while (p + n < len && buf[p + n] != 0 && n < RW_DNAME_MAXLEN)
		n += buf[p + n] + 1u;
	if (p + n >= len || n >= RW_DNAME_MAXLEN || buf[p + n] != 0)
		return false;
	n++;
	if (len - p - n < 10 || len - p - n - 10 < rw_get16(buf + p + n + 8))
		return false;
	*owner_len = n;
	*fixed = buf + p + n;
	*pos = p + n + 10u + rw_get16(buf + p + n + 8);
	return true;
}

static int read_records(const struct rwd_record_source *src, struct rwd_zone_ctx *c)
{
	const struct rwd_source_records *r = src->data;
	size_t pos = 0, owner_len;
	const uint8_t *f;
	unsigned long line = 0;
	while (pos < r->len) {
		size_t at = pos;
		line++;
		if (!next_rr(r->data, r->len, &pos, &owner_len, &f)) {
			rwd_zone_build_error(c, r->name, line, "a record that does not parse");
			return 0;
		}
		int ret = rwd_zone_add_record(c, r->data + at, owner_len, rw_get16(f + 2), rw_get16(f),
		                              rw_get32(f + 4), f + 10, rw_get16(f + 8), r->name, line);
		if (ret < 0)
			return ret;
		if (rwd_zone_build_errors(c) >= 20)
			return 0;                /* enough to say what is wrong */
	}
	if (r->serial)
		rwd_zone_set_serial(c, r->serial);
	return 0;
}

static size_t records_size(const struct rwd_record_source *src)
{
	return ((const struct rwd_source_records *)src->data)->len;
}

struct rwd_record_source rwd_source_records(const struct rwd_source_records *r)
{
	return (struct rwd_record_source){ .kind = "records", .data = r, .read = read_records,
	                                   .size_hint = records_size };
}

/* ---- a built zone's records, back to wire form ---- */

struct out {
	uint8_t *buf;
	size_t len, cap;
};

static int out_put(struct out *o, const void *p, size_t n)
{
	if (o->cap - o->len < n) {
		size_t cap = o->cap ? o->cap : 64 * 1024;
		while (cap - o->len < n)
			cap *= 2;
		uint8_t *b = realloc(o->buf, cap);
		if (b == NULL)
			return RW_ENOMEM;
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static int put_rrset(struct out *o, const struct rwd_node *n, const struct rwd_rrset *rs)
{
	RWD_RRSET_FOREACH(rs, rd, i) {
		uint8_t f[10];
		rw_put16(f, rs->type);
		rw_put16(f + 2, RW_CLASS_IN);
		rw_put32(f + 4, rs->ttl);
		memcpy(f + 8, rd, 2);
		if (out_put(o, n->name, n->name_len) < 0 || out_put(o, f, 10) < 0 ||
		    out_put(o, rd + 2, rw_get16(rd)) < 0)
			return RW_ENOMEM;
	}
	return 0;
}

int rwd_zone_records(const struct rwd_zone *z, uint8_t **out, size_t *len, size_t *n)
{
	struct out o = { 0 };
	size_t count = 0;
	/* The SOA first, as a zone file and a transfer have it. */
	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, RW_TYPE_SOA);
	if (soa && put_rrset(&o, z->apex, soa) < 0)
		goto oom;
	count += soa ? soa->count : 0;
	for (size_t i = 0; i <= z->table_mask; i++) {
		const struct rwd_node *node = z->table[i];
		if (node == NULL)
			continue;
		for (unsigned k = 0; k < node->n_rrsets; k++) {
			const struct rwd_rrset *rs = &node->rrsets[k];
			if (node == z->apex && rs->type == RW_TYPE_SOA)
				continue;
			if (put_rrset(&o, node, rs) < 0)
				goto oom;
			count += rs->count;
		}
	}
	*out = o.buf;
	*len = o.len;
	*n = count;
	return 0;
oom:
	free(o.buf);
	return RW_ENOMEM;
}
