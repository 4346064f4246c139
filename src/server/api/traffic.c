/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * /v1/traffic and /v1/endpoints: the traffic model as the configuration
 * writes it, changed through the control layer (validated exactly like the
 * file, durable, then published).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "server/api/internal.h"
#include "server/conf/export.h"

bool api_endpoint_drained(const struct rwd_api_env *e, const struct rwd_endpoint *ep)
{
	return ep->drained;
}

static const char *kind_name(enum rwd_policy_kind k)
{
	switch (k) {
	case RWD_POLICY_ENDPOINT: return "endpoint";
	case RWD_POLICY_WEIGHTED: return "weighted";
	case RWD_POLICY_FAILOVER: return "failover";
	case RWD_POLICY_GEOLOCATION: return "geolocation";
	case RWD_POLICY_GEOPROXIMITY: return "geoproximity";
	case RWD_POLICY_LATENCY: return "latency";
	case RWD_POLICY_MULTIVALUE: return "multivalue";
	case RWD_POLICY_CIDR: return "cidr";
	}
	return "?";
}

const char *api_policy_kind(enum rwd_policy_kind k)
{
	return kind_name(k);
}

/* Add the names of the endpoints under p to set (a JSON object used as a set). */
static void collect_endpoints(const struct rwd_policy *p, json_t *set, unsigned depth)
{
	if (p == NULL || depth > 64)
		return;
	switch (p->kind) {
	case RWD_POLICY_ENDPOINT:
		json_object_set_new(set, p->u.endpoint->name, json_true());
		return;
	case RWD_POLICY_GEOLOCATION:
		for (unsigned i = 0; i < p->u.geo.n; i++)
			collect_endpoints(p->u.geo.v[i].node, set, depth + 1);
		collect_endpoints(p->u.geo.fallback, set, depth + 1);
		return;
	case RWD_POLICY_CIDR:
		for (unsigned i = 0; i < p->u.cidr.n; i++)
			collect_endpoints(p->u.cidr.v[i].node, set, depth + 1);
		collect_endpoints(p->u.cidr.fallback, set, depth + 1);
		return;
	default:
		for (unsigned i = 0; i < p->u.children.n; i++)
			collect_endpoints(p->u.children.v[i].node, set, depth + 1);
		return;
	}
}

static const char *traffic_kind(enum rwd_traffic_kind k)
{
	return k == RWD_TRAFFIC_POLICY ? "policy" : k == RWD_TRAFFIC_ALIAS ? "alias" : "srv";
}

void api_traffic_list(const struct rwd_api_env *e, struct rwd_api_response *out)
{
	json_t *arr = json_array();
	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	const struct rwd_model *m = s ? s->model : NULL;
	for (size_t i = 0; m && i < m->n_traffic; i++) {
		const struct rwd_traffic *t = &m->traffic[i];
		char name[API_NAME_TXT];
		api_dname_str(t->name, name, sizeof(name));
		json_t *o = json_pack("{s:s, s:s, s:I, s:b}", "name", name, "kind", traffic_kind(t->kind),
		                      "ttl", (json_int_t)t->ttl, "fail_open", t->fail_open);
		json_t *set = json_object();
		if (t->kind == RWD_TRAFFIC_POLICY) {
			json_object_set_new(o, "policy", json_string(kind_name(t->policy->kind)));
			collect_endpoints(t->policy, set, 0);
		} else if (t->kind == RWD_TRAFFIC_ALIAS) {
			char alias[API_NAME_TXT];
			api_dname_str(t->alias, alias, sizeof(alias));
			json_object_set_new(o, "alias", json_string(alias));
		} else {
			for (unsigned k = 0; k < t->n_srv; k++)
				json_object_set_new(set, t->srv[k].endpoint->name, json_true());
		}
		json_t *eps = json_array();
		const char *key;
		json_t *v;
		json_object_foreach(set, key, v)
			json_array_append_new(eps, json_string(key));
		json_decref(set);
		json_object_set_new(o, "endpoints", eps);
		json_array_append_new(arr, o);
	}
	api_read_end(e);
	api_json(out, 200, arr);
}

/* The canonical text of a traffic name given in a URL, or false after a 400. */
static bool traffic_name(const char *given, char *buf, size_t size, uint8_t dn[255], size_t *len,
                         struct rwd_api_response *out)
{
	*len = api_dname(given, dn);
	if (*len == 0) {
		api_error(out, 400, "'%s' is not a domain name", given);
		return false;
	}
	api_dname_str(dn, buf, size);
	return true;
}

void api_traffic_get(const struct rwd_api_env *e, const char *given, struct rwd_api_response *out)
{
	char name[API_NAME_TXT];
	uint8_t dn[255];
	size_t len;
	if (!traffic_name(given, name, sizeof(name), dn, &len, out))
		return;
	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	const struct rwd_traffic *t = s ? rwd_model_find(s->model, dn, len) : NULL;
	if (t == NULL) {
		api_read_end(e);
		return api_error(out, 404, "no traffic name '%s'", name);
	}
	json_t *j = rwd_traffic_to_json(t);
	api_read_end(e);
	if (j == NULL)
		return api_error(out, 500, "cannot write traffic name '%s' out (too large?)", name);
	api_json(out, 200, j);
}

void api_export_yaml(const struct rwd_api_env *e, struct rwd_api_response *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return api_error(out, 500, "out of memory");
	api_read_begin(e);
	int rc = rwd_model_export_yaml(rwd_snapshot_get()->model, f);
	api_read_end(e);
	if (fclose(f) != 0 && rc == 0)
		rc = RW_ENOMEM;
	if (rc != 0) {
		free(text);
		return api_error(out, 500, "cannot write the traffic model out: %s", rw_strerror(rc));
	}
	api_text(out, 200, "application/yaml; charset=utf-8", text, len);
}

/* The body as a NUL-terminated string, after checking it is a JSON object. */
static char *body_text(const struct rwd_api_request *r, struct rwd_api_response *out)
{
	json_t *j = api_body_object(r, out);
	if (j == NULL)
		return NULL;
	json_decref(j);
	char *text = strndup(r->body, r->body_len);
	if (text == NULL)
		api_error(out, 500, "out of memory");
	return text;
}

void api_traffic_put(const struct rwd_api_env *e, const char *given, const struct rwd_api_request *r,
                     struct rwd_api_response *out)
{
	char name[API_NAME_TXT];
	uint8_t dn[255];
	size_t len;
	if (!traffic_name(given, name, sizeof(name), dn, &len, out))
		return;
	char *text = body_text(r, out);
	if (text == NULL)
		return;
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_traffic_put(e->ctl, name, text, err);
	free(text);
	if (rc != 0)
		return api_error(out, api_status_of(rc), "%s", err[0] ? err : rw_strerror(rc));
	api_json(out, 200, json_pack("{s:s, s:s}", "status", "applied", "name", name));
}

void api_traffic_delete(const struct rwd_api_env *e, const char *given, struct rwd_api_response *out)
{
	char name[API_NAME_TXT];
	uint8_t dn[255];
	size_t len;
	if (!traffic_name(given, name, sizeof(name), dn, &len, out))
		return;
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_traffic_delete(e->ctl, name, err);
	if (rc != 0)
		return api_error(out, api_status_of(rc), "%s", err[0] ? err : rw_strerror(rc));
	api_json(out, 200, json_pack("{s:s, s:s}", "status", "deleted", "name", name));
}

/* ---- endpoints ---- */

void api_drain_json(const struct rwd_endpoint *ep, json_t *o)
{
	const char *by = ep->drained_by == RWD_DRAIN_LEASE ? "lease"
	                 : ep->drained_by == RWD_DRAIN_OPERATOR ? "operator" : "configuration";
	json_object_set_new(o, "drained_by", json_string(by));
	char since[40];
	struct tm tm;
	time_t t = (time_t)ep->drained_since;
	bool known = ep->drained_since > 0 && gmtime_r(&t, &tm) &&
	             strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
	json_object_set_new(o, "drained_since", known ? json_string(since) : json_null());
}

json_t *api_endpoint_json(const struct rwd_api_env *e, const struct rwd_endpoint *ep)
{
	json_t *o = json_pack("{s:s}", "name", ep->name);
	json_t *body = rwd_endpoint_to_json(ep);
	if (o == NULL || body == NULL) {
		json_decref(o);
		json_decref(body);
		return NULL;
	}
	json_object_update(o, body);
	json_decref(body);
	bool drained = api_endpoint_drained(e, ep);
	json_object_set_new(o, "drained", json_boolean(drained));
	if (drained)
		api_drain_json(ep, o);
	return o;
}

void api_endpoints_list(const struct rwd_api_env *e, struct rwd_api_response *out)
{
	json_t *arr = json_array();
	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	for (size_t i = 0; s && i < s->model->n_endpoints; i++)
		json_array_append_new(arr, api_endpoint_json(e, &s->model->endpoints[i]));
	api_read_end(e);
	api_json(out, 200, arr);
}

void api_endpoint_put(const struct rwd_api_env *e, const char *name, const struct rwd_api_request *r,
                      struct rwd_api_response *out)
{
	json_t *j = api_body_object(r, out);
	if (j == NULL)
		return;
	unsigned ttl = 0;
	json_t *t = json_object_get(j, "ttl_seconds");
	if (t) {
		if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 31536000) {
			json_decref(j);
			return api_error(out, 400, "\"ttl_seconds\" must be an integer 0..31536000");
		}
		ttl = (unsigned)json_integer_value(t);
		json_object_del(j, "ttl_seconds");
	}
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (text == NULL)
		return api_error(out, 500, "out of memory");
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_endpoint_put(e->ctl, name, text, ttl, err);
	free(text);
	if (rc != 0)
		return api_error(out, api_status_of(rc), "%s", err[0] ? err : rw_strerror(rc));
	json_t *resp = json_pack("{s:s, s:s}", "status", "applied", "endpoint", name);
	if (ttl)
		json_object_set_new(resp, "ttl_seconds", json_integer(ttl));
	api_json(out, 200, resp);
}

void api_endpoint_drain(const struct rwd_api_env *e, const char *name, bool drained,
                        struct rwd_api_response *out)
{
	api_read_begin(e);
	bool known = rwd_model_find_endpoint(rwd_snapshot_get()->model, name) != NULL;
	api_read_end(e);
	if (!known)
		return api_error(out, 404, "no endpoint '%s'", name);
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_drain(e->ctl, name, drained, err);
	if (rc != 0)
		return api_error(out, api_status_of(rc), "%s", err[0] ? err : rw_strerror(rc));
	api_json(out, 200, json_pack("{s:s, s:s, s:b}", "status", "applied", "endpoint", name,
	                             "drained", drained));
}
