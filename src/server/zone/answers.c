/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Precomputed answers. For every node and query type the zone can answer
 * authoritatively, encode the response body once (see zone.h): positive
 * answers with their additional addresses, CNAME chains followed inside the
 * zone, referrals with glue, and the zone's shared negative answers.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/zone/build.h"

#define MAX_CHAIN 16        /* CNAME hops followed; longer chains stop there */
#define MAX_ADDITIONAL 64   /* additional RRsets considered per answer */
/* Leave room for the largest question and OPT record behind the body. */
#define BODY_CAP (RW_MSG_MAXLEN - RW_HDR_LEN - RW_DNAME_MAXLEN - 4 - 64)

enum section { ANSWER, AUTHORITY, ADDITIONAL };

struct rwd_answers {
	struct rw_msgbuilder b;
	struct rwd_zone *z;
	size_t body;                 /* offset where the sections start */
	uint16_t count[3];
	uint16_t ar_end[MAX_ADDITIONAL * 8];
	const uint8_t *targets[MAX_ADDITIONAL];  /* names whose addresses to add */
	uint16_t target_type[MAX_ADDITIONAL];    /* the type that named it */
	unsigned n_targets;
	const uint8_t *cut;          /* a referral's cut: glue below it is needed (RFC 9471) */
	const uint8_t *self;         /* owner of the records written for the question
	                                name, NULL behind a wildcard */
	uint16_t rrsig_covered;      /* write only RRSIGs covering this type; 0: all */
	uint16_t ar_needed;          /* see struct rwd_answer */
	const uint8_t *follow;       /* likewise */
	bool follow_dname;
	uint8_t rcode;
	bool aa;
	uint16_t serial_at;          /* see struct rwd_answer */
	/* Hashes of the names the node's answers read (node->deps). */
	uint32_t *deps;
	unsigned n_deps, cap_deps;
	bool deps_oom;
	const struct rwd_node *prev; /* the node's previous version, whose answers may do */
	uint8_t buf[RW_MSG_MAXLEN];
};

/*
 * What the question name of a body will be, relative to the name it is
 * built behind (see "Relocation" in zone.h):
 *   EXACT     that name, in any letter case: compress against all of it;
 *   WILDCARD  any name the wildcard matches: only the suffixes below "*"
 *             are shared, the owner is written as a pointer to the question;
 *   BELOW     any name at or below it (referrals, negative answers): build
 *             behind "x.<name>" so the name itself is a shared suffix.
 */
enum qmode { EXACT, WILDCARD, BELOW };

static void ab_start(struct rwd_answers *a, const uint8_t *qname, enum qmode mode)
{
	uint8_t stand_in[RW_DNAME_MAXLEN];
	size_t len = rw_dname_len(qname);
	if (mode == BELOW && len + 2 <= RW_DNAME_MAXLEN) {
		stand_in[0] = 1;
		stand_in[1] = 'x';
		memcpy(stand_in + 2, qname, len);
		qname = stand_in;
	}
	rw_msgb_init(&a->b, a->buf, BODY_CAP, 0, qname, 0, RW_CLASS_IN, mode == EXACT);
	a->body = a->b.len;
	memset(a->count, 0, sizeof(a->count));
	a->n_targets = 0;
	a->cut = NULL;
	a->self = mode == EXACT ? qname : NULL;
	a->rrsig_covered = 0;
	a->ar_needed = 0;
	a->follow = NULL;
	a->follow_dname = false;
	a->rcode = RW_RCODE_NOERROR;
	a->aa = true;
	a->serial_at = 0;
}

/* The answers being built read name (flat, lowercase): a patch that
 * changes it must rebuild them (see "Incremental changes" in zone.h). */
static void dep(struct rwd_answers *a, const uint8_t *name, size_t len)
{
	uint32_t h = rwd_name_hash(name, len);
	for (unsigned i = 0; i < a->n_deps; i++)
		if (a->deps[i] == h)
			return;
	if (a->n_deps == a->cap_deps) {
		unsigned cap = a->cap_deps ? a->cap_deps * 2 : 16;
		uint32_t *d = realloc(a->deps, cap * sizeof(*d));
		if (d == NULL) {
			a->deps_oom = true;
			return;
		}
		a->deps = d;
		a->cap_deps = cap;
	}
	a->deps[a->n_deps++] = h;
}

/*
 * A name whose addresses the additional section carries: the target of an
 * NS, MX, SRV, SVCB or HTTPS record; for SVCB/HTTPS in ServiceMode with
 * TargetName "." the owner itself (RFC 9460 4.2, 2.5.2). owner: the
 * record's owner, NULL when unknown (behind a wildcard).
 */
static void note_target(struct rwd_answers *a, uint16_t type, const uint8_t *rd, uint16_t len,
                        const uint8_t *owner)
{
	const uint8_t *t = rw_rdata_target(type, rd, len);
	if (t == NULL && (type == RW_TYPE_SVCB || type == RW_TYPE_HTTPS) && len > 2 &&
	    rw_get16(rd) != 0 && rd[2] == 0) {
		t = owner;
		type = RW_TYPE_A;        /* its addresses; its SVCB is the answer */
	}
	if (t == NULL || type == RW_TYPE_CNAME || a->n_targets == MAX_ADDITIONAL)
		return;
	for (unsigned i = 0; i < a->n_targets; i++)
		if (rw_dname_eq(a->targets[i], t))
			return;
	a->target_type[a->n_targets] = type;
	a->targets[a->n_targets++] = t;
}

/* RFC 4034 3: an RRSIG has the TTL of the RRset it covers, its Original
 * TTL field (as Knot DNS writes it), not one shared by all at the name. */
static uint32_t rrsig_ttl(const uint8_t *rd, uint16_t len, uint32_t ttl)
{
	return len >= 8 ? rw_get32(rd + 4) : ttl;
}

/*
 * Append an RRset. owner NULL means "the question name" (a pointer to it).
 * ttl_cap limits the TTL (negative answers, RFC 2308 3). Returns false if it
 * did not fit; the body is then as before the call.
 */
static bool ab_rrset(struct rwd_answers *a, enum section sec, const uint8_t *owner,
                     const struct rwd_rrset *rs, uint32_t ttl_cap)
{
	size_t len0 = a->b.len;
	unsigned relocs0 = a->b.n_relocs, dict0 = a->b.n_dict;
	uint16_t count0 = a->count[sec], serial0 = a->serial_at;
	uint32_t ttl = rs->ttl < ttl_cap ? rs->ttl : ttl_cap;
	RWD_RRSET_FOREACH(rs, rd, i) {
		uint32_t rttl = ttl;
		if (rs->type == RW_TYPE_RRSIG) {
			if (rw_get16(rd) < 2 || (a->rrsig_covered && rw_get16(rd + 2) != a->rrsig_covered))
				continue;
			rttl = rrsig_ttl(rd + 2, rw_get16(rd), ttl);
			rttl = rttl < ttl_cap ? rttl : ttl_cap;
		}
		if (owner)
			rw_msgb_put_dname(&a->b, owner, true);
		else
			rw_msgb_put_qname_ptr(&a->b);
		rw_msgb_put16(&a->b, rs->type);
		rw_msgb_put16(&a->b, RW_CLASS_IN);
		rw_msgb_put32(&a->b, rttl);
		rw_rdata_put(&a->b, rs->type, rd + 2, rw_get16(rd));
		if (a->b.overflow)
			break;
		/* The record ends with SERIAL REFRESH RETRY EXPIRE MINIMUM. */
		if (rs->type == RW_TYPE_SOA && a->serial_at == 0)
			a->serial_at = (uint16_t)(a->b.len - 20 - a->body + 1);
		if (sec == ADDITIONAL) {
			if (a->count[sec] == sizeof(a->ar_end) / sizeof(a->ar_end[0])) {
				a->b.overflow = true;
				break;
			}
			a->ar_end[a->count[sec]] = (uint16_t)(a->b.len - a->body);
		}
		a->count[sec]++;
	}
	if (sec == ADDITIONAL)   /* each record carries its RRset's end: see put_body() */
		for (unsigned k = count0; k < a->count[sec]; k++)
			a->ar_end[k] = (uint16_t)(a->b.len - a->body);
	if (a->b.overflow) {
		a->b.len = len0;
		a->b.n_relocs = relocs0;
		a->b.n_dict = dict0;
		a->b.overflow = false;
		a->count[sec] = count0;
		a->serial_at = serial0;
		return false;
	}
	if (sec != ADDITIONAL)
		RWD_RRSET_FOREACH(rs, rd, i)
			note_target(a, rs->type, rd + 2, rw_get16(rd), owner ? owner : a->self);
	return true;
}

/* The SOA that proves a negative answer, with the RFC 2308 TTL. */
static void ab_negative(struct rwd_answers *a)
{
	const struct rwd_rrset *soa = rwd_node_rrset(a->z->apex, RW_TYPE_SOA);
	uint32_t minimum = rw_get32(rwd_soa_serial(soa) + 16);
	ab_rrset(a, AUTHORITY, a->z->apex_name, soa, minimum);
}

/*
 * Addresses of the names noted while writing answer/authority, from any
 * node of the zone, glue below a cut included (as Knot DNS: the root's NS
 * answer carries the root servers' addresses, RFC 8109); for SVCB and
 * HTTPS also the target's own RRset of that type (RFC 9460 4.2). In a
 * referral the glue below the cut comes first: it is what the resolver
 * needs (RFC 9471), counted in ar_needed. Each RRset compresses only
 * against earlier sections, never against another additional RRset, so the
 * query path may drop any of them that does not fit and keep the rest
 * (rwd_body_put()).
 */
static bool ab_additional_one(struct rwd_answers *a, unsigned i, unsigned dict)
{
	uint8_t lc[RW_DNAME_MAXLEN];
	size_t len = rw_dname_len(a->targets[i]);
	memcpy(lc, a->targets[i], len);
	rw_dname_lower(lc);
	if (!rw_dname_is_sub(lc, a->z->apex_name))
		return true;
	dep(a, lc, len);
	const struct rwd_node *n = rwd_zone_find(a->z, lc, len);
	if (n == NULL)
		return true;
	uint16_t types[3] = { RW_TYPE_A, RW_TYPE_AAAA, 0 };
	if (a->target_type[i] == RW_TYPE_SVCB || a->target_type[i] == RW_TYPE_HTTPS)
		types[2] = a->target_type[i];
	for (unsigned t = 0; t < 3 && types[t]; t++) {
		const struct rwd_rrset *rs = rwd_node_rrset(n, types[t]);
		a->b.n_dict = dict;
		if (rs && !ab_rrset(a, ADDITIONAL, a->targets[i], rs, UINT32_MAX))
			return false;
	}
	return true;
}

static bool in_domain(const struct rwd_answers *a, unsigned i)
{
	uint8_t lc[RW_DNAME_MAXLEN];
	memcpy(lc, a->targets[i], rw_dname_len(a->targets[i]));
	rw_dname_lower(lc);
	return a->cut && rw_dname_is_sub(lc, a->cut);
}

static void ab_additional(struct rwd_answers *a)
{
	unsigned dict = a->b.n_dict;
	for (unsigned i = 0; a->cut && i < a->n_targets; i++)
		if (in_domain(a, i) && !ab_additional_one(a, i, dict))
			return;
	a->ar_needed = a->count[ADDITIONAL];
	for (unsigned i = 0; i < a->n_targets; i++)
		if (!in_domain(a, i) && !ab_additional_one(a, i, dict))
			return;
}

static const struct rwd_answer *ab_finish(struct rwd_answers *a, size_t required)
{
	size_t len = a->b.len - a->body;
	unsigned nr = a->b.n_relocs, ar = a->count[ADDITIONAL];
	struct rwd_answer *ans = rw_arena_alloc(a->z->arena,
	                                        sizeof(*ans) + 2u * (nr + ar) + len);
	if (ans == NULL)
		return NULL;
	memset(ans, 0, sizeof(*ans));
	ans->rcode = a->rcode;
	ans->aa = a->aa;
	ans->ancount = a->count[ANSWER];
	ans->nscount = a->count[AUTHORITY];
	ans->arcount = (uint16_t)ar;
	ans->qname_len = (uint8_t)(a->body - RW_HDR_LEN - 4);
	ans->len = (uint16_t)len;
	ans->required = (uint16_t)required;
	ans->ar_needed = a->ar_needed;
	ans->follow = a->follow;
	ans->follow_dname = a->follow_dname;
	ans->n_relocs = (uint16_t)nr;
	ans->serial_at = a->serial_at;
	for (unsigned i = 0; i < nr; i++)
		ans->tail[i] = (uint16_t)(a->b.relocs[i] - a->body);
	memcpy(ans->tail + nr, a->ar_end, 2u * ar);
	memcpy(ans->tail + nr + ar, a->buf + a->body, len);
	return ans;
}

/* Body length so far: what must fit before additional records. */
static size_t ab_len(const struct rwd_answers *a) { return a->b.len - a->body; }

/* ---- CNAME chains ---- */

/* Where a name inside the zone leads: exact node, wildcard, cut or nothing. */
struct target {
	const struct rwd_node *node;   /* answering node (exact or wildcard), or NULL */
	const struct rwd_node *cut;    /* set when the name is at/below a delegation */
	bool dname;                    /* below a DNAME: synthesized at query time */
};

/*
 * What resolve() read: the name, the names between it and its closest
 * encloser (their absence), the encloser (its cut; not for the apex, whose
 * data does not matter below it), the cut's NS, or else the "*" child.
 */
static void dep_resolve(struct rwd_answers *a, const uint8_t *lc, size_t len,
                        const struct rwd_node *enc)
{
	bool exact = len == enc->name_len;
	for (; len > enc->name_len; len -= lc[0] + 1u, lc += lc[0] + 1u)
		dep(a, lc, len);
	if (exact || !(enc->flags & RWD_NODE_APEX))
		dep(a, enc->name, enc->name_len);
	if (enc->cut) {
		dep(a, enc->cut->name, enc->cut->name_len);
	} else if (!exact && enc->name_len + 2u <= RW_DNAME_MAXLEN) {
		uint8_t wild[RW_DNAME_MAXLEN] = { 1, '*' };
		memcpy(wild + 2, enc->name, enc->name_len);
		dep(a, wild, enc->name_len + 2u);
	}
}

static struct target resolve(struct rwd_answers *a, const struct rwd_zone *z, const uint8_t *name)
{
	struct target t = { 0 };
	uint8_t lc[RW_DNAME_MAXLEN];
	size_t len = rw_dname_len(name);
	memcpy(lc, name, len);
	rw_dname_lower(lc);
	const struct rwd_node *enc = rwd_zone_encloser(z, lc, len);
	if (a)
		dep_resolve(a, lc, len, enc);
	if (enc->cut) {
		t.cut = enc->cut;
		if (enc->cut == enc && enc->name_len == len)
			t.node = enc;            /* the cut itself: its DS is ours */
		return t;
	}
	if (enc->name_len != len && (enc->flags & RWD_NODE_DNAME)) {
		t.dname = true;
		return t;
	}
	t.node = enc->name_len == len ? enc : enc->wildcard;
	return t;
}

static const uint8_t *cname_target(const struct rwd_node *n)
{
	const struct rwd_rrset *rs = rwd_node_rrset(n, RW_TYPE_CNAME);
	return rs->rdata + 2;
}

/*
 * Follow the chain from CNAME node start for qtype. With a != NULL, write
 * it (the first CNAME owned by the question name). Returns the node where
 * the chain ends with data or NODATA, or NULL (NXDOMAIN, out of zone, cut,
 * loop).
 */
static const struct rwd_node *chain(struct rwd_answers *a, const struct rwd_zone *z,
                                    const struct rwd_node *start, uint16_t qtype)
{
	/* Loops are cut by name, as Knot DNS does: a CNAME whose owner already
	 * appeared is not written again. A wildcard's owner is the (unknown)
	 * question name, so its chain starts with nothing seen. */
	const uint8_t *seen[MAX_CHAIN + 1];
	unsigned n_seen = 0;
	bool wild = start->name[0] == 1 && start->name[1] == '*';
	if (!wild)
		seen[n_seen++] = start->name;
	const uint8_t *owner = NULL;             /* NULL: the question name */
	const struct rwd_node *n = start;
	for (;;) {
		if (a)
			ab_rrset(a, ANSWER, owner, rwd_node_rrset(n, RW_TYPE_CNAME), UINT32_MAX);
		owner = cname_target(n);
		if (!rw_dname_is_sub(owner, z->apex_name)) {
			if (a)   /* another zone served here may continue it */
				a->follow = owner;
			return NULL;                     /* else resolvers continue from here */
		}
		if (n_seen == MAX_CHAIN)
			return NULL;
		for (unsigned i = 0; i < n_seen; i++)
			if (rw_dname_eq(seen[i], owner))
				return NULL;             /* loop: each CNAME once */
		seen[n_seen++] = owner;
		struct target t = resolve(a, z, owner);
		if (t.dname) {
			if (a) {
				a->follow = owner;
				a->follow_dname = true;
			}
			return NULL;
		}
		if (t.cut && t.node && qtype == RW_TYPE_DS) {
			/* DS at a cut is the parent's (RFC 4035 3.1.4.1), also at the
			 * end of a chain, as Knot DNS answers. */
			const struct rwd_rrset *rs = rwd_node_rrset(t.node, RW_TYPE_DS);
			if (a && rs)
				ab_rrset(a, ANSWER, owner, rs, UINT32_MAX);
			else if (a)
				ab_negative(a);
			return t.node;
		}
		if (t.cut) {
			/* Into a delegation: append the referral (as Knot DNS does),
			 * the resolver continues at the child; or the query path
			 * does, when the child zone is served here too (follow). */
			if (a) {
				a->follow = owner;
				a->cut = t.cut->name;
				ab_rrset(a, AUTHORITY, t.cut->name, rwd_node_rrset(t.cut, RW_TYPE_NS),
				         UINT32_MAX);
			}
			return NULL;
		}
		if (t.node == NULL) {
			if (a) {
				a->rcode = RW_RCODE_NXDOMAIN;   /* of the last name, RFC 6604 */
				ab_negative(a);
			}
			return NULL;
		}
		n = t.node;
		if (!(n->flags & RWD_NODE_CNAME)) {
			const struct rwd_rrset *rs = rwd_node_rrset(n, qtype);
			if (a && rs)
				ab_rrset(a, ANSWER, owner, rs, UINT32_MAX);
			else if (a)
				ab_negative(a);
			return n;
		}
	}
}

/* ---- per node ---- */

static int add_typed(struct rwd_zone *z, struct rwd_node *n, unsigned i,
                     uint16_t qtype, const struct rwd_answer *ans)
{
	if (ans == NULL)
		return RW_ENOMEM;
	n->answers[i].qtype = qtype;
	n->answers[i].answer = ans;
	return 0;
}

/* The lowest type the RRSIGs of rs cover (RFC 4034 3.1.1). */
static uint16_t lowest_covered(const struct rwd_rrset *rs)
{
	uint16_t low = 0;
	RWD_RRSET_FOREACH(rs, rd, i)
		if (rw_get16(rd) >= 2 && (low == 0 || rw_get16(rd + 2) < low))
			low = rw_get16(rd + 2);
	return low;
}

static const struct rwd_answer *build_positive(struct rwd_answers *a, const struct rwd_node *n,
                                               const struct rwd_rrset *rs, bool wild)
{
	ab_start(a, n->name, wild ? WILDCARD : EXACT);
	/* qtype RRSIG: the signatures of one covered type, the lowest, as
	 * Knot DNS answers (like ANY, RFC 8482): each type's are an RRset. */
	if (rs->type == RW_TYPE_RRSIG)
		a->rrsig_covered = lowest_covered(rs);
	if (!ab_rrset(a, ANSWER, NULL, rs, UINT32_MAX))
		return NULL;
	size_t required = ab_len(a);
	ab_additional(a);
	return ab_finish(a, required);
}

static const struct rwd_answer *build_chain(struct rwd_answers *a, const struct rwd_node *n,
                                            uint16_t qtype, bool wild)
{
	ab_start(a, n->name, wild ? WILDCARD : EXACT);
	chain(a, a->z, n, qtype);
	size_t required = ab_len(a);
	ab_additional(a);
	return ab_finish(a, required);
}

static int build_cname_node(struct rwd_answers *a, struct rwd_node *n, bool wild)
{
	struct rwd_zone *z = a->z;
	const struct rwd_node *end = chain(NULL, z, n, 0);
	/* A chain to a cut answers DS from this side, any other type with the
	 * referral (other). */
	const struct rwd_node *end_ds = chain(NULL, z, n, RW_TYPE_DS);
	bool ds = end_ds && end_ds->cut == end_ds;
	unsigned n_types = 3 + (end ? end->n_rrsets : 0) + ds;
	n->answers = rw_arena_alloc(z->arena, n_types * sizeof(*n->answers));
	if (n->answers == NULL)
		return RW_ENOMEM;
	n->n_answers = 0;
	/* qtype CNAME: the CNAME itself, no chasing (RFC 1034 4.3.2 step 3a). */
	const struct rwd_rrset *cname = rwd_node_rrset(n, RW_TYPE_CNAME);
	if (add_typed(z, n, n->n_answers++, RW_TYPE_CNAME, build_positive(a, n, cname, wild)) < 0)
		return RW_ENOMEM;
	/* Nor for the DNSSEC records that may sit beside it (RFC 4035 2.5),
	 * as Knot DNS: those, or NODATA. */
	static const uint16_t own[] = { RW_TYPE_RRSIG, RW_TYPE_NSEC };
	for (unsigned i = 0; i < 2; i++) {
		const struct rwd_rrset *rs = rwd_node_rrset(n, own[i]);
		if (add_typed(z, n, n->n_answers++, own[i],
		              rs ? build_positive(a, n, rs, wild) : z->nodata) < 0)
			return RW_ENOMEM;
	}
	for (unsigned i = 0; end && i < end->n_rrsets; i++) {
		uint16_t t = end->rrsets[i].type;
		if (t == RW_TYPE_CNAME || t == RW_TYPE_RRSIG || t == RW_TYPE_NSEC)
			continue;
		if (add_typed(z, n, n->n_answers++, t, build_chain(a, n, t, wild)) < 0)
			return RW_ENOMEM;
	}
	if (ds && add_typed(z, n, n->n_answers++, RW_TYPE_DS, build_chain(a, n, RW_TYPE_DS, wild)) < 0)
		return RW_ENOMEM;
	/* Any other type: the chain, ending in NODATA, NXDOMAIN or outside. */
	n->other = build_chain(a, n, 0, wild);
	return n->other ? 0 : RW_ENOMEM;
}

static int build_referral(struct rwd_answers *a, struct rwd_node *n)
{
	/* A wildcard that owns NS is a literal cut (RFC 4592 4.2): names it
	 * matches are referred with the "*" owner as written. */
	bool wild = n->name[0] == 1 && n->name[1] == '*';
	ab_start(a, n->name, wild ? WILDCARD : BELOW);
	a->aa = false;
	a->cut = n->name;
	if (!ab_rrset(a, AUTHORITY, n->name, rwd_node_rrset(n, RW_TYPE_NS), UINT32_MAX))
		return RW_ELIMIT;
	/* The NS RRset must fit; glue below the cut comes first and, left out,
	 * sets TC (RFC 9471); other glue is left out silently, as Knot DNS
	 * does (a 512-byte reply to `com NS` from the root carries what fits). */
	size_t required = ab_len(a);
	ab_additional(a);
	n->referral = ab_finish(a, required);
	if (n->referral == NULL)
		return RW_ENOMEM;
	/* At the cut itself only DS is ours (RFC 4035 3.1.4.1); else NODATA. */
	const struct rwd_rrset *ds = rwd_node_rrset(n, RW_TYPE_DS);
	n->other = a->z->nodata;
	if (ds == NULL)
		return 0;
	n->answers = rw_arena_alloc(a->z->arena, sizeof(*n->answers));
	if (n->answers == NULL)
		return RW_ENOMEM;
	n->n_answers = 1;
	return add_typed(a->z, n, 0, RW_TYPE_DS, build_positive(a, n, ds, false));
}

/*
 * The previous version's answer for rs, if it is still right: an answer
 * reads only its RRset and, through additional addresses, its targets; an
 * RRset without target names and unchanged gives the same bytes.
 */
static const struct rwd_answer *reuse(const struct rwd_answers *a, const struct rwd_rrset *rs)
{
	const struct rwd_node *p = a->prev;
	if (p == NULL || p->cut || (p->flags & (RWD_NODE_CNAME | RWD_NODE_DELEG)))
		return NULL;
	const struct rwd_rrset *was = rwd_node_rrset(p, rs->type);
	if (was == NULL || was->rdata != rs->rdata || was->count != rs->count || was->ttl != rs->ttl)
		return NULL;
	if (rs->type == RW_TYPE_SVCB || rs->type == RW_TYPE_HTTPS)
		return NULL;   /* "." reads the owner's addresses (note_target()) */
	RWD_RRSET_FOREACH(rs, rd, i)
		if (rw_rdata_target(rs->type, rd + 2, rw_get16(rd)) != NULL)
			return NULL;
	for (unsigned i = 0; i < p->n_answers; i++)
		if (p->answers[i].qtype == rs->type)
			return p->answers[i].answer;
	return NULL;
}

static int build_node(struct rwd_answers *a, struct rwd_node *n)
{
	bool wild = n->name[0] == 1 && n->name[1] == '*';
	if (n->flags & RWD_NODE_DELEG)
		return n->cut == n ? build_referral(a, n) : 0;
	if (n->cut)
		return 0;                     /* occluded: only the referral answers */
	if (n->flags & RWD_NODE_CNAME)
		return build_cname_node(a, n, wild);
	n->other = a->z->nodata;
	if (n->n_rrsets == 0)
		return 0;                     /* empty non-terminal: NODATA */
	n->answers = rw_arena_alloc(a->z->arena, n->n_rrsets * sizeof(*n->answers));
	if (n->answers == NULL)
		return RW_ENOMEM;
	n->n_answers = n->n_rrsets;
	for (unsigned i = 0; i < n->n_rrsets; i++) {
		const struct rwd_answer *ans = reuse(a, &n->rrsets[i]);
		if (ans == NULL)
			ans = build_positive(a, n, &n->rrsets[i], wild);
		if (ans == NULL)
			return RW_ELIMIT;
		add_typed(a->z, n, i, n->rrsets[i].type, ans);
	}
	return 0;
}

struct rwd_answers *rwd_answers_new(struct rwd_zone *z)
{
	struct rwd_answers *a = malloc(sizeof(*a));
	if (a == NULL)
		return NULL;
	a->z = z;
	a->deps = NULL;
	a->n_deps = a->cap_deps = 0;
	a->deps_oom = false;
	return a;
}

void rwd_answers_free(struct rwd_answers *a)
{
	if (a == NULL)
		return;
	free(a->deps);
	free(a);
}

int rwd_answers_negative(struct rwd_answers *a)
{
	struct rwd_zone *z = a->z;
	/* The zone's negative answers, valid behind any name in the zone. */
	ab_start(a, z->apex_name, BELOW);
	ab_negative(a);
	z->nodata = ab_finish(a, ab_len(a));
	ab_start(a, z->apex_name, BELOW);
	a->rcode = RW_RCODE_NXDOMAIN;
	ab_negative(a);
	z->nxdomain = ab_finish(a, ab_len(a));
	return (z->nodata && z->nxdomain) ? 0 : RW_ENOMEM;
}

int rwd_answers_node(struct rwd_answers *a, struct rwd_node *n, const struct rwd_node *prev)
{
	a->n_deps = 0;
	a->deps_oom = false;
	a->prev = prev;
	int ret = build_node(a, n);
	if (ret < 0)
		return ret;
	if (a->deps_oom)
		return RW_ENOMEM;
	n->deps = NULL;
	if (a->n_deps == 0)
		return 0;
	uint32_t *d = rw_arena_alloc(a->z->arena, (a->n_deps + 1u) * sizeof(*d));
	if (d == NULL)
		return RW_ENOMEM;
	d[0] = a->n_deps;
	memcpy(d + 1, a->deps, a->n_deps * sizeof(*d));
	n->deps = d;
	return 0;
}

int rwd_zone_build_answers(struct rwd_zone_ctx *c)
{
	struct rwd_zone *z = c->z;
	struct rwd_answers *a = rwd_answers_new(z);
	if (a == NULL)
		return RW_ENOMEM;
	int ret = rwd_answers_negative(a);
	for (size_t id = 0; id < z->n_nodes && ret == 0; id++) {
		struct rwd_node *n = c->nodes[id];
		ret = rwd_answers_node(a, n, NULL);
		if (ret == RW_ELIMIT) {
			char name[RW_DNAME_MAXLEN * 4 + 1];
			rw_dname_to_str(n->name, name, sizeof(name));
			rwd_zone_report(c, false, c->path, 0,
			                "the answer for %s does not fit in a DNS message", name);
			ret = 0;
		}
		for (uint32_t k = 0; n->deps && k < n->deps[0] && ret == 0; k++)
			ret = rwd_deps_add(z->deps, RWD_DEP_READS, n->deps[k + 1], n->name);
	}
	rwd_answers_free(a);
	return ret;
}
