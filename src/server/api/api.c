/*
 * The HTTP side of the API: libmicrohttpd with its own polling thread (one
 * thread, an event loop apart from the UDP workers), bearer tokens, body
 * limits, and the hand-over to rwd_api_handle() (routes.c).
 *
 * Per request, MHD calls on_request() several times: once with the headers
 * (authorisation and Content-Length are checked there, so a refused request
 * never has its body read), then with pieces of the body, then once more
 * with none, when the request is handled.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "server/api/dashboard.h"
#include "server/api/internal.h"
#include "server/conf/conf.h"
#include "server/common/log.h"

#define MAX_PARAMS 32

struct rwd_api {
	struct MHD_Daemon *daemon;
	struct rwd_api_env env;
	struct rwd_api_token *tokens;  /* copies */
	size_t n_tokens;
	struct rwd_acl allow;
	char listen[64];
};

enum access { ACCESS_NONE, ACCESS_READ, ACCESS_WRITE };

struct req {
	enum access access;
	char *body;
	size_t len, cap;
	bool too_large;
};

/* ---- responses ---- */

static enum MHD_Result send_response(struct MHD_Connection *c, int status, const char *type,
                                     char *body, size_t len, bool bearer_challenge)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (bearer_challenge)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"runwayd\"");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

__attribute__((format(printf, 3, 4)))
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct rwd_api_response out;
	api_error(&out, status, "%s", msg);
	return send_response(c, out.status, out.content_type, out.body, out.body_len, status == 401);
}

/* ---- authorisation ---- */

/* Equal, in a time that does not depend on where they differ. */
static bool same_secret(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned char diff = alen != blen;
	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
	return diff == 0;
}

static enum access access_of(const struct rwd_api *a, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return ACCESS_NONE;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	size_t len = strlen(tok);
	while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	if (len == 0)
		return ACCESS_NONE;
	enum access best = ACCESS_NONE;
	for (size_t i = 0; i < a->n_tokens; i++)
		if (same_secret(tok, len, a->tokens[i].token)) {
			enum access acc = a->tokens[i].write ? ACCESS_WRITE : ACCESS_READ;
			if (acc > best)
				best = acc;
		}
	return best;
}

static bool is_read_method(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

/* ---- requests ---- */

struct params {
	struct rwd_api_param v[MAX_PARAMS];
	size_t n;
};

static enum MHD_Result on_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
	struct params *p = cls;
	if (p->n < MAX_PARAMS)
		p->v[p->n++] = (struct rwd_api_param){ key, value };
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **state)
{
	struct rwd_api *a = cls;
	struct req *rq = *state;
	if (rq == NULL) {                          /* headers only, so far */
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		*state = rq;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (!rwd_acl_match(&a->allow, ci ? ci->client_addr : NULL))
			return send_error(c, 403, "client address not allowed (api.allow)");
		bool public = rwd_api_dashboard_path(url) && is_read_method(method);
		rq->access = access_of(a, c);
		if (rq->access == ACCESS_NONE && !public) {
			bool given = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			                                         MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
			return send_error(c, 401, given ? "unknown token" :
			                  "authorization required: send \"Authorization: Bearer TOKEN\"");
		}
		if (rq->access == ACCESS_READ && !is_read_method(method))
			return send_error(c, 403, "this token may only read (GET); %s needs a write token",
			                  method);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > RWD_API_MAX_BODY)
			return send_error(c, 413, "body larger than %u bytes", RWD_API_MAX_BODY);
		return MHD_YES;
	}
	if (*upload_data_size) {                   /* a piece of the body */
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rq->too_large || rq->len + n > RWD_API_MAX_BODY) {
			rq->too_large = true;
			return MHD_YES;
		}
		if (rq->len + n + 1 > rq->cap) {
			size_t cap = rq->cap ? rq->cap : 4096;
			while (cap < rq->len + n + 1)
				cap *= 2;
			char *b = realloc(rq->body, cap);
			if (b == NULL)
				return MHD_NO;
			rq->body = b;
			rq->cap = cap;
		}
		memcpy(rq->body + rq->len, upload_data, n);
		rq->len += n;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	if (rq->too_large)
		return send_error(c, 413, "body larger than %u bytes", RWD_API_MAX_BODY);

	struct params p = { .n = 0 };
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_param, &p);
	struct rwd_api_request req = { .method = method, .path = url, .params = p.v,
	                               .n_params = p.n, .body = rq->body, .body_len = rq->len };
	struct rwd_api_response out;
	rwd_api_handle(&a->env, &req, &out);
	if (is_read_method(method))
		rwd_debug("api: %s %s: %d", method, url, out.status);
	else
		rwd_info("api: %s %s: %d", method, url, out.status);
	return send_response(c, out.status, out.content_type, out.body, out.body_len, false);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *state;
	if (rq) {
		free(rq->body);
		free(rq);
		*state = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	rwd_warn("api: %s", msg);
}

/* ---- start, stop ---- */

static void free_api(struct rwd_api *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n_tokens; i++)
		free((char *)a->tokens[i].token);
	free(a->tokens);
	rwd_acl_free(&a->allow);
	free(a);
}

int rwd_api_start(const struct rwd_api_opts *o, struct rwd_control *ctl, struct rwd_api **out)
{
	*out = NULL;
	struct rwd_conf_listen addr;
	if (o->listen == NULL || rwd_conf_parse_addr(o->listen, 8053, &addr) < 0) {
		rwd_error("api: bad listen address '%s' (expected ADDR:PORT or [ADDR6]:PORT)",
		          o->listen ? o->listen : "");
		return RW_EINVAL;
	}
	if (o->n_tokens == 0)
		rwd_warn("api: no tokens configured: every request will be refused (401)");
	struct rwd_api *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return RW_ENOMEM;
	a->env = (struct rwd_api_env){ .ctl = ctl, .health = o->health };
	snprintf(a->listen, sizeof(a->listen), "%s", addr.text);
	if (o->allow ? rwd_acl_copy(&a->allow, o->allow) : (a->allow.any = true, 0)) {
		free_api(a);
		return RW_ENOMEM;
	}
	a->tokens = calloc(o->n_tokens ? o->n_tokens : 1, sizeof(*a->tokens));
	if (a->tokens == NULL) {
		free_api(a);
		return RW_ENOMEM;
	}
	for (size_t i = 0; i < o->n_tokens; i++) {
		if (o->tokens[i].token == NULL || o->tokens[i].token[0] == '\0') {
			rwd_error("api: token %zu is empty", i + 1);
			free_api(a);
			return RW_EINVAL;
		}
		a->tokens[i].token = strdup(o->tokens[i].token);
		a->tokens[i].write = o->tokens[i].write;
		a->n_tokens = i + 1;
		if (a->tokens[i].token == NULL) {
			free_api(a);
			return RW_ENOMEM;
		}
	}
	uint16_t port = ntohs(addr.addr.ss_family == AF_INET6
	                      ? ((struct sockaddr_in6 *)&addr.addr)->sin6_port
	                      : ((struct sockaddr_in *)&addr.addr)->sin_port);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (addr.addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	a->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, a,
	                             MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
	                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr.addr,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
	                             MHD_OPTION_CONNECTION_LIMIT, 256u,
	                             MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	                             MHD_OPTION_END);
	if (a->daemon == NULL) {
		rwd_error("api: cannot listen on %s (address in use, or not an address of this host?)",
		          a->listen);
		free_api(a);
		return RW_EIO;
	}
	rwd_info("api: listening on http://%s (%zu tokens)", a->listen, a->n_tokens);
	*out = a;
	return 0;
}

void rwd_api_stop(struct rwd_api *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->daemon);
	free_api(a);
}
