/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the transfer-in parser (src/server/xfr/xfrin.c) and the
 * records source (src/server/zone/source_xfr.c): AXFR and IXFR streams
 * split over messages, each way a stream can be wrong (out-of-zone and
 * other-class records, SOAs where they do not belong, broken difference
 * chains, foreign IDs, error rcodes, limits), and an AXFR built into a
 * zone through the checked add path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/xfr/xfrin.h"
#include "server/zone/history.h"
#include "server/zone/source.h"
#include "server/zone/zone.h"

#define ID 0x1234

/* ---- building messages ---- */

struct msg {
	uint8_t b[65535];
	size_t n;
	uint16_t an;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	rw_put16(m->b + m->n, v);
	m->n += 2;
}

static void put32(struct msg *m, uint32_t v)
{
	rw_put32(m->b + m->n, v);
	m->n += 4;
}

static void put_name(struct msg *m, const char *s)
{
	uint8_t dn[255];
	assert_true(rw_dname_from_str(s, NULL, dn) > 0);
	put(m, dn, rw_dname_len(dn));
}

/* An answer to our query (qtype), rcode, with the question. */
static void begin(struct msg *m, uint16_t id, uint16_t qtype, uint8_t rcode, bool question)
{
	memset(m, 0, sizeof(*m));
	put16(m, id);
	put16(m, (uint16_t)(0x8400 | rcode));   /* QR, AA */
	put16(m, question ? 1 : 0);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	if (question) {
		put_name(m, "example.com.");
		put16(m, qtype);
		put16(m, 1);
	}
}

static void rr_head(struct msg *m, const char *owner, uint16_t type, uint16_t cls, uint16_t rdlen)
{
	put_name(m, owner);
	put16(m, type);
	put16(m, cls);
	put32(m, 3600);
	put16(m, rdlen);
	m->an++;
	rw_put16(m->b + 6, m->an);
}

static void soa(struct msg *m, uint32_t serial)
{
	rr_head(m, "example.com.", 6, 1, 17 + 16 + 20);
	put_name(m, "ns1.example.com.");
	put_name(m, "hm.example.com.");
	put32(m, serial);
	put32(m, 7200);
	put32(m, 3600);
	put32(m, 1209600);
	put32(m, 300);
}

static void a(struct msg *m, const char *owner, uint8_t last)
{
	rr_head(m, owner, 1, 1, 4);
	put(m, (uint8_t[]){ 192, 0, 2, last }, 4);
}

static void ns(struct msg *m, const char *owner, const char *target)
{
	uint8_t dn[255];
	assert_true(rw_dname_from_str(target, NULL, dn) > 0);
	rr_head(m, owner, 2, 1, (uint16_t)rw_dname_len(dn));
	put(m, dn, rw_dname_len(dn));
}

static const uint8_t *apex(void)
{
	static uint8_t dn[255];
	assert_true(rw_dname_from_str("example.com.", NULL, dn) > 0);
	return dn;
}

static int feed(struct rwd_xfrin *x, struct msg *m)
{
	return rwd_xfrin_feed(x, m->b, m->n);
}

/* ---- AXFR ---- */

static void test_axfr_two_messages_and_build(void **state)
{
	(void)state;
	struct rwd_xfrin x;
	struct msg m;
	rwd_xfrin_init(&x, apex(), RW_TYPE_AXFR, ID, 0, NULL);
	begin(&m, ID, RW_TYPE_AXFR, 0, true);
	soa(&m, 7);
	ns(&m, "example.com.", "ns1.example.com.");
	a(&m, "ns1.example.com.", 53);
	assert_int_equal(feed(&x, &m), 0);
	begin(&m, ID, RW_TYPE_AXFR, 0, false);    /* later messages may leave out the question */
	a(&m, "WWW.example.com.", 80);
	soa(&m, 7);
	assert_int_equal(feed(&x, &m), 1);
	assert_int_equal(x.kind, RWD_XFRIN_AXFR);
	assert_int_equal(x.serial, 7);
	assert_int_equal(x.n_zone_records, 4);
	assert_int_equal(x.records, 5);
	assert_int_equal(x.messages, 2);

	/* Records are stored decompressed with owners lowercased. */
	struct rwd_xfrin_rr rr;
	size_t pos = 0, n = 0;
	bool www = false;
	while (rwd_xfrin_rr_next(x.recs, x.len, &pos, &rr)) {
		n++;
		www |= rr.type == 1 && rr.owner_len == 17 && memcmp(rr.owner, "\x03www", 4) == 0;
	}
	assert_int_equal(n, 4);
	assert_true(www);

	struct rwd_source_records sr = { x.recs, x.len, "AXFR", 0 };
	struct rwd_record_source src = rwd_source_records(&sr);
	struct rwd_zone *z = rwd_zone_build_sources(apex(), "/nonexistent", &src, 1, NULL, NULL, NULL);
	assert_non_null(z);
	assert_int_equal(z->serial, 7);
	assert_int_equal(z->n_records, 4);
	uint8_t *recs;
	size_t len, count;
	assert_int_equal(rwd_zone_records(z, &recs, &len, &count), 0);
	assert_int_equal(count, 4);
	pos = 0;
	assert_true(rwd_xfrin_rr_next(recs, len, &pos, &rr));
	assert_int_equal(rr.type, 6);              /* the SOA first */
	free(recs);
	rwd_zone_free(z);
	rwd_xfrin_free(&x);
}

/* A stream the parser takes, whose zone the build refuses (no NS): every
 * record goes through the file's checks. */
static void test_axfr_build_checks(void **state)
{
	(void)state;
	struct rwd_xfrin x;
	struct msg m;
	rwd_xfrin_init(&x, apex(), RW_TYPE_AXFR, ID, 0, NULL);
	begin(&m, ID, RW_TYPE_AXFR, 0, true);
	soa(&m, 7);
	a(&m, "www.example.com.", 80);
	rr_head(&m, "www.example.com.", 5, 1, 2);  /* CNAME beside A */
	put(&m, "\xc0\x0c", 2);
	soa(&m, 7);
	assert_int_equal(feed(&x, &m), 1);
	struct rwd_source_records sr = { x.recs, x.len, "AXFR from test", 0 };
	struct rwd_record_source src = rwd_source_records(&sr);
	assert_null(rwd_zone_build_sources(apex(), "/nonexistent", &src, 1, NULL, NULL, NULL));
	rwd_xfrin_free(&x);
}

static void expect_fail(struct msg *msgs, size_t n, uint16_t qtype, int ret, const char *words)
{
	struct rwd_xfrin x;
	struct rwd_xfrin_limits lim = { .max_records = 6, .max_bytes = 4000, .max_messages = 3 };
	rwd_xfrin_init(&x, apex(), qtype, ID, 1, &lim);
	int r = 0;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = feed(&x, &msgs[i]);
	if (r != ret)
		fail_msg("%s: got %d (%s), wanted %d", words, r, x.error, ret);
	if (strstr(x.error, words) == NULL)
		fail_msg("'%s' does not say '%s'", x.error, words);
	rwd_xfrin_free(&x);
}

static void test_axfr_refused_streams(void **state)
{
	(void)state;
	struct msg *m = calloc(4, sizeof(*m));
	assert_non_null(m);

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	a(&m[0], "www.example.net.", 1);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "www.example.net. is outside the zone");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	rr_head(&m[0], "www.example.com.", 1, 3, 4);   /* class CH */
	put(&m[0], "\1\2\3\4", 4);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "class 3");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	a(&m[0], "www.example.com.", 1);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "first record is not the zone's SOA");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	soa(&m[0], 8);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "inside the zone's records");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	soa(&m[0], 7);
	a(&m[0], "www.example.com.", 1);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "after the closing SOA");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	soa(&m[0], 7);
	begin(&m[1], ID, RW_TYPE_AXFR, 0, false);
	a(&m[1], "www.example.com.", 1);
	expect_fail(m, 2, RW_TYPE_AXFR, RW_EMALFORMED, "after the end");

	begin(&m[0], ID + 1, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "another ID");

	begin(&m[0], ID, RW_TYPE_IXFR, 0, true);       /* not our question */
	soa(&m[0], 7);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "another question");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, false);      /* the first message needs it */
	soa(&m[0], 7);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "questions");

	begin(&m[0], ID, RW_TYPE_AXFR, 5, true);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EREFUSED, "REFUSED");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	rr_head(&m[0], "www.example.com.", 1, 1, 3);   /* an A of 3 bytes */
	put(&m[0], "\1\2\3", 3);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "malformed data");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	rr_head(&m[0], "www.example.com.", 200, 1, 0);  /* the meta range */
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "type 200");

	/* limits: 6 records, 3 messages, 4000 bytes */
	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	for (int i = 0; i < 6; i++)
		a(&m[0], "www.example.com.", (uint8_t)i);
	expect_fail(m, 1, RW_TYPE_AXFR, RW_ELIMIT, "xfr.max_records");
	for (int k = 0; k < 4; k++) {
		begin(&m[k], ID, RW_TYPE_AXFR, 0, true);
		if (k == 0)
			soa(&m[k], 7);
		else
			a(&m[k], "www.example.com.", (uint8_t)k);
	}
	expect_fail(m, 4, RW_TYPE_AXFR, RW_ELIMIT, "xfr.max_messages");
	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	rr_head(&m[0], "www.example.com.", 16, 1, 4001);   /* TXT */
	for (int i = 0; i < 4001; i += 200) {
		uint8_t s[201] = { 199 };
		put(&m[0], s, i + 200 <= 4001 ? 200 : (size_t)(4001 - i));
	}
	expect_fail(m, 1, RW_TYPE_AXFR, RW_ELIMIT, "xfr.max_bytes");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	m[0].b[2] |= 0x02;                              /* TC */
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "truncated");

	begin(&m[0], ID, RW_TYPE_AXFR, 0, true);
	soa(&m[0], 7);
	m[0].n -= 3;                                    /* cut inside the SOA */
	expect_fail(m, 1, RW_TYPE_AXFR, RW_EMALFORMED, "malformed message");
	free(m);
}

/* ---- IXFR ---- */

static void test_ixfr_sequences(void **state)
{
	(void)state;
	struct rwd_xfrin x;
	struct msg m;
	rwd_xfrin_init(&x, apex(), RW_TYPE_IXFR, ID, 1, NULL);
	begin(&m, ID, RW_TYPE_IXFR, 0, true);
	soa(&m, 3);
	soa(&m, 1);                                     /* 1 -> 2 */
	a(&m, "www.example.com.", 1);
	soa(&m, 2);
	a(&m, "www.example.com.", 2);
	assert_int_equal(feed(&x, &m), 0);
	begin(&m, ID, RW_TYPE_IXFR, 0, false);
	soa(&m, 2);                                     /* 2 -> 3 */
	soa(&m, 3);
	a(&m, "www.example.com.", 3);
	a(&m, "new.example.com.", 3);
	soa(&m, 3);
	assert_int_equal(feed(&x, &m), 1);
	assert_int_equal(x.kind, RWD_XFRIN_IXFR);
	assert_int_equal(x.serial, 3);
	assert_int_equal(x.n_diffs, 2);
	assert_int_equal(x.diffs[0].serial_from, 1);
	assert_int_equal(x.diffs[0].serial_to, 2);
	assert_int_equal(x.diffs[0].n_removed, 1);
	assert_int_equal(x.diffs[0].n_added, 1);
	assert_int_equal(x.diffs[1].serial_from, 2);
	assert_int_equal(x.diffs[1].serial_to, 3);
	assert_int_equal(x.diffs[1].n_removed, 0);
	assert_int_equal(x.diffs[1].n_added, 2);
	struct rwd_xfrin_rr rr;
	size_t pos = x.diffs[1].added;
	assert_true(rwd_xfrin_rr_next(x.recs, x.diffs[1].added + x.diffs[1].added_len, &pos, &rr));
	assert_int_equal(rr.rdata[3], 3);
	pos = x.diffs[0].old_soa;
	assert_true(rwd_xfrin_rr_next(x.recs, x.len, &pos, &rr));
	assert_int_equal(rr.type, 6);
	assert_int_equal(rw_get32(rr.rdata + rr.rdlen - 20), 1);
	rwd_xfrin_free(&x);

	/* Up to date: one SOA not newer than ours. */
	rwd_xfrin_init(&x, apex(), RW_TYPE_IXFR, ID, 5, NULL);
	begin(&m, ID, RW_TYPE_IXFR, 0, true);
	soa(&m, 5);
	assert_int_equal(feed(&x, &m), 1);
	assert_int_equal(x.kind, RWD_XFRIN_UPTODATE);
	rwd_xfrin_free(&x);

	/* One SOA that is newer, alone in the first message: more follows. */
	rwd_xfrin_init(&x, apex(), RW_TYPE_IXFR, ID, 5, NULL);
	begin(&m, ID, RW_TYPE_IXFR, 0, true);
	soa(&m, 6);
	assert_int_equal(feed(&x, &m), 0);
	begin(&m, ID, RW_TYPE_IXFR, 0, false);          /* AXFR-style */
	ns(&m, "example.com.", "ns1.example.com.");
	soa(&m, 6);
	assert_int_equal(feed(&x, &m), 1);
	assert_int_equal(x.kind, RWD_XFRIN_AXFR);
	assert_int_equal(x.n_zone_records, 2);
	rwd_xfrin_free(&x);
}

static void test_ixfr_refused_streams(void **state)
{
	(void)state;
	struct msg *m = calloc(2, sizeof(*m));
	assert_non_null(m);

	begin(&m[0], ID, RW_TYPE_IXFR, 0, true);        /* starts at 2, ours is 1 */
	soa(&m[0], 3);
	soa(&m[0], 2);
	soa(&m[0], 3);
	soa(&m[0], 3);
	expect_fail(m, 1, RW_TYPE_IXFR, RW_EMALFORMED, "starts at serial 2, ours is 1");

	begin(&m[0], ID, RW_TYPE_IXFR, 0, true);        /* 1 -> 2, then 3 -> ... */
	soa(&m[0], 4);
	soa(&m[0], 1);
	soa(&m[0], 2);
	soa(&m[0], 3);
	expect_fail(m, 1, RW_TYPE_IXFR, RW_EMALFORMED, "previous one ended at 2");

	begin(&m[0], ID, RW_TYPE_IXFR, 0, true);        /* a difference going back */
	soa(&m[0], 4);
	soa(&m[0], 1);
	soa(&m[0], 0);
	expect_fail(m, 1, RW_TYPE_IXFR, RW_EMALFORMED, "not newer");

	begin(&m[0], ID, RW_TYPE_IXFR, 0, true);        /* past the serial announced */
	soa(&m[0], 2);
	soa(&m[0], 1);
	soa(&m[0], 2);
	soa(&m[0], 2);
	soa(&m[0], 3);
	expect_fail(m, 1, RW_TYPE_IXFR, RW_EMALFORMED, "after the closing SOA");

	begin(&m[0], ID, RW_TYPE_IXFR, 0, true);        /* a removed record out of the zone */
	soa(&m[0], 2);
	soa(&m[0], 1);
	a(&m[0], "a.example.org.", 1);
	expect_fail(m, 1, RW_TYPE_IXFR, RW_EMALFORMED, "outside the zone");

	/* RFC 1995 4: NOTIMP, FORMERR, REFUSED to an IXFR: try AXFR. */
	static const uint8_t fallback[] = { 4, 1, 5 };
	for (size_t i = 0; i < sizeof(fallback); i++) {
		struct rwd_xfrin x;
		rwd_xfrin_init(&x, apex(), RW_TYPE_IXFR, ID, 1, NULL);
		begin(&m[0], ID, RW_TYPE_IXFR, fallback[i], true);
		assert_int_equal(feed(&x, &m[0]), RW_EREFUSED);
		assert_true(x.fallback);
		assert_int_equal(x.rcode, fallback[i]);
		rwd_xfrin_free(&x);
	}
	struct rwd_xfrin x;
	rwd_xfrin_init(&x, apex(), RW_TYPE_IXFR, ID, 1, NULL);
	begin(&m[0], ID, RW_TYPE_IXFR, 9, true);        /* NOTAUTH: no */
	assert_int_equal(feed(&x, &m[0]), RW_EREFUSED);
	assert_false(x.fallback);
	rwd_xfrin_free(&x);
	free(m);
}

/* ---- applying an IXFR to a served version ---- */

/* The served version: serial 1, www A 192.0.2.1. */
static struct rwd_zone *base_zone(void)
{
	struct rwd_xfrin x;
	struct msg m;
	rwd_xfrin_init(&x, apex(), RW_TYPE_AXFR, ID, 0, NULL);
	begin(&m, ID, RW_TYPE_AXFR, 0, true);
	soa(&m, 1);
	ns(&m, "example.com.", "ns1.example.com.");
	a(&m, "ns1.example.com.", 53);
	a(&m, "www.example.com.", 1);
	soa(&m, 1);
	assert_int_equal(feed(&x, &m), 1);
	struct rwd_source_records sr = { x.recs, x.len, "AXFR", 0 };
	struct rwd_record_source src = rwd_source_records(&sr);
	struct rwd_zone *z = rwd_zone_build_sources(apex(), "/nonexistent", &src, 1, NULL, NULL, NULL);
	assert_non_null(z);
	rwd_xfrin_free(&x);
	return z;
}

/* An IXFR 1 -> 2 (SOA refresh: 7200, or refresh2 when not 0) removing
 * www A .del and adding what add() puts. */
static int ixfr(struct rwd_zone *old, uint8_t del, void (*add)(struct msg *),
                const struct rwd_zone_limits *zl, struct rwd_zone **out, const char **how,
                char *err)
{
	struct rwd_xfrin x;
	struct msg *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	rwd_xfrin_init(&x, apex(), RW_TYPE_IXFR, ID, 1, NULL);
	begin(m, ID, RW_TYPE_IXFR, 0, true);
	soa(m, 2);
	soa(m, 1);
	if (del)
		a(m, "www.example.com.", del);
	soa(m, 2);
	add(m);
	soa(m, 2);
	assert_int_equal(feed(&x, m), 1);
	assert_int_equal(x.kind, RWD_XFRIN_IXFR);
	static const struct rwd_zone_limits defaults = RWD_ZONE_LIMITS_DEFAULT;
	int ret = rwd_xfrin_apply(&x, old, zl ? zl : &defaults, "/nonexistent", NULL, NULL, out,
	                          NULL, how, err);
	rwd_xfrin_free(&x);
	free(m);
	return ret;
}

static void add_www2(struct msg *m) { a(m, "www.example.com.", 2); }
static void add_new(struct msg *m) { a(m, "new.example.com.", 7); }
static void add_many(struct msg *m)
{
	for (int i = 0; i < 5; i++)
		a(m, "many.example.com.", (uint8_t)i);
}
static void add_cname(struct msg *m)
{
	rr_head(m, "www.example.com.", 5, 1, 17);
	put_name(m, "ns1.example.com.");
}

static void test_ixfr_apply(void **state)
{
	(void)state;
	struct rwd_zone *old = base_zone(), *z;
	const char *how;
	char err[RWD_XFRIN_ERRLEN];

	/* A changed RRset and the serial: a patch of old. */
	assert_int_equal(ixfr(old, 1, add_www2, NULL, &z, &how, err), 0);
	assert_string_equal(how, "patched");
	assert_int_equal(z->serial, 2);
	uint8_t www[255];
	assert_true(rw_dname_from_str("www.example.com.", NULL, www) > 0);
	const struct rwd_node *n = rwd_zone_find(z, www, rw_dname_len(www));
	assert_non_null(n);
	const struct rwd_rrset *rs = rwd_node_rrset(n, RW_TYPE_A);
	assert_non_null(rs);
	assert_int_equal(rs->count, 1);
	assert_int_equal(rs->rdata[2 + 3], 2);
	rwd_zone_free(z);

	/* Nothing removed, a new name. */
	assert_int_equal(ixfr(old, 0, add_new, NULL, &z, &how, err), 0);
	assert_int_equal(z->n_records, old->n_records + 1);
	rwd_zone_free(z);

	/* A removal of what old does not hold: AXFR instead. */
	assert_int_equal(ixfr(old, 9, add_www2, NULL, &z, &how, err), RW_ENOENT);
	assert_null(z);
	assert_non_null(strstr(err, "removes a record the zone does not hold (www.example.com. type 1)"));

	/* An RRset past zone_limits.max_rrset_records. */
	struct rwd_zone_limits zl = RWD_ZONE_LIMITS_DEFAULT;
	zl.max_rrset_records = 4;
	assert_int_equal(ixfr(old, 0, add_many, &zl, &z, &how, err), RW_ELIMIT);
	assert_non_null(strstr(err, "zone_limits.max_rrset_records"));

	/* A CNAME beside the A: the patch declines, the full build says why. */
	assert_int_equal(ixfr(old, 0, add_cname, NULL, &z, &how, err), RW_EZONE);
	assert_null(z);
	assert_non_null(strstr(err, "CNAME"));
	rwd_zone_free(old);
}

/* Two sequences 1 -> 2 -> 3: one history diff, their net effect,
 * as rwd_zone_diff_versions would have it. */
static void test_ixfr_net_diff(void **state)
{
	(void)state;
	struct rwd_zone *old = base_zone(), *z;
	struct rwd_xfrin x;
	struct msg *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	rwd_xfrin_init(&x, apex(), RW_TYPE_IXFR, ID, 1, NULL);
	begin(m, ID, RW_TYPE_IXFR, 0, true);
	soa(m, 3);
	soa(m, 1);
	a(m, "www.example.com.", 1);
	soa(m, 2);
	a(m, "www.example.com.", 2);
	soa(m, 2);
	a(m, "www.example.com.", 2);
	soa(m, 3);
	a(m, "www.example.com.", 3);
	a(m, "new.example.com.", 7);
	soa(m, 3);
	assert_int_equal(feed(&x, m), 1);
	struct rwd_zone_limits zl = RWD_ZONE_LIMITS_DEFAULT;
	struct rwd_zone_diff *d, *ref;
	const char *how;
	char err[RWD_XFRIN_ERRLEN];
	assert_int_equal(rwd_xfrin_apply(&x, old, &zl, "/nonexistent", NULL, NULL, &z, &d, &how,
	                                 err), 0);
	assert_non_null(d);
	assert_int_equal(d->serial_from, 1);
	assert_int_equal(d->serial_to, 3);
	assert_int_equal(d->n_removed, 1);
	assert_int_equal(d->n_added, 2);
	assert_int_equal(rwd_zone_diff_versions(old, z, &ref), 0);
	assert_non_null(ref);
	assert_int_equal(ref->n_removed, d->n_removed);
	assert_int_equal(ref->n_added, d->n_added);
	assert_int_equal(ref->len, d->len);
	rwd_zone_diff_free(ref);
	rwd_zone_diff_free(d);
	rwd_zone_free(z);
	rwd_zone_free(old);
	rwd_xfrin_free(&x);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_axfr_two_messages_and_build),
		cmocka_unit_test(test_axfr_build_checks),
		cmocka_unit_test(test_axfr_refused_streams),
		cmocka_unit_test(test_ixfr_sequences),
		cmocka_unit_test(test_ixfr_refused_streams),
		cmocka_unit_test(test_ixfr_apply),
		cmocka_unit_test(test_ixfr_net_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
