/*
 * What the query path reads: one immutable snapshot of zones and settings.
 * Published by swapping one pointer under RCU (liburcu QSBR flavour):
 * workers never lock; a reload builds a new snapshot, publishes it, waits
 * for a grace period and frees the old one. Later issues add views, traffic
 * policies and health state here, so one swap changes them consistently.
 */
#pragma once
#include <stdint.h>

#include "server/zone/zonedb.h"

#define RWD_NSID_MAX 128

struct rwd_snapshot {
	struct rwd_zonedb *zones;
	uint16_t edns_udp_size;        /* largest UDP answer we send with EDNS */
	uint16_t nsid_len;             /* 0: no NSID configured */
	uint8_t nsid[RWD_NSID_MAX];
	uint64_t generation;           /* increments with every publication */
};

/* The current snapshot. Only valid inside an RCU read-side section
 * (for QSBR: while the calling thread is online). */
const struct rwd_snapshot *rwd_snapshot_get(void);

/* Publish s; the previous one is freed after a grace period. Main thread only. */
void rwd_snapshot_publish(struct rwd_snapshot *s);

/* Free a snapshot no reader can see. */
void rwd_snapshot_free(struct rwd_snapshot *s);
