/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP API: JSON over HTTP (libmicrohttpd, jansson) on one thread of its
 * own, an event loop apart from the UDP workers. Reads look at the current
 * snapshot under the control layer's read lock; every change goes through
 * the control layer (control/control.h), which validates it, makes it
 * durable and publishes it before the API answers 200.
 *
 * Routes (docs/api.md):
 *   GET    /v1/zones                      GET  /v1/zones/{zone}/rrsets
 *   POST   /v1/zones/{zone}/changes
 *   GET    /v1/zones/{zone}/transfer      POST /v1/zones/{zone}/refresh, .../retransfer
 *   GET    /v1/traffic                    GET|PUT|DELETE /v1/traffic/{name}
 *   GET    /v1/endpoints                  PUT  /v1/endpoints/{name}
 *   POST   /v1/endpoints/{name}/drain     POST /v1/endpoints/{name}/undrain
 *   GET    /v1/health                     GET  /v1/simulate?name=&type=&client=
 *   GET    /v1/export/traffic.yaml (health_checks, endpoints, traffic as YAML)
 *   GET    /metrics (Prometheus text)     GET  / (the dashboard, no token)
 *
 * Authentication: "Authorization: Bearer TOKEN" on every route but GET /
 * (a static page). A read token may GET; POST, PUT and DELETE need a write
 * token (403 otherwise); no token or an unknown one is 401.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "server/common/acl.h"

struct rwd_control;
struct rwd_health;
struct rwd_secondary;
struct rwd_server;

struct rwd_api_token {
	const char *token;
	bool write;                    /* false: read only (GET) */
};

/* Connections past max_connections MHD takes for a moment, while the ones
 * waiting longest for a request are closed to make room. */
#define RWD_API_OVER_LIMIT 8

struct rwd_api_opts {
	const char *listen;            /* "127.0.0.1:8053", "[::1]:8053" */
	struct rwd_api_token *tokens;
	size_t n_tokens;
	/* Clients that may connect (api.allow); NULL: any. Copied. */
	const struct rwd_acl *allow;
	/* Optional: the running health service, for live per-slot detail and
	 * check counters (GET /v1/health, /metrics). NULL: the published
	 * health state only. */
	struct rwd_health *health;
	/* Optional: the running server (its configuration, srv->conf, read
	 * under the control lock: a zone's transfer settings) and the
	 * secondary side (xfr/secondary.h: refresh, status). NULL: GET
	 * .../transfer says less, POST .../refresh answers 503. */
	struct rwd_server *srv;
	struct rwd_secondary *secondary;
	/* Slow and greedy clients (api.c); 0: the defaults (64, 8, 5000 ms). */
	unsigned max_connections;      /* open at once, in all (a new one closes the one
	                                  waiting longest; RWD_API_OVER_LIMIT more for a moment) */
	unsigned max_per_client;       /* open at once from one address */
	unsigned request_timeout_ms;   /* for a whole request, headers and body */
};

struct rwd_api;

/*
 * Listen on o->listen and serve on a new thread. o and its strings are
 * copied. Returns 0, or a negative RW_E* code after logging why
 * (RW_EINVAL bad address or no token, RW_EIO cannot listen, RW_ENOMEM).
 */
int rwd_api_start(const struct rwd_api_opts *o, struct rwd_control *ctl, struct rwd_api **out);

/* Stop serving (requests in flight finish first), free everything. NULL is fine. */
void rwd_api_stop(struct rwd_api *a);

/*
 * Extra lines for GET /metrics, in the Prometheus text format, written after
 * runway's own. A weak default writes nothing; define it elsewhere (e.g.
 * query counters) to add more. Runs on the API thread, without locks held.
 */
void rwd_api_metrics_extra(FILE *f);

/* ---- The handlers without HTTP (unit tests, and the HTTP layer itself) ---- */

struct rwd_api_param {
	const char *key, *value;       /* decoded */
};

struct rwd_api_request {
	const char *method;            /* "GET", "POST", ... */
	const char *path;              /* decoded, without the query: "/v1/zones" */
	const struct rwd_api_param *params;   /* the query string */
	size_t n_params;
	const char *body;              /* may be NULL when body_len is 0 */
	size_t body_len;
};

struct rwd_api_response {
	int status;                    /* HTTP status */
	char *body;                    /* malloc'ed, NUL-terminated */
	size_t body_len;
	const char *content_type;      /* static */
};

struct rwd_api_env {
	struct rwd_control *ctl;
	struct rwd_health *health;     /* may be NULL */
	struct rwd_server *srv;        /* may be NULL */
	struct rwd_secondary *secondary;   /* may be NULL */
};

/*
 * Route and run one request (authorisation is the caller's business).
 * Always fills out; free out->body with free().
 */
void rwd_api_handle(const struct rwd_api_env *env, const struct rwd_api_request *req,
                    struct rwd_api_response *out);
