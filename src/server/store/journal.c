/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The zones' change log (journal.h) on the store's ordered key space:
 * "ZONE|SEQUENCE" (20 digits, so key order is sequence order) to
 * {"from": N, "to": N, "removed": [...], "added": [...]}.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "server/store/journal.h"

#define SEQ_DIGITS 20

static void prefix_of(const char *zone, char *out, size_t size)
{
	snprintf(out, size, "%s|", zone);
}

/* ---- appending ---- */

struct scan {
	const char *prefix;
	size_t plen;
	unsigned long long last;       /* the highest sequence seen */
	size_t n;
	char (*keys)[1024];            /* the oldest, up to n_keys */
	size_t *sizes;                 /* their values' sizes */
	size_t n_keys;
	size_t bytes;                  /* of every entry */
};

static int scan_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct scan *sc = ctx;
	if (strncmp(key, sc->prefix, sc->plen) != 0 || strlen(key + sc->plen) != SEQ_DIGITS)
		return 1;                      /* past this zone */
	sc->last = strtoull(key + sc->plen, NULL, 10);
	if (sc->n < sc->n_keys) {
		snprintf(sc->keys[sc->n], sizeof(sc->keys[0]), "%s", key);
		sc->sizes[sc->n] = len;
	}
	sc->bytes += len;
	sc->n++;
	return 0;
}

static json_t *lines(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i] ? v[i] : "")) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int rwd_journal_append(struct rwd_store_txn *t, const char *zone,
                       const struct rwd_journal_entry *e, size_t max_entries, size_t max_bytes)
{
	char prefix[1100];
	prefix_of(zone, prefix, sizeof(prefix));
	if (max_entries == 0 || max_entries > RWD_JOURNAL_MAX_ENTRIES)
		max_entries = RWD_JOURNAL_MAX_ENTRIES;
	if (max_bytes == 0 || max_bytes > RWD_JOURNAL_MAX_BYTES)
		max_bytes = RWD_JOURNAL_MAX_BYTES;
	/* The oldest entries (at most the whole bound: a bound lowered since
	 * drops the surplus at once) and the last sequence number. */
	json_t *v = json_pack("{s:I, s:I, s:o, s:o}", "from", (json_int_t)e->serial_from,
	                      "to", (json_int_t)e->serial_to,
	                      "removed", lines(e->removed, e->n_removed),
	                      "added", lines(e->added, e->n_added));
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (text == NULL)
		return RW_ENOMEM;
	size_t len = strlen(text);
	if (len > max_bytes) {
		/* One change larger than the whole log: the log restarts after it. */
		free(text);
		return rwd_journal_clear(t, zone);
	}
	struct scan sc = { prefix, strlen(prefix), 0, 0,
	                   calloc(RWD_JOURNAL_MAX_ENTRIES + 1, sizeof(*sc.keys)),
	                   calloc(RWD_JOURNAL_MAX_ENTRIES + 1, sizeof(size_t)),
	                   RWD_JOURNAL_MAX_ENTRIES + 1, 0 };
	int ret = sc.keys && sc.sizes ? rwd_store_txn_foreach_from(t, "journal", prefix, scan_one, &sc)
	                              : RW_ENOMEM;
	ret = ret < 0 ? ret : 0;
	/* The oldest go while the log is past either bound. */
	for (size_t i = 0; ret == 0 && i < sc.n_keys && i < sc.n &&
	                   (sc.n - i + 1 > max_entries || sc.bytes + len > max_bytes); i++) {
		ret = rwd_store_del(t, "journal", sc.keys[i]);
		sc.bytes -= sc.sizes[i];
	}
	free(sc.keys);
	free(sc.sizes);
	if (ret < 0) {
		free(text);
		return ret;
	}
	char key[1200];
	snprintf(key, sizeof(key), "%s%0*llu", prefix, SEQ_DIGITS, sc.last + 1);
	ret = rwd_store_put(t, "journal", key, text, len);
	free(text);
	return ret;
}

/* ---- clearing ---- */

struct gather {
	const char *prefix;
	size_t plen;
	char (*keys)[1024];
	size_t n, cap;
};

static int gather_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct gather *g = ctx;
	if (strncmp(key, g->prefix, g->plen) != 0)
		return 1;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		char (*k)[1024] = realloc(g->keys, cap * sizeof(*k));
		if (k == NULL)
			return RW_ENOMEM;
		g->keys = k;
		g->cap = cap;
	}
	snprintf(g->keys[g->n++], sizeof(g->keys[0]), "%s", key);
	return 0;
}

int rwd_journal_clear(struct rwd_store_txn *t, const char *zone)
{
	char prefix[1100];
	prefix_of(zone, prefix, sizeof(prefix));
	struct gather g = { prefix, strlen(prefix), NULL, 0, 0 };
	int ret = rwd_store_txn_foreach_from(t, "journal", prefix, gather_one, &g);
	ret = ret < 0 ? ret : 0;
	for (size_t i = 0; ret == 0 && i < g.n; i++)
		ret = rwd_store_del(t, "journal", g.keys[i]);
	free(g.keys);
	return ret;
}

/* ---- reading ---- */

struct since {
	const char *prefix;
	size_t plen;
	uint32_t serial;
	bool found;                    /* the entry from serial was seen */
	bool broken;                   /* an entry does not follow the one before */
	uint32_t last_to;
	bool any;
	json_t *entries;               /* from the found one on */
};

static int since_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct since *s = ctx;
	if (strncmp(key, s->prefix, s->plen) != 0)
		return 1;
	json_t *j = json_loadb(val, len, 0, NULL);
	if (j == NULL)
		return RW_EIO;
	uint32_t from = (uint32_t)json_integer_value(json_object_get(j, "from"));
	uint32_t to = (uint32_t)json_integer_value(json_object_get(j, "to"));
	if (!s->found && from == s->serial)
		s->found = true;
	else if (s->found && from != s->last_to)
		s->broken = true;
	s->last_to = to;
	s->any = true;
	if (s->found)
		json_array_append(s->entries, j);
	json_decref(j);
	return 0;
}

/* A JSON array of strings as a C array (pointing into the JSON). */
static const char **strings(json_t *a, size_t *n)
{
	*n = json_array_size(a);
	const char **v = calloc(*n ? *n : 1, sizeof(*v));
	for (size_t i = 0; v && i < *n; i++)
		v[i] = json_string_value(json_array_get(a, i));
	return v;
}

int rwd_journal_since(struct rwd_store *st, const char *zone, uint32_t serial,
                      rwd_journal_fn fn, void *ctx)
{
	char prefix[1100];
	prefix_of(zone, prefix, sizeof(prefix));
	struct since s = { prefix, strlen(prefix), serial, false, false, 0, false, json_array() };
	if (s.entries == NULL)
		return RW_ENOMEM;
	int ret = rwd_store_foreach_from(st, "journal", prefix, since_one, &s);
	ret = ret < 0 ? ret : 0;
	if (ret == 0 && (s.broken || (!s.found && !(s.any && s.last_to == serial))))
		ret = RW_ENOENT;
	size_t i;
	json_t *j;
	json_array_foreach(s.entries, i, j) {
		if (ret != 0)
			break;
		struct rwd_journal_entry e = {
			(uint32_t)json_integer_value(json_object_get(j, "from")),
			(uint32_t)json_integer_value(json_object_get(j, "to")),
			NULL, 0, NULL, 0,
		};
		const char **rem = strings(json_object_get(j, "removed"), &e.n_removed);
		const char **add = strings(json_object_get(j, "added"), &e.n_added);
		e.removed = rem;
		e.added = add;
		ret = rem && add ? fn(ctx, &e) : RW_ENOMEM;
		free(rem);
		free(add);
	}
	json_decref(s.entries);
	return ret;
}
