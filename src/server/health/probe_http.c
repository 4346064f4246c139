/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTP and HTTPS probes on the health loop.
 *
 * One request per connection:
 *   GET <path> HTTP/1.1\r\nHost: <host>\r\nUser-Agent: runway-health\r\n
 *   Connection: close\r\n\r\n
 * then the response is read, at most HC_READ_MAX bytes of it. The probe is
 * judged as soon as it can be: on the status line when no body is expected
 * or the status is wrong, else when the body is complete (Content-Length,
 * the last chunk, end of stream, or HC_READ_MAX bytes).
 *
 * HTTPS runs OpenSSL over memory BIOs: bytes read from the socket go into
 * the read BIO, whatever OpenSSL wants to send is taken from the write BIO
 * and written to the socket, so the TLS state machine never blocks and
 * never touches the socket itself. SNI is the check's host (or the CNAME
 * name); an address gets no SNI. The chain is verified only with
 * tls_verify, against the system trust store, and the name (or address)
 * must match. After each handshake the certificate's expiry is compared
 * with cert_warn_days (a warning at most once a day per slot).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "lib/error.h"
#include "server/common/log.h"
#include "server/health/internal.h"

/* ---- TLS contexts and sessions ---- */

/*
 * Each target keeps the last TLS session its server gave it and offers it
 * on the next probe: a resumed handshake skips certificate parsing and
 * verification, the bulk of a probe's CPU time. The session is kept only
 * for the same verification setting and name (checked at each probe), and a
 * resumed verified handshake must still carry a good verification result.
 */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct hc_probe *p = SSL_get_app_data(ssl);
	if (p == NULL || p->t == NULL)
		return 0;
	struct hc_target *t = p->t;
	SSL_SESSION_free(t->tls_session);
	t->tls_session = sess;           /* returning 1: the reference is ours */
	t->tls_session_verify = t->check->tls_verify;
	snprintf(t->tls_session_host, sizeof(t->tls_session_host), "%s", p->tls_name);
	return 1;
}

void hc_tls_forget(struct hc_target *t)
{
	SSL_SESSION_free(t->tls_session);
	t->tls_session = NULL;
}

static SSL_CTX *ctx_new(bool verify)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (verify && SSL_CTX_set_default_verify_paths(ctx) != 1)
		rwd_warn("health: cannot load the system CA certificates: HTTPS checks with tls_verify will fail");
	return ctx;
}

int hc_tls_init(struct rwd_health *h)
{
	/* Contexts are made at the first HTTPS probe (tls_ctx): OpenSSL's
	 * initialisation and the system trust store cost megabytes that a
	 * server without HTTPS checks should not pay (measured: 4 MiB RSS). */
	h->tls_noverify = h->tls_verify = NULL;
	return 0;
}

/* The TLS context for a probe; health thread only, so no lock. */
static SSL_CTX *tls_ctx(struct rwd_health *h, bool verify)
{
	SSL_CTX **slot = verify ? &h->tls_verify : &h->tls_noverify;
	if (*slot == NULL && (*slot = ctx_new(verify)) == NULL)
		rwd_error("health: cannot create a TLS context");
	return *slot;
}

void hc_tls_free(struct rwd_health *h)
{
	SSL_CTX_free(h->tls_noverify);
	SSL_CTX_free(h->tls_verify);
	h->tls_noverify = h->tls_verify = NULL;
}

void hc_probe_http_free(struct hc_probe *p)
{
	/* We close without a close_notify of our own; say it was sent, or
	 * OpenSSL marks the session as not resumable. */
	if (p->ssl && p->hs_done)
		SSL_set_shutdown(p->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(p->ssl);                /* and its BIOs */
	p->ssl = NULL;
	free(p->req);
	free(p->resp);
	p->req = p->resp = NULL;
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* ---- writing ---- */

struct wreq {
	uv_write_t req;
	struct hc_probe *p;
	char data[];
};

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct hc_probe *p = w->p;
	free(w);
	/* After a close, queued writes end with UV_ECANCELED before the close callback. */
	if (status < 0 && !p->done)
		hc_probe_error(p, "send", status);
}

/* Send n bytes: straight away if the socket takes them, else copied into a request. */
static int send_bytes(struct hc_probe *p, const char *data, size_t n)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
	int r = uv_try_write(&p->io.stream, &b, 1);
	if (r >= 0 && (size_t)r == n)
		return 0;
	if (r < 0 && r != UV_EAGAIN)
		return r;
	if (r > 0) {
		data += r;
		n -= (size_t)r;
	}
	struct wreq *w = malloc(sizeof(*w) + n);
	if (w == NULL)
		return UV_ENOMEM;
	w->p = p;
	memcpy(w->data, data, n);
	b = uv_buf_init(w->data, (unsigned)n);
	r = uv_write(&w->req, &p->io.stream, &b, 1, on_write);
	if (r < 0)
		free(w);
	return r;
}

/* ---- the response ---- */

struct http_head {
	int status;                      /* 0: status line not complete yet */
	bool malformed;
	size_t body;                     /* offset of the body; 0: headers not complete */
	long long content_length;        /* -1: none */
	bool chunked;
};

static bool status_expected(const struct rwd_check *c, int status)
{
	if (c->n_expect_status == 0)
		return status == 200;
	for (unsigned i = 0; i < c->n_expect_status && i < RWD_CHECK_MAX_STATUS; i++)
		if (c->expect_status[i] == status)
			return true;
	return false;
}

static const char *find_eol(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	return nl;
}

/* Parse as much of the response head as buf holds. */
static void parse_head(const char *buf, size_t len, struct http_head *hd)
{
	memset(hd, 0, sizeof(*hd));
	hd->content_length = -1;
	const char *end = buf + len, *eol = find_eol(buf, end);
	if (eol == NULL)
		return;
	/* HTTP/x.y SSS[ reason] */
	const char *s = buf;
	if ((size_t)(eol - s) < 12 || memcmp(s, "HTTP/", 5) != 0 || !isdigit((unsigned char)s[5]) ||
	    s[6] != '.' || !isdigit((unsigned char)s[7]) || s[8] != ' ' ||
	    !isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
	    !isdigit((unsigned char)s[11]) || (s[12] != ' ' && s[12] != '\r' && s[12] != '\n')) {
		hd->malformed = true;
		return;
	}
	hd->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	for (const char *line = eol + 1; line < end; line = eol + 1) {
		eol = find_eol(line, end);
		if (eol == NULL)
			return;                  /* headers not complete */
		size_t l = (size_t)(eol - line);
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l == 0) {
			hd->body = (size_t)(eol + 1 - buf);
			return;
		}
		const char *colon = memchr(line, ':', l);
		if (colon == NULL)
			continue;
		size_t nl = (size_t)(colon - line);
		const char *v = colon + 1, *vend = line + l;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
			long long n = 0;
			bool digits = false;
			for (; v < vend && isdigit((unsigned char)*v) && n < (1LL << 40); v++, digits = true)
				n = n * 10 + (*v - '0');
			if (digits)
				hd->content_length = n;
		} else if (nl == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
			for (const char *q = v; q + 7 <= vend; q++)
				if (strncasecmp(q, "chunked", 7) == 0)
					hd->chunked = true;
		}
	}
}

/* Decode a chunked body in place; returns the decoded length. Stops at
 * anything malformed or incomplete and keeps what was decoded so far. */
static size_t dechunk(char *b, size_t len)
{
	size_t in = 0, out = 0;
	while (in < len) {
		const char *eol = memchr(b + in, '\n', len - in);
		if (eol == NULL)
			break;
		size_t size = 0;
		bool digits = false;
		for (; in < len && isxdigit((unsigned char)b[in]) && size < (1u << 24); in++, digits = true)
			size = size * 16 + (size_t)(isdigit((unsigned char)b[in]) ? b[in] - '0'
			                                                       : (tolower((unsigned char)b[in]) - 'a' + 10));
		if (!digits || size == 0)
			break;
		in = (size_t)(eol - b) + 1;
		size_t take = size < len - in ? size : len - in;
		memmove(b + out, b + in, take);
		out += take;
		in += take;
		if (take < size)
			break;
		if (in < len && b[in] == '\r')
			in++;
		if (in < len && b[in] == '\n')
			in++;
	}
	return out;
}

/* Can the probe be judged with what has been read so far (not at EOF)? */
static bool http_ready(struct hc_probe *p)
{
	if (p->resp_len >= HC_READ_MAX)
		return true;
	struct http_head hd;
	parse_head(p->resp, p->resp_len, &hd);
	if (hd.malformed)
		return true;
	if (hd.status == 0)
		return false;
	const struct rwd_check *c = p->t->check;
	if (!status_expected(c, hd.status) || c->expect_body == NULL || c->expect_body[0] == '\0')
		return true;
	p->phase = "reading the response body";
	if (hd.body == 0)
		return false;
	size_t blen = p->resp_len - hd.body;
	if (hd.chunked) {
		static const char last[] = "0\r\n\r\n";
		const char *b = p->resp + hd.body;
		return (blen == 5 && memcmp(b, last, 5) == 0) ||
		       (blen >= 7 && memcmp(b + blen - 7, "\r\n0\r\n\r\n", 7) == 0);
	}
	return hd.content_length >= 0 && (long long)blen >= hd.content_length;
}

static void http_judge(struct hc_probe *p)
{
	const struct rwd_check *c = p->t->check;
	struct http_head hd;
	parse_head(p->resp, p->resp_len, &hd);
	if (hd.status == 0) {
		if (p->resp_len == 0)
			hc_probe_finish(p, false, "HTTP: connection closed without a response");
		else
			hc_probe_finish(p, false, "HTTP: malformed status line");
		return;
	}
	if (!status_expected(c, hd.status)) {
		hc_probe_finish(p, false, "HTTP %d", hd.status);
		return;
	}
	const char *want = c->expect_body;
	if (want && *want) {
		if (hd.body == 0) {
			hc_probe_finish(p, false, "HTTP %d: incomplete headers", hd.status);
			return;
		}
		char *b = p->resp + hd.body;
		size_t blen = p->resp_len - hd.body;
		if (hd.content_length >= 0 && (long long)blen > hd.content_length)
			blen = (size_t)hd.content_length;
		if (hd.chunked)
			blen = dechunk(b, blen);
		if (memmem(b, blen, want, strlen(want)) == NULL) {
			hc_probe_finish(p, false, "body does not contain '%.40s'", want);
			return;
		}
	}
	hc_probe_finish(p, true, "HTTP %d", hd.status);
}

/* Append response bytes (beyond HC_READ_MAX they are dropped); judge when ready. */
static void http_data(struct hc_probe *p, const char *data, size_t n)
{
	if (p->resp_len + n > HC_READ_MAX)
		n = HC_READ_MAX - p->resp_len;
	if (p->resp_len + n > p->resp_cap) {
		size_t cap = p->resp_cap ? p->resp_cap : 1024;
		while (cap < p->resp_len + n)
			cap *= 2;
		if (cap > HC_READ_MAX)
			cap = HC_READ_MAX;
		char *nb = realloc(p->resp, cap);
		if (nb == NULL) {
			hc_probe_error(p, "memory", UV_ENOMEM);
			return;
		}
		p->resp = nb;
		p->resp_cap = cap;
	}
	memcpy(p->resp + p->resp_len, data, n);
	p->resp_len += n;
	if (http_ready(p))
		http_judge(p);
}

/* ---- TLS ---- */

static void tls_fail(struct hc_probe *p, const char *what)
{
	const struct rwd_check *c = p->t->check;
	long vr = SSL_get_verify_result(p->ssl);
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	if (c->tls_verify && vr != X509_V_OK)
		hc_probe_finish(p, false, "TLS: certificate verify failed (%s)",
		                X509_verify_cert_error_string(vr));
	else if (reason)
		hc_probe_finish(p, false, "TLS: %s", reason);
	else
		hc_probe_finish(p, false, "TLS: %s failed", what);
	ERR_clear_error();
}

/* Write out whatever OpenSSL has queued. false when the probe failed. */
static bool tls_flush(struct hc_probe *p)
{
	char buf[16384];
	for (int guard = 0; guard < 1024; guard++) {
		int n = BIO_read(p->wbio, buf, sizeof(buf));
		if (n <= 0)
			return true;
		int r = send_bytes(p, buf, (size_t)n);
		if (r < 0) {
			hc_probe_error(p, "send", r);
			return false;
		}
	}
	return true;
}

static void tls_cert_check(struct hc_probe *p)
{
	struct hc_target *t = p->t;
	const struct rwd_check *c = t->check;
	if (c->cert_warn_days == 0)
		return;
	X509 *cert = SSL_get0_peer_certificate(p->ssl);
	if (cert == NULL)
		return;
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	int days = 0, secs = 0;
	if (na == NULL || !ASN1_TIME_diff(&days, &secs, NULL, na))
		return;
	if (days >= (int)c->cert_warn_days)
		return;
	int64_t today = (int64_t)(time(NULL) / 86400);
	if (t->cert_warned_day == today)
		return;
	t->cert_warned_day = today;
	struct tm tm;
	char when[40] = "?";
	if (ASN1_TIME_to_tm(na, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (days < 0 || (days == 0 && secs < 0))
		rwd_warn("health: %s %s: TLS certificate expired %d day(s) ago (%s)", t->endpoint,
		         t->label, -days, when);
	else
		rwd_warn("health: %s %s: TLS certificate expires in %d day(s) (%s)", t->endpoint,
		         t->label, days, when);
}

/* Move the TLS state machine as far as the bytes at hand allow. */
static void tls_pump(struct hc_probe *p)
{
	ERR_clear_error();
	if (!p->hs_done) {
		int r = SSL_do_handshake(p->ssl);
		if (r != 1) {
			int e = SSL_get_error(p->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				tls_flush(p);
			else
				tls_fail(p, "handshake");
			return;
		}
		p->hs_done = true;
		p->phase = "waiting for response";
		if (p->t->check->tls_verify && SSL_get_verify_result(p->ssl) != X509_V_OK) {
			/* only a resumed session can get here: drop it, fail like the full handshake */
			hc_tls_forget(p->t);
			tls_fail(p, "handshake");
			return;
		}
		tls_cert_check(p);
		if (SSL_write(p->ssl, p->req, (int)p->req_len) <= 0) {
			tls_fail(p, "write");
			return;
		}
	}
	for (int guard = 0; guard < 1024 && !p->done; guard++) {
		char buf[16384];
		int n = SSL_read(p->ssl, buf, sizeof(buf));
		if (n > 0) {
			http_data(p, buf, (size_t)n);
			continue;
		}
		int e = SSL_get_error(p->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		if (e == SSL_ERROR_ZERO_RETURN) {   /* close_notify: the response is complete */
			http_judge(p);
			return;
		}
		tls_fail(p, "read");
		return;
	}
	if (!p->done)
		tls_flush(p);
}

/* ---- the connection ---- */

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct hc_probe *p = s->data;
	if (p->done || nread == 0)
		return;
	if (nread < 0) {
		if (nread != UV_EOF) {
			hc_probe_error(p, "read", (int)nread);
			return;
		}
		p->eof = true;
		if (p->ssl && !p->hs_done)
			hc_probe_finish(p, false, "TLS: connection closed during the handshake");
		else
			http_judge(p);   /* also TLS without close_notify: what was read counts */
		return;
	}
	if (p->ssl) {
		if (BIO_write(p->rbio, buf->base, (int)nread) != (int)nread) {
			hc_probe_error(p, "memory", UV_ENOMEM);
			return;
		}
		tls_pump(p);
	} else {
		http_data(p, buf->base, (size_t)nread);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct hc_probe *p = req->handle->data;
	if (p->done)
		return;
	if (status < 0) {
		hc_probe_error(p, "connect", status);
		return;
	}
	p->connected = true;
	int r = uv_read_start(&p->io.stream, hc_alloc_scratch, on_read);
	if (r < 0) {
		hc_probe_error(p, "read", r);
		return;
	}
	if (p->ssl) {
		p->phase = "TLS handshake";
		tls_pump(p);
		return;
	}
	p->phase = "waiting for response";
	if ((r = send_bytes(p, p->req, p->req_len)) < 0)
		hc_probe_error(p, "send", r);
}

void hc_probe_http_start(struct hc_probe *p)
{
	struct hc_target *t = p->t;
	const struct rwd_check *c = t->check;
	bool tls = p->type == RWD_CHECK_HTTPS;
	const char *name = c->host && c->host[0] ? c->host : t->host;
	char hostbuf[300];
	const char *host = name;
	if (!(c->host && c->host[0])) {  /* the address (or CNAME), with the port unless default */
		bool v6 = strchr(t->host, ':') != NULL;
		if (t->port != (tls ? 443 : 80))
			snprintf(hostbuf, sizeof(hostbuf), "%s%s%s:%u", v6 ? "[" : "", t->host, v6 ? "]" : "", t->port);
		else
			snprintf(hostbuf, sizeof(hostbuf), "%s%s%s", v6 ? "[" : "", t->host, v6 ? "]" : "");
		host = hostbuf;
	}
	int n = asprintf(&p->req,
	                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: runway-health\r\nConnection: close\r\n\r\n",
	                 c->path && c->path[0] ? c->path : "/", host);
	if (n < 0) {
		p->req = NULL;
		hc_probe_error(p, "memory", UV_ENOMEM);
		return;
	}
	p->req_len = (size_t)n;

	if (tls) {
		struct rwd_health *h = p->h;
		SSL_CTX *ctx = tls_ctx(h, c->tls_verify);
		p->ssl = ctx ? SSL_new(ctx) : NULL;
		BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
		if (p->ssl == NULL || rb == NULL || wb == NULL) {
			BIO_free(rb);
			BIO_free(wb);
			hc_probe_error(p, "TLS", UV_ENOMEM);
			return;
		}
		BIO_set_mem_eof_return(rb, -1);  /* empty: "retry", not end of stream */
		SSL_set_bio(p->ssl, rb, wb);
		p->rbio = rb;
		p->wbio = wb;
		SSL_set_connect_state(p->ssl);
		SSL_set_app_data(p->ssl, p);
		snprintf(p->tls_name, sizeof(p->tls_name), "%s", name);
		if (t->tls_session) {
			if (t->tls_session_verify == c->tls_verify && strcmp(t->tls_session_host, name) == 0 &&
			    SSL_SESSION_is_resumable(t->tls_session))
				SSL_set_session(p->ssl, t->tls_session);
			else
				hc_tls_forget(t);
		}
		bool literal = is_ip_literal(name);
		if (!literal)
			SSL_set_tlsext_host_name(p->ssl, name);
		if (c->tls_verify) {
			if (literal)
				X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p->ssl), name);
			else
				SSL_set1_host(p->ssl, name);
		}
	}
	int r = hc_tcp_connect(p, on_connect);
	if (r < 0)
		hc_probe_error(p, "connect", r);
}
