/* pop3_session.h — the state of one POP3 server session, shared by the
 * command handlers (pop3_cmd_*.c) and the maildrop (pop3_maildrop.c).
 * Private to src/pop3. */
#ifndef CORREU_POP3_SESSION_H
#define CORREU_POP3_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "auth_client.h"
#include "buf.h"
#include "conn.h"
#include "pop3_parser.h"
#include "pop3_stuff.h"
#include "service.h"
#include "store.h"

/* RFC 1939 states. */
enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,
};

/* What the input loop is doing. */
enum pop3_phase {
	POP3_PHASE_COMMANDS,
	POP3_PHASE_SASL,	/* a SASL challenge was sent; the next line answers it */
	POP3_PHASE_WAIT,	/* paused: auth verdict or store open in progress */
	POP3_PHASE_STREAM,	/* sending a RETR/TOP response */
	POP3_PHASE_QUIT,
};

/* One message of the maildrop, as listed at login (RFC 1939: the
 * numbering and the sizes stay fixed for the session). */
struct pop3_msg {
	uint32_t uid;
	uint32_t name_ofs;	/* file name in the session's names buffer */
	uint64_t size;		/* CRLF octets (the file size) */
	bool deleted;
	bool retrieved;		/* RETR: gets \Seen at QUIT */
};

struct pop3_session {
	const struct service_env *env;
	enum service_kind kind;
	struct conn *conn;
	char id[12];
	enum pop3_state state;
	enum pop3_phase phase;
	bool tls;
	bool counted;		/* session_begin() said yes */
	bool discard_line;	/* dropping the rest of an over-long line */
	unsigned n_commands;
	unsigned n_errors;

	/* authorization */
	char *user;		/* USER argument, until PASS */
	char *auth_user;	/* canonical account once logged in */
	struct auth_request *auth_req;	/* in flight, or NULL */
	bool sasl_continuing;	/* auth_req awaits our continue */
	struct store_open_req *open_req;

	/* the maildrop (TRANSACTION state) */
	struct store_user *store;
	struct store_lock *lock;
	struct store_mailbox *mb;
	uint32_t uidvalidity;
	struct pop3_msg *msgs;
	uint32_t n_msgs;
	struct buf names;	/* NUL-separated file names of msgs */
	uint32_t n_deleted;
	uint64_t deleted_size;
	uint64_t total_size;
	unsigned n_retr;

	/* the RETR/TOP response being streamed */
	int stream_fd;
	struct pop3_stuff stuff;
	struct buf stream_out;
	bool stream_progress;	/* output drained since the last timeout tick */
	uint64_t bytes_sent;
};

/* "+OK text" / "-ERR text" replies. pop3_err counts errors; after
 * pop3_max_errors the session ends. */
void pop3_ok(struct pop3_session *s, const char *fmt, ...) ATTR_FORMAT(2, 3);
void pop3_err(struct pop3_session *s, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* Closes the session (after flushing output). Nothing is deleted. */
void pop3_close(struct pop3_session *s);

/* Continues processing input after an asynchronous step finished. */
void pop3_session_resume(struct pop3_session *s);
/* Handles every complete command in the input buffer. */
void pop3_session_input(struct pop3_session *s);
/* Whether USER/PASS and AUTH are allowed now (TLS or configured). */
bool pop3_auth_allowed(const struct pop3_session *s);

/* Command handlers; cmd is freed by the caller after return. */
typedef void pop3_cmd_handler_t(struct pop3_session *s, struct pop3_command *cmd);
pop3_cmd_handler_t pop3_cmd_user, pop3_cmd_pass, pop3_cmd_auth, pop3_cmd_stls,
	pop3_cmd_capa, pop3_cmd_stat, pop3_cmd_list, pop3_cmd_uidl, pop3_cmd_retr,
	pop3_cmd_top, pop3_cmd_dele, pop3_cmd_rset, pop3_cmd_noop, pop3_cmd_quit;

/* SASL (pop3_cmd_auth.c): the client's line answering a challenge. */
void pop3_sasl_response(struct pop3_session *s, const char *line);
/* Cancels authentication in flight (session ending). */
void pop3_auth_free(struct pop3_session *s);

/* The maildrop (pop3_maildrop.c). After a successful login: looks up
 * the account, opens its store (async), takes the maildrop lock, lists
 * INBOX and replies; the session is paused meanwhile. */
void pop3_maildrop_open(struct pop3_session *s, const char *account);
/* UPDATE state: expunges the messages marked deleted and flags those
 * retrieved \Seen. 0, or -1 if the store failed (some remain). */
int pop3_maildrop_update(struct pop3_session *s, uint32_t *expunged_r);
/* Releases the lock and the store; cancels an open in progress. */
void pop3_maildrop_free(struct pop3_session *s);
/* The message with number msg (1-based) if it exists and is not marked
 * deleted; else replies -ERR and returns NULL. */
struct pop3_msg *pop3_maildrop_msg(struct pop3_session *s, uint32_t msg);
/* The UIDL of a message: IMAP UID and UIDVALIDITY in hex, like
 * Dovecot's default "%08Xu%08Xv" (so migrated maildrops keep them). */
void pop3_uidl(const struct pop3_session *s, const struct pop3_msg *m, char out[17]);

/* Streaming (pop3_cmd_retr.c): continues when output drained; frees
 * what a stream holds. */
void pop3_stream_drain(struct pop3_session *s);
void pop3_stream_free(struct pop3_session *s);

#endif
