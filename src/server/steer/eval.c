/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Policy evaluation (semantics in eval.h). Two mutually recursive walks:
 * up() says whether a subtree can yield an endpoint now, pick() chooses.
 * Trees are small (validated depth <= 32), so recomputing up() on the way
 * down is cheaper than any bookkeeping.
 */
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/steer/eval.h"

/* ---- randomness: xorshift64*, one stream per thread ---- */

static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n) without division (Lemire's multiply-shift). */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

uint64_t rwd_steer_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec ^
	             (uint64_t)gettid() << 32;
	return x ? x : 0x853c49e6748fea9bULL;
}

/* ---- health, family, place ---- */

bool rwd_steer_slot_up(const struct rwd_steer *s, uint32_t slot)
{
	return s->all_up || rwd_slot_up(s->health, slot);
}

static bool endpoint_up(const struct rwd_steer *s, const struct rwd_endpoint *ep, int family)
{
	if (ep->drained)   /* a drain is intentional: down even in the fail-open pass */
		return false;
	if (ep->cname_len)
		return ep->check == NULL || rwd_steer_slot_up(s, ep->slot);
	for (unsigned i = 0; i < ep->n_addrs; i++)
		if (ep->addrs[i].addr.family == family &&
		    (ep->check == NULL || rwd_steer_slot_up(s, ep->addrs[i].slot)))
			return true;
	return false;
}

static void widen_scope(struct rwd_steer *s, uint8_t len)
{
	if (len > s->scope)
		s->scope = len;
}

static const struct rwd_location *locate(struct rwd_steer *s)
{
	struct rwd_client *c = s->client;
	if (!c->located) {
		memset(&c->loc, 0, sizeof(c->loc));
		if (s->geo && s->geo_cache)
			rwd_geo_lookup_cached(s->geo, s->geo_cache, &c->addr, c->prefix_len, &c->loc);
		else if (s->geo)
			rwd_geo_lookup(s->geo, &c->addr, c->prefix_len, &c->loc);
		c->located = true;
	}
	widen_scope(s, c->loc.scope);
	return &c->loc;
}

static bool geo_matches(const struct rwd_geo_rule *r, const struct rwd_location *l)
{
	switch (r->level) {
	case RWD_GEO_CONTINENT:
		return strcmp(r->code, l->continent) == 0;
	case RWD_GEO_COUNTRY:
		return strcmp(r->code, l->country) == 0;
	case RWD_GEO_SUBDIVISION:   /* "US-CA" */
		return strncmp(r->code, l->country, 2) == 0 && l->country[0] &&
		       strcmp(r->code + 3, l->subdivision) == 0;
	}
	return false;
}

/* Does prefix/len contain the client's network? */
static bool prefix_contains(const struct rw_addr *prefix, uint8_t len, const struct rwd_client *c)
{
	if (prefix->family != c->addr.family)
		return false;
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(prefix->bytes, c->addr.bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (prefix->bytes[full] & mask) == (c->addr.bytes[full] & mask);
}

static void trace(struct rwd_steer *s, const struct rwd_policy *node, const char *what, int chosen)
{
	if (s->trace && s->trace->n < RWD_TRACE_MAX)
		s->trace->steps[s->trace->n++] = (struct rwd_trace_step){ node, what, chosen };
}

/* The endpoint that stands for a subtree's place: its first endpoint with
 * a location (geoproximity), or its first endpoint (latency). */
static const struct rwd_endpoint *representative(const struct rwd_policy *p, bool need_location)
{
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		return !need_location || p->u.endpoint->has_location ? p->u.endpoint : NULL;
	case RWD_POLICY_GEOLOCATION:
		for (unsigned i = 0; i < p->u.geo.n; i++) {
			const struct rwd_endpoint *e = representative(p->u.geo.v[i].node, need_location);
			if (e)
				return e;
		}
		return p->u.geo.fallback ? representative(p->u.geo.fallback, need_location) : NULL;
	case RWD_POLICY_CIDR:
		for (unsigned i = 0; i < p->u.cidr.n; i++) {
			const struct rwd_endpoint *e = representative(p->u.cidr.v[i].node, need_location);
			if (e)
				return e;
		}
		return p->u.cidr.fallback ? representative(p->u.cidr.fallback, need_location) : NULL;
	default:
		for (unsigned i = 0; i < p->u.children.n; i++) {
			const struct rwd_endpoint *e = representative(p->u.children.v[i].node, need_location);
			if (e)
				return e;
		}
		return NULL;
	}
}

/* ---- the two walks ---- */

static bool up(struct rwd_steer *s, const struct rwd_policy *p, int family);
static bool pick(struct rwd_steer *s, const struct rwd_policy *p, int family,
                 struct rwd_steer_result *out);

static bool any_child_up(struct rwd_steer *s, const struct rwd_policy *p, int family)
{
	for (unsigned i = 0; i < p->u.children.n; i++)
		if (up(s, p->u.children.v[i].node, family))
			return true;
	return false;
}

/* The first up candidate among geolocation rules matching the client, then
 * the default; NULL if none. */
static const struct rwd_policy *geo_choice(struct rwd_steer *s, const struct rwd_policy *p,
                                           int family, int *index)
{
	const struct rwd_location *l = locate(s);
	for (unsigned i = 0; l->found && i < p->u.geo.n; i++) {
		if (geo_matches(&p->u.geo.v[i], l) && up(s, p->u.geo.v[i].node, family)) {
			*index = (int)i;
			return p->u.geo.v[i].node;
		}
	}
	*index = -1;
	return p->u.geo.fallback && up(s, p->u.geo.fallback, family) ? p->u.geo.fallback : NULL;
}

static const struct rwd_policy *cidr_choice(struct rwd_steer *s, const struct rwd_policy *p,
                                            int family, int *index)
{
	/* The answer depends on the client's network down to the longest rule
	 * of its family, matched or not: that is the scope. */
	for (unsigned i = 0; i < p->u.cidr.n; i++) {
		const struct rwd_cidr_rule *r = &p->u.cidr.v[i];
		if (r->prefix.family == s->client->addr.family) {
			widen_scope(s, r->len);
			break;   /* sorted longest first */
		}
	}
	for (unsigned i = 0; i < p->u.cidr.n; i++) {
		const struct rwd_cidr_rule *r = &p->u.cidr.v[i];
		if (prefix_contains(&r->prefix, r->len, s->client) && up(s, r->node, family)) {
			*index = (int)i;
			return r->node;
		}
	}
	*index = -1;
	return p->u.cidr.fallback && up(s, p->u.cidr.fallback, family) ? p->u.cidr.fallback : NULL;
}

/* Route 53's bias: positive shrinks the distance (d x (1 - bias/100)),
 * negative stretches it (d / (1 + bias/100), bias < 0: -50 doubles it). */
static double biased(double d, int bias)
{
	return bias >= 0 ? d * (1.0 - bias / 100.0) : d / (1.0 + bias / 100.0);
}

/* The nearest up child; the first up child when there is nothing to
 * measure (client or children without a location). */
static int nearest_child(struct rwd_steer *s, const struct rwd_policy *p, int family)
{
	const struct rwd_location *l = locate(s);
	int best = -1, first = -1;
	double best_d = 0;
	for (unsigned i = 0; i < p->u.children.n; i++) {
		const struct rwd_policy_child *ch = &p->u.children.v[i];
		if (!up(s, ch->node, family))
			continue;
		if (first < 0)
			first = (int)i;
		const struct rwd_endpoint *e = representative(ch->node, true);
		if (!l->has_coords || e == NULL)
			continue;
		double d = biased(rwd_geo_distance_km(l->lat, l->lon, e->lat, e->lon), ch->bias);
		if (best < 0 || d < best_d) {
			best = (int)i;
			best_d = d;
		}
	}
	return best >= 0 ? best : first;
}

/* RTT of endpoint e for the client: network rows (longest prefix) beat
 * country rows. Returns -1 when the table has no row. */
static long latency_of(struct rwd_steer *s, const struct rwd_endpoint *e)
{
	const struct rwd_model *m = s->model;
	long rtt = -1, country_rtt = -1;
	int best_len = -1;
	for (size_t i = 0; i < m->n_latency; i++) {
		const struct rwd_latency_row *r = &m->latency[i];
		if (r->endpoint != e)
			continue;
		if (r->is_country) {
			const struct rwd_location *l = locate(s);
			if (l->found && strcmp(r->country, l->country) == 0)
				country_rtt = r->rtt_ms;
		} else if ((int)r->len > best_len && prefix_contains(&r->prefix, r->len, s->client)) {
			best_len = r->len;
			rtt = r->rtt_ms;
		}
	}
	if (rtt >= 0) {
		widen_scope(s, (uint8_t)best_len);
		return rtt;
	}
	return country_rtt;
}

static int lowest_latency_child(struct rwd_steer *s, const struct rwd_policy *p, int family)
{
	int best = -1;
	long best_rtt = 0;
	for (unsigned i = 0; i < p->u.children.n; i++) {
		const struct rwd_policy_child *ch = &p->u.children.v[i];
		if (!up(s, ch->node, family))
			continue;
		const struct rwd_endpoint *e = representative(ch->node, false);
		long rtt = e ? latency_of(s, e) : -1;
		if (rtt >= 0 && (best < 0 || rtt < best_rtt)) {
			best = (int)i;
			best_rtt = rtt;
		}
	}
	return best;
}

static bool up(struct rwd_steer *s, const struct rwd_policy *p, int family)
{
	int idx;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		return endpoint_up(s, p->u.endpoint, family);
	case RWD_POLICY_GEOLOCATION:
		return geo_choice(s, p, family, &idx) != NULL;
	case RWD_POLICY_CIDR:
		return cidr_choice(s, p, family, &idx) != NULL;
	default:
		return any_child_up(s, p, family);
	}
}

static void append(struct rwd_steer_result *out, const struct rwd_endpoint *e)
{
	for (unsigned i = 0; i < out->n; i++)
		if (out->endpoints[i] == e)
			return;
	if (out->n < RWD_STEER_MAX)
		out->endpoints[out->n++] = e;
}

static int weighted_choice(struct rwd_steer *s, const struct rwd_policy *p, int family)
{
	uint32_t total = 0;
	unsigned n_zero = 0;
	bool ok[RWD_STEER_MAX * 8];
	unsigned n = p->u.children.n < sizeof(ok) ? p->u.children.n : sizeof(ok);
	for (unsigned i = 0; i < n; i++) {
		ok[i] = up(s, p->u.children.v[i].node, family);
		if (ok[i] && p->u.children.v[i].weight > 0)
			total += (uint32_t)p->u.children.v[i].weight;
		else if (ok[i])
			n_zero++;
	}
	if (s->heaviest) {   /* first up child of the highest weight, else of weight 0 */
		int best = -1;
		for (unsigned i = 0; i < n; i++)
			if (ok[i] && (best < 0 || p->u.children.v[i].weight >
			              p->u.children.v[best].weight))
				best = (int)i;
		return best;
	}
	if (total > 0) {
		uint32_t r = rng_below(s->rng, total);
		for (unsigned i = 0; i < n; i++) {
			int w = p->u.children.v[i].weight;
			if (!ok[i] || w <= 0)
				continue;
			if (r < (uint32_t)w)
				return (int)i;
			r -= (uint32_t)w;
		}
	}
	if (n_zero > 0) {   /* weight 0: only when every weighted child is down */
		uint32_t r = rng_below(s->rng, n_zero);
		for (unsigned i = 0; i < n; i++)
			if (ok[i] && p->u.children.v[i].weight <= 0 && r-- == 0)
				return (int)i;
	}
	return -1;
}

/* Up to count endpoints from up children, shuffled. When more than count
 * children are up, a random choice of them (as Route 53 does), not the
 * first ones: every healthy child takes its share. */
static bool multivalue(struct rwd_steer *s, const struct rwd_policy *p, int family,
                       struct rwd_steer_result *out)
{
	unsigned start = out->n, count = p->u.children.count ? p->u.children.count : 8;
	if (p->u.children.n <= count || s->heaviest) {   /* usual: every up child */
		for (unsigned i = 0; i < p->u.children.n && out->n - start < count; i++) {
			const struct rwd_policy *ch = p->u.children.v[i].node;
			if (up(s, ch, family))
				pick(s, ch, family, out);
		}
	} else {
		uint16_t idx[RWD_STEER_MAX * 8];
		unsigned n_up = 0;
		for (unsigned i = 0; i < p->u.children.n && n_up < sizeof(idx) / sizeof(idx[0]); i++)
			if (up(s, p->u.children.v[i].node, family))
				idx[n_up++] = (uint16_t)i;
		for (unsigned k = 0; k < n_up && out->n - start < count; k++) {
			unsigned j = k + rng_below(s->rng, n_up - k);   /* Fisher-Yates, as far as needed */
			uint16_t x = idx[k];
			idx[k] = idx[j];
			idx[j] = x;
			pick(s, p->u.children.v[idx[k]].node, family, out);
		}
	}
	if (out->n - start > count)
		out->n = start + count;
	for (unsigned i = out->n - start; i > 1 && !s->heaviest; i--) {   /* Fisher-Yates */
		unsigned j = rng_below(s->rng, i);
		const struct rwd_endpoint *t = out->endpoints[start + i - 1];
		out->endpoints[start + i - 1] = out->endpoints[start + j];
		out->endpoints[start + j] = t;
	}
	trace(s, p, "multivalue: healthy endpoints, shuffled", -1);
	return out->n > start;
}

static bool pick(struct rwd_steer *s, const struct rwd_policy *p, int family,
                 struct rwd_steer_result *out)
{
	const struct rwd_policy *next = NULL;
	int idx = -1;
	const char *why = NULL;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		if (!endpoint_up(s, p->u.endpoint, family))
			return false;
		append(out, p->u.endpoint);
		trace(s, p, "endpoint", -1);
		return true;
	case RWD_POLICY_MULTIVALUE:
		return multivalue(s, p, family, out);
	case RWD_POLICY_WEIGHTED:
		idx = weighted_choice(s, p, family);
		why = "weighted: random by weight among up children";
		break;
	case RWD_POLICY_FAILOVER:
		for (unsigned i = 0; i < p->u.children.n && idx < 0; i++)
			if (up(s, p->u.children.v[i].node, family))
				idx = (int)i;
		why = "failover: first up child";
		break;
	case RWD_POLICY_GEOPROXIMITY:
		idx = nearest_child(s, p, family);
		why = "geoproximity: nearest up child (biased)";
		break;
	case RWD_POLICY_LATENCY:
		idx = lowest_latency_child(s, p, family);
		why = "latency: lowest RTT for the client's network or country";
		if (idx < 0) {
			idx = nearest_child(s, p, family);
			why = "latency: no table row, nearest up child";
		}
		break;
	case RWD_POLICY_GEOLOCATION:
		next = geo_choice(s, p, family, &idx);
		why = idx >= 0 ? "geolocation: most specific matching rule" : "geolocation: default";
		break;
	case RWD_POLICY_CIDR:
		next = cidr_choice(s, p, family, &idx);
		why = idx >= 0 ? "cidr: longest matching prefix" : "cidr: default";
		break;
	}
	if (next == NULL && idx >= 0)
		next = p->u.children.v[idx].node;
	if (next == NULL)
		return false;
	trace(s, p, why, idx);
	return pick(s, next, family, out);
}

/* ---- the trace: why each endpoint of the tree is in the answer or not ---- */

static void explain_endpoint(struct rwd_steer *s, const struct rwd_endpoint *e, int family,
                             bool zero, const struct rwd_steer_result *out)
{
	struct rwd_trace *t = s->trace;
	for (unsigned i = 0; i < t->n_endpoints; i++)
		if (t->endpoints[i].endpoint == e)
			return;   /* once, where the tree first names it */
	if (t->n_endpoints == RWD_TRACE_ENDPOINTS)
		return;
	/* Its own health, whatever the fail-open pass assumed. */
	struct rwd_trace_endpoint r = { .endpoint = e, .slot = RWD_NO_SLOT };
	bool has_family = e->cname_len != 0, healthy = false;
	if (e->cname_len) {
		healthy = e->check == NULL || rwd_slot_up(s->health, e->slot);
		if (!healthy)
			r.slot = e->slot;
	}
	for (unsigned i = 0; !e->cname_len && i < e->n_addrs; i++) {
		if (e->addrs[i].addr.family != family)
			continue;
		has_family = true;
		if (e->check == NULL || rwd_slot_up(s->health, e->addrs[i].slot))
			healthy = true;
		else if (r.slot == RWD_NO_SLOT)
			r.slot = e->addrs[i].slot;
	}
	r.down = has_family && !healthy;
	bool used = false;
	for (unsigned i = 0; i < out->n && !used; i++)
		used = out->endpoints[i] == e;
	r.why = used ? RWD_WHY_USED : e->drained ? RWD_WHY_DRAINED : !has_family ? RWD_WHY_NO_FAMILY
	        : r.down ? RWD_WHY_DOWN : zero ? RWD_WHY_WEIGHT_ZERO : RWD_WHY_NOT_CHOSEN;
	t->endpoints[t->n_endpoints++] = r;
}

/* zero: p hangs under a weight 0 branch while a weighted sibling was up. */
static void explain(struct rwd_steer *s, const struct rwd_policy *p, int family, bool zero,
                    const struct rwd_steer_result *out)
{
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		explain_endpoint(s, p->u.endpoint, family, zero, out);
		return;
	case RWD_POLICY_GEOLOCATION:
		for (unsigned i = 0; i < p->u.geo.n; i++)
			explain(s, p->u.geo.v[i].node, family, zero, out);
		if (p->u.geo.fallback)
			explain(s, p->u.geo.fallback, family, zero, out);
		return;
	case RWD_POLICY_CIDR:
		for (unsigned i = 0; i < p->u.cidr.n; i++)
			explain(s, p->u.cidr.v[i].node, family, zero, out);
		if (p->u.cidr.fallback)
			explain(s, p->u.cidr.fallback, family, zero, out);
		return;
	case RWD_POLICY_WEIGHTED: {
		bool weighted_up = false;
		for (unsigned i = 0; i < p->u.children.n && !weighted_up; i++)
			weighted_up = p->u.children.v[i].weight > 0 && up(s, p->u.children.v[i].node, family);
		for (unsigned i = 0; i < p->u.children.n; i++)
			explain(s, p->u.children.v[i].node, family,
			        zero || (p->u.children.v[i].weight <= 0 && weighted_up), out);
		return;
	}
	default:
		for (unsigned i = 0; i < p->u.children.n; i++)
			explain(s, p->u.children.v[i].node, family, zero, out);
		return;
	}
}

static void trace_result(struct rwd_steer *s, const struct rwd_traffic *t, int family,
                         const struct rwd_steer_result *out)
{
	uint8_t scope = s->scope;   /* explaining must not change the answer's ECS scope */
	s->trace->evaluated = t;
	s->trace->failed_open = s->failed_open;
	s->trace->n_endpoints = 0;
	explain(s, t->policy, family, false, out);
	s->scope = scope;
}

bool rwd_steer_eval(struct rwd_steer *s, const struct rwd_traffic *t, int family,
                    struct rwd_steer_result *out)
{
	out->n = 0;
	s->all_up = false;
	s->failed_open = false;
	if (s->trace)
		s->trace->n = 0;
	bool ok = up(s, t->policy, family) && pick(s, t->policy, family, out);
	if (!ok && t->fail_open) {
		/* Nothing healthy: answer as if everything were (Route 53 does
		 * too), rather than blackholing the name. */
		s->all_up = true;
		s->failed_open = true;
		out->n = 0;
		if (s->trace)
			s->trace->n = 0;
		ok = pick(s, t->policy, family, out);
		s->failed_open = ok;   /* nothing to give even so: not an answer failing open */
	}
	if (!ok)
		out->n = 0;
	if (s->trace)
		trace_result(s, t, family, out);
	return ok;
}
