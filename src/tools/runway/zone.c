/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway zone status|refresh|retransfer ZONE [--view V] [--json]: a zone's
 * transfers through runwayd's HTTP API (docs/api.md):
 *   status      GET  /v1/zones/ZONE/transfer: role, serial, history,
 *               NOTIFY targets; for a secondary its primaries, last and
 *               next refresh, expiry, last error and last transfer
 *   refresh     POST /v1/zones/ZONE/refresh: a secondary asks its
 *               primaries for their serial now (and transfers if newer)
 *   retransfer  POST /v1/zones/ZONE/retransfer: a full transfer (AXFR) now
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/runway/api_client.h"
#include "tools/runway/cmd.h"

static const char usage_text[] =
	"usage: runway zone status [ZONE] [--view V] [--json] [--api URL] [--token T]\n"
	"       runway zone refresh ZONE [--view V] [--api URL] [--token T]\n"
	"       runway zone retransfer ZONE [--view V] [--api URL] [--token T]\n\n"
	"status: the zone's transfers: role (primary or secondary), serial served,\n"
	"change history (what IXFR answers from), NOTIFY targets; for a secondary its\n"
	"primaries, last and next refresh, expiry, last error and last transfer.\n"
	"Without ZONE: one line for every zone served.\n"
	"refresh: a secondary zone asks its primaries for their serial now and\n"
	"transfers (IXFR, else AXFR) when it is newer. retransfer: a full transfer\n"
	"(AXFR) now, whatever the serials say. Both return once the work is queued:\n"
	"'runway zone status' shows how it went.\n\n"
	"      --view V       the zone of view V (default: the top-level zone)\n"
	"      --json         print the API's JSON answer as it is\n" API_USAGE
	"  -h, --help         show this help\n\n"
	"Exit status: 0 ok, 1 failure (unknown zone, not a secondary, no API), 2 usage.\n";

static const char *str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "2026-12-07T22:10:00.000Z (in 3588 s)" for an RFC 3339 time, or "-". */
static void when(const char *label, json_t *o, const char *key)
{
	const char *t = str(o, key, NULL);
	printf("%-14s ", label);
	if (t == NULL) {
		printf("-\n");
		return;
	}
	struct tm tm = { 0 };
	const char *end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		printf("%s\n", t);
		return;
	}
	long long d = (long long)(timegm(&tm) - time(NULL));
	if (d >= 0)
		printf("%s (in %lld s)\n", t, d);
	else
		printf("%s (%lld s ago)\n", t, -d);
}

static void remotes(const char *label, json_t *arr)
{
	printf("%-14s ", label);
	if (json_array_size(arr) == 0) {
		printf("-\n");
		return;
	}
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r) {
		printf("%s%s", i ? ", " : "", str(r, "address", "?"));
		if (json_is_string(json_object_get(r, "key")))
			printf(" (key %s)", str(r, "key", "?"));
	}
	putchar('\n');
}

static void print_status(json_t *j)
{
	bool secondary = strcmp(str(j, "role", ""), "secondary") == 0;
	printf("%-14s %s\n", "zone", str(j, "zone", "?"));
	if (json_is_string(json_object_get(j, "view")))
		printf("%-14s %s\n", "view", str(j, "view", "?"));
	printf("%-14s %s\n", "role", str(j, "role", "?"));
	if (json_is_true(json_object_get(j, "loaded")))
		printf("%-14s %lld (%lld records)\n", "serial", num(j, "serial"), num(j, "records"));
	else
		printf("%-14s - (nothing served: SERVFAIL)\n", "serial");
	json_t *h = json_object_get(j, "history");
	if (num(h, "changes"))
		printf("%-14s %lld change%s from serial %lld, %lld bytes (IXFR from these serials; "
		       "older: AXFR)\n", "history", num(h, "changes"), num(h, "changes") == 1 ? "" : "s",
		       num(h, "oldest_serial"), num(h, "bytes"));
	else
		printf("%-14s none (IXFR is answered with the whole zone)\n", "history");
	if (secondary) {
		printf("%-14s %s%s\n", "state", str(j, "state", "?"),
		       json_is_true(json_object_get(j, "expired")) ? ", EXPIRED: SERVFAIL" : "");
		remotes("primaries", json_object_get(j, "primaries"));
		printf("%-14s %s\n", "last primary", str(j, "primary", "-"));
		when("last refresh", j, "last_refresh");
		when("next refresh", j, "next_refresh");
		when("expires", j, "expires_at");
		printf("%-14s %s\n", "last error", str(j, "last_error", "-"));
		json_t *t = json_object_get(j, "last_transfer");
		if (json_is_object(t))
			printf("%-14s %s, %lld records, %lld message%s, %lld bytes, %lld ms, at %s\n",
			       "last transfer", str(t, "kind", "?"), num(t, "records"), num(t, "messages"),
			       num(t, "messages") == 1 ? "" : "s", num(t, "bytes"), num(t, "duration_ms"),
			       str(t, "at", "?"));
		else
			printf("%-14s -\n", "last transfer");
		json_t *c = json_object_get(j, "counters");
		if (json_is_object(c))
			printf("%-14s refreshes %lld (failed %lld), AXFR %lld, IXFR %lld, failed transfers "
			       "%lld, NOTIFYs received %lld, expiries %lld\n", "since start",
			       num(c, "refreshes"), num(c, "refresh_failures"), num(c, "axfr"),
			       num(c, "ixfr"), num(c, "transfer_failures"), num(c, "notifies"),
			       num(c, "expiries"));
	}
	remotes("notify", json_object_get(j, "notify"));
	printf("%-14s %lld rule%s%s\n", "allow_transfer", num(j, "allow_transfer"),
	       num(j, "allow_transfer") == 1 ? "" : "s",
	       num(j, "allow_transfer") ? "" : " (transfers are refused)");
}

/* Seconds from now until an RFC 3339 time ("-" when there is none). */
static void until(char *buf, size_t size, json_t *o, const char *key)
{
	const char *t = str(o, key, NULL);
	struct tm tm = { 0 };
	if (t == NULL || strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%lld s", (long long)(timegm(&tm) - time(NULL)));
}

/* Every zone GET /v1/zones lists, a line each (or their JSON, an array). */
static int status_all(const struct api_client *c, bool json)
{
	json_t *zones, *z, *all = json_array();
	if (api_call(c, "GET", "/v1/zones", NULL, &zones, NULL, 0)) {
		json_decref(all);
		return 1;
	}
	size_t i;
	int rc = 0;
	json_array_foreach(zones, i, z) {
		const char *name = str(z, "name", "?"), *view = str(z, "view", NULL);
		char *ez = api_escape(name), *ev = view ? api_escape(view) : NULL, path[2048];
		snprintf(path, sizeof(path), "/v1/zones/%s/transfer%s%s", ez ? ez : name,
		         ev ? "?view=" : "", ev ? ev : "");
		free(ez);
		free(ev);
		json_t *j;
		if (api_call(c, "GET", path, NULL, &j, NULL, 0))
			rc = 1;                    /* said why; the others still print */
		else
			json_array_append_new(all, j);
	}
	json_decref(zones);
	if (json) {
		char *text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(all);
		return text ? rc : api_fail(c, "out of memory");
	}
	printf("%-28s %-10s %-9s %-11s %-13s %-8s %-14s %s\n", "ZONE", "VIEW", "ROLE", "SERIAL",
	       "STATE", "LAST XFR", "EXPIRES IN", "LAST ERROR");
	json_t *j;
	json_array_foreach(all, i, j) {
		bool secondary = strcmp(str(j, "role", ""), "secondary") == 0;
		char serial[16] = "-", state[32] = "-", expires[32] = "-";
		if (json_is_true(json_object_get(j, "loaded")))
			snprintf(serial, sizeof(serial), "%lld", num(j, "serial"));
		if (secondary) {
			snprintf(state, sizeof(state), "%s", json_is_true(json_object_get(j, "expired"))
			                                     ? "EXPIRED" : str(j, "state", "?"));
			until(expires, sizeof(expires), j, "expires_at");
		}
		json_t *t = json_object_get(j, "last_transfer");
		printf("%-28s %-10s %-9s %-11s %-13s %-8s %-14s %s\n", str(j, "zone", "?"),
		       str(j, "view", "-"), str(j, "role", "?"), serial, state,
		       json_is_object(t) ? str(t, "kind", "?") : "-", expires,
		       str(j, "last_error", "-"));
	}
	if (json_array_size(all) == 0)
		printf("(no zones)\n");
	json_decref(all);
	return rc;
}

int cmd_zone(int argc, char **argv)
{
	enum { OPT_VIEW = 2000, OPT_JSON };
	static const struct option longopts[] = {
		API_LONGOPTS,
		{ "view", required_argument, NULL, OPT_VIEW },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct api_client c;
	api_client_init(&c, "zone");
	const char *view = NULL;
	bool json = false, bad = false;
	optind = 0;
	for (int o; (o = getopt_long(argc, argv, "h", longopts, NULL)) != -1;) {
		if (api_client_option(&c, o, optarg, &bad)) {
			if (bad)
				return 2;
		} else if (o == OPT_VIEW) {
			view = optarg;
		} else if (o == OPT_JSON) {
			json = true;
		} else if (o == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (argc - optind == 1 && strcmp(argv[optind], "status") == 0) {
		if (view) {
			api_fail(&c, "--view goes with a ZONE");
			return 2;
		}
		return status_all(&c, json);
	}
	if (argc - optind != 2) {
		api_fail(&c, argc - optind < 2 ? "expected ACTION ZONE (runway zone status ZONE)"
		                               : "unexpected argument '%s'", argv[argc - 1]);
		return 2;
	}
	const char *action = argv[optind], *zone = argv[optind + 1];
	bool status = strcmp(action, "status") == 0;
	if (!status && strcmp(action, "refresh") != 0 && strcmp(action, "retransfer") != 0) {
		api_fail(&c, "unknown action '%s' (status, refresh, retransfer)", action);
		return 2;
	}
	if (json && !status) {
		api_fail(&c, "--json goes with status");
		return 2;
	}
	char *ez = api_escape(zone), *ev = view ? api_escape(view) : NULL;
	char path[2048];
	snprintf(path, sizeof(path), "/v1/zones/%s/%s%s%s", ez ? ez : zone,
	         status ? "transfer" : action, ev ? "?view=" : "", ev ? ev : "");
	free(ez);
	free(ev);
	if (status && json) {
		char *text;
		size_t len;
		if (api_get_text(&c, path, &text, &len))
			return 1;
		fwrite(text, 1, len, stdout);
		if (len && text[len - 1] != '\n')
			putchar('\n');
		free(text);
		return 0;
	}
	json_t *j;
	if (api_call(&c, status ? "GET" : "POST", path, NULL, &j, NULL, 0))
		return 1;
	if (status)
		print_status(j);
	else
		printf("%s %s%s%s: queued ('runway zone status %s' shows how it went)\n",
		       strcmp(action, "refresh") == 0 ? "refresh of" : "retransfer of",
		       str(j, "zone", zone), view ? " in view " : "", view ? view : "", zone);
	json_decref(j);
	return 0;
}
