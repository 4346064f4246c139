/*
 * Structure of the name space: every ancestor of a name down from the apex
 * becomes a node (an empty non-terminal when it has no records, RFC 4592
 * 2.2.2), so the query path's closest-encloser search is plain hash lookups;
 * each node learns its parent, the "*" child that synthesises answers below
 * it, and the delegation it sits at or under.
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
	return 0;
}
