/* web_imap.h — the webmail's asynchronous IMAP client: one connection per
 * browser session over TLS, commands queued and run one at a time,
 * SELECT issued as needed, re-connection and re-login when the server
 * dropped us, IDLE (or NOOP polling) while nothing else runs so changes
 * reach the browser. Works with any IMAP4rev1 server. Runs in the web
 * process. Parses untrusted input (through web_imap_parse). */
#ifndef CORREU_WEB_IMAP_H
#define CORREU_WEB_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "buf.h"
#include "web_imap_parse.h"
#include "web_upstream.h"

struct web_imap;

enum web_imap_status {
	WEB_IMAP_OK,
	WEB_IMAP_NO,
	WEB_IMAP_BAD,
	WEB_IMAP_FAIL,		/* no answer: connection lost, timeout, ... */
};

struct web_imap_reply {
	enum web_imap_status status;
	const char *text;	/* server text or local reason */
	const char *code;	/* response code of the tagged reply or NULL */
	struct imap_response *untagged;	/* data responses seen meanwhile */
	size_t n_untagged;
};

/* Called exactly once per command; reply and its data live until return. */
typedef void web_imap_cb(const struct web_imap_reply *r, void *ctx);

struct web_imap_events {
	/* The selected mailbox changed: messages came or went (messages
	 * true), or only flags were changed by someone else (false). */
	void (*on_change)(void *ctx, const char *mailbox, bool messages);
	/* Re-login failed: the session cannot go on. */
	void (*on_lost)(void *ctx, const char *reason);
};

/* A command being built: text without tag and CRLF, literals included
 * as "{n}\r\n" + data, whose data offsets are in lits. */
struct web_imap_cmd {
	struct buf text;
	size_t *lits;
	size_t n_lits;
	bool secret;		/* never log (LOGIN) */
};

void web_imap_cmd_init(struct web_imap_cmd *cmd);
void web_imap_cmd_free(struct web_imap_cmd *cmd);
void web_imap_cmd_printf(struct web_imap_cmd *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* Appends an astring: atom, quoted string or literal as the bytes need. */
void web_imap_cmd_astring(struct web_imap_cmd *cmd, const char *s, size_t len);
/* Appends a literal regardless of content (APPEND message data). */
void web_imap_cmd_literal(struct web_imap_cmd *cmd, const void *data, size_t len);

/* Creates the client; nothing is sent until the first command. The
 * password is kept (in memory only) to log in again after a drop. */
struct web_imap *web_imap_new(uv_loop_t *loop, const struct web_upstream *up,
			      const char *user, const char *password,
			      const struct web_imap_events *ev, void *ev_ctx);
/* The browser's address: the client tells the server in ID before
 * LOGIN (under `correu serve` with the proof of auth_proxy.h; a
 * standalone `correu web` relies on the server's trusted_proxies), so
 * that failed logins count against the browser, not the webmail. */
void web_imap_set_origin(struct web_imap *im, const char *ip);
/* Sets who hears about changes (the session, once it exists). */
void web_imap_set_events(struct web_imap *im, const struct web_imap_events *ev, void *ev_ctx);
/* Logs out and closes; pending commands get WEB_IMAP_FAIL callbacks
 * before this returns. */
void web_imap_free(struct web_imap **im);

/* Connects and logs in; OK, NO (bad credentials) or FAIL. */
void web_imap_login(struct web_imap *im, web_imap_cb *cb, void *ctx);
/* Queues cmd (taken over, reset afterwards). With mailbox set (the IMAP
 * name, modified UTF-7), that mailbox is SELECTed first if needed. */
void web_imap_run(struct web_imap *im, const char *mailbox, struct web_imap_cmd *cmd,
		  web_imap_cb *cb, void *ctx);
/* The user's login name and password (submission logs in with them). */
const char *web_imap_user(const struct web_imap *im);
const char *web_imap_password(const struct web_imap *im);
/* Whether the server announced a capability ("SORT", "THREAD=REFERENCES"). */
bool web_imap_has_cap(const struct web_imap *im, const char *cap);
/* Keeps IDLE running on the selected mailbox (or INBOX) while idle. */
void web_imap_set_watch(struct web_imap *im, bool watch);
/* UIDVALIDITY and message count of the selected mailbox. */
uint32_t web_imap_uidvalidity(const struct web_imap *im);
uint32_t web_imap_exists(const struct web_imap *im);
const char *web_imap_selected(const struct web_imap *im);
/* Forgets the selection so the next command needing it SELECTs again
 * (after EXPUNGE or changes made elsewhere). */
void web_imap_unselect(struct web_imap *im);

#endif
