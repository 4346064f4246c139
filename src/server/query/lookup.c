/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stage "lookup" (query.h): the zone's answer for the question, found by the
 * closest encloser and the links computed at load (zone.h). A name below a
 * DNAME, and a CNAME chain that goes on in another zone of the view or below
 * a DNAME, are answered at query time instead (body.c).
 */
#include <string.h>

#include "lib/dname.h"
#include "lib/wire.h"
#include "server/query/stages.h"
#include "server/zone/zonedb.h"

/* Does the chain of answer a go on here (another zone of the view, or a
 * DNAME of this one)? Else its precomputed answer is complete. Out of line:
 * its name buffer would cost every lookup a stack protector check. */
static __attribute__((noinline)) bool follows(const struct rwd_query *qr, const struct rwd_answer *a)
{
	if (a->follow_dname)
		return true;
	if (qr->zones == NULL || qr->zones->n_zones < 2)
		return false;            /* the only zone is this one: the target is no one's */
	uint8_t lc[RW_DNAME_MAXLEN];
	size_t len = rw_dname_len(a->follow);
	memcpy(lc, a->follow, len);
	rw_dname_lower(lc);
	const struct rwd_zone *z = rwd_zonedb_find(qr->zones, lc, len, qr->q.qtype);
	return z != NULL && z != qr->zone;
}

/* Stage "lookup": closest encloser, then cut, exact, wildcard or nothing. */
void rwd_stage_lookup(struct rwd_query *qr)
{
	const struct rwd_zone *z = qr->zone;
	const struct rw_query *q = &qr->q;
	const struct rwd_node *n = rwd_zone_encloser_hashed(z, q->qname, q->qname_len, q->qname_hash);
	bool exact = n->name_len == q->qname_len;
	bool synth = false;
	const struct rwd_answer *a;

	if (n->cut && !(exact && n->cut == n && q->qtype == RW_TYPE_DS)) {
		a = n->cut->referral;
	} else if (!exact && n->wildcard == NULL && (n->flags & RWD_NODE_DNAME)) {
		a = rwd_node_answer(n, RW_TYPE_DNAME);   /* RFC 6672: synthesized */
		synth = true;
	} else if (!exact && n->wildcard == NULL) {
		a = z->nxdomain;
	} else if (!exact && (n->wildcard->flags & RWD_NODE_DELEG)) {
		a = n->wildcard->referral;    /* a wildcard owning NS: a literal cut */
	} else {
		uint16_t qtype = q->qtype;
		if (!exact) {
			n = n->wildcard;          /* RFC 4592 synthesis: owner is the qname */
			/* A wildcard CNAME asked by its own target name loops at once:
			 * the CNAME alone, as Knot DNS answers (the precomputed chain
			 * assumes a question name other than the target). */
			if ((n->flags & RWD_NODE_CNAME) && qtype != RW_TYPE_CNAME &&
			    rw_dname_eq(q->qname, rwd_node_rrset(n, RW_TYPE_CNAME)->rdata + 2))
				qtype = RW_TYPE_CNAME;
		}
		if (qtype == RW_TYPE_ANY)     /* RFC 8482: one RRset, the lowest type */
			a = n->n_answers ? n->answers[0].answer : n->other;
		else
			a = rwd_node_answer(n, qtype);
		synth = a->follow != NULL && follows(qr, a);
	}
	qr->answer = a;
	qr->synth = synth ? a : NULL;
	qr->rcode = a->rcode;
	qr->aa = a->aa;
	if (synth)
		rwd_body_synth_rcode(qr);
}
