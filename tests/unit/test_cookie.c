/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS Cookies: the COOKIE option in rw_query_parse (lengths, RFC 7873
 * 5.2.2), server cookies against the RFC 9018 test vectors (so servers of
 * other makes sharing the secret agree), their time window, and the
 * pipeline (query/cookie.c): the option in answers, BADCOOKIE over UDP for
 * an invalid cookie but not over TCP, cookies off.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testaddr.h"
#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/snapshot/snapshot.h"
#include "server/query/cookie.h"
#include "server/query/query.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

struct msg {
	uint8_t b[4608];
	size_t len;
};

/* A query for www.example.com/A with EDNS and the given options (raw). */
static void mkquery(struct msg *q, const uint8_t *opts, size_t opts_len)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	tz_name("www.example.com.", dn);
	struct rw_msgbuilder b;
	assert_int_equal(rw_msgb_init(&b, q->b, sizeof(q->b), 0x77, dn, RW_TYPE_A, RW_CLASS_IN,
	                              true), 0);
	size_t rdlen_at = rw_msgb_put_opt(&b, 1232, 0, false);
	if (opts_len)
		rw_msgb_put(&b, opts, opts_len);
	rw_put16(b.buf + rdlen_at, (uint16_t)opts_len);
	rw_put16(q->b + RW_HDR_ARCOUNT, 1);
	assert_false(b.overflow);
	q->len = b.len;
}

/* A COOKIE option of len bytes (0x11, 0x12, ...) at o; returns its size. */
static size_t cookie_opt(uint8_t *o, size_t len)
{
	rw_put16(o, RW_EDNS_COOKIE);
	rw_put16(o + 2, (uint16_t)len);
	for (size_t i = 0; i < len; i++)
		o[4 + i] = (uint8_t)(0x11 + i);
	return 4 + len;
}

static enum rw_parse parse_with_cookie(size_t len, struct rw_query *out)
{
	uint8_t opt[64];
	struct msg q;
	mkquery(&q, opt, cookie_opt(opt, len));
	return rw_query_parse(q.b, q.len, out);
}

static void test_parse(void **state)
{
	struct rw_query q;
	/* No option. */
	struct msg m;
	mkquery(&m, NULL, 0);
	assert_int_equal(rw_query_parse(m.b, m.len, &q), RW_PARSE_OK);
	assert_false(q.edns.cookie);
	/* A client cookie alone. */
	assert_int_equal(parse_with_cookie(8, &q), RW_PARSE_OK);
	assert_true(q.edns.cookie);
	assert_int_equal(q.edns.cookie_server_len, 0);
	assert_int_equal(q.edns.cookie_client[0], 0x11);
	assert_int_equal(q.edns.cookie_client[7], 0x18);
	/* With a server cookie of 8, 16 and 32 bytes. */
	static const size_t good[] = { 16, 24, 40 };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(parse_with_cookie(good[i], &q), RW_PARSE_OK);
		assert_int_equal(q.edns.cookie_server_len, good[i] - 8);
		assert_int_equal(q.edns.cookie_server[0], 0x19);
	}
	/* Every other length is FORMERR (RFC 7873 5.2.2). */
	static const size_t bad[] = { 0, 1, 5, 7, 9, 15, 41, 60 };
	for (size_t i = 0; i < 8; i++)
		if (parse_with_cookie(bad[i], &q) != RW_PARSE_FORMERR)
			fail_msg("a COOKIE option of %zu bytes is not FORMERR", bad[i]);
	/* Two options: the first counts, the second must still be well formed. */
	uint8_t opts[128];
	size_t n = cookie_opt(opts, 8);
	n += cookie_opt(opts + n, 24);
	mkquery(&m, opts, n);
	assert_int_equal(rw_query_parse(m.b, m.len, &q), RW_PARSE_OK);
	assert_int_equal(q.edns.cookie_server_len, 0);
	n = cookie_opt(opts, 8);
	n += cookie_opt(opts + n, 12);
	mkquery(&m, opts, n);
	assert_int_equal(rw_query_parse(m.b, m.len, &q), RW_PARSE_FORMERR);
	/* Cut short: the option claims more than the OPT holds. */
	n = cookie_opt(opts, 24);
	rw_put16(opts + 2, 30);
	mkquery(&m, opts, n);
	assert_int_equal(rw_query_parse(m.b, m.len, &q), RW_PARSE_FORMERR);
}

static void hex(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[2 * i]; i++)
		assert_int_equal(sscanf(h + 2 * i, "%2hhx", &out[i]), 1);
}

/* RFC 9018 appendix A: the server cookies every implementation makes. */
static void test_rfc9018_vectors(void **state)
{
	static const struct {
		const char *client, *secret, *cc, *sc;
		uint32_t now;
	} v[] = {
		/* A.1, learning a new server cookie */
		{ "198.51.100.100", "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
		  "010000005cf79f111f8130c3eee29480", 1559731985 },
		/* A.2, the same client renewing it */
		{ "198.51.100.100", "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
		  "010000005cf7a871d4a564a1442aca77", 1559734385 },
		/* A.3, another client */
		{ "203.0.113.203", "e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86",
		  "010000005cf7a9acf73a7810aca2381e", 1559734700 },
		/* A.4, an IPv6 client, after the secret changed */
		{ "2001:db8:220:1:59de:d0f4:8769:82b8", "445536bcd2513298075a5d379663c962",
		  "22681ab97d52c298", "010000005cf7c609a6bb79d16625507a", 1559741961 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t secret[16], cc[8], want[16], got[16];
		hex(v[i].secret, secret);
		hex(v[i].cc, cc);
		hex(v[i].sc, want);
		struct sockaddr_storage c = test_sockaddr(v[i].client);
		rwd_cookie_make(secret, cc, (struct sockaddr *)&c, v[i].now, got);
		assert_memory_equal(got, want, 16);
		assert_true(rwd_cookie_valid(secret, cc, (struct sockaddr *)&c, v[i].now, want, 16));
	}
	/* Cookies the vectors' clients send back: A.3's, made by another
	 * implementation with reserved bytes set (they are hashed as received),
	 * and A.4's, made with the old secret. */
	uint8_t secret[16], cc[8], sc[16];
	struct sockaddr_storage c = test_sockaddr("203.0.113.203");
	hex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret);
	hex("fc93fc62807ddb86", cc);
	hex("01abcdef5cf78f71a314227b6679ebf5", sc);
	assert_true(rwd_cookie_valid(secret, cc, (struct sockaddr *)&c, 1559727985 + 60, sc, 16));
	sc[2] ^= 1;
	assert_false(rwd_cookie_valid(secret, cc, (struct sockaddr *)&c, 1559727985 + 60, sc, 16));
	c = test_sockaddr("2001:db8:220:1:59de:d0f4:8769:82b8");
	hex("dd3bdf9344b678b185a6f5cb60fca715", secret);
	hex("22681ab97d52c298", cc);
	hex("010000005cf7c57926556bd0934c72f8", sc);
	assert_true(rwd_cookie_valid(secret, cc, (struct sockaddr *)&c, 1559741961, sc, 16));
	hex("445536bcd2513298075a5d379663c962", secret);
	assert_false(rwd_cookie_valid(secret, cc, (struct sockaddr *)&c, 1559741961, sc, 16));
}

static void test_window(void **state)
{
	uint8_t secret[16] = { 9 }, cc[8] = { 1, 2, 3 }, sc[16];
	struct sockaddr_storage c = test_sockaddr("192.0.2.7");
	struct sockaddr_storage other = test_sockaddr("192.0.2.8");
	const struct sockaddr *a = (struct sockaddr *)&c;
	rwd_cookie_make(secret, cc, a, 100000, sc);
	assert_true(rwd_cookie_valid(secret, cc, a, 100000, sc, 16));
	assert_true(rwd_cookie_valid(secret, cc, a, 100000 + RWD_COOKIE_PAST, sc, 16));
	assert_false(rwd_cookie_valid(secret, cc, a, 100000 + RWD_COOKIE_PAST + 1, sc, 16));
	assert_true(rwd_cookie_valid(secret, cc, a, 100000 - RWD_COOKIE_FUTURE, sc, 16));
	assert_false(rwd_cookie_valid(secret, cc, a, 100000 - RWD_COOKIE_FUTURE - 1, sc, 16));
	/* Bound to the client's address, its cookie and the secret. */
	assert_false(rwd_cookie_valid(secret, cc, (struct sockaddr *)&other, 100000, sc, 16));
	cc[0] ^= 1;
	assert_false(rwd_cookie_valid(secret, cc, a, 100000, sc, 16));
	cc[0] ^= 1;
	secret[15] = 1;
	assert_false(rwd_cookie_valid(secret, cc, a, 100000, sc, 16));
	secret[15] = 0;
	/* Not ours: other sizes, other versions. */
	assert_false(rwd_cookie_valid(secret, cc, a, 100000, sc, 8));
	sc[0] = 2;
	assert_false(rwd_cookie_valid(secret, cc, a, 100000, sc, 16));
	/* The random secret is made once. */
	const uint8_t *r = rwd_cookie_random_secret();
	assert_ptr_equal(r, rwd_cookie_random_secret());
	static const uint8_t zero[16];
	assert_memory_not_equal(r, zero, 16);
}

/* ---- the pipeline ---- */

static struct rwd_snapshot snap;

static int setup(void **state)
{
	if (tz_mkdir("test_cookie") < 0)
		return -1;
	FILE *f = fopen(tz_path("example.com.zone"), "w");
	struct rwd_zone **zones = calloc(1, sizeof(*zones));
	if (f == NULL || zones == NULL)
		return -1;
	fputs("$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
	      "www A 192.0.2.80\n", f);
	fclose(f);
	uint8_t apex[RW_DNAME_MAXLEN];
	rw_dname_from_str("example.com.", NULL, apex);
	zones[0] = rwd_zone_load(apex, tz_path("example.com.zone"), NULL, NULL);
	if (zones[0] == NULL || (snap.zones = rwd_zonedb_new(zones, 1)) == NULL)
		return -1;
	snap.edns_udp_size = 1232;
	snap.cookies = true;
	hex("0123456789abcdef0123456789abcdef", snap.cookie_secret);
	return 0;
}

static int teardown(void **state)
{
	rwd_zonedb_free(snap.zones);
	return tz_rmdir();
}

struct reply {
	unsigned rcode;                /* with the OPT's extended bits */
	uint16_t an;
	bool tc;
	bool cookie;
	uint8_t cc[8], sc[16];
	size_t cookie_len;
};

/* Ask with the options over t from 192.0.2.99 at now; parse what matters. */
static void ask(const uint8_t *opts, size_t n, const struct rwd_transport *t, uint32_t now,
                struct reply *out)
{
	struct msg q, r;
	mkquery(&q, opts, n);
	struct sockaddr_storage c = test_sockaddr("192.0.2.99");
	struct rwd_query_thread th = { .now = now };
	struct rwd_query qr = { .wire = q.b, .wire_len = q.len, .transport = t,
	                        .client = (struct sockaddr *)&c, .thread = &th,
	                        .out = r.b, .out_cap = sizeof(r.b) };
	r.len = rwd_query_process(&snap, &qr);
	assert_true(r.len > RW_HDR_LEN);
	memset(out, 0, sizeof(*out));
	out->rcode = r.b[3] & 0x0f;
	out->an = rw_get16(r.b + RW_HDR_ANCOUNT);
	out->tc = r.b[2] & RW_FLAG_TC;
	/* Walk to the OPT: the last record. */
	size_t p = RW_HDR_LEN;
	uint16_t type = 0, rdlen = 0;
	uint8_t name[RW_DNAME_MAXLEN];
	assert_true(rw_dname_unpack(r.b, r.len, &p, name) > 0);
	p += 4;
	unsigned total = out->an + rw_get16(r.b + RW_HDR_NSCOUNT) + rw_get16(r.b + RW_HDR_ARCOUNT);
	size_t start = p;
	for (unsigned i = 0; i < total; i++) {
		start = p;
		assert_int_equal(rw_rr_skip(r.b, r.len, &p, &type, &rdlen), 0);
	}
	assert_int_equal(p, r.len);
	assert_int_equal(type, RW_TYPE_OPT);
	out->rcode |= (unsigned)r.b[start + 5] << 4;
	for (size_t o = start + 11; o < r.len;) {
		uint16_t code = rw_get16(r.b + o), len = rw_get16(r.b + o + 2);
		if (code == RW_EDNS_COOKIE) {
			out->cookie = true;
			out->cookie_len = len;
			assert_int_equal(len, 24);
			memcpy(out->cc, r.b + o + 4, 8);
			memcpy(out->sc, r.b + o + 12, 16);
		}
		o += 4u + len;
	}
}

/* A malformed option: FORMERR with an OPT but no options (as Knot DNS),
 * never larger than the query. */
static void test_formerr(void **state)
{
	uint8_t opts[64];
	memcpy(opts, "\x00\x03\x00\x00", 4);           /* NSID asked first */
	size_t n = 4 + cookie_opt(opts + 4, 5);
	struct msg q, r;
	mkquery(&q, opts, n);
	struct rwd_query qr = { .wire = q.b, .wire_len = q.len, .transport = &rwd_transport_udp,
	                        .out = r.b, .out_cap = sizeof(r.b) };
	snap.nsid_len = 4;
	memcpy(snap.nsid, "nsid", 4);
	r.len = rwd_query_process(&snap, &qr);
	snap.nsid_len = 0;
	assert_int_equal(r.b[3] & 0x0f, RW_RCODE_FORMERR);
	assert_int_equal(rw_get16(r.b + RW_HDR_ARCOUNT), 1);
	assert_int_equal(rw_get16(r.b + r.len - 2), 0);   /* OPT RDLENGTH: no options */
	assert_true(r.len <= q.len);
}

static void test_pipeline(void **state)
{
	uint8_t opt[64];
	struct reply r, r2;
	/* No cookie: none back. */
	ask(NULL, 0, &rwd_transport_udp, 1000000, &r);
	assert_false(r.cookie);
	/* A client cookie: a normal answer with ours (RFC 9018: 8 + 16 bytes). */
	size_t n = cookie_opt(opt, 8);
	ask(opt, n, &rwd_transport_udp, 1000000, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 1);
	assert_true(r.cookie);
	assert_int_equal(r.cc[0], 0x11);
	assert_int_equal(r.sc[0], 1);                 /* version 1 */
	assert_int_equal(rw_get32(r.sc + 4), 1000000);  /* timestamp */
	struct sockaddr_storage c = test_sockaddr("192.0.2.99");
	assert_true(rwd_cookie_valid(snap.cookie_secret, r.cc, (struct sockaddr *)&c, 1000000,
	                             r.sc, 16));
	/* Sent back: valid, answered, with a fresh cookie of now. */
	memcpy(opt + 12, r.sc, 16);
	rw_put16(opt + 2, 24);
	ask(opt, 28, &rwd_transport_udp, 1000100, &r2);
	assert_int_equal(r2.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r2.an, 1);
	assert_int_equal(rw_get32(r2.sc + 4), 1000100);
	/* Stale (over an hour): BADCOOKIE over UDP, with a fresh cookie, no records. */
	ask(opt, 28, &rwd_transport_udp, 1000000 + 3601, &r2);
	assert_int_equal(r2.rcode, RW_RCODE_BADCOOKIE);
	assert_int_equal(r2.an, 0);
	assert_false(r2.tc);
	assert_true(r2.cookie);
	assert_int_equal(rw_get32(r2.sc + 4), 1000000 + 3601);
	/* ... and answered over TCP, which proves the address. */
	ask(opt, 28, &rwd_transport_tcp, 1000000 + 3601, &r2);
	assert_int_equal(r2.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r2.an, 1);
	assert_true(r2.cookie);
	/* Forged: BADCOOKIE. */
	opt[27] ^= 0xff;
	ask(opt, 28, &rwd_transport_udp, 1000000, &r2);
	assert_int_equal(r2.rcode, RW_RCODE_BADCOOKIE);
	/* Cookies off: the option is ignored, even a bad server cookie. */
	snap.cookies = false;
	ask(opt, 28, &rwd_transport_udp, 1000000, &r2);
	snap.cookies = true;
	assert_int_equal(r2.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r2.an, 1);
	assert_false(r2.cookie);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_rfc9018_vectors),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_formerr),
		cmocka_unit_test(test_pipeline),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
