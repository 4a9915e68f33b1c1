/* smtp_session.h — the state of one SMTP server session, shared by the
 * command handlers (smtp_cmd_*.c). Private to src/smtp. */
#ifndef CORREU_SMTP_SESSION_H
#define CORREU_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "buf.h"
#include "conn.h"
#include "service.h"
#include "smtp_data.h"
#include "smtp_parser.h"
#include "str.h"

enum smtp_phase {
	SMTP_PHASE_COMMANDS,
	SMTP_PHASE_DATA,	/* reading DATA content up to CRLF.CRLF */
	SMTP_PHASE_BDAT,	/* reading the octets of a BDAT chunk */
	SMTP_PHASE_WAIT,	/* paused: commit or auth in progress */
	SMTP_PHASE_AUTH,	/* reading a SASL response line (smtp_cmd_auth.c) */
	SMTP_PHASE_QUIT,
};

struct smtp_rcpt {
	char *address;		/* as given (without brackets) */
	char *orcpt;		/* DSN ORCPT "type;address" (decoded) or NULL */
	unsigned notify;	/* QUEUE_NOTIFY_* bits; 0 = not given */
	bool remote;		/* relayed (authenticated), not local */
};

struct smtp_txn {
	char *sender;		/* "" for the null sender */
	uint64_t size_declared;
	bool body_8bit;		/* BODY=8BITMIME */
	bool smtputf8;
	char *ret;		/* DSN RET: "FULL", "HDRS" or NULL */
	char *envid;		/* DSN ENVID (xtext) or NULL */
	struct smtp_rcpt *rcpts;
	size_t n_rcpts;
	struct strv local_users;	/* canonical local accounts, unique */
	/* Per local_users entry: its quota at RCPT (0 = none) and the usage
	 * seen then (SMTP_QUOTA_UNKNOWN if not looked up); smtp_quota.c. */
	uint64_t *local_quota;
	uint64_t *local_used;
	struct strv remote;		/* remote addresses to queue */
	char queue_id[32];

	/* message content being received */
	struct smtp_data data;
	struct buf wbuf;	/* filtered content not yet written */
	int fd;			/* spool file, -1 if none */
	char *spool_path;
	uint64_t data_size;	/* message octets received (after unstuffing) */
	size_t prefix_len;	/* Return-Path line length (not for the queue) */
	uint64_t file_size;
	bool too_big;
	bool write_failed;
	bool data_started;	/* DATA or a first BDAT began the content */
	bool via_bdat;
	uint64_t started_ms;
};

struct smtp_session {
	const struct service_env *env;
	enum service_kind kind;
	struct conn *conn;
	char id[12];
	char *helo;
	char *auth_user;	/* set by AUTH (submission) */
	bool esmtp;
	bool tls;
	bool counted;		/* session_begin() said yes */
	bool discard_line;	/* dropping the rest of an over-long line */
	enum smtp_phase phase;
	unsigned n_commands;
	unsigned n_errors;
	unsigned n_messages;
	struct smtp_txn *txn;
	/* the BDAT chunk being read */
	uint64_t bdat_remaining;
	bool bdat_last;
	/* a refused BDAT: its octets are read and dropped, then this
	 * reply is sent */
	unsigned bdat_error_code;
	const char *bdat_error_enh;
	const char *bdat_error_text;
	void *auth_state;	/* owned by smtp_cmd_auth.c */
	uv_work_t *commit;	/* in-flight thread-pool job (the commit of a
				   message, a quota look-up), or NULL */
	bool closed;		/* on_close seen; free when the job ends */
};

/* Replies "code enhanced text" (one line). */
void smtp_reply(struct smtp_session *s, unsigned code, const char *enhanced,
		const char *fmt, ...) ATTR_FORMAT(4, 5);
/* Counts an error reply; after smtp_max_errors the session ends with 421. */
void smtp_error(struct smtp_session *s, unsigned code, const char *enhanced,
		const char *fmt, ...) ATTR_FORMAT(4, 5);
/* Sends 421 and closes. */
void smtp_close_421(struct smtp_session *s, const char *enhanced, const char *text);
/* Ends the transaction, removing any spool file. */
void smtp_txn_reset(struct smtp_session *s);
/* Whether submission rules apply (ports 587/465). */
bool smtp_is_submission(const struct smtp_session *s);

/* Frees the session and its transaction (after on_close). */
void smtp_session_free(struct smtp_session *s);
/* Continues processing input after an asynchronous step finished. */
void smtp_session_resume(struct smtp_session *s);

/* Command handlers; cmd is freed by the caller after return. */
typedef void smtp_cmd_handler_t(struct smtp_session *s, struct smtp_command *cmd);
smtp_cmd_handler_t smtp_cmd_helo, smtp_cmd_ehlo, smtp_cmd_mail, smtp_cmd_rcpt,
	smtp_cmd_data, smtp_cmd_bdat, smtp_cmd_rset, smtp_cmd_noop, smtp_cmd_quit,
	smtp_cmd_vrfy, smtp_cmd_expn, smtp_cmd_help, smtp_cmd_starttls, smtp_cmd_auth;

/* Adds an accepted recipient to the transaction (taking r's strings;
 * r is zeroed) and replies 250 (smtp_cmd_rcpt.c). */
void smtp_rcpt_accept(struct smtp_session *s, struct smtp_rcpt *r);

/* Quota of local recipients (smtp_quota.c). */
#define SMTP_QUOTA_UNKNOWN UINT64_MAX
/* Finishes a RCPT whose address resolved to local accounts (res; alias
 * targets elsewhere too): when some of them have a quota, their usage is
 * looked up in the thread pool while the session waits. Then either the
 * RCPT is refused (452 4.2.2 Mailbox full, or 552 5.2.2 when SIZE= is
 * larger than the whole quota: every local account over quota and
 * nothing else), or accepted with smtp_rcpt_accept, the accounts over
 * quota going to the queue. Takes r's strings and res (both left
 * empty). */
struct auth_resolved;
void smtp_quota_rcpt(struct smtp_session *s, struct smtp_rcpt *r, struct auth_resolved *res);
/* Adds a local account to the transaction once, with its quota and the
 * usage seen at RCPT. */
void smtp_txn_add_local(struct smtp_txn *t, const char *user, uint64_t quota, uint64_t used);

/* Data phase (smtp_cmd_data.c): consumes content from the input buffer;
 * returns false when it needs more input. */
bool smtp_data_input(struct smtp_session *s, struct buf *in);
/* A client's response line during an AUTH exchange (SMTP_PHASE_AUTH). */
void smtp_auth_line(struct smtp_session *s, const char *line, size_t len);
/* Frees what smtp_cmd_auth.c keeps in auth_state. */
void smtp_auth_free(struct smtp_session *s);
/* Mechanisms for the EHLO AUTH line, or NULL when AUTH is not offered. */
const char *smtp_auth_mechanisms(const struct smtp_session *s);

#endif
