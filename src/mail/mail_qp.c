/* mail_qp.c — streaming quoted-printable decoder and encoder (RFC 2045
 * 6.7). Pure functions used by IMAP BINARY, webmail and the 8-bit
 * downgrade. Decodes untrusted input leniently. */
#include "mail_qp.h"

#include <string.h>

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void mail_qp_decoder_init(struct mail_qp_decoder *d)
{
	buf_init(&d->pending);
	d->invalid = false;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* pending holds one of: "" ; "=" ; "=H" ; "=" + [ \t]* + "\r"? ;
 * [ \t]* + "\r"? (trailing whitespace candidates). */
static void qp_byte(struct mail_qp_decoder *d, char c, struct buf *out)
{
	struct buf *pd = &d->pending;
	for (;;) {
		if (pd->len == 0) {
			if (c == '=' || is_ws(c) || c == '\r')
				buf_append_char(pd, c);
			else if (c == '\n')
				buf_append(out, "\r\n", 2);
			else
				buf_append_char(out, c);
			return;
		}
		const char *p = pd->data;
		char last = p[pd->len - 1];
		if (p[0] == '=') {
			if (pd->len == 1 && hexval((unsigned char)c) >= 0) {
				buf_append_char(pd, c);
				return;
			}
			if (pd->len == 2 && hexval((unsigned char)p[1]) >= 0) {
				if (hexval((unsigned char)c) >= 0) {
					buf_append_char(out, (char)(hexval((unsigned char)p[1]) * 16 +
								   hexval((unsigned char)c)));
					buf_reset(pd);
					return;
				}
				goto invalid;
			}
			/* "=" [ws...] [\r] : soft line break candidate */
			if (last != '\r' && (is_ws(c) || c == '\r')) {
				buf_append_char(pd, c);
				return;
			}
			if (c == '\n') {
				buf_reset(pd);	/* soft break */
				return;
			}
			goto invalid;
		}
		/* trailing whitespace (and maybe a CR) */
		if (last != '\r' && is_ws(c)) {
			buf_append_char(pd, c);
			return;
		}
		if (last != '\r' && c == '\r') {
			buf_append_char(pd, c);
			return;
		}
		if (c == '\n') {
			/* whitespace at line end is dropped (RFC 2045 rule 3) */
			buf_reset(pd);
			buf_append(out, "\r\n", 2);
			return;
		}
		/* whitespace inside the line: keep it, then handle c anew */
		buf_append(out, pd->data, pd->len);
		buf_reset(pd);
		continue;
invalid:
		/* malformed "=": copy the '=' as is and reread the rest */
		d->invalid = true;
		{
			struct buf rest = BUF_INIT;
			buf_append(&rest, pd->data + 1, pd->len - 1);
			buf_reset(pd);
			buf_append_char(out, '=');
			for (size_t i = 0; i < rest.len; i++)
				qp_byte(d, rest.data[i], out);
			buf_free(&rest);
		}
		/* rest never starts with '=' again unless it is "=" itself,
		   which qp_byte buffers; then handle c */
	}
}

void mail_qp_decode_more(struct mail_qp_decoder *d, const void *in,
			 size_t len, struct buf *out)
{
	const char *p = in;
	size_t i = 0;
	buf_reserve(out, len);
	buf_commit(out, 0);
	while (i < len) {
		if (d->pending.len == 0) {
			/* fast path: copy a run of ordinary characters */
			size_t s = i;
			while (i < len && p[i] != '=' && p[i] != ' ' &&
			       p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
				i++;
			buf_append(out, p + s, i - s);
			if (i == len)
				break;
		}
		qp_byte(d, p[i++], out);
	}
}

int mail_qp_decode_finish(struct mail_qp_decoder *d, struct buf *out,
			  const char **error_r)
{
	struct buf *pd = &d->pending;
	if (pd->len > 0 && pd->data[0] == '=') {
		if (pd->len == 2 && hexval((unsigned char)pd->data[1]) >= 0) {
			d->invalid = true;
			buf_append(out, pd->data, pd->len);
		}
		/* else: a soft break at the very end */
	}
	/* trailing whitespace at the end of the data is dropped */
	buf_free(pd);
	if (d->invalid) {
		*error_r = "Invalid quoted-printable data";
		return -1;
	}
	return 0;
}

int mail_qp_decode(const void *in, size_t len, struct buf *out,
		   const char **error_r)
{
	struct mail_qp_decoder d;
	mail_qp_decoder_init(&d);
	mail_qp_decode_more(&d, in, len, out);
	return mail_qp_decode_finish(&d, out, error_r);
}

void mail_qp_encoder_init(struct mail_qp_encoder *e, bool binary)
{
	e->line_len = 0;
	e->binary = binary;
	e->pending_cr = false;
	buf_init(&e->ws);
}

#define QP_LINE 76

static void put(struct mail_qp_encoder *e, struct buf *out, const char *s,
		size_t n)
{
	/* room for a soft break '=' at the end of the line */
	if (e->line_len + n > QP_LINE - 1) {
		buf_append(out, "=\r\n", 3);
		e->line_len = 0;
	}
	buf_append(out, s, n);
	e->line_len += n;
}

static void put_hex(struct mail_qp_encoder *e, struct buf *out,
		    unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char s[3] = { '=', hex[c >> 4], hex[c & 15] };
	put(e, out, s, 3);
}

static void flush_ws(struct mail_qp_encoder *e, struct buf *out, bool eol)
{
	for (size_t i = 0; i < e->ws.len; i++) {
		if (eol && i + 1 == e->ws.len)
			put_hex(e, out, (unsigned char)e->ws.data[i]);
		else
			put(e, out, e->ws.data + i, 1);
	}
	buf_reset(&e->ws);
}

static void line_break(struct mail_qp_encoder *e, struct buf *out)
{
	flush_ws(e, out, true);
	buf_append(out, "\r\n", 2);
	e->line_len = 0;
}

static void enc_byte(struct mail_qp_encoder *e, unsigned char c,
		     struct buf *out)
{
	if (!e->binary) {
		if (e->pending_cr) {
			e->pending_cr = false;
			if (c == '\n') {
				line_break(e, out);
				return;
			}
			flush_ws(e, out, false);
			put_hex(e, out, '\r');
		}
		if (c == '\r') {
			e->pending_cr = true;
			return;
		}
		if (c == '\n') {
			line_break(e, out);
			return;
		}
		if (c == ' ' || c == '\t') {
			buf_append_char(&e->ws, (char)c);
			return;
		}
	}
	flush_ws(e, out, false);
	if (c == '.' && e->line_len == 0)
		put_hex(e, out, c);
	else if (c >= 33 && c <= 126 && c != '=')
		put(e, out, (const char *)&c, 1);
	else if (e->binary && (c == ' ' || c == '\t'))
		put_hex(e, out, c);
	else
		put_hex(e, out, c);
}

void mail_qp_encode_more(struct mail_qp_encoder *e, const void *in,
			 size_t len, struct buf *out)
{
	const unsigned char *p = in;
	buf_reserve(out, len + len / 8);
	buf_commit(out, 0);
	for (size_t i = 0; i < len; i++)
		enc_byte(e, p[i], out);
}

void mail_qp_encode_finish(struct mail_qp_encoder *e, struct buf *out)
{
	if (e->pending_cr) {
		e->pending_cr = false;
		flush_ws(e, out, false);
		put_hex(e, out, '\r');
	}
	flush_ws(e, out, true);
	buf_free(&e->ws);
}

void mail_qp_encode(const void *in, size_t len, struct buf *out)
{
	struct mail_qp_encoder e;
	mail_qp_encoder_init(&e, false);
	mail_qp_encode_more(&e, in, len, out);
	mail_qp_encode_finish(&e, out);
}
