/* mail_envelope.c — collects the IMAP ENVELOPE header fields and writes
 * the ENVELOPE list as Dovecot does. Pure functions; runs in the mail
 * workers and the store's indexer. Parses untrusted input. */
#include "mail_envelope.h"
#include "mail_address.h"
#include "mail_header.h"
#include "mail_imapstr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const field_names[MAIL_ENVELOPE_FIELD_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID",
};

const char *mail_envelope_field_name(enum mail_envelope_field f)
{
	return f < MAIL_ENVELOPE_FIELD_COUNT ? field_names[f] : NULL;
}

bool mail_envelope_field_lookup(const char *name, size_t len,
				enum mail_envelope_field *f_r)
{
	for (unsigned int i = 0; i < MAIL_ENVELOPE_FIELD_COUNT; i++) {
		if (strlen(field_names[i]) == len &&
		    strncasecmp(field_names[i], name, len) == 0) {
			*f_r = (enum mail_envelope_field)i;
			return true;
		}
	}
	return false;
}

void mail_envelope_set(struct mail_envelope *env, enum mail_envelope_field f,
		       const char *raw, size_t len)
{
	if (env->fields[f] != NULL)
		return;
	/* Leading whitespace goes, folding stays: Dovecot sends a folded
	 * subject as a literal, and we match its output. NULs are dropped. */
	while (len > 0 && (*raw == ' ' || *raw == '\t')) {
		raw++;
		len--;
	}
	char *v = x_malloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (raw[i] != '\0')
			v[n++] = raw[i];
	}
	v[n] = '\0';
	env->fields[f] = v;
}

void mail_envelope_parse(const void *hdr, size_t len,
			 struct mail_envelope *env_r)
{
	struct mail_header_iter it;
	struct mail_header_field f;
	enum mail_envelope_field ef;
	memset(env_r, 0, sizeof(*env_r));
	mail_header_iter_init(&it, hdr, len);
	while (mail_header_iter_next(&it, &f)) {
		if (!f.no_colon &&
		    mail_envelope_field_lookup(f.name, f.name_len, &ef))
			mail_envelope_set(env_r, ef, f.value, f.value_len);
	}
}

void mail_envelope_free(struct mail_envelope *env)
{
	for (unsigned int i = 0; i < MAIL_ENVELOPE_FIELD_COUNT; i++)
		x_free(&env->fields[i]);
}

/* Dovecot's "string for humans": CR/LF removed, tabs become spaces, runs
 * of spaces collapse, ends trimmed; sent as a literal whenever anything
 * had to change or the text has quotes, backslashes or 8-bit bytes. */
static void append_for_humans(struct buf *out, const char *s, bool utf8)
{
	struct buf b = BUF_INIT;
	bool modify = false, last_space = true;
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n') {
			modify = true;
			continue;
		}
		if (c == ' ' || c == '\t') {
			if (c == '\t' || last_space)
				modify = true;
			if (!last_space)
				buf_append_char(&b, ' ');
			last_space = true;
			continue;
		}
		if (c == '"' || c == '\\' || c >= 0x80)
			modify = true;
		last_space = false;
		buf_append_char(&b, (char)c);
	}
	if (b.len > 0 && b.data[b.len - 1] == ' ') {
		b.len--;
		b.data[b.len] = '\0';
		modify = true;
	}
	if (!modify) {
		buf_append_char(out, '"');
		buf_append(out, s, len);
		buf_append_char(out, '"');
	} else if (b.len == 0) {
		buf_append(out, "\"\"", 2);
	} else if (utf8) {
		mail_imapstr_append(out, b.data, b.len, true);
	} else {
		buf_appendf(out, "{%zu}\r\n", b.len);
		buf_append(out, b.data, b.len);
	}
	buf_free(&b);
}

/* nstring with CR and LF removed. */
static void append_nstring_nolf(struct buf *out, const char *s, bool utf8)
{
	if (s == NULL) {
		buf_append(out, "NIL", 3);
		return;
	}
	struct buf b = BUF_INIT;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p != '\r' && *p != '\n')
			buf_append_char(&b, *p);
	}
	mail_imapstr_append(out, b.data == NULL ? "" : b.data, b.len, utf8);
	buf_free(&b);
}

static void write_addresses(struct buf *out, const char *raw, bool utf8)
{
	struct mail_address_list list;
	if (raw == NULL) {
		buf_append(out, "NIL", 3);
		return;
	}
	mail_address_parse(raw, strlen(raw), true, &list);
	if (list.n == 0) {
		buf_append(out, "NIL", 3);
		return;
	}
	buf_append_char(out, '(');
	for (size_t i = 0; i < list.n; i++) {
		const struct mail_address *a = &list.v[i];
		buf_append_char(out, '(');
		if (a->name == NULL)
			buf_append(out, "NIL", 3);
		else
			append_for_humans(out, a->name, utf8);
		buf_append_char(out, ' ');
		mail_imapstr_append_nstring(out, a->route, utf8);
		buf_append_char(out, ' ');
		mail_imapstr_append_nstring(out, a->mailbox, utf8);
		buf_append_char(out, ' ');
		mail_imapstr_append_nstring(out, a->domain, utf8);
		buf_append_char(out, ')');
	}
	buf_append_char(out, ')');
	mail_address_list_free(&list);
}

void mail_envelope_write(const struct mail_envelope *env, bool utf8,
			 struct buf *out)
{
	const char *const *f = (const char *const *)env->fields;
	buf_append_char(out, '(');
	append_nstring_nolf(out, f[MAIL_ENVELOPE_DATE], utf8);
	buf_append_char(out, ' ');
	if (f[MAIL_ENVELOPE_SUBJECT] == NULL)
		buf_append(out, "NIL", 3);
	else
		append_for_humans(out, f[MAIL_ENVELOPE_SUBJECT], utf8);
	buf_append_char(out, ' ');
	write_addresses(out, f[MAIL_ENVELOPE_FROM], utf8);
	buf_append_char(out, ' ');
	write_addresses(out, f[MAIL_ENVELOPE_SENDER] != NULL ?
			f[MAIL_ENVELOPE_SENDER] : f[MAIL_ENVELOPE_FROM], utf8);
	buf_append_char(out, ' ');
	write_addresses(out, f[MAIL_ENVELOPE_REPLY_TO] != NULL ?
			f[MAIL_ENVELOPE_REPLY_TO] : f[MAIL_ENVELOPE_FROM], utf8);
	for (int i = MAIL_ENVELOPE_TO; i <= MAIL_ENVELOPE_BCC; i++) {
		buf_append_char(out, ' ');
		write_addresses(out, f[i], utf8);
	}
	buf_append_char(out, ' ');
	append_nstring_nolf(out, f[MAIL_ENVELOPE_IN_REPLY_TO], utf8);
	buf_append_char(out, ' ');
	append_nstring_nolf(out, f[MAIL_ENVELOPE_MESSAGE_ID], utf8);
	buf_append_char(out, ')');
}
