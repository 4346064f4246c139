/*
 * Logging to stderr, one line per event: "TIME LEVEL: message".
 * Never called on the per-query fast path.
 */
#pragma once

enum rwd_log_level { RWD_LOG_ERROR, RWD_LOG_WARNING, RWD_LOG_INFO, RWD_LOG_DEBUG };

void rwd_log_set_level(enum rwd_log_level max);
void rwd_log(enum rwd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rwd_error(...) rwd_log(RWD_LOG_ERROR, __VA_ARGS__)
#define rwd_warn(...)  rwd_log(RWD_LOG_WARNING, __VA_ARGS__)
#define rwd_info(...)  rwd_log(RWD_LOG_INFO, __VA_ARGS__)
#define rwd_debug(...) rwd_log(RWD_LOG_DEBUG, __VA_ARGS__)
