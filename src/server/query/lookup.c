/*
 * Stage "lookup" (query.h): the zone's answer for the question, found by the
 * closest encloser and the links computed at load (zone.h).
 */
#include "lib/dname.h"
#include "lib/wire.h"
#include "server/query/stages.h"

/* Stage "lookup": closest encloser, then cut, exact, wildcard or nothing. */
void rwd_stage_lookup(struct rwd_query *qr)
{
	const struct rwd_zone *z = qr->zone;
	const struct rw_query *q = &qr->q;
	const struct rwd_node *n = rwd_zone_encloser(z, q->qname, q->qname_len);
	bool exact = n->name_len == q->qname_len;
	const struct rwd_answer *a;

	if (n->cut && !(exact && n->cut == n && q->qtype == RW_TYPE_DS)) {
		a = n->cut->referral;
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
	}
	qr->answer = a;
	qr->rcode = a->rcode;
	qr->aa = a->aa;
}
