/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * IP addresses and prefixes as the configuration, access lists, steering
 * and the tools write them: "192.0.2.1", "2001:db8::/32". No I/O, no state.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rw_addr {
	int family;                    /* AF_INET or AF_INET6 */
	uint8_t bytes[16];             /* 4 used for AF_INET */
};

/* "192.0.2.1" or "2001:db8::1" (no port, no scope). Returns 0 or RW_EMALFORMED.
 * Pre: text != NULL. */
int rw_addr_parse(const char *text, struct rw_addr *out);

/*
 * "ADDR/LEN" (LEN 0..32 for IPv4, 0..128 for IPv6); a bare address means a
 * single host (/32, /128). Returns 0, RW_EMALFORMED (not a prefix) or
 * RW_EINVAL (well formed, but bits beyond LEN are set).
 */
int rw_prefix_parse(const char *text, struct rw_addr *addr, uint8_t *len);

/* "ADDR/LEN", NUL-terminated, truncated to size. RW_PREFIX_STRLEN always fits. */
#define RW_PREFIX_STRLEN 52
void rw_prefix_format(const struct rw_addr *addr, uint8_t len, char *buf, size_t size);

/* A socket address to listen on or connect to, with its canonical text. */
struct rw_sockaddr {
	struct sockaddr_storage addr;  /* AF_INET or AF_INET6, port set */
	socklen_t addr_len;
	char text[64];                 /* canonical, for logs: "127.0.0.1:5353", "[::1]:53" */
};

/* "ADDR4", "ADDR4:PORT", "ADDR6" (two colons or more), "[ADDR6]" or
 * "[ADDR6]:PORT"; default_port when none is given. Returns 0 or RW_EINVAL
 * (out is then undefined). */
int rw_sockaddr_parse(const char *text, uint16_t default_port, struct rw_sockaddr *out);
