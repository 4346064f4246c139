/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The secondary side (secondary.h). Being written: stubs with the final interface. */
#include <stdlib.h>

#include "lib/error.h"
#include "server/xfr/secondary.h"

struct rwd_secondary {
	int unused;
};

int rwd_secondary_new(struct rwd_secondary **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : RW_ENOMEM;
}

int rwd_secondary_start(struct rwd_secondary *svc, struct rwd_server *srv,
                        struct rwd_control *ctl)
{
	(void)svc, (void)srv, (void)ctl;
	return 0;
}

void rwd_secondary_reload(struct rwd_secondary *svc)
{
	(void)svc;
}

void rwd_secondary_stop(struct rwd_secondary *svc)
{
	free(svc);
}

int rwd_secondary_refresh(struct rwd_secondary *svc, const char *view, const uint8_t *apex,
                          bool retransfer)
{
	(void)svc, (void)view, (void)apex, (void)retransfer;
	return RW_ENOENT;
}

int rwd_secondary_status(struct rwd_secondary *svc, rwd_secondary_status_fn fn, void *ctx)
{
	(void)svc, (void)fn, (void)ctx;
	return 0;
}
