/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for steer/geo.c: a test database is written at start by
 * tests/geo/make_mmdb.pl (its built-in table) into a temporary directory;
 * own networks are laid over it, one overlapping an mmdb network. Checks
 * lookups (IPv4, IPv6, IPv4-mapped, ECS prefixes, unknown addresses), the
 * scope of each answer, open errors, the per-thread cache, the distance, that
 * a lookup allocates nothing, and prints lookup timings (uncached, cached).
 * Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/error.h"
#include "server/steer/geo.h"

static char tmpdir[] = "/tmp/test_geo.XXXXXX";
static char mmdb[300];

#include "allocs.h"   /* counting allocations, not under a sanitizer */

/* ---- helpers ---- */

static struct rw_addr ip(const char *s)
{
	struct rw_addr a;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = AF_INET6;
	else
		fail_msg("bad address %s", s);
	return a;
}

static struct rwd_network_location net(const char *prefix, uint8_t len, const char *cont,
                                       const char *ctry, const char *sub, bool has_loc,
                                       double lat, double lon)
{
	struct rwd_network_location n;
	memset(&n, 0, sizeof(n));
	n.prefix = ip(prefix);
	n.len = len;
	strcpy(n.continent, cont);
	strcpy(n.country, ctry);
	strcpy(n.subdivision, sub);
	n.has_location = has_loc;
	n.lat = lat;
	n.lon = lon;
	return n;
}

/* Own networks laid over the test database:
 *  - 198.51.100.128/25 (GB) inside the mmdb's 198.51.100.0/24 (US-CA): own wins;
 *  - 10.0.0.0/8 (JP) with 10.1.0.0/16 (AU-NSW) nested in it: longest wins;
 *  - 2001:db8:1:8000::/49 (US-VA) inside the mmdb's 2001:db8:1::/48 (FR). */
static struct rwd_network_location nets[4];

static struct rwd_model model(bool with_mmdb)
{
	nets[0] = net("198.51.100.128", 25, "EU", "GB", "ENG", true, 51.5, -0.12);
	nets[1] = net("10.0.0.0", 8, "AS", "JP", "", false, 0, 0);
	nets[2] = net("10.1.0.0", 16, "OC", "AU", "NSW", true, -33.87, 151.21);
	nets[3] = net("2001:db8:1:8000::", 49, "NA", "US", "VA", true, 39.04, -77.49);
	struct rwd_model m;
	memset(&m, 0, sizeof(m));
	m.mmdb_path = with_mmdb ? mmdb : NULL;
	m.networks = nets;
	m.n_networks = 4;
	return m;
}

static struct rwd_geo *open_ok(bool with_mmdb)
{
	struct rwd_model m = model(with_mmdb);
	struct rwd_geo *g = NULL;
	char err[256] = "";
	int rc = rwd_geo_open(&m, &g, err);
	if (rc != 0)
		fail_msg("rwd_geo_open: %d %s", rc, err);
	assert_non_null(g);
	return g;
}

static struct rwd_location look(const struct rwd_geo *g, const char *addr, uint8_t len)
{
	struct rwd_location l;
	struct rw_addr a = ip(addr);
	memset(&l, 0xa5, sizeof(l));          /* everything must be written */
	rwd_geo_lookup(g, &a, len, &l);
	return l;
}

/* Expect a found location; sub NULL: no subdivision; lat NAN: no coordinates. */
static void expect(const struct rwd_geo *g, const char *addr, uint8_t len, const char *cont,
                   const char *ctry, const char *sub, double lat, double lon, uint8_t scope)
{
	struct rwd_location l = look(g, addr, len);
	if (!l.found)
		fail_msg("%s/%u: not found", addr, len);
	if (strcmp(l.continent, cont) || strcmp(l.country, ctry) || strcmp(l.subdivision, sub ? sub : ""))
		fail_msg("%s/%u: got %s/%s/%s, want %s/%s/%s", addr, len, l.continent, l.country,
		         l.subdivision, cont, ctry, sub ? sub : "");
	if (isnan(lat)) {
		assert_false(l.has_coords);
	} else {
		if (!l.has_coords || fabs(l.lat - lat) > 1e-9 || fabs(l.lon - lon) > 1e-9)
			fail_msg("%s/%u: coords %d %f %f, want %f %f", addr, len, l.has_coords, l.lat,
			         l.lon, lat, lon);
	}
	if (l.scope != scope)
		fail_msg("%s/%u: scope %u, want %u", addr, len, l.scope, scope);
}

static void expect_none(const struct rwd_geo *g, const char *addr, uint8_t len, uint8_t scope)
{
	struct rwd_location l = look(g, addr, len);
	if (l.found)
		fail_msg("%s/%u: found %s/%s", addr, len, l.continent, l.country);
	assert_string_equal(l.continent, "");
	assert_string_equal(l.country, "");
	assert_false(l.has_coords);
	if (l.scope != scope)
		fail_msg("%s/%u: scope %u, want %u", addr, len, l.scope, scope);
}

/* ---- setup ---- */

static int run(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "failed (%d): %s\n", rc, cmd);
	return rc;
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(mmdb, sizeof(mmdb), "%s/test.mmdb", tmpdir);
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "perl tests/geo/make_mmdb.pl '%s' >/dev/null", mmdb);
	return run(cmd);
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

/* ---- tests ---- */

#define NO NAN

static void test_ipv4(void **state)
{
	struct rwd_geo *g = open_ok(true);
	expect(g, "203.0.113.9", 32, "OC", "AU", "NSW", -33.87, 151.21, 24);
	expect(g, "100.64.1.77", 32, "AS", "JP", "13", 35.68, 139.69, 24);
	expect(g, "100.64.3.1", 32, "NA", "US", "VA", 39.04, -77.49, 24);
	expect(g, "100.64.4.200", 32, "SA", "BR", "SP", -23.55, -46.63, 24);
	expect(g, "192.0.2.1", 32, "EU", "DE", "HE", 50.11, 8.68, 24);
	/* the mmdb's /24 is US-CA; its upper half is an own network, so the
	 * lower half's answer holds for a /25 only */
	expect(g, "198.51.100.7", 32, "NA", "US", "CA", 37.4, -122.1, 25);
	/* country and continent only, continent only */
	expect(g, "100.64.10.1", 32, "EU", "NL", NULL, NO, NO, 24);
	expect(g, "100.64.12.1", 32, "EU", "", NULL, NO, NO, 24);
	/* a /20 with a /24 inside: the rest of the /20 is split around it */
	expect(g, "100.64.17.5", 32, "NA", "US", "TX", 32.78, -96.80, 24);
	expect(g, "100.64.18.1", 32, "NA", "US", NULL, 37.751, -97.822, 23);
	expect(g, "100.64.24.1", 32, "NA", "US", NULL, 37.751, -97.822, 21);
	rwd_geo_close(g);
}

static void test_ipv6(void **state)
{
	struct rwd_geo *g = open_ok(true);
	expect(g, "2001:db8:3::1", 128, "AS", "JP", "13", 35.68, 139.69, 48);
	expect(g, "2001:db8:4:5::", 56, "OC", "AU", "VIC", -37.81, 144.96, 48);
	expect(g, "2001:db8:6:ffff::", 64, "EU", "DE", NULL, NO, NO, 48);
	/* the lower half of FR's /48; the upper half is own (US-VA) */
	expect(g, "2001:db8:1::5", 128, "EU", "FR", "IDF", 48.86, 2.35, 49);
	expect(g, "2001:db8:1:8000::1", 128, "NA", "US", "VA", 39.04, -77.49, 49);
	expect(g, "2001:db8:1:ff00::", 56, "NA", "US", "VA", 39.04, -77.49, 49);
	/* IPv4-mapped: IPv4 data and own IPv4 networks; the scope in IPv6 bits */
	expect(g, "::ffff:100.64.1.5", 128, "AS", "JP", "13", 35.68, 139.69, 120);
	expect(g, "::ffff:10.1.9.9", 128, "OC", "AU", "NSW", -33.87, 151.21, 112);
	expect(g, "::ffff:100.64.2.0", 120, "EU", "IE", "L", 53.35, -6.26, 120);
	rwd_geo_close(g);
}

/* What ECS sends: a /24 (or /56) with the host bits zero, or not. */
static void test_ecs_prefix(void **state)
{
	struct rwd_geo *g = open_ok(true);
	expect(g, "100.64.2.0", 24, "EU", "IE", "L", 53.35, -6.26, 24);
	expect(g, "100.64.2.201", 24, "EU", "IE", "L", 53.35, -6.26, 24);   /* host bits ignored */
	expect(g, "100.64.17.0", 24, "NA", "US", "TX", 32.78, -96.80, 24);
	expect(g, "100.64.18.0", 24, "NA", "US", NULL, 37.751, -97.822, 23);
	/* a /16 that holds several mmdb networks: the answer is the first
	 * address's, and its scope says it is narrower than what was asked */
	expect(g, "100.64.17.99", 20, "NA", "US", NULL, 37.751, -97.822, 24);
	/* the own /25 does not contain 198.51.100.0/24: the mmdb decides for
	 * the /24 as a whole */
	expect(g, "198.51.100.200", 24, "NA", "US", "CA", 37.4, -122.1, 24);
	expect(g, "198.51.100.200", 25, "EU", "GB", "ENG", 51.5, -0.12, 25);
	expect(g, "198.51.100.200", 32, "EU", "GB", "ENG", 51.5, -0.12, 25);
	rwd_geo_close(g);
}

static void test_own_networks(void **state)
{
	struct rwd_geo *g = open_ok(true);
	/* own networks win over the mmdb, longest own prefix wins */
	expect(g, "10.1.2.3", 32, "OC", "AU", "NSW", -33.87, 151.21, 16);
	expect(g, "10.1.2.0", 24, "OC", "AU", "NSW", -33.87, 151.21, 16);
	/* the /8 decides, but 10.1/16 differs: only 10.2-10.3 (a /15) share it */
	expect(g, "10.2.3.4", 32, "AS", "JP", NULL, NO, NO, 15);
	expect(g, "10.200.0.1", 32, "AS", "JP", NULL, NO, NO, 9);
	/* a /8 query sees the /8 itself; a /12 one the /8 too, scope up to where
	 * the /16 branches off */
	expect(g, "10.0.0.0", 8, "AS", "JP", NULL, NO, NO, 8);
	rwd_geo_close(g);

	/* networks only */
	g = open_ok(false);
	expect(g, "10.1.2.3", 32, "OC", "AU", "NSW", -33.87, 151.21, 16);
	expect(g, "198.51.100.200", 32, "EU", "GB", "ENG", 51.5, -0.12, 25);
	expect_none(g, "198.51.100.7", 32, 25);
	/* 203 = 11001011 leaves 198 = 11000110 at bit 4 (and 10 = 00001010 at bit 0) */
	expect_none(g, "203.0.113.1", 24, 5);
	expect_none(g, "2001:db9::1", 128, 32);
	rwd_geo_close(g);
}

static void test_unknown(void **state)
{
	struct rwd_geo *g = open_ok(true);
	/* 8.8.8.8 = 00001000...: the mmdb's empty network is 8.0.0.0/5 (1.0.128.0/17
	 * is 00000001, 10.0.0.0/8 is not in the mmdb), own 10/8 = 00001010 splits
	 * it further down to 8.0.0.0/7 */
	expect_none(g, "8.8.8.8", 32, 7);
	expect_none(g, "8.8.8.0", 24, 7);
	expect_none(g, "100.64.200.1", 32, 17);
	expect_none(g, "2001:db9::1", 128, 32);
	expect_none(g, "::ffff:8.8.8.8", 128, 96 + 7);
	/* an unknown family */
	struct rw_addr a;
	memset(&a, 0, sizeof(a));
	a.family = AF_UNIX;
	struct rwd_location l;
	rwd_geo_lookup(g, &a, 24, &l);
	assert_false(l.found);
	assert_int_equal(l.scope, 24);
	rwd_geo_close(g);
}

static void test_scope_stable(void **state)
{
	/* The contract behind a scope: every address inside addr/scope gets the
	 * same answer. Check it on a sample of addresses around the table. */
	struct rwd_geo *g = open_ok(true);
	const char *base[] = { "198.51.100.0", "100.64.0.0", "10.0.0.0", "8.0.0.0", "192.0.2.0" };
	for (unsigned b = 0; b < sizeof(base) / sizeof(base[0]); b++) {
		struct rw_addr a0 = ip(base[b]);
		for (unsigned i = 0; i < 4000; i++) {
			struct rw_addr a = a0;
			uint32_t v = (uint32_t)a.bytes[0] << 24 | (uint32_t)a.bytes[1] << 16 |
			             (uint32_t)a.bytes[2] << 8 | a.bytes[3];
			v += (i * 2654435761u) >> (b == 1 ? 14 : 20);
			for (int k = 0; k < 4; k++)
				a.bytes[k] = (uint8_t)(v >> (24 - 8 * k));
			struct rwd_location l, l2;
			rwd_geo_lookup(g, &a, 32, &l);
			/* the first and the last address of addr/scope */
			for (int end = 0; end < 2; end++) {
				struct rw_addr x = a;
				uint32_t m = l.scope ? 0xffffffffu << (32 - l.scope) : 0;
				uint32_t w = end ? (v | ~m) : (v & m);
				for (int k = 0; k < 4; k++)
					x.bytes[k] = (uint8_t)(w >> (24 - 8 * k));
				rwd_geo_lookup(g, &x, 32, &l2);
				if (l2.found != l.found || strcmp(l2.country, l.country) ||
				    strcmp(l2.subdivision, l.subdivision) || l2.lat != l.lat)
					fail_msg("%u.%u.%u.%u/%u: answer differs at the %s of its scope",
					         a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3], l.scope,
					         end ? "end" : "start");
			}
		}
	}
	rwd_geo_close(g);
}

static void test_open_errors(void **state)
{
	char err[256], path[400], cmd[1200];
	struct rwd_geo *g = (struct rwd_geo *)1;
	struct rwd_model m = model(true);

	snprintf(path, sizeof(path), "%s/missing.mmdb", tmpdir);
	m.mmdb_path = path;
	assert_true(rwd_geo_open(&m, &g, err) < 0);
	assert_null(g);
	char want[500];
	snprintf(want, sizeof(want), "%s: cannot open: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message: %s", err);

	/* not an mmdb */
	snprintf(path, sizeof(path), "%s/text.mmdb", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a database\n", f);
	fclose(f);
	assert_true(rwd_geo_open(&m, &g, err) < 0);
	snprintf(want, sizeof(want), "%s: cannot open: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message: %s", err);

	/* an mmdb of another kind (ASN-like records) */
	snprintf(path, sizeof(path), "%s/asn.mmdb", tmpdir);
	snprintf(cmd, sizeof(cmd),
	         "perl -MMaxMind::DB::Writer::Tree -e '"
	         "my $t = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,"
	         " database_type => \"Test-ASN\", languages => [\"en\"], description => {en => \"x\"},"
	         " remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1,"
	         " map_key_type_callback => sub { \"uint32\" });"
	         " $t->insert_network(\"192.0.2.0/24\", {autonomous_system_number => 64496});"
	         " open my $fh, \">:raw\", \"%s\" or die; $t->write_tree($fh);'",
	         path);
	assert_int_equal(run(cmd), 0);
	assert_true(rwd_geo_open(&m, &g, err) < 0);
	assert_null(g);
	snprintf(want, sizeof(want), "%s: not a City or Country database", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message: %s", err);

	/* City records under a name that says nothing: found by looking */
	snprintf(path, sizeof(path), "%s/other.mmdb", tmpdir);
	snprintf(cmd, sizeof(cmd), "perl tests/geo/make_mmdb.pl --type Some-Geo-Data '%s' >/dev/null",
	         path);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(rwd_geo_open(&m, &g, err), 0);
	expect(g, "100.64.1.1", 32, "AS", "JP", "13", 35.68, 139.69, 24);
	rwd_geo_close(g);

	/* a Country layout: no subdivisions, no coordinates */
	snprintf(path, sizeof(path), "%s/country.mmdb", tmpdir);
	snprintf(cmd, sizeof(cmd),
	         "printf '100.64.1.0/24 AS JP\\n2001:db8:1::/48 EU FR\\n' | "
	         "perl tests/geo/make_mmdb.pl --type Test-Country '%s' - >/dev/null",
	         path);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(rwd_geo_open(&m, &g, err), 0);
	expect(g, "100.64.1.1", 32, "AS", "JP", NULL, NO, NO, 24);
	expect(g, "2001:db8:1::1", 128, "EU", "FR", NULL, NO, NO, 49);
	rwd_geo_close(g);

	/* an IPv4-only database: IPv6 addresses are unknown, all of them */
	snprintf(path, sizeof(path), "%s/v4.mmdb", tmpdir);
	snprintf(cmd, sizeof(cmd),
	         "perl -MMaxMind::DB::Writer::Tree -e '"
	         "my %%t = (continent => \"map\", code => \"utf8_string\");"
	         "my $t = MaxMind::DB::Writer::Tree->new(ip_version => 4, record_size => 24,"
	         " database_type => \"Test-City\", languages => [\"en\"], description => {en => \"x\"},"
	         " remove_reserved_networks => 0,"
	         " map_key_type_callback => sub { $t{$_[0]} });"
	         " $t->insert_network(\"192.0.2.0/24\", {continent => {code => \"EU\"}});"
	         " open my $fh, \">:raw\", \"%s\" or die; $t->write_tree($fh);'",
	         path);
	assert_int_equal(run(cmd), 0);
	m.n_networks = 0;
	assert_int_equal(rwd_geo_open(&m, &g, err), 0);
	expect(g, "192.0.2.1", 32, "EU", "", NULL, NO, NO, 24);
	expect(g, "::ffff:192.0.2.1", 128, "EU", "", NULL, NO, NO, 120);
	expect_none(g, "2001:db8:3::1", 128, 0);
	rwd_geo_close(g);
	rwd_geo_close(NULL);
}

static void test_ids(void **state)
{
	struct rwd_geo *a = open_ok(true), *b = open_ok(true), *c = open_ok(false);
	assert_true(rwd_geo_id(a) != 0);
	assert_true(rwd_geo_id(a) != rwd_geo_id(b));
	assert_true(rwd_geo_id(b) != rwd_geo_id(c));
	assert_true(rwd_geo_id(a) != rwd_geo_id(c));
	uint64_t old = rwd_geo_id(c);
	rwd_geo_close(a);
	rwd_geo_close(b);
	rwd_geo_close(c);
	a = open_ok(false);
	assert_true(rwd_geo_id(a) > old);       /* never reused */
	rwd_geo_close(a);
}

static struct rwd_geo_cache_entry *find_entry(struct rwd_geo_cache *c, uint64_t id,
                                              const char *addr, uint8_t len)
{
	struct rw_addr a = ip(addr);
	struct rwd_geo_cache_entry *hit = NULL;
	for (unsigned i = 0; i < RWD_GEO_CACHE_SIZE; i++) {
		struct rwd_geo_cache_entry *e = &c->e[i];
		if (e->geo_id == id && e->prefix_len == len && e->addr.family == a.family &&
		    memcmp(e->addr.bytes, a.bytes, 16) == 0) {
			assert_null(hit);
			hit = e;
		}
	}
	return hit;
}

static void test_cache(void **state)
{
	struct rwd_geo *g = open_ok(true), *g2 = open_ok(true);
	struct rwd_geo_cache *c = calloc(1, sizeof(*c));
	assert_non_null(c);

	/* cached answers are the uncached ones, first time and again */
	const char *addrs[] = { "203.0.113.9", "100.64.1.77", "198.51.100.7", "198.51.100.200",
	                        "10.2.3.4", "8.8.8.8", "2001:db8:1::5", "2001:db8:3::1",
	                        "::ffff:100.64.1.5", "100.64.18.1" };
	const uint8_t lens[] = { 24, 32, 0, 16 };
	for (int round = 0; round < 2; round++)
		for (unsigned i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
			for (unsigned k = 0; k < sizeof(lens); k++) {
				struct rw_addr a = ip(addrs[i]);
				uint8_t len = a.family == AF_INET6 ? (uint8_t)(lens[k] * 4) : lens[k];
				struct rwd_location l1, l2;
				memset(&l1, 0, sizeof(l1));
				memset(&l2, 0, sizeof(l2));
				rwd_geo_lookup(g, &a, len, &l1);
				rwd_geo_lookup_cached(g, c, &a, len, &l2);
				if (memcmp(&l1, &l2, sizeof(l1)) != 0)
					fail_msg("%s/%u: cached answer differs", addrs[i], len);
			}

	/* an entry per (address with host bits cleared, prefix length); a hit
	 * comes from the entry: mark it and see the mark */
	struct rw_addr a = ip("100.64.2.77");
	struct rwd_location l;
	rwd_geo_lookup_cached(g, c, &a, 24, &l);
	assert_string_equal(l.country, "IE");
	struct rwd_geo_cache_entry *e = find_entry(c, rwd_geo_id(g), "100.64.2.0", 24);
	assert_non_null(e);
	strcpy(e->loc.country, "ZZ");
	struct rw_addr b = ip("100.64.2.200");   /* same /24 */
	rwd_geo_lookup_cached(g, c, &b, 24, &l);
	assert_string_equal(l.country, "ZZ");
	rwd_geo_lookup_cached(g, c, &b, 32, &l);  /* another prefix length: its own entry */
	assert_string_equal(l.country, "IE");

	/* another geo (a reload): a miss, then an entry of its own */
	rwd_geo_lookup_cached(g2, c, &a, 24, &l);
	assert_string_equal(l.country, "IE");
	assert_non_null(find_entry(c, rwd_geo_id(g2), "100.64.2.0", 24));
	rwd_geo_lookup_cached(g2, c, &b, 24, &l);
	assert_string_equal(l.country, "IE");

	rwd_geo_cache_clear(c);
	for (unsigned i = 0; i < RWD_GEO_CACHE_SIZE; i++)
		assert_true(c->e[i].geo_id == 0);
	free(c);
	rwd_geo_close(g);
	rwd_geo_close(g2);
}

static void test_no_allocation(void **state)
{
#if COUNT_ALLOCS
	struct rwd_geo *g = open_ok(true);
	struct rwd_geo_cache *c = calloc(1, sizeof(*c));
	const char *addrs[] = { "198.51.100.7", "8.8.8.8", "10.2.3.4", "2001:db8:1::5",
	                        "::ffff:100.64.1.5", "100.64.18.1", "2001:db9::" };
	struct rw_addr a[7];
	for (int i = 0; i < 7; i++)
		a[i] = ip(addrs[i]);
	struct rwd_location l;
	counting = 1;                         /* the counter counts */
	void *volatile p = malloc(16);
	counting = 0;
	free(p);
	assert_int_equal(allocs, 1);
	allocs = 0;
	counting = 1;
	for (int i = 0; i < 7; i++) {
		rwd_geo_lookup(g, &a[i], 32, &l);
		rwd_geo_lookup_cached(g, c, &a[i], 24, &l);
		rwd_geo_lookup_cached(g, c, &a[i], 24, &l);
	}
	counting = 0;
	assert_int_equal(allocs, 0);
	free(c);
	rwd_geo_close(g);
#else
	skip();
#endif
}

static void test_distance(void **state)
{
	double d = rwd_geo_distance_km(53.35, -6.26, 39.04, -77.49);   /* Dublin - Ashburn */
	if (fabs(d - 5460) > 50)
		fail_msg("Dublin-Ashburn %.1f km", d);
	assert_true(rwd_geo_distance_km(35.68, 139.69, 35.68, 139.69) < 1e-9);
	assert_true(fabs(rwd_geo_distance_km(0, 0, 0, 180) - M_PI * 6371) < 1e-6);
	assert_true(fabs(rwd_geo_distance_km(90, 0, -90, 0) - M_PI * 6371) < 1e-6);
	/* symmetric; across the antimeridian the short way */
	assert_true(fabs(rwd_geo_distance_km(1, 2, 3, 4) - rwd_geo_distance_km(3, 4, 1, 2)) < 1e-9);
	assert_true(rwd_geo_distance_km(0, 179.5, 0, -179.5) < 112);
}

/* Threads each with a cache of their own see what a single thread sees. */
struct worker {
	const struct rwd_geo *g;
	unsigned seed;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct rwd_geo_cache *c = calloc(1, sizeof(*c));
	for (unsigned i = 0; i < 20000 && c; i++) {
		struct rw_addr a = ip("100.64.0.0");
		uint32_t v = (i + w->seed) * 2654435761u;
		a.bytes[2] = (uint8_t)(v >> 8) & 31;
		a.bytes[3] = (uint8_t)v;
		struct rwd_location l1, l2;
		rwd_geo_lookup(w->g, &a, 32, &l1);
		rwd_geo_lookup_cached(w->g, c, &a, 24, &l2);
		if (l1.found != l2.found || strcmp(l1.country, l2.country))
			w->bad++;
	}
	free(c);
	return NULL;
}

static void test_threads(void **state)
{
	struct rwd_geo *g = open_ok(true);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ g, (unsigned)i * 7919, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	rwd_geo_close(g);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Timings, printed (no threshold: machines differ). Clients spread over the
 * test table's networks and unknown space, IPv4 /24 and IPv6 /56 as ECS
 * sends them; the cached run cycles over 2000 client prefixes (a busy
 * resolver's worth), so after the first pass it mostly hits. At most 1e6
 * lookups or about a second each.
 */
static void test_bench(void **state)
{
	struct rwd_geo *g = open_ok(true);
	struct rwd_geo_cache *c = calloc(1, sizeof(*c));
	enum { N = 2000 };
	static struct rw_addr a[N];
	static uint8_t len[N];
	const char *bases[] = { "100.64.0.0", "198.51.100.0", "203.0.113.0", "10.0.0.0",
	                        "8.0.0.0", "2001:db8::" };
	for (unsigned i = 0; i < N; i++) {
		a[i] = ip(bases[i % 6]);
		uint32_t v = i * 2654435761u;
		if (a[i].family == AF_INET) {
			a[i].bytes[1] |= (uint8_t)(i % 6 == 0 ? 0 : v >> 24);
			a[i].bytes[2] = (uint8_t)(i % 6 == 0 ? (v >> 16) & 31 : v >> 16);
			len[i] = 24;
		} else {
			a[i].bytes[5] = (uint8_t)(v >> 24) & 7;
			a[i].bytes[6] = (uint8_t)(v >> 16);
			len[i] = 56;
		}
	}
	volatile unsigned sink = 0;
	struct rwd_location l;
	const struct {
		const char *name;
		bool cached;
		unsigned n;
	} runs[] = {
		{ "uncached", false, N },
		{ "cached, 2000 prefixes (some collide)", true, N },
		{ "cached, 256 prefixes (all hits)", true, 256 },
	};
	for (unsigned r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		unsigned long n = 0;
		rwd_geo_cache_clear(c);
		double t0 = now(), t;
		do {
			for (unsigned i = 0; i < 10000; i++, n++) {
				unsigned k = (unsigned)(n % runs[r].n);
				if (runs[r].cached)
					rwd_geo_lookup_cached(g, c, &a[k], len[k], &l);
				else
					rwd_geo_lookup(g, &a[k], len[k], &l);
				sink += l.scope;
			}
			t = now() - t0;
		} while (n < 1000000 && t < 1.0);
		printf("geo lookup %-38s %7.1f ns/lookup (%lu lookups, %.2f s)\n", runs[r].name,
		       t * 1e9 / n, n, t);
	}
	(void)sink;
	free(c);
	rwd_geo_close(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ecs_prefix),
		cmocka_unit_test(test_own_networks),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_scope_stable),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_no_allocation),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bench),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
