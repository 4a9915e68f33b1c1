/* mail_base64.h — streaming Base64 (RFC 2045 6.8) decoding and encoding
 * for IMAP BINARY, webmail attachments and the MIME writer. Pure
 * functions. Decodes untrusted input leniently. */
#ifndef CORREU_MAIL_BASE64_H
#define CORREU_MAIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct mail_base64_decoder {
	uint32_t acc;
	unsigned int nbits;
	bool ended;		/* saw '=' padding */
	bool invalid;		/* skipped bytes outside the alphabet or data
				   after the padding */
};

void mail_base64_decoder_init(struct mail_base64_decoder *d);
/* Decodes in[0..len) and appends to out; whitespace and line breaks are
 * skipped, other junk is skipped and flags d->invalid. */
void mail_base64_decode_more(struct mail_base64_decoder *d, const void *in,
			     size_t len, struct buf *out);
/* Ends the input. Returns -1 if the input was not valid Base64 (junk,
 * leftover bits that do not make a byte); what could be decoded is in out
 * either way. */
int mail_base64_decode_finish(struct mail_base64_decoder *d,
			      const char **error_r);
/* One-shot decode; returns as _finish(). */
int mail_base64_decode(const void *in, size_t len, struct buf *out,
		       const char **error_r);

struct mail_base64_encoder {
	unsigned char pend[3];
	unsigned int npend;
	size_t line_len;	/* characters on the current output line */
	size_t width;		/* max line length, 0 = no line breaks */
};

/* width: 76 for MIME bodies (lines end with CRLF), 0 for one long line. */
void mail_base64_encoder_init(struct mail_base64_encoder *e, size_t width);
void mail_base64_encode_more(struct mail_base64_encoder *e, const void *in,
			     size_t len, struct buf *out);
/* Writes the last group with padding; with a width, ends the last line
 * with CRLF if it is not empty. */
void mail_base64_encode_finish(struct mail_base64_encoder *e,
			       struct buf *out);
/* One-shot, no line breaks. */
void mail_base64_encode(const void *in, size_t len, struct buf *out);
/* Size of the encoding of len bytes without line breaks. */
size_t mail_base64_encoded_size(size_t len);

#endif
