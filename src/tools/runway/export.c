/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway export DIR: what runwayd serves now (zone files plus every change
 * made through the API), written out as files: DIR/<zone>.zone for each
 * zone and DIR/traffic.yaml with health_checks, endpoints and traffic, in the
 * configuration's own shape (JSON is YAML), ready to paste into a config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/runway/api_client.h"
#include "tools/runway/cmd.h"

static const char usage[] =
	"usage: runway export DIR [--api URL] [--token T]\n\n"
	"Write what runwayd serves now into DIR (created if missing): one\n"
	"ZONE.zone file per zone, and traffic.yaml with the health checks, endpoints\n"
	"and traffic names.\n\n" API_USAGE "  -h, --help         show this help\n";

/* Write text to dir/name via a temporary file and rename. */
static int write_file(const struct api_client *c, const char *dir, const char *name,
                      char *text, size_t len)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return api_fail(c, "cannot write %s: %s", tmp, strerror(errno));
	bool ok = fwrite(text, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return api_fail(c, "cannot write %s: %s", path, strerror(e));
	}
	printf("wrote %s\n", path);
	return 0;
}

static const char *str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

static int export_zone(const struct api_client *c, const char *dir, json_t *zone, const char *stamp)
{
	const char *name = str(zone, "name", NULL);
	if (name == NULL)
		return api_fail(c, "the API listed a zone without a name");
	char *e = api_escape(name);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		free(e);
		return api_fail(c, "out of memory");
	}
	fprintf(f, ";; %s exported from %s at %s (serial %lld)\n", name, c->base, stamp,
	        (long long)json_integer_value(json_object_get(zone, "serial")));
	/* Page by page (docs/api.md): a large zone never sits whole in one answer. */
	char cursor[32] = "";
	int failed = 0;
	do {
		char path[1200];
		snprintf(path, sizeof(path), "/v1/zones/%s/rrsets?limit=10000%s%s", e ? e : name,
		         cursor[0] ? "&cursor=" : "", cursor);
		json_t *page;
		if (api_call(c, "GET", path, NULL, &page, NULL, 0)) {
			failed = 1;
			break;
		}
		size_t i, k;
		json_t *rs, *rec;
		json_array_foreach(json_object_get(page, "rrsets"), i, rs) {
			json_array_foreach(json_object_get(rs, "records"), k, rec)
				fprintf(f, "%s\t%lld\tIN\t%s\t%s\n", str(rs, "name", "?"),
				        (long long)json_integer_value(json_object_get(rs, "ttl")),
				        str(rs, "type", "?"), json_string_value(rec) ? json_string_value(rec) : "");
		}
		const char *next = json_string_value(json_object_get(page, "next"));
		snprintf(cursor, sizeof(cursor), "%s", next && strlen(next) < sizeof(cursor) ? next : "");
		json_decref(page);
	} while (cursor[0]);
	free(e);
	if (failed) {
		fclose(f);
		free(text);
		return 1;
	}
	if (fclose(f) != 0) {
		free(text);
		return api_fail(c, "out of memory");
	}
	char file[1100];
	size_t nl = strlen(name);
	if (nl > 1 && name[nl - 1] == '.')
		nl--;
	if (strcmp(name, ".") == 0)
		snprintf(file, sizeof(file), "root.zone");
	else
		snprintf(file, sizeof(file), "%.*s.zone", (int)nl, name);
	if (strchr(file, '/')) {
		free(text);
		return api_fail(c, "zone name '%s' cannot be a file name", name);
	}
	int r = write_file(c, dir, file, text, len);
	free(text);
	return r;
}

/* health_checks, endpoints and traffic, as the server writes them out. */
static int export_traffic(const struct api_client *c, const char *dir, const char *stamp)
{
	char *yaml;
	size_t len;
	if (api_get_text(c, "/v1/export/traffic.yaml", &yaml, &len))
		return 1;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	if (f == NULL) {
		free(yaml);
		return api_fail(c, "out of memory");
	}
	fprintf(f, "# Exported from %s at %s: the health_checks, endpoints and traffic\n"
	           "# sections runwayd serves now (geoip and latency name files: not included).\n",
	        c->base, stamp);
	fwrite(yaml, 1, len, f);
	free(yaml);
	if (fclose(f) != 0) {
		free(text);
		return api_fail(c, "out of memory");
	}
	int rc = write_file(c, dir, "traffic.yaml", text, tlen);
	free(text);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		API_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct api_client c;
	api_client_init(&c, "export");
	optind = 0;
	int o;
	bool bad = false;
	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (api_client_option(&c, o, optarg, &bad)) {
			if (bad)
				return 2;
			continue;
		}
		if (o == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		fputs(usage, stderr);
		return 2;
	}
	if (argc - optind != 1) {
		api_fail(&c, argc - optind ? "one DIR only" : "which folder? (runway export DIR)");
		return 2;
	}
	const char *dir = argv[optind];
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return api_fail(&c, "cannot create %s: %s", dir, strerror(errno));

	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);

	json_t *zones;
	if (api_call(&c, "GET", "/v1/zones", NULL, &zones, NULL, 0))
		return 1;
	int rc = 0;
	size_t i;
	json_t *z;
	json_array_foreach(zones, i, z)
		rc |= export_zone(&c, dir, z, stamp);
	json_decref(zones);
	rc |= export_traffic(&c, dir, stamp);
	return rc;
}
