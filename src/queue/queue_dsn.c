/* queue_dsn.c — builds RFC 3464 DSNs (bounces, delay warnings, success
 * reports) with the MIME writer of src/mail. Runs in the queue process.
 * The reply texts it quotes come from remote servers: they are reduced
 * to printable ASCII and folded before they go into the report. */
#include "queue_dsn.h"
#include "mail_date.h"
#include "mail_writer.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

bool queue_dsn_wanted(const struct queue_envelope *env, const struct queue_rcpt *r,
		      enum queue_dsn_action action)
{
	if (env->sender == NULL || env->sender[0] == '\0' || env->is_dsn)
		return false;
	switch (action) {
	case QUEUE_DSN_FAILED:
		return queue_rcpt_wants(r, QUEUE_NOTIFY_FAILURE);
	case QUEUE_DSN_DELAYED:
		return queue_rcpt_wants(r, QUEUE_NOTIFY_DELAY);
	case QUEUE_DSN_DELIVERED:
	case QUEUE_DSN_RELAYED:
		return queue_rcpt_wants(r, QUEUE_NOTIFY_SUCCESS);
	}
	return false;
}

static const char *action_name(enum queue_dsn_action a)
{
	switch (a) {
	case QUEUE_DSN_FAILED:
		return "failed";
	case QUEUE_DSN_DELAYED:
		return "delayed";
	case QUEUE_DSN_DELIVERED:
		return "delivered";
	case QUEUE_DSN_RELAYED:
		return "relayed";
	}
	return "failed";
}

static const char *default_status(enum queue_dsn_action a)
{
	switch (a) {
	case QUEUE_DSN_FAILED:
		return "5.0.0";
	case QUEUE_DSN_DELAYED:
		return "4.0.0";
	case QUEUE_DSN_DELIVERED:
	case QUEUE_DSN_RELAYED:
		break;
	}
	return "2.0.0";
}

/* A status code of the right class for the action: a remote 4.x.x that
 * ended in expiry is reported as failed with 4.x.x per RFC 3463 (the
 * class says the last error was temporary). */
static const char *item_status(const struct queue_dsn_item *it)
{
	const char *code = it->rcpt->status_code;
	if (code[0] != '\0' && code[1] == '.')
		return code;
	return default_status(it->action);
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Appends "Name: value" with the value reduced to printable bytes (and,
 * unless utf8, to ASCII), folded at spaces before 78 columns. */
static void status_field(struct buf *out, const char *name, const char *value, bool utf8)
{
	size_t col = strlen(name) + 2;
	buf_appendf(out, "%s: ", name);
	const char *p = value;
	while (*p != '\0') {
		size_t word = strcspn(p, " ");
		if (col + word > 78 && col > strlen(name) + 2) {
			buf_append_str(out, "\r\n   ");
			col = 3;
		}
		for (size_t i = 0; i < word; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
				c = '?';
			buf_append_char(out, (char)c);
		}
		col += word;
		p += word;
		while (*p == ' ')
			p++;
		if (*p != '\0') {
			buf_append_char(out, ' ');
			col++;
		}
	}
	buf_append_str(out, "\r\n");
}

static void date_field(struct buf *out, const char *name, time_t t)
{
	struct buf d = BUF_INIT;
	mail_date_format(t, 0, &d);
	buf_appendf(out, "%s: %s\r\n", name, buf_cstr(&d));
	buf_free(&d);
}

static void build_status(const struct queue_dsn_params *p, const struct queue_envelope *env,
			 const struct queue_dsn_item *items, size_t n, bool utf8,
			 struct buf *out)
{
	buf_appendf(out, "Reporting-MTA: dns; %s\r\n", p->hostname);
	if (env->id != NULL)
		buf_appendf(out, "X-Correu-Queue-ID: %s\r\n", env->id);
	if (env->envid != NULL)
		status_field(out, "Original-Envelope-Id", env->envid, utf8);
	if (env->sender != NULL && env->sender[0] != '\0') {
		char *v = x_asprintf("%s; %s", is_ascii(env->sender) ? "rfc822" : "utf-8",
				     env->sender);
		status_field(out, "X-Correu-Sender", v, utf8);
		free(v);
	}
	if (env->arrival != 0)
		date_field(out, "Arrival-Date", env->arrival);
	for (size_t i = 0; i < n; i++) {
		const struct queue_dsn_item *it = &items[i];
		const struct queue_rcpt *r = it->rcpt;
		buf_append_str(out, "\r\n");
		if (r->orcpt != NULL) {
			const char *semi = strchr(r->orcpt, ';');
			char *v = semi != NULL ?
				x_asprintf("%.*s; %s", (int)(semi - r->orcpt), r->orcpt, semi + 1) :
				x_asprintf("rfc822; %s", r->orcpt);
			status_field(out, "Original-Recipient", v, utf8);
			free(v);
		}
		char *fr = x_asprintf("%s; %s", is_ascii(r->address) ? "rfc822" : "utf-8",
				      r->address);
		status_field(out, "Final-Recipient", fr, utf8);
		free(fr);
		buf_appendf(out, "Action: %s\r\n", action_name(it->action));
		buf_appendf(out, "Status: %s\r\n", item_status(it));
		if (r->remote_mta != NULL) {
			char *v = x_asprintf("dns; %s", r->remote_mta);
			status_field(out, "Remote-MTA", v, utf8);
			free(v);
		}
		if (r->last_error != NULL) {
			char *v = x_asprintf("%s; %s", r->remote_mta != NULL ? "smtp" : "x-correu",
					     r->last_error);
			status_field(out, "Diagnostic-Code", v, utf8);
			free(v);
		}
		if (r->last_attempt != 0)
			date_field(out, "Last-Attempt-Date", r->last_attempt);
		if (it->action == QUEUE_DSN_DELAYED && p->retry_until != 0)
			date_field(out, "Will-Retry-Until", p->retry_until);
	}
}

static void build_text(const struct queue_dsn_params *p, const struct queue_dsn_item *items,
		       size_t n, enum queue_dsn_action worst, struct buf *out)
{
	buf_appendf(out, "This is the mail system at host %s.\n\n", p->hostname);
	switch (worst) {
	case QUEUE_DSN_FAILED:
		buf_append_str(out, "I'm sorry to have to inform you that your message could not\n"
			       "be delivered to one or more recipients. It's attached below.\n\n"
			       "For further assistance, please send mail to postmaster.\n\n");
		break;
	case QUEUE_DSN_DELAYED:
		buf_append_str(out, "This is a warning only; you do not need to resend your message.\n\n"
			       "Your message could not be delivered for some time.\n"
			       "It will be retried until ");
		mail_date_format(p->retry_until, 0, out);
		buf_append_str(out, ".\n\n");
		break;
	case QUEUE_DSN_DELIVERED:
	case QUEUE_DSN_RELAYED:
		buf_append_str(out, "Your message was successfully delivered to the destination(s)\n"
			       "listed below. This is the delivery report you asked for.\n\n");
		break;
	}
	for (size_t i = 0; i < n; i++) {
		const struct queue_rcpt *r = items[i].rcpt;
		buf_appendf(out, "<%s>: %s", r->address, action_name(items[i].action));
		if (r->remote_mta != NULL)
			buf_appendf(out, ", host %s said", r->remote_mta);
		if (r->last_error != NULL)
			buf_appendf(out, ": %s", r->last_error);
		buf_append_str(out, "\n");
	}
}

void queue_dsn_build(const struct queue_dsn_params *p, const struct queue_envelope *env,
		     const struct queue_dsn_item *items, size_t n_items,
		     const char *original, size_t original_len, bool original_full,
		     struct buf *out)
{
	enum queue_dsn_action worst = QUEUE_DSN_DELIVERED;
	bool utf8 = env->smtputf8;
	for (size_t i = 0; i < n_items; i++) {
		if (items[i].action == QUEUE_DSN_FAILED)
			worst = QUEUE_DSN_FAILED;
		else if (items[i].action == QUEUE_DSN_DELAYED && worst != QUEUE_DSN_FAILED)
			worst = QUEUE_DSN_DELAYED;
		if (!is_ascii(items[i].rcpt->address))
			utf8 = true;
	}
	const char *subject = worst == QUEUE_DSN_FAILED ? "Undelivered Mail Returned to Sender" :
		worst == QUEUE_DSN_DELAYED ? "Delayed Mail (still being retried)" :
		"Successful Mail Delivery Report";

	struct mail_writer_part *root = mail_writer_multipart("report");
	mail_writer_param(root, "report-type", "delivery-status");
	char *from = x_asprintf("Mail Delivery System <MAILER-DAEMON@%s>", p->hostname);
	mail_writer_header_raw(root, "From", from);
	free(from);
	char *to = x_asprintf("<%s>", env->sender != NULL ? env->sender : "");
	mail_writer_header_raw(root, "To", to);
	free(to);
	mail_writer_header(root, "Subject", subject);
	struct buf tmp = BUF_INIT;
	mail_date_format(p->now, 0, &tmp);
	mail_writer_header_raw(root, "Date", buf_cstr(&tmp));
	buf_reset(&tmp);
	char *mid = queue_id_new();
	buf_appendf(&tmp, "<%s.dsn@%s>", mid, p->hostname);
	free(mid);
	mail_writer_header_raw(root, "Message-ID", buf_cstr(&tmp));
	mail_writer_header_raw(root, "Auto-Submitted", "auto-replied");

	buf_reset(&tmp);
	build_text(p, items, n_items, worst, &tmp);
	struct mail_writer_part *text = mail_writer_text("plain", buf_cstr(&tmp));
	mail_writer_add(root, text);

	buf_reset(&tmp);
	build_status(p, env, items, n_items, utf8, &tmp);
	mail_writer_add(root, mail_writer_data("message",
					       utf8 ? "global-delivery-status" : "delivery-status",
					       tmp.data, tmp.len, NULL, NULL));
	buf_free(&tmp);

	if (original != NULL && original_len > 0)
		mail_writer_add(root, mail_writer_message(original, original_len, !original_full));
	mail_writer_write(root, out);
	mail_writer_free(&root);
}

void queue_dsn_envelope(const struct queue_envelope *env, struct queue_envelope *dsn)
{
	queue_envelope_init(dsn);
	dsn->sender = x_strdup("");
	queue_envelope_add_rcpt(dsn, env->sender, QUEUE_NOTIFY_NEVER, NULL);
	dsn->is_dsn = true;
	dsn->smtputf8 = env->smtputf8 || !is_ascii(env->sender);
	dsn->body = env->body == QUEUE_BODY_7BIT ? QUEUE_BODY_7BIT : QUEUE_BODY_8BITMIME;
	dsn->ret = QUEUE_RET_HDRS;
}
