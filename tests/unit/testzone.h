/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared by the unit tests that need zone files: a temporary directory,
 * files written into it, and zones loaded from them with every message of
 * the report callback kept for exact comparison.
 *
 * Include after <cmocka.h>: the helpers assert.
 */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/zone/zone.h"

#define TZ_UNUSED __attribute__((unused))
#define TZ_MAX_MSGS 64

/* Messages reported by one load, in order. */
struct tz_report {
	unsigned n;          /* all messages, warnings included */
	unsigned errors;     /* those without ": warning: " */
	char msg[TZ_MAX_MSGS][RWD_ZONE_ERRLEN];
};

static char tz_dir[64];

/* Create the temporary directory (call from a group setup). */
static TZ_UNUSED int tz_mkdir(const char *prefix)
{
	snprintf(tz_dir, sizeof(tz_dir), "/tmp/%s.XXXXXX", prefix);
	return mkdtemp(tz_dir) ? 0 : -1;
}

static TZ_UNUSED int tz_rmdir(void)
{
	char cmd[128];
	if (tz_dir[0] == '\0')
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tz_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* tz_dir/name, in one of 8 rotating static buffers. */
static TZ_UNUSED const char *tz_path(const char *name)
{
	static char paths[8][256];
	static unsigned next;
	char *p = paths[next++ % 8];
	snprintf(p, 256, "%s/%s", tz_dir, name);
	return p;
}

/* Write text to tz_dir/name; returns the path (see tz_path). */
static TZ_UNUSED const char *tz_write(const char *name, const char *text)
{
	const char *path = tz_path(name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static TZ_UNUSED void tz_collect(void *ctx, const char *msg)
{
	struct tz_report *r = ctx;
	if (r->n < TZ_MAX_MSGS)
		snprintf(r->msg[r->n], RWD_ZONE_ERRLEN, "%s", msg);
	r->n++;
	if (strstr(msg, ": warning: ") == NULL)
		r->errors++;
}

/* Presentation name to flat wire name (case kept); asserts it parses. */
static TZ_UNUSED int tz_name(const char *str, uint8_t *out)
{
	int n = rw_dname_from_str(str, NULL, out);
	if (n < 0)
		fail_msg("cannot parse name '%s': %d", str, n);
	return n;
}

/* Flat lowercased name, the form the zone store keys on. */
static TZ_UNUSED int tz_lname(const char *str, uint8_t *out)
{
	int n = tz_name(str, out);
	rw_dname_lower(out);
	return n;
}

/*
 * Write text to tz_dir/file and load it as zone origin. r (may be NULL)
 * receives the messages. Returns the zone or NULL.
 */
static TZ_UNUSED struct rwd_zone *tz_load(const char *origin, const char *file,
                                          const char *text, struct tz_report *r)
{
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname(origin, apex);
	const char *path = tz_write(file, text);
	if (r)
		memset(r, 0, sizeof(*r));
	return rwd_zone_load(apex, path, r ? tz_collect : NULL, r);
}

/* Like tz_load, but the load must succeed without any message. */
static TZ_UNUSED struct rwd_zone *tz_load_ok(const char *origin, const char *file,
                                             const char *text)
{
	struct tz_report r;
	struct rwd_zone *z = tz_load(origin, file, text, &r);
	for (unsigned i = 0; i < r.n && i < TZ_MAX_MSGS; i++)
		print_message("zone %s: %s\n", origin, r.msg[i]);
	if (z == NULL || r.n != 0)
		fail_msg("zone %s: %u message(s), %s", origin, r.n, z ? "loaded" : "not loaded");
	return z;
}
