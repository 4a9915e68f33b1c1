/* web_smtp.h — the webmail's submission client: SMTP over implicit TLS
 * (RFC 8314) with AUTH PLAIN as the logged-in user, one message per
 * connection, and the reply parser it uses. Runs in the web process.
 * Parses untrusted input (server replies). */
#ifndef CORREU_WEB_SMTP_H
#define CORREU_WEB_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include "buf.h"
#include "str.h"
#include "web_upstream.h"

/* Called once: ok, or error holds the server's or our reason. */
typedef void web_smtp_cb(bool ok, const char *error, void *ctx);

/* Sends msg (CRLF line endings; copied) from from to rcpts. */
void web_smtp_send(uv_loop_t *loop, const struct web_upstream *up, const char *user,
		   const char *password, const char *from, const struct strv *rcpts,
		   const struct buf *msg, web_smtp_cb *cb, void *ctx);

/* Reply parser: looks for one complete (possibly multi-line) reply at
 * the start of data. Returns 1 with *code_r, the text of all lines in
 * text (appended, lines joined with '\n') and *used_r; 0 if incomplete;
 * -1 if malformed. */
int web_smtp_reply_parse(const char *data, size_t len, int *code_r, struct buf *text,
			 size_t *used_r);

/* Appends msg dot-stuffed with the final ".\r\n" (RFC 5321 4.5.2). */
void web_smtp_dot_stuff(const struct buf *msg, struct buf *out);

#endif
