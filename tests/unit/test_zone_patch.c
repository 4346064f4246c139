/*
 * Unit tests for incremental zone changes (src/server/zone/patch.c): random
 * sequences of RRset changes are applied to a test zone both ways, with
 * rwd_zone_patch() on the previous version and with a full
 * rwd_zone_load_opts() of the file and every override so far, and the two
 * zones must be the same: the same set of nodes, and at every node the same
 * RRsets, flags, cut, wildcard and answer bytes (after the query path's
 * serial substitution). Old versions are freed as soon as the next one
 * exists, so under AddressSanitizer sharing across versions is checked too.
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
#include "lib/wire.h"
#include "server/zone/zone.h"

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
                                  RW_TYPE_CNAME, RW_TYPE_TXT };
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
	c->o.ttl = 60 + rnd(3) * 60;
	unsigned count = rnd(4);          /* 0: the RRset is removed */
	if (c->o.type == RW_TYPE_CNAME && count > 1)
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
		case RW_TYPE_TXT:
			p[0] = 3;
			memcpy(p + 1, "t", 1);
			p[2] = (uint8_t)('a' + rnd(3));
			p[3] = 'x';
			p += 4;
			break;
		default:                      /* NS, CNAME: a name */
			memcpy(p, target, (size_t)tl);
			p += tl;
		}
		rw_put16(len, (uint16_t)(p - len - 2));
	}
	c->o.count = (uint16_t)count;
	c->o.rdata = c->rdata;
}

/* ---- comparison ---- */

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
	if (memcmp(x, y, offsetof(struct rwd_answer, tail)) != 0)
		fail_msg("%s %s: answer header differs (len %u/%u, an %u/%u, ar %u/%u)", txt(owner),
		         what, x->len, y->len, x->ancount, y->ancount, x->arcount, y->arcount);
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
};

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
		struct ov batch[3];
		size_t nb = 1 + rnd(3);
		struct rwd_zone_override ovs[3];
		for (size_t i = 0; i < nb; i++) {
			make_change(&batch[i]);
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
	for (uint64_t seed = 1; seed <= 8; seed++)
		walk(seed * 0x9e3779b97f4a7c15ULL, 150, &st);
	print_message("%u steps: %u patched, %u full loads, %u rejected by both, %u rebased\n",
	              st.steps, st.patched, st.fell_back, st.rejected, st.rebased);
	/* The test is about the patch: most accepted changes must take that path. */
	assert_true(st.patched > (st.patched + st.fell_back) * 3 / 4);
	assert_true(st.rejected > 0);
	assert_true(st.rebased >= 8 * 9);
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

static int setup(void **state) { return tz_mkdir("test_zone_patch"); }
static int teardown(void **state) { return tz_rmdir(); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_unchanged),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_random_changes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
