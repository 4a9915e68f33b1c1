/* delivery_body.c — dot-stuffing and chunked reading of queued messages
 * for the outbound client. Runs in the queue process. The message bytes
 * were accepted earlier; they are copied, never interpreted. */
#include "delivery_body.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void delivery_stuffer_init(struct delivery_stuffer *st)
{
	st->line_start = true;
	st->last_cr = false;
	st->any = false;
	st->last_crlf = false;
}

void delivery_stuffer_add(struct delivery_stuffer *st, const char *in, size_t len,
			  struct buf *out)
{
	size_t i = 0;
	while (i < len) {
		if (st->line_start && in[i] == '.')
			buf_append_char(out, '.');
		st->line_start = false;
		/* Copy up to the next LF in one go. */
		const char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - in) : len;
		if (end > i) {
			buf_append(out, in + i, end - i);
			st->last_cr = in[end - 1] == '\r';
			st->last_crlf = false;
			st->any = true;
		}
		if (nl == NULL)
			break;
		if (!(end > i ? in[end - 1] == '\r' : st->last_cr))
			buf_append_char(out, '\r');
		buf_append_char(out, '\n');
		st->any = true;
		st->last_cr = false;
		st->last_crlf = true;
		st->line_start = true;
		i = end + 1;
	}
}

void delivery_stuffer_finish(struct delivery_stuffer *st, struct buf *out)
{
	if (st->any && !st->last_crlf)
		buf_append_str(out, "\r\n");
	buf_append_str(out, ".\r\n");
	delivery_stuffer_init(st);
}

void delivery_body_init_file(struct delivery_body *b, int fd, off_t start, uint64_t size)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->off = start;
	b->end = start + (off_t)size;
}

void delivery_body_init_mem(struct delivery_body *b, struct buf *data)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->mem = *data;
	buf_init(data);
}

void delivery_body_free(struct delivery_body *b)
{
	buf_free(&b->mem);
}

uint64_t delivery_body_size(const struct delivery_body *b)
{
	return b->fd >= 0 ? (uint64_t)(b->end - b->off) : (uint64_t)(b->mem.len - b->mem_pos);
}

ssize_t delivery_body_read(struct delivery_body *b, size_t max, struct buf *out)
{
	if (b->fd < 0) {
		size_t n = b->mem.len - b->mem_pos;
		if (n > max)
			n = max;
		buf_append(out, b->mem.data + b->mem_pos, n);
		b->mem_pos += n;
		return (ssize_t)n;
	}
	size_t left = (size_t)(b->end - b->off);
	if (left > max)
		left = max;
	if (left == 0)
		return 0;
	char *w = buf_reserve(out, left);
	ssize_t n;
	do {
		n = pread(b->fd, w, left, b->off);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0) {
		/* The file is shorter than its envelope says. */
		errno = EIO;
		return -1;
	}
	buf_commit(out, (size_t)n);
	b->off += n;
	return n;
}
