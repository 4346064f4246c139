/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * UDP transport: per listen address, one SO_REUSEPORT socket per worker
 * thread, so the kernel spreads queries over the workers with no shared
 * queue and no lock. Each worker reads a batch with recvmmsg(), answers it
 * through rwd_query_process() under RCU and sends the batch with sendmmsg().
 */
#pragma once
#include <stddef.h>

#include "lib/addr.h"

struct rwd_udp;

struct rwd_dnstap;

/*
 * Bind workers sockets on each address and start workers x n threads.
 * After each batch a worker polls its socket for busy_poll_us microseconds
 * before it sleeps (0: sleeps at once). With dnstap (may be NULL), each worker takes a queue of its own and logs
 * every exchange to it.
 * Returns 0, or a negative RW_E* code after logging why (nothing is left
 * running then).
 */
int rwd_udp_start(const struct rw_sockaddr *addrs, size_t n, unsigned workers,
                  unsigned busy_poll_us, struct rwd_dnstap *dnstap, struct rwd_udp **out);

/* Stop and join every worker, close the sockets, free. */
void rwd_udp_stop(struct rwd_udp *u);
