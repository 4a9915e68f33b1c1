/* pop3_stuff.c — message file to POP3 multi-line response body:
 * dot-stuffing, CRLF line ends and TOP's line limit, streaming.
 * Runs in the workers. Its input is message content (untrusted). */
#include "pop3_stuff.h"

#include <string.h>

void pop3_stuff_init(struct pop3_stuff *st, bool top, uint32_t n)
{
	memset(st, 0, sizeof(*st));
	st->line_start = true;
	st->top = top;
	st->body_lines = n;
}

/* Called after each line end written; returns true when TOP is done. */
static bool end_of_line(struct pop3_stuff *st)
{
	bool empty = st->line_len == 0 || (st->line_len == 1 && st->prev_cr);
	st->line_start = true;
	st->prev_cr = false;
	st->line_len = 0;
	if (!st->in_body) {
		if (empty)
			st->in_body = true;
		else
			return false;
		return st->top && st->body_lines == 0;
	}
	if (!st->top)
		return false;
	return --st->body_lines == 0;
}

size_t pop3_stuff_feed(struct pop3_stuff *st, const char *data, size_t len, struct buf *out)
{
	if (st->done)
		return 0;
	size_t i = 0;
	while (i < len) {
		if (st->line_start) {
			st->line_start = false;
			if (data[i] == '.')
				buf_append_char(out, '.');
		}
		const char *lf = memchr(data + i, '\n', len - i);
		size_t end = lf != NULL ? (size_t)(lf - data) : len;
		if (end > i) {
			buf_append(out, data + i, end - i);
			size_t seg = end - i;
			st->line_len = st->line_len + seg > 2 ? 2 : st->line_len + (unsigned)seg;
			st->prev_cr = data[end - 1] == '\r';
		}
		if (lf == NULL)
			return len;
		/* A CR before the LF is already out; a bare LF gains one. */
		if (st->prev_cr)
			buf_append_char(out, '\n');
		else
			buf_append(out, "\r\n", 2);
		i = end + 1;
		if (end_of_line(st)) {
			st->done = true;
			return i;
		}
	}
	return len;
}

void pop3_stuff_finish(struct pop3_stuff *st, struct buf *out)
{
	if (!st->line_start)
		buf_append(out, st->prev_cr ? "\n" : "\r\n", st->prev_cr ? 1 : 2);
	buf_append(out, ".\r\n", 3);
	st->line_start = true;
	st->prev_cr = false;
	st->done = true;
}
