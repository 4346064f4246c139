/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dnstap query logging: each query and/or response becomes one "Dnstap"
 * protobuf frame (Message type AUTH_QUERY / AUTH_RESPONSE), written in the
 * Frame Streams format by libfstrm to a file or a unix socket, as Knot DNS,
 * BIND, Unbound and CoreDNS write it (read it with `dnstap-ldns -r FILE`).
 *
 * Threads. Every thread that answers queries takes its own queue with
 * rwd_dnstap_queue_take() before it starts (one per UDP worker, one for
 * TCP). rwd_dnstap_log() then encodes the frame into that queue's
 * preallocated ring and hands it to libfstrm's single-producer queue, which
 * its I/O thread drains to the output: no lock, no allocation, no system
 * call on most frames (libfstrm's thread is woken when a queue is half
 * full, and writes at least once a second). When the output falls behind
 * (ring or queue full) the frame is dropped and counted, so a slow or
 * absent collector never delays an answer.
 *
 * The settings apply at start; a reload (SIGHUP) that changes them says so
 * in the log and keeps the running output (rwd_dnstap_opts_equal).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct rwd_dnstap;
struct rwd_dnstap_queue;

/*
 * The settings, as the configuration's dnstap section gives them (conf
 * embeds this struct, so dnstap/ needs nothing of the YAML schema). conf
 * checks them: at most one of file and socket, the socket path fits
 * sun_path, identity up to 255 bytes, not both log_* false. The strings
 * belong to the holder.
 */
struct rwd_dnstap_opts {
	char *file;                    /* write frames to this file; or socket */
	char *socket;                  /* or send them to a collector on this unix socket */
	char *identity;                /* in every frame; NULL: the host name */
	bool log_queries;              /* AUTH_QUERY frames */
	bool log_responses;            /* AUTH_RESPONSE frames */
};

/*
 * Start the writer for opts, with n_queues producer queues. Returns 0 with
 * *out NULL when opts has neither file nor socket (off); 0 with *out set;
 * or a negative RW_E* code after logging why (the file cannot be opened for
 * writing, out of memory). version goes into every frame. The writer keeps
 * no pointer into opts.
 */
int rwd_dnstap_start(const struct rwd_dnstap_opts *opts, const char *version, unsigned n_queues,
                     struct rwd_dnstap **out);

/*
 * Take the next unused producer queue, for one thread's use only. NULL when
 * d is NULL or all n_queues are taken (that thread then logs nothing).
 */
struct rwd_dnstap_queue *rwd_dnstap_queue_take(struct rwd_dnstap *d);

/*
 * Flush what is queued to the output, stop the I/O thread, free d and its
 * queues. Pre: no thread logs any more (transports stopped). NULL is allowed.
 */
void rwd_dnstap_stop(struct rwd_dnstap *d);

/* One exchange as the transport saw it. */
struct rwd_dnstap_msg {
	bool tcp;
	const struct sockaddr *client;   /* query address and port; may be NULL */
	const struct sockaddr *server;   /* response address and port; may be NULL */
	struct timespec query_time;      /* CLOCK_REALTIME when the query arrived */
	const uint8_t *query;
	size_t query_len;
	const uint8_t *response;         /* NULL or response_len 0: nothing was sent */
	size_t response_len;
};

/*
 * Log m as configured: an AUTH_QUERY frame (log_queries) and, if a response
 * was sent, an AUTH_RESPONSE frame (log_responses), stamped now. Never
 * blocks. Pre: q was taken by the calling thread.
 */
void rwd_dnstap_log(struct rwd_dnstap_queue *q, const struct rwd_dnstap_msg *m);

/* Frames handed to the writer and frames dropped so far (any thread; approximate while running). */
void rwd_dnstap_counts(const struct rwd_dnstap *d, uint64_t *written, uint64_t *dropped);

/* Whether a and b are the same settings (reload: they change only at restart). */
bool rwd_dnstap_opts_equal(const struct rwd_dnstap_opts *a, const struct rwd_dnstap_opts *b);

/*
 * Encode one Dnstap frame for m into buf (cap bytes): type 1 AUTH_QUERY or
 * 2 AUTH_RESPONSE, identity and version as given (may be NULL). Returns the
 * frame's start within buf and sets *len, or NULL if cap is too small. For
 * tests; rwd_dnstap_log uses the same encoder.
 */
uint8_t *rwd_dnstap_encode(uint8_t *buf, size_t cap, int type, const char *identity,
                           const char *version, const struct rwd_dnstap_msg *m,
                           const struct timespec *response_time, size_t *len);
