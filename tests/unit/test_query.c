/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The in-process pipeline test (Knot DNS's middle layer): zones are loaded
 * from files into a snapshot, queries are crafted with the message builder,
 * rwd_query_process answers them in this thread (no RCU, no sockets), and
 * the response bytes are parsed back and checked: header flags, rcode,
 * counts, the question echoed byte for byte, compression (0xC00C for the
 * answer owner, relocated pointers for wildcard, negative and referral
 * answers behind question names of other lengths), truncation, additional
 * RRsets dropped whole, REFUSED + EDE, negative TTLs, DS at a cut,
 * referrals with glue, NSID, and the error replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/snapshot/snapshot.h"
#include "server/query/cookie.h"
#include "server/query/query.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

#define NSID "runway-test"
#define DS_HEX "061fc6d4da1789011cc99d3716aab0c59511be17772e3793082d964c68567af4"

static struct rwd_snapshot snap;

/* ---- zones ---- */

static char *example_com(void)
{
	static char text[16384];
	size_t o = (size_t)snprintf(text, sizeof(text),
		"$ORIGIN example.com.\n"
		"$TTL 3600\n"
		"@           SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
		"@           NS    ns1\n"
		"@           NS    ns2\n"
		"@           MX    10 mail\n"
		"ns1         A     192.0.2.1\n"
		"ns2         A     192.0.2.2\n"
		"ns2         AAAA  2001:db8::2\n"
		"mail        A     192.0.2.25\n"
		"mail        AAAA  2001:db8::25\n"
		"www         A     192.0.2.80\n"
		"www         AAAA  2001:db8::80\n"
		"alias       CNAME www\n"
		"chain1      CNAME alias\n"
		"dangling    CNAME nothere\n"
		"to-deleg    CNAME host.sub\n"
		"outside     CNAME www.example.net.\n"
		"host.ent    A     192.0.2.10\n"
		"*.wild      A     192.0.2.99\n"
		"*.wild      MX    10 mail\n"
		"exists.wild A     192.0.2.98\n"
		"host.ent.wild A   192.0.2.97\n"
		"to-ent      CNAME ent\n"
		"*.cwild     CNAME www\n"
		"*.dwild     CNAME nothere\n"
		"*.lw        CNAME x.lw\n"
		"*.self      CNAME *.self.example.com.\n"
		"*.mxself    MX    10 *.mxself.example.com.\n"
		"*.mxself    A     192.0.2.77\n"
		"sub         NS    ns1.sub\n"
		"sub         NS    ns2.sub\n"
		"sub         NS    ns.example.net.\n"
		"sub         DS    12345 13 2 " DS_HEX "\n"
		"ns1.sub     A     192.0.2.201\n"
		"ns2.sub     AAAA  2001:db8::202\n"
		"insecure    NS    ns1\n"
		"*.wdeleg    NS    ns.wdeleg\n"
		"ns.wdeleg   A     192.0.2.53\n"
		"child       NS    ns1.child\n"
		"child       DS    54321 13 2 " DS_HEX "\n"
		"ns1.child   A     192.0.2.211\n"
		"_sip._tcp   SRV   10 60 5060 sip\n"
		"sip         A     192.0.2.60\n"
		"dn          DNAME example.org.\n"
		"dl          DNAME l123456789012345678901234567890123456789012345678901234567890."
		"l123456789012345678901234567890123456789012345678901234567890.example.org.\n"
		"toorg       CNAME www.example.org.\n");
	/* 40 A records: about 680 bytes, over 512 and under 1232. */
	for (int i = 1; i <= 40; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "many A 198.51.100.%d\n", i);
	/* 10 TXT records of 250 characters: about 2.6 KB. */
	for (int i = 0; i < 10; i++) {
		o += (size_t)snprintf(text + o, sizeof(text) - o, "big TXT \"big-%02d-", i);
		for (int k = 0; k < 243; k++)
			text[o++] = (char)('a' + k % 26);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "\"\n");
	}
	/* 12 MX targets with A + AAAA: the MX RRset fits in 512, the addresses not. */
	for (int i = 1; i <= 12; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		                      "manymx MX %d mx%02d\n"
		                      "manymx-with-long-name MX %d mx%02d\n"
		                      "mx%02d A 192.0.2.%d\nmx%02d AAAA 2001:db8::%d\n",
		                      i, i, i, i, i, 100 + i, i, 100 + i);
	/* Two delegations to 12 servers each, over 512 bytes with their glue:
	 * the mx names are siblings (in the zone, not below sibdeleg), the
	 * others are below indeleg (in-domain glue, RFC 9471). */
	for (int i = 1; i <= 12; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		                      "sibdeleg NS mx%02d\n"
		                      "indeleg NS ns%02d.servers-with-long-names.indeleg\n"
		                      "ns%02d.servers-with-long-names.indeleg A 192.0.2.%d\n"
		                      "ns%02d.servers-with-long-names.indeleg AAAA 2001:db8::%d\n",
		                      i, i, i, 100 + i, i, 100 + i);
	return text;
}

static const char *const EXAMPLE_ORG =
	"$ORIGIN example.org.\n"
	"$TTL 120\n"
	"@    SOA  ns1.example.com. hostmaster.example.com. 5 7200 3600 1209600 600\n"
	"@    NS   ns1.example.com.\n"
	"www  A    192.0.2.180\n";

/* Delegated from example.com and served by us as well. */
static const char *const CHILD =
	"$ORIGIN child.example.com.\n"
	"$TTL 120\n"
	"@    SOA  ns1 hostmaster 9 7200 3600 1209600 600\n"
	"@    NS   ns1\n"
	"ns1  A    192.0.2.211\n"
	"www  A    192.0.2.212\n";

#define N_ZONES 3

static int setup(void **state)
{
	if (tz_mkdir("test_query") < 0)
		return -1;
	struct rwd_zone **zones = calloc(N_ZONES, sizeof(*zones));
	if (zones == NULL)
		return -1;
	static const struct { const char *origin, *file; } zf[N_ZONES] = {
		{ "example.com.", "example.com.zone" }, { "example.org.", "example.org.zone" },
		{ "child.example.com.", "child.example.com.zone" },
	};
	const char *texts[N_ZONES] = { example_com(), EXAMPLE_ORG, CHILD };
	for (int i = 0; i < N_ZONES; i++) {
		FILE *f = fopen(tz_path(zf[i].file), "w");
		if (f == NULL)
			return -1;
		fputs(texts[i], f);
		fclose(f);
		uint8_t apex[RW_DNAME_MAXLEN];
		rw_dname_from_str(zf[i].origin, NULL, apex);
		struct tz_report r = { 0 };
		zones[i] = rwd_zone_load(apex, tz_path(zf[i].file), tz_collect, &r);
		for (unsigned k = 0; k < r.n; k++)
			fprintf(stderr, "zone %s: %s\n", zf[i].origin, r.msg[k]);
		if (zones[i] == NULL || r.n != 0)
			return -1;
	}
	snap.zones = rwd_zonedb_new(zones, N_ZONES);
	snap.edns_udp_size = 1232;
	snap.nsid_len = (uint16_t)strlen(NSID);
	memcpy(snap.nsid, NSID, snap.nsid_len);
	return snap.zones ? 0 : -1;
}

static int teardown(void **state)
{
	rwd_zonedb_free(snap.zones);
	return tz_rmdir();
}

/* ---- queries ---- */

struct qopt {
	int edns;             /* EDNS payload, 0: no OPT */
	bool do_bit, nsid;
	uint8_t version;
	uint8_t flags1;       /* header byte 2 (opcode, RD, ...) */
	uint8_t flags2;
	uint16_t qclass;      /* 0: IN */
};

struct msg {
	uint8_t b[RW_MSG_MAXLEN];
	size_t len;
};

static void mkquery(struct msg *q, uint16_t id, const char *name, uint16_t qtype, const struct qopt *o)
{
	static const struct qopt none = { 0 };
	if (o == NULL)
		o = &none;
	uint8_t dn[RW_DNAME_MAXLEN];
	tz_name(name, dn);
	struct rw_msgbuilder b;
	assert_int_equal(rw_msgb_init(&b, q->b, sizeof(q->b), id, dn, qtype,
	                              o->qclass ? o->qclass : RW_CLASS_IN, true), 0);
	q->b[2] = o->flags1;
	q->b[3] = o->flags2;
	if (o->edns) {
		size_t rdlen_at = rw_msgb_put_opt(&b, (uint16_t)o->edns, 0, o->do_bit);
		b.buf[rdlen_at - 3] = o->version;
		if (o->nsid) {
			rw_msgb_put(&b, "\x00\x03\x00\x00", 4);
			rw_put16(b.buf + rdlen_at, 4);
		}
		rw_put16(q->b + RW_HDR_ARCOUNT, 1);
	}
	assert_false(b.overflow);
	q->len = b.len;
}

static size_t process(const struct msg *q, const struct rwd_transport *t, struct msg *r)
{
	struct rwd_query qr = {
		.wire = q->b, .wire_len = q->len, .transport = t,
		.out = r->b, .out_cap = t == &rwd_transport_tcp ? RW_MSG_MAXLEN : 4608,
	};
	memset(r->b, 0xdd, 64);
	r->len = rwd_query_process(&snap, &qr);
	assert_true(r->len <= qr.out_cap);
	return r->len;
}

/* ---- responses ---- */

struct rr {
	size_t at;              /* offset of the owner */
	uint8_t owner[RW_DNAME_MAXLEN];
	uint16_t type, cls, rdlen;
	uint32_t ttl;
	size_t rdata;           /* offset of the rdata */
};

struct resp {
	const uint8_t *w;
	size_t len;
	uint16_t id;
	uint8_t f1, f2;
	unsigned rcode;         /* with the OPT's extended bits */
	uint16_t qd, an, ns, ar;
	struct rr rr[128];      /* answer, authority, additional (OPT included) */
	const struct rr *opt;
};

#define FLAGS(r) ((r)->f1 & (RW_FLAG_QR | RW_FLAG_AA | RW_FLAG_TC | RW_FLAG_RD))

/* Parse a response strictly: every name decodes, nothing is left over.
 * Returns NULL or what is wrong. */
static const char *parse_resp_try(const struct msg *m, struct resp *r)
{
	static char err[256];
	memset(r, 0, sizeof(*r));
	r->w = m->b;
	r->len = m->len;
	if (m->len < RW_HDR_LEN)
		return "shorter than a header";
	r->id = rw_get16(m->b);
	r->f1 = m->b[2];
	r->f2 = m->b[3];
	r->rcode = m->b[3] & 0x0f;
	r->qd = rw_get16(m->b + 4);
	r->an = rw_get16(m->b + 6);
	r->ns = rw_get16(m->b + 8);
	r->ar = rw_get16(m->b + 10);
	size_t p = RW_HDR_LEN;
	uint8_t name[RW_DNAME_MAXLEN];
	for (unsigned i = 0; i < r->qd; i++) {
		if (rw_dname_unpack(m->b, m->len, &p, name) < 0 || p + 4 > m->len)
			return "question does not decode";
		p += 4;
	}
	unsigned n = (unsigned)r->an + r->ns + r->ar;
	if (n > 128)
		return "too many records for this test";
	for (unsigned i = 0; i < n; i++) {
		struct rr *rr = &r->rr[i];
		rr->at = p;
		if (rw_dname_unpack(m->b, m->len, &p, rr->owner) < 0) {
			snprintf(err, sizeof(err), "record %u: owner at offset %zu (%02x %02x) does not decode",
			         i, rr->at, m->b[rr->at], rr->at + 1 < m->len ? m->b[rr->at + 1] : 0);
			return err;
		}
		if (p + 10 > m->len)
			return "record cut short";
		rr->type = rw_get16(m->b + p);
		rr->cls = rw_get16(m->b + p + 2);
		rr->ttl = rw_get32(m->b + p + 4);
		rr->rdlen = rw_get16(m->b + p + 8);
		rr->rdata = p + 10;
		p += 10u + rr->rdlen;
		if (p > m->len)
			return "rdata runs past the end";
		if (rr->type == RW_TYPE_OPT) {
			if (r->opt != NULL || i < (unsigned)r->an + r->ns)
				return "misplaced or second OPT";
			r->opt = rr;
			r->rcode |= (rr->ttl >> 24) << 4;
		}
	}
	return p == m->len ? NULL : "bytes after the last record";
}

static void parse_resp(const struct msg *m, struct resp *r)
{
	const char *err = parse_resp_try(m, r);
	if (err)
		fail_msg("response of %zu bytes: %s", m->len, err);
}

/* The i-th record of a section. */
static const struct rr *an(const struct resp *r, unsigned i) { assert_true(i < r->an); return &r->rr[i]; }
static const struct rr *ns(const struct resp *r, unsigned i) { assert_true(i < r->ns); return &r->rr[r->an + i]; }
static const struct rr *ar(const struct resp *r, unsigned i) { assert_true(i < r->ar); return &r->rr[r->an + r->ns + i]; }

/* A name inside rdata, skip bytes in. */
static void rdata_name(const struct resp *r, const struct rr *rr, size_t skip, uint8_t *out)
{
	size_t p = rr->rdata + skip;
	int l = rw_dname_unpack(r->w, r->len, &p, out);
	if (l < 0)
		fail_msg("rdata name of record at %zu does not decode", rr->at);
}

static void assert_name(const uint8_t *got, const char *want)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	tz_name(want, dn);
	if (!rw_dname_eq(got, dn)) {
		char t[1024];
		rw_dname_to_str(got, t, sizeof(t));
		fail_msg("name is %s, want %s", t, want);
	}
}

/* Exactly, case included. */
static void assert_name_exact(const uint8_t *got, const char *want)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int l = tz_name(want, dn);
	if (rw_dname_len(got) != (size_t)l || memcmp(got, dn, (size_t)l) != 0) {
		char t[1024];
		rw_dname_to_str(got, t, sizeof(t));
		fail_msg("name is %s, want exactly %s", t, want);
	}
}

static void assert_rdata_name(const struct resp *r, const struct rr *rr, size_t skip, const char *want)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	rdata_name(r, rr, skip, dn);
	assert_name(dn, want);
}

/* Every name in the reply decodes: owners and the names inside NS, CNAME,
 * PTR, MX and SOA rdata. */
static void check_decodes(const struct resp *r, const char *what)
{
	unsigned n = (unsigned)r->an + r->ns + r->ar;
	for (unsigned i = 0; i < n; i++) {
		const struct rr *x = &r->rr[i];
		uint8_t dn[RW_DNAME_MAXLEN];
		size_t p = x->rdata;
		int names = 0;
		switch (x->type) {
		case RW_TYPE_NS: case RW_TYPE_CNAME: case RW_TYPE_PTR: names = 1; break;
		case RW_TYPE_MX: names = 1; p += 2; break;
		case RW_TYPE_SOA: names = 2; break;
		}
		for (int k = 0; k < names; k++)
			if (rw_dname_unpack(r->w, r->len, &p, dn) < 0)
				fail_msg("%s: record %u (type %u): rdata name %d does not decode", what, i,
				         x->type, k);
		if (names && x->type != RW_TYPE_SOA)
			assert_int_equal(p, x->rdata + x->rdlen);
		if (x->type == RW_TYPE_SOA)
			assert_int_equal(p + 20, x->rdata + x->rdlen);
	}
}

/* An EDNS option in the response's OPT; returns its data offset or 0. */
static size_t opt_option(const struct resp *r, uint16_t code, uint16_t *len)
{
	if (r->opt == NULL)
		return 0;
	size_t p = r->opt->rdata, end = p + r->opt->rdlen;
	while (p + 4 <= end) {
		uint16_t c = rw_get16(r->w + p), l = rw_get16(r->w + p + 2);
		assert_true(p + 4 + l <= end);
		if (c == code) {
			*len = l;
			return p + 4;
		}
		p += 4u + l;
	}
	return 0;
}

/*
 * Ask and parse; check what every reply shares: id, QR, opcode, RD copied,
 * one question echoed byte for byte.
 */
static void ask(const char *name, uint16_t qtype, const struct qopt *o,
                const struct rwd_transport *t, struct resp *r)
{
	static struct msg q, m;
	static uint16_t next_id = 0x1000;
	uint16_t id = next_id++;
	mkquery(&q, id, name, qtype, o);
	assert_true(process(&q, t, &m) > 0);
	static struct msg keep[4];
	static unsigned k;
	struct msg *mm = &keep[k++ % 4];   /* r points into it: keep a few alive */
	*mm = m;
	parse_resp(mm, r);
	assert_int_equal(r->id, id);
	assert_true(r->f1 & RW_FLAG_QR);
	assert_int_equal(r->f1 & 0x78, q.b[2] & 0x78);
	assert_int_equal(r->f1 & RW_FLAG_RD, q.b[2] & RW_FLAG_RD);
	assert_int_equal(r->qd, 1);
	size_t qlen = rw_dname_len(q.b + 12) + 4;
	assert_memory_equal(mm->b + 12, q.b + 12, qlen);
}

static void ask_udp(const char *name, uint16_t qtype, const struct qopt *o, struct resp *r)
{
	ask(name, qtype, o, &rwd_transport_udp, r);
}

static const struct qopt EDNS = { .edns = 1232 };

/* ---- answers ---- */

static void test_positive(void **state)
{
	struct resp r;
	struct qopt o = { .flags1 = RW_FLAG_RD, .flags2 = RW_FLAG_CD | RW_FLAG_AD };
	ask_udp("www.example.com.", RW_TYPE_A, &o, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA | RW_FLAG_RD);
	assert_int_equal(r.f2, RW_FLAG_CD);            /* CD copied, AD and RA not set */
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 0);
	assert_int_equal(r.ar, 0);
	assert_null(r.opt);
	const struct rr *a = an(&r, 0);
	assert_int_equal(rw_get16(r.w + a->at), 0xc00c);   /* owner: the question name */
	assert_int_equal(a->type, RW_TYPE_A);
	assert_int_equal(a->cls, RW_CLASS_IN);
	assert_int_equal(a->ttl, 3600);
	assert_int_equal(a->rdlen, 4);
	assert_memory_equal(r.w + a->rdata, "\xc0\x00\x02\x50", 4);
	assert_int_equal(r.len, 12 + 21 + 16);

	/* Without RD, RD stays clear. */
	ask_udp("www.example.com.", RW_TYPE_AAAA, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(an(&r, 0)->rdlen, 16);

	/* Header bits a query should not carry are ignored (AA, TC, Z, rcode). */
	struct qopt odd = { .flags1 = RW_FLAG_AA | RW_FLAG_TC, .flags2 = 0x40 | 0x0f };
	ask_udp("www.example.com.", RW_TYPE_A, &odd, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.f2, 0);
	assert_int_equal(r.an, 1);

	/* Another zone of the snapshot, and class ANY answered like IN. */
	ask_udp("www.example.org.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(an(&r, 0)->ttl, 120);
	struct qopt any = { .qclass = RW_CLASS_ANY };
	ask_udp("www.example.com.", RW_TYPE_A, &any, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(an(&r, 0)->cls, RW_CLASS_IN);
}

static void test_question_case(void **state)
{
	/* ask() checks the question bytes; here: the owner reads as the client spelled it. */
	static const char *names[] = { "WwW.ExAmPlE.CoM.", "WWW.EXAMPLE.COM.", "www.example.com." };
	for (int i = 0; i < 3; i++) {
		struct resp r;
		ask_udp(names[i], RW_TYPE_A, NULL, &r);
		assert_int_equal(r.an, 1);
		assert_int_equal(rw_get16(r.w + an(&r, 0)->at), 0xc00c);
		assert_name_exact(an(&r, 0)->owner, names[i]);
	}
	/* The apex MX: owner C00C, exchange compressed against the qname. */
	struct resp r;
	ask_udp("ExAmPlE.CoM.", RW_TYPE_MX, NULL, &r);
	assert_int_equal(r.an, 1);
	assert_name_exact(an(&r, 0)->owner, "ExAmPlE.CoM.");
	uint8_t dn[RW_DNAME_MAXLEN];
	rdata_name(&r, an(&r, 0), 2, dn);
	assert_name_exact(dn, "mail.ExAmPlE.CoM.");
	assert_int_equal(an(&r, 0)->rdlen, 2 + 5 + 2);
	/* Additional: mail A and AAAA, owner pointing at the exchange. */
	assert_int_equal(r.ar, 2);
	assert_int_equal(ar(&r, 0)->type, RW_TYPE_A);
	assert_int_equal(ar(&r, 1)->type, RW_TYPE_AAAA);
	assert_name(ar(&r, 0)->owner, "mail.example.com.");
	assert_name(ar(&r, 1)->owner, "mail.example.com.");
	assert_int_equal(rw_get16(r.w + ar(&r, 0)->at), 0xc000 | (an(&r, 0)->rdata + 2));
}

static void test_any_and_special_types(void **state)
{
	struct resp r;
	/* ANY (RFC 8482): one RRset, the lowest type: NS at the apex, with its glue. */
	ask_udp("example.com.", RW_TYPE_ANY, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 2);
	assert_int_equal(an(&r, 0)->type, RW_TYPE_NS);
	assert_int_equal(an(&r, 1)->type, RW_TYPE_NS);
	assert_int_equal(r.ar, 3);                 /* ns1 A, ns2 A, ns2 AAAA */
	ask_udp("alias.example.com.", RW_TYPE_ANY, NULL, &r);
	assert_int_equal(r.an, 1);
	assert_int_equal(an(&r, 0)->type, RW_TYPE_CNAME);
	ask_udp("host.ent.example.com.", RW_TYPE_ANY, NULL, &r);
	assert_int_equal(r.an, 1);
	ask_udp("ent.example.com.", RW_TYPE_ANY, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	ask_udp("nothing.example.com.", RW_TYPE_ANY, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NXDOMAIN);

	/* Transfers and type 0. */
	ask_udp("example.com.", RW_TYPE_AXFR, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOTIMP);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR);
	assert_int_equal(r.an + r.ns + r.ar, 0);
	ask("example.com.", RW_TYPE_AXFR, NULL, &rwd_transport_tcp, &r);
	assert_int_equal(r.rcode, RW_RCODE_REFUSED);   /* no allow_transfer (test_xfr.c) */
	ask_udp("example.com.", RW_TYPE_IXFR, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_REFUSED);
	ask_udp("www.example.com.", 0, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOTIMP);
	/* Meta types and absent types: NODATA. */
	static const uint16_t nodata[] = { RW_TYPE_OPT, RW_TYPE_MAILB, RW_TYPE_RRSIG, RW_TYPE_NSEC, 250, 65000 };
	for (size_t i = 0; i < sizeof(nodata) / sizeof(nodata[0]); i++) {
		ask_udp("www.example.com.", nodata[i], NULL, &r);
		assert_int_equal(r.rcode, RW_RCODE_NOERROR);
		assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
		assert_int_equal(r.an, 0);
		assert_int_equal(r.ns, 1);
		assert_int_equal(ns(&r, 0)->type, RW_TYPE_SOA);
	}
}

static void test_edns(void **state)
{
	struct resp r;
	struct qopt o = { .edns = 4096, .do_bit = true };
	ask_udp("www.example.com.", RW_TYPE_A, &o, &r);
	assert_int_equal(r.ar, 1);
	assert_non_null(r.opt);
	assert_int_equal(r.opt->owner[0], 0);
	assert_int_equal(r.opt->cls, 1232);            /* our payload, not the client's */
	assert_int_equal(r.opt->ttl, 0x00008000);      /* ext rcode 0, version 0, DO */
	assert_int_equal(r.opt->rdlen, 0);
	o.do_bit = false;
	ask_udp("www.example.com.", RW_TYPE_A, &o, &r);
	assert_int_equal(r.opt->ttl, 0);
	/* Unknown options are not echoed. */
	ask_udp("www.example.com.", RW_TYPE_A, &EDNS, &r);
	assert_int_equal(r.opt->rdlen, 0);
}

static void test_truncation(void **state)
{
	struct resp r;
	/* ~2.6 KB over UDP without EDNS: header + question only, TC, AA kept. */
	ask_udp("big.example.com.", RW_TYPE_TXT, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA | RW_FLAG_TC);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an + r.ns + r.ar, 0);
	assert_int_equal(r.len, 12 + 17 + 4);
	/* With EDNS (1232, or more asked): the same plus OPT. */
	struct qopt o = { .edns = 65535 };
	ask_udp("big.example.com.", RW_TYPE_TXT, &o, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA | RW_FLAG_TC);
	assert_int_equal(r.an + r.ns, 0);
	assert_int_equal(r.ar, 1);
	assert_non_null(r.opt);
	assert_int_equal(r.len, 12 + 17 + 4 + 11);
	/* Over TCP: complete. */
	ask("big.example.com.", RW_TYPE_TXT, NULL, &rwd_transport_tcp, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 10);
	assert_true(r.len > 2500);
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(an(&r, i)->rdlen, 251);
		char want[8];
		snprintf(want, sizeof(want), "big-%02u", i);
		assert_memory_equal(r.w + an(&r, i)->rdata + 1, want, 6);
	}

	/* 40 A: over 512, under 1232. */
	ask_udp("many.example.com.", RW_TYPE_A, NULL, &r);
	assert_true(r.f1 & RW_FLAG_TC);
	assert_int_equal(r.an, 0);
	assert_true(r.len <= 512);
	ask_udp("many.example.com.", RW_TYPE_A, &EDNS, &r);
	assert_false(r.f1 & RW_FLAG_TC);
	assert_int_equal(r.an, 40);
	assert_true(r.len > 512 && r.len <= 1232);
	/* A client payload under 512 means 512; between 512 and ours, the client's. */
	o.edns = 100;
	ask_udp("many.example.com.", RW_TYPE_A, &o, &r);
	assert_true(r.f1 & RW_FLAG_TC);
	o.edns = 600;
	ask_udp("many.example.com.", RW_TYPE_A, &o, &r);
	assert_true(r.f1 & RW_FLAG_TC);
	assert_true(r.len <= 600);
	o.edns = 700;
	ask_udp("many.example.com.", RW_TYPE_A, &o, &r);
	assert_false(r.f1 & RW_FLAG_TC);
	assert_true(r.len <= 700);
}

/* Records of (owner, type) in the additional section. */
static unsigned count_rrset(const struct resp *r, const uint8_t *owner, uint16_t type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->ar; i++)
		if (ar(r, i)->type == type && rw_dname_eq(ar(r, i)->owner, owner))
			n++;
	return n;
}

static void test_additional_dropped_whole(void **state)
{
	struct resp u, t;
	ask("manymx.example.com.", RW_TYPE_MX, NULL, &rwd_transport_tcp, &t);
	assert_int_equal(t.an, 12);
	assert_int_equal(t.ar, 24);
	for (unsigned i = 0; i < 12; i++) {
		char n[32];
		snprintf(n, sizeof(n), "mx%02u.example.com.", i + 1);
		assert_name(ar(&t, 2 * i)->owner, n);
		assert_int_equal(ar(&t, 2 * i)->type, RW_TYPE_A);
		assert_int_equal(ar(&t, 2 * i + 1)->type, RW_TYPE_AAAA);
	}
	ask_udp("manymx.example.com.", RW_TYPE_MX, NULL, &u);
	assert_int_equal(FLAGS(&u), RW_FLAG_QR | RW_FLAG_AA);     /* no TC */
	assert_int_equal(u.an, 12);
	assert_true(u.len <= 512);
	assert_true(u.ar > 0 && u.ar < 24);
	assert_name(ar(&u, 0)->owner, "mx01.example.com.");
	/* Whole RRsets only, each as complete as over TCP, with the same data. */
	for (unsigned i = 0; i < u.ar; i++) {
		const struct rr *x = ar(&u, i);
		assert_int_equal(count_rrset(&u, x->owner, x->type), count_rrset(&t, x->owner, x->type));
		bool found = false;
		for (unsigned k = 0; k < t.ar && !found; k++) {
			const struct rr *y = ar(&t, k);
			found = y->type == x->type && rw_dname_eq(y->owner, x->owner) &&
			        y->rdlen == x->rdlen && memcmp(u.w + x->rdata, t.w + y->rdata, x->rdlen) == 0;
		}
		assert_true(found);
	}
	/* Compression intact after the cut: MX exchanges read back. */
	for (unsigned i = 0; i < 12; i++) {
		char n[32];
		snprintf(n, sizeof(n), "mx%02u.example.com.", i + 1);
		assert_rdata_name(&u, an(&u, i), 2, n);
	}
	/* With EDNS 1232 everything fits. */
	ask_udp("manymx.example.com.", RW_TYPE_MX, &EDNS, &u);
	assert_int_equal(u.ar, 24 + 1);
	assert_false(u.f1 & RW_FLAG_TC);
}

/*
 * Knot DNS (docs/knot-differences.md, "Additional does not cause TC"):
 * additional RRsets that do not fit are skipped one by one, so a later,
 * smaller one can still go in ("mx05 AAAA did not fit, then mx06 A").
 * Here: every additional RRset left out over UDP must be one that did not
 * fit in the room that was left.
 */
static void test_additional_later_smaller_rrset_fits(void **state)
{
	/* The documented shape: mx05 AAAA left out, mx06 A in. */
	struct resp l;
	ask_udp("manymx-with-long-name.example.com.", RW_TYPE_MX, NULL, &l);
	uint8_t mx05[RW_DNAME_MAXLEN], mx06[RW_DNAME_MAXLEN];
	tz_name("mx05.example.com.", mx05);
	tz_name("mx06.example.com.", mx06);
	assert_int_equal(count_rrset(&l, mx05, RW_TYPE_A), 1);
	assert_int_equal(count_rrset(&l, mx05, RW_TYPE_AAAA), 0);
	assert_int_equal(count_rrset(&l, mx06, RW_TYPE_A), 1);
	assert_false(l.f1 & RW_FLAG_TC);

	static const char *names[] = { "manymx.example.com.", "manymx-with-long-name.example.com." };
	for (int k = 0; k < 2; k++) {
		struct resp u, t;
		ask(names[k], RW_TYPE_MX, NULL, &rwd_transport_tcp, &t);
		ask_udp(names[k], RW_TYPE_MX, NULL, &u);
		size_t room = 512 - u.len;
		for (unsigned i = 0; i < t.ar; i++) {
			const struct rr *x = ar(&t, i);
			if (count_rrset(&u, x->owner, x->type) != 0)
				continue;
			size_t size = (i + 1 < t.ar ? ar(&t, i + 1)->at : t.len) - x->at;
			if (size <= room) {
				char on[1024];
				rw_dname_to_str(x->owner, on, sizeof(on));
				fail_msg("%s MX over UDP/512: %u of 24 additional records, %zu bytes; "
				         "%s type %u (%zu bytes) left out though %zu bytes were free",
				         names[k], u.ar, u.len, on, x->type, size, room);
			}
		}
	}
}

static void test_refused(void **state)
{
	struct resp r;
	ask("www.example.net.", RW_TYPE_A, &EDNS, &rwd_transport_tcp, &r);
	assert_int_equal(r.rcode, RW_RCODE_REFUSED);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR);
	assert_int_equal(r.an + r.ns, 0);
	assert_int_equal(r.ar, 1);
	uint16_t len = 0;
	size_t at = opt_option(&r, RW_EDNS_EDE, &len);
	assert_true(at != 0);
	assert_int_equal(len, 2);
	assert_int_equal(rw_get16(r.w + at), 20);     /* Not Authoritative */
	/* Over UDP the EDE would make the answer larger than the query: left out. */
	ask_udp("www.example.net.", RW_TYPE_A, &EDNS, &r);
	assert_int_equal(r.rcode, RW_RCODE_REFUSED);
	assert_int_equal(opt_option(&r, RW_EDNS_EDE, &len), 0);
	assert_int_equal(r.len, 12 + 21 + 11);
	/* Without EDNS: no OPT, no EDE; just header + question. */
	ask_udp("www.example.net.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_REFUSED);
	assert_null(r.opt);
	assert_int_equal(r.len, 12 + 21);
	/* The root, a parent of a served zone, a sibling. */
	static const char *out[] = { ".", "com.", "example.", "xexample.com.", "example.co." };
	for (int i = 0; i < 5; i++) {
		ask(out[i], RW_TYPE_NS, &EDNS, &rwd_transport_tcp, &r);
		assert_int_equal(r.rcode, RW_RCODE_REFUSED);
		assert_true(opt_option(&r, RW_EDNS_EDE, &len) != 0);
	}
	/* Another class: REFUSED without EDE. */
	struct qopt ch = { .edns = 1232, .qclass = RW_CLASS_CH };
	ask_udp("www.example.com.", RW_TYPE_TXT, &ch, &r);
	assert_int_equal(r.rcode, RW_RCODE_REFUSED);
	assert_int_equal(opt_option(&r, RW_EDNS_EDE, &len), 0);
}

/* A negative answer: SOA of the apex in authority, owner/rdata names readable. */
static void check_negative(const struct resp *r, unsigned rcode, const char *apex, uint32_t ttl,
                           const char *mname, const char *rname)
{
	assert_int_equal(r->rcode, rcode);
	assert_int_equal(FLAGS(r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r->an, 0);
	assert_int_equal(r->ns, 1);
	const struct rr *soa = ns(r, 0);
	assert_int_equal(soa->type, RW_TYPE_SOA);
	assert_name(soa->owner, apex);
	assert_int_equal(soa->ttl, ttl);
	uint8_t m[RW_DNAME_MAXLEN], n[RW_DNAME_MAXLEN];
	size_t p = soa->rdata;
	assert_true(rw_dname_unpack(r->w, r->len, &p, m) > 0);
	assert_true(rw_dname_unpack(r->w, r->len, &p, n) > 0);
	assert_name(m, mname);
	assert_name(n, rname);
	assert_int_equal(p + 20, soa->rdata + soa->rdlen);
}

static void test_negative(void **state)
{
	struct resp r;
	/* NXDOMAIN behind question names shorter and longer than the stand-in. */
	static const char *nx[] = {
		"n.example.com.", "nothing.example.com.", "a.b.c.d.e.nothing.example.com.",
		"A-Much-Longer-Label-Than-The-Stand-In-Had.example.com.", "x.www.example.com.",
		"x.ent.example.com.", "x.exists.wild.example.com.", "a.*.wild.example.com.",
	};
	for (size_t i = 0; i < sizeof(nx) / sizeof(nx[0]); i++) {
		ask_udp(nx[i], RW_TYPE_A, NULL, &r);
		/* TTL = min(SOA TTL 3600, MINIMUM 300) */
		check_negative(&r, RW_RCODE_NXDOMAIN, "example.com.", 300, "ns1.example.com.",
		               "hostmaster.example.com.");
	}
	/* NODATA: an existing name without the type, ENTs, the apex. */
	static const char *nodata[] = { "www.example.com.", "ent.example.com.", "example.com.",
	                                "wild.example.com.", "exists.wild.example.com.", "EXAMPLE.COM." };
	for (size_t i = 0; i < sizeof(nodata) / sizeof(nodata[0]); i++) {
		ask_udp(nodata[i], RW_TYPE_TXT, &EDNS, &r);
		check_negative(&r, RW_RCODE_NOERROR, "example.com.", 300, "ns1.example.com.",
		               "hostmaster.example.com.");
		assert_int_equal(r.ar, 1);
	}
	/* example.org: SOA TTL 120 < MINIMUM 600 -> 120. */
	ask_udp("nothing.example.org.", RW_TYPE_A, NULL, &r);
	check_negative(&r, RW_RCODE_NXDOMAIN, "example.org.", 120, "ns1.example.com.",
	               "hostmaster.example.com.");
	ask_udp("example.org.", RW_TYPE_MX, NULL, &r);
	check_negative(&r, RW_RCODE_NOERROR, "example.org.", 120, "ns1.example.com.",
	               "hostmaster.example.com.");
	/* The SOA owner is the question's suffix, in the client's case. */
	ask_udp("NoThInG.ExAmPlE.CoM.", RW_TYPE_A, NULL, &r);
	assert_name_exact(ns(&r, 0)->owner, "ExAmPlE.CoM.");
}

static void test_ds_at_cut(void **state)
{
	struct resp r;
	static const char *q[] = { "sub.example.com.", "SuB.ExAmPlE.cOm." };
	for (int i = 0; i < 2; i++) {
		ask_udp(q[i], RW_TYPE_DS, NULL, &r);
		assert_int_equal(r.rcode, RW_RCODE_NOERROR);
		assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
		assert_int_equal(r.an, 1);
		assert_int_equal(r.ns + r.ar, 0);
		assert_int_equal(an(&r, 0)->type, RW_TYPE_DS);
		assert_int_equal(rw_get16(r.w + an(&r, 0)->at), 0xc00c);
		assert_int_equal(an(&r, 0)->rdlen, 36);
		assert_memory_equal(r.w + an(&r, 0)->rdata, "\x30\x39\x0d\x02\x06\x1f\xc6\xd4", 8);
	}
	/* An insecure cut: NODATA from the parent, AA. */
	ask_udp("insecure.example.com.", RW_TYPE_DS, NULL, &r);
	check_negative(&r, RW_RCODE_NOERROR, "example.com.", 300, "ns1.example.com.",
	               "hostmaster.example.com.");
	/* DS below the cut: a referral. */
	ask_udp("x.sub.example.com.", RW_TYPE_DS, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 3);
	assert_int_equal(ns(&r, 0)->type, RW_TYPE_NS);
}

/* A referral to sub.example.com: NS in authority, glue in additional. */
static void check_referral(const struct resp *r)
{
	assert_int_equal(r->rcode, RW_RCODE_NOERROR);
	assert_int_equal(FLAGS(r), RW_FLAG_QR);        /* AA=0 */
	assert_int_equal(r->an, 0);
	assert_int_equal(r->ns, 3);
	static const char *targets[] = { "ns1.sub.example.com.", "ns2.sub.example.com.", "ns.example.net." };
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(ns(r, i)->type, RW_TYPE_NS);
		assert_int_equal(ns(r, i)->ttl, 3600);
		assert_name(ns(r, i)->owner, "sub.example.com.");
		assert_rdata_name(r, ns(r, i), 0, targets[i]);
	}
	unsigned extra = r->opt ? 1 : 0;
	assert_int_equal(r->ar, 2 + extra);
	assert_name(ar(r, 0)->owner, "ns1.sub.example.com.");
	assert_int_equal(ar(r, 0)->type, RW_TYPE_A);
	assert_memory_equal(r->w + ar(r, 0)->rdata, "\xc0\x00\x02\xc9", 4);
	assert_name(ar(r, 1)->owner, "ns2.sub.example.com.");
	assert_int_equal(ar(r, 1)->type, RW_TYPE_AAAA);
}

/* The most specific zone answers; DS at a served child's apex is the parent's. */
static void test_child_zone(void **state)
{
	struct resp r;
	ask_udp("www.child.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(an(&r, 0)->ttl, 120);
	assert_memory_equal(r.w + an(&r, 0)->rdata, "\xc0\x00\x02\xd4", 4);
	ask_udp("child.example.com.", RW_TYPE_NS, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);     /* the child's NS, not a referral */
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 0);
	assert_int_equal(an(&r, 0)->ttl, 120);
	ask_udp("child.example.com.", RW_TYPE_SOA, NULL, &r);
	assert_int_equal(r.an, 1);
	assert_int_equal(an(&r, 0)->type, RW_TYPE_SOA);
	ask_udp("nothing.child.example.com.", RW_TYPE_A, NULL, &r);
	check_negative(&r, RW_RCODE_NXDOMAIN, "child.example.com.", 120, "ns1.child.example.com.",
	               "hostmaster.child.example.com.");
	/* DS at the child's apex: from the parent (RFC 4035 3.1.4.1). */
	ask_udp("Child.example.com.", RW_TYPE_DS, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(an(&r, 0)->type, RW_TYPE_DS);
	assert_memory_equal(r.w + an(&r, 0)->rdata, "\xd4\x31", 2);   /* key tag 54321 */
	/* DS below the child's apex: the child's NODATA. */
	ask_udp("www.child.example.com.", RW_TYPE_DS, NULL, &r);
	check_negative(&r, RW_RCODE_NOERROR, "child.example.com.", 120, "ns1.child.example.com.",
	               "hostmaster.child.example.com.");
	/* DS at an apex whose parent is not served: that zone's own NODATA. */
	ask_udp("example.com.", RW_TYPE_DS, NULL, &r);
	check_negative(&r, RW_RCODE_NOERROR, "example.com.", 300, "ns1.example.com.",
	               "hostmaster.example.com.");
	ask_udp("example.org.", RW_TYPE_DS, NULL, &r);
	check_negative(&r, RW_RCODE_NOERROR, "example.org.", 120, "ns1.example.com.",
	               "hostmaster.example.com.");
}

static void test_referral(void **state)
{
	struct resp r;
	static const char *q[] = {
		"sub.example.com.", "host.sub.example.com.", "a.b.c.host.sub.example.com.",
		"ns1.sub.example.com.", "Very-Long-Name-Below-The-Cut.SUB.example.com.", "x.sub.example.com.",
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		ask_udp(q[i], RW_TYPE_A, NULL, &r);
		check_referral(&r);
		ask(q[i], RW_TYPE_AAAA, &EDNS, &rwd_transport_tcp, &r);
		check_referral(&r);
	}
	ask_udp("sub.example.com.", RW_TYPE_NS, NULL, &r);
	check_referral(&r);
	ask_udp("sub.example.com.", RW_TYPE_ANY, NULL, &r);
	check_referral(&r);
	/* The NS owner is the question's own suffix, in the client's case. */
	ask_udp("HoSt.SuB.example.com.", RW_TYPE_A, NULL, &r);
	assert_name_exact(ns(&r, 0)->owner, "SuB.example.com.");
	ask_udp("SuB.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(rw_get16(r.w + ns(&r, 0)->at), 0xc00c);
	/* An insecure delegation to an in-zone name: its address in additional. */
	ask_udp("www.insecure.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR);
	assert_int_equal(r.ns, 1);
	assert_rdata_name(&r, ns(&r, 0), 0, "ns1.example.com.");
	assert_int_equal(r.ar, 1);
	assert_name(ar(&r, 0)->owner, "ns1.example.com.");
}

/*
 * A wildcard that owns NS (docs/knot-differences.md, "behaviour we match"):
 * "*.wdeleg" is a zone cut; "x.wdeleg A", "a.x.wdeleg A" and "*.wdeleg A"
 * all get a referral whose NS owner is the literal "*.wdeleg" (not
 * expanded), AA=0, glue in additional.
 */
static void test_wildcard_owning_ns(void **state)
{
	static const char *q[] = { "x.wdeleg.example.com.", "a.x.wdeleg.example.com.",
	                           "*.wdeleg.example.com.", "Longer-Name.wdeleg.example.com." };
	for (int i = 0; i < 4; i++) {
		struct resp r;
		ask_udp(q[i], RW_TYPE_A, NULL, &r);
		check_decodes(&r, q[i]);
		char owner[1024] = "-";
		if (r.ns > 0)
			rw_dname_to_str(ns(&r, 0)->owner, owner, sizeof(owner));
		bool ok = r.rcode == RW_RCODE_NOERROR && FLAGS(&r) == RW_FLAG_QR && r.an == 0 &&
		          r.ns == 1 && ns(&r, 0)->type == RW_TYPE_NS && r.ar == 1;
		uint8_t star[RW_DNAME_MAXLEN];
		tz_name("*.wdeleg.example.com.", star);
		ok = ok && rw_dname_eq(ns(&r, 0)->owner, star);
		if (!ok)
			fail_msg("%s A: rcode %u AA %d, %u/%u/%u records, first authority owner %s; "
			         "want a referral: AA=0, 0/1/1, NS owned by *.wdeleg.example.com.",
			         q[i], r.rcode, !!(r.f1 & RW_FLAG_AA), r.an, r.ns, r.ar, owner);
		assert_rdata_name(&r, ns(&r, 0), 0, "ns.wdeleg.example.com.");
		assert_name(ar(&r, 0)->owner, "ns.wdeleg.example.com.");
	}
	/* The glue's own name is ordinary data next to the cut. */
	struct resp r;
	ask_udp("ns.wdeleg.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
}

static void test_wildcard(void **state)
{
	struct resp r;
	static const char *q[] = {
		"Foo.Wild.example.com.", "a.wild.example.com.", "a.b.c.wild.example.com.",
		"a-label-much-longer-than-the-star.WILD.example.com.", "xy.wild.example.com.",
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		ask_udp(q[i], RW_TYPE_A, NULL, &r);
		assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
		assert_int_equal(r.an, 1);
		assert_int_equal(rw_get16(r.w + an(&r, 0)->at), 0xc00c);
		assert_name_exact(an(&r, 0)->owner, q[i]);
		assert_memory_equal(r.w + an(&r, 0)->rdata, "\xc0\x00\x02\x63", 4);

		/* MX: the exchange and the additional owner through relocated pointers. */
		ask_udp(q[i], RW_TYPE_MX, NULL, &r);
		assert_int_equal(r.an, 1);
		assert_name_exact(an(&r, 0)->owner, q[i]);
		assert_rdata_name(&r, an(&r, 0), 2, "mail.example.com.");
		assert_int_equal(r.ar, 2);
		assert_name(ar(&r, 0)->owner, "mail.example.com.");
		assert_name(ar(&r, 1)->owner, "mail.example.com.");
		assert_memory_equal(r.w + ar(&r, 0)->rdata, "\xc0\x00\x02\x19", 4);

		/* NODATA at a synthesised name. */
		ask_udp(q[i], RW_TYPE_TXT, NULL, &r);
		check_negative(&r, RW_RCODE_NOERROR, "example.com.", 300, "ns1.example.com.",
		               "hostmaster.example.com.");
	}
	/* The wildcard's own name is an ordinary name. */
	ask_udp("*.wild.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.an, 1);
	assert_name_exact(an(&r, 0)->owner, "*.wild.example.com.");
	/* Existing names block it, ENTs too. */
	ask_udp("exists.wild.example.com.", RW_TYPE_A, NULL, &r);
	assert_memory_equal(r.w + an(&r, 0)->rdata, "\xc0\x00\x02\x62", 4);
	ask_udp("exists.wild.example.com.", RW_TYPE_TXT, NULL, &r);
	check_negative(&r, RW_RCODE_NOERROR, "example.com.", 300, "ns1.example.com.",
	               "hostmaster.example.com.");
	ask_udp("ent.wild.example.com.", RW_TYPE_A, NULL, &r);
	check_negative(&r, RW_RCODE_NOERROR, "example.com.", 300, "ns1.example.com.",
	               "hostmaster.example.com.");
	ask_udp("x.ent.wild.example.com.", RW_TYPE_A, NULL, &r);
	check_negative(&r, RW_RCODE_NXDOMAIN, "example.com.", 300, "ns1.example.com.",
	               "hostmaster.example.com.");
	ask_udp("x.exists.wild.example.com.", RW_TYPE_A, NULL, &r);
	check_negative(&r, RW_RCODE_NXDOMAIN, "example.com.", 300, "ns1.example.com.",
	               "hostmaster.example.com.");
	/* A wildcard CNAME is followed. */
	ask_udp("Z.cwild.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 2);
	assert_name_exact(an(&r, 0)->owner, "Z.cwild.example.com.");
	assert_int_equal(an(&r, 0)->type, RW_TYPE_CNAME);
	assert_rdata_name(&r, an(&r, 0), 0, "www.example.com.");
	assert_name(an(&r, 1)->owner, "www.example.com.");
	assert_int_equal(an(&r, 1)->type, RW_TYPE_A);
}

/* Every name of the response decodes and reads as want[] (NULL: skip). */
static void check_names(const char *qname, uint16_t qtype, const char *const *want, unsigned n_want)
{
	struct msg q, m;
	struct resp r;
	mkquery(&q, 0x7777, qname, qtype, NULL);
	process(&q, &rwd_transport_udp, &m);
	const char *err = parse_resp_try(&m, &r);
	if (err)
		fail_msg("%s type %u: %s", qname, qtype, err);
	unsigned n = (unsigned)r.an + r.ns + r.ar;
	assert_int_equal(n, n_want / 2);
	for (unsigned i = 0; i < n; i++) {
		const struct rr *x = &r.rr[i];
		uint8_t rd[RW_DNAME_MAXLEN];
		size_t skip = x->type == RW_TYPE_MX ? 2 : 0, p = x->rdata + skip;
		const char *names[2] = { NULL, NULL };
		char t0[1024], t1[1024] = "(undecodable)";
		rw_dname_to_str(x->owner, t0, sizeof(t0));
		names[0] = t0;
		if (x->type == RW_TYPE_CNAME || x->type == RW_TYPE_MX) {
			if (rw_dname_unpack(r.w, r.len, &p, rd) > 0)
				rw_dname_to_str(rd, t1, sizeof(t1));
			names[1] = t1;
		}
		for (int k = 0; k < 2; k++) {
			const char *w = want[2 * i + k];
			if (w == NULL)
				continue;
			uint8_t a[RW_DNAME_MAXLEN], b[RW_DNAME_MAXLEN];
			tz_name(w, a);
			bool ok = names[k] && rw_dname_from_str(names[k], NULL, b) > 0 && rw_dname_eq(a, b);
			if (!ok)
				fail_msg("%s type %u: record %u %s reads %s, want %s", qname, qtype, i,
				         k ? "rdata name" : "owner", names[k] ? names[k] : "-", w);
		}
	}
}

/*
 * A wildcard whose answer names the wildcard owner itself: a CNAME to its
 * own "*" name (Knot: "foo.self CNAME *.self", "*.self CNAME *.self"), an
 * MX whose exchange is the "*" name (+ its address). Behind any synthesised
 * question name, "*.self.example.com." must read back as itself.
 */
static void test_wildcard_names_own_owner(void **state)
{
	static const char *q[] = { "foo.self.example.com.", "a.self.example.com.", "abc.self.example.com." };
	for (int i = 0; i < 3; i++) {
		const char *want[] = { q[i], "*.self.example.com.",
		                       "*.self.example.com.", "*.self.example.com." };
		check_names(q[i], RW_TYPE_A, want, 4);
	}
	static const char *mq[] = { "a.mxself.example.com.", "ab.mxself.example.com.",
	                            "abc.mxself.example.com." };
	for (int i = 0; i < 3; i++) {
		const char *want[] = { mq[i], "*.mxself.example.com.", "*.mxself.example.com.", NULL };
		check_names(mq[i], RW_TYPE_MX, want, 4);
	}
}

/* A name of exactly 255 octets: labels of 63 and one filler before suffix. */
static void long_name(char *out, const char *suffix, size_t suffix_flat)
{
	size_t room = RW_DNAME_MAXLEN - suffix_flat, o = 0;
	while (room > 64) {
		memset(out + o, 'L', 63);
		o += 63;
		out[o++] = '.';
		room -= 64;
	}
	memset(out + o, 'f', room - 1);
	o += room - 1;
	out[o++] = '.';
	strcpy(out + o, suffix);
	uint8_t dn[RW_DNAME_MAXLEN];
	assert_int_equal(tz_name(out, dn), RW_DNAME_MAXLEN);
}

static void test_long_qnames(void **state)
{
	static const struct { const char *suffix; uint16_t qtype; unsigned rcode; bool aa; } cases[] = {
		{ "wild.example.com.", RW_TYPE_MX, RW_RCODE_NOERROR, true },      /* synthesised */
		{ "wild.example.com.", RW_TYPE_TXT, RW_RCODE_NOERROR, true },     /* NODATA */
		{ "cwild.example.com.", RW_TYPE_A, RW_RCODE_NOERROR, true },      /* wildcard CNAME */
		{ "dwild.example.com.", RW_TYPE_A, RW_RCODE_NXDOMAIN, true },     /* ... to nowhere */
		{ "lw.example.com.", RW_TYPE_A, RW_RCODE_NOERROR, true },         /* ... looping */
		{ "nothing.example.com.", RW_TYPE_A, RW_RCODE_NXDOMAIN, true },
		{ "sub.example.com.", RW_TYPE_A, RW_RCODE_NOERROR, false },       /* referral */
		{ "insecure.example.com.", RW_TYPE_A, RW_RCODE_NOERROR, false },
		{ "example.org.", RW_TYPE_A, RW_RCODE_NXDOMAIN, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t sfx[RW_DNAME_MAXLEN];
		int sl = tz_name(cases[i].suffix, sfx);
		char name[1100];
		long_name(name, cases[i].suffix, (size_t)sl);
		for (int t = 0; t < 2; t++) {
			struct resp r;
			ask(name, cases[i].qtype, t ? &EDNS : NULL, t ? &rwd_transport_tcp : &rwd_transport_udp, &r);
			if (r.rcode != cases[i].rcode || !(r.f1 & RW_FLAG_AA) != !cases[i].aa)
				fail_msg("255-octet name under %s type %u: rcode %u aa %d", cases[i].suffix,
				         cases[i].qtype, r.rcode, !!(r.f1 & RW_FLAG_AA));
			assert_false(r.f1 & RW_FLAG_TC);
			check_decodes(&r, cases[i].suffix);
			if (r.an > 0)
				assert_name_exact(an(&r, 0)->owner, name);
			for (unsigned k = 0; k < r.ns; k++)
				if (ns(&r, k)->type == RW_TYPE_SOA || ns(&r, k)->type == RW_TYPE_NS)
					assert_true(rw_dname_is_sub(sfx, ns(&r, k)->owner) ||
					            rw_dname_is_sub(ns(&r, k)->owner, sfx) ||
					            ns(&r, k)->owner[0] != 0);
		}
	}
}

static void test_wildcard_chains(void **state)
{
	static const char *q[] = { "q.dwild.example.com.", "Longer-Label.dwild.example.com.",
	                           "a.b.dwild.example.com." };
	for (int i = 0; i < 3; i++) {
		struct resp r;
		ask_udp(q[i], RW_TYPE_A, NULL, &r);
		assert_int_equal(r.rcode, RW_RCODE_NXDOMAIN);
		assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
		assert_int_equal(r.an, 1);
		assert_name_exact(an(&r, 0)->owner, q[i]);
		assert_rdata_name(&r, an(&r, 0), 0, "nothere.example.com.");
		assert_int_equal(r.ns, 1);
		assert_name(ns(&r, 0)->owner, "example.com.");
		assert_int_equal(ns(&r, 0)->ttl, 300);
		check_decodes(&r, q[i]);
	}
	/* A wildcard CNAME into its own wildcard: each CNAME once (Knot DNS,
	 * tests/integration/test_wildcard.py: "x.loopwild CNAME x.loopwild"
	 * once). Asked for the target name itself, the synthesised CNAME and
	 * the chain's next step are the same record: it must not be sent twice
	 * (RFC 2181 5). */
	struct resp r;
	ask_udp("other.lw.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 2);
	assert_name_exact(an(&r, 0)->owner, "other.lw.example.com.");
	assert_rdata_name(&r, an(&r, 0), 0, "x.lw.example.com.");
	assert_name(an(&r, 1)->owner, "x.lw.example.com.");
	assert_rdata_name(&r, an(&r, 1), 0, "x.lw.example.com.");
	check_decodes(&r, "other.lw");
	ask_udp("x.lw.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.ns, 0);
	for (unsigned i = 0; i < r.an; i++) {
		assert_name(an(&r, i)->owner, "x.lw.example.com.");
		assert_rdata_name(&r, an(&r, i), 0, "x.lw.example.com.");
	}
	if (r.an != 1)
		fail_msg("x.lw.example.com. A: %u answer records, want 1: "
		         "\"x.lw.example.com. CNAME x.lw.example.com.\" is sent %u times", r.an, r.an);
}

/* Answers built at query time (body.c): DNAME synthesis and a chain into
 * example.org, served beside; the names compress against the question. */
static void test_dname_and_chain_across_zones(void **state)
{
	struct resp r;
	ask_udp("WWW.dn.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 3);
	assert_int_equal(r.ns + r.ar, 0);
	assert_int_equal(an(&r, 0)->type, RW_TYPE_DNAME);
	assert_name(an(&r, 0)->owner, "dn.example.com.");
	assert_int_equal(an(&r, 1)->type, RW_TYPE_CNAME);
	assert_name_exact(an(&r, 1)->owner, "WWW.dn.example.com.");
	assert_int_equal(an(&r, 1)->ttl, 3600);
	assert_rdata_name(&r, an(&r, 1), 0, "WWW.example.org.");
	assert_name(an(&r, 2)->owner, "www.example.org.");
	assert_int_equal(an(&r, 2)->type, RW_TYPE_A);
	/* NXDOMAIN in example.org, with its SOA and its negative TTL. */
	ask_udp("x.dn.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NXDOMAIN);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 2);
	assert_int_equal(r.ns, 1);
	assert_name(ns(&r, 0)->owner, "example.org.");
	assert_int_equal(ns(&r, 0)->ttl, 120);
	/* A plain CNAME into example.org. */
	ask_udp("toorg.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 2);
	assert_int_equal(an(&r, 1)->type, RW_TYPE_A);
	/* Too long once synthesized: YXDOMAIN, the DNAME alone (RFC 6672 2.2).
	 * 3 x 62-byte labels + dl.example.com (16) = 205 bytes; the target is
	 * 138, the result 327. */
	char q[RW_DNAME_MAXLEN * 4];
	snprintf(q, sizeof(q), "%.62s.%.62s.%.62s.dl.example.com.",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	         "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	ask_udp(q, RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, 6 /* YXDOMAIN */);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(an(&r, 0)->type, RW_TYPE_DNAME);
	/* A short name below fits: DNAME, CNAME, example.org's NXDOMAIN. */
	ask_udp("a.b.dl.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NXDOMAIN);
	assert_int_equal(r.an, 2);
	/* Over TCP the same. */
	ask("WWW.dn.example.com.", RW_TYPE_A, NULL, &rwd_transport_tcp, &r);
	assert_int_equal(r.an, 3);
}

/* RFC 9471: a referral too large for 512 bytes sends its NS RRset and what
 * glue fits; TC only when glue below the cut is left out. */
static void test_referral_glue_that_fits(void **state)
{
	struct resp r;
	ask_udp("www.sibdeleg.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR);
	assert_int_equal(r.ns, 12);
	assert_true(r.ar > 0 && r.ar < 24);
	assert_true(r.len <= 512);
	ask_udp("www.indeleg.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_TC);
	assert_int_equal(r.ns, 12);
	assert_true(r.ar > 0 && r.ar < 24);
	assert_true(r.len <= 512);
	/* With room: all of it, no TC. */
	ask_udp("www.indeleg.example.com.", RW_TYPE_A, &EDNS, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR);
	assert_int_equal(r.ar, 24 + 1);
}

static void test_cname(void **state)
{
	struct resp r;
	/* chain1 -> alias -> www A */
	ask_udp("Chain1.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 3);
	assert_int_equal(r.ns + r.ar, 0);
	assert_name_exact(an(&r, 0)->owner, "Chain1.example.com.");
	assert_rdata_name(&r, an(&r, 0), 0, "alias.example.com.");
	assert_name(an(&r, 1)->owner, "alias.example.com.");
	assert_rdata_name(&r, an(&r, 1), 0, "www.example.com.");
	assert_name(an(&r, 2)->owner, "www.example.com.");
	assert_int_equal(an(&r, 2)->type, RW_TYPE_A);
	/* qtype CNAME: the CNAME alone. */
	ask_udp("chain1.example.com.", RW_TYPE_CNAME, NULL, &r);
	assert_int_equal(r.an, 1);
	/* To a missing name: NXDOMAIN with the CNAME and the SOA (RFC 6604). */
	ask_udp("dangling.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NXDOMAIN);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 1);
	assert_int_equal(ns(&r, 0)->type, RW_TYPE_SOA);
	assert_int_equal(ns(&r, 0)->ttl, 300);
	/* To an ENT: NODATA with the CNAME. */
	ask_udp("to-ent.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_rdata_name(&r, an(&r, 0), 0, "ent.example.com.");
	assert_int_equal(r.ns, 1);
	assert_int_equal(ns(&r, 0)->type, RW_TYPE_SOA);
	/* Out of the zone: the CNAME only. */
	ask_udp("outside.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns + r.ar, 0);
	assert_rdata_name(&r, an(&r, 0), 0, "www.example.net.");
	/* Into a delegation: the CNAME, then the referral (AA stays). */
	ask_udp("to-deleg.example.com.", RW_TYPE_A, NULL, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 3);
	assert_name(ns(&r, 0)->owner, "sub.example.com.");
	assert_int_equal(r.ar, 2);
	assert_name(ar(&r, 0)->owner, "ns1.sub.example.com.");
}

static void test_nsid(void **state)
{
	struct resp r;
	uint16_t len = 0;
	struct qopt o = { .edns = 1232, .nsid = true };
	ask_udp("www.example.com.", RW_TYPE_A, &o, &r);
	size_t at = opt_option(&r, RW_EDNS_NSID, &len);
	assert_true(at != 0);
	assert_int_equal(len, strlen(NSID));
	assert_memory_equal(r.w + at, NSID, len);
	assert_int_equal(r.opt->rdlen, 4 + strlen(NSID));
	/* Not asked: not sent. */
	ask_udp("www.example.com.", RW_TYPE_A, &EDNS, &r);
	assert_int_equal(opt_option(&r, RW_EDNS_NSID, &len), 0);
	/* With EDE on a REFUSED, both options (over TCP: over UDP an error is
	 * no larger than the query, test_error_not_amplified). */
	ask("www.example.net.", RW_TYPE_A, &o, &rwd_transport_tcp, &r);
	assert_true(opt_option(&r, RW_EDNS_NSID, &len) != 0);
	assert_true(opt_option(&r, RW_EDNS_EDE, &len) != 0);
	/* On a truncated reply too (room is kept for the OPT). */
	ask_udp("big.example.com.", RW_TYPE_TXT, &o, &r);
	assert_true(r.f1 & RW_FLAG_TC);
	assert_true(opt_option(&r, RW_EDNS_NSID, &len) != 0);
	/* Not configured: not sent. */
	uint16_t saved = snap.nsid_len;
	snap.nsid_len = 0;
	ask_udp("www.example.com.", RW_TYPE_A, &o, &r);
	snap.nsid_len = saved;
	assert_int_equal(opt_option(&r, RW_EDNS_NSID, &len), 0);
	assert_int_equal(r.opt->rdlen, 0);
	/* An answer that just fits 1232 without NSID still fits with it. */
	ask_udp("many.example.com.", RW_TYPE_A, &o, &r);
	assert_true(r.len <= 1232);
}

/* ---- error replies ---- */

static size_t raw(const uint8_t *wire, size_t len, const struct rwd_transport *t, struct msg *out)
{
	struct msg q;
	memcpy(q.b, wire, len);
	q.len = len;
	return process(&q, t, out);
}

static void test_errors(void **state)
{
	struct msg q, m;
	struct resp r;

	/* QR=1 and short messages: nothing. */
	mkquery(&q, 0x4444, "www.example.com.", RW_TYPE_A, NULL);
	q.b[2] |= RW_FLAG_QR;
	assert_int_equal(process(&q, &rwd_transport_udp, &m), 0);
	assert_int_equal(raw(q.b, 11, &rwd_transport_udp, &m), 0);
	assert_int_equal(raw(q.b, 0, &rwd_transport_tcp, &m), 0);

	/* QDCOUNT 0 without EDNS: FORMERR, header only. */
	mkquery(&q, 0x4445, "www.example.com.", RW_TYPE_A, NULL);
	q.b[2] = RW_FLAG_RD;
	rw_put16(q.b + 4, 0);
	assert_int_equal(raw(q.b, 12, &rwd_transport_udp, &m), 12);
	parse_resp(&m, &r);
	assert_int_equal(r.id, 0x4445);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR | RW_FLAG_RD);
	assert_int_equal(r.rcode, RW_RCODE_FORMERR);
	assert_int_equal(r.qd + r.an + r.ns + r.ar, 0);

	/* Trailing garbage: FORMERR with the question echoed, no OPT. */
	struct qopt e = { .edns = 1232, .nsid = true };
	mkquery(&q, 0x4446, "WwW.example.com.", RW_TYPE_A, &e);
	memcpy(q.b + q.len, "\xde\xad\xbe\xef", 4);
	q.len += 4;
	process(&q, &rwd_transport_udp, &m);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_FORMERR);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an + r.ns + r.ar, 0);
	assert_memory_equal(m.b + 12, q.b + 12, 21);
	assert_int_equal(m.len, 12 + 21);

	/* Unknown opcode: NOTIMP, opcode echoed, question echoed, an OPT (as
	 * every answer to EDNS); RD and CD not copied (they are QUERY's). */
	struct qopt op = { .edns = 1232, .flags1 = (2 << 3) | RW_FLAG_RD, .flags2 = RW_FLAG_CD };
	mkquery(&q, 0x4447, "www.example.com.", RW_TYPE_A, &op);
	process(&q, &rwd_transport_udp, &m);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOTIMP);
	assert_int_equal(r.f1, RW_FLAG_QR | (2 << 3));
	assert_int_equal(r.f2, RW_RCODE_NOTIMP);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an + r.ns, 0);
	assert_int_equal(r.ar, 1);
	assert_non_null(r.opt);
	assert_true(m.len <= q.len);
	/* The same without a question (RFC 8906 3.1.4): NOTIMP, not FORMERR. */
	rw_put16(q.b + 4, 0);
	memmove(q.b + 12, q.b + 12 + 21, q.len - 12 - 21);
	q.len -= 21;
	process(&q, &rwd_transport_udp, &m);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOTIMP);
	assert_int_equal(r.qd, 0);
	assert_int_equal(r.ar, 1);
	assert_int_equal(m.len, q.len);

	/* EDNS version 1: BADVERS (16: 0 in the header, 1 in the OPT), OPT
	 * version 0 with our payload, AA=0, question echoed. */
	struct qopt v1 = { .edns = 4096, .version = 1, .do_bit = true };
	mkquery(&q, 0x4448, "www.example.com.", RW_TYPE_A, &v1);
	process(&q, &rwd_transport_udp, &m);
	parse_resp(&m, &r);
	assert_int_equal(r.f2 & 0x0f, 0);
	assert_int_equal(r.rcode, RW_RCODE_BADVERS);
	assert_int_equal(FLAGS(&r), RW_FLAG_QR);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an + r.ns, 0);
	assert_int_equal(r.ar, 1);
	assert_non_null(r.opt);
	assert_int_equal(r.opt->cls, 1232);
	assert_int_equal(r.opt->ttl, 0x01008000);
	assert_true(m.len <= q.len);
}

/*
 * A reply to a message that is not a well-formed query is never larger than
 * the message (no amplification from garbage): also for BADVERS with NSID.
 */
static void test_badvers_not_amplified(void **state)
{
	struct msg q, m;
	struct qopt v1 = { .edns = 1232, .version = 1, .nsid = true };
	mkquery(&q, 0x4449, "www.example.com.", RW_TYPE_A, &v1);
	size_t n = process(&q, &rwd_transport_udp, &m);
	if (n > q.len)
		fail_msg("BADVERS reply of %zu bytes to a %zu-byte query (NSID option echoed with %u bytes)",
		         n, q.len, snap.nsid_len);
}

/* A query with EDNS (payload 1232) and these options; qname NULL: no question. */
static void mkquery_opts(struct msg *q, uint16_t id, const char *name, uint16_t qtype,
                         const void *opts, size_t len)
{
	if (name != NULL) {
		mkquery(q, id, name, qtype, NULL);
	} else {
		memset(q->b, 0, RW_HDR_LEN);
		rw_put16(q->b, id);
		q->len = RW_HDR_LEN;
	}
	uint8_t *o = q->b + q->len;
	o[0] = 0;
	rw_put16(o + 1, RW_TYPE_OPT);
	rw_put16(o + 3, 1232);
	memset(o + 5, 0, 4);
	rw_put16(o + 9, (uint16_t)len);
	memcpy(o + 11, opts, len);
	q->len += 11 + len;
	rw_put16(q->b + RW_HDR_ARCOUNT, 1);
}

#define NSID_OPT "\x00\x03\x00\x00"
#define COOKIE_OPT "\x00\x0a\x00\x08" "\x01\x02\x03\x04\x05\x06\x07\x08"
#define EXPIRE_OPT "\x00\x09\x00\x00"

/*
 * An error over UDP to a client without a valid server cookie is no larger
 * than its query: NSID, EXPIRE, EDE, then the cookie are left out as needed.
 * Over TCP, or with a valid server cookie, every option is there.
 */
static void test_error_not_amplified(void **state)
{
	struct msg q, m;
	struct resp r;
	uint16_t len;
	bool saved = snap.cookies;
	snap.cookies = true;
	/* REFUSED (EDE 20), NSID and a client cookie asked: 89 bytes before. */
	static const char both[] = NSID_OPT COOKIE_OPT EXPIRE_OPT;
	mkquery_opts(&q, 0x5001, "www.example.net.", RW_TYPE_A, both, sizeof(both) - 1);
	assert_true(process(&q, &rwd_transport_udp, &m) <= q.len);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_REFUSED);
	assert_non_null(r.opt);
	size_t udp_len = m.len;
	assert_int_equal(process(&q, &rwd_transport_tcp, &m), udp_len + 4 + strlen(NSID) + 6 + 28);
	parse_resp(&m, &r);
	assert_true(opt_option(&r, RW_EDNS_NSID, &len) && opt_option(&r, RW_EDNS_EDE, &len));
	assert_true(opt_option(&r, RW_EDNS_COOKIE, &len) && len == 24);
	/* What fits stays: the EDE goes before the cookie (74-byte query:
	 * 72 bytes with the cookie, 78 with the EDE too). */
	static const char pad[] = COOKIE_OPT "\xfd\xe9\x00\x0e" "01234567890123";
	mkquery_opts(&q, 0x5002, "www.example.net.", RW_TYPE_A, pad, sizeof(pad) - 1);
	assert_true(process(&q, &rwd_transport_udp, &m) <= q.len);
	parse_resp(&m, &r);
	assert_true(opt_option(&r, RW_EDNS_COOKIE, &len) != 0);
	assert_int_equal(opt_option(&r, RW_EDNS_EDE, &len), 0);
	/* A valid server cookie: the client proved its address, all options. */
	uint8_t valid[4 + 24];
	memcpy(valid, "\x00\x0a\x00\x18", 4);
	memcpy(valid + 4, COOKIE_OPT + 4, 8);
	rwd_cookie_make(snap.cookie_secret, valid + 4, NULL, (uint32_t)time(NULL), valid + 12);
	uint8_t opts[sizeof(valid) + 4];
	memcpy(opts, valid, sizeof(valid));
	memcpy(opts + sizeof(valid), NSID_OPT, 4);
	mkquery_opts(&q, 0x5003, "www.example.net.", RW_TYPE_A, opts, sizeof(opts));
	assert_true(process(&q, &rwd_transport_udp, &m) > q.len);
	parse_resp(&m, &r);
	assert_true(opt_option(&r, RW_EDNS_NSID, &len) && opt_option(&r, RW_EDNS_EDE, &len));
	/* NOTIMP with NSID asked: within the query over UDP, NSID over TCP. */
	mkquery_opts(&q, 0x5004, "www.example.com.", RW_TYPE_A, NSID_OPT, 4);
	q.b[2] = 15 << 3;
	assert_true(process(&q, &rwd_transport_udp, &m) <= q.len);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOTIMP);
	assert_int_equal(opt_option(&r, RW_EDNS_NSID, &len), 0);
	process(&q, &rwd_transport_tcp, &m);
	parse_resp(&m, &r);
	assert_true(opt_option(&r, RW_EDNS_NSID, &len) != 0);
	/* An answer (not an error) is not held to the query's size. */
	mkquery_opts(&q, 0x5005, "www.example.com.", RW_TYPE_A, NSID_OPT, 4);
	assert_true(process(&q, &rwd_transport_udp, &m) > q.len);
	snap.cookies = saved;
}

/* RFC 7314: EXPIRE asked, the zone's SOA EXPIRE answered (UDP and TCP);
 * no zone, no EXPIRE. */
static void test_expire(void **state)
{
	struct msg q, m;
	struct resp r;
	uint16_t len;
	static const struct { const char *name; uint16_t qtype; unsigned rcode; uint32_t expire; } c[] = {
		{ "example.com.", RW_TYPE_SOA, RW_RCODE_NOERROR, 1209600 },
		{ "www.example.com.", RW_TYPE_A, RW_RCODE_NOERROR, 1209600 },
		{ "nowhere.example.com.", RW_TYPE_A, RW_RCODE_NXDOMAIN, 1209600 },
		{ "www.example.org.", RW_TYPE_A, RW_RCODE_NOERROR, 1209600 },
		{ "www.example.net.", RW_TYPE_A, RW_RCODE_REFUSED, 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (int tcp = 0; tcp < 2; tcp++) {
			mkquery_opts(&q, 0x5100, c[i].name, c[i].qtype, EXPIRE_OPT, 4);
			process(&q, tcp ? &rwd_transport_tcp : &rwd_transport_udp, &m);
			parse_resp(&m, &r);
			assert_int_equal(r.rcode, c[i].rcode);
			size_t at = opt_option(&r, RW_EDNS_EXPIRE, &len);
			if (c[i].expire == 0) {
				assert_int_equal(at, 0);
				continue;
			}
			assert_true(at != 0);
			assert_int_equal(len, 4);
			assert_int_equal(rw_get32(r.w + at), c[i].expire);
		}
	}
}

/* RFC 7873 5.4: a header-only query with a client cookie gets NOERROR and
 * a server cookie; without one, FORMERR with an OPT. */
static void test_header_only_cookie(void **state)
{
	struct msg q, m;
	struct resp r;
	uint16_t len;
	bool saved = snap.cookies;
	snap.cookies = true;
	mkquery_opts(&q, 0x5200, NULL, 0, COOKIE_OPT NSID_OPT, 16);
	assert_int_equal(process(&q, &rwd_transport_udp, &m), 12 + 11 + 28);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_NOERROR);
	assert_int_equal(r.qd + r.an + r.ns, 0);
	size_t at = opt_option(&r, RW_EDNS_COOKIE, &len);
	assert_true(at != 0 && len == 24);
	assert_memory_equal(r.w + at, COOKIE_OPT + 4, 8);
	/* Cookies off: the question is missing, FORMERR (with the OPT). */
	snap.cookies = false;
	process(&q, &rwd_transport_udp, &m);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_FORMERR);
	assert_int_equal(r.ar, 1);
	assert_true(m.len <= q.len);
	snap.cookies = saved;
	/* A malformed option: FORMERR with an OPT without options (RFC 6891 7). */
	mkquery_opts(&q, 0x5201, "www.example.com.", RW_TYPE_A, "\x00\x08\x00\x04\x00\x01\x20\x00", 8);
	process(&q, &rwd_transport_tcp, &m);
	parse_resp(&m, &r);
	assert_int_equal(r.rcode, RW_RCODE_FORMERR);
	assert_non_null(r.opt);
	assert_int_equal(r.opt->rdlen, 0);
}

/* ---- the pipeline contract: begin, produce, stages ---- */

/* A producer as a zone transfer will be: one A record a message, three messages. */
static enum rwd_stage_result three_messages(const struct rwd_snapshot *s, struct rwd_query *qr,
                                            uint8_t *p, size_t room)
{
	if (room < 16)
		return RWD_DROP;
	memcpy(p, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02", 15);
	p[15] = (uint8_t)(100 + qr->cursor);
	qr->body_len = 16;
	qr->body_an = 1;
	return ++qr->cursor < 3 ? RWD_MORE : RWD_DONE;
}

static void test_pipeline_contract(void **state)
{
	struct msg q, m;
	struct resp r;
	/* Every stage has a name, each its own. */
	for (int i = 0; i < RWD_STAGES; i++) {
		assert_non_null(rwd_stage_names[i]);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(rwd_stage_names[i], rwd_stage_names[k]);
	}
	/* Which stage decided: lookup for an answer, zone for a name we do not
	 * serve, filter for a class, parse for garbage (dropped). */
	static const struct { const char *name; uint16_t qclass; uint8_t f1; int stage, state; } c[] = {
		{ "www.example.com.", RW_CLASS_IN, 0, RWD_STAGE_LOOKUP, RWD_DONE },
		{ "www.example.net.", RW_CLASS_IN, 0, RWD_STAGE_ZONE, RWD_DONE },
		{ "www.example.com.", RW_CLASS_CH, 0, RWD_STAGE_FILTER, RWD_DONE },
		{ "www.example.com.", RW_CLASS_IN, RW_FLAG_QR, RWD_STAGE_PARSE, RWD_DROP },
		{ "www.example.com.", RW_CLASS_IN, 15 << 3, RWD_STAGE_PARSE, RWD_DONE },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct qopt o = { .qclass = c[i].qclass, .flags1 = c[i].f1 };
		mkquery(&q, 0x5300, c[i].name, RW_TYPE_A, &o);
		struct rwd_query qr = { .wire = q.b, .wire_len = q.len, .transport = &rwd_transport_udp,
		                        .out = m.b, .out_cap = 4608 };
		rwd_query_begin(&snap, &qr);
		assert_int_equal(qr.stage, c[i].stage);
		assert_int_equal(qr.state, c[i].state);
		size_t n = rwd_query_produce(&snap, &qr);
		assert_true(c[i].state == RWD_DROP ? n == 0 : n > 0);
		assert_false(qr.more);
		assert_int_equal(rwd_query_produce(&snap, &qr), 0);   /* nothing after the last */
		/* begin + produce is what rwd_query_process does, byte for byte. */
		struct msg m2;
		struct rwd_query qr2 = { .wire = q.b, .wire_len = q.len, .transport = &rwd_transport_udp,
		                         .out = m2.b, .out_cap = 4608 };
		assert_int_equal(rwd_query_process(&snap, &qr2), n);
		assert_memory_equal(m.b, m2.b, n);
	}
	/* A stage answering in several messages (a transfer): produce again
	 * while qr.more; each message has the header and question, its body. */
	mkquery(&q, 0x5301, "www.example.com.", RW_TYPE_A, NULL);
	struct rwd_query qr = { .wire = q.b, .wire_len = q.len, .transport = &rwd_transport_tcp,
	                        .out = m.b, .out_cap = RW_MSG_MAXLEN };
	rwd_query_begin(&snap, &qr);
	qr.answer = NULL;                  /* as the transfer stage will set it */
	qr.producer = three_messages;
	for (int k = 0; k < 3; k++) {
		m.len = rwd_query_produce(&snap, &qr);
		assert_int_equal(m.len, 12 + 21 + 16);
		parse_resp(&m, &r);
		assert_int_equal(r.id, 0x5301);
		assert_int_equal(r.qd, 1);
		assert_int_equal(r.an, 1);
		assert_int_equal(r.w[m.len - 1], 100 + k);
		assert_int_equal(qr.more, k < 2);
	}
	assert_int_equal(rwd_query_produce(&snap, &qr), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive),
		cmocka_unit_test(test_question_case),
		cmocka_unit_test(test_any_and_special_types),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_additional_dropped_whole),
		cmocka_unit_test(test_additional_later_smaller_rrset_fits),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_ds_at_cut),
		cmocka_unit_test(test_child_zone),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_wildcard_owning_ns),
		cmocka_unit_test(test_wildcard_names_own_owner),
		cmocka_unit_test(test_wildcard_chains),
		cmocka_unit_test(test_long_qnames),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_referral_glue_that_fits),
		cmocka_unit_test(test_dname_and_chain_across_zones),
		cmocka_unit_test(test_nsid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_badvers_not_amplified),
		cmocka_unit_test(test_error_not_amplified),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_header_only_cookie),
		cmocka_unit_test(test_pipeline_contract),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
