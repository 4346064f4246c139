/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Queries in, messages out.
 *
 * rw_query_parse() is the first stage of the query path: it validates a
 * received message and extracts what later stages need (question, EDNS),
 * without allocating. It never trusts a length field: every read is bounded
 * by the received size.
 *
 * struct rw_msgbuilder writes a message with RFC 1035 4.1.4 name compression.
 * It is used off the query path (to precompute answers at zone load, and by
 * the tools), so it favours simplicity over speed. It also records where it
 * wrote compression pointers, so a precomputed section can be moved behind a
 * question of another length (see rw_msgbuilder.relocs).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/wire.h"

#define RW_COOKIE_CLIENT_LEN 8
#define RW_COOKIE_SERVER_MIN 8
#define RW_COOKIE_SERVER_MAX 32

/* What the caller should do with a received message. */
enum rw_parse {
	RW_PARSE_OK = 0,     /* a well-formed query */
	RW_PARSE_DROP,       /* not worth an answer: QR=1 or shorter than a header */
	RW_PARSE_FORMERR,    /* answer FORMERR (RFC 1035 4.1.1), question echoed if parsed,
	                      * an OPT if edns.present (RFC 6891 7) */
	RW_PARSE_NOTIMP,     /* opcode other than QUERY and NOTIFY (RFC 1035 4.1.1,
	                      * RFC 8906 3.1.4) */
	RW_PARSE_BADVERS,    /* EDNS version > 0 (RFC 6891 6.1.3) */
	RW_PARSE_NOQUESTION, /* a QUERY without a question (QDCOUNT 0), EDNS parsed: only a
	                      * COOKIE asks anything of it (RFC 7873 5.4), else FORMERR */
};

struct rw_edns {
	bool present;
	bool do_bit;         /* DNSSEC OK, copied to the answer (RFC 3225) */
	bool nsid;           /* NSID option present (RFC 5001) */
	bool expire;         /* EXPIRE option present (RFC 7314) */
	uint8_t version;
	uint16_t udp_size;   /* the requestor's payload size, at least 512 */
	/* EDNS Client Subnet (RFC 7871), validated: host bits beyond source
	 * are zero, family 1 (IPv4) or 2 (IPv6). */
	bool ecs;
	uint8_t ecs_family;  /* 1 or 2 */
	uint8_t ecs_source;  /* SOURCE PREFIX-LENGTH */
	/* DNS Cookies (RFC 7873), the first COOKIE option; its length was
	 * checked (8, or 16..40: RFC 7873 5.2.2), the cookies are not. */
	bool cookie;
	/* An option (ECS, COOKIE, the option framing) or the OPT owner was
	 * malformed: FORMERR, with an OPT without options (RFC 6891 7). */
	bool malformed;
	uint8_t cookie_server_len;                 /* 0: a client cookie only, else 8..32 */
	/* The options' bytes, last: valid only when ecs (ecs_addr, zero-padded)
	 * or cookie (the cookies) is set; the parser clears the fields above
	 * and leaves these alone otherwise (a query pays for no zeroing). */
	uint8_t ecs_addr[16];
	uint8_t cookie_client[RW_COOKIE_CLIENT_LEN];
	uint8_t cookie_server[RW_COOKIE_SERVER_MAX];
};

struct rw_query {
	uint16_t id;
	uint8_t flags1;          /* header byte 2: QR|opcode|AA|TC|RD */
	uint8_t flags2;          /* header byte 3: RA|Z|AD|CD|rcode */
	uint8_t opcode;
	uint16_t qtype, qclass;
	uint16_t qname_len;      /* flat length, 1..255 */
	uint16_t question_len;   /* qname_len + 4: the question is copied verbatim */
	uint8_t qname_labels;    /* labels of qname, the root not counted (0..127) */
	uint32_t qname_hash;     /* rwd_name_hash(qname, qname_len): the node table's
	                          * key (lib/dname.h), computed while lowercasing */
	uint8_t qname[RW_DNAME_MAXLEN]; /* lowercased copy: the lookup key */
	struct rw_edns edns;
	/* The TSIG RR (RFC 8945), the last record of the additional section:
	 * its offset and length in the message; tsig_at 0: unsigned. Its
	 * content is not read here (server/common/tsig.h checks it). */
	uint16_t tsig_at, tsig_len;
};

/*
 * Parse msg as a query. Fills q as far as it got: on FORMERR/NOTIMP/BADVERS/
 * NOQUESTION q->id, flags1 and opcode are valid (enough for an error reply);
 * the question is valid when question_len > 0. q->edns is valid on every
 * result but DROP; on FORMERR, edns.present says whether the message was
 * whole (every record read, nothing after them) and held one OPT in the
 * additional section, which the answer then echoes.
 * Checked in this order: header (DROP), question, records (FORMERR), EDNS
 * version (BADVERS, options not read), options (FORMERR), opcode (NOTIMP),
 * QDCOUNT 0 (NOQUESTION). Options of unknown codes are skipped; the EDNS
 * flags other than DO are ignored. Records: an OPT anywhere but once in the
 * additional section, a TSIG anywhere but once as the last record of the
 * additional section (RFC 8945 5.1, as Knot DNS) are FORMERR; q->tsig_at
 * and tsig_len are valid on OK and NOQUESTION (and on NOTIMP, BADVERS and
 * an options FORMERR, 0 on the others). The opcodes QUERY and NOTIFY
 * (RFC 1996) go on; the others are NOTIMP.
 * Pre: msg, q != NULL.
 */
enum rw_parse rw_query_parse(const uint8_t *msg, size_t len, struct rw_query *q);

/*
 * Skip one resource record at msg[*pos] (owner, fixed fields, rdata).
 * On success *pos is past it and type/rdlen (optional, may be NULL) are set.
 * Returns 0 or RW_EMALFORMED.
 */
int rw_rr_skip(const uint8_t *msg, size_t len, size_t *pos, uint16_t *type, uint16_t *rdlen);

#define RW_MSGB_MAX_DICT   128
#define RW_MSGB_MAX_RELOCS 512

struct rw_msgbuilder {
	uint8_t *buf;
	size_t len, cap;
	uint16_t dict[RW_MSGB_MAX_DICT];   /* offsets of names written so far */
	unsigned n_dict;
	/*
	 * Offsets of every compression pointer written whose target is not the
	 * whole question name (offset 12). When a precomputed section built
	 * behind a question name of length L is sent behind one of length L',
	 * these pointers move by L' - L; a pointer to offset 12 stays put. This
	 * is exact because the question names share their suffixes, aligned
	 * from the end, and everything after the question shifts together.
	 */
	uint16_t relocs[RW_MSGB_MAX_RELOCS];
	unsigned n_relocs;
	bool overflow;                     /* a write did not fit; len unchanged */
};

/*
 * Start a message in buf: header (all zero but id) and one question.
 * qname_matchable: whether names equal to the whole qname may be compressed
 * to it. Say false when the question name is a stand-in (a wildcard owner, a
 * placeholder for "any name in the zone"); its suffixes stay matchable.
 * Returns 0 or RW_ESPACE.
 */
int rw_msgb_init(struct rw_msgbuilder *b, uint8_t *buf, size_t cap, uint16_t id,
                 const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool qname_matchable);
/* Append raw bytes / integers. On overflow sets b->overflow and writes nothing. */
void rw_msgb_put(struct rw_msgbuilder *b, const void *data, size_t n);
void rw_msgb_put16(struct rw_msgbuilder *b, uint16_t v);
void rw_msgb_put32(struct rw_msgbuilder *b, uint32_t v);
/* Append a flat name, compressed against earlier names when compress is true. */
void rw_msgb_put_dname(struct rw_msgbuilder *b, const uint8_t *dn, bool compress);
/* Append a pointer to the question name (offset 12). */
void rw_msgb_put_qname_ptr(struct rw_msgbuilder *b);

/* Write the OPT pseudo-RR (RFC 6891 6.1.2), without options; returns the
 * offset of its RDLENGTH so options can be appended by the caller. */
size_t rw_msgb_put_opt(struct rw_msgbuilder *b, uint16_t udp_size, uint8_t ext_rcode, bool do_bit);
