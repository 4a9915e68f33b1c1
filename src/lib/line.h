/* line.h — splitting protocol input into lines with a hard length
 * limit, shared by the line-based protocols (SMTP commands, POP3).
 * Lines end in CRLF or a bare LF; the terminator is not returned. */
#ifndef CORREU_LINE_H
#define CORREU_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

enum line_result {
	LINE_OK,		/* a full line: [0, line_len) */
	LINE_NEED_MORE,		/* no line end yet, still under the limit */
	LINE_TOO_LONG,		/* no line end within max bytes */
};

/* Finds the next line in data[0..len) within max bytes (terminator
 * included). *consumed_r is the length including the terminator. */
enum line_result line_next(const char *data, size_t len, size_t max,
			   size_t *line_len_r, size_t *consumed_r);

enum line_take {
	LINE_TAKEN,		/* *line_r (caller frees) holds the next line */
	LINE_WAIT,		/* nothing complete yet */
	LINE_OVERLONG,		/* a line exceeded max: answer with an error */
};

/* Moves the next line out of in. An over-long line is reported once as
 * LINE_OVERLONG; the rest of it is then dropped as it arrives, with
 * *discarding (session state, initially false) remembering that. The
 * line is copied out so the caller may reset or drop in (STARTTLS). */
enum line_take line_take(struct buf *in, size_t max, bool *discarding, char **line_r,
			 size_t *len_r);

#endif
