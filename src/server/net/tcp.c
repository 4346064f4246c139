/*
 * DNS over TCP (RFC 7766) on one libuv loop. See tcp.h for the behaviour.
 *
 * Everything below runs on the TCP thread, except rwd_tcp_start (which
 * builds the loop and its handles before the thread exists) and the
 * uv_async_send in rwd_tcp_stop.
 *
 * Per connection: a read buffer holding at most one incomplete message
 * after each read (complete ones are answered at once and removed), and a
 * count of responses queued in libuv. A response is first tried with
 * uv_try_write straight from the loop's scratch buffer; only what the
 * kernel does not take at once is copied into a write request (small ones
 * come from a loop-wide pool), so the usual query costs no allocation.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu-qsbr.h>
#include <uv.h>

#include "lib/error.h"
#include "lib/wire.h"
#include "server/core/log.h"
#include "server/core/snapshot.h"
#include "server/net/tcp.h"
#include "server/query/query.h"
#include "server/steer/eval.h"

#define RBUF_INITIAL  4096           /* read buffer of a connection, grown per message */
#define RBUF_MAX      (2 + RW_MSG_MAXLEN)
#define WREQ_SMALL    512            /* pooled write requests hold this much */
#define WREQ_POOL_MAX 256
#define LISTEN_BACKLOG 1024

struct rwd_tcp;

struct wreq {
	uv_write_t req;
	struct conn *c;
	struct wreq *next;           /* in the pool */
	size_t cap;
	uint8_t data[];
};

struct conn {
	uv_tcp_t tcp;                /* .data = this */
	uv_timer_t timer;            /* .data = this */
	struct rwd_tcp *t;
	struct conn *prev, *next;    /* rwd_tcp.conns */
	struct sockaddr_storage peer;
	uint8_t *rbuf;
	size_t rlen, rcap;
	unsigned pending;            /* uv_write requests not completed */
	unsigned handles_open;
	bool reading;
	bool draining;               /* close once pending responses are sent */
	bool closing;
};

struct listener {
	uv_tcp_t tcp;                /* .data = this */
	struct rwd_tcp *t;
	bool inited;
	int port;
	char text[64];
};

struct rwd_tcp {
	uv_loop_t loop;
	uv_async_t stop;
	uv_thread_t thread;
	struct rwd_tcp_opts opts;
	struct listener *ls;
	size_t n_ls;
	struct conn *conns;
	unsigned n_conns;
	struct wreq *pool;
	unsigned n_pool;
	uint64_t full_logged_at;     /* uv_now of the last "too many clients" line, 0 never */
	unsigned full_rejected;      /* connections refused since that line */
	uint8_t scratch[2 + RWD_QUERY_OUT_MIN];  /* length prefix + response */
	struct rwd_query_thread qthread;         /* randomness, geo cache, counters of this thread */
	struct rwd_geo_cache geo_cache;
	struct rwd_qstats stats;
};

static void conn_close(struct conn *c);
static void conn_process(struct conn *c);
static int conn_read_start(struct conn *c);

/* ---- write requests ---- */

static struct wreq *wreq_get(struct rwd_tcp *t, size_t len)
{
	struct wreq *w;
	if (len <= WREQ_SMALL && t->pool) {
		w = t->pool;
		t->pool = w->next;
		t->n_pool--;
		return w;
	}
	size_t cap = len <= WREQ_SMALL ? WREQ_SMALL : len;
	w = malloc(sizeof(*w) + cap);
	if (w)
		w->cap = cap;
	return w;
}

static void wreq_put(struct rwd_tcp *t, struct wreq *w)
{
	if (w->cap == WREQ_SMALL && t->n_pool < WREQ_POOL_MAX) {
		w->next = t->pool;
		t->pool = w;
		t->n_pool++;
	} else {
		free(w);
	}
}

/* ---- connections ---- */

static void on_conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open == 0) {
		free(c->rbuf);
		free(c);
	}
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct rwd_tcp *t = c->t;
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->n_conns--;
	/* Queued writes complete with UV_ECANCELED before the close callbacks. */
	uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* Stop reading and close once every queued response is sent. The idle
 * timer still runs, so a peer that does not read is dropped anyway. */
static void conn_drain(struct conn *c)
{
	c->draining = true;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	if (c->pending == 0)
		conn_close(c);
}

static void on_idle(uv_timer_t *timer)
{
	conn_close(timer->data);
}

static void idle_restart(struct conn *c)
{
	if (c->t->opts.idle_timeout_ms)
		uv_timer_start(&c->timer, on_idle, c->t->opts.idle_timeout_ms, 0);
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->c;
	wreq_put(c->t, w);
	c->pending--;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->draining) {
		if (c->pending == 0)
			conn_close(c);
		return;
	}
	if (!c->reading && c->pending == 0) {
		/* Drained after backpressure: answer what is buffered, then read again. */
		conn_process(c);
		if (!c->closing && !c->draining && c->pending < RWD_TCP_MAX_PENDING &&
		    !c->reading && conn_read_start(c) < 0)
			conn_close(c);
	}
}

/* Send the response of n bytes at t->scratch + 2 on c. 0 or a negative libuv/RW code. */
static int conn_send(struct conn *c, size_t n)
{
	struct rwd_tcp *t = c->t;
	const uint8_t *p = t->scratch;
	size_t total = n + 2;
	rw_put16(t->scratch, (uint16_t)n);

	if (c->pending == 0) {
		uv_buf_t b = uv_buf_init((char *)p, (unsigned)total);
		int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (r >= 0 && (size_t)r == total)
			return 0;
		if (r < 0 && r != UV_EAGAIN)
			return r;
		if (r > 0) {
			p += r;
			total -= (size_t)r;
		}
	}
	struct wreq *w = wreq_get(t, total);
	if (w == NULL)
		return RW_ENOMEM;
	memcpy(w->data, p, total);
	w->c = c;
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)total);
	int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (r < 0) {
		wreq_put(t, w);
		return r;
	}
	c->pending++;
	return 0;
}

/* Answer one message into t->scratch + 2; the response length or 0. */
static size_t conn_answer(struct conn *c, const uint8_t *msg, size_t len)
{
	struct rwd_tcp *t = c->t;
	struct rwd_query qr = {
		.wire = msg,
		.wire_len = len,
		.transport = RWD_TCP,
		.client = (struct sockaddr *)&c->peer,
		.out = t->scratch + 2,
		.out_cap = RWD_QUERY_OUT_MIN,
		.thread = &t->qthread,
	};
	size_t n = 0;
	rcu_thread_online();
	const struct rwd_snapshot *s = rwd_snapshot_get();
	if (s)
		n = rwd_query_process(s, &qr);
	rcu_thread_offline();
	return n;
}

/* Answer every complete message in the read buffer, as far as backpressure allows. */
static void conn_process(struct conn *c)
{
	size_t off = 0;
	while (!c->closing && !c->draining && c->pending < RWD_TCP_MAX_PENDING) {
		size_t avail = c->rlen - off;
		if (avail < 2)
			break;
		size_t len = rw_get16(c->rbuf + off);
		if (len < RW_HDR_LEN) {      /* cannot even hold a header */
			conn_drain(c);
			break;
		}
		if (avail < 2 + len)
			break;
		idle_restart(c);
		size_t n = conn_answer(c, c->rbuf + off + 2, len);
		off += 2 + len;
		if (n == 0) {
			conn_drain(c);
			break;
		}
		int r = conn_send(c, n);
		if (r < 0) {
			conn_close(c);
			return;
		}
	}
	if (c->closing)
		return;
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	if (c->rlen == 0 && c->rcap > RBUF_INITIAL) {   /* give back a big message's room */
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
	if (c->pending >= RWD_TCP_MAX_PENDING && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	/* The buffer holds at most an incomplete message: make room for all of it. */
	size_t want = RBUF_INITIAL;
	if (c->rlen >= 2 && 2u + rw_get16(c->rbuf) > want)
		want = 2u + rw_get16(c->rbuf);
	if (c->rcap < want) {
		uint8_t *nb = realloc(c->rbuf, want);
		if (nb == NULL) {
			*buf = uv_buf_init(NULL, 0);   /* read_cb gets UV_ENOBUFS */
			return;
		}
		c->rbuf = nb;
		c->rcap = want;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			conn_drain(c);           /* the peer may still read our answers */
		else
			conn_close(c);
		return;
	}
	c->rlen += (size_t)nread;
	conn_process(c);
}

static int conn_read_start(struct conn *c)
{
	int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	c->reading = r == 0;
	return r;
}

/* ---- accepting ---- */

static void free_handle(uv_handle_t *h) { free(h); }

/* Accept the pending connection and close it at once. */
static void reject(uv_stream_t *server)
{
	uv_tcp_t *tmp = malloc(sizeof(*tmp));
	if (tmp == NULL) {
		rwd_warn("tcp: out of memory, cannot refuse a connection");
		return;
	}
	uv_tcp_init(server->loop, tmp);
	uv_accept(server, (uv_stream_t *)tmp);
	uv_close((uv_handle_t *)tmp, free_handle);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct rwd_tcp *t = l->t;

	if (status < 0) {
		rwd_warn("tcp: accept on %s: %s", l->text, uv_strerror(status));
		return;
	}
	if (t->opts.max_clients && t->n_conns >= t->opts.max_clients) {
		reject(server);
		t->full_rejected++;
		uint64_t now = uv_now(&t->loop);
		if (t->full_logged_at == 0 || now - t->full_logged_at >= 1000) {
			rwd_warn("tcp: %u clients connected (max-clients), refused %u connection(s)",
			         t->n_conns, t->full_rejected);
			t->full_logged_at = now ? now : 1;
			t->full_rejected = 0;
		}
		return;
	}

	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rwd_warn("tcp: out of memory for a new connection on %s", l->text);
		reject(server);
		return;
	}
	c->t = t;
	uv_tcp_init(&t->loop, &c->tcp);
	uv_timer_init(&t->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	t->n_conns++;

	int r = uv_accept(server, (uv_stream_t *)&c->tcp);
	if (r < 0) {
		rwd_warn("tcp: accept on %s: %s", l->text, uv_strerror(r));
		conn_close(c);
		return;
	}
	int plen = sizeof(c->peer);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &plen) < 0)
		c->peer.ss_family = AF_UNSPEC;
	/* Several small responses in a row must not wait for the peer's ACKs. */
	uv_tcp_nodelay(&c->tcp, 1);
	idle_restart(c);
	if ((r = conn_read_start(c)) < 0) {
		rwd_warn("tcp: read on %s: %s", l->text, uv_strerror(r));
		conn_close(c);
	}
}

/* ---- the loop ---- */

static void on_stop(uv_async_t *a)
{
	struct rwd_tcp *t = a->data;
	for (size_t i = 0; i < t->n_ls; i++)
		if (t->ls[i].inited && !uv_is_closing((uv_handle_t *)&t->ls[i].tcp))
			uv_close((uv_handle_t *)&t->ls[i].tcp, NULL);
	while (t->conns)
		conn_close(t->conns);
	uv_close((uv_handle_t *)&t->stop, NULL);
}

static void tcp_thread(void *arg)
{
	struct rwd_tcp *t = arg;
	/* Signals are the main thread's business; a write to a reset
	 * connection gets EPIPE here instead of a process-wide SIGPIPE. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	t->qthread.rng = rwd_steer_seed();
	t->qthread.geo_cache = &t->geo_cache;
	t->qthread.stats = &t->stats;
	rwd_stats_register(&t->stats);
	rcu_register_thread();
	rcu_thread_offline();
	uv_run(&t->loop, UV_RUN_DEFAULT);
	rcu_unregister_thread();
	rwd_stats_unregister(&t->stats);
}

/* Close whatever rwd_tcp_start opened, run the loop until it is idle, free t. */
static void tcp_free(struct rwd_tcp *t)
{
	for (size_t i = 0; i < t->n_ls; i++)
		if (t->ls[i].inited && !uv_is_closing((uv_handle_t *)&t->ls[i].tcp))
			uv_close((uv_handle_t *)&t->ls[i].tcp, NULL);
	if (!uv_is_closing((uv_handle_t *)&t->stop))
		uv_close((uv_handle_t *)&t->stop, NULL);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	int r = uv_loop_close(&t->loop);
	if (r < 0)
		rwd_warn("tcp: loop close: %s", uv_strerror(r));
	while (t->pool) {
		struct wreq *w = t->pool;
		t->pool = w->next;
		free(w);
	}
	free(t->ls);
	free(t);
}

static int port_of(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
	                                       : ((const struct sockaddr_in *)sa)->sin_port);
}

static int listener_open(struct rwd_tcp *t, struct listener *l, const struct rwd_conf_listen *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
	int one = 1, fd = -1;
	const char *what = "socket";

	snprintf(l->text, sizeof(l->text), "%s", a->text);
	l->t = t;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	what = "SO_REUSEADDR";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	what = "IPV6_V6ONLY";
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	what = "bind";
	if (bind(fd, sa, a->addr_len) < 0)
		goto fail;

	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		l->port = port_of((struct sockaddr *)&bound);
	const char *colon = strrchr(a->text, ':');
	if (port_of(sa) == 0 && colon)    /* say which port the system chose */
		snprintf(l->text, sizeof(l->text), "%.*s:%d", (int)(colon - a->text), a->text, l->port);

	uv_tcp_init(&t->loop, &l->tcp);
	l->tcp.data = l;
	l->inited = true;
	int r = uv_tcp_open(&l->tcp, fd);
	if (r == 0) {
		fd = -1;                     /* the handle owns it now */
		r = uv_listen((uv_stream_t *)&l->tcp, LISTEN_BACKLOG, on_connection);
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		rwd_error("tcp: cannot listen on %s: %s", a->text, uv_strerror(r));
		return RW_EIO;
	}
	return 0;

fail:
	rwd_error("tcp: cannot listen on %s: %s: %s", a->text, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return RW_EIO;
}

int rwd_tcp_start(const struct rwd_conf_listen *addrs, size_t n, const struct rwd_tcp_opts *opts,
                  struct rwd_tcp **out)
{
	*out = NULL;
	struct rwd_tcp *t = calloc(1, sizeof(*t));
	if (t == NULL || (n && (t->ls = calloc(n, sizeof(*t->ls))) == NULL)) {
		rwd_error("tcp: out of memory");
		free(t);
		return RW_ENOMEM;
	}
	t->opts = *opts;
	int r = uv_loop_init(&t->loop);
	if (r < 0) {
		rwd_error("tcp: cannot start the event loop: %s", uv_strerror(r));
		free(t->ls);
		free(t);
		return RW_EIO;
	}
	if ((r = uv_async_init(&t->loop, &t->stop, on_stop)) < 0) {
		rwd_error("tcp: cannot start the event loop: %s", uv_strerror(r));
		uv_loop_close(&t->loop);
		free(t->ls);
		free(t);
		return RW_EIO;
	}
	t->stop.data = t;

	t->n_ls = n;
	for (size_t i = 0; i < n; i++) {
		if ((r = listener_open(t, &t->ls[i], &addrs[i])) < 0) {
			tcp_free(t);
			return r;
		}
	}
	if ((r = uv_thread_create(&t->thread, tcp_thread, t)) < 0) {
		rwd_error("tcp: cannot start the TCP thread: %s", uv_strerror(r));
		tcp_free(t);
		return RW_EIO;
	}
	for (size_t i = 0; i < n; i++)
		rwd_info("tcp: listening on %s", t->ls[i].text);
	*out = t;
	return 0;
}

int rwd_tcp_port(const struct rwd_tcp *t, size_t i)
{
	return i < t->n_ls ? t->ls[i].port : -1;
}

void rwd_tcp_stop(struct rwd_tcp *t)
{
	if (t == NULL)
		return;
	uv_async_send(&t->stop);
	uv_thread_join(&t->thread);
	tcp_free(t);
}
