/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stage "cookie": DNS Cookies, server side (policy in cookie.h). */
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <libknot/libknot.h>

#include "lib/wire.h"
#include "server/query/cookie.h"
#include "server/query/stages.h"

static uint8_t random_secret[RWD_COOKIE_SECRET_LEN];
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

static void make_random_secret(void)
{
	size_t got = 0;
	while (got < sizeof(random_secret)) {
		ssize_t n = getrandom(random_secret + got, sizeof(random_secret) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
}

const uint8_t *rwd_cookie_random_secret(void)
{
	pthread_once(&random_once, make_random_secret);
	return random_secret;
}

static void params(knot_edns_cookie_params_t *p, const uint8_t *secret,
                   const struct sockaddr *client, uint32_t now)
{
	/* Without a client (tests, fuzzing) the hash covers 0.0.0.0. */
	static const struct sockaddr_storage none = { .ss_family = AF_INET };
	*p = (knot_edns_cookie_params_t){
		.version = KNOT_EDNS_COOKIE_VERSION,
		.timestamp = now,
		.lifetime_before = RWD_COOKIE_PAST,
		.lifetime_after = RWD_COOKIE_FUTURE,
		.client_addr = client ? (const struct sockaddr_storage *)client : &none,
	};
	memcpy(p->secret, secret, sizeof(p->secret));
}

void rwd_cookie_make(const uint8_t secret[RWD_COOKIE_SECRET_LEN], const uint8_t cc[8],
                     const struct sockaddr *client, uint32_t now, uint8_t *out)
{
	knot_edns_cookie_params_t p;
	knot_edns_cookie_t c = { .len = KNOT_EDNS_COOKIE_CLNT_SIZE }, sc = { 0 };
	params(&p, secret, client, now);
	memcpy(c.data, cc, KNOT_EDNS_COOKIE_CLNT_SIZE);
	/* Cannot fail: every argument is set and the client cookie has 8 bytes. */
	knot_edns_cookie_server_generate(&sc, &c, &p);
	memcpy(out, sc.data, RWD_SERVER_COOKIE_LEN);
}

bool rwd_cookie_valid(const uint8_t secret[RWD_COOKIE_SECRET_LEN], const uint8_t cc[8],
                      const struct sockaddr *client, uint32_t now, const uint8_t *sc, size_t len)
{
	if (len < KNOT_EDNS_COOKIE_SRVR_MIN_SIZE || len > KNOT_EDNS_COOKIE_SRVR_MAX_SIZE)
		return false;
	knot_edns_cookie_params_t p;
	knot_edns_cookie_t c = { .len = KNOT_EDNS_COOKIE_CLNT_SIZE }, s = { .len = (uint16_t)len };
	params(&p, secret, client, now);
	memcpy(c.data, cc, KNOT_EDNS_COOKIE_CLNT_SIZE);
	memcpy(s.data, sc, len);
	return knot_edns_cookie_server_check(&s, &c, &p) == KNOT_EOK;
}

/* RFC 7873 5.4: a query without a question asks for a server cookie, which
 * it gets with NOERROR; without a cookie there is nothing to answer. */
static enum rwd_stage_result no_question(struct rwd_query *qr)
{
	if (qr->cookie == RWD_COOKIE_NONE)
		qr->rcode = RW_RCODE_FORMERR;
	return RWD_DONE;
}

enum rwd_stage_result rwd_stage_cookie(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rw_edns *e = &qr->q.edns;
	qr->cookie = RWD_COOKIE_NONE;
	if (!e->cookie || !s->cookies)
		return qr->q.question_len ? RWD_CONTINUE : no_question(qr);
	uint32_t now = qr->thread && qr->thread->now ? qr->thread->now : (uint32_t)time(NULL);
	if (e->cookie_server_len == 0)
		qr->cookie = RWD_COOKIE_CLIENT;
	else if (rwd_cookie_valid(s->cookie_secret, e->cookie_client, qr->client, now,
	                          e->cookie_server, e->cookie_server_len))
		qr->cookie = RWD_COOKIE_VALID;
	else
		qr->cookie = RWD_COOKIE_INVALID;
	rwd_cookie_make(s->cookie_secret, e->cookie_client, qr->client, now, qr->server_cookie);
	if (qr->thread && qr->thread->stats)
		qr->thread->stats->cookies[qr->cookie - 1]++;
	if (qr->cookie != RWD_COOKIE_INVALID || qr->transport->address_verified)
		return qr->q.question_len ? RWD_CONTINUE : no_question(qr);
	qr->rcode = RW_RCODE_BADCOOKIE;    /* RFC 7873 5.2.4, with our fresh cookie */
	qr->answer = NULL;
	qr->aa = false;
	return RWD_DONE;
}
