/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * POST /v1/latency: real-user RTT samples, a JSON array of
 * {"client": "203.0.113.0/24" | "JP", "endpoint": "us-east", "rtt_ms": 41}.
 * Each (client, endpoint) keeps a moving average in the store that feeds
 * the latency policy (control.h).
 */
#include <jansson.h>
#include <stdlib.h>

#include "lib/error.h"
#include "server/api/internal.h"
#include "server/control/control.h"

#define MAX_SAMPLES 10000

void api_latency(const struct rwd_api_env *e, const struct rwd_api_request *r,
                 struct rwd_api_response *out)
{
	json_error_t je;
	json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, &je) : NULL;
	if (j == NULL) {
		if (r->body_len == 0)
			return api_error(out, 400, "a JSON array of samples is required in the body");
		return api_error(out, 400, "bad JSON at line %d, column %d (byte %d): %s", je.line,
		                 je.column, je.position, je.text);
	}
	size_t n = json_array_size(j);
	if (!json_is_array(j) || n == 0 || n > MAX_SAMPLES) {
		json_decref(j);
		return api_error(out, 400, "the body must be an array of 1..%d samples", MAX_SAMPLES);
	}
	struct rwd_latency_sample *v = calloc(n, sizeof(*v));
	if (v == NULL) {
		json_decref(j);
		return api_error(out, 500, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(j, i);
		json_t *rtt = json_object_get(s, "rtt_ms");
		v[i].client = json_string_value(json_object_get(s, "client"));
		v[i].endpoint = json_string_value(json_object_get(s, "endpoint"));
		v[i].rtt_ms = json_number_value(rtt);
		if (!json_is_object(s) || !v[i].client || !v[i].endpoint || !json_is_number(rtt)) {
			free(v);
			json_decref(j);
			return api_error(out, 400, "sample %zu: needs \"client\" and \"endpoint\" strings "
			                 "and a number \"rtt_ms\"", i + 1);
		}
	}
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_latency(e->ctl, v, n, err);
	free(v);
	json_decref(j);
	if (rc != 0)
		return api_error(out, api_status_of(rc), "%s", err[0] ? err : rw_strerror(rc));
	api_json(out, 200, json_pack("{s:s, s:I}", "status", "applied", "samples", (json_int_t)n));
}
