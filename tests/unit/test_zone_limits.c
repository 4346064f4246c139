/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for what one zone may cost to load (zone/limits.h, load.c,
 * group.c): $INCLUDE depth, paths and file kinds, the byte budget, the
 * per-RRset record cap with its exact "FILE:LINE: message", duplicates
 * found in linear time (a 70,000-record RRset: the time is printed), and the
 * placeholder that stands in for a zone that failed to load (SERVFAIL).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/zone/source.h"

#include "testzone.h"

static int setup(void **state) { return tz_mkdir("test_zone_limits"); }
static int teardown(void **state) { return tz_rmdir(); }

#define HEAD "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"

/* Load tz_dir/file (already written) as example.com. within limits. */
static struct rwd_zone *load(const char *file, const struct rwd_zone_limits *lim,
                             struct tz_report *r)
{
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	memset(r, 0, sizeof(*r));
	return rwd_zone_load_limits(apex, tz_path(file), NULL, lim, tz_collect, r);
}

/* The load fails with exactly one message, want (a format: %s is the path of file). */
static void expect_error(const char *file, const struct rwd_zone_limits *lim, const char *want,
                         const char *arg)
{
	struct tz_report r;
	struct rwd_zone *z = load(file, lim, &r);
	char line[RWD_ZONE_ERRLEN];
	snprintf(line, sizeof(line), want, arg ? arg : tz_path(file));
	if (z != NULL || r.n != 1 || strcmp(r.msg[0], line) != 0) {
		for (unsigned i = 0; i < r.n && i < TZ_MAX_MSGS; i++)
			print_error("  got:  %s\n", r.msg[i]);
		print_error("  want: %s\n", line);
		rwd_zone_free(z);
		fail_msg("%s: %s, %u message(s)", file, z ? "loaded" : "not loaded", r.n);
	}
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- $INCLUDE ---- */

/* A file that includes itself (or an ancestor) is a loop, reported at its
 * $INCLUDE line (it took 4.2 GB without a limit). */
static void test_include_loop(void **state)
{
	tz_write("self.zone", HEAD "$INCLUDE self.inc\n");
	tz_write("self.inc", "x A 192.0.2.9\n$INCLUDE self.inc\n");
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	char want[600];
	snprintf(want, sizeof(want), "%%s:2: $INCLUDE %s: a loop (that file is being read already)",
	         tz_path("self.inc"));
	expect_error("self.zone", &lim, want, tz_path("self.inc"));
	/* Through another file, back to the zone file itself. */
	tz_write("loop.zone", HEAD "$INCLUDE loop-b.inc\n");
	tz_write("loop-b.inc", "b A 192.0.2.9\n$INCLUDE loop.zone\n");
	snprintf(want, sizeof(want), "%%s:2: $INCLUDE %s: a loop (that file is being read already)",
	         tz_path("loop.zone"));
	expect_error("loop.zone", &lim, want, tz_path("loop-b.inc"));
	/* The same file twice, side by side, is no loop. */
	tz_write("twice.zone", HEAD "$INCLUDE twice.inc\n$INCLUDE twice.inc\n");
	tz_write("twice.inc", "t A 192.0.2.9\n");
	struct tz_report r;
	struct rwd_zone *z = load("twice.zone", &lim, &r);
	assert_non_null(z);
	assert_int_equal(r.n, 0);
	rwd_zone_free(z);
}

/* A chain of distinct files stops at the depth limit, with one message at
 * the first $INCLUDE too deep. */
static void test_include_depth(void **state)
{
	char name[32], next[32], text[64];
	for (int i = 1; i <= 12; i++) {
		snprintf(name, sizeof(name), "chain%d.inc", i);
		snprintf(next, sizeof(next), "chain%d.inc", i + 1);
		snprintf(text, sizeof(text), "c%d A 192.0.2.%d\n$INCLUDE %s\n", i, i, next);
		tz_write(name, text);
	}
	tz_write("chain.zone", HEAD "$INCLUDE chain1.inc\n");
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	expect_error("chain.zone", &lim,
	             "%s:2: $INCLUDE nested more than 8 deep (zone_limits.max_include_depth)",
	             tz_path("chain8.inc"));
	lim.max_include_depth = 2;
	expect_error("chain.zone", &lim,
	             "%s:2: $INCLUDE nested more than 2 deep (zone_limits.max_include_depth)",
	             tz_path("chain2.inc"));
	/* A tree that doubles at each level ends at the byte budget. */
	for (int i = 1; i <= 40; i++) {
		snprintf(name, sizeof(name), "tree%d.inc", i);
		snprintf(text, sizeof(text), "$INCLUDE tree%d.inc\n$INCLUDE tree%d.inc\n", i + 1, i + 1);
		tz_write(name, text);
	}
	tz_write("tree.zone", HEAD "$INCLUDE tree1.inc\n");
	lim.max_include_depth = 64;
	lim.max_file_bytes = 1024;   /* reached before the tree's 40 levels end */
	struct tz_report r;
	double t0 = now();
	assert_null(load("tree.zone", &lim, &r));
	print_message("an $INCLUDE tree doubling at each level, 1 KiB budget: %.3f s, %u message(s)\n",
	              now() - t0, r.n);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.msg[0], "bytes (zone_limits.max_file_bytes)"));
}

static void test_include_depth_zero(void **state)
{
	tz_write("d0.inc", "x A 192.0.2.9\n");
	tz_write("d0.zone", HEAD "$INCLUDE d0.inc\n");
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	lim.max_include_depth = 0;
	expect_error("d0.zone", &lim,
	             "%s:6: $INCLUDE is not allowed (zone_limits.max_include_depth is 0)", NULL);
	/* Depth 1 allows the zone file's own $INCLUDE. */
	lim.max_include_depth = 1;
	struct tz_report r;
	struct rwd_zone *z = load("d0.zone", &lim, &r);
	assert_non_null(z);
	assert_int_equal(r.n, 0);
	rwd_zone_free(z);
}

/* Only regular files: /dev/zero was read whole into memory. */
static void test_include_not_regular(void **state)
{
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	lim.include_any_path = true;
	tz_write("zero.zone", HEAD "$INCLUDE /dev/zero\n");
	expect_error("zero.zone", &lim, "%s:6: $INCLUDE /dev/zero: not a regular file", NULL);
	/* A FIFO in the zone's folder: refused without waiting for a writer. */
	assert_int_equal(mkfifo(tz_path("fifo.inc"), 0600), 0);
	tz_write("fifo.zone", HEAD "$INCLUDE fifo.inc\n");
	char want[600];
	snprintf(want, sizeof(want), "%%s:6: $INCLUDE %s: not a regular file", tz_path("fifo.inc"));
	lim.include_any_path = false;
	expect_error("fifo.zone", &lim, want, NULL);
	/* A folder. */
	assert_int_equal(mkdir(tz_path("dir.inc"), 0700), 0);
	tz_write("dir.zone", HEAD "$INCLUDE dir.inc\n");
	snprintf(want, sizeof(want), "%%s:6: $INCLUDE %s: not a regular file", tz_path("dir.inc"));
	expect_error("dir.zone", &lim, want, NULL);
	/* The zone file itself. */
	expect_error("dir.inc", &lim, "%s: not a regular file", NULL);
}

/* By default an $INCLUDE stays under the zone file's folder, symbolic
 * links resolved; zone_limits.include_any_path lifts that. */
static void test_include_outside_folder(void **state)
{
	char real_dir[PATH_MAX];
	assert_non_null(realpath(tz_dir, real_dir));
	assert_int_equal(mkdir(tz_path("sub"), 0700), 0);
	tz_write("outside.inc", "out A 192.0.2.7\n");
	tz_write("sub/up.zone", HEAD "$INCLUDE ../outside.inc\n");
	static char want[2 * PATH_MAX];
	snprintf(want, sizeof(want),
	         "%%s:6: $INCLUDE %s/sub/../outside.inc is outside the zone file's folder %s/sub "
	         "(zone_limits.include_any_path)", tz_dir, real_dir);
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	expect_error("sub/up.zone", &lim, want, NULL);
	/* A symbolic link in the folder to a file outside it. */
	assert_int_equal(symlink(tz_path("outside.inc"), tz_path("sub/link.inc")), 0);
	tz_write("sub/link.zone", HEAD "$INCLUDE link.inc\n");
	snprintf(want, sizeof(want),
	         "%%s:6: $INCLUDE %s/sub/link.inc is outside the zone file's folder %s/sub "
	         "(zone_limits.include_any_path)", tz_dir, real_dir);
	expect_error("sub/link.zone", &lim, want, NULL);
	/* Below the folder is fine; so is anything with include_any_path. */
	assert_int_equal(mkdir(tz_path("sub/deeper"), 0700), 0);
	tz_write("sub/deeper/in.inc", "in A 192.0.2.8\n");
	tz_write("sub/down.zone", HEAD "$INCLUDE deeper/in.inc\n");
	struct tz_report r;
	struct rwd_zone *z = load("sub/down.zone", &lim, &r);
	assert_non_null(z);
	rwd_zone_free(z);
	lim.include_any_path = true;
	z = load("sub/up.zone", &lim, &r);
	assert_non_null(z);
	assert_int_equal(r.n, 0);
	uint8_t dn[RW_DNAME_MAXLEN];
	int len = tz_lname("out.example.com.", dn);
	assert_non_null(rwd_zone_find(z, dn, (size_t)len));
	rwd_zone_free(z);
}

static void test_file_bytes(void **state)
{
	const char *text = HEAD "www A 192.0.2.80\n";
	tz_write("bytes.zone", text);
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	lim.max_file_bytes = strlen(text) - 1;
	char want[200];
	snprintf(want, sizeof(want), "%%s: %zu bytes, more than %zu (zone_limits.max_file_bytes)",
	         strlen(text), strlen(text) - 1);
	expect_error("bytes.zone", &lim, want, NULL);
	lim.max_file_bytes = strlen(text);
	struct tz_report r;
	struct rwd_zone *z = load("bytes.zone", &lim, &r);
	assert_non_null(z);
	rwd_zone_free(z);
	/* The zone file and its includes together. */
	tz_write("b.inc", "x A 192.0.2.9\n");
	tz_write("bytes2.zone", HEAD "$INCLUDE b.inc\n");
	lim.max_file_bytes = strlen(HEAD "$INCLUDE b.inc\n") + 5;
	snprintf(want, sizeof(want), "%%s:6: $INCLUDE %s: the zone file and its includes would "
	         "exceed %llu bytes (zone_limits.max_file_bytes)", tz_path("b.inc"),
	         (unsigned long long)lim.max_file_bytes);
	expect_error("bytes2.zone", &lim, want, NULL);
}

/* ---- records per RRset ---- */

/* A zone file with n A records at many.example.com. (record k on line 6 + k),
 * then dups duplicates of them, the owner in another case. */
static void write_big(const char *file, unsigned n, unsigned dups)
{
	FILE *f = fopen(tz_path(file), "w");
	assert_non_null(f);
	fputs(HEAD, f);
	for (unsigned k = 0; k < n; k++)
		fprintf(f, "many A 10.%u.%u.%u\n", k >> 16 & 255, k >> 8 & 255, k & 255);
	for (unsigned i = 0; i < dups; i++) {
		unsigned k = i % n;
		fprintf(f, "MANY A 10.%u.%u.%u\n", k >> 16 & 255, k >> 8 & 255, k & 255);
	}
	assert_int_equal(fclose(f), 0);
}

static void test_rrset_cap(void **state)
{
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	write_big("cap.zone", 1001, 0);
	/* The 1001st record, on line 5 + 1001. */
	expect_error("cap.zone", &lim,
	             "%s:1006: RRset many.example.com. A has more than 1000 records "
	             "(zone_limits.max_rrset_records)", NULL);
	/* 1000 records and duplicates of them: duplicates do not count. */
	write_big("cap-ok.zone", 1000, 500);
	struct tz_report r;
	struct rwd_zone *z = load("cap-ok.zone", &lim, &r);
	assert_non_null(z);
	assert_int_equal(r.n, 0);
	assert_int_equal(z->n_records, 3 + 1000);
	rwd_zone_free(z);
	lim.max_rrset_records = 10;
	expect_error("cap-ok.zone", &lim,
	             "%s:16: RRset many.example.com. A has more than 10 records "
	             "(zone_limits.max_rrset_records)", NULL);
}

/*
 * 70,000 records of one RRset: rejected at once with the reason (19 s and
 * no reason before), and, under the highest cap, grouped with duplicate
 * detection in linear time (pairwise comparison was the 19 s).
 */
static void test_rrset_70k_fast(void **state)
{
	write_big("70k.zone", 70000, 0);
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	double t0 = now();
	expect_error("70k.zone", &lim,
	             "%s:1006: RRset many.example.com. A has more than 1000 records "
	             "(zone_limits.max_rrset_records)", NULL);
	double t1 = now();
	lim.max_rrset_records = RWD_ZONE_MAX_RRSET_RECORDS_MAX;
	expect_error("70k.zone", &lim,
	             "%s:32773: RRset many.example.com. A has more than 32767 records "
	             "(zone_limits.max_rrset_records)", NULL);
	double t2 = now();
	/* 70,000 records, 3,000 distinct (an answer must fit in a message). */
	write_big("dups.zone", 3000, 67000);
	struct tz_report r;
	struct rwd_zone *z = load("dups.zone", &lim, &r);
	double t3 = now();
	assert_non_null(z);
	assert_int_equal(z->n_records, 3 + 3000);
	rwd_zone_free(z);
	print_message("70,000-record RRset rejected in %.3f s (cap 1000), %.3f s (cap 32767); "
	              "70,000 records with 67,000 duplicates loaded in %.3f s\n",
	              t1 - t0, t2 - t1, t3 - t2);
	/* Generous bounds for a loaded CI box; pairwise took 19-34 s. */
	assert_true(t1 - t0 < 5.0);
	assert_true(t2 - t1 < 5.0);
	assert_true(t3 - t2 < 5.0);
}

/* Duplicates in a large RRset are found with names compared without case
 * (RFC 4034 6.2), as in a small one. */
static void test_large_rrset_duplicates_by_name(void **state)
{
	FILE *f = fopen(tz_path("ns.zone"), "w");
	assert_non_null(f);
	fputs(HEAD, f);
	for (unsigned k = 0; k < 100; k++)
		fprintf(f, "sub NS ns%u.example.net.\n", k);
	for (unsigned k = 0; k < 100; k++)
		fprintf(f, "sub NS NS%u.Example.NET.\n", k);
	fputs("sub TXT \"a\"\nsub TXT \"A\"\n", f);   /* not names: both kept */
	assert_int_equal(fclose(f), 0);
	struct tz_report r;
	struct rwd_zone_limits lim = RWD_ZONE_LIMITS_DEFAULT;
	struct rwd_zone *z = load("ns.zone", &lim, &r);
	assert_non_null(z);
	uint8_t dn[RW_DNAME_MAXLEN];
	int len = tz_lname("sub.example.com.", dn);
	const struct rwd_node *n = rwd_zone_find(z, dn, (size_t)len);
	assert_non_null(n);
	assert_int_equal(rwd_node_rrset(n, RW_TYPE_NS)->count, 100);
	assert_int_equal(rwd_node_rrset(n, RW_TYPE_TXT)->count, 2);
	/* The first of each kept, in file order. */
	const uint8_t *rd = rwd_node_rrset(n, RW_TYPE_NS)->rdata;
	char first[64];
	rw_dname_to_str(rd + 2, first, sizeof(first));
	assert_string_equal(first, "ns0.example.net.");
	rwd_zone_free(z);
}

/* ---- the placeholder of a zone that failed ---- */

static void test_placeholder(void **state)
{
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("broken.example.", apex);
	struct rwd_zone *z = rwd_zone_failed(apex, "/nowhere/broken.zone");
	assert_non_null(z);
	assert_true(rwd_zone_is_placeholder(z));
	assert_string_equal(z->file, "/nowhere/broken.zone");
	static const char *const names[] = { "broken.example.", "www.broken.example.",
	                                     "a.b.c.broken.example.", "*.broken.example." };
	for (unsigned i = 0; i < 4; i++) {
		uint8_t dn[RW_DNAME_MAXLEN];
		int len = tz_lname(names[i], dn);
		const struct rwd_node *n = rwd_zone_encloser(z, dn, (size_t)len);
		bool exact = n->name_len == len;
		/* As the lookup stage goes: no cut; below the apex, its wildcard. */
		assert_null(n->cut);
		if (!exact)
			n = n->wildcard;
		assert_non_null(n);
		const uint16_t types[] = { RW_TYPE_A, RW_TYPE_SOA, RW_TYPE_NS, RW_TYPE_TXT };
		for (unsigned t = 0; t < 4; t++) {
			const struct rwd_answer *a = rwd_node_answer(n, types[t]);
			assert_int_equal(a->rcode, RW_RCODE_SERVFAIL);
			assert_int_equal(a->aa, 0);
			assert_int_equal(a->ancount + a->nscount + a->arcount, 0);
			assert_int_equal(a->len, 0);
		}
		assert_int_equal(n->n_answers, 0);   /* ANY: n->other too */
	}
	assert_int_equal(z->nxdomain->rcode, RW_RCODE_SERVFAIL);
	assert_int_equal(z->nodata->rcode, RW_RCODE_SERVFAIL);
	/* The API's incremental path declines it: the full load reports the file's errors. */
	assert_null(rwd_zone_patch(z, NULL, 0, 2));
	rwd_zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_include_loop),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_include_depth_zero),
		cmocka_unit_test(test_include_not_regular),
		cmocka_unit_test(test_include_outside_folder),
		cmocka_unit_test(test_file_bytes),
		cmocka_unit_test(test_rrset_cap),
		cmocka_unit_test(test_rrset_70k_fast),
		cmocka_unit_test(test_large_rrset_duplicates_by_name),
		cmocka_unit_test(test_placeholder),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
