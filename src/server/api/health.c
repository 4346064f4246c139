/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GET /v1/health: every health slot (an endpoint address, or a CNAME
 * endpoint) with its check, state, since when, last result and recent
 * transitions with their reasons. The model says which slots exist; the
 * published health state says what the query path sees; the health
 * service's own copy (rwd_health_foreach) adds live counters and whether
 * flap dampening holds the slot down.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/api/internal.h"
#include "server/health/health.h"

json_t *api_time_json(const struct timespec *ts)
{
	if (ts->tv_sec == 0 && ts->tv_nsec == 0)
		return json_null();
	struct tm tm;
	time_t t = ts->tv_sec;
	gmtime_r(&t, &tm);
	char buf[64];
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03ldZ", ts->tv_nsec / 1000000);
	return json_string(buf);
}

static const char *check_type(enum rwd_check_type t)
{
	switch (t) {
	case RWD_CHECK_TCP: return "tcp";
	case RWD_CHECK_HTTP: return "http";
	case RWD_CHECK_HTTPS: return "https";
	case RWD_CHECK_DNS: return "dns";
	}
	return "?";
}

static void set_info(json_t *o, const struct rwd_slot_info *info, bool checked, bool down)
{
	json_object_set_new(o, "state", json_string(down ? "down" : checked ? "up" : "unchecked"));
	/* Held down by flap dampening, whatever its latest probes say. */
	json_object_set_new(o, "flapping", json_boolean(info->flapping));
	json_object_set_new(o, "since", api_time_json(&info->since));
	json_object_set_new(o, "checks", json_integer(info->checks));
	json_object_set_new(o, "failures", json_integer(info->failures));
	json_object_set_new(o, "last_result", info->last_result[0] ? json_string(info->last_result)
	                                                            : json_null());
	json_object_set_new(o, "last_duration_ms", json_real(info->last_duration_us / 1000.0));
	json_t *h = json_array();
	for (unsigned i = 0; i < info->n_history && i < RWD_HEALTH_HISTORY; i++) {
		const struct rwd_slot_transition *tr = &info->history[i];
		json_array_append_new(h, json_pack("{s:o, s:s, s:s}", "at", api_time_json(&tr->at),
		                                   "state", tr->state == RWD_SLOT_DOWN ? "down" : "up",
		                                   "reason", tr->reason));
	}
	json_object_set_new(o, "transitions", h);
}

struct live {
	json_t **slots;
	uint32_t n;
};

/* Live counters, last result and flapping from the health thread. The
 * state stays the published one: what queries see (the live one may be a
 * few milliseconds ahead, RWD_HEALTH_PUBLISH_MS). flapping is the live one
 * because the health service publishes on a change of state only: a hold
 * that starts on a change to up keeps the slot down, publishes nothing, and
 * the published copy says not flapping for as long as the hold lasts. */
static void on_target(void *ctx, const struct rwd_health_target *t)
{
	struct live *l = ctx;
	if (t->slot >= l->n || l->slots[t->slot] == NULL)
		return;
	json_t *o = l->slots[t->slot];
	const struct rwd_slot_info *info = t->info;
	json_object_set_new(o, "target", json_string(t->target));
	json_object_set_new(o, "type", json_string(check_type(t->type)));
	if (t->checked && strcmp(json_string_value(json_object_get(o, "state")), "unchecked") == 0)
		json_object_set_new(o, "state", json_string("up"));
	json_object_set_new(o, "checks", json_integer(info->checks));
	json_object_set_new(o, "failures", json_integer(info->failures));
	json_object_set_new(o, "last_result", info->last_result[0] ? json_string(info->last_result)
	                                                            : json_null());
	json_object_set_new(o, "last_duration_ms", json_real(info->last_duration_us / 1000.0));
	json_object_set_new(o, "flapping", json_boolean(info->flapping));
}

void api_health(const struct rwd_api_env *e, struct rwd_api_response *out)
{
	json_t *slots_arr = json_array(), *eps = json_array();
	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	const struct rwd_model *m = s->model;
	const struct rwd_health_state *hs = rwd_health_get();
	struct live l = { .n = m->n_slots };
	l.slots = calloc(l.n ? l.n : 1, sizeof(*l.slots));
	if (l.slots == NULL) {
		api_read_end(e);
		json_decref(slots_arr);
		json_decref(eps);
		return api_error(out, 500, "out of memory");
	}
	for (size_t i = 0; i < m->n_endpoints; i++) {
		const struct rwd_endpoint *ep = &m->endpoints[i];
		bool drained = api_endpoint_drained(e, ep);
		unsigned up = 0, down = 0, n = 0;
		for (unsigned k = 0; k <= ep->n_addrs; k++) {
			uint32_t slot;
			char addr[API_NAME_TXT];
			if (!api_endpoint_slot(ep, k, &slot, addr, sizeof(addr)))
				break;
			json_t *o = json_pack("{s:I, s:s, s:s, s:o}", "slot", (json_int_t)slot, "endpoint",
			                      ep->name, "address", addr, "check",
			                      ep->check ? json_string(ep->check->name) : json_null());
			bool is_down = !rwd_slot_up(hs, slot);
			if (ep->check && hs && slot < hs->n_slots) {
				const struct rwd_slot_info *info = &hs->info[slot];
				set_info(o, info, info->checks > 0 || info->n_history > 0, is_down);
				if (slot < l.n)
					l.slots[slot] = o;
			} else {
				json_object_set_new(o, "state", json_string(ep->check ? "unchecked" : "up"));
			}
			json_object_set_new(o, "drained", json_boolean(drained));
			if (drained)
				api_drain_json(ep, o);
			json_array_append_new(slots_arr, o);
			n++;
			if (is_down)
				down++;
			else
				up++;
		}
		const char *state = drained ? "drained" : n == 0 ? "no address" : down == 0 ? "up"
		                    : up == 0 ? "down" : "partial";
		json_t *eo = json_pack("{s:s, s:s, s:b, s:I, s:I}", "name", ep->name, "state", state,
		                       "drained", drained, "addresses_up", (json_int_t)up,
		                       "addresses_down", (json_int_t)down);
		if (eo && drained)
			api_drain_json(ep, eo);
		json_array_append_new(eps, eo);
	}
	if (e->health)
		rwd_health_foreach(e->health, on_target, &l);
	json_t *res = json_pack("{s:I, s:o, s:o}", "generation",
	                        (json_int_t)(hs ? hs->generation : 0), "endpoints", eps, "slots",
	                        slots_arr);
	api_read_end(e);
	free(l.slots);
	api_json(out, 200, res);
}
