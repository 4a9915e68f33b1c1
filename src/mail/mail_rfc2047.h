/* mail_rfc2047.h — RFC 2047 encoded words: decoding header text to UTF-8
 * (for SEARCH, webmail, DSN) and encoding UTF-8 header text with folding
 * (for the MIME writer). Pure functions. Decodes untrusted input. */
#ifndef CORREU_MAIL_RFC2047_H
#define CORREU_MAIL_RFC2047_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Decodes encoded words in a header value and appends UTF-8 to out.
 * Whitespace between adjacent encoded words is dropped; words split in
 * the middle of a multibyte character (common) are joined before charset
 * conversion; malformed or unknown-charset words are kept as written;
 * raw 8-bit text is kept if it is UTF-8, else read as windows-1252. Line
 * folding is removed. Returns whether anything was decoded. */
bool mail_rfc2047_decode(const void *in, size_t len, struct buf *out);
/* As above, as a new string (caller frees). */
char *mail_rfc2047_decode_dup(const void *in, size_t len);

/* Appends a UTF-8 unstructured header value (e.g. Subject), encoding
 * words that need it (non-ASCII, control characters, "=?" look-alikes)
 * and folding lines at 76 characters with CRLF + space. *line_len is the
 * length of the current line (e.g. strlen("Subject: ")) and is updated.
 * ASCII text is written as is. */
void mail_rfc2047_encode(struct buf *out, size_t *line_len, const char *utf8);
/* The same for a phrase (display name): ASCII words that need quoting are
 * written as a quoted string, others as encoded words. */
void mail_rfc2047_encode_phrase(struct buf *out, size_t *line_len,
				const char *utf8);

#endif
