/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The API's overrides as a record source (source.h): each replaces or
 * removes its RRset in what the sources before it (the zone file) gave, and
 * a serial, when set, is the one served. The control layer has checked
 * every override (owner inside the zone, RDATA, limits) before.
 */
#include "lib/error.h"
#include "server/zone/source.h"

static int read_overrides(const struct rwd_record_source *src, struct rwd_zone_ctx *c)
{
	const struct rwd_zone_load_opts *o = src->data;
	for (size_t i = 0; i < o->n_overrides; i++) {
		int ret = rwd_zone_replace_rrset(c, &o->overrides[i]);
		if (ret < 0)
			return ret;
	}
	if (o->serial)
		rwd_zone_set_serial(c, o->serial);
	rwd_zone_drop_empty_nodes(c);
	return 0;
}

struct rwd_record_source rwd_source_overrides(const struct rwd_zone_load_opts *opts)
{
	return (struct rwd_record_source){ .kind = "overrides", .data = opts,
	                                   .read = read_overrides };
}
