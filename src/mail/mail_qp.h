/* mail_qp.h — streaming quoted-printable (RFC 2045 6.7) decoding and
 * encoding: IMAP BINARY, webmail, 8-bit downgrade. Pure functions.
 * Decodes untrusted input leniently. */
#ifndef CORREU_MAIL_QP_H
#define CORREU_MAIL_QP_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

struct mail_qp_decoder {
	struct buf pending;	/* '=' sequence or trailing whitespace held
				   until the rest of the line is seen */
	bool invalid;		/* malformed '=' sequences were kept as is */
};

void mail_qp_decoder_init(struct mail_qp_decoder *d);
/* Decodes in[0..len), appending to out. Line breaks (CRLF or LF) come out
 * as CRLF; soft breaks ("=" at line end) vanish; trailing whitespace on
 * lines is dropped (RFC 2045 rule 3); malformed "=XY" is copied as is. */
void mail_qp_decode_more(struct mail_qp_decoder *d, const void *in,
			 size_t len, struct buf *out);
/* Flushes what is pending; returns -1 if the input had malformed
 * sequences (they were copied). Frees the decoder's memory. */
int mail_qp_decode_finish(struct mail_qp_decoder *d, struct buf *out,
			  const char **error_r);
/* One-shot; returns as _finish(). */
int mail_qp_decode(const void *in, size_t len, struct buf *out,
		   const char **error_r);

struct mail_qp_encoder {
	size_t line_len;	/* characters on the current output line */
	bool binary;		/* encode CR and LF as =0D =0A */
	bool pending_cr;	/* a CR was seen, waiting for its LF */
	struct buf ws;		/* trailing whitespace not yet written */
};

/* Text mode (binary false): CRLF or bare LF in the input are line breaks
 * and come out as CRLF; lines are soft-broken at 76 characters; trailing
 * whitespace and a leading "." are encoded (safe for SMTP and
 * mbox-style tools). Binary mode encodes
 * line breaks too. */
void mail_qp_encoder_init(struct mail_qp_encoder *e, bool binary);
void mail_qp_encode_more(struct mail_qp_encoder *e, const void *in,
			 size_t len, struct buf *out);
/* Flushes and frees the encoder's memory. Does not add a final line
 * break the input did not have. */
void mail_qp_encode_finish(struct mail_qp_encoder *e, struct buf *out);
/* One-shot text-mode encoding. */
void mail_qp_encode(const void *in, size_t len, struct buf *out);

#endif
