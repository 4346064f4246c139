/*
 * runwayd configuration loader.
 *
 * The whole file format is the `schema` table below: one row per option,
 * giving its key path, kind, where the value goes, default, range and a
 * one-line doc. A single walker reads the YAML document (libyaml's document
 * API, so every node still knows its line) against that table, then fills
 * in defaults and checks required keys from the same rows, and
 * rwd_conf_doc() prints the reference from them. Adding an option or a
 * section means adding rows, plus a field in struct rwd_conf.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>
#include <yaml.h>

#include "lib/error.h"
#include "server/conf/conf.h"

enum kind {
	K_SECTION,  /* a mapping of further rows ("server") */
	K_LIST,     /* a sequence of mappings, one struct element each ("zones") */
	K_UINT,     /* unsigned integer in min..max */
	K_DURATION, /* "500ms", "10s", "2m", "1h" or bare seconds; stored in ms, min..max */
	K_LISTEN,   /* one address or a list of them */
	K_NSID,     /* text, or 0x + hex for raw bytes */
	K_DNAME,    /* domain name, stored as text (off) and lowercased wire (off2) */
	K_PATH,     /* file path, joined to the config's folder */
};

struct ctx;

struct opt {
	const char *path;   /* "section.key"; the parent row is the part before the last dot */
	enum kind kind;
	size_t off;         /* the value, in the struct being filled: struct rwd_conf, or
	                     * the element struct for rows under a K_LIST */
	size_t off2;        /* second field: K_LISTEN/K_LIST count, K_NSID length, K_DNAME wire */
	size_t size;        /* K_UINT/K_DURATION: field width; K_LIST: element size */
	size_t line_off;    /* K_LIST: the element's `int line` */
	unsigned long long min, max;
	const char *def;    /* default, written as in the YAML file; NULL = none */
	bool required;
	/* Checks that need more than one value (run after the row is parsed). */
	int (*check)(struct ctx *c, const struct opt *o, void *base);
	const char *doc;
};

static int check_zones(struct ctx *c, const struct opt *o, void *base);

#define C struct rwd_conf
#define Z struct rwd_conf_zone
#define FIELD(s, m) .off = offsetof(s, m), .size = sizeof(((s *)0)->m)

/* Keep docs/configuration.md in step: it embeds rwd_conf_doc()'s output. */
static const struct opt schema[] = {
	{ "server", K_SECTION,
	  .doc = "Where and how runwayd answers." },
	{ "server.listen", K_LISTEN, .off = offsetof(C, listen), .off2 = offsetof(C, n_listen),
	  .def = "127.0.0.1:53",
	  .doc = "Addresses to serve UDP and TCP on: `ADDR:PORT`, `[ADDR6]:PORT` or `ADDR` (port 53)." },
	{ "server.workers", K_UINT, FIELD(C, workers), .min = 0, .max = 1024, .def = "0",
	  .doc = "UDP worker threads; 0 means one per CPU core." },
	{ "server.edns_udp_size", K_UINT, FIELD(C, edns_udp_size), .min = 512, .max = 4096,
	  .def = "1232",
	  .doc = "Largest UDP answer sent to a client that uses EDNS, in bytes." },
	{ "server.nsid", K_NSID, .off = offsetof(C, nsid), .off2 = offsetof(C, nsid_len),
	  .doc = "NSID (RFC 5001) sent to clients that ask for it; `0x` + hex gives raw bytes." },
	{ "tcp", K_SECTION,
	  .doc = "DNS over TCP." },
	{ "tcp.idle_timeout", K_DURATION, FIELD(C, tcp_idle_timeout_ms), .min = 1, .max = 3600000,
	  .def = "10s",
	  .doc = "Close a TCP connection that has been idle this long." },
	{ "tcp.max_clients", K_UINT, FIELD(C, tcp_max_clients), .min = 1, .max = 1000000,
	  .def = "1000",
	  .doc = "Most TCP connections open at once." },
	{ "zones", K_LIST, .off = offsetof(C, zones), .off2 = offsetof(C, n_zones),
	  .size = sizeof(Z), .line_off = offsetof(Z, line), .check = check_zones,
	  .doc = "Zones to serve, one entry each; zone names must be unique." },
	{ "zones.name", K_DNAME, .off = offsetof(Z, name), .off2 = offsetof(Z, dname),
	  .required = true,
	  .doc = "The zone's apex; a name without the trailing dot is taken as absolute." },
	{ "zones.file", K_PATH, .off = offsetof(Z, file), .required = true,
	  .doc = "Zone file (RFC 1035 format), relative to the config file's folder." },
};

#undef C
#undef Z
#undef FIELD

enum { N_OPTS = sizeof(schema) / sizeof(schema[0]) };

/* More listen addresses than any real box has; bounds the duplicate check. */
#define MAX_LISTEN 1024
#define MAX_NSID 128

struct ctx {
	const char *file;       /* FILE in messages */
	const char *base_dir;   /* for relative zone file paths; NULL = keep as written */
	yaml_document_t *doc;
	char *err;
	int seen[N_OPTS];       /* line where each row was set in the current scope, 0 = not */
};

/* ---- errors ---- */

static int fail(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, int line, const char *fmt, ...)
{
	int n = line > 0 ? snprintf(c->err, RWD_CONF_ERRLEN, "%s:%d: ", c->file, line)
	                 : snprintf(c->err, RWD_CONF_ERRLEN, "%s: ", c->file);
	if (n >= 0 && n < RWD_CONF_ERRLEN) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, RWD_CONF_ERRLEN - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return RW_ECONF;
}

static int nomem(struct ctx *c)
{
	snprintf(c->err, RWD_CONF_ERRLEN, "%s: out of memory", c->file);
	return RW_ENOMEM;
}

/* User text for a message: printable ASCII only, at most 64 characters. */
static const char *show(const char *s, char buf[68])
{
	size_t i;
	for (i = 0; s[i] && i < 64; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (s[i])
		memcpy(buf + 61, "...", 3);
	buf[i] = '\0';
	return buf;
}

static void fmt_ms(unsigned long long ms, char *buf, size_t n)
{
	if (ms && ms % 3600000 == 0)
		snprintf(buf, n, "%lluh", ms / 3600000);
	else if (ms && ms % 60000 == 0)
		snprintf(buf, n, "%llum", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, n, "%llus", ms / 1000);
	else
		snprintf(buf, n, "%llums", ms);
}

/* What a row accepts, as a noun phrase: the docs' type column and "expected ..." in errors. */
static const char *describe(const struct opt *o, char buf[128])
{
	char lo[32], hi[32];
	switch (o->kind) {
	case K_SECTION:  return "mapping";
	case K_LIST:     return "list of mappings";
	case K_UINT:
		snprintf(buf, 128, "integer %llu..%llu", o->min, o->max);
		return buf;
	case K_DURATION:
		fmt_ms(o->min, lo, sizeof(lo));
		fmt_ms(o->max, hi, sizeof(hi));
		snprintf(buf, 128, "duration %s..%s", lo, hi);
		return buf;
	case K_LISTEN:   return "address or list of addresses";
	case K_NSID:     snprintf(buf, 128, "string or 0x-hex, 1..%d bytes", MAX_NSID); return buf;
	case K_DNAME:    return "domain name";
	case K_PATH:     return "file path";
	}
	return "?";
}

static int expected(struct ctx *c, const struct opt *o, int line)
{
	char buf[128];
	const char *what = describe(o, buf);
	return fail(c, line, "%s: expected %s %s", o->path,
	            strchr("aeiou", what[0]) ? "an" : "a", what);
}

/* ---- schema navigation ---- */

/* Row of key directly under row parent (-1: the top level), or -1. */
static int find_child(int parent, const char *key)
{
	size_t plen = parent < 0 ? 0 : strlen(schema[parent].path) + 1;
	for (int i = 0; i < N_OPTS; i++) {
		const char *p = schema[i].path;
		if (parent >= 0 && (strncmp(p, schema[parent].path, plen - 1) || p[plen - 1] != '.'))
			continue;
		if (strchr(p + plen, '.') == NULL && strcmp(p + plen, key) == 0)
			return i;
	}
	return -1;
}

static int parent_of(int i)
{
	const char *dot = strrchr(schema[i].path, '.');
	if (!dot)
		return -1;
	size_t n = (size_t)(dot - schema[i].path);
	for (int j = 0; j < N_OPTS; j++)
		if (strlen(schema[j].path) == n && !strncmp(schema[j].path, schema[i].path, n))
			return j;
	return -1;
}

/* The K_LIST row whose element struct holds row i's value, or -1 for struct rwd_conf. */
static int scope_of(int i)
{
	for (int p = parent_of(i); p >= 0; p = parent_of(p))
		if (schema[p].kind == K_LIST)
			return p;
	return -1;
}

static void *at(void *base, size_t off)
{
	return (char *)base + off;
}

/* ---- scalar values ---- */

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* The text of a scalar node, or NULL if n is not a scalar or holds a NUL ("\0" escape). */
static const char *scalar(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || strlen((char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* An empty value ("key:" or "key: ~"): accepted as an empty section or list. */
static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"));
}

/* Leading decimal digits of *s (at least one, at most 19 so no overflow); advances *s. */
static bool digits(const char **s, unsigned long long *v)
{
	const char *p = *s;
	*v = 0;
	while (*p >= '0' && *p <= '9') {
		if (p - *s == 19)
			return false;
		*v = *v * 10 + (unsigned long long)(*p++ - '0');
	}
	if (p == *s)
		return false;
	*s = p;
	return true;
}

static bool parse_duration(const char *s, unsigned long long *ms)
{
	static const struct { const char *unit; unsigned long long ms; } units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	unsigned long long v;
	if (!digits(&s, &v))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) == 0) {
			if (v > ~0ULL / units[i].ms)
				return false;
			*ms = v * units[i].ms;
			return true;
		}
	}
	return false;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* Decode NSID text into a new buffer; 0x + hex means raw bytes. Returns length, 0 if invalid. */
static size_t parse_nsid(const char *s, uint8_t **out)
{
	size_t len = strlen(s);
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	size_t n = hex ? (len - 2) / 2 : len;
	if (n == 0 || n > MAX_NSID || (hex && len % 2))
		return 0;
	if (!(*out = malloc(n)))
		return 0;
	for (size_t i = 0; i < n; i++) {
		int hi = hex ? hexval(s[2 + 2 * i]) : 0, lo = hex ? hexval(s[3 + 2 * i]) : 0;
		if (hi < 0 || lo < 0) {
			free(*out);
			*out = NULL;
			return 0;
		}
		(*out)[i] = hex ? (uint8_t)(hi << 4 | lo) : (uint8_t)s[i];
	}
	return n;
}

static int add_listen(struct ctx *c, const struct opt *o, const char *s, int line, void *base)
{
	struct rwd_conf_listen *l = *(struct rwd_conf_listen **)at(base, o->off);
	size_t *n = at(base, o->off2);
	if (rwd_conf_parse_addr(s, 53, &l[*n]) != 0)
		return expected(c, o, line);
	/* Binding the same address twice would fail later with a vaguer message. */
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(l[i].text, l[*n].text))
			return fail(c, line, "%s: %s is listed twice", o->path, l[i].text);
	(*n)++;
	return 0;
}

/*
 * Store scalar text s for leaf row o into base. Also used for defaults
 * (line 0), so a default goes through the very checks a user value does.
 */
static int set_scalar(struct ctx *c, const struct opt *o, const char *s, int line, void *base)
{
	unsigned long long v = 0;
	const char *p = s;

	switch (o->kind) {
	case K_UINT:
	case K_DURATION:
		if (!(o->kind == K_UINT ? digits(&p, &v) && !*p : parse_duration(s, &v)) ||
		    v < o->min || v > o->max)
			return expected(c, o, line);
		/* max fits the field: the schema rows are written that way. */
		switch (o->size) {
		case 1: *(uint8_t *)at(base, o->off) = (uint8_t)v; break;
		case 2: *(uint16_t *)at(base, o->off) = (uint16_t)v; break;
		case 4: *(uint32_t *)at(base, o->off) = (uint32_t)v; break;
		default: *(uint64_t *)at(base, o->off) = v; break;
		}
		return 0;
	case K_LISTEN:
		if (!(*(void **)at(base, o->off) = calloc(1, sizeof(struct rwd_conf_listen))))
			return nomem(c);
		return add_listen(c, o, s, line, base);
	case K_NSID: {
		uint8_t *buf = NULL;
		size_t n = parse_nsid(s, &buf);
		if (n == 0)
			return expected(c, o, line);
		*(uint8_t **)at(base, o->off) = buf;
		*(size_t *)at(base, o->off2) = n;
		return 0;
	}
	case K_DNAME: {
		/* libknot's parser for now; rw_dname_from_str can replace it once in lib. */
		uint8_t wire[KNOT_DNAME_MAXLEN];
		char text[KNOT_DNAME_TXT_MAXLEN + 1];
		if (!knot_dname_from_str(wire, s, sizeof(wire)) ||
		    !knot_dname_to_str(text, wire, sizeof(text)))
			return expected(c, o, line);
		if (!(*(char **)at(base, o->off) = strdup(text)))
			return nomem(c);
		knot_dname_to_lower(wire);
		memcpy(at(base, o->off2), wire, knot_dname_size(wire));
		return 0;
	}
	case K_PATH: {
		char *path;
		if (!*s)
			return expected(c, o, line);
		if (s[0] == '/' || !c->base_dir || !*c->base_dir)
			path = strdup(s);
		else if (asprintf(&path, "%s%s%s", c->base_dir,
		                  c->base_dir[strlen(c->base_dir) - 1] == '/' ? "" : "/", s) < 0)
			path = NULL;
		if (!path)
			return nomem(c);
		*(char **)at(base, o->off) = path;
		return 0;
	}
	case K_SECTION:
	case K_LIST:
		break;
	}
	return expected(c, o, line);
}

/* ---- the walker ---- */

static int parse_map(struct ctx *c, int parent, yaml_node_t *map, void *base);

/* Defaults and required keys for every row filled into base (scope: a K_LIST row or -1). */
static int finish(struct ctx *c, int scope, void *base, int line)
{
	for (int i = 0; i < N_OPTS; i++) {
		const struct opt *o = &schema[i];
		if (c->seen[i] || scope_of(i) != scope || o->kind == K_SECTION || o->kind == K_LIST)
			continue;
		if (o->def) {
			int rc = set_scalar(c, o, o->def, 0, base);
			if (rc)
				return rc;
		} else if (o->required) {
			int p = parent_of(i);
			return fail(c, line, "missing required key '%s' in %s",
			            o->path + strlen(schema[p].path) + 1, schema[p].path);
		}
	}
	return 0;
}

static int parse_list(struct ctx *c, int i, yaml_node_t *v, void *base)
{
	const struct opt *o = &schema[i];
	if (is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return expected(c, o, line_of(v));
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return 0;
	char *elems = calloc(n, o->size);
	if (!elems)
		return nomem(c);
	/* Attach first: on error rwd_conf_free() cleans up the zeroed rest too. */
	*(void **)at(base, o->off) = elems;
	*(size_t *)at(base, o->off2) = n;
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, items[k]);
		void *elem = elems + k * o->size;
		if (e->type != YAML_MAPPING_NODE)
			return expected(c, o, line_of(e));
		*(int *)at(elem, o->line_off) = line_of(e);
		for (int j = 0; j < N_OPTS; j++)
			if (scope_of(j) == i)
				c->seen[j] = 0;
		int rc = parse_map(c, i, e, elem);
		if (!rc)
			rc = finish(c, i, elem, line_of(e));
		if (rc)
			return rc;
	}
	return o->check ? o->check(c, o, base) : 0;
}

static int parse_listen(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base)
{
	if (v->type != YAML_SEQUENCE_NODE) {
		const char *s = scalar(v);
		return s ? set_scalar(c, o, s, line_of(v), base) : expected(c, o, line_of(v));
	}
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return expected(c, o, line_of(v));
	if (n > MAX_LISTEN)
		return fail(c, line_of(v), "%s: more than %d addresses", o->path, MAX_LISTEN);
	if (!(*(void **)at(base, o->off) = calloc(n, sizeof(struct rwd_conf_listen))))
		return nomem(c);
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, items[k]);
		const char *s = scalar(e);
		int rc = s ? add_listen(c, o, s, line_of(e), base) : expected(c, o, line_of(e));
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_value(struct ctx *c, int i, yaml_node_t *v, void *base)
{
	const struct opt *o = &schema[i];
	const char *s;
	switch (o->kind) {
	case K_SECTION:
		return parse_map(c, i, v, base);
	case K_LIST:
		return parse_list(c, i, v, base);
	case K_LISTEN:
		return parse_listen(c, o, v, base);
	default:
		s = scalar(v);
		return s ? set_scalar(c, o, s, line_of(v), base) : expected(c, o, line_of(v));
	}
}

/* A mapping for row parent (-1: the whole file): each key must be a row under it. */
static int parse_map(struct ctx *c, int parent, yaml_node_t *map, void *base)
{
	const char *where = parent < 0 ? "the top level" : schema[parent].path;
	char buf[68];

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return parent < 0 ? fail(c, line_of(map), "the top level must be a mapping")
		                  : expected(c, &schema[parent], line_of(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = scalar(k);
		if (!key)
			return fail(c, line_of(k), "keys must be plain names (in %s)", where);
		int i = find_child(parent, key);
		if (i < 0)
			return fail(c, line_of(k), "unknown key '%s' in %s", show(key, buf), where);
		if (c->seen[i])
			return fail(c, line_of(k), "duplicate key '%s' in %s (first on line %d)",
			            key, where, c->seen[i]);
		c->seen[i] = line_of(k);
		int rc = parse_value(c, i, v, base);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- checks across values ---- */

static int cmp_zone(const void *a, const void *b)
{
	const struct rwd_conf_zone *x = *(const struct rwd_conf_zone *const *)a;
	const struct rwd_conf_zone *y = *(const struct rwd_conf_zone *const *)b;
	int d = memcmp(x->dname, y->dname, sizeof(x->dname));
	return d ? d : (x > y) - (x < y);  /* ties in file order */
}

/* Zone names are unique: sort (n log n, configs can list many zones), then look at neighbours. */
static int check_zones(struct ctx *c, const struct opt *o, void *base)
{
	struct rwd_conf *conf = base;
	const struct rwd_conf_zone **v = malloc(conf->n_zones * sizeof(*v));
	const struct rwd_conf_zone *dup = NULL, *first = NULL;
	if (!v)
		return nomem(c);
	for (size_t i = 0; i < conf->n_zones; i++)
		v[i] = &conf->zones[i];
	qsort(v, conf->n_zones, sizeof(*v), cmp_zone);
	/* In each run of equal names, v[start] is the first in the file and the
	 * next one its first repeat; report the repeat that comes first in the file. */
	for (size_t i = 1, start = 0; i < conf->n_zones; i++) {
		if (memcmp(v[start]->dname, v[i]->dname, sizeof(v[i]->dname)))
			start = i;
		else if (i == start + 1 && (!dup || v[i] < dup))
			dup = v[i], first = v[start];
	}
	free(v);
	if (dup)
		return fail(c, dup->line, "duplicate zone '%s' (first on line %d)", dup->name, first->line);
	return 0;
}

/* ---- entry points ---- */

static int yaml_error(struct ctx *c, const yaml_parser_t *p, const char *data, size_t len)
{
	int line = (int)p->problem_mark.line + 1;
	if (p->error == YAML_MEMORY_ERROR)
		return nomem(c);
	if (p->error == YAML_READER_ERROR) {  /* bad encoding: only a byte offset is known */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += data[i] == '\n';
	}
	return fail(c, line, "%s", p->problem ? p->problem : "invalid YAML");
}

int rwd_conf_load_buf(const char *data, size_t len, const char *name, const char *base_dir,
                      struct rwd_conf **out, char err[RWD_CONF_ERRLEN])
{
	struct ctx c = { .file = name, .base_dir = base_dir, .err = err };
	struct rwd_conf *conf = calloc(1, sizeof(*conf));
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (!conf || !(conf->path = strdup(name))) {
		free(conf);
		return nomem(&c);
	}
	if (!yaml_parser_initialize(&parser)) {
		rwd_conf_free(conf);
		return nomem(&c);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(len ? data : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_error(&c, &parser, data, len);
		goto done;
	}
	/* No root node: the stream holds no document at all, all defaults then. */
	c.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	rc = root ? parse_map(&c, -1, root, conf) : 0;
	if (!rc)
		rc = finish(&c, -1, conf, 1);
	yaml_document_delete(&doc);
	if (!rc && root) {
		/* Loading the rest also reports syntax errors after a first document. */
		if (!yaml_parser_load(&parser, &doc)) {
			rc = yaml_error(&c, &parser, data, len);
		} else {
			if (yaml_document_get_root_node(&doc))
				rc = fail(&c, (int)doc.start_mark.line + 1, "only one YAML document is allowed");
			yaml_document_delete(&doc);
		}
	}
done:
	yaml_parser_delete(&parser);
	if (rc) {
		rwd_conf_free(conf);
		return rc;
	}
	*out = conf;
	return 0;
}

int rwd_conf_load(const char *path, struct rwd_conf **out, char err[RWD_CONF_ERRLEN])
{
	FILE *f = fopen(path, "rb");
	char *data = NULL, *dir = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	if (!f) {
		snprintf(err, RWD_CONF_ERRLEN, "%s: cannot open: %s", path, strerror(errno));
		return RW_EIO;
	}
	for (;;) {
		if (len == cap) {
			char *p = realloc(data, cap = cap ? 2 * cap : 65536);
			if (!p) {
				snprintf(err, RWD_CONF_ERRLEN, "%s: out of memory", path);
				rc = RW_ENOMEM;
				goto done;
			}
			data = p;
		}
		size_t n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, RWD_CONF_ERRLEN, "%s: cannot read: %s", path, strerror(errno));
		rc = RW_EIO;
		goto done;
	}
	const char *slash = strrchr(path, '/');
	if (slash && !(dir = strndup(path, slash == path ? 1 : (size_t)(slash - path)))) {
		snprintf(err, RWD_CONF_ERRLEN, "%s: out of memory", path);
		rc = RW_ENOMEM;
		goto done;
	}
	rc = rwd_conf_load_buf(data, len, path, dir, out, err);
done:
	fclose(f);
	free(data);
	free(dir);
	return rc;
}

void rwd_conf_free(struct rwd_conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n_zones; i++) {
		free(conf->zones[i].name);
		free(conf->zones[i].file);
	}
	free(conf->zones);
	free(conf->listen);
	free(conf->nsid);
	free(conf->path);
	free(conf);
}

int rwd_conf_parse_addr(const char *text, uint16_t default_port, struct rwd_conf_listen *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *port = NULL, *colon = strchr(text, ':');
	size_t hlen;
	bool v6;
	unsigned long long p = default_port;

	if (text[0] == '[') {                    /* [ADDR6] or [ADDR6]:PORT */
		const char *end = strchr(text, ']');
		if (!end || (end[1] && end[1] != ':'))
			return RW_EINVAL;
		text++;
		hlen = (size_t)(end - text);
		port = end[1] ? end + 2 : NULL;
		v6 = true;
	} else if (colon && !strchr(colon + 1, ':')) {  /* one colon: ADDR4:PORT */
		hlen = (size_t)(colon - text);
		port = colon + 1;
		v6 = false;
	} else {                                 /* bare ADDR4, or bare ADDR6 (2+ colons) */
		hlen = strlen(text);
		v6 = colon != NULL;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return RW_EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (port && (!digits(&port, &p) || *port || p == 0 || p > 65535))
		return RW_EINVAL;

	memset(out, 0, sizeof(*out));
	if (v6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&out->addr;
		if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
			return RW_EINVAL;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons((uint16_t)p);
		out->addr_len = sizeof(*sa);
		inet_ntop(AF_INET6, &sa->sin6_addr, host, sizeof(host));
		snprintf(out->text, sizeof(out->text), "[%s]:%llu", host, p);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&out->addr;
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return RW_EINVAL;
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)p);
		out->addr_len = sizeof(*sa);
		inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
		snprintf(out->text, sizeof(out->text), "%s:%llu", host, p);
	}
	return 0;
}

void rwd_conf_doc(FILE *out)
{
	fprintf(out, "| Option | Type | Default | Description |\n|---|---|---|---|\n");
	for (int i = 0; i < N_OPTS; i++) {
		const struct opt *o = &schema[i];
		char buf[128];
		fprintf(out, "| `%s` | %s | ", o->path, describe(o, buf));
		if (o->def)
			fprintf(out, "`%s`", o->def);
		else if (o->required)
			fprintf(out, "required");
		else if (o->kind != K_SECTION && o->kind != K_LIST)
			fprintf(out, "unset");
		fprintf(out, " | %s |\n", o->doc);
	}
}
