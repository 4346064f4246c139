/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Structure of the name space: every ancestor of a name down from the apex
 * becomes a node (an empty non-terminal when it has no records, RFC 4592
 * 2.2.2), so the query path's closest-encloser search is plain hash lookups;
 * each node learns its parent, the "*" child that synthesises answers below
 * it, and the delegation it sits at or under. Names below a DNAME must not
 * exist (RFC 6672 2.3), nor a DNAME beside a delegation: both are load
 * errors, as in Knot DNS.
 */
#include <stdlib.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/zone/build.h"

const uint8_t *rwd_soa_serial(const struct rwd_rrset *soa)
{
	const uint8_t *p = soa->rdata + 2;
	p += rw_dname_len(p);            /* MNAME */
	p += rw_dname_len(p);            /* RNAME */
	return p;
}

/* Delegation at or above node, given its parent's is known. */
static struct rwd_node *cut_of(struct rwd_node *n, const struct rwd_node *parent)
{
	if (parent && parent->cut)
		return parent->cut;
	return (n->flags & RWD_NODE_DELEG) ? n : NULL;
}

/* Cuts are inherited top-down; recursion depth is bounded by 127 labels. */
static void link_cut(struct rwd_node **parents, struct rwd_node *n)
{
	if (n->flags & RWD_NODE_LINKED)
		return;
	struct rwd_node *p = parents[n->id];
	if (p)
		link_cut(parents, p);
	n->cut = cut_of(n, p);
	n->flags |= RWD_NODE_LINKED;
}

/* The record of node id that comes first in its file (for error positions). */
static const struct rwd_zone_rec *first_rec(const struct rwd_zone_ctx *c, size_t id, uint16_t type)
{
	const struct rwd_zone_rec *best = NULL;
	for (const struct rwd_zone_rec *r = c->heads[id]; r; r = r->next)
		if ((type == 0 || r->type == type) && (best == NULL || r->line < best->line))
			best = r;
	return best;
}

/*
 * DNAME flags, and what a DNAME forbids: records at any name below it (RFC
 * 6672 2.3: they could never be reached) and NS beside it below the apex
 * (the delegation would hide it). Reported at the offending record.
 */
static void check_dname(struct rwd_zone_ctx *c)
{
	struct rwd_zone *z = c->z;
	bool any = false;
	for (size_t id = 0; id < z->n_nodes; id++) {
		struct rwd_node *n = c->nodes[id];
		if (rwd_node_rrset(n, RW_TYPE_DNAME) == NULL)
			continue;
		n->flags |= RWD_NODE_DNAME;
		any = true;
		if (n->flags & RWD_NODE_DELEG) {
			const struct rwd_zone_rec *r = first_rec(c, id, RW_TYPE_DNAME);
			char name[RW_DNAME_MAXLEN * 4 + 1] = "";
			rw_dname_to_str(n->name, name, sizeof(name));
			rwd_zone_report(c, false, r ? r->file : c->path, r ? r->line : 0,
			                "DNAME beside NS at %s, which is not the zone apex", name);
		}
	}
	for (size_t id = 0; any && id < z->n_nodes; id++) {
		if (c->nodes[id]->n_rrsets == 0)
			continue;
		for (const struct rwd_node *p = c->parents[id]; p; p = c->parents[p->id]) {
			if (p->flags & RWD_NODE_DNAME) {
				const struct rwd_zone_rec *r = first_rec(c, id, 0);
				char name[RW_DNAME_MAXLEN * 4 + 1] = "", dname[RW_DNAME_MAXLEN * 4 + 1] = "";
				rw_dname_to_str(c->nodes[id]->name, name, sizeof(name));
				rw_dname_to_str(p->name, dname, sizeof(dname));
				rwd_zone_report(c, false, r ? r->file : c->path, r ? r->line : 0,
				                "%s is below the DNAME at %s (RFC 6672 2.3)", name, dname);
				break;
			}
		}
	}
}

int rwd_zone_link(struct rwd_zone_ctx *c)
{
	struct rwd_zone *z = c->z;
	z->apex->flags |= RWD_NODE_APEX;

	/* Parents, creating ENTs. New nodes are appended, so the loop reaches
	 * them too; it ends because each ENT is one label closer to the apex.
	 * c->nodes only grows; parents[] follows it. */
	size_t cap = 0;
	for (size_t id = 0; id < z->n_nodes; id++) {
		struct rwd_node *n = c->nodes[id], *p = NULL;
		if (n != z->apex) {
			const uint8_t *pname = n->name + n->name[0] + 1;
			size_t plen = n->name_len - n->name[0] - 1u;
			if ((p = rwd_zone_get_node(c, pname, plen)) == NULL)
				return RW_ENOMEM;
			/* The index learns every child, for patches that must visit a
			 * subtree (a new or changed delegation). */
			if (rwd_deps_add(z->deps, RWD_DEP_CHILD, p->hash, n->name) < 0)
				return RW_ENOMEM;
		}
		if (id >= cap) {
			cap = c->cap_nodes;
			struct rwd_node **np = realloc(c->parents, cap * sizeof(*np));
			if (np == NULL)
				return RW_ENOMEM;
			c->parents = np;
		}
		c->parents[id] = p;
	}

	for (size_t id = 0; id < z->n_nodes; id++) {
		struct rwd_node *n = c->nodes[id];
		if (rwd_node_rrset(n, RW_TYPE_CNAME))
			n->flags |= RWD_NODE_CNAME;
		if (n != z->apex && rwd_node_rrset(n, RW_TYPE_NS))
			n->flags |= RWD_NODE_DELEG;
		if (n->name[0] == 1 && n->name[1] == '*' && c->parents[id])
			c->parents[id]->wildcard = n;
	}
	for (size_t id = 0; id < z->n_nodes; id++)
		link_cut(c->parents, c->nodes[id]);
	check_dname(c);
	return 0;
}
