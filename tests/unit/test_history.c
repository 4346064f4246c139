/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for a zone's change history (zone/history.h): the difference
 * between two loaded versions (records as sets, a changed TTL removes and
 * adds, the SOA apart, nothing when only the serial moved), diffs that
 * apply: the condensed history applied to the oldest version gives the
 * newest (a record removed then added back cancels), the bounds (depth,
 * bytes, a diff larger than the bound alone), a chain that breaks, serial
 * policies with RFC 1982 wrap-around, and the content digest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/wire.h"
#include "server/zone/history.h"
#include "testzone.h"

static int group_setup(void **state)
{
	return tz_mkdir("rw-history");
}

static int group_teardown(void **state)
{
	return tz_rmdir();
}

#define SOA "@ 3600 IN SOA ns.example.com. admin.example.com. %u 7200 900 1209600 300\n"
#define BASE "@ 3600 IN NS ns.example.com.\nns 3600 IN A 192.0.2.1\n"

/* A version of example.com. with serial and extra records (zone file text). */
static struct rwd_zone *version(uint32_t serial, const char *extra)
{
	static unsigned n;
	char text[4096], file[32];
	snprintf(text, sizeof(text), SOA BASE "%s", serial, extra);
	snprintf(file, sizeof(file), "v%u.zone", n++);
	return tz_load_ok("example.com.", file, text);
}

/* ---- a zone's records as a set, and diffs applied to it ---- */

struct rrs {
	uint8_t *rec[256];
	size_t len[256];
	size_t n;
};

static void rrs_free(struct rrs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rec[i]);
	s->n = 0;
}

static long rrs_find(const struct rrs *s, const uint8_t *r, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->len[i] == len && memcmp(s->rec[i], r, len) == 0)
			return (long)i;
	return -1;
}

static void rrs_add(struct rrs *s, const uint8_t *r, size_t len)
{
	assert_true(s->n < 256);
	s->rec[s->n] = malloc(len);
	memcpy(s->rec[s->n], r, len);
	s->len[s->n++] = len;
}

/* Every record of z but the apex SOA, as a diff would hold it. */
static void rrs_of(const struct rwd_zone *z, struct rrs *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i <= z->table_mask; i++) {
		const struct rwd_node *node = z->table[i];
		for (unsigned k = 0; node && k < node->n_rrsets; k++) {
			const struct rwd_rrset *rs = &node->rrsets[k];
			if (rs->type == RW_TYPE_SOA)
				continue;
			RWD_RRSET_FOREACH(rs, rd, j) {
				uint8_t buf[600];
				size_t l = node->name_len;
				memcpy(buf, node->name, l);
				rw_put16(buf + l, rs->type);
				rw_put16(buf + l + 2, RW_CLASS_IN);
				rw_put32(buf + l + 4, rs->ttl);
				memcpy(buf + l + 8, rd, 2u + rw_get16(rd));
				rrs_add(s, buf, l + 10u + rw_get16(rd));
			}
		}
	}
}

/* Apply d to s as a secondary applies IXFR: each removed record must be
 * there, each added one must not. */
static void apply(struct rrs *s, const struct rwd_zone_diff *d)
{
	assert_true(rwd_zone_diff_valid(d));
	struct rwd_diff_rr rr;
	size_t at = rwd_diff_rr_parse(d->data, d->len, &rr);   /* old SOA */
	for (uint32_t i = 0; i < d->n_removed; i++) {
		size_t l = rwd_diff_rr_parse(d->data + at, d->added_at - at, &rr);
		assert_true(l > 0);
		long k = rrs_find(s, d->data + at, l);
		assert_true(k >= 0);
		free(s->rec[k]);
		s->rec[k] = s->rec[s->n - 1];
		s->len[k] = s->len[s->n - 1];
		s->n--;
		at += l;
	}
	assert_int_equal(at, d->added_at);
	at += rwd_diff_rr_parse(d->data + at, d->len - at, &rr);   /* new SOA */
	for (uint32_t i = 0; i < d->n_added; i++) {
		size_t l = rwd_diff_rr_parse(d->data + at, d->len - at, &rr);
		assert_true(l > 0);
		assert_true(rrs_find(s, d->data + at, l) < 0);
		rrs_add(s, d->data + at, l);
		at += l;
	}
	assert_int_equal(at, d->len);
}

static void assert_same(const struct rrs *a, const struct rrs *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_true(rrs_find(b, a->rec[i], a->len[i]) >= 0);
}

/* The serial of the SOA record at p. */
static uint32_t soa_serial(const uint8_t *p, size_t avail)
{
	struct rwd_diff_rr rr;
	assert_true(rwd_diff_rr_parse(p, avail, &rr) > 0);
	assert_int_equal(rr.type, RW_TYPE_SOA);
	/* ns.example.com. admin.example.com. then the serial */
	return rw_get32(rr.rdata + 16 + 19);
}

/* ---- tests ---- */

static void test_diff_versions(void **state)
{
	struct rwd_zone *a = version(10, "www 300 IN A 192.0.2.10\nwww 300 IN A 192.0.2.11\n"
	                                 "mail 3600 IN MX 10 mx.example.com.\n"
	                                 "old 60 IN TXT \"going\"\n");
	/* www: one record less, one more; mail: the TTL changed; old gone; new */
	struct rwd_zone *b = version(11, "www 300 IN A 192.0.2.11\nwww 300 IN A 192.0.2.12\n"
	                                 "mail 600 IN MX 10 mx.example.com.\n"
	                                 "new 60 IN TXT \"here\"\n");
	struct rwd_zone_diff *d = NULL;
	assert_int_equal(rwd_zone_diff_versions(a, b, &d), 0);
	assert_non_null(d);
	assert_int_equal(d->serial_from, 10);
	assert_int_equal(d->serial_to, 11);
	assert_int_equal(d->n_removed, 3);        /* www .10, mail/3600, old */
	assert_int_equal(d->n_added, 3);          /* www .12, mail/600, new */
	assert_true(rwd_zone_diff_valid(d));
	assert_int_equal(soa_serial(d->data, d->added_at), 10);
	assert_int_equal(soa_serial(d->data + d->added_at, d->len - d->added_at), 11);
	struct rrs x, y;
	rrs_of(a, &x);
	rrs_of(b, &y);
	apply(&x, d);
	assert_same(&x, &y);
	/* The digest moves with the diff. */
	assert_true(rwd_zone_digest(a) + rwd_zone_diff_digest(d) == rwd_zone_digest(b));
	/* And back. */
	struct rwd_zone_diff *back = NULL;
	assert_int_equal(rwd_zone_diff_versions(b, a, &back), 0);
	assert_int_equal(back->n_removed, 3);
	apply(&x, back);
	rrs_free(&y);
	rrs_of(a, &y);
	assert_same(&x, &y);
	rrs_free(&x);
	rrs_free(&y);
	rwd_zone_diff_free(d);
	rwd_zone_diff_free(back);
	rwd_zone_free(a);
	rwd_zone_free(b);
}

/* An RRset large enough to be compared through a hash set. */
static void test_diff_large_rrset(void **state)
{
	char a_text[2048] = "", b_text[2048] = "";
	for (int i = 1; i <= 40; i++) {
		char line[64];
		snprintf(line, sizeof(line), "many 60 IN A 192.0.2.%d\n", i);
		strcat(a_text, line);
		snprintf(line, sizeof(line), "many 60 IN A 192.0.2.%d\n", i == 7 ? 207 : i);
		strcat(b_text, line);
	}
	struct rwd_zone *a = version(1, a_text), *b = version(2, b_text);
	struct rwd_zone_diff *d = NULL;
	assert_int_equal(rwd_zone_diff_versions(a, b, &d), 0);
	assert_int_equal(d->n_removed, 1);
	assert_int_equal(d->n_added, 1);
	struct rrs x, y;
	rrs_of(a, &x);
	rrs_of(b, &y);
	apply(&x, d);
	assert_same(&x, &y);
	rrs_free(&x);
	rrs_free(&y);
	rwd_zone_diff_free(d);
	rwd_zone_free(a);
	rwd_zone_free(b);
}

static void test_diff_none(void **state)
{
	/* The same records in another order, another serial: no difference,
	 * the same digest. */
	struct rwd_zone *a = version(10, "a 60 IN A 192.0.2.1\nb 60 IN A 192.0.2.2\n");
	struct rwd_zone *b = version(99, "b 60 IN A 192.0.2.2\na 60 IN A 192.0.2.1\n");
	struct rwd_zone_diff *d = (void *)1;
	assert_int_equal(rwd_zone_diff_versions(a, b, &d), 0);
	assert_null(d);
	assert_true(rwd_zone_digest(a) == rwd_zone_digest(b));
	/* An SOA field other than the serial is a difference (no records). */
	char text[512];
	snprintf(text, sizeof(text),
	         "@ 3600 IN SOA ns.example.com. admin.example.com. 11 7200 900 1209600 600\n"
	         BASE "a 60 IN A 192.0.2.1\nb 60 IN A 192.0.2.2\n");
	struct rwd_zone *c = tz_load_ok("example.com.", "soa.zone", text);
	assert_int_equal(rwd_zone_diff_versions(a, c, &d), 0);
	assert_non_null(d);
	assert_int_equal(d->n_removed + d->n_added, 0);
	assert_true(rwd_zone_digest(a) != rwd_zone_digest(c));
	rwd_zone_diff_free(d);
	rwd_zone_free(a);
	rwd_zone_free(b);
	rwd_zone_free(c);
}

/* Versions 0..n-1 of a zone whose record r<i> comes and goes. */
static const char *const steps[] = {
	"keep 60 IN A 192.0.2.1\nr 60 IN A 192.0.2.9\n",
	"keep 60 IN A 192.0.2.1\n",                                   /* r removed */
	"keep 60 IN A 192.0.2.1\nr 60 IN A 192.0.2.9\n",              /* r back */
	"keep 60 IN A 192.0.2.1\nr 60 IN A 192.0.2.9\nt 60 IN A 192.0.2.3\n",
	"keep 300 IN A 192.0.2.1\nr 60 IN A 192.0.2.9\nt 60 IN A 192.0.2.3\n",  /* TTL */
	"keep 60 IN A 192.0.2.1\nt 60 IN A 192.0.2.3\nu 60 IN AAAA 2001:db8::1\n",
	"keep 60 IN A 192.0.2.1\nu 60 IN AAAA 2001:db8::1\n",
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static void test_condense(void **state)
{
	struct rwd_zone *v[N_STEPS];
	for (size_t i = 0; i < N_STEPS; i++)
		v[i] = version(100 + (uint32_t)i, steps[i]);
	for (size_t depth = 1; depth <= N_STEPS; depth++) {
		struct rwd_zone_history *h = NULL;
		for (size_t i = 1; i < N_STEPS; i++) {
			struct rwd_zone_diff *d = NULL;
			assert_int_equal(rwd_zone_diff_versions(v[i - 1], v[i], &d), 0);
			struct rwd_zone_history *next = rwd_zone_history_append(h, d, depth, 0);
			assert_non_null(next);
			rwd_zone_diff_free(d);
			rwd_zone_history_free(h);
			h = next;
			assert_true(h->n <= depth);
			/* a chain ending at the newest */
			assert_int_equal(h->diffs[h->n - 1]->serial_to, 100 + i);
			for (size_t k = 1; k < h->n; k++)
				assert_int_equal(h->diffs[k]->serial_from, h->diffs[k - 1]->serial_to);
			/* applied to the version it starts from, the newest */
			uint32_t first = h->diffs[0]->serial_from;
			assert_true(first >= 100 && first < 100 + i);
			struct rrs x, y;
			rrs_of(v[first - 100], &x);
			rrs_of(v[i], &y);
			size_t bytes = 0;
			for (size_t k = 0; k < h->n; k++) {
				apply(&x, h->diffs[k]);
				bytes += h->diffs[k]->len;
			}
			assert_int_equal(bytes, h->bytes);
			assert_same(&x, &y);
			rrs_free(&x);
			rrs_free(&y);
			/* IXFR from any serial the history still has */
			assert_int_equal(rwd_zone_history_find(h, first), 0);
			assert_int_equal(rwd_zone_history_find(h, 100 + (uint32_t)i), -1);
		}
		if (depth == 1) {
			/* v0 -> v6 in one: r removed (it went and came back and went),
			 * nothing about t (came and went), u added, keep as it was. */
			assert_int_equal(h->n, 1);
			assert_int_equal(h->diffs[0]->n_removed, 1);
			assert_int_equal(h->diffs[0]->n_added, 1);
		}
		rwd_zone_history_free(h);
	}
	/* r removed then added back: the merge cancels both. */
	struct rwd_zone_diff *d1 = NULL, *d2 = NULL;
	assert_int_equal(rwd_zone_diff_versions(v[0], v[1], &d1), 0);
	assert_int_equal(rwd_zone_diff_versions(v[1], v[2], &d2), 0);
	struct rwd_zone_diff *m = rwd_zone_diff_merge(d1, d2);
	assert_non_null(m);
	assert_int_equal(m->n_removed + m->n_added, 0);
	assert_int_equal(m->serial_from, 100);
	assert_int_equal(m->serial_to, 102);
	assert_true(rwd_zone_diff_valid(m));
	assert_null(rwd_zone_diff_merge(d2, d1));          /* not a chain */
	rwd_zone_diff_free(m);
	rwd_zone_diff_free(d1);
	rwd_zone_diff_free(d2);
	for (size_t i = 0; i < N_STEPS; i++)
		rwd_zone_free(v[i]);
}

static void test_bounds(void **state)
{
	struct rwd_zone *a = version(1, "a 60 IN A 192.0.2.1\n");
	struct rwd_zone *b = version(2, "b 60 IN A 192.0.2.2\n");
	struct rwd_zone *c = version(3, "c 60 IN A 192.0.2.3\n");
	struct rwd_zone_diff *ab = NULL, *bc = NULL, *ac = NULL;
	assert_int_equal(rwd_zone_diff_versions(a, b, &ab), 0);
	assert_int_equal(rwd_zone_diff_versions(b, c, &bc), 0);
	assert_int_equal(rwd_zone_diff_versions(a, c, &ac), 0);
	/* Within the bytes: both kept. */
	struct rwd_zone_history *h1 = rwd_zone_history_append(NULL, ab, 0, 0);
	struct rwd_zone_history *h2 = rwd_zone_history_append(h1, bc, 0, ab->len + bc->len);
	assert_int_equal(h2->n, 2);
	assert_ptr_equal(h2->diffs[0], ab);                /* shared, not copied */
	rwd_zone_history_free(h2);
	/* One byte less: merged into one, a -> c. */
	h2 = rwd_zone_history_append(h1, bc, 0, ab->len + bc->len - 1);
	assert_int_equal(h2->n, 1);
	assert_int_equal(h2->diffs[0]->serial_from, 1);
	assert_int_equal(h2->diffs[0]->serial_to, 3);
	assert_int_equal(h2->diffs[0]->len, ac->len);
	assert_memory_equal(h2->diffs[0]->data, ac->data, ac->len);
	rwd_zone_history_free(h2);
	/* Distinct changes past the bytes: merging them saves nothing, the
	 * oldest goes. */
	struct rwd_zone *d4 = version(4, "c 60 IN A 192.0.2.3\nd 60 IN A 192.0.2.4\n");
	struct rwd_zone_diff *cd = NULL;
	assert_int_equal(rwd_zone_diff_versions(c, d4, &cd), 0);   /* d added */
	struct rwd_zone_history *h3 = rwd_zone_history_append(NULL, ac, 0, 0);
	struct rwd_zone_history *h4 = rwd_zone_history_append(h3, cd, 0, ac->len + cd->len - 1);
	assert_int_equal(h4->n, 1);
	assert_ptr_equal(h4->diffs[0], cd);
	assert_int_equal(h4->bytes, cd->len);
	rwd_zone_history_free(h4);
	/* past the depth, they are merged all the same */
	h4 = rwd_zone_history_append(h3, cd, 1, 0);
	assert_int_equal(h4->n, 1);
	assert_int_equal(h4->diffs[0]->serial_from, 1);
	assert_int_equal(h4->diffs[0]->n_removed, 1);           /* a */
	assert_int_equal(h4->diffs[0]->n_added, 2);             /* c, d */
	rwd_zone_history_free(h4);
	rwd_zone_history_free(h3);
	rwd_zone_diff_free(cd);
	rwd_zone_free(d4);
	/* Smaller than even the merge: nothing is kept. */
	h2 = rwd_zone_history_append(h1, bc, 0, ac->len - 1);
	assert_int_equal(h2->n, 0);
	assert_int_equal(rwd_zone_history_find(h2, 1), -1);
	rwd_zone_history_free(h2);
	/* A diff that does not follow: the history restarts with it. */
	h2 = rwd_zone_history_append(h1, ac, 0, 0);
	assert_int_equal(h2->n, 1);
	assert_ptr_equal(h2->diffs[0], ac);
	rwd_zone_history_free(h2);
	rwd_zone_history_free(h1);
	/* Serials a reload learns late. */
	rwd_zone_diff_set_serial_to(bc, 77);
	assert_int_equal(bc->serial_to, 77);
	assert_true(rwd_zone_diff_valid(bc));
	assert_int_equal(soa_serial(bc->data + bc->added_at, bc->len - bc->added_at), 77);
	/* A broken diff is told apart. */
	bc->n_added++;
	assert_false(rwd_zone_diff_valid(bc));
	bc->n_added--;
	rwd_zone_diff_free(ab);
	rwd_zone_diff_free(bc);
	rwd_zone_diff_free(ac);
	rwd_zone_free(a);
	rwd_zone_free(b);
	rwd_zone_free(c);
}

static void test_serial_next(void **state)
{
	time_t now = 1796601600;                            /* 2026-12-07 00:00:00 UTC */
	/* increment */
	assert_int_equal(rwd_serial_next(0, 5, now), 6);
	assert_int_equal(rwd_serial_next(0, 0xffffffffu, now), 0);
	/* unixtime: now, unless that is not newer */
	assert_int_equal(rwd_serial_next(1, 5, now), (uint32_t)now);
	assert_int_equal(rwd_serial_next(1, (uint32_t)now, now), (uint32_t)now + 1);
	assert_int_equal(rwd_serial_next(1, (uint32_t)now + 100, now), (uint32_t)now + 101);
	/* RFC 1982: now is newer than a serial just below 2^32 that wrapped... */
	assert_int_equal(rwd_serial_next(1, 0xfffffff0u, 10), 10);
	/* ...and not newer than one more than 2^31 ahead of it */
	assert_int_equal(rwd_serial_next(1, (uint32_t)now + 0x7fffffffu, now),
	                 (uint32_t)now + 0x80000000u);
	/* dateserial */
	assert_int_equal(rwd_serial_next(2, 2026120600, now), 2026120700);
	assert_int_equal(rwd_serial_next(2, 2026120700, now), 2026120701);
	assert_int_equal(rwd_serial_next(2, 2026120799, now), 2026120800);
	assert_int_equal(rwd_serial_next(2, 1, now), 2026120700);
	assert_int_equal(rwd_serial_next(2, 0xffffffffu, now), 2026120700);   /* wrapped: newer */
	assert_true(rwd_serial_newer(0, 0xffffffffu));
	assert_false(rwd_serial_newer(0xffffffffu, 0));
	assert_false(rwd_serial_newer(7, 7));
}

static void test_set_serial(void **state)
{
	struct rwd_zone *a = version(10, "");
	rwd_zone_set_serial_unpublished(a, 4242);
	assert_int_equal(a->serial, 4242);
	uint8_t soa[600];
	size_t l = rwd_zone_soa_record(a, 4242, soa, sizeof(soa));
	assert_true(l > 0);
	assert_int_equal(soa_serial(soa, l), 4242);
	const struct rwd_rrset *rs = rwd_node_rrset(a->apex, RW_TYPE_SOA);
	assert_int_equal(rw_get32(rwd_soa_serial(rs)), 4242);
	assert_int_equal(rwd_zone_soa_record(a, 1, soa, 10), 0);   /* no room */
	rwd_zone_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_versions),
		cmocka_unit_test(test_diff_large_rrset),
		cmocka_unit_test(test_diff_none),
		cmocka_unit_test(test_condense),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_serial_next),
		cmocka_unit_test(test_set_serial),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
