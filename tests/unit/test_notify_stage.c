/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stage "notify" (query/notify.c), NOTIFY in: the rcodes in Knot DNS's order
 * (NOTAUTH: not a zone we are a secondary of; REFUSED: no allow_notify rule
 * holds the source and key; FORMERR: not SOA; REFUSED: no sink), the sink
 * called with the view, apex and the serial of the answer's SOA, and the
 * answer on the wire (NOERROR, AA, opcode NOTIFY, the question echoed).
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
#include "server/common/acl.h"
#include "server/query/query.h"
#include "server/query/stages.h"
#include "server/snapshot/snapshot.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

static struct rwd_snapshot snap;
static struct rwd_zone_settings settings[2];
static struct rwd_xfr_rule rules[2];
static struct rwd_tsig_key key_a, key_b;

/* What the sink was told. */
static struct {
	unsigned calls;
	uint32_t view, serial;
	uint8_t apex[RW_DNAME_MAXLEN];
} told;

static void sink(void *ctx, uint32_t view, const uint8_t *apex, uint32_t serial)
{
	assert_ptr_equal(ctx, &told);
	told.calls++;
	told.view = view;
	told.serial = serial;
	memcpy(told.apex, apex, rw_dname_len(apex));
}

static const char *const ZONE_COM =
	"$ORIGIN example.com.\n$TTL 300\n"
	"@ SOA ns1 hostmaster 5 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"
	"www A 192.0.2.80\n";
static const char *const ZONE_ORG =
	"$ORIGIN example.org.\n$TTL 300\n"
	"@ SOA ns1 hostmaster 9 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n";

static void key_named(struct rwd_tsig_key *k, const char *name)
{
	memset(k, 0, sizeof(*k));
	k->name_len = (uint8_t)tz_lname(name, k->name);
	k->alg = 3;
	k->alg_text = "hmac-sha256";
}

static int setup(void **state)
{
	if (tz_mkdir("test_notify_stage") < 0)
		return -1;
	struct rwd_zone **zones = calloc(2, sizeof(*zones));
	uint8_t apex[RW_DNAME_MAXLEN];
	rw_dname_from_str("example.com.", NULL, apex);
	zones[0] = rwd_zone_load(apex, tz_write("com.zone", ZONE_COM), NULL, NULL);
	rw_dname_from_str("example.org.", NULL, apex);
	zones[1] = rwd_zone_load(apex, tz_write("org.zone", ZONE_ORG), NULL, NULL);
	if (zones[0] == NULL || zones[1] == NULL)
		return -1;
	snap.zones = rwd_zonedb_new(zones, 2);
	snap.edns_udp_size = 1232;
	key_named(&key_a, "xfr.");
	key_named(&key_b, "other.");
	/* example.com.: a secondary; 127.0.0.2 may notify unsigned or signed,
	 * 127.0.0.3 only with key xfr. */
	if (rwd_acl_add_text(&rules[0].match, "127.0.0.2") < 0 ||
	    rwd_acl_add_text(&rules[1].match, "127.0.0.3/32") < 0)
		return -1;
	rules[1].key = &key_a;
	settings[0].apex_len = (uint8_t)tz_lname("example.com.", settings[0].apex);
	settings[0].secondary = true;
	settings[0].allow_notify = rules;
	settings[0].n_allow_notify = 2;
	/* example.org.: runway is its primary (transfer settings, no primaries) */
	settings[1].apex_len = (uint8_t)tz_lname("example.org.", settings[1].apex);
	snap.zone_settings = settings;
	snap.n_zone_settings = 2;
	snap.notify_sink = (struct rwd_notify_sink){ sink, &told };
	return snap.zones ? 0 : -1;
}

static int teardown(void **state)
{
	rwd_zonedb_free(snap.zones);
	rwd_acl_free(&rules[0].match);
	rwd_acl_free(&rules[1].match);
	return tz_rmdir();
}

/* ---- NOTIFY messages ---- */

struct msg {
	uint8_t b[1024];
	size_t len;
};

/* A NOTIFY for name, qtype, with the SOA of serial in the answer section
 * (soa false: none), as BIND and Knot send it. */
static void mknotify(struct msg *m, const char *name, uint16_t qtype, bool soa, uint32_t serial)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int n = tz_name(name, dn);
	uint8_t *p = m->b;
	memset(p, 0, RW_HDR_LEN);
	rw_put16(p, 0x4242);
	p[2] = (RW_OPCODE_NOTIFY << 3) | RW_FLAG_AA;
	rw_put16(p + RW_HDR_QDCOUNT, 1);
	size_t len = RW_HDR_LEN;
	memcpy(p + len, dn, (size_t)n);
	len += (size_t)n;
	rw_put16(p + len, qtype);
	rw_put16(p + len + 2, RW_CLASS_IN);
	len += 4;
	if (soa) {
		rw_put16(p + RW_HDR_ANCOUNT, 1);
		static const uint8_t rdata_names[] = "\3ns1\300\14\12hostmaster\300\14";
		size_t names = sizeof(rdata_names) - 1;
		rw_put16(p + len, 0xc00c);
		rw_put16(p + len + 2, RW_TYPE_SOA);
		rw_put16(p + len + 4, RW_CLASS_IN);
		rw_put32(p + len + 6, 300);
		rw_put16(p + len + 10, (uint16_t)(names + 20));
		len += 12;
		memcpy(p + len, rdata_names, names);
		len += names;
		rw_put32(p + len, serial);
		rw_put32(p + len + 4, 7200);
		rw_put32(p + len + 8, 3600);
		rw_put32(p + len + 12, 1209600);
		rw_put32(p + len + 16, 300);
		len += 20;
	}
	m->len = len;
}

static struct sockaddr_in from(const char *ip)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(5300) };
	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

/* Run the notify stage alone on m from ip, signed with key (NULL: not). */
static enum rwd_stage_result stage(const struct msg *m, const char *ip,
                                   const struct rwd_tsig_key *key, struct rwd_query *qr)
{
	static struct sockaddr_in sa;
	sa = from(ip);
	memset(qr, 0, sizeof(*qr));
	qr->wire = m->b;
	qr->wire_len = m->len;
	qr->client = (const struct sockaddr *)&sa;
	qr->transport = &rwd_transport_udp;
	assert_int_equal(rw_query_parse(m->b, m->len, &qr->q), RW_PARSE_OK);
	qr->zones = snap.zones;
	qr->tsig.key = key;
	memset(&told, 0, sizeof(told));
	return rwd_stage_notify(&snap, qr);
}

static void test_accepted(void **state)
{
	struct msg m;
	struct rwd_query qr;
	mknotify(&m, "example.com.", RW_TYPE_SOA, true, 2024120701);
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOERROR);
	assert_true(qr.aa);
	assert_int_equal(told.calls, 1);
	assert_int_equal(told.view, 0);
	assert_int_equal(told.serial, 2024120701);
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	assert_memory_equal(told.apex, apex, rw_dname_len(apex));

	/* any letter case; no SOA in the answer: serial 0 (unknown) */
	mknotify(&m, "EXAMPLE.Com.", RW_TYPE_SOA, false, 0);
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOERROR);
	assert_int_equal(told.calls, 1);
	assert_int_equal(told.serial, 0);
	assert_memory_equal(told.apex, apex, rw_dname_len(apex));

	/* a rule without a key admits signed NOTIFYs too */
	mknotify(&m, "example.com.", RW_TYPE_SOA, true, 7);
	assert_int_equal(stage(&m, "127.0.0.2", &key_b, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOERROR);
	assert_int_equal(told.serial, 7);
}

static void test_key(void **state)
{
	struct msg m;
	struct rwd_query qr;
	mknotify(&m, "example.com.", RW_TYPE_SOA, true, 8);
	/* the rule of 127.0.0.3 wants key xfr. */
	assert_int_equal(stage(&m, "127.0.0.3", &key_a, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOERROR);
	assert_int_equal(told.calls, 1);
	/* the same key by name and algorithm (another copy of the keyring) */
	struct rwd_tsig_key copy = key_a;
	assert_int_equal(stage(&m, "127.0.0.3", &copy, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOERROR);
	assert_int_equal(stage(&m, "127.0.0.3", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_REFUSED);
	assert_false(qr.aa);
	assert_int_equal(told.calls, 0);
	assert_int_equal(stage(&m, "127.0.0.3", &key_b, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_REFUSED);
	assert_int_equal(told.calls, 0);
}

static void test_refused_and_notauth(void **state)
{
	struct msg m;
	struct rwd_query qr;
	/* an address no rule holds */
	mknotify(&m, "example.com.", RW_TYPE_SOA, true, 9);
	assert_int_equal(stage(&m, "127.0.0.9", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_REFUSED);
	assert_int_equal(told.calls, 0);
	/* a zone runway is the primary of, a name below a zone, no zone */
	mknotify(&m, "example.org.", RW_TYPE_SOA, true, 9);
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOTAUTH);
	mknotify(&m, "www.example.com.", RW_TYPE_SOA, true, 9);
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOTAUTH);
	mknotify(&m, "example.net.", RW_TYPE_SOA, true, 9);
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOTAUTH);
	assert_int_equal(told.calls, 0);
	/* not SOA: FORMERR, once the source is admitted (Knot's order) */
	mknotify(&m, "example.com.", RW_TYPE_A, false, 0);
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_FORMERR);
	assert_int_equal(stage(&m, "127.0.0.9", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_REFUSED);
	assert_int_equal(told.calls, 0);
	/* no sink (the secondary service does not run) */
	mknotify(&m, "example.com.", RW_TYPE_SOA, true, 9);
	snap.notify_sink.fn = NULL;
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	snap.notify_sink.fn = sink;
	assert_int_equal(qr.rcode, RW_RCODE_REFUSED);
	/* a QUERY is none of this stage's business */
	m.b[2] = 0;
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_CONTINUE);
	assert_int_equal(told.calls, 0);
}

/* A malformed SOA in the answer: serial 0, never a read past the message. */
static void test_bad_soa(void **state)
{
	struct msg m;
	struct rwd_query qr;
	mknotify(&m, "example.com.", RW_TYPE_SOA, true, 77);
	/* RDATA cut to the two names and 10 bytes: parse still passes (the
	 * record is whole), the serial's 20 bytes are not there */
	size_t rdlen_at = RW_HDR_LEN + 13 + 4 + 10;
	uint16_t rdlen = rw_get16(m.b + rdlen_at);
	rw_put16(m.b + rdlen_at, (uint16_t)(rdlen - 10));
	m.len -= 10;
	assert_int_equal(stage(&m, "127.0.0.2", NULL, &qr), RWD_DONE);
	assert_int_equal(qr.rcode, RW_RCODE_NOERROR);
	assert_int_equal(told.calls, 1);
	assert_int_equal(told.serial, 0);
}

/* Through the whole pipeline: the answer on the wire. */
static void test_wire(void **state)
{
	struct msg m;
	mknotify(&m, "example.com.", RW_TYPE_SOA, true, 31);
	uint8_t out[4096];
	struct sockaddr_in sa = from("127.0.0.2");
	struct rwd_query qr = { .wire = m.b, .wire_len = m.len, .transport = &rwd_transport_udp,
	                        .client = (const struct sockaddr *)&sa, .out = out,
	                        .out_cap = sizeof(out) };
	memset(&told, 0, sizeof(told));
	size_t len = rwd_query_process(&snap, &qr);
	assert_int_equal(told.calls, 1);
	assert_int_equal(told.serial, 31);
	size_t qlen = 13 + 4;
	assert_int_equal(len, RW_HDR_LEN + qlen);
	assert_int_equal(rw_get16(out), 0x4242);
	assert_int_equal(out[2], RW_FLAG_QR | (RW_OPCODE_NOTIFY << 3) | RW_FLAG_AA);
	assert_int_equal(out[3] & 0x0f, RW_RCODE_NOERROR);
	assert_int_equal(rw_get16(out + RW_HDR_QDCOUNT), 1);
	assert_int_equal(rw_get16(out + RW_HDR_ANCOUNT), 0);
	assert_int_equal(rw_get16(out + RW_HDR_NSCOUNT), 0);
	assert_int_equal(rw_get16(out + RW_HDR_ARCOUNT), 0);
	assert_memory_equal(out + RW_HDR_LEN, m.b + RW_HDR_LEN, qlen);
	assert_int_equal(qr.stage, RWD_STAGE_NOTIFY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_refused_and_notauth),
		cmocka_unit_test(test_bad_soa),
		cmocka_unit_test(test_wire),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
