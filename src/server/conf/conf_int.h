/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the configuration loader: the schema row type, the walker's state,
 * and what conf.c (the walker and the generic value kinds) and traffic.c
 * (policies, the latency table, checks across the traffic sections) share.
 * Not for use outside src/server/conf/.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "lib/arena.h"
#include "server/conf/conf.h"
#include "server/steer/model.h"

enum kind {
	K_SECTION,  /* a mapping of further rows ("server") */
	K_LIST,     /* a sequence of mappings, one struct element each ("zones") */
	K_MAP,      /* a mapping of names to mappings, one struct element each ("endpoints") */
	K_LISTFILE, /* a file path; the file holds a K_LIST ("geoip.networks") */
	K_UINT,     /* unsigned integer in min..max */
	K_DURATION, /* "500ms", "10s", "2m", "1h" or bare seconds; stored in ms, min..max */
	K_SIZE,     /* bytes: "4096", "64k", "512M", "4G", "1T" (powers of 1024); uint64_t, min..max */
	K_LISTEN,   /* one address or a list of them */
	K_NSID,     /* text, or 0x + hex for raw bytes */
	K_DNAME,    /* domain name, stored as text (off) and lowercased wire (off2) */
	K_WIRENAME, /* domain name, lowercased wire only (off), its length as uint8_t (off2 or NONE) */
	K_PATH,     /* file path, joined to the config's folder */
	K_FILE,     /* the same, and the file must be readable now */
	K_LATENCY,  /* file path of the latency table (CSV, traffic.c) */
	K_BOOL,     /* true or false, stored as bool */
	K_ENUM,     /* one of choices[], stored as int (the index) */
	K_STRING,   /* text without control characters, 1..1024 bytes */
	K_FLOAT,    /* decimal number in fmin..fmax, stored as double */
	K_REF,      /* the name of an entry of the K_MAP row `ref`, stored as a pointer to it */
	K_STATUS,   /* HTTP status or a list of them: uint16_t[RWD_CHECK_MAX_STATUS] + unsigned count */
	K_QTYPE,    /* RR type mnemonic, stored as uint16_t */
	K_RCODE,    /* rcode mnemonic, stored as int */
	K_ADDRS,    /* one IP address or a list of them: struct rwd_endpoint_addr[] + unsigned count */
	K_PREFIX,   /* CIDR prefix: struct rw_addr (off) + uint8_t length (off2) */
	K_CODE,     /* geolocation code of level min (enum rwd_geo_level), into char[size] */
	K_POLICY,   /* a policy tree (traffic.c), stored as struct rwd_policy * */
	K_ACLS,     /* the `acls:` table (acls.c): rwd_conf_acl[] (off) + count (off2) */
	K_ACL,      /* prefixes, addresses, ACL names, any, none (acls.c): struct rwd_acl (off) */
	K_VIEW_TRAFFIC, /* a view's traffic names: read with the model, like `traffic` (traffic.c) */
	K_BASE64,   /* base64 text (RFC 4648), decoded: uint8_t * (off) + size_t length (off2) */
	K_KEYREF,   /* the domain name of a tsig_keys entry: const struct rwd_conf_tsig_key * (off) */
	K_SOCKADDR, /* one address, port 53 unless given: struct rw_sockaddr (off) */
};

/* "No such field" for off2 / line_off. */
#define NONE ((size_t)-1)

struct ctx;

struct opt {
	const char *path;   /* "section.key"; the parent row is the part before the last dot */
	enum kind kind;
	size_t off;         /* the value, in the struct being filled: struct rwd_conf, struct
	                     * rwd_model (rows of model sections), or the element struct for rows
	                     * under a K_LIST, K_MAP or K_LISTFILE */
	size_t off2;        /* second field: counts (K_LISTEN, K_LIST, K_MAP, K_LISTFILE, K_ADDRS,
	                     * K_STATUS), K_NSID length, K_DNAME wire, K_WIRENAME and K_PREFIX length */
	size_t cnt_size;    /* width of a count at off2: 0 = size_t, else sizeof the field */
	size_t size;        /* K_UINT/K_DURATION/K_CODE: field width; K_LIST/K_MAP: element size */
	size_t line_off;    /* K_LIST/K_MAP: the element's `int line` (NONE: none) */
	size_t key_off;     /* K_MAP: where the entry's name goes: char * or, with dname_keys, wire */
	size_t key_off2;    /* K_MAP with dname_keys: the uint8_t name length */
	bool dname_keys;    /* K_MAP: names are domain names, not plain names */
	const char *noun;   /* K_MAP: one entry, for messages ("endpoint") */
	const char *ref;    /* K_REF: path of the K_MAP row whose entries are referred to */
	const char *const *choices;  /* K_ENUM: NULL-terminated */
	const char *shorthand;       /* K_LIST: an item may be a scalar, the value of this key */
	bool early;                  /* top-level rows read before all others (acls, tsig_keys),
	                              * so that any option may name their entries */
	unsigned long long min, max;
	double fmin, fmax;  /* K_FLOAT */
	const char *def;    /* default, written as in the YAML file; NULL = none */
	const char *def_doc;/* the Default column when def is NULL (a default set by a check) */
	bool required;
	bool model;         /* top-level rows: a section of the traffic model (struct rwd_model),
	                     * read after all other sections, in table order */
	/* Checks that need more than one value: after the row is parsed ... */
	int (*check)(struct ctx *c, const struct opt *o, void *base);
	/* ... and, for K_LIST/K_MAP/K_LISTFILE, after each element (line: the element's). */
	int (*elem_check)(struct ctx *c, const struct opt *o, void *elem, int line);
	const char *doc;
};

#define MAX_OPTS 256

/* A sortable key with its line: duplicate detection across many entries. */
struct keyline {
	uint8_t key[24];
	int line;
	size_t pos;         /* the entry's index, for the message */
};

/* Per YAML node of the config, for policies shared through aliases (traffic.c). */
struct policy_memo {
	struct rwd_policy *p;
	uint8_t height;
	uint8_t state;      /* 0 not seen, 1 being read (a loop), 2 done */
};

/*
 * Overlays (overlay.c) are copied into the config's YAML document; their
 * nodes get line numbers past the end of the file, one range per overlay,
 * so that cf_fail() can name the overlay's origin and its own line instead.
 */
struct cf_origin {
	int first;              /* the line number of the overlay's line 1 */
	const char *name;       /* rwd_conf_overlay.origin */
};

struct ctx {
	const char *file;       /* FILE in messages */
	const char *base_dir;   /* for relative file paths; NULL = keep as written */
	yaml_document_t *doc;
	char *err;
	int seen[MAX_OPTS];     /* line where each row was set in the current scope, 0 = not */
	yaml_node_t *deferred[MAX_OPTS];  /* model sections, read after the rest */
	struct rwd_conf *conf;
	struct rwd_model *model;
	struct rw_arena *arena; /* where values go: the model's arena, or NULL for malloc */
	/* K_MAP entries with plain names, sorted by name, for K_REF and duplicates. */
	void **index[MAX_OPTS];
	size_t n_index[MAX_OPTS];
	const int *lines;       /* during a K_LISTFILE row's check: the line of each element */
	/* acls.c: while `acls:` is read, each ACL's value node and expansion state */
	int *acl_nodes;
	unsigned char *acl_state;
	/* traffic.c */
	struct policy_memo *memo;
	size_t n_memo;
	const uint8_t **zones;  /* zone apexes (wire, lowercase), sorted */
	size_t n_zones;
	bool zones_ready;
	const struct rwd_conf_view *view;  /* while a view's traffic is read: that view */
	/* overlay.c: lines > main_lines while c->file is main_file belong to an overlay */
	const char *main_file;
	int main_lines;
	struct cf_origin *origins;  /* sorted by first */
	size_t n_origins;
};

/* conf.c: the walker and helpers */
/*
 * "FILE:LINE: message" into c->err; returns RW_ECONF. LINE 0: "FILE: message".
 * A line of an overlay names the overlay ("PUT /v1/traffic/x:2: ...").
 */
int cf_fail(struct ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A line for the text of a message ("first on line %d"): its number within its own text. */
int cf_ln(struct ctx *c, int line);
int cf_nomem(struct ctx *c);
const char *cf_show(const char *s, char buf[68]);
int cf_expected(struct ctx *c, const struct opt *o, int line);
int cf_line_of(const yaml_node_t *n);
const char *cf_scalar(const yaml_node_t *n);
bool cf_is_null(const yaml_node_t *n);
yaml_node_t *cf_node_at(struct ctx *c, int index);
int cf_row_of(const char *path);
const struct opt *cf_opt(int row);
/* The line where row `path` was set in the current scope, 0 if it was not. */
int cf_was_set(struct ctx *c, const char *path);
/* Zeroed memory in c->arena (or calloc when NULL); NULL on overflow or out of memory. */
void *cf_alloc(struct ctx *c, size_t n, size_t size);
/* Integer with an optional sign, in lo..hi. */
bool cf_parse_int(const char *s, long long lo, long long hi, long long *v);
/* The K_MAP entry of row called name, or NULL. */
void *cf_lookup(struct ctx *c, int row, const char *name);
/* Read a whole regular file (NUL-terminated copy); errors name row o at line of the config. */
int cf_read_whole(struct ctx *c, const struct opt *o, const char *path, int line, char **data,
                  size_t *len);
/*
 * Sort v[0..n) by key, then line; if a key repeats, true with *dup the repeat
 * that comes first in the file and *first the entry it repeats (indices into v).
 */
bool cf_find_dup(struct keyline *v, size_t n, size_t *dup, size_t *first);
/* A duration as written in the file: "1s", "500ms". */
void cf_fmt_ms(unsigned long long ms, char *buf, size_t n);
/* Like cf_show, for file paths: up to 255 characters. */
const char *cf_show_path(const char *s, char buf[260]);

/* Names of K_MAP entries and ACLs: 1..63 letters, digits, '-', '_' or '.'. */
bool cf_good_name(const char *s);

/* acls.c */
int cf_parse_acls(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base);
int cf_parse_acl(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base);
/* One item of a K_ACL value (also its default, written as one item). */
int cf_acl_add(struct ctx *c, const struct opt *o, const char *s, int line, struct rwd_acl *acl);

/* traffic.c */
int cf_parse_policy(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base);
int cf_load_latency(struct ctx *c, const struct opt *o, const char *path, int line, void *base);
int cf_check_health(struct ctx *c, const struct opt *o, void *elem, int line);
int cf_check_endpoint(struct ctx *c, const struct opt *o, void *elem, int line);
int cf_check_network(struct ctx *c, const struct opt *o, void *elem, int line);
int cf_check_networks(struct ctx *c, const struct opt *o, void *base);
int cf_check_srv(struct ctx *c, const struct opt *o, void *elem, int line);
int cf_check_traffic(struct ctx *c, const struct opt *o, void *elem, int line);
/* After every model section: the traffic table (duplicate names) and health slots. */
int cf_finish_model(struct ctx *c);
/* The name table of the own traffic v of view c->view (duplicate names are errors). */
int cf_finish_view_traffic(struct ctx *c, struct rwd_view_traffic *v);
void cf_free_scratch(struct ctx *c);
/* After a successful build with overlays: lines of the model that are not the file's become 0. */
void cf_clear_overlay_lines(struct ctx *c);

/* xfr.c: zone transfer settings */
int cf_check_tsig_key(struct ctx *c, const struct opt *o, void *elem, int line);
int cf_check_tsig_keys(struct ctx *c, const struct opt *o, void *base);
int cf_check_xfr_rule(struct ctx *c, const struct opt *o, void *elem, int line);
/* A zone's transfer settings (zones and views.zones elements). */
int cf_check_zone_xfr(struct ctx *c, const struct opt *o, void *elem, int line);
/* A template (templates: entries). */
int cf_check_template(struct ctx *c, const struct opt *o, void *elem, int line);
/* Each catalog consumer has the template `default` (after the whole file). */
int cf_check_consumers(struct ctx *c, const struct rwd_conf *conf);
/* Catalog members name a catalog producer of the same list (zones[0..n)). */
int cf_check_catalogs(struct ctx *c, const struct opt *o, struct rwd_conf_zone *zones, size_t n);
/* base64 text -> malloc'd bytes; false when malformed or empty. */
bool cf_base64(const char *s, uint8_t **out, size_t *len);
/* What rwd_conf_free frees of a zone and of a key. */
void cf_free_zone(struct rwd_conf_zone *z);
void cf_free_tsig_key(struct rwd_conf_tsig_key *k);

/* conf.c, for export.c: the mnemonic of a response code, or NULL. */
const char *cf_rcode_name(int rcode);

/* overlay.c: apply ov[0..n) to doc, the config's document (len: the file's size). */
int cf_apply_overlays(struct ctx *c, yaml_document_t *doc, size_t len,
                      const struct rwd_conf_overlay *ov, size_t n);
