/* log.c — line logging to stderr and syslog. Runs in every process.
 * Writes each line with a single write(2) so lines from several
 * processes sharing stderr do not interleave. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_process[32] = "correu";
static enum log_level log_level = LOG_LEVEL_INFO;
static bool log_syslog;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_process(const char *name)
{
	snprintf(log_process, sizeof(log_process), "%s", name);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *s, enum log_level *level_r)
{
	for (size_t i = 0; i < N_ELEMENTS(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*level_r = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

void log_enable_syslog(const char *facility)
{
	int fac = LOG_MAIL;
	if (facility != NULL && strncasecmp(facility, "local", 5) == 0 &&
	    facility[5] >= '0' && facility[5] <= '7' && facility[6] == '\0')
		fac = LOG_LOCAL0 + (facility[5] - '0') * (LOG_LOCAL1 - LOG_LOCAL0);
	else if (facility != NULL && strcasecmp(facility, "daemon") == 0)
		fac = LOG_DAEMON;
	openlog("correu", LOG_PID | LOG_NDELAY, fac);
	log_syslog = true;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level < log_level)
		return;
	int saved_errno = errno;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ correu[%d] %s: %s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(),
			 log_process,
			 level >= LOG_LEVEL_WARN ? (level == LOG_LEVEL_WARN ? "warning: " : "error: ") : "");
	if (n < 0)
		n = 0;
	size_t prefix = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	int m = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
	size_t len = prefix + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* Control characters from peers must not forge log lines. */
	for (size_t i = prefix; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
	line[len++] = '\n';
	ssize_t ret ATTR_UNUSED = write(STDERR_FILENO, line, len);
	if (log_syslog) {
		static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
		line[len - 1] = '\0';
		syslog(prio[level], "%s: %s", log_process, line + prefix);
	}
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	abort();
}
