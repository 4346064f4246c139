/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "server/zone/zonedb.h"

static inline bool has_labels(const struct rwd_zonedb *db, unsigned l)
{
	return l < 128 && (db->label_bits[l / 64] >> (l % 64) & 1);
}

static struct rwd_zone *probe(const struct rwd_zonedb *db, const uint8_t *name, size_t len)
{
	uint32_t h = rwd_name_hash(name, len);
	for (size_t i = h & db->table_mask;; i = (i + 1) & db->table_mask) {
		struct rwd_zone *z = db->table[i];
		if (z == NULL)
			return NULL;
		if (z->apex->hash == h && z->apex_len == len && rwd_name_bytes_eq(z->apex_name, name, len))
			return z;
	}
}

/* An empty db with a table for up to n zones. */
static struct rwd_zonedb *db_alloc(size_t n)
{
	struct rwd_zonedb *db = calloc(1, sizeof(*db));
	size_t cap = 4;
	while (cap < n * 2)
		cap *= 2;
	if (db == NULL || (db->table = calloc(cap, sizeof(*db->table))) == NULL) {
		free(db);
		return NULL;
	}
	db->table_mask = cap - 1;
	return db;
}

static void db_insert(struct rwd_zonedb *db, struct rwd_zone *z)
{
	size_t i = z->apex->hash & db->table_mask;
	while (db->table[i])
		i = (i + 1) & db->table_mask;
	db->table[i] = z;
	db->label_bits[z->apex_labels / 64] |= 1ULL << (z->apex_labels % 64);
	db->zones[db->n_zones++] = z;
}

struct rwd_zonedb *rwd_zonedb_new(struct rwd_zone **zones, size_t n)
{
	struct rwd_zonedb *db = db_alloc(n);
	if (db == NULL)
		return NULL;
	db->zones = zones;
	for (size_t k = 0; k < n; k++)
		db_insert(db, zones[k]);
	return db;
}

struct rwd_zonedb *rwd_zonedb_layer(struct rwd_zone **zones, size_t n,
                                    const struct rwd_zonedb *base)
{
	struct rwd_zonedb *db = db_alloc(n + base->n_zones);
	if (db == NULL)
		return NULL;
	db->zones = zones;
	for (size_t k = 0; k < n; k++)
		db_insert(db, zones[k]);
	for (size_t k = 0; k < base->n_zones; k++) {
		struct rwd_zone *z = base->zones[k];
		if (probe(db, z->apex_name, z->apex_len) == NULL) {
			rwd_zone_ref(z);
			db_insert(db, z);
		}
	}
	return db;
}

void rwd_zonedb_free(struct rwd_zonedb *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->n_zones; i++)
		rwd_zone_free(db->zones[i]);
	free(db->zones);
	free(db->table);
	free(db);
}

struct rwd_zone *rwd_zonedb_get(const struct rwd_zonedb *db, const uint8_t *apex, size_t len)
{
	return probe(db, apex, len);
}

const struct rwd_zone *rwd_zonedb_find(const struct rwd_zonedb *db, const uint8_t *name,
                                       size_t len, uint16_t qtype)
{
	unsigned labels = 0;
	for (const uint8_t *l = name; *l; l += *l + 1u)
		labels++;
	bool skip_exact = qtype == RW_TYPE_DS;
	const struct rwd_zone *exact = NULL;
	for (;;) {
		if (has_labels(db, labels)) {
			const struct rwd_zone *z = probe(db, name, len);
			if (z != NULL) {
				if (!skip_exact)
					return z;
				exact = z;       /* keep it in case no parent is served */
			}
		}
		if (labels == 0)
			return exact;
		skip_exact = false;
		len -= name[0] + 1u;
		name += name[0] + 1u;
		labels--;
	}
}
