/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The secondary side (secondary.h).
 *
 * The loop thread owns the zones (struct sec_zone): their timers, the
 * queue of those waiting for a transfer slot, and every field status()
 * shows, which it writes under svc->lock (status reads them from the API
 * thread). A refresh is a job on a thread of its own (struct job): it gets
 * copies of what it needs (primaries, keys, limits, the file), reads the
 * served version under the control lock, talks to the primaries with
 * blocking sockets (every wait a poll() that the stop eventfd also ends),
 * builds and installs the new version, writes the file, and hands its
 * result back to the loop through the done list and the uv_async.
 *
 * Times: refresh, retry and expire are wall-clock seconds (expire counts
 * from the last successful refresh, which the file's mtime keeps across
 * restarts: it is touched on each successful SOA check).
 *
 * NOTIFY arrives on the query path (the notify stage, any thread) through
 * the snapshot's sink: notify_sink() takes a free slot of a fixed array
 * with one compare-and-swap, fills it, marks it ready and wakes the loop
 * (uv_async_send: a write to an eventfd, async-signal-safe, coalescing).
 * No lock, no allocation; with every slot taken the NOTIFY is dropped
 * (the primary retries it, and the refresh timer runs anyway).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <libknot/libknot.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/common/log.h"
#include "server/common/tsig.h"
#include "server/conf/conf.h"
#include "server/control/control.h"
#include "server/daemon/server.h"
#include "server/snapshot/snapshot.h"
#include "server/xfr/secondary.h"
#include "server/xfr/xfrin.h"
#include "server/zone/history.h"
#include "server/zone/source.h"

#define NOTIFY_SLOTS 256
#define ERRLEN 256

/* ---- copies of the configuration ---- */

struct sec_primary {
	struct rw_sockaddr addr;
	bool keyed;
	uint8_t key_name[255];
	char alg[32];
	uint8_t *secret;
	size_t secret_len;
};

/* What a zone's refreshes need from the configuration (copied: the
 * configuration is replaced at reload while a job runs). */
struct sec_conf {
	char *view;                    /* NULL: top level */
	char *file;
	struct sec_primary *primaries;
	size_t n_primaries;
	uint32_t refresh_min, refresh_max, retry_min, retry_max, expire_min, expire_max;
	struct rwd_xfrin_limits lim;
	unsigned timeout_ms, io_timeout_ms;
	struct rwd_zone_limits zlimits;
};

static void conf_free(struct sec_conf *c)
{
	for (size_t i = 0; i < c->n_primaries; i++)
		free(c->primaries[i].secret);
	free(c->primaries);
	free(c->view);
	free(c->file);
	memset(c, 0, sizeof(*c));
}

static int conf_copy(struct sec_conf *out, const struct rwd_conf *conf,
                     const struct rwd_conf_zone *cz, const char *view)
{
	memset(out, 0, sizeof(*out));
	out->view = view ? strdup(view) : NULL;
	out->file = strdup(cz->file ? cz->file : "");
	out->primaries = calloc(cz->n_primaries ? cz->n_primaries : 1, sizeof(*out->primaries));
	if ((view && out->view == NULL) || out->file == NULL || out->primaries == NULL) {
		conf_free(out);
		return RW_ENOMEM;
	}
	out->n_primaries = cz->n_primaries;
	for (size_t i = 0; i < cz->n_primaries; i++) {
		struct sec_primary *p = &out->primaries[i];
		p->addr = cz->primaries[i].addr;
		const struct rwd_conf_tsig_key *k = cz->primaries[i].key;
		if (k == NULL)
			continue;
		p->keyed = true;
		memcpy(p->key_name, k->dname, rw_dname_len(k->dname));
		snprintf(p->alg, sizeof(p->alg), "%s", k->algorithm ? k->algorithm : "");
		p->secret = malloc(k->secret_len ? k->secret_len : 1);
		if (p->secret == NULL) {
			conf_free(out);
			return RW_ENOMEM;
		}
		memcpy(p->secret, k->secret, k->secret_len);
		p->secret_len = k->secret_len;
	}
	/* Defaults as conf.h says, for configurations built by hand. */
	out->refresh_min = cz->refresh_min ? cz->refresh_min : 2;
	out->refresh_max = cz->refresh_max ? cz->refresh_max : 86400;
	out->retry_min = cz->retry_min ? cz->retry_min : 2;
	out->retry_max = cz->retry_max ? cz->retry_max : 86400;
	out->expire_min = cz->expire_min ? cz->expire_min : 3600;
	out->expire_max = cz->expire_max ? cz->expire_max : 1209600;
	const struct rwd_conf_xfr *x = &conf->xfr;
	out->lim = (struct rwd_xfrin_limits){ .max_records = x->max_records,
	                                      .max_bytes = x->max_bytes,
	                                      .max_messages = x->max_messages };
	out->timeout_ms = x->timeout_ms ? x->timeout_ms : 300000;
	out->io_timeout_ms = x->io_timeout_ms ? x->io_timeout_ms : 10000;
	out->zlimits = conf->zone_limits;
	return 0;
}

static int conf_dup(struct sec_conf *out, const struct sec_conf *in)
{
	*out = *in;
	out->view = in->view ? strdup(in->view) : NULL;
	out->file = strdup(in->file);
	out->primaries = calloc(in->n_primaries ? in->n_primaries : 1, sizeof(*out->primaries));
	bool oom = (in->view && out->view == NULL) || out->file == NULL || out->primaries == NULL;
	for (size_t i = 0; !oom && i < in->n_primaries; i++) {
		out->primaries[i] = in->primaries[i];
		out->primaries[i].secret = NULL;
		if (in->primaries[i].keyed) {
			out->primaries[i].secret = malloc(in->primaries[i].secret_len + 1);
			if (out->primaries[i].secret == NULL)
				oom = true;
			else
				memcpy(out->primaries[i].secret, in->primaries[i].secret,
				       in->primaries[i].secret_len);
		}
	}
	if (oom) {
		conf_free(out);
		return RW_ENOMEM;
	}
	return 0;
}

/* ---- state ---- */

enum run_state { RUN_IDLE, RUN_QUEUED, RUN_RUNNING };

struct job;

struct sec_zone {
	struct rwd_secondary *svc;
	struct sec_zone *next;         /* svc->zones, in configuration order */
	struct sec_zone *queue_next;   /* svc->queue */
	uint8_t apex[255];
	size_t apex_len;
	char name[RW_DNAME_MAXLEN * 4 + 1];
	struct sec_conf conf;
	bool seen;                     /* reload: still configured */
	bool removed;                  /* gone from the configuration while a job ran */
	uv_timer_t timer;
	enum run_state run;
	struct job *job;               /* while RUN_RUNNING (status reads its phase) */
	bool want_refresh, want_retransfer;
	/* Timers, wall-clock seconds. */
	int64_t last_refresh, next_refresh, expire_at;
	unsigned bootstrap_failures;   /* in a row, while nothing was ever transferred */
	/* Status. */
	bool loaded, expired;
	uint32_t serial;
	char primary[64];
	char last_error[ERRLEN];
	const char *last_kind;
	int64_t last_transfer;
	uint64_t last_bytes, last_records, last_messages;
	uint32_t last_duration_ms;
	uint64_t refreshes, refresh_failures, axfr, ixfr, transfer_failures, notifies, expiries;
};

struct notify_slot {
	int state;                     /* 0 free, 1 being written, 2 ready (atomic) */
	uint32_t view;
	uint8_t apex[255];
};

struct rwd_secondary {
	struct rwd_server *srv;
	struct rwd_control *ctl;
	pthread_mutex_t lock;          /* the zones' status fields, requests, done jobs */
	uv_loop_t loop;
	uv_async_t async;
	uv_thread_t thread;
	bool started, stopping;        /* stopping: under lock */
	int stop_fd;                   /* eventfd: readable once stopping (ends every job's waits) */
	struct sec_zone *zones;
	struct sec_zone *queue, *queue_tail;
	unsigned running, max_in;
	char **views;                  /* view names in configuration order (NOTIFY's index) */
	size_t n_views;
	bool reload;                   /* requests, under lock */
	struct request {
		struct request *next;
		char *view;
		uint8_t apex[255];
		bool retransfer;
	} *requests;
	struct job *done;              /* finished jobs, under lock */
	/* The file writer: versions to write to their zone files, off the
	 * refresh path (a 1M-record zone takes about a second to print), the
	 * newest per file only. */
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	struct pending_write {
		struct pending_write *next;
		char *path;
		char *name;
		struct rwd_zone *z;
	} *writes;
	bool wstop, writer_started;
	bool writing;                  /* a write is in progress (under wlock) */
	pthread_t writer;
	struct notify_slot notify[NOTIFY_SLOTS];
};

struct job {
	struct job *next;
	struct rwd_secondary *svc;
	struct sec_zone *z;            /* the loop's; the job never touches it */
	uv_thread_t thread;
	/* In. */
	uint8_t apex[255];
	size_t apex_len;
	char name[RW_DNAME_MAXLEN * 4 + 80];   /* "example.com. in view NAME" */
	struct sec_conf conf;
	bool retransfer;
	bool transferring;             /* past the SOA query (atomic: status reads it) */
	/* Out. */
	bool soa_ok;                   /* a primary answered the SOA query */
	char primary[64];
	uint32_t primary_serial;
	bool have_edns_expire;
	uint32_t edns_expire;
	bool have_soa;                 /* the served SOA's timers after the job */
	uint32_t refresh, retry, expire;
	bool loaded;                   /* a version (not a placeholder) is served */
	uint32_t serial;
	bool transferred;
	const char *kind;
	uint64_t bytes, records, messages;
	uint32_t duration_ms;
	const char *applied;           /* IXFR: "patched" or "rebuilt" (zone.h) */
	bool transfer_failed;
	char error[ERRLEN];
	int64_t finished;
};

static int64_t wall(void) { return (int64_t)time(NULL); }

static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void set_error(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, ERRLEN, fmt, ap);
	va_end(ap);
}

/* ---- the served version (under the control lock) ---- */

/* The zone served at apex in view, with a reference; NULL: none. */
static struct rwd_zone *served_ref(struct rwd_secondary *svc, const char *view,
                                   const uint8_t *apex, size_t len)
{
	rwd_control_read_lock(svc->ctl);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	struct rwd_zone *z = NULL;
	if (s) {
		const struct rwd_zonedb *db = s->zones;
		if (view) {
			const struct rwd_view *v = rwd_snapshot_view(s, view);
			db = v ? v->zones : NULL;
		}
		z = db ? rwd_zonedb_get(db, apex, len) : NULL;
		if (z)
			rwd_zone_ref(z);
	}
	rwd_control_read_unlock(svc->ctl);
	return z;
}

/* The served version's expire_at (EDNS EXPIRE in our answers). */
static void served_set_expire(struct rwd_secondary *svc, const char *view, const uint8_t *apex,
                              size_t len, int64_t at)
{
	struct rwd_zone *z = served_ref(svc, view, apex, len);
	if (z) {
		__atomic_store_n(&z->expire_at, (uint32_t)at, __ATOMIC_RELAXED);
		rwd_zone_free(z);
	}
}

static bool soa_timers(const struct rwd_zone *z, uint32_t *serial, uint32_t *refresh,
                       uint32_t *retry, uint32_t *expire)
{
	if (z == NULL || z->failed || rwd_zone_is_placeholder(z))
		return false;
	const struct rwd_rrset *soa = rwd_node_rrset(z->apex, RW_TYPE_SOA);
	if (soa == NULL)
		return false;
	const uint8_t *p = rwd_soa_serial(soa);
	*serial = rw_get32(p);
	*refresh = rw_get32(p + 4);
	*retry = rw_get32(p + 8);
	*expire = rw_get32(p + 12);
	return true;
}

/* ---- blocking I/O for jobs: every wait ends at a deadline or at stop ---- */

static int wait_fd(struct job *j, int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return RW_ETIMEOUT;
		struct pollfd p[2] = { { .fd = fd, .events = events },
		                       { .fd = j->svc->stop_fd, .events = POLLIN } };
		int r = poll(p, 2, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return RW_EIO;
		if (p[1].revents)
			return RW_EIO;           /* stopping */
		if (p[0].revents)
			return 0;
	}
}

static int tcp_connect(struct job *j, const struct rw_sockaddr *a, uint64_t deadline)
{
	int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return RW_EIO;
	if (connect(fd, (const struct sockaddr *)&a->addr, a->addr_len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return RW_EIO;
	}
	int ret = wait_fd(j, fd, POLLOUT, deadline), err = 0;
	socklen_t len = sizeof(err);
	if (ret == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0))
		ret = RW_EIO;
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

static int send_all(struct job *j, int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			int ret = wait_fd(j, fd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		if (w <= 0)
			return RW_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes: each wait at most io_ms, all before deadline. */
static int recv_all(struct job *j, int fd, uint8_t *p, size_t n, unsigned io_ms, uint64_t deadline)
{
	while (n > 0) {
		uint64_t io = mono_ms() + io_ms;
		int ret = wait_fd(j, fd, POLLIN, io < deadline ? io : deadline);
		if (ret < 0)
			return ret;
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			return RW_EIO;
		if (r == 0)
			return RW_EMALFORMED;    /* closed early */
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One framed message (RFC 1035 4.2.2) into buf (64 KiB); its length or < 0. */
static int tcp_read_msg(struct job *j, int fd, uint8_t *buf, unsigned io_ms, uint64_t deadline)
{
	uint8_t l[2];
	int ret = recv_all(j, fd, l, 2, io_ms, deadline);
	if (ret < 0)
		return ret;
	size_t n = rw_get16(l);
	if (n < 12)
		return RW_EMALFORMED;
	ret = recv_all(j, fd, buf, n, io_ms, deadline);
	return ret < 0 ? ret : (int)n;
}

static const char *io_error(int ret)
{
	switch (ret) {
	case RW_ETIMEOUT: return "timed out";
	case RW_EMALFORMED: return "connection closed early";
	default: return rw_strerror(ret);
	}
}

/* The name of a TSIG error (RFC 8945 5.2), for messages. */
static const char *tsig_error(uint16_t e)
{
	switch (e) {
	case RWD_TSIG_BADSIG: return "BADSIG";
	case RWD_TSIG_BADKEY: return "BADKEY";
	case RWD_TSIG_BADTIME: return "BADTIME";
	case RWD_TSIG_BADTRUNC: return "BADTRUNC";
	case 0: return "unsigned or not verified";
	default: return "error";
	}
}

/* ---- queries ---- */

static uint16_t random_id(void)
{
	uint16_t id;
	if (getentropy(&id, sizeof(id)) != 0)
		id = (uint16_t)(mono_ms() * 2654435761u);
	return id;
}

/* A query for apex (qtype), with an authority SOA record (IXFR: ours) and
 * an OPT asking for EDNS EXPIRE (edns). Its length. */
static size_t build_query(uint8_t *buf, uint16_t id, const uint8_t *apex, size_t apex_len,
                          uint16_t qtype, const uint8_t *soa_rr, size_t soa_rr_len, bool edns)
{
	memset(buf, 0, 12);
	rw_put16(buf, id);
	rw_put16(buf + 4, 1);
	rw_put16(buf + 8, soa_rr ? 1 : 0);
	rw_put16(buf + 10, edns ? 1 : 0);
	size_t n = 12;
	memcpy(buf + n, apex, apex_len);
	n += apex_len;
	rw_put16(buf + n, qtype);
	rw_put16(buf + n + 2, RW_CLASS_IN);
	n += 4;
	if (soa_rr) {
		memcpy(buf + n, soa_rr, soa_rr_len);
		n += soa_rr_len;
	}
	if (edns) {                        /* RFC 7314: an empty EXPIRE option asks for it */
		static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 4, 0, 9, 0, 0 };
		memcpy(buf + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

/* A key for primary p (the job's own keyring). */
static const struct rwd_tsig_key *job_key(struct rwd_tsig_keyring *kr, const struct sec_primary *p)
{
	if (!p->keyed)
		return NULL;
	if (rwd_tsig_keyring_add(kr, p->key_name, p->alg, p->secret, p->secret_len) < 0)
		return NULL;
	return rwd_tsig_keyring_find(kr, p->key_name, rw_dname_len(p->key_name));
}

/* The answer to our SOA query: its serial and EDNS EXPIRE. 0, 1 (TC: ask
 * over TCP), or < 0 with err set. */
static int soa_answer(struct job *j, struct rwd_tsig_ctx *tctx, const uint8_t *msg, size_t len,
                      uint16_t id, char *err)
{
	if (len < 12 || rw_get16(msg) != id || !(msg[2] & 0x80)) {
		set_error(err, "an answer that is not ours");
		return RW_EMALFORMED;
	}
	if (msg[2] & 0x02)
		return 1;
	if (tctx->key && rwd_tsig_client_check(tctx, msg, len, true) < 0) {
		set_error(err, "TSIG check of the SOA answer failed: %s (%u)", tsig_error(tctx->error),
		          tctx->error);
		return RW_EAUTH;
	}
	uint8_t rcode = msg[3] & 0x0f;
	if (rcode != 0) {
		const knot_lookup_t *l = knot_lookup_by_id(knot_rcode_names, rcode);
		set_error(err, "SOA query answered %s", l ? l->name : "with an error");
		return RW_EREFUSED;
	}
	uint8_t *copy = malloc(len);
	knot_pkt_t *pkt = copy ? (memcpy(copy, msg, len), knot_pkt_new(copy, (uint16_t)len, NULL))
	                       : NULL;
	int ret = RW_EMALFORMED;
	if (pkt == NULL) {
		set_error(err, "out of memory");
		ret = RW_ENOMEM;
	} else if (knot_pkt_parse(pkt, KNOT_PF_KEEPWIRE) != KNOT_EOK ||
	           knot_wire_get_qdcount(msg) != 1 || knot_pkt_qtype(pkt) != KNOT_RRTYPE_SOA ||
	           !knot_dname_is_equal(knot_pkt_qname(pkt), j->apex)) {
		set_error(err, "a malformed answer to the SOA query");
	} else {
		const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
		for (uint16_t i = 0; i < an->count; i++) {
			const knot_rrset_t *rr = knot_pkt_rr(an, i);
			if (rr->type == KNOT_RRTYPE_SOA && knot_dname_is_equal(rr->owner, j->apex) &&
			    rr->rrs.count == 1 && rr->rrs.rdata->len >= 22 &&
			    rw_rdata_check(RW_TYPE_SOA, rr->rrs.rdata->data, rr->rrs.rdata->len) == 0) {
				j->primary_serial = rw_get32(rr->rrs.rdata->data + rr->rrs.rdata->len - 20);
				ret = 0;
				break;
			}
		}
		if (ret < 0)
			set_error(err, "no SOA record in the answer to the SOA query");
		if (ret == 0 && !knot_wire_get_aa(msg)) {
			set_error(err, "a SOA answer that is not authoritative");
			ret = RW_EMALFORMED;
		}
		uint8_t *o = ret == 0 && pkt->opt_rr ? knot_edns_get_option(pkt->opt_rr,
		                                                           KNOT_EDNS_OPTION_EXPIRE, NULL)
		                                     : NULL;
		if (o && knot_edns_opt_get_length(o) == 4) {
			j->have_edns_expire = true;
			j->edns_expire = rw_get32(knot_edns_opt_get_data(o));
		}
	}
	knot_pkt_free(pkt);
	free(copy);
	return ret;
}

/* SOA query to one primary: UDP, TCP when truncated. 0 or < 0 (err). */
static int soa_query(struct job *j, const struct sec_primary *p, char *err)
{
	struct rwd_tsig_keyring kr = { 0 };
	const struct rwd_tsig_key *key = job_key(&kr, p);
	if (p->keyed && key == NULL) {
		set_error(err, "cannot use TSIG key (algorithm %s)", p->alg);
		return RW_EINVAL;
	}
	uint8_t q[512], *buf = malloc(65536);
	int ret = 0;
	if (buf == NULL) {
		rwd_tsig_keyring_free(&kr);
		return RW_ENOMEM;
	}
	uint16_t id = random_id();
	struct rwd_tsig_ctx tctx = { 0 };
	size_t qlen = build_query(q, id, j->apex, j->apex_len, RW_TYPE_SOA, NULL, 0, true);
	if (key && rwd_tsig_sign_request(&tctx, key, q, &qlen, sizeof(q), (uint64_t)wall()) < 0) {
		set_error(err, "cannot sign the SOA query");
		ret = RW_ESPACE;
		goto out;
	}
	uint64_t deadline = mono_ms() + j->conf.io_timeout_ms;
	int fd = socket(p->addr.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&p->addr.addr, p->addr.addr_len) < 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen) {
		set_error(err, "SOA query: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		ret = RW_EIO;
		goto out;
	}
	ret = RW_ETIMEOUT;
	for (;;) {
		int w = wait_fd(j, fd, POLLIN, deadline);
		if (w < 0) {
			set_error(err, "SOA query: %s", w == RW_ETIMEOUT ? "no answer" : "stopped");
			ret = w;
			break;
		}
		ssize_t n = recv(fd, buf, 65535, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			set_error(err, "SOA query: %s", strerror(errno));
			ret = RW_EIO;
			break;
		}
		if (n < 12 || rw_get16(buf) != id)
			continue;                /* not the answer: keep waiting */
		/* REFUSED over UDP: asked again over TCP, where Knot answers the
		 * SOA of its catalog zones (to clients it allows transfers) */
		ret = (buf[2] & 0x80) && (buf[3] & 0x0f) == KNOT_RCODE_REFUSED
		    ? 1 : soa_answer(j, &tctx, buf, (size_t)n, id, err);
		break;
	}
	close(fd);
	if (ret == 1) {                    /* truncated: again over TCP (RFC 7766) */
		rwd_tsig_keyring_free(&kr);
		memset(&kr, 0, sizeof(kr));
		key = job_key(&kr, p);
		id = random_id();
		memset(&tctx, 0, sizeof(tctx));
		qlen = build_query(q + 2, id, j->apex, j->apex_len, RW_TYPE_SOA, NULL, 0, true);
		if (key && rwd_tsig_sign_request(&tctx, key, q + 2, &qlen, sizeof(q) - 2,
		                                 (uint64_t)wall()) < 0) {
			ret = RW_ESPACE;
			goto out;
		}
		rw_put16(q, (uint16_t)qlen);
		deadline = mono_ms() + j->conf.io_timeout_ms;
		fd = tcp_connect(j, &p->addr, deadline);
		ret = fd < 0 ? fd : send_all(j, fd, q, qlen + 2, deadline);
		int n = ret < 0 ? ret : tcp_read_msg(j, fd, buf, j->conf.io_timeout_ms, deadline);
		if (fd >= 0)
			close(fd);
		if (n < 0) {
			set_error(err, "SOA query over TCP: %s", io_error(n));
			ret = n;
		} else {
			ret = soa_answer(j, &tctx, buf, (size_t)n, id, err);
			if (ret == 1) {
				set_error(err, "a truncated SOA answer over TCP");
				ret = RW_EMALFORMED;
			}
		}
	}
out:
	free(buf);
	rwd_tsig_keyring_free(&kr);
	return ret;
}

/* ---- transfers ---- */

static void report_first(void *ctx, const char *msg)
{
	char *err = ctx;
	if (err[0] == '\0' && strstr(msg, ": warning: ") == NULL)
		set_error(err, "%s", msg);
}

/* One transfer (qtype AXFR, or IXFR from our serial with our SOA record)
 * from p into x. 0 or < 0 with err set. */
static int transfer(struct job *j, const struct sec_primary *p, uint16_t qtype,
                    uint32_t our_serial, const uint8_t *soa_rr, size_t soa_rr_len,
                    struct rwd_xfrin *x, char *err)
{
	struct rwd_tsig_keyring kr = { 0 };
	const struct rwd_tsig_key *key = job_key(&kr, p);
	if (p->keyed && key == NULL) {
		set_error(err, "cannot use TSIG key (algorithm %s)", p->alg);
		return RW_EINVAL;
	}
	size_t cap = 2 + 12 + 255 + 4 + (soa_rr_len) + 600;
	uint8_t *q = malloc(cap), *buf = malloc(65536);
	int ret = 0, fd = -1;
	if (q == NULL || buf == NULL) {
		set_error(err, "out of memory");
		ret = RW_ENOMEM;
		goto out;
	}
	uint16_t id = random_id();
	struct rwd_tsig_ctx tctx = { 0 };
	size_t qlen = build_query(q + 2, id, j->apex, j->apex_len, qtype,
	                          qtype == RW_TYPE_IXFR ? soa_rr : NULL, soa_rr_len, false);
	if (key && rwd_tsig_sign_request(&tctx, key, q + 2, &qlen, cap - 2, (uint64_t)wall()) < 0) {
		set_error(err, "cannot sign the query");
		ret = RW_ESPACE;
		goto out;
	}
	rw_put16(q, (uint16_t)qlen);
	rwd_xfrin_init(x, j->apex, qtype, id, our_serial, &j->conf.lim);
	uint64_t start = mono_ms(), deadline = start + j->conf.timeout_ms;
	uint64_t io = start + j->conf.io_timeout_ms;
	fd = tcp_connect(j, &p->addr, io < deadline ? io : deadline);
	if (fd < 0) {
		set_error(err, "cannot connect: %s", io_error(fd));
		ret = fd;
		goto out;
	}
	if ((ret = send_all(j, fd, q, qlen + 2, io < deadline ? io : deadline)) < 0) {
		set_error(err, "cannot send the query: %s", io_error(ret));
		goto out;
	}
	for (;;) {
		int n = tcp_read_msg(j, fd, buf, j->conf.io_timeout_ms, deadline);
		if (n < 0) {
			if (n == RW_ETIMEOUT && mono_ms() >= deadline)
				set_error(err, "not done within %u ms (xfr.timeout_ms)", j->conf.timeout_ms);
			else if (n == RW_ETIMEOUT)
				set_error(err, "no data for %u ms (xfr.io_timeout_ms)", j->conf.io_timeout_ms);
			else
				set_error(err, "%s", io_error(n));
			ret = n;
			break;
		}
		int r = rwd_xfrin_feed(x, buf, (size_t)n);
		if (tctx.key && rwd_tsig_client_check(&tctx, buf, (size_t)n, r != 0) < 0) {
			set_error(err, "TSIG check failed on message %u: %s (%u)%s%s", x->messages,
			          tsig_error(tctx.error), tctx.error, r < 0 ? "; " : "",
			          r < 0 ? x->error : "");
			ret = RW_EAUTH;
			break;
		}
		if (r < 0) {
			set_error(err, "%s", x->error);
			ret = r;
			break;
		}
		if (r == 1)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(q);
	free(buf);
	rwd_tsig_keyring_free(&kr);
	return ret;
}

/* rwd_xfrin_apply's lock: the control lock. */
static void control_lock(void *ctx, bool on)
{
	if (on)
		rwd_control_read_lock(ctx);
	else
		rwd_control_read_unlock(ctx);
}

/* ---- the zone file ---- */

/* Write z to path as a zone file (path.tmp, fsync, rename). 0 or < 0 (err). */
static int write_zone(const struct rwd_zone *z, const char *path, char *err)
{
	uint8_t *recs = NULL;
	size_t len = 0, n = 0;
	if (rwd_zone_records(z, &recs, &len, &n) < 0) {
		set_error(err, "out of memory");
		return RW_ENOMEM;
	}
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 5);
	size_t size = 4096;
	char *txt = malloc(size);
	FILE *f = NULL;
	int ret = 0;
	if (tmp == NULL || txt == NULL) {
		set_error(err, "out of memory");
		ret = RW_ENOMEM;
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	if ((f = fopen(tmp, "we")) == NULL) {
		set_error(err, "cannot write %s: %s", tmp, strerror(errno));
		ret = RW_EIO;
		goto out;
	}
	char origin[RW_DNAME_MAXLEN * 4 + 1];
	rw_dname_to_str(z->apex_name, origin, sizeof(origin));
	fprintf(f, ";; %s serial %u, transferred by runwayd\n$ORIGIN %s\n", origin, z->serial,
	        origin);
	struct rwd_xfrin_rr rr;
	uint8_t rdbuf[sizeof(knot_rdata_t) + 65536];
	for (size_t pos = 0; rwd_xfrin_rr_next(recs, len, &pos, &rr);) {
		knot_rrset_t rs;
		knot_rrset_init(&rs, (knot_dname_t *)rr.owner, rr.type, KNOT_CLASS_IN, rr.ttl);
		knot_rdata_t *rd = (knot_rdata_t *)rdbuf;
		knot_rdata_init(rd, rr.rdlen, rr.rdata);
		rs.rrs.count = 1;
		rs.rrs.size = (uint32_t)knot_rdata_size(rr.rdlen);
		rs.rrs.rdata = rd;
		if (knot_rrset_txt_dump(&rs, &txt, &size, &KNOT_DUMP_STYLE_DEFAULT) < 0) {
			set_error(err, "cannot write %s: a record does not print", tmp);
			ret = RW_EIO;
			goto out;
		}
		fputs(txt, f);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		set_error(err, "cannot write %s: %s", tmp, strerror(errno));
		ret = RW_EIO;
		goto out;
	}
	fclose(f);
	f = NULL;
	if (rename(tmp, path) != 0) {
		set_error(err, "cannot rename %s: %s", tmp, strerror(errno));
		ret = RW_EIO;
	}
out:
	if (f) {
		fclose(f);
		unlink(tmp);
	}
	free(tmp);
	free(txt);
	free(recs);
	return ret;
}

/* Queue z (a reference taken over) to be written to path. */
static void queue_write(struct rwd_secondary *svc, const char *path, const char *name,
                        struct rwd_zone *z)
{
	pthread_mutex_lock(&svc->wlock);
	struct pending_write **pp = &svc->writes;
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->path, path) == 0)
			break;
	if (*pp) {                         /* an older version waits: this one instead */
		rwd_zone_free((*pp)->z);
		(*pp)->z = z;
		z = NULL;
	} else {
		struct pending_write *w = calloc(1, sizeof(*w));
		if (w && (w->path = strdup(path)) != NULL && (w->name = strdup(name)) != NULL) {
			w->z = z;
			z = NULL;
			*pp = w;
		} else if (w) {
			free(w->path);
			free(w);
		}
	}
	pthread_cond_broadcast(&svc->wcond);
	pthread_mutex_unlock(&svc->wlock);
	if (z) {
		rwd_error("secondary: %s: out of memory: the transferred copy is not kept", name);
		rwd_zone_free(z);
	}
}

/* The writer thread: until stopped, and then what is left. */
static void *writer_thread(void *arg)
{
	struct rwd_secondary *svc = arg;
	pthread_mutex_lock(&svc->wlock);
	for (;;) {
		struct pending_write *w = svc->writes;
		if (w == NULL) {
			if (svc->wstop)
				break;
			pthread_cond_wait(&svc->wcond, &svc->wlock);
			continue;
		}
		svc->writes = w->next;
		svc->writing = true;
		pthread_mutex_unlock(&svc->wlock);
		char err[ERRLEN];
		if (write_zone(w->z, w->path, err) < 0)
			rwd_error("secondary: %s: the transferred copy is served but not kept: %s",
			          w->name, err);
		rwd_zone_free(w->z);
		free(w->path);
		free(w->name);
		free(w);
		pthread_mutex_lock(&svc->wlock);
		svc->writing = false;
		pthread_cond_broadcast(&svc->wcond);   /* rwd_secondary_flush */
	}
	pthread_mutex_unlock(&svc->wlock);
	return NULL;
}

/* ---- a job: SOA check, transfer, build, install, file ---- */

static void job_run(struct job *j)
{
	struct rwd_secondary *svc = j->svc;
	struct rwd_zone *old = served_ref(svc, j->conf.view, j->apex, j->apex_len);
	uint32_t serial = 0, refresh, retry, expire;
	bool have = soa_timers(old, &serial, &refresh, &retry, &expire);
	j->loaded = have;
	j->serial = serial;
	if (have) {
		j->have_soa = true;
		j->refresh = refresh, j->retry = retry, j->expire = expire;
	}

	/* The SOA query, primaries in order. */
	char err[ERRLEN] = "", one[ERRLEN];
	size_t used = 0;
	for (size_t i = 0; i < j->conf.n_primaries && !j->soa_ok; i++) {
		one[0] = '\0';
		j->have_edns_expire = false;
		if (soa_query(j, &j->conf.primaries[i], one) == 0) {
			j->soa_ok = true;
			used = i;
			snprintf(j->primary, sizeof(j->primary), "%s", j->conf.primaries[i].addr.text);
		} else {
			rwd_warn("secondary: %s: SOA query to %s: %s", j->name,
			         j->conf.primaries[i].addr.text, one);
			set_error(err, "%s: %s", j->conf.primaries[i].addr.text, one);
		}
	}
	if (!j->soa_ok) {
		set_error(j->error, "no primary answered the SOA query usably (last: %s)", err);
		goto out;
	}
	bool newer = !have || j->retransfer || rwd_serial_newer(j->primary_serial, serial);
	if (!newer)
		goto out;                    /* up to date: the refresh succeeded */

	/* The transfer: IXFR when we hold a version, else (or when the IXFR
	 * says so) AXFR. */
	const struct sec_primary *p = &j->conf.primaries[used];
	__atomic_store_n(&j->transferring, true, __ATOMIC_RELAXED);
	struct rwd_xfrin x;
	memset(&x, 0, sizeof(x));
	uint8_t *soa_rr = NULL;
	size_t soa_rr_len = 0;
	bool ixfr = have && !j->retransfer;
	if (ixfr) {
		const struct rwd_rrset *soa = rwd_node_rrset(old->apex, RW_TYPE_SOA);
		soa_rr_len = old->apex_len + 10u + rw_get16(soa->rdata);
		soa_rr = malloc(soa_rr_len);
		if (soa_rr == NULL) {
			set_error(j->error, "out of memory");
			goto out;
		}
		memcpy(soa_rr, old->apex_name, old->apex_len);
		uint8_t *f = soa_rr + old->apex_len;
		rw_put16(f, RW_TYPE_SOA);
		rw_put16(f + 2, RW_CLASS_IN);
		rw_put32(f + 4, soa->ttl);
		memcpy(f + 8, soa->rdata, 2u + rw_get16(soa->rdata));
	}
	struct rwd_zone *z = NULL;
	struct rwd_zone_diff *d = NULL;
	uint64_t t1 = mono_ms();
	int ret = 0;
	bool axfr = !ixfr;
	const char *style = "AXFR";
	if (ixfr) {
		j->kind = "IXFR";
		ret = transfer(j, p, RW_TYPE_IXFR, serial, soa_rr, soa_rr_len, &x, err);
		if (ret == 0 && x.kind == RWD_XFRIN_UPTODATE) {
			j->kind = NULL;          /* the SOA said newer, the IXFR says not: nothing */
			rwd_xfrin_free(&x);
			free(soa_rr);
			goto out;
		} else if (ret == 0 && x.kind == RWD_XFRIN_IXFR) {
			int a = rwd_xfrin_apply(&x, old, &j->conf.zlimits, j->conf.file, control_lock,
			                        svc->ctl, &z, &d, &j->applied, err);
			if (a == RW_ENOENT) {
				axfr = true;         /* our copy is not what the primary thinks */
				rwd_warn("secondary: %s: IXFR from %s: %s; trying AXFR", j->name,
				         p->addr.text, err);
			}
		} else if (ret == 0) {
			style = "IXFR (AXFR-style)";   /* the whole zone: built below */
			j->kind = "AXFR";
		} else if (x.fallback) {
			axfr = true;             /* RFC 1995 4: IXFR not implemented or refused */
			rwd_info("secondary: %s: IXFR from %s: %s; trying AXFR", j->name, p->addr.text,
			         err);
		}
	}
	if (axfr) {
		rwd_xfrin_free(&x);
		err[0] = '\0';
		j->kind = "AXFR";
		t1 = mono_ms();
		ret = transfer(j, p, RW_TYPE_AXFR, 0, NULL, 0, &x, err);
	}
	if (z == NULL && ret == 0 && x.kind == RWD_XFRIN_AXFR) {
		char name[128 + 64];
		snprintf(name, sizeof(name), "%s from %s", style, p->addr.text);
		struct rwd_source_records sr = { x.recs, x.len, name, 0 };
		struct rwd_record_source src = rwd_source_records(&sr);
		err[0] = '\0';
		z = rwd_zone_build_sources(j->apex, j->conf.file, &src, 1, &j->conf.zlimits,
		                           report_first, err);
		if (z == NULL && err[0] == '\0')
			set_error(err, "the zone transferred does not build");
	} else if (z == NULL && ret == 0 && x.kind != RWD_XFRIN_IXFR) {
		set_error(err, "an AXFR that is not a whole zone");
	}
	free(soa_rr);
	j->bytes = x.bytes;
	j->records = x.records;
	j->messages = x.messages;
	j->duration_ms = (uint32_t)(mono_ms() - t1);
	if (z == NULL) {
		j->transfer_failed = true;
		set_error(j->error, "%s from %s aborted: %s", j->kind ? j->kind : "transfer",
		          p->addr.text, err[0] ? err : "failed");
		rwd_xfrin_free(&x);
		goto out;
	}
	rwd_xfrin_free(&x);

	/* Install: the new version's timers from its SOA, expire from now. */
	uint32_t ns;
	soa_timers(z, &ns, &refresh, &retry, &expire);
	uint32_t exp = clamp(expire, j->conf.expire_min, j->conf.expire_max);
	if (j->have_edns_expire && j->edns_expire < exp)
		exp = j->edns_expire;
	__atomic_store_n(&z->expire_at, (uint32_t)(wall() + exp), __ATOMIC_RELAXED);
	char cerr[RWD_CONTROL_ERRLEN];
	uint32_t from = serial;
	struct rwd_zone *keep = z;
	rwd_zone_ref(keep);                /* for the file, after install takes z */
	ret = rwd_control_zone_install(svc->ctl, j->conf.view, j->apex, z,
	                               strcmp(j->kind, "IXFR") == 0 ? d : NULL, NULL, cerr);
	if (d)
		rwd_zone_diff_free(d);
	if (ret < 0) {
		j->transfer_failed = true;
		set_error(j->error, "%s from %s: cannot serve it: %s", j->kind, p->addr.text, cerr);
		rwd_zone_free(keep);
		goto out;
	}
	j->transferred = true;
	j->loaded = true;
	j->serial = ns;
	j->have_soa = true;
	j->refresh = refresh, j->retry = retry, j->expire = expire;
	rwd_info("secondary: %s: %s from %s: serial %s%u -> %u, %" PRIu64 " records, %" PRIu64
	         " messages, %" PRIu64 " bytes, %u ms%s%s", j->name, j->kind, p->addr.text,
	         have ? "" : "(none) ", from, ns, j->records, j->messages, j->bytes,
	         j->duration_ms, strcmp(j->kind, "IXFR") == 0 && j->applied ? ", " : "",
	         strcmp(j->kind, "IXFR") == 0 && j->applied ? j->applied : "");
	queue_write(svc, j->conf.file, j->name, keep);
	if (ret > 0)                       /* a catalog's member zones changed */
		rwd_secondary_reload(svc);
out:
	if (j->soa_ok && !j->transfer_failed && j->loaded && j->conf.file[0])
		(void)utimensat(AT_FDCWD, j->conf.file, NULL, 0);   /* the last refresh */
	rwd_zone_free(old);
	j->finished = wall();
}

static void job_thread(void *arg)
{
	struct job *j = arg;
	job_run(j);
	struct rwd_secondary *svc = j->svc;
	pthread_mutex_lock(&svc->lock);
	j->next = svc->done;
	svc->done = j;
	pthread_mutex_unlock(&svc->lock);
	uv_async_send(&svc->async);
}

static void job_free(struct job *j)
{
	conf_free(&j->conf);
	free(j);
}

/* ---- the loop: timers, queue, results ---- */

static void schedule(struct sec_zone *z);
static void zone_free(struct sec_zone *z);

static void start_jobs(struct rwd_secondary *svc)
{
	while (svc->queue && svc->running < svc->max_in && !svc->stopping) {
		struct sec_zone *z = svc->queue;
		svc->queue = z->queue_next;
		if (svc->queue == NULL)
			svc->queue_tail = NULL;
		z->queue_next = NULL;
		struct job *j = calloc(1, sizeof(*j));
		if (j == NULL || conf_dup(&j->conf, &z->conf) < 0) {
			free(j);
			rwd_error("secondary: %s: out of memory", z->name);
			pthread_mutex_lock(&svc->lock);
			z->run = RUN_IDLE;
			pthread_mutex_unlock(&svc->lock);
			schedule(z);
			continue;
		}
		j->svc = svc;
		j->z = z;
		memcpy(j->apex, z->apex, z->apex_len);
		j->apex_len = z->apex_len;
		snprintf(j->name, sizeof(j->name), "%s%s%s", z->name, z->conf.view ? " in view " : "",
		         z->conf.view ? z->conf.view : "");
		pthread_mutex_lock(&svc->lock);
		j->retransfer = z->want_retransfer;
		z->want_refresh = z->want_retransfer = false;
		z->run = RUN_RUNNING;
		z->job = j;
		pthread_mutex_unlock(&svc->lock);
		if (uv_thread_create(&j->thread, job_thread, j) != 0) {
			rwd_error("secondary: %s: cannot start a thread", z->name);
			job_free(j);
			pthread_mutex_lock(&svc->lock);
			z->run = RUN_IDLE;
			z->job = NULL;
			pthread_mutex_unlock(&svc->lock);
			schedule(z);
			continue;
		}
		svc->running++;
	}
}

static void enqueue(struct sec_zone *z)
{
	struct rwd_secondary *svc = z->svc;
	if (z->run != RUN_IDLE)
		return;                      /* queued or running: want_* is seen after */
	pthread_mutex_lock(&svc->lock);
	z->run = RUN_QUEUED;
	pthread_mutex_unlock(&svc->lock);
	if (svc->queue_tail)
		svc->queue_tail->queue_next = z;
	else
		svc->queue = z;
	svc->queue_tail = z;
	start_jobs(svc);
}

/* Serve a placeholder: the copy is older than expire (again: a reload
 * read the expired copy back from its file). */
static void expire_zone(struct sec_zone *z, bool again)
{
	struct rwd_secondary *svc = z->svc;
	struct rwd_zone *pz = rwd_zone_failed(z->apex, z->conf.file);
	char err[RWD_CONTROL_ERRLEN];
	if (pz == NULL ||
	    rwd_control_zone_install(svc->ctl, z->conf.view, z->apex, pz, NULL, "expired", err) < 0) {
		rwd_error("secondary: %s: expired, but cannot stop serving it: %s", z->name,
		          pz ? err : "out of memory");
		return;
	}
	if (!again)
		rwd_error("secondary: %s: expired (no successful refresh for %" PRId64 " s); "
		          "answering SERVFAIL until a transfer succeeds", z->name,
		          wall() - z->last_refresh);
	pthread_mutex_lock(&svc->lock);
	z->expired = true;
	z->loaded = false;
	z->expiries += !again;
	pthread_mutex_unlock(&svc->lock);
}

static void on_timer(uv_timer_t *t)
{
	struct sec_zone *z = t->data;
	int64_t now = wall();
	if (z->loaded && !z->expired && z->expire_at && now >= z->expire_at && z->run != RUN_RUNNING)
		expire_zone(z, false);
	if (now >= z->next_refresh)
		enqueue(z);
	schedule(z);
}

/* Arm the zone's timer for its next event. */
static void schedule(struct sec_zone *z)
{
	if (z->svc->stopping)
		return;
	int64_t due = z->next_refresh;
	if (z->loaded && !z->expired && z->expire_at && z->expire_at < due)
		due = z->expire_at;
	int64_t now = wall();
	uint64_t ms = due > now ? (uint64_t)(due - now) * 1000u : 0;
	if (z->run != RUN_IDLE && ms == 0)
		ms = 1000;                   /* a job is on it: look again later */
	uv_timer_start(&z->timer, on_timer, ms, 0);
}

/* A job's result into its zone's timers and status. */
static void job_done(struct rwd_secondary *svc, struct job *j)
{
	struct sec_zone *z = j->z;
	uv_thread_join(&j->thread);
	svc->running--;
	if (z->removed) {
		zone_free(z);
		job_free(j);
		return;
	}
	int64_t now = j->finished;
	struct sec_conf *c = &z->conf;
	pthread_mutex_lock(&svc->lock);
	z->run = RUN_IDLE;
	z->job = NULL;
	if (j->soa_ok)
		snprintf(z->primary, sizeof(z->primary), "%s", j->primary);
	if (j->soa_ok) {
		z->refreshes++;
	} else {
		z->refresh_failures++;
	}
	if (j->transferred) {
		z->last_kind = j->kind;
		z->last_transfer = now;
		z->last_bytes = j->bytes;
		z->last_records = j->records;
		z->last_messages = j->messages;
		z->last_duration_ms = j->duration_ms;
		if (strcmp(j->kind, "IXFR") == 0)
			z->ixfr++;
		else
			z->axfr++;
		z->expired = false;
	}
	if (j->transfer_failed)
		z->transfer_failures++;
	z->loaded = j->loaded;
	z->serial = j->serial;
	bool ok = j->soa_ok && !j->transfer_failed && z->loaded;
	snprintf(z->last_error, sizeof(z->last_error), "%s", ok ? "" : j->error);
	uint32_t refresh = clamp(j->have_soa ? j->refresh : 0, c->refresh_min, c->refresh_max);
	uint32_t retry = clamp(j->have_soa ? j->retry : 0, c->retry_min, c->retry_max);
	if (ok) {
		uint32_t exp = clamp(j->expire, c->expire_min, c->expire_max);
		if (j->have_edns_expire && j->edns_expire < exp)
			exp = j->edns_expire;    /* RFC 7314: the primary's own copy expires first */
		z->last_refresh = now;
		z->expire_at = now + exp;
		z->next_refresh = now + refresh;
		z->bootstrap_failures = 0;
	} else if (!z->loaded) {
		/* Nothing served yet: back off 5 s, 10 s ... within retry_min..retry_max. */
		unsigned k = z->bootstrap_failures < 7 ? z->bootstrap_failures : 7;
		z->bootstrap_failures++;
		z->next_refresh = now + clamp(5u << k, c->retry_min, c->retry_max);
	} else {
		z->next_refresh = now + retry;
	}
	bool again = z->want_refresh || z->want_retransfer;
	int64_t expire_at = z->expire_at;
	pthread_mutex_unlock(&svc->lock);
	if (ok)
		served_set_expire(svc, c->view, z->apex, z->apex_len, expire_at);
	if (!ok)
		rwd_error("secondary: %s: refresh failed: %s; next attempt in %" PRId64 " s%s",
		          j->name, j->error, z->next_refresh - now,
		          z->loaded ? ", the served version is kept" : "");
	job_free(j);
	if (again)
		enqueue(z);
	schedule(z);
	start_jobs(svc);
}

/* ---- zones from the configuration ---- */

static void zone_closed(uv_handle_t *h)
{
	struct sec_zone *z = h->data;
	conf_free(&z->conf);
	free(z);
}

static void zone_free(struct sec_zone *z)
{
	uv_close((uv_handle_t *)&z->timer, zone_closed);
}

static struct sec_zone *zone_find(struct rwd_secondary *svc, const char *view,
                                  const uint8_t *apex, size_t len)
{
	for (struct sec_zone *z = svc->zones; z; z = z->next)
		if (z->apex_len == len && memcmp(z->apex, apex, len) == 0 &&
		    (view == NULL ? z->conf.view == NULL : z->conf.view && strcmp(z->conf.view, view) == 0))
			return z;
	return NULL;
}

/* The initial timers of a zone new to the service: from the served copy
 * (read from the file at start) and the file's mtime, the last refresh. */
static void zone_initial(struct rwd_secondary *svc, struct sec_zone *z)
{
	struct rwd_zone *cur = served_ref(svc, z->conf.view, z->apex, z->apex_len);
	uint32_t serial, refresh, retry, expire;
	struct stat sb;
	int64_t now = wall();
	if (soa_timers(cur, &serial, &refresh, &retry, &expire) &&
	    stat(z->conf.file, &sb) == 0) {
		int64_t at = sb.st_mtime < now ? (int64_t)sb.st_mtime : now;
		z->loaded = true;
		z->serial = serial;
		z->last_refresh = at;
		z->expire_at = at + clamp(expire, z->conf.expire_min, z->conf.expire_max);
		z->next_refresh = at + clamp(refresh, z->conf.refresh_min, z->conf.refresh_max);
		if (z->next_refresh > now)   /* a restart: check soon anyway, the primary may */
			z->next_refresh = now;   /* have changed meanwhile (as Knot does at load) */
		__atomic_store_n(&cur->expire_at, (uint32_t)z->expire_at, __ATOMIC_RELAXED);
	} else {
		z->next_refresh = now;       /* nothing to serve yet: transfer at once */
	}
	rwd_zone_free(cur);
}

/* Make the zone list what the configuration says. */
static void sync_conf(struct rwd_secondary *svc)
{
	rwd_control_read_lock(svc->ctl);
	const struct rwd_conf *conf = svc->srv->conf;
	for (struct sec_zone *z = svc->zones; z; z = z->next)
		z->seen = false;
	svc->max_in = conf->xfr.max_in ? conf->xfr.max_in : 10;
	for (size_t i = 0; i < svc->n_views; i++)
		free(svc->views[i]);
	free(svc->views);
	svc->n_views = 0;
	svc->views = calloc(conf->n_views ? conf->n_views : 1, sizeof(char *));
	for (size_t i = 0; svc->views && i < conf->n_views; i++)
		if ((svc->views[i] = strdup(conf->views[i].name)) != NULL)
			svc->n_views = i + 1;
	struct sec_zone **tail = &svc->zones;
	while (*tail)
		tail = &(*tail)->next;
	struct sec_zone *fresh = NULL, **ftail = &fresh;
	for (size_t v = 0; v <= conf->n_views; v++) {
		const struct rwd_conf_zone *zs = v == 0 ? conf->zones : conf->views[v - 1].zones;
		size_t n = v == 0 ? conf->n_zones : conf->views[v - 1].n_zones;
		const char *view = v == 0 ? NULL : conf->views[v - 1].name;
		for (size_t i = 0; i < n; i++) {
			const struct rwd_conf_zone *cz = &zs[i];
			if (cz->n_primaries == 0)
				continue;
			size_t len = rw_dname_len(cz->dname);
			struct sec_zone *z = zone_find(svc, view, cz->dname, len);
			struct sec_conf c;
			if (conf_copy(&c, conf, cz, view) < 0) {
				rwd_error("secondary: %s: out of memory", cz->name);
				if (z)
					z->seen = true;
				continue;
			}
			if (z) {
				pthread_mutex_lock(&svc->lock);
				conf_free(&z->conf);
				z->conf = c;
				z->seen = true;
				pthread_mutex_unlock(&svc->lock);
				continue;
			}
			z = calloc(1, sizeof(*z));
			if (z == NULL) {
				conf_free(&c);
				continue;
			}
			z->svc = svc;
			z->conf = c;
			z->seen = true;
			memcpy(z->apex, cz->dname, len);
			z->apex_len = len;
			rw_dname_to_str(z->apex, z->name, sizeof(z->name));
			z->last_kind = "";
			uv_timer_init(&svc->loop, &z->timer);
			z->timer.data = z;
			*ftail = z;
			ftail = &z->next;
		}
	}
	rwd_control_read_unlock(svc->ctl);

	/* Gone from the configuration: dropped (a running job's result too). */
	pthread_mutex_lock(&svc->lock);
	for (struct sec_zone **pp = &svc->zones; *pp;) {
		struct sec_zone *z = *pp;
		if (z->seen) {
			pp = &z->next;
			continue;
		}
		*pp = z->next;
		for (struct sec_zone **q = &svc->queue; *q; q = &(*q)->queue_next)
			if (*q == z) {
				*q = z->queue_next;
				break;
			}
		svc->queue_tail = NULL;
		for (struct sec_zone *q = svc->queue; q; q = q->queue_next)
			svc->queue_tail = q;
		rwd_info("secondary: %s: no longer a secondary zone", z->name);
		uv_timer_stop(&z->timer);
		if (z->run == RUN_RUNNING)
			z->removed = true;
		else
			zone_free(z);
	}
	pthread_mutex_unlock(&svc->lock);

	/* New zones, not yet visible to status(): no lock. */
	for (struct sec_zone *z = fresh; z; z = z->next)
		zone_initial(svc, z);
	pthread_mutex_lock(&svc->lock);
	tail = &svc->zones;
	while (*tail)
		tail = &(*tail)->next;
	*tail = fresh;
	pthread_mutex_unlock(&svc->lock);
	/* Every zone: a reload served new versions (read from the files). */
	for (struct sec_zone *z = svc->zones; z; z = z->next) {
		if (z->expired && z->run != RUN_RUNNING) {
			struct rwd_zone *cur = served_ref(svc, z->conf.view, z->apex, z->apex_len);
			bool placeholder = cur == NULL || rwd_zone_is_placeholder(cur);
			rwd_zone_free(cur);
			if (!placeholder)
				expire_zone(z, true);   /* the file's copy is still expired */
		}
		if (z->loaded && !z->expired && z->run == RUN_IDLE) {
			/* A transfer that came between the flush and the reload is
			 * not in the file the reload read: ask the primary again. */
			struct rwd_zone *cur = served_ref(svc, z->conf.view, z->apex, z->apex_len);
			uint32_t serial = 0, r1, r2, r3;
			bool have = soa_timers(cur, &serial, &r1, &r2, &r3);
			rwd_zone_free(cur);
			if (!have || serial != z->serial) {
				rwd_warn("secondary: %s: the reload serves serial %u from %s, not the %u "
				         "transferred: refreshing", z->name, serial, z->conf.file, z->serial);
				pthread_mutex_lock(&svc->lock);
				z->serial = serial;
				z->loaded = have;
				z->next_refresh = wall();
				pthread_mutex_unlock(&svc->lock);
			}
		}
		if (z->loaded && z->expire_at)
			served_set_expire(svc, z->conf.view, z->apex, z->apex_len, z->expire_at);
		schedule(z);
	}
}

/* ---- wake-ups ---- */

static void take_notifies(struct rwd_secondary *svc)
{
	for (size_t i = 0; i < NOTIFY_SLOTS; i++) {
		struct notify_slot *s = &svc->notify[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != 2)
			continue;
		uint32_t view = s->view;
		uint8_t apex[255];
		size_t len = rw_dname_len(s->apex);
		memcpy(apex, s->apex, len);
		__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
		const char *vname = view && view <= svc->n_views ? svc->views[view - 1] : NULL;
		struct sec_zone *z = vname ? zone_find(svc, vname, apex, len) : NULL;
		if (z == NULL)
			z = zone_find(svc, NULL, apex, len);
		if (z == NULL)
			continue;
		rwd_info("secondary: %s: NOTIFY received, refreshing", z->name);
		pthread_mutex_lock(&svc->lock);
		z->notifies++;
		z->want_refresh = true;
		pthread_mutex_unlock(&svc->lock);
		enqueue(z);
	}
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_async(uv_async_t *a)
{
	struct rwd_secondary *svc = a->data;
	pthread_mutex_lock(&svc->lock);
	bool stopping = svc->stopping, reload = svc->reload;
	svc->reload = false;
	struct request *reqs = svc->requests;
	svc->requests = NULL;
	struct job *done = svc->done;
	svc->done = NULL;
	pthread_mutex_unlock(&svc->lock);

	while (done) {
		struct job *j = done;
		done = j->next;
		job_done(svc, j);
	}
	if (stopping) {
		while (reqs) {
			struct request *r = reqs;
			reqs = r->next;
			free(r->view);
			free(r);
		}
		if (svc->running == 0) {
			for (struct sec_zone *z = svc->zones; z; z = z->next)
				z->timer.data = z;
			uv_walk(&svc->loop, close_walk, NULL);
		}
		return;
	}
	if (reload)
		sync_conf(svc);
	while (reqs) {
		struct request *r = reqs;
		reqs = r->next;
		struct sec_zone *z = zone_find(svc, r->view, r->apex, rw_dname_len(r->apex));
		if (z) {
			pthread_mutex_lock(&svc->lock);
			z->want_refresh = true;
			z->want_retransfer |= r->retransfer;
			pthread_mutex_unlock(&svc->lock);
			enqueue(z);
		}
		free(r->view);
		free(r);
	}
	take_notifies(svc);
	start_jobs(svc);
}

static void notify_sink(void *ctx, uint32_t view, const uint8_t *apex, uint32_t serial)
{
	struct rwd_secondary *svc = ctx;
	(void)serial;                      /* RFC 1996 3.11: a hint; the SOA query decides */
	size_t len = rw_dname_len(apex);
	for (size_t i = 0; i < NOTIFY_SLOTS; i++) {
		struct notify_slot *s = &svc->notify[i];
		int free_state = 0;
		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != 0 ||
		    !__atomic_compare_exchange_n(&s->state, &free_state, 1, false, __ATOMIC_ACQUIRE,
		                                 __ATOMIC_RELAXED))
			continue;
		s->view = view;
		memcpy(s->apex, apex, len);
		rw_dname_lower(s->apex);
		__atomic_store_n(&s->state, 2, __ATOMIC_RELEASE);
		break;
	}
	if (__atomic_load_n(&svc->started, __ATOMIC_ACQUIRE))
		uv_async_send(&svc->async);
}

static void service_thread(void *arg)
{
	struct rwd_secondary *svc = arg;
	uv_run(&svc->loop, UV_RUN_DEFAULT);
}

/* ---- the interface ---- */

int rwd_secondary_new(struct rwd_secondary **out)
{
	struct rwd_secondary *svc = calloc(1, sizeof(*svc));
	if (svc == NULL)
		return RW_ENOMEM;
	pthread_mutex_init(&svc->lock, NULL);
	pthread_mutex_init(&svc->wlock, NULL);
	pthread_cond_init(&svc->wcond, NULL);
	svc->stop_fd = -1;
	struct rwd_notify_sink sink = { notify_sink, svc };
	rwd_server_set_notify_sink(&sink);
	*out = svc;
	return 0;
}

int rwd_secondary_start(struct rwd_secondary *svc, struct rwd_server *srv,
                        struct rwd_control *ctl)
{
	svc->srv = srv;
	svc->ctl = ctl;
	svc->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (svc->stop_fd < 0 || uv_loop_init(&svc->loop) != 0)
		return RW_EIO;
	svc->loop.data = svc;
	if (uv_async_init(&svc->loop, &svc->async, on_async) != 0)
		return RW_EIO;
	svc->async.data = svc;
	if (pthread_create(&svc->writer, NULL, writer_thread, svc) != 0)
		return RW_EIO;
	svc->writer_started = true;
	sync_conf(svc);
	size_t n = 0;
	for (struct sec_zone *z = svc->zones; z; z = z->next)
		n++;
	if (uv_thread_create(&svc->thread, service_thread, svc) != 0)
		return RW_EIO;
	__atomic_store_n(&svc->started, true, __ATOMIC_RELEASE);
	uv_async_send(&svc->async);        /* NOTIFYs that came before */
	if (n)
		rwd_info("secondary: %zu zone(s), at most %u transfer(s) at once", n, svc->max_in);
	return 0;
}

void rwd_secondary_flush(struct rwd_secondary *svc)
{
	if (svc == NULL || !svc->writer_started)
		return;
	pthread_mutex_lock(&svc->wlock);
	while (svc->writes || svc->writing)
		pthread_cond_wait(&svc->wcond, &svc->wlock);
	pthread_mutex_unlock(&svc->wlock);
}

void rwd_secondary_reload(struct rwd_secondary *svc)
{
	if (svc == NULL || !svc->started)
		return;
	pthread_mutex_lock(&svc->lock);
	svc->reload = true;
	pthread_mutex_unlock(&svc->lock);
	uv_async_send(&svc->async);
}

void rwd_secondary_stop(struct rwd_secondary *svc)
{
	if (svc == NULL)
		return;
	struct rwd_notify_sink none = { NULL, NULL };
	rwd_server_set_notify_sink(&none);
	if (svc->started) {
		pthread_mutex_lock(&svc->lock);
		svc->stopping = true;
		pthread_mutex_unlock(&svc->lock);
		uint64_t one = 1;
		if (write(svc->stop_fd, &one, sizeof(one)) < 0)
			rwd_warn("secondary: cannot signal the transfers to stop");
		uv_async_send(&svc->async);
		uv_thread_join(&svc->thread);
		for (struct sec_zone *z = svc->zones, *next; z; z = next) {
			next = z->next;
			conf_free(&z->conf);
			free(z);
		}
		uv_loop_close(&svc->loop);
	}
	if (svc->writer_started) {         /* after the jobs: it writes what they left */
		pthread_mutex_lock(&svc->wlock);
		svc->wstop = true;
		pthread_cond_broadcast(&svc->wcond);
		pthread_mutex_unlock(&svc->wlock);
		pthread_join(svc->writer, NULL);
	}
	for (size_t i = 0; i < svc->n_views; i++)
		free(svc->views[i]);
	free(svc->views);
	if (svc->stop_fd >= 0)
		close(svc->stop_fd);
	pthread_mutex_destroy(&svc->lock);
	pthread_mutex_destroy(&svc->wlock);
	pthread_cond_destroy(&svc->wcond);
	free(svc);
}

int rwd_secondary_refresh(struct rwd_secondary *svc, const char *view, const uint8_t *apex,
                          bool retransfer)
{
	if (svc == NULL || !svc->started)
		return RW_ENOENT;
	size_t len = rw_dname_len(apex);
	uint8_t lc[255];
	memcpy(lc, apex, len);
	rw_dname_lower(lc);
	pthread_mutex_lock(&svc->lock);
	bool found = false;
	for (struct sec_zone *z = svc->zones; z && !found; z = z->next)
		found = z->apex_len == len && memcmp(z->apex, lc, len) == 0 &&
		        (view == NULL ? z->conf.view == NULL
		                      : z->conf.view && strcmp(z->conf.view, view) == 0);
	struct request *r = found ? calloc(1, sizeof(*r)) : NULL;
	if (r) {
		r->view = view ? strdup(view) : NULL;
		memcpy(r->apex, lc, len);
		r->retransfer = retransfer;
		r->next = svc->requests;
		svc->requests = r;
	}
	pthread_mutex_unlock(&svc->lock);
	if (!found)
		return RW_ENOENT;
	if (r == NULL)
		return RW_ENOMEM;
	uv_async_send(&svc->async);
	return 0;
}

int rwd_secondary_status(struct rwd_secondary *svc, rwd_secondary_status_fn fn, void *ctx)
{
	if (svc == NULL || !svc->started)
		return 0;
	static const char *const states[] = { "idle", "queued", "refreshing", "transferring" };
	int ret = 0;
	pthread_mutex_lock(&svc->lock);
	for (struct sec_zone *z = svc->zones; z && ret == 0; z = z->next) {
		struct rwd_secondary_status st = {
			.view = z->conf.view, .zone = z->name, .apex = z->apex,
			.state = states[z->run == RUN_RUNNING && z->job &&
			                __atomic_load_n(&z->job->transferring, __ATOMIC_RELAXED)
			                ? 3 : z->run], .loaded = z->loaded, .expired = z->expired,
			.serial = z->serial, .primary = z->primary, .last_refresh = z->last_refresh,
			.next_refresh = z->next_refresh, .expire_at = z->loaded ? z->expire_at : 0,
			.last_error = z->last_error, .last_kind = z->last_kind ? z->last_kind : "",
			.last_transfer = z->last_transfer, .last_bytes = z->last_bytes,
			.last_records = z->last_records, .last_messages = z->last_messages,
			.last_duration_ms = z->last_duration_ms, .refreshes = z->refreshes,
			.refresh_failures = z->refresh_failures, .axfr = z->axfr, .ixfr = z->ixfr,
			.transfer_failures = z->transfer_failures, .notifies = z->notifies,
			.expiries = z->expiries,
		};
		ret = fn(ctx, &st);
	}
	pthread_mutex_unlock(&svc->lock);
	return ret;
}
