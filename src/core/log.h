/*
 * log.h - diagnostics on stderr, and the JSON-lines access log.
 *
 * log_*() lines look like "2026-11-29T10:00:00Z warn store: message". The level is
 * set once at start-up (KAIFANG_LOG=debug|info|warn|error, default info). Thread-safe.
 */
#ifndef KAIFANG_CORE_LOG_H
#define KAIFANG_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Reads KAIFANG_LOG from the environment. */
void log_init_from_env(void);
__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
