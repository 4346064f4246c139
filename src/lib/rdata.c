/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include <libknot/descriptor.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"

/* Length of a flat name within [p, end), or -1. */
static int flat_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *s = p;
	while (p < end && *p != 0) {
		if (*p > RW_LABEL_MAXLEN)
			return -1;
		p += *p + 1;
	}
	if (p >= end || p - s + 1 > RW_DNAME_MAXLEN)
		return -1;
	return (int)(p - s + 1);
}

/* RDATA as a sequence of blocks: fixed-size fields, names, the rest. */
struct iter {
	const knot_rdata_descriptor_t *d;
	int i;
	const uint8_t *p, *end;
};

enum block { BLOCK_END, BLOCK_BYTES, BLOCK_NAME, BLOCK_CNAME /* compressible name */ };

static void iter_init(struct iter *it, uint16_t type, const uint8_t *rd, uint16_t len)
{
	it->d = knot_get_rdata_descriptor(type);
	it->i = 0;
	it->p = rd;
	it->end = rd + len;
}

/* Next block in [*blk, *blk + *len); BLOCK_END at the end, or a negative RW_E*. */
static int iter_next(struct iter *it, const uint8_t **blk, size_t *len)
{
	int bt = it->d->block_types[it->i];
	if (bt == KNOT_RDATA_WF_END)
		return it->p == it->end ? BLOCK_END : RW_EMALFORMED;
	it->i++;
	const uint8_t *s = it->p;
	int kind = BLOCK_BYTES;
	if (bt > 0) {                       /* fixed size */
		if (it->end - s < bt)
			return RW_EMALFORMED;
		it->p += bt;
	} else if (bt == KNOT_RDATA_WF_REMAINDER) {
		it->p = it->end;
	} else if (bt == KNOT_RDATA_WF_NAPTR_HEADER) {
		/* order, preference, then flags, services, regexp strings */
		if (it->end - s < 4)
			return RW_EMALFORMED;
		const uint8_t *q = s + 4;
		for (int k = 0; k < 3; k++) {
			if (q >= it->end || it->end - q < 1 + *q)
				return RW_EMALFORMED;
			q += 1 + *q;
		}
		it->p = q;
	} else {                            /* a domain name */
		int n = flat_len(s, it->end);
		if (n < 0)
			return RW_EMALFORMED;
		it->p += n;
		kind = bt == KNOT_RDATA_WF_COMPRESSIBLE_DNAME ? BLOCK_CNAME : BLOCK_NAME;
	}
	*blk = s;
	*len = (size_t)(it->p - s);
	return kind;
}

/* Walk rdata block by block; with b != NULL, write it. */
static int walk(struct rw_msgbuilder *b, uint16_t type, const uint8_t *rd, uint16_t len)
{
	struct iter it;
	const uint8_t *blk;
	size_t n;
	int kind;
	iter_init(&it, type, rd, len);
	while ((kind = iter_next(&it, &blk, &n)) > BLOCK_END) {
		if (b == NULL)
			continue;
		if (kind == BLOCK_BYTES)
			rw_msgb_put(b, blk, n);
		else
			rw_msgb_put_dname(b, blk, kind == BLOCK_CNAME);
	}
	return kind < 0 ? kind : 0;
}

bool rw_rdata_equal(uint16_t type, const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen)
{
	struct iter ia, ib;
	iter_init(&ia, type, a, alen);
	iter_init(&ib, type, b, blen);
	for (;;) {
		const uint8_t *pa, *pb;
		size_t na, nb;
		int ka = iter_next(&ia, &pa, &na), kb = iter_next(&ib, &pb, &nb);
		if (ka < 0 || kb < 0)
			return alen == blen && memcmp(a, b, alen) == 0;
		if (ka != kb || na != nb)
			return false;
		if (ka == BLOCK_END)
			return true;
		if (ka == BLOCK_BYTES ? memcmp(pa, pb, na) != 0 : !rw_dname_eq(pa, pb))
			return false;
	}
}

int rw_rdata_check(uint16_t type, const uint8_t *rdata, uint16_t len)
{
	return walk(NULL, type, rdata, len);
}

int rw_rdata_put(struct rw_msgbuilder *b, uint16_t type, const uint8_t *rdata, uint16_t len)
{
	size_t at = b->len;
	rw_msgb_put16(b, 0);
	int r = walk(b, type, rdata, len);
	if (!b->overflow)
		rw_put16(b->buf + at, (uint16_t)(b->len - at - 2));
	return r;
}

const uint8_t *rw_rdata_target(uint16_t type, const uint8_t *rdata, uint16_t len)
{
	size_t skip;
	switch (type) {
	case RW_TYPE_NS: case RW_TYPE_CNAME: skip = 0; break;
	case RW_TYPE_MX: skip = 2; break;
	case RW_TYPE_SRV: skip = 6; break;
	case RW_TYPE_SVCB: case RW_TYPE_HTTPS: skip = 2; break;
	default: return NULL;
	}
	if (len <= skip || flat_len(rdata + skip, rdata + len) < 0 || rdata[skip] == 0)
		return NULL;   /* "." as SVCB target means the owner itself (RFC 9460 2.5) */
	return rdata + skip;
}
