/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stage "notify": see stages.h. (Being written: a stub.) */
#include "server/query/stages.h"

enum rwd_stage_result rwd_stage_notify(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	(void)s, (void)qr;
	return RWD_CONTINUE;
}
