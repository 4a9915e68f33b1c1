/* pop3_stuff.h — turns a message file into the body of a POP3 multi-line
 * response (RFC 1939 3): lines starting with '.' get another '.', every
 * line ends in CRLF (a bare LF gains a CR), and TOP stops after the
 * header and n body lines. A streaming layer: fed any split of the file,
 * it produces the same bytes. Pure; never touches a socket. */
#ifndef CORREU_POP3_STUFF_H
#define CORREU_POP3_STUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct pop3_stuff {
	bool line_start;	/* the next byte begins a line */
	bool prev_cr;		/* the last byte written was CR */
	bool in_body;		/* past the empty line ending the header */
	unsigned line_len;	/* octets of the current line, up to 2 */
	bool top;		/* stop after body_lines body lines */
	bool done;		/* TOP's limit reached: ignore the rest */
	uint32_t body_lines;	/* TOP: body lines still to send */
};

/* Starts a RETR (top false) or TOP with n body lines. */
void pop3_stuff_init(struct pop3_stuff *st, bool top, uint32_t n);

/* Converts data[0..len) and appends the result to out. Returns the
 * number of input bytes used: len, or fewer once TOP's limit is reached
 * (st->done is then set and further input is ignored). */
size_t pop3_stuff_feed(struct pop3_stuff *st, const char *data, size_t len, struct buf *out);

/* Ends the response: a CRLF if the content did not end with a line
 * end, then ".\r\n". */
void pop3_stuff_finish(struct pop3_stuff *st, struct buf *out);

#endif
