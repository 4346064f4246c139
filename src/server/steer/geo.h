/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where a client is: continent, country, subdivision and coordinates of an
 * address, from the operator's own networks (geoip.networks, longest prefix
 * wins) and then a MaxMind-format database (geoip.mmdb, libmaxminddb).
 *
 * Lookups in an mmdb walk a tree and decode data: around a microsecond. The
 * query path therefore asks through a per-worker cache keyed by the exact
 * (address, prefix length) it looks up, which is what ECS sends (typically
 * /24 or /56), so the cache is exact, small and lock-free (one per thread).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "server/steer/model.h"

struct rwd_location {
	bool found;                    /* anything known at all */
	char continent[3];             /* "EU", "" if unknown */
	char country[3];               /* ISO 3166-1 alpha-2, "" if unknown */
	char subdivision[4];           /* ISO 3166-2 suffix ("CA" of US-CA), "" if unknown */
	bool has_coords;
	double lat, lon;
	/* Prefix length of the network that decided the answer: how widely an
	 * answer based on it may be cached (the ECS scope, RFC 7871 7.2.1). */
	uint8_t scope;
};

struct rwd_geo;

/*
 * Open the geo data of model (mmdb_path may be NULL: networks only).
 * Returns 0, or a negative RW_E* code with "FILE: message" in err.
 */
int rwd_geo_open(const struct rwd_model *model, struct rwd_geo **out, char err[256]);
void rwd_geo_close(struct rwd_geo *g);

/* A number no other rwd_geo opened by this process has (never reused). */
uint64_t rwd_geo_id(const struct rwd_geo *g);

/*
 * Locate the network addr/prefix_len (host bits beyond prefix_len are
 * ignored). Thread-safe; allocates nothing.
 */
void rwd_geo_lookup(const struct rwd_geo *g, const struct rw_addr *addr, uint8_t prefix_len,
                    struct rwd_location *out);

/* A per-thread cache in front of rwd_geo_lookup (direct-mapped, fixed size). */
#define RWD_GEO_CACHE_SIZE 4096
struct rwd_geo_cache_entry {
	uint64_t geo_id;               /* rwd_geo_id() of the db it came from: a reload invalidates */
	struct rw_addr addr;
	uint8_t prefix_len;
	struct rwd_location loc;
};
struct rwd_geo_cache {
	struct rwd_geo_cache_entry e[RWD_GEO_CACHE_SIZE];
};
void rwd_geo_lookup_cached(const struct rwd_geo *g, struct rwd_geo_cache *c,
                           const struct rw_addr *addr, uint8_t prefix_len,
                           struct rwd_location *out);
/* Empty a cache. Zeroed memory (calloc) is an empty cache too: no rwd_geo
 * has id 0. Never needed for correctness after a reload (ids differ). */
void rwd_geo_cache_clear(struct rwd_geo_cache *c);

/* Great-circle distance in km between two points given in degrees. */
double rwd_geo_distance_km(double lat1, double lon1, double lat2, double lon2);
