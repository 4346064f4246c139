/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for messages (src/lib/pkt.c, src/lib/rdata.c): every outcome of
 * rw_query_parse (OK, DROP, FORMERR, NOTIMP, BADVERS) and the EDNS fields it
 * extracts, where the TSIG RR is, NOTIFY; rw_rr_skip; the message builder's name compression, its
 * relocation list (checked by moving a section behind another question) and
 * its all-or-nothing overflow; rw_rdata_put / rw_rdata_check /
 * rw_rdata_target for the name-bearing types.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/zone/zone.h"   /* rwd_name_hash: rw_query.qname_hash is its value */

#define W(s) ((const uint8_t *)(s))

/* ---- a tiny raw message writer, for queries the builder cannot produce ---- */

struct raw {
	uint8_t b[2048];
	size_t len;
};

static void raw_put(struct raw *r, const void *p, size_t n)
{
	assert_true(r->len + n <= sizeof(r->b));
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

static void raw_u8(struct raw *r, uint8_t v) { raw_put(r, &v, 1); }
static void raw_u16(struct raw *r, uint16_t v) { uint8_t x[2]; rw_put16(x, v); raw_put(r, x, 2); }
static void raw_u32(struct raw *r, uint32_t v) { uint8_t x[4]; rw_put32(x, v); raw_put(r, x, 4); }

static void raw_name(struct raw *r, const char *str)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int n = rw_dname_from_str(str, NULL, dn);
	assert_true(n > 0);
	raw_put(r, dn, (size_t)n);
}

static void raw_hdr(struct raw *r, uint16_t id, uint8_t f1, uint8_t f2,
                    uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	r->len = 0;
	raw_u16(r, id);
	raw_u8(r, f1);
	raw_u8(r, f2);
	raw_u16(r, qd);
	raw_u16(r, an);
	raw_u16(r, ns);
	raw_u16(r, ar);
}

static void raw_question(struct raw *r, const char *name, uint16_t type, uint16_t cls)
{
	raw_name(r, name);
	raw_u16(r, type);
	raw_u16(r, cls);
}

/* OPT RR: root owner, payload, ext rcode, version, DO, then raw options. */
static void raw_opt(struct raw *r, uint16_t udp, uint8_t ext, uint8_t version, bool do_bit,
                    const void *opts, uint16_t opts_len)
{
	raw_u8(r, 0);
	raw_u16(r, RW_TYPE_OPT);
	raw_u16(r, udp);
	raw_u8(r, ext);
	raw_u8(r, version);
	raw_u16(r, do_bit ? 0x8000 : 0);
	raw_u16(r, opts_len);
	if (opts_len)
		raw_put(r, opts, opts_len);
}

/* A plain query with one question and optionally an OPT record. */
static void raw_query(struct raw *r, uint16_t id, uint8_t f1, const char *name, uint16_t type,
                      bool edns)
{
	raw_hdr(r, id, f1, 0, 1, 0, 0, edns ? 1 : 0);
	raw_question(r, name, type, RW_CLASS_IN);
	if (edns)
		raw_opt(r, 1232, 0, 0, false, NULL, 0);
}

static enum rw_parse parse(const struct raw *r, struct rw_query *q)
{
	memset(q, 0xa5, sizeof(*q));   /* the parser must set what it reports */
	return rw_query_parse(r->b, r->len, q);
}

/* ---- rw_query_parse ---- */

static void test_parse_ok(void **state)
{
	struct raw r;
	struct rw_query q;
	raw_query(&r, 0xbeef, RW_FLAG_RD, "WwW.ExAmPlE.CoM.", RW_TYPE_AAAA, false);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags1, RW_FLAG_RD);
	assert_int_equal(q.flags2, 0);
	assert_int_equal(q.opcode, RW_OPCODE_QUERY);
	assert_int_equal(q.qtype, RW_TYPE_AAAA);
	assert_int_equal(q.qclass, RW_CLASS_IN);
	assert_int_equal(q.qname_len, 17);
	assert_int_equal(q.question_len, 21);
	assert_memory_equal(q.qname, "\x03www\x07" "example\x03" "com", 17);   /* lowercased */
	assert_false(q.edns.present);
	assert_false(q.edns.do_bit);
	assert_false(q.edns.nsid);
	/* The wire itself is not touched: the question is echoed from it. */
	assert_memory_equal(r.b + 12, "\x03WwW\x07" "ExAmPlE\x03" "CoM", 17);

	/* Only ASCII is lowercased; other bytes are data. */
	raw_hdr(&r, 1, 0, 0, 1, 0, 0, 0);
	raw_put(&r, "\x03\xc4Z[\x00", 5);
	raw_u16(&r, RW_TYPE_A);
	raw_u16(&r, RW_CLASS_IN);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_memory_equal(q.qname, "\x03\xc4z[\x00", 5);

	/* The root as qname; other classes and header bits are not judged here. */
	raw_hdr(&r, 2, RW_FLAG_AA | RW_FLAG_TC, RW_FLAG_AD | RW_FLAG_CD | 0x05, 1, 0, 0, 0);
	raw_question(&r, ".", RW_TYPE_NS, RW_CLASS_CH);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_int_equal(q.qname_len, 1);
	assert_int_equal(q.question_len, 5);
	assert_int_equal(q.qclass, RW_CLASS_CH);
	assert_int_equal(q.flags1, RW_FLAG_AA | RW_FLAG_TC);
	assert_int_equal(q.flags2, RW_FLAG_AD | RW_FLAG_CD | 0x05);

	/* A 255-octet qname. */
	char name[300];
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		memset(name + o, 'a', 63);
		o += 63;
		name[o++] = '.';
	}
	memset(name + o, 'b', 61);
	strcpy(name + o + 61, ".");
	raw_query(&r, 3, 0, name, RW_TYPE_A, true);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_int_equal(q.qname_len, 255);
	assert_int_equal(q.question_len, 259);
	assert_true(q.edns.present);
}

static void test_parse_other_records(void **state)
{
	struct raw r;
	struct rw_query q;
	/* A well-formed record in answer / authority is skipped (Knot answers). */
	raw_hdr(&r, 7, 0, 0, 1, 1, 1, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_u16(&r, 0xc00c);                 /* compressed owner */
	raw_u16(&r, RW_TYPE_A); raw_u16(&r, RW_CLASS_IN); raw_u32(&r, 60);
	raw_u16(&r, 4); raw_u32(&r, 0xc0000201);
	raw_name(&r, "x.example.com.");
	raw_u16(&r, RW_TYPE_TXT); raw_u16(&r, RW_CLASS_IN); raw_u32(&r, 60);
	raw_u16(&r, 2); raw_put(&r, "\x01z", 2);
	raw_opt(&r, 4096, 0, 0, true, NULL, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_true(q.edns.present);
	assert_true(q.edns.do_bit);
	assert_int_equal(q.edns.udp_size, 4096);

	/* OPT after another additional record (a TSIG there would be FORMERR:
	 * test_parse_tsig). */
	raw_hdr(&r, 8, 0, 0, 1, 0, 0, 2);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_name(&r, "key.");
	raw_u16(&r, RW_TYPE_TXT); raw_u16(&r, RW_CLASS_IN); raw_u32(&r, 0);
	raw_u16(&r, 0);
	raw_opt(&r, 1400, 0, 0, false, NULL, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_int_equal(q.edns.udp_size, 1400);
}

static void test_parse_drop(void **state)
{
	struct raw r;
	struct rw_query q;
	raw_query(&r, 0x1234, 0, "www.example.com.", RW_TYPE_A, false);
	for (size_t len = 0; len < RW_HDR_LEN; len++)
		assert_int_equal(rw_query_parse(r.b, len, &q), RW_PARSE_DROP);
	/* QR=1: never answer an answer, whatever follows. */
	raw_query(&r, 0x1234, RW_FLAG_QR, "www.example.com.", RW_TYPE_A, false);
	assert_int_equal(parse(&r, &q), RW_PARSE_DROP);
	raw_hdr(&r, 0x1234, RW_FLAG_QR | RW_FLAG_AA, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_DROP);
	raw_hdr(&r, 0x1234, RW_FLAG_QR, 0, 5, 5, 5, 5);
	raw_put(&r, "garbage", 7);
	assert_int_equal(parse(&r, &q), RW_PARSE_DROP);
	assert_int_equal(q.question_len, 0);
	/* A header-only message with QR=0 is answered (no question), not dropped. */
	raw_hdr(&r, 0x1234, 0, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_NOQUESTION);
}

/* FORMERR without a question: id, flags1 and opcode still valid. */
static void formerr_no_question(const struct raw *r, uint16_t id)
{
	struct rw_query q;
	assert_int_equal(parse(r, &q), RW_PARSE_FORMERR);
	assert_int_equal(q.id, id);
	assert_int_equal(q.question_len, 0);
	assert_int_equal(q.flags1, r->b[2]);
	assert_int_equal(q.opcode, RW_OPCODE(r->b[2]));
}

static void test_parse_formerr_question(void **state)
{
	struct raw r;
	/* QDCOUNT 0 with bytes behind the header (header only: NOQUESTION). */
	raw_hdr(&r, 0x0102, 0, 0, 0, 0, 0, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	formerr_no_question(&r, 0x0102);
	/* QDCOUNT 2, with two questions present. */
	raw_hdr(&r, 0x0103, 0, 0, 2, 0, 0, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_question(&r, "www.example.com.", RW_TYPE_AAAA, RW_CLASS_IN);
	formerr_no_question(&r, 0x0103);
	raw_hdr(&r, 0x0104, 0, 0, 0xffff, 0, 0, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	formerr_no_question(&r, 0x0104);

	/* The question cut short at every length. */
	raw_query(&r, 0x0105, 0, "www.example.com.", RW_TYPE_A, false);
	struct raw cut = r;
	for (size_t len = RW_HDR_LEN; len < r.len; len++) {
		cut.len = len;
		formerr_no_question(&cut, 0x0105);
	}

	/* A compression pointer as qname (nothing precedes it to point to). */
	raw_hdr(&r, 0x0106, 0, 0, 1, 0, 0, 0);
	raw_put(&r, "\x03www\xc0\x0c", 6);
	raw_u16(&r, RW_TYPE_A); raw_u16(&r, RW_CLASS_IN);
	formerr_no_question(&r, 0x0106);
	/* Extended label types, a label of 64. */
	raw_hdr(&r, 0x0107, 0, 0, 1, 0, 0, 0);
	raw_put(&r, "\x41", 1);
	for (int i = 0; i < 65; i++)
		raw_u8(&r, 'a');
	raw_u8(&r, 0);
	raw_u16(&r, RW_TYPE_A); raw_u16(&r, RW_CLASS_IN);
	formerr_no_question(&r, 0x0107);
	r.b[12] = 64;
	formerr_no_question(&r, 0x0107);
	/* A qname of 256 octets (each label valid). */
	raw_hdr(&r, 0x0108, 0, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		raw_u8(&r, 63);
		for (int k = 0; k < 63; k++)
			raw_u8(&r, 'a');
	}
	raw_u8(&r, 62);
	for (int k = 0; k < 62; k++)
		raw_u8(&r, 'b');
	raw_u8(&r, 0);
	raw_u16(&r, RW_TYPE_A); raw_u16(&r, RW_CLASS_IN);
	formerr_no_question(&r, 0x0108);
}

/* FORMERR after the question was read: it is echoed, so question_len is set;
 * opt: whether the OPT was sound enough to be echoed (edns.present). */
static void formerr_with_question(const struct raw *r, uint16_t question_len, bool opt)
{
	struct rw_query q;
	assert_int_equal(parse(r, &q), RW_PARSE_FORMERR);
	assert_int_equal(q.question_len, question_len);
	assert_int_equal(q.qname_len, question_len - 4);
	assert_int_equal(q.edns.present, opt);
	assert_int_equal(q.edns.malformed, opt);
}

static void test_parse_formerr_records(void **state)
{
	struct raw r;
	/* Trailing garbage after the question, and after the OPT. */
	raw_query(&r, 1, 0, "www.example.com.", RW_TYPE_A, false);
	raw_u8(&r, 0);
	formerr_with_question(&r, 21, false);
	raw_query(&r, 1, 0, "www.example.com.", RW_TYPE_A, true);
	raw_put(&r, "\x00\x00", 2);
	formerr_with_question(&r, 21, false);

	/* ANCOUNT 1 but no record; ARCOUNT 1 with half an OPT. */
	raw_hdr(&r, 2, 0, 0, 1, 1, 0, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	formerr_with_question(&r, 21, false);
	raw_query(&r, 2, 0, "www.example.com.", RW_TYPE_A, true);
	r.len -= 3;
	formerr_with_question(&r, 21, false);
	/* A record whose RDLENGTH runs past the end. */
	raw_query(&r, 2, 0, "www.example.com.", RW_TYPE_A, true);
	rw_put16(r.b + r.len - 2, 1);
	formerr_with_question(&r, 21, false);

	/* OPT in the answer and in the authority section. */
	raw_hdr(&r, 3, 0, 0, 1, 1, 0, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, NULL, 0);
	formerr_with_question(&r, 21, false);
	raw_hdr(&r, 3, 0, 0, 1, 0, 1, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, NULL, 0);
	formerr_with_question(&r, 21, false);

	/* Two OPT records. */
	raw_hdr(&r, 4, 0, 0, 1, 0, 0, 2);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, NULL, 0);
	raw_opt(&r, 1232, 0, 0, false, NULL, 0);
	formerr_with_question(&r, 21, false);

	/* OPT owned by a name other than the root: flat, and a pointer. */
	raw_hdr(&r, 5, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_name(&r, "a.");
	raw_u16(&r, RW_TYPE_OPT); raw_u16(&r, 1232); raw_u32(&r, 0); raw_u16(&r, 0);
	formerr_with_question(&r, 21, true);
	raw_hdr(&r, 5, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_u16(&r, 0xc00c);
	raw_u16(&r, RW_TYPE_OPT); raw_u16(&r, 1232); raw_u32(&r, 0); raw_u16(&r, 0);
	formerr_with_question(&r, 21, true);

	/* Malformed options: length past the RDATA, header cut short. */
	raw_hdr(&r, 6, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, "\x00\x03\x00\x01", 4);   /* NSID, 1 byte, none there */
	formerr_with_question(&r, 21, true);
	raw_hdr(&r, 6, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, "\x00\x0a\x00\x08" "1234567", 11);
	formerr_with_question(&r, 21, true);
	raw_hdr(&r, 6, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, "\x00\x03\x00", 3);
	formerr_with_question(&r, 21, true);
	/* A good option followed by a bad one. */
	raw_hdr(&r, 6, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, "\x00\x03\x00\x00" "\x00\x0f\x00\x03\x00\x00", 10);
	formerr_with_question(&r, 21, true);
}

static void test_parse_badvers(void **state)
{
	struct raw r;
	struct rw_query q;
	for (unsigned v = 1; v <= 255; v += 127) {
		raw_hdr(&r, 0x4242, RW_FLAG_RD, 0, 1, 0, 0, 1);
		raw_question(&r, "Www.Example.Com.", RW_TYPE_A, RW_CLASS_IN);
		raw_opt(&r, 4096, 0, (uint8_t)v, true, "\x00\x03\x00\x00", 4);
		assert_int_equal(parse(&r, &q), RW_PARSE_BADVERS);
		assert_int_equal(q.id, 0x4242);
		assert_int_equal(q.flags1, RW_FLAG_RD);
		assert_int_equal(q.question_len, 21);
		assert_memory_equal(q.qname, "\x03www\x07" "example\x03" "com", 17);
		assert_true(q.edns.present);
		assert_int_equal(q.edns.version, v);
		assert_true(q.edns.do_bit);
		assert_false(q.edns.nsid);   /* options of another version are not read */
	}
	/* A malformed message with version 1 is FORMERR (structure first). */
	raw_hdr(&r, 0x4242, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 4096, 0, 1, false, NULL, 0);
	raw_u8(&r, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
}

static void test_parse_notimp(void **state)
{
	static const uint8_t opcodes[] = { 1, 2, 3, 6, 15 };
	struct raw r;
	struct rw_query q;
	for (size_t i = 0; i < sizeof(opcodes); i++) {
		uint8_t f1 = (uint8_t)(opcodes[i] << 3) | RW_FLAG_RD;
		raw_query(&r, 0x5151, f1, "www.example.com.", RW_TYPE_A, i % 2);
		assert_int_equal(parse(&r, &q), RW_PARSE_NOTIMP);
		assert_int_equal(q.opcode, opcodes[i]);
		assert_int_equal(q.flags1, f1);
		assert_int_equal(q.id, 0x5151);
		assert_int_equal(q.question_len, 21);
		assert_int_equal(q.qtype, RW_TYPE_A);
	}
	/* Without a question too (RFC 8906 3.1.4: the opcode decides), with or
	 * without EDNS; a malformed one is FORMERR. */
	raw_hdr(&r, 0x5151, 15 << 3, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_NOTIMP);
	assert_false(q.edns.present);
	raw_hdr(&r, 0x5151, 15 << 3, 0, 0, 0, 0, 1);
	raw_opt(&r, 1232, 0, 0, false, "\x00\x03\x00\x00", 4);
	assert_int_equal(parse(&r, &q), RW_PARSE_NOTIMP);
	assert_true(q.edns.present && q.edns.nsid);
	assert_int_equal(q.question_len, 0);
	raw_hdr(&r, 0x5151, 2 << 3, 0, 0, 0, 0, 0);
	raw_u8(&r, 0);
	formerr_no_question(&r, 0x5151);
	/* EDNS version 1 with an unknown opcode: BADVERS (as Knot DNS). */
	raw_hdr(&r, 0x5151, 15 << 3, 0, 0, 0, 0, 1);
	raw_opt(&r, 1232, 0, 1, false, NULL, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_BADVERS);
}

/* A TSIG RR (RFC 8945), its rdata opaque here: key name, type, class ANY,
 * TTL 0, then rdlen bytes. */
static void raw_tsig(struct raw *r, const char *key, uint16_t rdlen)
{
	raw_name(r, key);
	raw_u16(r, 250);
	raw_u16(r, RW_CLASS_ANY);
	raw_u32(r, 0);
	raw_u16(r, rdlen);
	for (uint16_t i = 0; i < rdlen; i++)
		raw_u8(r, (uint8_t)i);
}

/* Where the TSIG RR is: the last record of the additional section, after
 * an OPT or alone; elsewhere, or twice, FORMERR (RFC 8945 5.1, as Knot).
 * Unsigned queries say tsig_at 0. */
static void test_parse_tsig(void **state)
{
	struct raw r;
	struct rw_query q;
	raw_query(&r, 1, 0, "www.example.com.", RW_TYPE_A, false);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_int_equal(q.tsig_at, 0);
	assert_int_equal(q.tsig_len, 0);

	raw_hdr(&r, 1, 0, 0, 1, 0, 0, 2);
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, NULL, 0);
	size_t at = r.len;
	raw_tsig(&r, "xfr.", 30);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_true(q.edns.present);
	assert_int_equal(q.tsig_at, at);
	assert_int_equal(q.tsig_len, r.len - at);

	raw_hdr(&r, 1, 0, 0, 1, 0, 0, 1);   /* alone, without EDNS */
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	at = r.len;
	raw_tsig(&r, "xfr.", 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_false(q.edns.present);
	assert_int_equal(q.tsig_at, at);
	assert_int_equal(q.tsig_len, 5 + 10);

	/* before the OPT */
	raw_hdr(&r, 1, 0, 0, 1, 0, 0, 2);
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	raw_tsig(&r, "xfr.", 30);
	raw_opt(&r, 1232, 0, 0, false, NULL, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	assert_false(q.edns.present);
	/* twice */
	raw_hdr(&r, 1, 0, 0, 1, 0, 0, 2);
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	raw_tsig(&r, "xfr.", 30);
	raw_tsig(&r, "xfr.", 30);
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	/* last, but in the authority section (or the answer section) */
	raw_hdr(&r, 1, 0, 0, 1, 0, 1, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	raw_tsig(&r, "xfr.", 30);
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	raw_hdr(&r, 1, 0, 0, 1, 1, 0, 0);
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	raw_tsig(&r, "xfr.", 30);
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	/* cut short, or followed by garbage: FORMERR, no TSIG reported */
	raw_hdr(&r, 1, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	raw_tsig(&r, "xfr.", 30);
	r.len--;
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	assert_int_equal(q.tsig_at, 0);
	r.len += 2;
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	assert_int_equal(q.tsig_at, 0);
	/* a NOTIMP opcode still says where its TSIG is (its answer is signed) */
	raw_hdr(&r, 1, 2 << 3, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	at = r.len;
	raw_tsig(&r, "xfr.", 30);
	assert_int_equal(parse(&r, &q), RW_PARSE_NOTIMP);
	assert_int_equal(q.tsig_at, at);
}

/* NOTIFY (RFC 1996) is parsed as a query is, for the notify stage; its
 * SOA in the answer section is no error. */
static void test_parse_notify(void **state)
{
	struct raw r;
	struct rw_query q;
	raw_hdr(&r, 7, RW_OPCODE_NOTIFY << 3 | RW_FLAG_AA, 0, 1, 1, 0, 0);
	raw_question(&r, "example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	raw_u16(&r, 0xc00c);
	raw_u16(&r, RW_TYPE_SOA);
	raw_u16(&r, RW_CLASS_IN);
	raw_u32(&r, 3600);
	raw_u16(&r, 24);
	raw_u16(&r, 0xc00c);
	raw_u16(&r, 0xc00c);
	for (int i = 0; i < 5; i++)
		raw_u32(&r, 100 + i);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_int_equal(q.opcode, RW_OPCODE_NOTIFY);
	assert_int_equal(q.qtype, RW_TYPE_SOA);
	assert_int_equal(q.tsig_at, 0);
	/* UPDATE (5) stays NOTIMP */
	raw_hdr(&r, 7, RW_OPCODE_UPDATE << 3, 0, 1, 0, 0, 0);
	raw_question(&r, "example.com.", RW_TYPE_SOA, RW_CLASS_IN);
	assert_int_equal(parse(&r, &q), RW_PARSE_NOTIMP);
}

/* A QUERY without a question: its EDNS is read, the pipeline decides
 * (RFC 7873 5.4: a query for a server cookie). */
/* The question's label count and hash (the zone's node-table key, computed
 * while lowercasing) are those of its lowercased name, for every length
 * from the root to 255 bytes and any case, through each path of the word
 * loop (n < 8, n % 8 == 0, the overlapping last word). */
static void test_parse_qname_labels_hash(void **state)
{
	struct raw r;
	struct rw_query q;
	uint8_t dn[RW_DNAME_MAXLEN], lc[RW_DNAME_MAXLEN];
	for (size_t len = 1; len <= RW_DNAME_MAXLEN; len += len == 1 ? 2 : 1) {   /* no name of 2 */
		for (unsigned variant = 0; variant < 3; variant++) {
			/* labels of 1..63 letters (mixed case), as many as fit in len */
			size_t pos = 0;
			unsigned labels = 0, lab = variant == 0 ? 63 : variant == 1 ? 1 : 7;
			while (pos + 1 < len) {
				size_t left = len - 1 - pos;   /* bytes before the root */
				size_t l = left - 1 < lab ? left - 1 : lab;
				if (left - (l + 1) == 1)       /* a single byte would be left over */
					l = l > 1 ? l - 1 : l + 1;
				dn[pos] = (uint8_t)l;
				for (size_t k = 1; k <= l; k++)
					dn[pos + k] = (uint8_t)((k + len + variant) % 3 == 0 ? 'A' + k % 26
					                       : (k + len) % 5 == 0 ? '0' + k % 10 : 'a' + k % 26);
				pos += 1 + l;
				labels++;
			}
			dn[pos] = 0;
			size_t n = pos + 1;
			raw_hdr(&r, 1, 0, 0, 1, 0, 0, 0);
			raw_put(&r, dn, n);
			raw_u16(&r, RW_TYPE_A);
			raw_u16(&r, RW_CLASS_IN);
			assert_int_equal(parse(&r, &q), RW_PARSE_OK);
			memcpy(lc, dn, n);
			rw_dname_lower(lc);
			assert_int_equal(q.qname_len, n);
			assert_memory_equal(q.qname, lc, n);
			assert_int_equal(q.qname_labels, labels);
			assert_int_equal(rw_dname_labels(lc), labels);
			assert_int_equal(q.qname_hash, rwd_name_hash(lc, n));
		}
	}
}

static void test_parse_noquestion(void **state)
{
	struct raw r;
	struct rw_query q;
	raw_hdr(&r, 0x6161, RW_FLAG_RD, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_NOQUESTION);
	assert_int_equal(q.id, 0x6161);
	assert_int_equal(q.question_len, 0);
	assert_false(q.edns.present);
	raw_hdr(&r, 0x6161, 0, 0, 0, 0, 0, 1);
	raw_opt(&r, 4096, 0, 0, true, "\x00\x0a\x00\x08" "12345678", 12);
	assert_int_equal(parse(&r, &q), RW_PARSE_NOQUESTION);
	assert_true(q.edns.present && q.edns.do_bit && q.edns.cookie);
	assert_int_equal(q.edns.cookie_server_len, 0);
	assert_memory_equal(q.edns.cookie_client, "12345678", 8);
	/* EDNS version first, then the options. */
	raw_hdr(&r, 0x6161, 0, 0, 0, 0, 0, 1);
	raw_opt(&r, 4096, 0, 1, false, "\x00\x0a\x00\x03" "123", 7);
	assert_int_equal(parse(&r, &q), RW_PARSE_BADVERS);
	raw_hdr(&r, 0x6161, 0, 0, 0, 0, 0, 1);
	raw_opt(&r, 4096, 0, 0, false, "\x00\x0a\x00\x03" "123", 7);
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	assert_true(q.edns.present && q.edns.malformed);
	/* QDCOUNT 2 is FORMERR before anything else is read. */
	raw_hdr(&r, 0x6161, 0, 0, 2, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 4096, 0, 0, false, NULL, 0);
	formerr_no_question(&r, 0x6161);
	assert_int_equal(parse(&r, &q), RW_PARSE_FORMERR);
	assert_false(q.edns.present);
}

static void test_parse_edns(void **state)
{
	static const struct { uint16_t in, out; } sizes[] = {
		{ 0, 512 }, { 100, 512 }, { 511, 512 }, { 512, 512 }, { 513, 513 },
		{ 1232, 1232 }, { 4096, 4096 }, { 65535, 65535 },
	};
	struct raw r;
	struct rw_query q;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		raw_hdr(&r, 9, 0, 0, 1, 0, 0, 1);
		raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
		raw_opt(&r, sizes[i].in, 0, 0, i % 2, NULL, 0);
		assert_int_equal(parse(&r, &q), RW_PARSE_OK);
		assert_true(q.edns.present);
		assert_int_equal(q.edns.udp_size, sizes[i].out);
		assert_int_equal(q.edns.do_bit, i % 2);
		assert_int_equal(q.edns.version, 0);
		assert_false(q.edns.nsid);
	}
	/* NSID alone, among others, or absent among others. */
	static const struct { const char *opts; uint16_t len; bool nsid; } cases[] = {
		{ "\x00\x03\x00\x00", 4, true },
		{ "\x00\x0a\x00\x08" "12345678" "\x00\x03\x00\x00", 16, true },
		{ "\x00\x03\x00\x02" "ab", 6, true },                /* NSID with data: still asked */
		{ "\x00\x0a\x00\x08" "12345678", 12, false },
		{ "\xfd\xe9\x00\x01" "x" "\x00\x0f\x00\x00", 9, false },
		{ "", 0, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw_hdr(&r, 9, 0, 0, 1, 0, 0, 1);
		raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
		raw_opt(&r, 1232, 0, 0, false, cases[i].opts, cases[i].len);
		assert_int_equal(parse(&r, &q), RW_PARSE_OK);
		assert_int_equal(q.edns.nsid, cases[i].nsid);
	}
	/* EXPIRE (RFC 7314), of any length, as Knot DNS. */
	raw_hdr(&r, 9, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, "\x00\x09\x00\x00", 4);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_true(q.edns.expire);
	raw_hdr(&r, 9, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_opt(&r, 1232, 0, 0, false, "\x00\x09\x00\x04\x00\x00\x00\x01", 8);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_true(q.edns.expire);
	/* Other bits of the OPT TTL (ext rcode, Z) are ignored. */
	raw_hdr(&r, 9, 0, 0, 1, 0, 0, 1);
	raw_question(&r, "www.example.com.", RW_TYPE_A, RW_CLASS_IN);
	raw_u8(&r, 0); raw_u16(&r, RW_TYPE_OPT); raw_u16(&r, 1232);
	raw_u32(&r, 0x01007fff); raw_u16(&r, 0);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_false(q.edns.do_bit);
	/* Without OPT: no EDNS state. */
	raw_query(&r, 9, 0, "www.example.com.", RW_TYPE_A, false);
	assert_int_equal(parse(&r, &q), RW_PARSE_OK);
	assert_false(q.edns.present);
	assert_false(q.edns.nsid);
	assert_false(q.edns.do_bit);
}

static void test_rr_skip(void **state)
{
	struct raw r = { .len = 0 };
	raw_name(&r, "www.example.com.");                       /* 0..16 */
	raw_u16(&r, RW_TYPE_MX); raw_u16(&r, RW_CLASS_IN); raw_u32(&r, 300);
	raw_u16(&r, 4); raw_put(&r, "\x00\x0a\xc0\x00", 4);     /* 17..30 */
	raw_u16(&r, 0xc000);                                    /* 31: compressed owner */
	raw_u16(&r, RW_TYPE_A); raw_u16(&r, RW_CLASS_IN); raw_u32(&r, 1);
	raw_u16(&r, 0);                                         /* ends at 43 */
	size_t pos = 0;
	uint16_t type = 0, rdlen = 0;
	assert_int_equal(rw_rr_skip(r.b, r.len, &pos, &type, &rdlen), 0);
	assert_int_equal(pos, 31);
	assert_int_equal(type, RW_TYPE_MX);
	assert_int_equal(rdlen, 4);
	assert_int_equal(rw_rr_skip(r.b, r.len, &pos, NULL, NULL), 0);
	assert_int_equal(pos, 43);
	/* Every cut is malformed, and leaves pos alone. */
	for (size_t len = 0; len < 31; len++) {
		pos = 0;
		assert_int_equal(rw_rr_skip(r.b, len, &pos, &type, &rdlen), RW_EMALFORMED);
		assert_int_equal(pos, 0);
	}
	pos = 43;
	assert_int_equal(rw_rr_skip(r.b, r.len, &pos, NULL, NULL), RW_EMALFORMED);
	/* A bad label type in the owner. */
	r.b[0] = 0x80;
	pos = 0;
	assert_int_equal(rw_rr_skip(r.b, r.len, &pos, NULL, NULL), RW_EMALFORMED);
}

/* ---- the message builder ---- */

static void test_msgb_init(void **state)
{
	uint8_t buf[512];
	struct rw_msgbuilder b;
	const uint8_t *qn = W("\x03WwW\x07" "example\x03" "com");
	assert_int_equal(rw_msgb_init(&b, buf, sizeof(buf), 0xabcd, qn, RW_TYPE_MX, RW_CLASS_IN, true), 0);
	assert_int_equal(b.len, 12 + 17 + 4);
	assert_memory_equal(buf, "\xab\xcd\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	assert_memory_equal(buf + 12, qn, 17);
	assert_memory_equal(buf + 29, "\x00\x0f\x00\x01", 4);
	assert_int_equal(b.n_dict, 3);          /* www.example.com, example.com, com */
	assert_int_equal(b.n_relocs, 0);
	assert_false(b.overflow);
	assert_int_equal(rw_msgb_init(&b, buf, sizeof(buf), 1, qn, 1, 1, false), 0);
	assert_int_equal(b.n_dict, 2);          /* the suffixes only */
	/* The question must fit. */
	assert_int_equal(rw_msgb_init(&b, buf, 12 + 17 + 3, 1, qn, 1, 1, true), RW_ESPACE);
	assert_int_equal(rw_msgb_init(&b, buf, 12 + 17 + 4, 1, qn, 1, 1, true), 0);
	/* The message parses as a query. */
	assert_int_equal(rw_msgb_init(&b, buf, sizeof(buf), 0x77, qn, RW_TYPE_A, RW_CLASS_IN, true), 0);
	struct rw_query q;
	assert_int_equal(rw_query_parse(buf, b.len, &q), RW_PARSE_OK);
	assert_int_equal(q.id, 0x77);
}

/* Append a name given as text, return where it starts. */
static size_t put_name(struct rw_msgbuilder *b, const char *str, bool compress)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	assert_true(rw_dname_from_str(str, NULL, dn) > 0);
	size_t at = b->len;
	rw_msgb_put_dname(b, dn, compress);
	return at;
}

/* Is there a reloc entry for offset at? */
static bool has_reloc(const struct rw_msgbuilder *b, size_t at)
{
	for (unsigned i = 0; i < b->n_relocs; i++)
		if (b->relocs[i] == at)
			return true;
	return false;
}

/* Every reloc names a pointer whose target is not 12; every pointer not to 12 has one. */
static void check_relocs(const struct rw_msgbuilder *b, size_t from, const size_t *ptrs, size_t n)
{
	assert_int_equal(b->n_relocs, n);
	for (size_t i = 0; i < n; i++) {
		assert_true(has_reloc(b, ptrs[i]));
		assert_int_equal(b->buf[ptrs[i]] & 0xc0, 0xc0);
		assert_int_not_equal(rw_get16(b->buf + ptrs[i]) & 0x3fff, 12);
	}
	(void)from;
}

static void test_msgb_compression(void **state)
{
	uint8_t buf[512];
	struct rw_msgbuilder b;
	rw_msgb_init(&b, buf, sizeof(buf), 1, W("\x03www\x07" "example\x03" "com"), 1, 1, true);
	size_t at;

	/* The whole qname, in any case: a pointer to 12, no reloc. */
	at = put_name(&b, "WWW.EXAMPLE.COM.", true);
	assert_int_equal(b.len - at, 2);
	assert_memory_equal(buf + at, "\xc0\x0c", 2);
	assert_int_equal(b.n_relocs, 0);

	/* A sibling: its label, then a pointer to "example.com" (16). */
	size_t mail = put_name(&b, "mail.example.com.", true);
	assert_memory_equal(buf + mail, "\x04mail\xc0\x10", 7);
	/* Repeated: one pointer to the first copy. */
	at = put_name(&b, "Mail.Example.Com.", true);
	assert_int_equal(b.len - at, 2);
	assert_int_equal(rw_get16(buf + at), 0xc000 | mail);
	size_t p_mail = at;
	/* Suffixes of the qname. */
	at = put_name(&b, "example.com.", true);
	assert_memory_equal(buf + at, "\xc0\x10", 2);
	size_t p_ex = at;
	at = put_name(&b, "com.", true);
	assert_memory_equal(buf + at, "\xc0\x18", 2);
	size_t p_com = at;
	/* A name below an earlier non-question name. */
	at = put_name(&b, "a.mail.example.com.", true);
	assert_int_equal(buf[at], 1);
	assert_int_equal(rw_get16(buf + at + 2), 0xc000 | mail);
	size_t p_amail = at + 2;
	/* Nothing shared but the root: written in full. */
	at = put_name(&b, "other.net.", true);
	assert_memory_equal(buf + at, "\x05other\x03net\x00", 11);
	size_t other = at;
	at = put_name(&b, "x.OTHER.net.", true);
	assert_memory_equal(buf + at, "\x01x", 2);
	assert_int_equal(rw_get16(buf + at + 2), 0xc000 | other);
	size_t p_other = at + 2;
	/* The root is never a pointer. */
	at = put_name(&b, ".", true);
	assert_int_equal(b.len - at, 1);
	assert_int_equal(buf[at], 0);
	/* compress=false: written in full even when it equals the qname. */
	at = put_name(&b, "www.example.com.", false);
	assert_memory_equal(buf + at, "\x03www\x07" "example\x03" "com\x00", 17);

	size_t ptrs[] = { mail + 5, p_mail, p_ex, p_com, p_amail, p_other };
	check_relocs(&b, 0, ptrs, sizeof(ptrs) / sizeof(ptrs[0]));

	/* Every name reads back. */
	uint8_t out[RW_DNAME_MAXLEN];
	size_t pos = p_amail - 2;
	assert_int_equal(rw_dname_unpack(buf, b.len, &pos, out), 20);
	assert_memory_equal(out, "\x01" "a\x04mail\x07" "example\x03" "com", 20);

	/* rw_msgb_put_qname_ptr: a pointer to 12, never relocated. */
	unsigned nr = b.n_relocs;
	at = b.len;
	rw_msgb_put_qname_ptr(&b);
	assert_memory_equal(buf + at, "\xc0\x0c", 2);
	assert_int_equal(b.n_relocs, nr);
}

static void test_msgb_not_matchable(void **state)
{
	uint8_t buf[512];
	struct rw_msgbuilder b;
	rw_msgb_init(&b, buf, sizeof(buf), 1, W("\x01*\x07" "example\x03" "com"), 1, 1, false);
	/* The stand-in question name itself is never a target... */
	size_t at = put_name(&b, "*.example.com.", true);
	assert_memory_equal(buf + at, "\x01*\xc0\x0e", 4);
	assert_true(has_reloc(&b, at + 2));
	/* ...but a copy of it written later is. */
	size_t at2 = put_name(&b, "*.example.com.", true);
	assert_int_equal(b.len - at2, 2);
	assert_int_equal(rw_get16(buf + at2), 0xc000 | at);
	assert_true(has_reloc(&b, at2));
	/* Pointers to the qname's suffixes are relocated too. */
	size_t at3 = put_name(&b, "example.com.", true);
	assert_memory_equal(buf + at3, "\xc0\x0e", 2);
	assert_true(has_reloc(&b, at3));
	assert_int_equal(b.n_relocs, 3);
	for (unsigned i = 0; i < b.n_relocs; i++)
		assert_int_not_equal(rw_get16(buf + b.relocs[i]), 0xc00c);
}

/*
 * The relocs contract: a section built behind question name A moves behind
 * question name B (same suffix below the stand-in label) by shifting every
 * reloc'ed pointer by len(B) - len(A); the names then read back the same.
 */
static void relocate_and_check(const char *qa, const char *qb)
{
	uint8_t a[RW_DNAME_MAXLEN], bq[RW_DNAME_MAXLEN];
	int la = rw_dname_from_str(qa, NULL, a), lb = rw_dname_from_str(qb, NULL, bq);
	uint8_t buf[1024], moved[1024];
	struct rw_msgbuilder b;
	rw_msgb_init(&b, buf, sizeof(buf), 1, a, RW_TYPE_A, RW_CLASS_IN, false);
	static const char *names[] = {
		"example.com.", "mail.example.com.", "mail.example.com.", "com.",
		"ns.mail.example.com.", "elsewhere.org.", "x.elsewhere.org.", "EXAMPLE.com.",
	};
	size_t starts[8];
	for (int i = 0; i < 8; i++)
		starts[i] = put_name(&b, names[i], true);
	size_t body = RW_HDR_LEN + (size_t)la + 4, blen = b.len - body;

	/* Build "B's message": header, question B, the body, then fix pointers. */
	memcpy(moved, buf, RW_HDR_LEN);
	memcpy(moved + RW_HDR_LEN, bq, (size_t)lb);
	memcpy(moved + RW_HDR_LEN + lb, buf + RW_HDR_LEN + la, 4 + blen);
	int delta = lb - la;
	for (unsigned i = 0; i < b.n_relocs; i++) {
		uint8_t *p = moved + b.relocs[i] + delta;
		rw_put16(p, (uint16_t)(0xc000 | ((rw_get16(p) & 0x3fff) + delta)));
	}
	size_t mlen = b.len + delta;
	for (int i = 0; i < 8; i++) {
		uint8_t want[RW_DNAME_MAXLEN], got[RW_DNAME_MAXLEN];
		int wl = rw_dname_from_str(names[i], NULL, want);
		size_t pos = starts[i] + delta;
		int gl = rw_dname_unpack(moved, mlen, &pos, got);
		if (gl != wl || !rw_dname_eq(got, want)) {
			char t[1024] = "?";
			if (gl > 0)
				rw_dname_to_str(got, t, sizeof(t));
			fail_msg("%s -> %s: name %d (%s) reads as %s (%d)", qa, qb, i, names[i], t, gl);
		}
	}
}

static void test_msgb_relocs_move(void **state)
{
	/* A stand-in "x.<base>" moved behind real names of other lengths. */
	relocate_and_check("x.example.com.", "x.example.com.");
	relocate_and_check("x.example.com.", "example.com.");
	relocate_and_check("x.example.com.", "www.example.com.");
	relocate_and_check("x.example.com.", "a.b.c.d.example.com.");
	relocate_and_check("x.example.com.", "Very-Long-Label-Here.EXAMPLE.com.");
}

static void test_msgb_far_offsets(void **state)
{
	/* Names written beyond 0x3fff - 255 are not compression targets: they
	 * could not be reached after a relocation by up to +255. */
	static uint8_t buf[20000];
	struct rw_msgbuilder b;
	rw_msgb_init(&b, buf, sizeof(buf), 1, W("\x07" "example\x03" "com"), 1, 1, true);
	static uint8_t zeros[0x3fff];
	rw_msgb_put(&b, zeros, 0x3fff - 255 - b.len);
	size_t near = put_name(&b, "near.example.com.", true);       /* at 0x3f00: a target */
	assert_int_equal(near, 0x3fff - 255);
	rw_msgb_put(&b, zeros, 100);
	size_t at = put_name(&b, "near.example.com.", true);
	assert_int_equal(rw_get16(buf + at), 0xc000 | near);
	size_t far = put_name(&b, "far.example.com.", true);          /* past the limit */
	assert_memory_equal(buf + far, "\x03" "far\xc0\x0c", 6);
	at = put_name(&b, "far.example.com.", true);
	assert_memory_equal(buf + at, "\x03" "far\xc0\x0c", 6);       /* not a pointer to far */
	assert_false(b.overflow);
}

static void test_msgb_overflow(void **state)
{
	uint8_t buf[128];
	struct rw_msgbuilder b;
	const uint8_t *qn = W("\x03www\x07" "example\x03" "com");
	rw_msgb_init(&b, buf, 12 + 17 + 4 + 6, 1, qn, 1, 1, true);
	size_t len0 = b.len;
	unsigned dict0 = b.n_dict, rel0 = b.n_relocs;
	/* "\x04mail" + pointer = 7 > 6: nothing written, not even the label. */
	memset(buf + len0, 0xee, 6);
	put_name(&b, "mail.example.com.", true);
	assert_true(b.overflow);
	assert_int_equal(b.len, len0);
	assert_int_equal(b.n_dict, dict0);
	assert_int_equal(b.n_relocs, rel0);
	/* Sticky: even what would fit is refused now. */
	rw_msgb_put16(&b, 1);
	assert_int_equal(b.len, len0);
	rw_msgb_put_qname_ptr(&b);
	assert_int_equal(b.len, len0);

	/* Integers are all or nothing too. */
	rw_msgb_init(&b, buf, 12 + 17 + 4 + 3, 1, qn, 1, 1, true);
	rw_msgb_put32(&b, 0x01020304);
	assert_true(b.overflow);
	assert_int_equal(b.len, len0);
	rw_msgb_init(&b, buf, 12 + 17 + 4 + 3, 1, qn, 1, 1, true);
	rw_msgb_put16(&b, 0x0102);
	assert_false(b.overflow);
	rw_msgb_put16(&b, 0x0304);
	assert_true(b.overflow);
	assert_int_equal(b.len, len0 + 2);

	/* An uncompressed name that does not fit. */
	rw_msgb_init(&b, buf, 12 + 17 + 4 + 16, 1, qn, 1, 1, true);
	put_name(&b, "www.example.com.", false);
	assert_true(b.overflow);
	assert_int_equal(b.len, len0);
	/* Exactly fitting is fine. */
	rw_msgb_init(&b, buf, 12 + 17 + 4 + 17, 1, qn, 1, 1, true);
	put_name(&b, "www.example.com.", false);
	assert_false(b.overflow);
	assert_int_equal(b.len, len0 + 17);
	/* OPT: 11 bytes. */
	rw_msgb_init(&b, buf, 12 + 17 + 4 + 10, 1, qn, 1, 1, true);
	rw_msgb_put_opt(&b, 1232, 0, false);
	assert_true(b.overflow);
}

static void test_msgb_opt(void **state)
{
	uint8_t buf[512];
	struct rw_msgbuilder b;
	const uint8_t *qn = W("\x03www\x07" "example\x03" "com");
	rw_msgb_init(&b, buf, sizeof(buf), 0x1111, qn, RW_TYPE_A, RW_CLASS_IN, true);
	size_t start = b.len;
	size_t rdlen_at = rw_msgb_put_opt(&b, 1400, 0, true);
	assert_int_equal(rdlen_at, start + 9);
	assert_memory_equal(buf + start, "\x00\x00\x29\x05\x78\x00\x00\x80\x00\x00\x00", 11);
	rw_msgb_init(&b, buf, sizeof(buf), 0x1111, qn, RW_TYPE_A, RW_CLASS_IN, true);
	rw_msgb_put_opt(&b, 4096, 1, false);
	assert_memory_equal(buf + start, "\x00\x00\x29\x10\x00\x01\x00\x00\x00\x00", 10);

	/* With an NSID option appended by the caller: a query that parses. */
	rw_msgb_init(&b, buf, sizeof(buf), 0x1111, qn, RW_TYPE_A, RW_CLASS_IN, true);
	rdlen_at = rw_msgb_put_opt(&b, 1400, 0, true);
	rw_msgb_put(&b, "\x00\x03\x00\x00", 4);
	rw_put16(buf + rdlen_at, 4);
	rw_put16(buf + RW_HDR_ARCOUNT, 1);
	struct rw_query q;
	assert_int_equal(rw_query_parse(buf, b.len, &q), RW_PARSE_OK);
	assert_true(q.edns.present);
	assert_true(q.edns.do_bit);
	assert_true(q.edns.nsid);
	assert_int_equal(q.edns.udp_size, 1400);
}

/* ---- rdata ---- */

/* rw_rdata_put of rdata (given as bytes) behind qname "example.com". */
static size_t rdata_put(uint8_t *buf, size_t cap, uint16_t type, const void *rd, uint16_t len,
                        int *ret, struct rw_msgbuilder *b)
{
	rw_msgb_init(b, buf, cap, 1, W("\x07" "example\x03" "com"), 1, 1, true);
	size_t at = b->len;
	*ret = rw_rdata_put(b, type, rd, len);
	return at;
}

static void test_rdata_put(void **state)
{
	uint8_t buf[512];
	struct rw_msgbuilder b;
	int ret;
	size_t at;

	/* MX: preference, then the exchange compressed. */
	at = rdata_put(buf, sizeof(buf), RW_TYPE_MX, "\x00\x0a\x04mail\x07" "example\x03" "com\x00", 20,
	               &ret, &b);
	assert_int_equal(ret, 0);
	assert_int_equal(b.len - at, 2 + 2 + 5 + 2);
	assert_memory_equal(buf + at, "\x00\x09\x00\x0a\x04mail\xc0\x0c", 11);
	/* NS, CNAME, PTR: compressed. */
	static const uint16_t comp[] = { RW_TYPE_NS, RW_TYPE_CNAME, RW_TYPE_PTR };
	for (int i = 0; i < 3; i++) {
		at = rdata_put(buf, sizeof(buf), comp[i], "\x03ns1\x07" "example\x03" "com\x00", 17, &ret, &b);
		assert_int_equal(ret, 0);
		assert_memory_equal(buf + at, "\x00\x06\x03ns1\xc0\x0c", 8);
		at = rdata_put(buf, sizeof(buf), comp[i], "\x07" "EXAMPLE\x03" "com\x00", 13, &ret, &b);
		assert_memory_equal(buf + at, "\x00\x02\xc0\x0c", 4);
	}
	/* SOA: both names compressed, then 20 bytes. */
	static const uint8_t soa[] = "\x03ns1\x07" "example\x03" "com\x00"
	                             "\x0ahostmaster\x07" "example\x03" "com\x00"
	                             "\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03"
	                             "\x00\x00\x00\x04\x00\x00\x00\x05";
	at = rdata_put(buf, sizeof(buf), RW_TYPE_SOA, soa, sizeof(soa) - 1, &ret, &b);
	assert_int_equal(ret, 0);
	assert_memory_equal(buf + at, "\x00\x27\x03ns1\xc0\x0c\x0ahostmaster\xc0\x0c", 2 + 6 + 13);
	assert_memory_equal(buf + at + 21, soa + 17 + 24, 20);

	/* SRV: the target is never compressed (RFC 2782), even equal to the qname. */
	static const uint8_t srv[] = "\x00\x0a\x00\x3c\x13\xc4\x07" "example\x03" "com\x00";
	at = rdata_put(buf, sizeof(buf), RW_TYPE_SRV, srv, sizeof(srv) - 1, &ret, &b);
	assert_int_equal(ret, 0);
	assert_int_equal(rw_get16(buf + at), 19);
	assert_memory_equal(buf + at + 2, srv, 19);
	/* Nor unknown types (RFC 3597), nor a NAPTR replacement. */
	at = rdata_put(buf, sizeof(buf), 65280, "\x07" "example\x03" "com\x00", 13, &ret, &b);
	assert_int_equal(ret, 0);
	assert_memory_equal(buf + at, "\x00\x0d\x07" "example\x03" "com\x00", 15);
	static const uint8_t naptr[] = "\x00\x0a\x00\x14\x01s\x07SIP+D2U\x00\x07" "example\x03" "com\x00";
	at = rdata_put(buf, sizeof(buf), RW_TYPE_NAPTR, naptr, sizeof(naptr) - 1, &ret, &b);
	assert_int_equal(ret, 0);
	assert_int_equal(rw_get16(buf + at), sizeof(naptr) - 1);
	assert_memory_equal(buf + at + 2, naptr, sizeof(naptr) - 1);

	/* Fixed and opaque data verbatim. */
	at = rdata_put(buf, sizeof(buf), RW_TYPE_A, "\xc0\x00\x02\x01", 4, &ret, &b);
	assert_int_equal(ret, 0);
	assert_memory_equal(buf + at, "\x00\x04\xc0\x00\x02\x01", 6);
	at = rdata_put(buf, sizeof(buf), RW_TYPE_TXT, "\x02hi\x00", 4, &ret, &b);
	assert_int_equal(ret, 0);
	assert_memory_equal(buf + at, "\x00\x04\x02hi\x00", 6);

	/* Overflow: the builder says so. */
	rdata_put(buf, 12 + 13 + 4 + 5, RW_TYPE_MX, "\x00\x0a\x04mail\x07" "example\x03" "com\x00", 20,
	          &ret, &b);
	assert_true(b.overflow);
}

static void test_rdata_check(void **state)
{
	uint8_t buf[512];
	struct rw_msgbuilder b;
	int ret;
	static const struct { uint16_t type; const char *rd; uint16_t len; } bad[] = {
		{ RW_TYPE_A, "\x01\x02\x03", 3 },
		{ RW_TYPE_A, "\x01\x02\x03\x04\x05", 5 },
		{ RW_TYPE_AAAA, "\x01\x02\x03\x04", 4 },
		{ RW_TYPE_MX, "\x00", 1 },
		{ RW_TYPE_MX, "\x00\x0a", 2 },
		{ RW_TYPE_MX, "\x00\x0a\x04mail", 7 },                 /* no root label */
		{ RW_TYPE_NS, "\x03ns1\x00\x00", 6 },                  /* a byte after the name */
		{ RW_TYPE_NS, "\x40" "a\x00", 3 },                     /* label type 0x40 */
		{ RW_TYPE_NS, "", 0 },
		{ RW_TYPE_SRV, "\x00\x0a\x00\x3c\x13", 5 },
		{ RW_TYPE_SOA, "\x00\x00\x00\x00\x00\x00", 6 },
		{ RW_TYPE_NAPTR, "\x00\x0a\x00\x14\x05s", 6 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rw_rdata_check(bad[i].type, (const uint8_t *)bad[i].rd, bad[i].len) != RW_EMALFORMED)
			fail_msg("bad rdata %zu (type %u) accepted", i, bad[i].type);
		rdata_put(buf, sizeof(buf), bad[i].type, bad[i].rd, bad[i].len, &ret, &b);
		assert_int_equal(ret, RW_EMALFORMED);
	}
	assert_int_equal(rw_rdata_check(RW_TYPE_A, W("\x01\x02\x03\x04"), 4), 0);
	assert_int_equal(rw_rdata_check(RW_TYPE_NS, W("\x00"), 1), 0);
	assert_int_equal(rw_rdata_check(RW_TYPE_TXT, W(""), 0), 0);
	assert_int_equal(rw_rdata_check(65280, W(""), 0), 0);
	/* A 256-octet name in an NS rdata. */
	uint8_t big[300];
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		big[o++] = 63;
		memset(big + o, 'a', 63);
		o += 63;
	}
	big[o++] = 0;
	assert_int_equal(rw_rdata_check(RW_TYPE_NS, big, (uint16_t)o), RW_EMALFORMED);
}

static void test_rdata_equal(void **state)
{
	static const struct {
		uint16_t type;
		const char *a; uint16_t alen;
		const char *b; uint16_t blen;
		bool equal;
	} cases[] = {
		/* names compare without case (RFC 4034 6.2) */
		{ RW_TYPE_NS, "\x03ns1\x07" "example\x00", 13, "\x03NS1\x07" "ExAmPlE\x00", 13, true },
		{ RW_TYPE_CNAME, "\x01" "a\x00", 3, "\x01" "b\x00", 3, false },
		{ RW_TYPE_MX, "\x00\x0a\x04mail\x00", 8, "\x00\x0a\x04MAIL\x00", 8, true },
		{ RW_TYPE_MX, "\x00\x0a\x04mail\x00", 8, "\x00\x14\x04mail\x00", 8, false },
		{ RW_TYPE_SRV, "\x00\x01\x00\x02\x00\x03\x03sip\x00", 11,
		               "\x00\x01\x00\x02\x00\x03\x03SIP\x00", 11, true },
		{ RW_TYPE_SOA, "\x01" "a\x00\x01" "b\x00" "01234567890123456789", 26,
		               "\x01" "A\x00\x01" "B\x00" "01234567890123456789", 26, true },
		{ RW_TYPE_SOA, "\x01" "a\x00\x01" "b\x00" "01234567890123456789", 26,
		               "\x01" "a\x00\x01" "b\x00" "01234567890123456788", 26, false },
		/* different label structure, same letters */
		{ RW_TYPE_NS, "\x02" "ab\x01" "c\x00", 6, "\x01" "a\x02" "bc\x00", 6, false },
		/* a name in one, shorter name in the other */
		{ RW_TYPE_NS, "\x01" "a\x00", 3, "\x00", 1, false },
		/* opaque data compares byte for byte */
		{ RW_TYPE_TXT, "\x03" "abc", 4, "\x03" "ABC", 4, false },
		{ RW_TYPE_TXT, "\x03" "abc", 4, "\x03" "abc", 4, true },
		{ RW_TYPE_A, "\x01\x02\x03\x04", 4, "\x01\x02\x03\x04", 4, true },
		{ RW_TYPE_A, "\x01\x02\x03\x04", 4, "\x01\x02\x03\x05", 4, false },
		{ 65280, "\x01" "a\x00", 3, "\x01" "A\x00", 3, false },    /* unknown: no names */
		{ RW_TYPE_TXT, "", 0, "", 0, true },
		/* malformed: byte comparison */
		{ RW_TYPE_MX, "\x00", 1, "\x00", 1, true },
		{ RW_TYPE_MX, "\x00\x0a\x04" "ab", 5, "\x00\x0a\x04" "AB", 5, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool e = rw_rdata_equal(cases[i].type, (const uint8_t *)cases[i].a, cases[i].alen,
		                        (const uint8_t *)cases[i].b, cases[i].blen);
		if (e != cases[i].equal)
			fail_msg("case %zu (type %u): equal = %d", i, cases[i].type, e);
		e = rw_rdata_equal(cases[i].type, (const uint8_t *)cases[i].b, cases[i].blen,
		                   (const uint8_t *)cases[i].a, cases[i].alen);
		if (e != cases[i].equal)
			fail_msg("case %zu (type %u) reversed: equal = %d", i, cases[i].type, e);
	}
}

static void test_rdata_target(void **state)
{
	static const uint8_t ns[] = "\x03ns1\x07" "example\x00";
	assert_ptr_equal(rw_rdata_target(RW_TYPE_NS, ns, 13), ns);
	assert_ptr_equal(rw_rdata_target(RW_TYPE_CNAME, ns, 13), ns);
	static const uint8_t mx[] = "\x00\x0a\x04mail\x00";
	assert_ptr_equal(rw_rdata_target(RW_TYPE_MX, mx, 8), mx + 2);
	static const uint8_t srv[] = "\x00\x0a\x00\x3c\x13\xc4\x03sip\x00";
	assert_ptr_equal(rw_rdata_target(RW_TYPE_SRV, srv, 11), srv + 6);
	static const uint8_t svcb[] = "\x00\x01\x03svc\x00\x00\x01\x00\x00";
	assert_ptr_equal(rw_rdata_target(RW_TYPE_SVCB, svcb, 11), svcb + 2);
	assert_ptr_equal(rw_rdata_target(RW_TYPE_HTTPS, svcb, 11), svcb + 2);
	/* "." as target: none (SVCB: the owner itself; MX: null MX, RFC 7505). */
	assert_null(rw_rdata_target(RW_TYPE_HTTPS, W("\x00\x01\x00"), 3));
	assert_null(rw_rdata_target(RW_TYPE_MX, W("\x00\x00\x00"), 3));
	assert_null(rw_rdata_target(RW_TYPE_NS, W("\x00"), 1));
	/* Other types have no target. */
	assert_null(rw_rdata_target(RW_TYPE_A, W("\x01\x02\x03\x04"), 4));
	assert_null(rw_rdata_target(RW_TYPE_PTR, ns, 13));
	assert_null(rw_rdata_target(RW_TYPE_TXT, W("\x03" "abc"), 4));
	assert_null(rw_rdata_target(RW_TYPE_NAPTR, ns, 13));
	/* Malformed or short. */
	assert_null(rw_rdata_target(RW_TYPE_MX, mx, 2));
	assert_null(rw_rdata_target(RW_TYPE_MX, mx, 7));          /* no root label */
	assert_null(rw_rdata_target(RW_TYPE_SRV, srv, 6));
	assert_null(rw_rdata_target(RW_TYPE_NS, ns, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_other_records),
		cmocka_unit_test(test_parse_drop),
		cmocka_unit_test(test_parse_formerr_question),
		cmocka_unit_test(test_parse_formerr_records),
		cmocka_unit_test(test_parse_badvers),
		cmocka_unit_test(test_parse_notimp),
		cmocka_unit_test(test_parse_noquestion),
		cmocka_unit_test(test_parse_qname_labels_hash),
		cmocka_unit_test(test_parse_edns),
		cmocka_unit_test(test_rr_skip),
		cmocka_unit_test(test_msgb_init),
		cmocka_unit_test(test_msgb_compression),
		cmocka_unit_test(test_msgb_not_matchable),
		cmocka_unit_test(test_msgb_relocs_move),
		cmocka_unit_test(test_msgb_far_offsets),
		cmocka_unit_test(test_msgb_overflow),
		cmocka_unit_test(test_msgb_opt),
		cmocka_unit_test(test_rdata_put),
		cmocka_unit_test(test_parse_tsig),
		cmocka_unit_test(test_parse_notify),
		cmocka_unit_test(test_rdata_check),
		cmocka_unit_test(test_rdata_equal),
		cmocka_unit_test(test_rdata_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
