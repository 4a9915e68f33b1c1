/* xalloc.c — allocation wrappers; out of memory ends the process.
 * Runs in every process. */
#include "xalloc.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t size) ATTR_NORETURN;
static void oom(size_t size)
{
	log_fatal("out of memory allocating %zu bytes", size);
}

void *x_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		oom(size);
	return p;
}

void *x_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *x_realloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (q == NULL)
		oom(size);
	return q;
}

void *x_reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	return x_realloc(p, n * size);
}

char *x_strdup(const char *s)
{
	return x_memdup(s, strlen(s) + 1);
}

char *x_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = x_malloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *x_memdup(const void *p, size_t n)
{
	void *q = x_malloc(n);
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

char *x_vasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom(strlen(fmt));
	return s;
}

char *x_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = x_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}
