/* buf.h — growable, binary-safe byte buffer with an optional hard limit.
 * The contents are always NUL-terminated past len (not counted), so a
 * buffer holding text can be passed as a C string. */
#ifndef CORREU_BUF_H
#define CORREU_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include "xalloc.h"

struct buf {
	char *data;	/* NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
/* Makes room for at least n more bytes; returns the write position. */
char *buf_reserve(struct buf *b, size_t n);
/* Marks n bytes written at buf_reserve()'s position as used. */
void buf_commit(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
/* Decimal digits of v, without printf (hot paths: FETCH, UID sets). */
void buf_append_u32(struct buf *out, uint32_t v);
void buf_appendf(struct buf *b, const char *fmt, ...) ATTR_FORMAT(2, 3);
void buf_vappendf(struct buf *b, const char *fmt, va_list ap) ATTR_FORMAT(2, 0);
/* Removes n bytes from the front. */
void buf_consume(struct buf *b, size_t n);
/* Detaches the data (NUL-terminated, caller frees); the buffer is empty. */
char *buf_steal(struct buf *b);
/* Returns the contents as a C string ("" when empty). */
const char *buf_cstr(const struct buf *b);
/* Frees the memory if the buffer is empty and bigger than keep bytes;
 * keeps idle connections small. */
void buf_shrink_idle(struct buf *b, size_t keep);

#endif
