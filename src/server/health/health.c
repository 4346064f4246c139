/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The health service: one thread, one libuv loop (health.h, internal.h).
 *
 * Schedule. Every target has a one-shot timer re-armed for due + interval,
 * so rounds do not drift. The first round of a new target is due at
 * now + hash(key) % interval: the same target always gets the same phase,
 * and thousands of targets added at once are spread over the interval
 * instead of firing together. A round whose previous probe is still
 * running (timeout >= interval) is skipped, as are rounds the loop missed
 * entirely (it was stalled for more than an interval).
 *
 * State. rise consecutive passes make a down slot up, fall consecutive
 * failures make an up slot down; a slot is up until then.
 *
 * Publication. The state of every slot is copied into a new struct
 * rwd_health_state, swapped in with rcu_xchg_pointer, and the old one is
 * freed by call_rcu once no worker can see it, so the loop never waits for
 * a grace period. Changes close together are published together (at most
 * one publication per RWD_HEALTH_PUBLISH_MS); an apply publishes at once,
 * before rwd_health_apply returns, because slot numbers may have changed.
 *
 * Threads. rwd_health_start / apply / stop run on the caller's thread and
 * talk to the loop through one uv_async and a condition variable;
 * rwd_health_foreach and rwd_health_get_stats read under h->lock, which the
 * health thread holds only while it updates targets and counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <urcu-qsbr.h>
#include <uv.h>

#include "lib/dname.h"
#include "lib/wire.h"
#include "lib/error.h"
#include "server/common/log.h"
#include "server/health/health.h"
#include "server/health/internal.h"

#define hc_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- publication ---- */

struct published {
	struct rcu_head rcu;
	struct rwd_health_state s;
	/* then info[n_slots], then state[n_slots] */
};

static struct rwd_health_state *current;
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static bool running;

const struct rwd_health_state *rwd_health_get(void)
{
	return rcu_dereference(current);
}

static void free_published(struct rcu_head *head)
{
	free(hc_container_of(head, struct published, rcu));
}

static void publish(struct rwd_health *h)
{
	uint32_t n = h->n_slots;
	struct published *p = malloc(sizeof(*p) + (size_t)n * sizeof(struct rwd_slot_info) + n);
	if (p == NULL) {
		rwd_error("health: out of memory, state changes not published yet");
		return;                      /* still dirty: the next change retries */
	}
	p->s.n_slots = n;
	p->s.info = (struct rwd_slot_info *)(p + 1);
	p->s.state = (uint8_t *)(p->s.info + n);
	memset(p->s.info, 0, (size_t)n * sizeof(struct rwd_slot_info));
	memset(p->s.state, RWD_SLOT_UP, n);
	/* Only this thread writes targets: no lock needed to read them. */
	for (size_t i = 0; i < h->n_targets; i++) {
		const struct hc_target *t = h->targets[i];
		p->s.state[t->slot] = t->state;
		p->s.info[t->slot] = t->info;
	}
	p->s.generation = ++h->generation;
	struct rwd_health_state *old = rcu_xchg_pointer(&current, &p->s);
	h->dirty = false;
	h->last_publish_ms = uv_now(&h->loop);
	pthread_mutex_lock(&h->lock);
	h->stats.publications++;
	pthread_mutex_unlock(&h->lock);
	if (old) {
		rcu_thread_online();         /* QSBR: call_rcu wants an online thread */
		call_rcu(&hc_container_of(old, struct published, s)->rcu, free_published);
		rcu_thread_offline();
	}
}

static void on_publish_timer(uv_timer_t *timer)
{
	struct rwd_health *h = timer->data;
	if (h->dirty && !h->stopping)
		publish(h);
}

static void mark_dirty(struct rwd_health *h)
{
	h->dirty = true;
	if (h->stopping || uv_is_active((uv_handle_t *)&h->publish_timer))
		return;
	uint64_t now = uv_now(&h->loop), next = h->last_publish_ms + RWD_HEALTH_PUBLISH_MS;
	uv_timer_start(&h->publish_timer, on_publish_timer, next > now ? next - now : 0, 0);
}

/* ---- check defaults (the configuration fills them; hand-built models may not) ---- */

static unsigned interval_of(const struct rwd_check *c) { return c->interval_ms ? c->interval_ms : 1000; }
static unsigned timeout_of(const struct rwd_check *c) { return c->timeout_ms ? c->timeout_ms : 1000; }
static unsigned rise_of(const struct rwd_check *c) { return c->rise ? c->rise : 2; }
static unsigned fall_of(const struct rwd_check *c) { return c->fall ? c->fall : 2; }

/* Window and hold default to 12 intervals: a slot flapping as fast as its
 * rise and fall allow (2 + 2 intervals a cycle by default) makes 6 changes
 * in 10 intervals and is held, while outages further apart never are. */
static struct rwd_flap_conf flap_of(const struct rwd_check *c)
{
	unsigned twelve = interval_of(c) > UINT32_MAX / 12 ? UINT32_MAX : 12 * interval_of(c);
	return (struct rwd_flap_conf){ .changes = c->flap_changes,
	                               .window_ms = c->flap_window_ms ? c->flap_window_ms : twelve,
	                               .hold_ms = c->flap_hold_ms ? c->flap_hold_ms : twelve };
}

static uint16_t port_of(const struct rwd_check *c)
{
	if (c->port)
		return c->port;
	switch (c->type) {
	case RWD_CHECK_HTTP:  return 80;
	case RWD_CHECK_HTTPS: return 443;
	case RWD_CHECK_DNS:   return 53;
	default:              return 0;
	}
}

/* ---- small helpers ---- */

static uint64_t now_us(void) { return uv_hrtime() / 1000; }

static void realtime(struct timespec *ts) { clock_gettime(CLOCK_REALTIME, ts); }

uint32_t hc_random(struct rwd_health *h)
{
	/* xorshift64*: spreads DNS ids; no secret depends on it */
	uint64_t x = h->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	h->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t x = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		x = (x ^ (uint8_t)*s) * 0x100000001b3ULL;
	return x;
}

void hc_alloc_scratch(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct rwd_health *h = handle->loop->data;
	*buf = uv_buf_init(h->scratch, sizeof(h->scratch));
}

/* ---- state ---- */

/* Log line and history entry of a published change (under h->lock for the history). */
static void note_change(struct hc_target *t, const char *reason)
{
	struct rwd_slot_info *in = &t->info;
	realtime(&in->since);
	memmove(&in->history[1], &in->history[0], (RWD_HEALTH_HISTORY - 1) * sizeof(in->history[0]));
	in->history[0].at = in->since;
	in->history[0].state = t->state;
	snprintf(in->history[0].reason, sizeof(in->history[0].reason), "%s", reason);
	if (in->n_history < RWD_HEALTH_HISTORY)
		in->n_history++;
	t->h->stats.transitions++;
}

static void target_result(struct hc_target *t, bool pass, const char *reason, uint64_t dur_us)
{
	struct rwd_health *h = t->h;
	const struct rwd_check *c = t->check;
	uint64_t now = uv_now(&h->loop);
	struct rwd_flap_conf fc = flap_of(c);
	bool raw_change = false, held = false, released = false;

	pthread_mutex_lock(&h->lock);
	struct rwd_slot_info *in = &t->info;
	in->checks++;
	if (pass) {
		h->stats.passes++;
	} else {
		in->failures++;
		h->stats.failures++;
	}
	in->last_duration_us = dur_us > UINT32_MAX ? UINT32_MAX : (uint32_t)dur_us;
	snprintf(in->last_result, sizeof(in->last_result), "%s", reason);
	if (t->checked && pass == t->passing) {
		if (t->in_row < UINT32_MAX)
			t->in_row++;
	} else {
		t->passing = pass;
		t->in_row = 1;
	}
	t->checked = true;
	if (pass && t->raw == RWD_SLOT_DOWN && t->in_row >= rise_of(c)) {
		t->raw = RWD_SLOT_UP;
		raw_change = true;
	} else if (!pass && t->raw == RWD_SLOT_UP && t->in_row >= fall_of(c)) {
		t->raw = RWD_SLOT_DOWN;
		raw_change = true;
	}
	if (raw_change && rwd_flap_change(&t->flap, &fc, now)) {
		held = true;
		h->stats.holds++;
	}
	released = rwd_flap_result(&t->flap, &fc, pass, t->raw == RWD_SLOT_UP, now);
	in->flapping = t->flap.held;
	uint8_t was = t->state;
	t->state = t->flap.held ? RWD_SLOT_DOWN : t->raw;
	/* A hold never changes the published state by itself: the change
	 * that starts it is either down already, or up and kept down. */
	char why[RWD_HEALTH_REASON];
	if (released)
		snprintf(why, sizeof(why), "%.40s, stable for %u ms after flapping", reason,
		         fc.hold_ms);
	else
		snprintf(why, sizeof(why), "%s", reason);
	bool change = t->state != was;
	if (change)
		note_change(t, why);
	unsigned n = t->in_row;
	unsigned recent = held ? rwd_flap_recent(&t->flap, &fc, now) : 0;
	pthread_mutex_unlock(&h->lock);

	if (change && t->state == RWD_SLOT_DOWN)
		rwd_warn("health: %s %s down: %s (%u consecutive %s)", t->endpoint, t->label, why,
		         n, n == 1 ? "failure" : "failures");
	else if (change)
		rwd_info("health: %s %s up: %s (%u consecutive %s)", t->endpoint, t->label, why,
		         n, n == 1 ? "pass" : "passes");
	if (held)
		rwd_warn("health: %s %s flapping: %u changes within %u ms; held down until it passes "
		         "for %u ms (flap_changes, flap_window, flap_hold)", t->endpoint, t->label,
		         recent, fc.window_ms, fc.hold_ms);
	/* A hold that starts on a change to up keeps the state (down) but not
	 * the published detail: readers of the published copy (simulate) must
	 * see "flapping" from the start of the hold. */
	if (change || held || released)
		mark_dirty(h);
}

/* ---- probes ---- */

void hc_probe_ref(struct hc_probe *p) { p->refs++; }

void hc_probe_unref(struct hc_probe *p)
{
	if (--p->refs > 0)
		return;
	hc_probe_http_free(p);
	hc_probe_dns_free(p);
	free(p);
}

void hc_probe_on_close(uv_handle_t *handle)
{
	hc_probe_unref(handle->data);
}

/* Mark p finished, detach it from its target, close everything it holds. */
static void probe_teardown(struct hc_probe *p)
{
	struct rwd_health *h = p->h;
	p->done = true;
	if (p->t) {
		p->t->probe = NULL;
		p->t = NULL;
	}
	pthread_mutex_lock(&h->lock);
	h->stats.in_flight--;
	pthread_mutex_unlock(&h->lock);
	uv_close((uv_handle_t *)&p->timer, hc_probe_on_close);
	if (p->io_open) {
		p->io_open = false;
		if (p->io.handle.type == UV_TCP)
			hc_tcp_close(p);
		else
			uv_close(&p->io.handle, hc_probe_on_close);
	}
	if (p->gai_pending)
		uv_cancel((uv_req_t *)&p->gai);  /* may fail if already running: its callback still comes */
}

void hc_probe_finish(struct hc_probe *p, bool pass, const char *fmt, ...)
{
	if (p->done)
		return;
	char reason[RWD_HEALTH_REASON];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	uint64_t dur = now_us() - p->started_us;
	struct hc_target *t = p->t;
	probe_teardown(p);
	if (t)
		target_result(t, pass, reason, dur);
}

/* Log the probes that could not run, at most once per HC_UNSTARTED_LOG_MS;
 * also called on every round, so the last of them are not left unsaid. */
static void unstarted_log(struct rwd_health *h)
{
	uint64_t now = uv_now(&h->loop);
	if (h->unstarted_unlogged == 0 ||
	    (h->unstarted_logged_at && now - h->unstarted_logged_at < HC_UNSTARTED_LOG_MS))
		return;
	rwd_warn("health: %" PRIu64 " probe(s) could not run for want of a local resource, their "
	         "endpoints keep their state (last: %s)", h->unstarted_unlogged, h->unstarted_last);
	h->unstarted_unlogged = 0;
	h->unstarted_logged_at = now ? now : 1;
}

bool hc_local_error(int err)
{
	switch (err) {
	case UV_EMFILE:                  /* descriptors: this process, */
	case UV_ENFILE:                  /* the system */
	case UV_ENOBUFS:
	case UV_ENOMEM:
	case UV_EADDRNOTAVAIL:           /* no local port left to connect from */
	case UV_EAI_MEMORY:              /* (getaddrinfo's EAI_SYSTEM comes as the errno: EMFILE...) */
		return true;
	default:
		return false;
	}
}

void hc_probe_error(struct hc_probe *p, const char *what, int err)
{
	if (p->done)
		return;
	if (!hc_local_error(err)) {
		hc_probe_finish(p, false, "%s: %s", what, uv_strerror(err));
		return;
	}
	struct rwd_health *h = p->h;
	struct hc_target *t = p->t;
	if (t)
		snprintf(h->unstarted_last, sizeof(h->unstarted_last), "%s %s: %s: %s", t->endpoint,
		         t->label, what, uv_strerror(err));
	probe_teardown(p);
	pthread_mutex_lock(&h->lock);
	h->stats.unstarted++;
	pthread_mutex_unlock(&h->lock);
	h->unstarted_unlogged++;
	unstarted_log(h);
}

static void probe_abort(struct hc_probe *p)
{
	if (!p->done)
		probe_teardown(p);
}

static void on_probe_timeout(uv_timer_t *timer)
{
	struct hc_probe *p = timer->data;
	hc_probe_finish(p, false, "timeout after %u ms (%s)", p->timeout_ms, p->phase);
}

static void probe_dispatch(struct hc_probe *p)
{
	switch (p->type) {
	case RWD_CHECK_TCP:   hc_probe_tcp_start(p); break;
	case RWD_CHECK_HTTP:
	case RWD_CHECK_HTTPS: hc_probe_http_start(p); break;
	case RWD_CHECK_DNS:   hc_probe_dns_start(p); break;
	default:              hc_probe_finish(p, false, "unknown check type %d", (int)p->type);
	}
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct hc_probe *p = hc_container_of(req, struct hc_probe, gai);
	p->gai_pending = false;
	if (!p->done) {
		if (status < 0 && hc_local_error(status)) {
			hc_probe_error(p, "resolve", status);
		} else if (status < 0 || res == NULL) {
			hc_probe_finish(p, false, "resolve %.60s: %s", p->t->host,
			                status < 0 ? uv_strerror(status) : "no address");
		} else {
			memcpy(&p->sa, res->ai_addr, res->ai_addrlen);
			probe_dispatch(p);
		}
	}
	if (res)
		uv_freeaddrinfo(res);
	hc_probe_unref(p);
}

static void probe_start(struct hc_target *t)
{
	struct rwd_health *h = t->h;
	struct hc_probe *p = calloc(1, sizeof(*p));
	if (p == NULL) {                 /* not the endpoint's fault: no result */
		pthread_mutex_lock(&h->lock);
		h->stats.unstarted++;
		pthread_mutex_unlock(&h->lock);
		return;
	}
	p->h = h;
	p->t = t;
	p->type = t->check->type;
	p->timeout_ms = timeout_of(t->check);
	p->started_us = now_us();
	p->phase = "connect";
	t->probe = p;
	pthread_mutex_lock(&h->lock);
	h->stats.in_flight++;
	pthread_mutex_unlock(&h->lock);

	uv_timer_init(&h->loop, &p->timer);
	p->timer.data = p;
	hc_probe_ref(p);
	uv_timer_start(&p->timer, on_probe_timeout, p->timeout_ms, 0);

	if (!t->is_name) {
		memcpy(&p->sa, &t->sa, sizeof(p->sa));
		probe_dispatch(p);
		return;
	}
	char port[8];
	snprintf(port, sizeof(port), "%u", t->port);
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = p->type == RWD_CHECK_DNS ? SOCK_DGRAM : SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	p->phase = "resolve";
	int r = uv_getaddrinfo(&h->loop, &p->gai, on_resolved, t->host, port, &hints);
	if (r < 0) {
		if (hc_local_error(r))
			hc_probe_error(p, "resolve", r);
		else
			hc_probe_finish(p, false, "resolve %.60s: %s", t->host, uv_strerror(r));
		return;
	}
	p->gai_pending = true;
	hc_probe_ref(p);
}

/* ---- schedule ---- */

static void on_due(uv_timer_t *timer)
{
	struct hc_target *t = timer->data;
	struct rwd_health *h = t->h;
	uint64_t now = uv_now(&h->loop);
	uint64_t at = now_us(), due_us = t->due_ms * 1000;
	uint64_t late = at > due_us ? at - due_us : 0;
	static const uint64_t bounds[] = RWD_HEALTH_LATE_BOUNDS_US;

	unstarted_log(h);

	if (t->probe) {
		pthread_mutex_lock(&h->lock);
		h->stats.skipped++;
		pthread_mutex_unlock(&h->lock);
	} else {
		unsigned b = 0;
		while (b < RWD_HEALTH_LATE_BUCKETS - 1 && late >= bounds[b])
			b++;
		pthread_mutex_lock(&h->lock);
		h->stats.probes++;
		h->stats.late_hist[b]++;
		h->stats.late_sum_us += late;
		if (late > h->stats.late_max_us)
			h->stats.late_max_us = late;
		pthread_mutex_unlock(&h->lock);
		probe_start(t);
	}
	t->due_ms += t->interval_ms;
	if (t->due_ms <= now) {          /* the loop fell behind by a whole interval */
		uint64_t k = (now - t->due_ms) / t->interval_ms + 1;
		t->due_ms += k * t->interval_ms;
		pthread_mutex_lock(&h->lock);
		h->stats.skipped += k;
		pthread_mutex_unlock(&h->lock);
	}
	uv_timer_start(&t->timer, on_due, t->due_ms - now, 0);
}

/* (Re)start t's schedule at its deterministic phase within the interval. */
static void target_schedule(struct hc_target *t)
{
	uint64_t now = uv_now(&t->h->loop);
	t->interval_ms = interval_of(t->check);
	t->due_ms = now + fnv1a(t->key) % t->interval_ms;
	uv_timer_start(&t->timer, on_due, t->due_ms - now, 0);
}

/* ---- targets ---- */

static void on_target_closed(uv_handle_t *handle)
{
	struct hc_target *t = handle->data;
	hc_tls_forget(t);
	free(t->key);
	free(t->endpoint);
	free(t);
}

static void target_destroy(struct hc_target *t)
{
	if (t->probe)
		probe_abort(t->probe);
	uv_close((uv_handle_t *)&t->timer, on_target_closed);
}

/* What a slot of the model asks for. */
struct want {
	const struct rwd_endpoint *ep;
	const struct rwd_check *check;
	uint32_t slot;
	char *key;
	char host[260];
	char label[HC_LABEL_MAX];
	bool is_name;
	struct sockaddr_storage sa;
	uint16_t port;
};

/* Fill w from the endpoint address a, or from its CNAME when a is NULL. 0 or -1. */
static int want_fill(struct want *w, const struct rwd_endpoint *e, const struct rwd_endpoint_addr *a)
{
	const struct rwd_check *c = e->check;
	memset(&w->sa, 0, sizeof(w->sa));
	w->ep = e;
	w->check = c;
	w->port = port_of(c);
	w->is_name = a == NULL;
	if (a == NULL) {
		w->slot = e->slot;
		uint8_t name[RW_DNAME_MAXLEN + 1] = { 0 };
		memcpy(name, e->cname, e->cname_len);
		if (rw_dname_to_str(name, w->host, sizeof(w->host)) < 0)
			return -1;
		size_t l = strlen(w->host);
		if (l > 1 && w->host[l - 1] == '.')
			w->host[l - 1] = '\0';
		snprintf(w->label, sizeof(w->label), "%s:%u", w->host, w->port);
	} else {
		w->slot = a->slot;
		if (a->addr.family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&w->sa;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(w->port);
			memcpy(&s6->sin6_addr, a->addr.bytes, 16);
			inet_ntop(AF_INET6, a->addr.bytes, w->host, sizeof(w->host));
			snprintf(w->label, sizeof(w->label), "[%s]:%u", w->host, w->port);
		} else if (a->addr.family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&w->sa;
			s4->sin_family = AF_INET;
			s4->sin_port = htons(w->port);
			memcpy(&s4->sin_addr, a->addr.bytes, 4);
			inet_ntop(AF_INET, a->addr.bytes, w->host, sizeof(w->host));
			snprintf(w->label, sizeof(w->label), "%s:%u", w->host, w->port);
		} else {
			return -1;
		}
	}
	size_t kl = strlen(c->name) + 1 + strlen(w->host) + 1;
	w->key = malloc(kl);
	if (w->key == NULL)
		return -1;
	snprintf(w->key, kl, "%s|%s", c->name, w->host);
	return 0;
}

/* Point t at w (a new or carried-over target). Takes w->key. */
static int target_take(struct hc_target *t, struct want *w)
{
	if (t->endpoint == NULL || strcmp(t->endpoint, w->ep->name) != 0) {
		char *name = strdup(w->ep->name);
		if (name == NULL)
			return -1;
		free(t->endpoint);
		t->endpoint = name;
	}
	free(t->key);
	t->key = w->key;
	w->key = NULL;
	t->check = w->check;
	t->slot = w->slot;
	t->is_name = w->is_name;
	t->port = w->port;
	t->sa = w->sa;
	snprintf(t->host, sizeof(t->host), "%s", w->host);
	snprintf(t->label, sizeof(t->label), "%s", w->label);
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct hc_target *x = *(struct hc_target *const *)a, *y = *(struct hc_target *const *)b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->slot > y->slot) - (x->slot < y->slot);
}

static int cmp_slot(const void *a, const void *b)
{
	const struct hc_target *x = *(struct hc_target *const *)a, *y = *(struct hc_target *const *)b;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* The first unclaimed target of old (sorted by key) with this key, or NULL. */
static struct hc_target *find_old(struct hc_target **old, size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(old[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && strcmp(old[lo]->key, key) == 0; lo++)
		if (!old[lo]->claimed)
			return old[lo];
	return NULL;
}

/* Add the target of w to nt (carried over from old when the key matches). */
static void apply_one(struct rwd_health *h, struct want *w, struct hc_target **old, size_t n_old,
                      struct hc_target **nt, size_t *n, uint8_t *used, uint32_t n_slots, size_t *kept)
{
	if (w->slot >= n_slots || (used[w->slot / 8] & (1u << (w->slot % 8)))) {
		rwd_warn("health: %s %s: slot %" PRIu32 " %s, not checked", w->ep->name, w->label,
		         w->slot, w->slot >= n_slots ? "out of range" : "used twice");
		return;
	}
	struct hc_target *t = find_old(old, n_old, w->key);
	if (t) {
		unsigned was_interval = t->interval_ms;
		if (target_take(t, w) < 0)
			goto oom;
		t->claimed = true;
		(*kept)++;
		if (interval_of(t->check) != was_interval)
			target_schedule(t);
	} else {
		t = calloc(1, sizeof(*t));
		if (t == NULL || target_take(t, w) < 0) {
			if (t) {
				free(t->endpoint);
				free(t->key);
				free(t);
			}
			goto oom;
		}
		t->h = h;
		t->state = t->raw = RWD_SLOT_UP;
		t->cert_warned_day = -1;
		realtime(&t->info.since);
		uv_timer_init(&h->loop, &t->timer);
		t->timer.data = t;
		target_schedule(t);
	}
	used[w->slot / 8] |= (uint8_t)(1u << (w->slot % 8));
	nt[(*n)++] = t;
	return;
oom:
	rwd_error("health: out of memory, %s %s not checked", w->ep->name, w->label);
}

static void apply_model(struct rwd_health *h, const struct rwd_model *m)
{
	size_t cap = 0;
	for (size_t i = 0; m && i < m->n_endpoints; i++)
		if (m->endpoints[i].check)
			cap += m->endpoints[i].cname_len ? 1 : m->endpoints[i].n_addrs;
	uint32_t n_slots = m ? m->n_slots : 0;
	struct hc_target **nt = calloc(cap ? cap : 1, sizeof(*nt));
	uint8_t *used = calloc(n_slots / 8 + 1, 1);
	struct hc_target **old = malloc((h->n_targets ? h->n_targets : 1) * sizeof(*old));
	if (nt == NULL || used == NULL || old == NULL) {
		rwd_error("health: out of memory, keeping the previous checks");
		free(nt);
		free(used);
		free(old);
		return;
	}
	size_t n_old = h->n_targets, n = 0, kept = 0;
	if (n_old)
		memcpy(old, h->targets, n_old * sizeof(*old));
	qsort(old, n_old, sizeof(*old), cmp_key);

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; m && i < m->n_endpoints; i++) {
		const struct rwd_endpoint *e = &m->endpoints[i];
		if (e->check == NULL)
			continue;
		unsigned k = e->cname_len ? 1 : e->n_addrs;
		for (unsigned a = 0; a < k; a++) {
			struct want w = { 0 };
			if (want_fill(&w, e, e->cname_len ? NULL : &e->addrs[a]) < 0) {
				rwd_error("health: %s: cannot check address %u", e->name, a);
				free(w.key);
				continue;
			}
			if (e->check->type == RWD_CHECK_TCP && w.port == 0) {
				rwd_warn("health: %s %s: check %s has no port, not checked", e->name,
				         w.host, e->check->name);
				free(w.key);
				continue;
			}
			apply_one(h, &w, old, n_old, nt, &n, used, n_slots, &kept);
			free(w.key);
		}
	}
	qsort(nt, n, sizeof(*nt), cmp_slot);
	free(h->targets);
	h->targets = nt;
	h->n_targets = n;
	h->n_slots = n_slots;
	h->stats.targets = (uint32_t)n;
	pthread_mutex_unlock(&h->lock);
	/* Out of h->targets now, so nobody else sees them; not under the lock
	 * (aborting a probe takes it). */
	for (size_t i = 0; i < n_old; i++) {
		if (old[i]->claimed)
			old[i]->claimed = false;
		else
			target_destroy(old[i]);
	}
	free(old);
	free(used);
	publish(h);
	if (h->generation == 1)
		rwd_info("health: checking %zu target(s)", n);
	else
		rwd_info("health: new model: checking %zu target(s): %zu kept, %zu new, %zu removed",
		         n, kept, n - kept, n_old - kept);
}

/* ---- the loop ---- */

static void shutdown_loop(struct rwd_health *h)
{
	h->stopping = true;
	pthread_mutex_lock(&h->lock);
	struct hc_target **targets = h->targets;
	size_t n = h->n_targets;
	h->targets = NULL;
	h->n_targets = 0;
	h->stats.targets = 0;
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++)
		target_destroy(targets[i]);
	free(targets);
	uv_close((uv_handle_t *)&h->publish_timer, NULL);
	uv_close((uv_handle_t *)&h->async, NULL);
}

static void on_async(uv_async_t *a)
{
	struct rwd_health *h = a->data;
	pthread_mutex_lock(&h->cmd_lock);
	bool apply = h->cmd_apply, stop = h->cmd_stop;
	const struct rwd_model *m = h->cmd_model;
	uint64_t seq = h->cmd_seq;
	h->cmd_apply = false;
	pthread_mutex_unlock(&h->cmd_lock);

	if (h->stopping)
		return;
	if (apply) {
		uv_update_time(&h->loop);
		apply_model(h, m);
	}
	if (stop)
		shutdown_loop(h);

	pthread_mutex_lock(&h->cmd_lock);
	h->cmd_done_seq = seq;
	pthread_cond_broadcast(&h->cmd_cond);
	pthread_mutex_unlock(&h->cmd_lock);
}

static void health_thread(void *arg)
{
	struct rwd_health *h = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);   /* signals are the main thread's; EPIPE, not SIGPIPE */

	rcu_register_thread();           /* for call_rcu; offline except around it */
	rcu_thread_offline();
	uv_run(&h->loop, UV_RUN_DEFAULT);
	rcu_unregister_thread();
}

/* Send a command and wait until the loop has carried it out. */
static void command(struct rwd_health *h, const struct rwd_model *m, bool stop)
{
	pthread_mutex_lock(&h->cmd_lock);
	if (stop)
		h->cmd_stop = true;
	else {
		h->cmd_model = m;
		h->cmd_apply = true;
	}
	uint64_t seq = ++h->cmd_seq;
	pthread_mutex_unlock(&h->cmd_lock);
	uv_async_send(&h->async);
	pthread_mutex_lock(&h->cmd_lock);
	while (h->cmd_done_seq < seq)
		pthread_cond_wait(&h->cmd_cond, &h->cmd_lock);
	pthread_mutex_unlock(&h->cmd_lock);
}

static void health_free(struct rwd_health *h)
{
	hc_tls_free(h);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->cmd_lock);
	pthread_mutex_destroy(&h->apply_lock);
	pthread_cond_destroy(&h->cmd_cond);
	free(h->targets);
	free(h);
}

int rwd_health_start(const struct rwd_model *model, struct rwd_health **out)
{
	*out = NULL;
	pthread_mutex_lock(&running_lock);
	if (running) {
		pthread_mutex_unlock(&running_lock);
		rwd_error("health: the health service is already running");
		return RW_EEXIST;
	}
	running = true;
	pthread_mutex_unlock(&running_lock);

	int err = RW_ENOMEM;
	struct rwd_health *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		rwd_error("health: out of memory");
		goto fail;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->cmd_lock, NULL);
	pthread_mutex_init(&h->apply_lock, NULL);
	pthread_cond_init(&h->cmd_cond, NULL);
	if (getrandom(&h->rng, sizeof(h->rng), 0) != sizeof(h->rng))
		h->rng = uv_hrtime();
	h->rng |= 1;
	if ((err = hc_tls_init(h)) < 0)
		goto fail_free;

	err = RW_EIO;
	int r = uv_loop_init(&h->loop);
	if (r < 0) {
		rwd_error("health: cannot start the event loop: %s", uv_strerror(r));
		goto fail_free;
	}
	h->loop.data = h;
	if ((r = uv_async_init(&h->loop, &h->async, on_async)) < 0) {
		rwd_error("health: cannot start the event loop: %s", uv_strerror(r));
		uv_loop_close(&h->loop);
		goto fail_free;
	}
	h->async.data = h;
	uv_timer_init(&h->loop, &h->publish_timer);
	h->publish_timer.data = h;

	h->cmd_model = model;
	h->cmd_apply = true;
	h->cmd_seq = 1;
	uv_async_send(&h->async);        /* the loop's first act: take the model */
	if ((r = uv_thread_create(&h->thread, health_thread, h)) < 0) {
		rwd_error("health: cannot start the health thread: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&h->async, NULL);
		uv_close((uv_handle_t *)&h->publish_timer, NULL);
		uv_run(&h->loop, UV_RUN_DEFAULT);
		uv_loop_close(&h->loop);
		goto fail_free;
	}
	h->thread_started = true;
	pthread_mutex_lock(&h->cmd_lock);
	while (h->cmd_done_seq < 1)
		pthread_cond_wait(&h->cmd_cond, &h->cmd_lock);
	pthread_mutex_unlock(&h->cmd_lock);
	*out = h;
	return 0;

fail_free:
	health_free(h);
fail:
	pthread_mutex_lock(&running_lock);
	running = false;
	pthread_mutex_unlock(&running_lock);
	return err;
}

void rwd_health_apply(struct rwd_health *h, const struct rwd_model *model)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->apply_lock);
	command(h, model, false);
	pthread_mutex_unlock(&h->apply_lock);
}

void rwd_health_stop(struct rwd_health *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->apply_lock);
	command(h, NULL, true);
	pthread_mutex_unlock(&h->apply_lock);
	uv_thread_join(&h->thread);
	int r = uv_loop_close(&h->loop);
	if (r < 0)
		rwd_warn("health: loop close: %s", uv_strerror(r));

	struct rwd_health_state *old = rcu_xchg_pointer(&current, NULL);
	synchronize_rcu();               /* QSBR: fine from an online thread too */
	if (old)
		free(hc_container_of(old, struct published, s));
	if (!rcu_read_ongoing())         /* wait for the frees queued by call_rcu */
		rcu_barrier();
	health_free(h);

	pthread_mutex_lock(&running_lock);
	running = false;
	pthread_mutex_unlock(&running_lock);
}

/* ---- status ---- */

void rwd_health_foreach(struct rwd_health *h,
                        void (*cb)(void *ctx, const struct rwd_health_target *t), void *ctx)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n_targets; i++) {
		const struct hc_target *t = h->targets[i];
		char check[128];
		const char *bar = strchr(t->key, '|');
		snprintf(check, sizeof(check), "%.*s", bar ? (int)(bar - t->key) : (int)strlen(t->key), t->key);
		struct rwd_health_target v = {
			.slot = t->slot,
			.endpoint = t->endpoint,
			.check = check,
			.target = t->label,
			.type = t->check->type,
			.state = t->state,
			.checked = t->checked,
			.info = &t->info,
		};
		cb(ctx, &v);
	}
	pthread_mutex_unlock(&h->lock);
}

void rwd_health_get_stats(struct rwd_health *h, struct rwd_health_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	*out = h->stats;
	pthread_mutex_unlock(&h->lock);
	clockid_t cid;
	struct timespec ts;
	if (h->thread_started && pthread_getcpuclockid(h->thread, &cid) == 0 &&
	    clock_gettime(cid, &ts) == 0)
		out->cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
