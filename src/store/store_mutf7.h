/* store_mutf7.h — modified UTF-7 (RFC 3501 5.1.3) for mailbox names.
 * The store keeps names as UTF-8; Maildir++ folder directories and IMAP
 * clients without UTF8=ACCEPT / IMAP4rev2 use modified UTF-7. Pure
 * functions. Parses untrusted input (client-supplied names). */
#ifndef CORREU_STORE_MUTF7_H
#define CORREU_STORE_MUTF7_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Appends the UTF-8 form of a modified UTF-7 name; -1 (out unchanged
 * past its old length) if it is not valid modified UTF-7. */
int store_mutf7_to_utf8(const char *in, size_t len, struct buf *out);
/* Appends the modified UTF-7 form of valid UTF-8. Returns -1 if in is
 * not valid UTF-8. */
int store_utf8_to_mutf7(const char *in, size_t len, struct buf *out);
/* Strict UTF-8 check (no overlongs, surrogates or values > U+10FFFF). */
bool store_utf8_valid(const char *s, size_t len);

#endif
