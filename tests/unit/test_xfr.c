/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The primary side of zone transfers (stage "transfer", query/xfr.c), in
 * process: zones loaded from files into a snapshot whose transfer settings
 * (allow_transfer) are built by hand, AXFR and IXFR queries run through the
 * pipeline (rwd_query_begin, rwd_query_produce while qr.more) over the TCP
 * and UDP descriptors, every message parsed back strictly.
 *
 * Covered: the decisions (not an apex, no zone, no rule, an address not in
 * the rule, a rule with a key and an unsigned query, a failed zone, IXFR
 * without its SOA, the xfr.max_out limit with rwd_query_xfr_hold/release);
 * AXFR of a zone with delegations, glue, a wildcard, a DNAME, RRSIGs, a
 * large RRset: the SOA first and last with the served serial, every record
 * of the zone exactly once (names decompressed and looked up in the zone),
 * across many messages when the room is small (resuming inside an RRset)
 * and across messages of 16 KB for a large zone; names compressed against
 * runs of labels written before them; IXFR: up to date or
 * ahead (the SOA alone), from each serial of a history built by hand (the
 * difference sequences exactly), an unknown serial (AXFR form over TCP, the
 * SOA alone over UDP), over UDP the whole IXFR when it fits and the SOA
 * alone when it does not; a held zone version outlives its zonedb.
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

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/query/query.h"
#include "server/snapshot/snapshot.h"
#include "server/zone/history.h"
#include "server/zone/source.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

static struct rwd_snapshot snap;
static struct rwd_zone *zcom, *zbig, *zfail, *zhuge;
static struct rwd_zone_settings settings[4];
static struct rwd_xfr_rule rule_local, rule_other, rule_key;
static struct rwd_tsig_key key;
static struct sockaddr_in local, other;

/* ---- zones ---- */

#define SIG "A 13 2 3600 20300101000000 20200101000000 12345 example.com. " \
            "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgcGFyc2Vz"

static const char *example_com(void)
{
	static char text[65536];
	size_t o = (size_t)snprintf(text, sizeof(text),
		"$ORIGIN example.com.\n"
		"$TTL 3600\n"
		"@           SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
		"@           NS    ns1\n"
		"@           NS    ns.example.net.\n"
		"@           MX    10 mail\n"
		"@           RRSIG " SIG "\n"
		"ns1         A     192.0.2.1\n"
		"mail        A     192.0.2.25\n"
		"mail 600    AAAA  2001:db8::25\n"
		"www         A     192.0.2.80\n"
		"www         RRSIG " SIG "\n"
		"alias       CNAME www\n"
		"ptr         PTR   www.example.net.\n"
		"*.wild      A     192.0.2.99\n"
		"host.a.ent  A     192.0.2.10\n"
		"sub         NS    ns1.sub\n"
		"sub         NS    ns.example.net.\n"
		"sub         DS    12345 13 2 "
		"061fc6d4da1789011cc99d3716aab0c59511be17772e3793082d964c68567af4\n"
		"ns1.sub     A     192.0.2.201\n"
		"dn          DNAME example.org.\n"
		"_sip._tcp   SRV   10 60 5060 www\n"
		"txt         TXT   \"one\" \"two\"\n");
	/* names sharing runs of labels (compressed against one another), as
	 * owners and inside CNAME and MX data */
	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		                      "n%d.s%d.deep A 10.1.%d.%d\n"
		                      "c%d.s%d.deep CNAME n%d.s%d.deep\n"
		                      "m%d.s%d.deep MX 10 n%d.s%d.deep.example.com.\n",
		                      i, i % 7, i % 7, i, i, i % 7, i, i % 7, i, i % 5, i, i % 7);
	/* one RRset of 200 records: a small room splits it between messages */
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "many A 10.0.%d.%d\n", i / 250, i % 250);
	return text;
}

/* A zone of n names with an A and a TXT each: n * ~60 bytes of AXFR. */
static const char *big_zone(int n)
{
	size_t cap = 128 + (size_t)n * 64;
	char *text = malloc(cap);
	size_t o = (size_t)snprintf(text, cap, "$ORIGIN big.example.\n$TTL 300\n"
	                            "@ SOA ns hostmaster 7 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, cap - o, "host%d A 10.%d.%d.%d\nhost%d TXT \"t%d\"\n",
		                      i, i >> 16 & 255, i >> 8 & 255, i & 255, i, i);
	return text;
}

/* A zone with a TXT of 20,000 bytes, more than the 16 KB a transfer's
 * message keeps to, between ordinary records. */
static const char *huge_zone(void)
{
	static char text[65536];
	size_t o = (size_t)snprintf(text, sizeof(text), "$ORIGIN huge.example.\n$TTL 300\n"
	                            "@ SOA ns hostmaster 3 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n"
	                            "huge TXT");
	for (int i = 0; i < 80; i++) {
		text[o++] = ' ', text[o++] = '"';
		for (int k = 0; k < 249; k++)
			text[o++] = (char)('a' + (i + k) % 26);
		text[o++] = '"';
	}
	text[o++] = '\n';
	for (int i = 0; i < 2000; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "h%d A 10.0.%d.%d\n", i, i / 256, i % 256);
	return text;
}

static void rule_init(struct rwd_xfr_rule *r, const char *prefix, const struct rwd_tsig_key *k)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(rwd_acl_add_text(&r->match, prefix), 0);
	r->key = k;
}

static void settings_init(struct rwd_zone_settings *zs, const char *apex,
                          struct rwd_xfr_rule *rules, size_t n)
{
	memset(zs, 0, sizeof(*zs));
	zs->apex_len = (uint8_t)tz_lname(apex, zs->apex);
	zs->allow_transfer = rules;
	zs->n_allow_transfer = n;
}

static int setup(void **state)
{
	if (tz_mkdir("test_xfr") < 0)
		return -1;
	zcom = tz_load_ok("example.com.", "example.com.zone", example_com());
	const char *big = big_zone(6000);
	zbig = tz_load_ok("big.example.", "big.example.zone", big);
	free((void *)big);
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("failed.example.", apex);
	zfail = rwd_zone_failed(apex, tz_path("failed.example.zone"));
	zhuge = tz_load_ok("huge.example.", "huge.example.zone", huge_zone());
	if (!zcom || !zbig || !zfail || !zhuge)
		return -1;
	zcom->serial = 2024010105;         /* served serial: API changes raised it */
	struct rwd_zone **zones = malloc(4 * sizeof(*zones));
	zones[0] = zcom, zones[1] = zbig, zones[2] = zfail, zones[3] = zhuge;
	snap.zones = rwd_zonedb_new(zones, 4);
	snap.edns_udp_size = 1232;

	local.sin_family = other.sin_family = AF_INET;
	local.sin_addr.s_addr = htonl(0x7f000001);
	other.sin_addr.s_addr = htonl(0x7f000009);
	key.name_len = (uint8_t)tz_lname("xfr.", key.name);
	key.alg = 1;
	rule_init(&rule_local, "127.0.0.1", NULL);
	rule_init(&rule_other, "127.0.0.2", NULL);
	rule_init(&rule_key, "127.0.0.9", &key);
	settings_init(&settings[0], "example.com.", &rule_local, 1);
	settings_init(&settings[1], "big.example.", &rule_local, 1);
	settings_init(&settings[2], "failed.example.", &rule_local, 1);
	settings_init(&settings[3], "huge.example.", &rule_local, 1);
	snap.zone_settings = settings;
	snap.n_zone_settings = 4;
	return snap.zones ? 0 : -1;
}

static int teardown(void **state)
{
	rwd_zonedb_free(snap.zones);
	rwd_acl_free(&rule_local.match);
	rwd_acl_free(&rule_other.match);
	rwd_acl_free(&rule_key.match);
	return tz_rmdir();
}

/* ---- queries and answers ---- */

struct msg {
	uint8_t b[RW_MSG_MAXLEN];
	size_t len;
};

/* An AXFR/IXFR (with the client's SOA at serial when ixfr) query; edns: its
 * UDP size, 0 for none. */
static void mkq(struct msg *q, const char *name, uint16_t qtype, const uint32_t *ixfr,
                uint16_t edns)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	tz_name(name, dn);
	struct rw_msgbuilder b;
	assert_int_equal(rw_msgb_init(&b, q->b, sizeof(q->b), 0x4242, dn, qtype, RW_CLASS_IN, true), 0);
	if (ixfr) {
		rw_msgb_put_qname_ptr(&b);
		rw_msgb_put16(&b, RW_TYPE_SOA);
		rw_msgb_put16(&b, RW_CLASS_IN);
		rw_msgb_put32(&b, 0);
		rw_msgb_put16(&b, 6 + 20);
		rw_msgb_put(&b, "\x01" "a" "\x00" "\x01" "b" "\x00", 6);
		rw_msgb_put32(&b, *ixfr);
		for (int i = 0; i < 4; i++)
			rw_msgb_put32(&b, 0);
		rw_put16(q->b + RW_HDR_NSCOUNT, 1);
	}
	if (edns) {
		rw_msgb_put_opt(&b, edns, 0, false);
		rw_put16(q->b + RW_HDR_ARCOUNT, 1);
	}
	assert_false(b.overflow);
	q->len = b.len;
}

/* A record of an answer, names decompressed (rdata too for the types whose
 * names may be compressed), lowercased: comparable with the zone's. */
struct crec {
	uint8_t owner[RW_DNAME_MAXLEN];
	uint16_t type, rdlen;             /* of rdata[]: longer data are cut (canon) */
	uint32_t full;                    /* the whole rdata's length */
	uint32_t ttl;
	uint8_t rdata[1024];
};

struct xfr {
	unsigned messages;
	uint8_t rcode, flags;             /* of the first message */
	uint16_t ede;                     /* of the first message, + 1 */
	size_t max_len;                   /* of the longest message */
	unsigned partial;                 /* owners written as labels, then a pointer to
	                                   * another name than the question's */
	struct crec *rr;
	size_t n, cap;
};

/* rd[0..len) into c: as it is when it fits, else its first 1016 bytes and
 * a hash of all of it. */
static void canon(struct crec *c, const uint8_t *rd, size_t len)
{
	c->full = (uint32_t)len;
	if (len <= sizeof(c->rdata)) {
		memcpy(c->rdata, rd, len);
		c->rdlen = (uint16_t)len;
		return;
	}
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ rd[i]) * 1099511628211ull;
	memcpy(c->rdata, rd, sizeof(c->rdata) - 8);
	memcpy(c->rdata + sizeof(c->rdata) - 8, &h, 8);
	c->rdlen = sizeof(c->rdata);
}

static void rdata_name(const uint8_t *m, size_t len, size_t *p, struct crec *c)
{
	uint8_t name[RW_DNAME_MAXLEN];
	int n = rw_dname_unpack(m, len, p, name);
	assert_true(n > 0);
	rw_dname_lower(name);
	memcpy(c->rdata + c->rdlen, name, (size_t)n);
	c->rdlen += (uint16_t)n;
}

/* Parse one message strictly into x. */
static void parse(const uint8_t *m, size_t len, struct xfr *x, size_t out_cap)
{
	assert_true(len >= RW_HDR_LEN && len <= out_cap);
	if (len > x->max_len)
		x->max_len = len;
	assert_int_equal(rw_get16(m), 0x4242);
	assert_true(m[2] & RW_FLAG_QR);
	if (x->messages++ == 0) {
		x->rcode = m[3] & 0x0f;
		x->flags = m[2];
	}
	assert_int_equal(m[3] & 0x0f, x->rcode);   /* every message: the same rcode */
	assert_int_equal(rw_get16(m + RW_HDR_QDCOUNT), 1);
	assert_int_equal(rw_get16(m + RW_HDR_NSCOUNT), 0);
	size_t p = RW_HDR_LEN;
	uint8_t name[RW_DNAME_MAXLEN];
	assert_true(rw_dname_unpack(m, len, &p, name) > 0);
	p += 4;
	unsigned an = rw_get16(m + RW_HDR_ANCOUNT), ar = rw_get16(m + RW_HDR_ARCOUNT);
	for (unsigned i = 0; i < an + ar; i++) {
		struct crec c = { 0 };
		size_t at = p;
		while (m[at] > 0 && m[at] < 0xc0)
			at += m[at] + 1u;
		if (at > p && m[at] >= 0xc0 && (rw_get16(m + at) & 0x3fff) != RW_HDR_LEN)
			x->partial++;
		assert_true(rw_dname_unpack(m, len, &p, c.owner) > 0);
		rw_dname_lower(c.owner);
		assert_true(p + 10 <= len);
		c.type = rw_get16(m + p);
		if (c.type != RW_TYPE_OPT)
			assert_int_equal(rw_get16(m + p + 2), RW_CLASS_IN);
		c.ttl = rw_get32(m + p + 4);
		size_t rdlen = rw_get16(m + p + 8), rd = p + 10, end = rd + rdlen;
		assert_true(end <= len);
		p = end;
		if (i >= an) {                 /* the OPT */
			assert_int_equal(c.type, RW_TYPE_OPT);
			for (size_t o = rd; o + 4 <= end; o += 4u + rw_get16(m + o + 2))
				if (rw_get16(m + o) == RW_EDNS_EDE && x->messages == 1)
					x->ede = rw_get16(m + o + 4) + 1;
			continue;
		}
		size_t q = rd;
		switch (c.type) {
		case RW_TYPE_MX:
			memcpy(c.rdata, m + q, 2), c.rdlen = 2, q += 2;
			/* fall through */
		case RW_TYPE_NS: case RW_TYPE_CNAME: case RW_TYPE_PTR:
			rdata_name(m, end, &q, &c);
			break;
		case RW_TYPE_SOA:
			rdata_name(m, end, &q, &c);
			rdata_name(m, end, &q, &c);
			break;
		}
		assert_true(q <= end);
		if (c.rdlen == 0) {
			canon(&c, m + q, end - q);
		} else {
			assert_true(c.rdlen + (end - q) <= sizeof(c.rdata));
			memcpy(c.rdata + c.rdlen, m + q, end - q);
			c.rdlen += (uint16_t)(end - q);
			c.full = c.rdlen;
		}
		if (x->n == x->cap) {
			x->cap = x->cap ? x->cap * 2 : 256;
			x->rr = realloc(x->rr, x->cap * sizeof(*x->rr));
		}
		x->rr[x->n++] = c;
	}
	assert_int_equal(p, len);
}

/* Run q through the pipeline over transport t with out_cap of room. */
static void xfr_run(const struct msg *q, const struct rwd_transport *t, size_t out_cap,
                    const struct sockaddr_in *from, struct xfr *x)
{
	static struct msg out;
	memset(x, 0, sizeof(*x));
	struct rwd_query qr = { .wire = q->b, .wire_len = q->len, .transport = t,
	                        .client = (const struct sockaddr *)from, .out = out.b,
	                        .out_cap = out_cap };
	rwd_query_begin(&snap, &qr);
	for (unsigned k = 0; k < 100000; k++) {
		size_t n = rwd_query_produce(&snap, &qr);
		assert_true(n > 0);
		parse(out.b, n, x, out_cap);
		if (!qr.more)
			break;
		assert_false(t->datagram);     /* one message over a datagram */
	}
	assert_false(qr.more);
	assert_int_equal(rwd_query_produce(&snap, &qr), 0);
}

static void free_xfr(struct xfr *x) { free(x->rr); }

static const struct rwd_rrset *soa_of(const struct rwd_zone *z)
{
	return rwd_node_rrset(z->apex, RW_TYPE_SOA);
}

/* c is the zone's SOA record with the served serial. */
static void assert_soa(const struct crec *c, const struct rwd_zone *z)
{
	assert_int_equal(c->type, RW_TYPE_SOA);
	assert_memory_equal(c->owner, z->apex_name, z->apex_len);
	assert_int_equal(c->ttl, soa_of(z)->ttl);
	assert_int_equal(rw_get32(c->rdata + c->rdlen - 20), z->serial);
	assert_memory_equal(c->rdata + c->rdlen - 16, rwd_soa_serial(soa_of(z)) + 4, 16);
}

static int crec_cmp(const void *a, const void *b)
{
	const struct crec *x = a, *y = b;
	int d = memcmp(x->owner, y->owner, sizeof(x->owner));
	if (d == 0)
		d = (int)x->type - (int)y->type;
	if (d == 0)
		d = (int)x->rdlen - (int)y->rdlen;
	return d ? d : memcmp(x->rdata, y->rdata, x->rdlen);
}

/* Records of z, the apex SOA aside. */
static size_t zone_records(const struct rwd_zone *z)
{
	size_t n = 0;
	for (size_t i = 0; i <= z->table_mask; i++) {
		const struct rwd_node *nd = z->table[i];
		for (unsigned r = 0; nd && r < nd->n_rrsets; r++)
			if (!(nd == z->apex && nd->rrsets[r].type == RW_TYPE_SOA))
				n += nd->rrsets[r].count;
	}
	return n;
}

/* x is an AXFR of z: SOA, every other record of z once (with its TTL), SOA. */
static void assert_axfr(struct xfr *x, const struct rwd_zone *z)
{
	assert_int_equal(x->rcode, RW_RCODE_NOERROR);
	assert_true(x->flags & RW_FLAG_AA);
	assert_true(x->n >= 2);
	assert_soa(&x->rr[0], z);
	assert_soa(&x->rr[x->n - 1], z);
	assert_int_equal(x->n - 2, zone_records(z));
	for (size_t i = 1; i + 1 < x->n; i++) {
		const struct crec *c = &x->rr[i];
		const struct rwd_node *nd = rwd_zone_find(z, c->owner, rw_dname_len(c->owner));
		assert_non_null(nd);
		const struct rwd_rrset *rs = rwd_node_rrset(nd, c->type);
		assert_non_null(rs);
		assert_false(nd == z->apex && c->type == RW_TYPE_SOA);
		bool found = false;
		RWD_RRSET_FOREACH(rs, rd, k) {
			struct crec zc;
			canon(&zc, rd + 2, rw_get16(rd));
			if (zc.full == c->full && zc.rdlen == c->rdlen && memcmp(zc.rdata, c->rdata, zc.rdlen) == 0)
				found = true;
		}
		if (!found)
			fail_msg("record %zu (type %u) is not the zone's", i, c->type);
		uint32_t ttl = c->type == RW_TYPE_RRSIG ? rw_get32(c->rdata + 4) : rs->ttl;
		assert_int_equal(c->ttl, ttl);
	}
	qsort(x->rr + 1, x->n - 2, sizeof(*x->rr), crec_cmp);
	for (size_t i = 2; i + 1 < x->n; i++)
		assert_int_not_equal(crec_cmp(&x->rr[i - 1], &x->rr[i]), 0);
}

/* ---- tests ---- */

static void test_decisions(void **state)
{
	struct msg q;
	struct xfr x;
	uint32_t serial = 1;
	static const struct { const char *name; uint16_t qtype; const struct sockaddr_in *from;
	                      uint8_t rcode; } c[] = {
		{ "www.example.com.", RW_TYPE_AXFR, &local, RW_RCODE_NOTAUTH },   /* not an apex */
		{ "example.org.", RW_TYPE_AXFR, &local, RW_RCODE_NOTAUTH },       /* no zone */
		{ "example.com.", RW_TYPE_AXFR, &other, RW_RCODE_REFUSED },       /* not in the rule */
		{ "failed.example.", RW_TYPE_AXFR, &local, RW_RCODE_SERVFAIL },   /* placeholder */
		{ "www.example.com.", RW_TYPE_IXFR, &local, RW_RCODE_NOTAUTH },
		{ "example.com.", RW_TYPE_IXFR, &other, RW_RCODE_REFUSED },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		mkq(&q, c[i].name, c[i].qtype, c[i].qtype == RW_TYPE_IXFR ? &serial : NULL, 0);
		xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, c[i].from, &x);
		assert_int_equal(x.rcode, c[i].rcode);
		assert_int_equal(x.n, 0);
		assert_int_equal(x.messages, 1);
		free_xfr(&x);
	}
	/* a placeholder says why, as for every query */
	mkq(&q, "failed.example.", RW_TYPE_AXFR, NULL, 1232);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_SERVFAIL);
	assert_int_equal(x.ede, 24 + 1);
	free_xfr(&x);
	/* IXFR without the client's SOA: FORMERR (as Knot) */
	mkq(&q, "example.com.", RW_TYPE_IXFR, NULL, 0);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_FORMERR);
	free_xfr(&x);
	/* No settings for the zone, or no rule: REFUSED. */
	snap.n_zone_settings = 0;
	mkq(&q, "example.com.", RW_TYPE_AXFR, NULL, 0);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_REFUSED);
	free_xfr(&x);
	snap.n_zone_settings = 4;
	settings[0].n_allow_transfer = 0;
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_REFUSED);
	free_xfr(&x);
	/* A rule with a key: the address alone is not enough. */
	settings[0].allow_transfer = &rule_key;
	settings[0].n_allow_transfer = 1;
	struct sockaddr_in nine = local;
	nine.sin_addr.s_addr = htonl(0x7f000009);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &nine, &x);
	assert_int_equal(x.rcode, RW_RCODE_REFUSED);
	free_xfr(&x);
	/* Two rules: the second admits. */
	struct rwd_xfr_rule two[2] = { rule_other, rule_local };
	settings[0].allow_transfer = two;
	settings[0].n_allow_transfer = 2;
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_NOERROR);
	free_xfr(&x);
	settings[0].allow_transfer = &rule_local;
	settings[0].n_allow_transfer = 1;
	/* AXFR over UDP: the filter stage's NOTIMP. */
	xfr_run(&q, &rwd_transport_udp, 4608, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_NOTIMP);
	free_xfr(&x);
}

static void test_axfr(void **state)
{
	struct msg q;
	struct xfr x;
	mkq(&q, "example.com.", RW_TYPE_AXFR, NULL, 0);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.messages, 1);
	assert_axfr(&x, zcom);
	/* "c1.s1.deep" after "n1.s1.deep": "c1" and a pointer to "s1.deep" */
	assert_true(x.partial >= 100);
	free_xfr(&x);
	/* The question in another case: the same records. */
	mkq(&q, "EXAMPLE.com.", RW_TYPE_AXFR, NULL, 1232);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_axfr(&x, zcom);
	free_xfr(&x);
	/* Little room: many messages, RRsets split between them. */
	for (size_t cap = 300; cap <= 1500; cap += 397) {
		xfr_run(&q, &rwd_transport_tcp, cap, &local, &x);
		assert_true(x.messages >= 5000 / cap);   /* about 5 KB of records */
		assert_axfr(&x, zcom);
		free_xfr(&x);
	}
	/* A zone larger than a message: messages of 16 KB (pointers reach no
	 * further), each as full as whole records allow. */
	mkq(&q, "big.example.", RW_TYPE_AXFR, NULL, 0);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_true(x.messages >= 16);
	assert_true(x.max_len <= 0x4000 && x.max_len > 0x4000 - 64);
	assert_axfr(&x, zbig);
	free_xfr(&x);
	/* A record larger than 16 KB: a message of its own, up to 64 KB. */
	mkq(&q, "huge.example.", RW_TYPE_AXFR, NULL, 0);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_true(x.max_len > 20000);
	assert_axfr(&x, zhuge);
	free_xfr(&x);
}

/* An uncompressed record into buf at *len. */
static void raw_rr(uint8_t *buf, size_t *len, const char *owner, uint16_t type, uint32_t ttl,
                   const void *rd, size_t rdlen)
{
	int n = tz_lname(owner, buf + *len);
	*len += (size_t)n;
	rw_put16(buf + *len, type);
	rw_put16(buf + *len + 2, RW_CLASS_IN);
	rw_put32(buf + *len + 4, ttl);
	rw_put16(buf + *len + 8, (uint16_t)rdlen);
	memcpy(buf + *len + 10, rd, rdlen);
	*len += 10 + rdlen;
}

static size_t soa_rdata(uint8_t *rd, uint32_t serial)
{
	size_t n = (size_t)tz_lname("ns1.example.com.", rd);
	n += (size_t)tz_lname("hostmaster.example.com.", rd + n);
	rw_put32(rd + n, serial);
	rw_put32(rd + n + 4, 7200);
	rw_put32(rd + n + 8, 3600);
	rw_put32(rd + n + 12, 1209600);
	rw_put32(rd + n + 16, 300);
	return n + 20;
}

/* A diff from -> to removing one A of www and adding another (by hand:
 * the layout of history.h). */
static struct rwd_zone_diff *mkdiff(uint32_t from, uint32_t to)
{
	struct rwd_zone_diff *d = calloc(1, sizeof(*d) + 1024);
	uint8_t rd[256];
	size_t len = 0;
	uint8_t a_old[4] = { 192, 0, 2, (uint8_t)from }, a_new[4] = { 192, 0, 2, (uint8_t)to };
	raw_rr(d->data, &len, "example.com.", RW_TYPE_SOA, 3600, rd, soa_rdata(rd, from));
	raw_rr(d->data, &len, "www.example.com.", RW_TYPE_A, 3600, a_old, 4);
	d->added_at = (uint32_t)len;
	raw_rr(d->data, &len, "example.com.", RW_TYPE_SOA, 3600, rd, soa_rdata(rd, to));
	raw_rr(d->data, &len, "new.example.com.", RW_TYPE_A, 60, a_new, 4);
	memset(rd, 'x', 151);
	rd[0] = 150;                       /* a TXT of 150 characters: two diffs pass 512 bytes */
	raw_rr(d->data, &len, "txt.example.com.", RW_TYPE_TXT, 60, rd, 151);
	d->refs = 1;
	d->serial_from = from;
	d->serial_to = to;
	d->n_removed = 1;
	d->n_added = 2;
	d->len = (uint32_t)len;
	return d;
}

/* x's records from index at are d's, in order. */
static void assert_diff(const struct xfr *x, size_t at, const struct rwd_zone_diff *d)
{
	struct xfr want = { 0 };
	uint8_t msg[2048];
	memset(msg, 0, RW_HDR_LEN);
	rw_put16(msg, 0x4242);
	msg[2] = RW_FLAG_QR;
	rw_put16(msg + RW_HDR_QDCOUNT, 1);
	rw_put16(msg + RW_HDR_ANCOUNT, 5);
	memcpy(msg + RW_HDR_LEN, "\x00\x00\x01\x00\x01", 5);
	memcpy(msg + RW_HDR_LEN + 5, d->data, d->len);
	parse(msg, RW_HDR_LEN + 5 + d->len, &want, sizeof(msg));
	assert_true(at + want.n <= x->n);
	for (size_t i = 0; i < want.n; i++) {
		assert_int_equal(crec_cmp(&x->rr[at + i], &want.rr[i]), 0);
		assert_int_equal(x->rr[at + i].ttl, want.rr[i].ttl);
	}
	free_xfr(&want);
}

static void test_ixfr(void **state)
{
	struct msg q;
	struct xfr x;
	uint32_t s0 = zcom->serial - 2, s1 = zcom->serial - 1, s2 = zcom->serial;
	struct rwd_zone_history *h = calloc(1, sizeof(*h) + 2 * sizeof(h->diffs[0]));
	h->refs = 1;
	h->n = 2;
	h->diffs[0] = mkdiff(s0, s1);
	h->diffs[1] = mkdiff(s1, s2);
	h->bytes = h->diffs[0]->len + h->diffs[1]->len;
	zcom->history = h;

	/* Up to date, or ahead of us (RFC 1982): the SOA alone. */
	uint32_t same[] = { s2, s2 + 1, s2 + 0x7fffffffu };
	for (size_t i = 0; i < 3; i++) {
		mkq(&q, "example.com.", RW_TYPE_IXFR, &same[i], 0);
		xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
		assert_int_equal(x.rcode, RW_RCODE_NOERROR);
		assert_int_equal(x.n, 1);
		assert_soa(&x.rr[0], zcom);
		free_xfr(&x);
	}
	/* From s0: both diffs; from s1: the second. Whatever the room. */
	for (size_t cap = 200; cap <= RW_MSG_MAXLEN; cap = cap * 4 > RW_MSG_MAXLEN && cap < RW_MSG_MAXLEN ? RW_MSG_MAXLEN : cap * 4) {
		mkq(&q, "example.com.", RW_TYPE_IXFR, &s0, 0);
		xfr_run(&q, &rwd_transport_tcp, cap, &local, &x);
		assert_int_equal(x.n, 1 + 5 + 5 + 1);
		assert_soa(&x.rr[0], zcom);
		assert_diff(&x, 1, h->diffs[0]);
		assert_diff(&x, 6, h->diffs[1]);
		assert_soa(&x.rr[11], zcom);
		free_xfr(&x);
		mkq(&q, "example.com.", RW_TYPE_IXFR, &s1, 0);
		xfr_run(&q, &rwd_transport_tcp, cap, &local, &x);
		assert_int_equal(x.n, 1 + 5 + 1);
		assert_diff(&x, 1, h->diffs[1]);
		assert_soa(&x.rr[6], zcom);
		free_xfr(&x);
	}
	/* Over UDP: the whole IXFR fits 1232 bytes; not 512 (no EDNS): the
	 * SOA alone (RFC 1995 2). */
	mkq(&q, "example.com.", RW_TYPE_IXFR, &s0, 1232);
	xfr_run(&q, &rwd_transport_udp, 4608, &local, &x);
	assert_int_equal(x.n, 12);
	assert_diff(&x, 1, h->diffs[0]);
	free_xfr(&x);
	mkq(&q, "example.com.", RW_TYPE_IXFR, &s0, 0);
	xfr_run(&q, &rwd_transport_udp, 4608, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_NOERROR);
	assert_int_equal(x.n, 1);
	assert_soa(&x.rr[0], zcom);
	free_xfr(&x);
	/* An unknown serial: the AXFR form over TCP (RFC 1995 4), the SOA
	 * alone over UDP. */
	uint32_t old = s0 - 5;
	mkq(&q, "example.com.", RW_TYPE_IXFR, &old, 1232);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_axfr(&x, zcom);
	free_xfr(&x);
	xfr_run(&q, &rwd_transport_udp, 4608, &local, &x);
	assert_int_equal(x.n, 1);
	free_xfr(&x);
	/* A history that does not lead to the served serial is not used. */
	zcom->serial++;
	mkq(&q, "example.com.", RW_TYPE_IXFR, &s1, 0);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_axfr(&x, zcom);
	free_xfr(&x);
	zcom->serial--;
	/* No history: AXFR form. */
	zcom->history = NULL;
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_axfr(&x, zcom);
	free_xfr(&x);
	zcom->history = h;                 /* freed with the zone */
}

static void test_limit_and_hold(void **state)
{
	static struct msg out[2];
	struct msg q;
	struct xfr x, xs[2] = { { 0 }, { 0 } };
	mkq(&q, "big.example.", RW_TYPE_AXFR, NULL, 0);
	snap.xfr_max_out = 2;
	struct rwd_query held[2];
	for (int i = 0; i < 2; i++) {
		held[i] = (struct rwd_query){ .wire = q.b, .wire_len = q.len,
		                              .transport = &rwd_transport_tcp,
		                              .client = (const struct sockaddr *)&local,
		                              .out = out[i].b, .out_cap = RW_MSG_MAXLEN };
		rwd_query_begin(&snap, &held[i]);
		assert_ptr_equal(held[i].xfr_zone, zbig);
		size_t n = rwd_query_produce(&snap, &held[i]);
		parse(out[i].b, n, &xs[i], RW_MSG_MAXLEN);
		assert_true(held[i].more);
		assert_int_equal(rwd_query_xfr_hold(&held[i]), 0);
	}
	assert_int_equal(rwd_query_xfr_running(), 2);
	assert_int_equal(__atomic_load_n(&zbig->refs, __ATOMIC_RELAXED), 3);
	/* a third: REFUSED; an IXFR answered by the SOA alone still goes */
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_REFUSED);
	free_xfr(&x);
	uint32_t up = zbig->serial;
	struct msg qi;
	mkq(&qi, "big.example.", RW_TYPE_IXFR, &up, 0);
	xfr_run(&qi, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_int_equal(x.rcode, RW_RCODE_NOERROR);
	assert_int_equal(x.n, 1);
	free_xfr(&x);
	/* one ends: room for one more */
	rwd_query_xfr_release(&held[0]);
	free_xfr(&xs[0]);
	assert_null(held[0].xfr_zone);
	assert_int_equal(rwd_query_xfr_running(), 1);
	xfr_run(&q, &rwd_transport_tcp, RW_MSG_MAXLEN, &local, &x);
	assert_axfr(&x, zbig);
	free_xfr(&x);
	/* A publication: the zone set that served big.example is freed and
	 * the new one does not have it; the held stream goes on from its
	 * version, to the end, whole. */
	struct rwd_zone **zones = malloc(2 * sizeof(*zones));
	zones[0] = zcom, zones[1] = zfail;
	rwd_zone_ref(zcom);
	rwd_zone_ref(zfail);
	struct rwd_snapshot next = snap;
	next.zones = rwd_zonedb_new(zones, 2);
	assert_non_null(next.zones);
	rwd_zonedb_free(snap.zones);
	snap.zones = next.zones;
	assert_int_equal(__atomic_load_n(&zbig->refs, __ATOMIC_RELAXED), 1);
	while (held[1].more) {
		size_t n = rwd_query_produce(&next, &held[1]);
		assert_true(n > 0);
		parse(out[1].b, n, &xs[1], RW_MSG_MAXLEN);
	}
	assert_axfr(&xs[1], zbig);
	free_xfr(&xs[1]);
	rwd_query_xfr_release(&held[1]);  /* frees big.example (ASan: no leak) */
	assert_int_equal(rwd_query_xfr_running(), 0);
	snap.xfr_max_out = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_axfr),
		cmocka_unit_test(test_ixfr),
		cmocka_unit_test(test_limit_and_hold),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
