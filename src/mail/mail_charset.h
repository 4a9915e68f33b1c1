/* mail_charset.h — charset conversion to UTF-8 with iconv: MIME charset
 * names and their aliases, graceful handling of unknown charsets and
 * invalid input. Pure functions (iconv descriptors are per call or per
 * converter). Converts untrusted input. */
#ifndef CORREU_MAIL_CHARSET_H
#define CORREU_MAIL_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Whether UTF-8 is the charset (any spelling: "utf8", "UTF-8"). */
bool mail_charset_is_utf8(const char *charset);
/* Whether the charset can be converted (known to us or to iconv). */
bool mail_charset_is_known(const char *charset);

/* Checks that s[0..len) is valid UTF-8 (no overlongs, surrogates, or
 * values past U+10FFFF). */
bool mail_utf8_is_valid(const void *s, size_t len);
/* Appends s, replacing invalid UTF-8 sequences with U+FFFD. */
void mail_utf8_append_valid(struct buf *out, const void *s, size_t len);

/* Converts in[0..len) from charset to UTF-8, appending to out. Invalid
 * input sequences become U+FFFD. us-ascii is treated as windows-1252 for
 * 8-bit bytes (real mail lies), latin1 likewise. Returns -1 with *error_r
 * if the charset is unknown; out then holds the input as UTF-8 if valid,
 * else with invalid bytes replaced, so the text can still be shown. */
int mail_charset_to_utf8(const char *charset, const void *in, size_t len,
			 struct buf *out, const char **error_r);

/* Streaming conversion for long bodies: input may be cut anywhere, even
 * inside a multibyte character. */
struct mail_charset_conv;

/* Returns -1 with *error_r for an unknown charset; conv_r is then a
 * converter that passes UTF-8 through (invalid bytes replaced). */
int mail_charset_conv_new(const char *charset, struct mail_charset_conv **conv_r,
			  const char **error_r);
void mail_charset_conv_more(struct mail_charset_conv *conv, const void *in,
			    size_t len, struct buf *out);
/* Flushes an incomplete trailing sequence as U+FFFD and frees. */
void mail_charset_conv_finish(struct mail_charset_conv **conv,
			      struct buf *out);

#endif
