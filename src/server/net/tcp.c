/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS over TCP (RFC 7766) on one libuv loop. See tcp.h for the behaviour.
 *
 * Everything below runs on the TCP thread, except rwd_tcp_start (which
 * builds the loop and its handles before the thread exists) and the
 * uv_async_send in rwd_tcp_stop.
 *
 * Per connection: a read buffer holding at most one incomplete message
 * after each read (complete ones are answered at once and removed), and
 * the count and size of responses queued in libuv. A response is first
 * tried with uv_try_write straight from the loop's scratch buffer; only
 * what the kernel does not take at once is copied into a write request
 * (small ones come from a loop-wide pool), so the usual query costs no
 * allocation.
 *
 * One timer per connection measures whichever limit applies to its state
 * (enum tmode): answers waiting to be written (io timeout, restarted by
 * each write that completes), else a message partly received (io timeout
 * from its first byte: more bytes do not restart it), else idle (idle
 * timeout from the last answer). So a connection stays open only while its
 * client completes queries or reads answers.
 *
 * The open connections form a list ordered by their last complete query
 * (accept counts as one): the head is the longest idle, the one closed
 * when max_clients is reached. Connections per client are counted in a
 * small open-addressing table keyed by address (IPv4) or /64 (IPv6), hashed
 * with a key drawn at start so remote clients cannot aim at one chain.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu-qsbr.h>
#include <uv.h>

#include "lib/error.h"
#include "lib/hash.h"
#include "lib/wire.h"
#include "server/common/log.h"
#include "server/common/stats.h"
#include "server/snapshot/snapshot.h"
#include "server/dnstap/dnstap.h"
#include "server/net/tcp.h"
#include "server/query/query.h"
#include "server/steer/eval.h"

#define RBUF_INITIAL  4096           /* read buffer of a connection, grown per message */
#define RBUF_MAX      (2 + RW_MSG_MAXLEN)
#define WREQ_SMALL    512            /* pooled write requests hold this much */
#define WREQ_POOL_MAX 256
#define LISTEN_BACKLOG 1024
#define CLIENTS_INITIAL 64           /* slots of the per-client table, doubled at half full */

struct rwd_tcp;

/*
 * A query answered in several messages (qr.more) whose stream had to wait
 * for the peer: the query (qr.wire points at wire) and the pipeline's state
 * between two rwd_query_produce calls. Allocated only then, at most one per
 * connection; later queries of the connection wait behind it. A zone
 * transfer's stream holds its zone version (rwd_query_xfr_hold): it goes on
 * across publications (stream_outlives).
 */
struct stream {
	struct rwd_query qr;
	uint64_t generation;         /* of the snapshot it began on, which qr points into */
	bool held;                   /* rwd_query_xfr_hold succeeded: release when freed */
	uint8_t wire[];
};

static void stream_free(struct stream *st)
{
	if (st && st->held)
		rwd_query_xfr_release(&st->qr);
	free(st);
}

/* Whether st may go on from a snapshot other than the one it began on: a
 * transfer that holds its zone version and its TSIG key, reading nothing
 * else of the old snapshot. */
static bool stream_outlives(const struct stream *st)
{
	return st->held;
}

struct wreq {
	uv_write_t req;
	struct conn *c;
	struct wreq *next;           /* in the pool */
	size_t cap;
	size_t len;                  /* bytes queued in this request */
	uint8_t data[];
};

/* What a connection's timer measures now. */
enum tmode {
	T_IDLE,                      /* nothing buffered or queued: idle timeout */
	T_MESSAGE,                   /* part of a message received: io timeout */
	T_WRITE,                     /* answers queued in libuv: io timeout */
};

struct conn {
	uv_tcp_t tcp;                /* .data = this */
	uv_timer_t timer;            /* .data = this */
	struct rwd_tcp *t;
	struct conn *prev, *next;    /* rwd_tcp.conns, longest idle first */
	uint8_t client[16];          /* key in rwd_tcp.clients (client_key) */
	struct sockaddr_storage peer;
	struct sockaddr_storage local;   /* with dnstap only */
	uint8_t *rbuf;
	size_t rlen, rcap;
	struct stream *stream;       /* a stream waiting for the peer, or NULL */
	size_t queued;               /* bytes in uv_write requests not completed */
	size_t outq;                 /* T_WRITE: the kernel's send queue when the timer began */
	unsigned pending;            /* uv_write requests not completed */
	unsigned handles_open;
	uint8_t tmode;               /* enum tmode */
	bool linked;                 /* in rwd_tcp.conns and n_conns */
	bool counted;                /* holds one count in rwd_tcp.clients */
	bool reading;
	bool draining;               /* close once pending responses are sent */
	bool closing;
};

/* Open connections of one client; a slot with conns == 0 is free. */
struct client {
	uint8_t key[16];
	uint32_t conns;
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
	_Atomic unsigned max_clients;  /* opts.max_clients, or as rwd_tcp_set_max_clients says */
	struct listener *ls;
	size_t n_ls;
	struct conn *conns, *conns_tail;         /* longest idle first */
	unsigned n_conns;
	struct client *clients;      /* clients_cap slots, a power of two, at most half used */
	size_t clients_cap, n_clients;
	uint64_t hash_key[2];
	struct wreq *pool;
	unsigned n_pool;
	uint64_t limit_logged_at;    /* uv_now of the last limits line, 0 never */
	unsigned limit_unlogged[2];  /* per client, max clients: closed since that line */
	uint64_t accept_logged_at;   /* the same for accept errors */
	unsigned accept_unlogged;
	int accept_last;             /* libuv code of the last one */
	uint8_t scratch[2 + RWD_QUERY_OUT_MIN];  /* length prefix + response */
	struct rwd_query_thread qthread;         /* randomness, geo cache, counters of this thread */
	struct rwd_geo_cache geo_cache;
	struct rwd_qstats stats;
	struct rwd_dnstap_queue *dnstap;         /* NULL: dnstap off */
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

/* ---- connections per client ---- */

/* The key of sa's client: an IPv4 address as ::ffff:a.b.c.d, an IPv6
 * address's /64 (the rest zero); false for anything else. The two never
 * collide: a /64 key ends in eight zero bytes, an IPv4 one in ffff:a.b.c.d. */
static bool client_key(const struct sockaddr_storage *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		memcpy(key, a->s6_addr, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
		return true;
	}
	return false;
}

static size_t client_home(const struct rwd_tcp *t, const uint8_t key[16])
{
	uint64_t a, b;
	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return (size_t)(rw_mix64(a ^ t->hash_key[0]) ^ rw_mix64(b ^ t->hash_key[1])) &
	       (t->clients_cap - 1);
}

static struct client *client_find(struct rwd_tcp *t, const uint8_t key[16])
{
	if (t->clients_cap == 0)
		return NULL;
	size_t mask = t->clients_cap - 1;
	for (size_t i = client_home(t, key);; i = (i + 1) & mask) {   /* a free slot ends it */
		struct client *e = &t->clients[i];
		if (e->conns == 0)
			return NULL;
		if (memcmp(e->key, key, 16) == 0)
			return e;
	}
}

static void client_put(struct rwd_tcp *t, const uint8_t key[16], uint32_t conns)
{
	size_t mask = t->clients_cap - 1, i = client_home(t, key);
	while (t->clients[i].conns)
		i = (i + 1) & mask;
	memcpy(t->clients[i].key, key, 16);
	t->clients[i].conns = conns;
}

/* One more connection of key's client. 0 or RW_ENOMEM. */
static int client_add(struct rwd_tcp *t, const uint8_t key[16])
{
	struct client *e = client_find(t, key);
	if (e) {
		e->conns++;
		return 0;
	}
	if ((t->n_clients + 1) * 2 > t->clients_cap) {
		size_t old_cap = t->clients_cap, cap = old_cap ? old_cap * 2 : CLIENTS_INITIAL;
		struct client *old = t->clients, *n = calloc(cap, sizeof(*n));
		if (n == NULL)
			return RW_ENOMEM;
		t->clients = n;
		t->clients_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].conns)
				client_put(t, old[i].key, old[i].conns);
		free(old);
	}
	client_put(t, key, 1);
	t->n_clients++;
	return 0;
}

/* One connection of key's client fewer; its slot is freed at zero by
 * shifting back the entries after it (no tombstones to accumulate). */
static void client_del(struct rwd_tcp *t, const uint8_t key[16])
{
	struct client *e = client_find(t, key);
	if (e == NULL || --e->conns > 0)
		return;
	size_t mask = t->clients_cap - 1, hole = (size_t)(e - t->clients);
	for (size_t j = (hole + 1) & mask; t->clients[j].conns; j = (j + 1) & mask) {
		size_t home = client_home(t, t->clients[j].key);
		if (((j - home) & mask) >= ((j - hole) & mask)) {   /* the hole is on its probe path */
			t->clients[hole] = t->clients[j];
			hole = j;
		}
	}
	t->clients[hole].conns = 0;
	t->n_clients--;
}

/* ---- connections ---- */

static void on_conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open == 0) {
		stream_free(c->stream);
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
	if (c->linked) {
		if (c->prev)
			c->prev->next = c->next;
		else
			t->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		else
			t->conns_tail = c->prev;
		t->n_conns--;
		t->stats.tcp_open = t->n_conns;
	}
	if (c->counted)
		client_del(t, c->client);
	/* Queued writes complete with UV_ECANCELED before the close callbacks. */
	uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* Append c to the open connections, as the most recently active. */
static void conn_link(struct conn *c)
{
	struct rwd_tcp *t = c->t;
	c->prev = t->conns_tail;
	c->next = NULL;
	if (t->conns_tail)
		t->conns_tail->next = c;
	else
		t->conns = c;
	t->conns_tail = c;
	c->linked = true;
	t->n_conns++;
	t->stats.tcp_open = t->n_conns;
}

/* A query arrived on c: it becomes the least idle. */
static void conn_touch(struct conn *c)
{
	struct rwd_tcp *t = c->t;
	if (t->conns_tail == c)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	c->next->prev = c->prev;
	c->prev = t->conns_tail;
	c->next = NULL;
	t->conns_tail->next = c;
	t->conns_tail = c;
}

/* Too many responses (or bytes) waiting for the peer. */
static bool conn_queue_full(const struct conn *c)
{
	return c->pending >= RWD_TCP_MAX_PENDING || c->queued >= RWD_TCP_MAX_QUEUED;
}

/* That, or a stream waiting for the queue to drain: stop reading, answer
 * nothing more (answers go out in order: the next query waits behind it). */
static bool conn_backlogged(const struct conn *c)
{
	return conn_queue_full(c) || c->stream != NULL;
}

/* Stop reading and close once every queued response is sent. The timer
 * still runs, so a peer that does not read is dropped anyway. */
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

/* Bytes in the kernel's send queue of c (SIOCOUTQ: not yet acknowledged by
 * the peer); 0 when unknown. */
static size_t conn_outq(struct conn *c)
{
	uv_os_fd_t fd;
	int n = 0;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0 || ioctl(fd, SIOCOUTQ, &n) < 0 || n < 0)
		return 0;
	return (size_t)n;
}

static void on_timer(uv_timer_t *timer)
{
	struct conn *c = timer->data;
	bool io = c->tmode != T_IDLE && c->t->opts.io_timeout_ms;
	if (io && c->tmode == T_WRITE) {
		/* A peer that reads, however slowly, is no peer that does not:
		 * with a send buffer of megabytes (a transfer) the kernel takes
		 * the next write only once much of it has drained, which may
		 * take longer than the io timeout. Nothing was added since the
		 * timer began (a completed write restarts it), so a shorter
		 * queue means the peer acknowledged data: wait again. */
		size_t q = conn_outq(c);
		if (q < c->outq) {
			c->outq = q;
			uv_timer_start(&c->timer, on_timer, c->t->opts.io_timeout_ms, 0);
			return;
		}
	}
	c->t->stats.tcp_closed[io ? RWD_TCP_IO : RWD_TCP_IDLE]++;
	conn_close(c);
}

/* Point the timer at the limit c's state calls for (see the top of the
 * file). It keeps running while the state stays the same, unless fresh:
 * a query was answered (idle or a new message from now on) or a write
 * completed (progress). */
static void conn_timer(struct conn *c, bool fresh)
{
	const struct rwd_tcp_opts *o = &c->t->opts;
	uint8_t m = c->pending ? T_WRITE : c->rlen ? T_MESSAGE : T_IDLE;
	if (m == c->tmode && !fresh)
		return;
	c->tmode = m;
	unsigned ms = m == T_IDLE || o->io_timeout_ms == 0 ? o->idle_timeout_ms : o->io_timeout_ms;
	if (m == T_WRITE)
		c->outq = conn_outq(c);
	if (ms)
		uv_timer_start(&c->timer, on_timer, ms, 0);
	else
		uv_timer_stop(&c->timer);
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->c;
	c->pending--;
	c->queued -= w->len;
	wreq_put(c->t, w);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->draining && c->pending == 0) {
		conn_close(c);
		return;
	}
	if (!c->draining && !c->reading && c->pending == 0) {
		/* Drained after backpressure: answer what is buffered, then read again. */
		conn_process(c);
		if (!c->closing && !c->draining && !conn_backlogged(c) && !c->reading &&
		    conn_read_start(c) < 0)
			conn_close(c);
	}
	if (!c->closing)
		conn_timer(c, true);
}

/* Send the response of n bytes at t->scratch + 2 on c; queue: through
 * libuv's queue even if the kernel would take it now, so that on_write is
 * called back once it has. 0 or a negative libuv/RW code. */
static int conn_send(struct conn *c, size_t n, bool queue)
{
	struct rwd_tcp *t = c->t;
	const uint8_t *p = t->scratch;
	size_t total = n + 2;
	rw_put16(t->scratch, (uint16_t)n);

	if (c->pending == 0 && !queue) {
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
	w->len = total;
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)total);
	int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (r < 0) {
		wreq_put(t, w);
		return r;
	}
	c->pending++;
	c->queued += total;
	return 0;
}

/*
 * Streams: a query answered in several messages (a zone transfer) is
 * produced while the peer keeps up, never all at once. Each message is
 * framed and sent as it is produced (t->scratch holds one); the stream
 * stops after RWD_TCP_STREAM_BURST messages in one turn of the loop, or as
 * soon as the connection's queue is full (conn_queue_full: RWD_TCP_MAX_PENDING
 * writes or RWD_TCP_MAX_QUEUED bytes), so what waits in memory for a slow
 * reader stays bounded as for any pipelined answers, and other connections
 * get their turn. The message that ends a burst goes through libuv's queue,
 * so its completion always calls on_write, which resumes the stream once
 * the queue is empty (as reading resumes after backpressure).
 *
 * RCU: the thread is online only while it produces, never across a wait of
 * the loop. Between turns the pipeline state (qr, with pointers into the
 * snapshot) and a copy of the query wait in c->stream, with the generation
 * of the snapshot it began on. A turn goes online and goes on only if that
 * snapshot is still the current one: then the pointers in qr are valid (a
 * snapshot is freed only after it stopped being current and a grace period
 * passed) and every message comes from one consistent snapshot, as the
 * pipeline requires. If another was published meanwhile, the stream cannot
 * go on from the same data: the connection is closed after what was sent
 * (the client retries; it sees a truncated stream, never a mixed one).
 * A zone transfer is the exception: it reads only the zone version it
 * began on (qr.xfr_zone), whose reference the stream holds while it waits
 * (rwd_query_xfr_hold, released with the stream), so it goes on across
 * publications and sends that version whole, however long the reader
 * takes (the io timeout still closes a reader that stops).
 */
enum {
	STREAM_DONE,                 /* every message sent */
	STREAM_WAITS,                /* more to come: on_write resumes it */
	STREAM_BROKEN,               /* nothing (more) to send: close once the queue drains */
};

/* Send qr's message of n bytes at t->scratch + 2, then produce and send
 * the next ones while qr->more, as far as the burst and the queue allow.
 * STREAM_* or a negative code (close c). Pre: online; s is the snapshot qr
 * began on. */
static int conn_stream(struct conn *c, const struct rwd_snapshot *s, struct rwd_query *qr,
                       size_t n)
{
	for (unsigned k = 1;; k++) {
		bool last = !qr->more;
		bool wake = !last && k == RWD_TCP_STREAM_BURST;
		int r = conn_send(c, n, wake);
		if (r < 0)
			return r;
		if (last)
			return STREAM_DONE;
		if (wake || conn_queue_full(c))    /* either way a write is pending */
			return STREAM_WAITS;
		if ((n = rwd_query_produce(s, qr)) == 0)
			return STREAM_BROKEN;
	}
}

/* Keep qr, which waits for the peer, in c->stream with its own copy of the
 * query. 0 or RW_ENOMEM. */
static int conn_stream_keep(struct conn *c, const struct rwd_snapshot *s,
                            const struct rwd_query *qr)
{
	struct stream *st = malloc(sizeof(*st) + qr->wire_len);
	if (st == NULL)
		return RW_ENOMEM;
	memcpy(st->wire, qr->wire, qr->wire_len);
	st->qr = *qr;
	st->qr.wire = st->wire;
	st->generation = s->generation;
	st->held = false;
	if (qr->xfr_zone) {
		if (rwd_query_xfr_hold(&st->qr) < 0) {
			free(st);
			return RW_ENOMEM;
		}
		st->held = true;
	}
	c->stream = st;
	return 0;
}

/* Act on what conn_stream said (the query done, waiting, broken). False
 * when c is closing or draining: answer nothing more. */
static bool conn_stream_end(struct conn *c, int r)
{
	if (r < 0) {
		conn_close(c);
		return false;
	}
	if (r == STREAM_BROKEN) {
		conn_drain(c);
		return false;
	}
	return true;
}

/* Answer one message: begin, and the messages of its answer as far as
 * conn_stream goes (the rest waits in c->stream). STREAM_* or a negative
 * code. */
static int conn_answer(struct conn *c, const uint8_t *msg, size_t len)
{
	struct rwd_tcp *t = c->t;
	struct rwd_query qr = {
		.wire = msg,
		.wire_len = len,
		.transport = &rwd_transport_tcp,
		.client = (struct sockaddr *)&c->peer,
		.out = t->scratch + 2,
		.out_cap = RWD_QUERY_OUT_MIN,
		.thread = &t->qthread,
	};
	size_t n = 0;
	int r = STREAM_BROKEN;
	struct timespec received;
	if (t->dnstap)
		clock_gettime(CLOCK_REALTIME, &received);
	rcu_thread_online();
	const struct rwd_snapshot *s = rwd_snapshot_get();
	t->qthread.health = rwd_health_get();   /* read with the snapshot, under RCU */
	if (s) {
		rwd_query_begin(s, &qr);
		if (__builtin_expect(t->opts.test_begin != NULL, 0))
			t->opts.test_begin(s, &qr);
		n = rwd_query_produce(s, &qr);
	}
	if (t->dnstap) {                    /* the query and the first message of its answer */
		struct rwd_dnstap_msg m = {
			.tcp = true, .client = (const struct sockaddr *)&c->peer,
			.server = (const struct sockaddr *)&c->local, .query_time = received,
			.query = msg, .query_len = len, .response = qr.out, .response_len = n,
		};
		rwd_dnstap_log(t->dnstap, &m);
	}
	if (n)
		r = conn_stream(c, s, &qr, n);
	if (r == STREAM_WAITS && conn_stream_keep(c, s, &qr) < 0)
		r = RW_ENOMEM;
	rcu_thread_offline();
	return r;
}

/* Go on with the stream waiting in c->stream: STREAM_* or a negative code. */
static int conn_resume(struct conn *c)
{
	struct rwd_tcp *t = c->t;
	struct stream *st = c->stream;
	int r = STREAM_BROKEN;
	c->stream = NULL;
	rcu_thread_online();
	const struct rwd_snapshot *s = rwd_snapshot_get();
	/* the very snapshot it began on, or a transfer holding its zone version */
	if (s && (s->generation == st->generation || stream_outlives(st))) {
		t->qthread.health = rwd_health_get();
		st->qr.out = t->scratch + 2;
		size_t n = rwd_query_produce(s, &st->qr);
		if (n)
			r = conn_stream(c, s, &st->qr, n);
	} else {
		rwd_debug("tcp: a snapshot was published while a stream waited for its reader: "
		          "closing the connection");
	}
	rcu_thread_offline();
	if (r == STREAM_WAITS)
		c->stream = st;
	else
		stream_free(st);
	return r;
}

/* Answer every complete message in the read buffer, as far as backpressure allows. */
static void conn_process(struct conn *c)
{
	size_t off = 0;
	bool answered = false;
	if (c->stream && !c->closing && !c->draining && !conn_queue_full(c)) {
		conn_touch(c);               /* a stream moving is not idle (max_clients) */
		conn_stream_end(c, conn_resume(c));    /* the answer before the next query */
	}
	while (!c->closing && !c->draining && !conn_backlogged(c)) {
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
		answered = true;
		conn_touch(c);
		int r = conn_answer(c, c->rbuf + off + 2, len);
		off += 2 + len;
		if (!conn_stream_end(c, r))
			break;
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
	if (conn_backlogged(c) && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	conn_timer(c, answered && c->pending == 0);
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

/* Count a connection closed at tcp.max_per_client or tcp.max_clients;
 * say so in the log at most once a second. */
static void limit_hit(struct rwd_tcp *t, enum rwd_tcp_limit which)
{
	t->stats.tcp_closed[which]++;
	t->limit_unlogged[which == RWD_TCP_MAX_CLIENTS]++;
	uint64_t now = uv_now(&t->loop);
	if (t->limit_logged_at != 0 && now - t->limit_logged_at < 1000)
		return;
	if (t->limit_unlogged[0])
		rwd_warn("tcp: refused %u connection(s) over tcp.max_per_client (%u)",
		         t->limit_unlogged[0], t->opts.max_per_client);
	if (t->limit_unlogged[1])
		rwd_warn("tcp: closed %u longest-idle connection(s) at tcp.max_clients (%u)",
		         t->limit_unlogged[1], atomic_load_explicit(&t->max_clients, memory_order_relaxed));
	t->limit_logged_at = now ? now : 1;
	t->limit_unlogged[0] = t->limit_unlogged[1] = 0;
}

/* An accept that failed (EMFILE, ENFILE, ENOBUFS...): libuv calls back for
 * each one, as often as the listener is readable, so say so at most once a
 * second. */
static void accept_failed(struct listener *l, int err)
{
	struct rwd_tcp *t = l->t;
	t->accept_unlogged++;
	t->accept_last = err;
	uint64_t now = uv_now(&t->loop);
	if (t->accept_logged_at != 0 && now - t->accept_logged_at < 1000)
		return;
	rwd_warn("tcp: accept on %s: %s (%u time(s) since the last line)", l->text,
	         uv_strerror(t->accept_last), t->accept_unlogged);
	t->accept_logged_at = now ? now : 1;
	t->accept_unlogged = 0;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct rwd_tcp *t = l->t;

	if (status < 0) {
		accept_failed(l, status);
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

	int r = uv_accept(server, (uv_stream_t *)&c->tcp);
	if (r < 0) {
		accept_failed(l, r);
		conn_close(c);
		return;
	}
	t->stats.tcp_accepted++;
	int plen = sizeof(c->peer);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &plen) < 0)
		c->peer.ss_family = AF_UNSPEC;

	if (t->opts.max_per_client && client_key(&c->peer, c->client)) {
		const struct client *e = client_find(t, c->client);
		if (e && e->conns >= t->opts.max_per_client) {
			limit_hit(t, RWD_TCP_PER_CLIENT);
			conn_close(c);
			return;
		}
		if (client_add(t, c->client) < 0) {
			rwd_warn("tcp: out of memory for a new connection on %s", l->text);
			conn_close(c);
			return;
		}
		c->counted = true;
	}
	/* Full: the longest-idle connection makes room, so connections that
	 * sit idle cannot keep new clients out. */
	unsigned max = atomic_load_explicit(&t->max_clients, memory_order_relaxed);
	while (max && t->n_conns >= max && t->conns) {   /* a lowered limit: more than one */
		limit_hit(t, RWD_TCP_MAX_CLIENTS);
		conn_close(t->conns);
	}
	conn_link(c);
	plen = sizeof(c->local);
	if (t->dnstap && uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&c->local, &plen) < 0)
		c->local.ss_family = AF_UNSPEC;
	/* Several small responses in a row must not wait for the peer's ACKs. */
	uv_tcp_nodelay(&c->tcp, 1);
	conn_timer(c, true);
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
	pthread_setname_np(pthread_self(), "rw-tcp");   /* top -H, bench/xfr.py */
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
	free(t->clients);
	free(t->ls);
	free(t);
}

static int port_of(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
	                                       : ((const struct sockaddr_in *)sa)->sin_port);
}

static int listener_open(struct rwd_tcp *t, struct listener *l, const struct rw_sockaddr *a)
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

int rwd_tcp_start(const struct rw_sockaddr *addrs, size_t n, const struct rwd_tcp_opts *opts,
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
	atomic_init(&t->max_clients, opts->max_clients);
	if (getrandom(t->hash_key, sizeof(t->hash_key), 0) != sizeof(t->hash_key)) {
		t->hash_key[0] = uv_hrtime();          /* still unknown to a remote client */
		t->hash_key[1] = (uint64_t)(uintptr_t)t;
	}
	t->dnstap = rwd_dnstap_queue_take(opts->dnstap);
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

unsigned rwd_tcp_clients_for_fds(unsigned configured, uint64_t fd_limit, uint64_t open_now,
                                 uint64_t reserve)
{
	uint64_t used = open_now + reserve;
	uint64_t left = fd_limit > used ? fd_limit - used : 0;
	if (configured && configured < left)
		left = configured;
	if (left > UINT32_MAX)
		left = UINT32_MAX;
	return left ? (unsigned)left : 1;
}

void rwd_tcp_set_max_clients(struct rwd_tcp *t, unsigned max_clients)
{
	if (t)
		atomic_store_explicit(&t->max_clients, max_clients, memory_order_relaxed);
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
