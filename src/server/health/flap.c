/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Flap dampening: see flap.h. */
#include <string.h>

#include "server/health/flap.h"

unsigned rwd_flap_recent(const struct rwd_flap *f, const struct rwd_flap_conf *c, uint64_t now)
{
	unsigned k = 0;
	for (unsigned i = 0; i < f->n; i++)
		if (now - f->at[i] < c->window_ms)
			k++;
	return k;
}

bool rwd_flap_change(struct rwd_flap *f, const struct rwd_flap_conf *c, uint64_t now)
{
	unsigned want = c->changes < RWD_FLAP_MAX ? c->changes : RWD_FLAP_MAX;
	if (want == 0)
		return false;
	f->at[f->next] = now;
	f->next = (uint8_t)((f->next + 1) % RWD_FLAP_MAX);
	if (f->n < RWD_FLAP_MAX)
		f->n++;
	if (f->held || rwd_flap_recent(f, c, now) < want)
		return false;
	f->held = true;
	f->held_at = now;
	return true;
}

bool rwd_flap_result(struct rwd_flap *f, const struct rwd_flap_conf *c, bool pass, bool raw_up,
                     uint64_t now)
{
	if (pass && !f->passing)
		f->passing_since = now;
	f->passing = pass;
	if (!f->held || !pass || !raw_up || now - f->passing_since < c->hold_ms)
		return false;
	/* Stable again: forget the old changes, or the next single change
	 * would find the window still full and hold it at once. */
	memset(f, 0, sizeof(*f));
	f->passing = true;
	f->passing_since = now;
	return true;
}
