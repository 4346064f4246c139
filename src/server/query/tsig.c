/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stage "tsig" (stages.h): a query signed with TSIG (RFC 8945) is checked
 * against the snapshot's keyring (tsig_keys:), and every message of its
 * answer is signed (rwd_tsig_encode, from encode), as Knot DNS does:
 *   the TSIG RR does not parse             FORMERR, unsigned, no OPT
 *   unknown key, or another algorithm      NOTAUTH, TSIG error BADKEY, unsigned
 *   the MAC does not verify (or is short)  NOTAUTH, BADSIG, unsigned
 *   outside the fudge (after the MAC)      NOTAUTH, BADTIME, signed, our time
 *   verified                               on to the next stages; signed answer
 * Any key of the keyring signs any query: what a key may do beyond that
 * (transfers, NOTIFY) the transfer and notify stages decide. Knot asks its
 * ACLs (action query) for plain queries too, and only for a zone it serves:
 * it answers a signed query for another zone REFUSED unsigned, runway signs
 * the REFUSED (RFC 8945 5.3: a verified request gets a signed answer).
 *
 * The pipeline's rule is no allocation: unsigned queries cost a branch in
 * this stage and two in encode (the inline parts in stages.h). A signed query allocates: libknot copies the
 * message to hash it and builds its TSIG record on the heap, and libdnssec
 * makes an HMAC context per MAC (gnutls). Signed queries are transfers,
 * NOTIFY and SOA checks from peers: rare, and from known keys.
 */
#include "lib/error.h"
#include "lib/wire.h"
#include "server/query/stages.h"

static enum rwd_stage_result tsig_fail(struct rwd_query *qr, uint8_t rcode)
{
	qr->rcode = rcode;
	qr->answer = NULL;
	qr->aa = false;
	return RWD_DONE;
}

enum rwd_stage_result rwd_tsig_check(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	struct rwd_tsig_rr rr = { .at = qr->q.tsig_at, .len = qr->q.tsig_len };
	uint64_t now = qr->thread && qr->thread->now ? qr->thread->now : rwd_query_clock();
	int r = rwd_tsig_server_check(&s->tsig, qr->wire, qr->wire_len, &rr, now, &qr->tsig);
	switch (r) {
	case 0:
		return RWD_CONTINUE;
	case RW_EAUTH:
		return tsig_fail(qr, RW_RCODE_NOTAUTH);
	case RW_EMALFORMED:
		/* A record that cannot be read: FORMERR without an OPT, as
		 * rw_query_parse answers one (and as knotd does here). */
		qr->tsig.key = NULL;
		qr->tsig.error = 0;
		qr->q.edns.present = false;
		return tsig_fail(qr, RW_RCODE_FORMERR);
	default:                       /* out of memory */
		qr->tsig.key = NULL;
		qr->tsig.error = 0;
		return tsig_fail(qr, RW_RCODE_SERVFAIL);
	}
}

size_t rwd_tsig_room_signed(const struct rwd_query *qr)
{
	const struct rwd_tsig_ctx *t = &qr->tsig;
	if (t->key != NULL)
		return rwd_tsig_rr_size(t->key);
	/* an unsigned error record: names, fixed fields, no MAC */
	return t->key_name_len + 10u + t->alg_name_len + 16u;
}

size_t rwd_tsig_sign(const struct rwd_snapshot *s, struct rwd_query *qr, size_t len, size_t cap)
{
	/* An unsigned error record (BADKEY, BADSIG) echoes the request's key and
	 * algorithm names, decompressed: over a datagram to an address nobody
	 * proved, it goes only if the answer stays no larger than the query (a
	 * request whose names point into its own header would be amplified). */
	const struct rwd_transport *tr = qr->transport;
	if (qr->tsig.key == NULL && tr->datagram && !tr->address_verified &&
	    len + rwd_tsig_room_signed(qr) > qr->wire_len)
		return len;
	size_t l = len;
	if (rwd_tsig_sign_answer(&qr->tsig, qr->out, &l, cap, 0) == 0)
		return l;
	/* Encode left rwd_tsig_room() free, so this is out of memory: an
	 * unsigned answer to a signed query is worth nothing to its client
	 * (RFC 8945 5.3), and a transfer must stop here. */
	qr->state = RWD_DONE;
	return 0;
}
