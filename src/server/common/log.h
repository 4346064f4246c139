/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Logging to stderr, one line per event: "TIME LEVEL: message".
 * Never called on the per-query fast path.
 *
 * Every message is escaped before it is written (rwd_log_escape): a
 * control character, a byte that is not UTF-8, a C1 control or U+2028/9
 * becomes \xNN per byte, so text that came from a client (an API path,
 * a reason from a probed server) can never start a line of its own.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum rwd_log_level { RWD_LOG_ERROR, RWD_LOG_WARNING, RWD_LOG_INFO, RWD_LOG_DEBUG };

void rwd_log_set_level(enum rwd_log_level max);
void rwd_log(enum rwd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Copy in to out (cap bytes, cap > 0), with what the log must not carry
 * escaped as \xNN (see above); printable ASCII and well-formed UTF-8 are
 * copied as they are. Stops before a character that would not fit whole;
 * out is always terminated. Returns the length written.
 */
size_t rwd_log_escape(char *out, size_t cap, const char *in);

#define rwd_error(...) rwd_log(RWD_LOG_ERROR, __VA_ARGS__)
#define rwd_warn(...)  rwd_log(RWD_LOG_WARNING, __VA_ARGS__)
#define rwd_info(...)  rwd_log(RWD_LOG_INFO, __VA_ARGS__)
#define rwd_debug(...) rwd_log(RWD_LOG_DEBUG, __VA_ARGS__)
