/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stage "limit": response rate limiting (the bucket table: limit/rrl.h).
 *
 * Runs once the outcome is known, just before encoding, over UDP only (a
 * TCP client has proved its address). Which answers count as the same,
 * i.e. share a bucket for one client prefix, follows BIND and Knot DNS:
 *
 *   class     answers                         key
 *   answer    NOERROR with records            the precomputed answer body, else qname + qtype
 *   nxdomain  NXDOMAIN                        the zone (random names share one bucket)
 *   nodata    NOERROR, no records, AA         the zone
 *   referral  NOERROR, no records, not AA     the referral body: one per delegation
 *   error     REFUSED, FORMERR, NOTIMP, ...   none: one bucket per prefix
 *
 * A precomputed body is the answer itself (zone/answers.c): every name a
 * wildcard matches and every name under a delegation share one, so their
 * address is the key, and a flood of random names under a wildcard is
 * counted as one answer, as BIND counts it. Bodies are rebuilt at reload,
 * so those buckets start afresh then; zone-keyed ones do not.
 */
#include <string.h>

#include "lib/wire.h"
#include "server/limit/rrl.h"
#include "server/query/stages.h"

enum rrl_class { CLS_ANSWER = 1, CLS_NXDOMAIN, CLS_NODATA, CLS_REFERRAL, CLS_ERROR };

static uint64_t bucket_key(const struct rwd_rrl *r, const struct rwd_query *qr)
{
	const struct sockaddr *c = qr->client;
	const struct rwd_zone *z = qr->zone;
	const struct rwd_answer *a = qr->answer;
	bool records = a ? a->ancount > 0 : qr->body_an > 0;
	if (z != NULL && qr->rcode == RW_RCODE_NXDOMAIN)
		return rwd_rrl_key(r, c, CLS_NXDOMAIN, z->apex_name, z->apex_len);
	if (z == NULL || qr->rcode != RW_RCODE_NOERROR || (a == NULL && qr->body_len == 0))
		return rwd_rrl_key(r, c, CLS_ERROR, NULL, 0);
	if (a != NULL && !a->aa)
		return rwd_rrl_key(r, c, CLS_REFERRAL, &a, sizeof(a));
	if (!records)
		return rwd_rrl_key(r, c, CLS_NODATA, z->apex_name, z->apex_len);
	if (a != NULL)
		return rwd_rrl_key(r, c, CLS_ANSWER, &a, sizeof(a));
	/* Written by a stage (steering): the question names the answer. */
	uint8_t key[RW_DNAME_MAXLEN + 2];
	memcpy(key, qr->q.qname, qr->q.qname_len);
	rw_put16(key + qr->q.qname_len, qr->q.qtype);
	return rwd_rrl_key(r, c, CLS_ANSWER, key, qr->q.qname_len + 2u);
}

enum rwd_stage_result rwd_stage_limit(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rwd_rrl *r = s->rrl;
	if (r == NULL || qr->transport->address_verified || qr->client == NULL || qr->thread == NULL ||
	    (qr->client->sa_family != AF_INET && qr->client->sa_family != AF_INET6))
		return RWD_CONTINUE;
	struct rwd_qstats *st = qr->thread->stats;
	enum rwd_rrl_stat what;
	if (qr->cookie == RWD_COOKIE_VALID) {
		what = RWD_RRL_COOKIE;
	} else if (rwd_acl_match(&r->exempt, qr->client)) {
		what = RWD_RRL_EXEMPT;
	} else {
		uint32_t now = qr->thread->now ? qr->thread->now : rwd_query_clock();
		switch (rwd_rrl_account(r->table, bucket_key(r, qr), r->rate, r->slip, now)) {
		case RWD_RRL_PASS:
			return RWD_CONTINUE;
		case RWD_RRL_DROP:
			if (st)
				st->rrl[RWD_RRL_DROPPED]++;
			return RWD_DROP;
		case RWD_RRL_SLIP:
			break;
		}
		/* Header, question and OPT: a real client retries over TCP, or,
		 * if it sent a cookie, with the server cookie this reply carries
		 * (as BIND does), which exempts it from now on. */
		what = RWD_RRL_SLIPPED;
		qr->answer = NULL;
		qr->producer = NULL;
		qr->body_len = 0;
		if (qr->cookie != RWD_COOKIE_NONE) {
			qr->rcode = RW_RCODE_BADCOOKIE;
			qr->aa = false;
			qr->ede = 0;
		} else {
			qr->tc = true;
		}
	}
	if (st)
		st->rrl[what]++;
	return RWD_CONTINUE;
}
