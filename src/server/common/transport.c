/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The transport descriptors (transport.h). */
#include "server/common/transport.h"

const struct rwd_transport rwd_transport_udp = {
	.kind = RWD_TRANSPORT_UDP, .name = "udp", .datagram = true,
};

const struct rwd_transport rwd_transport_tcp = {
	.kind = RWD_TRANSPORT_TCP, .name = "tcp", .address_verified = true,
};

const struct rwd_transport *const rwd_transports[RWD_TRANSPORT_KINDS] = {
	[RWD_TRANSPORT_UDP] = &rwd_transport_udp,
	[RWD_TRANSPORT_TCP] = &rwd_transport_tcp,
};
