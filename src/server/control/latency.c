/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Real-user RTT samples (POST /v1/latency): each (client, endpoint) keeps a
 * moving average in the store ("latency" table, key "client|endpoint",
 * value the average in ms), merged over the latency file's rows whenever a
 * model is built, which every control change does. The merge is linear
 * (a hash index over the rows), and the pairs kept are capped
 * (RWD_LATENCY_MAX_PAIRS): a batch that would pass the cap is refused.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/hash.h"
#include "server/control/internal.h"

#define LATENCY_ALPHA 0.3   /* weight of a new sample in the moving average */

/* A latency client: a country code ("JP") or a prefix; 0 or RW_EINVAL. */
static int parse_client(const char *text, struct rwd_latency_row *row)
{
	memset(row, 0, sizeof(*row));
	if (strlen(text) == 2 && isalpha((unsigned char)text[0]) && isalpha((unsigned char)text[1])) {
		row->is_country = true;
		row->country[0] = (char)toupper((unsigned char)text[0]);
		row->country[1] = (char)toupper((unsigned char)text[1]);
		return 0;
	}
	return rw_prefix_parse(text, &row->prefix, &row->len) == 0 ? 0 : RW_EINVAL;
}

static bool same_pair(const struct rwd_latency_row *a, const struct rwd_latency_row *b)
{
	if (a->endpoint != b->endpoint)
		return false;
	if (a->is_country || b->is_country)
		return a->is_country && b->is_country && strcmp(a->country, b->country) == 0;
	return a->len == b->len && a->prefix.family == b->prefix.family &&
	       memcmp(a->prefix.bytes, b->prefix.bytes, 16) == 0;
}

static uint64_t pair_hash(const struct rwd_latency_row *r)
{
	uint64_t h = (uint64_t)(uintptr_t)r->endpoint;
	if (r->is_country)
		return rw_mix64(h ^ ((uint64_t)(unsigned char)r->country[0] << 8 |
		                     (unsigned char)r->country[1]));
	for (size_t i = 0; i < 16; i++)
		h = (h ^ r->prefix.bytes[i]) * 0x100000001b3ull;
	return rw_mix64(h ^ ((uint64_t)r->len << 32) ^ (uint64_t)r->prefix.family << 40);
}

struct merge {
	struct rwd_model *m;
	struct rwd_latency_row *rows;
	size_t n;
	uint32_t *index;               /* row + 1, 0: empty */
	size_t mask;
};

/* Put row in: replacing the RTT of the same pair, else appended. */
static void merge_row(struct merge *mg, const struct rwd_latency_row *row)
{
	size_t i = pair_hash(row) & mg->mask;
	for (; mg->index[i]; i = (i + 1) & mg->mask) {
		struct rwd_latency_row *r = &mg->rows[mg->index[i] - 1];
		if (same_pair(r, row)) {
			r->rtt_ms = row->rtt_ms;
			return;
		}
	}
	mg->rows[mg->n] = *row;
	mg->index[i] = (uint32_t)++mg->n;
}

/* A stored pair ("client|endpoint", "average") as a row of m; false when
 * the endpoint is gone from the configuration (the pair is ignored). */
static bool stored_row(const struct rwd_model *m, const char *key, const void *val, size_t len,
                       struct rwd_latency_row *row)
{
	char client[128], endpoint[128], text[64];
	if (sscanf(key, "%127[^|]|%127s", client, endpoint) != 2 || len >= sizeof(text))
		return false;
	memcpy(text, val, len);
	text[len] = '\0';
	if (parse_client(client, row) < 0 || (row->endpoint = rwd_model_find_endpoint(m, endpoint)) == NULL)
		return false;
	row->rtt_ms = (uint32_t)(strtod(text, NULL) + 0.5);
	return true;
}

static int merge_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct merge *mg = ctx;
	struct rwd_latency_row row;
	if (stored_row(mg->m, key, val, len, &row))
		merge_row(mg, &row);
	return 0;
}

int ctl_merge_latency(struct rwd_control *c, struct rwd_model *m)
{
	size_t stored = rwd_store_count(c->store, "latency");
	if (stored == 0 && c->n_pending == 0)
		return 0;
	size_t total = m->n_latency + stored + c->n_pending, size = 16;
	while (size < total * 2)
		size *= 2;
	struct merge mg = { m, rw_arena_alloc(&m->arena, total * sizeof(*mg.rows)), 0,
	                    calloc(size, sizeof(uint32_t)), size - 1 };
	if (mg.rows == NULL || mg.index == NULL) {
		free(mg.index);
		return RW_ENOMEM;
	}
	for (size_t i = 0; i < m->n_latency; i++)
		merge_row(&mg, &m->latency[i]);
	int ret = rwd_store_foreach(c->store, "latency", merge_one, &mg);
	/* The batch being written wins over what the store has so far. */
	for (size_t i = 0; ret == 0 && i < c->n_pending; i++)
		merge_one(&mg, c->pending[i].key, c->pending[i].value, strlen(c->pending[i].value));
	free(mg.index);
	if (ret < 0)
		return ret;
	m->latency = mg.rows;
	m->n_latency = mg.n;
	return 0;
}

/* The pairs of one batch by key, to find an earlier sample of the same pair. */
struct batch_index {
	uint32_t *slot;                /* sample + 1, 0: empty */
	size_t mask;
};

static int batch_index_init(struct batch_index *bi, size_t n)
{
	size_t size = 16;
	while (size < n * 2)
		size *= 2;
	bi->slot = calloc(size, sizeof(*bi->slot));
	bi->mask = size - 1;
	return bi->slot ? 0 : RW_ENOMEM;
}

/* The latest earlier sample with keys[i]'s key, or -1; then i is it. */
static ssize_t batch_find(struct batch_index *bi, char (*keys)[300], size_t i)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = keys[i]; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	size_t at = rw_mix64(h) & bi->mask;
	for (; bi->slot[at]; at = (at + 1) & bi->mask) {
		if (strcmp(keys[bi->slot[at] - 1], keys[i]) == 0) {
			ssize_t earlier = (ssize_t)bi->slot[at] - 1;
			bi->slot[at] = (uint32_t)i + 1;
			return earlier;
		}
	}
	bi->slot[at] = (uint32_t)i + 1;
	return -1;
}

int rwd_control_latency(struct rwd_control *c, const struct rwd_latency_sample *v, size_t n,
                        char err[RWD_CONTROL_ERRLEN])
{
	pthread_mutex_lock(&c->lock);
	if (c->store == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no store configured (api.data)");
		return ctl_unlock(c, RW_EIO);
	}
	const struct rwd_model *m = rwd_snapshot_get()->model;
	for (size_t i = 0; i < n; i++) {
		struct rwd_latency_row row;
		if (parse_client(v[i].client, &row) < 0) {
			snprintf(err, RWD_CONTROL_ERRLEN, "sample %zu: client '%.100s' is neither a "
			         "prefix nor a country code", i + 1, v[i].client);
			return ctl_unlock(c, RW_EINVAL);
		}
		if (rwd_model_find_endpoint(m, v[i].endpoint) == NULL) {
			snprintf(err, RWD_CONTROL_ERRLEN, "sample %zu: no endpoint '%.100s'", i + 1,
			         v[i].endpoint);
			return ctl_unlock(c, RW_EINVAL);
		}
		if (!(v[i].rtt_ms >= 0 && v[i].rtt_ms <= 600000)) {
			snprintf(err, RWD_CONTROL_ERRLEN, "sample %zu: rtt_ms must be 0..600000", i + 1);
			return ctl_unlock(c, RW_EINVAL);
		}
	}
	/* The new averages, in order: a later sample of a pair averages over
	 * the earlier one of the same batch. */
	struct store_op *ops = calloc(n, sizeof(*ops));
	char (*keys)[300] = calloc(n, sizeof(*keys));
	char (*vals)[32] = calloc(n, sizeof(*vals));
	int ret = ops && keys && vals ? 0 : RW_ENOMEM;
	size_t fresh = 0;
	struct batch_index bi = { 0 };
	if (ret == 0 && batch_index_init(&bi, n) < 0)
		ret = RW_ENOMEM;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct rwd_latency_row row;
		char client[RW_PREFIX_STRLEN], *old = NULL;
		parse_client(v[i].client, &row);
		if (row.is_country)
			snprintf(client, sizeof(client), "%s", row.country);
		else
			rw_prefix_format(&row.prefix, row.len, client, sizeof(client));
		snprintf(keys[i], sizeof(keys[i]), "%s|%.100s", client, v[i].endpoint);
		double avg = v[i].rtt_ms;
		ssize_t earlier = batch_find(&bi, keys, i);
		if (earlier >= 0) {
			avg = (1 - LATENCY_ALPHA) * strtod(vals[earlier], NULL) + LATENCY_ALPHA * avg;
			ops[earlier].value = NULL;     /* superseded */
			ops[earlier].table = NULL;
		} else if (rwd_store_get(c->store, "latency", keys[i], &old, NULL) == 0) {
			avg = (1 - LATENCY_ALPHA) * strtod(old, NULL) + LATENCY_ALPHA * avg;
		} else {
			fresh++;
		}
		free(old);
		snprintf(vals[i], sizeof(vals[i]), "%.3f", avg);
		ops[i] = (struct store_op){ "latency", keys[i], vals[i] };
	}
	size_t stored = rwd_store_count(c->store, "latency");
	if (ret == 0 && stored + fresh > RWD_LATENCY_MAX_PAIRS) {
		snprintf(err, RWD_CONTROL_ERRLEN, "at most %u (client, endpoint) latency pairs are "
		         "kept: %zu are stored and this batch adds %zu new ones (nothing was changed)",
		         RWD_LATENCY_MAX_PAIRS, stored, fresh);
		ret = RW_ELIMIT;
	}
	/* Superseded entries out, so that the ops are a plain list of puts. */
	size_t n_ops = 0;
	for (size_t i = 0; ret == 0 && i < n; i++)
		if (ops[i].table)
			ops[n_ops++] = ops[i];
	/* Built with the new averages, then stored, then published. */
	struct rwd_conf *conf = NULL;
	struct rwd_snapshot *s = NULL;
	if (ret == 0) {
		c->pending = ops;
		c->n_pending = n_ops;
		ret = ctl_conf_live(c, &conf, err);
		c->pending = NULL;
		c->n_pending = 0;
	}
	if (ret == 0 && (s = ctl_prepare(c, conf, NULL, NULL, err)) == NULL)
		ret = RW_ENOMEM;
	if (ret == 0)
		ret = ctl_store_write(c, ops, n_ops, err);
	if (ret == 0)
		ctl_publish(c, s, conf);
	else {
		rwd_snapshot_free(s);
		rwd_conf_free(conf);
		if (ret == RW_ENOMEM && err[0] == '\0')
			snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
	}
	free(bi.slot);
	free(ops);
	free(keys);
	free(vals);
	return ctl_unlock(c, ret);
}
