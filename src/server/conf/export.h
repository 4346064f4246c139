/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The traffic model written back out in the configuration's own shape: as
 * JSON values (jansson) for the control API (GET /v1/traffic/{name}, the
 * endpoints), and as the YAML sections health_checks, endpoints and traffic
 * for `runway export`. What is written loads back into the same model:
 * a JSON value here, given as an overlay (conf.h) or written under its key
 * in the file, builds the entry it came from.
 *
 * Values are written in full: defaults that were left out are written
 * (ttl, a check's interval), except fail_open (only when false) and
 * drained (only when true). YAML aliases are not kept: a subtree shared by
 * several places is written at each. Names are written as the model holds
 * them: traffic names and other domain names lowercase and absolute.
 */
#pragma once
#include <stdio.h>

#include <jansson.h>

#include "server/steer/model.h"

/* A policy, with shared subtrees written out, has at most this many nodes. */
#define RWD_EXPORT_MAX_NODES 100000

/*
 * {"ttl": 60, "policy": POLICY} (or "alias": NAME, or "srv": [{"endpoint":
 * E, "port": P, "priority": N, "weight": N}, ...]), with "fail_open": false
 * when it is off. A POLICY is an endpoint name, or {"weighted": {E: W, ...}}
 * ({"weighted": [{"weight": W, "node": POLICY}, ...]} when a child is not an
 * endpoint or an endpoint repeats; geoproximity alike, with "bias"),
 * {"failover": [...]}, {"latency": [...]}, {"multivalue": [...]} (with a
 * count other than 8: {"multivalue": {"count": N, "of": [...]}}),
 * {"geolocation": {CODE: POLICY, ..., "default": POLICY}}, {"cidr":
 * {PREFIX: POLICY, ..., "default": POLICY}}. A new reference; NULL when out
 * of memory or when the policy has more than RWD_EXPORT_MAX_NODES nodes.
 */
json_t *rwd_traffic_to_json(const struct rwd_traffic *t);

/*
 * {"address": [...], "cname": NAME, "health_check": CHECK, "location":
 * {"lat": X, "lon": Y}, "target": NAME, "drained": true}, each only when
 * set. A new reference; NULL when out of memory.
 */
json_t *rwd_endpoint_to_json(const struct rwd_endpoint *e);

/*
 * {"type": "http", "port": 80, "path": "/", ..., "interval": "1s",
 * "timeout": "500ms", "rise": 2, "fall": 2}: every key that applies to the
 * check's type. A new reference; NULL when out of memory.
 */
json_t *rwd_check_to_json(const struct rwd_check *k);

/*
 * The sections health_checks, endpoints and traffic of m as YAML, one entry
 * per line in flow style (JSON), in model (file) order:
 *
 *   health_checks:
 *     "web": {"type": "http", "port": 8080, ...}
 *   endpoints:
 *     "us-east": {"address": ["192.0.2.10"], "health_check": "web"}
 *   traffic:
 *     "www.example.com.": {"ttl": 60, "policy": "us-east"}
 *
 * rwd_conf_load() reads it back (given the zones the traffic names are in)
 * into the same model; exporting that again gives the same text. geoip and
 * latency, which name files, are not written. Returns 0, RW_ENOMEM,
 * RW_ELIMIT (a policy too large, see above) or RW_EIO (write error).
 */
int rwd_model_export_yaml(const struct rwd_model *m, FILE *out);
