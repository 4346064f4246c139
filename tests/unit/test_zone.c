/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the zone store (src/server/zone/): small zones are written
 * to a temporary directory and loaded with rwd_zone_load, then the node
 * table is inspected: closest-encloser lookups, empty non-terminals, parent
 * links, cut pointers at and below delegations, wildcard links, RRsets and
 * record counts, serial, and the precomputed answers' headline fields.
 * Errors are checked as the exact "FILE:LINE: message" lines the report
 * callback receives.
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
#include "server/zone/zone.h"

#include "testzone.h"

static int setup(void **state) { return tz_mkdir("test_zone"); }
static int teardown(void **state) { return tz_rmdir(); }

/* Node of a name given as text (any case), or NULL. */
static const struct rwd_node *find(const struct rwd_zone *z, const char *name)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int n = tz_lname(name, dn);
	return rwd_zone_find(z, dn, (size_t)n);
}

static const struct rwd_node *must_find(const struct rwd_zone *z, const char *name)
{
	const struct rwd_node *n = find(z, name);
	if (n == NULL)
		fail_msg("no node for %s", name);
	return n;
}

static const struct rwd_node *encloser(const struct rwd_zone *z, const char *name)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int n = tz_lname(name, dn);
	return rwd_zone_encloser(z, dn, (size_t)n);
}

static void assert_node_name(const struct rwd_node *n, const char *name)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int len = tz_lname(name, dn);
	assert_non_null(n);
	if (n->name_len != len || memcmp(n->name, dn, (size_t)len) != 0) {
		char got[1024];
		rw_dname_to_str(n->name, got, sizeof(got));
		fail_msg("node is %s, want %s", got, name);
	}
}

/* ---- structure ---- */

static const char *const ZONE =
	"$ORIGIN example.com.\n"                                           /*  1 */
	"$TTL 3600\n"                                                      /*  2 */
	"@           SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
	"@           NS    ns1\n"
	"@           NS    ns2.example.net.\n"                             /*  5 */
	"@           MX    10 mail\n"
	"ns1         A     192.0.2.1\n"
	"ns1         AAAA  2001:db8::1\n"
	"mail        A     192.0.2.25\n"
	"WWW         A     192.0.2.80\n"                                   /* 10: owner case */
	"www         A     192.0.2.81\n"
	"www 600     TXT   \"short ttl\"\n"
	"host.a.ent  A     192.0.2.10\n"                                   /* ENTs a.ent, ent */
	"*.wild      A     192.0.2.99\n"
	"*.wild      TXT   \"wild\"\n"                                     /* 15 */
	"exists.wild A     192.0.2.98\n"
	"alias       CNAME www\n"
	"sub         NS    ns1.sub\n"
	"sub         NS    ns.example.net.\n"
	"sub         DS    12345 13 2 "                                    /* 20 */
	"  061fc6d4da1789011cc99d3716aab0c59511be17772e3793082d964c68567af4\n"
	"ns1.sub     A     192.0.2.201\n"
	"deep.x.sub  A     192.0.2.202\n"                                  /* occluded, ENT x.sub */
	"*.sub       A     192.0.2.203\n"                                  /* occluded wildcard */
	"sub.sub     NS    ns.example.net.\n";                             /* cut below a cut */

static struct rwd_zone *zone;

static int setup_zone(void **state)
{
	if (tz_mkdir("test_zone") < 0)
		return -1;
	uint8_t apex[RW_DNAME_MAXLEN];
	rw_dname_from_str("example.com.", NULL, apex);
	struct tz_report r = { 0 };
	FILE *f = fopen(tz_path("example.com.zone"), "w");
	if (f == NULL)
		return -1;
	fputs(ZONE, f);
	fclose(f);
	zone = rwd_zone_load(apex, tz_path("example.com.zone"), tz_collect, &r);
	for (unsigned i = 0; i < r.n; i++)
		fprintf(stderr, "zone: %s\n", r.msg[i]);
	return zone && r.n == 0 ? 0 : -1;
}

static int teardown_zone(void **state)
{
	rwd_zone_free(zone);
	return tz_rmdir();
}

static void test_apex_and_counts(void **state)
{
	const struct rwd_zone *z = zone;
	assert_int_equal(z->serial, 2024010101);
	assert_int_equal(z->apex_len, 13);
	assert_int_equal(z->apex_labels, 2);
	assert_memory_equal(z->apex_name, "\x07" "example\x03" "com", 13);
	assert_ptr_equal(find(z, "example.com."), z->apex);
	assert_ptr_equal(find(z, "EXAMPLE.com."), z->apex);
	assert_true(z->apex->flags & RWD_NODE_APEX);
	assert_false(z->apex->flags & RWD_NODE_DELEG);   /* apex NS is not a cut */
	assert_null(z->apex->cut);
	assert_int_equal(z->apex->id, 0);
	/* 22 records in the file; 13 named nodes + 4 ENTs (ent, a.ent, wild, x.sub). */
	assert_int_equal(z->n_records, 22);
	assert_int_equal(z->n_nodes, 17);
	assert_string_equal(z->file, tz_path("example.com.zone"));

	/* Apex RRsets sorted by type: NS (2), SOA (6), MX (15). */
	const struct rwd_node *a = z->apex;
	assert_int_equal(a->n_rrsets, 3);
	assert_int_equal(a->rrsets[0].type, RW_TYPE_NS);
	assert_int_equal(a->rrsets[1].type, RW_TYPE_SOA);
	assert_int_equal(a->rrsets[2].type, RW_TYPE_MX);
	assert_int_equal(a->rrsets[0].count, 2);
	assert_int_equal(a->rrsets[0].ttl, 3600);
	const struct rwd_rrset *soa = rwd_node_rrset(a, RW_TYPE_SOA);
	assert_non_null(soa);
	assert_int_equal(soa->count, 1);
	assert_int_equal(rw_get32(rwd_soa_serial(soa)), 2024010101);
	assert_int_equal(rw_get32(rwd_soa_serial(soa) + 16), 300);   /* MINIMUM */
	/* NS rdata in file order, flat names. */
	const struct rwd_rrset *ns = rwd_node_rrset(a, RW_TYPE_NS);
	const uint8_t *rd = ns->rdata;
	assert_int_equal(rw_get16(rd), 17);
	assert_memory_equal(rd + 2, "\x03ns1\x07" "example\x03" "com", 17);
	rd += 2 + 17;
	assert_int_equal(rw_get16(rd), 17);
	assert_memory_equal(rd + 2, "\x03ns2\x07" "example\x03" "net", 17);
	unsigned n = 0;
	RWD_RRSET_FOREACH(ns, r, i)
		n += (unsigned)(r[2] == 3);
	assert_int_equal(n, 2);
}

static void test_rrsets(void **state)
{
	const struct rwd_zone *z = zone;
	const struct rwd_node *www = must_find(z, "www.example.com.");
	assert_int_equal(www->n_rrsets, 2);
	const struct rwd_rrset *a = rwd_node_rrset(www, RW_TYPE_A);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->ttl, 3600);
	/* File order kept within the RRset. */
	assert_memory_equal(a->rdata, "\x00\x04\xc0\x00\x02\x50\x00\x04\xc0\x00\x02\x51", 12);
	const struct rwd_rrset *txt = rwd_node_rrset(www, RW_TYPE_TXT);
	assert_int_equal(txt->ttl, 600);
	assert_null(rwd_node_rrset(www, RW_TYPE_AAAA));
	assert_false(www->flags & RWD_NODE_CNAME);
	/* A CNAME node. */
	const struct rwd_node *alias = must_find(z, "alias.example.com.");
	assert_true(alias->flags & RWD_NODE_CNAME);
	assert_int_equal(alias->n_rrsets, 1);
	/* The delegation: NS and DS, no glue of its own. */
	const struct rwd_node *sub = must_find(z, "sub.example.com.");
	assert_int_equal(sub->n_rrsets, 2);
	assert_int_equal(rwd_node_rrset(sub, RW_TYPE_NS)->count, 2);
	assert_int_equal(rwd_node_rrset(sub, RW_TYPE_DS)->count, 1);
	assert_int_equal(rwd_node_rrset(sub, RW_TYPE_DS)->rdata[0] * 256 + rwd_node_rrset(sub, RW_TYPE_DS)->rdata[1],
	                 4 + 32);
}

/* A node's parent: the node of its name minus the first label (every
 * ancestor down from the apex is a node). */
static const struct rwd_node *parent(const struct rwd_zone *z, const struct rwd_node *n)
{
	if (n == z->apex)
		return NULL;
	return rwd_zone_find(z, n->name + n->name[0] + 1, n->name_len - n->name[0] - 1u);
}

static void test_ents_and_parents(void **state)
{
	const struct rwd_zone *z = zone;
	static const char *ents[] = { "ent.example.com.", "a.ent.example.com.", "wild.example.com.",
	                              "x.sub.example.com." };
	for (size_t i = 0; i < 4; i++) {
		const struct rwd_node *n = must_find(z, ents[i]);
		assert_int_equal(n->n_rrsets, 0);
		assert_null(n->rrsets);
		assert_false(n->flags & (RWD_NODE_CNAME | RWD_NODE_DELEG | RWD_NODE_APEX));
	}
	const struct rwd_node *host = must_find(z, "host.a.ent.example.com.");
	assert_ptr_equal(parent(z, host), find(z, "a.ent.example.com."));
	assert_ptr_equal(parent(z, parent(z, host)), find(z, "ent.example.com."));
	assert_ptr_equal(parent(z, parent(z, parent(z, host))), z->apex);
	assert_ptr_equal(parent(z, must_find(z, "deep.x.sub.example.com.")), find(z, "x.sub.example.com."));
	assert_ptr_equal(parent(z, must_find(z, "x.sub.example.com.")), find(z, "sub.example.com."));
	assert_ptr_equal(parent(z, must_find(z, "www.example.com.")), z->apex);
	/* Names that are not in the zone are not nodes. */
	assert_null(find(z, "nothing.example.com."));
	assert_null(find(z, "foo.wild.example.com."));
	assert_null(find(z, "host.example.com."));
	assert_null(find(z, "example.net."));
	assert_null(find(z, "com."));
	/* Every node is found under its own name; ids are dense. */
	unsigned seen = 0;
	for (size_t i = 0; i <= z->table_mask; i++) {
		const struct rwd_node *n = z->table[i];
		if (n == NULL)
			continue;
		seen++;
		assert_ptr_equal(rwd_zone_find(z, n->name, n->name_len), n);
		assert_true(n->id < z->n_nodes);
		assert_int_equal(n->hash, rwd_name_hash(n->name, n->name_len));
		/* every ancestor is a node: the parent exists */
		if (n != z->apex)
			assert_non_null(parent(z, n));
	}
	assert_int_equal(seen, z->n_nodes);
}

static void test_encloser(void **state)
{
	const struct rwd_zone *z = zone;
	static const struct { const char *q, *enc; } cases[] = {
		{ "example.com.", "example.com." },
		{ "www.example.com.", "www.example.com." },
		{ "WwW.ExAmPlE.CoM.", "www.example.com." },
		{ "x.www.example.com.", "www.example.com." },
		{ "a.b.c.www.example.com.", "www.example.com." },
		{ "nothing.example.com.", "example.com." },
		{ "a.b.nothing.example.com.", "example.com." },
		{ "ent.example.com.", "ent.example.com." },
		{ "b.ent.example.com.", "ent.example.com." },
		{ "z.a.ent.example.com.", "a.ent.example.com." },
		{ "foo.wild.example.com.", "wild.example.com." },
		{ "a.b.wild.example.com.", "wild.example.com." },
		{ "*.wild.example.com.", "*.wild.example.com." },
		{ "x.*.wild.example.com.", "*.wild.example.com." },
		{ "x.exists.wild.example.com.", "exists.wild.example.com." },
		{ "sub.example.com.", "sub.example.com." },
		{ "host.sub.example.com.", "sub.example.com." },
		{ "a.deep.x.sub.example.com.", "deep.x.sub.example.com." },
		{ "y.x.sub.example.com.", "x.sub.example.com." },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_node_name(encloser(z, cases[i].q), cases[i].enc);
}

static void test_wildcard_links(void **state)
{
	const struct rwd_zone *z = zone;
	const struct rwd_node *wild = must_find(z, "wild.example.com.");
	const struct rwd_node *star = must_find(z, "*.wild.example.com.");
	assert_ptr_equal(wild->wildcard, star);
	assert_ptr_equal(parent(z, star), wild);
	assert_int_equal(star->n_rrsets, 2);
	assert_null(star->wildcard);
	assert_null(star->cut);
	assert_null(z->apex->wildcard);
	assert_null(must_find(z, "exists.wild.example.com.")->wildcard);
	assert_null(must_find(z, "www.example.com.")->wildcard);
	/* The link exists below a cut too; the cut decides there. */
	const struct rwd_node *sub = must_find(z, "sub.example.com.");
	assert_ptr_equal(sub->wildcard, find(z, "*.sub.example.com."));
	assert_ptr_equal(sub->wildcard->cut, sub);
}

static void test_cuts(void **state)
{
	const struct rwd_zone *z = zone;
	const struct rwd_node *sub = must_find(z, "sub.example.com.");
	assert_true(sub->flags & RWD_NODE_DELEG);
	assert_ptr_equal(sub->cut, sub);
	static const char *below[] = {
		"ns1.sub.example.com.", "x.sub.example.com.", "deep.x.sub.example.com.",
		"*.sub.example.com.", "sub.sub.example.com.",
	};
	for (size_t i = 0; i < 5; i++)
		assert_ptr_equal(must_find(z, below[i])->cut, sub);
	/* A cut below a cut is occluded: the upper one answers. */
	assert_true(must_find(z, "sub.sub.example.com.")->flags & RWD_NODE_DELEG);
	static const char *auth[] = {
		"example.com.", "ns1.example.com.", "www.example.com.", "ent.example.com.",
		"host.a.ent.example.com.", "*.wild.example.com.", "wild.example.com.", "alias.example.com.",
	};
	for (size_t i = 0; i < 8; i++)
		assert_null(must_find(z, auth[i])->cut);
	/* The closest encloser of any name below the cut carries it. */
	assert_ptr_equal(encloser(z, "a.b.c.sub.example.com.")->cut, sub);
}

static void test_answers(void **state)
{
	const struct rwd_zone *z = zone;
	/* Shared negative answers. */
	assert_non_null(z->nxdomain);
	assert_int_equal(z->nxdomain->rcode, RW_RCODE_NXDOMAIN);
	assert_int_equal(z->nxdomain->aa, 1);
	assert_int_equal(z->nxdomain->ancount, 0);
	assert_int_equal(z->nxdomain->nscount, 1);
	assert_int_equal(z->nodata->rcode, RW_RCODE_NOERROR);
	assert_int_equal(z->nodata->nscount, 1);
	/* Positive answers per type, NODATA for the others. */
	const struct rwd_node *www = must_find(z, "www.example.com.");
	const struct rwd_answer *a = rwd_node_answer(www, RW_TYPE_A);
	assert_int_equal(a->rcode, RW_RCODE_NOERROR);
	assert_int_equal(a->aa, 1);
	assert_int_equal(a->ancount, 2);
	assert_int_equal(a->nscount, 0);
	assert_int_equal(a->arcount, 0);
	assert_int_equal(a->qname_len, 17);
	assert_ptr_equal(rwd_node_answer(www, RW_TYPE_MX), z->nodata);
	assert_ptr_equal(rwd_node_answer(must_find(z, "ent.example.com."), RW_TYPE_A), z->nodata);
	/* MX at the apex: the exchange's address in additional. */
	const struct rwd_answer *mx = rwd_node_answer(z->apex, RW_TYPE_MX);
	assert_int_equal(mx->ancount, 1);
	assert_int_equal(mx->arcount, 1);
	assert_true(mx->required < mx->len);
	/* NS at the apex: ns1 A + AAAA; ns2.example.net is not ours. */
	const struct rwd_answer *ns = rwd_node_answer(z->apex, RW_TYPE_NS);
	assert_int_equal(ns->ancount, 2);
	assert_int_equal(ns->arcount, 2);
	/* The referral: not authoritative, NS in authority, in-zone glue only. */
	const struct rwd_node *sub = must_find(z, "sub.example.com.");
	assert_non_null(sub->referral);
	assert_int_equal(sub->referral->aa, 0);
	assert_int_equal(sub->referral->ancount, 0);
	assert_int_equal(sub->referral->nscount, 2);
	assert_int_equal(sub->referral->arcount, 1);
	/* The NS RRset must fit; the glue below the cut is needed (RFC 9471):
	 * left out, it sets TC. */
	assert_true(sub->referral->required < sub->referral->len);
	assert_int_equal(sub->referral->ar_needed, 1);
	/* DS at the cut is the parent's, authoritative. */
	const struct rwd_answer *ds = rwd_node_answer(sub, RW_TYPE_DS);
	assert_int_equal(ds->aa, 1);
	assert_int_equal(ds->ancount, 1);
	assert_ptr_equal(rwd_node_answer(sub, RW_TYPE_A), z->nodata);
	/* Occluded nodes answer nothing themselves. */
	const struct rwd_node *occ = must_find(z, "ns1.sub.example.com.");
	assert_int_equal(occ->n_answers, 0);
	assert_null(occ->other);
	assert_null(occ->referral);
	assert_null(must_find(z, "sub.sub.example.com.")->referral);
	/* A CNAME node: qtype CNAME is the CNAME alone, A follows to www. */
	const struct rwd_node *alias = must_find(z, "alias.example.com.");
	assert_int_equal(rwd_node_answer(alias, RW_TYPE_CNAME)->ancount, 1);
	assert_int_equal(rwd_node_answer(alias, RW_TYPE_A)->ancount, 3);
	assert_int_equal(rwd_node_answer(alias, RW_TYPE_TXT)->ancount, 2);
	const struct rwd_answer *nod = rwd_node_answer(alias, RW_TYPE_SRV);
	assert_int_equal(nod->ancount, 1);
	assert_int_equal(nod->nscount, 1);            /* CNAME + SOA: NODATA at www */
	/* ANY (RFC 8482): answers[0] is the lowest type. */
	assert_int_equal(z->apex->answers[0].qtype, RW_TYPE_NS);
}

/* ---- other zones: $INCLUDE, duplicates, limits ---- */

static void test_include(void **state)
{
	tz_write("inc-hosts.inc",
	         "host1 A 192.0.2.1\n"
	         "host2.sub A 192.0.2.2\n");
	tz_write("inc-origin.inc",
	         "$ORIGIN elsewhere.example.org.\n"
	         "host3 A 192.0.2.3\n");
	char text[512];
	snprintf(text, sizeof(text),
	         "$ORIGIN example.org.\n"
	         "$TTL 300\n"
	         "@ SOA ns1 hostmaster 7 1 1 1 1\n"
	         "@ NS ns1\n"
	         "ns1 A 192.0.2.53\n"
	         "$INCLUDE %s\n"                                  /* absolute path */
	         "$INCLUDE inc-hosts.inc other.example.org.\n"    /* relative path, own origin */
	         "$INCLUDE inc-origin.inc\n"
	         "after A 192.0.2.9\n",
	         tz_path("inc-hosts.inc"));
	struct rwd_zone *z = tz_load_ok("example.org.", "inc.zone", text);
	assert_int_equal(z->serial, 7);
	assert_int_equal(z->n_records, 3 + 2 + 2 + 1 + 1);
	assert_non_null(find(z, "host1.example.org."));
	assert_non_null(find(z, "host2.sub.example.org."));
	assert_non_null(find(z, "host1.other.example.org."));
	assert_non_null(find(z, "host2.sub.other.example.org."));
	assert_non_null(find(z, "host3.elsewhere.example.org."));
	/* The origin is restored after an $INCLUDE (RFC 1035 5.1). */
	assert_non_null(find(z, "after.example.org."));
	assert_null(find(z, "after.elsewhere.example.org."));
	assert_int_equal(rwd_node_rrset(find(z, "after.example.org."), RW_TYPE_A)->ttl, 300);
	rwd_zone_free(z);
}

static void test_duplicates_dropped(void **state)
{
	struct rwd_zone *z = tz_load_ok("example.com.", "dup.zone",
		"$ORIGIN example.com.\n$TTL 3600\n"
		"@ SOA ns1 hostmaster 1 1 1 1 1\n"
		"@ NS ns1\n"
		"ns1 A 192.0.2.1\n"
		"www A 192.0.2.1\n"
		"WWW A 192.0.2.1\n"          /* same RR, owner in another case */
		"www 60 A 192.0.2.1\n"       /* same RR, another TTL: still a duplicate */
		"www A 192.0.2.2\n");
	const struct rwd_rrset *a = rwd_node_rrset(find(z, "www.example.com."), RW_TYPE_A);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->ttl, 3600);
	assert_memory_equal(a->rdata, "\x00\x04\xc0\x00\x02\x01\x00\x04\xc0\x00\x02\x02", 12);
	assert_int_equal(rwd_node_answer(find(z, "www.example.com."), RW_TYPE_A)->ancount, 2);
	rwd_zone_free(z);
}

/*
 * RFC 4343 / RFC 2181 5: names in RDATA compare without case, so
 * "NS ns1" and "NS NS1" are one record. (Knot DNS canonicalises RDATA
 * names at load and serves a single NS.)
 */
static void test_duplicates_rdata_name_case(void **state)
{
	struct rwd_zone *z = tz_load_ok("example.com.", "dupcase.zone",
		"$ORIGIN example.com.\n$TTL 3600\n"
		"@ SOA ns1 hostmaster 1 1 1 1 1\n"
		"@ NS ns1\n"
		"@ NS NS1.EXAMPLE.COM.\n"
		"ns1 A 192.0.2.1\n");
	const struct rwd_rrset *ns = rwd_node_rrset(z->apex, RW_TYPE_NS);
	if (ns->count != 1)
		fail_msg("apex NS has %u records for one name spelled in two cases", ns->count);
	rwd_zone_free(z);
}

/* The record count is of records in the zone: dropped duplicates are not records. */
static void test_duplicates_not_counted(void **state)
{
	struct rwd_zone *z = tz_load_ok("example.com.", "dupcount.zone",
		"$ORIGIN example.com.\n$TTL 3600\n"
		"@ SOA ns1 hostmaster 1 1 1 1 1\n"
		"@ NS ns1\n"
		"ns1 A 192.0.2.1\n"
		"www A 192.0.2.1\n"
		"www A 192.0.2.1\n");
	size_t n = z->n_records;
	rwd_zone_free(z);
	if (n != 4)
		fail_msg("n_records = %zu for 4 distinct records (one duplicate dropped)", n);
}

static void test_apex_cname_chain_and_limits(void **state)
{
	/* A long chain: 20 CNAMEs, followed up to MAX_CHAIN (16) hops. */
	char text[4096];
	size_t o = (size_t)snprintf(text, sizeof(text),
		"$ORIGIN example.com.\n$TTL 3600\n"
		"@ SOA ns1 hostmaster 1 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.1\n");
	for (int i = 0; i < 20; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "c%d CNAME c%d\n", i, i + 1);
	o += (size_t)snprintf(text + o, sizeof(text) - o, "c20 A 192.0.2.20\n");
	struct rwd_zone *z = tz_load_ok("example.com.", "chain.zone", text);
	const struct rwd_answer *a = rwd_node_answer(find(z, "c0.example.com."), RW_TYPE_A);
	assert_int_equal(a->rcode, RW_RCODE_NOERROR);
	assert_true(a->ancount >= 16 && a->ancount <= 17);
	a = rwd_node_answer(find(z, "c10.example.com."), RW_TYPE_A);
	assert_int_equal(a->ancount, 11);                        /* 10 CNAMEs + the A */
	rwd_zone_free(z);
}

/*
 * A zone big enough for the loader's large-table paths: the node table
 * starts from a guess from the file size, grows past 2 MiB (mapped memory)
 * and the arena chunks grow to their largest size.
 */
static void test_big_zone(void **state)
{
	enum { N = 200000 };
	const char *path = tz_path("big.zone");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 1 1 1 1\n@ NS ns1\n"
	      "ns1 A 192.0.2.1\n", f);
	for (unsigned i = 0; i < N; i++)
		fprintf(f, "h%u A 10.%u.%u.%u\n", i, (i >> 16) & 255, (i >> 8) & 255, i & 255);
	fclose(f);
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	struct tz_report r = { 0 };
	struct rwd_zone *z = rwd_zone_load(apex, path, tz_collect, &r);
	assert_non_null(z);
	assert_int_equal(r.n, 0);
	assert_int_equal(z->n_records, N + 3);
	assert_int_equal(z->n_nodes, N + 2);
	assert_true(z->table_mask + 1 >= 2 * z->n_nodes);
	for (unsigned i = 0; i < N; i += 997) {
		char name[64];
		snprintf(name, sizeof(name), "H%u.Example.COM.", i);
		const struct rwd_node *n = must_find(z, name);
		const struct rwd_rrset *a = rwd_node_rrset(n, RW_TYPE_A);
		assert_non_null(a);
		const uint8_t want[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		assert_memory_equal(a->rdata + 2, want, 4);
		assert_int_equal(rwd_node_answer(n, RW_TYPE_A)->ancount, 1);
		snprintf(name, sizeof(name), "x.y.h%u.example.com.", i);
		assert_ptr_equal(encloser(z, name), n);
	}
	assert_null(find(z, "h200000.example.com."));
	rwd_zone_free(z);
}

/* ---- errors ---- */

/* Load text as zone file `file` of example.com.; expect exactly the lines in want. */
static void expect_msgs(const char *file, const char *text, bool loads, const char *const *want,
                        unsigned n_want)
{
	struct tz_report r;
	struct rwd_zone *z = tz_load("example.com.", file, text, &r);
	bool ok = (z != NULL) == loads && r.n == n_want;
	for (unsigned i = 0; ok && i < n_want; i++) {
		char line[RWD_ZONE_ERRLEN];
		snprintf(line, sizeof(line), want[i], tz_path(file));
		ok = strcmp(line, r.msg[i]) == 0;
	}
	if (!ok) {
		print_error("zone %s %s, %u message(s):\n", file, z ? "loaded" : "not loaded", r.n);
		for (unsigned i = 0; i < r.n && i < TZ_MAX_MSGS; i++)
			print_error("  got:  %s\n", r.msg[i]);
		for (unsigned i = 0; i < n_want; i++) {
			char line[RWD_ZONE_ERRLEN];
			snprintf(line, sizeof(line), want[i], tz_path(file));
			print_error("  want: %s\n", line);
		}
		rwd_zone_free(z);
		fail_msg("zone %s: messages differ (want %s)", file, loads ? "loaded" : "not loaded");
	}
	rwd_zone_free(z);
}

#define HEAD "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"

static void test_err_cname_and_other(void **state)
{
	static const char *want[] = { "%s:7: CNAME and other data at www.example.com." };
	expect_msgs("cname1.zone", HEAD "www CNAME ns1\nwww A 192.0.2.2\n", false, want, 1);
	/* The later record's line, whichever type comes first. */
	expect_msgs("cname2.zone", HEAD "www A 192.0.2.2\nwww CNAME ns1\n", false, want, 1);
	expect_msgs("cname3.zone", HEAD "www TXT \"x\"\nwww CNAME ns1\n", false, want, 1);
	/* Two different CNAMEs at one name. */
	static const char *want2[] = { "%s:7: more than one CNAME record at alias.example.com." };
	expect_msgs("cname4.zone", HEAD "alias CNAME ns1\nalias CNAME www\n", false, want2, 1);
	/* A CNAME at the apex collides with SOA and NS. */
	static const char *want3[] = { "%s:6: CNAME and other data at example.com." };
	expect_msgs("cname5.zone", HEAD "@ CNAME www.example.net.\n", false, want3, 1);
}

static void test_err_dname(void **state)
{
	/* RFC 6672 2.3: nothing below a DNAME; each name below is reported at
	 * its first record (Knot DNS: "child record exists under DNAME"). */
	static const char *below[] = {
		"%s:7: x.d.example.com. is below the DNAME at d.example.com. (RFC 6672 2.3)",
		"%s:8: a.b.d.example.com. is below the DNAME at d.example.com. (RFC 6672 2.3)",
	};
	expect_msgs("dname1.zone", HEAD "d DNAME example.net.\nx.d A 192.0.2.2\na.b.d TXT \"x\"\n",
	            false, below, 2);
	/* Records written before the DNAME count as well. */
	static const char *before[] = {
		"%s:6: x.d.example.com. is below the DNAME at d.example.com. (RFC 6672 2.3)",
	};
	expect_msgs("dname2.zone", HEAD "x.d A 192.0.2.2\nd DNAME example.net.\n", false, before, 1);
	/* DNAME beside NS: a delegation would hide it (Knot: "NS record exists
	 * beside DNAME"); its glue is below the DNAME too. */
	static const char *deleg[] = {
		"%s:7: DNAME beside NS at dd.example.com., which is not the zone apex",
		"%s:8: ns.dd.example.com. is below the DNAME at dd.example.com. (RFC 6672 2.3)",
	};
	expect_msgs("dname3.zone", HEAD "dd NS ns.dd\ndd DNAME example.net.\nns.dd A 192.0.2.3\n",
	            false, deleg, 2);
	/* Fine: other data beside a DNAME, a DNAME at the apex beside NS, a
	 * DNAME whose target is below itself (answered YXDOMAIN in the end). */
	expect_msgs("dname4.zone", HEAD "d DNAME example.net.\nd TXT \"x\"\nd A 192.0.2.2\n"
	            "g DNAME x.g.example.com.\n", true, NULL, 0);
	expect_msgs("dname5.zone", "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1.example.net. h 1 1 1 1 1\n"
	            "@ NS ns1.example.net.\n@ DNAME example.net.\n", true, NULL, 0);
}

static void test_err_soa(void **state)
{
	static const char *nosoa[] = { "%s: no SOA record at the zone apex" };
	expect_msgs("nosoa.zone", "$ORIGIN example.com.\n$TTL 3600\n@ NS ns1\nns1 A 192.0.2.1\n",
	            false, nosoa, 1);
	static const char *nons[] = { "%s: no NS records at the zone apex" };
	expect_msgs("nons.zone", "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 h 1 1 1 1 1\n",
	            false, nons, 1);
	static const char *both[] = { "%s: no SOA record at the zone apex",
	                              "%s: no NS records at the zone apex" };
	expect_msgs("empty.zone", "; nothing\n", false, both, 2);
	static const char *notapex[] = { "%s:6: SOA record at www.example.com., which is not the zone apex" };
	expect_msgs("soa.zone", HEAD "www SOA ns1 hostmaster 2 1 1 1 1\n", false, notapex, 1);
	static const char *two[] = { "%s:6: more than one SOA record at the zone apex" };
	expect_msgs("soa2.zone", HEAD "@ SOA ns1 hostmaster 2 1 1 1 1\n", false, two, 1);
}

static void test_err_outside(void **state)
{
	static const char *want[] = { "%s:6: www.example.org. is outside the zone",
	                              "%s:7: com. is outside the zone" };
	expect_msgs("out.zone", HEAD "www.example.org. A 192.0.2.1\ncom. NS ns1.example.com.\n",
	            false, want, 2);
	/* A name that merely ends like the apex. */
	static const char *want2[] = { "%s:6: xexample.com. is outside the zone" };
	expect_msgs("out2.zone", HEAD "xexample.com. A 192.0.2.1\n", false, want2, 1);
}

static void test_err_syntax(void **state)
{
	/* zscanner's messages, with the line it stopped on. */
	static const char *ip[] = { "%s:6: invalid IPv4 address" };
	expect_msgs("syn1.zone", HEAD "www A 192.0.2.999\n", false, ip, 1);
	static const char *extra[] = { "%s:7: unexpected data" };
	expect_msgs("syn2.zone", HEAD "ok A 192.0.2.1\nwww A 192.0.2.1 extra\n", false, extra, 1);
	/* Several errors are all reported. */
	static const char *two[] = { "%s:6: invalid IPv4 address", "%s:8: invalid address character" };
	expect_msgs("syn3.zone", HEAD "a A 1.2.3.256\nb A 1.2.3.4\nc A x\n", false, two, 2);
	/* Class other than IN: zscanner itself knows only IN (load.c's own
	 * "class N not supported" is not reached). */
	static const char *cls[] = { "%s:6: unsupported record type" };
	expect_msgs("cls.zone", HEAD "www CH A 192.0.2.1\n", false, cls, 1);
	/* Meta types cannot be zone data. */
	static const char *meta[] = { "%s:6: type 255 cannot appear in a zone" };
	expect_msgs("meta.zone", HEAD "www TYPE255 \\# 0\n", false, meta, 1);
	static const char *opt[] = { "%s:6: type 41 cannot appear in a zone" };
	expect_msgs("meta2.zone", HEAD "www TYPE41 \\# 0\n", false, opt, 1);
	/* Rdata that zscanner accepts generically but that breaks the type's layout. */
	static const char *bad[] = { "%s:6: malformed data for type 15" };
	expect_msgs("rdata.zone", HEAD "www TYPE15 \\# 3 000a04\n", false, bad, 1);
}

static void test_err_include_missing(void **state)
{
	static const char *want[] = { "%s:6: file open error" };
	expect_msgs("incmiss.zone", HEAD "$INCLUDE no-such-file.inc\nwww A 192.0.2.1\n", false, want, 1);
	/* A missing zone file itself. */
	struct tz_report r;
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	memset(&r, 0, sizeof(r));
	const char *path = tz_path("does-not-exist.zone");
	struct rwd_zone *z = rwd_zone_load(apex, path, tz_collect, &r);
	assert_null(z);
	assert_int_equal(r.n, 1);
	char want2[512];
	snprintf(want2, sizeof(want2), "%s: cannot open: ", path);
	if (strncmp(r.msg[0], want2, strlen(want2)) != 0)
		fail_msg("got '%s', want it to start with '%s'", r.msg[0], want2);
}

/*
 * An error found in an $INCLUDE'd file names that file: its line numbers
 * mean nothing in the including file.
 */
static void test_err_in_include_names_included_file(void **state)
{
	const char *inc = tz_write("bad.inc", "a A 192.0.2.1\nb TXT \"x\"\nb CNAME a\n");
	char text[512];
	snprintf(text, sizeof(text), HEAD "$INCLUDE %s\n", inc);
	struct tz_report r;
	struct rwd_zone *z = tz_load("example.com.", "incbad.zone", text, &r);
	assert_null(z);
	assert_int_equal(r.n, 1);
	char want[512];
	snprintf(want, sizeof(want), "%s:3: CNAME and other data at b.example.com.", inc);
	if (strcmp(r.msg[0], want) != 0)
		fail_msg("got '%s', want '%s'", r.msg[0], want);
}

static void test_warn_ttl_in_include_names_included_file(void **state)
{
	const char *inc = tz_write("ttl.inc", "x A 192.0.2.1\nx 60 A 192.0.2.2\n");
	char text[512];
	snprintf(text, sizeof(text), HEAD "$INCLUDE %s\n", inc);
	struct tz_report r;
	struct rwd_zone *z = tz_load("example.com.", "incttl.zone", text, &r);
	assert_non_null(z);
	rwd_zone_free(z);
	assert_int_equal(r.n, 1);
	char want[512];
	snprintf(want, sizeof(want),
	         "%s:2: warning: TTL 60 differs from 3600 in the same RRset at x.example.com., using 3600", inc);
	if (strcmp(r.msg[0], want) != 0)
		fail_msg("got '%s', want '%s'", r.msg[0], want);
}

static void test_warn_ttl_mismatch(void **state)
{
	static const char *want[] = {
		"%s:7: warning: TTL 60 differs from 3600 in the same RRset at www.example.com., using 3600",
		"%s:8: warning: TTL 120 differs from 3600 in the same RRset at www.example.com., using 3600",
	};
	const char *text = HEAD "www A 192.0.2.1\nwww 60 A 192.0.2.2\nwww 120 A 192.0.2.3\n";
	expect_msgs("ttl.zone", text, true, want, 2);
	struct tz_report r;
	struct rwd_zone *z = tz_load("example.com.", "ttl.zone", text, &r);
	assert_non_null(z);
	assert_int_equal(r.errors, 0);
	for (unsigned i = 0; i < r.n; i++)
		assert_non_null(strstr(r.msg[i], ": warning: "));
	const struct rwd_rrset *a = rwd_node_rrset(find(z, "www.example.com."), RW_TYPE_A);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->ttl, 3600);
	rwd_zone_free(z);
	/* A warning does not hide an error (the node's checks come first). */
	static const char *mixed[] = {
		"%s:8: CNAME and other data at www.example.com.",
		"%s:7: warning: TTL 60 differs from 3600 in the same RRset at www.example.com., using 3600",
	};
	expect_msgs("ttl2.zone", HEAD "www A 192.0.2.1\nwww 60 A 192.0.2.2\nwww CNAME ns1\n",
	            false, mixed, 2);
}

static void test_report_null(void **state)
{
	/* Without a callback, errors still fail the load. */
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	const char *path = tz_write("nullrep.zone", HEAD "www CNAME ns1\nwww A 192.0.2.1\n");
	assert_null(rwd_zone_load(apex, path, NULL, NULL));
	path = tz_write("nullrep2.zone", HEAD "www A 192.0.2.1\nwww 1 A 192.0.2.2\n");
	struct rwd_zone *z = rwd_zone_load(apex, path, NULL, NULL);
	assert_non_null(z);
	/* References: one per holder, freed on the last drop (ASan checks). */
	rwd_zone_ref(z);
	assert_int_equal(z->refs, 2);
	rwd_zone_free(z);
	assert_int_equal(z->refs, 1);
	rwd_zone_free(z);
}

int main(void)
{
	const struct CMUnitTest structure[] = {
		cmocka_unit_test(test_apex_and_counts),
		cmocka_unit_test(test_rrsets),
		cmocka_unit_test(test_ents_and_parents),
		cmocka_unit_test(test_encloser),
		cmocka_unit_test(test_wildcard_links),
		cmocka_unit_test(test_cuts),
		cmocka_unit_test(test_answers),
	};
	const struct CMUnitTest files[] = {
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_duplicates_dropped),
		cmocka_unit_test(test_duplicates_rdata_name_case),
		cmocka_unit_test(test_duplicates_not_counted),
		cmocka_unit_test(test_apex_cname_chain_and_limits),
		cmocka_unit_test(test_big_zone),
		cmocka_unit_test(test_err_cname_and_other),
		cmocka_unit_test(test_err_dname),
		cmocka_unit_test(test_err_soa),
		cmocka_unit_test(test_err_outside),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_include_missing),
		cmocka_unit_test(test_err_in_include_names_included_file),
		cmocka_unit_test(test_warn_ttl_in_include_names_included_file),
		cmocka_unit_test(test_warn_ttl_mismatch),
		cmocka_unit_test(test_report_null),
	};
	int fails = cmocka_run_group_tests_name("zone structure", structure, setup_zone, teardown_zone);
	fails += cmocka_run_group_tests_name("zone files and errors", files, setup, teardown);
	return fails;
}
