/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The zone file source (source.h): libzscanner reads the master file
 * (RFC 1035 5, $INCLUDE, RFC 3597 generic data) and every record goes to
 * the build as it comes (rwd_zone_add_record).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libzscanner/scanner.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/zone/source.h"

/* Enough to fix; past this, reading a broken file is wasted time. */
#define MAX_ERRORS 20
/* $INCLUDE levels checked for loops; zone_limits.max_include_depth is at most 64. */
#define CHAIN_MAX 65

/*
 * Reading the zone file and its $INCLUDEs within the limits (limits.h).
 *
 * libzscanner's automatic mode (zs_parse_all) opens an $INCLUDE itself,
 * with a fresh scanner and no depth limit, any path, and a character
 * device read whole into memory (a self-include or /dev/zero took 4.2 GB).
 * Its API cannot bound that, so the scanner runs in its manual mode
 * (zs_parse_record), which stops at each $INCLUDE with the path resolved
 * (include_filename, relative to the scanner's `path`) and the origin to use
 * (buffer), and this file opens every input itself: a regular file only,
 * counted against the byte budget before it is read, mapped, and handed to
 * the scanner as a string. The nesting depth is ours to count, and the
 * path is checked after symbolic links are resolved.
 */
struct input_state {
	struct rwd_zone_ctx *c;          /* the build */
	const struct rwd_zone_limits *limits;
	const char *path;                /* the zone file */
	char *root;                      /* realpath of the zone file's folder; NULL: unknown */
	/* realpaths of the files being read, the zone file's first: an $INCLUDE
	 * of one of them is a loop (kept for the first CHAIN_MAX levels) */
	const char *chain[CHAIN_MAX];
	uint64_t bytes;                  /* read so far, the zone file and its includes */
	bool stop;                       /* out of memory or too many errors */
	bool oom;
};

static void on_record(zs_scanner_t *s)
{
	struct input_state *st = s->process.data;
	if (rwd_zone_add_record(st->c, s->r_owner, s->r_owner_length, s->r_class, s->r_type,
	                        s->r_ttl, s->r_data, (uint16_t)s->r_data_length,
	                        s->file.name ? s->file.name : st->path,
	                        (unsigned long)s->line_counter) < 0) {
		st->oom = true;
		s->state = ZS_STATE_STOP;
	}
}

static void on_error(zs_scanner_t *s)
{
	struct input_state *st = s->process.data;
	rwd_zone_build_error(st->c, s->file.name ? s->file.name : st->path,
	                     (unsigned long)s->line_counter, "%s", zs_strerror(s->error.code));
	if (rwd_zone_build_errors(st->c) >= MAX_ERRORS)
		s->state = ZS_STATE_STOP;
}

/* path's folder, resolved; NULL when out of memory or path does not resolve. */
static char *real_dir(const char *path)
{
	char *real = realpath(path, NULL);
	if (real == NULL)
		return NULL;
	char *slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';             /* a file in "/" */
	else if (slash)
		*slash = '\0';
	return real;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/*
 * Read one input: path (for messages: name) at $INCLUDE depth depth, with
 * the given origin (text) and default TTL. Problems opening it are reported
 * at from:from_line (the $INCLUDE line; from NULL: the zone file itself).
 */
static void read_input(struct input_state *st, const char *path,
                       const char *origin, uint32_t ttl, unsigned depth,
                       const char *from, unsigned long from_line)
{
	const char *at = from ? from : path;
	unsigned long at_line = from ? from_line : 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (from)   /* zscanner's words for a missing $INCLUDE, as before */
			rwd_zone_build_error(st->c, at, at_line, "%s", zs_strerror(ZS_FILE_OPEN));
		else
			rwd_zone_build_error(st->c, at, at_line, "cannot open: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		if (from)
			rwd_zone_build_error(st->c, at, at_line, "$INCLUDE %s: not a regular file", path);
		else
			rwd_zone_build_error(st->c, at, at_line, "not a regular file");
		close(fd);
		return;
	}
	uint64_t size = (uint64_t)sb.st_size, max = st->limits->max_file_bytes;
	if (size > max - st->bytes) {
		if (from)
			rwd_zone_build_error(st->c, at, at_line,
			                "$INCLUDE %s: the zone file and its includes would exceed %llu "
			                "bytes (zone_limits.max_file_bytes)", path, (unsigned long long)max);
		else
			rwd_zone_build_error(st->c, at, at_line,
			                "%llu bytes, more than %llu (zone_limits.max_file_bytes)",
			                (unsigned long long)size, (unsigned long long)max);
		close(fd);
		st->stop = true;             /* every further input would be refused too */
		return;
	}
	st->bytes += size;
	void *map = NULL;
	if (size > 0 && (map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		rwd_zone_build_error(st->c, at, at_line, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	if (map)
		(void)madvise(map, size, MADV_SEQUENTIAL);

	zs_scanner_t *s = malloc(sizeof(*s));
	char *dir = s ? real_dir(path) : NULL;
	if (s == NULL || zs_init(s, origin, RW_CLASS_IN, ttl) != 0) {
		free(s);
		free(dir);
		if (map)
			munmap(map, size);
		st->oom = st->stop = true;
		return;
	}
	/* The scanner reads our mapping; file.name (freed by zs_deinit) names the
	 * input in messages, path (likewise) is where relative $INCLUDEs start. */
	if (zs_set_input_string(s, map ? map : "", size) != 0 ||
	    (s->file.name = strdup(path)) == NULL) {
		st->oom = st->stop = true;
		goto out;
	}
	if (dir) {
		free(s->path);
		s->path = dir;
		dir = NULL;
	}
	zs_set_processing(s, NULL, NULL, st);
	while (!st->stop && zs_parse_record(s) == 0) {
		if (s->state == ZS_STATE_DATA) {
			on_record(s);
		} else if (s->state == ZS_STATE_ERROR) {
			on_error(s);
		} else if (s->state == ZS_STATE_INCLUDE) {
			unsigned long line = (unsigned long)s->line_counter;
			if (depth + 1 > st->limits->max_include_depth) {
				if (st->limits->max_include_depth == 0)
					rwd_zone_build_error(st->c, s->file.name, line,
					                "$INCLUDE is not allowed (zone_limits.max_include_depth is 0)");
				else
					rwd_zone_build_error(st->c, s->file.name, line,
					                "$INCLUDE nested more than %u deep "
					                "(zone_limits.max_include_depth)",
					                st->limits->max_include_depth);
				st->stop = true;     /* every deeper one would be refused too */
				continue;
			}
			char *real = realpath(s->include_filename, NULL);
			bool loop = false;
			for (unsigned k = 0; real && k <= depth && k < CHAIN_MAX && !loop; k++)
				loop = st->chain[k] && strcmp(st->chain[k], real) == 0;
			if (real == NULL) {
				rwd_zone_build_error(st->c, s->file.name, line, "%s",
				                zs_strerror(ZS_FILE_OPEN));
			} else if (loop) {
				rwd_zone_build_error(st->c, s->file.name, line,
				                     "$INCLUDE %s: a loop (that file is being read already)",
				                     s->include_filename);
			} else if (!st->limits->include_any_path && !(st->root && under(real, st->root))) {
				rwd_zone_build_error(st->c, s->file.name, line,
				                "$INCLUDE %s is outside the zone file's folder %s "
				                "(zone_limits.include_any_path)", s->include_filename,
				                st->root ? st->root : "(unknown)");
			} else {
				/* s->buffer: the origin for the included file, as text. */
				if (depth + 1 < CHAIN_MAX)
					st->chain[depth + 1] = real;
				read_input(st, real, (const char *)s->buffer, s->default_ttl, depth + 1,
				           s->file.name, line);
				if (depth + 1 < CHAIN_MAX)
					st->chain[depth + 1] = NULL;
			}
			free(real);
		} else {
			break;                   /* EOF, or STOP from on_record / on_error */
		}
		if (s->state == ZS_STATE_STOP || st->oom || rwd_zone_build_errors(st->c) >= MAX_ERRORS)
			st->stop = true;
	}
out:
	free(dir);
	zs_deinit(s);
	free(s);
	if (map)
		munmap(map, size);
}

static int read_file(const struct rwd_record_source *src, struct rwd_zone_ctx *c)
{
	const char *path = src->data;
	char origin[RW_DNAME_MAXLEN * 4 + 1];
	rw_dname_to_str(rwd_zone_build_apex(c), origin, sizeof(origin));
	char *real = realpath(path, NULL);
	struct input_state st = { .c = c, .limits = rwd_zone_build_limits(c), .path = path,
	                          .root = real_dir(path), .chain = { real } };
	read_input(&st, path, origin, 3600, 0, NULL, 0);
	free(st.root);
	free(real);
	return st.oom ? RW_ENOMEM : 0;
}

static size_t file_size(const struct rwd_record_source *src)
{
	struct stat sb;
	return stat(src->data, &sb) == 0 ? (size_t)sb.st_size : 0;
}

struct rwd_record_source rwd_source_file(const char *path)
{
	return (struct rwd_record_source){ .kind = "file", .data = path, .read = read_file,
	                                   .size_hint = file_size };
}
