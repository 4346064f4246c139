/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * NOTIFY out (notify.h): one thread, one libuv loop.
 *
 * The table. Every pending exchange is an entry keyed by (view, apex,
 * remote address and port), in a hash table for coalescing and for
 * matching answers, and in a list by age for the bound. The table is
 * shared by the publishing thread (rwd_notify_zone_serial adds and updates
 * entries) and the loop (sends, timers, answers), under n->lock; neither
 * holds it across anything that blocks (sends are non-blocking, uv_udp_try_send).
 * An entry the publishing thread adds or changes goes on the todo list with
 * its "fresh" flag set, and the loop, woken by uv_async_send, starts its
 * exchange over: a new id, the tries from zero. Only the loop touches the
 * timers; an entry dropped by the publishing thread (over the bound) is
 * marked dead and left on the todo list for the loop to close.
 *
 * Answers arrive on the shared sockets and are matched by the remote's
 * address and port, the zone in the question and the id; anything else is
 * ignored, as is an answer for an exchange that a newer serial replaced.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <libknot/libknot.h>
#include <uv.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/common/log.h"
#include "server/common/tsig.h"
#include "server/conf/conf.h"
#include "server/daemon/server.h"
#include "server/snapshot/snapshot.h"
#include "server/xfr/notify.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#define BUCKETS 4096                   /* hash chains (a power of two) */
#define SOA_RDATA_MAX (255 + 255 + 20)
#define MSG_MAX 2048                   /* a NOTIFY with its SOA and a TSIG RR */
#define NS_TARGETS_MAX 64              /* NS targets of a zone looked at (notify_ns) */
#define SEND_BATCH 256                 /* exchanges started per loop turn: the lock is
                                        * held that long at most, and a burst is paced */
#define NAME_TXT 1024                  /* a name in text, escapes at worst */
#define ZONE_TXT (NAME_TXT + 300)      /* and its view */

struct entry {
	struct entry *hnext;               /* hash chain */
	struct entry *older, *newer;       /* by age, n->oldest first */
	struct entry *todo_next;
	struct rwd_notify *n;
	bool on_todo;
	bool fresh;                        /* (re)start the exchange */
	bool dead;                         /* out of the table: the loop frees it */
	bool timer_inited;                 /* loop only */
	uv_timer_t timer;
	/* what to send, and where */
	char *view;                        /* NULL: top level */
	uint8_t apex[255];
	uint8_t apex_len;
	uint32_t serial;
	uint32_t soa_ttl;
	uint16_t soa_len;
	uint8_t soa[SOA_RDATA_MAX];        /* SOA RDATA, serial set */
	struct rw_sockaddr to;
	struct rwd_tsig_keyring kr;        /* the remote's key (n 0: unsigned), a copy */
	unsigned retries, timeout_ms;
	/* the exchange (loop only) */
	uint8_t *wire;                     /* the NOTIFY, built at the first try and resent
	                                    * as it is (as BIND does): an answer to
	                                    * any try ends the exchange, and verifies */
	uint16_t wire_len;
	uint16_t id;
	unsigned tries;                    /* sent for this serial */
	unsigned wait_ms;
	uint64_t started_ms;
	struct rwd_tsig_ctx tsig;
};

struct rwd_notify {
	struct rwd_server *srv;
	pthread_mutex_t lock;
	struct entry *table[BUCKETS];
	struct entry *oldest, *newest;
	struct entry *todo, *todo_tail;    /* first in, first out */
	unsigned count;                    /* entries in the table */
	unsigned dropped;                  /* by the enqueue under way (one warning for all) */
	char dropped_first[ZONE_TXT + 80]; /* the first of them */
	bool stopping;
	struct rwd_notify_stats stats;
	uint64_t rng;
	/* loop only */
	uv_loop_t loop;
	uv_async_t async;
	uv_thread_t thread;
	uv_udp_t sock[2];                  /* [0] IPv4, [1] IPv6 */
	int sock_state[2];                 /* 0: not yet, 1: open, < 0: failed (uv error) */
	uint8_t msg[MSG_MAX];
	uint8_t rbuf[65536];
};

/* The running service, for /metrics (rwd_notify_metrics(NULL, ...)). */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rwd_notify *running;

/* ---- small helpers ---- */

static uint16_t next_id(struct rwd_notify *n)
{
	/* xorshift64*: ids that a blind spoofer cannot count on; the TSIG
	 * signature is what protects a keyed exchange */
	uint64_t x = n->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	n->rng = x;
	return (uint16_t)((x * 0x2545F4914F6CDD1DULL) >> 48);
}

static uint32_t hash_key(const uint8_t *apex, size_t apex_len, const struct sockaddr *sa)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < apex_len; i++)
		h = (h ^ apex[i]) * 0x100000001b3ULL;
	const uint8_t *a;
	size_t alen;
	uint16_t port;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		a = s6->sin6_addr.s6_addr, alen = 16, port = s6->sin6_port;
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		a = (const uint8_t *)&s4->sin_addr, alen = 4, port = s4->sin_port;
	}
	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 0x100000001b3ULL;
	h = (h ^ port) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32)) & (BUCKETS - 1);
}

/* Same family, address and port. */
static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static bool same_view(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void zone_text(const struct entry *e, char *buf, size_t size)
{
	char name[NAME_TXT];
	if (rw_dname_to_str(e->apex, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (e->view)
		snprintf(buf, size, "%s (view %s)", name, e->view);
	else
		snprintf(buf, size, "%s", name);
}

static const char *rcode_name(int rcode, char *buf, size_t size)
{
	const knot_lookup_t *l = knot_lookup_by_id(knot_rcode_names, rcode);
	if (l)
		return l->name;
	snprintf(buf, size, "RCODE%d", rcode);
	return buf;
}

static const char *tsig_error_name(int err, char *buf, size_t size)
{
	const knot_lookup_t *l = knot_lookup_by_id(knot_tsig_rcode_names, err);
	if (l)
		return l->name;
	if (err == 0)
		return "unsigned or bad answer";
	snprintf(buf, size, "TSIG error %d", err);
	return buf;
}

/* ---- the table (under n->lock) ---- */

static void entry_free(struct entry *e)
{
	rwd_tsig_ctx_clear(&e->tsig);
	rwd_tsig_keyring_free(&e->kr);
	free(e->wire);
	free(e->view);
	free(e);
}

static void on_entry_closed(uv_handle_t *h)
{
	entry_free(h->data);
}

/* Loop only: release e, out of the table already. */
static void entry_close(struct entry *e)
{
	if (e->timer_inited)
		uv_close((uv_handle_t *)&e->timer, on_entry_closed);
	else
		entry_free(e);
}

static void todo_push(struct rwd_notify *n, struct entry *e)
{
	if (e->on_todo)
		return;
	e->on_todo = true;
	e->todo_next = NULL;
	if (n->todo_tail)
		n->todo_tail->todo_next = e;
	else
		n->todo = e;
	n->todo_tail = e;
}

/* Take e out of the table (hash chain, age list). */
static void entry_unlink(struct rwd_notify *n, struct entry *e)
{
	uint32_t b = hash_key(e->apex, e->apex_len, (const struct sockaddr *)&e->to.addr);
	for (struct entry **p = &n->table[b]; *p; p = &(*p)->hnext)
		if (*p == e) {
			*p = e->hnext;
			break;
		}
	if (e->older)
		e->older->newer = e->newer;
	else
		n->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		n->newest = e->older;
	e->older = e->newer = e->hnext = NULL;
	n->count--;
	n->stats.pending = n->count;
}

/* The exchange of e is over (answered, refused, given up). Loop only. */
static void entry_finish(struct rwd_notify *n, struct entry *e)
{
	entry_unlink(n, e);
	e->dead = true;
	if (e->on_todo)
		return;                        /* the todo pass closes it */
	entry_close(e);
}

static struct entry *entry_find(struct rwd_notify *n, const char *view, const uint8_t *apex,
                                size_t apex_len, const struct sockaddr *to)
{
	for (struct entry *e = n->table[hash_key(apex, apex_len, to)]; e; e = e->hnext)
		if (e->apex_len == apex_len && memcmp(e->apex, apex, apex_len) == 0 &&
		    same_addr((const struct sockaddr *)&e->to.addr, to) && same_view(e->view, view))
			return e;
	return NULL;
}

/* What one queued NOTIFY is made of. */
struct job {
	const char *view;
	const uint8_t *apex;
	size_t apex_len;
	uint32_t serial;
	uint32_t soa_ttl;
	const uint8_t *soa;
	size_t soa_len;
	unsigned retries, timeout_ms;
};

/*
 * Queue job to remote to (with key, or NULL): a new entry, or the pending
 * one for the same zone and remote updated to the new serial. Under n->lock.
 */
static void enqueue(struct rwd_notify *n, const struct job *j, const struct rw_sockaddr *to,
                    const struct rwd_conf_tsig_key *key)
{
	const struct sockaddr *sa = (const struct sockaddr *)&to->addr;
	char zone[ZONE_TXT];
	struct entry *e = entry_find(n, j->view, j->apex, j->apex_len, sa);
	if (e != NULL) {
		n->stats.superseded++;
		if (e->serial != j->serial) {
			zone_text(e, zone, sizeof(zone));
			rwd_debug("notify: %s serial %" PRIu32 " to %s: superseded by serial %" PRIu32,
			          zone, e->serial, e->to.text, j->serial);
		}
		rwd_tsig_keyring_free(&e->kr);
	} else {
		if (n->count >= RWD_NOTIFY_MAX_PENDING) {
			struct entry *old = n->oldest;
			if (n->dropped++ == 0) {
				zone_text(old, zone, sizeof(zone));
				snprintf(n->dropped_first, sizeof(n->dropped_first), "%s serial %" PRIu32
				         " to %s", zone, old->serial, old->to.text);
			}
			n->stats.failed++;
			entry_unlink(n, old);
			old->dead = true;
			todo_push(n, old);
		}
		e = calloc(1, sizeof(*e));
		char *view = j->view ? strdup(j->view) : NULL;
		if (e == NULL || (j->view && view == NULL)) {
			free(e);
			free(view);
			rwd_error("notify: out of memory, NOTIFY to %s not sent", to->text);
			n->stats.failed++;
			return;
		}
		e->n = n;
		e->view = view;
		memcpy(e->apex, j->apex, j->apex_len);
		e->apex_len = (uint8_t)j->apex_len;
		e->to = *to;
		uint32_t b = hash_key(e->apex, e->apex_len, sa);
		e->hnext = n->table[b];
		n->table[b] = e;
		e->older = n->newest;
		if (n->newest)
			n->newest->newer = e;
		else
			n->oldest = e;
		n->newest = e;
		n->count++;
		n->stats.pending = n->count;
	}
	e->serial = j->serial;
	e->soa_ttl = j->soa_ttl;
	e->soa_len = (uint16_t)j->soa_len;
	memcpy(e->soa, j->soa, j->soa_len);
	e->retries = j->retries;
	e->timeout_ms = j->timeout_ms ? j->timeout_ms : 1000;
	if (key && rwd_tsig_keyring_add(&e->kr, key->dname, key->algorithm, key->secret,
	                                key->secret_len) < 0) {
		/* the configuration checked the key: only memory can fail here */
		rwd_error("notify: cannot use key %s for %s: out of memory; sending unsigned",
		          key->name, to->text);
	}
	e->fresh = true;
	todo_push(n, e);
}

/* ---- sending (loop) ---- */

static int sock_for(struct rwd_notify *n, int family, uv_udp_t **out);

/* The NOTIFY of e into e->wire: header, question, the SOA in the answer
 * section, a TSIG RR when keyed. Its length, 0 when it cannot be built. */
static size_t build(struct rwd_notify *n, struct entry *e)
{
	uint8_t *m = n->msg;
	size_t len = RW_HDR_LEN;
	memset(m, 0, RW_HDR_LEN);
	rw_put16(m, e->id);
	m[2] = (uint8_t)(RW_OPCODE_NOTIFY << 3) | RW_FLAG_AA;
	rw_put16(m + RW_HDR_QDCOUNT, 1);
	rw_put16(m + RW_HDR_ANCOUNT, 1);
	memcpy(m + len, e->apex, e->apex_len);
	len += e->apex_len;
	rw_put16(m + len, RW_TYPE_SOA);
	rw_put16(m + len + 2, RW_CLASS_IN);
	len += 4;
	rw_put16(m + len, 0xc000 | RW_HDR_LEN);   /* the owner: the question name */
	rw_put16(m + len + 2, RW_TYPE_SOA);
	rw_put16(m + len + 4, RW_CLASS_IN);
	rw_put32(m + len + 6, e->soa_ttl);
	rw_put16(m + len + 10, e->soa_len);
	len += 12;
	memcpy(m + len, e->soa, e->soa_len);
	len += e->soa_len;
	rwd_tsig_ctx_clear(&e->tsig);      /* the replaced exchange's */
	if (e->kr.n > 0 &&
	    rwd_tsig_sign_request(&e->tsig, &e->kr.keys[0], m, &len, MSG_MAX,
	                          (uint64_t)time(NULL)) < 0)
		return 0;
	uint8_t *w = realloc(e->wire, len);
	if (w == NULL)
		return 0;
	memcpy(w, m, len);
	e->wire = w;
	e->wire_len = (uint16_t)len;
	return len;
}

static void on_timer(uv_timer_t *t);

/* One try of e's exchange: send, then wait e->wait_ms for the answer. */
static void send_try(struct rwd_notify *n, struct entry *e)
{
	char zone[ZONE_TXT];
	size_t len = e->wire_len;
	if (e->tries++ == 0) {
		/* a new exchange: a new id (never the replaced one's, whose late
		 * answers must not end this one) */
		uint16_t old = e->id;
		while ((e->id = next_id(n)) == old)
			;
		len = build(n, e);
	}
	uv_udp_t *u = NULL;
	int r = len ? sock_for(n, e->to.addr.ss_family, &u) : RW_ENOMEM;
	if (r < 0) {
		zone_text(e, zone, sizeof(zone));
		rwd_warn("notify: %s serial %" PRIu32 " to %s: not sent (%s)", zone, e->serial,
		         e->to.text, len ? uv_strerror(r) : "cannot build the message");
		n->stats.failed++;
		entry_finish(n, e);
		return;
	}
	uv_buf_t buf = uv_buf_init((char *)e->wire, (unsigned)len);
	r = uv_udp_try_send(u, &buf, 1, (const struct sockaddr *)&e->to.addr);
	n->stats.sent++;
	if (r < 0) {                         /* as a lost datagram: the timer retries */
		zone_text(e, zone, sizeof(zone));
		rwd_debug("notify: %s to %s: send: %s", zone, e->to.text, uv_strerror(r));
	}
	uv_timer_start(&e->timer, on_timer, e->wait_ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct entry *e = t->data;
	struct rwd_notify *n = e->n;
	pthread_mutex_lock(&n->lock);
	if (!e->dead && !e->fresh) {
		if (e->tries > e->retries) {
			char zone[ZONE_TXT];
			zone_text(e, zone, sizeof(zone));
			rwd_warn("notify: %s serial %" PRIu32 " to %s: gave up after %u tries (no answer)",
			         zone, e->serial, e->to.text, e->tries);
			n->stats.failed++;
			entry_finish(n, e);
		} else {
			e->wait_ms = e->wait_ms > UINT32_MAX / 2 ? UINT32_MAX : e->wait_ms * 2;
			send_try(n, e);
		}
	}
	pthread_mutex_unlock(&n->lock);
}

/* ---- answers (loop) ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct rwd_notify *n = h->loop->data;
	*buf = uv_buf_init((char *)n->rbuf, sizeof(n->rbuf));
}

/* The exchange msg[0..len) from addr answers, or NULL. */
static struct entry *match(struct rwd_notify *n, const uint8_t *msg, size_t len,
                           const struct sockaddr *addr)
{
	if (len < RW_HDR_LEN || !(msg[2] & RW_FLAG_QR) || RW_OPCODE(msg[2]) != RW_OPCODE_NOTIFY ||
	    rw_get16(msg + RW_HDR_QDCOUNT) != 1)
		return NULL;
	size_t pos = RW_HDR_LEN;
	uint8_t qname[RW_DNAME_MAXLEN];
	if (rw_dname_unpack(msg, len, &pos, qname) < 0 || pos + 4 > len ||
	    rw_get16(msg + pos) != RW_TYPE_SOA || rw_get16(msg + pos + 2) != RW_CLASS_IN)
		return NULL;
	rw_dname_lower(qname);
	size_t qlen = rw_dname_len(qname);
	uint16_t id = rw_get16(msg);
	for (struct entry *e = n->table[hash_key(qname, qlen, addr)]; e; e = e->hnext)
		if (!e->fresh && e->tries > 0 && e->id == id && e->apex_len == qlen &&
		    memcmp(e->apex, qname, qlen) == 0 &&
		    same_addr((const struct sockaddr *)&e->to.addr, addr))
			return e;
	return NULL;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
	struct rwd_notify *n = u->loop->data;
	if (nread <= 0 || addr == NULL || (flags & UV_UDP_PARTIAL))
		return;
	const uint8_t *msg = (const uint8_t *)buf->base;
	size_t len = (size_t)nread;
	pthread_mutex_lock(&n->lock);
	struct entry *e = match(n, msg, len, addr);
	if (e == NULL) {
		pthread_mutex_unlock(&n->lock);
		return;                          /* late, spoofed, or for a replaced exchange */
	}
	char zone[ZONE_TXT], rb[32], tb[32];
	zone_text(e, zone, sizeof(zone));
	int rcode = msg[3] & 0x0f;
	uint64_t ms = uv_now(&n->loop) - e->started_ms;
	if (e->kr.n > 0 && rwd_tsig_client_check(&e->tsig, msg, len, true) < 0) {
		char key[NAME_TXT];
		if (rw_dname_to_str(e->kr.keys[0].name, key, sizeof(key)) < 0)
			snprintf(key, sizeof(key), "?");
		rwd_warn("notify: %s serial %" PRIu32 " to %s: TSIG failure (%s, %s) with key %s",
		         zone, e->serial, e->to.text, rcode_name(rcode, rb, sizeof(rb)),
		         tsig_error_name(e->tsig.error, tb, sizeof(tb)), key);
		n->stats.failed++;
	} else if (rcode == RW_RCODE_NOERROR) {
		rwd_info("notify: %s serial %" PRIu32 " to %s: answered (NOERROR) after %u %s, "
		         "%" PRIu64 " ms", zone, e->serial, e->to.text, e->tries,
		         e->tries == 1 ? "try" : "tries", ms);
		n->stats.answered++;
	} else {
		rwd_warn("notify: %s serial %" PRIu32 " to %s: refused (%s)", zone, e->serial,
		         e->to.text, rcode_name(rcode, rb, sizeof(rb)));
		n->stats.failed++;
	}
	uv_timer_stop(&e->timer);
	entry_finish(n, e);
	pthread_mutex_unlock(&n->lock);
}

/* The shared socket of family, opened on first use (an ephemeral port). */
static int sock_for(struct rwd_notify *n, int family, uv_udp_t **out)
{
	int i = family == AF_INET6;
	if (n->sock_state[i] == 0) {
		struct sockaddr_storage any = { 0 };
		if (i) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&any;
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = in6addr_any;
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&any;
			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		}
		int r = uv_udp_init(&n->loop, &n->sock[i]);
		if (r == 0) {
			n->sock[i].data = n;
			if ((r = uv_udp_bind(&n->sock[i], (const struct sockaddr *)&any,
			                     i ? UV_UDP_IPV6ONLY : 0)) < 0 ||
			    (r = uv_udp_recv_start(&n->sock[i], on_alloc, on_recv)) < 0)
				uv_close((uv_handle_t *)&n->sock[i], NULL);
		}
		n->sock_state[i] = r < 0 ? r : 1;
		if (r < 0)
			rwd_error("notify: cannot open a UDP socket for %s: %s", i ? "IPv6" : "IPv4",
			          uv_strerror(r));
	}
	*out = &n->sock[i];
	return n->sock_state[i] < 0 ? n->sock_state[i] : 0;
}

/* ---- the loop ---- */

static void on_close_nothing(uv_handle_t *h)
{
	(void)h;
}

static void shut_down(struct rwd_notify *n)
{
	if (n->count)
		rwd_info("notify: stopping with %u NOTIFY exchange(s) pending", n->count);
	/* the dead ones are on the todo list only, the others in the table */
	for (struct entry *e = n->todo, *next; e; e = next) {
		next = e->todo_next;
		e->on_todo = false;
		if (e->dead)
			entry_close(e);
	}
	n->todo = n->todo_tail = NULL;
	while (n->oldest) {
		struct entry *e = n->oldest;
		entry_unlink(n, e);
		e->dead = true;
		entry_close(e);
	}
	for (int i = 0; i < 2; i++)
		if (n->sock_state[i] == 1)
			uv_close((uv_handle_t *)&n->sock[i], on_close_nothing);
	uv_close((uv_handle_t *)&n->async, on_close_nothing);
}

static void on_async(uv_async_t *a)
{
	struct rwd_notify *n = a->data;
	pthread_mutex_lock(&n->lock);
	if (n->stopping) {
		shut_down(n);
		pthread_mutex_unlock(&n->lock);
		return;
	}
	unsigned budget = SEND_BATCH;
	while (n->todo && budget) {
		struct entry *e = n->todo;
		n->todo = e->todo_next;
		if (n->todo == NULL)
			n->todo_tail = NULL;
		e->on_todo = false;
		if (e->dead) {
			entry_close(e);
			continue;
		}
		if (!e->timer_inited) {
			uv_timer_init(&n->loop, &e->timer);
			e->timer.data = e;
			e->timer_inited = true;
		}
		if (e->fresh) {
			e->fresh = false;
			e->tries = 0;
			e->wait_ms = e->timeout_ms;
			e->started_ms = uv_now(&n->loop);
			send_try(n, e);
			budget--;
		}
	}
	if (n->todo)
		uv_async_send(&n->async);        /* the rest on the next turn */
	pthread_mutex_unlock(&n->lock);
}

static void notify_thread(void *arg)
{
	struct rwd_notify *n = arg;
	uv_run(&n->loop, UV_RUN_DEFAULT);
}

int rwd_notify_start(struct rwd_server *srv, struct rwd_notify **out)
{
	*out = NULL;
	struct rwd_notify *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		rwd_error("notify: out of memory");
		return RW_ENOMEM;
	}
	n->srv = srv;
	pthread_mutex_init(&n->lock, NULL);
	if (getrandom(&n->rng, sizeof(n->rng), 0) != sizeof(n->rng))
		n->rng = uv_hrtime();
	n->rng |= 1;
	int r = uv_loop_init(&n->loop);
	if (r == 0) {
		n->loop.data = n;
		if ((r = uv_async_init(&n->loop, &n->async, on_async)) < 0)
			uv_loop_close(&n->loop);
	}
	if (r < 0) {
		rwd_error("notify: cannot start the event loop: %s", uv_strerror(r));
		goto fail;
	}
	n->async.data = n;
	if ((r = uv_thread_create(&n->thread, notify_thread, n)) < 0) {
		rwd_error("notify: cannot start the NOTIFY thread: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&n->async, NULL);
		uv_run(&n->loop, UV_RUN_DEFAULT);
		uv_loop_close(&n->loop);
		goto fail;
	}
	pthread_mutex_lock(&running_lock);
	running = n;
	pthread_mutex_unlock(&running_lock);
	*out = n;
	return 0;
fail:
	pthread_mutex_destroy(&n->lock);
	free(n);
	return RW_EIO;
}

void rwd_notify_stop(struct rwd_notify *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&running_lock);
	if (running == n)
		running = NULL;
	pthread_mutex_unlock(&running_lock);
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	pthread_mutex_unlock(&n->lock);
	uv_async_send(&n->async);
	uv_thread_join(&n->thread);
	int r = uv_loop_close(&n->loop);
	if (r < 0)
		rwd_warn("notify: loop close: %s", uv_strerror(r));
	pthread_mutex_destroy(&n->lock);
	free(n);
}

/* ---- what to notify (the publishing thread, under the control lock) ---- */

static const struct rwd_conf_zone *conf_zone(const struct rwd_conf *conf, const char *view,
                                             const uint8_t *apex, size_t apex_len)
{
	for (size_t i = 0; conf && i < conf->n_zones; i++) {
		const struct rwd_conf_zone *z = &conf->zones[i];
		if (rw_dname_len(z->dname) == apex_len && memcmp(z->dname, apex, apex_len) == 0 &&
		    same_view(z->view, view))
			return z;
	}
	return NULL;
}

static void sockaddr_of(int family, const uint8_t *bytes, uint16_t port, struct rw_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	char a[INET6_ADDRSTRLEN];
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, bytes, 16);
		out->addr_len = sizeof(*s6);
		inet_ntop(AF_INET6, bytes, a, sizeof(a));
		snprintf(out->text, sizeof(out->text), "[%s]:%u", a, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, bytes, 4);
		out->addr_len = sizeof(*s4);
		inet_ntop(AF_INET, bytes, a, sizeof(a));
		snprintf(out->text, sizeof(out->text), "%s:%u", a, port);
	}
}

/* Whether to is one of cz's notify remotes or one of our own listen addresses. */
static bool known_addr(const struct rwd_conf *conf, const struct rwd_conf_zone *cz,
                       const struct rw_sockaddr *to)
{
	const struct sockaddr *sa = (const struct sockaddr *)&to->addr;
	for (size_t i = 0; i < cz->n_notify; i++)
		if (same_addr((const struct sockaddr *)&cz->notify[i].addr.addr, sa))
			return true;
	for (size_t i = 0; i < conf->n_listen; i++)
		if (same_addr((const struct sockaddr *)&conf->listen[i].addr, sa))
			return true;
	return false;
}

/* notify_ns: NOTIFY to the addresses of z's NS targets that the zones of db
 * hold (RFC 1996 3.6: not to the one the SOA MNAME names). */
static void enqueue_ns(struct rwd_notify *n, const struct job *j, const struct rwd_conf *conf,
                       const struct rwd_conf_zone *cz, const struct rwd_zonedb *db,
                       const struct rwd_zone *z)
{
	const struct rwd_rrset *ns = rwd_node_rrset(z->apex, RW_TYPE_NS);
	if (ns == NULL)
		return;
	const uint8_t *mname = j->soa;       /* the SOA RDATA starts with MNAME, uncompressed */
	unsigned seen = 0;
	RWD_RRSET_FOREACH(ns, rd, i) {
		if (seen++ >= NS_TARGETS_MAX)
			break;
		uint8_t target[RW_DNAME_MAXLEN];
		size_t tlen = rw_dname_len(rd + 2);
		if (tlen > sizeof(target) || tlen > rw_get16(rd))
			continue;
		memcpy(target, rd + 2, tlen);
		rw_dname_lower(target);
		if (j->soa_len && rw_dname_eq(target, mname))
			continue;
		const struct rwd_zone *tz = rwd_zonedb_find(db, target, tlen, RW_TYPE_A);
		const struct rwd_node *node = tz && !tz->failed ? rwd_zone_find(tz, target, tlen) : NULL;
		for (int fam = 0; node && fam < 2; fam++) {
			const struct rwd_rrset *as = rwd_node_rrset(node, fam ? RW_TYPE_AAAA : RW_TYPE_A);
			if (as == NULL)
				continue;
			RWD_RRSET_FOREACH(as, ad, k) {
				if (rw_get16(ad) != (fam ? 16 : 4))
					continue;
				struct rw_sockaddr to;
				sockaddr_of(fam ? AF_INET6 : AF_INET, ad + 2, 53, &to);
				if (!known_addr(conf, cz, &to))
					enqueue(n, j, &to, NULL);
			}
		}
	}
}

void rwd_notify_zone_serial(void *ctx, const char *view, const uint8_t *apex, uint32_t serial)
{
	struct rwd_notify *n = ctx;
	const struct rwd_conf *conf = n->srv->conf;
	size_t apex_len = rw_dname_len(apex);
	const struct rwd_conf_zone *cz = conf_zone(conf, view, apex, apex_len);
	if (cz == NULL || (cz->n_notify == 0 && !cz->notify_ns))
		return;
	/* The snapshot being published is the current one, and stays so while
	 * the caller holds the control lock. */
	const struct rwd_snapshot *s = rwd_snapshot_get();
	const struct rwd_view *v = view ? rwd_snapshot_view(s, view) : NULL;
	const struct rwd_zonedb *db = view ? (v ? v->zones : NULL) : s->zones;
	const struct rwd_zone *z = db ? rwd_zonedb_get(db, apex, apex_len) : NULL;
	const struct rwd_rrset *soa = z && !z->failed ? rwd_node_rrset(z->apex, RW_TYPE_SOA) : NULL;
	if (soa == NULL || soa->count == 0 || rw_get16(soa->rdata) > SOA_RDATA_MAX ||
	    rw_get16(soa->rdata) < 20)
		return;
	uint8_t rdata[SOA_RDATA_MAX];
	size_t rdlen = rw_get16(soa->rdata);
	memcpy(rdata, soa->rdata + 2, rdlen);
	rw_put32(rdata + rdlen - 20, serial);     /* the served serial (API changes set it) */
	struct job j = { .view = view, .apex = apex, .apex_len = apex_len, .serial = serial,
	                 .soa_ttl = soa->ttl, .soa = rdata, .soa_len = rdlen,
	                 .retries = conf->xfr.notify_retries,
	                 .timeout_ms = conf->xfr.notify_timeout_ms };
	pthread_mutex_lock(&n->lock);
	if (!n->stopping) {
		n->dropped = 0;
		for (size_t i = 0; i < cz->n_notify; i++)
			enqueue(n, &j, &cz->notify[i].addr, cz->notify[i].key);
		if (cz->notify_ns)
			enqueue_ns(n, &j, conf, cz, db, z);
		if (n->dropped == 1)
			rwd_warn("notify: %s: dropped (%u NOTIFY exchanges pending, the most kept: "
			         "the oldest goes)", n->dropped_first, RWD_NOTIFY_MAX_PENDING);
		else if (n->dropped > 1)
			rwd_warn("notify: %s and %u more: dropped (%u NOTIFY exchanges pending, the "
			         "most kept: the oldest go)", n->dropped_first, n->dropped - 1,
			         RWD_NOTIFY_MAX_PENDING);
	}
	bool wake = n->todo != NULL;
	pthread_mutex_unlock(&n->lock);
	if (wake)
		uv_async_send(&n->async);
}

static void snapshot_zones(struct rwd_notify *n, const char *view, const struct rwd_zonedb *db,
                           size_t count)
{
	for (size_t i = 0; db && i < count; i++) {
		const struct rwd_zone *z = db->zones[i];
		if (!z->failed)
			rwd_notify_zone_serial(n, view, z->apex_name, z->serial);
	}
}

void rwd_notify_snapshot(struct rwd_notify *n, const struct rwd_snapshot *s)
{
	if (n == NULL || s == NULL)
		return;
	snapshot_zones(n, NULL, s->zones, s->zones->n_zones);
	for (size_t v = 0; v < s->n_views; v++)
		snapshot_zones(n, s->views[v].name, s->views[v].zones, s->views[v].n_own);
}

/* ---- counters ---- */

void rwd_notify_get_stats(struct rwd_notify *n, struct rwd_notify_stats *out)
{
	pthread_mutex_lock(&n->lock);
	*out = n->stats;
	pthread_mutex_unlock(&n->lock);
}

void rwd_notify_metrics(struct rwd_notify *n, FILE *f)
{
	struct rwd_notify_stats st;
	pthread_mutex_lock(&running_lock);
	if (n == NULL)
		n = running;
	if (n != NULL)
		rwd_notify_get_stats(n, &st);
	pthread_mutex_unlock(&running_lock);
	if (n == NULL)
		return;
	fprintf(f, "# HELP runway_notify_sent_total NOTIFY messages sent to secondaries, every "
	           "try counted.\n# TYPE runway_notify_sent_total counter\n"
	           "runway_notify_sent_total %" PRIu64 "\n", st.sent);
	fprintf(f, "# HELP runway_notify_answered_total NOTIFY exchanges a secondary answered "
	           "with NOERROR.\n# TYPE runway_notify_answered_total counter\n"
	           "runway_notify_answered_total %" PRIu64 "\n", st.answered);
	fprintf(f, "# HELP runway_notify_failed_total NOTIFY exchanges refused, failing TSIG, "
	           "unanswered after every try, or dropped.\n"
	           "# TYPE runway_notify_failed_total counter\n"
	           "runway_notify_failed_total %" PRIu64 "\n", st.failed);
	fprintf(f, "# HELP runway_notify_pending NOTIFY exchanges not finished.\n"
	           "# TYPE runway_notify_pending gauge\nrunway_notify_pending %u\n", st.pending);
}
