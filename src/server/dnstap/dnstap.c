/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dnstap output (dnstap.h): a hand-written protobuf encoder for the few
 * fields of the public dnstap schema that an authoritative server fills,
 * and libfstrm's I/O thread as the writer.
 *
 * Why encode by hand rather than generate code with protoc-c: the frame is
 * flat (Dnstap with identity, version, type and one embedded Message of
 * scalars and byte strings), protobuf's varint / fixed32 / length-delimited
 * encodings take about 30 lines, and Debian ships no dnstap.proto, so
 * protoc-c would need a schema file kept in this tree plus libprotobuf-c at
 * run time, and it encodes through a heap-built struct per message. The
 * encoder below writes straight into the ring memory handed to libfstrm.
 * Field numbers (https://dnstap.info, dnstap.proto):
 *   Dnstap:  identity 1 (bytes), version 2 (bytes), message 14 (Message),
 *            type 15 (enum, MESSAGE = 1)
 *   Message: type 1 (AUTH_QUERY = 1, AUTH_RESPONSE = 2), socket_family 2
 *            (INET = 1, INET6 = 2), socket_protocol 3 (UDP = 1, TCP = 2),
 *            query_address 4, response_address 5 (bytes, 4 or 16),
 *            query_port 6, response_port 7 (uint32), query_time_sec 8
 *            (uint64), query_time_nsec 9 (fixed32), query_message 10
 *            (bytes), response_time_sec 12 (uint64), response_time_nsec 13
 *            (fixed32), response_message 14 (bytes)
 *
 * Buffers: each queue owns a ring of RING_BYTES where frames are laid one
 * after the other, each behind a small record header, so memory follows
 * the frames' real sizes (about 130 bytes for a query, up to 64 KiB for a
 * big TCP answer) and nothing is allocated per frame. libfstrm's free
 * callback, on its I/O thread, marks a record done (release); the producer
 * reclaims done records from the oldest end (acquire) before it allocates,
 * so records may even come back out of order. libfstrm's thread sleeps
 * until an input queue is half full (NOTIFY_THRESHOLD) or a second has
 * passed, then writes in batches of up to OUTPUT_BATCH frames or 64 KiB.
 * When the ring or libfstrm's queue is full the frame is dropped, never
 * waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstrm.h>

#include "lib/error.h"
#include "server/common/log.h"
#include "server/dnstap/dnstap.h"

#define CONTENT_TYPE "protobuf:dnstap.Dnstap"
#define QUEUE_SIZE 4096               /* libfstrm's input queue, per producer (entries) */
#define NOTIFY_THRESHOLD 2048         /* wake the writer when a queue is half full */
#define OUTPUT_BATCH 512              /* frames per writev */
#define RING_BYTES (1u << 20)         /* frame memory per queue, touched only as used */
#define MAX_TEXT 255                  /* identity, version */
#define PREFIX_MAX (2 * (1 + 2 + MAX_TEXT))
/* Message fields other than the DNS message: type, family, protocol, two
 * addresses, two ports, two times (86 bytes at most), and the DNS message's
 * tag and length (1 + 3). Then the Dnstap header (tag + length) and type. */
#define MSG_OVERHEAD 96
#define HEAD_MAX(d) ((d)->prefix_len + 1 + 3)

enum { DT_AUTH_QUERY = 1, DT_AUTH_RESPONSE = 2 };

/* A frame's place in the ring; records are 8-byte aligned and sized. */
struct rec {
	atomic_uint done;                 /* set by libfstrm's free callback, or a skip record */
	uint32_t size;                    /* the whole record, header included */
};

struct rwd_dnstap_queue {
	struct rwd_dnstap *d;
	struct fstrm_iothr_queue *ioq;
	/* The ring, used by the producer only (except rec.done): records from
	 * tail (oldest) to head, used bytes in all, wrapping at RING_BYTES. */
	uint8_t *ring;
	size_t head, tail, used;
	/* Written by the producer only, read by rwd_dnstap_counts. */
	_Atomic uint64_t written, dropped;
};

struct rwd_dnstap {
	struct fstrm_iothr *iothr;
	bool log_queries, log_responses;
	unsigned n_queues;
	atomic_uint taken;
	struct rwd_dnstap_queue *queues;
	size_t prefix_len;
	uint8_t prefix[PREFIX_MAX];       /* Dnstap.identity and Dnstap.version, encoded once */
	char where[300];                  /* for log lines: "file X" / "socket X" */
};

/* ---- protobuf encoding ---- */

enum { WT_VARINT = 0, WT_LEN = 2, WT_FIXED32 = 5 };

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint8_t *put_tag(uint8_t *p, unsigned field, unsigned wire_type)
{
	return put_varint(p, (uint64_t)field << 3 | wire_type);
}

static uint8_t *put_uint(uint8_t *p, unsigned field, uint64_t v)
{
	return put_varint(put_tag(p, field, WT_VARINT), v);
}

static uint8_t *put_fixed32(uint8_t *p, unsigned field, uint32_t v)
{
	p = put_tag(p, field, WT_FIXED32);
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint8_t *put_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
	p = put_varint(put_tag(p, field, WT_LEN), len);
	memcpy(p, data, len);
	return p + len;
}

/* Dnstap.identity and Dnstap.version (each omitted when NULL), at most PREFIX_MAX bytes. */
static size_t encode_prefix(uint8_t *out, const char *identity, const char *version)
{
	uint8_t *p = out;
	if (identity)
		p = put_bytes(p, 1, identity, strnlen(identity, MAX_TEXT));
	if (version)
		p = put_bytes(p, 2, version, strnlen(version, MAX_TEXT));
	return (size_t)(p - out);
}

/* Family, address and port fields of sa as fields (addr_field, port_field); nothing if unknown. */
static uint8_t *put_endpoint(uint8_t *p, const struct sockaddr *sa, unsigned addr_field,
                             unsigned port_field)
{
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		p = put_bytes(p, addr_field, &s4->sin_addr, 4);
		return put_uint(p, port_field, ntohs(s4->sin_port));
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		p = put_bytes(p, addr_field, &s6->sin6_addr, 16);
		return put_uint(p, port_field, ntohs(s6->sin6_port));
	}
	return p;
}

static uint8_t *put_time(uint8_t *p, unsigned sec_field, const struct timespec *t)
{
	p = put_uint(p, sec_field, (uint64_t)t->tv_sec);
	return put_fixed32(p, sec_field + 1, (uint32_t)t->tv_nsec);
}

/*
 * The Message is written first, at head (room for the Dnstap header before
 * it), since its length must precede it; then the header goes right in
 * front. Returns the frame's start or NULL if cap is too small.
 */
static uint8_t *encode(uint8_t *buf, size_t cap, const uint8_t *prefix, size_t prefix_len,
                       int type, const struct rwd_dnstap_msg *m, const struct timespec *rtime,
                       size_t *len)
{
	const uint8_t *dns = type == DT_AUTH_QUERY ? m->query : m->response;
	size_t dns_len = type == DT_AUTH_QUERY ? m->query_len : m->response_len;
	size_t head = prefix_len + 1 + 3;
	if (dns_len > 0xffff || cap < head + MSG_OVERHEAD + dns_len + 2)
		return NULL;

	uint8_t *start = buf + head, *p = start;
	p = put_uint(p, 1, (uint64_t)type);
	const struct sockaddr *fam = m->client ? m->client : m->server;
	if (fam && (fam->sa_family == AF_INET || fam->sa_family == AF_INET6))
		p = put_uint(p, 2, fam->sa_family == AF_INET ? 1 : 2);
	p = put_uint(p, 3, m->tcp ? 2 : 1);
	/* Ports follow addresses in field order (4, 5, 6, 7): decoders accept any order. */
	p = put_endpoint(p, m->client, 4, 6);
	p = put_endpoint(p, m->server, 5, 7);
	p = put_time(p, 8, &m->query_time);
	if (type == DT_AUTH_QUERY) {
		p = put_bytes(p, 10, dns, dns_len);
	} else {
		p = put_time(p, 12, rtime);
		p = put_bytes(p, 14, dns, dns_len);
	}
	size_t msg_len = (size_t)(p - start);

	size_t hdr = prefix_len + 1 + varint_len(msg_len);
	uint8_t *frame = start - hdr;
	memcpy(frame, prefix, prefix_len);
	put_varint(put_tag(frame + prefix_len, 14, WT_LEN), msg_len);
	p = put_uint(p, 15, 1);           /* Dnstap.type = MESSAGE */
	*len = (size_t)(p - frame);
	return frame;
}

uint8_t *rwd_dnstap_encode(uint8_t *buf, size_t cap, int type, const char *identity,
                           const char *version, const struct rwd_dnstap_msg *m,
                           const struct timespec *response_time, size_t *len)
{
	uint8_t prefix[PREFIX_MAX];
	size_t n = encode_prefix(prefix, identity, version);
	return encode(buf, cap, prefix, n, type, m, response_time, len);
}

/* ---- the ring and submitting ---- */

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Give back the oldest records libfstrm is done with. */
static void reclaim(struct rwd_dnstap_queue *q)
{
	while (q->used) {
		struct rec *r = (struct rec *)(q->ring + q->tail);
		if (!atomic_load_explicit(&r->done, memory_order_acquire))
			break;
		q->used -= r->size;
		q->tail += r->size;
		if (q->tail == RING_BYTES)
			q->tail = 0;
	}
	if (q->used == 0)
		q->head = q->tail = 0;        /* empty: start over, the most contiguous room */
}

/* A new record of size bytes (aligned) at head, or NULL if the ring is full. */
static struct rec *rec_alloc(struct rwd_dnstap_queue *q, size_t size)
{
	reclaim(q);
	if (q->used && q->head == q->tail)
		return NULL;                  /* full */
	if (q->head >= q->tail && RING_BYTES - q->head < size) {
		/* Not enough room before the end: skip it, if the start has room. */
		if (q->tail < size)
			return NULL;
		struct rec *skip = (struct rec *)(q->ring + q->head);
		skip->size = (uint32_t)(RING_BYTES - q->head);
		atomic_store_explicit(&skip->done, 1, memory_order_relaxed);
		q->used += skip->size;
		q->head = 0;
	} else if (q->head < q->tail && q->tail - q->head < size) {
		return NULL;
	}
	struct rec *r = (struct rec *)(q->ring + q->head);
	r->size = (uint32_t)size;
	atomic_store_explicit(&r->done, 0, memory_order_relaxed);
	q->used += size;
	q->head += size;
	if (q->head == RING_BYTES)
		q->head = 0;
	return r;
}

/* Give back the unused end of r, the record allocated last: it now ends at end. */
static void rec_shrink(struct rwd_dnstap_queue *q, struct rec *r, const uint8_t *end)
{
	size_t size = align8((size_t)(end - (uint8_t *)r));
	if (q->head == 0)
		q->head = RING_BYTES;
	q->head -= r->size - size;
	q->used -= r->size - size;
	r->size = (uint32_t)size;
	if (q->head == RING_BYTES)
		q->head = 0;
}

static void rec_done(void *data, void *free_data)
{
	(void)data;
	atomic_store_explicit(&((struct rec *)free_data)->done, 1, memory_order_release);
}

static void count(_Atomic uint64_t *c)
{
	/* One writer: a plain load and store, no locked instruction. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static void submit(struct rwd_dnstap_queue *q, int type, const struct rwd_dnstap_msg *m,
                   const struct timespec *rtime)
{
	struct rwd_dnstap *d = q->d;
	size_t dns_len = type == DT_AUTH_QUERY ? m->query_len : m->response_len;
	size_t cap = HEAD_MAX(d) + MSG_OVERHEAD + dns_len + 2;
	struct rec *r = rec_alloc(q, align8(sizeof(struct rec) + cap));
	if (r == NULL) {
		count(&q->dropped);           /* the writer is a whole ring behind */
		return;
	}
	size_t len;
	uint8_t *frame = encode((uint8_t *)(r + 1), cap, d->prefix, d->prefix_len, type, m, rtime,
	                        &len);
	if (frame == NULL) {              /* cannot happen: cap is an upper bound */
		atomic_store_explicit(&r->done, 1, memory_order_relaxed);
		count(&q->dropped);
		return;
	}
	rec_shrink(q, r, frame + len);
	if (fstrm_iothr_submit(d->iothr, q->ioq, frame, len, rec_done, r) != fstrm_res_success) {
		atomic_store_explicit(&r->done, 1, memory_order_relaxed);
		count(&q->dropped);
		return;
	}
	count(&q->written);
}

void rwd_dnstap_log(struct rwd_dnstap_queue *q, const struct rwd_dnstap_msg *m)
{
	struct rwd_dnstap *d = q->d;
	if (d->log_queries)
		submit(q, DT_AUTH_QUERY, m, NULL);
	if (d->log_responses && m->response && m->response_len) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		submit(q, DT_AUTH_RESPONSE, m, &now);
	}
}

/* ---- start and stop ---- */

struct rwd_dnstap_queue *rwd_dnstap_queue_take(struct rwd_dnstap *d)
{
	if (d == NULL)
		return NULL;
	unsigned i = atomic_fetch_add(&d->taken, 1);
	if (i >= d->n_queues) {
		rwd_warn("dnstap: more query threads than queues, one thread is not logged");
		return NULL;
	}
	return &d->queues[i];
}

void rwd_dnstap_counts(const struct rwd_dnstap *d, uint64_t *written, uint64_t *dropped)
{
	*written = *dropped = 0;
	for (unsigned i = 0; d && i < d->n_queues; i++) {
		*written += atomic_load_explicit(&d->queues[i].written, memory_order_relaxed);
		*dropped += atomic_load_explicit(&d->queues[i].dropped, memory_order_relaxed);
	}
}

static void dnstap_free(struct rwd_dnstap *d)
{
	if (d->iothr)
		fstrm_iothr_destroy(&d->iothr);   /* flushes; every record comes back */
	for (unsigned i = 0; i < d->n_queues; i++)
		free(d->queues[i].ring);
	free(d->queues);
	free(d);
}

void rwd_dnstap_stop(struct rwd_dnstap *d)
{
	if (d == NULL)
		return;
	uint64_t written, dropped;
	fstrm_iothr_destroy(&d->iothr);
	rwd_dnstap_counts(d, &written, &dropped);
	rwd_info("dnstap: %llu frames queued for %s, %llu dropped (output behind)", (unsigned long long)written, d->where,
	         (unsigned long long)dropped);
	dnstap_free(d);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool rwd_dnstap_opts_equal(const struct rwd_dnstap_opts *a, const struct rwd_dnstap_opts *b)
{
	return str_eq(a->file, b->file) && str_eq(a->socket, b->socket) &&
	       str_eq(a->identity, b->identity) &&
	       a->log_queries == b->log_queries &&
	       a->log_responses == b->log_responses;
}

/* The writer for the file or the socket; NULL after logging why. */
static struct fstrm_writer *open_writer(const struct rwd_dnstap_opts *opts)
{
	struct fstrm_writer_options *wopt = fstrm_writer_options_init();
	struct fstrm_writer *w = NULL;
	if (wopt == NULL ||
	    fstrm_writer_options_add_content_type(wopt, CONTENT_TYPE, strlen(CONTENT_TYPE)) !=
	        fstrm_res_success) {
		rwd_error("dnstap: out of memory");
		goto done;
	}
	if (opts->file) {
		/* libfstrm opens the file on its own thread, where a failure would
		 * only drop frames: find out now. It truncates, as Knot and Unbound do. */
		int fd = open(opts->file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			rwd_error("dnstap: cannot open %s for writing: %s", opts->file,
			          strerror(errno));
			goto done;
		}
		close(fd);
		struct fstrm_file_options *fopt = fstrm_file_options_init();
		if (fopt) {
			fstrm_file_options_set_file_path(fopt, opts->file);
			w = fstrm_file_writer_init(fopt, wopt);
			fstrm_file_options_destroy(&fopt);
		}
	} else {
		/* A collector that is not there yet is retried every few seconds. */
		struct stat st;
		if (stat(opts->socket, &st) != 0 || !S_ISSOCK(st.st_mode))
			rwd_warn("dnstap: no collector listening on %s yet; frames are dropped until "
			         "one is (retried every %d s)", opts->socket,
			         FSTRM_IOTHR_REOPEN_INTERVAL_DEFAULT);
		struct fstrm_unix_writer_options *uopt = fstrm_unix_writer_options_init();
		if (uopt) {
			fstrm_unix_writer_options_set_socket_path(uopt, opts->socket);
			w = fstrm_unix_writer_init(uopt, wopt);
			fstrm_unix_writer_options_destroy(&uopt);
		}
	}
	if (w == NULL)
		rwd_error("dnstap: cannot set up the writer for %s",
		          opts->file ? opts->file : opts->socket);
done:
	if (wopt)
		fstrm_writer_options_destroy(&wopt);
	return w;
}

int rwd_dnstap_start(const struct rwd_dnstap_opts *opts, const char *version, unsigned n_queues,
                     struct rwd_dnstap **out)
{
	*out = NULL;
	if (opts->file == NULL && opts->socket == NULL)
		return 0;
	if (n_queues == 0)
		n_queues = 1;
	struct rwd_dnstap *d = calloc(1, sizeof(*d));
	if (d == NULL || (d->queues = calloc(n_queues, sizeof(*d->queues))) == NULL) {
		free(d);
		rwd_error("dnstap: out of memory");
		return RW_ENOMEM;
	}
	d->n_queues = n_queues;
	d->log_queries = opts->log_queries;
	d->log_responses = opts->log_responses;
	snprintf(d->where, sizeof(d->where), "%s %s", opts->file ? "file" : "socket",
	         opts->file ? opts->file : opts->socket);

	char host[256] = "";
	const char *identity = opts->identity;
	if (identity == NULL) {
		if (gethostname(host, sizeof(host) - 1) != 0)
			host[0] = '\0';
		identity = host;
	}
	d->prefix_len = encode_prefix(d->prefix, identity, version);

	for (unsigned i = 0; i < n_queues; i++) {
		d->queues[i].d = d;
		/* Pages are touched only as the ring fills. */
		if ((d->queues[i].ring = aligned_alloc(64, RING_BYTES)) == NULL) {
			rwd_error("dnstap: out of memory");
			dnstap_free(d);
			return RW_ENOMEM;
		}
	}

	struct fstrm_writer *w = open_writer(opts);
	if (w == NULL) {
		dnstap_free(d);
		return RW_EIO;
	}
	struct fstrm_iothr_options *iopt = fstrm_iothr_options_init();
	if (iopt) {
		fstrm_iothr_options_set_num_input_queues(iopt, n_queues);
		fstrm_iothr_options_set_input_queue_size(iopt, QUEUE_SIZE);
		fstrm_iothr_options_set_queue_notify_threshold(iopt, NOTIFY_THRESHOLD);
		fstrm_iothr_options_set_output_queue_size(iopt, OUTPUT_BATCH);
		fstrm_iothr_options_set_buffer_hint(iopt, FSTRM_IOTHR_BUFFER_HINT_MAX);
		fstrm_iothr_options_set_queue_model(iopt, FSTRM_IOTHR_QUEUE_MODEL_SPSC);
		d->iothr = fstrm_iothr_init(iopt, &w);
		fstrm_iothr_options_destroy(&iopt);
	}
	if (d->iothr == NULL) {
		if (w)
			fstrm_writer_destroy(&w);
		rwd_error("dnstap: cannot start the writer thread");
		dnstap_free(d);
		return RW_ENOMEM;
	}
	for (unsigned i = 0; i < n_queues; i++) {
		if ((d->queues[i].ioq = fstrm_iothr_get_input_queue_idx(d->iothr, i)) == NULL) {
			rwd_error("dnstap: cannot get writer queue %u", i);
			dnstap_free(d);
			return RW_ENOMEM;
		}
	}
	rwd_info("dnstap: logging %s%s%s to %s", d->log_queries ? "queries" : "",
	         d->log_queries && d->log_responses ? " and " : "",
	         d->log_responses ? "responses" : "", d->where);
	*out = d;
	return 0;
}
