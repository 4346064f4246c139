/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Scale benchmark of the health service (src/server/health/): thousands of
 * targets checked every second against local servers run by this program,
 * reporting the CPU time the health thread used and how late probes
 * started. Run by bench/health_scale.sh; loopback only.
 *
 *   health_scale [-t TCP] [-H HTTP] [-d DNS] [-S HTTPS] [-a ADDRESSES] [-i INTERVAL_MS] [-s SECONDS]
 *                [-k SECONDS]
 *
 * -k: stop the TCP/HTTP/DNS servers after that many seconds, so that all
 * their targets go down within the window (the cost of mass transitions
 * and publications); the verdict then expects them down.
 *
 * Servers: on each of ADDRESSES loopback addresses 127.0.1.x, one libuv
 * thread serves HTTP ("200 ok", Connection: close; TCP checks use the same
 * listener) and DNS over UDP (NOERROR); HTTPS targets go to 127.0.2.1, served
 * by two blocking OpenSSL threads with a self-signed P-256 certificate.
 * Every target has its own check (all at the same interval), spread over
 * the addresses.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <urcu-qsbr.h>
#include <uv.h>

#include "lib/wire.h"
#include "server/common/log.h"
#include "server/health/health.h"

static const char RESPONSE[] =
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/* ---- the libuv server: HTTP (and TCP) + DNS on each address ---- */

struct srv_addr {
	uv_tcp_t tcp;
	uv_udp_t udp;
	int tcp_port, udp_port;
	char text[32];
};

struct conn {
	uv_tcp_t tcp;
	uv_write_t w;
	char buf[2048];
	size_t len;
	bool replied;
};

static uv_loop_t srv_loop;
static uv_async_t srv_stop;
static struct srv_addr *srv;
static int n_srv;
static atomic_ulong served_http, served_dns;

static void conn_closed(uv_handle_t *h) { free(h->data); }

static void conn_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct conn *c = h->data;
	if (c->len >= sizeof(c->buf) - 1)
		c->len = 0;
	*b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - 1 - c->len));
}

static void conn_written(uv_write_t *w, int status)
{
	struct conn *c = w->data;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;
	if (n == 0 || c->replied)
		return;
	if (n < 0) {                     /* TCP checks: connect, then a reset */
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (!strstr(c->buf, "\r\n\r\n"))
		return;
	c->replied = true;
	uv_read_stop(s);
	served_http++;
	uv_buf_t out = uv_buf_init((char *)RESPONSE, sizeof(RESPONSE) - 1);
	c->w.data = c;
	if (uv_write(&c->w, s, &out, 1, conn_written) < 0)
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_conn(uv_stream_t *l, int status)
{
	if (status < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	uv_tcp_init(&srv_loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) < 0)
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static char udp_buf[4096];
static void udp_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) { *b = uv_buf_init(udp_buf, sizeof(udp_buf)); }

static void udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned f)
{
	if (n < RW_HDR_LEN || from == NULL)
		return;
	uint8_t *m = (uint8_t *)b->base;
	m[2] = (uint8_t)(RW_FLAG_QR | RW_FLAG_AA | (m[2] & 0x78));
	m[3] = 0;                        /* NOERROR; the question (and OPT) echoed */
	uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
	if (uv_udp_try_send(u, &out, 1, from) > 0)
		served_dns++;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, h->type == UV_TCP && h->data ? conn_closed : NULL);
}

static void on_stop(uv_async_t *a) { uv_walk(&srv_loop, close_walk, NULL); }

static void srv_thread(void *arg) { uv_run(&srv_loop, UV_RUN_DEFAULT); }

static int srv_start(int n)
{
	srv = calloc((size_t)n, sizeof(*srv));
	n_srv = n;
	uv_loop_init(&srv_loop);
	uv_async_init(&srv_loop, &srv_stop, on_stop);
	for (int i = 0; i < n; i++) {
		struct srv_addr *a = &srv[i];
		snprintf(a->text, sizeof(a->text), "127.0.1.%d", i + 1);
		struct sockaddr_in sa = { .sin_family = AF_INET };
		inet_pton(AF_INET, a->text, &sa.sin_addr);
		uv_tcp_init(&srv_loop, &a->tcp);
		uv_udp_init(&srv_loop, &a->udp);
		if (uv_tcp_bind(&a->tcp, (struct sockaddr *)&sa, 0) < 0 ||
		    uv_listen((uv_stream_t *)&a->tcp, 4096, on_conn) < 0 ||
		    uv_udp_bind(&a->udp, (struct sockaddr *)&sa, 0) < 0 ||
		    uv_udp_recv_start(&a->udp, udp_alloc, udp_recv) < 0) {
			fprintf(stderr, "cannot listen on %s\n", a->text);
			return -1;
		}
		struct sockaddr_in got;
		int len = sizeof(got);
		uv_tcp_getsockname(&a->tcp, (struct sockaddr *)&got, &len);
		a->tcp_port = ntohs(got.sin_port);
		len = sizeof(got);
		uv_udp_getsockname(&a->udp, (struct sockaddr *)&got, &len);
		a->udp_port = ntohs(got.sin_port);
	}
	uv_thread_t th;
	return uv_thread_create(&th, srv_thread, NULL) == 0 ? 0 : -1;
}

/* ---- HTTPS: blocking OpenSSL threads ---- */

static SSL_CTX *tls_ctx;
static int tls_fd = -1, tls_port;
static atomic_bool tls_stopping;
static atomic_ulong served_https;

static SSL_CTX *make_tls(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"bench.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, key, EVP_sha256());
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(ctx, x);
	SSL_CTX_use_PrivateKey(ctx, key);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

static void *tls_thread(void *arg)
{
	while (!tls_stopping) {
		struct pollfd p = { .fd = tls_fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(tls_fd, NULL, NULL);
		if (c < 0)
			continue;
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		SSL *ssl = SSL_new(tls_ctx);
		SSL_set_fd(ssl, c);
		char req[2048];
		int n = 0;
		if (SSL_accept(ssl) == 1) {
			for (int i = 0; i < 16 && n < (int)sizeof(req) - 1; i++) {
				int r = SSL_read(ssl, req + n, (int)sizeof(req) - 1 - n);
				if (r <= 0)
					break;
				n += r;
				req[n] = '\0';
				if (strstr(req, "\r\n\r\n")) {
					SSL_write(ssl, RESPONSE, sizeof(RESPONSE) - 1);
					served_https++;
					SSL_shutdown(ssl);
					break;
				}
			}
		}
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

/* ---- main ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double proc_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	int n_tcp = 700, n_http = 700, n_dns = 600, n_https = 0, n_addr = 250, seconds = 10, kill_at = 0;
	unsigned interval = 1000;
	int opt;
	while ((opt = getopt(argc, argv, "t:H:d:S:a:i:s:k:")) != -1) {
		switch (opt) {
		case 't': n_tcp = atoi(optarg); break;
		case 'H': n_http = atoi(optarg); break;
		case 'd': n_dns = atoi(optarg); break;
		case 'S': n_https = atoi(optarg); break;
		case 'a': n_addr = atoi(optarg); break;
		case 'i': interval = (unsigned)atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'k': kill_at = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-t TCP] [-H HTTP] [-d DNS] [-S HTTPS] [-a ADDRESSES] "
			        "[-i INTERVAL_MS] [-s SECONDS] [-k SECONDS]\n", argv[0]);
			return 2;
		}
	}
	if (n_addr < 1 || n_addr > 254 || seconds < 1 || seconds > 600 || interval < 10)
		return 2;
	int n = n_tcp + n_http + n_dns + n_https;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	rwd_log_set_level(RWD_LOG_WARNING);

	if (srv_start(n_addr) < 0)
		return 1;
	pthread_t tls_th[2];
	if (n_https) {
		tls_ctx = make_tls();
		struct sockaddr_in sa = { .sin_family = AF_INET };
		inet_pton(AF_INET, "127.0.2.1", &sa.sin_addr);
		tls_fd = socket(AF_INET, SOCK_STREAM, 0);
		socklen_t len = sizeof(sa);
		if (bind(tls_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(tls_fd, 4096) < 0)
			return 1;
		getsockname(tls_fd, (struct sockaddr *)&sa, &len);
		tls_port = ntohs(sa.sin_port);
		for (int i = 0; i < 2; i++)
			pthread_create(&tls_th[i], NULL, tls_thread, NULL);
	}

	/* The model: one check and one endpoint (one address, one slot) per target. */
	struct rwd_model m = { 0 };
	m.checks = calloc((size_t)n, sizeof(*m.checks));
	m.endpoints = calloc((size_t)n, sizeof(*m.endpoints));
	struct rwd_endpoint_addr *addrs = calloc((size_t)n, sizeof(*addrs));
	char (*names)[24] = calloc((size_t)n, sizeof(*names));
	m.n_checks = m.n_endpoints = (size_t)n;
	m.n_slots = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		struct rwd_check *c = &m.checks[i];
		struct srv_addr *a = &srv[i % n_addr];
		const char *addr = a->text;
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		c->name = names[i];
		c->interval_ms = interval;
		c->timeout_ms = interval / 2;
		c->rise = c->fall = 2;
		if (i < n_tcp) {
			c->type = RWD_CHECK_TCP;
			c->port = (uint16_t)a->tcp_port;
		} else if (i < n_tcp + n_http) {
			c->type = RWD_CHECK_HTTP;
			c->port = (uint16_t)a->tcp_port;
			c->expect_body = "ok";
		} else if (i < n_tcp + n_http + n_dns) {
			c->type = RWD_CHECK_DNS;
			c->port = (uint16_t)a->udp_port;
			c->dns_qtype = RW_TYPE_SOA;   /* qname: the root */
		} else {
			c->type = RWD_CHECK_HTTPS;
			c->port = (uint16_t)tls_port;
			c->host = "bench.test";
			c->expect_body = "ok";
			c->cert_warn_days = 14;
			addr = "127.0.2.1";
		}
		struct rwd_endpoint *e = &m.endpoints[i];
		e->name = names[i];
		e->check = c;
		e->addrs = &addrs[i];
		e->n_addrs = 1;
		addrs[i].addr.family = AF_INET;
		inet_pton(AF_INET, addr, addrs[i].addr.bytes);
		addrs[i].slot = (uint32_t)i;
	}

	printf("health_scale: %d targets (tcp %d, http %d, dns %d, https %d) over %d addresses, "
	       "every %u ms (timeout %u ms), for %d s\n",
	       n, n_tcp, n_http, n_dns, n_https, n_addr, interval, interval / 2, seconds);
	struct rwd_health *h;
	if (rwd_health_start(&m, &h) != 0)
		return 1;
	struct rwd_health_stats s0, s1;
	double cpu0 = proc_cpu_s(), t0 = now_s();
	rwd_health_get_stats(h, &s0);
	/* The measurement window (not a synchronisation): probes run meanwhile. */
	bool killed = kill_at > 0 && kill_at < seconds;
	struct timespec ts = { .tv_sec = killed ? kill_at : seconds };
	while (nanosleep(&ts, &ts) != 0)
		;
	if (killed) {
		uv_async_send(&srv_stop);
		ts = (struct timespec){ .tv_sec = seconds - kill_at };
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	rwd_health_get_stats(h, &s1);
	double wall = now_s() - t0, cpu = proc_cpu_s() - cpu0;

	/* Down slots at the end (all servers answer: there should be none). */
	rcu_register_thread();
	const struct rwd_health_state *st = rwd_health_get();
	unsigned down = 0;
	for (uint32_t i = 0; st && i < st->n_slots; i++)
		down += st->state[i] != RWD_SLOT_UP;
	rcu_unregister_thread();
	rwd_health_stop(h);

	uint64_t probes = s1.probes - s0.probes;
	uint64_t fails = s1.failures - s0.failures, passes = s1.passes - s0.passes;
	double hcpu = (double)(s1.cpu_ns - s0.cpu_ns) / 1e9;
	double expected = (double)n * wall * 1000.0 / interval;
	printf("window:           %.2f s\n", wall);
	printf("probes started:   %" PRIu64 " (expected about %.0f = targets x window / interval)\n",
	       probes, expected);
	printf("results:          %" PRIu64 " passed, %" PRIu64 " failed; %u slot(s) down at the end\n",
	       passes, fails, down);
	printf("rounds skipped:   %" PRIu64 "\n", s1.skipped - s0.skipped);
	printf("transitions:      %" PRIu64 ", in %" PRIu64 " publication(s)\n", s1.transitions - s0.transitions,
	       s1.publications - s0.publications);
	printf("health thread:    %.3f s CPU = %.1f%% of one core (%.1f us per probe)\n", hcpu,
	       100.0 * hcpu / wall, probes ? hcpu * 1e6 / (double)probes : 0.0);
	printf("whole process:    %.3f s CPU (servers included)\n", cpu);
	static const uint64_t bounds[] = RWD_HEALTH_LATE_BOUNDS_US;
	uint64_t late_n = 0, late_sum = s1.late_sum_us - s0.late_sum_us;
	for (int b = 0; b < RWD_HEALTH_LATE_BUCKETS; b++)
		late_n += s1.late_hist[b] - s0.late_hist[b];
	printf("start lateness:   mean %.0f us, max %" PRIu64 " us (max since start)\n",
	       late_n ? (double)late_sum / (double)late_n : 0.0, s1.late_max_us);
	for (int b = 0; b < RWD_HEALTH_LATE_BUCKETS; b++) {
		uint64_t k = s1.late_hist[b] - s0.late_hist[b];
		if (b < RWD_HEALTH_LATE_BUCKETS - 1)
			printf("  < %6.1f ms: %8" PRIu64 " (%5.1f%%)\n", bounds[b] / 1000.0, k,
			       late_n ? 100.0 * (double)k / (double)late_n : 0.0);
		else
			printf("  >= %5.1f ms: %8" PRIu64 " (%5.1f%%)\n", bounds[b - 1] / 1000.0, k,
			       late_n ? 100.0 * (double)k / (double)late_n : 0.0);
	}
	printf("servers answered: %lu http, %lu dns, %lu https\n", (unsigned long)served_http,
	       (unsigned long)served_dns, (unsigned long)served_https);

	if (!killed)
		uv_async_send(&srv_stop);
	tls_stopping = true;
	if (n_https)
		for (int i = 0; i < 2; i++)
			pthread_join(tls_th[i], NULL);
	unsigned want_down = killed ? (unsigned)(n - n_https) : 0;
	int ok = (killed || fails == 0) && down == want_down && s1.skipped == s0.skipped &&
	         (double)probes >= expected * 0.97;
	printf("verdict:          %s\n", !ok ? "PROBLEMS (see above)" : killed ?
	       "every probe ran, on time; every target of a stopped server is down" :
	       "every probe ran, on time, and passed");
	free(m.checks);
	free(m.endpoints);
	free(addrs);
	free(names);
	return ok ? 0 : 1;
}
