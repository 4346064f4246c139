/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG (RFC 8945): the keys runwayd knows and the signing and checking of
 * messages with them, on both sides: the server side (a signed query gets
 * a signed answer, every message of a transfer signed) and the client side
 * (transfer and SOA requests to primaries, NOTIFY to secondaries, with the
 * answers checked, message after message). The HMACs are libknot's
 * (knot_tsig_* over libdnssec), on wire buffers.
 *
 * A keyring is immutable once built and lives in the snapshot (or with a
 * service that copied it); lookups are by flat lowercased key name.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RWD_TSIG_MAX_MAC 64            /* hmac-sha512 */

/* TSIG error codes (RFC 8945 5.2, in the TSIG RR's Error field). */
#define RWD_TSIG_BADSIG   16
#define RWD_TSIG_BADKEY   17
#define RWD_TSIG_BADTIME  18
#define RWD_TSIG_BADTRUNC 22

struct rwd_tsig_key {
	uint8_t name[255];             /* flat, lowercased */
	uint8_t name_len;
	int alg;                       /* dnssec_tsig_algorithm_t */
	const char *alg_text;          /* "hmac-sha256" */
	uint8_t *secret;
	size_t secret_len;
	void *knot;                    /* knot_tsig_key_t, owned */
};

struct rwd_tsig_keyring {
	struct rwd_tsig_key *keys;
	size_t n;
};

/* Where a message's TSIG RR is (rw_query_parse finds it: the last record
 * of the additional section). */
struct rwd_tsig_rr {
	size_t at;                     /* offset of the TSIG RR's owner; 0: none */
	size_t len;                    /* of the whole RR */
};

/* The state of one signed exchange, kept between the messages of a stream
 * (a transfer): what the next signature chains to. The fields from key_name
 * on are filled by rwd_tsig_server_check and the client side only; a caller
 * that resets a ctx between queries resets key and error. */
struct rwd_tsig_ctx {
	const struct rwd_tsig_key *key;   /* NULL: unsigned */
	uint8_t mac[RWD_TSIG_MAX_MAC];    /* the request's MAC, then the last one sent or seen */
	size_t mac_len;
	uint64_t time_signed;             /* of the request (BADTIME answers echo it) */
	uint16_t error;                   /* TSIG error to answer with (0: NOERROR) */
	unsigned messages;                /* signed or checked so far */
	/* Server side: the request's key and algorithm names (flat, lowercased),
	 * for the unsigned TSIG RR of a BADKEY or BADSIG answer (RFC 8945 5.3.2),
	 * whose key may be one we do not know. */
	uint8_t key_name[255];
	uint8_t key_name_len;
	uint8_t alg_name[255];
	uint8_t alg_name_len;
	/* Client side: the answers since the last signed one (RFC 8945 5.3.1),
	 * their HMAC under way (an OpenSSL EVP_MAC_CTX; NULL: none). */
	unsigned unsigned_run;
	void *hmac;
};

/*
 * Keys from names, algorithms ("hmac-sha1", "hmac-sha224", "hmac-sha256",
 * "hmac-sha384", "hmac-sha512") and secrets. 0, RW_EINVAL (an unknown
 * algorithm, an empty secret) or RW_ENOMEM.
 */
int rwd_tsig_keyring_add(struct rwd_tsig_keyring *kr, const uint8_t *name, const char *alg,
                         const uint8_t *secret, size_t secret_len);
/* Frees the keys and zeroes kr. Adding moves the keys: take pointers to them
 * (rules, remotes) once the keyring is whole. */
void rwd_tsig_keyring_free(struct rwd_tsig_keyring *kr);
/* The key called name (flat, any case), or NULL. */
const struct rwd_tsig_key *rwd_tsig_keyring_find(const struct rwd_tsig_keyring *kr,
                                                 const uint8_t *name, size_t len);
/* A copy of k that owns its memory (for what outlives the snapshot holding
 * k: a transfer stream, a service); NULL when out of memory or k is NULL.
 * rwd_tsig_key_free frees such a copy (NULL: nothing), never a keyring's key. */
struct rwd_tsig_key *rwd_tsig_key_dup(const struct rwd_tsig_key *k);
void rwd_tsig_key_free(struct rwd_tsig_key *k);

/*
 * Server side. Check the TSIG RR at rr of the request msg[0..len) against kr
 * at time now: fills ctx (key, request MAC, time) and returns 0 when it
 * verifies; else ctx->error says why (BADKEY: unknown key or algorithm,
 * BADSIG, BADTIME: outside fudge) and a negative RW_E* is returned; FORMERR
 * material (a TSIG RR that does not parse) returns RW_EMALFORMED.
 * libknot checks the time against the wall clock (time()); now (seconds,
 * 0: not given) is checked as well, after the signature, as libknot does.
 * A MAC shorter than the algorithm's (truncation, RFC 8945 5.2.2.1) is
 * BADSIG, as Knot DNS answers. Allocates (libknot copies the message to
 * hash it): signed queries only.
 */
int rwd_tsig_server_check(const struct rwd_tsig_keyring *kr, const uint8_t *msg, size_t len,
                          const struct rwd_tsig_rr *rr, uint64_t now, struct rwd_tsig_ctx *ctx);

/*
 * Sign the answer msg[0..*len) in place (room: cap bytes), appending the TSIG
 * RR and raising ARCOUNT: the first answer chains to the request's MAC, the
 * next ones of a stream to the previous answer's (RFC 8945 5.3.1). With
 * ctx->error set (BADSIG, BADKEY) an unsigned TSIG RR carrying the error is
 * appended; BADTIME is signed and carries the server's time. 0 or RW_ESPACE.
 */
int rwd_tsig_sign_answer(struct rwd_tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
                         uint64_t now);
/* Bytes the TSIG RR of key will take: room to keep free when filling a message. */
size_t rwd_tsig_rr_size(const struct rwd_tsig_key *key);

/* Client side: sign the request msg[0..*len) (room: cap) with key, starting
 * ctx for the answer(s) (a ctx used before is cleared first: rwd_tsig_ctx_clear).
 * libknot writes the wall clock's time; now is not used. 0 or RW_ESPACE. */
int rwd_tsig_sign_request(struct rwd_tsig_ctx *ctx, const struct rwd_tsig_key *key,
                          uint8_t *msg, size_t *len, size_t cap, uint64_t now);
/* Client side: check one answer msg[0..len) of the exchange ctx started
 * (the first one, then each next; RFC 8945 5.3.1 allows up to 99 unsigned
 * messages between signed ones, the last one must be signed: last says it
 * is the last). 0, or RW_EAUTH with ctx->error set (also for an answer that
 * should be signed and is not). */
int rwd_tsig_client_check(struct rwd_tsig_ctx *ctx, const uint8_t *msg, size_t len, bool last);
/* Free what a client exchange holds (the HMAC of unsigned answers under way):
 * call when giving up on a stream before its last message; harmless on a
 * zeroed ctx, a server ctx or twice. */
void rwd_tsig_ctx_clear(struct rwd_tsig_ctx *ctx);

/* Find the TSIG RR of any message (the last additional record, of type TSIG):
 * 0 with rr filled, RW_ENOENT when there is none, RW_EMALFORMED. */
int rwd_tsig_find(const uint8_t *msg, size_t len, struct rwd_tsig_rr *rr);
