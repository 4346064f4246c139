/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rwd_control_zone_install (control.h). Being written: a stub. */
#include <stdio.h>

#include "lib/error.h"
#include "server/control/internal.h"

int rwd_control_zone_install(struct rwd_control *c, const char *view, const uint8_t *apex,
                             struct rwd_zone *z, struct rwd_zone_diff *d, const char *reason,
                             char err[RWD_CONTROL_ERRLEN])
{
	(void)c, (void)view, (void)apex, (void)d, (void)reason;
	rwd_zone_free(z);
	snprintf(err, RWD_CONTROL_ERRLEN, "not implemented yet");
	return RW_EINVAL;
}
