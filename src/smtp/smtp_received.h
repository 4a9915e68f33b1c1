/* smtp_received.h — the trace headers correu prepends: Return-Path
 * (RFC 5321 4.4, added at final delivery) and Received. */
#ifndef CORREU_SMTP_RECEIVED_H
#define CORREU_SMTP_RECEIVED_H

#include <stdbool.h>
#include <time.h>
#include "buf.h"

struct smtp_trace {
	const char *helo;	/* may be NULL */
	const char *client_ip;
	const char *hostname;	/* ours */
	const char *protocol;	/* "SMTP", "ESMTP", "ESMTPS", "ESMTPSA", "UTF8SMTPS"... */
	const char *queue_id;
	const char *tls_desc;	/* NULL without TLS */
	const char *for_rcpt;	/* single recipient, or NULL */
	time_t when;
};

/* Appends "Received: ...\r\n" folded at 78 columns. Characters outside
 * printable ASCII in the HELO name are replaced. */
void smtp_received_append(struct buf *out, const struct smtp_trace *t);
/* Appends an RFC 5322 date-time such as "Sat, 28 Nov 2026 10:00:00 +0000". */
void smtp_date_append(struct buf *out, time_t when);
/* RFC 3848 protocol name for the session's properties. */
const char *smtp_protocol_name(bool esmtp, bool tls, bool auth, bool utf8);

#endif
