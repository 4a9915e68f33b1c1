/* smtp_received.c — Received: and date formatting. Runs in the workers.
 * Copies the client's HELO name (untrusted) after sanitising it. */
#include "smtp_received.h"

#include <string.h>

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void smtp_date_append(struct buf *out, time_t when)
{
	struct tm tm;
	localtime_r(&when, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	buf_appendf(out, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld", wdays[tm.tm_wday],
		    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, sign, off / 60, off % 60);
}

const char *smtp_protocol_name(bool esmtp, bool tls, bool auth, bool utf8)
{
	if (!esmtp)
		return "SMTP";
	if (utf8)
		return tls ? (auth ? "UTF8SMTPSA" : "UTF8SMTPS") : (auth ? "UTF8SMTPA" : "UTF8SMTP");
	return tls ? (auth ? "ESMTPSA" : "ESMTPS") : (auth ? "ESMTPA" : "ESMTP");
}

/* Appends s as a safe token: printable ASCII except parentheses and
 * backslashes, at most 80 characters. */
static void append_sanitized(struct buf *out, const char *s)
{
	size_t n = 0;
	for (; *s != '\0' && n < 80; s++, n++) {
		unsigned char c = (unsigned char)*s;
		buf_append_char(out, c > 32 && c < 127 && c != '(' && c != ')' && c != '\\' ?
				(char)c : '_');
	}
}

void smtp_received_append(struct buf *out, const struct smtp_trace *t)
{
	buf_append_str(out, "Received: from ");
	if (t->helo != NULL && t->helo[0] != '\0')
		append_sanitized(out, t->helo);
	else
		buf_append_str(out, "unknown");
	buf_appendf(out, " ([%s])\r\n\tby %s (correu) with %s id %s", t->client_ip, t->hostname,
		    t->protocol, t->queue_id);
	if (t->tls_desc != NULL) {
		buf_append_str(out, "\r\n\t(");
		buf_append_str(out, t->tls_desc);
		buf_append_str(out, ")");
	}
	if (t->for_rcpt != NULL) {
		buf_append_str(out, "\r\n\tfor <");
		/* Addresses were syntax-checked; keep them bounded anyway. */
		buf_append(out, t->for_rcpt, strnlen(t->for_rcpt, 256));
		buf_append_str(out, ">");
	}
	buf_append_str(out, ";\r\n\t");
	smtp_date_append(out, t->when);
	buf_append_str(out, "\r\n");
}
