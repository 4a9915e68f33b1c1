/* web_mime.h — builds the messages the webmail sends and saves as
 * drafts: address fields checked and collected as envelope recipients,
 * text (and HTML) body, uploaded attachments, a forwarded message as a
 * message/rfc822 part, threading headers. Pure function over memory;
 * input is the logged-in user's. Runs in the web process. */
#ifndef CORREU_WEB_MIME_H
#define CORREU_WEB_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "buf.h"
#include "str.h"

struct web_mime_attachment {
	const char *filename;	/* UTF-8 */
	const char *type;	/* "application/pdf"; anything malformed becomes
				   application/octet-stream */
	const void *data;
	size_t len;
};

struct web_mime_msg {
	const char *from;		/* addr-spec of the user */
	const char *from_name;		/* display name or NULL */
	const char *to, *cc, *bcc;	/* as typed: comma-separated lists */
	const char *subject;
	const char *text;		/* UTF-8 plain text body */
	const char *in_reply_to;	/* "<id>" or NULL */
	const char *references;		/* "<a> <b>" or NULL */
	const struct web_mime_attachment *atts;
	size_t n_atts;
	const void *forward;		/* message attached as message/rfc822 */
	size_t forward_len;
	bool keep_bcc;			/* drafts keep Bcc: in the header */
	time_t date;
	const char *message_id;		/* "<id>"; NULL = generated */
};

/* Appends the message (CRLF line endings) to out and the envelope
 * recipients (To, Cc and Bcc addresses) to rcpts. Returns -1 with
 * *error_r (static text) for an invalid address or header value. */
int web_mime_build(const struct web_mime_msg *m, struct buf *out, struct strv *rcpts,
		   const char **error_r);

#endif
