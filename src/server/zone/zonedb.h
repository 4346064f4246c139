/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The set of served zones, found by the most specific apex enclosing a name.
 * Immutable once built, like the zones it holds.
 */
#pragma once
#include <stdint.h>

#include "server/zone/zone.h"

struct rwd_zonedb {
	struct rwd_zone **zones;     /* owned */
	size_t n_zones;
	struct rwd_zone **table;     /* apex hash table, open addressing */
	size_t table_mask;
	/* Bit L set: some apex has L labels. Lets a lookup skip suffixes that
	 * cannot be an apex, so with one zone it is a single hash probe. */
	uint64_t label_bits[2];
};

/* Build from zones[0..n) (the db takes them over). NULL when out of memory. */
struct rwd_zonedb *rwd_zonedb_new(struct rwd_zone **zones, size_t n);
void rwd_zonedb_free(struct rwd_zonedb *db);

/*
 * A view's zone set: zones[0..n) (taken over, apexes unique) and then, each
 * with a new reference, every zone of base whose apex none of them has.
 * zones must have room for n + base->n_zones entries. NULL when out of
 * memory: then nothing is taken over and no reference taken.
 */
struct rwd_zonedb *rwd_zonedb_layer(struct rwd_zone **zones, size_t n,
                                    const struct rwd_zonedb *base);

/* The zone with this exact apex (flat lowercase), or NULL. */
struct rwd_zone *rwd_zonedb_get(const struct rwd_zonedb *db, const uint8_t *apex, size_t len);

/*
 * The zone that answers name (flat lowercase): the longest enclosing apex.
 * For qtype DS at an apex the parent side answers (RFC 4035 3.1.4.1), so a
 * zone whose apex is the name itself is skipped when a parent is served.
 */
const struct rwd_zone *rwd_zonedb_find(const struct rwd_zonedb *db, const uint8_t *name,
                                       size_t len, uint16_t qtype);
