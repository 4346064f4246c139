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

/* Walk rdata block by block; with b != NULL, write it. */
static int walk(struct rw_msgbuilder *b, uint16_t type, const uint8_t *rd, uint16_t len)
{
	const knot_rdata_descriptor_t *d = knot_get_rdata_descriptor(type);
	const uint8_t *p = rd, *end = rd + len;
	for (int i = 0; d->block_types[i] != KNOT_RDATA_WF_END; i++) {
		int bt = d->block_types[i];
		if (bt > 0) {                   /* fixed size */
			if (end - p < bt)
				return RW_EMALFORMED;
			if (b) rw_msgb_put(b, p, (size_t)bt);
			p += bt;
		} else if (bt == KNOT_RDATA_WF_REMAINDER) {
			if (b) rw_msgb_put(b, p, (size_t)(end - p));
			p = end;
		} else if (bt == KNOT_RDATA_WF_NAPTR_HEADER) {
			/* order, preference, then flags, services, regexp strings */
			if (end - p < 4)
				return RW_EMALFORMED;
			const uint8_t *s = p + 4;
			for (int k = 0; k < 3; k++) {
				if (s >= end || end - s < 1 + *s)
					return RW_EMALFORMED;
				s += 1 + *s;
			}
			if (b) rw_msgb_put(b, p, (size_t)(s - p));
			p = s;
		} else {                        /* a domain name */
			int n = flat_len(p, end);
			if (n < 0)
				return RW_EMALFORMED;
			if (b) rw_msgb_put_dname(b, p, bt == KNOT_RDATA_WF_COMPRESSIBLE_DNAME);
			p += n;
		}
	}
	return p == end ? 0 : RW_EMALFORMED;
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
