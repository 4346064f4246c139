/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stddef.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"

/* Skip a (possibly compressed) name at msg[p] without reading pointer
 * targets: the position past it, 0 if malformed (a name never ends at 0).
 * The position is passed and returned by value: a local of the caller's
 * whose address is taken would cost it a stack protector check. */
static size_t skip_dname(const uint8_t *msg, size_t len, size_t p)
{
	for (unsigned total = 0;;) {
		if (p >= len)
			return 0;
		uint8_t l = msg[p];
		if ((l & 0xc0) == 0xc0)
			return p + 2 > len ? 0 : p + 2;
		if (l & 0xc0)
			return 0;
		total += l + 1u;
		if (total > RW_DNAME_MAXLEN)
			return 0;
		p += l + 1u;
		if (l == 0)
			return p;
	}
}

/* rw_rr_skip, inlined in rw_query_parse; an owner that is the root (an
 * OPT's) is read without skip_dname(). */
static inline int rr_skip(const uint8_t *msg, size_t len, size_t *pos, uint16_t *type,
                          uint16_t *rdlen)
{
	size_t p = *pos;
	if (p < len && msg[p] == 0)
		p++;
	else if ((p = skip_dname(msg, len, p)) == 0)
		return RW_EMALFORMED;
	if (p + 10 > len)
		return RW_EMALFORMED;
	uint16_t rl = rw_get16(msg + p + 8);
	if (p + 10 + rl > len)
		return RW_EMALFORMED;
	if (type)
		*type = rw_get16(msg + p);
	if (rdlen)
		*rdlen = rl;
	*pos = p + 10 + rl;
	return 0;
}

int rw_rr_skip(const uint8_t *msg, size_t len, size_t *pos, uint16_t *type, uint16_t *rdlen)
{
	return rr_skip(msg, len, pos, type, rdlen);
}

/* RFC 7871 6: a malformed option is FORMERR (7.1.2 says so for ADDRESS
 * longer than the prefix or with bits set past it). */
static enum rw_parse parse_ecs(const uint8_t *o, uint16_t len, struct rw_edns *e)
{
	if (len < 4 || e->ecs)
		return RW_PARSE_FORMERR;
	uint16_t family = rw_get16(o);
	uint8_t source = o[2];
	unsigned max = family == 1 ? 32 : family == 2 ? 128 : 0;
	unsigned bytes = (source + 7u) / 8;
	if (max == 0 || source > max || len - 4u != bytes)
		return RW_PARSE_FORMERR;
	memset(e->ecs_addr, 0, sizeof(e->ecs_addr));
	memcpy(e->ecs_addr, o + 4, bytes);
	if (source % 8 && (e->ecs_addr[bytes - 1] & (0xff >> (source % 8))))
		return RW_PARSE_FORMERR;
	e->ecs = true;
	e->ecs_family = (uint8_t)family;
	e->ecs_source = source;
	return RW_PARSE_OK;
}

/* RFC 7873 5.2.2: a COOKIE option is a client cookie (8 bytes), maybe
 * followed by a server cookie (8..32 bytes); any other length is FORMERR.
 * Only the first option counts; later ones must still be well-formed. */
static enum rw_parse parse_cookie(const uint8_t *o, uint16_t len, struct rw_edns *e)
{
	if (len != RW_COOKIE_CLIENT_LEN &&
	    (len < RW_COOKIE_CLIENT_LEN + RW_COOKIE_SERVER_MIN ||
	     len > RW_COOKIE_CLIENT_LEN + RW_COOKIE_SERVER_MAX))
		return RW_PARSE_FORMERR;
	if (e->cookie)
		return RW_PARSE_OK;
	e->cookie = true;
	memcpy(e->cookie_client, o, RW_COOKIE_CLIENT_LEN);
	e->cookie_server_len = (uint8_t)(len - RW_COOKIE_CLIENT_LEN);
	memcpy(e->cookie_server, o + RW_COOKIE_CLIENT_LEN, e->cookie_server_len);
	return RW_PARSE_OK;
}

/*
 * The OPT RR starts at msg[start]; its fixed part is at msg[p..p+10). Its
 * fixed fields are always taken (the answer echoes an OPT whatever else is
 * wrong in it); a problem in the owner or the options sets e->malformed.
 * The options of a version we do not speak are not ours to read.
 */
static void parse_opt(const uint8_t *msg, size_t start, size_t p, struct rw_edns *e)
{
	uint16_t size = rw_get16(msg + p + 2);
	e->present = true;
	e->udp_size = size < 512 ? 512 : size;
	e->version = msg[p + 5];
	e->do_bit = msg[p + 6] & 0x80;
	if (msg[start] != 0 || p != start + 1) {  /* owner must be the root */
		e->malformed = true;
		return;
	}
	if (e->version > 0)
		return;
	uint16_t rdlen = rw_get16(msg + p + 8);
	const uint8_t *o = msg + p + 10, *end = o + rdlen;
	while (o < end) {
		if (end - o < 4)
			goto malformed;
		uint16_t code = rw_get16(o), olen = rw_get16(o + 2);
		if (olen > end - o - 4)
			goto malformed;
		if (code == RW_EDNS_NSID)
			e->nsid = true;
		else if (code == RW_EDNS_EXPIRE)
			e->expire = true;       /* its length is not checked, as Knot DNS */
		else if (code == RW_EDNS_ECS && parse_ecs(o + 4, olen, e) != RW_PARSE_OK)
			goto malformed;
		else if (code == RW_EDNS_COOKIE && parse_cookie(o + 4, olen, e) != RW_PARSE_OK)
			goto malformed;
		o += 4 + olen;
	}
	return;
malformed:
	e->malformed = true;
}

/* FORMERR for a message that could not be read to its end, or whose OPT is
 * ambiguous: no OPT in the answer. */
static enum rw_parse formerr_no_opt(struct rw_query *q)
{
	q->edns.present = false;
	return RW_PARSE_FORMERR;
}

/* ASCII uppercase letters of the 8 bytes in w lowercased, the others kept
 * (bytes of 0x80 and up included): no branch per byte. Each byte's low 7
 * bits plus a constant sets its top bit when the byte is >= 'A', resp.
 * > 'Z'; no sum carries into the next byte. */
static inline uint64_t lower8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t low7 = w & ~high;
	uint64_t ge_a = low7 + ones * (0x80 - 'A');
	uint64_t gt_z = low7 + ones * (0x7f - 'Z');
	uint64_t upper = (ge_a ^ gt_z) & ~w & high;
	return w | upper >> 2;              /* 0x80 >> 2 == 0x20 */
}

/* Copy the question name, lowercased, as the lookup key. Compression in the
 * question makes no sense (nothing precedes it) and is refused. The labels
 * are checked first, then the whole name is copied 8 bytes at a time (its
 * length bytes, 0..63, are no letters and pass unchanged). */
static int parse_qname(const uint8_t *msg, size_t len, struct rw_query *q)
{
	/* The name ends within the message and within RW_DNAME_MAXLEN. */
	size_t p = RW_HDR_LEN, end = len < RW_HDR_LEN + RW_DNAME_MAXLEN ? len : RW_HDR_LEN + RW_DNAME_MAXLEN;
	unsigned labels = 0;
	if (p >= end)
		return RW_EMALFORMED;
	for (;; labels++) {
		/* msg[p] is readable: p < end */
		uint8_t l = msg[p];
		p += 1u + l;
		if (l == 0)
			break;                     /* p <= end, as p < end before */
		if (l > RW_LABEL_MAXLEN || p >= end)
			return RW_EMALFORMED;      /* no byte left for the next length */
	}
	q->qname_labels = (uint8_t)labels;
	size_t n = p - RW_HDR_LEN;
	const uint8_t *src = msg + RW_HDR_LEN;
	uint8_t *dst = q->qname;
	uint64_t w, h = rw_name_hash_init(n);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n >= 8) {
		for (size_t i = 0; i + 8 <= n; i += 8) {
			memcpy(&w, src + i, 8);
			w = lower8(w);
			memcpy(dst + i, &w, 8);
			h = rw_name_hash_step(h, w);
		}
		/* The last 8 bytes again, overlapping: lowercasing is idempotent;
		 * the hash takes the n % 8 bytes the words above did not. */
		memcpy(&w, src + n - 8, 8);
		w = lower8(w);
		memcpy(dst + n - 8, &w, 8);
		if (n % 8)
			h = rw_name_hash_step(h, w >> (8 - n % 8) * 8);
	} else {
		w = 0;
		for (size_t i = 0; i < n; i++) {
			uint8_t c = src[i];
			dst[i] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
			w |= (uint64_t)dst[i] << i * 8;
		}
		h = rw_name_hash_step(h, w);   /* 1 <= n < 8 */
	}
#else
	for (size_t i = 0; i < n; i++) {
		uint8_t c = src[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
	}
	for (size_t i = 0; i < n; i += 8) {
		w = 0;
		memcpy(&w, dst + i, n - i < 8 ? n - i : 8);
		h = rw_name_hash_step(h, w);
	}
#endif
	q->qname_len = (uint16_t)n;
	q->qname_hash = rw_name_hash_final(h);
	return 0;
}

#define TYPE_TSIG 250    /* RFC 8945 */

enum rw_parse rw_query_parse(const uint8_t *msg, size_t len, struct rw_query *q)
{
	q->question_len = 0;
	q->qname_len = 0;
	q->tsig_at = q->tsig_len = 0;
	memset(&q->edns, 0, offsetof(struct rw_edns, ecs_addr));   /* the flags, not the bytes */
	if (len < RW_HDR_LEN)
		return RW_PARSE_DROP;
	q->id = rw_get16(msg);
	q->flags1 = msg[2];
	q->flags2 = msg[3];
	q->opcode = RW_OPCODE(msg[2]);
	if (q->flags1 & RW_FLAG_QR)
		return RW_PARSE_DROP;      /* never answer an answer: reflection loops */

	uint16_t qd = rw_get16(msg + 4), an = rw_get16(msg + 6);
	uint16_t ns = rw_get16(msg + 8), ar = rw_get16(msg + 10);
	size_t p = RW_HDR_LEN;
	/* Several questions (RFC 9619), or one cut short: FORMERR with the
	 * header only (Knot DNS drops them; RFC 1035 4.1.1 asks for FORMERR).
	 * No question is read on: the opcode or a COOKIE may still make sense
	 * of the message. */
	if (qd > 1)
		return RW_PARSE_FORMERR;
	if (qd == 1) {
		if (parse_qname(msg, len, q) < 0 || RW_HDR_LEN + q->qname_len + 4u > len)
			return RW_PARSE_FORMERR;
		p += q->qname_len;
		q->qtype = rw_get16(msg + p);
		q->qclass = rw_get16(msg + p + 2);
		q->question_len = q->qname_len + 4;
		p += 4;
	}

	/* The common case, a question alone, in a straight line. */
	if ((an | ns | ar) == 0 && p == len) {
		if (__builtin_expect(q->opcode != RW_OPCODE_QUERY && q->opcode != RW_OPCODE_NOTIFY, 0))
			return RW_PARSE_NOTIMP;
		return qd ? RW_PARSE_OK : RW_PARSE_NOQUESTION;
	}

	/* Walk every record: an OPT anywhere but once in additional is FORMERR,
	 * a TSIG anywhere but as the last record of additional too. */
	unsigned total = (unsigned)an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		size_t start = p;
		uint16_t type, rdlen;
		if (rr_skip(msg, len, &p, &type, &rdlen) < 0)
			return formerr_no_opt(q);
		if (__builtin_expect(type == TYPE_TSIG, 0)) {
			if (i != total - 1 || i < (unsigned)an + ns)
				return formerr_no_opt(q);
			q->tsig_at = (uint16_t)start;    /* messages are < 64 KiB */
			q->tsig_len = (uint16_t)(p - start);
			continue;
		}
		if (type != RW_TYPE_OPT)
			continue;
		if (i < (unsigned)an + ns || q->edns.present)
			return formerr_no_opt(q);
		parse_opt(msg, start, p - 10 - rdlen, &q->edns);
	}
	if (p != len) {
		q->tsig_at = q->tsig_len = 0;
		return formerr_no_opt(q);  /* trailing garbage */
	}
	if (q->edns.present && q->edns.version > 0)
		return RW_PARSE_BADVERS;
	if (q->edns.malformed)
		return RW_PARSE_FORMERR;
	if (q->opcode != RW_OPCODE_QUERY && q->opcode != RW_OPCODE_NOTIFY)
		return RW_PARSE_NOTIMP;
	if (qd == 0)
		return RW_PARSE_NOQUESTION;
	return RW_PARSE_OK;
}

/* ---- message builder ---- */

/* Pointer targets must stay addressable after relocation by up to 255. */
#define DICT_MAX_OFFSET (0x3fff - RW_DNAME_MAXLEN)

static void dict_add(struct rw_msgbuilder *b, size_t off)
{
	if (off <= DICT_MAX_OFFSET && b->n_dict < RW_MSGB_MAX_DICT)
		b->dict[b->n_dict++] = (uint16_t)off;
}

/* Does the name at buf[off] (possibly compressed) equal flat name dn? */
static bool name_at_eq(const struct rw_msgbuilder *b, size_t off, const uint8_t *dn)
{
	for (;;) {
		uint8_t l = b->buf[off];
		if ((l & 0xc0) == 0xc0) {
			off = (size_t)(l & 0x3f) << 8 | b->buf[off + 1];
			continue;
		}
		if (l != *dn)
			return false;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++) {
			uint8_t x = b->buf[off + i], y = dn[i];
			if (x >= 'A' && x <= 'Z') x += 32;
			if (y >= 'A' && y <= 'Z') y += 32;
			if (x != y)
				return false;
		}
		off += l + 1u;
		dn += l + 1u;
	}
}

int rw_msgb_init(struct rw_msgbuilder *b, uint8_t *buf, size_t cap, uint16_t id,
                 const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool qname_matchable)
{
	size_t ql = rw_dname_len(qname);
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	if (cap < RW_HDR_LEN + ql + 4)
		return RW_ESPACE;
	memset(buf, 0, RW_HDR_LEN);
	rw_put16(buf, id);
	rw_put16(buf + RW_HDR_QDCOUNT, 1);
	memcpy(buf + RW_HDR_LEN, qname, ql);
	for (size_t o = RW_HDR_LEN; buf[o] != 0; o += buf[o] + 1u)
		if (o != RW_HDR_LEN || qname_matchable)
			dict_add(b, o);
	rw_put16(buf + RW_HDR_LEN + ql, qtype);
	rw_put16(buf + RW_HDR_LEN + ql + 2, qclass);
	b->len = RW_HDR_LEN + ql + 4;
	return 0;
}

void rw_msgb_put(struct rw_msgbuilder *b, const void *data, size_t n)
{
	if (b->overflow || b->len + n > b->cap) {
		b->overflow = true;
		return;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
}

void rw_msgb_put16(struct rw_msgbuilder *b, uint16_t v)
{
	uint8_t x[2];
	rw_put16(x, v);
	rw_msgb_put(b, x, 2);
}

void rw_msgb_put32(struct rw_msgbuilder *b, uint32_t v)
{
	uint8_t x[4];
	rw_put32(x, v);
	rw_msgb_put(b, x, 4);
}

static void put_ptr(struct rw_msgbuilder *b, uint16_t target)
{
	size_t at = b->len;
	rw_msgb_put16(b, 0xc000 | target);
	if (!b->overflow && target != RW_HDR_LEN) {
		if (b->n_relocs < RW_MSGB_MAX_RELOCS)
			b->relocs[b->n_relocs++] = (uint16_t)at;
		else
			b->overflow = true;   /* cannot describe it: refuse rather than mislead */
	}
}

void rw_msgb_put_qname_ptr(struct rw_msgbuilder *b)
{
	rw_msgb_put16(b, 0xc000 | RW_HDR_LEN);
}

void rw_msgb_put_dname(struct rw_msgbuilder *b, const uint8_t *dn, bool compress)
{
	size_t start = b->len;
	unsigned n_dict = b->n_dict;
	const uint8_t *s = dn;
	for (;;) {
		if (compress && *s != 0) {
			for (unsigned i = 0; i < n_dict; i++) {
				if (name_at_eq(b, b->dict[i], s)) {
					put_ptr(b, b->dict[i]);
					goto done;
				}
			}
		}
		rw_msgb_put(b, s, (size_t)*s + 1);
		if (b->overflow || *s == 0)
			break;
		dict_add(b, b->len - *s - 1);
		s += *s + 1;
	}
done:
	if (b->overflow) {     /* all or nothing */
		b->len = start;
		b->n_dict = n_dict;
	}
}

size_t rw_msgb_put_opt(struct rw_msgbuilder *b, uint16_t udp_size, uint8_t ext_rcode, bool do_bit)
{
	static const uint8_t root = 0;
	rw_msgb_put(b, &root, 1);
	rw_msgb_put16(b, RW_TYPE_OPT);
	rw_msgb_put16(b, udp_size);
	rw_msgb_put32(b, (uint32_t)ext_rcode << 24 | (do_bit ? 0x8000u : 0));
	size_t at = b->len;
	rw_msgb_put16(b, 0);
	return at;
}
