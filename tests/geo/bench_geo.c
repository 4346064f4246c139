/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Lookup timings of steer/geo.c against a database: uncached, and through the
 * per-thread cache with many and with few client prefixes. Clients are IPv4
 * /24s (what ECS sends) drawn at random from FIRST..LAST.
 *
 *   bench_geo DB.mmdb FIRST LAST [LOOKUPS]
 *
 * Built and run by tests/geo/bench.sh, on a generated database; any
 * GeoLite2/GeoIP2-City file works too (bench_geo GeoLite2-City.mmdb 1.0.0.0
 * 223.255.255.255).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/steer/geo.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

int main(int argc, char **argv)
{
	struct in_addr first, last;
	if (argc < 4 || inet_pton(AF_INET, argv[2], &first) != 1 ||
	    inet_pton(AF_INET, argv[3], &last) != 1) {
		fprintf(stderr, "usage: %s DB.mmdb FIRST LAST [LOOKUPS]\n", argv[0]);
		return 2;
	}
	unsigned long lookups = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000000;
	uint32_t lo = ntohl(first.s_addr), hi = ntohl(last.s_addr);
	if (hi <= lo || lookups == 0) {
		fprintf(stderr, "bad range or count\n");
		return 2;
	}

	struct rwd_model m;
	memset(&m, 0, sizeof(m));
	m.mmdb_path = argv[1];
	struct rwd_geo *g;
	char err[256];
	if (rwd_geo_open(&m, &g, err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	enum { POOL = 1 << 20 };
	struct rw_addr *pool = malloc(POOL * sizeof(*pool));
	struct rwd_geo_cache *cache = calloc(1, sizeof(*cache));
	if (!pool || !cache)
		return 1;
	for (unsigned i = 0; i < POOL; i++) {
		uint32_t v = (lo + next() % (hi - lo)) & 0xffffff00u;
		memset(&pool[i], 0, sizeof(pool[i]));
		pool[i].family = AF_INET;
		v = htonl(v);
		memcpy(pool[i].bytes, &v, 4);
	}

	const struct {
		const char *name;
		int cached;
		unsigned clients;
	} runs[] = {
		{ "uncached, 1M client /24s", 0, POOL },
		{ "cached, 1M client /24s (mostly misses)", 1, POOL },
		{ "cached, 2000 client /24s", 1, 2000 },
		{ "cached, 256 client /24s (hits)", 1, 256 },
	};
	volatile unsigned sink = 0;
	for (unsigned r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		struct rwd_location l;
		unsigned found = 0;
		rwd_geo_cache_clear(cache);
		double t0 = now();
		for (unsigned long n = 0; n < lookups; n++) {
			const struct rw_addr *a = &pool[(n * 40503u) % runs[r].clients];
			if (runs[r].cached)
				rwd_geo_lookup_cached(g, cache, a, 24, &l);
			else
				rwd_geo_lookup(g, a, 24, &l);
			found += l.found;
			sink += l.scope;
		}
		double t = now() - t0;
		printf("%-42s %7.1f ns/lookup  (%lu lookups, %.0f%% found)\n", runs[r].name,
		       t * 1e9 / lookups, lookups, 100.0 * found / lookups);
	}
	(void)sink;
	free(pool);
	free(cache);
	rwd_geo_close(g);
	return 0;
}
