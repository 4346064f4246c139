/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GET /v1/simulate?name=NAME&type=A&client=ADDRESS[/LEN][&source=ADDRESS][&ecs=PREFIX|none]:
 * what the server would answer this client now, and why.
 *
 * There is one decision procedure, the query pipeline's: the simulator
 * builds the DNS query the client would send (from `source`, with `ecs` as
 * EDNS Client Subnet), runs rwd_query_process() on it with a trace in the
 * thread context (rwd_query_thread.trace, steer/eval.h) and reports the wire
 * answer and what the trace recorded: the traffic entry and view used, each
 * policy decision, and for every endpoint of the tree why it is in the
 * answer or not. Nothing here decides anything, so the report cannot
 * disagree with what a resolver gets (tests/integration/test_simulate.py
 * compares them for every client and name of the view and steering tests).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/api/internal.h"
#include "server/query/query.h"
#include "server/steer/eval.h"

/* "192.0.2.7" or "192.0.2.0/24" (host bits are cleared); no slash: the
 * full length. */
static bool parse_prefix(const char *text, struct rwd_client *c)
{
	memset(c, 0, sizeof(*c));
	char buf[64];
	size_t n = strlen(text);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, text, n + 1);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (rw_addr_parse(buf, &c->addr) != 0)
		return false;
	unsigned max = c->addr.family == AF_INET ? 32 : 128, len = max;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || v > max)
			return false;
		len = (unsigned)v;
	}
	for (unsigned bit = len; bit < 128; bit++)
		c->addr.bytes[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	c->prefix_len = (uint8_t)len;
	return true;
}

static json_t *client_json(const struct rwd_client *c, const struct rwd_location *l, bool have_geo)
{
	char addr[64], text[80];
	api_addr_str(&c->addr, addr, sizeof(addr));
	snprintf(text, sizeof(text), "%s/%u", addr, c->prefix_len);
	json_t *o = json_pack("{s:s, s:b}", "network", text, "located", l->found);
	if (!have_geo)
		json_object_set_new(o, "geo", json_string("no geoip configured"));
	json_object_set_new(o, "continent", l->continent[0] ? json_string(l->continent) : json_null());
	json_object_set_new(o, "country", l->country[0] ? json_string(l->country) : json_null());
	json_object_set_new(o, "subdivision",
	                    l->subdivision[0] ? json_string(l->subdivision) : json_null());
	json_object_set_new(o, "lat", l->has_coords ? json_real(l->lat) : json_null());
	json_object_set_new(o, "lon", l->has_coords ? json_real(l->lon) : json_null());
	json_object_set_new(o, "geo_prefix", json_integer(l->scope));
	return o;
}

static const char *describe(const struct rwd_policy *p)
{
	return p->kind == RWD_POLICY_ENDPOINT ? p->u.endpoint->name : api_policy_kind(p->kind);
}

/* ---- reading the trace ---- */

static const struct rwd_trace_endpoint *traced(const struct rwd_trace *tr,
                                               const struct rwd_endpoint *e)
{
	for (unsigned i = 0; i < tr->n_endpoints; i++)
		if (tr->endpoints[i].endpoint == e)
			return &tr->endpoints[i];
	return NULL;
}

/* Does the subtree hold an endpoint that is usable now (for the children
 * list of a step)? Read from the trace's verdicts, not decided again. */
static bool subtree_up(const struct rwd_trace *tr, const struct rwd_policy *p, unsigned depth)
{
	if (p == NULL || depth > 64)
		return false;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT: {
		const struct rwd_trace_endpoint *te = traced(tr, p->u.endpoint);
		return te && !te->down && te->why != RWD_WHY_DRAINED && te->why != RWD_WHY_NO_FAMILY;
	}
	case RWD_POLICY_GEOLOCATION:
		for (unsigned i = 0; i < p->u.geo.n; i++)
			if (subtree_up(tr, p->u.geo.v[i].node, depth + 1))
				return true;
		return subtree_up(tr, p->u.geo.fallback, depth + 1);
	case RWD_POLICY_CIDR:
		for (unsigned i = 0; i < p->u.cidr.n; i++)
			if (subtree_up(tr, p->u.cidr.v[i].node, depth + 1))
				return true;
		return subtree_up(tr, p->u.cidr.fallback, depth + 1);
	default:
		for (unsigned i = 0; i < p->u.children.n; i++)
			if (subtree_up(tr, p->u.children.v[i].node, depth + 1))
				return true;
		return false;
	}
}

static json_t *step_json(const struct rwd_trace *tr, const struct rwd_trace_step *s)
{
	const struct rwd_policy *p = s->node;
	json_t *o = json_pack("{s:s, s:s, s:i}", "node", api_policy_kind(p->kind), "why", s->what,
	                      "chosen", s->chosen);
	if (p->line)
		json_object_set_new(o, "line", json_integer(p->line));
	const struct rwd_policy *to = NULL;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		json_object_set_new(o, "endpoint", json_string(p->u.endpoint->name));
		break;
	case RWD_POLICY_GEOLOCATION:
		if (s->chosen >= 0 && (unsigned)s->chosen < p->u.geo.n) {
			json_object_set_new(o, "rule", json_string(p->u.geo.v[s->chosen].code));
			to = p->u.geo.v[s->chosen].node;
		} else {
			json_object_set_new(o, "rule", json_string("default"));
			to = p->u.geo.fallback;
		}
		break;
	case RWD_POLICY_CIDR:
		if (s->chosen >= 0 && (unsigned)s->chosen < p->u.cidr.n) {
			char pfx[RW_PREFIX_STRLEN];
			rw_prefix_format(&p->u.cidr.v[s->chosen].prefix, p->u.cidr.v[s->chosen].len, pfx,
			                  sizeof(pfx));
			json_object_set_new(o, "rule", json_string(pfx));
			to = p->u.cidr.v[s->chosen].node;
		} else {
			json_object_set_new(o, "rule", json_string("default"));
			to = p->u.cidr.fallback;
		}
		break;
	default: {
		json_t *ch = json_array();
		for (unsigned i = 0; i < p->u.children.n; i++) {
			const struct rwd_policy_child *c = &p->u.children.v[i];
			json_t *co = json_pack("{s:s, s:b}", "node", describe(c->node), "up",
			                       subtree_up(tr, c->node, 0));
			if (p->kind == RWD_POLICY_WEIGHTED)
				json_object_set_new(co, "weight", json_integer(c->weight));
			if (p->kind == RWD_POLICY_GEOPROXIMITY)
				json_object_set_new(co, "bias", json_integer(c->bias));
			json_array_append_new(ch, co);
		}
		json_object_set_new(o, "children", ch);
		if (s->chosen >= 0 && (unsigned)s->chosen < p->u.children.n)
			to = p->u.children.v[s->chosen].node;
		break;
	}
	}
	if (to)
		json_object_set_new(o, "to", json_string(describe(to)));
	return o;
}

static const char *why_text(enum rwd_trace_why w)
{
	switch (w) {
	case RWD_WHY_USED:        return "used";
	case RWD_WHY_NOT_CHOSEN:  return "not chosen";
	case RWD_WHY_WEIGHT_ZERO: return "weight 0";
	case RWD_WHY_DRAINED:     return "drained";
	case RWD_WHY_DOWN:        return "down";
	case RWD_WHY_NO_FAMILY:   return "no address of the family";
	}
	return "?";
}

static void rfc3339(const struct timespec *t, char *buf, size_t size)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	gmtime_r(&sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A drained endpoint: who drained it ("drained_by") and since when
 * ("drained_since", when known), into o; what to say, into detail. */
static void drain_detail(const struct rwd_endpoint *e, json_t *o, char *detail, size_t size)
{
	char since[40] = "";
	if (e->drained_since > 0) {
		struct timespec t = { .tv_sec = (time_t)e->drained_since };
		rfc3339(&t, since, sizeof(since));
		json_object_set_new(o, "drained_since", json_string(since));
	}
	switch ((enum rwd_drain_by)e->drained_by) {
	case RWD_DRAIN_LEASE:
		json_object_set_new(o, "drained_by", json_string("lease"));
		snprintf(detail, size, "lease expired at %s: the registration was not renewed, and "
		         "as a policy still names it, it is drained instead of removed; out even "
		         "when failing open (PUT /v1/endpoints/%s registers it again)", since, e->name);
		return;
	case RWD_DRAIN_OPERATOR:
		json_object_set_new(o, "drained_by", json_string("operator"));
		snprintf(detail, size, "drained by the operator%s%s: out of service on purpose, even "
		         "when failing open (POST /v1/endpoints/%s/undrain)", since[0] ? " at " : "",
		         since, e->name);
		return;
	case RWD_DRAIN_FILE:
	default:
		json_object_set_new(o, "drained_by", json_string("configuration"));
		snprintf(detail, size, "drained: true in its definition: out of service on purpose, "
		         "even when failing open");
		return;
	}
}

/* One endpoint of the trace: {"endpoint", "used", "why", "detail", and for
 * a failing check "address", "down_since", "check"; for a drain
 * "drained_by", "drained_since"}. */
static json_t *endpoint_json(const struct rwd_trace_endpoint *te,
                             const struct rwd_health_state *health, bool srv)
{
	const struct rwd_endpoint *e = te->endpoint;
	bool lease = te->why == RWD_WHY_DRAINED && e->drained_by == RWD_DRAIN_LEASE;
	json_t *o = json_pack("{s:s, s:b, s:s}", "endpoint", e->name, "used",
	                      te->why == RWD_WHY_USED, "why", lease ? "lease expired"
	                                                          : why_text(te->why));
	/* Its failing check: which address, since when, why. */
	char down[640] = "its health check fails";
	if (te->down && te->slot != RWD_NO_SLOT) {
		char target[300] = "";
		uint32_t slot;
		for (unsigned k = 0; api_endpoint_slot(e, k, &slot, target, sizeof(target)); k++)
			if (slot == te->slot)
				break;
		if (slot != te->slot)
			target[0] = '\0';
		if (target[0])
			json_object_set_new(o, "address", json_string(target));
		const struct rwd_slot_info *in = health && health->info && te->slot < health->n_slots
		                                 ? &health->info[te->slot] : NULL;
		if (in) {
			char since[40];
			rfc3339(&in->since, since, sizeof(since));
			/* The reason it went down; the latest result when history has none. */
			const char *reason = in->n_history && in->history[0].state == RWD_SLOT_DOWN
			                     ? in->history[0].reason : in->last_result;
			json_object_set_new(o, "down_since", json_string(since));
			json_object_set_new(o, "check", json_string(reason));
			snprintf(down, sizeof(down), "its health check fails since %s (%s%s%s)", since,
			         target[0] ? target : "", target[0] ? ": " : "", reason);
			if (in->flapping) {   /* held down, whatever its latest results */
				json_object_set_new(o, "flapping", json_true());
				snprintf(down, sizeof(down), "held down for flapping since %s (%s%s%s): "
				         "it must pass every probe for flap_hold first", since,
				         target[0] ? target : "", target[0] ? ": " : "", reason);
			}
		}
	}
	char detail[768];
	switch ((enum rwd_trace_why)te->why) {
	case RWD_WHY_USED:
		if (te->down)
			snprintf(detail, sizeof(detail), "in the answer because the name is failing "
			         "open (nothing is up), although %s", down);
		else
			snprintf(detail, sizeof(detail), "in the answer");
		break;
	case RWD_WHY_NOT_CHOSEN:
		snprintf(detail, sizeof(detail), "up; the policy chose another branch");
		break;
	case RWD_WHY_WEIGHT_ZERO:
		snprintf(detail, sizeof(detail),
		         "up, but weight 0: used only when every weighted sibling is down");
		break;
	case RWD_WHY_DRAINED:
		drain_detail(e, o, detail, sizeof(detail));
		break;
	case RWD_WHY_DOWN:
		snprintf(detail, sizeof(detail), "%s", down);
		break;
	case RWD_WHY_NO_FAMILY:
	default:
		snprintf(detail, sizeof(detail), "%s", srv ? "no address" :
		         "no address of the query's family (A: IPv4, AAAA: IPv6)");
		break;
	}
	json_object_set_new(o, "detail", json_string(detail));
	return o;
}

static json_t *record(const char *owner, const char *type, uint32_t ttl, const char *data)
{
	return json_pack("{s:s, s:s, s:I, s:s}", "name", owner, "type", type, "ttl", (json_int_t)ttl,
	                 "data", data);
}

/* ---- running the pipeline ---- */

struct sim {
	uint8_t qname[255];
	uint16_t qtype;
	struct sockaddr_storage source;
	bool has_ecs;
	struct rwd_client ecs;         /* the ECS option's network */
};

/* The query the client would send, over TCP (nothing truncated, not rate
 * limited). Its length, or 0 when it does not fit. */
static size_t build_query(const struct sim *q, uint8_t *buf, size_t cap)
{
	struct rw_msgbuilder b;
	if (rw_msgb_init(&b, buf, cap, 0x5157, q->qname, q->qtype, RW_CLASS_IN, true) < 0)
		return 0;
	rw_put16(buf + RW_HDR_ARCOUNT, 1);
	size_t at = rw_msgb_put_opt(&b, 65535, 0, false);
	if (q->has_ecs) {
		const struct rwd_client *c = &q->ecs;
		unsigned addr_bytes = (c->prefix_len + 7u) / 8u;
		rw_msgb_put16(&b, RW_EDNS_ECS);
		rw_msgb_put16(&b, (uint16_t)(4 + addr_bytes));
		rw_msgb_put16(&b, c->addr.family == AF_INET ? 1 : 2);
		uint8_t pfx[2] = { c->prefix_len, 0 };
		rw_msgb_put(&b, pfx, 2);
		rw_msgb_put(&b, c->addr.bytes, addr_bytes);
	}
	rw_put16(buf + at, (uint16_t)(b.len - at - 2));
	return b.overflow ? 0 : b.len;
}

/* The answer section of resp as records; the rcode name, or NULL. */
static const char *read_answer(const uint8_t *resp, size_t len, json_t *answer, char *rcode,
                               size_t rcode_size)
{
	knot_pkt_t *pkt = len ? knot_pkt_new((void *)resp, (uint16_t)len, NULL) : NULL;
	if (pkt == NULL || knot_pkt_parse(pkt, 0) != KNOT_EOK) {
		knot_pkt_free(pkt);
		return NULL;
	}
	const char *rc = knot_pkt_ext_rcode_name(pkt);
	snprintf(rcode, rcode_size, "%s", rc && *rc ? rc : "?");
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	size_t size = 65536 * 4;
	char *buf = malloc(size);
	for (uint16_t i = 0; buf && i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		char owner[API_NAME_TXT] = "?", type[32];
		knot_dname_to_str(owner, rr->owner, sizeof(owner));
		knot_rrtype_to_string(rr->type, type, sizeof(type));
		for (uint16_t k = 0; k < rr->rrs.count; k++)
			if (knot_rrset_txt_dump_data(rr, k, buf, size, &KNOT_DUMP_STYLE_DEFAULT) >= 0)
				json_array_append_new(answer, record(owner, type, rr->ttl, buf));
	}
	free(buf);
	knot_pkt_free(pkt);
	return rcode;
}

static const char *kind_text(enum rwd_traffic_kind k)
{
	return k == RWD_TRAFFIC_POLICY ? "policy" : k == RWD_TRAFFIC_ALIAS ? "alias" : "srv";
}

/* Everything the trace says, into res. */
static void report_trace(const struct rwd_snapshot *s, const struct rwd_query *qr,
                         const struct rwd_trace *tr, const struct rwd_health_state *health,
                         json_t *res, json_t *path)
{
	const struct rwd_traffic *t = tr->traffic;
	json_object_set_new(res, "traffic", t ? json_string(kind_text(t->kind)) : json_null());
	json_object_set_new(res, "failed_open", json_boolean(tr->evaluated && tr->failed_open));
	json_object_set_new(res, "source", json_string(!tr->steered ? "zone" :
	                                               tr->evaluated ? "policy" : "traffic"));
	if (t == NULL)
		return;
	char name[API_NAME_TXT];
	api_dname_str(t->name, name, sizeof(name));
	json_t *entry = json_pack("{s:s, s:s}", "name", name, "kind", kind_text(t->kind));
	json_object_set_new(entry, "view", tr->from_view && qr->view && qr->view <= s->n_views
	                                   ? json_string(s->views[qr->view - 1].name) : json_null());
	if (t->line)
		json_object_set_new(entry, "line", json_integer(t->line));
	json_object_set_new(res, "entry", entry);

	if (t->kind == RWD_TRAFFIC_ALIAS && tr->steered) {
		char alias[API_NAME_TXT];
		api_dname_str(t->alias, alias, sizeof(alias));
		json_t *step = json_pack("{s:s, s:s, s:i, s:s}", "node", "alias", "why",
		                         tr->evaluated ? "alias: the addresses of the target, under this name"
		                                       : "alias: the target's records in the zone, under this name",
		                         "chosen", -1, "to", alias);
		if (t->line)
			json_object_set_new(step, "line", json_integer(t->line));
		json_array_append_new(path, step);
	}
	if (t->kind == RWD_TRAFFIC_SRV && tr->steered)
		json_array_append_new(path, json_pack("{s:s, s:s, s:i}", "node", "srv", "why",
		                      "srv: one record per healthy member", "chosen", -1));
	if (tr->evaluated && tr->failed_open)
		json_array_append_new(path, json_pack("{s:s, s:s, s:i}", "node", "fail_open", "why",
		                      "fail open: no endpoint is up, so the name answers as if every "
		                      "one were (fail_open: true; drained endpoints stay out)", "chosen", -1));
	for (unsigned i = 0; tr->evaluated && i < tr->n; i++)
		json_array_append_new(path, step_json(tr, &tr->steps[i]));
	if (tr->steered && (tr->evaluated || t->kind == RWD_TRAFFIC_SRV)) {
		json_t *eps = json_array();
		for (unsigned i = 0; i < tr->n_endpoints; i++)
			json_array_append_new(eps, endpoint_json(&tr->endpoints[i], health,
			                                         t->kind == RWD_TRAFFIC_SRV));
		json_object_set_new(res, "endpoints", eps);
	}
}

/* name, type, client/source/ecs from the request; false after an error. */
static bool parse_request(const struct rwd_api_request *r, struct sim *q, struct rwd_client *who,
                          struct rwd_api_response *out)
{
	const char *name = api_param(r, "name"), *type = api_param(r, "type"),
	           *client = api_param(r, "client"), *source = api_param(r, "source"),
	           *ecs = api_param(r, "ecs");
	memset(q, 0, sizeof(*q));
	if (name == NULL || (client == NULL && source == NULL)) {
		api_error(out, 400, "name and client (or source) are required: "
		          "/v1/simulate?name=NAME&type=A&client=ADDRESS[/LEN]");
		return false;
	}
	if (api_dname(name, q->qname) == 0) {
		api_error(out, 400, "'%s' is not a domain name", name);
		return false;
	}
	q->qtype = KNOT_RRTYPE_A;
	if (type && *type && knot_rrtype_from_string(type, &q->qtype) != 0) {
		api_error(out, 400, "unknown type '%s'", type);
		return false;
	}
	struct rwd_client c, src;
	memset(&c, 0, sizeof(c));
	if (client && !parse_prefix(client, &c)) {
		api_error(out, 400, "client '%s' is not an address or a prefix "
		          "(192.0.2.7, 192.0.2.0/24, 2001:db8::/48)", client);
		return false;
	}
	if (source && (!parse_prefix(source, &src) ||
	               src.prefix_len != (src.addr.family == AF_INET ? 32 : 128))) {
		api_error(out, 400, "source '%s' is not an address (127.0.0.2, ::1)", source);
		return false;
	}
	if (ecs && strcmp(ecs, "none") != 0 && !parse_prefix(ecs, &q->ecs)) {
		api_error(out, 400, "ecs '%s' is neither a prefix (192.0.2.0/24) nor 'none'", ecs);
		return false;
	}
	/* client: the source and the ECS network at once, unless they are given. */
	q->has_ecs = ecs ? strcmp(ecs, "none") != 0 : client != NULL;
	if (q->has_ecs && ecs == NULL)
		q->ecs = c;
	if (source == NULL) {
		src = c;
		src.prefix_len = src.addr.family == AF_INET ? 32 : 128;
	}
	memset(&q->source, 0, sizeof(q->source));
	if (src.addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&q->source;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, src.addr.bytes, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&q->source;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, src.addr.bytes, 16);
	}
	/* Who steering places: the ECS network, or the source address when
	 * there is none or it has source prefix 0 (RFC 7871 7.1.2). */
	*who = q->has_ecs && q->ecs.prefix_len > 0 ? q->ecs : src;
	return true;
}

void api_simulate(const struct rwd_api_env *e, const struct rwd_api_request *r,
                  struct rwd_api_response *out)
{
	struct sim q;
	struct rwd_client who;
	if (!parse_request(r, &q, &who, out))
		return;
	uint8_t wire[600];
	size_t wire_len = build_query(&q, wire, sizeof(wire));
	uint8_t *resp = malloc(RWD_QUERY_OUT_MIN);
	struct rwd_trace *tr = calloc(1, sizeof(*tr));
	if (wire_len == 0 || resp == NULL || tr == NULL) {
		free(resp);
		free(tr);
		api_error(out, 500, wire_len ? "out of memory" : "the query does not fit");
		return;
	}
	char owner[API_NAME_TXT], type_text[32];
	api_dname_str(q.qname, owner, sizeof(owner));
	knot_rrtype_to_string(q.qtype, type_text, sizeof(type_text));
	json_t *answer = json_array(), *path = json_array();
	json_t *res = json_pack("{s:s, s:s}", "name", owner, "type", type_text);

	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	struct rwd_query_thread qt = { .rng = rwd_steer_seed(), .health = rwd_health_get(),
	                               .trace = tr };
	struct rwd_query qr = { .wire = wire, .wire_len = wire_len, .transport = &rwd_transport_tcp,
	                        .client = (const struct sockaddr *)&q.source, .thread = &qt,
	                        .out = resp, .out_cap = RWD_QUERY_OUT_MIN };
	size_t len = rwd_query_process(s, &qr);
	char rcode[32];
	bool ok = read_answer(resp, len, answer, rcode, sizeof(rcode)) != NULL;
	if (ok) {
		if (s->n_views) {
			json_object_set_new(res, "view", qr.view && qr.view <= s->n_views
			                    ? json_string(s->views[qr.view - 1].name) : json_null());
			if (qr.view == 0)
				json_object_set_new(res, "note", json_string(
					"no view matches this client address: the query is REFUSED"));
		}
		json_object_set_new(res, "rcode", json_string(rcode));
		json_object_set_new(res, "stage", json_string(qr.stage < RWD_STAGES
		                                              ? rwd_stage_names[qr.stage] : "?"));
		json_object_set_new(res, "scope", json_integer(qr.ecs_scope));
		report_trace(s, &qr, tr, qt.health, res, path);
		if (tr->evaluated && json_array_size(answer) == 0)
			json_object_set_new(res, "note", json_string(
				"nothing to give (every endpoint down and fail_open off, or none of this "
				"address family): the query gets NODATA"));
		struct rwd_location loc;
		memset(&loc, 0, sizeof(loc));
		if (s->geo)
			rwd_geo_lookup(s->geo, &who.addr, who.prefix_len, &loc);
		json_object_set_new(res, "client", client_json(&who, &loc, s->geo != NULL));
	}
	api_read_end(e);
	free(resp);
	free(tr);
	if (!ok) {
		json_decref(res);
		json_decref(answer);
		json_decref(path);
		api_error(out, 500, "the query pipeline gave no usable answer");
		return;
	}
	char src[64];
	struct rw_addr sa;
	memset(&sa, 0, sizeof(sa));
	sa.family = q.source.ss_family;
	if (sa.family == AF_INET)
		memcpy(sa.bytes, &((struct sockaddr_in *)&q.source)->sin_addr, 4);
	else
		memcpy(sa.bytes, &((struct sockaddr_in6 *)&q.source)->sin6_addr, 16);
	api_addr_str(&sa, src, sizeof(src));
	json_object_set_new(res, "source_address", json_string(src));
	if (q.has_ecs) {
		char net[64], text[80];
		api_addr_str(&q.ecs.addr, net, sizeof(net));
		snprintf(text, sizeof(text), "%s/%u", net, q.ecs.prefix_len);
		json_object_set_new(res, "ecs", json_string(text));
	} else {
		json_object_set_new(res, "ecs", json_null());
	}
	json_object_set_new(res, "answer", answer);
	json_object_set_new(res, "path", path);
	api_json(out, 200, res);
}
