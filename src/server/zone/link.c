/*
 * Structure of the name space: every ancestor of a name down from the apex
 * becomes a node (an empty non-terminal when it has no records, RFC 4592
 * 2.2.2), so the query path's closest-encloser search is plain hash lookups;
 * each node learns its parent, the "*" child that synthesises answers below
 * it, and the delegation it sits at or under.
 */
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
static struct rwd_node *cut_of(struct rwd_node *n)
{
	if (n->parent && n->parent->cut)
		return n->parent->cut;
	return (n->flags & RWD_NODE_DELEG) ? n : NULL;
}

/* Cuts are inherited top-down; recursion depth is bounded by 127 labels. */
static void link_cut(struct rwd_node *n)
{
	if (n->flags & RWD_NODE_LINKED)
		return;
	if (n->parent)
		link_cut(n->parent);
	n->cut = cut_of(n);
	n->flags |= RWD_NODE_LINKED;
}

int rwd_zone_link(struct rwd_zone_ctx *c)
{
	struct rwd_zone *z = c->z;
	z->apex->flags |= RWD_NODE_APEX;

	/* Parents, creating ENTs. New nodes are appended, so the loop reaches
	 * them too; it ends because each ENT is one label closer to the apex. */
	for (size_t id = 0; id < z->n_nodes; id++) {
		struct rwd_node *n = c->nodes[id];
		if (n == z->apex)
			continue;
		const uint8_t *pname = n->name + n->name[0] + 1;
		size_t plen = n->name_len - n->name[0] - 1u;
		n->parent = rwd_zone_get_node(c, pname, plen);
		if (n->parent == NULL)
			return RW_ENOMEM;
	}

	for (size_t id = 0; id < z->n_nodes; id++) {
		struct rwd_node *n = c->nodes[id];
		if (rwd_node_rrset(n, RW_TYPE_CNAME))
			n->flags |= RWD_NODE_CNAME;
		if (n != z->apex && rwd_node_rrset(n, RW_TYPE_NS))
			n->flags |= RWD_NODE_DELEG;
		if (n->name[0] == 1 && n->name[1] == '*' && n->parent)
			n->parent->wildcard = n;
	}
	for (size_t id = 0; id < z->n_nodes; id++)
		link_cut(c->nodes[id]);
	return 0;
}
