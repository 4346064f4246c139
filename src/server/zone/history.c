/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Zone change history (history.h). Being written: stubs. */
#include <stdlib.h>

#include "lib/error.h"
#include "server/zone/history.h"
#include "server/zone/zone.h"

void rwd_zone_history_ref(struct rwd_zone_history *h)
{
	if (h)
		__atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
}

void rwd_zone_diff_ref(struct rwd_zone_diff *d)
{
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
}

void rwd_zone_diff_free(struct rwd_zone_diff *d)
{
	if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(d);
}

void rwd_zone_history_free(struct rwd_zone_history *h)
{
	if (h == NULL || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < h->n; i++)
		rwd_zone_diff_free(h->diffs[i]);
	free(h);
}

long rwd_zone_history_find(const struct rwd_zone_history *h, uint32_t serial)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (h->diffs[i]->serial_from == serial)
			return (long)i;
	return -1;
}
