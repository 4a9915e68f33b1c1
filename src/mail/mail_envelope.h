/* mail_envelope.h — the header fields IMAP ENVELOPE shows, collected from
 * a header section, and the ENVELOPE string itself (RFC 3501 7.4.2,
 * RFC 9051 7.5.2). Pure functions; runs in the mail workers and the
 * store's indexer. Parses untrusted input. */
#ifndef CORREU_MAIL_ENVELOPE_H
#define CORREU_MAIL_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

enum mail_envelope_field {
	MAIL_ENVELOPE_DATE,
	MAIL_ENVELOPE_SUBJECT,
	MAIL_ENVELOPE_FROM,
	MAIL_ENVELOPE_SENDER,
	MAIL_ENVELOPE_REPLY_TO,
	MAIL_ENVELOPE_TO,
	MAIL_ENVELOPE_CC,
	MAIL_ENVELOPE_BCC,
	MAIL_ENVELOPE_IN_REPLY_TO,
	MAIL_ENVELOPE_MESSAGE_ID,
	MAIL_ENVELOPE_FIELD_COUNT
};

/* Raw values as in the header: leading whitespace removed, line folding
 * (CRLF + WSP) kept, RFC 2047 words not decoded; NULL when absent. The
 * first occurrence of each field counts. Use mail_header_unfold() or
 * mail_rfc2047_decode() to get text for display, SORT or SEARCH. */
struct mail_envelope {
	char *fields[MAIL_ENVELOPE_FIELD_COUNT];
};

/* Header field name of f ("Date", "Subject", "From", ...). */
const char *mail_envelope_field_name(enum mail_envelope_field f);
/* Which envelope field a header name is; false if none. */
bool mail_envelope_field_lookup(const char *name, size_t len,
				enum mail_envelope_field *f_r);

/* Collects the envelope fields from a header section (stops at its empty
 * line). */
void mail_envelope_parse(const void *hdr, size_t len,
			 struct mail_envelope *env_r);
/* Sets one field from a raw value unless already set. */
void mail_envelope_set(struct mail_envelope *env, enum mail_envelope_field f,
		       const char *raw, size_t len);
void mail_envelope_free(struct mail_envelope *env);

/* Appends the parenthesised ENVELOPE list ("(date subject from ...)").
 * Empty From/Sender/Reply-To follow RFC 3501: Sender and Reply-To default
 * to From. Strings with 8-bit bytes, CR, LF or quotes-heavy content are
 * sent as literals, like Dovecot. utf8: the client enabled UTF8=ACCEPT or
 * IMAP4rev2, so valid UTF-8 may be sent as quoted strings. */
void mail_envelope_write(const struct mail_envelope *env, bool utf8,
			 struct buf *out);

#endif
