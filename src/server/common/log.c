/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "server/common/log.h"

static enum rwd_log_level max_level = RWD_LOG_INFO;
static const char *const names[] = { "error", "warning", "info", "debug" };

void rwd_log_set_level(enum rwd_log_level max) { max_level = max; }

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0. Overlong forms,
 * surrogates and code points past U+10FFFF are not well-formed (RFC 3629). */
static size_t utf8_len(const unsigned char *s, unsigned long *cp)
{
	unsigned char c = s[0];
	size_t n;
	unsigned long v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)   /* also stops at the terminating NUL */
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

size_t rwd_log_escape(char *out, size_t cap, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;
	if (cap == 0)
		return 0;
	while (*p) {
		unsigned long cp = *p;
		size_t n = *p < 0x80 ? 1 : utf8_len(p, &cp);
		/* C0 controls and DEL; C1 controls and the Unicode line and
		 * paragraph separators (some log readers break lines there too);
		 * bytes that are not UTF-8. */
		bool esc = n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
		           cp == 0x2028 || cp == 0x2029;
		if (esc) {
			size_t k = n ? n : 1;
			if (o + 4 * k >= cap)
				break;
			for (size_t i = 0; i < k; i++) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[p[i] >> 4];
				out[o++] = hex[p[i] & 15];
			}
			p += k;
		} else {
			if (o + n >= cap)
				break;
			for (size_t i = 0; i < n; i++)
				out[o++] = (char)*p++;
		}
	}
	out[o] = '\0';
	return o;
}

void rwd_log(enum rwd_log_level level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	char line[1024], safe[4 * sizeof(line)], ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Messages carry text from clients (API paths, names, reasons from
	 * remote servers): with control characters escaped here, once, no
	 * caller can let a client start a line of its own. */
	rwd_log_escape(safe, sizeof(safe), line);
	/* One fprintf per line: stdio locks the stream, so threads do not interleave. */
	fprintf(stderr, "%s.%03ldZ %s: %s\n", ts, now.tv_nsec / 1000000, names[level], safe);
}
