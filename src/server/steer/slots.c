/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stable health slot numbers across model changes.
 *
 * The health state is an array indexed by slot, published on its own; a
 * reload publishes a new model. For a moment the query path can pair the
 * new model with the old state (or the reverse). That is harmless only if a
 * slot number means the same endpoint address in both, so a new model takes
 * over the numbers of the old one for every (endpoint, address) they share,
 * and new slots get numbers the old model never used (a slot beyond the
 * state's size reads as up: not yet checked).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "server/steer/model.h"

struct key {
	const char *endpoint;
	const struct rw_addr *addr;   /* NULL: the endpoint's CNAME slot */
	uint32_t slot;
};

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(x->endpoint, y->endpoint);
	if (c != 0)
		return c;
	if (!x->addr || !y->addr)
		return (x->addr != NULL) - (y->addr != NULL);
	if (x->addr->family != y->addr->family)
		return x->addr->family < y->addr->family ? -1 : 1;
	return memcmp(x->addr->bytes, y->addr->bytes, 16);
}

/* Every slot of m as a key; returns the count or -1. */
static ssize_t keys_of(const struct rwd_model *m, struct key **out)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_endpoints; i++)
		n += m->endpoints[i].cname_len ? 1 : m->endpoints[i].n_addrs;
	struct key *k = calloc(n ? n : 1, sizeof(*k));
	if (k == NULL)
		return -1;
	n = 0;
	for (size_t i = 0; i < m->n_endpoints; i++) {
		const struct rwd_endpoint *e = &m->endpoints[i];
		if (e->cname_len) {
			k[n++] = (struct key){ e->name, NULL, e->slot };
			continue;
		}
		for (unsigned a = 0; a < e->n_addrs; a++)
			k[n++] = (struct key){ e->name, &e->addrs[a].addr, e->addrs[a].slot };
	}
	*out = k;
	return (ssize_t)n;
}

int rwd_model_keep_slots(struct rwd_model *m, const struct rwd_model *old)
{
	struct key *ok = NULL;
	ssize_t n_old = old ? keys_of(old, &ok) : 0;
	if (n_old < 0)
		return RW_ENOMEM;
	if (n_old > 0)
		qsort(ok, (size_t)n_old, sizeof(*ok), cmp_key);
	/* Fresh numbers start past everything the old model used. When holes
	 * from removed endpoints outnumber live slots, renumber from zero: a
	 * moment of stale health is better than state arrays that only grow. */
	uint32_t next = old ? old->n_slots : 0;
	bool compact = old && (size_t)n_old * 2 < old->n_slots;
	if (compact)
		next = 0;
	for (size_t i = 0; i < m->n_endpoints; i++) {
		struct rwd_endpoint *e = &m->endpoints[i];
		unsigned n = e->cname_len ? 1 : e->n_addrs;
		for (unsigned a = 0; a < n; a++) {
			uint32_t *slot = e->cname_len ? &e->slot : &e->addrs[a].slot;
			struct key want = { e->name, e->cname_len ? NULL : &e->addrs[a].addr, 0 };
			const struct key *hit = compact || n_old == 0 ? NULL :
				bsearch(&want, ok, (size_t)n_old, sizeof(*ok), cmp_key);
			*slot = hit ? hit->slot : next++;
		}
	}
	m->n_slots = next;
	for (size_t i = 0; i < m->n_endpoints; i++) {   /* kept numbers may exceed next */
		const struct rwd_endpoint *e = &m->endpoints[i];
		if (e->cname_len && e->slot >= m->n_slots)
			m->n_slots = e->slot + 1;
		for (unsigned a = 0; !e->cname_len && a < e->n_addrs; a++)
			if (e->addrs[a].slot >= m->n_slots)
				m->n_slots = e->addrs[a].slot + 1;
	}
	free(ok);
	return 0;
}
