/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the zones' change log on a real LMDB store in a temporary
 * folder (store/journal.h): the store mirrors a history (zone/history.h)
 * exactly, appends and condensing alike; it is read back only as a chain
 * ending at the serial asked (else nothing: never a wrong IXFR); entries of
 * an older format are not taken; zones are kept apart (a zone whose name
 * is a prefix of another's); clearing drops the log and the digest;
 * serials wrap (RFC 1982); it survives a reopen; diffs render as zone file
 * lines for the API.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/wire.h"
#include "server/store/journal.h"
#include "server/store/store.h"

struct fixture {
	char dir[64];
	struct rwd_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/rw-journal-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	char err[256];
	if (rwd_store_open(f->dir, &f->s, err) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];
	rwd_store_close(f->s);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static const uint8_t apex[] = "\x07" "example" "\x03" "com";   /* and the NUL: the root */

/* One record: example.com. or a.example.com., type, TTL 60, rdata. */
static size_t rr(uint8_t *out, bool at_apex, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	size_t l = 0;
	if (!at_apex) {
		memcpy(out, "\x01" "a", 2);
		l = 2;
	}
	memcpy(out + l, apex, sizeof(apex));
	l += sizeof(apex);
	rw_put16(out + l, type);
	rw_put16(out + l + 2, RW_CLASS_IN);
	rw_put32(out + l + 4, 60);
	rw_put16(out + l + 8, rdlen);
	memcpy(out + l + 10, rd, rdlen);
	return l + 10 + rdlen;
}

static size_t soa(uint8_t *out, uint32_t serial)
{
	uint8_t rd[22] = { 0, 0 };                 /* mname ".", rname ".", 5 numbers */
	rw_put32(rd + 2, serial);
	return rr(out, true, RW_TYPE_SOA, rd, sizeof(rd));
}

/* from -> to: a.example.com. A 192.0.2.<from> removed, .<to> added. */
static struct rwd_zone_diff *mkdiff(uint32_t from, uint32_t to)
{
	uint8_t s0[64], s1[64], r[64], a[64];
	uint8_t ip0[4] = { 192, 0, 2, (uint8_t)from }, ip1[4] = { 192, 0, 2, (uint8_t)to };
	size_t l0 = soa(s0, from), l1 = soa(s1, to);
	size_t lr = rr(r, false, RW_TYPE_A, ip0, 4), la = rr(a, false, RW_TYPE_A, ip1, 4);
	struct rwd_zone_diff *d = rwd_zone_diff_new(from, to, s0, l0, r, lr, 1, s1, l1, a, la, 1);
	assert_non_null(d);
	assert_true(rwd_zone_diff_valid(d));
	return d;
}

/* h plus from -> to, bounded; h is let go. */
static struct rwd_zone_history *grow(struct rwd_zone_history *h, uint32_t from, uint32_t to,
                                     size_t depth, size_t bytes)
{
	struct rwd_zone_diff *d = mkdiff(from, to);
	struct rwd_zone_history *n = rwd_zone_history_append(h, d, depth, bytes);
	assert_non_null(n);
	rwd_zone_diff_free(d);
	rwd_zone_history_free(h);
	return n;
}

static void sync_store(struct rwd_store *s, const char *zone, const struct rwd_zone_history *h)
{
	struct rwd_store_txn *t;
	assert_int_equal(rwd_store_begin(s, &t), 0);
	assert_int_equal(rwd_journal_sync(t, zone, h), 0);
	assert_int_equal(rwd_store_commit(t), 0);
}

/* What the store holds for zone, ending at serial, is h, byte for byte. */
static void assert_mirrors(struct rwd_store *s, const char *zone, const struct rwd_zone_history *h)
{
	struct rwd_zone_history *got = NULL;
	uint32_t last = h->diffs[h->n - 1]->serial_to;
	assert_int_equal(rwd_journal_load(s, zone, last, &got), 0);
	assert_non_null(got);
	assert_int_equal(got->n, h->n);
	assert_int_equal(got->bytes, h->bytes);
	for (size_t i = 0; i < h->n; i++) {
		assert_int_equal(got->diffs[i]->serial_from, h->diffs[i]->serial_from);
		assert_int_equal(got->diffs[i]->serial_to, h->diffs[i]->serial_to);
		assert_int_equal(got->diffs[i]->len, h->diffs[i]->len);
		assert_int_equal(got->diffs[i]->n_removed, h->diffs[i]->n_removed);
		assert_int_equal(got->diffs[i]->added_at, h->diffs[i]->added_at);
		assert_memory_equal(got->diffs[i]->data, h->diffs[i]->data, h->diffs[i]->len);
	}
	rwd_zone_history_free(got);
}

static void test_mirror(void **state)
{
	struct fixture *f = *state;
	struct rwd_zone_history *h = NULL;
	for (uint32_t i = 1; i <= 5; i++) {
		h = grow(h, i, i + 1, 0, 0);
		sync_store(f->s, "example.com.", h);
		assert_mirrors(f->s, "example.com.", h);
	}
	assert_int_equal(rwd_store_count(f->s, "journal"), 5);
	/* Only a chain that ends at the serial asked is read back. */
	struct rwd_zone_history *got = (void *)1;
	assert_int_equal(rwd_journal_load(f->s, "example.com.", 5, &got), 0);
	assert_null(got);
	assert_int_equal(rwd_journal_load(f->s, "example.org.", 6, &got), 0);
	assert_null(got);
	rwd_zone_history_free(h);
}

static void test_condensed(void **state)
{
	struct fixture *f = *state;
	struct rwd_zone_history *h = NULL;
	/* depth 3: every append past it merges the two oldest, in memory and
	 * in the store alike */
	for (uint32_t i = 1; i <= 10; i++) {
		h = grow(h, i, i + 1, 3, 0);
		sync_store(f->s, "example.com.", h);
		assert_mirrors(f->s, "example.com.", h);
	}
	assert_int_equal(h->n, 3);
	assert_int_equal(h->diffs[0]->serial_from, 1);
	assert_int_equal(h->diffs[0]->serial_to, 9);
	assert_int_equal(rwd_store_count(f->s, "journal"), 3);
	/* A byte bound that one diff alone passes: nothing is kept. */
	h = grow(h, 11, 12, 3, 10);
	assert_int_equal(h->n, 0);
	sync_store(f->s, "example.com.", h);
	assert_int_equal(rwd_store_count(f->s, "journal"), 0);
	/* Then a history that starts again. */
	h = grow(h, 12, 13, 3, 0);
	sync_store(f->s, "example.com.", h);
	assert_mirrors(f->s, "example.com.", h);
	rwd_zone_history_free(h);
	/* A history that does not continue the stored one replaces it. */
	h = grow(NULL, 40, 41, 0, 0);
	h = grow(h, 41, 42, 0, 0);
	sync_store(f->s, "example.com.", h);
	assert_mirrors(f->s, "example.com.", h);
	assert_int_equal(rwd_store_count(f->s, "journal"), 2);
	rwd_zone_history_free(h);
}

/* from -> to adding a.example.com. A 192.0.2.<to>: distinct changes,
 * which merging does not shrink. */
static struct rwd_zone_diff *mkadd(uint32_t from, uint32_t to)
{
	uint8_t s0[64], s1[64], a[64];
	uint8_t ip[4] = { 192, 0, 2, (uint8_t)to };
	size_t l0 = soa(s0, from), l1 = soa(s1, to), la = rr(a, false, RW_TYPE_A, ip, 4);
	return rwd_zone_diff_new(from, to, s0, l0, NULL, 0, 0, s1, l1, a, la, 1);
}

static void test_bytes_drop_oldest(void **state)
{
	struct fixture *f = *state;
	struct rwd_zone_history *h = NULL;
	size_t one = 0;
	for (uint32_t i = 1; i <= 8; i++) {
		struct rwd_zone_diff *d = mkadd(i, i + 1);
		one = d->len;
		struct rwd_zone_history *n = rwd_zone_history_append(h, d, 0, 3 * one);
		rwd_zone_diff_free(d);
		rwd_zone_history_free(h);
		h = n;
		sync_store(f->s, "example.com.", h);
		assert_mirrors(f->s, "example.com.", h);
	}
	/* the last three, each as it was: the older ones dropped, not merged */
	assert_int_equal(h->n, 3);
	assert_int_equal(h->diffs[0]->serial_from, 6);
	assert_int_equal(h->bytes, 3 * one);
	assert_int_equal(rwd_store_count(f->s, "journal"), 3);
	rwd_zone_history_free(h);
}

static void test_older_format(void **state)
{
	struct fixture *f = *state;
	struct rwd_zone_history *h = grow(NULL, 1, 2, 0, 0);
	sync_store(f->s, "example.com.", h);
	/* an entry as runway kept them before (JSON text) */
	struct rwd_store_txn *t;
	const char *old = "{\"from\":2,\"to\":3,\"removed\":[],\"added\":[]}";
	assert_int_equal(rwd_store_begin(f->s, &t), 0);
	assert_int_equal(rwd_store_put(t, "journal", "example.com.|00000000000000000009", old,
	                               strlen(old)), 0);
	assert_int_equal(rwd_store_commit(t), 0);
	struct rwd_zone_history *got = (void *)1;
	assert_int_equal(rwd_journal_load(f->s, "example.com.", 3, &got), 0);
	assert_null(got);
	assert_int_equal(rwd_journal_load(f->s, "example.com.", 2, &got), 0);
	assert_null(got);
	/* The next sync writes the history afresh. */
	h = grow(h, 2, 3, 0, 0);
	sync_store(f->s, "example.com.", h);
	assert_mirrors(f->s, "example.com.", h);
	assert_int_equal(rwd_store_count(f->s, "journal"), 2);
	rwd_zone_history_free(h);
}

static void test_zones_apart_and_clear(void **state)
{
	struct fixture *f = *state;
	struct rwd_zone_history *a = grow(grow(NULL, 1, 2, 0, 0), 2, 3, 0, 0);
	struct rwd_zone_history *b = grow(NULL, 7, 8, 0, 0);
	struct rwd_zone_history *c = grow(NULL, 1, 2, 0, 0);
	sync_store(f->s, "example.com.", a);
	sync_store(f->s, "@inside/example.com.", b);
	sync_store(f->s, "example.com.x.", c);        /* a name the first is a prefix of */
	struct rwd_store_txn *t;
	assert_int_equal(rwd_store_begin(f->s, &t), 0);
	assert_int_equal(rwd_journal_digest_put(t, "example.com.", 0x0123456789abcdefull), 0);
	assert_int_equal(rwd_journal_digest_put(t, "example.com.x.", 42), 0);
	assert_int_equal(rwd_store_commit(t), 0);
	assert_mirrors(f->s, "example.com.", a);
	assert_mirrors(f->s, "@inside/example.com.", b);
	assert_mirrors(f->s, "example.com.x.", c);
	uint64_t dg = 0;
	assert_int_equal(rwd_journal_digest_get(f->s, "example.com.", &dg), 0);
	assert_true(dg == 0x0123456789abcdefull);
	assert_int_equal(rwd_journal_digest_get(f->s, "@inside/example.com.", &dg), RW_ENOENT);
	assert_int_equal(rwd_store_begin(f->s, &t), 0);
	assert_int_equal(rwd_journal_clear(t, "example.com."), 0);
	assert_int_equal(rwd_store_commit(t), 0);
	struct rwd_zone_history *got = (void *)1;
	assert_int_equal(rwd_journal_load(f->s, "example.com.", 3, &got), 0);
	assert_null(got);
	assert_int_equal(rwd_journal_digest_get(f->s, "example.com.", &dg), RW_ENOENT);
	assert_mirrors(f->s, "@inside/example.com.", b);
	assert_mirrors(f->s, "example.com.x.", c);
	assert_int_equal(rwd_journal_digest_get(f->s, "example.com.x.", &dg), 0);
	assert_true(dg == 42);
	rwd_zone_history_free(a);
	rwd_zone_history_free(b);
	rwd_zone_history_free(c);
}

static void test_wrap_and_durable(void **state)
{
	struct fixture *f = *state;
	struct rwd_zone_history *h = grow(NULL, 4294967294u, 4294967295u, 0, 0);
	h = grow(h, 4294967295u, 0, 0, 0);                  /* the serial wraps */
	h = grow(h, 0, 1, 0, 0);
	assert_int_equal(h->n, 3);
	sync_store(f->s, "example.com.", h);
	rwd_store_close(f->s);
	char err[256];
	assert_int_equal(rwd_store_open_readonly(f->dir, &f->s, err), 0);
	assert_mirrors(f->s, "example.com.", h);
	assert_int_equal(rwd_zone_history_find(h, 4294967295u), 1);
	struct rwd_store_txn *t;
	assert_int_equal(rwd_store_begin(f->s, &t), RW_EIO);  /* read only */
	rwd_zone_history_free(h);
}

struct seen {
	char text[256];
	size_t n_removed, n_added;
	uint32_t from, to;
};

static int render_one(void *ctx, const struct rwd_journal_entry *e)
{
	struct seen *s = ctx;
	s->from = e->serial_from;
	s->to = e->serial_to;
	s->n_removed = e->n_removed;
	s->n_added = e->n_added;
	snprintf(s->text, sizeof(s->text), "%s | %s", e->removed[0], e->added[0]);
	return 0;
}

static void test_render(void **state)
{
	struct rwd_zone_diff *d = mkdiff(7, 8);
	struct seen s = { 0 };
	assert_int_equal(rwd_journal_render(d, render_one, &s), 0);
	assert_int_equal(s.from, 7);
	assert_int_equal(s.to, 8);
	assert_int_equal(s.n_removed, 1);
	assert_int_equal(s.n_added, 1);
	assert_string_equal(s.text, "a.example.com. 60 IN A 192.0.2.7 | a.example.com. 60 IN A "
	                            "192.0.2.8");
	rwd_zone_diff_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_condensed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_drop_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zones_apart_and_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_and_durable, setup, teardown),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
