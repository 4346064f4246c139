/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The zones' change log (journal.h) on the store's ordered key space:
 * "ZONE|SEQUENCE" (20 digits, so key order is sequence order) to a header
 * and a diff's data, "ZONE#digest" to the digest of the version it ends at.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/store/journal.h"

#define SEQ_DIGITS 20
#define HEADER 24
#define MAGIC "RWJ1"

static void prefix_of(const char *zone, char *out, size_t size)
{
	snprintf(out, size, "%s|", zone);
}

static void key_of(const char *zone, unsigned long long seq, char *out, size_t size)
{
	snprintf(out, size, "%s|%0*llu", zone, SEQ_DIGITS, seq);
}

/* ---- the stored entries' headers ---- */

struct entry {
	unsigned long long seq;
	uint32_t from, to;
};

struct scan {
	const char *prefix;
	size_t plen;
	struct entry *v;
	size_t n, cap;
	bool bad;                      /* a value that is not an entry (an older format) */
};

static bool header_ok(const uint8_t *p, size_t len)
{
	return len >= HEADER && memcmp(p, MAGIC, 4) == 0 &&
	       (size_t)rw_get32(p + 20) < len - HEADER;
}

static int scan_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct scan *sc = ctx;
	if (strncmp(key, sc->prefix, sc->plen) != 0 || strlen(key + sc->plen) != SEQ_DIGITS)
		return 1;                      /* past this zone */
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct entry *v = realloc(sc->v, cap * sizeof(*v));
		if (v == NULL)
			return RW_ENOMEM;
		sc->v = v;
		sc->cap = cap;
	}
	const uint8_t *p = val;
	struct entry *e = &sc->v[sc->n++];
	e->seq = strtoull(key + sc->plen, NULL, 10);
	if (header_ok(p, len)) {
		e->from = rw_get32(p + 4);
		e->to = rw_get32(p + 8);
	} else {
		e->from = e->to = 0;
		sc->bad = true;
	}
	return 0;
}

static int put_diff(struct rwd_store_txn *t, const char *zone, unsigned long long seq,
                    const struct rwd_zone_diff *d)
{
	uint8_t *v = malloc(HEADER + (size_t)d->len);
	if (v == NULL)
		return RW_ENOMEM;
	memcpy(v, MAGIC, 4);
	rw_put32(v + 4, d->serial_from);
	rw_put32(v + 8, d->serial_to);
	rw_put32(v + 12, d->n_removed);
	rw_put32(v + 16, d->n_added);
	rw_put32(v + 20, d->added_at);
	memcpy(v + HEADER, d->data, d->len);
	char key[1200];
	key_of(zone, seq, key, sizeof(key));
	int ret = rwd_store_put(t, "journal", key, v, HEADER + (size_t)d->len);
	free(v);
	return ret;
}

static int del_entry(struct rwd_store_txn *t, const char *zone, unsigned long long seq)
{
	char key[1200];
	key_of(zone, seq, key, sizeof(key));
	return rwd_store_del(t, "journal", key);
}

/* ---- writing ---- */

int rwd_journal_sync(struct rwd_store_txn *t, const char *zone, const struct rwd_zone_history *h)
{
	char prefix[1100];
	prefix_of(zone, prefix, sizeof(prefix));
	struct scan sc = { prefix, strlen(prefix), NULL, 0, 0, false };
	int ret = rwd_store_txn_foreach_from(t, "journal", prefix, scan_one, &sc);
	ret = ret < 0 ? ret : 0;
	size_t n = h ? h->n : 0, m = sc.n;
	unsigned long long next = m ? sc.v[m - 1].seq + 1 : 1;
	/*
	 * What is stored is the previous version's history: a tail of it is
	 * h's middle (condensing merged its oldest diffs into h's first; the
	 * newest diff is new). Find where the stored entries line up with h:
	 * the first stored entry that is one of h's diffs, then every one after
	 * it in step. Anything else (a history restarted, an older format):
	 * write h afresh.
	 */
	size_t j = 0, k = 0;
	bool aligned = false;
	for (j = 0; ret == 0 && !sc.bad && j < m && !aligned; j++)
		for (k = 0; k < n && !aligned; k++)
			aligned = h->diffs[k]->serial_from == sc.v[j].from &&
			          h->diffs[k]->serial_to == sc.v[j].to;
	if (aligned) {
		j--, k--;                      /* the loops stepped past the match */
		for (size_t i = 0; aligned && j + i < m; i++)
			aligned = k + i < n && h->diffs[k + i]->serial_from == sc.v[j + i].from &&
			          h->diffs[k + i]->serial_to == sc.v[j + i].to;
		/* h's diffs before k go in front of entry j, in sequence numbers
		 * the entries before it (deleted now) leave free */
		aligned = aligned && k <= j && sc.v[j].seq > k;
	}
	if (ret == 0 && !aligned) {
		for (size_t i = 0; i < m && ret == 0; i++)
			ret = del_entry(t, zone, sc.v[i].seq);
		for (size_t i = 0; i < n && ret == 0; i++)
			ret = put_diff(t, zone, next++, h->diffs[i]);
	} else if (ret == 0) {
		for (size_t i = 0; i < j && ret == 0; i++)
			ret = del_entry(t, zone, sc.v[i].seq);
		for (size_t i = 0; i < k && ret == 0; i++)
			ret = put_diff(t, zone, sc.v[j].seq - k + i, h->diffs[i]);
		for (size_t i = k + (m - j); i < n && ret == 0; i++)
			ret = put_diff(t, zone, next++, h->diffs[i]);
	}
	free(sc.v);
	return ret;
}

int rwd_journal_clear(struct rwd_store_txn *t, const char *zone)
{
	int ret = rwd_journal_sync(t, zone, NULL);
	char key[1200];
	snprintf(key, sizeof(key), "%s#digest", zone);
	return ret == 0 ? rwd_store_del(t, "journal", key) : ret;
}

int rwd_journal_digest_put(struct rwd_store_txn *t, const char *zone, uint64_t digest)
{
	char key[1200], v[32];
	snprintf(key, sizeof(key), "%s#digest", zone);
	snprintf(v, sizeof(v), "%016" PRIx64, digest);
	return rwd_store_put(t, "journal", key, v, strlen(v));
}

int rwd_journal_digest_get(struct rwd_store *s, const char *zone, uint64_t *out)
{
	char key[1200], *v = NULL;
	snprintf(key, sizeof(key), "%s#digest", zone);
	int ret = rwd_store_get(s, "journal", key, &v, NULL);
	if (ret == 0) {
		char *end;
		*out = strtoull(v, &end, 16);
		ret = *end == '\0' && end != v ? 0 : RW_ENOENT;
	}
	free(v);
	return ret == RW_ENOENT || ret == 0 ? ret : RW_EIO;
}

/* ---- reading ---- */

struct load {
	const char *prefix;
	size_t plen;
	struct rwd_zone_diff **v;
	size_t n, cap;
	bool bad;
};

static int load_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct load *l = ctx;
	if (strncmp(key, l->prefix, l->plen) != 0 || strlen(key + l->plen) != SEQ_DIGITS)
		return 1;
	const uint8_t *p = val;
	if (!header_ok(p, len)) {
		l->bad = true;
		return 1;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct rwd_zone_diff **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return RW_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct rwd_zone_diff *d = malloc(sizeof(*d) + (len - HEADER));
	if (d == NULL)
		return RW_ENOMEM;
	*d = (struct rwd_zone_diff){ .refs = 1, .serial_from = rw_get32(p + 4),
	                             .serial_to = rw_get32(p + 8), .n_removed = rw_get32(p + 12),
	                             .n_added = rw_get32(p + 16), .len = (uint32_t)(len - HEADER),
	                             .added_at = rw_get32(p + 20) };
	memcpy(d->data, p + HEADER, len - HEADER);
	l->v[l->n++] = d;
	if (!rwd_zone_diff_valid(d) || (l->n > 1 && l->v[l->n - 2]->serial_to != d->serial_from)) {
		l->bad = true;
		return 1;
	}
	return 0;
}

int rwd_journal_load(struct rwd_store *s, const char *zone, uint32_t serial,
                     struct rwd_zone_history **out)
{
	char prefix[1100];
	prefix_of(zone, prefix, sizeof(prefix));
	struct load l = { prefix, strlen(prefix), NULL, 0, 0, false };
	int ret = rwd_store_foreach_from(s, "journal", prefix, load_one, &l);
	ret = ret < 0 ? ret : 0;
	*out = NULL;
	if (ret == 0 && !l.bad && l.n > 0 && l.v[l.n - 1]->serial_to == serial) {
		struct rwd_zone_history *h = calloc(1, sizeof(*h) + l.n * sizeof(h->diffs[0]));
		if (h == NULL) {
			ret = RW_ENOMEM;
		} else {
			h->refs = 1;
			for (size_t i = 0; i < l.n; i++) {
				h->diffs[h->n++] = l.v[i];
				h->bytes += l.v[i]->len;
			}
			l.n = 0;                   /* taken over */
			*out = h;
		}
	}
	for (size_t i = 0; i < l.n; i++)
		rwd_zone_diff_free(l.v[i]);
	free(l.v);
	return ret;
}

/* ---- as text ---- */

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* "owner TTL IN TYPE RDATA" for one record. */
static int lines_add(struct lines *l, const struct rwd_diff_rr *rr, char *text, size_t size)
{
	char name[1100], tname[32];
	knot_rrset_t rrs;
	uint8_t owner[RW_DNAME_MAXLEN];
	memcpy(owner, rr->owner, rr->owner_len);
	knot_rrset_init(&rrs, owner, rr->type, rr->rclass, rr->ttl);
	if (knot_rrset_add_rdata(&rrs, rr->rdata, rr->rdlen, NULL) != KNOT_EOK)
		return RW_ENOMEM;
	int ret = knot_rrset_txt_dump_data(&rrs, 0, text, size, &KNOT_DUMP_STYLE_DEFAULT) < 0
	          ? RW_EINVAL : 0;
	knot_rdataset_clear(&rrs.rrs, NULL);
	char *line = NULL;
	if (ret == 0) {
		rw_dname_to_str(owner, name, sizeof(name));
		knot_rrtype_to_string(rr->type, tname, sizeof(tname));
		if (asprintf(&line, "%s %u IN %s %s", name, rr->ttl, tname, text) < 0)
			return RW_ENOMEM;
	}
	if (ret == 0 && l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			ret = RW_ENOMEM;
		else {
			l->v = v;
			l->cap = cap;
		}
	}
	if (ret < 0) {
		free(line);
		return ret;
	}
	l->v[l->n++] = line;
	return 0;
}

static int lines_of(struct lines *l, const uint8_t *data, size_t from, size_t to, char *text,
                    size_t size)
{
	struct rwd_diff_rr rr;
	while (from < to) {
		size_t len = rwd_diff_rr_parse(data + from, to - from, &rr);
		if (len == 0)
			return RW_EINVAL;
		int ret = lines_add(l, &rr, text, size);
		if (ret < 0)
			return ret;
		from += len;
	}
	return 0;
}

int rwd_journal_render(const struct rwd_zone_diff *d, rwd_journal_fn fn, void *ctx)
{
	struct rwd_diff_rr rr;
	size_t soa0 = rwd_diff_rr_parse(d->data, d->added_at, &rr);
	size_t soa1 = rwd_diff_rr_parse(d->data + d->added_at, d->len - d->added_at, &rr);
	if (soa0 == 0 || soa1 == 0)
		return RW_EINVAL;
	struct lines rem = { 0 }, add = { 0 };
	size_t size = 65536 * 4;
	char *text = malloc(size);
	int ret = text ? lines_of(&rem, d->data, soa0, d->added_at, text, size) : RW_ENOMEM;
	if (ret == 0)
		ret = lines_of(&add, d->data, d->added_at + soa1, d->len, text, size);
	free(text);
	if (ret == 0) {
		struct rwd_journal_entry e = { d->serial_from, d->serial_to,
		                               (const char *const *)rem.v, rem.n,
		                               (const char *const *)add.v, add.n };
		ret = fn(ctx, &e);
	}
	lines_free(&rem);
	lines_free(&add);
	return ret;
}
