/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone changes (rwd_control_zone_change): RRsets in presentation form
 * parsed by libzscanner as a zone file would be, kept in the store as
 * overrides of the zone file, applied to the served zone by a patch when
 * they can be (rwd_zone_patch) or by a fresh load of file and overrides.
 *
 * Every step is linear in the size of the batch and of the stored
 * overrides: RRsets are found through a hash index, and an RRset past the
 * per-RRset record limit is refused before any record is parsed.
 *
 * Each version published carries its history (zone/history.h, what IXFR
 * serves): a change appends its diff (serial by the zone's serial_policy);
 * after a start or reload, ctl_zones_settle gives each zone loaded its
 * serial and history from the version served before (the difference,
 * as Knot's zonefile-load: difference) or from the store's journal; the
 * store (journal.h) mirrors each history in the publication's transaction.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/hash.h"
#include "lib/rdata.h"
#include "server/common/log.h"
#include "server/control/internal.h"
#include "server/store/journal.h"
#include "server/zone/limits.h"
#include "server/zone/source.h"

const struct rwd_zone_limits *ctl_zone_limits(const struct rwd_control *c)
{
	return c->srv && c->srv->conf ? &c->srv->conf->zone_limits : NULL;
}

/* Records in one RRset a change may carry: the zone files' own limit
 * (zone_limits.max_rrset_records, zone/limits.h). */
static uint32_t max_rrset_records(const struct rwd_control *c)
{
	const struct rwd_zone_limits *l = ctl_zone_limits(c);
	return l && l->max_rrset_records ? l->max_rrset_records : RWD_ZONE_MAX_RRSET_RECORDS;
}

/* ---- record data from text ---- */

struct rr_parse {
	uint8_t *rdata;                /* count x (uint16 len, bytes) */
	size_t len, cap;
	uint16_t type;
	unsigned count;
	size_t change;                 /* the batch's change (1-based) it came from; 0: stored */
	char error[128];
};

static void on_rr(zs_scanner_t *s)
{
	struct rr_parse *p = s->process.data;
	if (s->r_type != p->type) {
		snprintf(p->error, sizeof(p->error), "record does not match type");
		return;
	}
	if (p->len + 2 + s->r_data_length > p->cap) {
		size_t cap = (p->cap + s->r_data_length + 2) * 2;
		uint8_t *n = realloc(p->rdata, cap);
		if (n == NULL) {
			snprintf(p->error, sizeof(p->error), "out of memory");
			return;
		}
		p->rdata = n;
		p->cap = cap;
	}
	rw_put16(p->rdata + p->len, (uint16_t)s->r_data_length);
	memcpy(p->rdata + p->len + 2, s->r_data, s->r_data_length);
	p->len += 2 + s->r_data_length;
	p->count++;
}

static void on_rr_error(zs_scanner_t *s)
{
	struct rr_parse *p = s->process.data;
	if (p->error[0] == '\0')
		snprintf(p->error, sizeof(p->error), "%s", zs_strerror(s->error.code));
	s->state = ZS_STATE_STOP;
}

/* Parse records of one type through libzscanner, as a zone file would. */
static int parse_records(const char *owner, uint16_t type, uint32_t ttl,
                         const char *const *records, size_t n, struct rr_parse *p,
                         char err[RWD_CONTROL_ERRLEN], size_t change)
{
	char tname[32];
	knot_rrtype_to_string(type, tname, sizeof(tname));
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->change = change;
	zs_scanner_t *s = malloc(sizeof(*s));
	char *line = malloc(70000);
	if (s == NULL || line == NULL || zs_init(s, ".", KNOT_CLASS_IN, ttl) != 0) {
		free(s);
		free(line);
		return RW_ENOMEM;
	}
	zs_set_processing(s, on_rr, on_rr_error, p);
	for (size_t i = 0; i < n && p->error[0] == '\0'; i++) {
		if (strpbrk(records[i], "\n\r$;") != NULL) {
			snprintf(p->error, sizeof(p->error), "record %zu: not one record", i + 1);
			break;
		}
		int l = snprintf(line, 70000, "%s %u IN %s %s\n", owner, ttl, tname, records[i]);
		if (l < 0 || l >= 70000 || zs_set_input_string(s, line, (size_t)l) != 0 ||
		    zs_parse_all(s) != 0 || p->count != i + 1) {
			if (p->error[0] == '\0')
				snprintf(p->error, sizeof(p->error), "record %zu: cannot parse '%.60s'", i + 1,
				         records[i]);
		}
	}
	zs_deinit(s);
	free(s);
	free(line);
	if (p->error[0]) {
		snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %s", change, p->error);
		free(p->rdata);
		p->rdata = NULL;
		return RW_EINVAL;
	}
	return 0;
}

/* ---- zone overrides kept in the store ---- */

/* Key of an RRset in the store: "zone|owner|TYPE", names absolute lowercase. */
static void rrset_key(char *out, size_t size, const char *zone, const char *owner, uint16_t type)
{
	char t[32];
	knot_rrtype_to_string(type, t, sizeof(t));
	/* Names are at most 1004 characters in text: key buffers have room. */
	if ((size_t)snprintf(out, size, "%s|%s|%s", zone, owner, t) >= size)
		out[0] = '\0';
}

/* Overrides of one zone, each RRset once (a later one replaces an earlier),
 * found by (owner, type) through an open-addressing index. */
struct zone_overrides {
	const char *zone;              /* canonical text */
	const char *skip;              /* a stored key to leave out, or NULL */
	const struct skipped_list *skipped;   /* and these ("rrsets/KEY"); NULL: none */
	const bool *use;               /* NULL, or which of the zone's stored keys to
	                                  take, in key order (ctl_zone_skip_broken) */
	size_t seen;                   /* the zone's stored keys walked so far */
	struct rwd_zone_override *v;
	struct rr_parse *parsed;       /* rdata owned here */
	size_t n, cap;
	uint32_t *index;               /* entry + 1, 0: empty; index_size slots */
	size_t index_size;             /* a power of two, at least twice cap */
};

static uint64_t rrset_hash(const uint8_t *owner, uint16_t type)
{
	uint64_t h = type;
	size_t len = rw_dname_len(owner);
	for (size_t i = 0; i < len; i++)
		h = (h ^ owner[i]) * 0x100000001b3ull;
	return rw_mix64(h);
}

static ssize_t zo_find(const struct zone_overrides *zo, const uint8_t *owner, uint16_t type)
{
	if (zo->index_size == 0)
		return -1;
	size_t mask = zo->index_size - 1;
	for (size_t i = rrset_hash(owner, type) & mask; zo->index[i]; i = (i + 1) & mask) {
		const struct rwd_zone_override *ov = &zo->v[zo->index[i] - 1];
		if (ov->type == type && rw_dname_eq(ov->owner, owner))
			return (ssize_t)zo->index[i] - 1;
	}
	return -1;
}

static void zo_index(struct zone_overrides *zo, size_t k)
{
	size_t mask = zo->index_size - 1;
	size_t i = rrset_hash(zo->v[k].owner, zo->v[k].type) & mask;
	while (zo->index[i])
		i = (i + 1) & mask;
	zo->index[i] = (uint32_t)k + 1;
}

static int zo_grow(struct zone_overrides *zo)
{
	size_t cap = zo->cap ? zo->cap * 2 : 8;
	struct rwd_zone_override *v = realloc(zo->v, cap * sizeof(*v));
	if (v)
		zo->v = v;
	struct rr_parse *p = v ? realloc(zo->parsed, cap * sizeof(*p)) : NULL;
	if (p)
		zo->parsed = p;
	uint32_t *index = p ? calloc(cap * 2, sizeof(*index)) : NULL;
	if (index == NULL)
		return RW_ENOMEM;
	free(zo->index);
	zo->index = index;
	zo->index_size = cap * 2;
	zo->cap = cap;
	for (size_t k = 0; k < zo->n; k++)
		zo_index(zo, k);
	return 0;
}

/* Add the RRset (records NULL/0: removed), replacing an earlier one of the
 * same owner and type. */
static int zo_add(struct zone_overrides *zo, const char *owner, uint16_t type, uint32_t ttl,
                  const char *const *records, size_t n_records, char err[RWD_CONTROL_ERRLEN],
                  size_t change)
{
	if (zo->n == zo->cap && zo_grow(zo) < 0)
		return RW_ENOMEM;
	struct rwd_zone_override *ov = &zo->v[zo->n];
	struct rr_parse *p = &zo->parsed[zo->n];
	memset(ov, 0, sizeof(*ov));
	memset(p, 0, sizeof(*p));
	if (rw_dname_from_str(owner, NULL, ov->owner) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: bad name '%.200s'", change, owner);
		return RW_EINVAL;
	}
	rw_dname_lower(ov->owner);
	if (n_records > 0) {
		int ret = parse_records(owner, type, ttl, records, n_records, p, err, change);
		if (ret < 0)
			return ret;
	}
	p->change = change;
	ssize_t k = zo_find(zo, ov->owner, type);
	if (k >= 0) {
		free(zo->parsed[k].rdata);
		zo->parsed[k] = *p;
		zo->v[k].ttl = ttl;
		zo->v[k].count = (uint16_t)p->count;
		zo->v[k].rdata = p->rdata;
		return 0;
	}
	ov->type = type;
	ov->ttl = ttl;
	ov->count = (uint16_t)p->count;
	ov->rdata = p->rdata;
	zo_index(zo, zo->n++);
	return 0;
}

static void zo_free(struct zone_overrides *zo)
{
	for (size_t i = 0; i < zo->n; i++)
		free(zo->parsed[i].rdata);
	free(zo->parsed);
	free(zo->v);
	free(zo->index);
	memset(zo, 0, sizeof(*zo));
}

/* Is the stored RRset key in the list ("rrsets/KEY")? */
static bool skipped_has(const struct skipped_list *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i].key, "rrsets/", 7) == 0 && strcasecmp(l->v[i].key + 7, key) == 0)
			return true;
	return false;
}

/* Stored value: {"ttl": N, "records": ["text", ...]}; no records: removed. */
static int zo_from_store(void *ctx, const char *key, const void *val, size_t len)
{
	struct zone_overrides *zo = ctx;
	size_t zl = strlen(zo->zone);
	if (strncasecmp(key, zo->zone, zl) != 0 || key[zl] != '|')
		return 0;
	if (zo->skip && strcasecmp(zo->skip, key) == 0)
		return 0;
	if (zo->use && !zo->use[zo->seen++])
		return 0;
	if (zo->skipped && skipped_has(zo->skipped, key))
		return 0;
	char owner[1024], type[32];
	if (sscanf(key + zl + 1, "%1023[^|]|%31s", owner, type) != 2)
		return 0;
	uint16_t t;
	json_t *j = json_loadb(val, len, 0, NULL);
	if (j == NULL || knot_rrtype_from_string(type, &t) != 0) {
		json_decref(j);
		return 0;
	}
	json_t *recs = json_object_get(j, "records");
	size_t n = json_array_size(recs);
	const char **texts = calloc(n ? n : 1, sizeof(*texts));
	for (size_t i = 0; texts && i < n; i++)
		texts[i] = json_string_value(json_array_get(recs, i));
	char err[RWD_CONTROL_ERRLEN];
	int ret = texts ? zo_add(zo, owner, t, (uint32_t)json_integer_value(json_object_get(j, "ttl")),
	                         texts, n, err, 0) : RW_ENOMEM;
	if (ret < 0)
		rwd_error("store: rrsets/%s: %s", key, err);
	free(texts);
	json_decref(j);
	return ret == RW_ENOMEM ? ret : 0;
}

uint32_t ctl_stored_serial(struct rwd_control *c, const char *skey)
{
	char *v = NULL;
	uint32_t serial = 0;
	if (c->store && rwd_store_get(c->store, "serials", skey, &v, NULL) == 0)
		serial = (uint32_t)strtoul(v, NULL, 10);
	free(v);
	return serial;
}

/*
 * The zone's name in store keys: its apex ("example.com."), or for a view's
 * own zone "@VIEW/example.com." (a name in text never starts with an
 * unescaped '@', a view name holds no '/').
 */
void ctl_store_zone_name(const char *view, const uint8_t *apex, char *out, size_t size)
{
	size_t at = view ? (size_t)snprintf(out, size, "@%s/", view) : 0;
	if (at >= size || rw_dname_to_str(apex, out + at, size - at) < 0)
		out[0] = '\0';
}

void ctl_zone_opts(void *ctx, const struct rwd_conf_zone *cz, struct rwd_zone_load_opts *out)
{
	struct rwd_control *c = ctx;
	/* One load at a time per thread (the start-up build, a reload: under
	 * the control lock); released by the call with cz NULL. */
	static __thread struct zone_overrides zo;
	zo_free(&zo);
	if (cz == NULL || c->store == NULL)
		return;
	char zone[1200];
	ctl_store_zone_name(cz->view, cz->dname, zone, sizeof(zone));
	zo.zone = zone;
	zo.skipped = c->building ? c->building : &c->skipped;
	rwd_store_foreach(c->store, "rrsets", zo_from_store, &zo);
	zo.zone = NULL;
	out->overrides = zo.v;
	out->n_overrides = zo.n;
	/* The file's serial: the serial served is settled after the load, from
	 * the version served before or the store (ctl_zones_settle). */
	out->serial = 0;
}

void ctl_zone_report(void *ctx, const char *msg)
{
	struct zone_report *r = ctx;
	if (!r->any && strstr(msg, ": warning: ") == NULL) {
		snprintf(r->err, RWD_CONTROL_ERRLEN, "the zone would not load: %s", msg);
		r->any = true;
	}
}

struct rwd_zone *ctl_zone_load(struct rwd_control *c, const uint8_t *apex, const char *file,
                               const char *skey, uint32_t serial, const char *skip_key,
                               const struct rwd_zone_limits *limits,
                               char err[RWD_CONTROL_ERRLEN])
{
	struct zone_overrides zo = { .zone = skey, .skip = skip_key, .skipped = &c->skipped };
	struct zone_report rep = { err, false };
	struct rwd_zone *z = NULL;
	snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
	if (c->store == NULL || rwd_store_foreach(c->store, "rrsets", zo_from_store, &zo) == 0) {
		struct rwd_zone_load_opts opts = { zo.v, zo.n, serial };
		z = rwd_zone_load_limits(apex, file, &opts, limits, ctl_zone_report, &rep);
		if (z == NULL && !rep.any)
			snprintf(err, RWD_CONTROL_ERRLEN, "the zone would not load");
	}
	zo_free(&zo);
	return z;
}

/* ---- stored RRset changes that keep a zone from loading ---- */

struct broken {
	struct rwd_control *c;
	const struct rwd_conf_zone *cz;
	const char *skey;
	char (*keys)[1024];            /* the zone's stored keys, in store order */
	bool *use, *was_skipped;
	size_t n, cap;
	uint32_t serial;
	struct skipped_list *skipped;
	ctl_report_fn report;
	void *ctx;
	int ret;
};

static int broken_key(void *ctx, const char *key, const void *val, size_t len)
{
	struct broken *b = ctx;
	size_t zl = strlen(b->skey);
	if (strncasecmp(key, b->skey, zl) != 0 || key[zl] != '|')
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		char (*k)[1024] = realloc(b->keys, cap * sizeof(*k));
		if (k == NULL)
			return RW_ENOMEM;
		b->keys = k;
		b->cap = cap;
	}
	snprintf(b->keys[b->n++], sizeof(b->keys[0]), "%s", key);
	return 0;
}

/* Does the zone load with the stored keys b->use says? */
static bool loads(struct broken *b, char err[RWD_CONTROL_ERRLEN])
{
	struct zone_overrides zo = { .zone = b->skey, .use = b->use };
	struct zone_report rep = { err, false };
	struct rwd_zone *z = NULL;
	snprintf(err, RWD_CONTROL_ERRLEN, "the zone would not load");
	if (rwd_store_foreach(b->c->store, "rrsets", zo_from_store, &zo) == 0) {
		struct rwd_zone_load_opts opts = { zo.v, zo.n, b->serial };
		z = rwd_zone_load_limits(b->cz->dname, b->cz->file, &opts, ctl_zone_limits(b->c),
		                          ctl_zone_report, &rep);
	}
	zo_free(&zo);
	bool ok = z != NULL;
	rwd_zone_free(z);
	return ok;
}

/* Keys [lo, hi) on top of those kept so far: all of them, or halves. */
static void bisect(struct broken *b, size_t lo, size_t hi)
{
	char err[RWD_CONTROL_ERRLEN];
	if (lo >= hi || b->ret < 0)
		return;
	for (size_t i = lo; i < hi; i++)
		b->use[i] = !b->was_skipped[i];
	if (loads(b, err))
		return;
	for (size_t i = lo; i < hi; i++)
		b->use[i] = false;
	if (hi - lo > 1) {
		bisect(b, lo, lo + (hi - lo) / 2);
		bisect(b, lo + (hi - lo) / 2, hi);
		return;
	}
	char origin[1100];
	snprintf(origin, sizeof(origin), "store rrsets/%s", b->keys[lo]);
	b->ret = ctl_skip(b->skipped, origin, err, b->report, b->ctx);
}

int ctl_zone_skip_broken(struct rwd_control *c, const struct rwd_conf_zone *cz,
                         struct skipped_list *skipped, ctl_report_fn report, void *ctx)
{
	char skey[1200], err[RWD_CONTROL_ERRLEN];
	ctl_store_zone_name(cz->view, cz->dname, skey, sizeof(skey));
	struct broken b = { c, cz, skey, NULL, NULL, NULL, 0, 0, ctl_stored_serial(c, skey),
	                    skipped, report, ctx, 0 };
	size_t before = skipped->n;
	b.ret = rwd_store_foreach(c->store, "rrsets", broken_key, &b);
	b.use = calloc(b.n + 1, sizeof(*b.use));
	b.was_skipped = calloc(b.n + 1, sizeof(*b.was_skipped));
	if (b.ret == 0 && (b.use == NULL || b.was_skipped == NULL))
		b.ret = RW_ENOMEM;
	for (size_t i = 0; b.ret == 0 && i < b.n; i++)
		b.was_skipped[i] = skipped_has(skipped, b.keys[i]);
	/* Only when the file loads without them are they to blame: a load per
	 * halving, about 2 log2(n) loads for one bad change among n. */
	if (b.ret == 0 && b.n > 0 && loads(&b, err))
		bisect(&b, 0, b.n);
	free(b.keys);
	free(b.use);
	free(b.was_skipped);
	return b.ret < 0 ? b.ret : (int)(skipped->n - before);
}

const struct rwd_zone *ctl_served_zone(const char *view, const uint8_t *apex)
{
	const struct rwd_snapshot *snap = rwd_snapshot_get();
	if (view == NULL)
		return rwd_zonedb_get(snap->zones, apex, rw_dname_len(apex));
	const struct rwd_view *sv = rwd_snapshot_view(snap, view);
	for (size_t i = 0; sv && i < sv->n_own; i++)
		if (rw_dname_eq(sv->zones->zones[i]->apex_name, apex))
			return sv->zones->zones[i];
	return NULL;
}

/* ---- a batch of changes ---- */

/*
 * A set of records (each uint16 length first) of one type, for membership
 * in constant time: FNV-1a over the rdata with ASCII letters folded, so
 * that records rw_rdata_equal() calls equal (names without case) hash
 * alike. Keeps comparisons linear in the RRset's size.
 */
struct rdset {
	uint16_t type;
	const uint8_t **rd;
	uint32_t *slot;                /* index + 1 into rd; 0: empty */
	size_t n, mask;
};

static uint32_t rd_hash(const uint8_t *rd)
{
	uint16_t len = rw_get16(rd);
	uint32_t h = 2166136261u ^ len;
	for (uint16_t i = 0; i < len; i++) {
		uint8_t b = rd[2 + i];
		h = (h ^ (b >= 'A' && b <= 'Z' ? b + 32 : b)) * 16777619u;
	}
	return h;
}

static bool rdset_has(const struct rdset *s, const uint8_t *rd)
{
	for (size_t i = rd_hash(rd) & s->mask; s->slot[i]; i = (i + 1) & s->mask) {
		const uint8_t *x = s->rd[s->slot[i] - 1];
		if (rw_rdata_equal(s->type, x + 2, rw_get16(x), rd + 2, rw_get16(rd)))
			return true;
	}
	return false;
}

static void rdset_add(struct rdset *s, const uint8_t *rd)
{
	if (rdset_has(s, rd))
		return;
	size_t i = rd_hash(rd) & s->mask;
	while (s->slot[i])
		i = (i + 1) & s->mask;
	s->rd[s->n] = rd;
	s->slot[i] = (uint32_t)++s->n;
}

static int rdset_init(struct rdset *s, uint16_t type, size_t n)
{
	size_t size = 16;
	while (size < 2 * n)
		size *= 2;
	*s = (struct rdset){ type, calloc(n ? n : 1, sizeof(*s->rd)), calloc(size, sizeof(uint32_t)),
	                     0, size - 1 };
	return s->rd && s->slot ? 0 : RW_ENOMEM;
}

static void rdset_free(struct rdset *s)
{
	free(s->rd);
	free(s->slot);
}

/* The set of the served RRset rs (NULL: empty), or of the parsed p. */
static int rdset_of(struct rdset *s, uint16_t type, const struct rwd_rrset *rs,
                    const struct rr_parse *p)
{
	int ret = rdset_init(s, type, rs ? rs->count : p ? p->count : 0);
	if (ret == 0 && rs) {
		RWD_RRSET_FOREACH(rs, rd, i)
			rdset_add(s, rd);
	}
	const uint8_t *q = p ? p->rdata : NULL;
	for (unsigned k = 0; ret == 0 && !rs && p && k < p->count; k++, q += 2u + rw_get16(q))
		rdset_add(s, q);
	return ret;
}

/* Equal sets of records: each of a in b and each of b in a (linear). */
static bool same_records(const struct rdset *a, const struct rdset *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!rdset_has(b, a->rd[i]))
			return false;
	for (size_t i = 0; i < b->n; i++)
		if (!rdset_has(a, b->rd[i]))
			return false;
	return true;
}

/* A DELETE (p, ttl) matches what exists: the served RRset rs, or (earlier
 * NULL when none) the state an earlier change of the batch left: the same
 * TTL and the same records. RW_ENOMEM as not matching. */
static bool delete_matches(const struct rwd_rrset *rs, const struct rwd_zone_override *earlier,
                           const struct rr_parse *earlier_p, const struct rr_parse *p,
                           uint32_t ttl)
{
	if (earlier ? earlier->count == 0 || earlier->ttl != ttl : rs == NULL || rs->ttl != ttl)
		return false;
	struct rdset have = { 0 }, want = { 0 };
	bool ok = rdset_of(&have, p->type, earlier ? NULL : rs, earlier ? earlier_p : NULL) == 0 &&
	          rdset_of(&want, p->type, NULL, p) == 0 && same_records(&have, &want);
	rdset_free(&have);
	rdset_free(&want);
	return ok;
}

static json_t *change_value(const struct rwd_rr_change *ch)
{
	json_t *recs = json_array();
	for (size_t i = 0; ch->action != RWD_RR_DELETE && i < ch->n_records; i++)
		json_array_append_new(recs, json_string(ch->records[i]));
	return json_pack("{s:I,s:o}", "ttl", (json_int_t)ch->ttl, "records", recs);
}

/* The zone and its configuration entry for apex in view (NULL: top level). */
static int find_zone(struct rwd_control *c, const char *zone, const char *view,
                     const uint8_t *apex, const struct rwd_zone **cur,
                     const struct rwd_conf_zone **cz, char err[RWD_CONTROL_ERRLEN])
{
	const struct rwd_conf *conf0 = c->srv->conf;
	const struct rwd_conf_zone *czs = conf0->zones;
	size_t n_czs = conf0->n_zones;
	if (view) {
		size_t v = 0;
		while (v < conf0->n_views && strcmp(conf0->views[v].name, view) != 0)
			v++;
		if (rwd_snapshot_view(rwd_snapshot_get(), view) == NULL || v == conf0->n_views) {
			snprintf(err, RWD_CONTROL_ERRLEN, "no view '%s'", view);
			return RW_ENOENT;
		}
		czs = conf0->views[v].zones;
		n_czs = conf0->views[v].n_zones;
	}
	*cur = ctl_served_zone(view, apex);
	*cz = NULL;
	for (size_t i = 0; i < n_czs && !*cz; i++)
		if (rw_dname_eq(czs[i].dname, apex))
			*cz = &czs[i];
	if (*cz == NULL || *cur == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, view ? "no zone '%s' in view '%s'" : "no zone '%s'",
		         zone, view);
		return RW_ENOENT;
	}
	return 0;
}

/* The changes, checked in order against the zone as served and what the
 * earlier changes of the batch did, into zo. */
static int check_changes(struct rwd_control *c, const struct rwd_zone *cur, const uint8_t *apex,
                         const char *zname, const struct rwd_rr_change *changes, size_t n,
                         struct zone_overrides *zo, char err[RWD_CONTROL_ERRLEN])
{
	uint32_t max = max_rrset_records(c);
	/* Cheap checks first: a batch past a limit is refused before any
	 * record is parsed. */
	for (size_t i = 0; i < n; i++) {
		if (changes[i].n_records > max) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %zu records for %.200s %.20s: at "
			         "most %u records in one RRset (zone_limits.max_rrset_records)", i + 1,
			         changes[i].n_records, changes[i].name, changes[i].type, max);
			return RW_ELIMIT;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct rwd_rr_change *ch = &changes[i];
		uint16_t type;
		uint8_t owner[RW_DNAME_MAXLEN];
		if (knot_rrtype_from_string(ch->type, &type) != 0 || type == RW_TYPE_ANY) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: unknown type '%.20s'", i + 1, ch->type);
			return RW_EINVAL;
		}
		if (type == RW_TYPE_SOA) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: the SOA is managed by runway", i + 1);
			return RW_EINVAL;
		}
		if (rw_dname_from_str(ch->name, NULL, owner) < 0 || !rw_dname_is_sub(owner, apex)) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: '%.200s' is not a name in %.200s",
			         i + 1, ch->name, zname);
			return RW_EINVAL;
		}
		if (ch->action != RWD_RR_DELETE && ch->n_records == 0) {
			snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: no records", i + 1);
			return RW_EINVAL;
		}
		rw_dname_lower(owner);
		/* What exists before this change: an earlier change of the batch
		 * decides, else the zone as served. */
		ssize_t k = zo_find(zo, owner, type);
		const struct rwd_rrset *rs = NULL;
		if (k < 0) {
			const struct rwd_node *node = rwd_zone_find(cur, owner, rw_dname_len(owner));
			rs = node ? rwd_node_rrset(node, type) : NULL;
		}
		bool exists = k >= 0 ? zo->v[k].count > 0 : rs != NULL;
		if (ch->action == RWD_RR_CREATE && exists) {
			if (k >= 0)
				snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %.200s %.20s already exists "
				         "(change %zu of this batch made it): nothing was changed", i + 1,
				         ch->name, ch->type, zo->parsed[k].change);
			else
				snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %.200s %.20s already exists: "
				         "nothing was changed", i + 1, ch->name, ch->type);
			return RW_EEXIST;
		}
		if (ch->action == RWD_RR_DELETE) {
			struct rr_parse p = { 0 };
			int ret = parse_records(ch->name, type, ch->ttl, ch->records, ch->n_records, &p,
			                        err, i + 1);
			if (ret < 0)
				return ret;
			bool ok = delete_matches(rs, k >= 0 ? &zo->v[k] : NULL,
			                         k >= 0 ? &zo->parsed[k] : NULL, &p, ch->ttl);
			free(p.rdata);
			if (!ok) {
				snprintf(err, RWD_CONTROL_ERRLEN, "change %zu: %.200s %.20s does not match the "
				         "existing records (TTL and every record must match)", i + 1,
				         ch->name, ch->type);
				return RW_EINVAL;
			}
		}
		int ret = zo_add(zo, ch->name, type, ch->ttl, ch->records,
		                 ch->action == RWD_RR_DELETE ? 0 : ch->n_records, err, i + 1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- the change log (zone/history.h, store/journal.h) ---- */

/* Records in wire form, end to end (a diff's removed or added part). */
struct wire_rrs {
	uint8_t *p;
	size_t len, cap;
	uint32_t n;
};

static int wire_add(struct wire_rrs *w, const uint8_t *owner, uint16_t type, uint32_t ttl,
                    const uint8_t *rd)
{
	size_t olen = rw_dname_len(owner), need = olen + 10u + rw_get16(rd);
	if (w->len + need > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		while (cap < w->len + need)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (p == NULL)
			return RW_ENOMEM;
		w->p = p;
		w->cap = cap;
	}
	uint8_t *at = w->p + w->len;
	memcpy(at, owner, olen);
	rw_put16(at + olen, type);
	rw_put16(at + olen + 2, RW_CLASS_IN);
	rw_put32(at + olen + 4, ttl);
	memcpy(at + olen + 8, rd, 2u + rw_get16(rd));
	w->len += need;
	w->n++;
	return 0;
}

/*
 * What the batch changes, RRset by RRset (its net effect, zo), against the
 * zone as served: the records that go and the records that come (a record
 * in both is neither; a changed TTL takes every record out and back), as
 * the diff cur->serial -> serial.
 */
static int journal_diff(const struct rwd_zone *cur, const struct zone_overrides *zo,
                        uint32_t serial, struct rwd_zone_diff **out)
{
	struct wire_rrs removed = { 0 }, added = { 0 };
	int ret = 0;
	*out = NULL;
	for (size_t k = 0; k < zo->n && ret == 0; k++) {
		const struct rwd_zone_override *ov = &zo->v[k];
		const struct rr_parse *p = &zo->parsed[k];
		const struct rwd_node *node = rwd_zone_find(cur, ov->owner, rw_dname_len(ov->owner));
		const struct rwd_rrset *rs = node ? rwd_node_rrset(node, ov->type) : NULL;
		bool same_ttl = rs && rs->ttl == ov->ttl;
		struct rdset old_set = { 0 }, new_set = { 0 };
		ret = rdset_of(&old_set, ov->type, rs, NULL);
		if (ret == 0)
			ret = rdset_of(&new_set, ov->type, NULL, p);
		for (size_t i = 0; i < old_set.n && ret == 0; i++)
			if (!(same_ttl && rdset_has(&new_set, old_set.rd[i])))
				ret = wire_add(&removed, ov->owner, ov->type, rs->ttl, old_set.rd[i]);
		for (size_t i = 0; i < new_set.n && ret == 0; i++)
			if (!(same_ttl && rdset_has(&old_set, new_set.rd[i])))
				ret = wire_add(&added, ov->owner, ov->type, ov->ttl, new_set.rd[i]);
		rdset_free(&old_set);
		rdset_free(&new_set);
	}
	uint8_t soa0[600], soa1[600];
	size_t l0 = rwd_zone_soa_record(cur, cur->serial, soa0, sizeof(soa0));
	size_t l1 = rwd_zone_soa_record(cur, serial, soa1, sizeof(soa1));
	if (ret == 0 && (l0 == 0 || l1 == 0))
		ret = RW_EINVAL;               /* no SOA: cannot be (the zone loaded) */
	if (ret == 0 && (*out = rwd_zone_diff_new(cur->serial, serial, soa0, l0, removed.p,
	                                          removed.len, removed.n, soa1, l1, added.p,
	                                          added.len, added.n)) == NULL)
		ret = RW_ENOMEM;
	free(removed.p);
	free(added.p);
	return ret;
}

/* The store writes of a batch: each RRset, the serial, the change log (h:
 * the new version's history; NULL: the log cannot describe it and is
 * cleared) and the digest of the new version. */
static int store_changes(struct rwd_control *c, const char *skey, const struct rwd_rr_change *changes,
                         size_t n, uint32_t serial, const struct rwd_zone_history *h,
                         uint64_t digest, char err[RWD_CONTROL_ERRLEN])
{
	struct rwd_store_txn *t = NULL;
	int ret = rwd_store_begin(c->store, &t);
	for (size_t i = 0; i < n && ret == 0; i++) {
		uint8_t owner[RW_DNAME_MAXLEN];
		char oname[1024], key[2400];
		uint16_t type;
		rw_dname_from_str(changes[i].name, NULL, owner);
		rw_dname_lower(owner);
		rw_dname_to_str(owner, oname, sizeof(oname));
		knot_rrtype_from_string(changes[i].type, &type);
		rrset_key(key, sizeof(key), skey, oname, type);
		json_t *v = change_value(&changes[i]);
		char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
		ret = text ? rwd_store_put(t, "rrsets", key, text, strlen(text)) : RW_ENOMEM;
		free(text);
		json_decref(v);
	}
	char sv[16];
	snprintf(sv, sizeof(sv), "%u", serial);
	if (ret == 0)
		ret = rwd_store_put(t, "serials", skey, sv, strlen(sv));
	if (ret == 0)
		ret = h ? rwd_journal_sync(t, skey, h) : rwd_journal_clear(t, skey);
	if (ret == 0)
		ret = rwd_journal_digest_put(t, skey, digest);
	return ctl_store_end(t, ret, err);
}

/* A skipped stored RRset a change replaced applies again. */
static void unskip_changed(struct rwd_control *c, const char *skey,
                           const struct rwd_rr_change *changes, size_t n)
{
	for (size_t i = 0; i < n && c->skipped.n; i++) {
		uint8_t owner[RW_DNAME_MAXLEN];
		char oname[1024], key[2400];
		uint16_t type;
		if (rw_dname_from_str(changes[i].name, NULL, owner) < 0 ||
		    knot_rrtype_from_string(changes[i].type, &type) != 0)
			continue;
		rw_dname_lower(owner);
		rw_dname_to_str(owner, oname, sizeof(oname));
		rrset_key(key, sizeof(key), skey, oname, type);
		ctl_unskip(c, "rrsets", key);
	}
}

int rwd_control_zone_change(struct rwd_control *c, const char *zone, const char *view,
                            const struct rwd_rr_change *changes, size_t n,
                            char err[RWD_CONTROL_ERRLEN])
{
	uint8_t apex[RW_DNAME_MAXLEN];
	if (rw_dname_from_str(zone, NULL, apex) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "bad zone name '%.200s'", zone);
		return RW_ENOENT;
	}
	rw_dname_lower(apex);
	char zname[1024];
	rw_dname_to_str(apex, zname, sizeof(zname));

	pthread_mutex_lock(&c->lock);
	const struct rwd_zone *cur;
	const struct rwd_conf_zone *cz;
	int ret = find_zone(c, zone, view, apex, &cur, &cz, err);
	if (ret < 0)
		return ctl_unlock(c, ret);
	char skey[1200];                   /* the zone in store keys */
	ctl_store_zone_name(view, apex, skey, sizeof(skey));
	if (c->store == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no store configured (api.data)");
		return ctl_unlock(c, RW_EIO);
	}
	if (n == 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no changes");
		return ctl_unlock(c, RW_EINVAL);
	}

	struct zone_overrides zo = { 0 };
	ret = check_changes(c, cur, apex, zname, changes, n, &zo, err);
	uint32_t stored = ctl_stored_serial(c, skey);
	/* The store ahead of what is served (a failed publication once left
	 * it so): the serial goes on from the store's, the log restarts. */
	bool ahead = rwd_serial_newer(stored, cur->serial);
	uint32_t serial = rwd_serial_next((int)cz->serial_policy, ahead ? stored : cur->serial,
	                                  time(NULL));
	size_t max_depth = cz->journal_max_depth, max_bytes = (size_t)cz->journal_max_size;
	/* The change log's entry, against the zone as served (a placeholder,
	 * for a file that would not load, has no records to diff: the log
	 * restarts with the version this change loads). */
	struct rwd_zone_diff *d = NULL;
	bool journal = ret == 0 && !ahead && !cur->failed && !rwd_zone_is_placeholder(cur);
	if (journal && (ret = journal_diff(cur, &zo, serial, &d)) < 0)
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");

	/*
	 * Applied to the zone as served, only what the changes reach is rebuilt
	 * (rwd_zone_patch, zone.h). When the store is ahead of what is served
	 * (stored, not published) or the patch declines (too broad, rejected),
	 * the zone is loaded afresh: the file, everything stored, then these
	 * changes on top; that load also says what is wrong with a change.
	 */
	struct rwd_zone *z = NULL;
	bool incremental = false;
	if (ret == 0 && !ahead)
		incremental = (z = rwd_zone_patch(cur, zo.v, zo.n, serial)) != NULL;
	if (ret == 0 && z == NULL) {
		struct zone_overrides all = { .zone = skey, .skipped = &c->skipped };
		ret = rwd_store_foreach(c->store, "rrsets", zo_from_store, &all);
		all.zone = NULL;
		for (size_t i = 0; i < zo.n && ret == 0; i++) {
			/* the batch's net effect, one entry per RRset, on top */
			ssize_t k = zo_find(&all, zo.v[i].owner, zo.v[i].type);
			if (k < 0 && all.n == all.cap && (ret = zo_grow(&all)) < 0)
				break;
			if (k < 0) {
				k = (ssize_t)all.n;
				all.v[k] = zo.v[i];
				memset(&all.parsed[k], 0, sizeof(all.parsed[k]));
				zo_index(&all, all.n++);
			} else {
				free(all.parsed[k].rdata);   /* the stored version, replaced */
				all.parsed[k].rdata = NULL;
			}
			all.v[k].ttl = zo.v[i].ttl;
			all.v[k].count = zo.v[i].count;
			all.v[k].rdata = zo.v[i].rdata;   /* owned by zo, which outlives the load */
		}
		struct zone_report rep = { err, false };
		struct rwd_zone_load_opts opts = { all.v, all.n, serial };
		if (ret == 0 && (z = rwd_zone_load_limits(cz->dname, cz->file, &opts, ctl_zone_limits(c),
		                                          ctl_zone_report, &rep)) == NULL)
			ret = RW_EINVAL;
		zo_free(&all);                 /* the batch's rdata stays zo's */
	}
	zo_free(&zo);
	/* The new version's history: the served one's and this diff. */
	if (ret == 0 && d && (z->history = rwd_zone_history_append(cur->history, d, max_depth,
	                                                            max_bytes)) == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "out of memory");
		ret = RW_ENOMEM;
	}
	/* The digest moves with the diff when the store's is cur's; else (none
	 * stored yet, the log restarts) it is taken afresh, O(zone). */
	uint64_t digest = 0;
	if (ret == 0 && !(d && stored == cur->serial &&
	                  rwd_journal_digest_get(c->store, skey, &digest) == 0 &&
	                  (digest += rwd_zone_diff_digest(d), true)))
		digest = rwd_zone_digest(z);
	rwd_zone_diff_free(d);
	if (ret < 0) {
		rwd_zone_free(z);
		return ctl_unlock(c, ret);
	}

	/* Built, then durable, then visible: a change that cannot be served is
	 * not stored, and it is acknowledged only once it is served. The model
	 * is rebuilt from the same text and overlays: unchanged. */
	struct rwd_conf *conf = NULL;
	if ((ret = ctl_conf_live(c, &conf, err)) < 0) {
		rwd_zone_free(z);
		return ctl_unlock(c, ret == RW_ENOMEM ? RW_ENOMEM : RW_EIO);
	}
	bool compact = incremental && rwd_zone_wants_compaction(z);
	char *file = compact ? strdup(cz->file) : NULL;   /* cz goes with the old conf */
	if (compact)
		rwd_zone_ref(z);               /* the compactor's starting point */
	/* z's history, held for the store: ctl_prepare takes z over */
	struct rwd_zone_history *h = z->history;
	rwd_zone_history_ref(h);
	struct rwd_snapshot *s = ctl_prepare(c, conf, z, view, err);
	if (s == NULL || (ret = store_changes(c, skey, changes, n, serial, h, digest, err)) < 0)
		ret = s == NULL ? RW_ENOMEM : ret;
	rwd_zone_history_free(h);
	if (ret < 0) {
		rwd_snapshot_free(s);
		rwd_conf_free(conf);
		if (compact)
			rwd_zone_free(z);
		free(file);
		return ctl_unlock(c, ret);
	}
	ctl_publish(c, s, conf);
	unskip_changed(c, skey, changes, n);
	rwd_info("zone %s%s%s%s: %zu change(s) applied, serial %u (%s)", zname, view ? " (view " : "",
	         view ? view : "", view ? ")" : "", n, serial, incremental ? "incremental" : "full load");
	if (compact)
		ctl_compact_start(c, z, view, file, skey, zname);
	return ctl_unlock(c, 0);
}

int rwd_control_zone_journal(struct rwd_control *c, const char *zone, const char *view,
                             uint32_t serial, rwd_control_journal_fn fn, void *ctx,
                             char err[RWD_CONTROL_ERRLEN])
{
	uint8_t apex[RW_DNAME_MAXLEN];
	char zname[1024];
	if (rw_dname_from_str(zone, NULL, apex) < 0) {
		snprintf(err, RWD_CONTROL_ERRLEN, "bad zone name '%.200s'", zone);
		return RW_ENOENT;
	}
	rw_dname_lower(apex);
	rw_dname_to_str(apex, zname, sizeof(zname));
	/* The history of the version served: what IXFR answers from (the
	 * store's journal holds the same diffs). A publication replaces the
	 * zone only under the lock; the reference outlives it. */
	pthread_mutex_lock(&c->lock);
	const struct rwd_zone *z = ctl_served_zone(view, apex);
	struct rwd_zone_history *h = z ? z->history : NULL;
	uint32_t now = z ? z->serial : 0;
	rwd_zone_history_ref(h);
	pthread_mutex_unlock(&c->lock);
	if (z == NULL) {
		snprintf(err, RWD_CONTROL_ERRLEN, "no zone '%.200s'", zname);
		return RW_ENOENT;
	}
	long from = rwd_zone_history_find(h, serial);
	int ret = 0;
	if (from < 0 && serial != now) {
		snprintf(err, RWD_CONTROL_ERRLEN, "the change log of %.200s%s%s does not reach back to "
		         "serial %u (too old, or not a serial it had)", zname, view ? " in view " : "",
		         view ? view : "", serial);
		ret = RW_ENOENT;
	}
	for (size_t i = from < 0 ? 0 : (size_t)from; ret == 0 && from >= 0 && i < h->n; i++)
		ret = rwd_journal_render(h->diffs[i], (rwd_journal_fn)fn, ctx);
	rwd_zone_history_free(h);
	return ret;
}

/* ---- serials and histories of the versions a build loaded ---- */

_Static_assert(RWD_SERIAL_INCREMENT == 0 && RWD_SERIAL_UNIXTIME == 1 &&
               RWD_SERIAL_DATESERIAL == 2, "rwd_serial_next() takes these by value");

/* The version of apex s serves in view (NULL: top level; a view: only its
 * own zone, not the top level's it shows). */
static struct rwd_zone *zone_in(const struct rwd_snapshot *s, const char *view,
                                const uint8_t *apex)
{
	if (s == NULL)
		return NULL;
	size_t len = rw_dname_len(apex);
	struct rwd_zone *top = rwd_zonedb_get(s->zones, apex, len);
	if (view == NULL)
		return top;
	const struct rwd_view *v = rwd_snapshot_view(s, view);
	struct rwd_zone *z = v ? rwd_zonedb_get(v->zones, apex, len) : NULL;
	return z != top ? z : NULL;
}

struct settle {
	struct rwd_control *c;
	struct rwd_store_txn *t;       /* opened at the first write; NULL: none yet */
	bool no_store;                 /* none, or it cannot be written */
	int ret;
};

/* Write the zone's serial, log (h; NULL: cleared) and digest. */
static void settle_store(struct settle *st, const char *skey, uint32_t serial,
                         const struct rwd_zone_history *h, uint64_t digest)
{
	if (st->no_store || st->ret < 0)
		return;
	if (st->t == NULL && rwd_store_begin(st->c->store, &st->t) < 0) {
		st->no_store = true;           /* read only (runway check) */
		st->t = NULL;
		return;
	}
	char sv[16];
	snprintf(sv, sizeof(sv), "%u", serial);
	int ret = rwd_store_put(st->t, "serials", skey, sv, strlen(sv));
	if (ret == 0)
		ret = h && h->n ? rwd_journal_sync(st->t, skey, h) : rwd_journal_clear(st->t, skey);
	if (ret == 0)
		ret = rwd_journal_digest_put(st->t, skey, digest);
	st->ret = ret;
}

/* A diff that only moves z's serial from -> to (z's SOA otherwise). */
static struct rwd_zone_diff *soa_step(const struct rwd_zone *z, uint32_t from, uint32_t to)
{
	uint8_t a[600], b[600];
	size_t la = rwd_zone_soa_record(z, from, a, sizeof(a));
	size_t lb = rwd_zone_soa_record(z, to, b, sizeof(b));
	return la && lb ? rwd_zone_diff_new(from, to, a, la, NULL, 0, 0, b, lb, NULL, 0, 0) : NULL;
}

/*
 * One zone version z just loaded from cz's file (and the stored overrides),
 * with the file's serial; p the version served before (NULL: none, or a
 * placeholder). Its serial and history:
 *  - after p: z differs from p (rwd_zone_diff_versions)? Yes: the file's
 *    serial when it is newer than p's (RFC 1982), else the next by the
 *    zone's policy; the diff goes onto p's history and into the store. No:
 *    p's serial and history, unless the file's serial is newer (then it is
 *    taken, an SOA-only diff, as Knot's zonefile-load: difference does).
 *  - at start: the store's serial and log when the content is the one they
 *    describe (its digest; the file's serial again when only it went up);
 *    else the file's serial if newer than the store's, else the next by
 *    policy, and the log starts anew.
 * A secondary's copy keeps the file's serial (its primary's): never one of
 * runway's.
 */
static void settle_one(struct settle *st, const struct rwd_conf_zone *cz, struct rwd_zone *z,
                       const struct rwd_zone *p)
{
	struct rwd_control *c = st->c;
	char skey[1200];
	ctl_store_zone_name(cz->view, cz->dname, skey, sizeof(skey));
	bool secondary = cz->n_primaries > 0;
	uint32_t file = z->serial, serial = file;
	time_t now = time(NULL);
	if (p && !p->failed) {
		struct rwd_zone_diff *d = NULL;
		uint64_t digest = 0;
		bool have_digest = false;
		int ret = rwd_zone_diff_versions(p, z, &d);
		/* a generated zone's serial (a catalog's: the time) is no file's
		 * the operator raised: the same records keep the served serial */
		bool raised = rwd_serial_newer(file, p->serial) &&
		              cz->catalog_role != RWD_CATALOG_PRODUCER;
		if (ret == 0 && d == NULL && !raised) {
			rwd_zone_set_serial_unpublished(z, p->serial);
			z->history = p->history;
			rwd_zone_history_ref(z->history);
			return;
		}
		/* Only the file's serial went up: that is a change too (the
		 * operator's way to make secondaries look), as in Knot's
		 * "difference" mode: an IXFR of the SOA alone. */
		if (ret == 0 && d == NULL && (d = soa_step(z, p->serial, file)) == NULL)
			ret = RW_ENOMEM;
		if (!secondary && !rwd_serial_newer(file, p->serial))
			serial = rwd_serial_next((int)cz->serial_policy, p->serial, now);
		rwd_zone_set_serial_unpublished(z, serial);
		if (d && secondary && !rwd_serial_newer(serial, p->serial)) {
			/* a secondary's copy on disk that is not newer than the one
			 * served (its primary's serials are not ours to change): no
			 * difference to log, the next transfer sets it right */
			rwd_warn("zone %s: the copy in %s (serial %u) differs from the one served "
			         "(serial %u) and is not newer: the change log starts again",
			         cz->name, cz->file, serial, p->serial);
			rwd_zone_diff_free(d);
			d = NULL;
			ret = 0;
		} else if (d) {
			rwd_zone_diff_set_serial_to(d, serial);
			z->history = rwd_zone_history_append(p->history, d, cz->journal_max_depth,
			                                     (size_t)cz->journal_max_size);
			/* the digest moves with the diff (O(diff), not O(zone)) when the
			 * store's is p's */
			have_digest = c->store && ctl_stored_serial(c, skey) == p->serial &&
			              rwd_journal_digest_get(c->store, skey, &digest) == 0;
			digest += have_digest ? rwd_zone_diff_digest(d) : 0;
			rwd_info("zone %s%s%s: %u record(s) removed, %u added since serial %u: serial %u%s",
			         cz->name, cz->view ? " in view " : "", cz->view ? cz->view : "",
			         d->n_removed, d->n_added, p->serial, serial,
			         serial == file ? "" : " (the file's was not newer)");
			rwd_zone_diff_free(d);
		} else if (ret < 0) {
			rwd_warn("zone %s: cannot tell what the reload changed (%s): the change log "
			         "starts again at serial %u", cz->name, rw_strerror(ret), serial);
		}
		if (!have_digest && c->store)
			digest = rwd_zone_digest(z);
		settle_store(st, skey, serial, z->history, digest);
		return;
	}
	if (c->store == NULL)
		return;                        /* the file's serial, no history */
	uint32_t stored = ctl_stored_serial(c, skey);
	uint64_t digest = rwd_zone_digest(z), had = 0;
	bool same = stored && rwd_journal_digest_get(c->store, skey, &had) == 0 && had == digest;
	if (same) {
		/* What the store's log ends at, but the file's serial when only it
		 * went up (an SOA-only step, as at reload). */
		bool raised = !secondary && rwd_serial_newer(file, stored) &&
		              cz->catalog_role != RWD_CATALOG_PRODUCER;
		uint32_t at = secondary ? file : stored;
		struct rwd_zone_history *h = NULL;
		if (rwd_journal_load(c->store, skey, at, &h) < 0)
			h = NULL;
		struct rwd_zone_diff *d = raised ? soa_step(z, stored, file) : NULL;
		if (d) {
			struct rwd_zone_history *h2 = rwd_zone_history_append(h, d, cz->journal_max_depth,
			                                                      (size_t)cz->journal_max_size);
			rwd_zone_history_free(h);
			rwd_zone_diff_free(d);
			h = h2;
			at = file;
		}
		z->history = h;
		rwd_zone_set_serial_unpublished(z, at);
		if (h == NULL || raised)
			settle_store(st, skey, at, h, digest);
		return;
	}
	if (stored && !secondary && !rwd_serial_newer(file, stored))
		serial = rwd_serial_next((int)cz->serial_policy, stored, now);
	if (stored && serial != file)
		rwd_info("zone %s%s%s: the file changed since serial %u was served, and its serial "
		         "(%u) is not newer: serial %u", cz->name, cz->view ? " in view " : "",
		         cz->view ? cz->view : "", stored, file, serial);
	rwd_zone_set_serial_unpublished(z, serial);
	settle_store(st, skey, serial, NULL, digest);
}

static void settle_list(struct settle *st, const struct rwd_conf_zone *czs, size_t n,
                        const char *view, struct rwd_snapshot *s, const struct rwd_snapshot *prev)
{
	for (size_t i = 0; i < n; i++) {
		struct rwd_zone *z = zone_in(s, view, czs[i].dname);
		const struct rwd_zone *p = zone_in(prev, view, czs[i].dname);
		if (z == NULL || z == p || z->failed || rwd_zone_is_placeholder(z))
			continue;              /* kept (its load failed), or a placeholder */
		settle_one(st, &czs[i], z, p && !rwd_zone_is_placeholder(p) ? p : NULL);
	}
}

void ctl_zones_settle(struct rwd_control *c, const struct rwd_conf *conf, struct rwd_snapshot *s,
                      const struct rwd_snapshot *prev)
{
	struct settle st = { c, NULL, c->store == NULL, 0 };
	settle_list(&st, conf->zones, conf->n_zones, NULL, s, prev);
	for (size_t v = 0; v < conf->n_views; v++)
		settle_list(&st, conf->views[v].zones, conf->views[v].n_zones, conf->views[v].name, s,
		            prev);
	if (st.t && st.ret == 0)
		st.ret = rwd_store_commit(st.t);
	else if (st.t)
		rwd_store_abort(st.t);
	if (st.ret < 0)
		rwd_error("store: cannot keep the zones' serials and change logs (%s): a restart "
		          "may serve other serials", rw_strerror(st.ret));
}
