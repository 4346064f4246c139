/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for incremental zone changes (src/server/zone/patch.c): random
 * sequences of RRset changes are applied to a test zone both ways, with
 * rwd_zone_patch() on the previous version and with a full
 * rwd_zone_load_opts() of the file and every override so far, and the two
 * zones must be the same: the same set of nodes, and at every node the same
 * RRsets, flags, cut, wildcard and answer bytes (after the query path's
 * serial substitution). Old versions are freed as soon as the next one
 * exists, so under AddressSanitizer sharing across versions is checked too.
 * Both zones must also obey the existence rule on their own (a name is a
 * node iff it owns records or a name below it does), and removing a name's
 * last RRset is checked through the query pipeline both ways: NXDOMAIN,
 * NODATA for an empty non-terminal, wildcards matching again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/snapshot/snapshot.h"
#include "server/query/query.h"
#include "server/zone/zone.h"
#include "server/zone/zonedb.h"

#include "testzone.h"

static const char ZONE[] =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@        SOA  ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
	"@        NS   ns1\n"
	"@        NS   ns2.example.net.\n"
	"@        A    192.0.2.1\n"
	"@        MX   10 mail\n"
	"@        TXT  \"apex\"\n"
	"ns1      A    192.0.2.53\n"
	"ns1      AAAA 2001:db8::53\n"
	"mail     A    192.0.2.25\n"
	"www      A    192.0.2.80\n"
	"www      AAAA 2001:db8::80\n"
	"www      MX   10 mail\n"
	"www      MX   20 mx.wild\n"
	"alias    CNAME www\n"
	"alias2   CNAME alias\n"
	"loop1    CNAME loop2\n"
	"loop2    CNAME loop1\n"
	"dangle   CNAME nothing\n"
	"tosub    CNAME host.sub\n"
	"towild   CNAME foo.wild\n"
	"host.a.b.c A  192.0.2.9\n"
	"srv      SRV  0 5 443 www\n"
	"_sip._tcp SRV 0 5 5060 mail\n"
	"*.wild   A    192.0.2.99\n"
	"*.wild   MX   10 mail\n"
	"exists.wild TXT \"x\"\n"
	"*.cw     CNAME www\n"
	"sub      NS   ns.sub\n"
	"sub      NS   ns1\n"
	"sub      DS   12345 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"ns.sub   A    192.0.2.200\n"
	"deep.x.sub A  192.0.2.201\n"
	"*.sub    A    192.0.2.202\n"
	"other    NS   ns.other\n"
	"ns.other A    192.0.2.210\n";

/* Names the random changes pick from: existing, new, under cuts, wildcards. */
static const char *NAMES[] = {
	"example.com.", "ns1.example.com.", "mail.example.com.", "www.example.com.",
	"alias.example.com.", "alias2.example.com.", "loop1.example.com.", "dangle.example.com.",
	"nothing.example.com.", "tosub.example.com.", "towild.example.com.",
	"host.a.b.c.example.com.", "b.c.example.com.", "c.example.com.", "srv.example.com.",
	"*.wild.example.com.", "foo.wild.example.com.", "exists.wild.example.com.",
	"wild.example.com.", "*.cw.example.com.", "x.cw.example.com.",
	"sub.example.com.", "ns.sub.example.com.", "host.sub.example.com.",
	"deep.x.sub.example.com.", "x.sub.example.com.", "*.sub.example.com.",
	"other.example.com.", "ns.other.example.com.", "new1.example.com.",
	"new2.deep.ent.example.com.", "deep.ent.example.com.", "*.example.com.",
	"*.new.example.com.", "q.new.example.com.", "del.example.com.", "ns.del.example.com.",
	"g.ns.del.example.com.", "mx.wild.example.com.", "_sip._tcp.example.com.",
	"cname.example.com.", "a.example.com.", "z.a.example.com.",
};
#define N_NAMES (sizeof(NAMES) / sizeof(NAMES[0]))

static const uint16_t TYPES[] = { RW_TYPE_A, RW_TYPE_AAAA, RW_TYPE_NS, RW_TYPE_MX,
                                  RW_TYPE_CNAME, RW_TYPE_TXT, RW_TYPE_SVCB, RW_TYPE_DNAME };
#define N_TYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33) % n;
}

/* An override with its own storage. */
struct ov {
	struct rwd_zone_override o;
	uint8_t rdata[512];
};

static void make_change(struct ov *c)
{
	memset(c, 0, sizeof(*c));
	tz_lname(NAMES[rnd(N_NAMES)], c->o.owner);
	c->o.type = TYPES[rnd(N_TYPES)];
	if (c->o.type == RW_TYPE_DNAME && rnd(32))
		c->o.type = RW_TYPE_TXT;      /* rare: each one sends the walk to a full load */
	c->o.ttl = 60 + rnd(3) * 60;
	unsigned count = rnd(4);          /* 0: the RRset is removed */
	if ((c->o.type == RW_TYPE_CNAME || c->o.type == RW_TYPE_DNAME) && count > 1)
		count = 1;
	uint8_t *p = c->rdata;
	for (unsigned i = 0; i < count; i++) {
		uint8_t *len = p;
		p += 2;
		uint8_t target[RW_DNAME_MAXLEN];
		int tl = tz_name(NAMES[rnd(N_NAMES)], target);
		switch (c->o.type) {
		case RW_TYPE_A:
			p[0] = 192; p[1] = 0; p[2] = 2; p[3] = (uint8_t)rnd(4);
			p += 4;
			break;
		case RW_TYPE_AAAA:
			memset(p, 0, 16);
			p[0] = 0x20; p[1] = 0x01; p[15] = (uint8_t)rnd(4);
			p += 16;
			break;
		case RW_TYPE_MX:
			rw_put16(p, (uint16_t)(10 * rnd(3)));
			memcpy(p + 2, target, (size_t)tl);
			p += 2 + tl;
			break;
		case RW_TYPE_SVCB:            /* AliasMode or ServiceMode, a target or "." */
			rw_put16(p, (uint16_t)rnd(2));
			if (rnd(2)) {
				p[2] = 0;
				p += 3;
			} else {
				memcpy(p + 2, target, (size_t)tl);
				p += 2 + tl;
			}
			break;
		case RW_TYPE_TXT:
			p[0] = 3;
			memcpy(p + 1, "t", 1);
			p[2] = (uint8_t)('a' + rnd(3));
			p[3] = 'x';
			p += 4;
			break;
		default:                      /* NS, CNAME, DNAME: a name */
			memcpy(p, target, (size_t)tl);
			p += tl;
		}
		rw_put16(len, (uint16_t)(p - len - 2));
	}
	c->o.count = (uint16_t)count;
	c->o.rdata = c->rdata;
}

/*
 * Every RRset of a name removed (but the apex's SOA, which is not patched):
 * the name itself goes unless names below it remain (then an empty
 * non-terminal). For a name that does not exist, one removal of a type it
 * never had.
 */
static size_t make_wipe(const struct rwd_zone *z, struct ov *out, size_t room)
{
	uint8_t owner[RW_DNAME_MAXLEN];
	int len = tz_lname(NAMES[rnd(N_NAMES)], owner);
	const struct rwd_node *n = rwd_zone_find(z, owner, (size_t)len);
	size_t k = 0;
	for (unsigned i = 0; n && i < n->n_rrsets && k < room; i++) {
		if (n->rrsets[i].type == RW_TYPE_SOA)
			continue;
		memset(&out[k], 0, sizeof(out[k]));
		memcpy(out[k].o.owner, owner, (size_t)len);
		out[k].o.type = n->rrsets[i].type;
		out[k].o.rdata = out[k].rdata;
		k++;
	}
	if (k == 0 && room > 0) {
		memset(&out[0], 0, sizeof(out[0]));
		memcpy(out[0].o.owner, owner, (size_t)len);
		out[0].o.type = TYPES[rnd(N_TYPES)];
		out[0].o.rdata = out[0].rdata;
		k = 1;
	}
	return k;
}

/* ---- comparison ---- */

static const char *txt(const uint8_t *name);

/*
 * A name exists iff it owns records or a name below it does (RFC 1034 3.1,
 * RFC 8020): every node but the apex has records or a child node, and its
 * parent is a node. Independent of how the zone was built, so a bug both
 * ways share is caught too.
 */
static void names_exist_ok(const struct rwd_zone *z, const char *which)
{
	size_t cap = z->table_mask + 1;
	bool *has_child = calloc(cap, sizeof(*has_child));
	assert_non_null(has_child);
	for (size_t i = 0; i < cap; i++) {
		const struct rwd_node *n = z->table[i];
		if (n == NULL || n == z->apex)
			continue;
		const uint8_t *pname = n->name + n->name[0] + 1;
		const struct rwd_node *p = rwd_zone_find(z, pname, n->name_len - n->name[0] - 1u);
		if (p == NULL)
			fail_msg("%s zone: %s has no parent node", which, txt(n->name));
		size_t j = p->hash & z->table_mask;
		while (z->table[j] != p)
			j = (j + 1) & z->table_mask;
		has_child[j] = true;
	}
	for (size_t i = 0; i < cap; i++) {
		const struct rwd_node *n = z->table[i];
		if (n != NULL && n != z->apex && n->n_rrsets == 0 && !has_child[i])
			fail_msg("%s zone: %s is a node without records or names below it", which,
			         txt(n->name));
	}
	free(has_child);
}

static const char *txt(const uint8_t *name)
{
	static char buf[4][1024];
	static unsigned k;
	char *b = buf[k++ % 4];
	rw_dname_to_str(name, b, 1024);
	return b;
}

/* Answer bytes as the query path sends them: serial written in. */
static void answer_eq(const struct rwd_answer *x, uint32_t xs, const struct rwd_answer *y,
                      uint32_t ys, const uint8_t *owner, const char *what)
{
	if (x == NULL || y == NULL) {
		if (x != y)
			fail_msg("%s %s: answer %s in one zone only", txt(owner), what, x ? "patched" : "full");
		return;
	}
	/* follow points into each zone's own records: compared as a name. */
	struct rwd_answer hx, hy;
	memcpy(&hx, x, sizeof(hx));
	memcpy(&hy, y, sizeof(hy));
	hx.follow = hy.follow = NULL;
	if (memcmp(&hx, &hy, offsetof(struct rwd_answer, tail)) != 0)
		fail_msg("%s %s: answer header differs (len %u/%u, an %u/%u, ar %u/%u)", txt(owner),
		         what, x->len, y->len, x->ancount, y->ancount, x->arcount, y->arcount);
	if ((x->follow == NULL) != (y->follow == NULL) ||
	    (x->follow && !rw_dname_eq(x->follow, y->follow)))
		fail_msg("%s %s: the chain goes on at %s / %s", txt(owner), what,
		         x->follow ? txt(x->follow) : "-", y->follow ? txt(y->follow) : "-");
	size_t n = 2u * (x->n_relocs + x->arcount) + x->len;
	uint8_t a[n], b[n];
	memcpy(a, x->tail, n);
	memcpy(b, y->tail, n);
	size_t at = 2u * (x->n_relocs + x->arcount);
	if (x->serial_at) {
		rw_put32(a + at + x->serial_at - 1, xs);
		rw_put32(b + at + y->serial_at - 1, ys);
	}
	if (memcmp(a, b, n) != 0)
		fail_msg("%s %s: answer bytes differ", txt(owner), what);
}

static void name_eq(const struct rwd_node *x, const struct rwd_node *y, const uint8_t *owner,
                    const char *what)
{
	if ((x == NULL) != (y == NULL) || (x && !rw_dname_eq(x->name, y->name)))
		fail_msg("%s: %s differs (%s vs %s)", txt(owner), what, x ? txt(x->name) : "none",
		         y ? txt(y->name) : "none");
}

static void node_eq(const struct rwd_zone *pz, const struct rwd_node *x,
                    const struct rwd_zone *fz, const struct rwd_node *y)
{
	const uint8_t *o = y->name;
	if ((x->flags & ~RWD_NODE_LINKED) != (y->flags & ~RWD_NODE_LINKED))
		fail_msg("%s: flags %x vs %x", txt(o), x->flags, y->flags);
	if (x->n_rrsets != y->n_rrsets)
		fail_msg("%s: %u vs %u rrsets", txt(o), x->n_rrsets, y->n_rrsets);
	for (unsigned i = 0; i < x->n_rrsets; i++) {
		const struct rwd_rrset *a = &x->rrsets[i], *b = &y->rrsets[i];
		if (a->type != b->type || a->ttl != b->ttl || a->count != b->count)
			fail_msg("%s: rrset %u (type %u/%u ttl %u/%u count %u/%u)", txt(o), i, a->type,
			         b->type, a->ttl, b->ttl, a->count, b->count);
		size_t la = 0, lb = 0;
		RWD_RRSET_FOREACH(a, rd, k) la += 2u + rw_get16(rd);
		RWD_RRSET_FOREACH(b, rd, k) lb += 2u + rw_get16(rd);
		if (la != lb || memcmp(a->rdata, b->rdata, la) != 0)
			fail_msg("%s: rdata of type %u differs", txt(o), a->type);
	}
	name_eq(x->cut, y->cut, o, "cut");
	name_eq(x->wildcard, y->wildcard, o, "wildcard");
	if (x->cut) {
		assert_ptr_equal(rwd_zone_find(pz, x->cut->name, x->cut->name_len), x->cut);
		assert_ptr_equal(rwd_zone_find(fz, y->cut->name, y->cut->name_len), y->cut);
	}
	if (x->wildcard)
		assert_ptr_equal(rwd_zone_find(pz, x->wildcard->name, x->wildcard->name_len), x->wildcard);
	if (x->n_answers != y->n_answers)
		fail_msg("%s: %u vs %u answers", txt(o), x->n_answers, y->n_answers);
	for (unsigned i = 0; i < x->n_answers; i++) {
		char what[32];
		snprintf(what, sizeof(what), "type %u", y->answers[i].qtype);
		if (x->answers[i].qtype != y->answers[i].qtype)
			fail_msg("%s: answer %u is for type %u vs %u", txt(o), i, x->answers[i].qtype,
			         y->answers[i].qtype);
		answer_eq(x->answers[i].answer, pz->serial, y->answers[i].answer, fz->serial, o, what);
	}
	answer_eq(x->other, pz->serial, y->other, fz->serial, o, "other");
	answer_eq(x->referral, pz->serial, y->referral, fz->serial, o, "referral");
}

static void zone_eq(const struct rwd_zone *pz, const struct rwd_zone *fz)
{
	names_exist_ok(fz, "full");
	names_exist_ok(pz, "patched");
	assert_int_equal(pz->serial, fz->serial);
	assert_int_equal(pz->n_nodes, fz->n_nodes);
	assert_int_equal(pz->n_records, fz->n_records);
	assert_ptr_equal(rwd_zone_find(pz, pz->apex_name, pz->apex_len), pz->apex);
	answer_eq(pz->nodata, pz->serial, fz->nodata, fz->serial, fz->apex_name, "nodata");
	answer_eq(pz->nxdomain, pz->serial, fz->nxdomain, fz->serial, fz->apex_name, "nxdomain");
	size_t seen = 0;
	for (size_t i = 0; i <= fz->table_mask; i++) {
		const struct rwd_node *y = fz->table[i];
		if (y == NULL)
			continue;
		const struct rwd_node *x = rwd_zone_find(pz, y->name, y->name_len);
		if (x == NULL)
			fail_msg("%s: no node in the patched zone", txt(y->name));
		node_eq(pz, x, fz, y);
	}
	for (size_t i = 0; i <= pz->table_mask; i++)
		seen += pz->table[i] != NULL;
	assert_int_equal(seen, pz->n_nodes);
}

/* ---- the random walk ---- */

struct stored {
	struct ov *v;
	size_t n, cap;
};

/* As the control layer keeps them: one per (owner, type), the last wins. */
static void store_add(struct stored *s, const struct ov *c)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].o.type == c->o.type && rw_dname_eq(s->v[i].o.owner, c->o.owner)) {
			memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
			s->n--;
			break;
		}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	s->v[s->n++] = *c;
}

static struct rwd_zone *full_load(const char *path, const struct stored *s,
                                  const struct ov *batch, size_t nb, uint32_t serial)
{
	size_t n = s->n + nb;
	struct rwd_zone_override *all = calloc(n + 1, sizeof(*all));
	assert_non_null(all);
	for (size_t i = 0; i < s->n; i++) {
		all[i] = s->v[i].o;
		all[i].rdata = s->v[i].rdata;
	}
	for (size_t i = 0; i < nb; i++) {
		all[s->n + i] = batch[i].o;
		all[s->n + i].rdata = batch[i].rdata;
	}
	uint8_t apex[RW_DNAME_MAXLEN];
	tz_lname("example.com.", apex);
	struct rwd_zone_load_opts opts = { all, n, serial };
	struct rwd_zone *z = rwd_zone_load_opts(apex, path, &opts, NULL, NULL);
	free(all);
	return z;
}

struct walk_stats {
	unsigned steps, patched, fell_back, rejected, rebased;
	unsigned removed;                /* patches after which a name is gone */
};

/* Whether a name of old is no node of z. */
static bool lost_a_name(const struct rwd_zone *old, const struct rwd_zone *z)
{
	for (size_t i = 0; i <= old->table_mask; i++) {
		const struct rwd_node *n = old->table[i];
		if (n && rwd_zone_find(z, n->name, n->name_len) == NULL)
			return true;
	}
	return false;
}

static struct stored store_copy(const struct stored *s)
{
	struct stored c = { malloc((s->n + 1) * sizeof(*s->v)), s->n, s->n + 1 };
	assert_non_null(c.v);
	if (s->n)
		memcpy(c.v, s->v, s->n * sizeof(*s->v));
	return c;
}

/*
 * Compaction as the control layer does it: fresh is a full load of the
 * file and the store (as it was when base was served, or as it is now),
 * with base's serial; rebasing cur onto it must give what a full load
 * gives now.
 */
static void check_rebase(const char *path, const struct stored *then, const struct stored *now,
                         const struct rwd_zone *base, const struct rwd_zone *cur,
                         bool reloaded, struct walk_stats *st)
{
	struct rwd_zone *fresh = full_load(path, rnd(2) ? then : now, NULL, 0, base->serial);
	assert_non_null(fresh);
	struct rwd_zone *r = rwd_zone_rebase(fresh, base, cur);
	rwd_zone_free(fresh);            /* r keeps what it needs */
	if (reloaded) {                  /* cur is not patched from base: nothing to replay */
		assert_null(r);
		return;
	}
	if (r == NULL)
		fail_msg("rebase refused");
	struct rwd_zone *full = full_load(path, now, NULL, 0, cur->serial);
	zone_eq(r, full);
	rwd_zone_free(full);
	rwd_zone_free(r);
	st->rebased++;
}

static void walk(uint64_t seed, unsigned steps, struct walk_stats *st)
{
	rng_state = seed;
	const char *path = tz_write("walk.zone", ZONE);
	struct stored s = { 0 };
	struct rwd_zone *cur = full_load(path, &s, NULL, 0, 0);
	assert_non_null(cur);
	uint32_t serial = cur->serial;
	struct rwd_zone *base = NULL;     /* a compaction's starting point */
	struct stored base_store = { 0 };
	bool reloaded = false;
	for (unsigned step = 0; step < steps; step++) {
		if (step % 16 == 0) {
			if (base)
				check_rebase(path, &base_store, &s, base, cur, reloaded, st);
			reloaded = false;
			rwd_zone_free(base);
			free(base_store.v);
			rwd_zone_ref(cur);
			base = cur;
			base_store = store_copy(&s);
		}
		struct ov batch[12];
		size_t nb = 0, want = 1 + rnd(3);
		struct rwd_zone_override ovs[12];
		for (size_t k = 0; k < want; k++) {
			if (rnd(3) == 0)
				nb += make_wipe(cur, batch + nb, 4);
			else
				make_change(&batch[nb++]);
		}
		for (size_t i = 0; i < nb; i++) {
			ovs[i] = batch[i].o;
			ovs[i].rdata = batch[i].rdata;
		}
		struct rwd_zone *full = full_load(path, &s, batch, nb, serial + 1);
		struct rwd_zone *patched = rwd_zone_patch(cur, ovs, nb, serial + 1);
		st->steps++;
		if (full == NULL) {
			/* What a full load rejects, a patch must not accept. */
			if (patched != NULL)
				fail_msg("step %u: the patch accepted a change the full load rejects", step);
			st->rejected++;
			continue;
		}
		serial++;
		for (size_t i = 0; i < nb; i++)
			store_add(&s, &batch[i]);
		if (patched == NULL) {
			st->fell_back++;
			reloaded = true;
			rwd_zone_free(cur);
			cur = full;
			continue;
		}
		st->patched++;
		st->removed += lost_a_name(cur, patched);
		zone_eq(patched, full);
		rwd_zone_free(full);
		rwd_zone_free(cur);           /* the new version must not need the old one's table */
		cur = patched;
	}
	check_rebase(path, &base_store, &s, base, cur, reloaded, st);
	rwd_zone_free(base);
	free(base_store.v);
	/* The chain still answers as a fresh load after everything. */
	struct rwd_zone *full = full_load(path, &s, NULL, 0, serial);
	assert_non_null(full);
	zone_eq(cur, full);
	rwd_zone_free(full);
	rwd_zone_free(cur);
	free(s.v);
}

static void test_random_changes(void **state)
{
	struct walk_stats st = { 0 };
	enum { SEEDS = 32 };             /* under a second; a few under AddressSanitizer */
	for (uint64_t seed = 1; seed <= SEEDS; seed++)
		walk(seed * 0x9e3779b97f4a7c15ULL, 150, &st);
	print_message("%u steps: %u patched (%u removing a name), %u full loads, "
	              "%u rejected by both, %u rebased\n", st.steps, st.patched, st.removed,
	              st.fell_back, st.rejected, st.rebased);
	/* The test is about the patch: most accepted changes must take that path. */
	assert_true(st.patched > (st.patched + st.fell_back) * 3 / 4);
	assert_true(st.rejected > 0);
	assert_true(st.rebased >= SEEDS * 9);
	assert_true(st.removed >= SEEDS * 20);
}

/* One change far from most names shares them: same node objects. */
static void test_shares_unchanged(void **state)
{
	const char *path = tz_write("share.zone", ZONE);
	struct stored s = { 0 };
	struct rwd_zone *z0 = full_load(path, &s, NULL, 0, 0);
	assert_non_null(z0);
	struct ov c;
	memset(&c, 0, sizeof(c));
	tz_lname("new1.example.com.", c.o.owner);
	c.o.type = RW_TYPE_A;
	c.o.ttl = 60;
	c.o.count = 1;
	memcpy(c.rdata, "\x00\x04\xc0\x00\x02\x07", 6);
	c.o.rdata = c.rdata;
	struct rwd_zone *z1 = rwd_zone_patch(z0, &c.o, 1, z0->serial + 1);
	assert_non_null(z1);
	uint8_t www[RW_DNAME_MAXLEN];
	int len = tz_lname("www.example.com.", www);
	const struct rwd_node *w0 = rwd_zone_find(z0, www, (size_t)len);
	assert_ptr_equal(rwd_zone_find(z1, www, (size_t)len), w0);
	assert_int_equal(z1->serial, z0->serial + 1);
	assert_int_equal(z1->n_nodes, z0->n_nodes + 1);
	/* www's NODATA is the old version's, and says the new serial once sent. */
	assert_int_equal(rwd_node_answer(w0, RW_TYPE_TXT)->serial_at, z0->nodata->serial_at);
	assert_true(z0->nodata->serial_at > 0);
	rwd_zone_free(z0);               /* z1 keeps what it shares */
	struct rwd_zone *full = full_load(path, &s, &c, 1, z1->serial);
	zone_eq(z1, full);
	rwd_zone_free(full);
	rwd_zone_free(z1);
}

/* What the full load rejects is not patched either. */
static void test_rejects(void **state)
{
	const char *path = tz_write("reject.zone", ZONE);
	struct stored s = { 0 };
	struct rwd_zone *z0 = full_load(path, &s, NULL, 0, 0);
	assert_non_null(z0);
	struct ov c;
	memset(&c, 0, sizeof(c));
	tz_lname("www.example.com.", c.o.owner);    /* CNAME beside A */
	c.o.type = RW_TYPE_CNAME;
	c.o.ttl = 60;
	c.o.count = 1;
	int tl = tz_name("mail.example.com.", c.rdata + 2);
	rw_put16(c.rdata, (uint16_t)tl);
	c.o.rdata = c.rdata;
	assert_null(rwd_zone_patch(z0, &c.o, 1, z0->serial + 1));
	memset(&c, 0, sizeof(c));                  /* the apex without NS */
	tz_lname("example.com.", c.o.owner);
	c.o.type = RW_TYPE_NS;
	assert_null(rwd_zone_patch(z0, &c.o, 1, z0->serial + 1));
	c.o.type = RW_TYPE_SOA;                    /* the SOA is not patched */
	assert_null(rwd_zone_patch(z0, &c.o, 1, z0->serial + 1));
	rwd_zone_free(z0);
}

/* A change that touches a DNAME, or a name below one, goes to the full load,
 * which checks the DNAME rules (link.c); others patch as usual. */
static void test_dname_full_load(void **state)
{
	const char *path = tz_write("dname.zone",
		"$ORIGIN example.com.\n$TTL 3600\n"
		"@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n"
		"d DNAME example.net.\nwww A 192.0.2.1\n");
	struct stored s = { 0 };
	struct rwd_zone *z0 = full_load(path, &s, NULL, 0, 0);
	assert_non_null(z0);
	struct ov c;
	memset(&c, 0, sizeof(c));
	tz_lname("x.d.example.com.", c.o.owner);   /* below the DNAME */
	c.o.type = RW_TYPE_A;
	c.o.ttl = 60;
	c.o.count = 1;
	rw_put16(c.rdata, 4);
	memcpy(c.rdata + 2, "\xc0\x00\x02\x07", 4);
	c.o.rdata = c.rdata;
	assert_null(rwd_zone_patch(z0, &c.o, 1, z0->serial + 1));
	tz_lname("www.example.com.", c.o.owner);   /* unrelated: patched */
	struct rwd_zone *z1 = rwd_zone_patch(z0, &c.o, 1, z0->serial + 1);
	assert_non_null(z1);
	const struct rwd_node *d = rwd_zone_find(z1, (const uint8_t *)"\x01" "d\x07" "example\x03" "com", 15);
	assert_non_null(d);
	assert_true(d->flags & RWD_NODE_DNAME);
	rwd_zone_free(z1);
	memset(&c, 0, sizeof(c));                  /* the DNAME removed */
	tz_lname("d.example.com.", c.o.owner);
	c.o.type = RW_TYPE_DNAME;
	assert_null(rwd_zone_patch(z0, &c.o, 1, z0->serial + 1));
	rwd_zone_free(z0);
}

/* ---- removing names, through the query pipeline ---- */

static const char GONE_ZONE[] =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@            SOA  ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
	"@            NS   ns1\n"
	"ns1          A    192.0.2.53\n"
	"leaf         A    192.0.2.1\n"
	"leaf         TXT  \"two rrsets\"\n"
	"mx           MX   10 leaf\n"
	"toleaf       CNAME leaf\n"
	"parent       A    192.0.2.2\n"
	"child.parent A    192.0.2.3\n"
	"only.a.ent   A    192.0.2.4\n"          /* ENTs a.ent, ent */
	"toent        CNAME ent\n"
	"*.wild       A    192.0.2.99\n"
	"name.wild    A    192.0.2.5\n"
	"host.e.wild  A    192.0.2.7\n"          /* ENT e.wild */
	"*.star       TXT  \"star\"\n"
	"real.star    A    192.0.2.6\n"
	"deleg        NS   ns.deleg\n"
	"ns.deleg     A    192.0.2.8\n"
	"x.pair       A    192.0.2.10\n"          /* ENT pair */
	"y.pair       A    192.0.2.11\n";

/* What the pipeline answers z for (name, qtype): rcode, counts and the
 * first answer record's rdata. */
struct reply {
	unsigned rcode, an, ns, ar;
	uint8_t rdata[64];
	unsigned rdlen;
};

static size_t skip_name(const uint8_t *w, size_t at)
{
	while (w[at] != 0 && (w[at] & 0xc0) != 0xc0)
		at += w[at] + 1u;
	return at + (w[at] == 0 ? 1 : 2);
}

static struct reply ask(struct rwd_zone *z, const char *name, uint16_t qtype)
{
	struct rwd_zone **zones = malloc(sizeof(*zones));
	assert_non_null(zones);
	rwd_zone_ref(z);
	zones[0] = z;
	struct rwd_snapshot snap = { .zones = rwd_zonedb_new(zones, 1), .edns_udp_size = 1232 };
	assert_non_null(snap.zones);
	uint8_t q[512], out[RW_MSG_MAXLEN], dn[RW_DNAME_MAXLEN];
	tz_name(name, dn);
	struct rw_msgbuilder b;
	assert_int_equal(rw_msgb_init(&b, q, sizeof(q), 7, dn, qtype, RW_CLASS_IN, true), 0);
	struct rwd_query qr = { .wire = q, .wire_len = b.len, .transport = &rwd_transport_tcp,
	                        .out = out, .out_cap = sizeof(out) };
	size_t len = rwd_query_process(&snap, &qr);
	rwd_zonedb_free(snap.zones);
	assert_true(len >= RW_HDR_LEN);
	struct reply r = { .rcode = out[3] & 0xfu, .an = rw_get16(out + 6),
	                   .ns = rw_get16(out + 8), .ar = rw_get16(out + 10) };
	if (r.an) {
		size_t at = skip_name(out, RW_HDR_LEN) + 4;
		at = skip_name(out, at) + 8;
		r.rdlen = rw_get16(out + at);
		assert_true(r.rdlen <= sizeof(r.rdata) && at + 2 + r.rdlen <= len);
		memcpy(r.rdata, out + at + 2, r.rdlen);
	}
	return r;
}

/* Expect: rcode, answer count, for an A answer its last byte (a_last >= 0),
 * the additional count (ar1 = 1 + count; 0: not checked). */
static void expect(struct rwd_zone *z, const char *which, const char *name, uint16_t qtype,
                   unsigned rcode, unsigned an, int a_last, unsigned ar1)
{
	struct reply r = ask(z, name, qtype);
	if (r.rcode != rcode || r.an != an)
		fail_msg("%s: %s type %u: rcode %u an %u, want rcode %u an %u", which, name, qtype,
		         r.rcode, r.an, rcode, an);
	if (ar1)
		assert_int_equal(r.ar, ar1 - 1);
	if (rcode == RW_RCODE_NXDOMAIN || an == 0)
		assert_int_equal(r.ns, 1);        /* the SOA */
	if (a_last >= 0) {
		assert_int_equal(r.rdlen, 4);
		assert_int_equal(r.rdata[3], a_last);
	}
}

struct gone_case {
	const char *what;
	const char *remove[3];           /* "name TYPE": RRsets removed */
	struct { const char *name; uint16_t qtype; unsigned rcode, an; int a_last; unsigned ar1; }
		before[4], after[4];
	int nodes;                       /* change in the number of nodes */
};

#define NX RW_RCODE_NXDOMAIN
#define OK RW_RCODE_NOERROR
static const struct gone_case GONE[] = {
	{ "a leaf: NXDOMAIN, no longer an additional or CNAME target",
	  { "leaf.example.com. A", "leaf.example.com. TXT" },
	  { { "leaf.example.com.", RW_TYPE_A, OK, 1, 1, 0 }, { "toleaf.example.com.", RW_TYPE_A, OK, 2, -1, 0 },
	    { "mx.example.com.", RW_TYPE_MX, OK, 1, -1, 1 + 1 } },
	  { { "leaf.example.com.", RW_TYPE_A, NX, 0, -1, 0 }, { "leaf.example.com.", RW_TYPE_TXT, NX, 0, -1, 0 },
	    { "toleaf.example.com.", RW_TYPE_A, NX, 1, -1, 0 }, { "mx.example.com.", RW_TYPE_MX, OK, 1, -1, 0 + 1 } },
	  -1 },
	{ "a name with a child: an empty non-terminal, NODATA",
	  { "parent.example.com. A" },
	  { { "parent.example.com.", RW_TYPE_A, OK, 1, 2, 0 } },
	  { { "parent.example.com.", RW_TYPE_A, OK, 0, -1, 0 }, { "child.parent.example.com.", RW_TYPE_A, OK, 1, 3, 0 },
	    { "x.parent.example.com.", RW_TYPE_A, NX, 0, -1, 0 } },
	  0 },
	{ "the only name under empty non-terminals: they go too",
	  { "only.a.ent.example.com. A" },
	  { { "ent.example.com.", RW_TYPE_A, OK, 0, -1, 0 }, { "a.ent.example.com.", RW_TYPE_A, OK, 0, -1, 0 },
	    { "toent.example.com.", RW_TYPE_A, OK, 1, -1, 0 } },
	  { { "only.a.ent.example.com.", RW_TYPE_A, NX, 0, -1, 0 }, { "a.ent.example.com.", RW_TYPE_A, NX, 0, -1, 0 },
	    { "ent.example.com.", RW_TYPE_A, NX, 0, -1, 0 }, { "toent.example.com.", RW_TYPE_A, NX, 1, -1, 0 } },
	  -3 },
	{ "the only name under an empty non-terminal below a wildcard: both matched again",
	  { "host.e.wild.example.com. A" },
	  { { "e.wild.example.com.", RW_TYPE_A, OK, 0, -1, 0 }, { "x.e.wild.example.com.", RW_TYPE_A, NX, 0, -1, 0 } },
	  { { "host.e.wild.example.com.", RW_TYPE_A, OK, 1, 99, 0 }, { "e.wild.example.com.", RW_TYPE_A, OK, 1, 99, 0 },
	    { "x.e.wild.example.com.", RW_TYPE_A, OK, 1, 99, 0 } },
	  -2 },
	{ "a name under a wildcard: the wildcard answers it again",
	  { "name.wild.example.com. A" },
	  { { "name.wild.example.com.", RW_TYPE_A, OK, 1, 5, 0 }, { "x.name.wild.example.com.", RW_TYPE_A, NX, 0, -1, 0 } },
	  { { "name.wild.example.com.", RW_TYPE_A, OK, 1, 99, 0 }, { "x.name.wild.example.com.", RW_TYPE_A, OK, 1, 99, 0 } },
	  -1 },
	{ "a \"*\" name: the names it matched are NXDOMAIN",
	  { "*.star.example.com. TXT" },
	  { { "q.star.example.com.", RW_TYPE_TXT, OK, 1, -1, 0 }, { "star.example.com.", RW_TYPE_TXT, OK, 0, -1, 0 } },
	  { { "q.star.example.com.", RW_TYPE_TXT, NX, 0, -1, 0 }, { "q.star.example.com.", RW_TYPE_A, NX, 0, -1, 0 },
	    { "star.example.com.", RW_TYPE_TXT, OK, 0, -1, 0 }, { "real.star.example.com.", RW_TYPE_A, OK, 1, 6, 0 } },
	  -1 },
	{ "a delegation without NS or other data, a name below: an empty non-terminal",
	  { "deleg.example.com. NS" },
	  { { "ns.deleg.example.com.", RW_TYPE_A, OK, 0, -1, 1 + 1 } },                 /* referral, glue */
	  { { "deleg.example.com.", RW_TYPE_NS, OK, 0, -1, 0 }, { "ns.deleg.example.com.", RW_TYPE_A, OK, 1, 8, 0 },
	    { "x.deleg.example.com.", RW_TYPE_A, NX, 0, -1, 0 } },
	  0 },
	{ "a name that never was: no node made",
	  { "never.example.com. A", "x.never2.example.com. TXT" },
	  { { "never.example.com.", RW_TYPE_A, NX, 0, -1, 0 } },
	  { { "never.example.com.", RW_TYPE_A, NX, 0, -1, 0 }, { "never2.example.com.", RW_TYPE_A, NX, 0, -1, 0 } },
	  0 },
};

static void check_answers(struct rwd_zone *z, const char *which, const struct gone_case *c,
                          bool after)
{
	for (unsigned k = 0; k < 4; k++) {
		const __typeof__(c->after[0]) *e = after ? &c->after[k] : &c->before[k];
		if (e->name)
			expect(z, which, e->name, e->qtype, e->rcode, e->an, e->a_last, e->ar1);
	}
}

static void test_remove_last_rrset(void **state)
{
	const char *path = tz_write("gone.zone", GONE_ZONE);
	struct stored none = { 0 };
	for (size_t i = 0; i < sizeof(GONE) / sizeof(GONE[0]); i++) {
		const struct gone_case *c = &GONE[i];
		print_message("%s\n", c->what);
		struct rwd_zone *z0 = full_load(path, &none, NULL, 0, 0);
		assert_non_null(z0);
		check_answers(z0, "before", c, false);
		struct ov rm[3];
		struct rwd_zone_override ovs[3];
		size_t n = 0;
		for (; n < 3 && c->remove[n]; n++) {
			char name[256];
			const char *sp = strchr(c->remove[n], ' ');
			snprintf(name, sizeof(name), "%.*s", (int)(sp - c->remove[n]), c->remove[n]);
			memset(&rm[n], 0, sizeof(rm[n]));
			tz_lname(name, rm[n].o.owner);
			rm[n].o.type = strcmp(sp + 1, "A") == 0 ? RW_TYPE_A :
			               strcmp(sp + 1, "NS") == 0 ? RW_TYPE_NS : RW_TYPE_TXT;
			rm[n].o.rdata = rm[n].rdata;
			ovs[n] = rm[n].o;
		}
		struct rwd_zone *full = full_load(path, &none, rm, n, z0->serial + 1);
		struct rwd_zone *patched = rwd_zone_patch(z0, ovs, n, z0->serial + 1);
		assert_non_null(full);
		assert_non_null(patched);
		assert_int_equal((long)full->n_nodes - (long)z0->n_nodes, c->nodes);
		check_answers(full, "full load", c, true);
		check_answers(patched, "patch", c, true);
		zone_eq(patched, full);
		/* Compaction replays the removal onto a fresh load as well. */
		struct rwd_zone *rebased = rwd_zone_rebase(z0, z0, patched);
		assert_non_null(rebased);
		check_answers(rebased, "rebase", c, true);
		zone_eq(rebased, full);
		rwd_zone_free(rebased);
		rwd_zone_free(z0);
		rwd_zone_free(full);
		rwd_zone_free(patched);
	}
}

/* A removal of a name an earlier patch removed (the index still lists it
 * as a child) beside the removal of its last sibling: the empty
 * non-terminal above them goes, whichever comes first in the change. */
static void test_remove_again(void **state)
{
	const char *path = tz_write("again.zone", GONE_ZONE);
	struct stored s = { 0 };
	struct rwd_zone *z0 = full_load(path, &s, NULL, 0, 0);
	assert_non_null(z0);
	struct ov rm[2];
	memset(rm, 0, sizeof(rm));
	tz_lname("x.pair.example.com.", rm[0].o.owner);
	tz_lname("y.pair.example.com.", rm[1].o.owner);
	for (unsigned i = 0; i < 2; i++) {
		rm[i].o.type = RW_TYPE_A;
		rm[i].o.rdata = rm[i].rdata;
	}
	struct rwd_zone *z1 = rwd_zone_patch(z0, &rm[0].o, 1, z0->serial + 1);
	assert_non_null(z1);
	store_add(&s, &rm[0]);
	expect(z1, "first", "x.pair.example.com.", RW_TYPE_A, RW_RCODE_NXDOMAIN, 0, -1, 0);
	expect(z1, "first", "pair.example.com.", RW_TYPE_A, RW_RCODE_NOERROR, 0, -1, 0);
	for (unsigned first = 0; first < 2; first++) {
		struct ov batch[2] = { rm[first], rm[1 - first] };
		struct rwd_zone_override ovs[2] = { batch[0].o, batch[1].o };
		ovs[0].rdata = batch[0].rdata;
		ovs[1].rdata = batch[1].rdata;
		struct rwd_zone *z2 = rwd_zone_patch(z1, ovs, 2, z1->serial + 1);
		struct rwd_zone *full = full_load(path, &s, batch, 2, z1->serial + 1);
		assert_non_null(z2);
		assert_non_null(full);
		expect(z2, "patch", "y.pair.example.com.", RW_TYPE_A, RW_RCODE_NXDOMAIN, 0, -1, 0);
		expect(z2, "patch", "pair.example.com.", RW_TYPE_A, RW_RCODE_NXDOMAIN, 0, -1, 0);
		zone_eq(z2, full);
		assert_int_equal(z2->n_nodes, z0->n_nodes - 3);
		rwd_zone_free(z2);
		rwd_zone_free(full);
	}
	rwd_zone_free(z0);
	rwd_zone_free(z1);
	free(s.v);
}

/* Many removals at once: the tables lose entries from long probe runs
 * (backward-shift deletion) and every remaining name is still found. */
static void test_remove_many(void **state)
{
	enum { N = 3000 };
	size_t cap = 200 + N * 40;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t at = (size_t)snprintf(text, cap, "$ORIGIN example.com.\n$TTL 3600\n"
	                             "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n"
	                             "ns1 A 192.0.2.53\n");
	for (unsigned i = 0; i < N; i++)
		at += (size_t)snprintf(text + at, cap - at, "h%u.e%u A 192.0.2.%u\n", i, i % 7, i % 250);
	const char *path = tz_write("many.zone", text);
	free(text);
	struct stored none = { 0 };
	struct rwd_zone *z0 = full_load(path, &none, NULL, 0, 0);
	assert_non_null(z0);
	assert_int_equal(z0->n_nodes, 2 + 7 + N);
	/* Every name but each third; all of e6 (its ENT goes too). */
	struct ov *rm = calloc(N, sizeof(*rm));
	struct rwd_zone_override *ovs = calloc(N, sizeof(*ovs));
	assert_true(rm && ovs);
	size_t n = 0;
	for (unsigned i = 0; i < N; i++) {
		if (i % 3 == 0 && i % 7 != 6)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "h%u.e%u.example.com.", i, i % 7);
		tz_lname(name, rm[n].o.owner);
		rm[n].o.type = RW_TYPE_A;
		rm[n].o.rdata = rm[n].rdata;
		ovs[n] = rm[n].o;
		n++;
	}
	struct rwd_zone *full = full_load(path, &none, rm, n, z0->serial + 1);
	struct rwd_zone *patched = rwd_zone_patch(z0, ovs, n, z0->serial + 1);
	assert_non_null(full);
	assert_non_null(patched);
	assert_int_equal(full->n_nodes, z0->n_nodes - n - 1);
	zone_eq(patched, full);
	rwd_zone_free(z0);
	for (unsigned i = 0; i < N; i++) {
		char name[64];
		uint8_t dn[RW_DNAME_MAXLEN];
		snprintf(name, sizeof(name), "h%u.e%u.example.com.", i, i % 7);
		int len = tz_lname(name, dn);
		bool kept = i % 3 == 0 && i % 7 != 6;
		assert_int_equal(rwd_zone_find(patched, dn, (size_t)len) != NULL, kept);
		assert_int_equal(rwd_zone_find(full, dn, (size_t)len) != NULL, kept);
	}
	expect(patched, "patch", "e6.example.com.", RW_TYPE_A, RW_RCODE_NXDOMAIN, 0, -1, 0);
	expect(patched, "patch", "e5.example.com.", RW_TYPE_A, RW_RCODE_NOERROR, 0, -1, 0);
	rwd_zone_free(full);
	rwd_zone_free(patched);
	free(rm);
	free(ovs);
}

static int setup(void **state) { return tz_mkdir("test_zone_patch"); }
static int teardown(void **state) { return tz_rmdir(); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_unchanged),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_dname_full_load),
		cmocka_unit_test(test_remove_last_rrset),
		cmocka_unit_test(test_remove_again),
		cmocka_unit_test(test_remove_many),
		cmocka_unit_test(test_random_changes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
