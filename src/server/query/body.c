/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The response body: a precomputed answer (zone.h) copied behind the
 * question, its compression pointers moved to the question name's length,
 * additional records left out one RRset at a time when they do not fit.
 * Or, for the few answers that are not precomputed (DNAME synthesis, CNAME
 * chains across zones), written from the zones' RRsets (see the end).
 */
#include <stddef.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/query/stages.h"
#include "server/zone/zonedb.h"

static size_t synth_body(struct rwd_query *qr, uint8_t *p, size_t room, bool write);

/* Move the pointers among relocs[i..] that lie in data [from, to), now
 * copied to p + at, by delta; returns the index of the first one past to.
 * Relocs are sorted by position. (The index is returned, not kept through
 * a pointer: a local whose address is taken costs the caller a stack
 * protector check.) */
static unsigned relocate(uint8_t *p, const uint16_t *relocs, unsigned n_relocs, unsigned i,
                         size_t from, size_t to, size_t at, int delta)
{
	for (; i < n_relocs && relocs[i] < to; i++) {
		if (relocs[i] < from || delta == 0)
			continue;
		rwd_body_move_ptr(p + at + (relocs[i] - from), delta);
	}
	return i;
}

/* Copy the precomputed body behind the question; returns bytes written. */
size_t rwd_body_put(struct rwd_query *qr, uint8_t *p, size_t room)
{
	const struct rwd_answer *a = qr->answer;
	if (qr->synth == a)
		return synth_body(qr, p, room, true);
	if (a->len <= room)               /* the common case: all of it (stages.h) */
		return rwd_body_put_whole(qr, p);
	if (a->required > room) {
		qr->tc = true;                /* as Knot DNS: header, question, OPT only */
		return 0;
	}
	/* Additional RRsets that do not fit are left out, TC stays clear
	 * (RFC 2181 9) unless a referral needed them (RFC 9471); a later,
	 * smaller one may still fit. Every record carries its RRset's end,
	 * and no RRset points into another. */
	const uint8_t *data = rwd_answer_data(a);
	const uint16_t *relocs = rwd_answer_relocs(a);
	const uint16_t *ar_end = rwd_answer_ar_end(a);
	int delta = (int)qr->q.qname_len - (int)a->qname_len;
	size_t n = a->required;
	memcpy(p, data, n);
	unsigned r = relocate(p, relocs, a->n_relocs, 0, 0, n, 0, delta);
	size_t from = a->required;
	uint16_t ar = 0;
	for (unsigned k = 0; k < a->arcount;) {
		unsigned end_k = k;
		while (end_k < a->arcount && ar_end[end_k] == ar_end[k])
			end_k++;
		size_t to = ar_end[k];
		if (n + (to - from) <= room) {
			memcpy(p + n, data + from, to - from);
			r = relocate(p, relocs, a->n_relocs, r, from, to, n, delta);
			n += to - from;
			ar += (uint16_t)(end_k - k);
		} else if (k < a->ar_needed) {
			qr->tc = true;    /* glue below the cut: still all that fits */
		}
		from = to;
		k = end_k;
	}
	/* The SOA serial is the zone's, not the one the body was built with
	 * (a patched zone shares answers with its predecessor, zone.h). */
	if (a->serial_at)
		rw_put32(p + a->serial_at - 1, qr->zone->serial);
	rw_put16(qr->out + RW_HDR_ANCOUNT, a->ancount);
	rw_put16(qr->out + RW_HDR_NSCOUNT, a->nscount);
	rw_put16(qr->out + RW_HDR_ARCOUNT, ar);
	return n;
}

/* ---- answers built at query time (zone.h, "Answers built at query time") ---- */

/*
 * CNAMEs (followed, or synthesized from a DNAME) a chain may hold before it
 * stops, NOERROR with what it has, for the resolver to continue: as the
 * precomputed chains (answers.c). Knot DNS stops after 5; 16 leaves room
 * for the CDN chains seen in the wild and bounds the work per query.
 */
#define SYNTH_MAX_HOPS 16
#define SYNTH_MAX_TARGETS 32
#define RCODE_YXDOMAIN 6            /* RFC 2136 2.2: the synthesized name is too long */

enum { AN, NS, AR };

struct synth {
	struct rw_msgbuilder b;          /* over qr->out: the question, then the body */
	const struct rwd_query *qr;
	uint16_t count[3];
	bool full;                       /* answer or authority did not fit: TC */
	bool glue_left_out;              /* needed glue did not fit: TC (RFC 9471) */
	uint8_t rcode;
	bool aa;
	const uint8_t *cut;              /* a referral's cut: glue below it is needed */
	struct {
		const struct rwd_zone *z;
		const uint8_t *name;
		uint16_t type;
	} t[SYNTH_MAX_TARGETS];          /* names whose addresses go in additional */
	unsigned n_t;
	const struct rwd_node *dnames[SYNTH_MAX_HOPS + 1];   /* DNAMEs written */
	unsigned n_dnames;
	uint8_t names[2][RW_DNAME_MAXLEN];   /* synthesized names, as written: the
	                                        current one and the one before */
};

static void synth_target(struct synth *y, const struct rwd_zone *z, uint16_t type,
                         const uint8_t *rd, uint16_t len, const uint8_t *owner)
{
	const uint8_t *t = rw_rdata_target(type, rd, len);
	if (t == NULL && (type == RW_TYPE_SVCB || type == RW_TYPE_HTTPS) && len > 2 &&
	    rw_get16(rd) != 0 && rd[2] == 0) {
		t = owner;               /* ServiceMode ".": the owner (RFC 9460 2.5.2), */
		type = RW_TYPE_A;        /* its addresses only: its SVCB is the answer */
	}
	if (t == NULL || type == RW_TYPE_CNAME || y->n_t == SYNTH_MAX_TARGETS)
		return;
	for (unsigned i = 0; i < y->n_t; i++)
		if (y->t[i].z == z && rw_dname_eq(y->t[i].name, t))
			return;
	y->t[y->n_t].z = z;
	y->t[y->n_t].name = t;
	y->t[y->n_t++].type = type;
}

/* Write the owner (NULL: a pointer to the question name) and the fixed fields. */
static void synth_rr_head(struct synth *y, const uint8_t *owner, uint16_t type, uint32_t ttl)
{
	if (owner)
		rw_msgb_put_dname(&y->b, owner, true);
	else
		rw_msgb_put_qname_ptr(&y->b);
	rw_msgb_put16(&y->b, type);
	rw_msgb_put16(&y->b, RW_CLASS_IN);
	rw_msgb_put32(&y->b, ttl);
}

/*
 * Append an RRset of zone z; all or nothing. ttl_cap as in answers.c; an
 * RRSIG has its Original TTL (RFC 4034 3), and qtype RRSIG gets those of the
 * lowest covered type only (covered). false if it did not fit.
 */
static bool synth_rrset(struct synth *y, int sec, const uint8_t *owner, const struct rwd_rrset *rs,
                        uint32_t ttl_cap, const struct rwd_zone *z, uint16_t covered)
{
	size_t len0 = y->b.len;
	unsigned dict0 = y->b.n_dict;
	uint16_t count0 = y->count[sec];
	uint32_t ttl = rs->ttl < ttl_cap ? rs->ttl : ttl_cap;
	RWD_RRSET_FOREACH(rs, rd, i) {
		uint16_t len = rw_get16(rd);
		uint32_t rttl = ttl;
		if (rs->type == RW_TYPE_RRSIG) {
			if (len < 8 || (covered && rw_get16(rd + 2) != covered))
				continue;
			rttl = rw_get32(rd + 6) < ttl_cap ? rw_get32(rd + 6) : ttl_cap;
		}
		synth_rr_head(y, owner, rs->type, rttl);
		rw_rdata_put(&y->b, rs->type, rd + 2, len);
		y->b.n_relocs = 0;       /* written in place: nothing to relocate */
		if (y->b.overflow)
			break;
		/* The zone's serial, as the precomputed answers get (body.c). */
		if (rs->type == RW_TYPE_SOA)
			rw_put32(y->b.buf + y->b.len - 20, z->serial);
		y->count[sec]++;
	}
	if (y->b.overflow) {
		y->b.len = len0;
		y->b.n_dict = dict0;
		y->b.overflow = false;
		y->count[sec] = count0;
		return false;
	}
	if (sec != AR)
		RWD_RRSET_FOREACH(rs, rd, i)
			synth_target(y, z, rs->type, rd + 2, rw_get16(rd), owner);
	return true;
}

static void synth_put(struct synth *y, int sec, const uint8_t *owner, const struct rwd_rrset *rs,
                      uint32_t ttl_cap, const struct rwd_zone *z, uint16_t covered)
{
	if (!synth_rrset(y, sec, owner, rs, ttl_cap, z, covered))
		y->full = true;
}

/* The SOA proving a negative answer, with the RFC 2308 TTL. */
static void synth_negative(struct synth *y, const struct rwd_zone *z)
{
	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, RW_TYPE_SOA);
	synth_put(y, NS, z->apex_name, soa, rw_get32(rwd_soa_serial(soa) + 16), z, 0);
}

static void synth_referral(struct synth *y, const struct rwd_zone *z, const struct rwd_node *cut)
{
	y->cut = cut->name;
	synth_put(y, NS, cut->name, rwd_node_rrset(cut, RW_TYPE_NS), UINT32_MAX, z, 0);
}

/* The lowest type the RRSIGs of rs cover (answers.c). */
static uint16_t synth_covered(const struct rwd_rrset *rs)
{
	uint16_t low = 0;
	RWD_RRSET_FOREACH(rs, rd, i)
		if (rw_get16(rd) >= 2 && (low == 0 || rw_get16(rd + 2) < low))
			low = rw_get16(rd + 2);
	return low;
}

/*
 * RFC 1034 4.3.2 with RFC 6672 3.2, from the question name: in the zone of
 * the view that holds the name (step 1 searches every zone), the closest
 * encloser: a cut refers, a DNAME synthesizes a CNAME (TTL of the DNAME)
 * and the chain goes on at its target, a CNAME likewise, data or its
 * absence ends it. AA is the first zone's (the lookup stage's).
 */
static void synth_resolve(struct synth *y)
{
	const struct rwd_query *qr = y->qr;
	uint16_t qtype = qr->q.qtype;
	const struct rwd_zone *z = qr->zone;
	uint8_t seen[SYNTH_MAX_HOPS + 1][RW_DNAME_MAXLEN];   /* lowercased */
	const uint8_t *owner = NULL;     /* NULL: the question name */
	const uint8_t *cur = qr->q.qname;
	size_t len = qr->q.qname_len;
	unsigned hops = 0;
	for (;;) {
		uint8_t *lc = seen[hops];
		memcpy(lc, cur, len);
		rw_dname_lower(lc);
		for (unsigned i = 0; i < hops; i++)
			if (rw_dname_len(seen[i]) == len && memcmp(seen[i], lc, len) == 0)
				return;          /* a loop: each name once, as Knot DNS */
		if (hops > 0) {
			z = qr->zones ? rwd_zonedb_find(qr->zones, lc, len, qtype) : NULL;
			if (z == NULL)
				return;          /* not ours: the resolver continues */
		}
		const struct rwd_node *n = rwd_zone_encloser(z, lc, len);
		bool exact = n->name_len == len;
		if (n->cut && !(exact && n->cut == n && qtype == RW_TYPE_DS)) {
			if (hops == 0)
				y->aa = false;
			synth_referral(y, z, n->cut);
			return;
		}
		const struct rwd_node *node = exact ? n : n->wildcard;
		if (node && node != n && (node->flags & RWD_NODE_DELEG)) {
			synth_referral(y, z, node);   /* a wildcard owning NS: a literal cut */
			return;
		}
		const uint8_t *next;
		size_t next_len;
		uint8_t *buf = y->names[hops & 1];
		if (node == NULL && (n->flags & RWD_NODE_DNAME)) {
			const struct rwd_rrset *dn = rwd_node_rrset(n, RW_TYPE_DNAME);
			const uint8_t *target = dn->rdata + 2;
			size_t prefix = len - n->name_len, tlen = rw_dname_len(target);
			bool written = false;
			for (unsigned i = 0; i < y->n_dnames; i++)
				written = written || y->dnames[i] == n;
			if (!written) {
				synth_put(y, AN, n->name, dn, UINT32_MAX, z, 0);
				y->dnames[y->n_dnames++] = n;
			}
			if (prefix + tlen > RW_DNAME_MAXLEN) {
				y->rcode = RCODE_YXDOMAIN;   /* RFC 6672 2.2 */
				return;
			}
			memmove(buf, cur, prefix);
			memcpy(buf + prefix, target, tlen);
			synth_rr_head(y, owner, RW_TYPE_CNAME, dn->ttl);
			rw_rdata_put(&y->b, RW_TYPE_CNAME, buf, (uint16_t)(prefix + tlen));
			y->b.n_relocs = 0;
			if (y->b.overflow) {
				y->b.overflow = false;
				y->full = true;
			} else {
				y->count[AN]++;
			}
			if (qtype == RW_TYPE_CNAME)
				return;          /* the synthesized CNAME is the answer */
			next = buf;
			next_len = prefix + tlen;
		} else if (node == NULL) {
			y->rcode = RW_RCODE_NXDOMAIN;   /* of the last name, RFC 6604 */
			synth_negative(y, z);
			return;
		} else if ((node->flags & RWD_NODE_CNAME) && qtype != RW_TYPE_CNAME &&
		           qtype != RW_TYPE_RRSIG && qtype != RW_TYPE_NSEC) {
			const struct rwd_rrset *cn = rwd_node_rrset(node, RW_TYPE_CNAME);
			synth_put(y, AN, owner, cn, UINT32_MAX, z, 0);
			if (qtype == RW_TYPE_ANY)
				return;          /* one RRset, the lowest type (RFC 8482) */
			next = cn->rdata + 2;
			next_len = rw_dname_len(next);
		} else {
			const struct rwd_rrset *rs = qtype == RW_TYPE_ANY ?
				(node->n_rrsets ? &node->rrsets[0] : NULL) : rwd_node_rrset(node, qtype);
			if (rs == NULL) {
				synth_negative(y, z);
				return;
			}
			synth_put(y, AN, owner, rs, UINT32_MAX, z,
			          rs->type == RW_TYPE_RRSIG ? synth_covered(rs) : 0);
			return;
		}
		if (++hops >= SYNTH_MAX_HOPS)
			return;
		cur = next;
		len = next_len;
		owner = cur;
	}
}

/* Addresses (and SVCB/HTTPS) of one noted name, each RRset if it fits;
 * needed glue left out is noted (TC). */
static void synth_additional_one(struct synth *y, unsigned i, bool needed)
{
	uint8_t lc[RW_DNAME_MAXLEN];
	size_t len = rw_dname_len(y->t[i].name);
	memcpy(lc, y->t[i].name, len);
	rw_dname_lower(lc);
	const struct rwd_zone *z = y->t[i].z;
	if (!rw_dname_is_sub(lc, z->apex_name))
		return;
	const struct rwd_node *n = rwd_zone_find(z, lc, len);
	if (n == NULL)
		return;
	uint16_t types[3] = { RW_TYPE_A, RW_TYPE_AAAA, 0 };
	if (y->t[i].type == RW_TYPE_SVCB || y->t[i].type == RW_TYPE_HTTPS)
		types[2] = y->t[i].type;
	for (unsigned k = 0; k < 3 && types[k]; k++) {
		const struct rwd_rrset *rs = rwd_node_rrset(n, types[k]);
		if (rs && !synth_rrset(y, AR, y->t[i].name, rs, UINT32_MAX, z, 0) && needed)
			y->glue_left_out = true;
	}
}

static bool synth_needed(const struct synth *y, unsigned i)
{
	uint8_t lc[RW_DNAME_MAXLEN];
	memcpy(lc, y->t[i].name, rw_dname_len(y->t[i].name));
	rw_dname_lower(lc);
	return y->cut && rw_dname_is_sub(lc, y->cut);
}

/*
 * Resolve qr's question at query time and write the body at p (inside
 * qr->out, behind the question), at most room bytes. Sets rcode, aa and,
 * when write, tc and the section counts. Returns the body length.
 */
static size_t synth_body(struct rwd_query *qr, uint8_t *p, size_t room, bool write)
{
	struct synth y;
	memset(&y, 0, offsetof(struct synth, t));
	y.n_t = y.n_dnames = 0;
	y.qr = qr;
	y.aa = true;
	y.b.buf = qr->out;
	y.b.len = (size_t)(p - qr->out);
	y.b.cap = y.b.len + room;
	for (size_t o = RW_HDR_LEN; o < y.b.len && qr->out[o] != 0 && y.b.n_dict < RW_MSGB_MAX_DICT;
	     o += qr->out[o] + 1u)
		y.b.dict[y.b.n_dict++] = (uint16_t)o;
	synth_resolve(&y);
	/* Glue below a referral's cut first: it is what the resolver needs. */
	for (unsigned i = 0; !y.full && i < y.n_t; i++)
		if (synth_needed(&y, i))
			synth_additional_one(&y, i, true);
	for (unsigned i = 0; !y.full && i < y.n_t; i++)
		if (!synth_needed(&y, i))
			synth_additional_one(&y, i, false);
	qr->rcode = y.rcode;
	qr->aa = y.aa;
	if (!write)
		return 0;
	if (y.full) {
		qr->tc = true;           /* as a precomputed answer: header, question, OPT */
		return 0;
	}
	qr->tc = qr->tc || y.glue_left_out;
	rw_put16(qr->out + RW_HDR_ANCOUNT, y.count[AN]);
	rw_put16(qr->out + RW_HDR_NSCOUNT, y.count[NS]);
	rw_put16(qr->out + RW_HDR_ARCOUNT, y.count[AR]);
	return y.b.len - (size_t)(p - qr->out);
}

void rwd_body_synth_rcode(struct rwd_query *qr)
{
	size_t at = RW_HDR_LEN + qr->q.question_len;
	if (qr->out_cap <= at)
		return;
	/* The question, as the encode stage will write it: names compress
	 * against it. */
	memcpy(qr->out + RW_HDR_LEN, qr->wire + RW_HDR_LEN, qr->q.question_len);
	synth_body(qr, qr->out + at, qr->out_cap - at, false);
}
