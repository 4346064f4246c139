/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to the zone module: the state of one zone load, shared by the
 * stages load.c (parse) -> group.c (RRsets, checks) -> link.c (ENTs, cuts,
 * wildcards) -> answers.c (precomputed answers); the memory segments and the
 * dependency index that patch.c uses to rebuild only part of a zone.
 */
#pragma once
#include <stdbool.h>

#include "lib/arena.h"
#include "server/zone/zone.h"

/* A record as read, kept in the scratch arena until grouped. */
struct rwd_zone_rec {
	struct rwd_zone_rec *next;
	const char *file;                /* zone file or $INCLUDE file it came from */
	uint32_t ttl;
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
	uint8_t rdata[];
};

struct rwd_zone_ctx {
	struct rwd_zone *z;
	const char *path;
	const char *last_file;           /* interned copy of the file being read */
	struct rwd_node *last_node;      /* owner of the previous record */
	struct rw_arena scratch;         /* freed when the load ends */
	struct rwd_zone_rec **heads;     /* per node id: records, newest first */
	struct rwd_node **nodes;         /* per node id */
	struct rwd_node **parents;       /* per node id, during rwd_zone_link() */
	size_t cap_nodes;
	const struct rwd_zone_limits *limits;  /* never NULL */
	rwd_report_fn report;
	void *ctx;
	unsigned errors;
	bool oom;
};

/* Report "FILE:LINE: [warning: ]message" (line 0: "FILE: message"). */
void rwd_zone_report(struct rwd_zone_ctx *c, bool warning, const char *file,
                     unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Find or create the node of a flat lowercased name. NULL when out of memory. */
struct rwd_node *rwd_zone_get_node(struct rwd_zone_ctx *c, const uint8_t *name, size_t len);

/* Take n out of z's table (backward-shift deletion); n_nodes is the caller's. */
void rwd_zone_table_remove(struct rwd_zone *z, const struct rwd_node *n);

int rwd_zone_group(struct rwd_zone_ctx *c);
int rwd_zone_link(struct rwd_zone_ctx *c);
int rwd_zone_build_answers(struct rwd_zone_ctx *c);

/* ---- memory: one arena segment per zone version (see "Lifetime" in zone.h) ---- */

struct rwd_zone_seg {
	int refs;                        /* versions built on it + the next segment (atomic) */
	struct rwd_zone_seg *prev;       /* older data this segment's version points into */
	struct rwd_zone_deps *deps;      /* the chain's index: owned by the first segment */
	size_t base_bytes;               /* arena bytes of the chain's first segment */
	size_t patch_bytes;              /* arena bytes of the patch segments up to this one */
	const struct rwd_zone_override *ov;  /* what the patch applied (rwd_zone_rebase) */
	size_t n_ov;
	struct rw_arena arena;
};

/* A segment after prev (NULL: the first of a chain), holding a reference on it. */
struct rwd_zone_seg *rwd_zone_seg_new(struct rwd_zone_seg *prev, size_t chunk);
void rwd_zone_seg_unref(struct rwd_zone_seg *s);

/* ---- the dependency index (patch.c) ---- */

enum rwd_dep_kind { RWD_DEP_READS, RWD_DEP_CHILD };

/*
 * key (a name hash) -> names: of the nodes whose answers read the name with
 * that hash (READS), or of its child nodes (CHILD). name must stay valid as
 * long as the index: a node name in the chain's first segment, or copied with
 * rwd_deps_name(). Never shrinks.
 */
struct rwd_zone_deps *rwd_deps_new(size_t hint);
void rwd_deps_free(struct rwd_zone_deps *d);
int rwd_deps_add(struct rwd_zone_deps *d, enum rwd_dep_kind kind, uint32_t key,
                 const uint8_t *name);
/* A copy of a name that lives as long as the index. NULL when out of memory. */
const uint8_t *rwd_deps_name(struct rwd_zone_deps *d, const uint8_t *name, size_t len);

/* ---- answers, one node at a time (answers.c) ---- */

struct rwd_answers;
/* A builder writing into z (its arena, its table for lookups). */
struct rwd_answers *rwd_answers_new(struct rwd_zone *z);
void rwd_answers_free(struct rwd_answers *a);
/* The zone's shared NODATA and NXDOMAIN answers (z->nodata, z->nxdomain). */
int rwd_answers_negative(struct rwd_answers *a);
/*
 * Every answer of node n, and n->deps. n's answers, other, referral must be
 * clear; everything the answers read (other nodes' rrsets, flags, cuts,
 * wildcards, z->nodata) must be final. prev (may be NULL): n's previous
 * version, whose answers for unchanged RRsets without target names are
 * taken over. RW_ELIMIT: an answer does not fit.
 */
int rwd_answers_node(struct rwd_answers *a, struct rwd_node *n, const struct rwd_node *prev);

/* Checks of a node's RRsets that need no file position (patch.c): false if
 * rwd_zone_group() would report an error. */
bool rwd_zone_rrsets_ok(const struct rwd_node *n, bool apex);
