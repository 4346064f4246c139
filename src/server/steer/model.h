/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The traffic model: endpoints, health checks and policy trees, as read from
 * the configuration (health_checks:, endpoints:, geoip:, latency:, traffic:)
 * and, later, changed through the control API. Immutable once built; it
 * lives in the snapshot next to the zones (snapshot/snapshot.h), so a reload or
 * an API change swaps it whole.
 *
 * Health is not part of the model: each endpoint address has a slot in the
 * health state (health/health.h), published separately so a health flip does
 * not rebuild policies. Slot numbers are assigned here, at build time.
 *
 * A policy tree is evaluated per query by steer/eval.c; nodes refer to
 * endpoints and children by pointer, all inside the model's arena.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/arena.h"

enum rwd_check_type { RWD_CHECK_TCP, RWD_CHECK_HTTP, RWD_CHECK_HTTPS, RWD_CHECK_DNS };

#define RWD_CHECK_MAX_STATUS 8

struct rwd_check {
	char *name;
	enum rwd_check_type type;
	uint16_t port;                 /* required for tcp; default 80/443/53 */
	char *path;                    /* http(s): default "/" */
	char *host;                    /* http(s): Host header and TLS SNI; default the address */
	uint16_t expect_status[RWD_CHECK_MAX_STATUS];   /* http(s): default {200} */
	unsigned n_expect_status;
	char *expect_body;             /* http(s): substring of the body, optional */
	bool tls_verify;               /* https: verify the certificate chain (default false) */
	unsigned cert_warn_days;       /* https: log a warning when expiry is closer (default 14) */
	uint8_t dns_qname[255];        /* dns: query name (flat), default the root */
	uint16_t dns_qtype;            /* dns: default SOA */
	int dns_rcode;                 /* dns: expected rcode, default NOERROR (0) */
	char *dns_expect;              /* dns: substring of an answer's presentation form, optional */
	unsigned interval_ms;          /* default 1000 */
	unsigned timeout_ms;           /* default: 1 s or half the interval, whichever is shorter; < interval */
	unsigned rise;                 /* consecutive passes to become up, default 2 */
	unsigned fall;                 /* consecutive failures to become down, default 2 */
	/* Flap dampening (health/flap.h): flap_changes up/down changes within
	 * flap_window_ms hold the slot down until it has passed for flap_hold_ms.
	 * 0 changes: off (what a zeroed struct gets; the configuration's default
	 * is 6); 0 ms: 12 intervals. */
	unsigned flap_changes;
	unsigned flap_window_ms;
	unsigned flap_hold_ms;
	int line;                      /* in the configuration */
};


/* One address of an endpoint, with its own health slot. */
struct rwd_endpoint_addr {
	struct rw_addr addr;
	uint32_t slot;                 /* index into the health state */
};

struct rwd_endpoint {
	char *name;
	struct rwd_endpoint_addr *addrs;
	unsigned n_addrs;
	const struct rwd_check *check; /* NULL: always up (unless drained) */
	uint8_t cname[255];            /* non-empty: the endpoint answers with this CNAME */
	uint8_t cname_len;
	bool has_location;
	double lat, lon;               /* degrees */
	uint8_t target[255];           /* SRV target name for this endpoint (flat), optional */
	uint8_t target_len;
	uint32_t slot;                 /* health slot of a CNAME endpoint with a check */
	bool drained;                  /* taken out of service on purpose: always down */
	uint8_t drained_by;            /* drained: enum rwd_drain_by */
	int64_t drained_since;         /* drained: when (Unix seconds); 0: not known */
	int line;
};

/* Who drained an endpoint. The store keeps it with the drain (drains/NAME,
 * control/endpoints.c); the control layer sets it on the model it builds,
 * and /v1/simulate says it (a lease that ran out is not an operator's drain). */
enum rwd_drain_by {
	RWD_DRAIN_FILE,                /* the configuration file says drained: true */
	RWD_DRAIN_OPERATOR,            /* POST /v1/endpoints/NAME/drain */
	RWD_DRAIN_LEASE,               /* its lease ran out while a policy still named it;
	                                * drained_since is when the lease ended */
};

enum rwd_policy_kind {
	RWD_POLICY_ENDPOINT,
	RWD_POLICY_WEIGHTED,
	RWD_POLICY_FAILOVER,
	RWD_POLICY_GEOLOCATION,
	RWD_POLICY_GEOPROXIMITY,
	RWD_POLICY_LATENCY,
	RWD_POLICY_MULTIVALUE,
	RWD_POLICY_CIDR,
};

struct rwd_policy;

struct rwd_policy_child {
	struct rwd_policy *node;
	int weight;                    /* weighted: 0..255 */
	int bias;                      /* geoproximity: -99..99 */
};

/* Geolocation codes, most specific wins: subdivision > country > continent > default. */
enum rwd_geo_level { RWD_GEO_CONTINENT = 1, RWD_GEO_COUNTRY = 2, RWD_GEO_SUBDIVISION = 3 };

struct rwd_geo_rule {
	enum rwd_geo_level level;
	char code[8];                  /* "EU", "DE", "US-CA": uppercase, NUL-terminated */
	struct rwd_policy *node;
};

struct rwd_cidr_rule {
	struct rw_addr prefix;        /* host bits zero */
	uint8_t len;                   /* prefix length */
	struct rwd_policy *node;
};

struct rwd_policy {
	enum rwd_policy_kind kind;
	int line;
	union {
		const struct rwd_endpoint *endpoint;          /* ENDPOINT */
		struct {                                      /* WEIGHTED FAILOVER GEOPROXIMITY LATENCY MULTIVALUE */
			struct rwd_policy_child *v;
			unsigned n;
			unsigned count;                       /* MULTIVALUE: up to this many (default 8) */
		} children;
		struct {                                      /* GEOLOCATION */
			struct rwd_geo_rule *v;               /* sorted most specific first */
			unsigned n;
			struct rwd_policy *fallback;          /* "default", may be NULL */
		} geo;
		struct {                                      /* CIDR */
			struct rwd_cidr_rule *v;              /* sorted longest prefix first */
			unsigned n;
			struct rwd_policy *fallback;          /* "default", may be NULL */
		} cidr;
	} u;
};

/* SRV service discovery: each healthy member answers one SRV record. */
struct rwd_srv_member {
	const struct rwd_endpoint *endpoint;   /* must have a target name */
	uint16_t port, priority, weight;
};

enum rwd_traffic_kind { RWD_TRAFFIC_POLICY, RWD_TRAFFIC_ALIAS, RWD_TRAFFIC_SRV };

struct rwd_traffic {
	uint8_t name[255];             /* flat, lowercased */
	uint8_t name_len;
	enum rwd_traffic_kind kind;
	uint32_t ttl;                  /* default 60 */
	bool fail_open;                /* default true: all down answers as if all up */
	struct rwd_policy *policy;     /* POLICY */
	uint8_t alias[255];            /* ALIAS: flat target name (traffic name or in a served zone) */
	uint8_t alias_len;
	struct rwd_srv_member *srv;    /* SRV */
	unsigned n_srv;
	/* Apex length of the most specific configured zone (top level or any
	 * view) holding the name: it answers only from that zone, so a name
	 * under a view's own zone stays unknown to other views' clients.
	 * 0: from any zone (models built without a configuration). */
	uint8_t zone_len;
	int line;
};

/* Rows of the latency table: a client network or country, an endpoint, an RTT. */
struct rwd_latency_row {
	bool is_country;
	char country[3];
	struct rw_addr prefix;
	uint8_t len;
	const struct rwd_endpoint *endpoint;
	uint32_t rtt_ms;
};

/* Own CIDR -> location entries (geoip.networks), win over the mmdb. */
struct rwd_network_location {
	struct rw_addr prefix;
	uint8_t len;
	char continent[3], country[3], subdivision[4];   /* "" when unknown */
	bool has_location;
	double lat, lon;
};

/*
 * A view's own traffic names (views[].traffic in the configuration): for
 * the clients of that view they come before the top-level ones, so a name
 * in both is steered by the view's entry there and by the top-level one
 * elsewhere. Endpoints, checks and geoip stay shared by all views.
 */
struct rwd_view_traffic {
	struct rwd_traffic *traffic;
	size_t n_traffic;
	struct rwd_traffic **table;    /* as rwd_model.table */
	size_t table_mask;
};

struct rwd_model {
	struct rw_arena arena;
	struct rwd_check *checks;
	size_t n_checks;
	struct rwd_endpoint *endpoints;
	size_t n_endpoints;
	struct rwd_traffic *traffic;
	size_t n_traffic;
	struct rwd_traffic **table;    /* by name: open addressing, NULL-terminated probes */
	size_t table_mask;
	struct rwd_view_traffic *views;   /* by view index (config order, as the snapshot's views) */
	size_t n_views;                   /* 0, or the number of configured views */
	uint32_t n_slots;              /* health slots in use */
	char *mmdb_path;               /* geoip.mmdb resolved, or NULL */
	struct rwd_network_location *networks;
	size_t n_networks;
	struct rwd_latency_row *latency;
	size_t n_latency;
};

/* The traffic entry of a flat lowercased name, or NULL. */
const struct rwd_traffic *rwd_model_find(const struct rwd_model *m, const uint8_t *name, size_t len);

/*
 * The same for a client of view number view (0-based, config order): the
 * view's own entry, else the top-level one. view >= n_views (no views, or
 * a view without traffic of its own): the top-level one.
 */
const struct rwd_traffic *rwd_model_find_in_view(const struct rwd_model *m, size_t view,
                                                 const uint8_t *name, size_t len);

void rwd_model_free(struct rwd_model *m);

/*
 * Renumber m's health slots so that every (endpoint, address) also in old
 * keeps old's number (slots.c explains why). old may be NULL. 0 or RW_ENOMEM.
 */
int rwd_model_keep_slots(struct rwd_model *m, const struct rwd_model *old);

/* ---- Building a model (the configuration loader; later the control API) ---- */

/* endpoint->slot of an endpoint that has no slot of its own (its addresses have them). */
#define RWD_NO_SLOT UINT32_MAX

/* A new empty model: no entries, an initialised arena. NULL when out of memory. */
struct rwd_model *rwd_model_new(void);

/*
 * Number the health slots 0..n_slots-1 in endpoint order: each address of
 * each endpoint gets one (addrs[i].slot), and each endpoint without addresses
 * but with a CNAME gets one (endpoint->slot). Every such address and CNAME
 * endpoint gets a slot whether or not it has a check (unchecked slots stay
 * up). endpoint->slot is RWD_NO_SLOT for all other endpoints. Sets n_slots.
 */
void rwd_model_assign_slots(struct rwd_model *m);

/*
 * Build m->table / m->table_mask from m->traffic (in m->arena). Returns 0,
 * RW_ENOMEM, or RW_EEXIST when two entries have the same name: *dup is then
 * the later one in the array, and the table holds the entries before it
 * (so rwd_model_find() gives the earlier one).
 * Pre: every traffic name is flat and lowercased; dup != NULL.
 */
int rwd_model_build_table(struct rwd_model *m, const struct rwd_traffic **dup);

/* The same for one view's own names: v->table from v->traffic, in m->arena. */
int rwd_model_build_view_table(struct rwd_model *m, struct rwd_view_traffic *v,
                               const struct rwd_traffic **dup);

/* The endpoint called name (linear search, for tools and the API), or NULL. */
const struct rwd_endpoint *rwd_model_find_endpoint(const struct rwd_model *m, const char *name);

/*
 * Put the rules of one GEOLOCATION node most specific first (subdivision,
 * country, continent; codes in ASCII order within a level), or of one CIDR
 * node longest prefix first (IPv4 before IPv6 at equal length, then by
 * address). Other kinds are left alone. Not recursive.
 */
void rwd_policy_sort_rules(struct rwd_policy *p);

/*
 * A geolocation code: a continent (AF AN AS EU NA OC SA), a country (two
 * letters, ISO 3166-1) or a subdivision (country + '-' + 1..3 letters or
 * digits, ISO 3166-2: "US-CA"), any case. Two-letter codes that are also
 * continent codes mean the continent; "country:XX" and "continent:XX" say
 * which one is meant. Writes the level and the uppercase code (without the
 * "country:" prefix). Returns 0 or RW_EINVAL.
 */
int rwd_geo_code_parse(const char *text, enum rwd_geo_level *level, char code[8]);
