/* smtp_data.c — DATA/BDAT content state machine. Runs in the workers.
 * Parses untrusted message data; a single pass with no lookahead
 * buffer beyond the state variable. */
#include "smtp_data.h"

#include <string.h>

enum {
	S_LINE_START,	/* after CRLF (or at the start of data) */
	S_WEAK_START,	/* after a normalized bare LF: '.' is plain text */
	S_DOT,		/* "." at a line start */
	S_DOT_CR,	/* ".\r" at a line start */
	S_TEXT,
	S_CR,		/* "\r" inside a line */
};

void smtp_data_init(struct smtp_data *d, bool bdat, bool normalize, size_t max_line)
{
	memset(d, 0, sizeof(*d));
	d->state = S_LINE_START;
	d->bdat = bdat;
	d->normalize = normalize;
	d->max_line = max_line;
}

unsigned smtp_data_reject_flags(const struct smtp_data *d)
{
	unsigned bad = SMTP_DATA_BARE_CR | SMTP_DATA_NUL | SMTP_DATA_LONG_LINE;
	if (!d->normalize)
		bad |= SMTP_DATA_BARE_LF;
	return d->flags & bad;
}

static void line_char(struct smtp_data *d, unsigned char c)
{
	if (++d->line_len > d->max_line)
		d->flags |= SMTP_DATA_LONG_LINE;
	if (c >= 0x80)
		d->flags |= SMTP_DATA_8BIT;
	else if (c == '\0')
		d->flags |= SMTP_DATA_NUL;
}

static void bare_lf(struct smtp_data *d, struct buf *out)
{
	d->flags |= SMTP_DATA_BARE_LF;
	buf_append(out, "\r\n", 2);
	d->line_len = 0;
	d->state = S_WEAK_START;
}

size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len, struct buf *out,
		      bool *done_r)
{
	size_t i = 0;
	*done_r = false;
	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		switch (d->state) {
		case S_LINE_START:
			if (c == '.' && !d->bdat) {
				d->state = S_DOT;
				i++;
				continue;
			}
			d->state = S_TEXT;
			continue;
		case S_WEAK_START:
			d->state = S_TEXT;
			continue;
		case S_DOT:
			if (c == '\r') {
				d->state = S_DOT_CR;
				i++;
				continue;
			}
			/* Dot-stuffed line: the leading dot goes away. */
			d->state = S_TEXT;
			continue;
		case S_DOT_CR:
			if (c == '\n') {
				*done_r = true;
				d->state = S_LINE_START;
				return i + 1;
			}
			/* ".\r" then something else: a bare CR in the text. */
			d->flags |= SMTP_DATA_BARE_CR;
			buf_append(out, "\r", 1);
			line_char(d, '\r');
			d->state = S_TEXT;
			continue;
		case S_CR:
			if (c == '\n') {
				buf_append(out, "\r\n", 2);
				d->line_len = 0;
				d->state = S_LINE_START;
				i++;
				continue;
			}
			d->flags |= SMTP_DATA_BARE_CR;
			buf_append(out, "\r", 1);
			line_char(d, '\r');
			d->state = S_TEXT;
			continue;
		case S_TEXT: {
			/* Fast path: copy a run of ordinary octets at once. */
			size_t start = i;
			while (i < len && in[i] != '\r' && in[i] != '\n') {
				line_char(d, (unsigned char)in[i]);
				i++;
			}
			if (i > start)
				buf_append(out, in + start, i - start);
			if (i >= len)
				return len;
			if (in[i] == '\r') {
				d->state = S_CR;
			} else {
				bare_lf(d, out);
			}
			i++;
			continue;
		}
		}
	}
	return len;
}
