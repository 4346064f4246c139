/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Response rate limiting: the bucket table (limit/rrl.c) with a fake clock
 * (rate, refill, slip sequences, independent buckets, a tiny table under
 * many keys), the bucket keys (prefix grouping for IPv4, IPv6 and mapped
 * addresses, classes), the settings built from a configuration (tables
 * kept across reloads), and the stage in the pipeline (query/limit.c):
 * which answers share a bucket, exempt clients, valid cookies, TCP, the
 * truncated slip reply and the counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testaddr.h"
#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/conf/conf.h"
#include "server/snapshot/snapshot.h"
#include "server/limit/rrl.h"
#include "server/query/cookie.h"
#include "server/query/query.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

/* ---- the bucket table, fake clock ---- */

static void test_rate_and_refill(void **state)
{
	struct rwd_rrl_table *t = rwd_rrl_table_new(1024);
	assert_non_null(t);
	uint64_t k = 0x1234567890abcdefull;
	for (int i = 0; i < 5; i++)
		assert_int_equal(rwd_rrl_account(t, k, 5, 0, 100), RWD_RRL_PASS);
	for (int i = 0; i < 20; i++)
		assert_int_equal(rwd_rrl_account(t, k, 5, 0, 100), RWD_RRL_DROP);
	/* The next second: full again, and no more than full. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(rwd_rrl_account(t, k, 5, 0, 101), RWD_RRL_PASS);
	assert_int_equal(rwd_rrl_account(t, k, 5, 0, 101), RWD_RRL_DROP);
	/* Two answers in second 102, then three seconds idle: 5, not 5 + 3 + 15. */
	assert_int_equal(rwd_rrl_account(t, k, 5, 0, 102), RWD_RRL_PASS);
	assert_int_equal(rwd_rrl_account(t, k, 5, 0, 102), RWD_RRL_PASS);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rwd_rrl_account(t, k, 5, 0, 105), RWD_RRL_PASS);
	assert_int_equal(rwd_rrl_account(t, k, 5, 0, 105), RWD_RRL_DROP);
	/* The 16-bit second wraps: still one second later. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(rwd_rrl_account(t, k, 5, 0, 65535), RWD_RRL_PASS);
	assert_int_equal(rwd_rrl_account(t, k, 5, 0, 65535), RWD_RRL_DROP);
	assert_int_equal(rwd_rrl_account(t, k, 5, 0, 65536), RWD_RRL_PASS);
	rwd_rrl_table_unref(t);
}

/* The verdicts for n answers over the limit, as a string of P, D, S. */
static void over_limit(struct rwd_rrl_table *t, uint64_t k, uint32_t slip, int n, char *out)
{
	assert_int_equal(rwd_rrl_account(t, k, 1, slip, 7), RWD_RRL_PASS);
	for (int i = 0; i < n; i++) {
		enum rwd_rrl_verdict v = rwd_rrl_account(t, k, 1, slip, 7);
		out[i] = v == RWD_RRL_PASS ? 'P' : v == RWD_RRL_DROP ? 'D' : 'S';
	}
	out[n] = '\0';
}

static void test_slip_sequence(void **state)
{
	struct rwd_rrl_table *t = rwd_rrl_table_new(1024);
	char got[16];
	over_limit(t, 1001, 0, 8, got);
	assert_string_equal(got, "DDDDDDDD");
	over_limit(t, 1002, 1, 8, got);
	assert_string_equal(got, "SSSSSSSS");
	over_limit(t, 1003, 2, 8, got);
	assert_string_equal(got, "DSDSDSDS");
	over_limit(t, 1004, 3, 8, got);
	assert_string_equal(got, "DDSDDSDD");
	/* The count goes on across seconds: the 9th limited answer slips. */
	assert_int_equal(rwd_rrl_account(t, 1004, 1, 3, 8), RWD_RRL_PASS);
	assert_int_equal(rwd_rrl_account(t, 1004, 1, 3, 8), RWD_RRL_SLIP);
	rwd_rrl_table_unref(t);
}

static void test_buckets_independent(void **state)
{
	struct rwd_rrl_table *t = rwd_rrl_table_new(1024);
	for (uint64_t k = 1; k <= 100; k++) {
		uint64_t key = k * 0x9e3779b97f4a7c15ull;
		assert_int_equal(rwd_rrl_account(t, key, 2, 0, 50), RWD_RRL_PASS);
		assert_int_equal(rwd_rrl_account(t, key, 2, 0, 50), RWD_RRL_PASS);
		assert_int_equal(rwd_rrl_account(t, key, 2, 0, 50), RWD_RRL_DROP);
	}
	/* Every bucket kept its count. */
	for (uint64_t k = 1; k <= 100; k++)
		assert_int_equal(rwd_rrl_account(t, k * 0x9e3779b97f4a7c15ull, 2, 0, 50), RWD_RRL_DROP);
	rwd_rrl_table_unref(t);
}

/* Far more keys than slots: buckets are reused, the table stays sound, and
 * a bucket in use this second survives a flood of keys from long ago. */
static void test_small_table(void **state)
{
	struct rwd_rrl_table *t = rwd_rrl_table_new(64);
	uint64_t hot = 0xfeedfacecafebeefull;
	for (uint64_t k = 1; k <= 10000; k++)
		rwd_rrl_account(t, k * 0x9e3779b97f4a7c15ull, 3, 2, 10);
	assert_int_equal(rwd_rrl_account(t, hot, 1, 0, 20), RWD_RRL_PASS);
	assert_int_equal(rwd_rrl_account(t, hot, 1, 0, 20), RWD_RRL_DROP);
	for (uint64_t k = 1; k <= 3; k++)   /* its neighbours are idle longer */
		rwd_rrl_account(t, hot + k, 1, 0, 20);
	assert_int_equal(rwd_rrl_account(t, hot, 1, 0, 20), RWD_RRL_DROP);
	rwd_rrl_table_unref(t);
}

/* Four threads on one bucket in one second: the compare-and-swap keeps
 * the count, so about `rate` answers pass in all; an update lost after
 * repeated failures lets one more through while the bucket has tokens,
 * never fewer, and none once it is empty. */
struct hammer {
	struct rwd_rrl_table *t;
	unsigned passed;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 100000; i++)
		if (rwd_rrl_account(h->t, 0xabcdef0123456789ull, 1000, 2, 77) == RWD_RRL_PASS)
			h->passed++;
	return NULL;
}

static void test_threads(void **state)
{
	struct rwd_rrl_table *t = rwd_rrl_table_new(1024);
	struct hammer h[4] = { { t, 0 }, { t, 0 }, { t, 0 }, { t, 0 } };
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &h[i]), 0);
	unsigned passed = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		passed += h[i].passed;
	}
	print_message("4 threads x 100000 answers, rate 1000: %u passed\n", passed);
	assert_true(passed >= 1000);
	assert_true(passed <= 1100);
	rwd_rrl_table_unref(t);
}

/* ---- keys ---- */

static uint64_t key_of(const struct rwd_rrl *r, const char *client, uint8_t cls, const char *k)
{
	struct sockaddr_storage ss = test_sockaddr(client);
	return rwd_rrl_key(r, (struct sockaddr *)&ss, cls, k, k ? strlen(k) : 0);
}

static void test_prefix_grouping(void **state)
{
	struct rwd_rrl r = { .ipv4_prefix = 24, .ipv6_prefix = 56, .seed = 42 };
	uint64_t a = key_of(&r, "192.0.2.1", 1, "www");
	assert_true(a == key_of(&r, "192.0.2.254", 1, "www"));
	assert_true(a == key_of(&r, "::ffff:192.0.2.9", 1, "www"));   /* mapped: IPv4 */
	assert_true(a != key_of(&r, "192.0.3.1", 1, "www"));
	assert_true(a != key_of(&r, "192.0.2.1", 2, "www"));          /* another class */
	assert_true(a != key_of(&r, "192.0.2.1", 1, "mail"));         /* another answer */
	uint64_t b = key_of(&r, "2001:db8:0:ff::1", 1, NULL);
	assert_true(b == key_of(&r, "2001:db8:0:1::53", 1, NULL));   /* same /56 */
	assert_true(b != key_of(&r, "2001:db8:0:100::1", 1, NULL));  /* next /56 */
	/* The IPv4 /24 holding 0.0.0.x is not the IPv6 ::/56. */
	assert_true(key_of(&r, "0.0.0.1", 1, NULL) != key_of(&r, "::1", 1, NULL));
	r.ipv4_prefix = 20;
	assert_true(key_of(&r, "192.0.16.1", 1, NULL) == key_of(&r, "192.0.31.255", 1, NULL));
	assert_true(key_of(&r, "192.0.16.1", 1, NULL) != key_of(&r, "192.0.32.1", 1, NULL));
	r.ipv4_prefix = 32;
	assert_true(key_of(&r, "192.0.2.1", 1, NULL) != key_of(&r, "192.0.2.2", 1, NULL));
	/* Another seed, other keys. */
	struct rwd_rrl r2 = { .ipv4_prefix = 32, .ipv6_prefix = 56, .seed = 43 };
	assert_true(key_of(&r, "192.0.2.1", 1, NULL) != key_of(&r2, "192.0.2.1", 1, NULL));
}

/* ---- settings ---- */

static void test_build(void **state)
{
	struct rwd_rrl_opts opts = { .rate = 0, .table_size = 1000 };
	struct rwd_rrl *r = (struct rwd_rrl *)1, *r2, *r3;
	assert_int_equal(rwd_rrl_build(&opts, NULL, &r), 0);
	assert_null(r);                    /* off */
	opts.rate = 20;
	opts.slip = 2;
	opts.ipv4_prefix = 24;
	opts.ipv6_prefix = 56;
	assert_int_equal(rwd_acl_add_text(&opts.exempt, "10.0.0.0/8"), 0);
	assert_int_equal(rwd_rrl_build(&opts, NULL, &r), 0);
	assert_non_null(r);
	assert_int_equal(r->rate, 20);
	assert_int_equal(r->slip, 2);
	assert_int_equal(r->ipv4_prefix, 24);
	assert_int_equal(r->ipv6_prefix, 56);
	assert_int_equal(r->exempt.n, 1);
	/* A reload with the same size keeps the table (and its counts). */
	opts.rate = 30;
	assert_int_equal(rwd_rrl_build(&opts, r, &r2), 0);
	assert_ptr_equal(r2->table, r->table);
	assert_true(r2->seed == r->seed);
	assert_int_equal(r2->rate, 30);
	/* Another size: a new table. */
	opts.table_size = 2000;
	assert_int_equal(rwd_rrl_build(&opts, r2, &r3), 0);
	assert_ptr_not_equal(r3->table, r2->table);
	rwd_rrl_free(r);                   /* the old table lives on in r2 */
	assert_int_equal(rwd_rrl_account(r2->table, 5, 1, 0, 1), RWD_RRL_PASS);
	/* The settings own a copy of the exempt list. */
	rwd_acl_free(&opts.exempt);
	assert_int_equal(r3->exempt.n, 1);
	assert_true(r3->exempt.v[0].len == 8);
	rwd_rrl_free(r2);
	rwd_rrl_free(r3);
}

/* rate_limit: and cookies: in the configuration: defaults, values, errors. */
static struct rwd_conf *load(const char *text, char *err)
{
	struct rwd_conf *c = NULL;
	err[0] = '\0';
	rwd_conf_load_buf(text, strlen(text), "t.yaml", NULL, &c, err);
	return c;
}

static void test_conf(void **state)
{
	char err[RWD_CONF_ERRLEN];
	struct rwd_conf *c = load("server: { workers: 1 }\n", err);
	assert_non_null(c);
	assert_int_equal(c->rrl.rate, 0);               /* off */
	assert_int_equal(c->rrl.slip, 2);
	assert_int_equal(c->rrl.ipv4_prefix, 24);
	assert_int_equal(c->rrl.ipv6_prefix, 56);
	assert_int_equal(c->rrl.table_size, 393241);
	assert_int_equal(c->rrl.exempt.n, 0);
	assert_false(c->rrl.exempt.any);
	assert_true(c->cookies_enabled);
	assert_null(c->cookie_secret_text);
	rwd_conf_free(c);

	c = load("acls:\n  internal: [\"10.0.0.0/8\", \"127.0.0.2/32\"]\n"
	         "rate_limit:\n  responses_per_second: 20\n  slip: 0\n  ipv4_prefix: 32\n"
	         "  ipv6_prefix: 64\n  exempt: [internal, \"2001:db8::/32\"]\n  table_size: 1000\n"
	         "cookies:\n  enabled: false\n  secret: 0x0123456789ABCDEF0123456789abcdef\n", err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->rrl.rate, 20);
	assert_int_equal(c->rrl.slip, 0);
	assert_int_equal(c->rrl.ipv4_prefix, 32);
	assert_int_equal(c->rrl.ipv6_prefix, 64);
	assert_int_equal(c->rrl.table_size, 1000);
	assert_int_equal(c->rrl.exempt.n, 3);
	assert_false(c->cookies_enabled);
	static const uint8_t want[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	                                  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	assert_memory_equal(c->cookie_secret, want, 16);
	rwd_conf_free(c);

	static const struct { const char *text, *msg; } bad[] = {
		{ "rate_limit:\n  slip: 256\n", "t.yaml:2: rate_limit.slip: expected an integer 0..255" },
		{ "rate_limit:\n  ipv4_prefix: 33\n", "t.yaml:2: rate_limit.ipv4_prefix: expected an integer 8..32" },
		{ "rate_limit:\n  table_size: 10\n", "t.yaml:2: rate_limit.table_size: expected an integer 64..16777216" },
		{ "rate_limit:\n  responses_per_second: -1\n", "t.yaml:2: rate_limit.responses_per_second: expected an integer 0..1000000" },
		{ "rate_limit:\n  exempt: [nosuch]\n", "t.yaml:2: rate_limit.exempt: " },
		{ "rate_limit:\n  burst: 3\n", "t.yaml:2: " },
		{ "cookies:\n  secret: 0123\n", "t.yaml:2: cookies.secret: expected 32 hex digits (16 bytes)" },
		{ "\ncookies:\n  secret: 0123456789abcdef0123456789abcdex\n",
		  "t.yaml:3: cookies.secret: expected 32 hex digits (16 bytes)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load(bad[i].text, err);
		if (c != NULL || strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("%s: got \"%s\", want \"%s...\"", bad[i].text, err, bad[i].msg);
	}
}

/* ---- the stage in the pipeline ---- */

static struct rwd_snapshot snap;
static struct rwd_qstats stats;
static struct rwd_query_thread thread = { .stats = &stats, .now = 1000 };

static const char ZONE[] =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@        SOA  ns1 hostmaster 1 7200 3600 1209600 300\n"
	"@        NS   ns1\n"
	"ns1      A    192.0.2.1\n"
	"www      A    192.0.2.80\n"
	"mail     A    192.0.2.25\n"
	"*.wild   A    192.0.2.99\n"
	"sub      NS   ns.sub\n"
	"ns.sub   A    192.0.2.53\n";

static int setup(void **state)
{
	if (tz_mkdir("test_rrl") < 0)
		return -1;
	struct rwd_zone **zones = calloc(1, sizeof(*zones));
	uint8_t apex[RW_DNAME_MAXLEN];
	rw_dname_from_str("example.com.", NULL, apex);
	FILE *f = fopen(tz_path("example.com.zone"), "w");
	if (zones == NULL || f == NULL)
		return -1;
	fputs(ZONE, f);
	fclose(f);
	zones[0] = rwd_zone_load(apex, tz_path("example.com.zone"), NULL, NULL);
	if (zones[0] == NULL || (snap.zones = rwd_zonedb_new(zones, 1)) == NULL)
		return -1;
	snap.edns_udp_size = 1232;
	snap.cookies = true;
	memset(snap.cookie_secret, 0x5a, sizeof(snap.cookie_secret));
	struct rwd_rrl_opts opts = { .rate = 3, .slip = 2, .ipv4_prefix = 24, .ipv6_prefix = 56,
	                             .table_size = 4096 };
	if (rwd_acl_add_text(&opts.exempt, "203.0.113.0/24") < 0 ||
	    rwd_rrl_build(&opts, NULL, &snap.rrl) < 0)
		return -1;
	rwd_acl_free(&opts.exempt);   /* the snapshot's settings hold a copy */
	return 0;
}

static int teardown(void **state)
{
	rwd_rrl_free(snap.rrl);
	rwd_zonedb_free(snap.zones);
	return tz_rmdir();
}

struct msg {
	uint8_t b[4608];
	size_t len;
};

/* A query for name/qtype with EDNS, and a COOKIE option if cookie (8..40 bytes) is given. */
static void mkquery(struct msg *q, const char *name, uint16_t qtype, const uint8_t *cookie,
                    size_t cookie_len)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	tz_name(name, dn);
	struct rw_msgbuilder b;
	assert_int_equal(rw_msgb_init(&b, q->b, sizeof(q->b), 0x4242, dn, qtype, RW_CLASS_IN,
	                              true), 0);
	size_t rdlen_at = rw_msgb_put_opt(&b, 1232, 0, false);
	if (cookie) {
		rw_msgb_put16(&b, RW_EDNS_COOKIE);
		rw_msgb_put16(&b, (uint16_t)cookie_len);
		rw_msgb_put(&b, cookie, cookie_len);
		rw_put16(b.buf + rdlen_at, (uint16_t)(4 + cookie_len));
	}
	rw_put16(q->b + RW_HDR_ARCOUNT, 1);
	assert_false(b.overflow);
	q->len = b.len;
}

static uint64_t total_rrl(enum rwd_rrl_stat s) { return stats.rrl[s]; }

/* Ask from client over t; returns the reply length (0: dropped). */
static size_t ask_q(const struct msg *q, const char *client, const struct rwd_transport *t, struct msg *r)
{
	struct sockaddr_storage ss = test_sockaddr(client);
	struct rwd_query qr = {
		.wire = q->b, .wire_len = q->len, .transport = t, .client = (struct sockaddr *)&ss,
		.thread = &thread, .out = r->b, .out_cap = sizeof(r->b),
	};
	r->len = rwd_query_process(&snap, &qr);
	return r->len;
}

static size_t ask(const char *name, uint16_t qtype, const char *client, struct msg *r)
{
	struct msg q;
	mkquery(&q, name, qtype, NULL, 0);
	return ask_q(&q, client, &rwd_transport_udp, r);
}

/* The answers, drops (.) and slips (T) of n queries for names made of fmt and i. */
static void pattern(const char *fmt, uint16_t qtype, const char *client, int n, char *out)
{
	for (int i = 0; i < n; i++) {
		char name[128];
		snprintf(name, sizeof(name), fmt, i);
		struct msg r;
		size_t len = ask(name, qtype, client, &r);
		out[i] = len == 0 ? '.' : (r.b[2] & RW_FLAG_TC) ? 'T' : 'A';
	}
	out[n] = '\0';
}

static void test_stage_classes(void **state)
{
	char got[16];
	thread.now = 2000;
	/* Identical answers; the same /24 shares the bucket, another /24 does not. */
	pattern("www.example.com.", RW_TYPE_A, "192.0.2.10", 3, got);
	assert_string_equal(got, "AAA");
	pattern("www.example.com.", RW_TYPE_A, "192.0.2.11", 4, got);
	assert_string_equal(got, ".T.T");
	pattern("WWW.example.com.", RW_TYPE_A, "198.51.100.1", 3, got);
	assert_string_equal(got, "AAA");
	/* Another answer to the same prefix: its own bucket. */
	pattern("mail.example.com.", RW_TYPE_A, "192.0.2.10", 3, got);
	assert_string_equal(got, "AAA");
	/* NXDOMAIN for random names: one bucket for the zone. */
	pattern("random%d.example.com.", RW_TYPE_A, "192.0.2.10", 6, got);
	assert_string_equal(got, "AAA.T.");
	/* Every name a wildcard matches: one answer. */
	pattern("w%d.wild.example.com.", RW_TYPE_A, "192.0.2.10", 5, got);
	assert_string_equal(got, "AAA.T");
	/* Referrals: one bucket per delegation. */
	pattern("h%d.sub.example.com.", RW_TYPE_A, "192.0.2.10", 5, got);
	assert_string_equal(got, "AAA.T");
	/* NODATA: the zone. */
	pattern("www.example.com.", RW_TYPE_TXT, "192.0.2.10", 2, got);
	assert_string_equal(got, "AA");
	pattern("mail.example.com.", RW_TYPE_MX, "192.0.2.10", 2, got);
	assert_string_equal(got, "A.");
	/* Errors (REFUSED for any name outside our zones): one bucket per prefix. */
	pattern("x%d.example.org.", RW_TYPE_A, "192.0.2.10", 5, got);
	assert_string_equal(got, "AAA.T");
	/* The next second: answers again. */
	thread.now = 2001;
	pattern("www.example.com.", RW_TYPE_A, "192.0.2.12", 3, got);
	assert_string_equal(got, "AAA");
}

static void test_stage_slip_reply(void **state)
{
	thread.now = 3000;
	struct msg r;
	for (int i = 0; i < 3; i++)
		assert_true(ask("www.example.com.", RW_TYPE_A, "192.0.2.20", &r) > 0);
	assert_int_equal(ask("www.example.com.", RW_TYPE_A, "192.0.2.20", &r), 0);
	uint64_t slipped = total_rrl(RWD_RRL_SLIPPED), dropped = total_rrl(RWD_RRL_DROPPED);
	size_t n = ask("www.example.com.", RW_TYPE_A, "192.0.2.20", &r);
	assert_true(n > 0);
	assert_int_equal(total_rrl(RWD_RRL_SLIPPED), slipped + 1);
	assert_int_equal(total_rrl(RWD_RRL_DROPPED), dropped);
	/* Header, question and OPT: TC=1 and nothing else. */
	assert_true(r.b[2] & RW_FLAG_TC);
	assert_int_equal(rw_get16(r.b + RW_HDR_ANCOUNT), 0);
	assert_int_equal(rw_get16(r.b + RW_HDR_NSCOUNT), 0);
	assert_int_equal(rw_get16(r.b + RW_HDR_ARCOUNT), 1);
	struct msg q;
	mkquery(&q, "www.example.com.", RW_TYPE_A, NULL, 0);
	assert_int_equal(n, q.len);        /* no larger than the query */
	assert_int_equal(ask("www.example.com.", RW_TYPE_A, "192.0.2.20", &r), 0);
	assert_int_equal(total_rrl(RWD_RRL_DROPPED), dropped + 1);
}

static void test_stage_exempt(void **state)
{
	thread.now = 4000;
	struct msg r;
	uint64_t exempt = total_rrl(RWD_RRL_EXEMPT);
	for (int i = 0; i < 50; i++)
		assert_true(ask("www.example.com.", RW_TYPE_A, "203.0.113.9", &r) > 0);
	assert_int_equal(total_rrl(RWD_RRL_EXEMPT), exempt + 50);
	/* TCP is never limited (the client proved its address). */
	struct msg q;
	mkquery(&q, "mail.example.com.", RW_TYPE_A, NULL, 0);
	for (int i = 0; i < 50; i++)
		assert_true(ask_q(&q, "192.0.2.30", &rwd_transport_tcp, &r) > 0);
	assert_true(ask_q(&q, "192.0.2.30", &rwd_transport_udp, &r) > 0);   /* UDP bucket untouched */
}

/* A valid server cookie exempts; a client cookie alone does not, and its
 * slipped reply is BADCOOKIE with our cookie (no TC). */
static void test_stage_cookies(void **state)
{
	thread.now = 5000;
	struct sockaddr_storage c = test_sockaddr("192.0.3.40");
	uint8_t cookie[24] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	rwd_cookie_make(snap.cookie_secret, cookie, (struct sockaddr *)&c, 5000, cookie + 8);
	struct msg q, r;
	mkquery(&q, "www.example.com.", RW_TYPE_A, cookie, 24);
	uint64_t passed = total_rrl(RWD_RRL_COOKIE);
	for (int i = 0; i < 50; i++)
		assert_true(ask_q(&q, "192.0.3.40", &rwd_transport_udp, &r) > 0);
	assert_int_equal(total_rrl(RWD_RRL_COOKIE), passed + 50);
	/* The same cookie from another address of the prefix is not valid there. */
	assert_true(ask_q(&q, "192.0.3.41", &rwd_transport_udp, &r) > 0);
	assert_int_equal((r.b[3] & 0x0f), RW_RCODE_BADCOOKIE & 0x0f);

	mkquery(&q, "www.example.com.", RW_TYPE_A, cookie, 8);
	char got[8];
	for (int i = 0; i < 5; i++) {
		size_t n = ask_q(&q, "192.0.3.40", &rwd_transport_udp, &r);
		got[i] = n == 0 ? '.' : (r.b[3] & 0x0f) == (RW_RCODE_BADCOOKIE & 0x0f) ? 'B' : 'A';
		if (got[i] == 'B')
			assert_false(r.b[2] & RW_FLAG_TC);
	}
	got[5] = '\0';
	assert_string_equal(got, "AAA.B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_and_refill),
		cmocka_unit_test(test_slip_sequence),
		cmocka_unit_test(test_buckets_independent),
		cmocka_unit_test(test_small_table),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_prefix_grouping),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_stage_classes),
		cmocka_unit_test(test_stage_slip_reply),
		cmocka_unit_test(test_stage_exempt),
		cmocka_unit_test(test_stage_cookies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
