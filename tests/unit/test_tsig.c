/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG (server/common/tsig.c, RFC 8945): keyrings, a request signed by the
 * client side and checked by the server side and back, for each algorithm;
 * BADSIG, BADKEY (unknown name, other algorithm), BADTIME and their answers
 * (RFC 8945 5.3.2); truncated MACs refused; chains of answers, every one
 * signed or with unsigned ones in between (5.3.1), and what breaks them.
 * Then the pipeline (query/tsig.c and encode): signed answers over UDP and
 * TCP, after the OPT, truncated to fit with their TSIG RR; NOTAUTH with
 * each error; FORMERR for a TSIG RR that does not parse; every message of
 * a stream signed, chained.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/tsig-op.h>

#include "testaddr.h"
#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/common/tsig.h"
#include "server/query/query.h"
#include "server/snapshot/snapshot.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

#define TYPE_TSIG 250

static const char *const alg_names[] = {
	"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512",
};
static const size_t mac_sizes[] = { 20, 28, 32, 48, 64 };

static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
static const uint8_t other_secret[] = "fedcba9876543210fedcba9876543210";

struct msg {
	uint8_t b[4096];
	size_t len;
};

/* A query (or, answer true, an answer with one A record) for qname/A. */
static void mkmsg(struct msg *m, const char *qname, uint16_t id, bool answer)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	assert_true(rw_dname_from_str(qname, NULL, dn) > 0);
	struct rw_msgbuilder b;
	assert_int_equal(rw_msgb_init(&b, m->b, sizeof(m->b), id, dn, RW_TYPE_A, RW_CLASS_IN, true), 0);
	if (answer) {
		m->b[2] = RW_FLAG_QR | RW_FLAG_AA;
		rw_msgb_put_qname_ptr(&b);
		rw_msgb_put16(&b, RW_TYPE_A);
		rw_msgb_put16(&b, RW_CLASS_IN);
		rw_msgb_put32(&b, 300);
		rw_msgb_put16(&b, 4);
		rw_msgb_put32(&b, 0xc0000201);
		rw_put16(m->b + RW_HDR_ANCOUNT, 1);
	}
	m->len = b.len;
}

static void ring(struct rwd_tsig_keyring *kr, const char *name, const char *alg,
                 const uint8_t *sec)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	assert_true(rw_dname_from_str(name, NULL, dn) > 0);
	assert_int_equal(rwd_tsig_keyring_add(kr, dn, alg, sec, 32), 0);
}

static const struct rwd_tsig_key *find(const struct rwd_tsig_keyring *kr, const char *name)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int n = rw_dname_from_str(name, NULL, dn);
	assert_true(n > 0);
	return rwd_tsig_keyring_find(kr, dn, (size_t)n);
}

/* The fields of a message's TSIG RR, read back. */
struct rr {
	struct rwd_tsig_rr at;
	uint8_t owner[RW_DNAME_MAXLEN];
	uint8_t alg[RW_DNAME_MAXLEN];
	uint64_t time_signed;
	uint16_t fudge, mac_len, orig_id, error, other_len;
	size_t mac_at;                     /* offset of the MAC size field */
	const uint8_t *other;
};

static void read_rr(const struct msg *m, struct rr *r)
{
	assert_int_equal(rwd_tsig_find(m->b, m->len, &r->at), 0);
	size_t p = r->at.at;
	assert_true(rw_dname_unpack(m->b, m->len, &p, r->owner) > 0);
	assert_int_equal(rw_get16(m->b + p), TYPE_TSIG);
	assert_int_equal(rw_get16(m->b + p + 2), RW_CLASS_ANY);
	assert_int_equal(rw_get32(m->b + p + 4), 0);
	p += 10;
	size_t n = rw_dname_len(m->b + p);
	memcpy(r->alg, m->b + p, n);
	p += n;
	r->time_signed = (uint64_t)rw_get16(m->b + p) << 32 | rw_get32(m->b + p + 2);
	r->fudge = rw_get16(m->b + p + 6);
	r->mac_at = p + 8;
	r->mac_len = rw_get16(m->b + p + 8);
	p += 10 + r->mac_len;
	r->orig_id = rw_get16(m->b + p);
	r->error = rw_get16(m->b + p + 2);
	r->other_len = rw_get16(m->b + p + 4);
	r->other = m->b + p + 6;
	assert_int_equal(p + 6 + r->other_len, m->len);
}

/* Sign a query with key, check it on the server side against kr (now 0:
 * the clock only); the result of the check. */
static int exchange(const struct rwd_tsig_keyring *kr, const struct rwd_tsig_key *key,
                    struct msg *q, struct rwd_tsig_ctx *cli, struct rwd_tsig_ctx *srv,
                    uint64_t now)
{
	memset(cli, 0, sizeof(*cli));
	memset(srv, 0, sizeof(*srv));
	mkmsg(q, "www.example.com.", 0x1234, false);
	assert_int_equal(rwd_tsig_sign_request(cli, key, q->b, &q->len, sizeof(q->b), 0), 0);
	struct rwd_tsig_rr at;
	assert_int_equal(rwd_tsig_find(q->b, q->len, &at), 0);
	return rwd_tsig_server_check(kr, q->b, q->len, &at, now, srv);
}

static void test_keyring(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	uint8_t dn[RW_DNAME_MAXLEN];
	rw_dname_from_str("Xfr.Example.", NULL, dn);
	assert_int_equal(rwd_tsig_keyring_add(&kr, dn, "hmac-md5", secret, 32), RW_EINVAL);
	assert_int_equal(rwd_tsig_keyring_add(&kr, dn, "hmac-sha256", secret, 0), RW_EINVAL);
	assert_int_equal(rwd_tsig_keyring_add(&kr, dn, "HMAC-SHA256", secret, 32), 0);
	ring(&kr, "other.", "hmac-sha1", secret);
	assert_int_equal(kr.n, 2);
	const struct rwd_tsig_key *k = find(&kr, "XFR.example.");
	assert_non_null(k);
	assert_memory_equal(k->name, "\x03xfr\x07" "example", 13);
	assert_string_equal(k->alg_text, "hmac-sha256");
	assert_int_equal(k->secret_len, 32);
	assert_null(find(&kr, "xfr."));
	assert_ptr_equal(find(&kr, "other."), &kr.keys[1]);

	/* A copy outlives its keyring and still signs. */
	struct rwd_tsig_key *d = rwd_tsig_key_dup(k);
	assert_non_null(d);
	assert_ptr_not_equal(d->secret, k->secret);
	struct rwd_tsig_keyring kr2 = { 0 };
	ring(&kr2, "xfr.example.", "hmac-sha256", secret);
	rwd_tsig_keyring_free(&kr);
	assert_null(kr.keys);
	struct msg q;
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr2, d, &q, &cli, &srv, 0), 0);
	rwd_tsig_key_free(d);
	rwd_tsig_key_free(NULL);
	assert_null(rwd_tsig_key_dup(NULL));
	rwd_tsig_keyring_free(&kr2);
}

/* Each algorithm: request, answer, both verify; the MAC has its full size. */
static void test_round_trip(void **state)
{
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
		struct rwd_tsig_keyring kr = { 0 };
		ring(&kr, "xfr.", alg_names[i], secret);
		const struct rwd_tsig_key *key = find(&kr, "xfr.");
		struct msg q, a;
		struct rwd_tsig_ctx cli, srv;
		assert_int_equal(exchange(&kr, key, &q, &cli, &srv, (uint64_t)time(NULL)), 0);
		assert_ptr_equal(srv.key, key);
		assert_int_equal(srv.error, 0);
		assert_int_equal(srv.mac_len, mac_sizes[i]);
		assert_memory_equal(srv.mac, cli.mac, mac_sizes[i]);
		struct rr r;
		read_rr(&q, &r);
		assert_int_equal(r.mac_len, mac_sizes[i]);
		assert_int_equal(rw_get16(q.b + 10), 1);
		assert_true(rwd_tsig_rr_size(key) >= r.at.len);

		mkmsg(&a, "www.example.com.", 0x1234, true);
		size_t before = a.len;
		assert_int_equal(rwd_tsig_sign_answer(&srv, a.b, &a.len, sizeof(a.b), 0), 0);
		assert_true(a.len > before);
		assert_true(a.len - before <= rwd_tsig_rr_size(key));
		assert_int_equal(rw_get16(a.b + RW_HDR_ARCOUNT), 1);
		read_rr(&a, &r);
		assert_int_equal(r.error, 0);
		assert_int_equal(r.other_len, 0);
		assert_int_equal(r.orig_id, 0x1234);
		assert_int_equal(rwd_tsig_client_check(&cli, a.b, a.len, true), 0);
		assert_int_equal(cli.messages, 1);

		/* An answer with one bit changed does not verify. */
		struct msg q2;
		struct rwd_tsig_ctx again, srv2;
		assert_int_equal(exchange(&kr, key, &q2, &again, &srv2, 0), 0);
		mkmsg(&a, "www.example.com.", 0x1234, true);
		assert_int_equal(rwd_tsig_sign_answer(&srv2, a.b, &a.len, sizeof(a.b), 0), 0);
		a.b[a.len - r.at.len - 1] ^= 1;   /* the last byte of the A record */
		assert_int_equal(rwd_tsig_client_check(&again, a.b, a.len, true), RW_EAUTH);
		assert_int_equal(again.error, RWD_TSIG_BADSIG);
		rwd_tsig_keyring_free(&kr);
	}
}

/* A request changed after signing: BADSIG, answered with an unsigned TSIG
 * RR (empty MAC) carrying the error, which the client sees. */
static void test_badsig(void **state)
{
	struct rwd_tsig_keyring kr = { 0 }, other = { 0 };
	ring(&kr, "xfr.", "hmac-sha256", secret);
	ring(&other, "xfr.", "hmac-sha256", other_secret);
	struct msg q, a;
	struct rwd_tsig_ctx cli, srv;
	/* signed with another secret */
	assert_int_equal(exchange(&kr, find(&other, "xfr."), &q, &cli, &srv, 0), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADSIG);
	assert_null(srv.key);
	/* changed after signing (the question's type) */
	memset(&cli, 0, sizeof(cli));
	mkmsg(&q, "www.example.com.", 0x4321, false);
	assert_int_equal(rwd_tsig_sign_request(&cli, find(&kr, "xfr."), q.b, &q.len, sizeof(q.b), 0), 0);
	q.b[RW_HDR_LEN + 17 + 1] = RW_TYPE_AAAA;
	struct rwd_tsig_rr at;
	assert_int_equal(rwd_tsig_find(q.b, q.len, &at), 0);
	assert_int_equal(rwd_tsig_server_check(&kr, q.b, q.len, &at, 0, &srv), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADSIG);

	mkmsg(&a, "www.example.com.", 0x4321, false);
	a.b[2] |= RW_FLAG_QR;
	a.b[3] = RW_RCODE_NOTAUTH;
	assert_int_equal(rwd_tsig_sign_answer(&srv, a.b, &a.len, sizeof(a.b), 0), 0);
	struct rr r, rq;
	read_rr(&a, &r);
	read_rr(&q, &rq);
	assert_memory_equal(r.owner, "\x03xfr", 5);
	assert_memory_equal(r.alg, "\x0bhmac-sha256", 13);
	assert_int_equal(r.mac_len, 0);
	assert_int_equal(r.error, RWD_TSIG_BADSIG);
	assert_int_equal(r.time_signed, rq.time_signed);
	assert_int_equal(r.fudge, 300);
	assert_int_equal(r.orig_id, 0x4321);
	assert_int_equal(rwd_tsig_client_check(&cli, a.b, a.len, true), RW_EAUTH);
	assert_int_equal(cli.error, RWD_TSIG_BADSIG);

	/* No room for the error's record: RW_ESPACE, nothing written. */
	mkmsg(&a, "www.example.com.", 0x4321, false);
	size_t len = a.len;
	assert_int_equal(rwd_tsig_sign_answer(&srv, a.b, &len, a.len + 10, 0), RW_ESPACE);
	assert_int_equal(len, a.len);
	rwd_tsig_keyring_free(&kr);
	rwd_tsig_keyring_free(&other);
}

/* A key name we do not know, or ours with another algorithm: BADKEY, the
 * answer's TSIG RR names the request's key and algorithm. */
static void test_badkey(void **state)
{
	struct rwd_tsig_keyring kr = { 0 }, cl = { 0 };
	ring(&kr, "xfr.", "hmac-sha256", secret);
	ring(&cl, "Unknown.Key.", "hmac-sha512", secret);
	ring(&cl, "xfr.", "hmac-sha384", secret);
	struct msg q, a;
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr, find(&cl, "unknown.key."), &q, &cli, &srv, 0), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADKEY);
	assert_null(srv.key);
	mkmsg(&a, "www.example.com.", 0x1234, false);
	a.b[2] |= RW_FLAG_QR;
	assert_int_equal(rwd_tsig_sign_answer(&srv, a.b, &a.len, sizeof(a.b), 0), 0);
	struct rr r;
	read_rr(&a, &r);
	assert_memory_equal(r.owner, "\x07unknown\x03key", 13);
	assert_memory_equal(r.alg, "\x0bhmac-sha512", 13);
	assert_int_equal(r.mac_len, 0);
	assert_int_equal(r.error, RWD_TSIG_BADKEY);
	assert_int_equal(rwd_tsig_client_check(&cli, a.b, a.len, true), RW_EAUTH);
	assert_int_equal(cli.error, RWD_TSIG_BADKEY);

	assert_int_equal(exchange(&kr, find(&cl, "xfr."), &q, &cli, &srv, 0), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADKEY);
	rwd_tsig_keyring_free(&kr);
	rwd_tsig_keyring_free(&cl);
}

/* Outside the fudge (300 s): BADTIME after the MAC verified; the answer is
 * signed, with the request's time and the server's in Other Data. */
static void test_badtime(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	ring(&kr, "xfr.", "hmac-sha256", secret);
	const struct rwd_tsig_key *key = find(&kr, "xfr.");
	struct msg q, a;
	struct rwd_tsig_ctx cli, srv;
	uint64_t now = (uint64_t)time(NULL);
	assert_int_equal(exchange(&kr, key, &q, &cli, &srv, now + 301), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADTIME);
	assert_ptr_equal(srv.key, key);
	assert_int_equal(exchange(&kr, key, &q, &cli, &srv, now - 301), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADTIME);
	assert_int_equal(exchange(&kr, key, &q, &cli, &srv, now + 200), 0);

	assert_int_equal(exchange(&kr, key, &q, &cli, &srv, now + 1000), RW_EAUTH);
	mkmsg(&a, "www.example.com.", 0x1234, false);
	a.b[2] |= RW_FLAG_QR;
	a.b[3] = RW_RCODE_NOTAUTH;
	assert_int_equal(rwd_tsig_sign_answer(&srv, a.b, &a.len, sizeof(a.b), 0), 0);
	struct rr r, rq;
	read_rr(&a, &r);
	read_rr(&q, &rq);
	assert_int_equal(r.error, RWD_TSIG_BADTIME);
	assert_int_equal(r.mac_len, 32);
	assert_int_equal(r.time_signed, rq.time_signed);
	assert_int_equal(r.other_len, 6);
	uint64_t server_time = (uint64_t)rw_get16(r.other) << 32 | rw_get32(r.other + 2);
	assert_true(server_time >= now && server_time <= now + 5);
	assert_int_equal(rwd_tsig_client_check(&cli, a.b, a.len, true), RW_EAUTH);
	assert_int_equal(cli.error, RWD_TSIG_BADTIME);

	/* The time changed in transit: the MAC no longer matches, and BADSIG
	 * comes first (a forged time never earns a signed BADTIME answer). */
	assert_int_equal(exchange(&kr, key, &q, &cli, &srv, 0), 0);
	read_rr(&q, &rq);
	size_t t = rq.mac_at - 8;
	q.b[t + 2] ^= 0x10;                /* time signed, a few days off */
	struct rwd_tsig_rr at;
	assert_int_equal(rwd_tsig_find(q.b, q.len, &at), 0);
	assert_int_equal(rwd_tsig_server_check(&kr, q.b, q.len, &at, 0, &srv), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADSIG);
	rwd_tsig_keyring_free(&kr);
}

/* A MAC cut to half its size (RFC 8945 5.2.2.1 truncation): refused as
 * BADSIG, as Knot DNS does (it implements no truncation). */
static void test_truncated_mac(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	ring(&kr, "xfr.", "hmac-sha256", secret);
	struct msg q;
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr, find(&kr, "xfr."), &q, &cli, &srv, 0), 0);
	struct rr r;
	read_rr(&q, &r);
	/* MAC size 16, the second half of the MAC cut out, RDLENGTH less 16 */
	size_t mac = r.mac_at + 2;
	rw_put16(q.b + r.mac_at, 16);
	memmove(q.b + mac + 16, q.b + mac + 32, q.len - mac - 32);
	q.len -= 16;
	size_t rdlen_at = r.at.at + 5 + 8;
	rw_put16(q.b + rdlen_at, rw_get16(q.b + rdlen_at) - 16);
	struct rwd_tsig_rr at;
	assert_int_equal(rwd_tsig_find(q.b, q.len, &at), 0);
	assert_int_equal(rwd_tsig_server_check(&kr, q.b, q.len, &at, 0, &srv), RW_EAUTH);
	assert_int_equal(srv.error, RWD_TSIG_BADSIG);
	assert_null(srv.key);
	rwd_tsig_keyring_free(&kr);
}

/* The key's name compressed to the question's (dnspython compresses it):
 * the MAC covers the name itself, so it still verifies. */
static void test_compressed_owner(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	ring(&kr, "www.example.com.", "hmac-sha256", secret);
	struct msg q;
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr, find(&kr, "www.example.com."), &q, &cli, &srv, 0), 0);
	struct rr r;
	read_rr(&q, &r);
	size_t owner = r.at.at;
	q.b[owner] = 0xc0;
	q.b[owner + 1] = RW_HDR_LEN;
	memmove(q.b + owner + 2, q.b + owner + 17, q.len - owner - 17);
	q.len -= 15;
	struct rwd_tsig_rr at;
	assert_int_equal(rwd_tsig_find(q.b, q.len, &at), 0);
	assert_int_equal(at.len, r.at.len - 15);
	assert_int_equal(rwd_tsig_server_check(&kr, q.b, q.len, &at, 0, &srv), 0);
	rwd_tsig_keyring_free(&kr);
}

/* Malformed TSIG RRs: cut short, not last, rdata cut. */
static void test_malformed(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	ring(&kr, "xfr.", "hmac-sha256", secret);
	struct msg q;
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr, find(&kr, "xfr."), &q, &cli, &srv, 0), 0);
	struct rwd_tsig_rr at;
	assert_int_equal(rwd_tsig_find(q.b, q.len, &at), 0);
	assert_int_equal(rwd_tsig_find(q.b, q.len - 1, &at), RW_EMALFORMED);
	struct rwd_tsig_rr bad = at;
	bad.len--;                          /* does not end the message */
	assert_int_equal(rwd_tsig_server_check(&kr, q.b, q.len, &bad, 0, &srv), RW_EMALFORMED);
	/* other length past the rdata */
	rw_put16(q.b + q.len - 2, 1);
	assert_int_equal(rwd_tsig_server_check(&kr, q.b, q.len, &at, 0, &srv), RW_EMALFORMED);
	/* no TSIG at all */
	mkmsg(&q, "www.example.com.", 1, false);
	assert_int_equal(rwd_tsig_find(q.b, q.len, &at), RW_ENOENT);
	rwd_tsig_keyring_free(&kr);
}

/* A transfer: every answer signed, each chained to the one before
 * (knot_tsig_sign_next); out of order, one fails. */
static void test_chain(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	ring(&kr, "xfr.", "hmac-sha384", secret);
	struct msg q, a[4];
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr, find(&kr, "xfr."), &q, &cli, &srv, 0), 0);
	for (int i = 0; i < 4; i++) {
		mkmsg(&a[i], "www.example.com.", 0x1234, true);
		a[i].b[a[i].len - 1] = (uint8_t)i;
		assert_int_equal(rwd_tsig_sign_answer(&srv, a[i].b, &a[i].len, sizeof(a[i].b), 0), 0);
	}
	assert_int_equal(srv.messages, 4);
	struct rwd_tsig_ctx c2 = cli;
	for (int i = 0; i < 4; i++)
		assert_int_equal(rwd_tsig_client_check(&cli, a[i].b, a[i].len, i == 3), 0);
	assert_int_equal(cli.messages, 4);
	/* the second answer skipped: the third does not chain to the first */
	assert_int_equal(rwd_tsig_client_check(&c2, a[0].b, a[0].len, false), 0);
	assert_int_equal(rwd_tsig_client_check(&c2, a[2].b, a[2].len, false), RW_EAUTH);
	assert_int_equal(c2.error, RWD_TSIG_BADSIG);
	rwd_tsig_keyring_free(&kr);
}

/*
 * Answers left unsigned between signed ones (RFC 8945 5.3.1, as NSD sends
 * transfers): the next signed one covers them all. Signed here with
 * knot_tsig_sign_next over their concatenation, the way the RFC says.
 */
static void sign_gap(const struct rwd_tsig_key *key, uint8_t *prev_mac, size_t *prev_len,
                     struct msg *unsigned_msgs, int n, struct msg *last)
{
	static uint8_t cover[65536];
	size_t c = 0;
	for (int i = 0; i < n; i++) {
		memcpy(cover + c, unsigned_msgs[i].b, unsigned_msgs[i].len);
		c += unsigned_msgs[i].len;
	}
	memcpy(cover + c, last->b, last->len);
	c += last->len;
	size_t dlen = RWD_TSIG_MAX_MAC;
	assert_int_equal(knot_tsig_sign_next(last->b, &last->len, sizeof(last->b), prev_mac, *prev_len,
	                                     prev_mac, &dlen, key->knot, cover, c), 0);
	*prev_len = dlen;
}

static void test_unsigned_between(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	ring(&kr, "xfr.", "hmac-sha256", secret);
	const struct rwd_tsig_key *key = find(&kr, "xfr.");
	struct msg q, first, mid[3], last;
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr, key, &q, &cli, &srv, 0), 0);
	mkmsg(&first, "www.example.com.", 0x1234, true);
	assert_int_equal(rwd_tsig_sign_answer(&srv, first.b, &first.len, sizeof(first.b), 0), 0);
	for (int i = 0; i < 3; i++) {
		mkmsg(&mid[i], "www.example.com.", 0x1234, true);
		mid[i].b[mid[i].len - 1] = (uint8_t)(10 + i);
	}
	mkmsg(&last, "www.example.com.", 0x1234, true);
	sign_gap(key, srv.mac, &srv.mac_len, mid, 3, &last);

	struct rwd_tsig_ctx c2 = cli, c3 = cli;
	assert_int_equal(rwd_tsig_client_check(&cli, first.b, first.len, false), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rwd_tsig_client_check(&cli, mid[i].b, mid[i].len, false), 0);
	assert_int_equal(cli.unsigned_run, 3);
	assert_int_equal(rwd_tsig_client_check(&cli, last.b, last.len, true), 0);
	assert_int_equal(cli.unsigned_run, 0);
	assert_null(cli.hmac);

	/* an unsigned message changed in transit: the signed one says so */
	assert_int_equal(rwd_tsig_client_check(&c2, first.b, first.len, false), 0);
	mid[1].b[mid[1].len - 1] ^= 0xff;
	for (int i = 0; i < 3; i++)
		assert_int_equal(rwd_tsig_client_check(&c2, mid[i].b, mid[i].len, false), 0);
	assert_int_equal(rwd_tsig_client_check(&c2, last.b, last.len, true), RW_EAUTH);
	assert_int_equal(c2.error, RWD_TSIG_BADSIG);

	/* the last message unsigned; the first unsigned */
	assert_int_equal(rwd_tsig_client_check(&c3, mid[0].b, mid[0].len, false), RW_EAUTH);
	assert_int_equal(rwd_tsig_client_check(&c3, first.b, first.len, false), 0);
	assert_int_equal(rwd_tsig_client_check(&c3, mid[0].b, mid[0].len, true), RW_EAUTH);
	rwd_tsig_ctx_clear(&c3);
	rwd_tsig_ctx_clear(&c3);
	rwd_tsig_keyring_free(&kr);
}

/* At most 99 unsigned answers in a row; the 100th is refused. A stream
 * given up with unsigned answers pending is cleared (LeakSanitizer). */
static void test_unsigned_limit(void **state)
{
	struct rwd_tsig_keyring kr = { 0 };
	ring(&kr, "xfr.", "hmac-sha256", secret);
	struct msg q, a;
	struct rwd_tsig_ctx cli, srv;
	assert_int_equal(exchange(&kr, find(&kr, "xfr."), &q, &cli, &srv, 0), 0);
	mkmsg(&a, "www.example.com.", 0x1234, true);
	assert_int_equal(rwd_tsig_sign_answer(&srv, a.b, &a.len, sizeof(a.b), 0), 0);
	assert_int_equal(rwd_tsig_client_check(&cli, a.b, a.len, false), 0);
	mkmsg(&a, "www.example.com.", 0x1234, true);
	for (int i = 0; i < 99; i++)
		assert_int_equal(rwd_tsig_client_check(&cli, a.b, a.len, false), 0);
	assert_int_equal(rwd_tsig_client_check(&cli, a.b, a.len, false), RW_EAUTH);
	rwd_tsig_ctx_clear(&cli);
	assert_null(cli.hmac);
	rwd_tsig_keyring_free(&kr);
}

/* ---- the pipeline ---- */

static struct rwd_snapshot snap;

static int setup(void **state)
{
	if (tz_mkdir("test_tsig") < 0)
		return -1;
	FILE *f = fopen(tz_path("example.com.zone"), "w");
	struct rwd_zone **zones = calloc(1, sizeof(*zones));
	if (f == NULL || zones == NULL)
		return -1;
	fputs("$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
	      "www A 192.0.2.80\n", f);
	for (int i = 0; i < 40; i++)        /* ~1.6 KB: more than 512 bytes over UDP */
		fprintf(f, "big TXT \"%02d-0123456789012345678901234567890\"\n", i);
	fclose(f);
	uint8_t apex[RW_DNAME_MAXLEN];
	rw_dname_from_str("example.com.", NULL, apex);
	zones[0] = rwd_zone_load(apex, tz_path("example.com.zone"), NULL, NULL);
	if (zones[0] == NULL || (snap.zones = rwd_zonedb_new(zones, 1)) == NULL)
		return -1;
	snap.edns_udp_size = 1232;
	uint8_t dn[RW_DNAME_MAXLEN];
	rw_dname_from_str("xfr.", NULL, dn);
	if (rwd_tsig_keyring_add(&snap.tsig, dn, "hmac-sha256", secret, 32) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	rwd_zonedb_free(snap.zones);
	rwd_tsig_keyring_free(&snap.tsig);
	return tz_rmdir();
}

struct answer {
	struct msg m;
	unsigned rcode;
	uint16_t an, ar;
	bool tc, aa;
	uint16_t last_type;                /* of the last record */
};

static void read_answer(struct answer *a)
{
	struct msg *m = &a->m;
	assert_true(m->len >= RW_HDR_LEN);
	a->rcode = m->b[3] & 0x0f;
	a->tc = m->b[2] & RW_FLAG_TC;
	a->aa = m->b[2] & RW_FLAG_AA;
	a->an = rw_get16(m->b + RW_HDR_ANCOUNT);
	a->ar = rw_get16(m->b + RW_HDR_ARCOUNT);
	size_t p = RW_HDR_LEN;
	uint8_t name[RW_DNAME_MAXLEN];
	if (rw_get16(m->b + 4)) {
		assert_true(rw_dname_unpack(m->b, m->len, &p, name) > 0);
		p += 4;
	}
	unsigned total = a->an + rw_get16(m->b + RW_HDR_NSCOUNT) + a->ar;
	a->last_type = 0;
	for (unsigned i = 0; i < total; i++)
		assert_int_equal(rw_rr_skip(m->b, m->len, &p, &a->last_type, NULL), 0);
	assert_int_equal(p, m->len);
}

/* A query for qname/qtype (EDNS with payload udp when udp is not 0), signed
 * with key (NULL: unsigned; cli starts the exchange). */
static void mkquery(struct msg *q, const char *qname, uint16_t qtype, uint16_t udp,
                    const struct rwd_tsig_key *key, struct rwd_tsig_ctx *cli)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	assert_true(rw_dname_from_str(qname, NULL, dn) > 0);
	struct rw_msgbuilder b;
	assert_int_equal(rw_msgb_init(&b, q->b, sizeof(q->b), 0x5151, dn, qtype, RW_CLASS_IN, true), 0);
	if (udp) {
		rw_msgb_put_opt(&b, udp, 0, false);
		rw_put16(q->b + RW_HDR_ARCOUNT, 1);
	}
	q->len = b.len;
	memset(cli, 0, sizeof(*cli));
	if (key)
		assert_int_equal(rwd_tsig_sign_request(cli, key, q->b, &q->len, sizeof(q->b), 0), 0);
}

/* Ask q over t at now (0: the clock); the first message of the answer. */
static void ask(const struct msg *q, const struct rwd_transport *t, uint32_t now,
                struct answer *a)
{
	struct sockaddr_storage c = test_sockaddr("192.0.2.99");
	struct rwd_query_thread th = { .now = now };
	struct rwd_query qr = { .wire = q->b, .wire_len = q->len, .transport = t,
	                        .client = (struct sockaddr *)&c, .thread = &th,
	                        .out = a->m.b, .out_cap = sizeof(a->m.b) };
	a->m.len = rwd_query_process(&snap, &qr);
	read_answer(a);
}

static void test_pipeline_signed(void **state)
{
	const struct rwd_tsig_key *key = find(&snap.tsig, "xfr.");
	struct msg q;
	struct answer a;
	struct rwd_tsig_ctx cli;
	/* unsigned: no TSIG RR */
	mkquery(&q, "example.com.", RW_TYPE_SOA, 0, NULL, &cli);
	ask(&q, &rwd_transport_udp, 0, &a);
	assert_int_equal(a.rcode, RW_RCODE_NOERROR);
	assert_int_equal(a.ar, 0);
	/* signed, without and with EDNS (TSIG after the OPT), UDP and TCP */
	for (int i = 0; i < 4; i++) {
		mkquery(&q, "example.com.", RW_TYPE_SOA, i % 2 ? 1232 : 0, key, &cli);
		ask(&q, i < 2 ? &rwd_transport_udp : &rwd_transport_tcp, 0, &a);
		assert_int_equal(a.rcode, RW_RCODE_NOERROR);
		assert_true(a.aa);
		assert_int_equal(a.an, 1);
		assert_int_equal(a.last_type, TYPE_TSIG);
		assert_int_equal(a.ar, i % 2 ? 2 : 1);
		assert_int_equal(rwd_tsig_client_check(&cli, a.m.b, a.m.len, true), 0);
	}
	/* a query for a zone we do not serve: REFUSED, signed all the same */
	mkquery(&q, "example.org.", RW_TYPE_SOA, 0, key, &cli);
	ask(&q, &rwd_transport_udp, 0, &a);
	assert_int_equal(a.rcode, RW_RCODE_REFUSED);
	assert_int_equal(rwd_tsig_client_check(&cli, a.m.b, a.m.len, true), 0);
}

/* Over UDP the answer is truncated to leave room for its TSIG RR: TC, at
 * most 512 bytes (no EDNS) or the payload size, and it verifies. */
static void test_pipeline_truncated(void **state)
{
	const struct rwd_tsig_key *key = find(&snap.tsig, "xfr.");
	struct msg q;
	struct answer a;
	struct rwd_tsig_ctx cli;
	static const uint16_t sizes[] = { 0, 1232 };
	for (size_t i = 0; i < 2; i++) {
		mkquery(&q, "big.example.com.", RW_TYPE_TXT, sizes[i], key, &cli);
		ask(&q, &rwd_transport_udp, 0, &a);
		assert_true(a.tc);
		assert_true(a.m.len <= (sizes[i] ? sizes[i] : 512));
		assert_int_equal(a.last_type, TYPE_TSIG);
		assert_int_equal(rwd_tsig_client_check(&cli, a.m.b, a.m.len, true), 0);
	}
	/* over TCP it all fits */
	mkquery(&q, "big.example.com.", RW_TYPE_TXT, 0, key, &cli);
	ask(&q, &rwd_transport_tcp, 0, &a);
	assert_false(a.tc);
	assert_int_equal(a.an, 40);
	assert_int_equal(rwd_tsig_client_check(&cli, a.m.b, a.m.len, true), 0);
}

/* The TSIG RR of an answer: its error and MAC size. */
static void answer_tsig(const struct answer *a, uint16_t *error, uint16_t *mac_len)
{
	struct rr r;
	read_rr(&a->m, &r);
	*error = r.error;
	*mac_len = r.mac_len;
}

static void test_pipeline_errors(void **state)
{
	struct rwd_tsig_keyring cl = { 0 };
	ring(&cl, "xfr.", "hmac-sha256", other_secret);
	ring(&cl, "nokey.", "hmac-sha256", secret);
	struct msg q;
	struct answer a;
	struct rwd_tsig_ctx cli;
	uint16_t error, mac_len;

	mkquery(&q, "example.com.", RW_TYPE_SOA, 1232, find(&cl, "xfr."), &cli);
	ask(&q, &rwd_transport_udp, 0, &a);
	assert_int_equal(a.rcode, RW_RCODE_NOTAUTH);
	assert_int_equal(a.an, 0);
	assert_false(a.aa);
	assert_int_equal(a.last_type, TYPE_TSIG);
	answer_tsig(&a, &error, &mac_len);
	assert_int_equal(error, RWD_TSIG_BADSIG);
	assert_int_equal(mac_len, 0);
	assert_true(a.m.len <= q.len);      /* no amplification from a bad signature */

	mkquery(&q, "example.com.", RW_TYPE_SOA, 0, find(&cl, "nokey."), &cli);
	ask(&q, &rwd_transport_tcp, 0, &a);
	assert_int_equal(a.rcode, RW_RCODE_NOTAUTH);
	answer_tsig(&a, &error, &mac_len);
	assert_int_equal(error, RWD_TSIG_BADKEY);
	assert_int_equal(mac_len, 0);
	assert_int_equal(rwd_tsig_client_check(&cli, a.m.b, a.m.len, true), RW_EAUTH);
	assert_int_equal(cli.error, RWD_TSIG_BADKEY);

	/* the worker's clock far from the request's time: BADTIME, signed */
	mkquery(&q, "example.com.", RW_TYPE_SOA, 0, find(&snap.tsig, "xfr."), &cli);
	ask(&q, &rwd_transport_udp, (uint32_t)time(NULL) + 3600, &a);
	assert_int_equal(a.rcode, RW_RCODE_NOTAUTH);
	answer_tsig(&a, &error, &mac_len);
	assert_int_equal(error, RWD_TSIG_BADTIME);
	assert_int_equal(mac_len, 32);
	assert_int_equal(rwd_tsig_client_check(&cli, a.m.b, a.m.len, true), RW_EAUTH);
	assert_int_equal(cli.error, RWD_TSIG_BADTIME);

	/* a TSIG RR whose rdata does not parse: FORMERR, no TSIG RR, no OPT */
	for (int edns = 0; edns < 2; edns++) {
		mkquery(&q, "example.com.", RW_TYPE_SOA, edns ? 1232 : 0, find(&snap.tsig, "xfr."), &cli);
		rw_put16(q.b + q.len - 2, 7);      /* other length past the end */
		ask(&q, &rwd_transport_udp, 0, &a);
		assert_int_equal(a.rcode, RW_RCODE_FORMERR);
		assert_int_equal(a.ar, 0);
	}
	rwd_tsig_keyring_free(&cl);
}

/* A stream (a transfer): each message's body from the producer, every
 * message signed, the next chained to the one before. */
static enum rwd_stage_result fake_producer(const struct rwd_snapshot *s, struct rwd_query *qr,
                                           uint8_t *p, size_t room)
{
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	size_t n = 0;
	while (n + sizeof(rr) <= room && n < 40 * sizeof(rr)) {
		memcpy(p + n, rr, sizeof(rr));
		p[n + sizeof(rr) - 1] = (uint8_t)qr->cursor;
		n += sizeof(rr);
	}
	qr->body_len = (uint16_t)n;
	qr->body_an = (uint16_t)(n / sizeof(rr));
	qr->body_ar = 0;
	qr->aa = true;
	return ++qr->cursor < 3 ? RWD_MORE : RWD_DONE;
}

static void test_pipeline_stream(void **state)
{
	struct msg q;
	struct rwd_tsig_ctx cli;
	mkquery(&q, "example.com.", RW_TYPE_SOA, 0, find(&snap.tsig, "xfr."), &cli);
	struct answer a[3];
	struct rwd_query_thread th = { 0 };
	struct rwd_query qr = { .wire = q.b, .wire_len = q.len, .transport = &rwd_transport_tcp,
	                        .thread = &th };
	rwd_query_begin(&snap, &qr);
	assert_ptr_equal(qr.tsig.key, find(&snap.tsig, "xfr."));
	qr.producer = fake_producer;      /* as the transfer stage would: no answer of lookup */
	qr.answer = NULL;
	for (int i = 0; i < 3; i++) {
		qr.out = a[i].m.b;
		qr.out_cap = sizeof(a[i].m.b);
		a[i].m.len = rwd_query_produce(&snap, &qr);
		assert_int_equal(qr.more, i < 2);
		read_answer(&a[i]);
		assert_int_equal(a[i].an, 40);
		assert_int_equal(a[i].last_type, TYPE_TSIG);
		assert_int_equal(rwd_tsig_client_check(&cli, a[i].m.b, a[i].m.len, i == 2), 0);
	}
	assert_int_equal(qr.tsig.messages, 3);
	assert_int_equal(rwd_query_produce(&snap, &qr), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyring),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_badsig),
		cmocka_unit_test(test_badkey),
		cmocka_unit_test(test_badtime),
		cmocka_unit_test(test_truncated_mac),
		cmocka_unit_test(test_compressed_owner),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_unsigned_between),
		cmocka_unit_test(test_unsigned_limit),
		cmocka_unit_test(test_pipeline_signed),
		cmocka_unit_test(test_pipeline_truncated),
		cmocka_unit_test(test_pipeline_errors),
		cmocka_unit_test(test_pipeline_stream),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
