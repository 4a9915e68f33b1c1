/* buf.c — growable byte buffer. Runs in every process. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t want = b->len + n + 1;
		size_t cap = b->cap ? b->cap : 64;
		while (cap < want) {
			if (cap > ((size_t)-1) / 2)
				cap = want;
			else
				cap *= 2;
		}
		b->data = x_realloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	char *w = buf_reserve(b, n);
	if (n > 0)
		memcpy(w, p, n);
	buf_commit(b, n);
}

void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_append_u32(struct buf *out, uint32_t v)
{
	char tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	char *w = buf_reserve(out, n);
	for (size_t i = 0; i < n; i++)
		w[i] = tmp[n - 1 - i];
	buf_commit(out, n);
}

void buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	char *w = buf_reserve(b, 128);
	int n = vsnprintf(w, b->cap - b->len, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		w = buf_reserve(b, (size_t)n);
		vsnprintf(w, b->cap - b->len, fmt, ap2);
	}
	va_end(ap2);
	buf_commit(b, (size_t)n);
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vappendf(b, fmt, ap);
	va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *buf_steal(struct buf *b)
{
	if (b->data == NULL)
		return x_strdup("");
	char *p = b->data;
	buf_init(b);
	return p;
}

const char *buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

void buf_shrink_idle(struct buf *b, size_t keep)
{
	if (b->len == 0 && b->cap > keep)
		buf_free(b);
}
