/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Live changes on top of the configuration file (struct rwd_conf_overlay):
 * each one is applied to the file's YAML document before the walker in
 * conf.c reads it, so a change is parsed, validated and built exactly as
 * the same text written in the file would be.
 *
 * An overlay's JSON is parsed by libyaml (JSON is YAML) into a document of
 * its own, whose nodes are then copied into the config's document. The
 * copies keep their lines, moved past the end of the file into a range of
 * the overlay's own (struct cf_origin), which is how cf_fail() names the
 * overlay and its line.
 *
 * libyaml documents only grow: a node cannot be deleted, but the pairs of a
 * mapping are a plain array. Removing an entry leaves a hole (key 0) that is
 * squeezed out once every overlay has been applied; the nodes it pointed to
 * stay in the document, unreachable, and go with it.
 *
 * A node of the file may be reached from several places (YAML aliases), so
 * a mapping is never changed in place: it is copied first, once, and the
 * copy (a node this file owns) replaces it where the change goes. The root
 * mapping, which nothing else can reach, is the exception.
 *
 * Entries of a section are found through a hash table of their names,
 * normalised as the walker compares them: traffic names as lowercased wire
 * form (so "WWW.example.com" is "www.example.com."), other names as written.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/conf/conf_int.h"

/* One entry of a section's table: a normalised name and its pair. */
struct slot {
	uint8_t *key;               /* NULL: empty */
	size_t len;
	size_t pair;                /* index into the section's pairs */
	bool dead;                  /* the entry was removed */
};

struct section {
	int row;                    /* schema row (a top-level K_MAP) */
	int map;                    /* the section's mapping node (owned) */
	struct slot *slots;
	size_t mask, used;
};

#define MAX_SECTIONS 8

struct state {
	struct ctx *c;
	yaml_document_t *doc;
	uint8_t *owned;             /* per node index: a mapping created here */
	size_t n_owned;
	struct section sec[MAX_SECTIONS];
	size_t n_sec;
	int next_line;              /* first line of the next overlay's range */
	struct cf_origin *origins;  /* one per overlay with JSON, in line order */
	size_t n_origins;
	bool root_ok;               /* node 1 is the root mapping */
};

static yaml_node_t *node(struct state *s, int i)
{
	return yaml_document_get_node(s->doc, i);
}

static int n_nodes(struct state *s)
{
	return (int)(s->doc->nodes.top - s->doc->nodes.start);
}

static const char *scalar_of(struct state *s, int i)
{
	yaml_node_t *n = i > 0 ? node(s, i) : NULL;
	return n ? cf_scalar(n) : NULL;
}

static bool mark_owned(struct state *s, int i)
{
	if ((size_t)i >= s->n_owned) {
		size_t n = s->n_owned ? s->n_owned : 64;
		while (n <= (size_t)i)
			n *= 2;
		uint8_t *p = realloc(s->owned, n);
		if (!p)
			return false;
		memset(p + s->n_owned, 0, n - s->n_owned);
		s->owned = p;
		s->n_owned = n;
	}
	s->owned[i] = 1;
	return true;
}

static bool is_owned(struct state *s, int i)
{
	return (size_t)i < s->n_owned && s->owned[i];
}

static void set_line(yaml_node_t *n, int line)
{
	n->start_mark.line = n->end_mark.line = (size_t)(line - 1);
	n->start_mark.column = n->end_mark.column = 0;
}

/* A new plain scalar (a key) at line; its index, or 0 when out of memory. */
static int new_scalar(struct state *s, const char *text, int line)
{
	int i = yaml_document_add_scalar(s->doc, NULL, (yaml_char_t *)text, (int)strlen(text),
	                                 YAML_PLAIN_SCALAR_STYLE);
	if (i)
		set_line(node(s, i), line);
	return i;
}

/* A new owned mapping with the pairs of from (0: empty), at from's line or line. */
static int new_mapping(struct state *s, int from, int line)
{
	yaml_node_t *f = from ? node(s, from) : NULL;
	int i = yaml_document_add_mapping(s->doc, f ? f->tag : NULL,
	                                  f ? f->data.mapping.style : YAML_FLOW_MAPPING_STYLE);
	if (!i || !mark_owned(s, i))
		return 0;
	yaml_node_t *n = node(s, i);
	if (f) {
		f = node(s, from);   /* adding a node may have moved the array */
		n->start_mark = f->start_mark;
		n->end_mark = f->end_mark;
		size_t np = (size_t)(f->data.mapping.pairs.top - f->data.mapping.pairs.start);
		for (size_t k = 0; k < np; k++) {
			yaml_node_pair_t p = node(s, from)->data.mapping.pairs.start[k];
			if (p.key && !yaml_document_append_mapping_pair(s->doc, i, p.key, p.value))
				return 0;
		}
	} else {
		set_line(n, line);
	}
	return i;
}

/*
 * The value of pair k of mapping map, made a mapping owned here (copied, or
 * new if it was empty) and put in its place. 0 when the value is something
 * else (the walker will say what is wrong with it); -1 when out of memory.
 */
static int own_value(struct state *s, int map, size_t k, int line)
{
	int v = node(s, map)->data.mapping.pairs.start[k].value;
	yaml_node_t *n = node(s, v);
	if (is_owned(s, v))
		return v;
	if (n->type != YAML_MAPPING_NODE && !cf_is_null(n))
		return 0;
	int copy = new_mapping(s, n->type == YAML_MAPPING_NODE ? v : 0, line);
	if (!copy)
		return -1;
	node(s, map)->data.mapping.pairs.start[k].value = copy;
	return copy;
}

/* The first pair of mapping map whose key is the scalar text, or -1. */
static long find_key(struct state *s, int map, const char *text)
{
	yaml_node_t *m = node(s, map);
	size_t np = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	for (size_t k = 0; k < np; k++) {
		const char *t = scalar_of(s, m->data.mapping.pairs.start[k].key);
		if (t && !strcmp(t, text))
			return (long)k;
	}
	return -1;
}

static bool append_pair(struct state *s, int map, int key, int value)
{
	return yaml_document_append_mapping_pair(s->doc, map, key, value) != 0;
}

/* Squeeze the holes out of every mapping created here. */
static void squeeze(struct state *s)
{
	for (int i = 1; i <= n_nodes(s); i++) {
		if (!is_owned(s, i))
			continue;
		yaml_node_t *m = node(s, i);
		yaml_node_pair_t *p = m->data.mapping.pairs.start, *q = p;
		for (; p < m->data.mapping.pairs.top; p++)
			if (p->key)
				*q++ = *p;
		m->data.mapping.pairs.top = q;
	}
}

/* ---- the table of a section's entries ---- */

/*
 * The name an entry is found by, into buf (256 bytes): a traffic name's
 * lowercased wire form, or 0xff and the text when it is not a domain name
 * (no wire form starts with 0xff); other names as written. NULL if the
 * text is too long to be a valid name anyway (it then matches nothing).
 */
static const uint8_t *norm(bool dname, const char *text, uint8_t buf[256], size_t *len)
{
	size_t n = strlen(text);
	if (dname) {
		int w = *text ? rw_dname_from_str(text, NULL, buf) : RW_EMALFORMED;
		if (w > 0) {
			rw_dname_lower(buf);
			*len = (size_t)w;
			return buf;
		}
		if (n > 254)
			return NULL;
		buf[0] = 0xff;
		memcpy(buf + 1, text, n);
		*len = n + 1;
		return buf;
	}
	if (n > 255)
		return NULL;
	memcpy(buf, text, n);
	*len = n;
	return buf;
}

static uint64_t hash(const uint8_t *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 0x100000001b3ULL;
	return h;
}

/* The live slot of key, or NULL. */
static struct slot *lookup(struct section *t, const uint8_t *key, size_t len)
{
	for (size_t i = (size_t)hash(key, len) & t->mask; t->slots[i].key; i = (i + 1) & t->mask) {
		struct slot *e = &t->slots[i];
		if (!e->dead && e->len == len && !memcmp(e->key, key, len))
			return e;
	}
	return NULL;
}

static bool grow(struct section *t)
{
	size_t size = (t->mask + 1) * 2;
	struct slot *v = calloc(size, sizeof(*v));
	if (!v)
		return false;
	for (size_t i = 0; i <= t->mask; i++) {
		struct slot *e = &t->slots[i];
		if (!e->key)
			continue;
		if (e->dead) {
			free(e->key);
			continue;
		}
		size_t k = (size_t)hash(e->key, e->len) & (size - 1);
		while (v[k].key)
			k = (k + 1) & (size - 1);
		v[k] = *e;
	}
	free(t->slots);
	t->slots = v;
	t->mask = size - 1;
	return true;
}

/* Add key -> pair, unless the key is already there (the first entry wins). */
static bool insert(struct section *t, const uint8_t *key, size_t len, size_t pair)
{
	if (lookup(t, key, len))
		return true;
	if (2 * (t->used + 1) > t->mask + 1 && !grow(t))
		return false;
	size_t i = (size_t)hash(key, len) & t->mask;
	while (t->slots[i].key)
		i = (i + 1) & t->mask;
	if (!(t->slots[i].key = malloc(len ? len : 1)))
		return false;
	memcpy(t->slots[i].key, key, len);
	t->slots[i].len = len;
	t->slots[i].pair = pair;
	t->used++;
	return true;
}

/* Index the entries of the section mapping map (row). NULL when out of memory. */
static struct section *index_section(struct state *s, int row, int map)
{
	for (size_t i = 0; i < s->n_sec; i++)
		if (s->sec[i].row == row)
			return &s->sec[i];
	if (s->n_sec == MAX_SECTIONS)
		return NULL;
	struct section *t = &s->sec[s->n_sec++];
	bool dname = cf_opt(row)->dname_keys;
	*t = (struct section){ .row = row, .map = map, .mask = 15 };
	if (!(t->slots = calloc(16, sizeof(*t->slots))))
		return NULL;
	yaml_node_t *m = node(s, map);
	size_t np = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	for (size_t k = 0; k < np; k++) {
		const char *text = scalar_of(s, node(s, map)->data.mapping.pairs.start[k].key);
		uint8_t buf[256];
		size_t len;
		const uint8_t *key = text ? norm(dname, text, buf, &len) : NULL;
		if (key && !insert(t, key, len, k))
			return NULL;
	}
	return t;
}

static void free_sections(struct state *s)
{
	for (size_t i = 0; i < s->n_sec; i++) {
		struct section *t = &s->sec[i];
		for (size_t k = 0; t->slots && k <= t->mask; k++)
			free(t->slots[k].key);
		free(t->slots);
	}
}

/* ---- one overlay ---- */

/* Parse ov->json into jdoc; messages name ov->origin and the JSON's own lines. */
static int parse_json(struct state *s, const struct rwd_conf_overlay *ov, yaml_document_t *jdoc)
{
	struct ctx *c = s->c;
	size_t len = strlen(ov->json);
	yaml_parser_t parser;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return cf_nomem(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)ov->json, len);
	if (!yaml_parser_load(&parser, jdoc)) {
		int line = (int)parser.problem_mark.line + 1;
		if (parser.error == YAML_MEMORY_ERROR) {
			rc = cf_nomem(c);
		} else {
			if (parser.error == YAML_READER_ERROR) {   /* only a byte offset is known */
				line = 1;
				for (size_t i = 0; i < parser.problem_offset && i < len; i++)
					line += ov->json[i] == '\n';
			}
			rc = cf_fail(c, line, "%s", parser.problem ? parser.problem : "invalid YAML");
		}
		yaml_parser_delete(&parser);
		return rc;
	}
	if (!yaml_document_get_root_node(jdoc)) {
		rc = cf_fail(c, 1, "expected a JSON value, found nothing");
	} else {
		yaml_document_t more;
		if (!yaml_parser_load(&parser, &more)) {
			int line = (int)parser.problem_mark.line + 1;
			rc = parser.error == YAML_MEMORY_ERROR ? cf_nomem(c)
			   : cf_fail(c, line, "%s", parser.problem ? parser.problem : "invalid YAML");
		} else {
			if (yaml_document_get_root_node(&more))
				rc = cf_fail(c, (int)more.start_mark.line + 1, "expected one JSON value, "
				             "found more");
			yaml_document_delete(&more);
		}
	}
	if (rc)
		yaml_document_delete(jdoc);
	yaml_parser_delete(&parser);
	return rc;
}

/*
 * Copy every node of jdoc into the config's document, lines moved by shift;
 * the index of the copy of jdoc's root, or 0 when out of memory. Two passes,
 * no recursion: nodes first (so any depth is fine), then the items and
 * pairs between them, which keeps nodes shared through aliases shared.
 */
static int copy_doc(struct state *s, yaml_document_t *jdoc, int shift)
{
	int n = (int)(jdoc->nodes.top - jdoc->nodes.start), base = n_nodes(s);
	for (int i = 1; i <= n; i++) {
		yaml_node_t *src = yaml_document_get_node(jdoc, i);
		int d = 0;
		switch (src->type) {
		case YAML_SCALAR_NODE:
			d = yaml_document_add_scalar(s->doc, src->tag, src->data.scalar.value,
			                             (int)src->data.scalar.length, src->data.scalar.style);
			break;
		case YAML_SEQUENCE_NODE:
			d = yaml_document_add_sequence(s->doc, src->tag, src->data.sequence.style);
			break;
		case YAML_MAPPING_NODE:
			d = yaml_document_add_mapping(s->doc, src->tag, src->data.mapping.style);
			break;
		default:
			break;
		}
		if (d != base + i)
			return 0;
		yaml_node_t *dst = node(s, d);
		dst->start_mark = src->start_mark;
		dst->end_mark = src->end_mark;
		dst->start_mark.line += (size_t)shift;
		dst->end_mark.line += (size_t)shift;
	}
	for (int i = 1; i <= n; i++) {
		yaml_node_t *src = yaml_document_get_node(jdoc, i);
		if (src->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = src->data.sequence.items.start;
			     it < src->data.sequence.items.top; it++)
				if (!yaml_document_append_sequence_item(s->doc, base + i, base + *it))
					return 0;
		} else if (src->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = src->data.mapping.pairs.start;
			     p < src->data.mapping.pairs.top; p++)
				if (!append_pair(s, base + i, base + p->key, base + p->value))
					return 0;
		}
	}
	return base + 1;   /* the root is jdoc's first node */
}

/*
 * The root mapping of the config: a new one for an empty file, or in place
 * of an empty document ("~"). 0 if the root is something else (the walker
 * will say what is wrong with it), -1 when out of memory.
 */
static int root_map(struct state *s)
{
	yaml_node_t *r = yaml_document_get_root_node(s->doc);
	if (r && r->type == YAML_MAPPING_NODE)
		return 1;
	if (r && !cf_is_null(r))
		return 0;
	int m = new_mapping(s, 0, 0);
	if (!m)
		return -1;
	if (m != 1) {
		/* The root is node 1, and nothing else can refer to an empty
		 * document: swap the two, the old root is left unreachable. */
		yaml_node_t t = *node(s, 1);
		*node(s, 1) = *node(s, m);
		*node(s, m) = t;
		s->owned[m] = 0;
		if (!mark_owned(s, 1))
			return -1;
	}
	return 1;
}

static int no_entry(struct ctx *c, const struct opt *o, const char *key)
{
	char buf[68];
	cf_fail(c, 0, "no %s '%s'", o->noun, cf_show(key, buf));
	return RW_ENOENT;
}

static int apply(struct state *s, const struct rwd_conf_overlay *ov)
{
	struct ctx *c = s->c;
	char buf[68];
	int row = ov->section ? cf_row_of(ov->section) : -1;
	const struct opt *o = row >= 0 ? cf_opt(row) : NULL;
	int value = 0, line = 0, rc;

	if (!o || o->kind != K_MAP || strchr(o->path, '.'))
		return cf_fail(c, 0, "cannot change section '%s' (only traffic, endpoints or "
		               "health_checks)", ov->section ? cf_show(ov->section, buf) : "(none)");
	if (!ov->key || (ov->field && !*ov->field))
		return cf_fail(c, 0, "%s", ov->key ? "empty field name" : "no entry name");

	if (ov->json) {
		yaml_document_t jdoc;
		size_t len = strlen(ov->json);
		if ((rc = parse_json(s, ov, &jdoc)))
			return rc;
		/* Lines of this overlay: next_line .. next_line + len (no more lines than bytes). */
		if ((size_t)s->next_line + len + 1 > (size_t)INT_MAX) {
			yaml_document_delete(&jdoc);
			return cf_fail(c, 0, "too much text in the changes");
		}
		line = s->next_line;
		s->next_line += (int)len + 1;
		struct cf_origin *v = realloc(s->origins, (s->n_origins + 1) * sizeof(*v));
		if (!v) {
			yaml_document_delete(&jdoc);
			return cf_nomem(c);
		}
		s->origins = v;
		s->origins[s->n_origins++] = (struct cf_origin){ .first = line, .name = c->file };
		value = copy_doc(s, &jdoc, line - 1);
		yaml_document_delete(&jdoc);
		if (!value)
			return cf_nomem(c);
	}

	/* The section, created when it is missing or empty. */
	int root = 1;
	if (!s->root_ok)
		return 0;   /* the walker will say what is wrong with the root */
	long k = find_key(s, root, o->path);
	int map;
	if (k < 0) {
		if (!ov->json || ov->field)
			return no_entry(c, o, ov->key);
		int key = new_scalar(s, o->path, line);
		if (!key || !(map = new_mapping(s, 0, line)) || !append_pair(s, root, key, map))
			return cf_nomem(c);
	} else if ((map = own_value(s, root, (size_t)k, line)) <= 0) {
		return map < 0 ? cf_nomem(c) : 0;   /* not a mapping: the walker says so */
	}

	struct section *t = index_section(s, row, map);
	uint8_t nbuf[256];
	size_t nlen;
	const uint8_t *name = norm(o->dname_keys, ov->key, nbuf, &nlen);
	struct slot *e = name && t ? lookup(t, name, nlen) : NULL;
	if (!t)
		return cf_nomem(c);

	if (!ov->field) {
		if (!ov->json) {             /* remove the entry */
			if (!e)
				return no_entry(c, o, ov->key);
			node(s, map)->data.mapping.pairs.start[e->pair] = (yaml_node_pair_t){ 0, 0 };
			e->dead = true;
			return 0;
		}
		/* Replace or add it, under a key of the overlay's: messages about the
		 * entry as a whole name the overlay. */
		int key = new_scalar(s, ov->key, line);
		if (!key)
			return cf_nomem(c);
		if (e) {
			node(s, map)->data.mapping.pairs.start[e->pair] = (yaml_node_pair_t){ key, value };
			return 0;
		}
		size_t np = (size_t)(node(s, map)->data.mapping.pairs.top -
		                     node(s, map)->data.mapping.pairs.start);
		if (!append_pair(s, map, key, value) || (name && !insert(t, name, nlen, np)))
			return cf_nomem(c);
		return 0;
	}

	/* One field of an existing entry. */
	if (!e)
		return no_entry(c, o, ov->key);
	int entry = own_value(s, map, e->pair, line);
	if (entry <= 0)
		return entry < 0 ? cf_nomem(c) : 0;
	/* The entry changes because of this overlay: it is the overlay's now. */
	if (ov->json) {
		yaml_node_pair_t *p = &node(s, map)->data.mapping.pairs.start[e->pair];
		int key = new_scalar(s, scalar_of(s, p->key), line);
		if (!key)
			return cf_nomem(c);
		node(s, map)->data.mapping.pairs.start[e->pair].key = key;
	}
	long f = find_key(s, entry, ov->field);
	if (!ov->json) {
		if (f >= 0)
			node(s, entry)->data.mapping.pairs.start[f] = (yaml_node_pair_t){ 0, 0 };
		return 0;
	}
	int fkey = new_scalar(s, ov->field, line);
	if (!fkey)
		return cf_nomem(c);
	if (f >= 0)
		node(s, entry)->data.mapping.pairs.start[f] = (yaml_node_pair_t){ fkey, value };
	else if (!append_pair(s, entry, fkey, value))
		return cf_nomem(c);
	return 0;
}

int cf_apply_overlays(struct ctx *c, yaml_document_t *doc, size_t len,
                      const struct rwd_conf_overlay *ov, size_t n)
{
	struct state s = { .c = c, .doc = doc };
	const char *file = c->file;
	int rc = 0;

	/* The file's lines: no more than its bytes. */
	if (len >= (size_t)INT_MAX / 2)
		return cf_fail(c, 0, "too large to take changes");
	c->main_lines = (int)len + 1;
	s.next_line = c->main_lines + 1;
	/* Before anything is added: an empty document has no node 1 yet. */
	int root = root_map(&s);
	if (root < 0) {
		free(s.owned);
		return cf_nomem(c);
	}
	s.root_ok = root > 0;
	/* Messages while applying (the JSON's syntax, a missing entry) name the
	 * overlay: lines are its own until the walker runs. */
	for (size_t i = 0; i < n && !rc; i++) {
		c->file = ov[i].origin ? ov[i].origin : "(change)";
		rc = apply(&s, &ov[i]);
		c->file = file;
	}
	if (!rc)
		squeeze(&s);
	free_sections(&s);
	free(s.owned);
	c->origins = s.origins;
	c->n_origins = s.n_origins;
	return rc;
}
