/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The NOTIFY service (xfr/notify.c) against a stub secondary on loopback:
 * the message (opcode, AA, question, the SOA with the new serial, TSIG),
 * matching answers (id, question, source) and ignoring the rest, retries
 * with a doubling wait, a newer serial replacing a pending one, the bound
 * on pending exchanges, and the NS targets of notify_ns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
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

#include "testzone.h"

static struct rwd_snapshot snap;
static struct rwd_conf conf;
static struct rwd_conf_zone czone;
static struct rwd_server srv = { .conf = &conf };
static uint8_t apex[RW_DNAME_MAXLEN];

/* ns1 is the SOA MNAME; ns2 and ns3 have addresses in the zone; the target
 * in example.org. (served too) has one; the one outside is served nowhere. */
static const char *const ZONE =
	"$ORIGIN example.com.\n$TTL 300\n"
	"@ SOA ns1 hostmaster 5 7200 3600 1209600 600\n"
	"@ NS ns1\n@ NS ns2\n@ NS ns3\n@ NS ns.example.org.\n@ NS ns.elsewhere.test.\n"
	"ns1 A 127.0.0.11\nns2 A 127.0.0.12\nns2 AAAA ::1\nns3 A 127.0.0.13\n";
static const char *const ZONE_ORG =
	"$ORIGIN example.org.\n$TTL 300\n"
	"@ SOA ns hostmaster 1 7200 3600 1209600 600\n@ NS ns\nns A 127.0.0.14\n";

static int setup(void **state)
{
	rwd_log_set_level(RWD_LOG_WARNING);
	if (tz_mkdir("test_notify") < 0)
		return -1;
	struct rwd_zone **zones = calloc(2, sizeof(*zones));
	rw_dname_from_str("example.com.", NULL, apex);
	zones[0] = rwd_zone_load(apex, tz_write("com.zone", ZONE), NULL, NULL);
	uint8_t org[RW_DNAME_MAXLEN];
	rw_dname_from_str("example.org.", NULL, org);
	zones[1] = rwd_zone_load(org, tz_write("org.zone", ZONE_ORG), NULL, NULL);
	if (zones[0] == NULL || zones[1] == NULL)
		return -1;
	snap.zones = rwd_zonedb_new(zones, 2);
	rwd_snapshot_swap(&snap);
	memcpy(czone.dname, apex, rw_dname_len(apex));
	czone.name = "example.com.";
	conf.zones = &czone;
	conf.n_zones = 1;
	return snap.zones ? 0 : -1;
}

static int teardown(void **state)
{
	rwd_zonedb_free(snap.zones);
	return tz_rmdir();
}

/* ---- the stub secondary ---- */

struct stub {
	int fd;
	uint16_t port;
};

static void stub_open(struct stub *s)
{
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int on = 1;                     /* arrival times from the kernel (see stub_recv) */
	setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	socklen_t l = sizeof(sa);
	getsockname(s->fd, (struct sockaddr *)&sa, &l);
	s->port = ntohs(sa.sin_port);
}

struct got {
	uint8_t b[2048];
	size_t len;
	struct sockaddr_storage from;
	socklen_t from_len;
	uint64_t at_ms;
};

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The next NOTIFY within ms milliseconds: true, or false on timeout.
 * at_ms is when it arrived (the kernel's time, wall clock), not when this
 * thread got to it: on a busy machine the gaps would shrink or grow. */
static bool stub_recv(struct stub *s, struct got *g, int ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return false;
	struct iovec iov = { g->b, sizeof(g->b) };
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_name = &g->from, .msg_namelen = sizeof(g->from),
	                     .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
	                     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(s->fd, &mh, 0);
	assert_true(n > 0);
	g->len = (size_t)n;
	g->from_len = mh.msg_namelen;
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
			memcpy(&t, CMSG_DATA(c), sizeof(t));
	g->at_ms = (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
	return true;
}

/* Answer g with rcode (the question echoed), id changed by id_delta. */
static void stub_answer(struct stub *s, const struct got *g, int rcode, int id_delta)
{
	uint8_t a[1024];
	size_t qend = RW_HDR_LEN + rw_dname_len(g->b + RW_HDR_LEN) + 4;
	memcpy(a, g->b, qend);
	rw_put16(a, (uint16_t)(rw_get16(g->b) + id_delta));
	a[2] |= RW_FLAG_QR;
	a[3] = (uint8_t)rcode;
	rw_put16(a + RW_HDR_ANCOUNT, 0);
	rw_put16(a + RW_HDR_ARCOUNT, 0);
	assert_int_equal(sendto(s->fd, a, qend, 0, (const struct sockaddr *)&g->from, g->from_len),
	                 (ssize_t)qend);
}

/* The serial of the SOA in g's answer section (checked to be there). */
static uint32_t notify_serial(const struct got *g)
{
	size_t pos = RW_HDR_LEN + rw_dname_len(g->b + RW_HDR_LEN) + 4;
	assert_int_equal(rw_get16(g->b + pos), 0xc00c);
	assert_int_equal(rw_get16(g->b + pos + 2), RW_TYPE_SOA);
	assert_int_equal(rw_get16(g->b + pos + 4), RW_CLASS_IN);
	uint16_t rdlen = rw_get16(g->b + pos + 10);
	size_t end = pos + 12 + rdlen;
	assert_true(end <= g->len);
	return rw_get32(g->b + end - 20);
}

static void remote(struct rwd_conf_remote *r, uint16_t port)
{
	char text[64];
	snprintf(text, sizeof(text), "127.0.0.1:%u", port);
	memset(r, 0, sizeof(*r));
	assert_int_equal(rw_sockaddr_parse(text, 53, &r->addr), 0);
}

static struct rwd_notify *start(struct rwd_conf_remote *remotes, size_t n, unsigned retries,
                                unsigned timeout_ms)
{
	czone.notify = remotes;
	czone.n_notify = n;
	czone.notify_ns = false;
	conf.xfr.notify_retries = retries;
	conf.xfr.notify_timeout_ms = timeout_ms;
	struct rwd_notify *nt;
	assert_int_equal(rwd_notify_start(&srv, &nt), 0);
	return nt;
}

static struct rwd_notify_stats stats(struct rwd_notify *nt)
{
	struct rwd_notify_stats st;
	rwd_notify_get_stats(nt, &st);
	return st;
}

/* Wait (bounded) until the service has counted what want asks. */
static void wait_stats(struct rwd_notify *nt, uint64_t answered, uint64_t failed)
{
	for (int i = 0; i < 300; i++) {
		struct rwd_notify_stats st = stats(nt);
		if (st.answered == answered && st.failed == failed)
			return;
		usleep(10000);
	}
	struct rwd_notify_stats st = stats(nt);
	fail_msg("answered %llu failed %llu, want %llu %llu", (unsigned long long)st.answered,
	         (unsigned long long)st.failed, (unsigned long long)answered,
	         (unsigned long long)failed);
}

/* ---- tests ---- */

static void test_message_and_answer(void **state)
{
	struct stub s;
	stub_open(&s);
	struct rwd_conf_remote r;
	remote(&r, s.port);
	struct rwd_notify *nt = start(&r, 1, 2, 2000);
	rwd_notify_zone_serial(nt, NULL, apex, 2024120701);
	struct got g;
	assert_true(stub_recv(&s, &g, 2000));
	/* header: a query, opcode NOTIFY, AA, one question, one answer */
	assert_int_equal(g.b[2], (RW_OPCODE_NOTIFY << 3) | RW_FLAG_AA);
	assert_int_equal(g.b[3], 0);
	assert_int_equal(rw_get16(g.b + RW_HDR_QDCOUNT), 1);
	assert_int_equal(rw_get16(g.b + RW_HDR_ANCOUNT), 1);
	assert_int_equal(rw_get16(g.b + RW_HDR_NSCOUNT), 0);
	assert_int_equal(rw_get16(g.b + RW_HDR_ARCOUNT), 0);
	size_t alen = rw_dname_len(apex);
	assert_memory_equal(g.b + RW_HDR_LEN, apex, alen);
	assert_int_equal(rw_get16(g.b + RW_HDR_LEN + alen), RW_TYPE_SOA);
	assert_int_equal(rw_get16(g.b + RW_HDR_LEN + alen + 2), RW_CLASS_IN);
	assert_int_equal(notify_serial(&g), 2024120701);
	size_t soa = RW_HDR_LEN + alen + 4;
	assert_int_equal(rw_get32(g.b + soa + 6), 300);                 /* the SOA's TTL */
	assert_int_equal(rw_get32(g.b + g.len - 4), 600);               /* its minimum */
	assert_int_equal(g.len, soa + 12 + rw_get16(g.b + soa + 10));   /* nothing else */

	/* answers that do not match are ignored: another id, another source
	 * port, another zone in the question */
	stub_answer(&s, &g, RW_RCODE_NOERROR, 1);
	struct stub other;
	stub_open(&other);
	stub_answer(&other, &g, RW_RCODE_NOERROR, 0);
	struct got wrong = g;
	memcpy(wrong.b + RW_HDR_LEN + 1, "elpmaxe", 7);
	stub_answer(&s, &wrong, RW_RCODE_NOERROR, 0);
	usleep(100000);
	struct rwd_notify_stats st = stats(nt);
	assert_int_equal(st.answered, 0);
	assert_int_equal(st.pending, 1);
	/* the right one ends it, in any letter case */
	struct got upper = g;
	upper.b[RW_HDR_LEN + 1] = 'E';
	stub_answer(&s, &upper, RW_RCODE_NOERROR, 0);
	wait_stats(nt, 1, 0);
	st = stats(nt);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.pending, 0);
	assert_false(stub_recv(&s, &g, 300));          /* no retry after the answer */
	rwd_notify_stop(nt);
	close(s.fd);
	close(other.fd);
}

static void test_refused(void **state)
{
	struct stub s;
	stub_open(&s);
	struct rwd_conf_remote r;
	remote(&r, s.port);
	struct rwd_notify *nt = start(&r, 1, 3, 2000);
	rwd_notify_zone_serial(nt, NULL, apex, 6);
	struct got g;
	assert_true(stub_recv(&s, &g, 2000));
	stub_answer(&s, &g, RW_RCODE_REFUSED, 0);
	wait_stats(nt, 0, 1);
	assert_false(stub_recv(&s, &g, 300));          /* a refusal is final */
	rwd_notify_stop(nt);
	close(s.fd);
}

/* notify_retries + 1 tries, each wait twice the last, then it gives up. */
static void test_retries_backoff(void **state)
{
	struct stub s;
	stub_open(&s);
	struct rwd_conf_remote r;
	remote(&r, s.port);
	struct rwd_notify *nt = start(&r, 1, 3, 100);
	rwd_notify_zone_serial(nt, NULL, apex, 7);
	struct got g[4];
	for (int i = 0; i < 4; i++) {
		assert_true(stub_recv(&s, &g[i], 3000));
		assert_int_equal(notify_serial(&g[i]), 7);
	}
	/* waits of 100, 200, 400 ms: loosely, each more than 1.5 times the last */
	uint64_t gap[3];
	for (int i = 0; i < 3; i++)
		gap[i] = g[i + 1].at_ms - g[i].at_ms;
	assert_true(gap[0] >= 90);
	assert_true(gap[1] * 2 >= gap[0] * 3);
	assert_true(gap[2] * 2 >= gap[1] * 3);
	/* the same message each try (as BIND resends it) */
	for (int i = 1; i < 4; i++) {
		assert_int_equal(g[i].len, g[0].len);
		assert_memory_equal(g[i].b, g[0].b, g[0].len);
	}
	wait_stats(nt, 0, 1);
	struct got more;
	assert_false(stub_recv(&s, &more, 200));
	struct rwd_notify_stats st = stats(nt);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.pending, 0);
	rwd_notify_stop(nt);
	close(s.fd);
}

/* A newer serial replaces the pending exchange; the old one's answer does
 * not end the new one. */
static void test_coalesce(void **state)
{
	struct stub s;
	stub_open(&s);
	struct rwd_conf_remote r;
	remote(&r, s.port);
	struct rwd_notify *nt = start(&r, 1, 5, 5000);
	rwd_notify_zone_serial(nt, NULL, apex, 10);
	struct got g1;
	assert_true(stub_recv(&s, &g1, 2000));
	assert_int_equal(notify_serial(&g1), 10);
	rwd_notify_zone_serial(nt, NULL, apex, 11);
	struct rwd_notify_stats st = stats(nt);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.superseded, 1);
	struct got g2;
	assert_true(stub_recv(&s, &g2, 2000));
	assert_int_equal(notify_serial(&g2), 11);
	stub_answer(&s, &g1, RW_RCODE_NOERROR, 0);       /* late, for serial 10 */
	usleep(100000);
	assert_int_equal(stats(nt).answered, 0);
	stub_answer(&s, &g2, RW_RCODE_NOERROR, 0);
	wait_stats(nt, 1, 0);
	assert_int_equal(stats(nt).pending, 0);
	rwd_notify_stop(nt);
	close(s.fd);
}

/* Past RWD_NOTIFY_MAX_PENDING exchanges the oldest are dropped. */
static void test_bound(void **state)
{
	size_t n = RWD_NOTIFY_MAX_PENDING + 3;
	struct rwd_conf_remote *rs = calloc(n, sizeof(*rs));
	assert_non_null(rs);
	for (size_t i = 0; i < n; i++)
		remote(&rs[i], (uint16_t)(20000 + i));     /* nobody answers there */
	struct rwd_notify *nt = start(rs, n, 0, 60000);
	uint64_t t0 = now_ms();
	rwd_notify_zone_serial(nt, NULL, apex, 12);
	uint64_t queued = now_ms() - t0;
	struct rwd_notify_stats st = stats(nt);
	assert_int_equal(st.pending, RWD_NOTIFY_MAX_PENDING);
	assert_int_equal(st.failed, 3);
	/* all sent, in batches of a loop turn each (bounded wait) */
	for (int i = 0; i < 1000 && stats(nt).sent < RWD_NOTIFY_MAX_PENDING; i++)
		usleep(10000);
	assert_int_equal(stats(nt).sent, RWD_NOTIFY_MAX_PENDING);
	print_message("%u NOTIFYs queued in %llu ms, all sent after %llu ms\n",
	              RWD_NOTIFY_MAX_PENDING, (unsigned long long)queued,
	              (unsigned long long)(now_ms() - t0));
	/* the same again: the 3 dropped come back, the oldest make room again
	 * (with more remotes than the bound, each change rotates them) */
	rwd_notify_zone_serial(nt, NULL, apex, 13);
	st = stats(nt);
	assert_int_equal(st.pending, RWD_NOTIFY_MAX_PENDING);
	rwd_notify_stop(nt);
	free(rs);
}

/* notify_ns: the NS targets' addresses found in served zones, not the SOA
 * MNAME's, not a target served nowhere, not one already configured. */
static void test_notify_ns(void **state)
{
	struct rwd_conf_remote r;
	remote(&r, 53);
	inet_pton(AF_INET, "127.0.0.13", &((struct sockaddr_in *)&r.addr.addr)->sin_addr);
	struct rwd_notify *nt = start(&r, 1, 0, 60000);
	czone.notify_ns = true;
	rwd_notify_zone_serial(nt, NULL, apex, 14);
	/* 127.0.0.13:53 (configured), 127.0.0.12:53, [::1]:53, 127.0.0.14:53 */
	assert_int_equal(stats(nt).pending, 4);
	czone.notify_ns = false;
	rwd_notify_stop(nt);
}

/* Zones without remotes, and zones not in the configuration: nothing. */
static void test_nothing_to_do(void **state)
{
	struct rwd_notify *nt = start(NULL, 0, 0, 1000);
	rwd_notify_zone_serial(nt, NULL, apex, 15);
	uint8_t org[RW_DNAME_MAXLEN];
	rw_dname_from_str("example.org.", NULL, org);
	rwd_notify_zone_serial(nt, NULL, org, 15);
	rwd_notify_zone_serial(nt, "a-view", apex, 15);
	rwd_notify_snapshot(nt, &snap);
	struct rwd_notify_stats st = stats(nt);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.sent, 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	rwd_notify_metrics(NULL, f);                   /* the running service */
	fclose(f);
	assert_non_null(strstr(text, "\nrunway_notify_sent_total 0\n"));
	assert_non_null(strstr(text, "\nrunway_notify_pending 0\n"));
	free(text);
	rwd_notify_stop(nt);
	f = open_memstream(&text, &len);
	rwd_notify_metrics(NULL, f);                   /* none runs: nothing */
	fclose(f);
	assert_int_equal(len, 0);
	free(text);
}

/* With a key: the NOTIFY is signed, the answer must be signed by the same
 * key; an unsigned answer is a TSIG failure. */
static void test_tsig(void **state)
{
	static uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
	struct rwd_conf_tsig_key ck = { .name = "xfr.", .algorithm = "hmac-sha256",
	                                .secret = secret, .secret_len = sizeof(secret) };
	rw_dname_from_str("xfr.", NULL, ck.dname);
	struct rwd_tsig_keyring kr = { 0 };
	assert_int_equal(rwd_tsig_keyring_add(&kr, ck.dname, "hmac-sha256", secret,
	                                      sizeof(secret)), 0);
	struct stub s;
	stub_open(&s);
	struct rwd_conf_remote r;
	remote(&r, s.port);
	r.key = &ck;
	struct rwd_notify *nt = start(&r, 1, 1, 2000);

	for (int round = 0; round < 2; round++) {
		rwd_notify_zone_serial(nt, NULL, apex, 20 + (uint32_t)round);
		struct got g;
		assert_true(stub_recv(&s, &g, 2000));
		assert_int_equal(rw_get16(g.b + RW_HDR_ARCOUNT), 1);
		struct rwd_tsig_rr rr;
		assert_int_equal(rwd_tsig_find(g.b, g.len, &rr), 0);
		struct rwd_tsig_ctx ctx = { 0 };
		assert_int_equal(rwd_tsig_server_check(&kr, g.b, g.len, &rr, (uint64_t)time(NULL),
		                                       &ctx), 0);
		assert_ptr_equal(ctx.key, &kr.keys[0]);
		if (round == 0) {
			/* a signed answer */
			uint8_t a[1024];
			size_t len = RW_HDR_LEN + rw_dname_len(apex) + 4;
			memcpy(a, g.b, len);
			a[2] |= RW_FLAG_QR;
			rw_put16(a + RW_HDR_ANCOUNT, 0);
			rw_put16(a + RW_HDR_ARCOUNT, 0);
			assert_int_equal(rwd_tsig_sign_answer(&ctx, a, &len, sizeof(a),
			                                      (uint64_t)time(NULL)), 0);
			assert_int_equal(sendto(s.fd, a, len, 0, (struct sockaddr *)&g.from, g.from_len),
			                 (ssize_t)len);
			wait_stats(nt, 1, 0);
		} else {
			stub_answer(&s, &g, RW_RCODE_NOERROR, 0);   /* unsigned */
			wait_stats(nt, 1, 1);
		}
		rwd_tsig_ctx_clear(&ctx);
	}
	rwd_notify_stop(nt);
	rwd_tsig_keyring_free(&kr);
	close(s.fd);
}

/* A view's own zone is notified apart from the top level's zone of the same
 * name (its own exchange, its own SOA), even to the same remote. */
static void test_views(void **state)
{
	struct stub s;
	stub_open(&s);
	struct rwd_conf_remote r;
	remote(&r, s.port);
	struct rwd_notify *nt = start(&r, 1, 2, 2000);
	struct rwd_conf_zone zones[2] = { czone, czone };
	zones[1].view = "inside";
	conf.zones = zones;
	conf.n_zones = 2;
	struct rwd_zone **vz = calloc(1, sizeof(*vz));
	vz[0] = rwd_zone_load(apex, tz_write("inside.zone",
	                                     "$ORIGIN example.com.\n$TTL 120\n"
	                                     "@ SOA ns1 hostmaster 5 7200 3600 1209600 60\n"
	                                     "@ NS ns1\nns1 A 127.0.0.11\n"), NULL, NULL);
	assert_non_null(vz[0]);
	struct rwd_view view = { .name = "inside", .zones = rwd_zonedb_new(vz, 1), .n_own = 1 };
	snap.views = &view;
	snap.n_views = 1;

	rwd_notify_zone_serial(nt, NULL, apex, 30);
	rwd_notify_zone_serial(nt, "inside", apex, 31);
	assert_int_equal(stats(nt).pending, 2);
	assert_int_equal(stats(nt).superseded, 0);
	bool seen[2] = { false, false };
	for (int i = 0; i < 2; i++) {
		struct got g;
		assert_true(stub_recv(&s, &g, 2000));
		uint32_t serial = notify_serial(&g);
		size_t soa = RW_HDR_LEN + rw_dname_len(apex) + 4;
		/* the top level's zone has TTL 300, the view's 120 */
		assert_int_equal(rw_get32(g.b + soa + 6), serial == 31 ? 120 : 300);
		seen[serial - 30] = true;
		stub_answer(&s, &g, RW_RCODE_NOERROR, 0);
	}
	assert_true(seen[0] && seen[1]);
	wait_stats(nt, 2, 0);
	/* rwd_notify_snapshot: every zone, the view's own included */
	rwd_notify_snapshot(nt, &snap);
	assert_int_equal(stats(nt).pending, 2);
	rwd_notify_stop(nt);
	snap.views = NULL;
	snap.n_views = 0;
	rwd_zonedb_free(view.zones);
	conf.zones = &czone;
	conf.n_zones = 1;
	close(s.fd);
}

/* An IPv6 remote: the IPv6 socket, opened on first use. */
static void test_ipv6(void **state)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		skip();                                  /* no ::1 here */
	}
	socklen_t l = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &l);
	struct stub s = { .fd = fd, .port = ntohs(sa.sin6_port) };
	char text[64];
	snprintf(text, sizeof(text), "[::1]:%u", s.port);
	struct rwd_conf_remote r = { 0 };
	assert_int_equal(rw_sockaddr_parse(text, 53, &r.addr), 0);
	struct rwd_notify *nt = start(&r, 1, 2, 2000);
	rwd_notify_zone_serial(nt, NULL, apex, 40);
	struct got g;
	assert_true(stub_recv(&s, &g, 2000));
	assert_int_equal(notify_serial(&g), 40);
	assert_int_equal(g.from.ss_family, AF_INET6);
	stub_answer(&s, &g, RW_RCODE_NOERROR, 0);
	wait_stats(nt, 1, 0);
	rwd_notify_stop(nt);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_and_answer),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_retries_backoff),
		cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_notify_ns),
		cmocka_unit_test(test_nothing_to_do),
		cmocka_unit_test(test_tsig),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_ipv6),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
