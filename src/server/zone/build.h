/*
 * Internal to the zone module: the state of one zone load, shared by the
 * stages load.c (parse) -> group.c (RRsets, checks) -> link.c (ENTs, cuts,
 * wildcards) -> answers.c (precomputed answers).
 */
#pragma once
#include <stdbool.h>

#include "lib/arena.h"
#include "server/zone/zone.h"

/* A record as read, kept in the scratch arena until grouped. */
struct rwd_zone_rec {
	struct rwd_zone_rec *next;
	const char *file;                /* zone file or $INCLUDE file it came from */
	uint32_t ttl;
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
	uint8_t rdata[];
};

struct rwd_zone_ctx {
	struct rwd_zone *z;
	const char *path;
	const char *last_file;           /* interned copy of the file being read */
	struct rwd_node *last_node;      /* owner of the previous record */
	struct rw_arena scratch;         /* freed when the load ends */
	struct rwd_zone_rec **heads;     /* per node id: records, newest first */
	struct rwd_node **nodes;         /* per node id */
	size_t cap_nodes;
	rwd_report_fn report;
	void *ctx;
	unsigned errors;
	bool oom;
};

/* Report "FILE:LINE: [warning: ]message" (line 0: "FILE: message"). */
void rwd_zone_report(struct rwd_zone_ctx *c, bool warning, const char *file,
                     unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Find or create the node of a flat lowercased name. NULL when out of memory. */
struct rwd_node *rwd_zone_get_node(struct rwd_zone_ctx *c, const uint8_t *name, size_t len);

int rwd_zone_group(struct rwd_zone_ctx *c);
int rwd_zone_link(struct rwd_zone_ctx *c);
int rwd_zone_build_answers(struct rwd_zone_ctx *c);
