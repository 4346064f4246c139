/*
 * GET /v1/simulate?name=NAME&type=A&client=ADDRESS[/LEN]: what the server
 * would answer this client now, and why.
 *
 * Traffic names with a policy (A, AAAA, ANY) are evaluated by
 * rwd_steer_eval() itself, with a trace of each decision; the answer is
 * built from its result the way the query path builds it (query/steer.c).
 * Everything else (static names, other types, SRV pools, ALIAS to a zone
 * name) runs the real query pipeline, rwd_query_process(), on a crafted
 * query carrying the client as EDNS Client Subnet, and reports its answer.
 * With views, the client address also stands for the query's source
 * address: it chooses the view (reported as "view"), and traffic names are
 * evaluated only where that view serves them.
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

/* "192.0.2.7" or "192.0.2.0/24" (host bits are cleared). */
static bool parse_client(const char *text, struct rwd_client *c)
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

/* Does the subtree hold an endpoint usable for family now? (For display;
 * the decision itself is rwd_steer_eval's.) */
static bool subtree_up(const struct rwd_steer *st, const struct rwd_policy *p, int family,
                       unsigned depth)
{
	if (p == NULL || depth > 64)
		return false;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT: {
		const struct rwd_endpoint *e = p->u.endpoint;
		if (e->drained)
			return false;
		if (e->n_addrs == 0 && e->cname_len)
			return e->check == NULL || e->slot == RWD_NO_SLOT || rwd_steer_slot_up(st, e->slot);
		for (unsigned i = 0; i < e->n_addrs; i++)
			if (e->addrs[i].addr.family == family &&
			    (e->check == NULL || rwd_steer_slot_up(st, e->addrs[i].slot)))
				return true;
		return false;
	}
	case RWD_POLICY_GEOLOCATION:
		for (unsigned i = 0; i < p->u.geo.n; i++)
			if (subtree_up(st, p->u.geo.v[i].node, family, depth + 1))
				return true;
		return subtree_up(st, p->u.geo.fallback, family, depth + 1);
	case RWD_POLICY_CIDR:
		for (unsigned i = 0; i < p->u.cidr.n; i++)
			if (subtree_up(st, p->u.cidr.v[i].node, family, depth + 1))
				return true;
		return subtree_up(st, p->u.cidr.fallback, family, depth + 1);
	default:
		for (unsigned i = 0; i < p->u.children.n; i++)
			if (subtree_up(st, p->u.children.v[i].node, family, depth + 1))
				return true;
		return false;
	}
}

static json_t *step_json(const struct rwd_steer *st, const struct rwd_trace_step *s, int family)
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
			                       subtree_up(st, c->node, family, 0));
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

static json_t *record(const char *owner, const char *type, uint32_t ttl, const char *data)
{
	return json_pack("{s:s, s:s, s:I, s:s}", "name", owner, "type", type, "ttl", (json_int_t)ttl,
	                 "data", data);
}

/* Evaluate a policy traffic name with a trace; fills answer and path. */
static void eval_policy(struct rwd_steer *st, const struct rwd_traffic *t, int family,
                        const char *owner, json_t *answer, json_t *path)
{
	struct rwd_trace trace = { .n = 0 };
	st->trace = &trace;
	struct rwd_steer_result res;
	bool ok = rwd_steer_eval(st, t, family, &res);
	for (unsigned i = 0; i < trace.n; i++)
		json_array_append_new(path, step_json(st, &trace.steps[i], family));
	if (!ok)
		return;
	if (res.endpoints[0]->cname_len) {      /* a CNAME stands alone */
		char target[API_NAME_TXT];
		api_dname_str(res.endpoints[0]->cname, target, sizeof(target));
		json_array_append_new(answer, record(owner, "CNAME", t->ttl, target));
		return;
	}
	for (unsigned i = 0; i < res.n; i++) {
		const struct rwd_endpoint *e = res.endpoints[i];
		for (unsigned k = 0; k < e->n_addrs; k++) {
			const struct rwd_endpoint_addr *a = &e->addrs[k];
			if (a->addr.family != family || (e->check && !rwd_steer_slot_up(st, a->slot)))
				continue;
			char text[64];
			api_addr_str(&a->addr, text, sizeof(text));
			json_array_append_new(answer, record(owner, family == AF_INET ? "A" : "AAAA",
			                                     t->ttl, text));
		}
	}
}

/* The client as a source address (what chooses the view). */
static void client_sockaddr(const struct rwd_client *c, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (c->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, c->addr.bytes, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, c->addr.bytes, 16);
	}
}

/* Does zone set db (a client's view) answer traffic name t? As query/steer.c:
 * from the zone it belongs to only. */
static bool served_in(const struct rwd_zonedb *db, const struct rwd_traffic *t)
{
	const struct rwd_zone *z = db ? rwd_zonedb_find(db, t->name, t->name_len, KNOT_RRTYPE_A) : NULL;
	return z != NULL && (t->zone_len == 0 || t->zone_len == z->apex_len);
}

/* Run the query pipeline; fills answer, returns the rcode name (static) or NULL. */
static const char *run_pipeline(const struct rwd_snapshot *s, const uint8_t *qname, uint16_t qtype,
                                const struct rwd_client *c, json_t *answer, uint8_t *scope,
                                char *err, size_t err_size)
{
	uint8_t q[600];
	struct rw_msgbuilder b;
	if (rw_msgb_init(&b, q, sizeof(q), 0x5157, qname, qtype, RW_CLASS_IN, true) < 0) {
		snprintf(err, err_size, "query does not fit");
		return NULL;
	}
	rw_put16(q + RW_HDR_ARCOUNT, 1);
	size_t at = rw_msgb_put_opt(&b, 65535, 0, false);
	unsigned addr_bytes = (c->prefix_len + 7u) / 8u;
	rw_msgb_put16(&b, RW_EDNS_ECS);
	rw_msgb_put16(&b, (uint16_t)(4 + addr_bytes));
	rw_msgb_put16(&b, c->addr.family == AF_INET ? 1 : 2);
	uint8_t pfx[2] = { c->prefix_len, 0 };
	rw_msgb_put(&b, pfx, 2);
	rw_msgb_put(&b, c->addr.bytes, addr_bytes);
	rw_put16(q + at, (uint16_t)(b.len - at - 2));

	struct sockaddr_storage ss;
	client_sockaddr(c, &ss);
	uint8_t *resp = malloc(RWD_QUERY_OUT_MIN);
	if (resp == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	struct rwd_query_thread qt = { .rng = rwd_steer_seed(), .health = rwd_health_get() };
	struct rwd_query qr = { .wire = q, .wire_len = b.len, .transport = &rwd_transport_tcp,
	                        .client = (const struct sockaddr *)&ss, .thread = &qt, .out = resp,
	                        .out_cap = RWD_QUERY_OUT_MIN };
	size_t len = rwd_query_process(s, &qr);
	*scope = qr.ecs_scope;
	knot_pkt_t *pkt = len ? knot_pkt_new(resp, (uint16_t)len, NULL) : NULL;
	if (pkt == NULL || knot_pkt_parse(pkt, 0) != KNOT_EOK) {
		knot_pkt_free(pkt);
		free(resp);
		snprintf(err, err_size, "the query pipeline gave no usable answer");
		return NULL;
	}
	static __thread char rcode[32];
	const char *rc = knot_pkt_ext_rcode_name(pkt);
	snprintf(rcode, sizeof(rcode), "%s", rc && *rc ? rc : "?");
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
	free(resp);
	return rcode;
}

void api_simulate(const struct rwd_api_env *e, const struct rwd_api_request *r,
                  struct rwd_api_response *out)
{
	const char *name = api_param(r, "name"), *type = api_param(r, "type"),
	           *client = api_param(r, "client");
	if (name == NULL || client == NULL)
		return api_error(out, 400, "name and client are required: "
		                           "/v1/simulate?name=NAME&type=A&client=ADDRESS[/LEN]");
	uint8_t qname[255];
	size_t qlen = api_dname(name, qname);
	if (qlen == 0)
		return api_error(out, 400, "'%s' is not a domain name", name);
	uint16_t qtype = KNOT_RRTYPE_A;
	if (type && *type && knot_rrtype_from_string(type, &qtype) != 0)
		return api_error(out, 400, "unknown type '%s'", type);
	struct rwd_client c;
	if (!parse_client(client, &c))
		return api_error(out, 400, "client '%s' is not an address or a prefix "
		                           "(192.0.2.7, 192.0.2.0/24, 2001:db8::/48)", client);

	char owner[API_NAME_TXT], type_text[32];
	api_dname_str(qname, owner, sizeof(owner));
	knot_rrtype_to_string(qtype, type_text, sizeof(type_text));
	json_t *answer = json_array(), *path = json_array();
	json_t *res = json_pack("{s:s, s:s}", "name", owner, "type", type_text);

	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	struct rwd_location loc;
	memset(&loc, 0, sizeof(loc));
	if (s->geo) {
		rwd_geo_lookup(s->geo, &c.addr, c.prefix_len, &loc);
		c.loc = loc;
		c.located = true;
	}
	struct sockaddr_storage ss;
	client_sockaddr(&c, &ss);
	const struct rwd_view *view = NULL;
	const struct rwd_zonedb *zones = rwd_snapshot_zones_for(s, (const struct sockaddr *)&ss, &view);
	if (s->n_views) {
		json_object_set_new(res, "view", view ? json_string(view->name) : json_null());
		if (view == NULL)
			json_object_set_new(res, "note", json_string(
				"no view matches this client address: the query is REFUSED"));
	}
	const struct rwd_traffic *t = rwd_model_find(s->model, qname, qlen);
	if (t && !served_in(zones, t))
		t = NULL;                       /* not in this client's view: static data, if any */
	int family = qtype == KNOT_RRTYPE_AAAA ? AF_INET6
	             : qtype == KNOT_RRTYPE_A || qtype == KNOT_RRTYPE_ANY ? AF_INET : 0;
	uint64_t rng = rwd_steer_seed();
	struct rwd_steer st = { .model = s->model, .health = rwd_health_get(), .geo = s->geo,
	                        .rng = &rng, .client = &c };
	const struct rwd_traffic *target = t;
	if (t && t->kind == RWD_TRAFFIC_ALIAS && family) {
		const struct rwd_traffic *to = rwd_model_find(s->model, t->alias, t->alias_len);
		char alias[API_NAME_TXT];
		api_dname_str(t->alias, alias, sizeof(alias));
		json_t *step = json_pack("{s:s, s:s, s:i, s:s}", "node", "alias", "why",
		                         "alias: the addresses of the target, under this name",
		                         "chosen", -1, "to", alias);
		if (t->line)
			json_object_set_new(step, "line", json_integer(t->line));
		json_array_append_new(path, step);
		target = to && to->kind == RWD_TRAFFIC_POLICY && served_in(zones, to) ? to : NULL;
	}
	json_object_set_new(res, "traffic", t ? json_string(t->kind == RWD_TRAFFIC_POLICY ? "policy"
	                                                    : t->kind == RWD_TRAFFIC_ALIAS ? "alias"
	                                                    : "srv")
	                                      : json_null());
	char err[128] = "";
	if (target && target->kind == RWD_TRAFFIC_POLICY && family) {
		eval_policy(&st, target, family, owner, answer, path);
		json_object_set_new(res, "rcode", json_string("NOERROR"));
		json_object_set_new(res, "scope", json_integer(st.scope));
		json_object_set_new(res, "failed_open", json_boolean(st.failed_open));
		json_object_set_new(res, "source", json_string("policy"));
		if (json_array_size(answer) == 0)
			json_object_set_new(res, "note", json_string(
				"nothing to give (every endpoint down and fail_open off, or none of this "
				"address family): the query gets NODATA"));
	} else {
		uint8_t scope = 0;
		const char *rcode = run_pipeline(s, qname, qtype, &c, answer, &scope, err, sizeof(err));
		if (rcode) {
			json_object_set_new(res, "rcode", json_string(rcode));
			json_object_set_new(res, "scope", json_integer(scope));
			bool steered = t && ((t->kind == RWD_TRAFFIC_ALIAS && family) ||
			                     (t->kind == RWD_TRAFFIC_SRV && qtype == KNOT_RRTYPE_SRV));
			json_object_set_new(res, "source", json_string(steered ? "traffic" : "zone"));
			if (t && t->kind == RWD_TRAFFIC_SRV && qtype == KNOT_RRTYPE_SRV)
				json_array_append_new(path, json_pack("{s:s, s:s, s:i}", "node", "srv", "why",
				                      "srv: one record per healthy member", "chosen", -1));
		}
	}
	json_object_set_new(res, "client", client_json(&c, &loc, s->geo != NULL));
	api_read_end(e);
	if (err[0]) {
		json_decref(res);
		json_decref(answer);
		json_decref(path);
		return api_error(out, 500, "%s", err);
	}
	json_object_set_new(res, "answer", answer);
	json_object_set_new(res, "path", path);
	api_json(out, 200, res);
}
