/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where a zone's records come from, and what stands in for a zone whose
 * records could not be had.
 *
 * Record sources. A zone is built from the records its sources hand over,
 * in order: today the zone file (with its $INCLUDEs, source_file.c), then
 * the API's overrides, which replace whole RRsets (source_overrides.c);
 * next a zone transfer. The build checks every added record the same way
 * whatever its source (class IN, inside the zone, no meta type, RDATA that
 * fits its type's layout), holds it to the limits (zone/limits.h), then
 * groups, checks, links and answers (load.c, group.c, link.c, answers.c).
 * A source that reports an error ends the build after it: later sources
 * do not run, and the zone fails to load.
 *
 * rwd_zone_load_limits: the file source, then the overrides of opts, built
 * as rwd_zone_load_opts (zone.h) does, within limits.
 *
 * rwd_zone_failed: a placeholder for a zone that failed to load, so that it
 * stays known by name and its queries get SERVFAIL, as Knot DNS answers for
 * a zone whose load failed, instead of REFUSED.
 */
#pragma once
#include "server/zone/limits.h"
#include "server/zone/zone.h"

struct rwd_zone_ctx;   /* one build (zone/build.h) */

struct rwd_record_source {
	const char *kind;              /* "file", "overrides": for messages and tests */
	const void *data;              /* the source's own (a path, load options) */
	/* Hand the records to the build with the functions below. 0, or
	 * RW_ENOMEM (the build stops); a record the build refuses is reported
	 * by it and counts as an error, not as a failure of read(). */
	int (*read)(const struct rwd_record_source *src, struct rwd_zone_ctx *c);
	/* About how many bytes the source holds (the node table is sized from
	 * it, about 40 bytes a name); NULL: unknown. */
	size_t (*size_hint)(const struct rwd_record_source *src);
};

/* The zone file at path (kept by the caller) and its $INCLUDEs. */
struct rwd_record_source rwd_source_file(const char *path);
/* opts's overrides (each replaces or removes its RRset) and serial (kept by
 * the caller). */
struct rwd_record_source rwd_source_overrides(const struct rwd_zone_load_opts *opts);

/* Records in memory (a zone transfer: xfr/xfrin.h; a zone read back:
 * rwd_zone_records), each an uncompressed wire record, back to back: owner
 * (flat), type, class, TTL, RDLENGTH, RDATA. Messages say "NAME:N: ...",
 * N the record's number. serial, when not 0, is the one served. */
struct rwd_source_records {
	const uint8_t *data;
	size_t len;
	const char *name;              /* "AXFR from 192.0.2.1:53" */
	uint32_t serial;
};
struct rwd_record_source rwd_source_records(const struct rwd_source_records *r);
/* Every record of a built zone in that form (the SOA first) in *out
 * (malloc'd), *len bytes, *n records. 0 or RW_ENOMEM. */
int rwd_zone_records(const struct rwd_zone *z, uint8_t **out, size_t *len, size_t *n);

/* A catalog zone (RFC 9432) generated from its members (source_catalog.c):
 * SOA with serial, NS invalid., version TXT "2", a PTR per member at
 * <id>.zones.<catalog> and its group TXT. */
struct rwd_catalog_member {
	const uint8_t *name;           /* flat */
	const char *group;             /* NULL: none */
};
struct rwd_source_catalog {
	const struct rwd_catalog_member *members;
	size_t n;
	uint32_t serial;
	const char *name;              /* for messages ("catalog:catalog.example.") */
};
struct rwd_record_source rwd_source_catalog(const struct rwd_source_catalog *cat);
/* A member's unique id (RFC 9432 4.1): 16 hex digits of the SHA-1 of its
 * lowercased wire name. */
#define RWD_CATALOG_ID_LEN 16
void rwd_catalog_member_id(const uint8_t *member, char out[RWD_CATALOG_ID_LEN + 1]);
/* Whether z (a built zone of the catalog's apex) holds exactly the records
 * cat generates, the SOA serial aside: a rebuild keeps z then. */
bool rwd_catalog_same(const struct rwd_source_catalog *cat, const struct rwd_zone *z);

/* Build origin's zone from src[0..n_src) in order; path names the zone (its
 * file: z->file, messages about the zone as a whole). NULL after reporting
 * at least one error, as rwd_zone_load. */
struct rwd_zone *rwd_zone_build_sources(const uint8_t *origin, const char *path,
                                        const struct rwd_record_source *src, size_t n_src,
                                        const struct rwd_zone_limits *limits,
                                        rwd_report_fn report, void *ctx);

/* ---- what a source calls, during read() ---- */

/*
 * Add one record (owner: flat wire name, any case). A record the zone
 * cannot hold is reported as "FILE:LINE: message" (file is copied) and
 * counted as an error; 0 either way, RW_ENOMEM when out of memory.
 */
int rwd_zone_add_record(struct rwd_zone_ctx *c, const uint8_t *owner, size_t owner_len,
                        uint16_t rclass, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                        uint16_t rdlen, const char *file, unsigned long line);
/* Replace the RRset (ov->owner, ov->type) by ov's records, in the order
 * given (count 0: remove it). ov is trusted: the API has checked it. 0 or
 * RW_ENOMEM. A source that removes calls rwd_zone_drop_empty_nodes after. */
int rwd_zone_replace_rrset(struct rwd_zone_ctx *c, const struct rwd_zone_override *ov);
/* Names left without records go (RFC 1034 3.1, RFC 8020), but the apex. */
void rwd_zone_drop_empty_nodes(struct rwd_zone_ctx *c);
/* Serve serial: written into the apex SOA records added so far. */
void rwd_zone_set_serial(struct rwd_zone_ctx *c, uint32_t serial);
/* The apex of the zone being built (flat, lowercased), its limits (never
 * NULL) and its errors so far. */
const uint8_t *rwd_zone_build_apex(const struct rwd_zone_ctx *c);
const struct rwd_zone_limits *rwd_zone_build_limits(const struct rwd_zone_ctx *c);
unsigned rwd_zone_build_errors(const struct rwd_zone_ctx *c);
/* Report "FILE:LINE: message" as an error of this build (line 0: "FILE: message"). */
void rwd_zone_build_error(struct rwd_zone_ctx *c, const char *file, unsigned long line,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* rwd_zone_load_opts (opts may be NULL) held to limits (NULL: the defaults
 * of limits.h): records per RRset, $INCLUDE depth and paths, bytes read.
 * Each refusal is reported as "FILE:LINE: message" naming the limit. */
struct rwd_zone *rwd_zone_load_limits(const uint8_t *origin, const char *path,
                                      const struct rwd_zone_load_opts *opts,
                                      const struct rwd_zone_limits *limits,
                                      rwd_report_fn report, void *ctx);

/*
 * A placeholder zone for origin (file: path): only the apex node, no
 * records, and every lookup in it ends in SERVFAIL without AA, with no test
 * on the query path (see load.c). NULL when out of memory. The reason it
 * stands in is kept by its owner (the snapshot's failures). rwd_zone_patch()
 * refuses it (it has no dependency index), so an API change to it goes to
 * the full load, which reads the file again and reports what is wrong.
 */
struct rwd_zone *rwd_zone_failed(const uint8_t *origin, const char *path);

/* Is z such a placeholder? (A loaded zone has at least its SOA and NS.) */
static inline bool rwd_zone_is_placeholder(const struct rwd_zone *z)
{
	return z->n_records == 0;
}
