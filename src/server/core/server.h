/*
 * From configuration to a published snapshot: loading every zone, and at
 * reload keeping the previous version of any zone that fails to load again.
 */
#pragma once
#include "server/conf/conf.h"
#include "server/core/snapshot.h"

/*
 * Load every zone of conf into a new snapshot. Each problem is logged as
 * "FILE:LINE: message". Without prev (start-up) any zone error fails the
 * whole build (NULL); with prev (reload) a zone that fails keeps its version
 * from prev, or is left out if it is new. *n_errors counts zone errors.
 */
struct rwd_snapshot *rwd_server_build(const struct rwd_conf *conf,
                                      const struct rwd_snapshot *prev, unsigned *n_errors);
