/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Access lists in the config: the `acls:` table (names -> prefixes) and
 * every option that takes an access list (K_ACL: a list of prefixes,
 * addresses, ACL names, "any" or "none").
 *
 * `acls:` is read before every other section (cf_parse_acls_early), so an
 * option may name an ACL written further down the file. A name inside an
 * ACL is expanded where it stands, so the loaded lists are flat; a loop of
 * names is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "server/conf/conf_int.h"

#define MAX_ACL_ITEMS 65536

static bool reserved(const char *s)
{
	return !strcmp(s, "any") || !strcmp(s, "none");
}

static struct rwd_conf_acl *find_acl(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->conf->n_acls; i++)
		if (!strcmp(c->conf->acls[i].name, name))
			return &c->conf->acls[i];
	return NULL;
}

/* A list of items, or one item written alone (returned; then *n is 1). */
static yaml_node_t *acl_items(yaml_node_t *v, yaml_node_item_t **items, size_t *n)
{
	if (v->type == YAML_SEQUENCE_NODE) {
		*items = v->data.sequence.items.start;
		*n = (size_t)(v->data.sequence.items.top - *items);
		return NULL;
	}
	*items = NULL;
	*n = 1;
	return v;
}

static int add_items(struct ctx *c, const struct opt *o, yaml_node_t *v, struct rwd_acl *acl);

/* While the table is read: expand ACL k of it in place (once). */
static int expand(struct ctx *c, const struct opt *o, size_t k, int line)
{
	char buf[68];
	if (c->acl_state[k] == 2)
		return 0;
	if (c->acl_state[k] == 1)
		return cf_fail(c, line, "acls: '%s' includes itself", cf_show(c->conf->acls[k].name, buf));
	c->acl_state[k] = 1;
	int rc = add_items(c, o, cf_node_at(c, c->acl_nodes[k]), &c->conf->acls[k].acl);
	c->acl_state[k] = 2;
	return rc;
}

static int add_name(struct ctx *c, const struct opt *o, const char *s, int line,
                    struct rwd_acl *acl)
{
	char buf[68];
	if (!strcmp(s, "any")) {
		acl->any = true;
		return 0;
	}
	if (!strcmp(s, "none"))
		return 0;
	struct rwd_conf_acl *ref = find_acl(c, s);
	if (!ref)
		return cf_fail(c, line, "%s: '%s' is neither an address, a prefix nor an ACL name",
		               o->path, cf_show(s, buf));
	if (c->acl_state) {
		int rc = expand(c, o, (size_t)(ref - c->conf->acls), line);
		if (rc)
			return rc;
	}
	return rwd_acl_merge(acl, &ref->acl) ? cf_nomem(c) : 0;
}

static int add_items(struct ctx *c, const struct opt *o, yaml_node_t *v, struct rwd_acl *acl)
{
	yaml_node_item_t *items;
	size_t n;
	yaml_node_t *single = acl_items(v, &items, &n);
	if (!single && n == 0)
		return cf_expected(c, o, cf_line_of(v));
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *e = single ? single : cf_node_at(c, items[k]);
		const char *s = cf_scalar(e);
		int rc = s ? cf_acl_add(c, o, s, cf_line_of(e), acl) : cf_expected(c, o, cf_line_of(e));
		if (rc)
			return rc;
	}
	return 0;
}

int cf_acl_add(struct ctx *c, const struct opt *o, const char *s, int line, struct rwd_acl *acl)
{
	char buf[68];
	if (!*s)
		return cf_expected(c, o, line);
	if (acl->n >= MAX_ACL_ITEMS)
		return cf_fail(c, line, "%s: more than %d prefixes", o->path, MAX_ACL_ITEMS);
	int rc = rwd_acl_add_text(acl, s);
	if (rc == RW_EINVAL)
		return cf_fail(c, line, "%s: %s has host bits set", o->path, cf_show(s, buf));
	if (rc == RW_ENOMEM)
		return cf_nomem(c);
	return rc ? add_name(c, o, s, line, acl) : 0;
}

int cf_parse_acl(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base)
{
	struct rwd_acl *acl = (struct rwd_acl *)((char *)base + o->off);
	rwd_acl_free(acl);
	return add_items(c, o, v, acl);
}

/* The `acls:` row: names first (so they may refer to each other), then contents. */
int cf_parse_acls(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base)
{
	struct rwd_conf *conf = base;
	char buf[68];
	if (cf_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return cf_expected(c, o, cf_line_of(v));
	yaml_node_pair_t *pairs = v->data.mapping.pairs.start;
	size_t n = (size_t)(v->data.mapping.pairs.top - pairs);
	if (n == 0)
		return 0;
	if (!(conf->acls = calloc(n, sizeof(*conf->acls))) ||
	    !(c->acl_nodes = calloc(n, sizeof(*c->acl_nodes))) ||
	    !(c->acl_state = calloc(n, 1)))
		return cf_nomem(c);
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *key = cf_node_at(c, pairs[k].key);
		const char *s = cf_scalar(key);
		int line = cf_line_of(key);
		if (!s || !cf_good_name(s) || reserved(s))
			return cf_fail(c, line, "acls: bad name '%s' (1..63 letters, digits, '-', '_' or "
			               "'.'; not 'any' or 'none')", s ? cf_show(s, buf) : "");
		struct rwd_conf_acl *dup = find_acl(c, s);
		if (dup)
			return cf_fail(c, line, "duplicate ACL '%s' (first on line %d)", cf_show(s, buf),
			               cf_ln(c, dup->line));
		if (!(conf->acls[k].name = strdup(s)))
			return cf_nomem(c);
		conf->acls[k].line = line;
		c->acl_nodes[k] = pairs[k].value;
		conf->n_acls = k + 1;
	}
	int rc = 0;
	for (size_t k = 0; k < n && !rc; k++)
		rc = expand(c, o, k, conf->acls[k].line);
	return rc;
}
