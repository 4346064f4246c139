/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the TCP transport (src/server/net/tcp.c), end to end over
 * loopback: a tiny zone is loaded and published, rwd_tcp_start listens on
 * 127.0.0.1 port 0, and plain blocking sockets play the client.
 *
 * Covered: pipelined queries in one write answered in order, a message
 * trickled in byte by byte, a message bigger than the initial read buffer,
 * backpressure (many large answers to a client that reads late), FORMERR
 * keeps the connection, a dropped message / short length closes it, the
 * idle timeout with and without a partial message, max-clients (the
 * longest idle makes room), max-per-client (by source address, through a
 * table that grows and shrinks), the io timeout (a trickled message, a
 * client that does not read), IPv6. Streams (a query answered in several
 * messages, as a zone transfer will be) through a test producer: framed in
 * order with the queries behind them answered (and whole before the EOF of
 * a client that shut down its side), produced no faster than the client
 * reads, cut when a new snapshot is published while one waits, freed when
 * the server stops.
 *
 * No fixed sleeps: a test that needs the server to have done something
 * (seen a close, read a byte, filled its send buffer) polls for it with a
 * deadline (wait_for), through the runway_tcp_connections gauge or the
 * server's own end of the connection, which lives in this process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <linux/tcp.h>           /* not netinet/tcp.h: tcp_info.tcpi_bytes_received */
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/common/log.h"
#include "server/common/stats.h"
#include "server/snapshot/snapshot.h"
#include "server/net/tcp.h"
#include "server/query/query.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#define IDLE_MS     400
#define MAX_CLIENTS 6

static char tmpdir[] = "/tmp/test_tcp.XXXXXX";
static struct rwd_tcp *tcp;
static int port;

/*
 * A test producer standing in for a zone transfer: a query of type NULL
 * for COUNTxSIZE[xBREAK].stream.example.com. is answered in COUNT messages,
 * each with one NULL record of SIZE bytes of rdata whose first 4 are the
 * message's index; with BREAK, the producer breaks off (RWD_DROP) at that
 * index. stream_begin is the server's test_begin hook (rwd_tcp_opts): it
 * turns such a query's outcome into this stream, as a transfer stage will.
 */
#define TYPE_NULL 10
static atomic_uint produced;           /* producer calls (on the TCP thread) */

/* COUNT, SIZE, BREAK (~0u: none) of qr's name; false if it is not a stream's. */
static bool stream_params(const struct rwd_query *qr, unsigned *count, unsigned *size,
                          unsigned *brk)
{
	static const uint8_t tail[] = "\x06" "stream" "\x07" "example" "\x03" "com";
	const uint8_t *n = qr->q.qname;
	char label[64];
	if (qr->q.question_len == 0 || qr->q.qtype != TYPE_NULL || n[0] == 0 ||
	    memcmp(n + 1 + n[0], tail, sizeof(tail)) != 0)
		return false;
	memcpy(label, n + 1, n[0]);
	label[n[0]] = 0;
	*brk = ~0u;
	int k = sscanf(label, "%ux%ux%u", count, size, brk);
	return k >= 2 && *count > 0 && *size >= 4 && *size <= 60000;
}

static enum rwd_stage_result stream_producer(const struct rwd_snapshot *s, struct rwd_query *qr,
                                             uint8_t *p, size_t room)
{
	unsigned count = 0, size = 0, brk = 0;
	uint32_t i = (uint32_t)qr->cursor;
	atomic_fetch_add(&produced, 1);
	if (!stream_params(qr, &count, &size, &brk) || i == brk || room < 12u + size)
		return RWD_DROP;
	memcpy(p, "\xc0\x0c", 2);              /* the question's name */
	rw_put16(p + 2, TYPE_NULL);
	rw_put16(p + 4, RW_CLASS_IN);
	rw_put32(p + 6, 0);
	rw_put16(p + 10, (uint16_t)size);
	memset(p + 12, 'x', size);
	rw_put32(p + 12, i);
	qr->body_len = (uint16_t)(12 + size);
	qr->body_an = 1;
	qr->cursor++;
	return i + 1 < count ? RWD_MORE : RWD_DONE;
}

static void stream_begin(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	unsigned count, size, brk;
	if (!stream_params(qr, &count, &size, &brk))
		return;
	qr->rcode = RW_RCODE_NOERROR;          /* lookup said NXDOMAIN */
	qr->aa = true;
	qr->ede = 0;
	qr->answer = qr->synth = NULL;
	qr->producer = stream_producer;
	qr->cursor = 0;
}

static void report(void *ctx, const char *msg)
{
	fprintf(stderr, "zone: %s\n", msg);
	if (!strstr(msg, ": warning: "))
		(*(int *)ctx)++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Load tmpdir's zone into a new snapshot and publish it. 0 or -1. */
static int publish(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/example.com.zone", tmpdir);
	uint8_t origin[RW_DNAME_MAXLEN];
	if (rw_dname_from_str("example.com.", NULL, origin) < 0)
		return -1;
	int errors = 0;
	struct rwd_zone *z = rwd_zone_load(origin, path, report, &errors);
	if (!z || errors)
		return -1;
	struct rwd_zone **zones = malloc(sizeof(*zones));
	zones[0] = z;
	struct rwd_snapshot *s = calloc(1, sizeof(*s));
	s->zones = rwd_zonedb_new(zones, 1);
	s->edns_udp_size = RW_EDNS_DEFAULT_MAX;
	if (!s->zones)                     /* else it owns zones, the array too */
		return -1;
	rwd_snapshot_publish(s);
	return 0;
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	char path[256];
	snprintf(path, sizeof(path), "%s/example.com.zone", tmpdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("$ORIGIN example.com.\n$TTL 3600\n"
	      "@   SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	      "@   NS  ns1\n"
	      "ns1 A   192.0.2.53\n"
	      "www A   192.0.2.80\n"
	      "a   A   192.0.2.1\n"
	      "b   A   192.0.2.2\n"
	      "c   A   192.0.2.3\n", f);
	/* big TXT: about 4 KB of answer, so a few dozen fill the socket buffers */
	for (int i = 0; i < 16; i++) {
		fprintf(f, "big TXT \"%02d", i);
		for (int j = 0; j < 240; j++)
			fputc('a' + (i + j) % 26, f);
		fputs("\"\n", f);
	}
	fclose(f);

	if (publish() < 0)
		return -1;

	struct rw_sockaddr l = { .addr_len = sizeof(struct sockaddr_in) };
	struct sockaddr_in *sa = (struct sockaddr_in *)&l.addr;
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	strcpy(l.text, "127.0.0.1:0");
	struct rwd_tcp_opts opts = { .idle_timeout_ms = IDLE_MS, .max_clients = MAX_CLIENTS,
	                             .test_begin = stream_begin };
	if (rwd_tcp_start(&l, 1, &opts, &tcp) != 0)
		return -1;
	port = rwd_tcp_port(tcp, 0);
	return port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	rwd_tcp_stop(tcp);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

/* ---- client helpers ---- */

static int connect_to(int family, int p)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
		sa->sin6_family = AF_INET6;
		sa->sin6_addr = in6addr_loopback;
		sa->sin6_port = htons((uint16_t)p);
		len = sizeof(*sa);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
		sa->sin_family = AF_INET;
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa->sin_port = htons((uint16_t)p);
		len = sizeof(*sa);
	}
	int fd = socket(family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/* Append a framed query for name/qtype with id to out; returns bytes added. */
static size_t frame_query(uint8_t *out, uint16_t id, const char *name, uint16_t qtype)
{
	uint8_t qname[RW_DNAME_MAXLEN];
	struct rw_msgbuilder b;
	assert_true(rw_dname_from_str(name, NULL, qname) > 0);
	assert_int_equal(rw_msgb_init(&b, out + 2, 512, id, qname, qtype, RW_CLASS_IN, true), 0);
	rw_put16(out + 2 + RW_HDR_ARCOUNT, 1);
	rw_msgb_put_opt(&b, 4096, 0, false);
	assert_false(b.overflow);
	rw_put16(out, (uint16_t)b.len);
	return b.len + 2;
}

static void send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Read exactly len bytes; returns len, or what was read before EOF/error. */
static size_t recv_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* Read one framed response into buf (65535 bytes); its length. */
static size_t recv_msg(int fd, uint8_t *buf)
{
	uint8_t pfx[2];
	assert_int_equal(recv_all(fd, pfx, 2), 2);
	size_t len = rw_get16(pfx);
	assert_int_equal(recv_all(fd, buf, len), len);
	return len;
}

/* A client socket bound to source address src (127.0.0.x) connected to p. */
static int connect_from(const char *src, int p)
{
	struct sockaddr_in me = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)p);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

/* True if the server closed fd (EOF or reset) within the receive timeout. */
static bool closed_by_server(int fd)
{
	uint8_t b;
	ssize_t n = recv(fd, &b, 1, 0);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void check_answer(const uint8_t *msg, size_t len, uint16_t id, uint8_t rcode, uint16_t ancount)
{
	assert_true(len >= RW_HDR_LEN);
	assert_int_equal(rw_get16(msg), id);
	assert_true(msg[2] & RW_FLAG_QR);
	assert_int_equal(msg[3] & 0x0f, rcode);
	assert_int_equal(rw_get16(msg + RW_HDR_ANCOUNT), ancount);
}

/* ---- waiting for what the server did, bounded ---- */

/* Poll cond(arg) every millisecond until it holds or timeout_ms has passed;
 * whether it held. */
static bool wait_for(bool (*cond)(intptr_t), intptr_t arg, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		if (cond(arg))
			return true;
		if (now_ms() >= deadline)
			return false;
		poll(NULL, 0, 1);
	}
}

/* TCP connections open in every rwd_tcp of this process: the
 * runway_tcp_connections gauge of /metrics. */
static uint64_t tcp_open(void)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	assert_non_null(f);
	rwd_stats_write(f);
	fclose(f);
	static const char gauge[] = "\nrunway_tcp_connections ";
	const char *p = strstr(text, gauge);
	assert_non_null(p);
	uint64_t n = strtoull(p + sizeof(gauge) - 1, NULL, 10);
	free(text);
	return n;
}

static bool open_is(intptr_t n)
{
	return tcp_open() == (uint64_t)n;
}

/* Wait until the servers have n connections open: a client's close counts
 * once the server's loop has read the EOF. */
static void wait_open(uint64_t n)
{
	if (!wait_for(open_is, (intptr_t)n, 3000))
		fail_msg("%" PRIu64 " TCP connections open after 3 s, expected %" PRIu64, tcp_open(), n);
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen,
                      const struct sockaddr_storage *b, socklen_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* The server's end of client socket fd, or -1 (not accepted yet): the server
 * runs in this process, so it is the socket whose local address is fd's
 * peer and whose peer is fd's local address. */
static int find_server_end(intptr_t fd)
{
	struct sockaddr_storage me, peer;
	socklen_t melen = sizeof(me), peerlen = sizeof(peer);
	assert_int_equal(getsockname((int)fd, (struct sockaddr *)&me, &melen), 0);
	assert_int_equal(getpeername((int)fd, (struct sockaddr *)&peer, &peerlen), 0);
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int found = -1;
	for (struct dirent *e; found < 0 && (e = readdir(d)) != NULL;) {
		int s = atoi(e->d_name);
		struct sockaddr_storage a, b;
		socklen_t alen = sizeof(a), blen = sizeof(b);
		if (s > 2 && s != fd && s != dirfd(d) &&
		    getsockname(s, (struct sockaddr *)&a, &alen) == 0 &&
		    getpeername(s, (struct sockaddr *)&b, &blen) == 0 &&
		    same_addr(&a, alen, &peer, peerlen) && same_addr(&b, blen, &me, melen))
			found = s;
	}
	closedir(d);
	return found;
}

static bool accepted(intptr_t fd)
{
	return find_server_end(fd) >= 0;
}

/* The server's end of fd, to look at its queues (the server owns it: only
 * ioctl, getsockopt and poll on it). */
static int server_end(int fd)
{
	assert_true(wait_for(accepted, fd, 3000));
	return find_server_end(fd);
}

struct taken {
	int s;                 /* a server end */
	uint64_t n;            /* bytes the client has sent */
};

/* All n bytes have reached s and the server has read them. */
static bool server_took(intptr_t arg)
{
	const struct taken *t = (const struct taken *)arg;
	struct tcp_info ti = { 0 };
	socklen_t len = sizeof(ti);
	int unread = -1;
	assert_int_equal(getsockopt(t->s, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_true(len >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received));
	if (ti.tcpi_bytes_received < t->n)
		return false;
	assert_int_equal(ioctl(t->s, FIONREAD, &unread), 0);
	return unread == 0;
}

/* Server end s cannot take more: its send buffer is full of answers the
 * client has not read, so the next ones wait in the server's own queue. */
static bool server_stuck(intptr_t s)
{
	int unsent = 0;
	assert_int_equal(ioctl((int)s, SIOCOUTQ, &unsent), 0);
	struct pollfd pf = { .fd = (int)s, .events = POLLOUT };
	return unsent > 0 && poll(&pf, 1, 0) == 0;
}

/* fd stays open, no data, no EOF, no reset, for ms: the wait is the check. */
static void stays_open(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN | POLLRDHUP };
	assert_int_equal(poll(&pf, 1, ms), 0);
}

/* ---- tests ---- */

static void test_pipelined(void **state)
{
	static const char *names[] = { "a.example.com.", "nx.example.com.", "c.example.com." };
	uint8_t q[1500], r[65535];
	size_t len = 0;
	for (int i = 0; i < 3; i++)
		len += frame_query(q + len, (uint16_t)(0x1000 + i), names[i], RW_TYPE_A);
	int fd = connect_to(AF_INET, port);
	send_all(fd, q, len);                       /* three queries in one write */
	size_t n = recv_msg(fd, r);
	check_answer(r, n, 0x1000, RW_RCODE_NOERROR, 1);
	n = recv_msg(fd, r);
	check_answer(r, n, 0x1001, RW_RCODE_NXDOMAIN, 0);
	n = recv_msg(fd, r);
	check_answer(r, n, 0x1002, RW_RCODE_NOERROR, 1);

	/* The connection stays usable. */
	len = frame_query(q, 0x2000, "www.example.com.", RW_TYPE_A);
	send_all(fd, q, len);
	n = recv_msg(fd, r);
	check_answer(r, n, 0x2000, RW_RCODE_NOERROR, 1);
	close(fd);
}

static void test_trickle(void **state)
{
	uint8_t q[600], r[65535];
	size_t len = frame_query(q, 0x3000, "www.example.com.", RW_TYPE_A);
	len += frame_query(q + len, 0x3001, "b.example.com.", RW_TYPE_A);
	int fd = connect_to(AF_INET, port);
	struct taken t = { .s = server_end(fd) };
	for (size_t i = 0; i < len; i++) {            /* one byte per read */
		send_all(fd, q + i, 1);
		t.n = i + 1;
		assert_true(wait_for(server_took, (intptr_t)&t, 3000));
	}
	size_t n = recv_msg(fd, r);
	check_answer(r, n, 0x3000, RW_RCODE_NOERROR, 1);
	n = recv_msg(fd, r);
	check_answer(r, n, 0x3001, RW_RCODE_NOERROR, 1);
	close(fd);
}

/* A 9 KB query (EDNS padding option): more than the initial read buffer. */
static void test_big_query(void **state)
{
	static uint8_t q[12000], r[65535];
	uint8_t qname[RW_DNAME_MAXLEN];
	struct rw_msgbuilder b;
	assert_true(rw_dname_from_str("a.example.com.", NULL, qname) > 0);
	assert_int_equal(rw_msgb_init(&b, q + 2, sizeof(q) - 2, 0x4000, qname, RW_TYPE_A, RW_CLASS_IN, true), 0);
	rw_put16(q + 2 + RW_HDR_ARCOUNT, 1);
	size_t rdlen_at = rw_msgb_put_opt(&b, 4096, 0, false);
	rw_msgb_put16(&b, 12);                      /* Padding (RFC 7830) */
	rw_msgb_put16(&b, 9000);
	static const uint8_t zeros[9000];
	rw_msgb_put(&b, zeros, sizeof(zeros));
	assert_false(b.overflow);
	rw_put16(q + 2 + rdlen_at, 9004);
	rw_put16(q, (uint16_t)b.len);
	size_t len = b.len + 2;
	len += frame_query(q + len, 0x4001, "b.example.com.", RW_TYPE_A);

	int fd = connect_to(AF_INET, port);
	send_all(fd, q, len);
	size_t n = recv_msg(fd, r);
	check_answer(r, n, 0x4000, RW_RCODE_NOERROR, 1);
	n = recv_msg(fd, r);
	check_answer(r, n, 0x4001, RW_RCODE_NOERROR, 1);
	close(fd);
}

/*
 * Backpressure: 10000 queries for a 4 KB answer, written before reading
 * anything. A server that kept reading would take them all (and queue 40 MB
 * of answers); ours stops reading once its writes are stuck, so the client's
 * send must block at some point. Then everything is read back, in order.
 * poll() interleaves writing and reading so the client never deadlocks.
 */
static void test_backpressure(void **state)
{
	enum { N = 10000 };
	static uint8_t q[N * 64], in[4 * 65536];
	size_t qlen = 0, qoff = 0, inlen = 0;
	for (int i = 0; i < N; i++)
		qlen += frame_query(q + qlen, (uint16_t)i, "big.example.com.", RW_TYPE_TXT);
	int fd = connect_to(AF_INET, port);
	int sndbuf = 16384;                         /* no send buffer autotuning */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	fcntl(fd, F_SETFL, O_NONBLOCK);

	/* Write without reading until the server stops taking queries. */
	bool blocked = false;
	uint64_t deadline = now_ms() + 3000;
	while (qoff < qlen && now_ms() < deadline) {
		ssize_t n = send(fd, q + qoff, qlen - qoff, MSG_NOSIGNAL);
		if (n > 0) {
			qoff += (size_t)n;
		} else {
			assert_true(n < 0 && errno == EAGAIN);
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, 300) == 0) {    /* stuck for 300 ms: server not reading */
				blocked = true;
				break;
			}
		}
	}
	assert_true(blocked);
	assert_true(qoff < qlen);

	int answers = 0;
	deadline = now_ms() + 20000;
	while (answers < N && now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = (short)(POLLIN | (qoff < qlen ? POLLOUT : 0)) };
		assert_true(poll(&p, 1, 1000) >= 0);
		if ((p.revents & POLLOUT) && qoff < qlen) {
			ssize_t n = send(fd, q + qoff, qlen - qoff, MSG_NOSIGNAL);
			if (n > 0)
				qoff += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, in + inlen, sizeof(in) - inlen, 0);
			assert_true(n > 0);
			inlen += (size_t)n;
			size_t off = 0;
			while (inlen - off >= 2 && inlen - off >= 2u + rw_get16(in + off)) {
				size_t mlen = rw_get16(in + off);
				check_answer(in + off + 2, mlen, (uint16_t)answers, RW_RCODE_NOERROR, 16);
				answers++;
				off += 2 + mlen;
			}
			memmove(in, in + off, inlen - off);
			inlen -= off;
		}
	}
	assert_int_equal(answers, N);
	close(fd);
}

/* FORMERR (QDCOUNT=0) is an answer: the connection stays open. */
static void test_formerr_keeps_open(void **state)
{
	uint8_t q[600], r[65535];
	uint8_t bad[2 + RW_HDR_LEN] = { 0, RW_HDR_LEN, 0x50, 0x00 };
	int fd = connect_to(AF_INET, port);
	send_all(fd, bad, sizeof(bad));
	size_t n = recv_msg(fd, r);
	check_answer(r, n, 0x5000, RW_RCODE_FORMERR, 0);
	size_t len = frame_query(q, 0x5001, "a.example.com.", RW_TYPE_A);
	send_all(fd, q, len);
	n = recv_msg(fd, r);
	check_answer(r, n, 0x5001, RW_RCODE_NOERROR, 1);
	close(fd);
}

/* A message the query path drops (QR=1) closes the connection without a
 * reply, after the answers to the queries before it. */
static void test_drop_closes(void **state)
{
	uint8_t q[600], r[65535];
	size_t len = frame_query(q, 0x6000, "a.example.com.", RW_TYPE_A);
	size_t at = len;
	len += frame_query(q + len, 0x6001, "b.example.com.", RW_TYPE_A);
	q[at + 2 + 2] |= RW_FLAG_QR;
	len += frame_query(q + len, 0x6002, "c.example.com.", RW_TYPE_A);
	int fd = connect_to(AF_INET, port);
	send_all(fd, q, len);
	size_t n = recv_msg(fd, r);
	check_answer(r, n, 0x6000, RW_RCODE_NOERROR, 1);
	assert_true(closed_by_server(fd));
	close(fd);
}

static void test_short_length_closes(void **state)
{
	for (int l = 0; l < RW_HDR_LEN; l += 11) {
		uint8_t msg[2 + RW_HDR_LEN] = { 0, (uint8_t)l, 0x70, 0x00 };
		int fd = connect_to(AF_INET, port);
		send_all(fd, msg, 2u + (unsigned)l);
		uint64_t t0 = now_ms();
		assert_true(closed_by_server(fd));
		assert_true(now_ms() - t0 < IDLE_MS / 2);  /* at once, not by the idle timer */
		close(fd);
	}
}

static void test_idle_timeout(void **state)
{
	/* Nothing sent. */
	int fd = connect_to(AF_INET, port);
	uint64_t t0 = now_ms();
	assert_true(closed_by_server(fd));
	uint64_t dt = now_ms() - t0;
	assert_true(dt >= IDLE_MS - 50 && dt < IDLE_MS + 1000);
	close(fd);

	/* Half a message: the same limit. */
	uint8_t q[600], r[65535];
	size_t len = frame_query(q, 0x7000, "a.example.com.", RW_TYPE_A);
	fd = connect_to(AF_INET, port);
	send_all(fd, q, len / 2);
	t0 = now_ms();
	assert_true(closed_by_server(fd));
	dt = now_ms() - t0;
	assert_true(dt >= IDLE_MS - 50 && dt < IDLE_MS + 1000);
	close(fd);

	/* Each complete message restarts the timer. */
	fd = connect_to(AF_INET, port);
	t0 = now_ms();
	for (int i = 0; i < 4; i++) {
		stays_open(fd, IDLE_MS / 2);
		len = frame_query(q, (uint16_t)(0x7100 + i), "a.example.com.", RW_TYPE_A);
		send_all(fd, q, len);
		size_t n = recv_msg(fd, r);
		check_answer(r, n, (uint16_t)(0x7100 + i), RW_RCODE_NOERROR, 1);
	}
	assert_true(now_ms() - t0 > IDLE_MS * 3 / 2);
	assert_true(closed_by_server(fd));
	close(fd);
}

/* Ask fd for a.example.com A with id and check the answer. */
static void ask(int fd, uint16_t id)
{
	uint8_t q[600], r[65535];
	size_t len = frame_query(q, id, "a.example.com.", RW_TYPE_A);
	send_all(fd, q, len);
	size_t n = recv_msg(fd, r);
	check_answer(r, n, id, RW_RCODE_NOERROR, 1);
}

/* Full: a new connection is served, and the longest-idle one (oldest last
 * query, not oldest connection) is closed to make room. */
static void test_max_clients(void **state)
{
	wait_open(0);                               /* earlier tests' connections are gone */
	int fds[MAX_CLIENTS];
	for (int i = 0; i < MAX_CLIENTS; i++) {
		fds[i] = connect_to(AF_INET, port);
		ask(fds[i], (uint16_t)i);
	}
	ask(fds[0], 0x10);                          /* now fds[1] is the longest idle */
	uint64_t t0 = now_ms();
	int extra = connect_to(AF_INET, port);
	ask(extra, 0x8000);
	assert_true(closed_by_server(fds[1]));
	assert_true(now_ms() - t0 < IDLE_MS / 2);   /* at once, not by the idle timer */
	ask(fds[0], 0x11);
	ask(fds[2], 0x12);
	close(extra);
	for (int i = 0; i < MAX_CLIENTS; i++)
		close(fds[i]);
}

/* max_per_client 3: a 4th connection from one address is closed at once,
 * other addresses are served, a closed connection frees its place. 100
 * addresses at once make the per-client table grow; all of them closed and
 * opened again check that removals leave it consistent. */
static void test_max_per_client(void **state)
{
	struct rw_sockaddr l = { 0 };
	assert_int_equal(rw_sockaddr_parse("127.0.0.1", 53, &l), 0);
	((struct sockaddr_in *)&l.addr)->sin_port = 0;
	struct rwd_tcp_opts opts = { .idle_timeout_ms = 5000, .max_clients = 1000,
	                             .max_per_client = 3 };
	struct rwd_tcp *t2 = NULL;
	assert_int_equal(rwd_tcp_start(&l, 1, &opts, &t2), 0);
	int p = rwd_tcp_port(t2, 0);
	wait_open(0);                               /* the counts below are t2's alone */

	int a[3];
	for (int i = 0; i < 3; i++) {
		a[i] = connect_from("127.0.0.1", p);
		ask(a[i], (uint16_t)i);
	}
	int over = connect_from("127.0.0.1", p);
	uint64_t t0 = now_ms();
	assert_true(closed_by_server(over));
	assert_true(now_ms() - t0 < 1000);
	close(over);
	int other = connect_from("127.0.0.2", p);
	ask(other, 0x20);
	close(other);
	ask(a[0], 0x21);                            /* the three are still served */
	close(a[2]);
	/* Its place comes free once the server sees the close (and other's):
	 * a[0] and a[1] left open, then a new one from 127.0.0.1 is served. */
	wait_open(2);
	int again = connect_from("127.0.0.1", p);
	ask(again, 0x22);
	close(again);
	close(a[0]);
	close(a[1]);

	enum { N = 100 };
	int many[N][3];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			char src[32];
			snprintf(src, sizeof(src), "127.0.%d.%d", 1 + i / 50, 1 + i % 50);
			for (int k = 0; k < 3; k++) {
				many[i][k] = connect_from(src, p);
				ask(many[i][k], (uint16_t)(i * 3 + k));
			}
		}
		int o = connect_from("127.0.1.7", p);
		assert_true(closed_by_server(o));
		close(o);
		for (int i = 0; i < N; i++)
			for (int k = 0; k < 3; k++)
				close(many[i][k]);
		wait_open(0);                           /* the server sees every close */
	}
	rwd_tcp_stop(t2);
}

/* io_timeout 200 ms, idle 3 s: a message trickled in a byte every 40 ms is
 * cut at 200 ms although bytes keep coming; whole messages 300 ms apart keep
 * a connection open (between messages only the idle timeout applies); a
 * client that sends queries and reads nothing is closed once its answers
 * stop moving. */
static void test_io_timeout(void **state)
{
	struct rw_sockaddr l = { 0 };
	assert_int_equal(rw_sockaddr_parse("127.0.0.1", 53, &l), 0);
	((struct sockaddr_in *)&l.addr)->sin_port = 0;
	struct rwd_tcp_opts opts = { .idle_timeout_ms = 3000, .io_timeout_ms = 200,
	                             .max_clients = 10 };
	struct rwd_tcp *t2 = NULL;
	assert_int_equal(rwd_tcp_start(&l, 1, &opts, &t2), 0);
	int p = rwd_tcp_port(t2, 0);
	uint8_t q[600];

	size_t len = frame_query(q, 0x30, "a.example.com.", RW_TYPE_A);
	int fd = connect_to(AF_INET, p);
	uint64_t t0 = now_ms();
	bool closed = false;
	for (size_t i = 0; i < len && !closed; i++) {
		if (send(fd, q + i, 1, MSG_NOSIGNAL) != 1)
			break;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		closed = poll(&pf, 1, 40) == 1;         /* readable: EOF or reset */
	}
	if (!closed)
		assert_true(closed_by_server(fd));
	uint64_t dt = now_ms() - t0;
	assert_true(dt >= 150 && dt < 1000);
	close(fd);

	fd = connect_to(AF_INET, p);
	for (int i = 0; i < 5; i++) {
		stays_open(fd, 300);
		ask(fd, (uint16_t)(0x31 + i));
	}
	close(fd);

	/* Not reading: the queries stop being read, the answers stop moving,
	 * and the server closes (a reset, as it has unread queries). */
	fd = connect_to(AF_INET, p);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	static uint8_t big[3000 * 64];
	size_t blen = 0, boff = 0;
	for (int i = 0; i < 3000; i++)
		blen += frame_query(big + blen, (uint16_t)i, "big.example.com.", RW_TYPE_TXT);
	uint64_t deadline = now_ms() + 3000;
	while (boff < blen && now_ms() < deadline) {
		ssize_t n = send(fd, big + boff, blen - boff, MSG_NOSIGNAL);
		if (n > 0) {
			boff += (size_t)n;
			continue;
		}
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		if (poll(&pf, 1, 50) == 0)
			break;                              /* the server stopped reading */
	}
	t0 = now_ms();
	struct pollfd pf = { .fd = fd, .events = POLLRDHUP };
	assert_int_equal(poll(&pf, 1, 2000), 1);
	assert_true(pf.revents & (POLLERR | POLLHUP | POLLRDHUP));
	assert_true(now_ms() - t0 < 1500);
	close(fd);
	rwd_tcp_stop(t2);
}

/* A second server on [::1]:0 and 127.0.0.1:0 at once; then a port in use. */
static void test_ipv6_and_bind_error(void **state)
{
	struct rw_sockaddr l[2] = { 0 };
	assert_int_equal(rw_sockaddr_parse("[::1]:53", 53, &l[0]), 0);
	((struct sockaddr_in6 *)&l[0].addr)->sin6_port = 0;
	assert_int_equal(rw_sockaddr_parse("127.0.0.1", 53, &l[1]), 0);
	((struct sockaddr_in *)&l[1].addr)->sin_port = 0;
	struct rwd_tcp_opts opts = { .idle_timeout_ms = 1000, .max_clients = 10 };
	struct rwd_tcp *t2 = NULL;
	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 probe = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool have_v6 = s6 >= 0 && bind(s6, (struct sockaddr *)&probe, sizeof(probe)) == 0;
	if (s6 >= 0)
		close(s6);
	if (have_v6) {
		assert_int_equal(rwd_tcp_start(l, 2, &opts, &t2), 0);
		int p6 = rwd_tcp_port(t2, 0);
		assert_true(p6 > 0);
		assert_true(rwd_tcp_port(t2, 1) > 0);
		assert_int_equal(rwd_tcp_port(t2, 2), -1);
		uint8_t q[600], r[65535];
		int fd = connect_to(AF_INET6, p6);
		size_t len = frame_query(q, 0x9000, "www.example.com.", RW_TYPE_A);
		send_all(fd, q, len);
		size_t n = recv_msg(fd, r);
		check_answer(r, n, 0x9000, RW_RCODE_NOERROR, 1);
		close(fd);              /* stop with a connection possibly still open */
		rwd_tcp_stop(t2);
	} else {
		print_message("no IPv6 loopback: IPv6 part skipped\n");
	}

	/* The first server's port is taken: start fails and cleans up. */
	struct rw_sockaddr busy = l[1];
	((struct sockaddr_in *)&busy.addr)->sin_port = htons((uint16_t)port);
	snprintf(busy.text, sizeof(busy.text), "127.0.0.1:%d", port);
	t2 = (struct rwd_tcp *)1;
	assert_int_equal(rwd_tcp_start(&busy, 1, &opts, &t2), RW_EIO);
	assert_null(t2);
}

/* Stopping with connections open, in the middle of queued writes: the
 * client reads nothing and the server's end gets a small send buffer (the
 * kernel's default, autotuned to megabytes on loopback, would take all
 * 400 KB of answers at once), so it fills and the rest of the 100 answers
 * wait in the server's queue when it stops. */
static void test_stop_busy(void **state)
{
	struct rw_sockaddr l = { 0 };
	assert_int_equal(rw_sockaddr_parse("127.0.0.1", 53, &l), 0);
	((struct sockaddr_in *)&l.addr)->sin_port = 0;
	struct rwd_tcp_opts opts = { .idle_timeout_ms = 5000, .max_clients = 10 };
	struct rwd_tcp *t2 = NULL;
	assert_int_equal(rwd_tcp_start(&l, 1, &opts, &t2), 0);
	int fd = connect_to(AF_INET, rwd_tcp_port(t2, 0));
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	int s = server_end(fd);                     /* nothing written to it yet */
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	static uint8_t q[100 * 64];
	size_t len = 0;
	for (int i = 0; i < 100; i++)
		len += frame_query(q + len, (uint16_t)i, "big.example.com.", RW_TYPE_TXT);
	send_all(fd, q, len);
	assert_true(wait_for(server_stuck, s, 3000));
	rwd_tcp_stop(t2);
	close(fd);
}

/* A lower max_clients set while running (the descriptors kept for health
 * probes grew): the next connection closes as many longest-idle ones as it
 * takes; raised again, all are kept. */
static void test_set_max_clients(void **state)
{
	wait_open(0);
	int fds[MAX_CLIENTS];
	for (int i = 0; i < MAX_CLIENTS; i++) {
		fds[i] = connect_to(AF_INET, port);
		ask(fds[i], (uint16_t)i);
	}
	rwd_tcp_set_max_clients(tcp, 3);
	int extra = connect_to(AF_INET, port);
	ask(extra, 0x8000);
	for (int i = 0; i < MAX_CLIENTS - 2; i++)   /* 6 open + 1 new, 3 kept: the 4 oldest go */
		assert_true(closed_by_server(fds[i]));
	ask(fds[MAX_CLIENTS - 2], 0x21);
	ask(fds[MAX_CLIENTS - 1], 0x22);
	rwd_tcp_set_max_clients(tcp, MAX_CLIENTS);
	int more[3];
	for (int i = 0; i < 3; i++) {
		more[i] = connect_to(AF_INET, port);
		ask(more[i], (uint16_t)(0x30 + i));
	}
	ask(extra, 0x8001);                          /* 6 open: nobody closed */
	ask(fds[MAX_CLIENTS - 1], 0x23);
	for (int i = 0; i < 3; i++)
		close(more[i]);
	close(extra);
	for (int i = 0; i < MAX_CLIENTS; i++)
		close(fds[i]);
}

/* ---- streams: one query, several messages ---- */

/* Read message i of a stream of SIZE-byte records answering id on fd: a
 * framed DNS answer with the question, one NULL record holding i, and OPT. */
static void recv_stream_msg(int fd, uint16_t id, uint32_t i, unsigned size)
{
	static uint8_t r[65535];
	size_t n = recv_msg(fd, r);
	check_answer(r, n, id, RW_RCODE_NOERROR, 1);
	assert_true(r[2] & RW_FLAG_AA);
	assert_int_equal(rw_get16(r + RW_HDR_QDCOUNT), 1);
	assert_int_equal(rw_get16(r + RW_HDR_ARCOUNT), 1);     /* OPT */
	size_t at = RW_HDR_LEN;
	while (r[at])
		at += 1u + r[at];
	at += 1 + 4;                                        /* root label, type, class */
	assert_int_equal(rw_get16(r + at), 0xc00c);
	assert_int_equal(rw_get16(r + at + 2), TYPE_NULL);
	assert_int_equal(rw_get16(r + at + 10), size);
	assert_int_equal(rw_get32(r + at + 12), i);
	assert_int_equal(n, at + 12 + size + 11);
}

/* A server like the shared one (test_begin: stream_begin), with timeouts
 * long enough for a test that lets answers wait. */
static struct rwd_tcp *start_stream_server(void)
{
	struct rw_sockaddr l = { 0 };
	assert_int_equal(rw_sockaddr_parse("127.0.0.1", 53, &l), 0);
	((struct sockaddr_in *)&l.addr)->sin_port = 0;
	struct rwd_tcp_opts opts = { .idle_timeout_ms = 10000, .max_clients = 10,
	                             .test_begin = stream_begin };
	struct rwd_tcp *t2 = NULL;
	assert_int_equal(rwd_tcp_start(&l, 1, &opts, &t2), 0);
	return t2;
}

/* Streams of 40 (more than a turn's burst: the rest is resumed from
 * on_write) and 1 messages, pipelined between plain queries in one write:
 * every message framed, in order, with the query's ID; the queries behind
 * each stream answered after it; the connection stays usable. */
static void test_stream(void **state)
{
	uint8_t q[1500];
	size_t len = frame_query(q, 0xa000, "40x100.stream.example.com.", TYPE_NULL);
	len += frame_query(q + len, 0xa001, "a.example.com.", RW_TYPE_A);
	len += frame_query(q + len, 0xa002, "1x4.stream.example.com.", TYPE_NULL);
	len += frame_query(q + len, 0xa003, "b.example.com.", RW_TYPE_A);
	assert_true(40 > RWD_TCP_STREAM_BURST * 2);
	int fd = connect_to(AF_INET, port);
	send_all(fd, q, len);
	for (uint32_t i = 0; i < 40; i++)
		recv_stream_msg(fd, 0xa000, i, 100);
	uint8_t r[65535];
	size_t n = recv_msg(fd, r);
	check_answer(r, n, 0xa001, RW_RCODE_NOERROR, 1);
	recv_stream_msg(fd, 0xa002, 0, 4);
	n = recv_msg(fd, r);
	check_answer(r, n, 0xa003, RW_RCODE_NOERROR, 1);
	ask(fd, 0xa004);
	close(fd);

	/* A client that sends its query and shuts down its side at once gets
	 * the whole stream, then EOF (the server sees the EOF only once it
	 * reads again, after the stream). */
	size_t qlen = frame_query(q, 0xa010, "40x100.stream.example.com.", TYPE_NULL);
	fd = connect_to(AF_INET, port);
	send_all(fd, q, qlen);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	for (uint32_t i = 0; i < 40; i++)
		recv_stream_msg(fd, 0xa010, i, 100);
	assert_true(closed_by_server(fd));
	close(fd);
}

/* A producer that breaks off at message 3 of 5: the three are sent, then
 * the connection is closed; the query behind it is not answered. */
static void test_stream_broken(void **state)
{
	uint8_t q[1500];
	size_t len = frame_query(q, 0xa100, "5x10x3.stream.example.com.", TYPE_NULL);
	len += frame_query(q + len, 0xa101, "a.example.com.", RW_TYPE_A);
	int fd = connect_to(AF_INET, port);
	send_all(fd, q, len);
	for (uint32_t i = 0; i < 3; i++)
		recv_stream_msg(fd, 0xa100, i, 10);
	assert_true(closed_by_server(fd));
	close(fd);
}

struct stuck_stream {
	struct rwd_tcp *t2;
	int fd, s;                 /* the client, the server's end */
	size_t msg;                /* bytes of one framed message of the stream */
};

enum { S_COUNT = 300, S_SIZE = 8000 };

/* Bytes the server produced for x's stream that the kernel does not hold
 * (the client's receive queue, the server's send queue): what waits in the
 * server's memory (counting a message being produced, if one is). */
static size_t stream_waiting(const struct stuck_stream *x, unsigned *p)
{
	int inq = 0, outq = 0;
	*p = atomic_load(&produced);
	assert_int_equal(ioctl(x->fd, FIONREAD, &inq), 0);
	assert_int_equal(ioctl(x->s, SIOCOUTQ, &outq), 0);
	size_t kernel = (size_t)inq + (size_t)outq, made = *p * x->msg;
	return made > kernel ? made - kernel : 0;
}

/* The server's queue for x is full: its stream stops there. */
static bool stream_queue_full(intptr_t arg)
{
	unsigned p;
	return stream_waiting((const struct stuck_stream *)arg, &p) >= RWD_TCP_MAX_QUEUED;
}

/* A client that asks for a stream of S_COUNT messages of S_SIZE bytes (2.4
 * MB), and a plain query behind it, and reads nothing: small buffers on both
 * ends, so the server's end is soon stuck, then its queue full. */
static void stream_stuck(struct stuck_stream *x)
{
	static const char name[] = "300x8000.stream.example.com.";
	x->t2 = start_stream_server();
	x->fd = connect_to(AF_INET, rwd_tcp_port(x->t2, 0));
	int small = 4096;
	setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	x->s = server_end(x->fd);
	assert_int_equal(setsockopt(x->s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	uint8_t q[1500];
	size_t len = frame_query(q, 0xb000, name, TYPE_NULL);
	len += frame_query(q + len, 0xb001, "a.example.com.", RW_TYPE_A);
	/* prefix, header, question (name, type, class), the record, OPT */
	x->msg = 2 + RW_HDR_LEN + (strlen(name) + 1) + 4 + 12 + S_SIZE + 11;
	atomic_store(&produced, 0);
	send_all(x->fd, q, len);
	assert_true(wait_for(server_stuck, x->s, 3000));
	assert_true(wait_for(stream_queue_full, (intptr_t)x, 3000));
}

/* What waits in the server's memory for x's client: at most
 * RWD_TCP_MAX_QUEUED bytes and the message that crossed it; not the whole
 * stream. Returns the messages produced. */
static unsigned check_stream_bounded(const struct stuck_stream *x)
{
	unsigned p;
	size_t waiting = stream_waiting(x, &p);
	assert_true(p < S_COUNT);
	if (waiting > RWD_TCP_MAX_QUEUED + x->msg)
		fail_msg("%zu bytes of %u messages wait in the server", waiting, p);
	return p;
}

/* A stream to a client that does not read is produced only as far as the
 * bounded queue allows and stays there while the client does not read;
 * then resumed as the client reads: all S_COUNT messages arrive in order,
 * then the answer to the query behind it. */
static void test_stream_backpressure(void **state)
{
	struct stuck_stream x;
	stream_stuck(&x);
	unsigned p = check_stream_bounded(&x);
	poll(NULL, 0, 100);                         /* nothing may happen: the wait is the check */
	assert_int_equal(check_stream_bounded(&x), p);
	for (uint32_t i = 0; i < S_COUNT; i++)
		recv_stream_msg(x.fd, 0xb000, i, S_SIZE);
	uint8_t r[65535];
	size_t n = recv_msg(x.fd, r);
	check_answer(r, n, 0xb001, RW_RCODE_NOERROR, 1);
	assert_int_equal(atomic_load(&produced), S_COUNT);
	close(x.fd);
	rwd_tcp_stop(x.t2);
}

/* Stopping the server while a stream waits for its reader frees it (ASan:
 * no leak, no use after free). */
static void test_stream_stop(void **state)
{
	struct stuck_stream x;
	stream_stuck(&x);
	rwd_tcp_stop(x.t2);
	close(x.fd);
}

/* A snapshot published while a stream waits for its reader: the publication
 * does not wait for the stream (the TCP thread is offline between turns:
 * its grace period ends at once), and the stream is cut: the client gets
 * the messages produced from the old snapshot, then EOF; never one from the
 * new. A new stream is then served from the new snapshot. */
static void test_stream_cut_by_publish(void **state)
{
	struct stuck_stream x;
	stream_stuck(&x);
	unsigned p = atomic_load(&produced);
	uint64_t t0 = now_ms();
	assert_int_equal(publish(), 0);
	assert_true(now_ms() - t0 < 1000);
	uint32_t got = 0;
	for (;; got++) {
		static uint8_t m[65535];
		uint8_t pfx[2];
		size_t k = recv_all(x.fd, pfx, 2);
		if (k == 0)
			break;                              /* EOF, after whole messages */
		assert_int_equal(k, 2);
		size_t mlen = rw_get16(pfx);
		assert_int_equal(recv_all(x.fd, m, mlen), mlen);
		check_answer(m, mlen, 0xb000, RW_RCODE_NOERROR, 1);
		assert_int_equal(mlen, x.msg - 2);
		assert_int_equal(rw_get32(m + mlen - 11 - S_SIZE), got);   /* in order */
	}
	/* What was produced (it may have gone on a little after the client saw
	 * the server stuck, until its queue was full) arrived, nothing more. */
	assert_true(got >= p);
	assert_int_equal(atomic_load(&produced), got);
	assert_true(got < S_COUNT);
	close(x.fd);

	int fd = connect_to(AF_INET, rwd_tcp_port(x.t2, 0));
	uint8_t q[600];
	size_t len = frame_query(q, 0xb100, "3x10.stream.example.com.", TYPE_NULL);
	send_all(fd, q, len);
	for (uint32_t i = 0; i < 3; i++)
		recv_stream_msg(fd, 0xb100, i, 10);
	close(fd);
	rwd_tcp_stop(x.t2);
}

/* max_clients as the descriptors allow: lowered to what is left after the
 * descriptors open and reserved, never 0 (0 would mean no limit). */
static void test_clients_for_fds(void **state)
{
	assert_int_equal(rwd_tcp_clients_for_fds(1000, 1048576, 40, 300), 1000);
	assert_int_equal(rwd_tcp_clients_for_fds(1000, 1024, 40, 200), 784);
	assert_int_equal(rwd_tcp_clients_for_fds(1000, 256, 11, 170), 75);
	assert_int_equal(rwd_tcp_clients_for_fds(1000, 100, 40, 200), 1);
	assert_int_equal(rwd_tcp_clients_for_fds(1000, 240, 40, 200), 1);
	assert_int_equal(rwd_tcp_clients_for_fds(0, 1024, 24, 0), 1000);
	assert_int_equal(rwd_tcp_clients_for_fds(0, UINT64_MAX, 0, 0), UINT32_MAX);
}

int main(void)
{
	rwd_log_set_level(RWD_LOG_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_trickle),
		cmocka_unit_test(test_big_query),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_formerr_keeps_open),
		cmocka_unit_test(test_drop_closes),
		cmocka_unit_test(test_short_length_closes),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_max_clients),
		cmocka_unit_test(test_set_max_clients),
		cmocka_unit_test(test_max_per_client),
		cmocka_unit_test(test_io_timeout),
		cmocka_unit_test(test_ipv6_and_bind_error),
		cmocka_unit_test(test_stop_busy),
		cmocka_unit_test(test_clients_for_fds),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_broken),
		cmocka_unit_test(test_stream_backpressure),
		cmocka_unit_test(test_stream_stop),
		cmocka_unit_test(test_stream_cut_by_publish),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
