/* line.c — line splitting with limits. Runs in the workers; handles
 * untrusted input without copying more than one bounded line. */
#include "line.h"

#include <string.h>

enum line_result line_next(const char *data, size_t len, size_t max,
			   size_t *line_len_r, size_t *consumed_r)
{
	size_t scan = len < max ? len : max;
	const char *lf = memchr(data, '\n', scan);
	if (lf == NULL)
		return len >= max ? LINE_TOO_LONG : LINE_NEED_MORE;
	size_t pos = (size_t)(lf - data);
	*consumed_r = pos + 1;
	*line_len_r = pos > 0 && data[pos - 1] == '\r' ? pos - 1 : pos;
	return LINE_OK;
}

enum line_take line_take(struct buf *in, size_t max, bool *discarding, char **line_r,
			 size_t *len_r)
{
	for (;;) {
		if (in->len == 0)
			return LINE_WAIT;
		size_t line_len, consumed;
		enum line_result r = line_next(in->data, in->len, max, &line_len, &consumed);
		if (r == LINE_NEED_MORE && !*discarding)
			return LINE_WAIT;
		if (r == LINE_OK && !*discarding) {
			*line_r = x_strndup(in->data, line_len);
			*len_r = line_len;
			buf_consume(in, consumed);
			return LINE_TAKEN;
		}
		/* Over-long: drop input up to the end of that line. */
		bool first = !*discarding;
		const char *lf = memchr(in->data, '\n', in->len);
		if (lf == NULL) {
			buf_reset(in);
			*discarding = true;
		} else {
			buf_consume(in, (size_t)(lf - in->data) + 1);
			*discarding = false;
		}
		if (first)
			return LINE_OVERLONG;
		if (lf == NULL)
			return LINE_WAIT;
	}
}
