/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Access lists (acl.h). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/error.h"
#include "server/common/acl.h"

static bool in_prefix(const struct rwd_acl_prefix *p, const uint8_t *bytes)
{
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(p->bytes, bytes, full) != 0)
		return false;
	return rest == 0 || ((p->bytes[full] ^ bytes[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool rwd_acl_match_bytes(const struct rwd_acl *acl, int family, const uint8_t *bytes)
{
	if (acl->any)
		return true;
	for (uint32_t i = 0; i < acl->n; i++)
		if (acl->v[i].family == family && in_prefix(&acl->v[i], bytes))
			return true;
	return false;
}

bool rwd_acl_match(const struct rwd_acl *acl, const struct sockaddr *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (acl->any)
		return true;
	if (addr == NULL)
		return false;
	if (addr->sa_family == AF_INET)
		return rwd_acl_match_bytes(acl, AF_INET,
		                           (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr);
	if (addr->sa_family != AF_INET6)
		return false;
	const uint8_t *b = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
	if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0)
		return rwd_acl_match_bytes(acl, AF_INET, b + 12);
	return rwd_acl_match_bytes(acl, AF_INET6, b);
}

static int append(struct rwd_acl *acl, const struct rwd_acl_prefix *p, uint32_t n)
{
	if (n == 0)
		return 0;
	struct rwd_acl_prefix *v = realloc(acl->v, (acl->n + (size_t)n) * sizeof(*v));
	if (!v)
		return RW_ENOMEM;
	memcpy(v + acl->n, p, n * sizeof(*v));
	acl->v = v;
	acl->n += n;
	return 0;
}

int rwd_acl_add_text(struct rwd_acl *acl, const char *text)
{
	struct rw_addr a;
	struct rwd_acl_prefix p = { 0 };
	int rc = rw_prefix_parse(text, &a, &p.len);
	if (rc)
		return rc;
	p.family = (uint8_t)a.family;
	memcpy(p.bytes, a.bytes, sizeof(p.bytes));
	return append(acl, &p, 1);
}

int rwd_acl_merge(struct rwd_acl *dst, const struct rwd_acl *src)
{
	dst->any = dst->any || src->any;
	return append(dst, src->v, src->n);
}

int rwd_acl_copy(struct rwd_acl *dst, const struct rwd_acl *src)
{
	*dst = (struct rwd_acl){ .any = src->any };
	return append(dst, src->v, src->n);
}

void rwd_acl_free(struct rwd_acl *acl)
{
	if (!acl)
		return;
	free(acl->v);
	*acl = (struct rwd_acl){ 0 };
}

void rwd_acl_format(const struct rwd_acl *acl, char *buf, size_t size)
{
	size_t pos = 0;
	if (size == 0)
		return;
	buf[0] = '\0';
	if (acl->any || acl->n == 0) {
		snprintf(buf, size, "%s", acl->any ? "any" : "none");
		return;
	}
	for (uint32_t i = 0; i < acl->n && pos < size; i++) {
		char one[RW_PREFIX_STRLEN];
		struct rw_addr a = { .family = acl->v[i].family };
		memcpy(a.bytes, acl->v[i].bytes, sizeof(a.bytes));
		rw_prefix_format(&a, acl->v[i].len, one, sizeof(one));
		int n = snprintf(buf + pos, size - pos, "%s%s", i ? ", " : "", one);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
}
