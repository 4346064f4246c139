/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Addresses and prefixes in text (addr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/addr.h"
#include "lib/error.h"

int rw_addr_parse(const char *text, struct rw_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, out->bytes) != 1)
			return RW_EMALFORMED;
		out->family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, text, out->bytes) != 1)
			return RW_EMALFORMED;
		out->family = AF_INET;
	}
	return 0;
}

int rw_prefix_parse(const char *text, struct rw_addr *addr, uint8_t *len)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return RW_EMALFORMED;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (rw_addr_parse(host, addr) != 0)
		return RW_EMALFORMED;
	unsigned max = addr->family == AF_INET ? 32 : 128, v = 0;
	if (!slash) {
		v = max;
	} else {
		const char *p = slash + 1;
		if (!*p || (p[0] == '0' && p[1]))   /* digits, no leading zeros */
			return RW_EMALFORMED;
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned)(*p - '0')) > max)
				return RW_EMALFORMED;
		}
	}
	*len = (uint8_t)v;
	for (unsigned bit = v; bit < max; bit++)
		if (addr->bytes[bit / 8] & (0x80 >> (bit % 8)))
			return RW_EINVAL;
	return 0;
}

void rw_prefix_format(const struct rw_addr *addr, uint8_t len, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	inet_ntop(addr->family == AF_INET ? AF_INET : AF_INET6, addr->bytes, host, sizeof(host));
	snprintf(buf, size, "%s/%u", host, len);
}

int rw_sockaddr_parse(const char *text, uint16_t default_port, struct rw_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *port = NULL, *colon = strchr(text, ':');
	size_t hlen;
	bool v6;
	unsigned long long p = default_port;

	if (text[0] == '[') {                    /* [ADDR6] or [ADDR6]:PORT */
		const char *end = strchr(text, ']');
		if (!end || (end[1] && end[1] != ':'))
			return RW_EINVAL;
		text++;
		hlen = (size_t)(end - text);
		port = end[1] ? end + 2 : NULL;
		v6 = true;
	} else if (colon && !strchr(colon + 1, ':')) {  /* one colon: ADDR4:PORT */
		hlen = (size_t)(colon - text);
		port = colon + 1;
		v6 = false;
	} else {                                 /* bare ADDR4, or bare ADDR6 (2+ colons) */
		hlen = strlen(text);
		v6 = colon != NULL;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return RW_EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (port) {                              /* 1..65535, digits only */
		const char *d = port;
		for (p = 0; *d >= '0' && *d <= '9' && p <= 65535; d++)
			p = p * 10 + (unsigned long long)(*d - '0');
		if (d == port || *d || p == 0 || p > 65535)
			return RW_EINVAL;
	}

	memset(out, 0, sizeof(*out));
	if (v6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&out->addr;
		if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
			return RW_EINVAL;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons((uint16_t)p);
		out->addr_len = sizeof(*sa);
		inet_ntop(AF_INET6, &sa->sin6_addr, host, sizeof(host));
		snprintf(out->text, sizeof(out->text), "[%s]:%llu", host, p);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&out->addr;
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return RW_EINVAL;
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)p);
		out->addr_len = sizeof(*sa);
		inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
		snprintf(out->text, sizeof(out->text), "%s:%llu", host, p);
	}
	return 0;
}
