/* mail_param.h — MIME header parameters (RFC 2045 "; name=value" lists)
 * with RFC 2231 continuations, charsets and languages, and the structured
 * values that carry them (Content-Type, Content-Disposition). Pure
 * functions; used by every process. Parses untrusted input. */
#ifndef CORREU_MAIL_PARAM_H
#define CORREU_MAIL_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* One parameter, name as written (compare case-insensitively; IMAP shows
 * it as written). Continuations name*0, name*1...
 * are merged. If any section was extended (name*0*=, name*=) the result is
 * named "name*" and its value is "charset'language'%XX-encoded", exactly
 * as IMAP BODYSTRUCTURE shows it (Dovecot does the same); use
 * mail_param_get_utf8() for the decoded text. Quotes and backslash
 * escapes are removed. */
struct mail_param {
	char *name;
	char *value;
};

struct mail_params {
	struct mail_param *v;
	size_t n;
};

/* Parses "token/token; a=b; c*0=..." style values:
 * - value_r gets the leading token (e.g. "text/plain" or "attachment")
 *   as written, or NULL if it is missing or not a token;
 * - params_r gets the parameters, leniently (junk skipped).
 * Comments (RFC 822) are ignored. value_r may be NULL. */
void mail_param_parse_value(const void *data, size_t len, char **value_r,
			    struct mail_params *params_r);
void mail_params_free(struct mail_params *params);
/* Appends a copy of (name, value). */
void mail_params_add(struct mail_params *params, const char *name,
		     const char *value);

/* Raw value of name (any case, without '*'), or NULL. Looks up
 * "name" first, then "name*". */
const char *mail_param_get(const struct mail_params *params, const char *name);

/* The parameter's value as UTF-8, appended to out: RFC 2231 charset and
 * percent decoding for "name*", RFC 2047 encoded words in plain values
 * (common in the wild), raw 8-bit taken as UTF-8 when valid. Returns false
 * if the parameter is absent. */
bool mail_param_get_utf8(const struct mail_params *params, const char *name,
			 struct buf *out);

/* Appends "; name=value" for a UTF-8 value, folding as needed: a token
 * as is, a quoted string if printable ASCII, else RFC 2231 (name*=utf-8''..,
 * split into name*0*, name*1* ... sections when long). *line_len is the
 * current line length, updated; lines are folded with CRLF + tab. */
void mail_param_write(struct buf *out, size_t *line_len, const char *name,
		      const char *value);

#endif
