/* Addresses and prefixes in text (addr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
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

