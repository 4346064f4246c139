/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone compaction in the background (zone.h, "Compaction"): a zone that
 * many patches left large is loaded afresh off the request path, then the
 * changes applied since are replayed onto it under the lock, and it is
 * published. One compaction at a time.
 *
 * A load that fails (the zone file was broken since) would fail again on
 * the very next change: after a failure the zone waits, 5 s doubling to
 * 5 min, before it is tried again; each new reason is logged once, and
 * /metrics counts failures and shows the wait (rwd_control_metrics).
 * Changes go on meanwhile, as patches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "server/common/log.h"
#include "server/control/internal.h"
#include "server/zone/history.h"

#define BACKOFF_FIRST 5                /* seconds after the first failure */
#define BACKOFF_MAX 300

struct compaction {
	struct rwd_control *c;
	struct rwd_zone *base;         /* the version served when it started (a reference) */
	char *view, *file;
	struct rwd_zone_limits limits; /* the configuration's, copied under the lock: the
	                                * thread loads without it, while the conf may change */
	char skey[1200];
	char zname[1024];
	uint8_t apex[RW_DNAME_MAXLEN];
};

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct compact_backoff *backoff_of(struct rwd_control *c, const char *skey, bool create)
{
	for (size_t i = 0; i < c->n_backoff; i++)
		if (strcmp(c->backoff[i].skey, skey) == 0)
			return &c->backoff[i];
	if (!create)
		return NULL;
	struct compact_backoff *v = realloc(c->backoff, (c->n_backoff + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	c->backoff = v;
	memset(&v[c->n_backoff], 0, sizeof(*v));
	snprintf(v[c->n_backoff].skey, sizeof(v->skey), "%s", skey);
	return &v[c->n_backoff++];
}

static void failed(struct rwd_control *c, const struct compaction *j, const char *err)
{
	c->compaction_failures++;
	struct compact_backoff *b = backoff_of(c, j->skey, true);
	if (b == NULL) {
		rwd_warn("zone %s: compaction: %s", j->zname, err);
		return;
	}
	unsigned delay = BACKOFF_FIRST;
	for (unsigned i = 1; i < b->failures + 1 && delay < BACKOFF_MAX; i++)
		delay *= 2;
	delay = delay < BACKOFF_MAX ? delay : BACKOFF_MAX;
	b->failures++;
	b->next = now_s() + delay;
	if (strcmp(b->error, err) != 0) {
		rwd_warn("zone %s: compaction failed: %s (tried again in %u s, doubling up to %u s; "
		         "logged again when the reason changes)", j->zname, err, delay, BACKOFF_MAX);
		snprintf(b->error, sizeof(b->error), "%s", err);
	}
}

static void succeeded(struct rwd_control *c, const struct compaction *j)
{
	c->compactions++;
	struct compact_backoff *b = backoff_of(c, j->skey, false);
	if (b && b->failures) {
		rwd_info("zone %s: compaction works again after %u failure(s)", j->zname, b->failures);
		b->failures = 0;
		b->error[0] = '\0';
	}
}

/*
 * Load the zone afresh (file and store, as at start), then, under the lock,
 * replay onto it the changes applied since (rwd_zone_rebase) and publish it:
 * the memory the patches left behind goes with the old chain. Changes never
 * wait for the load; the replay is one patch.
 */
static void *compact_main(void *arg)
{
	struct compaction *j = arg;
	struct rwd_control *c = j->c;
	char err[RWD_CONTROL_ERRLEN];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct rwd_zone *fresh = ctl_zone_load(c, j->apex, j->file, j->skey, j->base->serial, NULL,
	                                       &j->limits, err);
	/* The compacted version keeps the history (IXFR) of the one it
	 * replaces, so it must hold the same records: a zone file edited since
	 * and not reloaded yet would slip in unlogged. Then the reload takes
	 * the edit (diffed, logged), not the compaction. */
	struct rwd_zone_diff *edited = NULL;
	bool same = fresh && rwd_zone_diff_versions(j->base, fresh, &edited) == 0 && !edited;
	rwd_zone_diff_free(edited);
	if (fresh && !same) {
		rwd_zone_free(fresh);
		fresh = NULL;
		snprintf(err, RWD_CONTROL_ERRLEN, "the zone file changed since it was loaded (a reload "
		         "takes it)");
	}

	pthread_mutex_lock(&c->lock);
	const struct rwd_zone *cur = c->stopping || fresh == NULL ? NULL
	                                                          : ctl_served_zone(j->view, j->apex);
	struct rwd_zone *z = cur ? rwd_zone_rebase(fresh, j->base, cur) : NULL;
	if (z && z->history == NULL) {
		/* the same records as cur: its history (IXFR) goes on */
		z->history = cur->history;
		rwd_zone_history_ref(z->history);
	}
	struct rwd_conf *conf = NULL;
	struct rwd_snapshot *s = NULL;
	if (z && ctl_conf_live(c, &conf, err) == 0) {
		s = ctl_prepare(c, conf, z, j->view, err);
		z = NULL;                      /* taken over */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (s) {
		ctl_publish(c, s, conf);
		succeeded(c, j);
		rwd_info("zone %s: compacted in %.2f s (a fresh load, the changes since replayed)",
		         j->zname, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	} else {
		rwd_conf_free(conf);
		rwd_zone_free(z);
		if (fresh == NULL)
			failed(c, j, err);
		else if (!c->stopping)
			rwd_info("zone %s: compaction dropped (reloaded meanwhile, or too many changes)",
			         j->zname);
	}
	c->compacted = true;
	pthread_mutex_unlock(&c->lock);

	rwd_zone_free(fresh);
	rwd_zone_free(j->base);
	free(j->view);
	free(j->file);
	free(j);
	return NULL;
}

void ctl_compact_start(struct rwd_control *c, struct rwd_zone *zone, const char *view,
                       char *file, const char *skey, const char *zname)
{
	if (c->compacting && c->compacted) {
		pthread_join(c->compactor, NULL);
		c->compacting = false;
	}
	const struct compact_backoff *b = backoff_of(c, skey, false);
	bool waiting = b && b->failures && now_s() < b->next;
	struct compaction *j = c->compacting || c->stopping || waiting || file == NULL
	                       ? NULL : calloc(1, sizeof(*j));
	if (j == NULL) {
		rwd_zone_free(zone);
		free(file);
		return;
	}
	*j = (struct compaction){ .c = c, .base = zone, .view = view ? strdup(view) : NULL,
	                          .file = file };
	const struct rwd_zone_limits *lim = ctl_zone_limits(c);
	j->limits = lim ? *lim : (struct rwd_zone_limits)RWD_ZONE_LIMITS_DEFAULT;
	snprintf(j->skey, sizeof(j->skey), "%s", skey);
	snprintf(j->zname, sizeof(j->zname), "%s", zname);
	memcpy(j->apex, zone->apex_name, zone->apex_len);
	if ((view && j->view == NULL) || pthread_create(&c->compactor, NULL, compact_main, j) != 0) {
		rwd_zone_free(zone);
		free(j->view);
		free(j->file);
		free(j);
		return;
	}
	c->compacting = true;
	c->compacted = false;
}

void ctl_compact_stop(struct rwd_control *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	bool join = c->compacting;
	c->compacting = false;
	pthread_mutex_unlock(&c->lock);
	if (join)
		pthread_join(c->compactor, NULL);
}
