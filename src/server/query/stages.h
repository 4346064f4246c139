/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to the query pipeline: stages that live in their own file.
 * Each takes the snapshot and the query and says whether it decided the
 * outcome (the later stages then only encode): enum rwd_stage_result
 * (query.h), or a bool (true: decided) for the older ones, which query.c's
 * stage table adapts.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/wire.h"
#include "server/query/query.h"
#include "server/zone/zone.h"

/* Stage "steer" (steer.c): room is what the body may take behind the question. */
bool rwd_stage_steer(const struct rwd_snapshot *s, struct rwd_query *qr, size_t room);

/* Stage "cookie" (cookie.c): sets qr->cookie and qr->server_cookie; DONE
 * (BADCOOKIE) on an invalid server cookie from an unverified address, DONE
 * for a query without a question (RFC 7873 5.4: NOERROR with the cookie,
 * FORMERR without one), else CONTINUE. */
enum rwd_stage_result rwd_stage_cookie(const struct rwd_snapshot *s, struct rwd_query *qr);

/* Stage "limit" (limit.c), once the outcome is known: DROP to send
 * nothing, else CONTINUE; may strip the answer to a truncated reply (slip). */
enum rwd_stage_result rwd_stage_limit(const struct rwd_snapshot *s, struct rwd_query *qr);

/* Stage "lookup" (lookup.c): sets qr->answer, rcode and aa from the zone. */
void rwd_stage_lookup(struct rwd_query *qr);

/* Write qr->answer behind the question at p, at most room bytes (or, when
 * qr->synth == qr->answer, the answer resolved at query time); sets the
 * section counts in qr->out and qr->tc when the required part does not fit.
 * Returns the bytes written (body.c). */
size_t rwd_body_put(struct rwd_query *qr, uint8_t *p, size_t room);

/* Move the compression pointer at ptr by delta (a body behind a question
 * name of another length than the one it was built behind). */
static inline void rwd_body_move_ptr(uint8_t *ptr, int delta)
{
	rw_put16(ptr, (uint16_t)(0xc000 | ((rw_get16(ptr) & 0x3fff) + delta)));
}

/* rwd_body_put's common case, inline in encode: a precomputed answer
 * (qr->synth != qr->answer) that fits whole (answer->len <= room). */
static inline size_t rwd_body_put_whole(struct rwd_query *qr, uint8_t *p)
{
	const struct rwd_answer *a = qr->answer;
	const uint16_t *relocs = rwd_answer_relocs(a);
	int delta = (int)qr->q.qname_len - (int)a->qname_len;
	memcpy(p, rwd_answer_data(a), a->len);
	if (delta != 0)               /* every pointer: all are within data[0..len) */
		for (unsigned k = 0; k < a->n_relocs; k++)
			rwd_body_move_ptr(p + relocs[k], delta);
	/* The SOA serial is the zone's, not the one the body was built with
	 * (a patched zone shares answers with its predecessor, zone.h). */
	if (a->serial_at)
		rw_put32(p + a->serial_at - 1, qr->zone->serial);
	rw_put16(qr->out + RW_HDR_ANCOUNT, a->ancount);
	rw_put16(qr->out + RW_HDR_NSCOUNT, a->nscount);
	rw_put16(qr->out + RW_HDR_ARCOUNT, a->arcount);
	return a->len;
}

/* Lookup, for an answer built at query time (qr->synth): resolve it once
 * into qr->out to learn its rcode and AA before the limit stage (body.c). */
void rwd_body_synth_rcode(struct rwd_query *qr);

/* Stage "tsig" (tsig.c): a query signed with TSIG (RFC 8945) is checked
 * against the snapshot's keyring; qr->tsig then signs every message of the
 * answer (rwd_tsig_encode). A bad signature, an unknown key or a time
 * outside the fudge: DONE with NOTAUTH and the TSIG error. Else CONTINUE.
 * The unsigned case is inline (a branch); the rest is out of line. */
enum rwd_stage_result rwd_tsig_check(const struct rwd_snapshot *s, struct rwd_query *qr);
static inline enum rwd_stage_result rwd_stage_tsig(const struct rwd_snapshot *s,
                                                   struct rwd_query *qr)
{
	if (__builtin_expect(qr->q.tsig_at == 0, 1))
		return RWD_CONTINUE;       /* rwd_query_begin left qr->tsig unsigned */
	return rwd_tsig_check(s, qr);
}

static inline bool rwd_tsig_unsigned(const struct rwd_query *qr)
{
	return qr->tsig.key == NULL && qr->tsig.error == 0;
}

/* At the end of encode: sign the message out[0..len) (room: cap) when the
 * query was signed; the new length (len when unsigned; 0: send nothing, the
 * signing failed for want of memory). */
size_t rwd_tsig_sign(const struct rwd_snapshot *s, struct rwd_query *qr, size_t len, size_t cap);
static inline size_t rwd_tsig_encode(const struct rwd_snapshot *s, struct rwd_query *qr,
                                     size_t len, size_t cap)
{
	return __builtin_expect(rwd_tsig_unsigned(qr), 1) ? len : rwd_tsig_sign(s, qr, len, cap);
}

/* The bytes the answer's TSIG RR will take (0 when unsigned): encode, and
 * whatever fills a message, keeps them free. */
size_t rwd_tsig_room_signed(const struct rwd_query *qr);
static inline size_t rwd_tsig_room(const struct rwd_query *qr)
{
	return __builtin_expect(rwd_tsig_unsigned(qr), 1) ? 0 : rwd_tsig_room_signed(qr);
}
/* A signed answer's largest size but its TSIG RR, from cap. */
static inline size_t rwd_tsig_max(const struct rwd_query *qr, size_t cap)
{
	size_t room = rwd_tsig_room_signed(qr);
	return cap > room ? cap - room : 0;
}

/* Stage "notify" (notify.c): opcode NOTIFY (RFC 1996) for a zone this server
 * is a secondary of, from a source allow_notify admits: hands it to the
 * snapshot's notify sink and answers NOERROR+AA; else NOTAUTH or REFUSED.
 * Other opcodes: CONTINUE. */
enum rwd_stage_result rwd_stage_notify(const struct rwd_snapshot *s, struct rwd_query *qr);

/* Stage "transfer" (xfr.c): AXFR and IXFR (RFC 5936, RFC 1995) of a zone's
 * apex, allowed by allow_transfer: sets qr->producer to stream the zone or
 * its differences; REFUSED (NOTAUTH when TSIG failed) otherwise. Other
 * qtypes: CONTINUE. */
enum rwd_stage_result rwd_stage_transfer(const struct rwd_snapshot *s, struct rwd_query *qr);
