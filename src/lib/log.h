/* log.h — one line per event to stderr and, when enabled, syslog.
 * Lines look like: 2026-11-28T10:00:00Z correu[123] worker: message */
#ifndef CORREU_LOG_H
#define CORREU_LOG_H

#include <stdbool.h>
#include <stdarg.h>
#include "xalloc.h"

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* Sets the process name printed on every line ("master", "worker", ...). */
void log_set_process(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_level_parse(const char *s, enum log_level *level_r);
/* Also sends lines to syslog with the given facility name ("mail"). */
void log_enable_syslog(const char *facility);

void log_msg(enum log_level level, const char *fmt, ...) ATTR_FORMAT(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) ATTR_FORMAT(2, 0);

#define log_debug(...) \
	do { if (log_get_level() <= LOG_LEVEL_DEBUG) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* This process cannot go on: logs and exits with status 1 (the master
 * restarts children). */
void log_fatal(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;
/* A bug: logs and aborts. */
void log_panic(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;

#define i_assert(expr) \
	do { if (!(expr)) log_panic("assertion failed: %s (%s:%d)", #expr, __FILE__, __LINE__); } while (0)

#endif
