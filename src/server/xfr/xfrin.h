/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The transfer-in parser: the answer messages of an AXFR (RFC 5936) or IXFR
 * (RFC 1995) fed one at a time, as they come off the TCP stream, checked
 * and collected. It makes no I/O and knows nothing of sockets, TSIG or
 * zones (the caller checks TSIG on the raw message, secondary.c; the build
 * checks the zone, zone/source.h), so it can be fuzzed alone
 * (tests/fuzz/fuzz_xfrin.c).
 *
 * What it checks, each violation ending the transfer with one line in
 * x->error:
 *   - each message: an answer (QR) to our query (ID, opcode QUERY, no TC),
 *     rcode NOERROR (else x->rcode; x->fallback when an IXFR was refused
 *     in a way that asks for AXFR: NOTIMP, FORMERR, REFUSED, RFC 1995 4),
 *     the question (when there is one; the first message must have it)
 *     ours, well formed for libknot's parser (knot_pkt_parse);
 *   - each record of the answer section: class IN, its owner at or below
 *     the apex, no meta type (OPT, TSIG, AXFR, ANY...), RDATA that fits its
 *     type (rw_rdata_check); names in RDATA are decompressed;
 *   - the stream: the zone's SOA first; AXFR: every record, then the same
 *     SOA last and nothing after it, no other SOA between; IXFR: a single
 *     SOA not newer than ours (up to date), or AXFR-style (the second record
 *     is no SOA), or difference sequences (old SOA, removed, new SOA,
 *     added) that chain from our serial to the first SOA's, which closes;
 *   - the limits: messages, bytes (of the messages), records (of the
 *     answer sections).
 *
 * Records are kept as history diffs keep them (zone/history.h): owner as
 * a flat lowercased name, type, class, TTL, RDLENGTH, RDATA, back to back.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RWD_XFRIN_ERRLEN 256

struct rwd_zone;
struct rwd_zone_limits;

struct rwd_xfrin_limits {
	uint64_t max_records;          /* answer records of the whole stream; 0: no limit */
	uint64_t max_bytes;            /* bytes of all messages; 0: no limit */
	unsigned max_messages;         /* 0: no limit */
};

enum rwd_xfrin_kind {
	RWD_XFRIN_NONE = 0,            /* not known yet */
	RWD_XFRIN_AXFR,                /* the whole zone (an AXFR, or an IXFR answered AXFR-style) */
	RWD_XFRIN_IXFR,                /* difference sequences */
	RWD_XFRIN_UPTODATE,            /* IXFR: one SOA, not newer than ours */
};

/* One difference sequence of an IXFR: offsets and lengths in x->recs. */
struct rwd_xfrin_diff {
	uint32_t serial_from, serial_to;
	size_t old_soa, old_soa_len;
	size_t removed, removed_len;
	uint32_t n_removed;
	size_t new_soa, new_soa_len;
	size_t added, added_len;
	uint32_t n_added;
};

struct rwd_xfrin {
	/* The query (set by rwd_xfrin_init). */
	uint8_t apex[255];             /* flat, lowercased */
	size_t apex_len;
	uint16_t qtype;                /* RW_TYPE_AXFR or RW_TYPE_IXFR */
	uint16_t id;
	uint32_t our_serial;           /* IXFR: the serial we asked from */
	struct rwd_xfrin_limits lim;

	/* The result so far. */
	enum rwd_xfrin_kind kind;
	bool done;                     /* the closing SOA was seen */
	uint32_t serial;               /* the primary's (the first SOA's) */
	uint8_t *recs;                 /* records, back to back; the first SOA at 0 */
	size_t len, cap;
	size_t first_soa_len;
	uint64_t n_zone_records;       /* AXFR: records of the zone, the first SOA included */
	struct rwd_xfrin_diff *diffs;  /* IXFR */
	size_t n_diffs, cap_diffs;
	uint64_t records;              /* answer records seen (both SOAs included) */
	uint64_t bytes;
	unsigned messages;

	/* The failure, when rwd_xfrin_feed returned < 0. */
	char error[256];
	uint8_t rcode;                 /* an answer's rcode other than NOERROR, else 0 */
	bool fallback;                 /* IXFR refused in a way that asks for AXFR */

	int state;                     /* internal */
};

/* Start a transfer of apex (flat, any case) asked with qtype (AXFR, or IXFR
 * from our_serial) and message ID id. */
void rwd_xfrin_init(struct rwd_xfrin *x, const uint8_t *apex, uint16_t qtype, uint16_t id,
                    uint32_t our_serial, const struct rwd_xfrin_limits *lim);
void rwd_xfrin_free(struct rwd_xfrin *x);

/*
 * Feed the next answer message msg[0..len). Returns 0 when more messages
 * are needed, 1 when the transfer is complete (x->kind says what it is),
 * or a negative RW_E* with x->error set: RW_EMALFORMED (the message or
 * the stream), RW_ELIMIT (a limit), RW_EREFUSED (an rcode: x->rcode,
 * x->fallback), RW_ENOMEM. Once it returned non-zero it must not be fed
 * again (a further message is malformed).
 */
int rwd_xfrin_feed(struct rwd_xfrin *x, const uint8_t *msg, size_t len);

/* One stored record. */
struct rwd_xfrin_rr {
	const uint8_t *owner;          /* flat, lowercased */
	size_t owner_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
	size_t len;                    /* of the whole stored record */
};
/* The record at *pos of buf[0..len) (records as stored in x->recs), *pos
 * moved past it. false at the end (or a record that does not fit). */
bool rwd_xfrin_rr_next(const uint8_t *buf, size_t len, size_t *pos, struct rwd_xfrin_rr *rr);

/*
 * The new version of old (the served one, at x->our_serial) with the
 * difference sequences of the IXFR x applied: each removed record must be
 * there (else RW_ENOENT: old is not what the primary thinks it is, ask
 * AXFR), each changed RRset held to zl (max_rrset_records: RW_ELIMIT).
 * When the new SOA differs from old's only by its serial, the changed
 * RRsets patch old (rwd_zone_patch, zone.h; under lock(lock_ctx, true/false)
 * when lock is set: one patching thread per chain) and *how is "patched";
 * else, or when the patch declines, the zone is built afresh from old's
 * records and the changed RRsets, every record checked as a file's
 * (*how "rebuilt"; path names the zone). 0 with *out, or a negative RW_E*
 * (RW_EZONE: the result does not build) with err set. With diff set, *diff
 * is the history diff from old to *out (zone/history.h): the sequence as
 * received when there is one, else their net effect, computed from the
 * changed RRsets only; NULL when out of memory.
 */
struct rwd_zone_diff;
int rwd_xfrin_apply(const struct rwd_xfrin *x, struct rwd_zone *old,
                    const struct rwd_zone_limits *zl, const char *path,
                    void (*lock)(void *ctx, bool on), void *lock_ctx, struct rwd_zone **out,
                    struct rwd_zone_diff **diff, const char **how,
                    char err[RWD_XFRIN_ERRLEN]);
