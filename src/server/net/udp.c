/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "server/common/log.h"
#include "server/dnstap/dnstap.h"
#include "server/net/udp.h"
#include "server/query/query.h"
#include "server/steer/eval.h"

#define BATCH 32
#define IN_MAX 4096                    /* larger UDP queries are dropped */
#define OUT_MAX (4096 + 512)           /* edns_udp_size <= 4096, plus question/OPT */
#define CMSG_MAX 64

struct worker {
	pthread_t thread;
	int fd;
	bool pktinfo;                      /* wildcard address: reply from the queried one */
	struct rwd_udp *udp;
	struct mmsghdr in_msg[BATCH], out_msg[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	struct sockaddr_storage peer[BATCH];
	uint8_t cmsg[BATCH][CMSG_MAX];
	uint8_t in[BATCH][IN_MAX];
	uint8_t out[BATCH][OUT_MAX];
	struct rwd_query_thread qthread;   /* randomness, geo cache, counters of this worker */
	struct rwd_query query;            /* reused: rwd_query_begin resets its state */
	struct rwd_geo_cache geo_cache;
	struct rwd_qstats stats;
	struct rwd_dnstap_queue *dnstap;   /* NULL: dnstap off */
	struct sockaddr_storage local;     /* the listen address, for dnstap */
};

struct rwd_udp {
	atomic_bool stop;
	uint64_t busy_poll_ns;             /* server.busy_poll; 0: sleep at once */
	size_t n_workers;
	struct worker **workers;
};

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int open_socket(const struct rw_sockaddr *l, bool *pktinfo)
{
	int one = 1, fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	int buf = 4 << 20;   /* absorb bursts; the kernel caps it at rmem_max */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	*pktinfo = is_wildcard(&l->addr);
	if (l->addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (*pktinfo)
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	} else if (*pktinfo) {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	/* Wake from recvmmsg() now and then so stop requests are seen even if
	 * shutdown() does not interrupt the call. */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The message headers, once: per query answer_batch sets only the peer, the
 * length and (pktinfo) the control data of a reply. */
static void prepare(struct worker *w)
{
	for (unsigned i = 0; i < BATCH; i++) {
		w->in_iov[i] = (struct iovec){ w->in[i], IN_MAX };
		w->in_msg[i].msg_hdr = (struct msghdr){
			.msg_name = &w->peer[i], .msg_namelen = sizeof(w->peer[i]),
			.msg_iov = &w->in_iov[i], .msg_iovlen = 1,
			.msg_control = w->pktinfo ? w->cmsg[i] : NULL,
			.msg_controllen = w->pktinfo ? CMSG_MAX : 0,
		};
		w->out_iov[i] = (struct iovec){ w->out[i], 0 };
		w->out_msg[i].msg_hdr = (struct msghdr){ .msg_iov = &w->out_iov[i], .msg_iovlen = 1 };
	}
	w->query = (struct rwd_query){
		.transport = &rwd_transport_udp, .out_cap = OUT_MAX, .thread = &w->qthread,
	};
}

/* Turn received packet info into the source for the reply (ifindex 0: route). */
static void reply_from(struct msghdr *out, const struct msghdr *in)
{
	out->msg_control = in->msg_control;
	out->msg_controllen = in->msg_controllen;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(out); c; c = CMSG_NXTHDR(out, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
			pi->ipi_spec_dst = pi->ipi_addr;
			pi->ipi_ifindex = 0;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_ifindex = 0;
		}
	}
}

/* The address a query on a wildcard socket was sent to (its packet info), with the port. */
static bool dest_of(const struct msghdr *in, const struct sockaddr_storage *listen,
                    struct sockaddr_storage *out)
{
	*out = *listen;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c; c = CMSG_NXTHDR((struct msghdr *)in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			((struct sockaddr_in *)out)->sin_addr =
				((const struct in_pktinfo *)CMSG_DATA(c))->ipi_addr;
			return true;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			((struct sockaddr_in6 *)out)->sin6_addr =
				((const struct in6_pktinfo *)CMSG_DATA(c))->ipi6_addr;
			return true;
		}
	}
	return false;
}

static void dnstap_log(struct worker *w, unsigned i, const uint8_t *out, size_t len,
                       const struct timespec *received)
{
	if (w->in_msg[i].msg_hdr.msg_namelen == 0)
		return;                    /* no datagram: recvmmsg woken by rwd_udp_stop's shutdown() */
	struct sockaddr_storage dest;
	const struct sockaddr *server = (const struct sockaddr *)&w->local;
	if (w->pktinfo && dest_of(&w->in_msg[i].msg_hdr, &w->local, &dest))
		server = (const struct sockaddr *)&dest;
	struct rwd_dnstap_msg m = {
		.client = (const struct sockaddr *)&w->peer[i], .server = server,
		.query_time = *received, .query = w->in[i], .query_len = w->in_msg[i].msg_len,
		.response = out, .response_len = len,
	};
	rwd_dnstap_log(w->dnstap, &m);
}

static unsigned answer_batch(struct worker *w, unsigned n, const struct timespec *received)
{
	const struct rwd_snapshot *s = rwd_snapshot_get();
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct msghdr *in = &w->in_msg[i].msg_hdr;
		if (in->msg_flags & MSG_TRUNC)
			continue;                  /* bigger than any sane query */
		struct rwd_query *qr = &w->query;   /* transport, out_cap, thread: prepare() */
		qr->wire = w->in[i];
		qr->wire_len = w->in_msg[i].msg_len;
		qr->client = (struct sockaddr *)&w->peer[i];
		qr->out = w->out[k];
		size_t len = rwd_query_process(s, qr);
		if (w->dnstap)
			dnstap_log(w, i, w->out[k], len, received);
		if (len == 0)
			continue;
		w->out_iov[k].iov_len = len;
		w->out_msg[k].msg_hdr.msg_name = &w->peer[i];
		w->out_msg[k].msg_hdr.msg_namelen = in->msg_namelen;
		if (w->pktinfo)
			reply_from(&w->out_msg[k].msg_hdr, in);
		k++;
	}
	return k;
}

static void send_batch(struct worker *w, unsigned k)
{
	for (unsigned sent = 0; sent < k;) {
		int r = sendmmsg(w->fd, w->out_msg + sent, k - sent, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			sent++;   /* skip the message that failed (e.g. unreachable peer) */
			continue;
		}
		sent += (unsigned)r;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_setname_np(pthread_self(), "rw-udp");   /* top -H, bench/xfr.py */
	w->qthread.rng = rwd_steer_seed();
	w->qthread.geo_cache = &w->geo_cache;
	w->qthread.stats = &w->stats;
	rwd_stats_register(&w->stats);
	rcu_register_thread();
	prepare(w);
	const uint64_t spin_ns = w->udp->busy_poll_ns;
	while (!atomic_load_explicit(&w->udp->stop, memory_order_relaxed)) {
		/* Offline while in recvmmsg(), which may block: a reload never
		 * waits for an idle worker. Going offline and online costs a few
		 * memory barriers; probing first with MSG_DONTWAIT cost an extra
		 * system call on most batches (measured: 1.77 recvmmsg per
		 * sendmmsg under dnsperf load), which is far dearer. */
		int n = -1;
		if (spin_ns) {
			/* server.busy_poll: after a batch, poll a little before
			 * sleeping. Under load the next queries arrive within
			 * microseconds, and a worker that sleeps pays a wake-up for
			 * every few of them (measured: 2-3 queries per wake-up when
			 * the load generator runs in another scheduling group). */
			uint64_t until = mono_ns() + spin_ns;
			do {
				n = recvmmsg(w->fd, w->in_msg, BATCH, MSG_DONTWAIT, NULL);
			} while (n <= 0 && mono_ns() < until);
		}
		if (n <= 0) {                  /* idle: sleep until a query comes */
			rcu_thread_offline();
			n = recvmmsg(w->fd, w->in_msg, BATCH, MSG_WAITFORONE, NULL);
			rcu_thread_online();
		}
		if (n <= 0)
			continue;
		w->qthread.now = rwd_query_clock();   /* one clock read per batch */
		w->qthread.health = rwd_health_get(); /* one health state per batch (RCU online) */
		struct timespec received = { 0 };
		if (w->dnstap)
			clock_gettime(CLOCK_REALTIME, &received);
		unsigned k = answer_batch(w, (unsigned)n, &received);
		send_batch(w, k);
		/* QSBR: holding no snapshot pointer now. Under a flood the worker
		 * never sleeps (nor goes offline), and without this a reload or an
		 * API change would wait in synchronize_rcu() for the flood to end. */
		rcu_quiescent_state();
		for (int i = 0; i < n; i++) {   /* recvmmsg wrote lengths and flags */
			w->in_msg[i].msg_hdr.msg_namelen = sizeof(w->peer[i]);
			w->in_msg[i].msg_hdr.msg_controllen = w->pktinfo ? CMSG_MAX : 0;
		}
	}
	rcu_unregister_thread();
	rwd_stats_unregister(&w->stats);
	return NULL;
}

void rwd_udp_stop(struct rwd_udp *u)
{
	if (u == NULL)
		return;
	atomic_store(&u->stop, true);
	for (size_t i = 0; i < u->n_workers; i++)
		if (u->workers[i])
			shutdown(u->workers[i]->fd, SHUT_RDWR);
	for (size_t i = 0; i < u->n_workers; i++) {
		struct worker *w = u->workers[i];
		if (w == NULL)
			continue;
		if (w->thread)
			pthread_join(w->thread, NULL);
		close(w->fd);
		free(w);
	}
	free(u->workers);
	free(u);
}

int rwd_udp_start(const struct rw_sockaddr *addrs, size_t n, unsigned workers,
                  unsigned busy_poll_us, struct rwd_dnstap *dnstap, struct rwd_udp **out)
{
	struct rwd_udp *u = calloc(1, sizeof(*u));
	if (u == NULL || (u->workers = calloc(n * workers, sizeof(*u->workers))) == NULL) {
		free(u);
		return RW_ENOMEM;
	}
	u->busy_poll_ns = (uint64_t)busy_poll_us * 1000u;
	for (size_t a = 0; a < n; a++) {
		for (unsigned k = 0; k < workers; k++) {
			struct worker *w = calloc(1, sizeof(*w));
			if (w == NULL) {
				rwd_udp_stop(u);
				return RW_ENOMEM;
			}
			w->udp = u;
			w->local = addrs[a].addr;
			w->dnstap = rwd_dnstap_queue_take(dnstap);
			w->fd = open_socket(&addrs[a], &w->pktinfo);
			if (w->fd < 0) {
				rwd_error("cannot listen on UDP %s: %s", addrs[a].text, strerror(-w->fd));
				free(w);
				rwd_udp_stop(u);
				return RW_EIO;
			}
			u->workers[u->n_workers++] = w;
		}
	}
	for (size_t i = 0; i < u->n_workers; i++) {
		int err = pthread_create(&u->workers[i]->thread, NULL, worker_main, u->workers[i]);
		if (err != 0) {
			u->workers[i]->thread = 0;
			rwd_error("cannot start a UDP worker: %s", strerror(err));
			rwd_udp_stop(u);
			return RW_ENOMEM;
		}
	}
	*out = u;
	return 0;
}
