#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "server/common/log.h"

static enum rwd_log_level max_level = RWD_LOG_INFO;
static const char *const names[] = { "error", "warning", "info", "debug" };

void rwd_log_set_level(enum rwd_log_level max) { max_level = max; }

void rwd_log(enum rwd_log_level level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	char line[1024], ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line: stdio locks the stream, so threads do not interleave. */
	fprintf(stderr, "%s.%03ldZ %s: %s\n", ts, now.tv_nsec / 1000000, names[level], line);
}
