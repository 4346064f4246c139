/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The zone store: an immutable, precomputed image of one zone.
 *
 * Why it is shaped so. An authoritative server answers the same few
 * questions millions of times, and the zone changes only at reload. So all
 * the work that does not depend on the client is done once, at load time:
 * every answer a name can give (records, CNAME chain, additional addresses,
 * referral, negative answer with its SOA) is encoded in wire format, name
 * compression included, into a struct rwd_answer. Answering a query is then a
 * hash lookup, a memcpy of the question and one of the answer, and at most a
 * handful of 16-bit additions (see "relocation" below). Nothing is allocated
 * and nothing is locked on the query path.
 *
 * Names. Every name in the zone, and every empty non-terminal (ENT) between
 * the apex and a name, is a node in one open-addressing hash table keyed by
 * the lowercased wire name; nothing else is (RFC 1034 3.1, RFC 8020: a name
 * exists iff it owns records or a name below it does), so a name whose last
 * RRset an override removes is no node: NXDOMAIN, or matched by a wildcard.
 * The query path looks up the query name, then strips labels until a node
 * exists: that node is the closest encloser (RFC 4592 3.3.1), and
 * everything else follows from links computed at load:
 *   node->cut       the delegation at or above the node (NULL: authoritative)
 *   node->wildcard  the "*" child, source of synthesis below this node
 * Because ENTs are nodes, they block wildcards and answer NODATA for free.
 *
 * Relocation. A precomputed answer is built behind a question name of some
 * length L and holds compression pointers into that name's suffixes and into
 * itself. Sent behind a question name of length L' that shares those suffixes
 * (the same name in another case, a name matched by a wildcard, any name below
 * a delegation or inside the zone), every pointer except those to offset 12
 * (the whole question name) moves by L' - L: the relocs list names them.
 *
 * Serial. Every answer that carries the zone's SOA (negative answers, the SOA
 * itself, CNAME chains ending in either) notes where the SOA serial sits
 * (serial_at), and the query path writes the zone's current serial there. So
 * a change that only bumps the serial leaves every precomputed answer valid,
 * and a patched zone can share answers with its predecessor (see below).
 *
 * Lifetime. A zone version never changes once built, and is freed by
 * rwd_zone_free() once no reader can see it (RCU, see zonedb.h). Its data
 * lives in arena segments: rwd_zone_load() makes one segment holding
 * everything; rwd_zone_patch() makes a new version whose own segment holds
 * only what it rebuilt, and which points into its predecessors' segments
 * for all the rest. Segments are reference counted and each holds its
 * predecessor, so the chain of a version lives as long as the version (or a
 * later one) does, while the old versions' hash tables are freed with them.
 *
 * Incremental changes (patch.c). rwd_zone_patch() applies RRset overrides to
 * a built zone and rebuilds only what depends on the changed names: those
 * nodes; new nodes and the empty non-terminals above them; the nodes whose
 * answers read a changed name (additional-section targets, CNAME chain
 * hops, glue, the "*" child and the names between a target and its closest
 * encloser); the nodes below a changed delegation (their cut pointer); the
 * parent of a changed "*" node (its wildcard pointer). A node left without
 * records or names below goes, with the ENTs above it left so: the new
 * version's table (a copy) loses them, and their names count as changed,
 * so what read them is rebuilt (a wildcard may match them now). The patch
 * finds all of these in a dependency index built with the zone: each node
 * records the hashes of the names its answers read (node->deps), and the
 * index maps a name's hash to the nodes that read it and to its child
 * nodes (a new node is entered as a child before removals are decided,
 * since it keeps its parent in existence). The index is shared by a
 * zone and all its patched versions, grows only (entries that no longer
 * hold only cost a useless rebuild) and is used by one patching thread at a
 * time. Replaced nodes and answers stay behind in the older segments as
 * garbage: past a soft limit the zone asks to be loaded afresh in the
 * background (see "Compaction" below), and a patch is refused (the caller
 * then loads the zone afresh at once, which starts a new chain) once the
 * chain's patch segments grow past the size of the zone or 64 MiB,
 * whichever is larger; likewise a change
 * that would rebuild more than a quarter of the nodes, or that a full load
 * would reject, goes to the full load, which then reports the error.
 *
 * Answers built at query time. Two kinds of answer depend on more than one
 * node and type, so they are not precomputed: a name below a DNAME (RFC
 * 6672: the DNAME, a CNAME synthesized from the question name, then the
 * chain that CNAME starts), and a CNAME chain that leaves the zone for
 * another zone of the same view (a child zone below a cut included), or
 * reaches a name below a DNAME (RFC 1034 4.3.2 step 1 searches every zone
 * the server has). The lookup stage sees
 * them (RWD_NODE_DNAME at the closest encloser, answer->follow) and the
 * body is written from the RRsets by a small resolver in query/body.c, with
 * name compression, into the response buffer: no allocation, no lock. A
 * chain that ends in a zone nobody here serves stays on the fast path (its
 * precomputed answer is complete). A zone with records below a DNAME, or a
 * DNAME beside NS (not at the apex), is rejected at load, as Knot DNS does.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/wire.h"

/* One precomputed response body: everything after the question. */
struct rwd_answer {
	uint8_t rcode : 4;      /* RW_RCODE_* */
	uint8_t aa : 1;         /* authoritative: 0 for referrals */
	uint8_t follow_dname : 1; /* follow is below a DNAME of this zone */
	uint8_t qname_len;      /* the question name length it was built behind */
	uint16_t ancount, nscount, arcount;
	uint16_t len;           /* bytes of data[] */
	uint16_t required;      /* bytes that must fit or the reply is truncated (TC) */
	uint16_t ar_needed;     /* leading additional records a referral needs (in-domain
	                           glue, RFC 9471): left out, they set TC, the rest is sent */
	uint16_t n_relocs;
	uint16_t serial_at;     /* 1 + offset in data[] of the SOA serial to write
	                           from the zone at query time; 0: no SOA */
	/* A CNAME chain that leaves what this zone can answer ends here (out of
	 * the zone, at or below a cut, below a DNAME); the query path continues
	 * it at this name (flat, as written in the zone) when another zone of
	 * the view holds it, or below a DNAME (follow_dname): see "Answers
	 * built at query time". NULL: complete. */
	const uint8_t *follow;
	/*
	 * Followed by uint16_t relocs[n_relocs] (offsets within data[] of
	 * pointers to relocate), uint16_t ar_end[arcount] (end of each additional
	 * record within data[], so additional records that do not fit are dropped
	 * one by one, RFC 2181 9), then data[len].
	 */
	uint16_t tail[];
};

static inline const uint16_t *rwd_answer_relocs(const struct rwd_answer *a) { return a->tail; }
static inline const uint16_t *rwd_answer_ar_end(const struct rwd_answer *a) { return a->tail + a->n_relocs; }
static inline const uint8_t *rwd_answer_data(const struct rwd_answer *a)
{
	return (const uint8_t *)(a->tail + a->n_relocs + a->arcount);
}

/* A record set: records of one type at one name, rdata uncompressed. */
struct rwd_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint8_t *rdata;         /* count x (uint16 length, bytes), in zone-file order */
};

/* The answer a node gives for one query type. */
struct rwd_typed_answer {
	uint16_t qtype;
	const struct rwd_answer *answer;
};

enum rwd_node_flags {
	RWD_NODE_DELEG = 1 << 0,    /* a zone cut: NS here, not at the apex */
	RWD_NODE_CNAME = 1 << 1,    /* owns a CNAME */
	RWD_NODE_APEX  = 1 << 2,
	RWD_NODE_LINKED = 1 << 3,   /* internal to loading */
	RWD_NODE_DNAME = 1 << 4,    /* owns a DNAME: names below are synthesized */
};

struct rwd_node {
	struct rwd_node *wildcard;   /* child "*" node, NULL if none */
	struct rwd_node *cut;        /* delegation at or above, NULL if authoritative */
	struct rwd_rrset *rrsets;    /* sorted by type; NULL for an ENT */
	struct rwd_typed_answer *answers; /* [0] is the lowest type (ANY, RFC 8482) */
	const struct rwd_answer *other;   /* any qtype not in answers[] (NODATA, CNAME chain) */
	const struct rwd_answer *referral;/* set on delegation nodes */
	const uint32_t *deps;        /* [0] = n, then the hashes of the n names
	                                the answers read (patch.c); NULL: none */
	uint32_t hash;
	uint32_t id;                 /* creation order, 0 = apex */
	uint16_t n_rrsets, n_answers;
	uint8_t flags;
	uint8_t name_len;
	uint8_t name[];              /* lowercased flat wire name */
};

struct rwd_zone_seg;
struct rwd_zone_deps;
struct rwd_zone_history;   /* zone/history.h */

struct rwd_zone {
	struct rw_arena *arena;      /* this version's own data: its segment's */
	struct rwd_zone_seg *seg;    /* its segment, which holds the older ones */
	struct rwd_zone_deps *deps;  /* dependency index of the chain (patch.c) */
	int refs;                    /* snapshots holding it: a reload keeps a zone
	                                that failed to load again (atomic) */
	char *file;                  /* zone file path */
	uint8_t apex_len;
	uint8_t apex_labels;
	bool failed;                 /* a placeholder for a zone that failed to load
	                                (rwd_zone_failed): every answer is SERVFAIL */
	uint32_t serial;
	struct rwd_node *apex;
	struct rwd_node **table;     /* open addressing, linear probing */
	size_t table_mask;
	size_t n_nodes;
	size_t n_records;
	uint32_t next_id;            /* id of the next node a patch creates */
	struct rwd_zone_history *history;    /* changes that led here (zone/history.h), for
	                                        IXFR; NULL: none. Set before publication,
	                                        a reference held, dropped with the zone */
	uint32_t expire_at;          /* a secondary's copy: wall-clock second it expires
	                                (SOA expire after the last successful refresh),
	                                written by the secondary service with atomic
	                                stores, read by EDNS EXPIRE; 0: not a secondary */
	const struct rwd_answer *nxdomain;   /* SOA in authority, any name in the zone */
	const struct rwd_answer *nodata;     /* likewise, NOERROR */
	uint8_t apex_name[255];
};

#define RWD_ZONE_ERRLEN 512

/*
 * Load origin (flat, lowercase) from zone file path and build every answer.
 * Errors and warnings are reported through report(ctx, "FILE:LINE: message")
 * (a warning starts "FILE:LINE: warning: "); report may be NULL. Returns a
 * new zone or NULL after reporting at least one error.
 */
typedef void (*rwd_report_fn)(void *ctx, const char *msg);
struct rwd_zone *rwd_zone_load(const uint8_t *origin, const char *path,
                               rwd_report_fn report, void *ctx);

/* An RRset set through the control API, replacing what the file says. */
struct rwd_zone_override {
	uint8_t owner[255];          /* flat, lowercased, inside the zone */
	uint16_t type;
	uint32_t ttl;
	uint16_t count;              /* 0: the RRset is removed */
	const uint8_t *rdata;        /* count x (uint16 length, bytes) */
};

struct rwd_zone_load_opts {
	const struct rwd_zone_override *overrides;
	size_t n_overrides;
	uint32_t serial;             /* non-zero: the SOA serial to serve */
};

/* rwd_zone_load, then overrides applied to the records read, before the
 * zone is checked and built (so the result is checked like a file). */
struct rwd_zone *rwd_zone_load_opts(const uint8_t *origin, const char *path,
                                    const struct rwd_zone_load_opts *opts,
                                    rwd_report_fn report, void *ctx);
/*
 * A new version of old with the overrides applied and the given serial (as
 * rwd_zone_load_opts with the overrides old was loaded with, then these,
 * would build it, except that the zone file is not read again). Rebuilds
 * only what the changes reach and shares the rest with old, which stays
 * valid. NULL when the change is too broad, the chain needs compacting, or
 * anything fails: the caller then does the full load, which reports errors.
 * One patching thread per chain at a time.
 */
struct rwd_zone *rwd_zone_patch(const struct rwd_zone *old,
                                const struct rwd_zone_override *overrides, size_t n,
                                uint32_t serial);

/*
 * Compaction. A chain of patches keeps what they replaced (see "Lifetime");
 * past a soft limit (an eighth of the zone, at least 1 MiB) the zone wants
 * to be loaded afresh, which the caller can do off the request path: load
 * it (file and overrides, with base's serial) into fresh while base is
 * served, then rwd_zone_rebase(fresh, base, cur) replays onto fresh the
 * overrides the patches from base to the now served cur applied, giving a
 * zone like cur in a new, compact chain. NULL if cur was not patched from
 * base (a reload came between) or the replay is refused as rwd_zone_patch()
 * would; with cur == base, a new reference to fresh.
 */
bool rwd_zone_wants_compaction(const struct rwd_zone *z);
struct rwd_zone *rwd_zone_rebase(struct rwd_zone *fresh, const struct rwd_zone *base,
                                 const struct rwd_zone *cur);

/* Take / drop a reference (a new zone has one); the last drop frees it. */
void rwd_zone_ref(struct rwd_zone *zone);
void rwd_zone_free(struct rwd_zone *zone);

/* Hash of a flat lowercased name, as used by the node table. */
uint32_t rwd_name_hash(const uint8_t *name, size_t len);

/* a[0..len) == b[0..len), in 8-byte words (the last one overlapping the
 * one before) with no call: names are short, and memcmp()'s call and
 * dispatch cost more than the compare. */
static inline bool rwd_name_bytes_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint64_t x, y;
	if (len < 8)
		return memcmp(a, b, len) == 0;
	for (size_t i = 0; i + 8 < len; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + len - 8, 8);
	memcpy(&y, b + len - 8, 8);
	return x == y;
}

/* Exact lookup of a flat lowercased name whose rwd_name_hash() is h
 * (the question's: rw_query.qname_hash). NULL if absent. */
static inline const struct rwd_node *rwd_zone_find_hashed(const struct rwd_zone *z,
                                                          const uint8_t *name, size_t len,
                                                          uint32_t h)
{
	for (size_t i = h & z->table_mask;; i = (i + 1) & z->table_mask) {
		const struct rwd_node *n = z->table[i];
		if (n == NULL)
			return NULL;
		if (n->hash == h && n->name_len == len && rwd_name_bytes_eq(n->name, name, len))
			return n;
	}
}

/* Exact lookup of a flat lowercased name. NULL if absent. */
static inline const struct rwd_node *rwd_zone_find(const struct rwd_zone *z,
                                                   const uint8_t *name, size_t len)
{
	return rwd_zone_find_hashed(z, name, len, rwd_name_hash(name, len));
}

/* Is name (flat, lowercased, of labels labels, the root not counted) at or
 * below the apex of z? Without hashing: the name's last apex_labels labels
 * compared with the apex (the zone set's lookup for a set of one zone). */
static inline bool rwd_zone_holds(const struct rwd_zone *z, const uint8_t *name, size_t len,
                                  unsigned labels)
{
	if (labels < z->apex_labels)
		return false;
	for (unsigned k = labels - z->apex_labels; k; k--) {
		len -= name[0] + 1u;
		name += name[0] + 1u;
	}
	return len == z->apex_len && rwd_name_bytes_eq(name, z->apex_name, len);
}

/*
 * Closest encloser of name (RFC 4592 3.3.1): the node of name itself or of
 * its nearest existing ancestor. Pre: name is at or below the apex, so the
 * search ends at the apex at the latest.
 */
static inline const struct rwd_node *rwd_zone_encloser(const struct rwd_zone *z,
                                                       const uint8_t *name, size_t len)
{
	for (;;) {
		const struct rwd_node *n = rwd_zone_find(z, name, len);
		if (n != NULL)
			return n;
		len -= name[0] + 1u;
		name += name[0] + 1u;
	}
}

/* rwd_zone_encloser, with h the rwd_name_hash() of name itself (most
 * questions name a node: one probe, no hashing). */
static inline const struct rwd_node *rwd_zone_encloser_hashed(const struct rwd_zone *z,
                                                              const uint8_t *name, size_t len,
                                                              uint32_t h)
{
	const struct rwd_node *n = rwd_zone_find_hashed(z, name, len, h);
	if (n != NULL)
		return n;
	return rwd_zone_encloser(z, name + name[0] + 1u, len - name[0] - 1u);
}

/* The answer node n gives for qtype (never NULL for a built zone). */
static inline const struct rwd_answer *rwd_node_answer(const struct rwd_node *n, uint16_t qtype)
{
	for (unsigned i = 0; i < n->n_answers; i++)
		if (n->answers[i].qtype == qtype)
			return n->answers[i].answer;
	return n->other;
}

/* The RRset of a type at a node, or NULL. */
static inline const struct rwd_rrset *rwd_node_rrset(const struct rwd_node *n, uint16_t type)
{
	for (unsigned i = 0; i < n->n_rrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

/* Iterate the records of an RRset: rd points at (uint16 len, data). */
#define RWD_RRSET_FOREACH(rs, rd, i) \
	for (const uint8_t *rd = (rs)->rdata; rd != NULL; rd = NULL) \
		for (unsigned i = 0; i < (rs)->count; rd += 2u + rw_get16(rd), i++)

/* Pointer to the SERIAL field of the first SOA record (5 x uint32 follow). */
const uint8_t *rwd_soa_serial(const struct rwd_rrset *soa);
