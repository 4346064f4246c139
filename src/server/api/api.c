/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP side of the API: libmicrohttpd with its own polling thread (one
 * thread, an event loop apart from the UDP workers), bearer tokens, body
 * limits, and the hand-over to rwd_api_handle() (routes.c).
 *
 * Per request, MHD calls on_request() several times: once with the headers
 * (authorisation and Content-Length are checked there, so a refused request
 * never has its body read), then with pieces of the body, then once more
 * with none, when the request is handled.
 *
 * Slow clients (slowloris). MHD's own timeout is an idle timeout: a byte
 * every few seconds keeps a connection forever. So each connection is
 * also tracked here (struct tracked, from MHD's connection notifications):
 * a request must arrive whole, headers and body, within request_timeout_ms
 * of the connection's start or of the previous response; a watchdog thread
 * shuts down (shutdown(2), never close: MHD owns the descriptor) the ones
 * that do not, and MHD then closes them. Connections per client address
 * (MHD_OPTION_PER_IP_CONNECTION_LIMIT) and in all are capped, so one
 * address cannot take every slot, and slots held by slow clients free up
 * within request_timeout_ms; past max_connections, a new connection closes
 * the one that has waited longest for a whole request (MHD's own limit is
 * a few higher, to let it in). MHD's log lines are rate-limited: a flood
 * of accept errors must not become a flood of log lines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/error.h"
#include "server/api/dashboard.h"
#include "server/api/internal.h"
#include "server/conf/conf.h"
#include "server/common/log.h"

#define MAX_PARAMS 32

#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_MAX_PER_CLIENT  8
#define DEFAULT_REQUEST_TIMEOUT_MS 5000
#define IDLE_TIMEOUT_S 30              /* MHD's own: no byte at all for this long */
#define MHD_LOG_BURST 10               /* MHD log lines let through per MHD_LOG_PERIOD_MS */
#define MHD_LOG_PERIOD_MS 10000

/* One open connection, for the request deadline. */
struct tracked {
	struct tracked *prev, *next;
	int fd;
	struct sockaddr_storage peer;  /* to be sure fd is still this connection */
	uint64_t since_ms;             /* start of the wait for the current request */
	bool busy;                     /* request whole: being handled or answered */
	bool cut;                      /* shut down by the watchdog */
};

struct rwd_api {
	struct MHD_Daemon *daemon;
	struct rwd_api_env env;
	struct rwd_api_token *tokens;  /* copies */
	size_t n_tokens;
	struct rwd_acl allow;
	char listen[64];
	unsigned request_timeout_ms;
	/* the watchdog: tracked connections under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t watchdog;
	bool watchdog_running, stopping;
	struct tracked *conns;         /* newest first */
	unsigned n_conns, max_conns;
	uint64_t cut_total;
	/* MHD log rate limit, under lock */
	uint64_t log_window_ms;
	unsigned log_in_window, log_dropped;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
	/* Whole: no deadline while it is handled and answered. */
	const union MHD_ConnectionInfo *sc = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (sc && sc->socket_context) {
		pthread_mutex_lock(&a->lock);
		((struct tracked *)sc->socket_context)->busy = true;
		pthread_mutex_unlock(&a->lock);
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
	struct rwd_api *a = cls;
	const union MHD_ConnectionInfo *sc = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (sc && sc->socket_context) {  /* the next request's wait starts now */
		pthread_mutex_lock(&a->lock);
		struct tracked *t = sc->socket_context;
		t->busy = false;
		t->since_ms = mono_ms();
		pthread_mutex_unlock(&a->lock);
	}
	struct req *rq = *state;
	if (rq) {
		free(rq->body);
		free(rq);
		*state = NULL;
	}
}

/* MHD's messages, at most MHD_LOG_BURST per MHD_LOG_PERIOD_MS; the rest
 * are counted and the count logged when the next period lets one through.
 * (Out of descriptors, MHD retries accept() in a loop and says so each time.) */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct rwd_api *a = cls;
	uint64_t now = mono_ms();
	unsigned dropped = 0;
	pthread_mutex_lock(&a->lock);
	if (now - a->log_window_ms >= MHD_LOG_PERIOD_MS) {
		dropped = a->log_dropped;
		a->log_window_ms = now;
		a->log_in_window = a->log_dropped = 0;
	}
	bool pass = a->log_in_window < MHD_LOG_BURST;
	if (pass)
		a->log_in_window++;
	else
		a->log_dropped++;
	pthread_mutex_unlock(&a->lock);
	if (dropped)
		rwd_warn("api: %u more libmicrohttpd message(s) not logged", dropped);
	if (!pass)
		return;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	rwd_warn("api: %s", msg);
}

/* ---- connections and the request deadline ---- */

/* Is fd still connected to peer? (A second guard against a reused descriptor.) */
static bool same_peer(int fd, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage now;
	socklen_t len = sizeof(now);
	if (getpeername(fd, (struct sockaddr *)&now, &len) < 0 || now.ss_family != peer->ss_family)
		return false;
	if (peer->ss_family == AF_INET)
		return memcmp(&((struct sockaddr_in *)&now)->sin_addr, &((const struct sockaddr_in *)peer)->sin_addr, 4) == 0 &&
		       ((struct sockaddr_in *)&now)->sin_port == ((const struct sockaddr_in *)peer)->sin_port;
	return memcmp(&((struct sockaddr_in6 *)&now)->sin6_addr, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16) == 0 &&
	       ((struct sockaddr_in6 *)&now)->sin6_port == ((const struct sockaddr_in6 *)peer)->sin6_port;
}

/* Shut t down (MHD then closes it). Under a->lock. */
static bool cut(struct tracked *t)
{
	t->cut = true;
	return same_peer(t->fd, &t->peer) && shutdown(t->fd, SHUT_RDWR) == 0;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct rwd_api *a = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		struct tracked *t = calloc(1, sizeof(*t));
		if (t == NULL || fi == NULL) {
			free(t);                 /* untracked: MHD's idle timeout still applies */
			return;
		}
		t->fd = fi->connect_fd;
		if (ai && ai->client_addr)
			memcpy(&t->peer, ai->client_addr, ai->client_addr->sa_family == AF_INET6
			       ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
		t->since_ms = mono_ms();
		pthread_mutex_lock(&a->lock);
		t->next = a->conns;
		if (a->conns)
			a->conns->prev = t;
		a->conns = t;
		/* Over max_connections: the connection that has waited longest for
		 * a whole request makes room (as tcp.max_clients does), so slow
		 * clients from many addresses cannot keep new ones out either. */
		struct tracked *oldest = NULL;
		bool full = ++a->n_conns > a->max_conns;
		for (struct tracked *o = t->next; full && o; o = o->next)
			if (!o->busy && !o->cut)
				oldest = o;
		bool made_room = oldest && cut(oldest);
		a->cut_total += made_room;
		pthread_mutex_unlock(&a->lock);
		*socket_context = t;
		if (made_room)
			rwd_debug("api: closed the connection waiting longest for a request, at "
			          "api.max_connections (%u)", a->max_conns);
		return;
	}
	/* MHD_CONNECTION_NOTIFY_CLOSED: before MHD closes the descriptor, so the
	 * watchdog, under the same lock, never touches a reused one. */
	struct tracked *t = *socket_context;
	if (t == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		a->conns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	a->n_conns--;
	pthread_mutex_unlock(&a->lock);
	free(t);
	*socket_context = NULL;
}

static void *watchdog(void *arg)
{
	struct rwd_api *a = arg;
	unsigned tick = a->request_timeout_ms / 4 ? a->request_timeout_ms / 4 : 1;
	if (tick > 250)
		tick = 250;
	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)tick * 1000000;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&a->cond, &a->lock, &until);
		uint64_t now = mono_ms();
		unsigned n_cut = 0;
		for (struct tracked *t = a->conns; t && !a->stopping; t = t->next) {
			if (t->busy || t->cut || now - t->since_ms < a->request_timeout_ms)
				continue;
			if (cut(t))
				n_cut++;
		}
		a->cut_total += n_cut;
		/* MHD messages held back in a period that has ended: say how many,
		 * even if MHD has nothing more to say. */
		unsigned dropped = 0;
		if (a->log_dropped && now - a->log_window_ms >= MHD_LOG_PERIOD_MS) {
			dropped = a->log_dropped;
			a->log_window_ms = now;
			a->log_in_window = a->log_dropped = 0;
		}
		if (n_cut || dropped) {
			pthread_mutex_unlock(&a->lock);
			if (n_cut)
				rwd_debug("api: closed %u connection(s) that sent no whole request within %u ms",
				          n_cut, a->request_timeout_ms);
			if (dropped)
				rwd_warn("api: %u more libmicrohttpd message(s) not logged", dropped);
			pthread_mutex_lock(&a->lock);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ---- start, stop ---- */

static void free_api(struct rwd_api *a)
{
	if (a == NULL)
		return;
	if (a->watchdog_running) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->watchdog, NULL);
	}
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	for (size_t i = 0; i < a->n_tokens; i++)
		free((char *)a->tokens[i].token);
	free(a->tokens);
	rwd_acl_free(&a->allow);
	free(a);
}

int rwd_api_start(const struct rwd_api_opts *o, struct rwd_control *ctl, struct rwd_api **out)
{
	*out = NULL;
	struct rw_sockaddr addr;
	if (o->listen == NULL || rw_sockaddr_parse(o->listen, 8053, &addr) < 0) {
		rwd_error("api: bad listen address '%s' (expected ADDR:PORT or [ADDR6]:PORT)",
		          o->listen ? o->listen : "");
		return RW_EINVAL;
	}
	if (o->n_tokens == 0)
		rwd_warn("api: no tokens configured: every request will be refused (401)");
	struct rwd_api *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return RW_ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	a->request_timeout_ms = o->request_timeout_ms ? o->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS;
	unsigned max_conns = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
	a->max_conns = max_conns;
	unsigned per_client = o->max_per_client ? o->max_per_client : DEFAULT_MAX_PER_CLIENT;
	a->env = (struct rwd_api_env){ .ctl = ctl, .health = o->health, .srv = o->srv,
	                               .secondary = o->secondary };
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
	/* epoll or poll, never select(): with a raised descriptor limit, connections
	 * may get descriptors past FD_SETSIZE. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (addr.addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (pthread_create(&a->watchdog, NULL, watchdog, a) != 0) {
		rwd_error("api: cannot start the request watchdog thread");
		free_api(a);
		return RW_EIO;
	}
	a->watchdog_running = true;
	a->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, a,
	                             MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
	                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr.addr,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
	                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
	                             MHD_OPTION_CONNECTION_LIMIT, max_conns + RWD_API_OVER_LIMIT,
	                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client,
	                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
	                             MHD_OPTION_END);
	if (a->daemon == NULL) {
		rwd_error("api: cannot listen on %s (address in use, or not an address of this host?)",
		          a->listen);
		free_api(a);
		return RW_EIO;
	}
	rwd_info("api: listening on http://%s (%zu tokens; at most %u connections, %u per client "
	         "address, %u ms for a whole request)", a->listen, a->n_tokens, max_conns, per_client,
	         a->request_timeout_ms);
	*out = a;
	return 0;
}

void rwd_api_stop(struct rwd_api *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->daemon);      /* every connection closed (and untracked) */
	free_api(a);
}
