/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stage "steer": names under traffic: answer from their policy, the
 * health state and the client's place, instead of static records. The body
 * is written in place behind the question (these answers change per query,
 * so nothing is precomputed); the encode stage adds header and OPT.
 * Query types a traffic name does not steer (MX, TXT, ...) fall through to
 * the zone's own records.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/dname.h"
#include "lib/wire.h"
#include "server/query/stages.h"
#include "server/steer/eval.h"

#define MAX_RECORDS 64

struct body {
	uint8_t *p;
	size_t len, room;
	uint16_t an, ar;
	bool overflow;
};

/* One record: owner (NULL: the question name), type, TTL, RDATA. */
static void put_rr(struct body *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, uint16_t rdlen, const uint8_t *rdata2, uint16_t rdlen2)
{
	size_t olen = owner ? rw_dname_len(owner) : 2;
	size_t need = olen + 10u + rdlen + rdlen2;
	if (b->overflow || b->len + need > b->room) {
		b->overflow = true;
		return;
	}
	uint8_t *w = b->p + b->len;
	if (owner)
		memcpy(w, owner, olen);
	else
		rw_put16(w, 0xc000 | RW_HDR_LEN);
	w += olen;
	rw_put16(w, type);
	rw_put16(w + 2, RW_CLASS_IN);
	rw_put32(w + 4, ttl);
	rw_put16(w + 8, (uint16_t)(rdlen + rdlen2));
	memcpy(w + 10, rdata, rdlen);
	if (rdlen2)
		memcpy(w + 10 + rdlen, rdata2, rdlen2);
	b->len += need;
}

/* The addresses of endpoint e of family that may be given out now. */
static void put_addresses(struct body *b, const struct rwd_steer *st, const uint8_t *owner,
                          const struct rwd_endpoint *e, int family, uint32_t ttl, uint16_t *count)
{
	uint16_t type = family == AF_INET ? RW_TYPE_A : RW_TYPE_AAAA;
	for (unsigned i = 0; i < e->n_addrs && *count < MAX_RECORDS; i++) {
		const struct rwd_endpoint_addr *a = &e->addrs[i];
		if (a->addr.family != family || (e->check && !rwd_steer_slot_up(st, a->slot)))
			continue;
		put_rr(b, owner, type, ttl, a->addr.bytes, family == AF_INET ? 4 : 16, NULL, 0);
		(*count)++;
	}
}

static void client_of(const struct rwd_query *qr, struct rwd_client *c)
{
	memset(c, 0, sizeof(*c));
	const struct rw_edns *e = &qr->q.edns;
	if (e->ecs && e->ecs_source > 0) {   /* RFC 7871: the client's network */
		c->addr.family = e->ecs_family == 1 ? AF_INET : AF_INET6;
		memcpy(c->addr.bytes, e->ecs_addr, 16);
		c->prefix_len = e->ecs_source;
		return;
	}
	c->addr.family = AF_INET;
	c->prefix_len = 32;
	if (qr->client == NULL)
		return;
	if (qr->client->sa_family == AF_INET) {
		memcpy(c->addr.bytes, &((const struct sockaddr_in *)qr->client)->sin_addr, 4);
	} else if (qr->client->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)qr->client)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(c->addr.bytes, a6->s6_addr + 12, 4);
		} else {
			c->addr.family = AF_INET6;
			c->prefix_len = 128;
			memcpy(c->addr.bytes, a6->s6_addr, 16);
		}
	}
}

/* A/AAAA (or CNAME) from a policy. Returns false when it gives nothing. */
static bool answer_policy(struct rwd_steer *st, const struct rwd_traffic *t, int family,
                          struct body *b)
{
	struct rwd_steer_result res;
	if (!rwd_steer_eval(st, t, family, &res))
		return false;
	if (res.endpoints[0]->cname_len) {    /* a CNAME stands alone */
		const struct rwd_endpoint *e = res.endpoints[0];
		put_rr(b, NULL, RW_TYPE_CNAME, t->ttl, e->cname, e->cname_len, NULL, 0);
		b->an = 1;
		if (st->stats)
			rwd_stats_answer(st->stats, t->name, e->name);
		return true;
	}
	for (unsigned i = 0; i < res.n; i++)
		if (res.endpoints[i]->cname_len == 0)
			put_addresses(b, st, NULL, res.endpoints[i], family, t->ttl, &b->an);
	if (st->stats)
		for (unsigned i = 0; i < res.n; i++)
			rwd_stats_answer(st->stats, t->name, res.endpoints[i]->name);
	return b->an > 0;
}

/* Is traffic name t answered from zone z (the client's zone for its name)?
 * Only from the zone it belongs to: a name under one view's own zone stays
 * unknown in views where a less specific zone holds it. */
static bool served_by(const struct rwd_traffic *t, const struct rwd_zone *z)
{
	return z != NULL && (t->zone_len == 0 || t->zone_len == z->apex_len);
}

/* ALIAS (CNAME flattening): the target's addresses under the question name,
 * as the client's zone set (its view) has them. */
static bool answer_alias(const struct rwd_snapshot *s, const struct rwd_query *qr,
                         struct rwd_steer *st, const struct rwd_traffic *t, int family,
                         struct body *b)
{
	uint16_t type = family == AF_INET ? RW_TYPE_A : RW_TYPE_AAAA;
	const struct rwd_zonedb *zones = qr->zones;
	const struct rwd_traffic *target = rwd_model_find_in_view(s->model, (size_t)qr->view - 1,
	                                                          t->alias, t->alias_len);
	if (target && target->kind == RWD_TRAFFIC_POLICY &&
	    served_by(target, rwd_zonedb_find(zones, t->alias, t->alias_len, type)))
		return answer_policy(st, target, family, b);
	const struct rwd_zone *z = rwd_zonedb_find(zones, t->alias, t->alias_len, type);
	const struct rwd_node *n = z ? rwd_zone_find(z, t->alias, t->alias_len) : NULL;
	const struct rwd_rrset *rs = n && !n->cut ? rwd_node_rrset(n, type) : NULL;
	if (rs == NULL)
		return false;
	RWD_RRSET_FOREACH(rs, rd, i) {
		if (b->an == MAX_RECORDS)
			break;
		uint32_t ttl = rs->ttl < t->ttl ? rs->ttl : t->ttl;
		put_rr(b, NULL, type, ttl, rd + 2, rw_get16(rd), NULL, 0);
		b->an++;
	}
	return b->an > 0;
}

/* An SRV member answers while it is not drained and one of its addresses
 * is up (or it has no check); traced with the reason when it does not. */
static bool srv_member_up(struct rwd_steer *st, const struct rwd_endpoint *e)
{
	bool up = false;
	uint32_t down_slot = RWD_NO_SLOT;
	for (unsigned k = 0; k < e->n_addrs && !up; k++) {
		up = e->check == NULL || rwd_steer_slot_up(st, e->addrs[k].slot);
		if (!up && down_slot == RWD_NO_SLOT)
			down_slot = e->addrs[k].slot;
	}
	struct rwd_trace *tr = st->trace;
	if (tr && tr->n_endpoints < RWD_TRACE_ENDPOINTS)
		tr->endpoints[tr->n_endpoints++] = (struct rwd_trace_endpoint){
			.endpoint = e, .slot = down_slot, .down = !up && e->n_addrs,
			.why = e->drained ? RWD_WHY_DRAINED : e->n_addrs == 0 ? RWD_WHY_NO_FAMILY
			       : up ? RWD_WHY_USED : RWD_WHY_DOWN,
		};
	return up && !e->drained;
}

/* SRV from a pool: healthy members, their addresses in additional. */
static bool answer_srv(struct rwd_steer *st, const struct rwd_traffic *t, struct body *b)
{
	for (unsigned i = 0; i < t->n_srv && b->an < MAX_RECORDS; i++) {
		const struct rwd_srv_member *m = &t->srv[i];
		const struct rwd_endpoint *e = m->endpoint;
		if (!srv_member_up(st, e))
			continue;
		uint8_t fixed[6];
		rw_put16(fixed, m->priority);
		rw_put16(fixed + 2, m->weight);
		rw_put16(fixed + 4, m->port);
		put_rr(b, NULL, RW_TYPE_SRV, t->ttl, fixed, 6, e->target, e->target_len);
		b->an++;
	}
	for (unsigned i = 0; i < t->n_srv && !b->overflow; i++) {
		const struct rwd_endpoint *e = t->srv[i].endpoint;
		if (e->drained)
			continue;
		/* Additional data is optional: stop quietly when it does not fit. */
		size_t len = b->len;
		uint16_t ar = b->ar;
		put_addresses(b, st, e->target, e, AF_INET, t->ttl, &b->ar);
		put_addresses(b, st, e->target, e, AF_INET6, t->ttl, &b->ar);
		if (b->overflow) {
			b->len = len;
			b->ar = ar;
			break;
		}
	}
	b->overflow = false;
	return b->an > 0;
}

bool rwd_stage_steer(const struct rwd_snapshot *s, struct rwd_query *qr, size_t room)
{
	const struct rwd_model *m = s->model;
	if (m == NULL || (m->n_traffic == 0 && m->n_views == 0))
		return false;
	const struct rw_query *q = &qr->q;
	/* A view's own entry first (view - 1 wraps to "none" without views). */
	const struct rwd_traffic *t = rwd_model_find_in_view(m, (size_t)qr->view - 1, q->qname,
	                                                     q->qname_len);
	if (t == NULL || !served_by(t, qr->zone))
		return false;
	struct rwd_trace *tr = qr->thread ? qr->thread->trace : NULL;
	if (tr) {
		size_t v = (size_t)qr->view - 1;
		uintptr_t at = (uintptr_t)t, first = v < m->n_views ? (uintptr_t)m->views[v].traffic : 0;
		tr->traffic = t;
		tr->from_view = v < m->n_views && at >= first &&
		                at < first + m->views[v].n_traffic * sizeof(*t);
	}

	int family = 0;
	bool steered = true;
	if (t->kind == RWD_TRAFFIC_SRV)
		steered = q->qtype == RW_TYPE_SRV;
	else if (q->qtype == RW_TYPE_A || q->qtype == RW_TYPE_ANY)
		family = AF_INET;            /* ANY: one RRset (RFC 8482), the A */
	else if (q->qtype == RW_TYPE_AAAA)
		family = AF_INET6;
	else
		steered = false;
	if (tr)
		tr->family = family;
	if (!steered) {
		/* Other types come from the zone's records at the name; with none,
		 * the name still exists (NODATA), or resolvers would cache an
		 * NXDOMAIN for every type of it (RFC 2308) and lose the A too. */
		const struct rwd_node *n = rwd_zone_find(qr->zone, q->qname, q->qname_len);
		if (n != NULL || rwd_zone_encloser(qr->zone, q->qname, q->qname_len)->cut)
			return false;
		qr->answer = qr->zone->nodata;
		qr->rcode = qr->answer->rcode;
		qr->aa = true;
		return true;
	}

	/* Everything steering reads besides the snapshot comes from the thread
	 * context: the health state, randomness, caches, the trace. Without one
	 * (unit tests and fuzzing that build none) a context of this query
	 * stands in: every endpoint up, a random stream seeded by the query ID
	 * (reproducible), nothing counted or traced. */
	struct rwd_query_thread none = { .rng = 0x9e3779b97f4a7c15ULL ^ q->id };
	struct rwd_query_thread *th = qr->thread ? qr->thread : &none;
	struct rwd_client client;
	client_of(qr, &client);
	struct rwd_steer st = {
		.model = m, .health = th->health, .geo = s->geo, .geo_cache = th->geo_cache,
		.rng = &th->rng, .client = &client, .trace = th->trace, .stats = th->stats,
	};
	struct body b = { .p = qr->out + RW_HDR_LEN + q->question_len, .room = room };
	bool ok;
	switch (t->kind) {
	case RWD_TRAFFIC_POLICY: ok = answer_policy(&st, t, family, &b); break;
	case RWD_TRAFFIC_ALIAS:  ok = answer_alias(s, qr, &st, t, family, &b); break;
	default:                 ok = answer_srv(&st, t, &b); break;
	}
	if (tr)
		tr->steered = true;
	qr->aa = true;
	qr->rcode = RW_RCODE_NOERROR;
	/* Source prefix 0: the resolver asked us not to tailor (RFC 7871 7.1.2). */
	qr->ecs_scope = q->edns.ecs && q->edns.ecs_source == 0 ? 0 : st.scope;
	if (b.overflow) {
		qr->tc = true;                   /* as for static answers: nothing but TC */
	} else if (!ok) {
		qr->answer = qr->zone->nodata;   /* nothing to give: NODATA */
	} else {
		qr->body_len = (uint16_t)b.len;
		qr->body_an = b.an;
		qr->body_ar = b.ar;
	}
	return true;
}
