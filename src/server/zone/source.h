/*
 * Where a zone's records come from, and what stands in for a zone whose
 * records could not be had.
 *
 * rwd_zone_load_limits: the zone file (and its $INCLUDEs) read within the
 * limits of zone/limits.h, then the API's overrides, checked and built like
 * rwd_zone_load_opts (zone.h).
 *
 * rwd_zone_failed: a placeholder for a zone that failed to load, so that it
 * stays known by name and its queries get SERVFAIL, as Knot DNS answers for
 * a zone whose load failed, instead of REFUSED.
 */
#pragma once
#include "server/zone/limits.h"
#include "server/zone/zone.h"

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
