/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stage "transfer" (stages.h): the primary side of zone transfers, AXFR
 * (RFC 5936) and IXFR (RFC 1995), answered through the pipeline's
 * produce-more contract (query.h): the stage decides and sets qr->producer,
 * which writes one message per call from the zone version qr->xfr_zone,
 * keeping its place in qr->cursor and qr->xfr_cursor2. Nothing is
 * allocated; a stream transport that lets the stream wait between messages
 * holds that version (rwd_query_xfr_hold), so a publication does not cut it.
 *
 * Decisions, in Knot DNS's order (process_query.c, axfr.c, ixfr.c):
 *   - the question must be the apex of a zone of the client's view: else
 *     NOTAUTH (as Knot, for any name: a zone transfer needs an exact match);
 *   - allow_transfer (rwd_snapshot_zone_settings): a rule whose match holds
 *     the client's address and, when it names a key, a request signed with
 *     that key; none: REFUSED (the and BIND's, NSD's answer; Knot
 *     says NOTAUTH: docs/knot-differences.md). A TSIG failure never gets
 *     here: the tsig stage answered NOTAUTH;
 *   - a zone that failed to load: SERVFAIL with EDE 24, as every query;
 *   - IXFR without an SOA of the zone in the authority section: FORMERR;
 *   - over a stream, more than xfr.max_out transfers waiting on their
 *     readers (rwd_query_xfr_running): REFUSED, so a secondary retries
 *     later or asks another primary.
 *
 * What is sent:
 *   AXFR: the SOA (with the served serial, z->serial), every RRset of every
 *   node in the node table's order except the apex SOA (delegations, glue,
 *   DNAME, wildcards, RRSIG: everything the zone holds), the SOA again.
 *   IXFR, serial equal to or newer than ours: the SOA alone. With a history
 *   (zone/history.h) from that serial up to ours: the SOA, each difference
 *   sequence as stored (old SOA, removed, new SOA, added), the SOA. Else the
 *   AXFR form (RFC 1995 4). Over a datagram (RFC 1995 2): the incremental
 *   answer when it fits the client's size, else the SOA alone, which sends
 *   the client to TCP (an AXFR-style answer never goes over a datagram; as
 *   Knot, which always answers a datagram IXFR with the SOA alone).
 * Every message is NOERROR with AA (RFC 5936 2.2.1; Knot leaves AA clear).
 * Over a stream its records end before offset 16384, as far as compression
 * pointers reach (as Knot's messages), a record larger than that alone in
 * a message of up to the room (64 KB less the question, OPT and TSIG that
 * the encode stage reserves); over a datagram, the client's size. Names
 * below the apex are written as their own labels up to the longest run the
 * message already holds, then a pointer (at worst to the question, the
 * apex); a node's records after the first point at its owner. So are the
 * names inside NS, CNAME, PTR, MX and SOA data (RFC 3597 4: the only types
 * whose data may be compressed). The 1,000,000-record zone of bench/ goes
 * in fewer bytes than knotd sends (bench/README.md, "Zone transfers").
 */
#include <stdatomic.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/query/stages.h"
#include "server/zone/history.h"
#include "server/zone/zone.h"

#define EDE_INVALID_DATA 24        /* RFC 8914 4.25 */
#define XFR_MSG_BODY_END 0x4000    /* a stream's records end before this offset */

/* Transfers held by a stream transport (rwd_query_xfr_hold). */
static atomic_uint running;
/* Transfers begun, by mode (rwd_query_xfr_counts): one relaxed add per
 * AXFR/IXFR query that is answered, none for any other query. */
static atomic_ulong begun[3];

/*
 * The producer's position: qr->cursor is the node table index (AXFR) or
 * the diff index (IXFR); qr->xfr_cursor2 holds the mode (top 2 bits), the
 * phase (next 2) and, in the low bits, the RRset and record index within
 * the node (AXFR, 16 bits each) or the byte offset in the diff (IXFR).
 */
enum xmode { X_AXFR, X_IXFR, X_SOA };
enum xphase { P_FIRST, P_BODY, P_LAST, P_END };

static inline uint64_t c2_make(unsigned mode, unsigned phase, uint64_t low)
{
	return (uint64_t)mode << 62 | (uint64_t)phase << 60 | low;
}

/* One message being written: msg is the whole message (compression
 * offsets count from its start), pos..end the room of the body. */
#define XW_DICT 512          /* names remembered per message, direct mapped */

struct xw {
	uint8_t *msg;
	size_t pos, end;
	unsigned an;
	const uint8_t *apex;       /* the zone's apex, flat lowercase */
	size_t apex_len;
	const void *owner;         /* the node whose name was last written in full... */
	uint16_t owner_at;         /* ...at this offset (0: none to point at) */
	/* Where names below the apex were written in this message, by a hash
	 * of their labels down to the apex (0: none): a later name sharing a
	 * suffix ("ap" of "node5.ap" and "db6.ap") points at it, as far as
	 * 14-bit offsets reach. Entries are checked against the message
	 * before use, so collisions only cost compression. */
	uint16_t dict[XW_DICT];
};

/* Whether name[0..len) (any case) ends in the apex at a label boundary:
 * the offset where the apex starts, or -1. */
static long apex_at(const struct xw *w, const uint8_t *name, size_t len)
{
	size_t off = 0;
	while (off < len && len - off > w->apex_len && name[off] != 0)
		off += name[off] + 1u;
	if (off > len || len - off != w->apex_len)
		return -1;
	for (size_t i = 0; i < w->apex_len; i++) {
		uint8_t c = name[off + i];
		if (c >= 'A' && c <= 'Z')     /* label lengths are < 64: never letters */
			c += 'a' - 'A';
		if (c != w->apex[i])
			return -1;
	}
	return (long)off;
}

static unsigned dict_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;              /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return (h ^ h >> 15) & (XW_DICT - 1);
}

/* Whether the name written at offset e of the message is labels s[0..n)
 * followed by the apex (a pointer to the question, maybe through others). */
static bool dict_match(const struct xw *w, size_t e, const uint8_t *s, size_t n)
{
	size_t i = 0;
	/* only what is written before pos is final: an entry may be stale (a
	 * record that did not fit was taken back, and written over) */
	for (unsigned hops = 0; hops < 32 && e + 1 < w->pos; hops++) {
		uint8_t c = w->msg[e];
		if (c >= 0xc0) {
			e = (size_t)(c & 0x3f) << 8 | w->msg[e + 1];
			if (e == RW_HDR_LEN)
				return i == n;
			continue;
		}
		if (i >= n || c != s[i] || c == 0 || i + 1u + c > n || e + 1u + c >= w->pos ||
		    memcmp(w->msg + e + 1, s + i + 1, c) != 0)
			return false;
		i += c + 1u;
		e += c + 1u;
	}
	return false;
}

/* Write a flat name, the apex part as a pointer to the question name (the
 * apex, offset 12), and the longest run of labels before it that this
 * message already holds as a pointer there. False when it does not fit. */
static bool put_name(struct xw *w, const uint8_t *name, size_t len)
{
	long off = apex_at(w, name, len);
	if (off < 0) {
		if (w->pos + len > w->end)
			return false;
		memcpy(w->msg + w->pos, name, len);
		w->pos += len;
		return true;
	}
	size_t below = (size_t)off, cut = below, target = RW_HDR_LEN;
	for (size_t p = 0; p < below; p += name[p] + 1u) {
		unsigned e = w->dict[dict_hash(name + p, below - p)];
		if (e && dict_match(w, e, name + p, below - p)) {
			cut = p, target = e;
			break;
		}
	}
	if (w->pos + cut + 2 > w->end)
		return false;
	uint8_t *o = w->msg + w->pos;
	memcpy(o, name, cut);
	rw_put16(o + cut, (uint16_t)(0xc000 | target));
	for (size_t p = 0; p < cut && w->pos + p < 0x4000; p += name[p] + 1u)
		w->dict[dict_hash(name + p, below - p)] = (uint16_t)(w->pos + p);
	w->pos += cut + 2;
	return true;
}

/* The owner: a pointer to where this node's name was last written, or the
 * name (remembered for the records that follow). */
static bool put_owner(struct xw *w, const void *node, const uint8_t *name, size_t len)
{
	if (w->owner == node && w->owner_at) {
		if (w->pos + 2 > w->end)
			return false;
		rw_put16(w->msg + w->pos, 0xc000 | w->owner_at);
		w->pos += 2;
		return true;
	}
	size_t at = w->pos;
	if (!put_name(w, name, len))
		return false;
	w->owner = node;
	/* a pointer reaches 14 bits; the apex itself is a pointer already */
	w->owner_at = at < 0x4000 && w->msg[at] < 0xc0 ? (uint16_t)at : 0;
	return true;
}

/* Length of the flat name at p, at most max bytes, or 0 if it is not one. */
static size_t flat_len(const uint8_t *p, size_t max)
{
	size_t n = 0;
	while (n < max && p[n] != 0) {
		if (p[n] > 63)
			return 0;
		n += p[n] + 1u;
	}
	return n < max ? n + 1 : 0;
}

/* Write rdata rd[0..len) of a record of type, its names compressed where
 * RFC 3597 4 allows (others copied). False when it does not fit. */
static bool put_rdata(struct xw *w, uint16_t type, const uint8_t *rd, size_t len)
{
	size_t fixed = 0, names = 0;
	switch (type) {
	case RW_TYPE_NS: case RW_TYPE_CNAME: case RW_TYPE_PTR:
		names = 1;
		break;
	case RW_TYPE_MX:
		fixed = 2, names = 1;
		break;
	case RW_TYPE_SOA:
		names = 2;
		break;
	}
	if (names == 0 || len < fixed + 1) {
		if (w->pos + len > w->end)
			return false;
		memcpy(w->msg + w->pos, rd, len);
		w->pos += len;
		return true;
	}
	if (w->pos + fixed > w->end)
		return false;
	memcpy(w->msg + w->pos, rd, fixed);     /* MX preference */
	w->pos += fixed;
	size_t o = fixed;
	for (size_t k = 0; k < names; k++) {
		size_t n = flat_len(rd + o, len - o);
		if (n == 0)                       /* not a name: the rest as it is */
			break;
		if (!put_name(w, rd + o, n))
			return false;
		o += n;
	}
	if (w->pos + (len - o) > w->end)
		return false;
	memcpy(w->msg + w->pos, rd + o, len - o);
	w->pos += len - o;
	return true;
}

/* One record: owner (node, name), type, class IN, ttl, rdata rd[0..len).
 * serial: non-zero for an SOA whose serial to write (the served one).
 * False when it does not fit: nothing written. */
static bool put_rr(struct xw *w, const void *node, const uint8_t *name, size_t name_len,
                   uint16_t type, uint32_t ttl, const uint8_t *rd, size_t len, const uint32_t *serial)
{
	size_t at = w->pos;
	const void *owner = w->owner;
	uint16_t owner_at = w->owner_at;
	if (!put_owner(w, node, name, name_len) || w->pos + 10 > w->end)
		goto full;
	uint8_t *f = w->msg + w->pos;
	rw_put16(f, type);
	rw_put16(f + 2, RW_CLASS_IN);
	rw_put32(f + 4, ttl);
	w->pos += 10;
	size_t rdata_at = w->pos;
	if (!put_rdata(w, type, rd, len))
		goto full;
	rw_put16(f + 8, (uint16_t)(w->pos - rdata_at));
	if (serial && w->pos - rdata_at >= 20)
		rw_put32(w->msg + w->pos - 20, *serial);
	w->an++;
	return true;
full:
	w->pos = at;
	w->owner = owner;
	w->owner_at = owner_at;
	return false;
}

/* The zone's SOA record with the served serial. */
static bool put_soa(struct xw *w, const struct rwd_zone *z)
{
	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, RW_TYPE_SOA);
	if (soa == NULL || soa->count == 0)
		return false;
	return put_rr(w, z->apex, z->apex->name, z->apex->name_len, RW_TYPE_SOA, soa->ttl,
	              soa->rdata + 2, rw_get16(soa->rdata), &z->serial);
}

/* RFC 4034 3: an RRSIG has the TTL of what it covers, its Original TTL
 * field (as answers.c writes it). */
static uint32_t rr_ttl(const struct rwd_rrset *rs, const uint8_t *rd)
{
	if (rs->type == RW_TYPE_RRSIG && rw_get16(rd) >= 8)
		return rw_get32(rd + 2 + 4);
	return rs->ttl;
}

/* AXFR's body: the nodes from table index *node, RRset *set, record *rec
 * on; false when the message is full (the position is where to go on). */
static bool axfr_body(struct xw *w, const struct rwd_zone *z, uint64_t *node, unsigned *set,
                      unsigned *rec)
{
	for (size_t i = (size_t)*node; i <= z->table_mask; i++, *set = 0, *rec = 0) {
		const struct rwd_node *n = z->table[i];
		if (n == NULL)
			continue;
		for (unsigned r = *set; r < n->n_rrsets; r++, *rec = 0) {
			const struct rwd_rrset *rs = &n->rrsets[r];
			if (rs->type == RW_TYPE_SOA && n == z->apex)
				continue;             /* first and last only */
			const uint8_t *rd = rs->rdata;
			for (unsigned k = 0; k < *rec; k++)
				rd += 2u + rw_get16(rd);
			for (unsigned k = *rec; k < rs->count; k++) {
				if (!put_rr(w, n, n->name, n->name_len, rs->type, rr_ttl(rs, rd), rd + 2,
				            rw_get16(rd), NULL)) {
					*node = i, *set = r, *rec = k;
					return false;
				}
				rd += 2u + rw_get16(rd);
			}
		}
	}
	*node = z->table_mask + 1;
	return true;
}

/* IXFR's body: the records of h's diffs from *diff, byte *off on; false
 * when the message is full. Diff records are flat (history.h): each is
 * written as AXFR writes records, its owner and the names in its RDATA
 * compressed (SOA, NS, CNAME, PTR, MX), so an IXFR is no larger than
 * Knot's. */
static bool ixfr_body(struct xw *w, const struct rwd_zone_history *h, uint64_t *diff,
                      uint64_t *off)
{
	for (size_t i = (size_t)*diff; i < h->n; i++, *off = 0) {
		const struct rwd_zone_diff *d = h->diffs[i];
		size_t o = (size_t)*off;
		while (o < d->len) {
			size_t n = flat_len(d->data + o, d->len - o);
			if (n == 0 || o + n + 10 > d->len)
				return *diff = h->n, true;       /* not sound: stop here */
			size_t rest = 10u + rw_get16(d->data + o + n + 8);
			if (o + n + rest > d->len)
				return *diff = h->n, true;
			const uint8_t *f = d->data + o + n;   /* type, class, ttl, rdlength */
			/* the record's own bytes stand for its owner's identity: an
			 * owner is never taken for another's */
			if (!put_rr(w, d->data + o, d->data + o, n, rw_get16(f), rw_get32(f + 4), f + 10,
			            rest - 10, NULL)) {
				*diff = i, *off = o;
				return false;
			}
			o += n + rest;
		}
	}
	*diff = h->n;
	return true;
}

static enum rwd_stage_result produce(const struct rwd_snapshot *s, struct rwd_query *qr,
                                     uint8_t *p, size_t room)
{
	const struct rwd_zone *z = qr->xfr_zone;
	size_t start = (size_t)(p - qr->out);
	struct xw w = { .msg = qr->out, .pos = start, .end = start + room,
	                .apex = z->apex_name, .apex_len = z->apex_len };
	bool datagram = qr->transport->datagram;
	/* A stream's messages end where compression pointers stop reaching
	 * (14 bits), as Knot's do: past it no name could point back, and the
	 * bytes saved outweigh the messages added. */
	if (!datagram && w.end > XFR_MSG_BODY_END)
		w.end = start < XFR_MSG_BODY_END ? XFR_MSG_BODY_END : start;
	uint64_t c2 = qr->xfr_cursor2;
	unsigned mode = (unsigned)(c2 >> 62), phase = (unsigned)(c2 >> 60) & 3;
	uint64_t low = c2 & ((1ull << 60) - 1);
	bool fits = true;

again:
	while (fits && phase != P_END) {
		switch (phase) {
		case P_FIRST:
			if ((fits = put_soa(&w, z)))
				phase = mode == X_SOA ? P_END : P_BODY;
			break;
		case P_BODY:
			if (mode == X_AXFR) {
				unsigned set = (unsigned)(low >> 16) & 0xffff, rec = (unsigned)low & 0xffff;
				fits = axfr_body(&w, z, &qr->cursor, &set, &rec);
				low = (uint64_t)set << 16 | rec;
			} else {
				fits = ixfr_body(&w, z->history, &qr->cursor, &low);
			}
			if (fits)
				phase = P_LAST, low = 0;
			break;
		case P_LAST:
			if ((fits = put_soa(&w, z)))
				phase = P_END;
			break;
		}
	}
	if (!fits && datagram && mode != X_SOA) {
		/* RFC 1995 2: what does not fit the datagram is the SOA alone */
		w.pos = start, w.an = 0, w.owner = NULL;
		memset(w.dict, 0, sizeof(w.dict));
		mode = X_SOA;
		fits = put_soa(&w, z);
		phase = P_END;
	}
	if (w.an == 0 && w.end < start + room) {
		/* a record larger than the 16 KB a message keeps to (nothing was
		 * written, the position is unchanged): it gets a message of its
		 * own, as large as the room allows */
		w.end = start + room;
		fits = true;
		goto again;
	}
	if (w.an == 0)                     /* not one record fits a message: give up */
		return RWD_DROP;
	qr->xfr_cursor2 = c2_make(mode, phase, low);
	qr->body_len = (uint16_t)(w.pos - start);
	qr->body_an = (uint16_t)w.an;
	qr->body_ar = 0;
	return phase == P_END ? RWD_DONE : RWD_MORE;
}

/* The serial of the SOA an IXFR query carries as the first record of its
 * authority section (RFC 1995 3), owned by the question's name. False:
 * none, or not sound (FORMERR, as Knot). */
static bool ixfr_serial(const struct rwd_query *qr, uint32_t *serial)
{
	const uint8_t *m = qr->wire;
	size_t len = qr->wire_len, pos = RW_HDR_LEN + qr->q.question_len;
	uint8_t name[RW_DNAME_MAXLEN];
	if (len < RW_HDR_LEN || rw_get16(m + RW_HDR_NSCOUNT) == 0)
		return false;
	for (unsigned i = rw_get16(m + RW_HDR_ANCOUNT); i > 0; i--)
		if (rw_rr_skip(m, len, &pos, NULL, NULL) < 0)
			return false;
	int n = rw_dname_unpack(m, len, &pos, name);
	if (n < 0)
		return false;
	rw_dname_lower(name);
	if ((size_t)n != qr->q.qname_len || memcmp(name, qr->q.qname, (size_t)n) != 0 ||
	    pos + 10 > len || rw_get16(m + pos) != RW_TYPE_SOA)
		return false;
	size_t end = pos + 10 + rw_get16(m + pos + 8);
	pos += 10;
	if (end > len || rw_dname_unpack(m, end, &pos, name) < 0 ||
	    rw_dname_unpack(m, end, &pos, name) < 0 || pos + 20 > end)
		return false;
	*serial = rw_get32(m + pos);
	return true;
}

/* Whether a rule of the zone's allow_transfer admits the query. */
static bool allowed(const struct rwd_snapshot *s, const struct rwd_query *qr,
                    const struct rwd_zone *z)
{
	const struct rwd_zone_settings *zs =
	        rwd_snapshot_zone_settings(s, qr->view, z->apex_name, z->apex_len);
	const struct rwd_tsig_key *k = qr->tsig.key;
	if (zs == NULL || qr->tsig.error)
		return false;
	for (size_t i = 0; i < zs->n_allow_transfer; i++) {
		const struct rwd_xfr_rule *r = &zs->allow_transfer[i];
		if (!rwd_acl_match(&r->match, qr->client))
			continue;
		if (r->key == NULL)
			return true;
		if (k && k->alg == r->key->alg && k->name_len == r->key->name_len &&
		    memcmp(k->name, r->key->name, k->name_len) == 0)
			return true;
	}
	return false;
}

static enum rwd_stage_result decide(struct rwd_query *qr, uint8_t rcode, uint16_t ede)
{
	qr->rcode = rcode;
	qr->ede = ede;
	qr->answer = NULL;
	qr->aa = false;
	return RWD_DONE;
}

enum rwd_stage_result rwd_stage_transfer(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rw_query *q = &qr->q;
	if (q->qtype != RW_TYPE_AXFR && q->qtype != RW_TYPE_IXFR)
		return RWD_CONTINUE;
	/* an exact match: the zone whose apex is the question */
	struct rwd_zone *z = qr->zones ? rwd_zonedb_get(qr->zones, q->qname, q->qname_len) : NULL;
	qr->zone = z;
	if (z == NULL)
		return decide(qr, RW_RCODE_NOTAUTH, 0);
	if (!allowed(s, qr, z))
		return decide(qr, qr->tsig.error ? RW_RCODE_NOTAUTH : RW_RCODE_REFUSED, 0);
	if (z->failed)
		return decide(qr, RW_RCODE_SERVFAIL, EDE_INVALID_DATA + 1);
	uint32_t serial = 0;
	unsigned mode = X_AXFR;
	uint64_t diff = 0;
	if (q->qtype == RW_TYPE_IXFR) {
		if (!ixfr_serial(qr, &serial))
			return decide(qr, RW_RCODE_FORMERR, 0);
		const struct rwd_zone_history *h = z->history;
		long i = h && h->n && h->diffs[h->n - 1]->serial_to == z->serial
		                 ? rwd_zone_history_find(h, serial) : -1;
		if (serial == z->serial || rwd_serial_newer(serial, z->serial))
			mode = X_SOA;             /* up to date (or ahead: RFC 1995 2) */
		else if (i >= 0)
			mode = X_IXFR, diff = (uint64_t)i;
		else
			mode = qr->transport->datagram ? X_SOA : X_AXFR;
	}
	if (mode != X_SOA && !qr->transport->datagram && s->xfr_max_out &&
	    atomic_load_explicit(&running, memory_order_relaxed) >= s->xfr_max_out)
		return decide(qr, RW_RCODE_REFUSED, 0);
	qr->rcode = RW_RCODE_NOERROR;
	qr->aa = true;
	qr->answer = qr->synth = NULL;
	qr->xfr_zone = z;
	qr->xfr_serial = serial;
	qr->cursor = diff;
	qr->xfr_cursor2 = c2_make(mode, P_FIRST, 0);
	qr->producer = produce;
	atomic_fetch_add_explicit(&begun[mode], 1, memory_order_relaxed);
	return RWD_DONE;
}

int rwd_query_xfr_hold(struct rwd_query *qr)
{
	if (qr->xfr_zone == NULL)
		return 0;
	if (qr->tsig.key) {
		/* the key lives in the snapshot's keyring, which a reload frees */
		struct rwd_tsig_key *k = rwd_tsig_key_dup(qr->tsig.key);
		if (k == NULL)
			return RW_ENOMEM;
		qr->tsig.key = k;
	}
	rwd_zone_ref(qr->xfr_zone);
	atomic_fetch_add_explicit(&running, 1, memory_order_relaxed);
	return 0;
}

void rwd_query_xfr_release(struct rwd_query *qr)
{
	if (qr->xfr_zone == NULL)
		return;
	atomic_fetch_sub_explicit(&running, 1, memory_order_relaxed);
	rwd_zone_free(qr->xfr_zone);
	rwd_tsig_key_free((struct rwd_tsig_key *)qr->tsig.key);   /* hold's copy */
	qr->tsig.key = NULL;
	qr->xfr_zone = NULL;
	qr->zone = NULL;
}

unsigned rwd_query_xfr_running(void)
{
	return atomic_load_explicit(&running, memory_order_relaxed);
}

void rwd_query_xfr_counts(uint64_t out[3])
{
	for (int i = 0; i < 3; i++)
		out[i] = atomic_load_explicit(&begun[i], memory_order_relaxed);
}
