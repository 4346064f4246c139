/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"

int rw_dname_unpack(const uint8_t *msg, size_t msg_len, size_t *pos, uint8_t *out)
{
	size_t p = *pos, end = 0, len = 0;
	size_t limit = p;           /* pointers must go strictly below this */
	bool jumped = false;

	for (;;) {
		if (p >= msg_len)
			return RW_EMALFORMED;
		uint8_t l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= msg_len)
				return RW_EMALFORMED;
			size_t target = (size_t)(l & 0x3f) << 8 | msg[p + 1];
			if (!jumped)
				end = p + 2;
			/* Strictly backwards, so every jump shrinks the window: no loops. */
			if (target >= limit)
				return RW_EMALFORMED;
			limit = target;
			p = target;
			jumped = true;
			continue;
		}
		if (l & 0xc0)   /* 0x40/0x80: extended label types, obsolete (RFC 6891 5) */
			return RW_EMALFORMED;
		if (p + 1 + l > msg_len || len + 1 + l > RW_DNAME_MAXLEN)
			return RW_EMALFORMED;
		memcpy(out + len, msg + p, 1 + (size_t)l);
		len += 1 + (size_t)l;
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	*pos = jumped ? end : p;
	return (int)len;
}

size_t rw_dname_len(const uint8_t *dn)
{
	const uint8_t *p = dn;
	while (*p)
		p += *p + 1;
	return (size_t)(p - dn) + 1;
}

unsigned rw_dname_labels(const uint8_t *dn)
{
	unsigned n = 0;
	for (; *dn; dn += *dn + 1)
		n++;
	return n;
}

static inline uint8_t lc(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

void rw_dname_lower(uint8_t *dn)
{
	while (*dn) {
		uint8_t l = *dn++;
		for (uint8_t i = 0; i < l; i++)
			dn[i] = lc(dn[i]);
		dn += l;
	}
}

bool rw_dname_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		uint8_t l = *a;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++)
			if (lc(a[i]) != lc(b[i]))
				return false;
		a += l + 1;
		b += l + 1;
	}
}

const uint8_t *rw_dname_suffix(const uint8_t *dn, unsigned labels)
{
	unsigned n = rw_dname_labels(dn);
	while (n > labels) {
		dn += *dn + 1;
		n--;
	}
	return dn;
}

bool rw_dname_is_sub(const uint8_t *name, const uint8_t *parent)
{
	unsigned nl = rw_dname_labels(name), pl = rw_dname_labels(parent);
	return nl >= pl && rw_dname_eq(rw_dname_suffix(name, pl), parent);
}

int rw_dname_from_str(const char *str, const uint8_t *origin, uint8_t *out)
{
	size_t len = 0;
	const char *s = str;

	if (s[0] == '.' && s[1] == '\0') {
		out[0] = 0;
		return 1;
	}
	if (s[0] == '@' && s[1] == '\0' && origin != NULL) {
		size_t ol = rw_dname_len(origin);
		memcpy(out, origin, ol);
		return (int)ol;
	}
	while (*s) {
		size_t lab = len++;
		uint8_t n = 0;
		while (*s && *s != '.') {
			int c = (unsigned char)*s++;
			if (c == '\\') {
				if (s[0] >= '0' && s[0] <= '9') {
					if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
						return RW_EMALFORMED;
					c = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
					if (c > 255)
						return RW_EMALFORMED;
					s += 3;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return RW_EMALFORMED;
				}
			}
			if (n == RW_LABEL_MAXLEN || len + 1 >= RW_DNAME_MAXLEN)
				return RW_EMALFORMED;
			out[len++] = (uint8_t)c;
			n++;
		}
		if (n == 0)                 /* empty label: "a..b" or leading dot */
			return RW_EMALFORMED;
		out[lab] = n;
		if (*s == '.') {
			s++;
			if (*s == '\0') {       /* absolute */
				out[len++] = 0;
				return (int)len;
			}
		}
	}
	/* Relative name: append the origin, or the root when there is none. */
	size_t ol = origin ? rw_dname_len(origin) : 1;
	if (len + ol > RW_DNAME_MAXLEN)
		return RW_EMALFORMED;
	if (origin)
		memcpy(out + len, origin, ol);
	else
		out[len] = 0;
	return (int)(len + ol);
}

int rw_dname_to_str(const uint8_t *dn, char *out, size_t out_size)
{
	size_t o = 0;
	if (*dn == 0) {
		if (out_size < 2)
			return RW_ESPACE;
		memcpy(out, ".", 2);
		return 1;
	}
	while (*dn) {
		uint8_t l = *dn++;
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = dn[i];
			char tmp[5];
			int n;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
			    c == '@' || c == '$') {
				tmp[0] = '\\'; tmp[1] = (char)c; n = 2;
			} else if (c <= 0x20 || c >= 0x7f) {
				n = snprintf(tmp, sizeof(tmp), "\\%03u", c);
			} else {
				tmp[0] = (char)c; n = 1;
			}
			if (o + (size_t)n + 2 > out_size)
				return RW_ESPACE;
			memcpy(out + o, tmp, (size_t)n);
			o += (size_t)n;
		}
		out[o++] = '.';
		dn += l;
	}
	out[o] = '\0';
	return (int)o;
}
