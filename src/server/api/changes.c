/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * /v1/changes: what the store holds on top of the files (control.h,
 * "stored changes"), each with whether it is applied or skipped (it no
 * longer applies to the files) and why; DELETE forgets one.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "server/api/internal.h"

#define CHANGES_PAGE 1000u
#define CHANGES_MAX 10000u

struct listing {
	json_t *arr;
	const char *cursor;            /* skip up to and including this key; NULL: none */
	bool past;
	unsigned long limit;
	size_t skipped;                /* across the whole store */
	const char *next;              /* set when the page is full */
	char last[1100];
};

/* The order rwd_control_changes walks in: table by table, then by key
 * (LMDB's byte order); a cursor whose change was dropped still resumes. */
static int after(const char *key, const char *cursor)
{
	static const char *const order[] = { "endpoints/", "traffic/", "drains/", "expiry/",
	                                     "rrsets/" };
	int a = -1, b = -1;
	for (int i = 0; i < 5; i++) {
		size_t len = strlen(order[i]);
		if (strncmp(key, order[i], len) == 0)
			a = i;
		if (strncmp(cursor, order[i], len) == 0)
			b = i;
	}
	if (a != b)
		return a > b ? 1 : -1;
	return strcmp(key, cursor);
}

static int list_one(void *ctx, const struct rwd_stored_change *ch)
{
	struct listing *l = ctx;
	if (ch->error)
		l->skipped++;
	if (!l->past) {
		l->past = after(ch->key, l->cursor) > 0;
		if (!l->past)
			return 0;
	}
	if (json_array_size(l->arr) == l->limit) {
		l->next = l->last;
		return 0;                      /* go on: the skipped count covers everything */
	}
	json_t *value = json_loads(ch->value, JSON_DECODE_ANY, NULL);
	json_array_append_new(l->arr, json_pack("{s:s, s:o, s:s, s:o}", "key", ch->key,
	                                        "value", value ? value : json_string(ch->value),
	                                        "status", ch->error ? "skipped" : "applied",
	                                        "error", ch->error ? json_string(ch->error)
	                                                           : json_null()));
	snprintf(l->last, sizeof(l->last), "%s", ch->key);
	return 0;
}

void api_changes_list(const struct rwd_api_env *e, const struct rwd_api_request *r,
                      struct rwd_api_response *out)
{
	const char *limit_text = api_param(r, "limit"), *cursor = api_param(r, "cursor");
	struct listing l = { .arr = json_array(), .cursor = cursor && *cursor ? cursor : NULL,
	                     .limit = CHANGES_PAGE };
	l.past = l.cursor == NULL;
	if (limit_text) {
		char *end;
		l.limit = strtoul(limit_text, &end, 10);
		if (*limit_text == '\0' || *end || l.limit < 1 || l.limit > CHANGES_MAX) {
			json_decref(l.arr);
			return api_error(out, 400, "limit must be 1..%u changes", CHANGES_MAX);
		}
	}
	int rc = rwd_control_changes(e->ctl, list_one, &l);
	if (rc < 0) {
		json_decref(l.arr);
		return api_error(out, 500, "cannot read the store: %s", rw_strerror(rc));
	}
	api_json(out, 200, json_pack("{s:o, s:I, s:o}", "changes", l.arr,
	                             "skipped", (json_int_t)l.skipped,
	                             "next", l.next ? json_string(l.next) : json_null()));
}

void api_change_drop(const struct rwd_api_env *e, const char *key, struct rwd_api_response *out)
{
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_change_drop(e->ctl, key, err);
	if (rc != 0)
		return api_error(out, rc == RW_EEXIST ? 409 : api_status_of(rc), "%s",
		                 err[0] ? err : rw_strerror(rc));
	api_json(out, 200, json_pack("{s:s, s:s}", "status", "dropped", "key", key));
}
