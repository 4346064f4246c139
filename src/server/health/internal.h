/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the health service: what health.c (service, schedule, state,
 * publication) shares with the probes (probe_tcp.c, probe_http.c,
 * probe_dns.c). Everything here runs on the health thread.
 *
 * A target is one checked slot; it lives as long as its slot has a check in
 * the current model. A probe is one attempt at it: allocated when due,
 * finished exactly once (hc_probe_finish, or hc_probe_abort when its target
 * goes away), freed when its last libuv handle has closed. A probe reads the
 * check only through p->t->check while p->t is set, so a model swapped by
 * rwd_health_apply() is never read after apply returns.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <uv.h>

#include "server/health/flap.h"
#include "server/health/health.h"

#define HC_READ_MAX   (64 * 1024)    /* bytes of an HTTP response we look at */
#define HC_LABEL_MAX  300

struct hc_probe;

struct hc_target {
	struct rwd_health *h;
	uv_timer_t timer;              /* the schedule; .data = this */
	struct hc_probe *probe;        /* in flight, or NULL */
	const struct rwd_check *check; /* in the current model */
	uint32_t slot;
	char *key;                     /* "check|address" or "check|name.": carries state across models */
	char *endpoint;                /* endpoint name (own copy) */
	char label[HC_LABEL_MAX];      /* "192.0.2.1:80", "[2001:db8::1]:53", "lb.example.net:443" */
	char host[260];                /* address or name, no port, no brackets: Host, SNI, verification */
	bool is_name;                  /* host must be resolved (CNAME endpoint) */
	struct sockaddr_storage sa;    /* !is_name: address and port */
	uint16_t port;
	unsigned interval_ms;
	uint64_t due_ms;               /* loop time the next probe is due */
	/* state: written by the health thread under h->lock */
	uint8_t state;                 /* published: raw, or down while flap.held */
	uint8_t raw;                   /* what rise and fall say */
	struct rwd_flap flap;
	bool checked;
	unsigned in_row;               /* consecutive passes (passing) or failures */
	bool passing;                  /* what in_row counts */
	struct rwd_slot_info info;
	int64_t cert_warned_day;       /* days since the epoch of the last expiry warning */
	SSL_SESSION *tls_session;      /* https: to resume, or NULL */
	bool tls_session_verify;       /* ... got with tls_verify */
	char tls_session_host[260];    /* ... for this name */
	bool claimed;                  /* during apply */
};

struct hc_probe {
	struct rwd_health *h;
	struct hc_target *t;           /* NULL once finished or aborted */
	enum rwd_check_type type;
	bool done;
	unsigned refs;                 /* handles open + requests pending; freed at 0 */
	uint64_t started_us;
	unsigned timeout_ms;
	const char *phase;             /* what a timeout interrupted: "connect", ... */
	uv_timer_t timer;              /* timeout */
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_udp_t udp;
	} io;
	bool io_open;                  /* io initialised and not yet closed */
	bool connected, eof;
	uv_connect_t connect;
	uv_getaddrinfo_t gai;
	bool gai_pending;
	struct sockaddr_storage sa;    /* what is probed (resolved when is_name) */
	/* http(s) */
	SSL *ssl;                      /* with its memory BIOs */
	BIO *rbio, *wbio;
	bool hs_done;
	char tls_name[260];            /* SNI / verification name */
	char *req;
	size_t req_len;
	char *resp;
	size_t resp_len, resp_cap;
	/* dns */
	uint8_t *query;
	size_t query_len;
	uint16_t dns_id;
	uint8_t qname[255];
	uint16_t qtype;
};

struct rwd_health {
	uv_loop_t loop;
	uv_async_t async;              /* apply and stop requests */
	uv_timer_t publish_timer;
	uv_thread_t thread;
	bool thread_started;

	/* requests from other threads, under cmd_lock */
	pthread_mutex_t cmd_lock;
	pthread_cond_t cmd_cond;
	pthread_mutex_t apply_lock;    /* one apply at a time */
	const struct rwd_model *cmd_model;
	bool cmd_apply, cmd_stop;
	uint64_t cmd_seq, cmd_done_seq;

	/* targets, their state and stats: written by the health thread, read
	 * by rwd_health_foreach / rwd_health_get_stats, under lock */
	pthread_mutex_t lock;
	struct hc_target **targets;    /* sorted by slot */
	size_t n_targets;
	uint32_t n_slots;
	struct rwd_health_stats stats;

	uint64_t generation;
	/* probes ended by hc_probe_error for a local error, not yet logged */
	uint64_t unstarted_unlogged, unstarted_logged_at;
	char unstarted_last[HC_LABEL_MAX + 64];
	bool dirty;                    /* a state changed since the last publication */
	uint64_t last_publish_ms;
	bool stopping;

	SSL_CTX *tls_noverify, *tls_verify;
	uint64_t rng;
	char scratch[HC_READ_MAX];     /* read buffer for every socket: data is consumed in the callback */
};

/* Result of p: pass or fail with a short reason. The first call counts. */
void hc_probe_finish(struct hc_probe *p, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * p could not go on for want of a local resource, or failed with err: when
 * err (a libuv code) says this host ran out of something (descriptors,
 * memory, buffers, local ports), the probe ends without a result (the
 * slot keeps its state; counted as unstarted, logged at most every
 * HC_UNSTARTED_LOG_MS); else it fails with "what: <error text>".
 * "Could not open a socket" is never "the endpoint is down".
 */
void hc_probe_error(struct hc_probe *p, const char *what, int err);
/* True for the errors hc_probe_error does not count against the endpoint. */
bool hc_local_error(int err);
#define HC_UNSTARTED_LOG_MS 10000

/* Register a libuv handle or request of p; hc_probe_unref when it ends. */
void hc_probe_ref(struct hc_probe *p);
void hc_probe_unref(struct hc_probe *p);
/* uv_close callback for handles of a probe. */
void hc_probe_on_close(uv_handle_t *handle);
/* Loop-wide read buffer (for uv_read_start / uv_udp_recv_start). */
void hc_alloc_scratch(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);

/* Next pseudo-random 32 bits (not for secrets: DNS query ids). */
uint32_t hc_random(struct rwd_health *h);

/* probe_tcp.c: connect p->io.tcp to p->sa; cb gets the usual status. */
int hc_tcp_connect(struct hc_probe *p, uv_connect_cb cb);
/* Close p's TCP handle; with a reset when connected and not at EOF (no TIME_WAIT). */
void hc_tcp_close(struct hc_probe *p);
void hc_probe_tcp_start(struct hc_probe *p);

/* probe_http.c */
void hc_probe_http_start(struct hc_probe *p);     /* http and https */
void hc_probe_http_free(struct hc_probe *p);      /* SSL and buffers */
int hc_tls_init(struct rwd_health *h);
void hc_tls_forget(struct hc_target *t);           /* drop its TLS session */
void hc_tls_free(struct rwd_health *h);

/* probe_dns.c */
void hc_probe_dns_start(struct hc_probe *p);
void hc_probe_dns_free(struct hc_probe *p);
