/*
 * What the query path reads: one immutable snapshot of zones and settings.
 * Published by swapping one pointer under RCU (liburcu QSBR flavour):
 * workers never lock; a reload builds a new snapshot, publishes it, waits
 * for a grace period and frees the old one. Later issues add views, traffic
 * policies and health state here, so one swap changes them consistently.
 */
#pragma once
#include <stdint.h>

#include "server/steer/geo.h"
#include "server/steer/model.h"
#include "server/zone/zonedb.h"

#define RWD_NSID_MAX 128

struct rwd_snapshot {
	struct rwd_zonedb *zones;
	struct rwd_model *model;       /* traffic names, endpoints, checks; never NULL */
	struct rwd_geo *geo;           /* client location; NULL without geoip */
	uint16_t edns_udp_size;        /* largest UDP answer we send with EDNS */
	uint16_t nsid_len;             /* 0: no NSID configured */
	uint8_t nsid[RWD_NSID_MAX];
	uint64_t generation;           /* increments with every publication */
};

/* The current snapshot. Only valid inside an RCU read-side section
 * (for QSBR: while the calling thread is online). */
const struct rwd_snapshot *rwd_snapshot_get(void);

/* Publish s and return the previous snapshot once no reader can see it
 * (after a grace period), for the caller to free. Main thread only. */
struct rwd_snapshot *rwd_snapshot_swap(struct rwd_snapshot *s);

/* rwd_snapshot_swap, then free the previous snapshot. */
void rwd_snapshot_publish(struct rwd_snapshot *s);

/* Free a snapshot no reader can see. */
void rwd_snapshot_free(struct rwd_snapshot *s);
