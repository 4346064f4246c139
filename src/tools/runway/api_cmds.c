/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Subcommands that talk to runwayd's HTTP API (docs/api.md):
 *   runway status                      health and traffic, as tables
 *   runway set-weight NAME ENDPOINT N  change a weight in a traffic policy
 *   runway drain ENDPOINT              take an endpoint out of answers
 *   runway undrain ENDPOINT            put it back
 *   runway simulate NAME [TYPE] --client ADDRESS   the answer and why (the trace)
 * (runway export DIR is in export.c.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/runway/api_client.h"
#include "tools/runway/cmd.h"

/* What simulate takes beside the shared options. */
struct sim_opts {
	const char *client, *source, *ecs;
	bool json;
};

/* Options shared by every API subcommand, plus simulate's (x; NULL for the
 * others). Positionals go to pos[0..*n). Returns 0, 2 (usage error) or -1
 * (help shown). */
static int parse(int argc, char **argv, struct api_client *c, const char *usage, const char **pos,
                 int max_pos, int *n, struct sim_opts *x)
{
	enum { OPT_CLIENT = 2000, OPT_SOURCE, OPT_ECS, OPT_JSON };
	static const struct option longopts[] = {
		API_LONGOPTS,
		{ "client", required_argument, NULL, OPT_CLIENT },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "ecs", required_argument, NULL, OPT_ECS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	api_client_init(c, argv[0]);
	*n = 0;
	optind = 0;
	int o;
	bool bad = false;
	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (api_client_option(c, o, optarg, &bad)) {
			if (bad)
				return 2;
			continue;
		}
		if (x && (o == OPT_CLIENT || o == OPT_SOURCE || o == OPT_ECS || o == OPT_JSON)) {
			if (o == OPT_CLIENT)
				x->client = optarg;
			else if (o == OPT_SOURCE)
				x->source = optarg;
			else if (o == OPT_ECS)
				x->ecs = optarg;
			else
				x->json = true;
			continue;
		}
		if (o == 'h') {
			fputs(usage, stdout);
			return -1;
		}
		fputs(usage, stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		if (*n == max_pos) {
			api_fail(c, "unexpected argument '%s'", argv[i]);
			return 2;
		}
		pos[(*n)++] = argv[i];
	}
	return 0;
}

/* ---- status ---- */

static const char *str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

/* The zones whose last load failed (GET /v1/zones: "loaded", "error"). */
static int zone_status(struct api_client *c)
{
	json_t *zones, *z;
	size_t i, bad = 0;
	if (api_call(c, "GET", "/v1/zones", NULL, &zones, NULL, 0))
		return 1;
	json_array_foreach(zones, i, z) {
		const char *err = str(z, "error", NULL);
		if (err == NULL)
			continue;
		if (bad++ == 0)
			printf("\n%-32s %-12s %-22s %s\n", "ZONE", "VIEW", "STATE", "LAST LOAD ERROR");
		char state[64] = "not loaded: SERVFAIL";
		if (!json_is_false(json_object_get(z, "loaded")))
			snprintf(state, sizeof(state), "serving serial %lld",
			         (long long)json_integer_value(json_object_get(z, "serial")));
		printf("%-32s %-12s %-22s %s\n", str(z, "name", "?"), str(z, "view", "-"), state, err);
	}
	if (bad == 0)
		printf("\n(every zone loaded: %zu)\n", json_array_size(zones));
	json_decref(zones);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	static const char usage[] =
		"usage: runway status [--api URL] [--token T]\n\n"
		"Show the health of every endpoint address, the traffic names, and the zones\n"
		"whose last load failed.\n\n" API_USAGE
		"  -h, --help         show this help\n";
	struct api_client c;
	const char *pos[1];
	int n;
	int r = parse(argc, argv, &c, usage, pos, 0, &n, NULL);
	if (r)
		return r < 0 ? 0 : r;
	json_t *health, *traffic;
	if (api_call(&c, "GET", "/v1/health", NULL, &health, NULL, 0))
		return 1;
	if (api_call(&c, "GET", "/v1/traffic", NULL, &traffic, NULL, 0)) {
		json_decref(health);
		return 1;
	}
	json_t *slots = json_object_get(health, "slots");
	printf("%-16s %-28s %-10s %-10s %-24s %s\n", "ENDPOINT", "ADDRESS", "CHECK", "STATE", "SINCE",
	       "LAST RESULT");
	size_t i;
	json_t *s;
	json_array_foreach(slots, i, s) {
		char state[48];
		snprintf(state, sizeof(state), "%s%s%s", str(s, "state", "?"),
		         json_is_true(json_object_get(s, "flapping")) ? ",flapping" : "",
		         json_is_true(json_object_get(s, "drained")) ? ",drained" : "");
		printf("%-16s %-28s %-10s %-10s %-24s %s\n", str(s, "endpoint", "?"),
		       str(s, "address", "?"), str(s, "check", "-"), state, str(s, "since", "-"),
		       str(s, "last_result", "-"));
	}
	if (json_array_size(slots) == 0)
		printf("(no endpoints)\n");
	json_t *eps = json_object_get(health, "endpoints");
	json_t *e;
	bool any_drained = false;
	json_array_foreach(eps, i, e)
		any_drained |= json_is_true(json_object_get(e, "drained"));
	if (any_drained) {
		/* Who drained each and since when: "drained (lease expired)" is
		 * fixed by registering again, an operator's drain by undrain. */
		printf("\n");
		json_array_foreach(eps, i, e) {
			if (!json_is_true(json_object_get(e, "drained")))
				continue;
			const char *by = str(e, "drained_by", "?"), *since = str(e, "drained_since", NULL);
			const char *why = strcmp(by, "lease") == 0 ? "lease expired"
			                  : strcmp(by, "operator") == 0 ? "by the operator"
			                  : strcmp(by, "configuration") == 0 ? "in the configuration" : by;
			printf("%-16s drained (%s)%s%s\n", str(e, "name", "?"), why,
			       since ? " since " : "", since ? since : "");
		}
	}
	printf("\n%-32s %-7s %-6s %-13s %s\n", "TRAFFIC NAME", "KIND", "TTL", "POLICY", "ENDPOINTS");
	json_t *t;
	json_array_foreach(traffic, i, t) {
		char ends[512] = "";
		size_t k, len = 0;
		json_t *x;
		json_array_foreach(json_object_get(t, "endpoints"), k, x)
			if (len < sizeof(ends))
				len += (size_t)snprintf(ends + len, sizeof(ends) - len, "%s%s", k ? ", " : "",
				                        json_string_value(x) ? json_string_value(x) : "?");
		const char *pol = str(t, "policy", NULL);
		char alias[300];
		if (pol == NULL && json_object_get(t, "alias")) {
			snprintf(alias, sizeof(alias), "-> %s", str(t, "alias", "?"));
			pol = alias;
		}
		printf("%-32s %-7s %-6lld %-13s %s\n", str(t, "name", "?"), str(t, "kind", "?"),
		       (long long)json_integer_value(json_object_get(t, "ttl")), pol ? pol : "-", ends);
	}
	if (json_array_size(traffic) == 0)
		printf("(no traffic names)\n");
	json_decref(health);
	json_decref(traffic);
	return zone_status(&c);
}

/* ---- drain / undrain ---- */

static int drain(int argc, char **argv, bool on)
{
	char usage[512];
	snprintf(usage, sizeof(usage),
	         "usage: runway %s ENDPOINT [--api URL] [--token T]\n\n%s\n\n" API_USAGE
	         "  -h, --help         show this help\n", on ? "drain" : "undrain",
	         on ? "Take ENDPOINT out of every answer (it counts as down), without touching its\n"
	              "health check. Survives restarts until undrained."
	            : "Put a drained ENDPOINT back: its health check decides again.");
	struct api_client c;
	const char *pos[1];
	int n;
	int r = parse(argc, argv, &c, usage, pos, 1, &n, NULL);
	if (r)
		return r < 0 ? 0 : r;
	if (n != 1) {
		api_fail(&c, "which endpoint? (runway %s ENDPOINT)", argv[0]);
		return 2;
	}
	char *e = api_escape(pos[0]);
	char path[1024];
	snprintf(path, sizeof(path), "/v1/endpoints/%s/%s", e ? e : pos[0], on ? "drain" : "undrain");
	free(e);
	if (api_call(&c, "POST", path, NULL, NULL, NULL, 0))
		return 1;
	printf("%s %s\n", on ? "drained" : "undrained", pos[0]);
	return 0;
}

int cmd_drain(int argc, char **argv)
{
	return drain(argc, argv, true);
}

int cmd_undrain(int argc, char **argv)
{
	return drain(argc, argv, false);
}

/* ---- set-weight ---- */

/* Set endpoint's weight in every weighted node under node; returns how many. */
static int set_weight(json_t *node, const char *endpoint, long weight, unsigned depth)
{
	if (depth > 64)
		return 0;
	int n = 0;
	if (json_is_array(node)) {
		size_t i;
		json_t *v;
		json_array_foreach(node, i, v)
			n += set_weight(v, endpoint, weight, depth + 1);
		return n;
	}
	if (!json_is_object(node))
		return 0;
	const char *key;
	json_t *v;
	json_object_foreach(node, key, v) {
		if (strcmp(key, "weighted") == 0) {
			if (json_is_object(v)) {                 /* {ENDPOINT: WEIGHT, ...} */
				if (json_object_get(v, endpoint)) {
					json_object_set_new(v, endpoint, json_integer(weight));
					n++;
				}
			} else if (json_is_array(v)) {           /* [{weight: N, node: NODE}, ...] */
				size_t i;
				json_t *ch;
				json_array_foreach(v, i, ch) {
					json_t *cn = json_object_get(ch, "node");
					const char *s = json_string_value(cn);
					if (s && strcmp(s, endpoint) == 0) {
						json_object_set_new(ch, "weight", json_integer(weight));
						n++;
					}
					n += set_weight(cn, endpoint, weight, depth + 1);
				}
				continue;
			}
		}
		n += set_weight(v, endpoint, weight, depth + 1);
	}
	return n;
}

int cmd_set_weight(int argc, char **argv)
{
	static const char usage[] =
		"usage: runway set-weight NAME ENDPOINT WEIGHT [--api URL] [--token T]\n\n"
		"Set ENDPOINT's weight (0..255) in every weighted node of traffic name NAME.\n\n"
		API_USAGE "  -h, --help         show this help\n";
	struct api_client c;
	const char *pos[3];
	int n;
	int r = parse(argc, argv, &c, usage, pos, 3, &n, NULL);
	if (r)
		return r < 0 ? 0 : r;
	if (n != 3) {
		api_fail(&c, "expected NAME ENDPOINT WEIGHT");
		return 2;
	}
	char *end;
	errno = 0;
	long w = strtol(pos[2], &end, 10);
	if (errno || *end || end == pos[2] || w < 0 || w > 255) {
		api_fail(&c, "bad weight '%s' (0..255)", pos[2]);
		return 2;
	}
	char *e = api_escape(pos[0]);
	char path[1024];
	snprintf(path, sizeof(path), "/v1/traffic/%s", e ? e : pos[0]);
	free(e);
	json_t *entry;
	if (api_call(&c, "GET", path, NULL, &entry, NULL, 0))
		return 1;
	if (!json_is_object(entry)) {
		json_decref(entry);
		return api_fail(&c, "the API did not return a traffic entry for %s", pos[0]);
	}
	json_t *policy = json_object_get(entry, "policy");
	int changed = policy ? set_weight(policy, pos[1], w, 0) : 0;
	if (changed == 0) {
		json_decref(entry);
		return api_fail(&c, "endpoint '%s' is in no weighted node of %s", pos[1], pos[0]);
	}
	char *body = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(entry);
	if (body == NULL)
		return api_fail(&c, "out of memory");
	r = api_call(&c, "PUT", path, body, NULL, NULL, 0);
	free(body);
	if (r)
		return 1;
	printf("%s: %s weight %ld (%d weighted node%s)\n", pos[0], pos[1], w, changed,
	       changed == 1 ? "" : "s");
	return 0;
}

/* ---- simulate ---- */

static void print_loc(json_t *cl)
{
	printf("client %s", str(cl, "network", "?"));
	if (!json_is_true(json_object_get(cl, "located"))) {
		printf(": location unknown%s%s\n", json_object_get(cl, "geo") ? " (" : "",
		       json_object_get(cl, "geo") ? "no geoip configured)" : "");
		return;
	}
	printf(":");
	const char *keys[] = { "continent", "country", "subdivision" };
	for (int i = 0; i < 3; i++)
		printf(" %s", str(cl, keys[i], "-"));
	json_t *lat = json_object_get(cl, "lat"), *lon = json_object_get(cl, "lon");
	if (json_is_number(lat) && json_is_number(lon))
		printf(" (%.2f, %.2f)", json_number_value(lat), json_number_value(lon));
	printf("\n");
}

/* One query parameter, "key=VALUE" escaped, onto path (after its '?' or
 * an '&'); false when it does not fit. */
static bool add_param(char *path, size_t size, const char *key, const char *value)
{
	if (value == NULL)
		return true;
	char *e = api_escape(value);
	size_t len = strlen(path);
	int w = e ? snprintf(path + len, size - len, "%s%s=%s", path[len - 1] == '?' ? "" : "&",
	                     key, e) : -1;
	free(e);
	return w >= 0 && (size_t)w < size - len;
}

/* Which traffic entry answered, from where, and which stage decided. */
static void print_decision(json_t *j)
{
	printf("query from %s, ECS %s", str(j, "source_address", "?"), str(j, "ecs", "none"));
	json_t *view = json_object_get(j, "view");
	if (view)
		printf(", view %s", json_is_string(view) ? json_string_value(view)
		                                         : "none (no view matches: REFUSED)");
	printf("\ndecided by stage %s", str(j, "stage", "?"));
	json_t *entry = json_object_get(j, "entry");
	if (entry == NULL) {
		printf(": not a traffic name for this client: the zone's records\n");
		return;
	}
	printf(": %s entry %s", str(entry, "kind", "?"), str(entry, "name", "?"));
	json_t *line = json_object_get(entry, "line");
	if (json_is_integer(line))
		printf(" (line %lld)", (long long)json_integer_value(line));
	json_t *ev = json_object_get(entry, "view");
	if (json_is_string(ev))
		printf(", view %s's own traffic", json_string_value(ev));
	else
		printf(", top-level traffic");
	printf("; answered from the %s\n", strcmp(str(j, "source", ""), "zone") == 0
	                                    ? "zone's records" : str(j, "source", "?"));
	if (json_is_true(json_object_get(j, "failed_open")))
		printf("FAILING OPEN: no endpoint is up, so the name answers as if every one were "
		       "(drained ones stay out)\n");
}

/* Each endpoint of the tree: used or why not. */
static void print_endpoints(json_t *eps)
{
	if (json_array_size(eps) == 0)
		return;
	printf("\nendpoints:\n");
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e)
		printf("  %-16s %-14s %s\n", str(e, "endpoint", "?"), str(e, "why", "?"),
		       str(e, "detail", ""));
}

int cmd_simulate(int argc, char **argv)
{
	static const char usage[] =
		"usage: runway simulate NAME [TYPE] --client ADDRESS[/LEN] [--source ADDRESS]\n"
		"                       [--ecs PREFIX|none] [--json] [--api URL] [--token T]\n\n"
		"Ask runwayd what it would answer NAME (type A by default) for a client at\n"
		"ADDRESS (or in network ADDRESS/LEN), and print the answer and why: the view\n"
		"and traffic entry used, the stage that decided, each policy decision, and\n"
		"for every endpoint why it is or is not in the answer (down since when and\n"
		"why, drained, lease expired, no address of the family), and whether the\n"
		"name is failing open.\n\n"
		"      --client A     the client: the query's source address and its ECS\n"
		"                     network at once\n"
		"      --source A     the query's source address (it picks the view);\n"
		"                     alone, the query has no ECS\n"
		"      --ecs P        the ECS option: a network (192.0.2.0/24), or none\n"
		"      --json         print the API's JSON answer as it is\n" API_USAGE
		"  -h, --help         show this help\n";
	struct api_client c;
	const char *pos[2];
	struct sim_opts x = { 0 };
	int n;
	int r = parse(argc, argv, &c, usage, pos, 2, &n, &x);
	if (r)
		return r < 0 ? 0 : r;
	if (n < 1) {
		api_fail(&c, "which name? (runway simulate NAME [TYPE] --client ADDRESS)");
		return 2;
	}
	if (x.client == NULL && x.source == NULL) {
		api_fail(&c, "--client ADDRESS (or --source ADDRESS) is required");
		return 2;
	}
	char path[4096] = "/v1/simulate?";
	if (!add_param(path, sizeof(path), "name", pos[0]) ||
	    !add_param(path, sizeof(path), "type", n > 1 ? pos[1] : "A") ||
	    !add_param(path, sizeof(path), "client", x.client) ||
	    !add_param(path, sizeof(path), "source", x.source) ||
	    !add_param(path, sizeof(path), "ecs", x.ecs)) {
		api_fail(&c, "the name or an address is too long");
		return 2;
	}
	if (x.json) {
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
	if (api_call(&c, "GET", path, NULL, &j, NULL, 0))
		return 1;
	printf("%s %s, ", str(j, "name", "?"), str(j, "type", "?"));
	print_loc(json_object_get(j, "client"));
	print_decision(j);
	printf("\nanswer (%s", str(j, "rcode", "?"));
	json_t *scope = json_object_get(j, "scope");
	if (json_integer_value(scope))
		printf(", ECS scope /%lld", (long long)json_integer_value(scope));
	printf("):\n");
	size_t i;
	json_t *rec;
	json_array_foreach(json_object_get(j, "answer"), i, rec)
		printf("  %-32s %-6lld %-6s %s\n", str(rec, "name", "?"),
		       (long long)json_integer_value(json_object_get(rec, "ttl")), str(rec, "type", "?"),
		       str(rec, "data", "?"));
	if (json_array_size(json_object_get(j, "answer")) == 0)
		printf("  (none)%s%s\n", json_object_get(j, "note") ? ": " : "", str(j, "note", ""));
	json_t *path_ = json_object_get(j, "path");
	if (json_array_size(path_)) {
		printf("\npath:\n");
		json_t *st;
		json_array_foreach(path_, i, st) {
			printf("  %zu. %s", i + 1, str(st, "node", "?"));
			if (json_object_get(st, "endpoint"))
				printf(" %s", str(st, "endpoint", "?"));
			json_t *line = json_object_get(st, "line");
			if (json_is_integer(line))
				printf(" (line %lld)", (long long)json_integer_value(line));
			if (strcmp(str(st, "node", ""), "endpoint") != 0)
				printf(": %s", str(st, "why", ""));
			if (json_object_get(st, "rule"))
				printf("; rule %s", str(st, "rule", "?"));
			if (json_object_get(st, "to"))
				printf(" -> %s", str(st, "to", "?"));
			json_t *ch = json_object_get(st, "children");
			if (json_array_size(ch)) {
				printf("  [");
				size_t k;
				json_t *y;
				json_array_foreach(ch, k, y)
					printf("%s%s %s", k ? ", " : "", str(y, "node", "?"),
					       json_is_true(json_object_get(y, "up")) ? "up" : "down");
				printf("]");
			}
			putchar('\n');
		}
	} else {
		printf("\npath: %s\n", json_is_null(json_object_get(j, "traffic"))
		                       ? "not a traffic name: the zone's records"
		                       : "(no policy decisions)");
	}
	print_endpoints(json_object_get(j, "endpoints"));
	json_decref(j);
	return 0;
}
