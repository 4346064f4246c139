/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Limits on what a zone source may hand the zone store: a zone file, its
 * $INCLUDEs, an API change. Each bounds the work and memory one input can
 * cost; input past a limit is refused with a message naming the limit,
 * never truncated. The configuration sets them (`zone_limits:` in
 * docs/configuration.md; conf->zone_limits), the file loader applies them
 * (load.c, group.c), and the API checks its changes against the same
 * values (max_rrset_records).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct rwd_zone_limits {
	uint32_t max_rrset_records;   /* records in one RRset (as BIND's max-records-per-type) */
	uint32_t max_include_depth;   /* $INCLUDE nesting; 0: $INCLUDE refused */
	uint64_t max_file_bytes;      /* a zone file and everything it includes, in bytes */
	bool include_any_path;        /* false: an $INCLUDE must resolve (symbolic links
	                                 followed) to a file under the zone file's folder */
};

/* 1000 records: more than any real RRset (the largest seen in the root zone
 * and large TLDs hold a few dozen), a small fraction of what one message
 * could carry; BIND's default is 100. At most RWD_ZONE_MAX_RRSET_RECORDS_MAX. */
#define RWD_ZONE_MAX_RRSET_RECORDS 1000u
#define RWD_ZONE_MAX_RRSET_RECORDS_MAX 32767u   /* struct rwd_rrset counts in 16 bits */
#define RWD_ZONE_MAX_INCLUDE_DEPTH 8u
#define RWD_ZONE_MAX_FILE_BYTES (4ull << 30)

#define RWD_ZONE_LIMITS_DEFAULT \
	{ RWD_ZONE_MAX_RRSET_RECORDS, RWD_ZONE_MAX_INCLUDE_DEPTH, RWD_ZONE_MAX_FILE_BYTES, false }
