/*
 * Zone loading: libzscanner parses the master file (RFC 1035 5, $INCLUDE,
 * RFC 3597 generic data); records are attached to their node as they come
 * (one hash lookup each, no global sort), then grouped into RRsets, checked,
 * linked (ENTs, cuts, wildcards) and handed to answers.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libzscanner/scanner.h>
#include <libknot/descriptor.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/rdata.h"
#include "lib/wire.h"
#include "server/zone/build.h"
#include "server/zone/limits.h"
#include "server/zone/source.h"

void rwd_zone_report(struct rwd_zone_ctx *c, bool warning, const char *file,
                     unsigned long line, const char *fmt, ...)
{
	char msg[RWD_ZONE_ERRLEN];
	int n = line ? snprintf(msg, sizeof(msg), "%s:%lu: %s", file, line, warning ? "warning: " : "")
	             : snprintf(msg, sizeof(msg), "%s: %s", file, warning ? "warning: " : "");
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (!warning)
		c->errors++;
	if (c->report)
		c->report(c->ctx, msg);
}

uint32_t rwd_name_hash(const uint8_t *name, size_t len)
{
	/* Multiply-rotate over 8-byte words: names are short, this is a few cycles. */
	const uint64_t k = 0x517cc1b727220a95ULL;
	uint64_t h = len * 0x9e3779b97f4a7c15ULL;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, name, 8);
		h = ((h << 5 | h >> 59) ^ w) * k;
		name += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		memcpy(&w, name, len);
		h = ((h << 5 | h >> 59) ^ w) * k;
	}
	h ^= h >> 32;
	return (uint32_t)h;
}

static int table_grow(struct rwd_zone *z, size_t cap)
{
	struct rwd_node **t = rw_bigalloc(cap * sizeof(*t));
	if (t == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; z->table && i <= z->table_mask; i++) {
		struct rwd_node *n = z->table[i];
		if (n == NULL)
			continue;
		size_t j = n->hash & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = n;
	}
	if (z->table)
		rw_bigfree(z->table, (z->table_mask + 1) * sizeof(*t));
	z->table = t;
	z->table_mask = cap - 1;
	return 0;
}

/* A first table size from the file size (~40 bytes per name in typical zone
 * files), so big zones are not rehashed on the way up. */
static size_t initial_table(const char *path)
{
	struct stat st;
	size_t cap = 64;
	if (stat(path, &st) == 0)
		while (cap < (size_t)st.st_size / 40 * 2 && cap < ((size_t)1 << 30))
			cap *= 2;
	return cap;
}

struct rwd_node *rwd_zone_get_node(struct rwd_zone_ctx *c, const uint8_t *name, size_t len)
{
	struct rwd_zone *z = c->z;
	uint32_t h = rwd_name_hash(name, len);
	size_t i = h & z->table_mask;
	for (struct rwd_node *n; (n = z->table[i]) != NULL; i = (i + 1) & z->table_mask)
		if (n->hash == h && n->name_len == len && memcmp(n->name, name, len) == 0)
			return n;

	/* Keep the load factor under 1/2: misses then probe ~1.5 slots. */
	if ((z->n_nodes + 1) * 2 > z->table_mask + 1) {
		if (table_grow(z, (z->table_mask + 1) * 2) < 0)
			return NULL;
		i = h & z->table_mask;
		while (z->table[i])
			i = (i + 1) & z->table_mask;
	}
	if (z->n_nodes == c->cap_nodes) {
		size_t cap = c->cap_nodes ? c->cap_nodes * 2 : 1024;
		struct rwd_node **nn = realloc(c->nodes, cap * sizeof(*nn));
		if (nn == NULL)
			return NULL;
		c->nodes = nn;
		struct rwd_zone_rec **nh = realloc(c->heads, cap * sizeof(*nh));
		if (nh == NULL)
			return NULL;
		c->heads = nh;
		c->cap_nodes = cap;
	}
	struct rwd_node *n = rw_arena_alloc(z->arena, sizeof(*n) + len);
	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	memcpy(n->name, name, len);
	n->name_len = (uint8_t)len;
	n->hash = h;
	n->id = (uint32_t)z->n_nodes;
	c->nodes[n->id] = n;
	c->heads[n->id] = NULL;
	z->table[i] = n;
	z->n_nodes++;
	return n;
}

static bool is_meta_type(uint16_t t)
{
	return t == RW_TYPE_OPT || (t >= 128 && t <= 255) /* TKEY, TSIG, IXFR, AXFR, ANY, ... */;
}

static void on_record(zs_scanner_t *s)
{
	struct rwd_zone_ctx *c = s->process.data;
	struct rwd_zone *z = c->z;
	const char *file = s->file.name ? s->file.name : c->path;
	unsigned long line = (unsigned long)s->line_counter;

	uint8_t owner[RW_DNAME_MAXLEN];
	memcpy(owner, s->r_owner, s->r_owner_length);
	rw_dname_lower(owner);
	char txt[RW_DNAME_MAXLEN * 4 + 1];

	if (s->r_class != RW_CLASS_IN) {
		rwd_zone_report(c, false, file, line, "class %u not supported (only IN)", s->r_class);
		return;
	}
	if (!rw_dname_is_sub(owner, z->apex_name)) {
		rw_dname_to_str(owner, txt, sizeof(txt));
		rwd_zone_report(c, false, file, line, "%s is outside the zone", txt);
		return;
	}
	if (is_meta_type(s->r_type)) {
		rwd_zone_report(c, false, file, line, "type %u cannot appear in a zone", s->r_type);
		return;
	}
	if (rw_rdata_check(s->r_type, s->r_data, (uint16_t)s->r_data_length) < 0) {
		rwd_zone_report(c, false, file, line, "malformed data for type %u", s->r_type);
		return;
	}
	/* Records of one name usually come together: skip the hash lookup. */
	struct rwd_node *n = c->last_node;
	if (n == NULL || n->name_len != s->r_owner_length ||
	    memcmp(n->name, owner, n->name_len) != 0)
		n = c->last_node = rwd_zone_get_node(c, owner, s->r_owner_length);
	struct rwd_zone_rec *r = rw_arena_alloc(&c->scratch, sizeof(*r) + s->r_data_length);
	if (n == NULL || r == NULL) {
		c->oom = true;
		s->state = ZS_STATE_STOP;
		return;
	}
	/* zscanner frees an $INCLUDE file's name when done with it: keep a copy. */
	if (c->last_file == NULL || strcmp(c->last_file, file) != 0)
		c->last_file = rw_arena_memdup(&c->scratch, file, strlen(file) + 1);
	if (c->last_file == NULL) {
		c->oom = true;
		s->state = ZS_STATE_STOP;
		return;
	}
	r->file = c->last_file;
	r->type = s->r_type;
	r->ttl = s->r_ttl;
	r->line = (uint32_t)line;
	r->rdlen = (uint16_t)s->r_data_length;
	memcpy(r->rdata, s->r_data, s->r_data_length);
	r->next = c->heads[n->id];
	c->heads[n->id] = r;
}

/* Enough to fix; past this, reading a broken file is wasted time. */
#define MAX_ERRORS 20

static void on_error(zs_scanner_t *s)
{
	struct rwd_zone_ctx *c = s->process.data;
	const char *file = s->file.name ? s->file.name : c->path;
	rwd_zone_report(c, false, file, (unsigned long)s->line_counter, "%s",
	                zs_strerror(s->error.code));
	if (c->errors >= MAX_ERRORS)
		s->state = ZS_STATE_STOP;
}

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
	char *root;                      /* realpath of the zone file's folder; NULL: unknown */
	uint64_t bytes;                  /* read so far, the zone file and its includes */
	bool stop;                       /* out of memory or too many errors */
};

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
static void read_input(struct rwd_zone_ctx *c, struct input_state *st, const char *path,
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
			rwd_zone_report(c, false, at, at_line, "%s", zs_strerror(ZS_FILE_OPEN));
		else
			rwd_zone_report(c, false, at, at_line, "cannot open: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		if (from)
			rwd_zone_report(c, false, at, at_line, "$INCLUDE %s: not a regular file", path);
		else
			rwd_zone_report(c, false, at, at_line, "not a regular file");
		close(fd);
		return;
	}
	uint64_t size = (uint64_t)sb.st_size, max = c->limits->max_file_bytes;
	if (size > max - st->bytes) {
		if (from)
			rwd_zone_report(c, false, at, at_line,
			                "$INCLUDE %s: the zone file and its includes would exceed %llu "
			                "bytes (zone_limits.max_file_bytes)", path, (unsigned long long)max);
		else
			rwd_zone_report(c, false, at, at_line,
			                "%llu bytes, more than %llu (zone_limits.max_file_bytes)",
			                (unsigned long long)size, (unsigned long long)max);
		close(fd);
		st->stop = true;             /* every further input would be refused too */
		return;
	}
	st->bytes += size;
	void *map = NULL;
	if (size > 0 && (map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		rwd_zone_report(c, false, at, at_line, "cannot read %s: %s", path, strerror(errno));
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
		c->oom = st->stop = true;
		return;
	}
	/* The scanner reads our mapping; file.name (freed by zs_deinit) names the
	 * input in messages, path (likewise) is where relative $INCLUDEs start. */
	if (zs_set_input_string(s, map ? map : "", size) != 0 ||
	    (s->file.name = strdup(path)) == NULL) {
		c->oom = st->stop = true;
		goto out;
	}
	if (dir) {
		free(s->path);
		s->path = dir;
		dir = NULL;
	}
	zs_set_processing(s, NULL, NULL, c);
	while (!st->stop && zs_parse_record(s) == 0) {
		if (s->state == ZS_STATE_DATA) {
			on_record(s);
		} else if (s->state == ZS_STATE_ERROR) {
			on_error(s);
		} else if (s->state == ZS_STATE_INCLUDE) {
			unsigned long line = (unsigned long)s->line_counter;
			if (depth + 1 > c->limits->max_include_depth) {
				if (c->limits->max_include_depth == 0)
					rwd_zone_report(c, false, s->file.name, line,
					                "$INCLUDE is not allowed (zone_limits.max_include_depth is 0)");
				else
					rwd_zone_report(c, false, s->file.name, line,
					                "$INCLUDE nested more than %u deep "
					                "(zone_limits.max_include_depth)",
					                c->limits->max_include_depth);
				continue;
			}
			char *real = realpath(s->include_filename, NULL);
			if (real == NULL) {
				rwd_zone_report(c, false, s->file.name, line, "%s",
				                zs_strerror(ZS_FILE_OPEN));
			} else if (!c->limits->include_any_path && !(st->root && under(real, st->root))) {
				rwd_zone_report(c, false, s->file.name, line,
				                "$INCLUDE %s is outside the zone file's folder %s "
				                "(zone_limits.include_any_path)", s->include_filename,
				                st->root ? st->root : "(unknown)");
			} else {
				/* s->buffer: the origin for the included file, as text. */
				read_input(c, st, real, (const char *)s->buffer, s->default_ttl, depth + 1,
				           s->file.name, line);
			}
			free(real);
		} else {
			break;                   /* EOF, or STOP from on_record / on_error */
		}
		if (s->state == ZS_STATE_STOP || c->oom || c->errors >= MAX_ERRORS)
			st->stop = true;
	}
out:
	free(dir);
	zs_deinit(s);
	free(s);
	if (map)
		munmap(map, size);
}

static int parse_file(struct rwd_zone_ctx *c)
{
	char origin[RW_DNAME_MAXLEN * 4 + 1];
	rw_dname_to_str(c->z->apex_name, origin, sizeof(origin));
	struct input_state st = { .root = real_dir(c->path) };
	read_input(c, &st, c->path, origin, 3600, 0, NULL, 0);
	free(st.root);
	return c->oom ? RW_ENOMEM : 0;
}

/* Backward-shift deletion: the entries after n in its probe run move up
 * into the hole when their home slot allows, so no run is broken. */
void rwd_zone_table_remove(struct rwd_zone *z, const struct rwd_node *n)
{
	size_t m = z->table_mask, i = n->hash & m;
	while (z->table[i] != n)
		i = (i + 1) & m;
	for (size_t j = (i + 1) & m; z->table[j] != NULL; j = (j + 1) & m) {
		size_t home = z->table[j]->hash & m;
		if (((j - home) & m) >= ((j - i) & m)) {   /* the hole is between home and j */
			z->table[i] = z->table[j];
			i = j;
		}
	}
	z->table[i] = NULL;
}

/* Replace the records of each overridden (name, type) by the override's. */
static int apply_overrides(struct rwd_zone_ctx *c, const struct rwd_zone_load_opts *o)
{
	for (size_t i = 0; i < o->n_overrides; i++) {
		const struct rwd_zone_override *ov = &o->overrides[i];
		size_t len = rw_dname_len(ov->owner);
		/* Removing what is not there makes no name. */
		struct rwd_node *n = ov->count ? rwd_zone_get_node(c, ov->owner, len)
		                               : (struct rwd_node *)rwd_zone_find(c->z, ov->owner, len);
		if (n == NULL && ov->count == 0)
			continue;
		if (n == NULL)
			return RW_ENOMEM;
		struct rwd_zone_rec **pp = &c->heads[n->id];
		while (*pp)
			if ((*pp)->type == ov->type)
				*pp = (*pp)->next;
			else
				pp = &(*pp)->next;
		/* In the order given: grouping keeps the list order of records
		 * on one line (here all 0), and the list is newest first. */
		const uint8_t *rd = ov->rdata;
		pp = &c->heads[n->id];
		for (unsigned k = 0; k < ov->count; k++) {
			uint16_t rdlen = rw_get16(rd);
			struct rwd_zone_rec *r = rw_arena_alloc(&c->scratch, sizeof(*r) + rdlen);
			if (r == NULL)
				return RW_ENOMEM;
			*r = (struct rwd_zone_rec){ .file = c->path, .ttl = ov->ttl, .line = 0,
			                            .type = ov->type, .rdlen = rdlen };
			memcpy(r->rdata, rd + 2, rdlen);
			r->next = *pp;
			*pp = r;
			pp = &r->next;
			rd += 2u + rdlen;
		}
	}
	if (o->serial) {
		for (struct rwd_zone_rec *r = c->heads[c->z->apex->id]; r; r = r->next) {
			if (r->type != RW_TYPE_SOA)
				continue;
			size_t off = rw_dname_len(r->rdata);
			off += rw_dname_len(r->rdata + off);
			rw_put32(r->rdata + off, o->serial);
		}
	}
	return 0;
}

/*
 * A name exists only if it owns records or a name below it does (RFC 1034
 * 3.1, RFC 4592 2.2.2, RFC 8020): a node the overrides left without records
 * goes, so its name is NXDOMAIN (or matched by a wildcard again), unless
 * rwd_zone_link() brings it back as the empty non-terminal above a name
 * that remains. Ids stay dense, in creation order.
 */
static void drop_empty_nodes(struct rwd_zone_ctx *c)
{
	struct rwd_zone *z = c->z;
	size_t n = z->n_nodes, kept = 0;
	for (size_t id = 0; id < n; id++) {
		struct rwd_node *node = c->nodes[id];
		if (c->heads[id] == NULL && node != z->apex) {
			rwd_zone_table_remove(z, node);
			continue;
		}
		node->id = (uint32_t)kept;
		c->nodes[kept] = node;
		c->heads[kept++] = c->heads[id];
	}
	z->n_nodes = kept;
	c->last_node = NULL;
}

struct rwd_zone *rwd_zone_load(const uint8_t *origin, const char *path,
                               rwd_report_fn report, void *ctx)
{
	return rwd_zone_load_opts(origin, path, NULL, report, ctx);
}

struct rwd_zone *rwd_zone_load_opts(const uint8_t *origin, const char *path,
                                    const struct rwd_zone_load_opts *opts,
                                    rwd_report_fn report, void *ctx)
{
	return rwd_zone_load_limits(origin, path, opts, NULL, report, ctx);
}

struct rwd_zone *rwd_zone_load_limits(const uint8_t *origin, const char *path,
                                      const struct rwd_zone_load_opts *opts,
                                      const struct rwd_zone_limits *limits,
                                      rwd_report_fn report, void *ctx)
{
	static const struct rwd_zone_limits defaults = RWD_ZONE_LIMITS_DEFAULT;
	struct rwd_zone *z = calloc(1, sizeof(*z));
	struct rwd_zone_ctx c = { .z = z, .path = path, .report = report, .ctx = ctx,
	                          .limits = limits ? limits : &defaults };
	if (z == NULL)
		return NULL;
	z->refs = 1;
	z->seg = rwd_zone_seg_new(NULL, 16 * 1024);
	if (z->seg == NULL) {
		free(z);
		return NULL;
	}
	z->arena = &z->seg->arena;
	z->deps = z->seg->deps = rwd_deps_new(initial_table(path) / 4);
	rw_arena_init(&c.scratch, 16 * 1024);
	z->apex_len = (uint8_t)rw_dname_len(origin);
	z->apex_labels = (uint8_t)rw_dname_labels(origin);
	memcpy(z->apex_name, origin, z->apex_len);
	z->file = strdup(path);

	int ret = z->file && z->deps ? table_grow(z, initial_table(path)) : RW_ENOMEM;
	if (ret == 0 && (z->apex = rwd_zone_get_node(&c, origin, z->apex_len)) == NULL)
		ret = RW_ENOMEM;
	if (ret == 0)
		ret = parse_file(&c);
	if (ret == 0 && c.errors == 0 && opts != NULL && (ret = apply_overrides(&c, opts)) == 0)
		drop_empty_nodes(&c);
	if (ret == 0 && c.errors == 0)
		ret = rwd_zone_group(&c);
	if (ret == 0 && c.errors == 0)
		ret = rwd_zone_link(&c);
	if (ret == 0 && c.errors == 0)
		ret = rwd_zone_build_answers(&c);

	if (ret == RW_ENOMEM)
		rwd_zone_report(&c, false, path, 0, "out of memory");
	rw_arena_free(&c.scratch);
	free(c.heads);
	free(c.nodes);
	free(c.parents);
	if (ret < 0 || c.errors > 0) {
		rwd_zone_free(z);
		return NULL;
	}
	z->next_id = (uint32_t)z->n_nodes;
	z->seg->base_bytes = z->arena->total;
	return z;
}

void rwd_zone_ref(struct rwd_zone *z)
{
	__atomic_add_fetch(&z->refs, 1, __ATOMIC_RELAXED);
}

void rwd_zone_free(struct rwd_zone *z)
{
	if (z == NULL || __atomic_sub_fetch(&z->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	rw_bigfree(z->table, (z->table_mask + 1) * sizeof(*z->table));
	rwd_zone_seg_unref(z->seg);
	free(z->file);
	free(z);
}

struct rwd_zone *rwd_zone_failed(const uint8_t *origin, const char *path)
{
	struct rwd_zone *z = calloc(1, sizeof(*z));
	struct rwd_zone_ctx c = { .z = z, .path = path };
	if (z == NULL)
		return NULL;
	z->refs = 1;
	z->apex_len = (uint8_t)rw_dname_len(origin);
	z->apex_labels = (uint8_t)rw_dname_labels(origin);
	memcpy(z->apex_name, origin, z->apex_len);
	z->file = strdup(path);
	z->seg = rwd_zone_seg_new(NULL, 1024);
	struct rwd_answer *a = NULL;
	if (z->seg && z->file) {
		z->arena = &z->seg->arena;
		if (table_grow(z, 4) == 0 && (z->apex = rwd_zone_get_node(&c, origin, z->apex_len)))
			a = rw_arena_alloc(z->arena, sizeof(*a));
	}
	free(c.heads);
	free(c.nodes);
	if (a == NULL) {
		rwd_zone_free(z);
		return NULL;
	}
	/*
	 * Every lookup ends in SERVFAIL with no records, without a test on the
	 * query path: the apex is every name's closest encloser (no other node),
	 * its own wildcard (so names below it take the apex's answer, not
	 * NXDOMAIN), and answers every type, like the zone's shared negative
	 * answers, with the one SERVFAIL answer. Not authoritative, as Knot DNS.
	 */
	memset(a, 0, sizeof(*a));
	a->rcode = RW_RCODE_SERVFAIL;
	a->qname_len = z->apex_len;
	z->apex->flags = RWD_NODE_APEX;
	z->apex->wildcard = z->apex;
	z->apex->other = a;
	z->nxdomain = z->nodata = a;
	z->next_id = (uint32_t)z->n_nodes;
	return z;
}

struct rwd_zone_seg *rwd_zone_seg_new(struct rwd_zone_seg *prev, size_t chunk)
{
	struct rwd_zone_seg *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->refs = 1;
	rw_arena_init(&s->arena, chunk);
	if (prev != NULL) {
		__atomic_add_fetch(&prev->refs, 1, __ATOMIC_RELAXED);
		s->prev = prev;
		s->deps = prev->deps;
		s->base_bytes = prev->base_bytes;
		s->patch_bytes = prev->patch_bytes;
	}
	return s;
}

/* Iterative: a chain may be thousands of segments long. */
void rwd_zone_seg_unref(struct rwd_zone_seg *s)
{
	while (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		struct rwd_zone_seg *prev = s->prev;
		rw_arena_free(&s->arena);
		if (prev == NULL)
			rwd_deps_free(s->deps);
		free(s);
		s = prev;
	}
}
