/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS over TCP (RFC 7766): one thread running a libuv loop serves every
 * listening address and every connection.
 *
 * Framing is the 2-byte length prefix of RFC 1035 4.2.2. Pipelined queries
 * are processed as they arrive and answered in order: one response per
 * message, or several framed messages (each with its own length prefix,
 * rwd_query_produce while qr->more) for a query answered in a stream, which
 * the queries behind it wait for. A stream is produced as the peer reads it
 * (at most RWD_TCP_MAX_PENDING / RWD_TCP_MAX_QUEUED waiting, as below);
 * it is cut (the connection closed after what was sent) if a new snapshot
 * is published while it waits for the peer: never two snapshots in one
 * answer. A zone transfer's stream is not cut: it holds the zone version it
 * began on (rwd_query_xfr_hold) and sends that version whole, whatever is
 * published meanwhile. A connection is closed
 *   - when no query has arrived for idle_timeout_ms after the last one was
 *     answered (or since it was accepted),
 *   - when a message has begun to arrive and is not whole io_timeout_ms
 *     later (slowloris: bytes trickled in do not extend the time), or when
 *     queued answers have not moved to the kernel for io_timeout_ms while
 *     the kernel's send queue did not shrink either (a client that sends
 *     queries but does not read the answers; one that reads a transfer
 *     slowly through megabytes of socket buffer keeps its connection),
 *   - on a message shorter than a DNS header (length 0..11),
 *   - on a message the query path does not answer (the first
 *     rwd_query_produce returned 0: QR=1, no whole question, ...), like
 *     Knot DNS, or a stream whose producer broke off (after what was sent),
 *   - on EOF or a socket error.
 *
 * Limits on connections:
 *   - max_per_client: a new connection from a client that already has this
 *     many open is accepted and closed at once. A client is one IPv4
 *     address or one IPv6 /64 (the smallest prefix an IPv6 site gets: one
 *     host can take any address in it).
 *   - max_clients: when this many are open, the longest-idle one (oldest
 *     last complete query) is closed to let the new one in, so idle
 *     connections cannot lock new clients out; with max_per_client, a
 *     flood needs many addresses before it costs anyone a connection.
 * A connection also holds a file descriptor: runwayd lowers max_clients to
 * what its descriptor limit leaves after the other services' share
 * (rwd_tcp_clients_for_fds, daemon/main.c). accept() errors (out of
 * descriptors in the system, ...) are counted and logged at most once a
 * second, like the limits.
 * Memory per connection is bounded: a read buffer of at most 2 + 65535
 * bytes, and at most RWD_TCP_MAX_PENDING queued responses holding at most
 * RWD_TCP_MAX_QUEUED bytes (plus the one that crossed the line): reading
 * stops at either and resumes once every queued response is sent, and the
 * io timeout closes a client that never reads them.
 *
 * (A stream's producer likewise stops at either, and resumes then.)
 *
 * Queries run under the RCU read side (QSBR): the thread is online only
 * while it answers one query or produces one turn of a stream (at most
 * RWD_TCP_STREAM_BURST messages), never across a wait of the loop, so it
 * never holds up a grace period for long.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define RWD_TCP_MAX_PENDING 16
#define RWD_TCP_MAX_QUEUED  65536
#define RWD_TCP_STREAM_BURST 16     /* messages of a stream per turn of the loop */

struct rwd_dnstap;
struct rwd_query;
struct rwd_snapshot;

struct rwd_tcp_opts {
	struct rwd_dnstap *dnstap;  /* NULL: off; else the TCP thread takes a queue and logs to it */
	unsigned idle_timeout_ms;   /* 0: no idle timeout */
	unsigned io_timeout_ms;     /* 0: idle_timeout_ms applies instead */
	unsigned max_clients;       /* 0: no limit */
	unsigned max_per_client;    /* 0: no limit */
	/* Tests only, NULL in runwayd: called on the TCP thread after
	 * rwd_query_begin, it may set qr->producer (with qr->answer NULL) to
	 * answer in several messages, as a transfer stage will. One predicted
	 * branch per query when NULL; the pipeline itself is untouched. */
	void (*test_begin)(const struct rwd_snapshot *s, struct rwd_query *qr);
};

struct rwd_tcp;

/*
 * Bind and listen on each of addrs[0..n) (SO_REUSEADDR; IPv6 sockets are
 * IPV6_V6ONLY; port 0 picks a free port, see rwd_tcp_port) and start the
 * TCP thread. Returns 0 and sets *out, or a negative RW_E* code after
 * logging why (nothing is left running then).
 * Pre: addrs (if n > 0), opts, out != NULL; a snapshot is published before
 * the first query arrives.
 */
int rwd_tcp_start(const struct rw_sockaddr *addrs, size_t n, const struct rwd_tcp_opts *opts,
                  struct rwd_tcp **out);

/*
 * The TCP connection limit the descriptors allow: every connection holds
 * one, so max_clients is at most fd_limit (RLIMIT_NOFILE) minus open_now
 * (descriptors open already) minus reserve (kept for everything else:
 * health probes, API connections, reloads). Returns min(configured, what
 * is left), at least 1; configured 0 (no limit) counts as unbounded.
 */
unsigned rwd_tcp_clients_for_fds(unsigned configured, uint64_t fd_limit, uint64_t open_now,
                                 uint64_t reserve);

/*
 * Change max_clients (0: no limit) while t runs, e.g. when the descriptors
 * kept for health probes grow. Any thread. A lower limit applies at the next
 * connection, which then closes as many longest-idle ones as it takes.
 */
void rwd_tcp_set_max_clients(struct rwd_tcp *t, unsigned max_clients);

/* The port listener i (0-based, in the order given to rwd_tcp_start) is bound
 * to, in host order; -1 if i is out of range. */
int rwd_tcp_port(const struct rwd_tcp *t, size_t i);

/* Stop the loop, close every connection, join the thread, free t. NULL is allowed. */
void rwd_tcp_stop(struct rwd_tcp *t);
