/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway check -c FILE: load a configuration and every zone it names, the
 * way runwayd would at start-up, with the changes the API stored on top
 * (api.data, read only: runwayd may be running), and report every problem
 * as "FILE:LINE: message" on stderr; a stored change that no longer applies
 * is an error ("store traffic/NAME:1: ..."), which runwayd would skip.
 * Warnings (": warning: ") are shown but do not fail the check. Exit 0 ok,
 * 1 errors, 2 usage.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "server/conf/conf.h"
#include "server/control/control.h"
#include "server/zone/source.h"
#include "server/zone/zone.h"
#include "tools/runway/cmd.h"

struct tally {
	unsigned errors, warnings;
};

static void report(void *ctx, const char *msg)
{
	struct tally *t = ctx;
	if (strstr(msg, ": warning: "))
		t->warnings++;
	else
		t->errors++;
	fprintf(stderr, "%s\n", msg);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: runway check -c FILE\n\n"
	             "Load the configuration FILE and every zone it serves; print\n"
	             "\"FILE:LINE: message\" for each problem on stderr. The changes the\n"
	             "API stored (api.data) are checked too: one that no longer applies\n"
	             "is an error (runwayd would skip it; 'runway changes' lists them).\n\n"
	             "  -c, --config FILE  the runwayd configuration to check\n"
	             "  -h, --help         show this help\n\n"
	             "Exit status: 0 ok (warnings allowed), 1 errors found, 2 usage error.\n");
}

/* The i-th zone to check: the top-level ones, then each view's own. */
static const struct rwd_conf_zone *nth_zone(const struct rwd_conf *conf, size_t i)
{
	if (i < conf->n_zones)
		return &conf->zones[i];
	i -= conf->n_zones;
	for (size_t v = 0; v < conf->n_views; v++) {
		if (i < conf->views[v].n_zones)
			return &conf->views[v].zones[i];
		i -= conf->views[v].n_zones;
	}
	return NULL;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "runway check: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (path == NULL) {
		fprintf(stderr, "runway check: which configuration? (-c FILE)\n");
		usage(stderr);
		return 2;
	}

	struct rwd_conf *conf = NULL;
	char err[RWD_CONF_ERRLEN] = "";
	if (rwd_conf_load(path, &conf, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	struct tally t = { 0 };
	/* The stored changes, applied as runwayd applies them at start. */
	struct rwd_control *ctl = NULL;
	char cerr[RWD_CONTROL_ERRLEN] = "";
	int skipped = 0;
	if (conf->api_data && rwd_control_open_check(conf->api_data, &ctl, cerr) < 0) {
		fprintf(stderr, "%s\n", cerr);
		t.errors++;
	}
	if (ctl && (skipped = rwd_control_check_stored(ctl, &conf, report, &t)) < 0) {
		fprintf(stderr, "%s: out of memory\n", path);
		rwd_control_close(ctl);
		rwd_conf_free(conf);
		return 1;
	}
	size_t records = 0, bad_zones = 0, n_zones = conf->n_zones;
	for (size_t v = 0; v < conf->n_views; v++)
		n_zones += conf->views[v].n_zones;
	for (size_t i = 0; i < n_zones; i++) {
		const struct rwd_conf_zone *cz = nth_zone(conf, i);
		unsigned before = t.errors;
		/* A catalog producer's records are generated from the configuration
		 * (zone/source_catalog.c): no file to read. A secondary's file is
		 * written by its transfers: none yet is not an error (runwayd serves
		 * SERVFAIL until the first transfer). */
		if (cz->catalog_role == RWD_CATALOG_PRODUCER)
			continue;
		if (cz->n_primaries && access(cz->file, F_OK) != 0) {
			printf("%s: zone %s: not transferred yet (a secondary)\n", cz->file, cz->name);
			continue;
		}
		const struct rwd_zone_limits *lim = &conf->zone_limits;
		struct rwd_zone *z = ctl ? rwd_control_check_zone(ctl, cz, lim, report, &t)
		                         : rwd_zone_load_limits(cz->dname, cz->file, NULL, lim, report, &t);
		if (z == NULL && t.errors == before) {   /* the loader promises a message */
			fprintf(stderr, "%s: zone %s%s%s%s could not be loaded\n", cz->file, cz->name,
			        cz->view ? " (view " : "", cz->view ? cz->view : "", cz->view ? ")" : "");
			t.errors++;
		}
		if (z == NULL || t.errors > before)
			bad_zones++;
		if (z)
			records += z->n_records;
		rwd_zone_free(z);
	}

	skipped = (int)rwd_control_n_skipped(ctl);   /* record changes too */
	int rc = 0;
	if (t.errors) {
		fprintf(stderr, "%s: %u error%s in %zu of %zu zone%s", path, t.errors,
		        t.errors == 1 ? "" : "s", bad_zones, n_zones, n_zones == 1 ? "" : "s");
		if (skipped)
			fprintf(stderr, " and %d stored change%s", skipped, skipped == 1 ? "" : "s");
		fprintf(stderr, "\n");
		rc = 1;
	} else {
		printf("%s: ok (%zu zone%s, %zu records", path, n_zones, n_zones == 1 ? "" : "s", records);
		if (conf->n_views)
			printf(", %zu view%s", conf->n_views, conf->n_views == 1 ? "" : "s");
		if (t.warnings)
			printf(", %u warning%s", t.warnings, t.warnings == 1 ? "" : "s");
		printf(")\n");
	}
	rwd_control_close(ctl);
	rwd_conf_free(conf);
	return rc;
}
