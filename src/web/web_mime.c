/* web_mime.c — composing outgoing messages for the webmail (see
 * web_mime.h) with src/mail's MIME writer. Runs in the web process.
 * Parses the user's address input. */
#include "web_mime.h"
#include "mail_address.h"
#include "mail_date.h"
#include "mail_writer.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static bool header_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || *p == '\0')
			return false;
	return true;
}

/* A message-id list such as References: only "<...>" tokens. */
static bool msgids_safe(const char *s)
{
	if (!header_safe(s))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* Parses one address field into list; adds recipients. */
static int address_field(const char *value, struct mail_address_list *list, struct strv *rcpts,
			 const char **error_r)
{
	memset(list, 0, sizeof(*list));
	if (value == NULL || value[0] == '\0')
		return 0;
	if (!header_safe(value)) {
		*error_r = "line breaks are not allowed in addresses";
		return -1;
	}
	mail_address_parse(value, strlen(value), false, list);
	for (size_t i = 0; i < list->n; i++) {
		const struct mail_address *a = &list->v[i];
		if (a->domain == NULL)
			continue;	/* group start or end */
		if (a->invalid || a->mailbox == NULL || a->mailbox[0] == '\0' || a->domain[0] == '\0' ||
		    strpbrk(a->domain, " <>()[]\\,;:\"") != NULL) {
			*error_r = "an address is not valid";
			mail_address_list_free(list);
			return -1;
		}
		struct buf b = BUF_INIT;
		mail_address_format_addr_spec(a, &b);
		if (strpbrk(b.data, "<>\r\n") != NULL) {
			buf_free(&b);
			*error_r = "an address is not valid";
			mail_address_list_free(list);
			return -1;
		}
		strv_push_owned(rcpts, buf_steal(&b));
	}
	return 0;
}

static void split_type(const char *type, char *major, size_t msize, char *minor, size_t nsize)
{
	const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&-^_.+";
	const char *slash = type != NULL ? strchr(type, '/') : NULL;
	if (slash == NULL || slash == type || slash[1] == '\0' || (size_t)(slash - type) >= msize ||
	    strlen(slash + 1) >= nsize || strspn(type, ok) != (size_t)(slash - type) ||
	    strspn(slash + 1, ok) != strlen(slash + 1)) {
		snprintf(major, msize, "application");
		snprintf(minor, nsize, "octet-stream");
		return;
	}
	snprintf(major, msize, "%.*s", (int)(slash - type), type);
	snprintf(minor, nsize, "%s", slash + 1);
}

static char *new_message_id(const char *from)
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	const char *at = strrchr(from, '@');
	struct buf b = BUF_INIT;
	buf_append_char(&b, '<');
	for (size_t i = 0; i < sizeof(r); i++)
		buf_appendf(&b, "%02x", r[i]);
	buf_appendf(&b, "@%s>", at != NULL && at[1] != '\0' ? at + 1 : "correu.invalid");
	return buf_steal(&b);
}

int web_mime_build(const struct web_mime_msg *m, struct buf *out, struct strv *rcpts,
		   const char **error_r)
{
	if (!header_safe(m->subject) || !header_safe(m->from) || !header_safe(m->from_name) ||
	    (m->in_reply_to != NULL && !msgids_safe(m->in_reply_to)) ||
	    (m->references != NULL && !msgids_safe(m->references)) ||
	    (m->message_id != NULL && !msgids_safe(m->message_id))) {
		*error_r = "line breaks are not allowed in header fields";
		return -1;
	}
	struct mail_address_list from, to, cc, bcc;
	memset(&from, 0, sizeof(from));
	if (address_field(m->to, &to, rcpts, error_r) < 0)
		return -1;
	if (address_field(m->cc, &cc, rcpts, error_r) < 0) {
		mail_address_list_free(&to);
		return -1;
	}
	if (address_field(m->bcc, &bcc, rcpts, error_r) < 0) {
		mail_address_list_free(&to);
		mail_address_list_free(&cc);
		return -1;
	}
	struct strv from_rcpt;
	strv_init(&from_rcpt);
	struct buf fb = BUF_INIT;
	if (m->from_name != NULL && m->from_name[0] != '\0')
		mail_address_append_phrase(&fb, m->from_name);
	buf_appendf(&fb, "%s<%s>", fb.len > 0 ? " " : "", m->from);
	int ret = address_field(fb.data, &from, &from_rcpt, error_r);
	buf_free(&fb);
	strv_free(&from_rcpt);
	if (ret < 0) {
		mail_address_list_free(&to);
		mail_address_list_free(&cc);
		mail_address_list_free(&bcc);
		return -1;
	}

	struct mail_writer_part *body = mail_writer_text("plain", m->text != NULL ? m->text : "");
	struct mail_writer_part *root = body;
	if (m->n_atts > 0 || m->forward != NULL) {
		root = mail_writer_multipart("mixed");
		mail_writer_add(root, body);
		for (size_t i = 0; i < m->n_atts; i++) {
			char major[64], minor[64];
			split_type(m->atts[i].type, major, sizeof(major), minor, sizeof(minor));
			mail_writer_add(root, mail_writer_data(major, minor, m->atts[i].data,
							       m->atts[i].len, "attachment",
							       m->atts[i].filename));
		}
		if (m->forward != NULL)
			mail_writer_add(root, mail_writer_message(m->forward, m->forward_len, false));
	}
	struct buf date = BUF_INIT;
	mail_date_format(m->date, 0, &date);
	char *msgid = m->message_id != NULL ? x_strdup(m->message_id) : new_message_id(m->from);
	/* The root's header goes first in the order written. */
	mail_writer_header_raw(root, "Date", date.data);
	mail_writer_header_addresses(root, "From", &from);
	if (to.n > 0)
		mail_writer_header_addresses(root, "To", &to);
	if (cc.n > 0)
		mail_writer_header_addresses(root, "Cc", &cc);
	if (bcc.n > 0 && m->keep_bcc)
		mail_writer_header_addresses(root, "Bcc", &bcc);
	mail_writer_header(root, "Subject", m->subject != NULL ? m->subject : "");
	mail_writer_header_raw(root, "Message-ID", msgid);
	if (m->in_reply_to != NULL && m->in_reply_to[0] != '\0')
		mail_writer_header_raw(root, "In-Reply-To", m->in_reply_to);
	if (m->references != NULL && m->references[0] != '\0')
		mail_writer_header_raw(root, "References", m->references);
	mail_writer_header_raw(root, "User-Agent", "correu webmail");
	mail_writer_write(root, out);
	mail_writer_free(&root);
	buf_free(&date);
	free(msgid);
	mail_address_list_free(&from);
	mail_address_list_free(&to);
	mail_address_list_free(&cc);
	mail_address_list_free(&bcc);
	return 0;
}
