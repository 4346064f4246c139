/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for record sources (zone/source.h): a zone built from the file
 * source, the overrides source, and a source written here (as a zone
 * transfer will be) that hands records over with rwd_zone_add_record; the
 * checks every added record gets whatever its source; a source's errors
 * keep later sources from running.
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
#include "server/zone/source.h"

#include "testzone.h"

static int setup(void **state) { return tz_mkdir("test_zone_sources"); }
static int teardown(void **state) { return tz_rmdir(); }

#define HEAD "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"

/* A source of records given as (owner text, type, address) triples; with
 * `owner` outside the zone it shows that the build checks what it is given. */
struct rec { const char *owner; uint16_t type; uint8_t addr[4]; };
struct recs { const struct rec *v; size_t n; unsigned reads; };

static int read_recs(const struct rwd_record_source *src, struct rwd_zone_ctx *c)
{
	struct recs *r = (struct recs *)src->data;
	r->reads++;
	for (size_t i = 0; i < r->n; i++) {
		uint8_t owner[RW_DNAME_MAXLEN];
		int len = tz_name(r->v[i].owner, owner);
		int ret = rwd_zone_add_record(c, owner, (size_t)len, RW_CLASS_IN, r->v[i].type, 300,
		                              r->v[i].addr, 4, "transfer", (unsigned long)i + 1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static struct rwd_record_source recs_source(struct recs *r)
{
	return (struct rwd_record_source){ .kind = "test", .data = r, .read = read_recs };
}

static const struct rwd_node *find(const struct rwd_zone *z, const char *name)
{
	uint8_t dn[RW_DNAME_MAXLEN];
	int n = tz_lname(name, dn);
	return rwd_zone_find(z, dn, (size_t)n);
}

static void test_file_then_own_source(void **state)
{
	const char *path = tz_write("a.zone", HEAD "www A 192.0.2.80\n");
	static const struct rec more[] = {
		{ "www.example.com.", RW_TYPE_A, { 192, 0, 2, 81 } },
		{ "NEW.example.com.", RW_TYPE_A, { 192, 0, 2, 82 } },   /* any case */
		{ "www.example.com.", RW_TYPE_A, { 192, 0, 2, 80 } },   /* a duplicate of the file's */
	};
	struct recs r = { more, 3, 0 };
	struct rwd_record_source src[] = { rwd_source_file(path), recs_source(&r) };
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	struct tz_report rep = { 0 };
	struct rwd_zone *z = rwd_zone_build_sources(apex, path, src, 2, NULL, tz_collect, &rep);
	assert_non_null(z);
	assert_int_equal(rep.n, 0);
	assert_int_equal(r.reads, 1);
	assert_int_equal(rwd_node_rrset(find(z, "www.example.com."), RW_TYPE_A)->count, 2);
	assert_non_null(find(z, "new.example.com."));
	assert_int_equal(z->n_records, 3 + 2 + 1);
	assert_string_equal(z->file, path);
	rwd_zone_free(z);
}

/* Every source's records get the same checks, reported with its own file and line. */
static void test_checks_apply_to_every_source(void **state)
{
	const char *path = tz_write("b.zone", HEAD);
	static const struct rec bad[] = {
		{ "www.example.com.", RW_TYPE_A, { 192, 0, 2, 80 } },
		{ "www.example.net.", RW_TYPE_A, { 192, 0, 2, 81 } },
		{ "x.example.com.", 255, { 0, 0, 0, 0 } },
	};
	struct recs r = { bad, 3, 0 };
	struct rwd_record_source src[] = { rwd_source_file(path), recs_source(&r) };
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	struct tz_report rep = { 0 };
	assert_null(rwd_zone_build_sources(apex, path, src, 2, NULL, tz_collect, &rep));
	assert_int_equal(rep.n, 2);
	assert_string_equal(rep.msg[0], "transfer:2: www.example.net. is outside the zone");
	assert_string_equal(rep.msg[1], "transfer:3: type 255 cannot appear in a zone");
}

/* A source with errors ends the build: the next source does not run. */
static void test_error_stops_later_sources(void **state)
{
	const char *path = tz_write("c.zone", HEAD "www A 192.0.2.999\n");
	static const struct rec one[] = { { "x.example.com.", RW_TYPE_A, { 192, 0, 2, 9 } } };
	struct recs r = { one, 1, 0 };
	struct rwd_record_source src[] = { rwd_source_file(path), recs_source(&r) };
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	struct tz_report rep = { 0 };
	assert_null(rwd_zone_build_sources(apex, path, src, 2, NULL, tz_collect, &rep));
	assert_int_equal(r.reads, 0);
	assert_int_equal(rep.n, 1);
	char want[512];
	snprintf(want, sizeof(want), "%s:6: invalid IPv4 address", path);
	assert_string_equal(rep.msg[0], want);
}

/* The overrides source after the file: RRsets replaced and removed (the
 * name that loses its last RRset goes), the serial set, as
 * rwd_zone_load_opts does. */
static void test_overrides_source(void **state)
{
	const char *path = tz_write("d.zone", HEAD "www A 192.0.2.80\nold TXT \"x\"\n");
	static const uint8_t rd[] = { 0, 4, 192, 0, 2, 7, 0, 4, 192, 0, 2, 8 };
	struct rwd_zone_override ov[2] = {
		{ .type = RW_TYPE_A, .ttl = 60, .count = 2, .rdata = rd },
		{ .type = RW_TYPE_TXT, .count = 0 },
	};
	tz_lname("www.example.com.", ov[0].owner);
	tz_lname("old.example.com.", ov[1].owner);
	struct rwd_zone_load_opts opts = { ov, 2, 77 };
	struct rwd_record_source src[] = { rwd_source_file(path), rwd_source_overrides(&opts) };
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	struct tz_report rep = { 0 };
	struct rwd_zone *z = rwd_zone_build_sources(apex, path, src, 2, NULL, tz_collect, &rep);
	assert_non_null(z);
	assert_int_equal(z->serial, 77);
	const struct rwd_rrset *a = rwd_node_rrset(find(z, "www.example.com."), RW_TYPE_A);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->ttl, 60);
	assert_memory_equal(a->rdata, rd, sizeof(rd));          /* in the order given */
	assert_null(find(z, "old.example.com."));
	/* The same as the wrapper the daemon and the API call. */
	struct rwd_zone *w = rwd_zone_load_opts(apex, path, &opts, tz_collect, &rep);
	assert_non_null(w);
	assert_int_equal(w->n_records, z->n_records);
	assert_int_equal(w->n_nodes, z->n_nodes);
	assert_int_equal(w->serial, z->serial);
	rwd_zone_free(w);
	rwd_zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_then_own_source),
		cmocka_unit_test(test_checks_apply_to_every_source),
		cmocka_unit_test(test_error_stops_later_sources),
		cmocka_unit_test(test_overrides_source),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
