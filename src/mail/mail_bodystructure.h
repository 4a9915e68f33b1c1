/* mail_bodystructure.h — IMAP BODYSTRUCTURE and BODY (non-extensible)
 * strings of a parsed part tree, formatted as Dovecot does (RFC 3501
 * 7.4.2, RFC 9051 7.5.2). Pure functions; runs in the mail workers and the
 * store's indexer. */
#ifndef CORREU_MAIL_BODYSTRUCTURE_H
#define CORREU_MAIL_BODYSTRUCTURE_H

#include <stdbool.h>
#include "buf.h"
#include "mail_mime.h"

/* Appends the parenthesised structure of root (no "BODYSTRUCTURE "
 * prefix). extended: BODYSTRUCTURE (with MD5, disposition, language,
 * location); otherwise BODY. utf8: the client enabled UTF8=ACCEPT or
 * IMAP4rev2 (valid UTF-8 strings may be quoted instead of literals).
 * Sizes are vsize (CRLF counted). */
void mail_bodystructure_write(const struct mail_part *root, bool extended,
			      bool utf8, struct buf *out);

#endif
