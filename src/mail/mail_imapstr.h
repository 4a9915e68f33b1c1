/* mail_imapstr.h — IMAP string output (quoted, literal or NIL) for the
 * formatters in src/mail (ENVELOPE, BODYSTRUCTURE); src/imap may use it
 * too. Pure functions. */
#ifndef CORREU_MAIL_IMAPSTR_H
#define CORREU_MAIL_IMAPSTR_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Appends s[0..len) as an IMAP string: a quoted string when it holds only
 * printable 7-bit text (and, with utf8, valid UTF-8) and is short enough,
 * else a literal "{n}\r\n" followed by the bytes. */
void mail_imapstr_append(struct buf *out, const char *s, size_t len,
			 bool utf8);
/* As above for a C string; NULL gives NIL. */
void mail_imapstr_append_nstring(struct buf *out, const char *s, bool utf8);
/* Appends s upper-cased (ASCII) as a string; NULL gives NIL. */
void mail_imapstr_append_ucase(struct buf *out, const char *s, bool utf8);

#endif
