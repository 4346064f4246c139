/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Catalog zones, consumer side (RFC 9432; docs/transfers.md#consumer): a
 * top-level secondary zone with `catalog: {role: consumer}` lists member
 * zones, and runwayd serves each as a secondary zone of its own, with the
 * settings of the `templates:` entry its group names (else `default`).
 *
 * The member set is kept in the store (table "catalog", key
 * "CATALOG|MEMBER", value the group, "" for none) and in memory (c->catalog,
 * under the control lock). Every configuration built from the file
 * (ctl_conf_with, ctl_conf_stored: overlays.c) gets the members appended
 * as zones (ctl_catalog_conf), so that a reload or a restart serves them
 * again before their catalog is transferred anew.
 *
 * When a new version of a consumer catalog is published (install.c), its
 * members are read (ctl_catalog_installed): version.CATALOG TXT "2" is
 * required, each PTR at ID.zones.CATALOG is a member, the TXT at
 * group.ID.zones.CATALOG its group (one record of one string, as Knot
 * reads it); other properties (coo, ext) are ignored. A member that is the
 * catalog or below it, whose name would not make a plain file name, that
 * another catalog or the configuration already serves, or past
 * max_members, is left out with a log line. When the set changed it is
 * stored, and the state is published again with the members' zones added
 * (loaded from their file when there is one, else waiting for their first
 * transfer: SERVFAIL) and the removed ones gone (REFUSED): purged as Knot
 * purges them, their file, serial and change log deleted. The secondary service then
 * takes up the new zone list (install.c returns 1 for it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/common/log.h"
#include "server/control/internal.h"
#include "server/store/journal.h"
#include "server/zone/source.h"
#include "server/zone/zonedb.h"

struct cat_member {
	uint8_t cat[RW_DNAME_MAXLEN];
	uint8_t name[RW_DNAME_MAXLEN];
	char *group;                   /* NULL: none */
};

struct ctl_catalog {
	struct cat_member *v;          /* sorted by name */
	size_t n;
	bool loaded;                   /* read from the store */
};

static int cmp_name(const uint8_t *a, const uint8_t *b)
{
	size_t la = rw_dname_len(a), lb = rw_dname_len(b);
	int d = memcmp(a, b, la < lb ? la : lb);
	return d ? d : (la > lb) - (la < lb);
}

static int cmp_member(const void *a, const void *b)
{
	return cmp_name(((const struct cat_member *)a)->name, ((const struct cat_member *)b)->name);
}

static void members_free(struct cat_member *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].group);
	free(v);
}

void ctl_catalog_free(struct rwd_control *c)
{
	if (c->catalog)
		members_free(c->catalog->v, c->catalog->n);
	free(c->catalog);
	c->catalog = NULL;
}

/* A member's name is used in a file name: letters, digits, '-', '_' only
 * in its labels (and no label "." or ".." can then arise). */
static bool file_safe(const uint8_t *name)
{
	for (const uint8_t *p = name; *p; p += *p + 1)
		for (unsigned i = 1; i <= *p; i++) {
			uint8_t ch = p[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			      ch == '_'))
				return false;
		}
	return true;
}

/* ---- the stored set ---- */

static int add_member(struct ctl_catalog *st, const uint8_t *cat, const uint8_t *name,
                      const char *group)
{
	struct cat_member *v = realloc(st->v, (st->n + 1) * sizeof(*v));
	if (v == NULL)
		return RW_ENOMEM;
	st->v = v;
	struct cat_member *m = &v[st->n];
	memset(m, 0, sizeof(*m));
	memcpy(m->cat, cat, rw_dname_len(cat));
	memcpy(m->name, name, rw_dname_len(name));
	if (group && !(m->group = strdup(group)))
		return RW_ENOMEM;
	st->n++;
	return 0;
}

/* "CATALOG|MEMBER" -> group */
static int load_one(void *ctx, const char *key, const void *val, size_t len)
{
	struct ctl_catalog *st = ctx;
	const char *bar = strrchr(key, '|');
	uint8_t cat[RW_DNAME_MAXLEN], name[RW_DNAME_MAXLEN];
	char ctext[RW_DNAME_MAXLEN * 4 + 1], group[256];
	if (bar == NULL || (size_t)(bar - key) >= sizeof(ctext) || len > 255)
		return 0;
	memcpy(ctext, key, (size_t)(bar - key));
	ctext[bar - key] = '\0';
	if (rw_dname_from_str(ctext, NULL, cat) < 1 || rw_dname_from_str(bar + 1, NULL, name) < 1)
		return 0;                      /* not ours to read: left alone */
	rw_dname_lower(cat);
	rw_dname_lower(name);
	memcpy(group, val, len);
	group[len] = '\0';
	return add_member(st, cat, name, len ? group : NULL);
}

static struct ctl_catalog *state(struct rwd_control *c)
{
	if (c->catalog == NULL && (c->catalog = calloc(1, sizeof(*c->catalog))) == NULL)
		return NULL;
	struct ctl_catalog *st = c->catalog;
	if (!st->loaded && c->store) {
		if (rwd_store_foreach(c->store, "catalog", load_one, st) < 0)
			rwd_error("catalog: cannot read the stored member zones");
		if (st->n)
			qsort(st->v, st->n, sizeof(*st->v), cmp_member);
	}
	st->loaded = true;
	return st;
}

static void store_key(const uint8_t *cat, const uint8_t *name, char *out, size_t size)
{
	char a[RW_DNAME_MAXLEN * 4 + 1], b[RW_DNAME_MAXLEN * 4 + 1];
	rw_dname_to_str(cat, a, sizeof(a));
	rw_dname_to_str(name, b, sizeof(b));
	snprintf(out, size, "%s|%s", a, b);
}

/* ---- configurations ---- */

static void skipped_quiet(void *ctx, const struct rwd_conf_member *m, const char *why)
{
}

static void skipped_log(void *ctx, const struct rwd_conf_member *m, const char *why)
{
	char a[RW_DNAME_MAXLEN * 4 + 1], b[RW_DNAME_MAXLEN * 4 + 1];
	rw_dname_to_str(m->catalog, a, sizeof(a));
	rw_dname_to_str(m->name, b, sizeof(b));
	rwd_warn("catalog %s: member %s not served: %s", a, b, why);
}

int ctl_catalog_conf(struct rwd_control *c, struct rwd_conf *conf, bool report)
{
	bool consumer = false;
	for (size_t i = 0; i < conf->n_zones; i++) {
		if (conf->zones[i].catalog_role == RWD_CATALOG_CONSUMED)
			return 0;                  /* done already */
		consumer |= conf->zones[i].catalog_role == RWD_CATALOG_CONSUMER;
	}
	if (!consumer)
		return 0;
	struct ctl_catalog *st = state(c);
	if (st == NULL)
		return RW_ENOMEM;
	if (st->n == 0)
		return 0;
	struct rwd_conf_member *m = calloc(st->n, sizeof(*m));
	if (m == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; i < st->n; i++)
		m[i] = (struct rwd_conf_member){ st->v[i].cat, st->v[i].name, st->v[i].group };
	int ret = rwd_conf_add_members(conf, m, st->n, report ? skipped_log : skipped_quiet, NULL);
	free(m);
	return ret;
}

/* ---- reading a catalog ---- */

struct found {
	uint8_t id[64];                /* the label, length first */
	uint8_t name[RW_DNAME_MAXLEN];
	char group[256];
	int ptrs, groups;              /* PTR and group TXT records of the id */
	bool member;                   /* one PTR: name is the member */
};

struct reading {
	struct found *v;
	size_t n, cap;
	bool version;
};

/* A new entry for a record of id (merged by id afterwards: merge_ids). */
static struct found *add_found(struct reading *r, const uint8_t *id)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct found *v = realloc(r->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	struct found *f = &r->v[r->n++];
	memset(f, 0, sizeof(*f));
	memcpy(f->id, id, (size_t)id[0] + 1);
	return f;
}

static int cmp_id(const void *a, const void *b)
{
	const uint8_t *x = ((const struct found *)a)->id, *y = ((const struct found *)b)->id;
	int d = memcmp(x + 1, y + 1, x[0] < y[0] ? x[0] : y[0]);
	return d ? d : (x[0] > y[0]) - (x[0] < y[0]);
}

/* One entry per id: its PTRs and group TXTs together (n log n). */
static void merge_ids(struct reading *r)
{
	if (r->n == 0)
		return;
	qsort(r->v, r->n, sizeof(*r->v), cmp_id);
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct found *f = &r->v[i];
		if (k && cmp_id(&r->v[k - 1], f) == 0) {
			struct found *m = &r->v[k - 1];
			if (f->ptrs) {
				memcpy(m->name, f->name, sizeof(m->name));
				m->ptrs += f->ptrs;
			}
			if (f->groups) {
				memcpy(m->group, f->group, sizeof(m->group));
				m->groups += f->groups;
			}
			continue;
		}
		r->v[k++] = *f;
	}
	r->n = k;
	for (size_t i = 0; i < r->n; i++) {
		r->v[i].member = r->v[i].ptrs >= 1;
		if (r->v[i].groups != 1)
			r->v[i].group[0] = '\0';  /* one group TXT or none, as Knot takes it */
	}
}

static bool label_is(const uint8_t *l, const char *s)
{
	size_t n = strlen(s);
	if (l[0] != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = l[1 + i];
		if ((ch >= 'A' && ch <= 'Z' ? ch + 32 : ch) != (uint8_t)s[i])
			return false;
	}
	return true;
}

/* The records of z below its apex that make a catalog. 0 or RW_ENOMEM. */
static int read_catalog(const struct rwd_zone *z, struct reading *r)
{
	uint8_t *buf;
	size_t len, n;
	if (rwd_zone_records(z, &buf, &len, &n) < 0)
		return RW_ENOMEM;
	const uint8_t *apex = z->apex_name;
	size_t alen = z->apex_len;
	int ret = 0;
	for (size_t off = 0; off < len && ret == 0;) {
		const uint8_t *owner = buf + off;
		size_t olen = rw_dname_len(owner);
		const uint8_t *p = owner + olen;
		uint16_t type = rw_get16(p), rdlen = rw_get16(p + 8);
		const uint8_t *rdata = p + 10;
		off += olen + 10 + rdlen;
		if (olen <= alen)
			continue;
		uint8_t low[RW_DNAME_MAXLEN];
		memcpy(low, owner, olen);
		rw_dname_lower(low);
		if (memcmp(low + olen - alen, apex, alen) != 0)
			continue;
		const uint8_t *lab[4];
		size_t nl = 0;
		for (const uint8_t *q = low; q < low + olen - alen && nl < 4; q += *q + 1)
			lab[nl++] = q;
		if (nl >= 4 || (nl == 3 && lab[2] + lab[2][0] + 1 != low + olen - alen))
			continue;
		if (nl == 1 && type == RW_TYPE_TXT && label_is(lab[0], "version")) {
			r->version |= rdlen == 2 && rdata[0] == 1 && rdata[1] == '2';
		} else if (nl == 2 && type == RW_TYPE_PTR && label_is(lab[1], "zones")) {
			struct found *f = add_found(r, lab[0]);
			if (f == NULL) {
				ret = RW_ENOMEM;
			} else {
				memcpy(f->name, rdata, rw_dname_len(rdata));
				rw_dname_lower(f->name);
				f->ptrs = 1;
			}
		} else if (nl == 3 && type == RW_TYPE_TXT && label_is(lab[0], "group") &&
		           label_is(lab[2], "zones")) {
			struct found *f = add_found(r, lab[1]);
			if (f == NULL) {
				ret = RW_ENOMEM;
			} else {
				f->groups = 1;
				/* one string filling the record, as Knot takes it */
				if (rdlen >= 1 && rdata[0] == rdlen - 1) {
					memcpy(f->group, rdata + 1, rdata[0]);
					f->group[rdata[0]] = '\0';
				}
			}
		}
	}
	if (ret == 0)
		merge_ids(r);
	free(buf);
	return ret;
}

static bool at_or_below(const uint8_t *name, const uint8_t *apex)
{
	for (const uint8_t *p = name;; p += *p + 1) {
		if (rw_dname_eq(p, apex))
			return true;
		if (*p == 0)
			return false;
	}
}

static bool held_elsewhere(const struct ctl_catalog *st, const uint8_t *cat, const uint8_t *name)
{
	struct cat_member key;
	memcpy(key.name, name, rw_dname_len(name));
	const struct cat_member *m = st->n ? bsearch(&key, st->v, st->n, sizeof(*st->v), cmp_member)
	                                   : NULL;
	return m && !rw_dname_eq(m->cat, cat);
}

/* A zone of the file (not a member) with this apex at the top level. */
static bool configured(const struct rwd_conf *conf, const uint8_t *name)
{
	for (size_t i = 0; i < conf->n_zones; i++)
		if (conf->zones[i].catalog_role != RWD_CATALOG_CONSUMED &&
		    rw_dname_eq(conf->zones[i].dname, name))
			return true;
	return false;
}

/* ---- the zone set of a snapshot ---- */

static int cmp_ptr_name(const void *a, const void *b)
{
	return cmp_name(*(const uint8_t *const *)a, *(const uint8_t *const *)b);
}

static void load_report(void *ctx, const char *msg)
{
	struct zone_report *r = ctx;
	rwd_error("%s", msg);
	if (!r->any && strstr(msg, ": warning: ") == NULL) {
		snprintf(r->err, RWD_CONTROL_ERRLEN, "%s", msg);
		r->any = true;
	}
}

static int add_failure(struct rwd_snapshot *s, const struct rwd_conf_zone *cz, const char *why)
{
	struct rwd_zone_failure *v = realloc(s->failures, (s->n_failures + 1) * sizeof(*v));
	if (v == NULL)
		return RW_ENOMEM;
	s->failures = v;
	struct rwd_zone_failure *f = &v[s->n_failures];
	*f = (struct rwd_zone_failure){ .zone = strdup(cz->name), .error = strdup(why),
	                                .errors = 1 };
	memcpy(f->apex, cz->dname, rw_dname_len(cz->dname));
	if (f->zone == NULL || f->error == NULL) {
		free(f->zone);
		free(f->error);
		return RW_ENOMEM;
	}
	s->n_failures++;
	return 0;
}

/* The folders of path, made as needed (the secondary writes the copy
 * there). Failures are for the writer to report. */
static void make_folders(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(dir, 0755);
			*p = '/';
		}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		rwd_warn("catalog: cannot make the folder %s: %s", dir, strerror(errno));
}

/* The zone of a member new to s: its file when there is one, else a
 * placeholder until its first transfer (listed among the failures). */
static struct rwd_zone *new_zone(struct rwd_control *c, const struct rwd_conf *conf,
                                 const struct rwd_conf_zone *cz, struct rwd_snapshot *s)
{
	char err[RWD_CONTROL_ERRLEN] = "";
	const char *why = "not transferred yet";
	if (access(cz->file, F_OK) == 0) {
		struct rwd_zone_load_opts zo = { 0 };
		struct zone_report rep = { err, false };
		ctl_zone_opts(c, cz, &zo);
		struct rwd_zone *z = rwd_zone_load_limits(cz->dname, cz->file, &zo, &conf->zone_limits,
		                                          load_report, &rep);
		ctl_zone_opts(c, NULL, &zo);
		if (z) {
			rwd_info("zone %s: loaded serial %u, %zu records", cz->name, z->serial,
			         z->n_records);
			return z;
		}
		why = err[0] ? err : "the zone file would not load";
	}
	if (cz->catalog_role == RWD_CATALOG_CONSUMED)
		make_folders(cz->file);
	struct rwd_zone *z = rwd_zone_failed(cz->dname, cz->file);
	if (z && add_failure(s, cz, why) < 0) {
		rwd_zone_free(z);
		z = NULL;
	}
	return z;
}

/* s (built by ctl_prepare from prev's zones) serves conf's top-level zones:
 * those prev lacks added, those conf lacks dropped, views layered again. */
static int fix_zones(struct rwd_control *c, const struct rwd_conf *conf, struct rwd_snapshot *s)
{
	size_t nc = conf->n_zones, n = 0;
	const uint8_t **names = malloc((nc ? nc : 1) * sizeof(*names));
	struct rwd_zone **v = calloc(nc + s->zones->n_zones + 1, sizeof(*v));
	if (names == NULL || v == NULL) {
		free(names);
		free(v);
		return RW_ENOMEM;
	}
	for (size_t i = 0; i < nc; i++)
		names[i] = conf->zones[i].dname;
	if (nc)
		qsort(names, nc, sizeof(*names), cmp_ptr_name);
	for (size_t i = 0; i < s->zones->n_zones; i++) {
		struct rwd_zone *z = s->zones->zones[i];
		const uint8_t *apex = z->apex_name;
		if (nc && bsearch(&apex, names, nc, sizeof(*names), cmp_ptr_name)) {
			rwd_zone_ref(z);
			v[n++] = z;
		}
	}
	free(names);
	for (size_t i = 0; i < nc; i++) {
		const struct rwd_conf_zone *cz = &conf->zones[i];
		if (rwd_zonedb_get(s->zones, cz->dname, rw_dname_len(cz->dname)))
			continue;
		struct rwd_zone *z = new_zone(c, conf, cz, s);
		if (z == NULL) {
			for (size_t k = 0; k < n; k++)
				rwd_zone_free(v[k]);
			free(v);
			return RW_ENOMEM;
		}
		v[n++] = z;
	}
	struct rwd_zonedb *db = rwd_zonedb_new(v, n);
	if (db == NULL) {
		for (size_t k = 0; k < n; k++)
			rwd_zone_free(v[k]);
		free(v);
		return RW_ENOMEM;
	}
	/* each view: its own zones, then the new top level */
	for (size_t i = 0; i < s->n_views; i++) {
		struct rwd_view *sv = &s->views[i];
		struct rwd_zone **own = calloc(sv->n_own + db->n_zones + 1, sizeof(*own));
		if (own == NULL) {
			rwd_zonedb_free(db);
			return RW_ENOMEM;
		}
		for (size_t k = 0; k < sv->n_own; k++) {
			rwd_zone_ref(sv->zones->zones[k]);
			own[k] = sv->zones->zones[k];
		}
		struct rwd_zonedb *layered = rwd_zonedb_layer(own, sv->n_own, db);
		if (layered == NULL) {
			for (size_t k = 0; k < sv->n_own; k++)
				rwd_zone_free(own[k]);
			free(own);
			rwd_zonedb_free(db);
			return RW_ENOMEM;
		}
		rwd_zonedb_free(sv->zones);
		sv->zones = layered;
	}
	rwd_zonedb_free(s->zones);
	s->zones = db;
	/* failures of top-level zones no longer served go */
	size_t k = 0;
	for (size_t i = 0; i < s->n_failures; i++) {
		struct rwd_zone_failure *f = &s->failures[i];
		if (f->view == NULL && rwd_zonedb_get(db, f->apex, rw_dname_len(f->apex)) == NULL) {
			free(f->zone);
			free(f->error);
			continue;
		}
		s->failures[k++] = *f;
	}
	s->n_failures = k;
	return 0;
}

/* ---- a new version of a catalog ---- */

struct change {
	struct cat_member *v;          /* the catalog's new members, sorted by name */
	size_t n;
	unsigned added, removed, regrouped;
	char **files;                  /* the removed members' files, to delete */
	size_t n_files;
	struct cat_member *moved;      /* regrouped: group = the file it was kept in */
	size_t n_moved;
};

static int cmp_found(const void *a, const void *b)
{
	return cmp_name(((const struct found *)a)->name, ((const struct found *)b)->name);
}

/* The members of catalog z (configured as cz) that it may have. */
static int new_members(struct rwd_control *c, const struct rwd_conf_zone *cz,
                       const struct rwd_zone *z, struct change *ch)
{
	struct reading r = { 0 };
	int ret = read_catalog(z, &r);
	if (ret < 0) {
		free(r.v);
		return ret;
	}
	if (!r.version) {
		rwd_error("catalog %s: no version.%s TXT \"2\" (RFC 9432 3): not a catalog runwayd "
		          "reads; its member zones stay as they were", cz->name, cz->name);
		free(r.v);
		return RW_EINVAL;
	}
	struct ctl_catalog *st = c->catalog;
	struct ctl_catalog acc = { 0 };
	size_t over = 0;
	/* in name order: max_members keeps the same ones whatever the records' order */
	if (r.n)
		qsort(r.v, r.n, sizeof(*r.v), cmp_found);
	for (size_t i = 0; i < r.n && ret == 0; i++) {
		const struct found *f = &r.v[i];
		char name[RW_DNAME_MAXLEN * 4 + 1];
		if (!f->member)
			continue;                  /* a property without its member: ignored */
		rw_dname_to_str(f->name, name, sizeof(name));
		const char *why = NULL;
		if (f->ptrs > 1)
			why = "more than one PTR at its member node";
		else if (at_or_below(f->name, cz->dname))
			why = "it is the catalog or a name below it";
		else if (!file_safe(f->name))
			why = "its name has characters other than letters, digits, '-' and '_' (it "
			      "names a file)";
		else if (configured(c->srv->conf, f->name))
			why = "a zone of the configuration has that name";
		else if (held_elsewhere(st, cz->dname, f->name))
			why = "another catalog lists it";
		else if (acc.n >= cz->catalog_max_members) {
			over++;
			continue;
		}
		if (why) {
			rwd_warn("catalog %s: member %s left out: %s", cz->name, name, why);
			continue;
		}
		ret = add_member(&acc, cz->dname, f->name, f->group[0] ? f->group : NULL);
	}
	free(r.v);
	if (ret < 0) {
		members_free(acc.v, acc.n);
		return ret;
	}
	if (over)
		rwd_warn("catalog %s: %zu member(s) past max_members (%u) left out", cz->name, over,
		         cz->catalog_max_members);
	if (acc.n)
		qsort(acc.v, acc.n, sizeof(*acc.v), cmp_member);
	/* a member listed twice (under two ids): the first */
	size_t k = 0;
	for (size_t i = 0; i < acc.n; i++) {
		if (k && rw_dname_eq(acc.v[k - 1].name, acc.v[i].name)) {
			free(acc.v[i].group);
			continue;
		}
		acc.v[k++] = acc.v[i];
	}
	ch->v = acc.v;
	ch->n = k;
	return 0;
}

/* The file of member zone name in conf, or NULL. */
static const char *member_file(const struct rwd_conf *conf, const uint8_t *name)
{
	for (size_t i = 0; conf && i < conf->n_zones; i++)
		if (conf->zones[i].catalog_role == RWD_CATALOG_CONSUMED &&
		    rw_dname_eq(conf->zones[i].dname, name))
			return conf->zones[i].file;
	return NULL;
}

static bool same_group(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Compare ch with the stored members of cat, log, write the store. >0 when
 * the set changed (then c->catalog holds ch's), 0 when not, <0 failure. */
static int take(struct rwd_control *c, const struct rwd_conf_zone *cz, struct change *ch)
{
	struct ctl_catalog *st = c->catalog;
	struct rwd_store_txn *t = NULL;
	int ret = c->store ? rwd_store_begin(c->store, &t) : 0;
	char key[RW_DNAME_MAXLEN * 8 + 4], name[RW_DNAME_MAXLEN * 4 + 1];
	/* gone or regrouped */
	for (size_t i = 0; i < st->n && ret == 0; i++) {
		const struct cat_member *m = &st->v[i];
		if (!rw_dname_eq(m->cat, cz->dname))
			continue;
		const struct cat_member *now = ch->n ? bsearch(m, ch->v, ch->n, sizeof(*ch->v),
		                                               cmp_member) : NULL;
		rw_dname_to_str(m->name, name, sizeof(name));
		if (now && same_group(now->group, m->group))
			continue;
		store_key(cz->dname, m->name, key, sizeof(key));
		if (now) {
			ch->regrouped++;
			rwd_info("catalog %s: member %s: group %s%s%s (was %s%s%s)", cz->name, name,
			         now->group ? "\"" : "", now->group ? now->group : "none",
			         now->group ? "\"" : "", m->group ? "\"" : "",
			         m->group ? m->group : "none", m->group ? "\"" : "");
			if (t)
				ret = rwd_store_put(t, "catalog", key, now->group ? now->group : "",
				                    now->group ? strlen(now->group) : 0);
			/* another template may keep the copy elsewhere: moved there */
			const char *file = member_file(c->srv->conf, m->name);
			struct cat_member *v = file ? realloc(ch->moved, (ch->n_moved + 1) *
			                                                 sizeof(*v)) : NULL;
			if (v) {
				ch->moved = v;
				v[ch->n_moved] = *m;
				if ((v[ch->n_moved].group = strdup(file)) != NULL)
					ch->n_moved++;
			}
		} else {
			/* purged as Knot purges it: not served, its file, serial and
			 * change log gone */
			ch->removed++;
			rwd_info("catalog %s: member %s removed: no longer served", cz->name, name);
			char skey[1200];
			ctl_store_zone_name(NULL, m->name, skey, sizeof(skey));
			if (t && (ret = rwd_store_del(t, "catalog", key)) == 0 &&
			    (ret = rwd_store_del(t, "serials", skey)) == 0)
				ret = rwd_journal_clear(t, skey);
			const char *file = member_file(c->srv->conf, m->name);
			char **v = file ? realloc(ch->files, (ch->n_files + 1) * sizeof(*v)) : NULL;
			if (v) {
				ch->files = v;
				if ((v[ch->n_files] = strdup(file)) != NULL)
					ch->n_files++;
			}
		}
	}
	for (size_t i = 0; i < ch->n && ret == 0; i++) {
		const struct cat_member *m = &ch->v[i];
		const struct cat_member *was = st->n ? bsearch(m, st->v, st->n, sizeof(*st->v),
		                                               cmp_member) : NULL;
		if (was && rw_dname_eq(was->cat, cz->dname))
			continue;
		ch->added++;
		rw_dname_to_str(m->name, name, sizeof(name));
		rwd_info("catalog %s: member %s added%s%s", cz->name, name,
		         m->group ? ", group " : "", m->group ? m->group : "");
		store_key(cz->dname, m->name, key, sizeof(key));
		if (t)
			ret = rwd_store_put(t, "catalog", key, m->group ? m->group : "",
			                    m->group ? strlen(m->group) : 0);
	}
	if (ch->added + ch->removed + ch->regrouped == 0) {
		if (t)
			rwd_store_abort(t);
		return ret < 0 ? ret : 0;
	}
	char err[RWD_CONTROL_ERRLEN];
	if (c->store && ctl_store_end(t, ret, err) < 0) {
		rwd_error("catalog %s: %s", cz->name, err);
		return RW_EIO;
	}
	/* the new set: the other catalogs' members and ch's */
	struct ctl_catalog next = { 0 };
	ret = 0;
	for (size_t i = 0; i < st->n && ret == 0; i++)
		if (!rw_dname_eq(st->v[i].cat, cz->dname))
			ret = add_member(&next, st->v[i].cat, st->v[i].name, st->v[i].group);
	for (size_t i = 0; i < ch->n && ret == 0; i++)
		ret = add_member(&next, ch->v[i].cat, ch->v[i].name, ch->v[i].group);
	if (ret < 0) {
		members_free(next.v, next.n);
		return ret;
	}
	if (next.n)
		qsort(next.v, next.n, sizeof(*next.v), cmp_member);
	members_free(st->v, st->n);
	st->v = next.v;
	st->n = next.n;
	return 1;
}

int ctl_catalog_installed(struct rwd_control *c, const char *view, const uint8_t *apex)
{
	const struct rwd_conf *live = c->srv ? c->srv->conf : NULL;
	const struct rwd_conf_zone *cz = NULL;
	for (size_t i = 0; live && view == NULL && i < live->n_zones && !cz; i++)
		if (live->zones[i].catalog_role == RWD_CATALOG_CONSUMER &&
		    rw_dname_eq(live->zones[i].dname, apex))
			cz = &live->zones[i];
	if (cz == NULL)
		return 0;
	const struct rwd_zone *z = ctl_served_zone(NULL, apex);
	if (z == NULL || z->failed || rwd_zone_is_placeholder(z))
		return 0;                      /* expired: the members stay as they are */
	if (state(c) == NULL)
		return RW_ENOMEM;
	struct change ch = { 0 };
	int ret = new_members(c, cz, z, &ch);
	if (ret == 0)
		ret = take(c, cz, &ch);
	members_free(ch.v, ch.n);
	if (ret <= 0) {
		for (size_t i = 0; i < ch.n_files; i++)
			free(ch.files[i]);
		free(ch.files);
		members_free(ch.moved, ch.n_moved);
		return ret;
	}
	/* published again with the members' zones (cz goes with the old conf) */
	char name[RW_DNAME_MAXLEN * 4 + 1], err[RWD_CONTROL_ERRLEN];
	rw_dname_to_str(apex, name, sizeof(name));
	struct rwd_conf *conf = NULL;
	struct rwd_snapshot *s = NULL;
	ret = ctl_conf_live(c, &conf, err);
	if (ret == 0 && (s = ctl_prepare(c, conf, NULL, NULL, err)) == NULL)
		ret = RW_ENOMEM;
	if (ret == 0 && (ret = fix_zones(c, conf, s)) < 0)
		snprintf(err, sizeof(err), "out of memory");
	if (ret < 0) {
		rwd_error("catalog %s: the member zones cannot be served: %s (they are at the next "
		          "reload)", name, err);
		rwd_snapshot_free(s);
		rwd_conf_free(conf);
		for (size_t i = 0; i < ch.n_files; i++)
			free(ch.files[i]);
		free(ch.files);
		members_free(ch.moved, ch.n_moved);
		return ret;
	}
	size_t served = 0;
	for (size_t i = 0; i < conf->n_zones; i++)
		served += conf->zones[i].catalog_role == RWD_CATALOG_CONSUMED &&
		          rw_dname_eq(conf->zones[i].catalog_member_of, apex);
	ctl_publish(c, s, conf);
	rwd_info("catalog %s: %u member(s) added, %u removed, %u regrouped: %zu served", name,
	         ch.added, ch.removed, ch.regrouped, served);
	/* no longer served: the removed members' files go (as Knot's purge) */
	for (size_t i = 0; i < ch.n_files; i++) {
		if (unlink(ch.files[i]) == 0)
			rwd_info("catalog %s: %s deleted (a removed member's copy)", name, ch.files[i]);
		else if (errno != ENOENT)
			rwd_warn("catalog %s: cannot delete %s: %s", name, ch.files[i], strerror(errno));
		free(ch.files[i]);
	}
	free(ch.files);
	/* a regrouped member's copy where its new template keeps it */
	for (size_t i = 0; i < ch.n_moved; i++) {
		const char *to = member_file(c->srv->conf, ch.moved[i].name);
		const char *from = ch.moved[i].group;
		if (to == NULL || strcmp(to, from) == 0)
			continue;
		make_folders(to);
		if (rename(from, to) == 0)
			rwd_info("catalog %s: %s moved to %s (the member's new template)", name, from, to);
		else if (errno != ENOENT)
			rwd_warn("catalog %s: cannot move %s to %s: %s", name, from, to, strerror(errno));
	}
	members_free(ch.moved, ch.n_moved);
	return 1;
}
