/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * /v1/zones: the served zones, their RRsets in presentation form (libknot
 * prints the RDATA), and changes in the shape of Route 53's
 * ChangeResourceRecordSets, applied all or nothing by the control layer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libknot/libknot.h>

#include "lib/error.h"
#include "lib/wire.h"
#include "server/api/internal.h"
#include "server/store/journal.h"
#include "server/zone/source.h"

#define MAX_CHANGES 1000
/* RRsets in one page of GET .../rrsets: by default, and at most (which is
 * also the most an unpaged answer may hold). */
#define API_RRSETS_PAGE 1000u
#define API_RRSETS_MAX 10000u

/*
 * The zone with this name in s: at the top level (view NULL), or as view
 * sees it (own only: just the view's own zones). NULL with a 404 in out
 * when there is none.
 */
static const struct rwd_zone *zone_of(const struct rwd_snapshot *s, const char *name,
                                      const char *view, bool own, struct rwd_api_response *out)
{
	uint8_t dn[255];
	size_t len = api_dname(name, dn);
	const struct rwd_view *v = view && s ? rwd_snapshot_view(s, view) : NULL;
	const struct rwd_zone *z = NULL;
	if (view && v == NULL) {
		api_error(out, 404, "no view '%s'", view);
		return NULL;
	}
	if (len && s && v) {
		z = rwd_zonedb_get(v->zones, dn, len);
		if (own && z && z == rwd_zonedb_get(s->zones, dn, len))
			z = NULL;                  /* the top-level zone, shared */
	} else if (len && s && s->zones) {
		z = rwd_zonedb_get(s->zones, dn, len);
	}
	if (z == NULL && view)
		api_error(out, 404, "no zone '%s' in view '%s'", name, view);
	else if (z == NULL)
		api_error(out, 404, "no zone '%s'", name);
	return z;
}

/* "loaded": false for a zone that failed to load (SERVFAIL); "error": why
 * the last load failed, also when the previous version is served. */
static json_t *zone_json(const struct rwd_snapshot *s, const struct rwd_zone *z, const char *view)
{
	char name[API_NAME_TXT];
	api_dname_str(z->apex_name, name, sizeof(name));
	const struct rwd_zone_failure *f = rwd_snapshot_failure(s, view, z->apex_name);
	return json_pack("{s:s, s:I, s:I, s:o, s:b, s:o}", "name", name,
	                 "serial", (json_int_t)z->serial, "records", (json_int_t)z->n_records,
	                 "view", view ? json_string(view) : json_null(), "loaded", !rwd_zone_is_placeholder(z),
	                 "error", f ? json_string(f->error) : json_null());
}

/*
 * Top-level zones ("view": null), then each view's own zones. With views,
 * "views" lists the views that serve the zone: a top-level zone is in every
 * view that has no zone of its own at that apex.
 */
void api_zones_list(const struct rwd_api_env *e, struct rwd_api_response *out)
{
	json_t *arr = json_array();
	api_read_begin(e);
	const struct rwd_snapshot *s = rwd_snapshot_get();
	for (size_t i = 0; s && i < s->zones->n_zones; i++) {
		const struct rwd_zone *z = s->zones->zones[i];
		json_t *o = zone_json(s, z, NULL);
		if (s->n_views) {
			json_t *in = json_array();
			for (size_t v = 0; v < s->n_views; v++)
				if (rwd_zonedb_get(s->views[v].zones, z->apex_name, z->apex_len) == z)
					json_array_append_new(in, json_string(s->views[v].name));
			json_object_set_new(o, "views", in);
		}
		json_array_append_new(arr, o);
	}
	for (size_t v = 0; s && v < s->n_views; v++) {
		const struct rwd_view *view = &s->views[v];
		for (size_t i = 0; i < view->n_own; i++) {
			json_t *o = zone_json(s, view->zones->zones[i], view->name);
			json_object_set_new(o, "views", json_pack("[s]", view->name));
			json_array_append_new(arr, o);
		}
	}
	api_read_end(e);
	api_json(out, 200, arr);
}

/* One record of an RRset in presentation form, into buf. */
static const char *rdata_text(const struct rwd_node *n, const struct rwd_rrset *rs,
                              const uint8_t *rd, char *buf, size_t size)
{
	knot_rrset_t rr;
	knot_rrset_init(&rr, (knot_dname_t *)n->name, rs->type, KNOT_CLASS_IN, rs->ttl);
	if (knot_rrset_add_rdata(&rr, rd + 2, rw_get16(rd), NULL) != KNOT_EOK)
		return NULL;
	int r = knot_rrset_txt_dump_data(&rr, 0, buf, size, &KNOT_DUMP_STYLE_DEFAULT);
	knot_rdataset_clear(&rr.rrs, NULL);
	return r < 0 ? NULL : buf;
}

/* A node's RRsets as JSON objects appended to arr: the SOA first (zone
 * files have it so), then by type. false when a record cannot be printed. */
static bool node_json(const struct rwd_node *n, json_t *arr, char *buf, size_t size)
{
	char owner[API_NAME_TXT], type[32];
	api_dname_str(n->name, owner, sizeof(owner));
	const struct rwd_rrset *soa = rwd_node_rrset(n, KNOT_RRTYPE_SOA);
	for (int k = soa ? -1 : 0; k < (int)n->n_rrsets; k++) {
		const struct rwd_rrset *rs = k < 0 ? soa : &n->rrsets[k];
		if (k >= 0 && rs == soa)
			continue;
		knot_rrtype_to_string(rs->type, type, sizeof(type));
		json_t *recs = json_array();
		RWD_RRSET_FOREACH(rs, rd, j) {
			const char *t = rdata_text(n, rs, rd, buf, size);
			if (t == NULL) {
				json_decref(recs);
				return false;
			}
			json_array_append_new(recs, json_string(t));
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o}", "name", owner,
		                                     "type", type, "ttl", (json_int_t)rs->ttl,
		                                     "records", recs));
	}
	return true;
}

/*
 * GET /v1/zones/{zone}/rrsets[?limit=N][&cursor=C]. Names in creation
 * order (the apex, then the file's order, then names changes added), which
 * a change never reorders: a cursor is the id of the last name a page
 * held, and a page is found in one pass over the zone's table (no sort).
 * Without limit or cursor: the whole zone as an array, refused (413) past
 * API_RRSETS_MAX, which bounds the memory one request may take.
 */
void api_zone_rrsets(const struct rwd_api_env *e, const char *zone,
                     const struct rwd_api_request *r, struct rwd_api_response *out)
{
	const char *limit_text = api_param(r, "limit"), *cursor_text = api_param(r, "cursor");
	bool paged = limit_text || cursor_text;
	unsigned long limit = API_RRSETS_PAGE;
	unsigned long long cursor = 0;
	bool from_start = cursor_text == NULL || *cursor_text == '\0';
	char *end;
	if (limit_text) {
		limit = strtoul(limit_text, &end, 10);
		if (*limit_text == '\0' || *end || limit < 1 || limit > API_RRSETS_MAX)
			return api_error(out, 400, "limit must be 1..%u RRsets", API_RRSETS_MAX);
	}
	if (!from_start) {
		cursor = strtoull(cursor_text, &end, 10);
		if (*end || cursor > UINT32_MAX || *cursor_text == '-')
			return api_error(out, 400, "bad cursor '%.40s' (give the \"next\" of the page "
			                 "before)", cursor_text);
	}
	api_read_begin(e);
	const struct rwd_zone *z = zone_of(rwd_snapshot_get(), zone, api_param(r, "view"), false, out);
	if (z == NULL) {
		api_read_end(e);
		return;
	}
	/* Nodes with data by id, past the cursor: one pass, no sort. */
	uint32_t first = from_start ? 0 : (uint32_t)cursor + 1;
	size_t span = z->next_id > first ? z->next_id - first : 0;
	for (size_t i = 0; i <= z->table_mask; i++)   /* ids of a fresh load may pass next_id */
		if (z->table[i] && z->table[i]->id >= first && z->table[i]->id - first >= span)
			span = z->table[i]->id - first + 1;
	const struct rwd_node **by_id = calloc(span ? span : 1, sizeof(*by_id));
	size_t size = 65536 * 4;        /* the longest RDATA in text, and then some */
	char *buf = malloc(size);
	json_t *arr = json_array();
	if (by_id == NULL || buf == NULL || arr == NULL) {
		api_read_end(e);
		free(by_id);
		free(buf);
		json_decref(arr);
		return api_error(out, 500, "out of memory");
	}
	size_t total = 0;                  /* RRsets past the cursor */
	for (size_t i = 0; i <= z->table_mask; i++) {
		const struct rwd_node *n = z->table[i];
		if (n && n->n_rrsets && n->id >= first) {
			by_id[n->id - first] = n;
			total += n->n_rrsets;
		}
	}
	if (!paged && total > API_RRSETS_MAX) {
		api_read_end(e);
		free(by_id);
		free(buf);
		json_decref(arr);
		return api_error(out, 413, "zone '%s' has %zu RRsets, more than %u in one answer: "
		                 "page through it with ?limit=N (at most %u) and the cursor each page "
		                 "gives", zone, total, API_RRSETS_MAX, API_RRSETS_MAX);
	}
	/* A page ends at limit RRsets, but never inside a name. */
	bool failed = false;
	size_t taken = 0, i = 0;
	long long last = -1;
	for (; i < span && !failed; i++) {
		const struct rwd_node *n = by_id[i];
		if (n == NULL)
			continue;
		if (paged && taken > 0 && taken + n->n_rrsets > limit)
			break;
		failed = !node_json(n, arr, buf, size);
		taken += n->n_rrsets;
		last = (long long)n->id;
	}
	bool more = false;
	for (; i < span && !more; i++)
		more = by_id[i] != NULL;
	api_read_end(e);
	free(by_id);
	free(buf);
	if (failed) {
		json_decref(arr);
		return api_error(out, 500, "cannot print a record of zone '%s'", zone);
	}
	if (!paged)
		return api_json(out, 200, arr);
	char next[24];
	snprintf(next, sizeof(next), "%lld", last);
	api_json(out, 200, json_pack("{s:o, s:o}", "rrsets", arr,
	                             "next", more ? json_string(next) : json_null()));
}

/* ---- the change log ---- */

static int journal_json(void *ctx, const struct rwd_journal_entry *e)
{
	json_t *rem = json_array(), *add = json_array();
	for (size_t i = 0; i < e->n_removed; i++)
		json_array_append_new(rem, json_string(e->removed[i]));
	for (size_t i = 0; i < e->n_added; i++)
		json_array_append_new(add, json_string(e->added[i]));
	return json_array_append_new(ctx, json_pack("{s:I, s:I, s:o, s:o}", "from",
	                                            (json_int_t)e->serial_from, "to",
	                                            (json_int_t)e->serial_to, "removed", rem,
	                                            "added", add)) == 0 ? 0 : RW_ENOMEM;
}

/* GET /v1/zones/{zone}/changes?since=SERIAL: the change log, in order. */
void api_zone_journal(const struct rwd_api_env *e, const char *zone,
                      const struct rwd_api_request *r, struct rwd_api_response *out)
{
	const char *since = api_param(r, "since"), *view = api_param(r, "view");
	char *end;
	unsigned long long serial = since ? strtoull(since, &end, 10) : 0;
	if (since == NULL || *since == '\0' || *end || *since == '-' || serial > UINT32_MAX)
		return api_error(out, 400, "?since=SERIAL is required (0..4294967295)");
	char apex[API_NAME_TXT];
	json_int_t now = -1;
	api_read_begin(e);
	const struct rwd_zone *z = zone_of(rwd_snapshot_get(), zone, view, view != NULL, out);
	if (z) {
		api_dname_str(z->apex_name, apex, sizeof(apex));
		now = (json_int_t)z->serial;
	}
	api_read_end(e);
	if (z == NULL)
		return;
	json_t *arr = json_array();
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_zone_journal(e->ctl, apex, view, (uint32_t)serial, journal_json, arr, err);
	if (rc != 0) {
		json_decref(arr);
		return api_error(out, rc == RW_ENOENT ? 410 : 500, "%s", err[0] ? err : rw_strerror(rc));
	}
	api_json(out, 200, json_pack("{s:s, s:I, s:I, s:o}", "zone", apex, "since",
	                             (json_int_t)serial, "serial", now, "changes", arr));
}

/* ---- changes ---- */

struct parsed_changes {
	struct rwd_rr_change *v;
	const char **records;            /* every change's records, end to end */
	size_t n;
};

static void free_changes(struct parsed_changes *p)
{
	free(p->v);
	free(p->records);
}

/* Check and convert the body; false after filling out with a 400. The
 * strings point into body, which must outlive p. */
static bool parse_changes(json_t *body, struct parsed_changes *p, struct rwd_api_response *out)
{
	memset(p, 0, sizeof(*p));
	const char *key;
	json_t *val;
	json_object_foreach(body, key, val) {
		if (strcmp(key, "changes") != 0) {
			api_error(out, 400, "unknown key '%s' (expected {\"changes\": [...]})", key);
			return false;
		}
	}
	json_t *arr = json_object_get(body, "changes");
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		api_error(out, 400, "\"changes\" must be a non-empty array");
		return false;
	}
	size_t n = json_array_size(arr), n_records = 0;
	if (n > MAX_CHANGES) {
		api_error(out, 400, "at most %d changes per request", MAX_CHANGES);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *recs = json_object_get(json_array_get(arr, i), "records");
		n_records += json_is_array(recs) ? json_array_size(recs) : 0;
	}
	p->v = calloc(n, sizeof(*p->v));
	p->records = calloc(n_records + 1, sizeof(*p->records));
	if (p->v == NULL || p->records == NULL) {
		free_changes(p);
		api_error(out, 500, "out of memory");
		return false;
	}
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(arr, i);
		struct rwd_rr_change *rc = &p->v[i];
		size_t no = i + 1;
		if (!json_is_object(c)) {
			api_error(out, 400, "change %zu: expected an object", no);
			goto fail;
		}
		json_object_foreach(c, key, val) {
			if (strcmp(key, "action") && strcmp(key, "name") && strcmp(key, "type") &&
			    strcmp(key, "ttl") && strcmp(key, "records")) {
				api_error(out, 400, "change %zu: unknown key '%s'", no, key);
				goto fail;
			}
		}
		const char *action = json_string_value(json_object_get(c, "action"));
		if (action == NULL) {
			api_error(out, 400, "change %zu: \"action\" is required (CREATE, UPSERT or DELETE)", no);
			goto fail;
		}
		if (!strcasecmp(action, "CREATE"))
			rc->action = RWD_RR_CREATE;
		else if (!strcasecmp(action, "UPSERT"))
			rc->action = RWD_RR_UPSERT;
		else if (!strcasecmp(action, "DELETE"))
			rc->action = RWD_RR_DELETE;
		else {
			api_error(out, 400, "change %zu: unknown action '%s' (CREATE, UPSERT or DELETE)", no, action);
			goto fail;
		}
		rc->name = json_string_value(json_object_get(c, "name"));
		rc->type = json_string_value(json_object_get(c, "type"));
		if (rc->name == NULL || rc->type == NULL) {
			api_error(out, 400, "change %zu: \"name\" and \"type\" are required strings", no);
			goto fail;
		}
		json_t *ttl = json_object_get(c, "ttl");
		if (ttl == NULL && rc->action != RWD_RR_DELETE) {
			api_error(out, 400, "change %zu: \"ttl\" is required", no);
			goto fail;
		}
		if (ttl != NULL) {
			if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 ||
			    json_integer_value(ttl) > 2147483647) {
				api_error(out, 400, "change %zu: \"ttl\" must be an integer 0..2147483647", no);
				goto fail;
			}
			rc->ttl = (uint32_t)json_integer_value(ttl);
		}
		json_t *recs = json_object_get(c, "records");
		if (!json_is_array(recs) || json_array_size(recs) == 0) {
			api_error(out, 400, "change %zu: \"records\" must be a non-empty array of strings", no);
			goto fail;
		}
		rc->records = p->records + at;
		rc->n_records = json_array_size(recs);
		for (size_t k = 0; k < rc->n_records; k++) {
			const char *t = json_string_value(json_array_get(recs, k));
			if (t == NULL) {
				api_error(out, 400, "change %zu: record %zu is not a string", no, k + 1);
				goto fail;
			}
			p->records[at++] = t;
		}
	}
	p->n = n;
	return true;
fail:
	free_changes(p);
	return false;
}

void api_zone_changes(const struct rwd_api_env *e, const char *zone,
                      const struct rwd_api_request *r, struct rwd_api_response *out)
{
	char apex[API_NAME_TXT];
	const char *view = api_param(r, "view");
	api_read_begin(e);
	const struct rwd_zone *z = zone_of(rwd_snapshot_get(), zone, view, true, out);
	if (z)
		api_dname_str(z->apex_name, apex, sizeof(apex));
	api_read_end(e);
	if (z == NULL)
		return;

	json_t *body = api_body_object(r, out);
	if (body == NULL)
		return;
	struct parsed_changes p;
	if (!parse_changes(body, &p, out)) {
		json_decref(body);
		return;
	}
	char err[RWD_CONTROL_ERRLEN] = "";
	int rc = rwd_control_zone_change(e->ctl, apex, view, p.v, p.n, err);
	free_changes(&p);
	json_decref(body);
	if (rc != 0)
		return api_error(out, api_status_of(rc), "%s", err[0] ? err : rw_strerror(rc));

	json_int_t serial = -1;
	struct rwd_api_response ignored = { 0 };
	api_read_begin(e);
	z = zone_of(rwd_snapshot_get(), apex, view, true, &ignored);
	if (z)
		serial = (json_int_t)z->serial;
	api_read_end(e);
	free(ignored.body);
	api_json(out, 200, json_pack("{s:s, s:I, s:I}", "status", "applied", "serial", serial,
	                             "changes", (json_int_t)p.n));
}
