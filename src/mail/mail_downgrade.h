/* mail_downgrade.h — converts an 8-bit message to 7-bit for delivery to a
 * server without 8BITMIME (RFC 6152): 8bit/binary text parts become
 * quoted-printable, other 8-bit leaves base64, recursively through
 * multiparts and message/rfc822; headers are untouched except the
 * Content-Transfer-Encoding field. Pure function; runs in the queue
 * process. Parses untrusted input (any message that was accepted). */
#ifndef CORREU_MAIL_DOWNGRADE_H
#define CORREU_MAIL_DOWNGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Appends the 7-bit form of msg to out with CRLF line endings. *changed_r
 * tells whether anything had to be converted (if not, out is a copy).
 * Returns -1 with *error_r when the message cannot be made 7-bit without
 * changing its meaning: 8-bit bytes in a header, or 8-bit content inside a
 * multipart/signed or multipart/encrypted part (RFC 1847); the caller then
 * bounces (5.6.3) rather than break signatures. Also refused: 8-bit
 * bytes in a multipart preamble or epilogue, or inside content already
 * labelled base64 or quoted-printable (corrupt). */
int mail_downgrade_7bit(const void *msg, size_t len, struct buf *out,
			bool *changed_r, const char **error_r);
/* Whether msg has 8-bit bytes anywhere (header or body). */
bool mail_downgrade_needed(const void *msg, size_t len);

#endif
