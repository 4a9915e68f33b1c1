/* mail_writer.h — builds MIME messages: header fields with RFC 2047
 * encoding and folding, single parts with a suitable transfer encoding,
 * multipart (mixed, alternative, related, report) and message/rfc822
 * parts. Used by the queue (DSN bounces) and the webmail (compose).
 * Pure functions over memory; input is the caller's, not the network's. */
#ifndef CORREU_MAIL_WRITER_H
#define CORREU_MAIL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "mail_address.h"

/* A part under construction. The root part's header fields are the
 * message header; MIME-Version: 1.0 is added to the root. */
struct mail_writer_part;

/* A text part (text/<subtype>; charset=utf-8) from UTF-8 text with any
 * line endings: 7bit if it can be, else quoted-printable (mostly ASCII)
 * or base64. */
struct mail_writer_part *mail_writer_text(const char *subtype, const char *utf8);
/* A part with arbitrary content, base64 encoded unless it is 7-bit text
 * with short lines. type/subtype like "application", "pdf". filename may be
 * NULL; disposition NULL, "inline" or "attachment". */
struct mail_writer_part *mail_writer_data(const char *type, const char *subtype,
					  const void *data, size_t len,
					  const char *disposition,
					  const char *filename);
/* message/rfc822 (forward as attachment, DSN RET=FULL) or text/rfc822-
 * headers when headers_only; msg is copied as is (8bit or 7bit marked). */
struct mail_writer_part *mail_writer_message(const void *msg, size_t len,
					     bool headers_only);
/* multipart/<subtype> with a random boundary. */
struct mail_writer_part *mail_writer_multipart(const char *subtype);
/* Adds a child to a multipart (takes ownership). */
void mail_writer_add(struct mail_writer_part *multipart,
		     struct mail_writer_part *child);
/* Adds a Content-Type parameter (e.g. report-type=delivery-status). */
void mail_writer_param(struct mail_writer_part *part, const char *name,
		       const char *value);

/* Header fields, written in the order added. The value is UTF-8 text;
 * unstructured: encoded words where needed, folded. */
void mail_writer_header(struct mail_writer_part *part, const char *name,
			const char *utf8);
/* A value written as given (only folded at whitespace); the caller made
 * it valid (Message-ID, Date, Content-ID "<...>", Received). */
void mail_writer_header_raw(struct mail_writer_part *part, const char *name,
			    const char *value);
/* An address list field (From, To, Cc...): display names encoded as
 * RFC 2047 phrases; domains and local parts as given. */
void mail_writer_header_addresses(struct mail_writer_part *part,
				  const char *name,
				  const struct mail_address_list *list);

/* Serializes the tree with CRLF line endings, appending to out. */
void mail_writer_write(const struct mail_writer_part *root, struct buf *out);
void mail_writer_free(struct mail_writer_part **root);

/* Appends a new random boundary string (also for other callers). */
void mail_writer_boundary(struct buf *out);

#endif
