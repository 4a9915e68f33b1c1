/* imap_session.h — one IMAP connection: state, the running command,
 * output helpers and the unsolicited updates (EXISTS, EXPUNGE/VANISHED,
 * FETCH FLAGS) sent at the points RFC 9051 7 allows. Internal to
 * src/imap. Runs in the mail workers.
 *
 * Memory: an idle session holds this struct and its connection; the
 * parser's buffers, the command and its data are freed after every
 * command. A selected mailbox costs 4 bytes per message (store_view). */
#ifndef CORREU_IMAP_SESSION_H
#define CORREU_IMAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "auth_client.h"
#include "buf.h"
#include "cfg.h"
#include "conn.h"
#include "imap_parser.h"
#include "store.h"

enum imap_state {
	IMAP_STATE_NOAUTH = 1 << 0,
	IMAP_STATE_AUTH = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
	IMAP_STATE_LOGOUT = 1 << 3,
};
#define IMAP_STATE_ANY (IMAP_STATE_NOAUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATE_LOGGEDIN (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

enum imap_enabled {
	IMAP_ENABLED_CONDSTORE = 1 << 0,
	IMAP_ENABLED_QRESYNC = 1 << 1,
	IMAP_ENABLED_UTF8 = 1 << 2,	/* UTF8=ACCEPT */
	IMAP_ENABLED_REV2 = 1 << 3,	/* IMAP4rev2 */
};

/* What a session needs from the rest of the server; the worker fills it
 * from its service_env (imap_service.c), tests with their own doubles. */
struct imap_backend {
	void *ctx;
	/* Password check; returns a request handle for cancel. */
	void *(*verify)(void *ctx, const char *client_ip, const char *user,
			const char *password, auth_callback_t *cb, void *cbctx);
	void *(*sasl_start)(void *ctx, const char *client_ip, const char *mech,
			    const char *initial_b64, auth_sasl_callback_t *cb, void *cbctx);
	void (*sasl_continue)(void *ctx, void *req, const char *response_b64,
			      auth_sasl_callback_t *cb, void *cbctx);
	void (*cancel)(void *ctx, void *req);
	/* SASL mechanisms to announce (space-separated), NULL for none. */
	const char *(*mechanisms)(void *ctx, bool secured);
	/* Maildir root and quota of an authenticated user: 1 found, 0 not
	 * found, -1 error. */
	int (*lookup)(void *ctx, const char *user, char **maildir_r, uint64_t *quota_r);
	/* The session is over (connection counts). */
	void (*ended)(void *ctx, bool implicit_tls, const char *peer_ip);
};

/* Settings shared by all sessions of a worker. */
struct imap_server {
	uv_loop_t *loop;
	const struct config *cfg;
	struct tls_server *tls;
	struct imap_backend backend;
	unsigned *active_sessions;	/* may be NULL */
};

struct imap_session;
struct imap_cmd;

enum imap_cmd_result {
	IMAP_CMD_DONE,		/* the tagged reply was sent */
	IMAP_CMD_ASYNC,		/* imap_cmd_done() will be called later */
};

/* One command in progress. Its arguments live in the parser until the
 * command is done. */
struct imap_cmd {
	struct imap_session *s;
	const struct imap_command *def;
	char *tag;
	const char *name;		/* canonical upper-case name */
	const struct imap_arg *args;
	size_t n_args;
	bool uid;			/* UID FETCH etc. */
	/* Continuation when output drained (streaming FETCH). */
	enum imap_cmd_result (*on_drain)(struct imap_cmd *cmd);
	void *ctx;
	void (*ctx_free)(struct imap_cmd *cmd);
	/* Line from the client while the command runs (IDLE, AUTHENTICATE);
	 * line is NULL if it was too long. */
	void (*on_line)(struct imap_cmd *cmd, const char *line);
};

struct imap_append;

struct imap_session {
	struct imap_server *server;
	struct conn *conn;
	enum imap_state state;
	unsigned enabled;		/* enum imap_enabled */
	bool implicit_tls;
	bool counted;
	bool closing;
	bool idling;
	bool condstore_used;		/* CONDSTORE enabled by use (RFC 7162 3.1) */
	bool compress;
	uint16_t errors;
	struct imap_parser *parser;
	struct imap_cmd *cmd;
	char *user;
	struct store_user *store;
	struct store_open_req *open_req;
	struct store_lock *slot;	/* per-user connection limit */
	struct store_view *view;	/* the selected mailbox */
	struct store_watch *watch;
	struct imap_append *append;	/* APPEND literal being stored */
	uint32_t exists_sent;		/* EXISTS count the client knows */
	uint32_t recent_sent;
	uint32_t keywords_sent;		/* keywords in the last FLAGS line */
	uint32_t *searchres;		/* SEARCHRES "$" (UIDs, ascending) */
	size_t n_searchres;
	uint64_t commands;
	char id[12];
	/* The browser's address when the built-in webmail (proving it
	 * with auth_proxy.h's token) or a trusted proxy (trusted_proxies)
	 * named one in ID before login; empty otherwise. */
	char origin_ip[64];
};

/* The address the auth throttle counts: the browser's behind the
 * webmail or a trusted proxy (origin_ip), else the peer's. */
const char *imap_session_client_ip(const struct imap_session *s);

/* Output. */
void imap_write(struct imap_session *s, const void *data, size_t len);
void imap_printf(struct imap_session *s, const char *fmt, ...) ATTR_FORMAT(2, 3);
void imap_write_str(struct imap_session *s, const char *str);
/* Output bytes queued and not yet sent. */
size_t imap_output_pending(struct imap_session *s);

/* Tagged replies; each ends the command unless it is asynchronous
 * (then imap_cmd_done follows). text may carry "[CODE] ". */
void imap_cmd_reply(struct imap_cmd *cmd, const char *status, const char *fmt, ...)
	ATTR_FORMAT(3, 4);
/* Sends the unsolicited updates, then "tag OK text". */
enum imap_cmd_result imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
enum imap_cmd_result imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
enum imap_cmd_result imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* NO with the response code matching the store's last error. */
enum imap_cmd_result imap_cmd_store_error(struct imap_cmd *cmd);
/* An asynchronous command has sent its tagged reply: free it and go on
 * with the next command. */
void imap_cmd_done(struct imap_cmd *cmd);

/* Unsolicited updates of the selected mailbox (EXPUNGE/VANISHED when
 * allow_expunge, FETCH for flag changes, EXISTS, RECENT). */
void imap_session_update(struct imap_session *s, bool allow_expunge);
/* Whether modseqs are shown (CONDSTORE enabled or used). */
bool imap_session_condstore(const struct imap_session *s);
/* Whether UTF-8 may be sent in strings (UTF8=ACCEPT or IMAP4rev2). */
bool imap_session_utf8(const struct imap_session *s);

/* Leaves the selected state (CLOSE, UNSELECT, SELECT of another). */
void imap_session_unselect(struct imap_session *s);
/* Capability list for the current state (without "CAPABILITY "). */
void imap_session_capabilities(struct imap_session *s, struct buf *out);
/* Closes the connection after "* BYE text". */
void imap_session_bye(struct imap_session *s, const char *text);
/* The connection is now TLS-protected or a loopback test allows plain
 * authentication. */
bool imap_session_secured(const struct imap_session *s);

/* Mailbox names: from the client's form (modified UTF-7, or UTF-8 with
 * UTF8=ACCEPT/IMAP4rev2) to the store's UTF-8; NULL if invalid. */
char *imap_mailbox_from_client(struct imap_session *s, const char *name);
/* Appends a store name in the client's form as an IMAP string. */
void imap_append_mailbox(struct imap_session *s, struct buf *out, const char *name);
/* Appends an astring/string (quoted or literal as needed). */
void imap_append_string(struct buf *out, const char *str, size_t len, bool utf8);
void imap_append_astring(struct buf *out, const char *str, bool utf8);

/* Message sets: converts a sequence set (or UID set when uid) argument
 * into sorted UIDs in the view. Returns -1 (with a BAD already sent)
 * on bad syntax. Non-existent message numbers are an error (BAD) as
 * RFC 9051 6.4.5 asks; non-existent UIDs are ignored. */
int imap_cmd_uidset(struct imap_cmd *cmd, const char *set, bool uid,
		    uint32_t **uids_r, size_t *n_r);

/* The mailbox argument in store form; NULL with a NO/BAD sent. */
char *imap_cmd_mailbox_arg(struct imap_cmd *cmd, const struct imap_arg *arg);

/* Flags: parses a flag list into system flags and keywords; -1 and a
 * BAD sent if invalid. Keywords point into the arguments. */
int imap_cmd_parse_flags(struct imap_cmd *cmd, const struct imap_arg *list, size_t n,
			 uint32_t *flags_r, const char ***keywords_r, size_t *n_keywords_r);
/* Appends "(\Seen $Label1 ...)" for flags, keywords and \Recent. */
void imap_append_flags(struct imap_session *s, struct buf *out, uint32_t flags,
		       uint64_t keywords, bool recent);
/* Appends the FLAGS and PERMANENTFLAGS lines for the selected mailbox. */
void imap_send_flags_lines(struct imap_session *s);

#endif
