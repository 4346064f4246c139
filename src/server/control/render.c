/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Traffic names rendered into the zones runwayd transfers out, for
 * secondaries that are not runway (docs/transfers.md, "What secondaries
 * that are not runway serve for traffic names").
 *
 * runwayd answers a traffic name per query from its policy (query/steer.c);
 * a zone transfer carries records. So each zone that is transferred out
 * (allow_transfer, render_traffic not false, not a secondary's copy or a
 * catalog) holds, at each of its traffic names, the records a client with
 * no location would get now: A/AAAA (or a CNAME) of a policy or an ALIAS,
 * the SRV records of a pool, with the traffic name's TTL. They are RRset
 * overrides of the zone, as the API's are, but derived: never stored as
 * changes, recomputed at every build (start, reload: ctl_render_opts adds
 * them to the load, ctl_render_built patches in what only the loaded zones
 * tell, an ALIAS's target records or whether a CNAME fits, all before the
 * serials are settled, so a reload that changes nothing keeps the serial)
 * and once a second (ctl_render_tick, from rwd_control_tick; skipped while
 * nothing was published and health did not change): when the health state
 * or the policies change them, the served version is patched
 * (rwd_zone_patch), with the next serial by the zone's serial_policy and
 * the difference appended to its history (IXFR) and the store's journal,
 * and published, which sends the NOTIFYs. At most one such publication per
 * zone per second, so flapping endpoints cannot spin serials. A difference
 * starts from what the change log says the zone holds (struct
 * ctl_render_zone), which a compaction or a fresh load may have lost.
 *
 * The choice is deterministic (rwd_steer.heaviest): no client address, no
 * ECS, no geo data, so geolocation and cidr take their default, geoproximity
 * and latency their first up child; weighted the up child of the highest
 * weight (a canary at 10 never becomes the static answer), multivalue its
 * first `count` up children; failover the first up child; fail_open as on
 * the wire. runwayd's own answers do not change: the steer stage answers
 * A/AAAA/CNAME/ANY (SRV for pools) at a traffic name before the zone's
 * records are looked at; other types there see the zone as rendered.
 *
 * Runway secondaries will get the policies themselves (issue 11): a zone
 * setting can then turn the rendering off for them, nothing here assumes a
 * secondary's kind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/common/log.h"
#include "server/control/internal.h"
#include "server/health/health.h"
#include "server/steer/eval.h"
#include "server/store/journal.h"
#include "server/zone/history.h"
#include "server/zone/source.h"

#define MAX_RECORDS 64                 /* per RRset, as the steer stage answers */

/* The RRsets rendered for one zone: each owner's A, AAAA and CNAME (a
 * policy, an ALIAS) or SRV (a pool), count 0 for "none". */
struct render {
	struct rwd_zone_override *v;
	size_t n, cap;
};

static void render_free(struct render *r)
{
	for (size_t i = 0; i < r->n; i++)
		free((void *)r->v[i].rdata);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Records of one RRset being rendered: count x (uint16 length, bytes). */
struct rdbuf {
	uint8_t b[MAX_RECORDS * (2 + 6 + RW_DNAME_MAXLEN)];
	size_t len;
	uint16_t count;
};

static void rd_add(struct rdbuf *rd, uint16_t type, const uint8_t *a, uint16_t alen,
                   const uint8_t *b, uint16_t blen)
{
	if (rd->count == MAX_RECORDS || rd->len + 2u + alen + blen > sizeof(rd->b))
		return;
	const uint8_t *p = rd->b;
	uint8_t whole[6 + RW_DNAME_MAXLEN];
	memcpy(whole, a, alen);
	if (blen)
		memcpy(whole + alen, b, blen);
	for (uint16_t i = 0; i < rd->count; i++, p += 2u + rw_get16(p))
		if (rw_rdata_equal(type, p + 2, rw_get16(p), whole, (uint16_t)(alen + blen)))
			return;            /* an RRset is a set */
	rw_put16(rd->b + rd->len, (uint16_t)(alen + blen));
	memcpy(rd->b + rd->len + 2, whole, alen + blen);
	rd->len += 2u + alen + blen;
	rd->count++;
}

static int put_rrset(struct render *r, const uint8_t *owner, uint16_t type, uint32_t ttl,
                     const struct rdbuf *rd)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct rwd_zone_override *v = realloc(r->v, cap * sizeof(*v));
		if (v == NULL)
			return RW_ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	struct rwd_zone_override *ov = &r->v[r->n];
	memset(ov, 0, sizeof(*ov));
	memcpy(ov->owner, owner, rw_dname_len(owner));
	ov->type = type;
	ov->ttl = ttl;
	ov->count = rd ? rd->count : 0;
	if (ov->count) {
		uint8_t *p = malloc(rd->len);
		if (p == NULL)
			return RW_ENOMEM;
		memcpy(p, rd->b, rd->len);
		ov->rdata = p;
	}
	r->n++;
	return 0;
}

/* ---- the choice ---- */

/* What one evaluation of t for family gives: addresses into addrs, or the
 * CNAME of a CNAME endpoint into cname (as query/steer.c answer_policy). */
static void eval_policy(struct rwd_steer *st, const struct rwd_traffic *t, int family,
                        struct rdbuf *addrs, struct rdbuf *cname)
{
	struct rwd_steer_result res;
	if (!rwd_steer_eval(st, t, family, &res))
		return;
	if (res.endpoints[0]->cname_len) {
		const struct rwd_endpoint *e = res.endpoints[0];
		if (cname)
			rd_add(cname, RW_TYPE_CNAME, e->cname, e->cname_len, NULL, 0);
		return;
	}
	uint16_t type = family == AF_INET ? RW_TYPE_A : RW_TYPE_AAAA;
	for (unsigned i = 0; i < res.n; i++) {
		const struct rwd_endpoint *e = res.endpoints[i];
		for (unsigned k = 0; !e->cname_len && k < e->n_addrs; k++) {
			const struct rwd_endpoint_addr *a = &e->addrs[k];
			if (a->addr.family == family && (e->check == NULL || rwd_steer_slot_up(st, a->slot)))
				rd_add(addrs, type, a->addr.bytes, family == AF_INET ? 4 : 16, NULL, 0);
		}
	}
}

/* May the zone hold a CNAME at owner? Only where it has nothing but what
 * the rendering replaces (RFC 1034 3.6.2), and never at the apex; without
 * a served version to look at (start) not yet: the tick adds it. */
static bool cname_fits(const struct rwd_zone *z, const uint8_t *owner)
{
	if (z == NULL || rw_dname_eq(owner, z->apex_name))
		return false;
	const struct rwd_node *n = rwd_zone_find(z, owner, rw_dname_len(owner));
	for (unsigned i = 0; n && i < n->n_rrsets; i++) {
		uint16_t t = n->rrsets[i].type;
		if (t != RW_TYPE_A && t != RW_TYPE_AAAA && t != RW_TYPE_CNAME)
			return false;
	}
	return true;
}

/* Records at owner would not load: below a DNAME of the zone (load.c). */
static bool below_dname(const struct rwd_zone *z, const uint8_t *owner)
{
	if (z == NULL)
		return false;
	size_t len = rw_dname_len(owner);
	while (len > z->apex_len) {
		len -= owner[0] + 1u;
		owner += owner[0] + 1u;
		const struct rwd_node *n = rwd_zone_find(z, owner, len);
		if (n && (n->flags & RWD_NODE_DNAME))
			return true;
	}
	return false;
}

struct render_env {
	const struct rwd_model *m;
	size_t view;                   /* the model's view index; SIZE_MAX: top level */
	const struct rwd_zonedb *zones;   /* served now (ALIAS targets); may be NULL */
	const struct rwd_zone *served; /* the zone's served version; NULL at start */
	struct rwd_steer st;
	struct rwd_client client;
	uint64_t rng;
};

static int render_one(struct render_env *env, const struct rwd_traffic *t, struct render *r)
{
	struct rdbuf *a4 = calloc(4, sizeof(struct rdbuf));
	if (a4 == NULL)
		return RW_ENOMEM;
	struct rdbuf *a6 = a4 + 1, *cn = a4 + 2, *cn6 = a4 + 3;
	int ret = 0;
	if (t->kind == RWD_TRAFFIC_SRV) {   /* no fail-open pass: as answer_srv (steer.c) */
		for (unsigned i = 0; i < t->n_srv; i++) {
			const struct rwd_srv_member *mb = &t->srv[i];
			const struct rwd_endpoint *e = mb->endpoint;
			bool up = false;
			for (unsigned k = 0; k < e->n_addrs && !up; k++)
				up = e->check == NULL || rwd_slot_up(env->st.health, e->addrs[k].slot);
			if (!up || e->drained)
				continue;
			uint8_t fixed[6];
			rw_put16(fixed, mb->priority);
			rw_put16(fixed + 2, mb->weight);
			rw_put16(fixed + 4, mb->port);
			rd_add(a4, RW_TYPE_SRV, fixed, 6, e->target, e->target_len);
		}
		ret = put_rrset(r, t->name, RW_TYPE_SRV, t->ttl, a4);
		free(a4);
		return ret;
	}
	const struct rwd_traffic *p = t;
	uint32_t ttls[2] = { t->ttl, t->ttl };   /* A, AAAA */
	if (t->kind == RWD_TRAFFIC_ALIAS) {
		/* CNAME flattening: the target's policy, or its records as served */
		p = rwd_model_find_in_view(env->m, env->view, t->alias, t->alias_len);
		if (p && p->kind != RWD_TRAFFIC_POLICY)
			p = NULL;
	}
	if (p) {
		env->st.client->located = false;
		eval_policy(&env->st, p, AF_INET, a4, t == p ? cn : NULL);
		eval_policy(&env->st, p, AF_INET6, a6, t == p ? cn6 : NULL);
	} else if (env->zones) {
		for (int k = 0; k < 2; k++) {
			uint16_t type = k ? RW_TYPE_AAAA : RW_TYPE_A;
			const struct rwd_zone *z = rwd_zonedb_find(env->zones, t->alias, t->alias_len, type);
			const struct rwd_node *n = z ? rwd_zone_find(z, t->alias, t->alias_len) : NULL;
			const struct rwd_rrset *rs = n && !n->cut ? rwd_node_rrset(n, type) : NULL;
			if (rs == NULL)
				continue;
			RWD_RRSET_FOREACH(rs, rd, i)
				rd_add(k ? a6 : a4, type, rd + 2, rw_get16(rd), NULL, 0);
			ttls[k] = rs->ttl < t->ttl ? rs->ttl : t->ttl;   /* as the steer stage */
		}
	}
	/* A CNAME stands alone: it when the A side gives one (or gives nothing
	 * and the AAAA side does), else the addresses. */
	const struct rdbuf *cname = cn->count ? cn : a4->count == 0 && cn6->count ? cn6 : NULL;
	if (cname && !cname_fits(env->served, t->name))
		cname = NULL;
	uint32_t ttl = t->ttl;
	if (cname) {
		ret = put_rrset(r, t->name, RW_TYPE_CNAME, ttl, cname);
		if (ret == 0)
			ret = put_rrset(r, t->name, RW_TYPE_A, ttl, NULL);
		if (ret == 0)
			ret = put_rrset(r, t->name, RW_TYPE_AAAA, ttl, NULL);
	} else {
		ret = put_rrset(r, t->name, RW_TYPE_A, ttls[0], a4);
		if (ret == 0)
			ret = put_rrset(r, t->name, RW_TYPE_AAAA, ttls[1], a6);
		if (ret == 0)
			ret = put_rrset(r, t->name, RW_TYPE_CNAME, ttl, NULL);
	}
	free(a4);
	return ret;
}

/* The model's entry t, seen from the zone's view, and in the zone? */
static bool in_zone(const struct render_env *env, const struct rwd_traffic *t,
                    const uint8_t *apex)
{
	size_t alen = rw_dname_len(apex);
	return rw_dname_is_sub(t->name, apex) && (t->zone_len == 0 || t->zone_len == alen) &&
	       rwd_model_find_in_view(env->m, env->view, t->name, t->name_len) == t;
}

/* A copy of the health state (rwd_health_foreach, under the service's
 * lock: no RCU reader on the control thread). */
struct health_copy {
	struct rwd_health_state s;
	uint32_t cap;
	bool failed;
};

static void copy_slot(void *ctx, const struct rwd_health_target *t)
{
	struct health_copy *h = ctx;
	if (t->slot >= h->cap) {
		uint32_t cap = h->cap ? h->cap : 64;
		while (cap <= t->slot)
			cap *= 2;
		uint8_t *p = realloc(h->s.state, cap);
		if (p == NULL) {
			h->failed = true;
			return;
		}
		memset(p + h->cap, RWD_SLOT_UP, cap - h->cap);
		h->s.state = p;
		h->cap = cap;
	}
	h->s.state[t->slot] = (uint8_t)t->state;
	if (t->slot >= h->s.n_slots)
		h->s.n_slots = t->slot + 1;
}

/* Does cz get its traffic names rendered? */
static bool renders(const struct rwd_conf_zone *cz)
{
	return cz->render_traffic && cz->n_allow_transfer > 0 && cz->n_primaries == 0 &&
	       cz->catalog_role != RWD_CATALOG_PRODUCER;
}

/* The model's index of view (NULL: SIZE_MAX, the top level). */
static size_t view_index(const struct rwd_conf *conf, const char *view)
{
	for (size_t v = 0; view && v < conf->n_views; v++)
		if (strcmp(conf->views[v].name, view) == 0)
			return v;
	return SIZE_MAX;
}

/* The rendering of zone cz with model m and health h (NULL: all up). */
static int render_zone(const struct rwd_model *m, const struct rwd_conf *conf,
                       const struct rwd_conf_zone *cz, const struct rwd_health_state *h,
                       const struct rwd_zonedb *zones, const struct rwd_zone *served,
                       struct render *r)
{
	struct render_env env = { .m = m, .view = view_index(conf, cz->view), .zones = zones,
	                          .served = served, .rng = 0x9e3779b97f4a7c15ULL };
	/* no address, no ECS: no rule of a place matches (family 0) */
	env.st = (struct rwd_steer){ .model = m, .health = h, .rng = &env.rng,
	                              .client = &env.client, .heaviest = true };
	int ret = 0;
	const struct rwd_traffic *lists[2] = { m->traffic, NULL };
	size_t counts[2] = { m->n_traffic, 0 };
	if (env.view < m->n_views) {
		lists[1] = m->views[env.view].traffic;
		counts[1] = m->views[env.view].n_traffic;
	}
	for (int l = 0; l < 2 && ret == 0; l++)
		for (size_t i = 0; i < counts[l] && ret == 0; i++) {
			const struct rwd_traffic *t = &lists[l][i];
			if (in_zone(&env, t, cz->dname) && !below_dname(served, t->name))
				ret = render_one(&env, t, r);
		}
	if (ret < 0)
		render_free(r);
	return ret;
}

/* ---- at a build: the rendering goes into the load ---- */

void ctl_render_opts(void *ctx, const struct rwd_conf_zone *cz, struct rwd_zone_load_opts *out)
{
	struct ctl_render_build *b = ctx;
	/* one load at a time (under the control lock); released with cz NULL */
	static __thread struct render r;
	static __thread struct rwd_zone_override *all;
	ctl_zone_opts(b->c, cz, out);
	render_free(&r);
	free(all);
	all = NULL;
	if (cz == NULL || !renders(cz) || b->conf->model == NULL)
		return;
	/* The slot numbers the health state (still the running model's) uses:
	 * the build renumbers the same way again (rwd_model_keep_slots). */
	if (!b->slots_kept && rwd_model_keep_slots(b->conf->model, b->prev ? b->prev->model : NULL) < 0)
		return;
	b->slots_kept = true;
	struct health_copy h = { 0 };
	if (b->c->srv && b->c->srv->health)
		rwd_health_foreach(b->c->srv->health, copy_slot, &h);
	const struct rwd_zone *served = NULL;
	const struct rwd_zonedb *zones = NULL;
	if (b->prev) {
		served = ctl_served_zone(cz->view, cz->dname);
		zones = b->prev->zones;
	}
	if (served && (served->failed || rwd_zone_is_placeholder(served)))
		served = NULL;
	int ret = h.failed ? RW_ENOMEM : render_zone(b->conf->model, b->conf, cz, h.s.n_slots ?
	                                             &h.s : NULL, zones, served, &r);
	free(h.s.state);
	if (ret < 0 || r.n == 0) {
		if (ret < 0)
			rwd_error("zone %s: cannot render its traffic names (out of memory)", cz->name);
		return;
	}
	/* after the store's overrides: the rendering replaces what they say */
	all = malloc((out->n_overrides + r.n) * sizeof(*all));
	if (all == NULL)
		return;
	if (out->n_overrides)
		memcpy(all, out->overrides, out->n_overrides * sizeof(*all));
	memcpy(all + out->n_overrides, r.v, r.n * sizeof(*all));
	out->overrides = all;
	out->n_overrides += r.n;
}

/* A rendered zone: the rate limit, and what its change log says it holds. */
struct ctl_render_zone {
	char skey[1200];
	time_t last;                   /* monotonic second of the last publication */
	char error[RWD_CONTROL_ERRLEN];   /* the last failure, logged once */
	/* The rendering last seen in (or published into) the version of
	 * held_serial. A compaction or an API change loaded afresh (file and
	 * store) rebuilds the zone without it while the change log still says
	 * it is there: the next difference starts from held, not from what the
	 * rebuilt version holds, or secondaries would be told to remove
	 * records they never had. */
	bool held_known;
	uint32_t held_serial;
	struct render held;
	struct rwd_zone *held_zone;    /* after a build: held's version, until its serial
	                                * (settled after the rendering) is read; a reference */
};

/* After a build, held's serial is its version's, settled since. */
static void held_resolve(struct ctl_render_zone *zs)
{
	if (zs->held_zone == NULL)
		return;
	zs->held_serial = zs->held_zone->serial;
	zs->held_known = true;
	rwd_zone_free(zs->held_zone);
	zs->held_zone = NULL;
}

static struct ctl_render_zone *zone_state(struct rwd_control *c, const char *skey)
{
	for (size_t i = 0; i < c->n_render; i++)
		if (strcmp(c->render[i].skey, skey) == 0)
			return &c->render[i];
	struct ctl_render_zone *v = realloc(c->render, (c->n_render + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	c->render = v;
	struct ctl_render_zone *z = &v[c->n_render++];
	memset(z, 0, sizeof(*z));
	snprintf(z->skey, sizeof(z->skey), "%s", skey);
	return z;
}

/* ---- after a build: what only the loaded zones tell ---- */

/* Put z2 wherever db holds z (its list and its table: same apex, same
 * slot). How many places. */
static unsigned swap_in(struct rwd_zonedb *db, const struct rwd_zone *z, struct rwd_zone *z2)
{
	unsigned n = 0;
	for (size_t i = 0; db && i < db->n_zones; i++)
		if (db->zones[i] == z) {
			db->zones[i] = z2;
			n++;
		}
	for (size_t i = 0; db && n && i <= db->table_mask; i++)
		if (db->table[i] == z)
			db->table[i] = z2;
	return n;
}

static bool holds(const struct rwd_zone *z, const struct rwd_zone_override *ov);

/* The version of cz that s serves (a view's own zone for a view's). */
static struct rwd_zone *built_zone(struct rwd_snapshot *s, const struct rwd_conf_zone *cz,
                                   struct rwd_zonedb **db)
{
	*db = s->zones;
	if (cz->view) {
		const struct rwd_view *v = rwd_snapshot_view(s, cz->view);
		*db = v ? v->zones : NULL;
		for (size_t i = 0; v && i < v->n_own; i++)
			if (rw_dname_eq(v->zones->zones[i]->apex_name, cz->dname))
				return v->zones->zones[i];
		return NULL;
	}
	return rwd_zonedb_get(s->zones, cz->dname, rw_dname_len(cz->dname));
}

void ctl_render_built(struct rwd_control *c, const struct rwd_conf *conf, struct rwd_snapshot *s,
                      const struct rwd_snapshot *prev)
{
	struct health_copy h = { 0 };
	if (c->srv && c->srv->health)
		rwd_health_foreach(c->srv->health, copy_slot, &h);
	for (size_t v = 0; v <= conf->n_views && !h.failed; v++) {
		const struct rwd_conf_zone *czs = v == 0 ? conf->zones : conf->views[v - 1].zones;
		size_t n = v == 0 ? conf->n_zones : conf->views[v - 1].n_zones;
		for (size_t i = 0; i < n; i++) {
			const struct rwd_conf_zone *cz = &czs[i];
			struct rwd_zonedb *db;
			struct rwd_zone *z = renders(cz) ? built_zone(s, cz, &db) : NULL;
			if (z == NULL || z->failed || rwd_zone_is_placeholder(z))
				continue;
			struct rwd_zonedb *pdb;
			if (prev && built_zone((struct rwd_snapshot *)prev, cz, &pdb) == z)
				continue;      /* kept from before (its load failed): served as is */
			struct render r = { 0 };
			if (render_zone(s->model, conf, cz, h.s.n_slots ? &h.s : NULL, db, z, &r) < 0)
				break;
			bool same = true;
			for (size_t k = 0; k < r.n && same; k++)
				same = holds(z, &r.v[k]);
			struct rwd_zone *z2 = same ? NULL : rwd_zone_patch(z, r.v, r.n, z->serial);
			char skey[1200];
			ctl_store_zone_name(cz->view, cz->dname, skey, sizeof(skey));
			struct ctl_render_zone *zs = same || z2 ? zone_state(c, skey) : NULL;
			if (zs) {
				/* what the version published holds, its serial once settled */
				render_free(&zs->held);
				zs->held = r;
				memset(&r, 0, sizeof(r));
				zs->held_known = false;
				if (zs->held_zone)
					rwd_zone_free(zs->held_zone);
				zs->held_zone = z2 ? z2 : z;
				rwd_zone_ref(zs->held_zone);
			}
			render_free(&r);
			if (same)
				continue;
			if (z2 == NULL) {
				rwd_warn("zone %s: cannot complete the rendering of its traffic names now "
				         "(tried again in a second)", cz->name);
				continue;
			}
			/* every zone set of s that holds z holds z2 instead, with a
			 * reference each, as it held z */
			unsigned refs = swap_in(s->zones, z, z2);
			for (size_t k = 0; k < s->n_views; k++)
				refs += swap_in(s->views[k].zones, z, z2);
			for (unsigned k = 1; k < refs; k++)
				rwd_zone_ref(z2);
			for (unsigned k = 0; k < refs; k++)
				rwd_zone_free(z);
			if (refs == 0)
				rwd_zone_free(z2);
		}
	}
	free(h.s.state);
}

/* ---- once a second: what changed since ---- */

/* Records in wire form, end to end. */
struct wire {
	uint8_t *p;
	size_t len, cap;
	uint32_t n;
	int err;
};

static void wire_rr(struct wire *w, const uint8_t *owner, uint16_t type, uint32_t ttl,
                    const uint8_t *rd)
{
	size_t olen = rw_dname_len(owner), need = olen + 10u + rw_get16(rd);
	if (w->err)
		return;
	if (w->len + need > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 512;
		while (cap < w->len + need)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (p == NULL) {
			w->err = RW_ENOMEM;
			return;
		}
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
}

/* One RRset as a difference sees it: served, or as last rendered. */
struct rrview {
	bool present;
	uint32_t ttl;
	uint16_t count;
	const uint8_t *rdata;          /* count x (uint16 length, bytes) */
};

static struct rrview view_of_zone(const struct rwd_zone *z, const uint8_t *owner, uint16_t type)
{
	const struct rwd_node *n = rwd_zone_find(z, owner, rw_dname_len(owner));
	const struct rwd_rrset *rs = n ? rwd_node_rrset(n, type) : NULL;
	return rs ? (struct rrview){ true, rs->ttl, rs->count, rs->rdata } : (struct rrview){ 0 };
}

/* Did a difference of h since serial touch owner/type? Unknown (serial
 * not in h) counts as touched. */
static bool touched_since(const struct rwd_zone_history *h, uint32_t serial, const uint8_t *owner,
                          uint16_t type)
{
	long from = rwd_zone_history_find(h, serial);
	if (from < 0)
		return true;
	for (size_t i = (size_t)from; i < h->n; i++) {
		const struct rwd_zone_diff *d = h->diffs[i];
		struct rwd_diff_rr rr;
		for (size_t at = 0, len; at < d->len; at += len) {
			if ((len = rwd_diff_rr_parse(d->data + at, d->len - at, &rr)) == 0)
				return true;
			if (rr.type == type && rr.owner_len == rw_dname_len(owner) &&
			    rw_dname_eq(rr.owner, owner))
				return true;
		}
	}
	return false;
}

/* What the change log says cur holds for ov's RRset (see struct
 * ctl_render_zone): held's when nothing since held_serial changed it. */
static struct rrview logged(const struct ctl_render_zone *zs, const struct rwd_zone *cur,
                            const struct rwd_zone_override *ov)
{
	const struct render *hd = zs ? &zs->held : NULL;
	for (size_t i = 0; zs && zs->held_known && i < hd->n; i++) {
		const struct rwd_zone_override *o = &hd->v[i];
		if (o->type != ov->type || !rw_dname_eq(o->owner, ov->owner))
			continue;
		if (zs->held_serial != cur->serial &&
		    touched_since(cur->history, zs->held_serial, ov->owner, ov->type))
			break;
		return (struct rrview){ o->count > 0, o->ttl, o->count, o->rdata };
	}
	return view_of_zone(cur, ov->owner, ov->type);
}

/* Is ov exactly v (count 0: v absent)? */
static bool same_rrset(const struct rrview *v, const struct rwd_zone_override *ov)
{
	if (!v->present || ov->count == 0)
		return !v->present && ov->count == 0;
	if (v->ttl != ov->ttl || v->count != ov->count)
		return false;
	const uint8_t *q = ov->rdata;
	for (unsigned k = 0; k < ov->count; k++, q += 2u + rw_get16(q)) {
		bool found = false;
		const uint8_t *rd = v->rdata;
		for (unsigned i = 0; i < v->count && !found; i++, rd += 2u + rw_get16(rd))
			found = rw_rdata_equal(ov->type, rd + 2, rw_get16(rd), q + 2, rw_get16(q));
		if (!found)
			return false;
	}
	return true;            /* as many, each found, no duplicates on either side */
}

/* Does zone z hold exactly ov (count 0: no such RRset)? */
static bool holds(const struct rwd_zone *z, const struct rwd_zone_override *ov)
{
	struct rrview v = view_of_zone(z, ov->owner, ov->type);
	return same_rrset(&v, ov);
}

/* The IXFR difference cur -> serial that the RRsets of r make against
 * what the change log says cur holds (logged()): each replaced RRset out
 * whole, the new one in whole (RRsets of a rendering are a few records). */
static struct rwd_zone_diff *render_diff(const struct rwd_zone *cur, const struct render *r,
                                         uint32_t serial, const struct ctl_render_zone *zs)
{
	struct wire rem = { 0 }, add = { 0 };
	for (size_t i = 0; i < r->n; i++) {
		const struct rwd_zone_override *ov = &r->v[i];
		struct rrview old = logged(zs, cur, ov);
		if (same_rrset(&old, ov))
			continue;
		const uint8_t *q = old.rdata;
		for (unsigned k = 0; old.present && k < old.count; k++, q += 2u + rw_get16(q))
			wire_rr(&rem, ov->owner, ov->type, old.ttl, q);
		q = ov->rdata;
		for (unsigned k = 0; k < ov->count; k++, q += 2u + rw_get16(q))
			wire_rr(&add, ov->owner, ov->type, ov->ttl, q);
	}
	uint8_t soa0[600], soa1[600];
	size_t l0 = rwd_zone_soa_record(cur, cur->serial, soa0, sizeof(soa0));
	size_t l1 = rwd_zone_soa_record(cur, serial, soa1, sizeof(soa1));
	struct rwd_zone_diff *d = NULL;
	if (!rem.err && !add.err && l0 && l1)
		d = rwd_zone_diff_new(cur->serial, serial, soa0, l0, rem.p, rem.len, rem.n, soa1, l1,
		                      add.p, add.len, add.n);
	free(rem.p);
	free(add.p);
	return d;
}


static void render_failed(struct ctl_render_zone *zs, const char *zname, const char *why)
{
	if (strcmp(zs->error, why) != 0)
		rwd_error("zone %s: cannot publish the new rendering of its traffic names (tried "
		          "again in a second): %s", zname, why);
	snprintf(zs->error, sizeof(zs->error), "%s", why);
}

/*
 * The served version of cz with the RRsets of r, published: under the next
 * serial with the difference logged, or, when the change log says the zone
 * holds r already (a compaction or a fresh load left the rendering out),
 * under the same serial and history. The serial published in *published.
 */
static bool publish_rendering(struct rwd_control *c, const struct rwd_conf_zone *cz,
                              const struct rwd_zone *cur, const struct render *r,
                              struct ctl_render_zone *zs, const char *skey, uint32_t *published)
{
	char err[RWD_CONTROL_ERRLEN];
	uint32_t stored = c->store ? ctl_stored_serial(c, skey) : 0;
	/* the store ahead of what is served (as zones.c): go on from it */
	bool ahead = rwd_serial_newer(stored, cur->serial);
	uint32_t serial = rwd_serial_next((int)cz->serial_policy, ahead ? stored : cur->serial,
	                                  time(NULL));
	struct rwd_zone_diff *d = render_diff(cur, r, serial, zs);
	if (d == NULL) {
		render_failed(zs, cz->name, "out of memory");
		return false;
	}
	bool restore = !ahead && d->n_removed == 0 && d->n_added == 0;
	if (restore) {
		serial = cur->serial;
		rwd_zone_diff_free(d);
		d = NULL;
	}
	struct rwd_zone *z = rwd_zone_patch(cur, r->v, r->n, serial);
	bool incremental = z != NULL;
	if (z == NULL) {
		/* the patch declines (its chain is long): the file, the store's
		 * overrides and the rendering afresh */
		struct rwd_zone_load_opts opts = { 0 };
		ctl_zone_opts(c, cz, &opts);
		struct rwd_zone_override *all = malloc((opts.n_overrides + r->n) * sizeof(*all));
		struct zone_report rep = { err, false };
		snprintf(err, sizeof(err), "out of memory");
		if (all) {
			if (opts.n_overrides)
				memcpy(all, opts.overrides, opts.n_overrides * sizeof(*all));
			memcpy(all + opts.n_overrides, r->v, r->n * sizeof(*all));
			struct rwd_zone_load_opts o2 = { all, opts.n_overrides + r->n, serial };
			z = rwd_zone_load_limits(cz->dname, cz->file, &o2, ctl_zone_limits(c),
			                         ctl_zone_report, &rep);
		}
		free(all);
		ctl_zone_opts(c, NULL, &opts);
		if (z == NULL) {
			rwd_zone_diff_free(d);
			render_failed(zs, cz->name, err);
			return false;
		}
	}
	uint64_t digest = 0;
	uint32_t n_rem = 0, n_add = 0;
	if (restore) {
		z->history = cur->history;     /* what the log says: nothing changed */
		rwd_zone_history_ref(z->history);
	} else {
		z->history = rwd_zone_history_append(ahead ? NULL : cur->history, d,
		                                     cz->journal_max_depth,
		                                     (size_t)cz->journal_max_size);
		if (!(c->store && stored == cur->serial &&
		      rwd_journal_digest_get(c->store, skey, &digest) == 0 &&
		      (digest += rwd_zone_diff_digest(d), true)))
			digest = rwd_zone_digest(z);
		n_rem = d->n_removed;
		n_add = d->n_added;
		rwd_zone_diff_free(d);
		if (z->history == NULL) {
			rwd_zone_free(z);
			render_failed(zs, cz->name, "out of memory");
			return false;
		}
	}
	struct rwd_conf *conf = NULL;
	if (ctl_conf_live(c, &conf, err) < 0) {
		rwd_zone_free(z);
		render_failed(zs, cz->name, err);
		return false;
	}
	struct rwd_zone_history *h = z->history;
	rwd_zone_history_ref(h);       /* for the store: ctl_prepare takes z over */
	struct rwd_snapshot *s = ctl_prepare(c, conf, z, cz->view, err);
	int ret = s ? 0 : RW_ENOMEM;
	if (s && c->store && !restore) {
		/* the serial, log and digest, as an API change keeps them (zones.c) */
		struct rwd_store_txn *t = NULL;
		char sv[16];
		snprintf(sv, sizeof(sv), "%u", serial);
		ret = rwd_store_begin(c->store, &t);
		if (ret == 0)
			ret = rwd_store_put(t, "serials", skey, sv, strlen(sv));
		if (ret == 0)
			ret = h && h->n ? rwd_journal_sync(t, skey, h) : rwd_journal_clear(t, skey);
		if (ret == 0)
			ret = rwd_journal_digest_put(t, skey, digest);
		ret = ctl_store_end(t, ret, err);
	}
	rwd_zone_history_free(h);
	if (ret < 0) {
		rwd_snapshot_free(s);
		rwd_conf_free(conf);
		render_failed(zs, cz->name, err);
		return false;
	}
	/* cz goes with the configuration the publication replaces */
	if (restore)
		rwd_info("zone %s%s%s: the rendering of its traffic names put back (the zone was "
		         "loaded afresh without it), serial %u kept", cz->name,
		         cz->view ? " in view " : "", cz->view ? cz->view : "", serial);
	else
		rwd_info("zone %s%s%s: traffic names rendered anew (%u record(s) removed, %u added), "
		         "serial %u (%s)", cz->name, cz->view ? " in view " : "",
		         cz->view ? cz->view : "", n_rem, n_add, serial,
		         incremental ? "incremental" : "full load");
	ctl_publish(c, s, conf);
	zs->error[0] = '\0';
	*published = serial;
	return true;
}

void ctl_render_tick(struct rwd_control *c)
{
	if (c == NULL || c->srv == NULL || c->stopping)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct health_copy h = { 0 };
	pthread_mutex_lock(&c->lock);
	/* Nothing published and no health change since the last complete
	 * pass: the renderings are what they were (an idle second costs two
	 * counters, whatever the number of zones and names). */
	struct rwd_health_stats hst = { 0 };
	rwd_health_get_stats(c->srv->health, &hst);
	uint64_t gen = rwd_snapshot_get()->generation;
	if (c->render_seen && c->render_gen == gen && c->render_health == hst.publications) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	bool complete = true;          /* no zone left for a later second */
	/* conf and zones are replaced by each publication: walk by index over
	 * the configuration as it is after each one (publishing here frees
	 * the previous configuration, whose zone entries are cz) */
	bool health_read = false;
	for (size_t v = 0, i = 0;;) {
		const struct rwd_conf *conf = c->srv->conf;
		if (v > conf->n_views)
			break;
		const struct rwd_conf_zone *czs = v == 0 ? conf->zones : conf->views[v - 1].zones;
		size_t n = v == 0 ? conf->n_zones : conf->views[v - 1].n_zones;
		if (i >= n) {
			v++;
			i = 0;
			continue;
		}
		const struct rwd_conf_zone *cz = &czs[i++];
		if (!renders(cz))
			continue;
		const struct rwd_zone *cur = ctl_served_zone(cz->view, cz->dname);
		if (cur == NULL || cur->failed || rwd_zone_is_placeholder(cur))
			continue;
		if (!health_read && c->srv->health) {
			rwd_health_foreach(c->srv->health, copy_slot, &h);
			health_read = true;
		}
		if (h.failed) {
			complete = false;
			break;
		}
		const struct rwd_snapshot *snap = rwd_snapshot_get();
		const struct rwd_view *sv = cz->view ? rwd_snapshot_view(snap, cz->view) : NULL;
		struct render r = { 0 };
		if (render_zone(snap->model, conf, cz, h.s.n_slots ? &h.s : NULL,
		                sv ? sv->zones : snap->zones, cur, &r) < 0) {
			complete = false;
			break;
		}
		bool same = true;
		for (size_t k = 0; k < r.n && same; k++)
			same = holds(cur, &r.v[k]);
		char skey[1200];
		ctl_store_zone_name(cz->view, cz->dname, skey, sizeof(skey));
		struct ctl_render_zone *zs = zone_state(c, skey);
		if (zs)
			held_resolve(zs);
		uint32_t published = cur->serial;
		/* at most one publication per zone per second */
		bool keep = zs && (same || (zs->last != now.tv_sec &&
		                            (zs->last = now.tv_sec,
		                             publish_rendering(c, cz, cur, &r, zs, skey, &published))));
		complete = complete && zs && (same || keep);
		if (keep && !(same && zs->held_known && zs->held_serial == published)) {
			render_free(&zs->held);   /* in the version served now */
			zs->held = r;
			zs->held_serial = published;
			zs->held_known = true;
			memset(&r, 0, sizeof(r));
		}
		render_free(&r);
	}
	/* what this pass saw, publications of its own included */
	c->render_seen = complete;
	c->render_gen = rwd_snapshot_get()->generation;
	c->render_health = hst.publications;
	pthread_mutex_unlock(&c->lock);
	free(h.s.state);
}

void ctl_render_free(struct rwd_control *c)
{
	for (size_t i = 0; i < c->n_render; i++) {
		render_free(&c->render[i].held);
		if (c->render[i].held_zone)
			rwd_zone_free(c->render[i].held_zone);
	}
	free(c->render);
	c->render = NULL;
	c->n_render = 0;
}
