/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Client location: the operator's own networks (a binary trie per address
 * family, longest prefix wins) in front of a MaxMind-format database opened
 * with libmaxminddb (mmap). See geo.h and docs/geoip.md.
 *
 * The scope returned with an answer is the length of the widest prefix
 * around the client over which that answer does not change, so that an ECS
 * resolver may reuse it for every client in it (RFC 7871 7.2.1):
 *   - an own network decides: its length, made longer when a more specific
 *     own network lies next to the client inside it (own 10.0.0.0/8 and
 *     10.1.0.0/16: a client in 10.2/16 gets scope 15, not 8);
 *   - the mmdb decides (or finds nothing): the netmask libmaxminddb reports
 *     for the network it stopped at (less 96 for IPv4 in an IPv6 tree), made
 *     longer the same way by own networks inside it.
 * Own networks more specific than the looked-up prefix do not decide (the
 * prefix is the unit the client was given to us in); the scope is then at
 * least the prefix length itself.
 *
 * Nothing here allocates after rwd_geo_open: the trie is walked in place and
 * mmdb fields are read with MMDB_aget_value, which decodes into a
 * caller-provided MMDB_entry_data_s (MMDB_get_entry_data_list would malloc).
 */
#include "server/steer/geo.h"

#include <errno.h>
#include <math.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/error.h"
#include "lib/hash.h"

#define NONE UINT32_MAX

/* One trie node: children by the next address bit, and the own network
 * (index into g->nets) whose prefix ends here, or NONE. Node 0 is never a
 * child, so 0 means "no child". */
struct node {
	uint32_t child[2];
	uint32_t net;
};

struct rwd_geo {
	uint64_t id;
	struct rwd_network_location *nets;   /* copy of model->networks, host bits cleared */
	size_t n_nets;
	struct node *nodes;                  /* [0] IPv4 root, [1] IPv6 root */
	size_t n_nodes, cap_nodes;
	bool has_mmdb;
	bool mmdb_v6;                        /* an IPv6 tree: IPv4 lives under ::/96 */
	MMDB_s mmdb;
};

static _Atomic uint64_t next_id = 1;     /* 0 is never an id: a zeroed cache is empty */

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static unsigned bit_at(const uint8_t *bytes, unsigned i)
{
	return (bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Clear the bits of a from bit len on (len <= 128). */
static void mask_bytes(uint8_t *bytes, unsigned len, unsigned nbytes)
{
	for (unsigned i = 0; i < nbytes; i++) {
		unsigned first = i * 8;
		if (first >= len)
			bytes[i] = 0;
		else if (len - first < 8)
			bytes[i] &= (uint8_t)(0xff << (8 - (len - first)));
	}
}

/* ::ffff:a.b.c.d */
static bool v4_mapped(const struct rw_addr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return a->family == AF_INET6 && memcmp(a->bytes, pfx, 12) == 0;
}

/* ---- building the trie ---- */

static uint32_t new_node(struct rwd_geo *g)
{
	if (g->n_nodes == g->cap_nodes) {
		size_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
		struct node *n = realloc(g->nodes, cap * sizeof(*n));
		if (!n)
			return NONE;
		g->nodes = n;
		g->cap_nodes = cap;
	}
	g->nodes[g->n_nodes] = (struct node){ { 0, 0 }, NONE };
	return (uint32_t)g->n_nodes++;
}

static int insert_net(struct rwd_geo *g, uint32_t idx)
{
	const struct rwd_network_location *n = &g->nets[idx];
	uint32_t cur = n->prefix.family == AF_INET ? 0 : 1;
	for (unsigned d = 0; d < n->len; d++) {
		unsigned b = bit_at(n->prefix.bytes, d);
		if (!g->nodes[cur].child[b]) {
			uint32_t c = new_node(g);
			if (c == NONE)
				return RW_ENOMEM;
			g->nodes[cur].child[b] = c;
		}
		cur = g->nodes[cur].child[b];
	}
	if (g->nodes[cur].net == NONE)          /* a duplicate: the first one stays */
		g->nodes[cur].net = idx;
	return 0;
}

/* ---- opening the mmdb ---- */

static bool entry_has(MMDB_entry_s *e, uint32_t type, const char *const *path)
{
	MMDB_entry_data_s d;
	return MMDB_aget_value(e, &d, path) == MMDB_SUCCESS && d.has_data && d.type == type;
}

static const char *const P_CONTINENT[] = { "continent", "code", NULL };
static const char *const P_COUNTRY[] = { "country", "iso_code", NULL };
static const char *const P_SUBDIV[] = { "subdivisions", "0", "iso_code", NULL };
static const char *const P_LOCATION[] = { "location", NULL };
static const char *const P_LAT[] = { "latitude", NULL };    /* in location */
static const char *const P_LON[] = { "longitude", NULL };

/*
 * Is this a City or Country layout? MaxMind names its databases so
 * (GeoLite2-City, GeoIP2-Country, ...); for anything else look at the first
 * records of the tree for continent.code or country.iso_code. A bounded
 * depth-first walk: an ASN or ISP database fails here instead of answering
 * "unknown" to every query later.
 */
static bool layout_ok(MMDB_s *m)
{
	const char *type = m->metadata.database_type;
	if (type && (strstr(type, "City") || strstr(type, "Country")))
		return true;
	uint32_t stack[256];
	unsigned sp = 0, records = 0, visited = 0;
	stack[sp++] = 0;
	while (sp && visited < 100000 && records < 64) {
		uint32_t n = stack[--sp];
		visited++;
		MMDB_search_node_s node;
		if (MMDB_read_node(m, n, &node) != MMDB_SUCCESS)
			return false;
		uint64_t rec[2] = { node.right_record, node.left_record };   /* left popped first */
		uint8_t t[2] = { node.right_record_type, node.left_record_type };
		MMDB_entry_s ent[2] = { node.right_record_entry, node.left_record_entry };
		for (int i = 0; i < 2; i++) {
			if (t[i] == MMDB_RECORD_TYPE_SEARCH_NODE && sp < 256) {
				stack[sp++] = (uint32_t)rec[i];
			} else if (t[i] == MMDB_RECORD_TYPE_DATA) {
				records++;
				if (entry_has(&ent[i], MMDB_DATA_TYPE_UTF8_STRING, P_CONTINENT) ||
				    entry_has(&ent[i], MMDB_DATA_TYPE_UTF8_STRING, P_COUNTRY))
					return true;
			}
		}
	}
	return false;
}

static int open_mmdb(struct rwd_geo *g, const char *path, char err[256])
{
	int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
	if (rc != MMDB_SUCCESS) {
		if (rc == MMDB_IO_ERROR)
			snprintf(err, 256, "%s: cannot open: %s (%s)", path, MMDB_strerror(rc),
			         strerror(errno));
		else
			snprintf(err, 256, "%s: cannot open: %s", path, MMDB_strerror(rc));
		return rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR ? RW_EIO : RW_EMALFORMED;
	}
	g->has_mmdb = true;
	g->mmdb_v6 = g->mmdb.metadata.ip_version == 6;
	if (!layout_ok(&g->mmdb)) {
		snprintf(err, 256,
		         "%s: not a City or Country database (type \"%s\"): its records have no "
		         "continent.code or country.iso_code",
		         path, g->mmdb.metadata.database_type ? g->mmdb.metadata.database_type : "");
		return RW_EMALFORMED;
	}
	return 0;
}

int rwd_geo_open(const struct rwd_model *model, struct rwd_geo **out, char err[256])
{
	err[0] = '\0';
	*out = NULL;
	struct rwd_geo *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, 256, "geoip: out of memory");
		return RW_ENOMEM;
	}
	int rc = RW_ENOMEM;
	if (new_node(g) == NONE || new_node(g) == NONE)
		goto nomem;
	if (model->n_networks) {
		g->nets = malloc(model->n_networks * sizeof(*g->nets));
		if (!g->nets)
			goto nomem;
	}
	for (size_t i = 0; i < model->n_networks; i++) {
		struct rwd_network_location n = model->networks[i];
		if (n.prefix.family != AF_INET && n.prefix.family != AF_INET6) {
			snprintf(err, 256, "geoip: network %zu: unknown address family", i);
			rc = RW_EINVAL;
			goto fail;
		}
		unsigned bits = family_bits(n.prefix.family);
		if (n.len > bits)
			n.len = (uint8_t)bits;
		mask_bytes(n.prefix.bytes, n.len, sizeof(n.prefix.bytes));
		n.continent[sizeof(n.continent) - 1] = '\0';
		n.country[sizeof(n.country) - 1] = '\0';
		n.subdivision[sizeof(n.subdivision) - 1] = '\0';
		g->nets[g->n_nets] = n;
		if (insert_net(g, (uint32_t)g->n_nets++) != 0)
			goto nomem;
	}
	if (model->mmdb_path && (rc = open_mmdb(g, model->mmdb_path, err)) != 0)
		goto fail;
	g->id = atomic_fetch_add(&next_id, 1);
	*out = g;
	return 0;
nomem:
	snprintf(err, 256, "geoip: out of memory");
	rc = RW_ENOMEM;
fail:
	rwd_geo_close(g);
	return rc;
}

void rwd_geo_close(struct rwd_geo *g)
{
	if (!g)
		return;
	if (g->has_mmdb)
		MMDB_close(&g->mmdb);
	free(g->nodes);
	free(g->nets);
	free(g);
}

uint64_t rwd_geo_id(const struct rwd_geo *g)
{
	return g->id;
}

/* ---- lookup ---- */

/*
 * Walk the own trie along a (already masked to len bits). Returns the
 * deciding network or NULL; *spread is the shortest prefix of a that no own
 * network other than those on the walked path overlaps, i.e. the narrowest
 * scope any answer for a/len can have because of own networks.
 */
static const struct rwd_network_location *walk_own(const struct rwd_geo *g, const uint8_t *a,
                                                   int family, unsigned len, unsigned *spread)
{
	const struct node *nodes = g->nodes;
	uint32_t cur = family == AF_INET ? 0 : 1;
	uint32_t best = nodes[cur].net;
	unsigned d = 0, sp = 0;
	for (; d < len; d++) {
		unsigned b = bit_at(a, d);
		if (nodes[cur].child[!b])
			sp = d + 1;               /* another own network branches off here */
		uint32_t c = nodes[cur].child[b];
		if (!c)
			break;
		cur = c;
		if (nodes[cur].net != NONE)
			best = nodes[cur].net;
	}
	if (d == len && (nodes[cur].child[0] || nodes[cur].child[1]))
		sp = len;                         /* more specific own networks inside a/len */
	*spread = sp;
	return best == NONE ? NULL : &g->nets[best];
}

static void copy_code(char *dst, size_t size, const MMDB_entry_data_s *d)
{
	if (d->type == MMDB_DATA_TYPE_UTF8_STRING && d->data_size > 0 && d->data_size < size) {
		memcpy(dst, d->utf8_string, d->data_size);
		dst[d->data_size] = '\0';
	}
}

static bool get_coord(MMDB_entry_s *e, const char *const *path, double lim, double *v)
{
	MMDB_entry_data_s d;
	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data)
		return false;
	if (d.type == MMDB_DATA_TYPE_DOUBLE)
		*v = d.double_value;
	else if (d.type == MMDB_DATA_TYPE_FLOAT)
		*v = d.float_value;
	else
		return false;
	return isfinite(*v) && fabs(*v) <= lim;
}

/* Fill out from the mmdb; returns the scope the mmdb gives (in a's family). */
static unsigned lookup_mmdb(const struct rwd_geo *g, const uint8_t *a, int family, unsigned len,
                            struct rwd_location *out)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} su;
	memset(&su, 0, sizeof(su));
	if (family == AF_INET) {
		su.in.sin_family = AF_INET;
		memcpy(&su.in.sin_addr, a, 4);
	} else {
		su.in6.sin6_family = AF_INET6;
		memcpy(&su.in6.sin6_addr, a, 16);
	}
	int merr = MMDB_SUCCESS;
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&g->mmdb, &su.sa, &merr);
	if (merr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return 0;                         /* no IPv6 in it at all */
	if (merr != MMDB_SUCCESS)
		return len;                       /* a corrupt tree: claim nothing wider */
	unsigned scope = r.netmask;
	if (family == AF_INET && g->mmdb_v6)
		scope = scope >= 96 ? scope - 96 : 0;
	if (!r.found_entry)
		return scope;

	MMDB_entry_s *e = &r.entry;
	MMDB_entry_data_s d;
	if (MMDB_aget_value(e, &d, P_CONTINENT) == MMDB_SUCCESS && d.has_data)
		copy_code(out->continent, sizeof(out->continent), &d);
	if (MMDB_aget_value(e, &d, P_COUNTRY) == MMDB_SUCCESS && d.has_data)
		copy_code(out->country, sizeof(out->country), &d);
	if (out->country[0] && MMDB_aget_value(e, &d, P_SUBDIV) == MMDB_SUCCESS && d.has_data)
		copy_code(out->subdivision, sizeof(out->subdivision), &d);
	/* latitude and longitude inside the location map, found once */
	if (MMDB_aget_value(e, &d, P_LOCATION) == MMDB_SUCCESS && d.has_data &&
	    d.type == MMDB_DATA_TYPE_MAP) {
		MMDB_entry_s loc = { e->mmdb, d.offset };
		double lat, lon;
		if (get_coord(&loc, P_LAT, 90, &lat) && get_coord(&loc, P_LON, 180, &lon)) {
			out->has_coords = true;
			out->lat = lat;
			out->lon = lon;
		}
	}
	out->found = out->continent[0] || out->country[0] || out->has_coords;
	return scope;
}

void rwd_geo_lookup(const struct rwd_geo *g, const struct rw_addr *addr, uint8_t prefix_len,
                    struct rwd_location *out)
{
	memset(out, 0, sizeof(*out));
	uint8_t a[16] = { 0 };
	int family = addr->family;
	unsigned len = prefix_len, extra = 0;
	if (family == AF_INET6 && v4_mapped(addr) && len >= 96) {
		/* ::ffff:a.b.c.d is an IPv4 client: own IPv4 networks apply */
		family = AF_INET;
		memcpy(a, addr->bytes + 12, 4);
		len -= 96;
		extra = 96;
	} else if (family == AF_INET || family == AF_INET6) {
		memcpy(a, addr->bytes, family == AF_INET ? 4 : 16);
	} else {
		out->scope = prefix_len;
		return;
	}
	unsigned bits = family_bits(family);
	if (len > bits)
		len = bits;
	mask_bytes(a, len, 16);

	unsigned spread, scope;
	const struct rwd_network_location *n = walk_own(g, a, family, len, &spread);
	if (n) {
		out->found = true;
		memcpy(out->continent, n->continent, sizeof(out->continent));
		memcpy(out->country, n->country, sizeof(out->country));
		memcpy(out->subdivision, n->subdivision, sizeof(out->subdivision));
		out->has_coords = n->has_location;
		if (n->has_location) {
			out->lat = n->lat;
			out->lon = n->lon;
		}
		scope = n->len;
	} else if (g->has_mmdb) {
		scope = lookup_mmdb(g, a, family, len, out);
	} else {
		scope = 0;                        /* nothing anywhere: the same for all */
	}
	if (spread > scope)
		scope = spread;
	scope += extra;
	out->scope = (uint8_t)(scope > 128 ? 128 : scope);
}

/* ---- the per-thread cache ---- */

void rwd_geo_lookup_cached(const struct rwd_geo *g, struct rwd_geo_cache *c,
                           const struct rw_addr *addr, uint8_t prefix_len,
                           struct rwd_location *out)
{
	/* The key: the address with host bits cleared, so that every client
	 * of one ECS prefix shares an entry. */
	struct rw_addr key;
	memset(&key, 0, sizeof(key));
	key.family = addr->family;
	unsigned nbytes = addr->family == AF_INET ? 4 : 16;
	memcpy(key.bytes, addr->bytes, nbytes);
	mask_bytes(key.bytes, prefix_len, nbytes);

	uint64_t w0, w1;
	memcpy(&w0, key.bytes, 8);
	memcpy(&w1, key.bytes + 8, 8);
	uint64_t h = rw_mix64(w0 ^ rw_mix64(w1 ^ rw_mix64(g->id ^ ((uint64_t)prefix_len << 56) ^
	                                   ((uint64_t)(key.family & 0xff) << 48))));
	struct rwd_geo_cache_entry *e = &c->e[h & (RWD_GEO_CACHE_SIZE - 1)];
	if (e->geo_id == g->id && e->prefix_len == prefix_len && e->addr.family == key.family &&
	    memcmp(e->addr.bytes, key.bytes, 16) == 0) {
		*out = e->loc;
		return;
	}
	rwd_geo_lookup(g, &key, prefix_len, out);
	e->geo_id = g->id;
	e->addr = key;
	e->prefix_len = prefix_len;
	e->loc = *out;
}

void rwd_geo_cache_clear(struct rwd_geo_cache *c)
{
	memset(c, 0, sizeof(*c));
}

/* ---- distance ---- */

double rwd_geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371.0, rad = M_PI / 180.0;
	double p1 = lat1 * rad, p2 = lat2 * rad;
	double dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
	double s1 = sin(dp / 2), s2 = sin(dl / 2);
	double h = s1 * s1 + cos(p1) * cos(p2) * s2 * s2;
	if (h > 1)
		h = 1;
	return 2 * r * asin(sqrt(h));
}
