/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the health check service (src/server/health/), end to end
 * over loopback against servers this test runs itself, each on its own
 * thread and address:
 *
 *   127.0.0.2  TCP: accepts and closes
 *   127.0.0.3  HTTP: 200 "ok", 503, 200 "nope" or a chunked "ok", by mode
 *   127.0.0.4  HTTPS: self-signed certificate made here (P-256, expires in 5 days)
 *   127.0.0.5  DNS over UDP: NOERROR with an A record, or SERVFAIL, by mode
 *   127.0.0.6  a black hole: listens, never accepts, never answers
 *   127.0.0.7  a port nobody listens on (connection refused)
 *
 * Models are built by hand with slots assigned by hand. Readiness is
 * always polled from rwd_health_get() / rwd_health_foreach() with a
 * deadline. The log (stderr) is captured into a file so lines can be
 * checked, and is copied to the real stderr at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <urcu-qsbr.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/common/log.h"
#include "server/health/flap.h"
#include "server/health/health.h"

#define INTERVAL 150
#define TIMEOUT  120
#define MARGIN   300                 /* scheduling and publication slack in assertions */

/* ---- time and waiting ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* State of slot in the published state: RWD_SLOT_*, -1 nothing published, -2 out of range. */
static int slot_state(uint32_t slot)
{
	rcu_thread_online();
	const struct rwd_health_state *s = rwd_health_get();
	int st = s == NULL ? -1 : slot >= s->n_slots ? -2 : s->state[slot];
	rcu_thread_offline();
	return st;
}

static bool published_info(uint32_t slot, struct rwd_slot_info *out, uint64_t *gen)
{
	bool ok = false;
	rcu_thread_online();
	const struct rwd_health_state *s = rwd_health_get();
	if (s && slot < s->n_slots) {
		*out = s->info[slot];
		if (gen)
			*gen = s->generation;
		ok = true;
	}
	rcu_thread_offline();
	return ok;
}

/* Poll until slot has state want; the milliseconds it took, or -1 after timeout_ms. */
static long wait_state(uint32_t slot, int want, unsigned timeout_ms)
{
	uint64_t t0 = now_ms();
	for (;;) {
		if (slot_state(slot) == want)
			return (long)(now_ms() - t0);
		if (now_ms() - t0 > timeout_ms)
			return -1;
		poll(NULL, 0, 5);
	}
}

struct live {
	uint32_t slot;
	bool found;
	struct rwd_health_target t;
	struct rwd_slot_info info;
	char endpoint[64], check[64], target[128];
};

static void live_cb(void *ctx, const struct rwd_health_target *t)
{
	struct live *l = ctx;
	if (t->slot != l->slot)
		return;
	l->found = true;
	l->t = *t;
	l->info = *t->info;
	snprintf(l->endpoint, sizeof(l->endpoint), "%s", t->endpoint);
	snprintf(l->check, sizeof(l->check), "%s", t->check);
	snprintf(l->target, sizeof(l->target), "%s", t->target);
}

static struct live live_info(struct rwd_health *h, uint32_t slot)
{
	struct live l = { .slot = slot };
	rwd_health_foreach(h, live_cb, &l);
	return l;
}

/* Poll until slot has had at least n checks; false after timeout_ms. */
static bool wait_checks(struct rwd_health *h, uint32_t slot, uint32_t n, unsigned timeout_ms)
{
	uint64_t t0 = now_ms();
	for (;;) {
		struct live l = live_info(h, slot);
		if (l.found && l.info.checks >= n)
			return true;
		if (now_ms() - t0 > timeout_ms)
			return false;
		poll(NULL, 0, 5);
	}
}

/* ---- the captured log ---- */

static char logpath[] = "/tmp/test_health.log.XXXXXX";
static int saved_stderr = -1;

static char *log_text(void)
{
	FILE *f = fopen(logpath, "r");
	if (!f)
		return strdup("");
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strdup(buf);
}

static unsigned log_count(const char *needle)
{
	char *t = log_text();
	unsigned n = 0;
	for (const char *p = t; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(t);
	return n;
}

/* ---- servers ---- */

enum { HTTP_OK, HTTP_503, HTTP_NOPE, HTTP_CHUNKED };
enum { DNS_OK, DNS_SERVFAIL };

struct server {
	const char *addr;
	int type;                        /* SOCK_STREAM or SOCK_DGRAM */
	int fd;
	int port;
	pthread_t thread;
	void *(*run)(void *);
	atomic_int mode;
	atomic_uint served;
	atomic_uint resumed;             /* https: handshakes that resumed a session */
	pthread_mutex_t lock;
	char last_request[1024];
};

static struct server tcp_srv = { .addr = "127.0.0.2", .type = SOCK_STREAM };
static struct server http_srv = { .addr = "127.0.0.3", .type = SOCK_STREAM };
static struct server https_srv = { .addr = "127.0.0.4", .type = SOCK_STREAM };
static struct server dns_srv = { .addr = "127.0.0.5", .type = SOCK_DGRAM };
static struct server hole_srv = { .addr = "127.0.0.6", .type = SOCK_STREAM };
static int refused_port;
static atomic_bool stopping;
static SSL_CTX *server_tls;

static int server_open(struct server *s, int backlog)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, s->addr, &sa.sin_addr);
	s->fd = socket(AF_INET, s->type | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (s->type == SOCK_STREAM && listen(s->fd, backlog) < 0)
		return -1;
	socklen_t len = sizeof(sa);
	getsockname(s->fd, (struct sockaddr *)&sa, &len);
	s->port = ntohs(sa.sin_port);
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

/* Wait for a readable fd for at most 100 ms; false when stopping. */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 100) > 0 && !stopping;
}

static int accept_one(struct server *s)
{
	int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0) {
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return c;
}

static void *run_tcp(void *arg)
{
	struct server *s = arg;
	while (!stopping) {
		if (!readable(s->fd))
			continue;
		int c = accept_one(s);
		if (c >= 0) {
			s->served++;
			close(c);
		}
	}
	return NULL;
}

/* Read a request head (up to the blank line) with read_fn; its length or -1. */
static int read_request(void *io, int (*read_fn)(void *, char *, int), char *buf, int size)
{
	int n = 0;
	for (int i = 0; i < 64 && n < size - 1; i++) {
		int r = read_fn(io, buf + n, size - 1 - n);
		if (r <= 0)
			return -1;
		n += r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return n;
	}
	return -1;
}

static const char *http_response(int mode)
{
	switch (mode) {
	case HTTP_503:
		return "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy";
	case HTTP_NOPE:
		return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope";
	case HTTP_CHUNKED:   /* "ok" split over two chunks: only a decoded body contains it */
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		       "1\r\no\r\n1;ext=1\r\nk\r\n0\r\n\r\n";
	default:
		return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
	}
}

static int fd_read(void *io, char *buf, int n) { return (int)read(*(int *)io, buf, (size_t)n); }
static int ssl_read(void *io, char *buf, int n) { return SSL_read(io, buf, n); }

static void *run_http(void *arg)
{
	struct server *s = arg;
	while (!stopping) {
		if (!readable(s->fd))
			continue;
		int c = accept_one(s);
		if (c < 0)
			continue;
		char req[1024];
		if (read_request(&c, fd_read, req, sizeof(req)) > 0) {
			pthread_mutex_lock(&s->lock);
			snprintf(s->last_request, sizeof(s->last_request), "%s", req);
			pthread_mutex_unlock(&s->lock);
			const char *resp = http_response(s->mode);
			if (write(c, resp, strlen(resp)) > 0)
				s->served++;
		}
		close(c);
	}
	return NULL;
}

static void *run_https(void *arg)
{
	struct server *s = arg;
	while (!stopping) {
		if (!readable(s->fd))
			continue;
		int c = accept_one(s);
		if (c < 0)
			continue;
		SSL *ssl = SSL_new(server_tls);
		SSL_set_fd(ssl, c);
		char req[1024];
		if (SSL_accept(ssl) == 1 && read_request(ssl, ssl_read, req, sizeof(req)) > 0) {
			const char *resp = http_response(HTTP_OK);
			if (SSL_write(ssl, resp, (int)strlen(resp)) > 0)
				s->served++;
			if (SSL_session_reused(ssl))
				s->resumed++;
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

static void *run_dns(void *arg)
{
	struct server *s = arg;
	while (!stopping) {
		if (!readable(s->fd))
			continue;
		uint8_t q[512], out[512];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		struct rw_query qr;
		if (n <= 0 || rw_query_parse(q, (size_t)n, &qr) != RW_PARSE_OK)
			continue;
		struct rw_msgbuilder b;
		rw_msgb_init(&b, out, sizeof(out), qr.id, qr.qname, qr.qtype, qr.qclass, true);
		out[2] = RW_FLAG_QR | RW_FLAG_AA;
		out[3] = s->mode == DNS_SERVFAIL ? RW_RCODE_SERVFAIL : RW_RCODE_NOERROR;
		if (s->mode == DNS_OK && qr.qtype == RW_TYPE_A) {
			static const uint8_t a[4] = { 192, 0, 2, 1 };
			rw_msgb_put_qname_ptr(&b);
			rw_msgb_put16(&b, RW_TYPE_A);
			rw_msgb_put16(&b, RW_CLASS_IN);
			rw_msgb_put32(&b, 300);
			rw_msgb_put16(&b, 4);
			rw_msgb_put(&b, a, 4);
			rw_put16(out + RW_HDR_ANCOUNT, 1);
		}
		if (sendto(s->fd, out, b.len, 0, (struct sockaddr *)&from, flen) > 0)
			s->served++;
	}
	return NULL;
}

/* A self-signed P-256 certificate for CN=health.test, valid for 5 more days. */
static SSL_CTX *make_server_tls(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (!key || !x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 5L * 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"health.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, key, EVP_sha256()))
		return NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
		return NULL;
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

static int group_setup(void **state)
{
	int fd = mkstemp(logpath);
	if (fd < 0)
		return -1;
	fflush(stderr);
	fprintf(stderr, "test_health: log in %s (left there if the test dies)\n", logpath);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	rwd_log_set_level(RWD_LOG_DEBUG);

	rcu_register_thread();
	rcu_thread_offline();

	if (!(server_tls = make_server_tls()))
		return -1;
	struct server *all[] = { &tcp_srv, &http_srv, &https_srv, &dns_srv };
	void *(*runs[])(void *) = { run_tcp, run_http, run_https, run_dns };
	for (int i = 0; i < 4; i++) {
		if (server_open(all[i], 128) < 0)
			return -1;
		if (pthread_create(&all[i]->thread, NULL, runs[i], all[i]) != 0)
			return -1;
	}
	if (server_open(&hole_srv, 64) < 0)
		return -1;
	/* A port with no listener: bind one, note it, close it. */
	struct server gone = { .addr = "127.0.0.7", .type = SOCK_STREAM };
	if (server_open(&gone, 1) < 0)
		return -1;
	refused_port = gone.port;
	close(gone.fd);
	return 0;
}

static int group_teardown(void **state)
{
	stopping = true;
	struct server *all[] = { &tcp_srv, &http_srv, &https_srv, &dns_srv };
	for (int i = 0; i < 4; i++) {
		pthread_join(all[i]->thread, NULL);
		close(all[i]->fd);
	}
	close(hole_srv.fd);
	SSL_CTX_free(server_tls);
	rcu_unregister_thread();

	/* Show the log on the real stderr. */
	char *t = log_text();
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fprintf(stderr, "---- log of test_health ----\n%s---- end of log ----\n", t);
	free(t);
	unlink(logpath);
	return 0;
}

static int test_setup(void **state)
{
	http_srv.mode = HTTP_OK;
	dns_srv.mode = DNS_OK;
	return 0;
}

/* ---- models ---- */

#define MAX_EP 16

struct tmodel {
	struct rwd_model m;
	struct rwd_check checks[8];
	struct rwd_endpoint eps[MAX_EP];
	struct rwd_endpoint_addr addrs[MAX_EP];
};

static struct rwd_check *add_check(struct tmodel *t, const char *name, enum rwd_check_type type, int port)
{
	struct rwd_check *c = &t->checks[t->m.n_checks++];
	memset(c, 0, sizeof(*c));
	c->name = (char *)name;
	c->type = type;
	c->port = (uint16_t)port;
	c->interval_ms = INTERVAL;
	c->timeout_ms = TIMEOUT;
	c->rise = 2;
	c->fall = 2;
	c->cert_warn_days = 14;
	c->dns_qtype = RW_TYPE_SOA;
	t->m.checks = t->checks;
	return c;
}

/* An endpoint with one IPv4 address on slot. */
static struct rwd_endpoint *add_ep(struct tmodel *t, const char *name, const char *addr,
                                   const struct rwd_check *c, uint32_t slot)
{
	size_t i = t->m.n_endpoints++;
	struct rwd_endpoint *e = &t->eps[i];
	memset(e, 0, sizeof(*e));
	e->name = (char *)name;
	e->check = c;
	e->addrs = &t->addrs[i];
	e->n_addrs = 1;
	t->addrs[i].addr.family = AF_INET;
	inet_pton(AF_INET, addr, t->addrs[i].addr.bytes);
	t->addrs[i].slot = slot;
	t->m.endpoints = t->eps;
	if (slot + 1 > t->m.n_slots)
		t->m.n_slots = slot + 1;
	return e;
}

static struct tmodel *tmodel_new(void)
{
	return calloc(1, sizeof(struct tmodel));
}

/* ---- tests ---- */

/* Everything is up at start, before any result; slots without a check too. */
static void test_start_up(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "web", RWD_CHECK_HTTP, http_srv.port);
	http_srv.mode = HTTP_503;        /* would fail: must still start up */
	add_ep(t, "a", http_srv.addr, c, 0);
	add_ep(t, "b", tcp_srv.addr, NULL, 1);    /* no check */
	add_ep(t, "c", hole_srv.addr, add_check(t, "tcp", RWD_CHECK_TCP, hole_srv.port), 3);
	t->m.n_slots = 5;

	assert_null(rwd_health_get());
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);
	struct rwd_health *h2;
	assert_int_equal(rwd_health_start(&t->m, &h2), RW_EEXIST);   /* one at a time */

	rcu_thread_online();
	const struct rwd_health_state *s = rwd_health_get();
	assert_non_null(s);
	assert_int_equal(s->n_slots, 5);
	assert_true(s->generation >= 1);
	for (uint32_t i = 0; i < 6; i++)
		assert_true(rwd_slot_up(s, i));
	rcu_thread_offline();

	struct live l = live_info(h, 0);
	assert_true(l.found);
	assert_string_equal(l.endpoint, "a");
	assert_string_equal(l.check, "web");
	char want[64];
	snprintf(want, sizeof(want), "%s:%d", http_srv.addr, http_srv.port);
	assert_string_equal(l.target, want);
	assert_false(live_info(h, 1).found);      /* no check, no target */
	assert_true(live_info(h, 3).found);

	struct rwd_health_stats st;
	rwd_health_get_stats(h, &st);
	assert_int_equal(st.targets, 2);
	rwd_health_stop(h);
	assert_null(rwd_health_get());
	free(t);
}

/* HTTP: 200 up; 503 down within interval*fall + timeout; 200 up again after rise. */
static void test_http_fall_rise(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "web", RWD_CHECK_HTTP, http_srv.port);
	c->path = "/healthz";
	c->host = "www.example.test";
	c->expect_body = "ok";
	add_ep(t, "us-east", http_srv.addr, c, 0);
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);

	assert_true(wait_checks(h, 0, 3, 3000));
	struct live l = live_info(h, 0);
	assert_int_equal(l.info.failures, 0);
	assert_string_equal(l.info.last_result, "HTTP 200");
	assert_int_equal(slot_state(0), RWD_SLOT_UP);
	pthread_mutex_lock(&http_srv.lock);
	assert_non_null(strstr(http_srv.last_request,
	        "GET /healthz HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: runway-health\r\n"
	        "Connection: close\r\n\r\n"));
	pthread_mutex_unlock(&http_srv.lock);

	http_srv.mode = HTTP_503;
	long ms = wait_state(0, RWD_SLOT_DOWN, 3000);
	assert_true(ms >= 0);
	print_message("down after %ld ms (bound %d)\n", ms, INTERVAL * 2 + TIMEOUT + MARGIN);
	assert_true(ms <= INTERVAL * 2 + TIMEOUT + MARGIN);
	struct rwd_slot_info in;
	assert_true(published_info(0, &in, NULL));
	assert_int_equal(in.n_history, 1);
	assert_int_equal(in.history[0].state, RWD_SLOT_DOWN);
	assert_string_equal(in.history[0].reason, "HTTP 503");
	char line[160];
	snprintf(line, sizeof(line), "health: us-east %s:%d down: HTTP 503 (2 consecutive failures)",
	         http_srv.addr, http_srv.port);
	assert_int_equal(log_count(line), 1);

	http_srv.mode = HTTP_OK;
	ms = wait_state(0, RWD_SLOT_UP, 3000);
	assert_true(ms >= 0);
	print_message("up after %ld ms (bound %d)\n", ms, INTERVAL * 2 + TIMEOUT + MARGIN);
	assert_true(ms <= INTERVAL * 2 + TIMEOUT + MARGIN);
	assert_true(published_info(0, &in, NULL));
	assert_int_equal(in.n_history, 2);
	assert_int_equal(in.history[0].state, RWD_SLOT_UP);
	assert_int_equal(in.history[1].state, RWD_SLOT_DOWN);
	snprintf(line, sizeof(line), "health: us-east %s:%d up: HTTP 200 (2 consecutive passes)",
	         http_srv.addr, http_srv.port);
	assert_int_equal(log_count(line), 1);

	/* A chunked body is decoded before the search ("o" + "k"). */
	http_srv.mode = HTTP_CHUNKED;
	uint32_t before = live_info(h, 0).info.checks;
	assert_true(wait_checks(h, 0, before + 3, 3000));
	assert_int_equal(slot_state(0), RWD_SLOT_UP);
	assert_string_equal(live_info(h, 0).info.last_result, "HTTP 200");
	rwd_health_stop(h);
	free(t);
}

static void expect_down(struct rwd_health *h, uint32_t slot, const char *reason_prefix)
{
	long ms = wait_state(slot, RWD_SLOT_DOWN, 3000);
	struct live l = live_info(h, slot);
	if (ms < 0 || strncmp(l.info.last_result, reason_prefix, strlen(reason_prefix)) != 0)
		print_error("slot %u: state %d, last result '%s', wanted '%s'\n", slot, slot_state(slot),
		            l.info.last_result, reason_prefix);
	assert_true(ms >= 0);
	assert_true(ms <= INTERVAL * 2 + TIMEOUT + MARGIN);
	assert_memory_equal(l.info.last_result, reason_prefix, strlen(reason_prefix));
}

/* Wrong body, wrong status, refused connection, timeout, each its reason. */
static void test_failures(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *body = add_check(t, "body", RWD_CHECK_HTTP, http_srv.port);
	body->expect_body = "ok";
	struct rwd_check *status = add_check(t, "status", RWD_CHECK_HTTP, http_srv.port);
	status->expect_status[0] = 204;
	status->expect_status[1] = 301;
	status->n_expect_status = 2;
	struct rwd_check *tcp_ok = add_check(t, "tcp-ok", RWD_CHECK_TCP, tcp_srv.port);
	struct rwd_check *refused = add_check(t, "tcp-refused", RWD_CHECK_TCP, refused_port);
	struct rwd_check *hole = add_check(t, "hole", RWD_CHECK_HTTP, hole_srv.port);
	add_ep(t, "body", http_srv.addr, body, 0);
	add_ep(t, "status", http_srv.addr, status, 1);
	add_ep(t, "tcp", tcp_srv.addr, tcp_ok, 2);
	add_ep(t, "refused", "127.0.0.7", refused, 3);
	add_ep(t, "hole", hole_srv.addr, hole, 4);
	http_srv.mode = HTTP_NOPE;
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);

	expect_down(h, 0, "body does not contain 'ok'");
	expect_down(h, 1, "HTTP 200");
	expect_down(h, 3, "connect: connection refused");
	char reason[64];
	snprintf(reason, sizeof(reason), "timeout after %d ms (waiting for response)", TIMEOUT);
	expect_down(h, 4, reason);
	assert_true(wait_checks(h, 2, 4, 3000));
	struct live l = live_info(h, 2);
	assert_int_equal(l.info.failures, 0);
	assert_string_equal(l.info.last_result, "connected");
	assert_int_equal(slot_state(2), RWD_SLOT_UP);
	rwd_health_stop(h);
	free(t);
}

/* HTTPS with tls_verify false passes against a self-signed certificate; the
 * near expiry is warned about once; with tls_verify the chain fails. */
static void test_https(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "tls", RWD_CHECK_HTTPS, https_srv.port);
	c->host = "health.test";
	c->expect_body = "ok";
	struct rwd_check *v = add_check(t, "tls-verify", RWD_CHECK_HTTPS, https_srv.port);
	v->host = "health.test";
	v->tls_verify = true;
	add_ep(t, "secure", https_srv.addr, c, 0);
	add_ep(t, "strict", https_srv.addr, v, 1);
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);

	assert_true(wait_checks(h, 0, 4, 3000));
	struct live l = live_info(h, 0);
	assert_int_equal(l.info.failures, 0);
	assert_string_equal(l.info.last_result, "HTTP 200");
	assert_int_equal(slot_state(0), RWD_SLOT_UP);
	char line[160];
	snprintf(line, sizeof(line), "health: secure %s:%d: TLS certificate expires in 4 day(s)",
	         https_srv.addr, https_srv.port);
	assert_int_equal(log_count(line), 1);   /* not once per probe */
	/* Probes after the first resume the TLS session. */
	print_message("https: %u served, %u resumed\n", https_srv.served, https_srv.resumed);
	assert_true(https_srv.resumed > 0);

	expect_down(h, 1, "TLS: certificate verify failed");
	print_message("verify: %s\n", live_info(h, 1).info.last_result);
	rwd_health_stop(h);
	free(t);
}

/* DNS: NOERROR with the expected answer passes; SERVFAIL or a missing answer fails. */
static void test_dns(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "dns", RWD_CHECK_DNS, dns_srv.port);
	rw_dname_from_str("www.example.test.", NULL, c->dns_qname);
	c->dns_qtype = RW_TYPE_A;
	c->dns_expect = "192.0.2.1";
	struct rwd_check *other = add_check(t, "dns-other", RWD_CHECK_DNS, dns_srv.port);
	rw_dname_from_str("www.example.test.", NULL, other->dns_qname);
	other->dns_qtype = RW_TYPE_A;
	other->dns_expect = "198.51.100.7";
	add_ep(t, "ns", dns_srv.addr, c, 0);
	add_ep(t, "ns-other", dns_srv.addr, other, 1);
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);

	assert_true(wait_checks(h, 0, 3, 3000));
	struct live l = live_info(h, 0);
	assert_int_equal(l.info.failures, 0);
	assert_string_equal(l.info.last_result, "rcode NOERROR");
	expect_down(h, 1, "no answer contains '198.51.100.7'");

	dns_srv.mode = DNS_SERVFAIL;
	expect_down(h, 0, "rcode SERVFAIL (expected NOERROR)");
	dns_srv.mode = DNS_OK;
	assert_true(wait_state(0, RWD_SLOT_UP, 3000) >= 0);
	rwd_health_stop(h);
	free(t);
}

/* A CNAME endpoint is probed at its name, resolved on every probe. */
static void test_cname_endpoint(void **state)
{
	/* localhost is 127.0.0.1 here: a listener that never accepts (the
	 * kernel completes connects into the backlog). */
	struct server lo = { .addr = "127.0.0.1", .type = SOCK_STREAM };
	assert_int_equal(server_open(&lo, 64), 0);
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "tcp", RWD_CHECK_TCP, lo.port);
	struct rwd_check *r = add_check(t, "tcp-refused", RWD_CHECK_TCP, refused_port);
	struct rwd_endpoint *e = &t->eps[t->m.n_endpoints++];
	e->name = "alias";
	e->check = c;
	e->cname_len = (uint8_t)rw_dname_from_str("localhost.", NULL, e->cname);
	e->slot = 0;
	struct rwd_endpoint *e2 = &t->eps[t->m.n_endpoints++];
	e2->name = "alias2";
	e2->check = r;
	e2->cname_len = (uint8_t)rw_dname_from_str("localhost.", NULL, e2->cname);
	e2->slot = 1;
	t->m.endpoints = t->eps;
	t->m.n_slots = 2;
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);
	char want[64];
	snprintf(want, sizeof(want), "localhost:%d", lo.port);
	assert_string_equal(live_info(h, 0).target, want);
	assert_true(wait_checks(h, 0, 3, 3000));
	struct live l = live_info(h, 0);
	assert_string_equal(l.info.last_result, "connected");
	assert_int_equal(l.info.failures, 0);
	expect_down(h, 1, "connect: connection refused");
	rwd_health_stop(h);
	close(lo.fd);
	free(t);
}

/* apply(): unchanged (check, address) keep their state under new slot
 * numbers, removed ones stop, new ones start up and unchecked. */
static void test_apply(void **state)
{
	struct tmodel *a = tmodel_new();
	struct rwd_check *web = add_check(a, "web", RWD_CHECK_HTTP, http_srv.port);
	struct rwd_check *tcp = add_check(a, "tcp", RWD_CHECK_TCP, tcp_srv.port);
	add_ep(a, "web1", http_srv.addr, web, 0);
	add_ep(a, "tcp1", tcp_srv.addr, tcp, 1);
	http_srv.mode = HTTP_503;
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&a->m, &h), 0);
	assert_true(wait_state(0, RWD_SLOT_DOWN, 3000) >= 0);
	assert_true(wait_checks(h, 1, 2, 3000));
	struct live before = live_info(h, 0);

	/* b: web1 moves to slot 5 (and the endpoint is renamed), tcp1 is gone,
	 * a new endpoint on the refused port at slot 2. */
	struct tmodel *b = tmodel_new();
	struct rwd_check *web2 = add_check(b, "web", RWD_CHECK_HTTP, http_srv.port);
	struct rwd_check *ref = add_check(b, "refused", RWD_CHECK_TCP, refused_port);
	add_ep(b, "web1-renamed", http_srv.addr, web2, 5);
	add_ep(b, "new", "127.0.0.7", ref, 2);
	uint64_t gen0 = 0, gen1 = 0;
	struct rwd_slot_info in;
	assert_true(published_info(0, &in, &gen0));
	rwd_health_apply(h, &b->m);
	memset(a, 0xa5, sizeof(*a));     /* the old model may be freed now */
	free(a);

	/* At once, without waiting: published under the new numbering. */
	assert_int_equal(slot_state(5), RWD_SLOT_DOWN);
	assert_int_equal(slot_state(2), RWD_SLOT_UP);
	assert_int_equal(slot_state(0), RWD_SLOT_UP);    /* no check any more */
	assert_true(published_info(5, &in, &gen1));
	assert_true(gen1 > gen0);
	assert_int_equal(in.n_history, 1);
	assert_true(in.checks >= before.info.checks);
	struct live l = live_info(h, 5);
	assert_true(l.found);
	assert_string_equal(l.endpoint, "web1-renamed");
	assert_true(l.info.checks >= before.info.checks);
	assert_int_equal(l.info.since.tv_sec, before.info.since.tv_sec);
	l = live_info(h, 2);
	assert_true(l.found);
	assert_false(l.t.checked);
	assert_false(live_info(h, 1).found);
	struct rwd_health_stats st;
	rwd_health_get_stats(h, &st);
	assert_int_equal(st.targets, 2);

	/* The carried-over slot keeps running on the new model. */
	http_srv.mode = HTTP_OK;
	assert_true(wait_state(5, RWD_SLOT_UP, 3000) >= 0);
	expect_down(h, 2, "connect: connection refused");
	rwd_health_stop(h);
	free(b);
}

/* Stop while probes wait on a black hole (TCP connected, TLS mid-handshake). */
static void test_stop_in_flight(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "slow", RWD_CHECK_HTTP, hole_srv.port);
	c->timeout_ms = 5000;            /* longer than the interval: rounds are skipped */
	struct rwd_check *s = add_check(t, "slow-tls", RWD_CHECK_HTTPS, hole_srv.port);
	s->timeout_ms = 5000;
	struct rwd_check *d = add_check(t, "slow-dns", RWD_CHECK_DNS, hole_srv.port);
	d->timeout_ms = 5000;
	add_ep(t, "a", hole_srv.addr, c, 0);
	add_ep(t, "b", hole_srv.addr, s, 1);
	add_ep(t, "c", "127.0.0.8", d, 2);   /* nobody answers DNS there (maybe a refusal) */
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);
	struct rwd_health_stats st;
	uint64_t t0 = now_ms();
	do {
		poll(NULL, 0, 5);
		rwd_health_get_stats(h, &st);
	} while (st.in_flight < 2 && now_ms() - t0 < 3000);
	assert_true(st.in_flight >= 2);
	/* wait one more interval so a round is skipped while in flight */
	do {
		poll(NULL, 0, 5);
		rwd_health_get_stats(h, &st);
	} while (st.skipped == 0 && now_ms() - t0 < 3000);
	assert_true(st.skipped > 0);
	uint64_t s0 = now_ms();
	rwd_health_stop(h);
	uint64_t took = now_ms() - s0;
	print_message("stopped with %u probes in flight in %" PRIu64 " ms\n", st.in_flight, took);
	assert_true(took < 1000);
	assert_null(rwd_health_get());
	free(t);
}

/* Probes start on time: lateness stays small. */
static void test_on_time(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "tcp", RWD_CHECK_TCP, tcp_srv.port);
	c->interval_ms = 100;
	for (int i = 0; i < 12; i++) {
		static char names[12][16];
		snprintf(names[i], sizeof(names[i]), "e%d", i);
		add_ep(t, names[i], tcp_srv.addr, c, (uint32_t)i);
	}
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);
	struct rwd_health_stats st;
	uint64_t t0 = now_ms();
	do {
		poll(NULL, 0, 10);
		rwd_health_get_stats(h, &st);
	} while (st.probes < 100 && now_ms() - t0 < 5000);
	rwd_health_stop(h);
	print_message("%" PRIu64 " probes, late max %" PRIu64 " us, mean %" PRIu64 " us, skipped %" PRIu64
	              ", cpu %" PRIu64 " us\n", st.probes, st.late_max_us,
	              st.probes ? st.late_sum_us / st.probes : 0, st.skipped, st.cpu_ns / 1000);
	assert_true(st.probes >= 100);
	assert_int_equal(st.skipped, 0);
	assert_true(st.late_max_us < 50000);
	free(t);
}

/* Out of descriptors: probes that cannot open a socket are no result, the
 * slot keeps its state (fall 1 would take it down at the first failure),
 * they are counted, and logged once per HC_UNSTARTED_LOG_MS, not per probe. */
static void test_no_descriptors_is_not_down(void **state)
{
	struct tmodel *t = tmodel_new();
	struct rwd_check *c = add_check(t, "tcp", RWD_CHECK_TCP, tcp_srv.port);
	c->fall = 1;
	struct rwd_check *d = add_check(t, "dns", RWD_CHECK_DNS, dns_srv.port);
	d->fall = 1;
	struct rwd_check *w = add_check(t, "web", RWD_CHECK_HTTP, http_srv.port);
	w->fall = 1;
	add_ep(t, "db", tcp_srv.addr, c, 0);
	add_ep(t, "ns", dns_srv.addr, d, 1);
	add_ep(t, "web", http_srv.addr, w, 2);
	struct rwd_health *h;
	assert_int_equal(rwd_health_start(&t->m, &h), 0);
	for (uint32_t i = 0; i < 3; i++)
		assert_true(wait_checks(h, i, 2, 3000));
	unsigned logged = log_count("could not run for want of a local resource");

	struct rlimit saved;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	struct rlimit low = { 256, saved.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	static int held[256];
	int n = 0;
	while (n < 256 && (held[n] = dup(0)) >= 0)
		n++;
	assert_true(n < 256 && errno == EMFILE);

	struct rwd_health_stats st;
	uint64_t t0 = now_ms();
	do {
		poll(NULL, 0, 10);
		rwd_health_get_stats(h, &st);
	} while (st.unstarted < 9 && now_ms() - t0 < 3000);
	uint32_t fails[3];
	for (uint32_t i = 0; i < 3; i++)
		fails[i] = live_info(h, i).info.failures;
	while (n > 0)
		close(held[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);

	print_message("out of descriptors: %" PRIu64 " probes unstarted\n", st.unstarted);
	assert_true(st.unstarted >= 9);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(fails[i], 0);
		assert_int_equal(slot_state(i), RWD_SLOT_UP);
	}
	assert_int_equal(log_count("could not run for want of a local resource"), logged + 1);
	/* Descriptors back: probes run and pass again. */
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t before = live_info(h, i).info.checks;
		assert_true(wait_checks(h, i, before + 2, 3000));
		assert_int_equal(live_info(h, i).info.failures, 0);
	}
	rwd_health_stop(h);
	free(t);
}

/* ---- flap dampening (flap.h), with a clock of our own ---- */

/* One slot under rise 1 / fall 1 (the raw state is the last result) and
 * the dampening, on a clock of its own. */
struct flap_sim {
	struct rwd_flap f;
	bool raw, up;
	uint64_t now;
};

#define FLAP_SIM { .raw = true, .up = true, .now = 1000 }

/* Feed results ('1' pass, '0' fail), one per 100 ms; returns how often the
 * published state changed. */
static unsigned flap_run(struct flap_sim *s, const struct rwd_flap_conf *c, const char *results)
{
	unsigned changes = 0;
	for (const char *r = results; *r; r++, s->now += 100) {
		bool pass = *r == '1', was = s->up;
		if (pass != s->raw) {
			s->raw = pass;
			rwd_flap_change(&s->f, c, s->now);
		}
		rwd_flap_result(&s->f, c, pass, s->raw, s->now);
		s->up = s->raw && !s->f.held;
		changes += s->up != was;
	}
	return changes;
}

static void test_flap_dampening(void **state)
{
	struct rwd_flap_conf c = { .changes = 4, .window_ms = 10000, .hold_ms = 1000 };
	struct flap_sim s = FLAP_SIM;

	/* Flapping at every probe for 10 s: held at the 4th change, so the
	 * published state changes 3 times (down, up, down) and then no more. */
	char flaps[101];
	for (int i = 0; i < 100; i++)
		flaps[i] = i % 2 ? '1' : '0';
	flaps[100] = '\0';
	assert_int_equal(flap_run(&s, &c, flaps), 3);
	assert_false(s.up);
	assert_true(s.f.held);
	/* Passing for less than the hold keeps it down; a failure restarts the hold. */
	assert_int_equal(flap_run(&s, &c, "11111111" "0" "1111111111"), 0);
	assert_false(s.up);
	/* The 11th pass in a row is 1 s after the first: released, once. */
	assert_int_equal(flap_run(&s, &c, "1"), 1);
	assert_true(s.up);
	assert_false(s.f.held);
	assert_int_equal(rwd_flap_recent(&s.f, &c, s.now), 0);   /* the history starts afresh */

	/* One outage (2 changes) is not flapping. */
	assert_int_equal(flap_run(&s, &c, "000111"), 2);
	assert_true(s.up);
	assert_false(s.f.held);

	/* Changes older than the window do not count: down 0.3 s every 3 s is
	 * 4 changes in 6 s, never 4 within a 5 s window. */
	struct rwd_flap_conf c5 = c;
	c5.window_ms = 5000;
	struct flap_sim g = FLAP_SIM;
	char slow[31];
	for (int i = 0; i < 30; i++)
		slow[i] = i < 3 ? '0' : '1';
	slow[30] = '\0';
	for (int k = 0; k < 6; k++)
		assert_int_equal(flap_run(&g, &c5, slow), 2);
	assert_false(g.f.held);
	/* ...while a 10 s window holds it at the 4th change, and a 5 s hold
	 * (longer than its 2.7 s of passes) keeps it down. */
	struct rwd_flap_conf c10 = c;
	c10.hold_ms = 5000;
	struct flap_sim g10 = FLAP_SIM;
	unsigned n = 0;
	for (int k = 0; k < 6; k++)
		n += flap_run(&g10, &c10, slow);
	assert_int_equal(n, 3);
	assert_false(g10.up);
	/* With a 1 s hold it comes back after 1 s of each 2.7 s of passes. */
	struct flap_sim g1 = FLAP_SIM;
	assert_int_equal(flap_run(&g1, &c, slow) + flap_run(&g1, &c, slow), 4);
	assert_false(g1.f.held);

	/* flap_changes 0: off, every change goes through. */
	struct rwd_flap_conf off = c;
	off.changes = 0;
	struct flap_sim o = FLAP_SIM;
	assert_int_equal(flap_run(&o, &off, flaps), 100);
	assert_false(o.f.held);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_start_up, test_setup),
		cmocka_unit_test_setup(test_http_fall_rise, test_setup),
		cmocka_unit_test_setup(test_failures, test_setup),
		cmocka_unit_test_setup(test_https, test_setup),
		cmocka_unit_test_setup(test_dns, test_setup),
		cmocka_unit_test_setup(test_cname_endpoint, test_setup),
		cmocka_unit_test_setup(test_apply, test_setup),
		cmocka_unit_test_setup(test_stop_in_flight, test_setup),
		cmocka_unit_test_setup(test_on_time, test_setup),
		cmocka_unit_test(test_flap_dampening),
		cmocka_unit_test_setup(test_no_descriptors_is_not_down, test_setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
