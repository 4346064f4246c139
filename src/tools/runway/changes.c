/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway changes [list | drop KEY]: the changes the API stored on top of
 * the configuration and zone files, each applied or skipped (it no longer
 * applies to the files: runwayd leaves it out and says why), and dropping
 * one. Through the API by default (GET /v1/changes, DELETE /v1/changes/KEY:
 * validated and published at once); with -c FILE on the store the
 * configuration names (api.data) directly, for a runwayd that is stopped
 * (a running one sees a drop at its next reload).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/control/control.h"
#include "tools/runway/api_client.h"
#include "tools/runway/cmd.h"

static const char usage_text[] =
	"usage: runway changes [list] [--api URL] [--token T]\n"
	"       runway changes drop KEY [--api URL] [--token T]\n"
	"       runway changes -c FILE [list | drop KEY]\n\n"
	"List the changes the API stored on top of the files (applied, or skipped\n"
	"because they no longer apply, with the reason), or drop one by its KEY\n"
	"(as list shows it, e.g. traffic/www.example.com.).\n\n"
	"  -c, --config FILE  work on the store of FILE's api.data directly (runwayd\n"
	"                     stopped; a running one sees a drop at its next reload)\n"
	API_USAGE
	"  -h, --help         show this help\n\n"
	"Exit status: 0 ok, 1 failure (or, for list, a skipped change), 2 usage error.\n";

static void print_change(const char *key, const char *status, const char *value, const char *error)
{
	printf("%-8s %s", status, key);
	if (error)
		printf("\n         %s\n", error);
	else
		printf(" %s\n", value);
}

/* ---- through the API ---- */

static int api_list(const struct api_client *c)
{
	char cursor[1200] = "";
	size_t skipped = 0, n = 0;
	do {
		char path[4000];
		char *e = cursor[0] ? api_escape(cursor) : NULL;
		snprintf(path, sizeof(path), "/v1/changes?limit=10000%s%s", e ? "&cursor=" : "",
		         e ? e : "");
		free(e);
		json_t *page;
		if (api_call(c, "GET", path, NULL, &page, NULL, 0))
			return 1;
		size_t i;
		json_t *ch;
		json_array_foreach(json_object_get(page, "changes"), i, ch) {
			json_t *v = json_object_get(ch, "value");
			char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
			const char *err = json_string_value(json_object_get(ch, "error"));
			print_change(json_string_value(json_object_get(ch, "key")),
			             err ? "SKIPPED" : "applied", text ? text : "?", err);
			free(text);
			n++;
		}
		skipped = (size_t)json_integer_value(json_object_get(page, "skipped"));
		const char *next = json_string_value(json_object_get(page, "next"));
		snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
		json_decref(page);
	} while (cursor[0]);
	printf("%zu stored change%s, %zu skipped\n", n, n == 1 ? "" : "s", skipped);
	return skipped ? 1 : 0;
}

static int api_drop(const struct api_client *c, const char *key)
{
	/* The key keeps its slashes (the route takes the rest of the path);
	 * everything else is escaped. */
	char path[4000];
	size_t at = (size_t)snprintf(path, sizeof(path), "/v1/changes/");
	for (const char *p = key; *p && at + 4 < sizeof(path); p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '/' || ch == '.' || ch == '-' || ch == '_' || ch == '@' ||
		    (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
			path[at++] = (char)ch;
		else
			at += (size_t)snprintf(path + at, sizeof(path) - at, "%%%02X", ch);
	}
	path[at] = '\0';
	if (api_call(c, "DELETE", path, NULL, NULL, NULL, 0))
		return 1;
	printf("dropped %s\n", key);
	return 0;
}

/* ---- on the store directly ---- */

struct offline {
	size_t n, skipped;
};

static int offline_one(void *ctx, const struct rwd_stored_change *ch)
{
	struct offline *o = ctx;
	print_change(ch->key, ch->error ? "SKIPPED" : "applied", ch->value, ch->error);
	o->n++;
	o->skipped += ch->error != NULL;
	return 0;
}

static void quiet(void *ctx, const char *msg)
{
}

static int offline(const char *path, const char *verb, const char *key)
{
	struct rwd_conf *conf = NULL;
	char err[RWD_CONF_ERRLEN] = "";
	if (rwd_conf_load(path, &conf, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (conf->api_data == NULL) {
		fprintf(stderr, "runway changes: %s has no api.data: nothing is stored\n", path);
		rwd_conf_free(conf);
		return 1;
	}
	struct rwd_control *ctl = NULL;
	char cerr[RWD_CONTROL_ERRLEN] = "";
	int rc = 1;
	if (strcmp(verb, "drop") == 0) {
		if (rwd_control_open(NULL, conf->api_data, &ctl, cerr) < 0) {
			fprintf(stderr, "runway changes: %s\n", cerr);
		} else if (rwd_control_change_forget(ctl, key, cerr) < 0) {
			fprintf(stderr, "runway changes: %s\n", cerr);
		} else {
			printf("dropped %s (a running runwayd applies it at its next reload)\n", key);
			rc = 0;
		}
	} else if (rwd_control_open_check(conf->api_data, &ctl, cerr) < 0) {
		fprintf(stderr, "runway changes: %s\n", cerr);
	} else if (rwd_control_check_stored(ctl, &conf, quiet, NULL) < 0) {
		fprintf(stderr, "runway changes: out of memory\n");
	} else {
		struct offline o = { 0 };
		rwd_control_changes(ctl, offline_one, &o);
		printf("%zu stored change%s, %zu skipped\n", o.n, o.n == 1 ? "" : "s", o.skipped);
		rc = o.skipped ? 1 : 0;
	}
	rwd_control_close(ctl);
	rwd_conf_free(conf);
	return rc;
}

int cmd_changes(int argc, char **argv)
{
	static const struct option longopts[] = {
		API_LONGOPTS,
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct api_client c;
	api_client_init(&c, argv[0]);
	const char *config = NULL;
	bool bad = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (api_client_option(&c, o, optarg, &bad)) {
			if (bad)
				return 2;
			continue;
		}
		if (o == 'c') {
			config = optarg;
			continue;
		}
		if (o == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		fputs(usage_text, stderr);
		return 2;
	}
	const char *verb = optind < argc ? argv[optind++] : "list";
	const char *key = NULL;
	if (strcmp(verb, "drop") == 0) {
		if (optind == argc) {
			api_fail(&c, "which change? (runway changes drop KEY, KEY as 'runway changes' "
			         "lists it)");
			return 2;
		}
		key = argv[optind++];
	} else if (strcmp(verb, "list") != 0) {
		api_fail(&c, "unknown action '%s' (list or drop KEY)", verb);
		return 2;
	}
	if (optind < argc) {
		api_fail(&c, "unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (config)
		return offline(config, verb, key);
	return key ? api_drop(&c, key) : api_list(&c);
}
