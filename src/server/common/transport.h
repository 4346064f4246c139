/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the query pipeline needs to know of the transport a message came
 * over: one constant descriptor per transport, passed by pointer with each
 * query (struct rwd_query.transport). The pipeline asks the properties
 * (datagram, address_verified, ...), never which transport it is; kind only
 * indexes counters (common/stats.h), name labels them.
 *
 * A new transport (DoT, DoH, DoQ, XDP) adds a kind and a descriptor here.
 */
#pragma once
#include <stdbool.h>

enum rwd_transport_kind {
	RWD_TRANSPORT_UDP,
	RWD_TRANSPORT_TCP,
	RWD_TRANSPORT_KINDS
};

struct rwd_transport {
	enum rwd_transport_kind kind;  /* index of the per-transport counters */
	const char *name;              /* "udp": metric label, logs */
	bool datagram;                 /* one message per datagram: the client's EDNS size
	                                * (512 without EDNS) bounds the answer, which is
	                                * truncated (TC) past it; no zone transfers */
	bool address_verified;         /* a handshake proved the client's address: no rate
	                                * limiting, no BADCOOKIE, answers of any size */
	bool encrypted;                /* TLS, HTTPS, QUIC */
};

extern const struct rwd_transport rwd_transport_udp;
extern const struct rwd_transport rwd_transport_tcp;
/* By kind. */
extern const struct rwd_transport *const rwd_transports[RWD_TRANSPORT_KINDS];
