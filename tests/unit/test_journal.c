/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the zones' change log (store/journal.h) on a real LMDB
 * store in a temporary folder: entries in order, "changes since serial S",
 * "too old" once a bound (entries, bytes) dropped S, an unknown serial, a gap, clearing,
 * zones kept apart (a zone whose name is a prefix of another's), serials
 * that wrap (RFC 1982), and durability across a reopen.
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

/* Append one entry from -> to with one record removed and one added. */
static void append_bytes(struct rwd_store *s, const char *zone, uint32_t from, uint32_t to,
                         size_t max, size_t max_bytes);

static void append(struct rwd_store *s, const char *zone, uint32_t from, uint32_t to, size_t max)
{
	append_bytes(s, zone, from, to, max, 0);
}

static void append_bytes(struct rwd_store *s, const char *zone, uint32_t from, uint32_t to,
                         size_t max, size_t max_bytes)
{
	char rem[64], add[64];
	snprintf(rem, sizeof(rem), "a.example.com. 60 IN A 192.0.2.%u", from % 256);
	snprintf(add, sizeof(add), "a.example.com. 60 IN A 192.0.2.%u", to % 256);
	const char *r[] = { rem }, *a[] = { add };
	struct rwd_journal_entry e = { from, to, r, 1, a, 1 };
	struct rwd_store_txn *t;
	assert_int_equal(rwd_store_begin(s, &t), 0);
	assert_int_equal(rwd_journal_append(t, zone, &e, max, max_bytes), 0);
	assert_int_equal(rwd_store_commit(t), 0);
}

struct seen {
	uint32_t from[2000], to[2000];
	char added[2000][64];
	size_t n;
};

static int collect(void *ctx, const struct rwd_journal_entry *e)
{
	struct seen *s = ctx;
	assert_true(s->n < 2000);
	assert_int_equal(e->n_removed, 1);
	assert_int_equal(e->n_added, 1);
	s->from[s->n] = e->serial_from;
	s->to[s->n] = e->serial_to;
	snprintf(s->added[s->n], sizeof(s->added[0]), "%s", e->added[0]);
	s->n++;
	return 0;
}

static int since(struct rwd_store *s, const char *zone, uint32_t serial, struct seen *out)
{
	memset(out, 0, sizeof(*out));
	return rwd_journal_since(s, zone, serial, collect, out);
}

static void test_in_order(void **state)
{
	struct fixture *f = *state;
	struct seen got;
	for (uint32_t i = 1; i <= 5; i++)
		append(f->s, "example.com.", i, i + 1, 0);
	assert_int_equal(since(f->s, "example.com.", 1, &got), 0);
	assert_int_equal(got.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(got.from[i], i + 1);
		assert_int_equal(got.to[i], i + 2);
	}
	assert_string_equal(got.added[4], "a.example.com. 60 IN A 192.0.2.6");
	assert_int_equal(since(f->s, "example.com.", 4, &got), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.from[0], 4);
	/* Up to date: nothing since. */
	assert_int_equal(since(f->s, "example.com.", 6, &got), 0);
	assert_int_equal(got.n, 0);
	/* Never seen, or from another zone. */
	assert_int_equal(since(f->s, "example.com.", 99, &got), RW_ENOENT);
	assert_int_equal(since(f->s, "example.org.", 1, &got), RW_ENOENT);
	assert_int_equal(got.n, 0);
}

static void test_bounded(void **state)
{
	struct fixture *f = *state;
	struct seen got;
	for (uint32_t i = 1; i <= 10; i++)
		append(f->s, "example.com.", i, i + 1, 4);
	assert_int_equal(rwd_store_count(f->s, "journal"), 4);
	assert_int_equal(since(f->s, "example.com.", 6, &got), RW_ENOENT);   /* too old */
	assert_int_equal(since(f->s, "example.com.", 7, &got), 0);
	assert_int_equal(got.n, 4);
	assert_int_equal(got.to[3], 11);
	/* The default bound holds too. */
	for (uint32_t i = 11; i < 11 + RWD_JOURNAL_MAX_ENTRIES + 5; i++)
		append(f->s, "example.com.", i, i + 1, 0);
	assert_int_equal(rwd_store_count(f->s, "journal"), RWD_JOURNAL_MAX_ENTRIES);
	assert_int_equal(since(f->s, "example.com.", 15, &got), RW_ENOENT);
	assert_int_equal(since(f->s, "example.com.", 16, &got), 0);
	assert_int_equal(got.n, RWD_JOURNAL_MAX_ENTRIES);
}

/* Entries are about 105 bytes: a bound of 250 keeps two; of 50, none. */
static void test_bounded_bytes(void **state)
{
	struct fixture *f = *state;
	struct seen got;
	for (uint32_t i = 1; i <= 5; i++)
		append_bytes(f->s, "example.com.", i, i + 1, 0, 250);
	assert_int_equal(rwd_store_count(f->s, "journal"), 2);
	assert_int_equal(since(f->s, "example.com.", 3, &got), RW_ENOENT);
	assert_int_equal(since(f->s, "example.com.", 4, &got), 0);
	assert_int_equal(got.n, 2);
	/* One entry past the bound alone: the log restarts after it. */
	append_bytes(f->s, "example.com.", 6, 7, 0, 50);
	assert_int_equal(rwd_store_count(f->s, "journal"), 0);
	assert_int_equal(since(f->s, "example.com.", 6, &got), RW_ENOENT);
	append(f->s, "example.com.", 7, 8, 0);
	assert_int_equal(since(f->s, "example.com.", 7, &got), 0);
	assert_int_equal(got.n, 1);
}

static void test_zones_apart_and_clear(void **state)
{
	struct fixture *f = *state;
	struct seen got;
	append(f->s, "example.com.", 1, 2, 0);
	append(f->s, "@inside/example.com.", 7, 8, 0);
	append(f->s, "example.com.", 2, 3, 0);
	append(f->s, "example.com.x.", 1, 2, 0);     /* a name the first is a prefix of */
	assert_int_equal(since(f->s, "example.com.", 1, &got), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(since(f->s, "@inside/example.com.", 7, &got), 0);
	assert_int_equal(got.n, 1);
	struct rwd_store_txn *t;
	assert_int_equal(rwd_store_begin(f->s, &t), 0);
	assert_int_equal(rwd_journal_clear(t, "example.com."), 0);
	assert_int_equal(rwd_store_commit(t), 0);
	assert_int_equal(since(f->s, "example.com.", 1, &got), RW_ENOENT);
	assert_int_equal(since(f->s, "@inside/example.com.", 7, &got), 0);
	assert_int_equal(since(f->s, "example.com.x.", 1, &got), 0);
	assert_int_equal(got.n, 1);
	/* After a clear the log starts again. */
	append(f->s, "example.com.", 9, 10, 0);
	assert_int_equal(since(f->s, "example.com.", 9, &got), 0);
	assert_int_equal(got.n, 1);
}

static void test_gap_and_wrap(void **state)
{
	struct fixture *f = *state;
	struct seen got;
	append(f->s, "example.com.", 4294967294u, 4294967295u, 0);
	append(f->s, "example.com.", 4294967295u, 1, 0);       /* the serial wraps */
	append(f->s, "example.com.", 1, 2, 0);
	assert_int_equal(since(f->s, "example.com.", 4294967294u, &got), 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.to[2], 2);
	append(f->s, "example.com.", 5, 6, 0);                 /* a gap: 2 -> 5 */
	assert_int_equal(since(f->s, "example.com.", 1, &got), RW_ENOENT);
	assert_int_equal(since(f->s, "example.com.", 5, &got), 0);
	assert_int_equal(got.n, 1);
}

static void test_durable(void **state)
{
	struct fixture *f = *state;
	struct seen got;
	append(f->s, "example.com.", 1, 2, 0);
	append(f->s, "example.com.", 2, 3, 0);
	rwd_store_close(f->s);
	char err[256];
	assert_int_equal(rwd_store_open_readonly(f->dir, &f->s, err), 0);
	assert_int_equal(since(f->s, "example.com.", 1, &got), 0);
	assert_int_equal(got.n, 2);
	struct rwd_store_txn *t;
	assert_int_equal(rwd_store_begin(f->s, &t), RW_EIO);  /* read only */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zones_apart_and_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
