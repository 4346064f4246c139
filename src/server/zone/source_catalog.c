/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A catalog zone (RFC 9432) as a record source (source.h): the records are
 * generated from the member list, in the shape Knot DNS 3.2 generates
 * (catalog-role: generate): TTL 0 everywhere, the SOA "invalid. invalid.
 * SERIAL 3600 600 2147483646 0", NS "invalid.", version TXT "2", and per
 * member a PTR at <id>.zones.<catalog> with the member's name and, with a
 * group, a TXT at group.<id>.zones.<catalog>.
 *
 * The unique id of a member (RFC 9432 4.1) is the first 8 bytes of the
 * SHA-1 of its lowercased wire name, in hex: stable across restarts and
 * reloads without any state. (Knot hashes the time the member was added
 * with the name, so a member removed and added again gets a new id, which
 * consumers take as a reset of the zone; runwayd keeps the same id.)
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/zone/source.h"

#define CATALOG_TTL 0
#define CATALOG_REFRESH 3600
#define CATALOG_RETRY 600
#define CATALOG_EXPIRE 2147483646u
#define CATALOG_MINIMUM 0

static const uint8_t invalid[] = "\7invalid";        /* with its NUL: "invalid." flat */

void rwd_catalog_member_id(const uint8_t *member, char out[RWD_CATALOG_ID_LEN + 1])
{
	uint8_t wire[RW_DNAME_MAXLEN], md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	size_t len = rw_dname_len(member);
	memcpy(wire, member, len);
	rw_dname_lower(wire);
	if (!EVP_Digest(wire, len, md, &md_len, EVP_sha1(), NULL) || md_len < 8)
		memset(md, 0, 8);            /* cannot happen: SHA-1 is always there */
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* One generated record: owner (flat), type, RDATA. */
typedef int (*record_fn)(void *ctx, const uint8_t *owner, size_t owner_len, uint16_t type,
                         const uint8_t *rdata, uint16_t rdlen);

/* owner = label.(more).apex; false when longer than a name may be. */
static bool make_owner(uint8_t *owner, size_t *len, const char *label, const char *more,
                       const uint8_t *apex, size_t apex_len)
{
	size_t n = 0, l1 = strlen(label), l2 = more ? strlen(more) : 0;
	if (1 + l1 + (more ? 1 + l2 : 0) + apex_len > RW_DNAME_MAXLEN)
		return false;
	owner[n++] = (uint8_t)l1;
	memcpy(owner + n, label, l1);
	n += l1;
	if (more) {
		owner[n++] = (uint8_t)l2;
		memcpy(owner + n, more, l2);
		n += l2;
	}
	memcpy(owner + n, apex, apex_len);
	*len = n + apex_len;
	return true;
}

/*
 * Every record of the catalog at apex, SOA first, to fn. 0, the first
 * nonzero return of fn, or RW_ELIMIT (a member's names do not fit under the
 * apex: *bad is that member's index).
 */
static int generate(const struct rwd_source_catalog *cat, const uint8_t *apex, record_fn fn,
                    void *ctx, size_t *bad)
{
	size_t apex_len = rw_dname_len(apex);
	uint8_t rd[512], owner[RW_DNAME_MAXLEN];
	size_t n = 0, owner_len;
	int ret;

	memcpy(rd, invalid, sizeof(invalid));
	memcpy(rd + sizeof(invalid), invalid, sizeof(invalid));
	n = 2 * sizeof(invalid);
	rw_put32(rd + n, cat->serial);
	rw_put32(rd + n + 4, CATALOG_REFRESH);
	rw_put32(rd + n + 8, CATALOG_RETRY);
	rw_put32(rd + n + 12, CATALOG_EXPIRE);
	rw_put32(rd + n + 16, CATALOG_MINIMUM);
	if ((ret = fn(ctx, apex, apex_len, RW_TYPE_SOA, rd, (uint16_t)(n + 20))) != 0 ||
	    (ret = fn(ctx, apex, apex_len, RW_TYPE_NS, invalid, sizeof(invalid))) != 0)
		return ret;
	/* the schema version (RFC 9432 4.2.1) */
	static const uint8_t version[] = { 1, '2' };
	if (!make_owner(owner, &owner_len, "version", NULL, apex, apex_len)) {
		*bad = (size_t)-1;
		return RW_ELIMIT;
	}
	if ((ret = fn(ctx, owner, owner_len, RW_TYPE_TXT, version, sizeof(version))) != 0)
		return ret;
	for (size_t i = 0; i < cat->n; i++) {
		const struct rwd_catalog_member *m = &cat->members[i];
		char id[RWD_CATALOG_ID_LEN + 1];
		rwd_catalog_member_id(m->name, id);
		if (!make_owner(owner, &owner_len, id, "zones", apex, apex_len)) {
			*bad = i;
			return RW_ELIMIT;
		}
		if ((ret = fn(ctx, owner, owner_len, RW_TYPE_PTR, m->name,
		              (uint16_t)rw_dname_len(m->name))) != 0)
			return ret;
		if (m->group == NULL)
			continue;
		size_t glen = strlen(m->group);
		uint8_t gowner[RW_DNAME_MAXLEN];
		if (glen > 255 || owner_len + 6 > RW_DNAME_MAXLEN) {
			*bad = i;
			return RW_ELIMIT;
		}
		memcpy(gowner, "\5group", 6);
		memcpy(gowner + 6, owner, owner_len);
		rd[0] = (uint8_t)glen;
		memcpy(rd + 1, m->group, glen);
		if ((ret = fn(ctx, gowner, owner_len + 6, RW_TYPE_TXT, rd, (uint16_t)(glen + 1))) != 0)
			return ret;
	}
	return 0;
}

/* ---- the record source ---- */

struct add_ctx {
	struct rwd_zone_ctx *c;
	const char *name;
	unsigned long n;
};

static int add(void *ctx, const uint8_t *owner, size_t owner_len, uint16_t type,
               const uint8_t *rdata, uint16_t rdlen)
{
	struct add_ctx *a = ctx;
	return rwd_zone_add_record(a->c, owner, owner_len, RW_CLASS_IN, type, CATALOG_TTL, rdata,
	                           rdlen, a->name, ++a->n);
}

static int read_catalog(const struct rwd_record_source *src, struct rwd_zone_ctx *c)
{
	const struct rwd_source_catalog *cat = src->data;
	struct add_ctx a = { .c = c, .name = cat->name ? cat->name : "catalog" };
	size_t bad = 0;
	int ret = generate(cat, rwd_zone_build_apex(c), add, &a, &bad);
	if (ret == RW_ELIMIT) {
		char text[1024] = "version";
		if (bad != (size_t)-1)
			rw_dname_to_str(cat->members[bad].name, text, sizeof(text));
		rwd_zone_build_error(c, a.name, 0, "member %s: its catalog records do not fit in a "
		                     "domain name (a group longer than 255 bytes, or too long a "
		                     "catalog name)", text);
		return 0;
	}
	return ret;
}

static size_t catalog_size(const struct rwd_record_source *src)
{
	const struct rwd_source_catalog *cat = src->data;
	return 256 + cat->n * 128;
}

struct rwd_record_source rwd_source_catalog(const struct rwd_source_catalog *cat)
{
	return (struct rwd_record_source){ .kind = "catalog", .data = cat, .read = read_catalog,
	                                   .size_hint = catalog_size };
}

/* ---- comparing with a served version ---- */

struct same_ctx {
	const struct rwd_zone *z;
	size_t n;
};

/* 0 when z holds the record (the SOA: any serial), 1 when not. */
static int holds(void *ctx, const uint8_t *owner, size_t owner_len, uint16_t type,
                 const uint8_t *rdata, uint16_t rdlen)
{
	struct same_ctx *s = ctx;
	s->n++;
	if (type == RW_TYPE_SOA)
		return 0;
	uint8_t lc[RW_DNAME_MAXLEN];
	memcpy(lc, owner, owner_len);
	rw_dname_lower(lc);
	const struct rwd_node *node = rwd_zone_find(s->z, lc, owner_len);
	const struct rwd_rrset *rs = node ? rwd_node_rrset(node, type) : NULL;
	if (rs == NULL || rs->ttl != CATALOG_TTL)
		return 1;
	RWD_RRSET_FOREACH(rs, rd, i) {
		if (rw_get16(rd) == rdlen && memcmp(rd + 2, rdata, rdlen) == 0)
			return 0;
	}
	return 1;
}

bool rwd_catalog_same(const struct rwd_source_catalog *cat, const struct rwd_zone *z)
{
	if (z == NULL || rwd_zone_is_placeholder(z))
		return false;
	struct same_ctx s = { .z = z };
	size_t bad;
	/* every generated record is there, and nothing else (no duplicates on
	 * either side: a zone holds a record once) */
	return generate(cat, z->apex->name, holds, &s, &bad) == 0 && s.n == z->n_records;
}
