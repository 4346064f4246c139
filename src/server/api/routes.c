/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Routing (method + path to a handler) and the helpers every handler uses.
 * Nothing here knows HTTP: rwd_api_handle() is what api.c calls per request
 * and what unit tests call directly.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/api/dashboard.h"
#include "server/api/internal.h"

/* ---- responses ---- */

void api_text(struct rwd_api_response *out, int status, const char *type, char *text, size_t len)
{
	out->status = status;
	out->content_type = type;
	out->body = text;
	out->body_len = len;
}

void api_json(struct rwd_api_response *out, int status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
	json_decref(j);
	if (text == NULL) {
		static const char oom[] = "{\"error\": \"out of memory\"}";
		text = strdup(oom);
		status = 500;
	}
	size_t len = text ? strlen(text) : 0;
	/* One trailing newline: friendlier on a terminal (curl). */
	char *nl = text ? realloc(text, len + 2) : NULL;
	if (nl) {
		nl[len++] = '\n';
		nl[len] = '\0';
		text = nl;
	}
	api_text(out, status, API_JSON, text, len);
}

void api_error(struct rwd_api_response *out, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_json(out, status, json_pack("{s:s}", "error", msg));
}

const char *api_param(const struct rwd_api_request *r, const char *key)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return r->params[i].value ? r->params[i].value : "";
	return NULL;
}

json_t *api_body_object(const struct rwd_api_request *r, struct rwd_api_response *out)
{
	if (r->body_len == 0) {
		api_error(out, 400, "a JSON object is required in the body");
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		api_error(out, 400, "bad JSON at line %d, column %d (byte %d): %s", je.line, je.column,
		          je.position, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_error(out, 400, "the body must be a JSON object");
		return NULL;
	}
	return j;
}

int api_status_of(int rc)
{
	switch (rc) {
	case 0: return 200;
	case RW_ENOENT: return 404;
	case RW_EINVAL: case RW_EMALFORMED: case RW_ECONF: case RW_EZONE: case RW_ELIMIT: return 400;
	case RW_EEXIST: return 409;
	default: return 500;
	}
}

/* ---- reading ---- */

/* The API thread is an RCU reader only while it reads, and registered only
 * then too: libmicrohttpd owns the thread and gives no hook at its exit. */
static __thread bool reading;

void api_read_begin(const struct rwd_api_env *e)
{
	rwd_control_read_lock(e->ctl);
	if (!reading) {
		rcu_register_thread();         /* starts online */
		reading = true;
	}
}

void api_read_end(const struct rwd_api_env *e)
{
	if (reading) {
		rcu_unregister_thread();
		reading = false;
	}
	rwd_control_read_unlock(e->ctl);
}

/* ---- names and addresses ---- */

size_t api_dname(const char *text, uint8_t out[255])
{
	static const uint8_t root[1] = { 0 };
	if (text == NULL || *text == '\0')
		return 0;
	int n = rw_dname_from_str(text, root, out);
	if (n <= 0)
		return 0;
	rw_dname_lower(out);
	return (size_t)n;
}

void api_dname_str(const uint8_t *dn, char *buf, size_t size)
{
	if (rw_dname_to_str(dn, buf, size) < 0)
		snprintf(buf, size, "?");
}

bool api_endpoint_slot(const struct rwd_endpoint *ep, unsigned k, uint32_t *slot,
                       char *target, size_t size)
{
	if (k < ep->n_addrs) {
		*slot = ep->addrs[k].slot;
		api_addr_str(&ep->addrs[k].addr, target, size);
		return true;
	}
	if (k == 0 && ep->cname_len && ep->slot != RWD_NO_SLOT) {
		*slot = ep->slot;
		api_dname_str(ep->cname, target, size);
		return true;
	}
	return false;
}

void api_addr_str(const struct rw_addr *a, char *buf, size_t size)
{
	if (inet_ntop(a->family, a->bytes, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
}

/* ---- routing ---- */

#define MAX_SEGS 6

/* Split "/v1/zones/x/rrsets" into segments (in buf). Returns the count,
 * or -1 when there are too many or one is empty (but a trailing '/'). */
static int split(const char *path, char *buf, size_t size, char *seg[MAX_SEGS])
{
	size_t len = strlen(path);
	if (len >= size || path[0] != '/')
		return -1;
	memcpy(buf, path, len + 1);
	if (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	int n = 0;
	char *p = buf + 1;
	if (*p == '\0')
		return 0;
	for (;;) {
		if (n == MAX_SEGS)
			return -1;
		char *slash = strchr(p, '/');
		seg[n++] = p;
		if (slash == NULL)
			break;
		*slash = '\0';
		if (p == slash)
			return -1;
		p = slash + 1;
		if (*p == '\0')
			return -1;
	}
	return n;
}

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static void not_allowed(const struct rwd_api_request *r, struct rwd_api_response *out,
                        const char *allowed)
{
	api_error(out, 405, "method %s not allowed on %s (allowed: %s)", r->method, r->path, allowed);
}

void rwd_api_handle(const struct rwd_api_env *e, const struct rwd_api_request *r,
                    struct rwd_api_response *out)
{
	memset(out, 0, sizeof(*out));
	char buf[1024];
	char *s[MAX_SEGS];
	int n = split(r->path, buf, sizeof(buf), s);
	const char *m = r->method;
	bool get = is(m, "GET") || is(m, "HEAD");

	if (rwd_api_dashboard_path(r->path)) {        /* GET /, /app.js, /style.css */
		if (!get)
			return not_allowed(r, out, "GET");
		rwd_api_dashboard(r->path, out);
		return;
	}
	/* /v1/changes/KEY: the key is the rest of the path, slashes and all
	 * ("traffic/www.example.com.", "rrsets/@inside/example.com.|a.example.com.|A"). */
	if (strncmp(r->path, "/v1/changes", 11) == 0 && (r->path[11] == '\0' || r->path[11] == '/')) {
		const char *key = r->path[11] == '/' ? r->path + 12 : "";
		if (*key == '\0')
			return get ? api_changes_list(e, r, out) : not_allowed(r, out, "GET");
		return is(m, "DELETE") ? api_change_drop(e, key, out) : not_allowed(r, out, "DELETE");
	}
	if (n == 1 && is(s[0], "metrics")) {
		if (!get)
			return not_allowed(r, out, "GET");
		return api_metrics(e, out);
	}
	if (n < 2 || !is(s[0], "v1"))
		goto unknown;
	const char *res = s[1];

	if (is(res, "zones")) {
		if (n == 2)
			return get ? api_zones_list(e, out) : not_allowed(r, out, "GET");
		if (n == 4 && is(s[3], "rrsets"))
			return get ? api_zone_rrsets(e, s[2], r, out) : not_allowed(r, out, "GET");
		if (n == 4 && is(s[3], "changes"))
			return is(m, "POST") ? api_zone_changes(e, s[2], r, out)
			       : get ? api_zone_journal(e, s[2], r, out) : not_allowed(r, out, "GET, POST");
		if (n == 4 && is(s[3], "transfer"))
			return get ? api_zone_transfer(e, s[2], r, out) : not_allowed(r, out, "GET");
		if (n == 4 && (is(s[3], "refresh") || is(s[3], "retransfer")))
			return is(m, "POST") ? api_zone_refresh(e, s[2], is(s[3], "retransfer"), r, out)
			                     : not_allowed(r, out, "POST");
	} else if (is(res, "traffic")) {
		if (n == 2)
			return get ? api_traffic_list(e, out) : not_allowed(r, out, "GET");
		if (n == 3) {
			if (get)
				return api_traffic_get(e, s[2], out);
			if (is(m, "PUT"))
				return api_traffic_put(e, s[2], r, out);
			if (is(m, "DELETE"))
				return api_traffic_delete(e, s[2], out);
			return not_allowed(r, out, "GET, PUT, DELETE");
		}
	} else if (is(res, "endpoints")) {
		if (n == 2)
			return get ? api_endpoints_list(e, out) : not_allowed(r, out, "GET");
		if (n == 3)
			return is(m, "PUT") ? api_endpoint_put(e, s[2], r, out) : not_allowed(r, out, "PUT");
		if (n == 4 && (is(s[3], "drain") || is(s[3], "undrain")))
			return is(m, "POST") ? api_endpoint_drain(e, s[2], is(s[3], "drain"), out)
			                     : not_allowed(r, out, "POST");
	} else if (n == 3 && is(res, "export") && is(s[2], "traffic.yaml")) {
		return get ? api_export_yaml(e, out) : not_allowed(r, out, "GET");
	} else if (n == 2 && is(res, "latency")) {
		return is(m, "POST") ? api_latency(e, r, out) : not_allowed(r, out, "POST");
	} else if (n == 2 && is(res, "health")) {
		return get ? api_health(e, out) : not_allowed(r, out, "GET");
	} else if (n == 2 && is(res, "simulate")) {
		return get ? api_simulate(e, r, out) : not_allowed(r, out, "GET");
	}
unknown:
	api_error(out, 404, "no route %s %s", m, r->path);
}
