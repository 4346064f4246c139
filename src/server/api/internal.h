/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to the API: helpers shared by the route files and the handlers
 * of each resource (zones.c, traffic.c, health.c, simulate.c, metrics.c).
 * Each handler fills a struct rwd_api_response; none touches HTTP.
 */
#pragma once
#include <jansson.h>
#include <stdarg.h>
#include <time.h>

#include "server/api/api.h"
#include "server/control/control.h"
#include "server/snapshot/snapshot.h"

/* Bodies larger than this are refused with 413. */
#define RWD_API_MAX_BODY (1u << 20)

#define API_JSON "application/json"

/* A name in text, with escapes (\DDD) at worst. */
#define API_NAME_TXT 1024

/* Respond with j (taken over) as JSON. */
void api_json(struct rwd_api_response *out, int status, json_t *j);
/* Respond {"error": "..."}. */
__attribute__((format(printf, 3, 4)))
void api_error(struct rwd_api_response *out, int status, const char *fmt, ...);
/* Respond with text (taken over, malloc'ed). */
void api_text(struct rwd_api_response *out, int status, const char *type, char *text, size_t len);

/* The value of a query parameter, or NULL. */
const char *api_param(const struct rwd_api_request *r, const char *key);

/* Parse the body as a JSON object; NULL after filling out with a 400. */
json_t *api_body_object(const struct rwd_api_request *r, struct rwd_api_response *out);

/* The k-th health slot of an endpoint and what it checks (an address, or
 * the CNAME of an endpoint without addresses); false past the last. */
bool api_endpoint_slot(const struct rwd_endpoint *ep, unsigned k, uint32_t *slot,
                       char *target, size_t size);

/* POST /v1/latency (latency.c). */
void api_latency(const struct rwd_api_env *e, const struct rwd_api_request *r,
                 struct rwd_api_response *out);

/* The HTTP status for a control layer error code. */
int api_status_of(int rc);

/*
 * Reading the snapshot and the health state: holds the control read lock
 * (no snapshot swap) and makes the thread an online RCU reader (the health
 * state is swapped independently). Not nested.
 */
void api_read_begin(const struct rwd_api_env *e);
void api_read_end(const struct rwd_api_env *e);

/* A name from a URL or a parameter ("example.com" or "example.com.") to
 * flat lowercase form; its length, or 0 when it is not a name. */
size_t api_dname(const char *text, uint8_t out[255]);
/* Flat name to text with the trailing dot. */
void api_dname_str(const uint8_t *dn, char *buf, size_t size);

/* Address to text ("192.0.2.1", "2001:db8::1"). */
void api_addr_str(const struct rw_addr *a, char *buf, size_t size);

/* ---- handlers ---- */
void api_zones_list(const struct rwd_api_env *e, struct rwd_api_response *out);
void api_zone_rrsets(const struct rwd_api_env *e, const char *zone,
                     const struct rwd_api_request *r, struct rwd_api_response *out);
void api_zone_changes(const struct rwd_api_env *e, const char *zone,
                      const struct rwd_api_request *r, struct rwd_api_response *out);
/* GET /v1/zones/{zone}/transfer, POST .../refresh and .../retransfer, and
 * the transfer lines of /metrics (xfr.c). */
void api_zone_transfer(const struct rwd_api_env *e, const char *zone,
                       const struct rwd_api_request *r, struct rwd_api_response *out);
void api_zone_refresh(const struct rwd_api_env *e, const char *zone, bool retransfer,
                      const struct rwd_api_request *r, struct rwd_api_response *out);
void api_xfr_metrics(const struct rwd_api_env *e, FILE *f);
void api_zone_journal(const struct rwd_api_env *e, const char *zone,
                      const struct rwd_api_request *r, struct rwd_api_response *out);

void api_traffic_list(const struct rwd_api_env *e, struct rwd_api_response *out);
void api_traffic_get(const struct rwd_api_env *e, const char *name, struct rwd_api_response *out);
void api_traffic_put(const struct rwd_api_env *e, const char *name,
                     const struct rwd_api_request *r, struct rwd_api_response *out);
void api_export_yaml(const struct rwd_api_env *e, struct rwd_api_response *out);
void api_traffic_delete(const struct rwd_api_env *e, const char *name, struct rwd_api_response *out);

void api_endpoints_list(const struct rwd_api_env *e, struct rwd_api_response *out);
void api_endpoint_put(const struct rwd_api_env *e, const char *name,
                      const struct rwd_api_request *r, struct rwd_api_response *out);
void api_endpoint_drain(const struct rwd_api_env *e, const char *name, bool drained,
                        struct rwd_api_response *out);

/* GET /v1/changes, DELETE /v1/changes/KEY (changes.c) */
void api_changes_list(const struct rwd_api_env *e, const struct rwd_api_request *r,
                      struct rwd_api_response *out);
void api_change_drop(const struct rwd_api_env *e, const char *key, struct rwd_api_response *out);

void api_health(const struct rwd_api_env *e, struct rwd_api_response *out);
void api_simulate(const struct rwd_api_env *e, const struct rwd_api_request *r,
                  struct rwd_api_response *out);
void api_metrics(const struct rwd_api_env *e, struct rwd_api_response *out);

/* "weighted", "failover", ... */
const char *api_policy_kind(enum rwd_policy_kind k);
/* An endpoint as the configuration writes it, with "name" and "drained". */
json_t *api_endpoint_json(const struct rwd_api_env *e, const struct rwd_endpoint *ep);
/* RFC 3339 UTC time with milliseconds, or JSON null for 0. */
json_t *api_time_json(const struct timespec *ts);

/* Is this endpoint drained? (The control layer's state, when it tells.) */
bool api_endpoint_drained(const struct rwd_api_env *e, const struct rwd_endpoint *ep);
/* Who drained a drained endpoint ("drained_by": "operator", "lease" or
 * "configuration") and since when ("drained_since", UTC, null when not
 * known: a drain stored before it said, or the file's), into o: the same in
 * GET /v1/endpoints, /v1/health and /v1/simulate. */
void api_drain_json(const struct rwd_endpoint *ep, json_t *o);
