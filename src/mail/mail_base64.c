/* mail_base64.c — streaming Base64 decoder and encoder (RFC 2045 6.8).
 * Pure functions used by IMAP BINARY, webmail and the MIME writer.
 * Decodes untrusted input. */
#include "mail_base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for the alphabet, 64 for '=', 65 for whitespace, 66 for junk */
static unsigned char dec_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (unsigned char)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (unsigned char)(c - '0' + 52);
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '=')
		return 64;
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return 65;
	return 66;
}

void mail_base64_decoder_init(struct mail_base64_decoder *d)
{
	d->acc = 0;
	d->nbits = 0;
	d->ended = false;
	d->invalid = false;
}

void mail_base64_decode_more(struct mail_base64_decoder *d, const void *in,
			     size_t len, struct buf *out)
{
	const unsigned char *p = in;
	char *w = buf_reserve(out, len / 4 * 3 + 3);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char v = dec_value(p[i]);
		if (v < 64) {
			if (d->ended) {
				d->invalid = true;
				continue;
			}
			d->acc = (d->acc << 6) | v;
			d->nbits += 6;
			if (d->nbits >= 8) {
				d->nbits -= 8;
				w[n++] = (char)((d->acc >> d->nbits) & 0xff);
			}
		} else if (v == 64) {
			d->ended = true;
		} else if (v == 66) {
			d->invalid = true;
		}
	}
	buf_commit(out, n);
}

int mail_base64_decode_finish(struct mail_base64_decoder *d,
			      const char **error_r)
{
	/* 6 leftover bits can never make a byte: a truncated quantum */
	if (d->nbits >= 6) {
		*error_r = "Truncated base64 data";
		return -1;
	}
	if (d->invalid) {
		*error_r = "Invalid base64 data";
		return -1;
	}
	return 0;
}

int mail_base64_decode(const void *in, size_t len, struct buf *out,
		       const char **error_r)
{
	struct mail_base64_decoder d;
	mail_base64_decoder_init(&d);
	mail_base64_decode_more(&d, in, len, out);
	return mail_base64_decode_finish(&d, error_r);
}

void mail_base64_encoder_init(struct mail_base64_encoder *e, size_t width)
{
	e->npend = 0;
	e->line_len = 0;
	e->width = width / 4 * 4;
}

static void put4(struct mail_base64_encoder *e, const char q[4],
		 struct buf *out)
{
	if (e->width > 0 && e->line_len + 4 > e->width) {
		buf_append(out, "\r\n", 2);
		e->line_len = 0;
	}
	buf_append(out, q, 4);
	e->line_len += 4;
}

static void enc_group(const unsigned char *s, size_t n, char q[4])
{
	uint32_t v = (uint32_t)s[0] << 16;
	if (n > 1)
		v |= (uint32_t)s[1] << 8;
	if (n > 2)
		v |= s[2];
	q[0] = alphabet[(v >> 18) & 63];
	q[1] = alphabet[(v >> 12) & 63];
	q[2] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
	q[3] = n > 2 ? alphabet[v & 63] : '=';
}

void mail_base64_encode_more(struct mail_base64_encoder *e, const void *in,
			     size_t len, struct buf *out)
{
	const unsigned char *p = in;
	char q[4];
	buf_reserve(out, len / 3 * 4 + (e->width ? len / 3 * 4 / e->width * 2 : 0) + 8);
	buf_commit(out, 0);
	while (len > 0 && e->npend > 0 && e->npend < 3) {
		e->pend[e->npend++] = *p++;
		len--;
	}
	if (e->npend == 3) {
		enc_group(e->pend, 3, q);
		put4(e, q, out);
		e->npend = 0;
	}
	while (len >= 3) {
		enc_group(p, 3, q);
		put4(e, q, out);
		p += 3;
		len -= 3;
	}
	for (size_t i = 0; i < len; i++)
		e->pend[e->npend++] = p[i];
}

void mail_base64_encode_finish(struct mail_base64_encoder *e,
			       struct buf *out)
{
	if (e->npend > 0) {
		char q[4];
		enc_group(e->pend, e->npend, q);
		put4(e, q, out);
		e->npend = 0;
	}
	if (e->width > 0 && e->line_len > 0) {
		buf_append(out, "\r\n", 2);
		e->line_len = 0;
	}
}

void mail_base64_encode(const void *in, size_t len, struct buf *out)
{
	struct mail_base64_encoder e;
	mail_base64_encoder_init(&e, 0);
	mail_base64_encode_more(&e, in, len, out);
	mail_base64_encode_finish(&e, out);
}

size_t mail_base64_encoded_size(size_t len)
{
	return (len + 2) / 3 * 4;
}
