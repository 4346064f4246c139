/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The UDP query path's work per query, in instructions (deterministic, so
 * comparable on a busy machine, unlike queries/s). An in-process driver:
 * the small zone of bench/zones.py (plus a delegation with glue, for
 * referrals) in a snapshot as runwayd builds it by default (cookies on,
 * no rate limiting, no views, EDNS size 1232), and a fixed mix of queries
 * given to rwd_query_process() as a UDP worker gives them (one reused
 * struct rwd_query, per-thread counters, the clock read once per batch):
 *
 *   A 40%, AAAA 22%, A on a CNAME 4%, MX 5%, TXT 5%, NXDOMAIN 10%,
 *   referral 8%, NODATA 6%; a third of them with EDNS (1232, no option;
 *   one in four of those with DO), names in mixed case one time in four.
 *
 * Run under callgrind, counting rwd_query_process only:
 *   bench/qpath_instr.sh          (builds build-qpath/, prints Ir per query)
 * or by hand:
 *   valgrind --tool=callgrind --toggle-collect=rwd_query_process \
 *     build-qpath/qpath_instr [queries]
 * The program prints a digest of every response: a change meant to save
 * instructions must leave it as it was (same answers, byte for byte).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/wire.h"
#include "server/query/query.h"
#include "server/snapshot/snapshot.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "qpath_instr: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); exit(1); } } while (0)

/* bench/zones.py HEADER + SMALL_BODY, and a delegation (referrals). */
static const char ZONE[] =
	"$ORIGIN example.com.\n$TTL 3600\n"
	"@ IN SOA ns1.example.com. hostmaster.example.com. 2024060101 7200 3600 1209600 3600\n"
	"@ IN NS ns1.example.com.\n@ IN NS ns2.example.com.\n"
	"@ IN A 192.0.2.10\n@ IN AAAA 2001:db8::10\n"
	"@ IN MX 10 mail.example.com.\n@ IN MX 20 mail2.example.com.\n"
	"@ IN TXT \"v=spf1 mx ip4:192.0.2.0/24 -all\"\n"
	"@ IN TXT \"google-site-verification=3kFh1mQ2yX9v\"\n"
	"ns1 IN A 192.0.2.1\nns1 IN AAAA 2001:db8::1\n"
	"ns2 IN A 198.51.100.1\nns2 IN AAAA 2001:db8:1::1\n"
	"mail IN A 192.0.2.25\nmail IN AAAA 2001:db8::25\nmail2 IN A 198.51.100.25\n"
	"www IN A 192.0.2.80\nwww IN AAAA 2001:db8::80\n"
	"api IN A 192.0.2.81\napi IN AAAA 2001:db8::81\nshop IN A 192.0.2.82\n"
	"blog IN CNAME www.example.com.\ncdn IN CNAME www.example.com.\n"
	"ftp IN A 192.0.2.21\nvpn IN A 192.0.2.100\nvpn IN AAAA 2001:db8::100\n"
	"dev IN A 192.0.2.120\nstaging IN A 192.0.2.121\n"
	"status IN A 203.0.113.5\nstatus IN TXT \"status page\"\n"
	"git IN A 192.0.2.122\ngit IN AAAA 2001:db8::122\n"
	"_dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.com\"\n"
	"default._domainkey IN TXT \"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC1\"\n"
	"eu IN NS ns1.eu.example.com.\neu IN NS ns2.eu.example.com.\n"
	"ns1.eu IN A 192.0.2.200\nns2.eu IN A 192.0.2.201\n";

static const char *const A_NAMES[] = { "example.com", "ns1.example.com", "ns2.example.com",
	"mail.example.com", "mail2.example.com", "www.example.com", "api.example.com",
	"shop.example.com", "ftp.example.com", "vpn.example.com", "dev.example.com",
	"staging.example.com", "status.example.com", "git.example.com" };
static const char *const AAAA_NAMES[] = { "example.com", "ns1.example.com", "ns2.example.com",
	"mail.example.com", "www.example.com", "api.example.com", "vpn.example.com",
	"git.example.com" };
static const char *const CNAMES[] = { "blog.example.com", "cdn.example.com" };
static const char *const MX_NAMES[] = { "example.com" };
static const char *const TXT_NAMES[] = { "example.com", "status.example.com",
	"_dmarc.example.com", "default._domainkey.example.com" };
static const char *const REF_NAMES[] = { "www.eu.example.com", "eu.example.com",
	"mail.shop.eu.example.com" };
static const char *const NODATA_NAMES[] = { "shop.example.com", "ftp.example.com",
	"blog.example.com" };   /* asked for AAAA, MX: none (blog: the CNAME, then NODATA) */

#define NQ 512                 /* distinct queries, cycled */

struct query { uint8_t wire[300]; size_t len; };

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

#define PICK(arr) arr[rnd(sizeof(arr) / sizeof(arr[0]))]

static void make_query(struct query *q, unsigned id)
{
	char name[300];
	uint16_t qtype = RW_TYPE_A;
	uint32_t r = rnd(100);
	if (r < 40) {
		snprintf(name, sizeof(name), "%s", PICK(A_NAMES));
	} else if (r < 62) {
		snprintf(name, sizeof(name), "%s", PICK(AAAA_NAMES)); qtype = RW_TYPE_AAAA;
	} else if (r < 66) {
		snprintf(name, sizeof(name), "%s", PICK(CNAMES));
	} else if (r < 71) {
		snprintf(name, sizeof(name), "%s", PICK(MX_NAMES)); qtype = RW_TYPE_MX;
	} else if (r < 76) {
		snprintf(name, sizeof(name), "%s", PICK(TXT_NAMES)); qtype = RW_TYPE_TXT;
	} else if (r < 86) {
		if (rnd(2))
			snprintf(name, sizeof(name), "nx%08x.example.com", rnd(0x7fffffff));
		else
			snprintf(name, sizeof(name), "nx%06x.%s", rnd(0xffffff), PICK(A_NAMES));
		qtype = rnd(2) ? RW_TYPE_A : RW_TYPE_AAAA;
	} else if (r < 94) {
		snprintf(name, sizeof(name), "%s", PICK(REF_NAMES));
		qtype = rnd(2) ? RW_TYPE_A : RW_TYPE_AAAA;
	} else {
		snprintf(name, sizeof(name), "%s", PICK(NODATA_NAMES));
		qtype = rnd(2) ? RW_TYPE_AAAA : RW_TYPE_MX;
	}
	if (rnd(4) == 0)               /* mixed case, as 0x20 resolvers send */
		for (char *c = name; *c; c++)
			if (*c >= 'a' && *c <= 'z' && rnd(2))
				*c -= 32;
	uint8_t *w = q->wire;
	memset(w, 0, RW_HDR_LEN);
	rw_put16(w, (uint16_t)id);
	w[2] = RW_FLAG_RD;
	rw_put16(w + RW_HDR_QDCOUNT, 1);
	int n = rw_dname_from_str(name, NULL, w + RW_HDR_LEN);
	CHECK(n > 0);
	size_t pos = RW_HDR_LEN + (size_t)n;
	rw_put16(w + pos, qtype);
	rw_put16(w + pos + 2, RW_CLASS_IN);
	pos += 4;
	if (rnd(3) == 0) {             /* EDNS, no option; DO one time in four */
		rw_put16(w + RW_HDR_ARCOUNT, 1);
		w[pos] = 0;
		rw_put16(w + pos + 1, RW_TYPE_OPT);
		rw_put16(w + pos + 3, 1232);
		w[pos + 5] = 0; w[pos + 6] = 0;
		w[pos + 7] = rnd(4) == 0 ? 0x80 : 0; w[pos + 8] = 0;
		rw_put16(w + pos + 9, 0);
		pos += 11;
	}
	q->len = pos;
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 100000;
	CHECK(total > 0);

	char dir[] = "/tmp/qpath_instr.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof(path), "%s/example.com.zone", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL && fputs(ZONE, f) >= 0 && fclose(f) == 0);
	uint8_t apex[RW_DNAME_MAXLEN];
	CHECK(rw_dname_from_str("example.com.", NULL, apex) > 0);
	struct rwd_zone *z = rwd_zone_load(apex, path, NULL, NULL);
	CHECK(z != NULL);
	unlink(path);
	rmdir(dir);

	static struct rwd_snapshot snap;
	struct rwd_zone **zones = malloc(sizeof(*zones));
	CHECK(zones != NULL);
	zones[0] = z;
	snap.zones = rwd_zonedb_new(zones, 1);
	CHECK(snap.zones != NULL);
	snap.edns_udp_size = 1232;
	snap.cookies = true;
	memcpy(snap.cookie_secret, "qpath-instr-key!", sizeof(snap.cookie_secret));

	static struct query qs[NQ];
	for (unsigned i = 0; i < NQ; i++)
		make_query(&qs[i], i);

	static struct rwd_qstats stats;
	struct rwd_query_thread thread = { .rng = 1, .stats = &stats, .now = rwd_query_clock() };
	struct sockaddr_in client = { .sin_family = AF_INET, .sin_port = htons(5353) };
	client.sin_addr.s_addr = htonl(0x7f000001);
	static uint8_t out[4096 + 512];
	struct rwd_query qr = { .transport = &rwd_transport_udp, .out_cap = sizeof(out),
	                        .thread = &thread, .client = (struct sockaddr *)&client, .out = out };
	uint64_t digest = 1469598103934665603u;   /* FNV-1a over every response */
	unsigned long bytes = 0;
	for (long i = 0; i < total; i++) {
		const struct query *q = &qs[i % NQ];
		qr.wire = q->wire;
		qr.wire_len = q->len;
		size_t len = rwd_query_process(&snap, &qr);
		bytes += len;
		if (i < NQ) {                  /* every distinct query once: the digest */
			for (size_t k = 0; k < len; k++)
				digest = (digest ^ out[k]) * 1099511628211u;
			digest = (digest ^ len) * 1099511628211u;
		}
	}
	printf("queries %ld, response bytes %lu, digest %016llx\n", total, bytes,
	       (unsigned long long)digest);
	return 0;
}
