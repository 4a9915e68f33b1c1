/* xalloc.h — allocation that never returns NULL.
 * Out of memory is fatal (STYLE.md): callers need no NULL checks. */
#ifndef CORREU_XALLOC_H
#define CORREU_XALLOC_H

#include <stddef.h>
#include <stdarg.h>

#define ATTR_FORMAT(f, a) __attribute__((format(printf, f, a)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

void *x_malloc(size_t size);
/* Zero-filled; checks n * size for overflow. */
void *x_calloc(size_t n, size_t size);
void *x_realloc(void *p, size_t size);
/* Grows an array of n elements of size bytes each; overflow is fatal. */
void *x_reallocarray(void *p, size_t n, size_t size);
char *x_strdup(const char *s);
/* Copies at most n bytes and NUL-terminates. */
char *x_strndup(const char *s, size_t n);
void *x_memdup(const void *p, size_t n);
char *x_asprintf(const char *fmt, ...) ATTR_FORMAT(1, 2);
char *x_vasprintf(const char *fmt, va_list ap) ATTR_FORMAT(1, 0);

/* Frees *pp and sets it to NULL. */
#define x_free(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
