/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stage "notify" (stages.h): NOTIFY in (RFC 1996), runway as a secondary.
 *
 * Checked in Knot DNS's order, with runway's rcodes (docs/transfers.md):
 *   the question's name is the apex of a zone of the client's view that
 *     runway is a secondary of (primaries:)     else NOTAUTH (as Knot, BIND)
 *   a rule of allow_notify holds the source address, and its key (when it
 *     has one) is the one the query was signed with (stage tsig checked the
 *     signature)                                 else REFUSED (as BIND; Knot
 *                                                answers NOTAUTH)
 *   the question's type is SOA                   else FORMERR (as Knot, BIND)
 *   a notify sink is set (the secondary service runs)   else REFUSED
 * then the sink is told (view, apex, the serial of the SOA in the answer
 * section, 0 without one) and the answer is NOERROR with AA set and the
 * question echoed (RFC 1996 4.7; AA as BIND, Knot leaves it clear). A
 * failed TSIG never gets here: stage tsig answers NOTAUTH with the error.
 *
 * No allocation, no lock: the sink only wakes its service.
 */
#include <string.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/query/stages.h"

static enum rwd_stage_result notify_rcode(struct rwd_query *qr, uint8_t rcode)
{
	qr->rcode = rcode;
	qr->answer = NULL;
	qr->aa = false;
	return RWD_DONE;
}

static bool same_key(const struct rwd_tsig_key *a, const struct rwd_tsig_key *b)
{
	return a == b || (a && b && a->alg == b->alg && a->name_len == b->name_len &&
	                  memcmp(a->name, b->name, a->name_len) == 0);
}

static bool notify_allowed(const struct rwd_zone_settings *zs, const struct rwd_query *qr)
{
	for (size_t i = 0; i < zs->n_allow_notify; i++) {
		const struct rwd_xfr_rule *r = &zs->allow_notify[i];
		if (rwd_acl_match(&r->match, qr->client) &&
		    (r->key == NULL || same_key(r->key, qr->tsig.key)))
			return true;
	}
	return false;
}

/* The serial of the SOA record that opens the answer section, or 0. */
static uint32_t answer_serial(const struct rwd_query *qr)
{
	const uint8_t *m = qr->wire;
	size_t len = qr->wire_len, pos = RW_HDR_LEN + qr->q.question_len;
	uint16_t type, rdlen;
	if (rw_get16(m + RW_HDR_ANCOUNT) == 0 || rw_rr_skip(m, len, &pos, &type, &rdlen) < 0 ||
	    type != RW_TYPE_SOA)
		return 0;
	size_t at = pos - rdlen, end = pos;
	uint8_t name[RW_DNAME_MAXLEN];
	if (rw_dname_unpack(m, end, &at, name) < 0 || rw_dname_unpack(m, end, &at, name) < 0 ||
	    at + 20 > end)
		return 0;
	return rw_get32(m + at);
}

enum rwd_stage_result rwd_stage_notify(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rw_query *q = &qr->q;
	if (q->opcode != RW_OPCODE_NOTIFY)
		return RWD_CONTINUE;
	/* The zone is the question's name exactly (not a zone above it). */
	if (qr->zones == NULL || rwd_zonedb_get(qr->zones, q->qname, q->qname_len) == NULL)
		return notify_rcode(qr, RW_RCODE_NOTAUTH);
	const struct rwd_zone_settings *zs =
		rwd_snapshot_zone_settings(s, qr->view, q->qname, q->qname_len);
	if (zs == NULL || !zs->secondary)
		return notify_rcode(qr, RW_RCODE_NOTAUTH);
	if (!notify_allowed(zs, qr))
		return notify_rcode(qr, RW_RCODE_REFUSED);
	if (q->qtype != RW_TYPE_SOA)
		return notify_rcode(qr, RW_RCODE_FORMERR);
	if (s->notify_sink.fn == NULL)
		return notify_rcode(qr, RW_RCODE_REFUSED);
	s->notify_sink.fn(s->notify_sink.ctx, qr->view, q->qname, answer_serial(qr));
	notify_rcode(qr, RW_RCODE_NOERROR);
	qr->aa = true;
	return RWD_DONE;
}
