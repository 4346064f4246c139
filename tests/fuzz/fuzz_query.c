/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the query path: arbitrary bytes go to
 * rwd_query_process() over UDP and over TCP, against a snapshot holding one
 * small but varied zone (wildcards, CNAME chains and loops, a delegation
 * with glue, ENTs, a big TXT RRset, MX/SRV with additional addresses),
 * written to a temporary directory and loaded at the first call.
 *
 * Beyond "no crash, no leak, no UB" (ASan/UBSan), each reply is checked
 * against the contract (abort on violation):
 *   - its length is at most out_cap, and over UDP at most the payload the
 *     client may receive (512 without EDNS, else min(its size, ours));
 *   - a non-empty reply has a header, the query's id and QR set, and the
 *     question is the query's, byte for byte;
 *   - a message that is not a well-formed query (rw_query_parse != OK) never
 *     gets a reply larger than itself (no amplification from garbage);
 *   - the reply parses: every name decodes (compression pointers strictly
 *     backwards), every record is complete, nothing follows the last one;
 *     an OPT is the last record, or the one before a TSIG that is the last
 *     (queries signed with the target's keys get signed answers);
 *     a truncated reply has empty sections but for the OPT and TSIG;
 *   - no record appears twice in a section (RFC 2181 5), comparing names
 *     without case and after decompression;
 *   - a query with a COOKIE option (cookies are on, with a fixed secret)
 *     gets our cookie back: 24 bytes, starting with the client cookie;
 *     a malformed one gets FORMERR.
 *
 * Environment: FUZZ_QUERY_NSID=0 runs without an NSID configured (by
 * default the server has one, so NSID replies are exercised).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/snapshot/snapshot.h"
#include "server/query/query.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "fuzz_query: %s:%d: %s\n", \
	__FILE__, __LINE__, #cond); __builtin_trap(); } } while (0)

#define UDP_CAP 4608
#define TCP_CAP RW_MSG_MAXLEN

static const char ZONE[] =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@           SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
	"@           NS    ns1\n"
	"@           NS    ns2.example.net.\n"
	"@           MX    10 mail\n"
	"@           A     192.0.2.1\n"
	"@           TXT   \"apex\"\n"
	"ns1         A     192.0.2.53\n"
	"ns1         AAAA  2001:db8::53\n"
	"mail        A     192.0.2.25\n"
	"mail        AAAA  2001:db8::25\n"
	"www         A     192.0.2.80\n"
	"www         AAAA  2001:db8::80\n"
	"www         TXT   \"www\"\n"
	/* CNAME chains, a loop, a dangling one, out of zone, into the delegation */
	"alias       CNAME www\n"
	"c1          CNAME c2\n"
	"c2          CNAME c3\n"
	"c3          CNAME www\n"
	"loop1       CNAME loop2\n"
	"loop2       CNAME loop3\n"
	"loop3       CNAME loop1\n"
	"self        CNAME self\n"
	"dangling    CNAME nothere\n"
	"outside     CNAME www.example.net.\n"
	"to-deleg    CNAME host.sub\n"
	"to-wild     CNAME foo.wild\n"
	"to-ent      CNAME a.ent\n"
	/* ENTs: ent, a.ent */
	"host.a.ent  A     192.0.2.10\n"
	/* wildcards */
	"*.wild      A     192.0.2.99\n"
	"*.wild      MX    10 mail\n"
	"*.wild      TXT   \"wildcard\"\n"
	"exists.wild A     192.0.2.98\n"
	"host.ent.wild A   192.0.2.97\n"
	"*.cw        CNAME www\n"
	"*.cw2       CNAME nothere2\n"
	"*.lw        CNAME x.lw\n"
	"*.mxw       MX    10 mx01\n"
	"*           TXT   \"apex wildcard\"\n"
	/* delegations with glue, DS, an insecure one, a cut below a cut */
	"sub         NS    ns1.sub\n"
	"sub         NS    ns2.sub\n"
	"sub         NS    ns.example.net.\n"
	"sub         DS    12345 13 2 061fc6d4da1789011cc99d3716aab0c59511be17772e3793082d964c68567af4\n"
	"ns1.sub     A     192.0.2.201\n"
	"ns1.sub     AAAA  2001:db8::201\n"
	"ns2.sub     A     192.0.2.202\n"
	"deep.sub.sub NS   ns.example.net.\n"
	"insecure    NS    ns1\n"
	"*.cut       NS    ns1\n"
	/* services */
	"_sip._tcp   SRV   10 60 5060 sip\n"
	"_sip._tcp   SRV   20 0 5060 sip2.example.net.\n"
	"sip         A     192.0.2.60\n"
	"sip         AAAA  2001:db8::60\n"
	"svc         HTTPS 1 . alpn=h2\n"
	"svc         HTTPS 2 www\n"
	"ptr         PTR   www\n"
	"naptr       NAPTR 10 20 \"s\" \"SIP+D2U\" \"\" _sip._udp\n";

static struct rwd_snapshot snap;

static void put_file(const char *path)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(ZONE, f);
	/* 40 A records (~700 bytes): over 512, under 1232 */
	for (int i = 1; i <= 40; i++)
		fprintf(f, "many A 198.51.100.%d\n", i);
	/* 12 TXT records of 250 bytes (~3 KB): truncated over UDP */
	for (int i = 0; i < 12; i++) {
		fprintf(f, "big TXT \"big-%02d-", i);
		for (int k = 0; k < 243; k++)
			fputc('a' + k % 26, f);
		fputs("\"\n", f);
	}
	/* 12 MX targets with A+AAAA: additional partly dropped over UDP */
	for (int i = 1; i <= 12; i++)
		fprintf(f, "mx MX %d mx%02d\nmx%02d A 192.0.2.%d\nmx%02d AAAA 2001:db8::%d\n",
		        i, i, i, 100 + i, i, 100 + i);
	CHECK(fclose(f) == 0);
}

static void report(void *ctx, const char *msg)
{
	fprintf(stderr, "fuzz_query: zone: %s\n", msg);
	if (strstr(msg, ": warning: ") == NULL)
		(*(int *)ctx)++;
}

static void init(void)
{
	char dir[] = "/tmp/fuzz_query.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof(path), "%s/example.com.zone", dir);
	put_file(path);

	uint8_t apex[RW_DNAME_MAXLEN];
	CHECK(rw_dname_from_str("example.com.", NULL, apex) > 0);
	int errors = 0;
	struct rwd_zone *z = rwd_zone_load(apex, path, report, &errors);
	CHECK(z != NULL && errors == 0);
	unlink(path);
	rmdir(dir);

	struct rwd_zone **zones = malloc(sizeof(*zones));
	CHECK(zones != NULL);
	zones[0] = z;
	snap.zones = rwd_zonedb_new(zones, 1);
	CHECK(snap.zones != NULL);
	snap.edns_udp_size = 1232;
	snap.cookies = true;
	memcpy(snap.cookie_secret, "fuzz-query-key!!", sizeof(snap.cookie_secret));
	/* TSIG keys (the seeds tsig-* are signed with them: gen_query_corpus.py),
	 * so signed queries reach the MAC check and signed answers */
	uint8_t kn[RW_DNAME_MAXLEN];
	CHECK(rw_dname_from_str("xfr.", NULL, kn) > 0);
	CHECK(rwd_tsig_keyring_add(&snap.tsig, kn, "hmac-sha256",
	                           (const uint8_t *)"fuzz-query-tsig-secret-32-bytes!", 32) == 0);
	CHECK(rw_dname_from_str("sha1.xfr.", NULL, kn) > 0);
	CHECK(rwd_tsig_keyring_add(&snap.tsig, kn, "hmac-sha1",
	                           (const uint8_t *)"fuzz-query-tsig-sha1", 20) == 0);
	const char *nsid = getenv("FUZZ_QUERY_NSID");
	if (nsid == NULL || strcmp(nsid, "0") != 0) {
		static const char id[] = "fuzz-query-nsid";
		snap.nsid_len = sizeof(id) - 1;
		memcpy(snap.nsid, id, snap.nsid_len);
	}
}

/* A record in canonical form: lowercased flat owner, type, class, rdata
 * with its names decompressed and lowercased. */
struct canon {
	unsigned section;
	uint16_t type, cls;
	uint8_t owner_len;
	uint16_t rdlen;
	uint8_t owner[RW_DNAME_MAXLEN];
	uint8_t rdata[1024];
};

#define MAX_CANON 64
static struct canon canon[MAX_CANON];

/* Append a decompressed lowercased name from m[*q] to c->rdata. */
static void canon_name(struct canon *c, const uint8_t *m, size_t len, size_t *q)
{
	uint8_t name[RW_DNAME_MAXLEN];
	int l = rw_dname_unpack(m, len, q, name);
	CHECK(l > 0);
	rw_dname_lower(name);
	CHECK(c->rdlen + (size_t)l <= sizeof(c->rdata));
	memcpy(c->rdata + c->rdlen, name, (size_t)l);
	c->rdlen += (uint16_t)l;
}

static void canon_raw(struct canon *c, const uint8_t *p, size_t n)
{
	CHECK(c->rdlen + n <= sizeof(c->rdata));
	memcpy(c->rdata + c->rdlen, p, n);
	c->rdlen += (uint16_t)n;
}

static bool canon_eq(const struct canon *a, const struct canon *b)
{
	return a->section == b->section && a->type == b->type && a->cls == b->cls &&
	       a->owner_len == b->owner_len && memcmp(a->owner, b->owner, a->owner_len) == 0 &&
	       a->rdlen == b->rdlen && memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

static uint16_t reply_tsig_error;       /* of the last reply checked */

/* The reply parses strictly; returns the number of OPT records, *tsig
 * that of TSIG records (0 or 1, the last; its error: reply_tsig_error). */
static unsigned check_wellformed(const uint8_t *m, size_t len, unsigned *tsig)
{
	reply_tsig_error = 0;
	uint8_t name[RW_DNAME_MAXLEN];
	size_t p = RW_HDR_LEN;
	unsigned qd = rw_get16(m + 4);
	unsigned n = (unsigned)rw_get16(m + 6) + rw_get16(m + 8) + rw_get16(m + 10);
	unsigned opts = 0;
	CHECK(qd <= 1);
	if (qd == 1) {
		CHECK(rw_dname_unpack(m, len, &p, name) > 0);
		CHECK(p + 4 <= len);
		p += 4;
	}
	unsigned an = rw_get16(m + 6), ns = rw_get16(m + 8);
	uint16_t last_type = 0;
	for (unsigned i = 0; i < n; i++) {
		int ol = rw_dname_unpack(m, len, &p, name);
		CHECK(ol > 0);
		CHECK(p + 10 <= len);
		uint16_t type = rw_get16(m + p), rdlen = rw_get16(m + p + 8);
		size_t rd = p + 10;
		CHECK(rd + rdlen <= len);
		size_t q = rd;
		struct canon scratch, *c = i < MAX_CANON ? &canon[i] : &scratch;
		c->section = i < an ? 0 : i < an + ns ? 1 : 2;
		c->type = type;
		c->cls = rw_get16(m + p + 2);
		c->owner_len = (uint8_t)ol;
		rw_dname_lower(name);
		memcpy(c->owner, name, (size_t)ol);
		c->rdlen = 0;
		switch (type) {                  /* names inside rdata decode too */
		case RW_TYPE_NS: case RW_TYPE_CNAME: case RW_TYPE_PTR:
			canon_name(c, m, len, &q);
			CHECK(q == rd + rdlen);
			break;
		case RW_TYPE_MX:
			CHECK(rdlen >= 3);
			canon_raw(c, m + q, 2);
			q += 2;
			canon_name(c, m, len, &q);
			CHECK(q == rd + rdlen);
			break;
		case RW_TYPE_SOA:
			canon_name(c, m, len, &q);
			canon_name(c, m, len, &q);
			CHECK(q + 20 == rd + rdlen);
			canon_raw(c, m + q, 20);
			break;
		case RW_TYPE_OPT:                /* last in additional, or before a TSIG */
			CHECK(c->section == 2 && (i + 1 == n || i + 2 == n));
			CHECK(name[0] == 0);
			opts++;
			break;
		case 250:                        /* TSIG (RFC 8945 5.1): the very last */
			CHECK(c->section == 2 && i + 1 == n);
			canon_name(c, m, len, &q);       /* algorithm, time, fudge, MAC size */
			CHECK(q + 10 <= rd + rdlen);
			q += 10 + rw_get16(m + q + 8);
			CHECK(q + 6 <= rd + rdlen);      /* original ID, error, other length */
			reply_tsig_error = rw_get16(m + q + 2);
			CHECK(q + 6 + rw_get16(m + q + 4) == rd + rdlen);
			c->type = 0;                     /* not compared */
			break;
		default:
			if (rdlen <= sizeof(c->rdata))
				canon_raw(c, m + rd, rdlen);
			else
				c->type = 0;             /* not compared */
		}
		p = rd + rdlen;
		last_type = type;
		if (i < MAX_CANON && c->type != 0 && type != RW_TYPE_OPT)
			for (unsigned k = 0; k < i; k++)
				CHECK(!canon_eq(&canon[k], c));   /* no duplicate record */
	}
	CHECK(p == len);
	/* an OPT before the last record only when that one is a TSIG */
	CHECK(opts == 0 || last_type == RW_TYPE_OPT || last_type == 250);
	*tsig = n > 0 && last_type == 250;
	return opts;
}

/* The COOKIE option in the OPT record of reply m (len bytes), or NULL; *olen its length. */
static const uint8_t *reply_cookie(const uint8_t *m, size_t len, uint16_t *olen)
{
	size_t p = RW_HDR_LEN;
	uint8_t name[RW_DNAME_MAXLEN];
	unsigned n = (unsigned)rw_get16(m + 6) + rw_get16(m + 8) + rw_get16(m + 10);
	if (rw_get16(m + 4) == 1) {
		CHECK(rw_dname_unpack(m, len, &p, name) > 0);
		p += 4;
	}
	for (unsigned i = 0; i < n; i++) {
		uint16_t type, rdlen;
		CHECK(rw_rr_skip(m, len, &p, &type, &rdlen) == 0);
		if (type != RW_TYPE_OPT)
			continue;
		for (size_t o = p - rdlen; o + 4 <= p;) {
			uint16_t code = rw_get16(m + o), l = rw_get16(m + o + 2);
			CHECK(o + 4 + l <= p);
			if (code == RW_EDNS_COOKIE) {
				*olen = l;
				return m + o + 4;
			}
			o += 4u + l;
		}
	}
	return NULL;
}

static void run(const uint8_t *data, size_t size, const struct rwd_transport *t, size_t cap)
{
	static uint8_t out[TCP_CAP];
	struct rwd_query qr = {
		.wire = data, .wire_len = size, .transport = t, .out = out, .out_cap = cap,
	};
	size_t n = rwd_query_process(&snap, &qr);
	CHECK(n <= cap);

	struct rw_query q;
	enum rw_parse pr = rw_query_parse(data, size, &q);
	/* Garbage is never amplified; a header-only query for a server cookie
	 * (RFC 7873 5.4) gets it: 16 bytes more than its client cookie; over
	 * TCP (address proved) an error may carry the NSID asked for. */
	if (pr != RW_PARSE_OK)
		CHECK(n <= size + (pr == RW_PARSE_NOQUESTION && q.edns.cookie ? 16 : 0) +
		           (t->address_verified ? 4u + snap.nsid_len : 0));
	if (pr == RW_PARSE_DROP)
		CHECK(n == 0);
	if (t == &rwd_transport_udp) {
		size_t limit = RW_UDP_DEFAULT_MAX;
		if (q.edns.present)
			limit = q.edns.udp_size < snap.edns_udp_size ? q.edns.udp_size : snap.edns_udp_size;
		CHECK(n <= limit);
	}
	if (n == 0)
		return;

	CHECK(n >= RW_HDR_LEN && size >= RW_HDR_LEN);
	CHECK(rw_get16(out) == rw_get16(data));
	CHECK(out[2] & RW_FLAG_QR);
	CHECK(RW_OPCODE(out[2]) == RW_OPCODE(data[2]));
	/* RD and CD are copied for QUERY only */
	bool query = RW_OPCODE(data[2]) == RW_OPCODE_QUERY;
	CHECK((out[2] & RW_FLAG_RD) == (query ? data[2] & RW_FLAG_RD : 0));
	CHECK((out[3] & RW_FLAG_CD) == (query ? data[3] & RW_FLAG_CD : 0));
	unsigned qd = rw_get16(out + 4);
	if (qd == 1) {                     /* the question, byte for byte */
		CHECK(q.question_len > 0 && n >= RW_HDR_LEN + q.question_len);
		CHECK(memcmp(out + RW_HDR_LEN, data + RW_HDR_LEN, q.question_len) == 0);
	}
	unsigned tsig;
	unsigned opts = check_wellformed(out, n, &tsig);
	if (out[2] & RW_FLAG_TC) {
		CHECK(rw_get16(out + 6) == 0 && rw_get16(out + 8) == 0);
		CHECK(rw_get16(out + 10) == opts + tsig);
	}
	/* A TSIG RR only in the answer to a query that had one. */
	CHECK(tsig == 0 || q.tsig_at != 0);
	/* Every answer to a query with an OPT has one, FORMERR included when
	 * the OPT could be read (rw_query_parse clears edns.present if not)
	 * but for the FORMERR to a TSIG RR that does not read (query/tsig.c,
	 * as an unreadable record in rw_query_parse). */
	CHECK(opts == (q.edns.present ? 1u : 0u) ||
	      (opts == 0 && q.tsig_at != 0 && (out[3] & 0x0f) == RW_RCODE_FORMERR));
	uint16_t clen = 0;
	const uint8_t *cookie = reply_cookie(out, n, &clen);
	/* Over TCP, or when the answer is no error, the cookie is never left out. */
	unsigned rc = out[3] & 0x0f;
	bool error = rc != RW_RCODE_NOERROR && rc != RW_RCODE_NXDOMAIN;
	if ((pr == RW_PARSE_OK || pr == RW_PARSE_NOQUESTION) && q.edns.cookie &&
	    (t->address_verified || !error)) {
		CHECK(cookie != NULL && clen == 24);
		CHECK(memcmp(cookie, q.edns.cookie_client, 8) == 0);
		CHECK(cookie[8] == 1);                  /* RFC 9018 version */
	} else if (pr != RW_PARSE_OK && pr != RW_PARSE_NOQUESTION) {
		CHECK(cookie == NULL);
	}
	if (q.edns.malformed && pr != RW_PARSE_BADVERS)
		CHECK(pr == RW_PARSE_FORMERR && (out[3] & 0x0f) == RW_RCODE_FORMERR);
	/* An error to a client over UDP is no larger than its query, unless the
	 * client proved its address (BADCOOKIE, to a server cookie we did not
	 * make, excepted: the cookie is all it says; and BADTIME to a request
	 * whose MAC verified, 6 bytes more: the server's time, RFC 8945 5.2.3,
	 * as knotd; a spoofed source can only replay such a request). */
	if (!t->address_verified && error && !(q.edns.cookie && q.edns.cookie_server_len))
		CHECK(n <= size + (reply_tsig_error == 18 ? 6u : 0u));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (snap.zones == NULL)
		init();
	run(data, size, &rwd_transport_udp, UDP_CAP);
	run(data, size, &rwd_transport_tcp, TCP_CAP);
	return 0;
}
