#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "server/core/log.h"
#include "server/core/server.h"

struct load_report {
	unsigned errors;
};

static void report(void *ctx, const char *msg)
{
	struct load_report *r = ctx;
	if (strstr(msg, ": warning: ") != NULL) {
		rwd_warn("%s", msg);
	} else {
		rwd_error("%s", msg);
		r->errors++;
	}
}

struct rwd_snapshot *rwd_server_build(const struct rwd_conf *conf,
                                      const struct rwd_snapshot *prev, unsigned *n_errors)
{
	struct rwd_snapshot *s = calloc(1, sizeof(*s));
	struct rwd_zone **zones = calloc(conf->n_zones ? conf->n_zones : 1, sizeof(*zones));
	size_t n = 0;
	struct load_report rep = { 0 };
	if (s == NULL || zones == NULL)
		goto fail;

	for (size_t i = 0; i < conf->n_zones; i++) {
		const struct rwd_conf_zone *cz = &conf->zones[i];
		unsigned before = rep.errors;
		struct rwd_zone *z = rwd_zone_load(cz->dname, cz->file, report, &rep);
		if (z != NULL) {
			rwd_info("zone %s: loaded serial %u, %zu records", cz->name, z->serial, z->n_records);
			zones[n++] = z;
			continue;
		}
		if (rep.errors == before)
			rep.errors++;   /* failed without a message (out of memory) */
		struct rwd_zone *old = prev ? rwd_zonedb_get(prev->zones, cz->dname,
		                                             rw_dname_len(cz->dname)) : NULL;
		if (old != NULL) {
			rwd_error("zone %s: keeping the previous version (serial %u)", cz->name, old->serial);
			rwd_zone_ref(old);
			zones[n++] = old;
		} else if (prev != NULL) {
			rwd_error("zone %s: not served", cz->name);
		}
	}
	/* Loading used scratch memory (records, parser) several times the size
	 * of what it freed at the end; hand it back to the system. */
	malloc_trim(0);
	*n_errors = rep.errors;
	if (prev == NULL && rep.errors > 0)
		goto fail;
	s->zones = rwd_zonedb_new(zones, n);
	if (s->zones == NULL)
		goto fail;
	s->edns_udp_size = conf->edns_udp_size;
	s->nsid_len = (uint16_t)(conf->nsid_len < RWD_NSID_MAX ? conf->nsid_len : RWD_NSID_MAX);
	if (s->nsid_len)
		memcpy(s->nsid, conf->nsid, s->nsid_len);
	return s;
fail:
	for (size_t i = 0; i < n; i++)
		rwd_zone_free(zones[i]);
	free(zones);
	free(s);
	return NULL;
}
