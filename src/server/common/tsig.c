/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG (RFC 8945) on wire buffers, over libknot's knot_tsig_* (see tsig.h).
 *
 * libknot wants the signed record as a knot_rrset_t and the message it
 * covers without it (ARCOUNT one less), as its packet parser leaves them:
 * tsig_rr_read() builds both from the wire. The algorithm names, sizes and
 * the records of error answers are written here (no libdnssec symbol is
 * called: the build links libknot only). The one thing libknot cannot do is
 * hash answers left unsigned between signed ones (RFC 8945 5.3.1, as NSD
 * sends transfers): its check takes one buffer; that HMAC runs here, on
 * OpenSSL's EVP_MAC, message by message.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libknot/errcode.h>
#include <libknot/rrtype/tsig.h>
#include <libknot/tsig-op.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/common/tsig.h"

#define TYPE_TSIG 250
#define FUDGE 300                      /* as Knot DNS and BIND: KNOT_TSIG_FUDGE_DEFAULT */
#define MAX_UNSIGNED 99                /* RFC 8945 5.3.1: every 100th message signed */

/* The algorithms, in dnssec_tsig_algorithm_t order from HMAC_SHA1. */
static const struct alg {
	const char *name;
	const uint8_t *dname;              /* flat */
	uint8_t dname_len;
	uint8_t mac_len;
	const char *digest;                /* OpenSSL's name */
} algs[] = {
	{ "hmac-sha1", (const uint8_t *)"\x09hmac-sha1", 11, 20, "SHA1" },
	{ "hmac-sha224", (const uint8_t *)"\x0bhmac-sha224", 13, 28, "SHA224" },
	{ "hmac-sha256", (const uint8_t *)"\x0bhmac-sha256", 13, 32, "SHA256" },
	{ "hmac-sha384", (const uint8_t *)"\x0bhmac-sha384", 13, 48, "SHA384" },
	{ "hmac-sha512", (const uint8_t *)"\x0bhmac-sha512", 13, 64, "SHA512" },
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

static const struct alg *alg_of(const struct rwd_tsig_key *k)
{
	return &algs[k->alg - DNSSEC_TSIG_HMAC_SHA1];
}

/* ---- keys ---- */

static void key_clear(struct rwd_tsig_key *k)
{
	knot_tsig_key_t *kk = k->knot;
	if (kk) {
		free(kk->name);
		free(kk);
	}
	if (k->secret)
		OPENSSL_cleanse(k->secret, k->secret_len);
	free(k->secret);
	memset(k, 0, sizeof(*k));
}

/* k: name, alg and alg_text set; copies secret and makes k->knot. */
static int key_fill(struct rwd_tsig_key *k, const uint8_t *secret, size_t secret_len)
{
	knot_tsig_key_t *kk = calloc(1, sizeof(*kk));
	k->secret = malloc(secret_len);
	if (kk == NULL || k->secret == NULL) {
		free(kk);
		free(k->secret);
		k->secret = NULL;
		return RW_ENOMEM;
	}
	kk->name = malloc(k->name_len);
	if (kk->name == NULL) {
		free(kk);
		free(k->secret);
		k->secret = NULL;
		return RW_ENOMEM;
	}
	memcpy(k->secret, secret, secret_len);
	k->secret_len = secret_len;
	memcpy(kk->name, k->name, k->name_len);
	kk->algorithm = (dnssec_tsig_algorithm_t)k->alg;
	kk->secret.data = k->secret;
	kk->secret.size = secret_len;
	k->knot = kk;
	return 0;
}

int rwd_tsig_keyring_add(struct rwd_tsig_keyring *kr, const uint8_t *name, const char *alg,
                         const uint8_t *secret, size_t secret_len)
{
	size_t i, name_len = rw_dname_len(name);
	for (i = 0; i < N_ALGS && strcasecmp(alg, algs[i].name) != 0; i++)
		;
	if (i == N_ALGS || secret_len == 0 || name_len > sizeof(((struct rwd_tsig_key *)0)->name))
		return RW_EINVAL;
	struct rwd_tsig_key *keys = realloc(kr->keys, (kr->n + 1) * sizeof(*keys));
	if (keys == NULL)
		return RW_ENOMEM;
	kr->keys = keys;
	/* Adding moved the keys: their knot_tsig_key_t point at their own
	 * copies, not into the array, so nothing else moved. */
	struct rwd_tsig_key *k = &keys[kr->n];
	memset(k, 0, sizeof(*k));
	memcpy(k->name, name, name_len);
	k->name_len = (uint8_t)name_len;
	rw_dname_lower(k->name);
	k->alg = DNSSEC_TSIG_HMAC_SHA1 + (int)i;
	k->alg_text = algs[i].name;
	int r = key_fill(k, secret, secret_len);
	if (r < 0)
		return r;
	kr->n++;
	return 0;
}

void rwd_tsig_keyring_free(struct rwd_tsig_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		key_clear(&kr->keys[i]);
	free(kr->keys);
	kr->keys = NULL;
	kr->n = 0;
}

static bool name_eq_lc(const uint8_t *lc, size_t lc_len, const uint8_t *name, size_t len)
{
	if (lc_len != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i];
		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c != lc[i])
			return false;
	}
	return true;
}

const struct rwd_tsig_key *rwd_tsig_keyring_find(const struct rwd_tsig_keyring *kr,
                                                 const uint8_t *name, size_t len)
{
	for (size_t i = 0; kr != NULL && i < kr->n; i++)
		if (name_eq_lc(kr->keys[i].name, kr->keys[i].name_len, name, len))
			return &kr->keys[i];
	return NULL;
}

struct rwd_tsig_key *rwd_tsig_key_dup(const struct rwd_tsig_key *k)
{
	if (k == NULL)
		return NULL;
	struct rwd_tsig_key *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	memcpy(d->name, k->name, k->name_len);
	d->name_len = k->name_len;
	d->alg = k->alg;
	d->alg_text = k->alg_text;     /* a static string */
	if (key_fill(d, k->secret, k->secret_len) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void rwd_tsig_key_free(struct rwd_tsig_key *k)
{
	if (k == NULL)
		return;
	key_clear(k);
	free(k);
}

size_t rwd_tsig_rr_size(const struct rwd_tsig_key *key)
{
	/* owner, type..rdlength, algorithm, time (6), fudge, MAC size, MAC,
	 * original ID, error, other length, other data (BADTIME: 6) */
	const struct alg *a = alg_of(key);
	return key->name_len + 10u + a->dname_len + 6 + 2 + 2 + a->mac_len + 2 + 2 + 2 + 6;
}

/* ---- reading a TSIG RR ---- */

/* A TSIG RR read from a message, as libknot wants it. */
struct tsig_rr {
	uint8_t owner[RW_DNAME_MAXLEN];    /* flat, lowercased */
	size_t owner_len;
	knot_rrset_t rrset;                /* owner and rdata point into this */
	knot_rdata_t *rdata;               /* malloc'd */
	/* the fields, read from the rdata */
	const uint8_t *alg;                /* flat, as written */
	size_t alg_len;
	uint64_t time_signed;
	uint16_t fudge;
	const uint8_t *mac;
	uint16_t mac_len;
	uint16_t error;
};

static uint64_t get48(const uint8_t *p)
{
	return (uint64_t)rw_get16(p) << 32 | rw_get32(p + 2);
}

static void put48(uint8_t *p, uint64_t v)
{
	rw_put16(p, (uint16_t)(v >> 32));
	rw_put32(p + 2, (uint32_t)v);
}

/*
 * Read the TSIG RR at rr of msg[0..len): it must end the message. The
 * algorithm name is never compressed (RFC 8945 4.2: RDATA of a type newer
 * than RFC 1035); the owner may be. 0, RW_EMALFORMED or RW_ENOMEM.
 */
static int tsig_rr_read(const uint8_t *msg, size_t len, const struct rwd_tsig_rr *rr,
                        struct tsig_rr *t)
{
	t->rdata = NULL;
	if (rr->at < RW_HDR_LEN || rr->at + rr->len != len || rw_get16(msg + 10) == 0)
		return RW_EMALFORMED;
	size_t p = rr->at;
	int n = rw_dname_unpack(msg, len, &p, t->owner);
	if (n < 0 || p + 10 > len || rw_get16(msg + p) != TYPE_TSIG)
		return RW_EMALFORMED;
	t->owner_len = (size_t)n;
	rw_dname_lower(t->owner);
	uint16_t rclass = rw_get16(msg + p + 2);
	uint32_t ttl = rw_get32(msg + p + 4);
	uint16_t rdlen = rw_get16(msg + p + 8);
	const uint8_t *rd = msg + p + 10, *end = rd + rdlen;
	if (p + 10 + rdlen != len)
		return RW_EMALFORMED;
	/* algorithm name: flat labels within the rdata */
	const uint8_t *q = rd;
	for (;;) {
		if (q >= end || *q > 63 || q + 1 + *q > end || q + 1 + *q - rd > RW_DNAME_MAXLEN)
			return RW_EMALFORMED;
		uint8_t l = *q;
		q += 1 + l;
		if (l == 0)
			break;
	}
	t->alg = rd;
	t->alg_len = (size_t)(q - rd);
	if (end - q < 10)
		return RW_EMALFORMED;
	t->time_signed = get48(q);
	t->fudge = rw_get16(q + 6);
	t->mac_len = rw_get16(q + 8);
	q += 10;
	if (end - q < t->mac_len + 6)
		return RW_EMALFORMED;
	t->mac = q;
	q += t->mac_len;
	t->error = rw_get16(q + 2);
	uint16_t other_len = rw_get16(q + 4);
	if (end - q - 6 != other_len)
		return RW_EMALFORMED;

	t->rdata = malloc(knot_rdata_size(rdlen));
	if (t->rdata == NULL)
		return RW_ENOMEM;
	knot_rdata_init(t->rdata, rdlen, rd);
	knot_rrset_init(&t->rrset, t->owner, TYPE_TSIG, rclass, ttl);
	t->rrset.rrs.count = 1;
	t->rrset.rrs.size = knot_rdata_size(rdlen);
	t->rrset.rrs.rdata = t->rdata;
	return 0;
}

/* msg[0..at) with ARCOUNT one less: the message its TSIG RR covers. */
static uint8_t *strip(const uint8_t *msg, size_t at)
{
	uint8_t *w = malloc(at);
	if (w != NULL) {
		memcpy(w, msg, at);
		rw_put16(w + 10, rw_get16(w + 10) - 1);
	}
	return w;
}

static uint16_t knot_to_tsig_error(int r)
{
	switch (r) {
	case KNOT_TSIG_EBADKEY: return RWD_TSIG_BADKEY;
	case KNOT_TSIG_EBADTIME: return RWD_TSIG_BADTIME;
	default: return RWD_TSIG_BADSIG;
	}
}

static bool alg_is(const struct tsig_rr *t, const struct alg *a)
{
	return name_eq_lc(a->dname, a->dname_len, t->alg, t->alg_len);
}

/* ---- server side ---- */

int rwd_tsig_server_check(const struct rwd_tsig_keyring *kr, const uint8_t *msg, size_t len,
                          const struct rwd_tsig_rr *rr, uint64_t now, struct rwd_tsig_ctx *ctx)
{
	ctx->key = NULL;
	ctx->error = 0;
	ctx->mac_len = 0;
	ctx->messages = 0;
	ctx->time_signed = 0;
	ctx->key_name_len = ctx->alg_name_len = 0;
	ctx->unsigned_run = 0;
	ctx->hmac = NULL;
	struct tsig_rr t;
	int r = tsig_rr_read(msg, len, rr, &t);
	if (r < 0) {
		free(t.rdata);
		return r;
	}
	memcpy(ctx->key_name, t.owner, t.owner_len);
	ctx->key_name_len = (uint8_t)t.owner_len;
	memcpy(ctx->alg_name, t.alg, t.alg_len);
	ctx->alg_name_len = (uint8_t)t.alg_len;
	rw_dname_lower(ctx->alg_name);
	ctx->time_signed = t.time_signed;

	/* RFC 8945 5.2.1: a key or an algorithm we do not know is BADKEY; so
	 * is a known key name with another algorithm (a different key). */
	const struct rwd_tsig_key *key = rwd_tsig_keyring_find(kr, t.owner, t.owner_len);
	if (key == NULL || !alg_is(&t, alg_of(key))) {
		free(t.rdata);
		ctx->error = RWD_TSIG_BADKEY;
		return RW_EAUTH;
	}
	uint8_t *w = strip(msg, rr->at);
	if (w == NULL) {
		free(t.rdata);
		return RW_ENOMEM;
	}
	r = knot_tsig_server_check(&t.rrset, w, rr->at, key->knot);
	free(w);
	free(t.rdata);
	if (r == KNOT_EOK && now != 0 &&
	    (now > t.time_signed + t.fudge || now + t.fudge < t.time_signed))
		r = KNOT_TSIG_EBADTIME;
	if (r == KNOT_EMALF)
		return RW_EMALFORMED;
	if (r == KNOT_ENOMEM)
		return RW_ENOMEM;
	if (r != KNOT_EOK && r != KNOT_TSIG_EBADKEY && r != KNOT_TSIG_EBADSIG &&
	    r != KNOT_TSIG_EBADTIME)
		return RW_EINVAL;
	if (r == KNOT_EOK || r == KNOT_TSIG_EBADTIME) {
		/* Verified (BADTIME comes after the MAC check): the answer is
		 * signed, chained to this MAC (RFC 8945 5.3). */
		ctx->key = key;
		memcpy(ctx->mac, t.mac, t.mac_len);   /* == the algorithm's size */
		ctx->mac_len = t.mac_len;
	}
	if (r == KNOT_EOK)
		return 0;
	ctx->error = knot_to_tsig_error(r);
	if (ctx->error != RWD_TSIG_BADTIME)
		ctx->key = NULL;
	return RW_EAUTH;
}

/* RFC 8945 5.3.2: BADKEY and BADSIG answers carry the request's key and
 * algorithm names, its time, an empty MAC and the error, unsigned (as
 * libknot's knot_tsig_add, written here without allocating). */
static int put_unsigned_error(const struct rwd_tsig_ctx *ctx, uint8_t *msg, size_t *len,
                              size_t cap)
{
	size_t rdlen = ctx->alg_name_len + 6u + 2 + 2 + 2 + 2 + 2;
	size_t need = ctx->key_name_len + 10u + rdlen;
	if (ctx->key_name_len == 0 || ctx->alg_name_len == 0)
		return RW_EINVAL;
	if (*len + need > cap || *len < RW_HDR_LEN)
		return RW_ESPACE;
	uint8_t *p = msg + *len;
	memcpy(p, ctx->key_name, ctx->key_name_len);
	p += ctx->key_name_len;
	rw_put16(p, TYPE_TSIG);
	rw_put16(p + 2, RW_CLASS_ANY);
	rw_put32(p + 4, 0);
	rw_put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, ctx->alg_name, ctx->alg_name_len);
	p += ctx->alg_name_len;
	put48(p, ctx->time_signed);
	rw_put16(p + 6, FUDGE);
	rw_put16(p + 8, 0);                   /* MAC size */
	rw_put16(p + 10, rw_get16(msg));      /* original ID */
	rw_put16(p + 12, ctx->error);
	rw_put16(p + 14, 0);                  /* other length */
	*len += need;
	rw_put16(msg + 10, rw_get16(msg + 10) + 1);
	return 0;
}

int rwd_tsig_sign_answer(struct rwd_tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
                         uint64_t now)
{
	(void)now;                            /* libknot reads the clock */
	if (ctx->error == RWD_TSIG_BADKEY || ctx->error == RWD_TSIG_BADSIG ||
	    (ctx->key == NULL && ctx->error != 0))
		return put_unsigned_error(ctx, msg, len, cap);
	if (ctx->key == NULL)
		return 0;
	size_t dlen = sizeof(ctx->mac);
	int r;
	if (ctx->messages == 0)
		r = knot_tsig_sign(msg, len, cap, ctx->mac, ctx->mac_len, ctx->mac, &dlen,
		                   ctx->key->knot, ctx->error, ctx->time_signed);
	else
		r = knot_tsig_sign_next(msg, len, cap, ctx->mac, ctx->mac_len, ctx->mac, &dlen,
		                        ctx->key->knot, msg, *len);
	if (r != KNOT_EOK)
		return r == KNOT_ESPACE ? RW_ESPACE : r == KNOT_ENOMEM ? RW_ENOMEM : RW_EINVAL;
	ctx->mac_len = dlen;
	ctx->messages++;
	return 0;
}

/* ---- client side ---- */

void rwd_tsig_ctx_clear(struct rwd_tsig_ctx *ctx)
{
	EVP_MAC_CTX_free(ctx->hmac);
	ctx->hmac = NULL;
	ctx->unsigned_run = 0;
}

int rwd_tsig_sign_request(struct rwd_tsig_ctx *ctx, const struct rwd_tsig_key *key,
                          uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
	(void)now;
	rwd_tsig_ctx_clear(ctx);
	ctx->key = NULL;
	ctx->error = 0;
	ctx->messages = 0;
	size_t at = *len, dlen = sizeof(ctx->mac);
	if (at < RW_HDR_LEN)
		return RW_EINVAL;
	int r = knot_tsig_sign(msg, len, cap, NULL, 0, ctx->mac, &dlen, key->knot, 0, 0);
	if (r != KNOT_EOK)
		return r == KNOT_ESPACE ? RW_ESPACE : r == KNOT_ENOMEM ? RW_ENOMEM : RW_EINVAL;
	ctx->key = key;
	ctx->mac_len = dlen;
	/* The time libknot wrote: the answers' must not be older. */
	ctx->time_signed = get48(msg + at + key->name_len + 10 + alg_of(key)->dname_len);
	return 0;
}

/* The HMAC of the unsigned answers since the last signed one: it starts
 * with that one's MAC (RFC 8945 5.3.1, as knot_tsig_sign_next). */
static int hmac_add(struct rwd_tsig_ctx *ctx, const uint8_t *data, size_t len)
{
	if (ctx->hmac == NULL) {
		const struct alg *a = alg_of(ctx->key);
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)a->digest, 0),
			OSSL_PARAM_construct_end(),
		};
		if (c == NULL || !EVP_MAC_init(c, ctx->key->secret, ctx->key->secret_len, params)) {
			EVP_MAC_CTX_free(c);
			return RW_ENOMEM;
		}
		uint8_t l[2];
		rw_put16(l, (uint16_t)ctx->mac_len);
		if (!EVP_MAC_update(c, l, 2) || !EVP_MAC_update(c, ctx->mac, ctx->mac_len)) {
			EVP_MAC_CTX_free(c);
			return RW_ENOMEM;
		}
		ctx->hmac = c;
	}
	return EVP_MAC_update(ctx->hmac, data, len) ? 0 : RW_ENOMEM;
}

/* A signed answer after unsigned ones: their HMAC, this message (stripped,
 * its original ID back) and the timers, against its MAC; then the time, as
 * libknot checks it. */
static int check_after_gap(struct rwd_tsig_ctx *ctx, uint8_t *w, size_t wlen,
                           const struct tsig_rr *t, uint16_t orig_id)
{
	rw_put16(w, orig_id);
	uint8_t timers[8], digest[EVP_MAX_MD_SIZE];
	put48(timers, t->time_signed);
	rw_put16(timers + 6, t->fudge);
	size_t dlen = 0;
	int r = hmac_add(ctx, w, wlen);
	if (r < 0)
		return r;
	if (!EVP_MAC_update(ctx->hmac, timers, 8) ||
	    !EVP_MAC_final(ctx->hmac, digest, &dlen, sizeof(digest)))
		return RW_ENOMEM;
	if (t->mac_len != alg_of(ctx->key)->mac_len || dlen != t->mac_len ||
	    CRYPTO_memcmp(digest, t->mac, dlen) != 0)
		return KNOT_TSIG_EBADSIG;
	uint64_t now = (uint64_t)time(NULL);
	if (t->fudge == 0 || now > t->time_signed + t->fudge || now + t->fudge < t->time_signed ||
	    t->time_signed < ctx->time_signed)
		return KNOT_TSIG_EBADTIME;
	return KNOT_EOK;
}

int rwd_tsig_client_check(struct rwd_tsig_ctx *ctx, const uint8_t *msg, size_t len, bool last)
{
	struct rwd_tsig_rr rr;
	int r = rwd_tsig_find(msg, len, &rr);
	if (r == RW_EMALFORMED)
		return r;
	ctx->error = 0;
	if (ctx->key == NULL)
		return RW_EINVAL;
	if (r == RW_ENOENT) {
		/* Unsigned: allowed between signed answers, never first nor last. */
		if (ctx->messages == 0 || last || ctx->unsigned_run >= MAX_UNSIGNED) {
			ctx->error = RWD_TSIG_BADSIG;
			return RW_EAUTH;
		}
		if ((r = hmac_add(ctx, msg, len)) < 0)
			return r;
		ctx->unsigned_run++;
		return 0;
	}
	struct tsig_rr t;
	if ((r = tsig_rr_read(msg, len, &rr, &t)) < 0) {
		free(t.rdata);
		return r;
	}
	if (!name_eq_lc(ctx->key->name, ctx->key->name_len, t.owner, t.owner_len) ||
	    !alg_is(&t, alg_of(ctx->key))) {
		free(t.rdata);
		ctx->error = RWD_TSIG_BADKEY;
		return RW_EAUTH;
	}
	if (t.error != 0) {                 /* the server's verdict on our request */
		free(t.rdata);
		ctx->error = t.error;
		return RW_EAUTH;
	}
	uint8_t *w = strip(msg, rr.at);
	if (w == NULL) {
		free(t.rdata);
		return RW_ENOMEM;
	}
	const knot_tsig_key_t *kk = ctx->key->knot;
	if (ctx->messages == 0)
		r = knot_tsig_client_check(&t.rrset, w, rr.at, ctx->mac, ctx->mac_len, kk,
		                           ctx->time_signed);
	else if (ctx->unsigned_run == 0)
		r = knot_tsig_client_check_next(&t.rrset, w, rr.at, ctx->mac, ctx->mac_len, kk,
		                                ctx->time_signed);
	else
		r = check_after_gap(ctx, w, rr.at, &t, knot_tsig_rdata_orig_id(&t.rrset));
	free(w);
	rwd_tsig_ctx_clear(ctx);
	if (r == KNOT_EOK) {
		memcpy(ctx->mac, t.mac, t.mac_len);
		ctx->mac_len = t.mac_len;
		ctx->time_signed = t.time_signed;
		ctx->messages++;
	}
	free(t.rdata);
	if (r == KNOT_EOK)
		return 0;
	if (r == RW_ENOMEM || r == KNOT_ENOMEM)
		return RW_ENOMEM;
	if (r == KNOT_EMALF)
		return RW_EMALFORMED;
	ctx->error = knot_to_tsig_error(r);
	return RW_EAUTH;
}

/* ---- finding it ---- */

int rwd_tsig_find(const uint8_t *msg, size_t len, struct rwd_tsig_rr *rr)
{
	if (len < RW_HDR_LEN)
		return RW_EMALFORMED;
	size_t p = RW_HDR_LEN;
	unsigned qd = rw_get16(msg + 4);
	unsigned total = (unsigned)rw_get16(msg + 6) + rw_get16(msg + 8) + rw_get16(msg + 10);
	for (unsigned i = 0; i < qd; i++) {
		uint8_t name[RW_DNAME_MAXLEN];
		if (rw_dname_unpack(msg, len, &p, name) < 0 || p + 4 > len)
			return RW_EMALFORMED;
		p += 4;
	}
	size_t start = 0;
	uint16_t type = 0;
	for (unsigned i = 0; i < total; i++) {
		start = p;
		if (rw_rr_skip(msg, len, &p, &type, NULL) < 0)
			return RW_EMALFORMED;
	}
	if (p != len)
		return RW_EMALFORMED;
	if (total == 0 || rw_get16(msg + 10) == 0 || type != TYPE_TSIG)
		return RW_ENOENT;
	rr->at = start;
	rr->len = p - start;
	return 0;
}
