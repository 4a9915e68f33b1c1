/* mail_imapstr.c — IMAP string output (quoted, literal, NIL) for the
 * ENVELOPE and BODYSTRUCTURE formatters. Pure functions; runs in the mail
 * workers and the store's indexer. */
#include "mail_imapstr.h"
#include "mail_charset.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Dovecot quotes at most a few escapes; past that a literal is shorter
 * to read and safer for clients. */
#define MAX_QUOTED_ESCAPES 4
#define MAX_QUOTED_LEN 4096

void mail_imapstr_append(struct buf *out, const char *s, size_t len,
			 bool utf8)
{
	unsigned int escapes = 0;
	bool literal = len > MAX_QUOTED_LEN;
	bool has8 = false;
	for (size_t i = 0; i < len && !literal; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			if (++escapes > MAX_QUOTED_ESCAPES)
				literal = true;
		} else if (ch == '\r' || ch == '\n' || ch == '\0') {
			literal = true;
		} else if (ch >= 0x80) {
			has8 = true;
		}
	}
	if (!literal && has8 && !(utf8 && mail_utf8_is_valid(s, len)))
		literal = true;
	if (literal) {
		buf_appendf(out, "{%zu}\r\n", len);
		buf_append(out, s, len);
		return;
	}
	buf_reserve(out, len + escapes + 2);
	buf_append_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, s[i]);
	}
	buf_append_char(out, '"');
}

void mail_imapstr_append_nstring(struct buf *out, const char *s, bool utf8)
{
	if (s == NULL)
		buf_append(out, "NIL", 3);
	else
		mail_imapstr_append(out, s, strlen(s), utf8);
}

void mail_imapstr_append_ucase(struct buf *out, const char *s, bool utf8)
{
	if (s == NULL) {
		buf_append(out, "NIL", 3);
		return;
	}
	char *u = x_strdup(s);
	for (char *p = u; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	mail_imapstr_append(out, u, strlen(u), utf8);
	free(u);
}
