/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the catalog zone producer (RFC 9432): the member ids, the
 * generated zone record by record, rwd_catalog_same, and the server's
 * builds (a reload with the same members keeps the version and its serial,
 * a new member makes a newer serial), the config keys and their errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "lib/wire.h"
#include "server/conf/conf.h"
#include "server/daemon/server.h"
#include "server/snapshot/snapshot.h"
#include "server/zone/history.h"
#include "server/zone/source.h"
#include "testzone.h"

static int setup(void **state)
{
	(void)state;
	return tz_mkdir("test_catalog");
}

static int teardown(void **state)
{
	(void)state;
	return tz_rmdir();
}

static struct rwd_zone *build(const char *apex_text, const struct rwd_source_catalog *cat,
                              struct tz_report *r)
{
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname(apex_text, apex);
	struct rwd_record_source src = rwd_source_catalog(cat);
	memset(r, 0, sizeof(*r));
	return rwd_zone_build_sources(apex, "catalog:test", &src, 1, NULL, tz_collect, r);
}

/* The rdata of the only record of (owner, type), asserted to be there. */
static const uint8_t *rdata_of(const struct rwd_zone *z, const char *owner, uint16_t type,
                               uint16_t *len, uint32_t *ttl)
{
	uint8_t name[RW_DNAME_MAXLEN];
	int n = tz_lname(owner, name);
	const struct rwd_node *node = rwd_zone_find(z, name, (size_t)n);
	if (!node)
		fail_msg("no node %s", owner);
	const struct rwd_rrset *rs = rwd_node_rrset(node, type);
	if (!rs)
		fail_msg("no type %u at %s", type, owner);
	assert_int_equal(rs->count, 1);
	*len = rw_get16(rs->rdata);
	*ttl = rs->ttl;
	return rs->rdata + 2;
}

static void test_member_id(void **state)
{
	(void)state;
	char id[RWD_CATALOG_ID_LEN + 1];
	/* the first 8 bytes of SHA-1("\7member1\7example\0") */
	rwd_catalog_member_id((const uint8_t *)"\7member1\7example", id);
	assert_string_equal(id, "429f90e2d14a6142");
	/* case does not matter */
	rwd_catalog_member_id((const uint8_t *)"\7MEMBER1\7Example", id);
	assert_string_equal(id, "429f90e2d14a6142");
	rwd_catalog_member_id((const uint8_t *)"\7member2\7example", id);
	assert_string_equal(id, "9d3635c63a7d0841");
}

static void test_generated_zone(void **state)
{
	(void)state;
	uint8_t m1[RW_DNAME_MAXLEN], m2[RW_DNAME_MAXLEN];
	tz_lname("member1.example.", m1);
	tz_lname("member2.example.", m2);
	struct rwd_catalog_member members[] = { { m1, "eu" }, { m2, NULL } };
	struct rwd_source_catalog cat = { .members = members, .n = 2, .serial = 1796681587 };
	struct tz_report r;
	struct rwd_zone *z = build("catalog.example.", &cat, &r);
	assert_non_null(z);
	assert_int_equal(r.n, 0);
	assert_int_equal(z->serial, 1796681587);
	/* SOA, NS, version, 2 PTR, 1 group TXT: Knot 3.2 generates the same */
	assert_int_equal(z->n_records, 6);
	uint16_t len;
	uint32_t ttl;
	const uint8_t *rd = rdata_of(z, "catalog.example.", RW_TYPE_SOA, &len, &ttl);
	static const uint8_t soa[] = "\7invalid\0\7invalid\0\x6b\x17\x2f\x73"
	                             "\0\0\x0e\x10\0\0\x02\x58\x7f\xff\xff\xfe\0\0\0\0";
	assert_int_equal(len, sizeof(soa) - 1);
	assert_memory_equal(rd, soa, sizeof(soa) - 1);
	assert_int_equal(ttl, 0);
	rd = rdata_of(z, "catalog.example.", RW_TYPE_NS, &len, &ttl);
	assert_int_equal(len, 9);
	assert_memory_equal(rd, "\7invalid", 9);
	rd = rdata_of(z, "version.catalog.example.", RW_TYPE_TXT, &len, &ttl);
	assert_int_equal(len, 2);
	assert_memory_equal(rd, "\1" "2", 2);
	rd = rdata_of(z, "429f90e2d14a6142.zones.catalog.example.", RW_TYPE_PTR, &len, &ttl);
	assert_int_equal(len, rw_dname_len(m1));
	assert_memory_equal(rd, m1, len);
	assert_int_equal(ttl, 0);
	rd = rdata_of(z, "group.429f90e2d14a6142.zones.catalog.example.", RW_TYPE_TXT, &len, &ttl);
	assert_int_equal(len, 3);
	assert_memory_equal(rd, "\2eu", 3);
	rd = rdata_of(z, "9d3635c63a7d0841.zones.catalog.example.", RW_TYPE_PTR, &len, &ttl);
	assert_memory_equal(rd, m2, len);
	uint8_t g2[RW_DNAME_MAXLEN];
	int n = tz_lname("group.9d3635c63a7d0841.zones.catalog.example.", g2);
	assert_null(rwd_zone_find(z, g2, (size_t)n));

	/* the same members: the same zone, whatever the serial */
	cat.serial = 5;
	assert_true(rwd_catalog_same(&cat, z));
	/* another group, a member less, a member more: not the same */
	members[1].group = "us";
	assert_false(rwd_catalog_same(&cat, z));
	members[1].group = NULL;
	cat.n = 1;
	assert_false(rwd_catalog_same(&cat, z));
	uint8_t m3[RW_DNAME_MAXLEN];
	tz_lname("member3.example.", m3);
	struct rwd_catalog_member more[] = { { m1, "eu" }, { m2, NULL }, { m3, NULL } };
	struct rwd_source_catalog cat3 = { .members = more, .n = 3 };
	assert_false(rwd_catalog_same(&cat3, z));
	cat.n = 2;
	assert_true(rwd_catalog_same(&cat, z));
	rwd_zone_free(z);

	/* no members: SOA, NS and version */
	struct rwd_source_catalog empty = { .serial = 1 };
	z = build("catalog.example.", &empty, &r);
	assert_non_null(z);
	assert_int_equal(z->n_records, 3);
	assert_true(rwd_catalog_same(&empty, z));
	struct rwd_zone *ph = rwd_zone_failed(z->apex->name, "x");
	assert_false(rwd_catalog_same(&empty, ph));
	rwd_zone_free(ph);
	rwd_zone_free(z);
}

/* A catalog whose member names would pass 255 bytes: an error, no zone. */
static void test_too_long(void **state)
{
	(void)state;
	char apex[300] = "";
	for (int i = 0; i < 3; i++)
		strcat(apex, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(apex, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");   /* 242 bytes flat */
	uint8_t m1[RW_DNAME_MAXLEN];
	tz_lname("member1.example.", m1);
	struct rwd_catalog_member members[] = { { m1, NULL } };
	struct rwd_source_catalog cat = { .members = members, .n = 1, .serial = 1,
	                                  .name = "catalog:test" };
	struct tz_report r;
	assert_null(build(apex, &cat, &r));
	assert_int_equal(r.errors, 1);
	assert_string_equal(r.msg[0], "catalog:test: member member1.example.: its catalog records "
	                    "do not fit in a domain name (a group longer than 255 bytes, or too "
	                    "long a catalog name)");
}

static struct rwd_conf *conf_of(const char *text)
{
	struct rwd_conf *c = NULL;
	char err[RWD_CONF_ERRLEN] = "";
	if (rwd_conf_load(tz_write("runway.yaml", text), &c, err) != 0)
		fail_msg("%s", err);
	return c;
}

#define ZONEFILE "@ 3600 IN SOA ns hm 1 2 3 4 5\n@ 3600 IN NS ns\nns 3600 IN A 192.0.2.1\n"

static void test_conf(void **state)
{
	(void)state;
	tz_write("m.zone", ZONEFILE);
	struct rwd_conf *c = conf_of(
		"zones:\n"
		"  - name: catalog.example.\n"
		"    catalog: { role: producer }\n"
		"  - name: member1.example.\n"
		"    file: m.zone\n"
		"    catalog: { member_of: Catalog.Example, group: eu }\n"
		"  - name: member2.example.\n"
		"    file: m.zone\n"
		"    catalog:\n"
		"      member_of: catalog.example.\n"
		"  - name: plain.example.\n"
		"    file: m.zone\n");
	assert_int_equal(c->zones[0].catalog_role, RWD_CATALOG_PRODUCER);
	assert_string_equal(c->zones[0].file, "catalog:catalog.example.");
	assert_int_equal(c->zones[1].catalog_role, RWD_CATALOG_MEMBER);
	assert_memory_equal(c->zones[1].catalog_member_of, "\7catalog\7example", 17);
	assert_string_equal(c->zones[1].catalog_group, "eu");
	assert_int_equal(c->zones[2].catalog_role, RWD_CATALOG_MEMBER);
	assert_null(c->zones[2].catalog_group);
	assert_int_equal(c->zones[3].catalog_role, RWD_CATALOG_NONE);
	rwd_conf_free(c);

	static const struct { const char *text, *want; } bad[] = {
		{ "zones:\n  - name: c.\n    catalog: { role: producer }\n    file: m.zone\n",
		  "4: zones.file: a catalog producer has no file (its records are generated)" },
		{ "zones:\n  - name: c.\n    catalog: { role: producer, group: x }\n",
		  "3: zones.catalog: a producer has no member_of or group" },
		{ "zones:\n  - name: c.\n    catalog: { role: producer }\n    primaries: [127.0.0.1]\n",
		  "4: zones: a catalog producer has no primaries" },
		{ "zones:\n  - name: c.\n    catalog: { role: consumer }\n",
		  "3: zones.catalog: a consumer is a secondary zone: it needs primaries (and file)" },
		{ "zones:\n  - name: m.\n    file: m.zone\n    catalog: { group: eu }\n",
		  "4: zones.catalog: member_of is required (or role: producer)" },
		{ "zones:\n  - name: m.\n    file: m.zone\n    catalog: { member_of: nope. }\n",
		  "2: zones: zone 'm.' is a member of 'nope.', which is no catalog here (a zone with "
		  "catalog: {role: producer})" },
		{ "zones:\n  - name: m.\n    file: m.zone\n    catalog: { member_of: o. }\n"
		  "  - name: o.\n    file: m.zone\n",
		  "2: zones: zone 'm.' is a member of 'o.', which is no catalog here (a zone with "
		  "catalog: {role: producer})" },
		{ "zones:\n  - name: m.\n", "2: missing required key 'file' in zones" },
		{ "views:\n  - name: v\n    match: any\n    zones:\n      - name: c.\n"
		  "        catalog: { role: producer }\n",
		  "6: unknown key 'catalog' in views.zones" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rwd_conf *x = NULL;
		char err[RWD_CONF_ERRLEN], want[600];
		const char *path = tz_write("bad.yaml", bad[i].text);
		assert_int_equal(rwd_conf_load(path, &x, err), RW_ECONF);
		snprintf(want, sizeof(want), "%s:%s", path, bad[i].want);
		if (strcmp(err, want))
			fail_msg("case %zu:\n  got:  %s\n  want: %s", i, err, want);
	}
}

static const struct rwd_zone *catalog_of(const struct rwd_snapshot *s)
{
	const uint8_t apex[] = "\7catalog\7example";
	const struct rwd_zone *z = rwd_zonedb_get(s->zones, apex, sizeof(apex));
	assert_non_null(z);
	return z;
}

/* The server builds the catalog; a reload keeps it while its members stay. */
static void test_server(void **state)
{
	(void)state;
	tz_write("m.zone", ZONEFILE);
	const char *two =
		"zones:\n"
		"  - name: catalog.example.\n"
		"    catalog: { role: producer }\n"
		"  - { name: member1.example., file: m.zone, catalog: { member_of: catalog.example., "
		"group: eu } }\n"
		"  - { name: member2.example., file: m.zone, catalog: { member_of: catalog.example. } }\n"
		"  - { name: plain.example., file: m.zone }\n";
	struct rwd_conf *c = conf_of(two);
	unsigned errors = 0;
	uint32_t before = (uint32_t)time(NULL);
	struct rwd_snapshot *s = rwd_server_build(c, NULL, &errors);
	assert_non_null(s);
	assert_int_equal(errors, 0);
	const struct rwd_zone *z = catalog_of(s);
	assert_false(rwd_zone_is_placeholder(z));
	assert_true(z->serial >= before && z->serial <= (uint32_t)time(NULL));
	assert_int_equal(z->n_records, 6);
	uint16_t len;
	uint32_t ttl;
	rdata_of(z, "429f90e2d14a6142.zones.catalog.example.", RW_TYPE_PTR, &len, &ttl);
	rdata_of(z, "group.429f90e2d14a6142.zones.catalog.example.", RW_TYPE_TXT, &len, &ttl);
	rdata_of(z, "9d3635c63a7d0841.zones.catalog.example.", RW_TYPE_PTR, &len, &ttl);
	rwd_conf_free(c);

	/* a reload with the same members: the same version, the same serial */
	c = conf_of(two);
	struct rwd_snapshot *s2 = rwd_server_build(c, s, &errors);
	assert_non_null(s2);
	assert_ptr_equal(catalog_of(s2), z);
	rwd_conf_free(c);

	/* a member more: a newer serial */
	c = conf_of("zones:\n"
	            "  - name: catalog.example.\n"
	            "    catalog: { role: producer }\n"
	            "  - { name: member1.example., file: m.zone, catalog: { member_of: "
	            "catalog.example., group: eu } }\n"
	            "  - { name: member2.example., file: m.zone, catalog: { member_of: "
	            "catalog.example. } }\n"
	            "  - { name: plain.example., file: m.zone, catalog: { member_of: "
	            "catalog.example., group: us } }\n");
	struct rwd_snapshot *s3 = rwd_server_build(c, s2, &errors);
	assert_non_null(s3);
	const struct rwd_zone *z3 = catalog_of(s3);
	assert_ptr_not_equal(z3, z);
	assert_true(rwd_serial_newer(z3->serial, z->serial));
	assert_int_equal(z3->n_records, 8);
	char id[RWD_CATALOG_ID_LEN + 1], owner[128];
	rwd_catalog_member_id((const uint8_t *)"\5plain\7example", id);
	snprintf(owner, sizeof(owner), "group.%s.zones.catalog.example.", id);
	const uint8_t *rd = rdata_of(z3, owner, RW_TYPE_TXT, &len, &ttl);
	assert_memory_equal(rd, "\2us", 3);
	rwd_snapshot_free(s3);
	rwd_snapshot_free(s2);
	rwd_snapshot_free(s);
	rwd_conf_free(c);
}

/* The example of docs/transfers.md ("## Catalog zones") loads and makes the
 * records the doc lists (their ids). */
static void test_docs_example(void **state)
{
	(void)state;
	FILE *f = fopen("docs/transfers.md", "r");
	if (!f) {
		print_message("docs/transfers.md not found (run from the repo root); skipped\n");
		skip();
	}
	char line[1024], *yaml = NULL, *listing = NULL;
	size_t ylen = 0, llen = 0;
	FILE *out = NULL;
	int state_ = 0;          /* 0 before the section, 1 in it, 2 in its YAML, 3 in its listing */
	while (fgets(line, sizeof(line), f) && state_ < 4) {
		if (state_ == 0 && !strcmp(line, "## Catalog zones\n")) {
			state_ = 1;
		} else if (state_ == 1 && !strcmp(line, "```yaml\n") && !yaml) {
			out = open_memstream(&yaml, &ylen);
			state_ = 2;
		} else if (state_ == 1 && !strcmp(line, "```\n") && yaml && !listing) {
			out = open_memstream(&listing, &llen);
			state_ = 3;
		} else if ((state_ == 2 || state_ == 3) && !strncmp(line, "```", 3)) {
			fclose(out);
			out = NULL;
			state_ = state_ == 3 ? 4 : 1;
		} else if (state_ == 2 || state_ == 3) {
			fputs(line, out);
		}
	}
	fclose(f);
	assert_int_equal(state_, 4);
	tz_write("example.com.zone", ZONEFILE);
	tz_write("example.net.zone", ZONEFILE);
	struct rwd_conf *c = conf_of(yaml);
	unsigned errors = 0;
	struct rwd_snapshot *s = rwd_server_build(c, NULL, &errors);
	assert_non_null(s);
	assert_int_equal(errors, 0);
	const struct rwd_zone *z = catalog_of(s);
	assert_int_equal(z->n_records, 6);     /* SOA, NS, version, 2 PTR, 1 group */
	/* every owner of the doc's listing is in the zone, with that type */
	char *save = NULL;
	int rows = 0;
	for (char *l = strtok_r(listing, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char owner[256], type[16];
		if (sscanf(l, "%255s %*u %15s", owner, type) != 2)
			continue;                   /* "..." */
		uint16_t t = !strcmp(type, "SOA") ? RW_TYPE_SOA : !strcmp(type, "NS") ? RW_TYPE_NS
		           : !strcmp(type, "PTR") ? RW_TYPE_PTR : RW_TYPE_TXT;
		uint16_t len;
		uint32_t ttl;
		rdata_of(z, owner, t, &len, &ttl);
		assert_int_equal(ttl, 0);
		rows++;
	}
	assert_int_equal(rows, 5);
	rwd_snapshot_free(s);
	rwd_conf_free(c);
	free(yaml);
	free(listing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_id),
		cmocka_unit_test(test_generated_zone),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_docs_example),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
