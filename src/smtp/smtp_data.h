/* smtp_data.h — the message-data state machine for DATA and BDAT: finds
 * the end of data (only CRLF "." CRLF ends DATA), removes dot-stuffing,
 * and flags bare CR, bare LF, NUL and over-long lines. Because only the
 * exact RFC 5321 sequence ends DATA and content with bare CR/LF is
 * rejected, SMTP smuggling ("\n.\n", "\r\n.\n" ...) cannot split one
 * message into two. Bytes in, bytes out; no I/O. */
#ifndef CORREU_SMTP_DATA_H
#define CORREU_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

enum smtp_data_flags {
	SMTP_DATA_BARE_LF = 1 << 0,
	SMTP_DATA_BARE_CR = 1 << 1,
	SMTP_DATA_NUL = 1 << 2,
	SMTP_DATA_LONG_LINE = 1 << 3,
	SMTP_DATA_8BIT = 1 << 4,
};

struct smtp_data {
	int state;
	unsigned flags;		/* enum smtp_data_flags seen so far */
	size_t line_len;	/* octets in the current line so far */
	size_t max_line;	/* limit without CRLF (998 by default) */
	bool bdat;		/* no dot handling, no end marker */
	bool normalize;		/* bare LF becomes CRLF instead of an error */
};

/* max_line: longest line allowed without its CRLF. */
void smtp_data_init(struct smtp_data *d, bool bdat, bool normalize, size_t max_line);
/* Consumes input, appending message content (unstuffed, CRLF line ends)
 * to out. Returns the number of input bytes used; *done_r becomes true at
 * the end-of-data line (DATA only), whose bytes are consumed but not
 * output. */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len, struct buf *out,
		      bool *done_r);
/* The flags that make the content unacceptable (bare CR/LF unless
 * normalizing, NUL, long lines). */
unsigned smtp_data_reject_flags(const struct smtp_data *d);

#endif
