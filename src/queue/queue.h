/* queue.h — the durable outbound queue: what the SMTP server session and
 * `correu sendmail` call to hand over a message for remote (or deferred
 * local) delivery, and the envelope kept with every queued message.
 * Used by the workers (in a libuv thread-pool job), by the queue process
 * and by the command line. Envelopes read back from disk are parsed with
 * limits (queue_env.c); nothing here reads from the network.
 *
 * On disk, under data_dir/queue/:
 *   ID        the message (CRLF lines), usually a hard link of the
 *             caller's spool file; the first env.skip bytes are not part
 *             of the message (a Return-Path: line written for Maildirs)
 *   ID.env    the envelope (text, see queue_env.c); its appearance by
 *             rename() is the commit point
 *   tmp/      temporary files of enqueue, envelope rewrites, bounces and
 *             messages arriving on the pickup socket (queue_pickup.h)
 * The queue process learns of new messages through a datagram on
 * data_dir/run/queue.sock and by scanning the directory when it starts,
 * so a message committed while it is down is never forgotten. */
#ifndef CORREU_QUEUE_H
#define CORREU_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "buf.h"
#include "cfg.h"

/* DSN NOTIFY= bits (RFC 3461); 0 means the client gave none, which is
 * treated as FAILURE|DELAY. */
#define QUEUE_NOTIFY_NEVER	0x01u
#define QUEUE_NOTIFY_SUCCESS	0x02u
#define QUEUE_NOTIFY_FAILURE	0x04u
#define QUEUE_NOTIFY_DELAY	0x08u

enum queue_body {
	QUEUE_BODY_7BIT,	/* no BODY= or BODY=7BIT */
	QUEUE_BODY_8BITMIME,
	QUEUE_BODY_BINARYMIME,
};

enum queue_ret {
	QUEUE_RET_DEFAULT,	/* no RET=: headers only in a bounce */
	QUEUE_RET_FULL,
	QUEUE_RET_HDRS,
};

enum queue_rcpt_status {
	QUEUE_RCPT_PENDING,	/* not delivered yet (maybe deferred) */
	QUEUE_RCPT_SENT,	/* accepted by the next hop or a Maildir */
	QUEUE_RCPT_FAILED,	/* permanent failure or expired; DSN sent */
};

struct queue_rcpt {
	char *address;		/* forward-path without <>, as received */
	/* "addr-type;address" from ORCPT= with the xtext already decoded
	 * (e.g. "rfc822;bob@example.org"), or NULL. */
	char *orcpt;
	unsigned notify;	/* QUEUE_NOTIFY_* bits, 0 = not given */

	/* Delivery state, kept by the queue process. */
	enum queue_rcpt_status status;
	unsigned attempts;
	time_t last_attempt;	/* 0 = never */
	char *last_error;	/* last reply or error text, or NULL */
	char *remote_mta;	/* host that gave the last reply, or NULL */
	char status_code[16];	/* enhanced status of the last reply ("4.4.1") */
	bool delay_warned;	/* a delay DSN was sent for it */
};

struct queue_envelope {
	/* Queue id. Set it (from queue_id_new) before queue_enqueue to use
	 * the same id in the receiving session's logs; NULL = make one. */
	char *id;
	char *sender;		/* reverse-path without <>; "" = null sender */
	struct queue_rcpt *rcpts;
	size_t n_rcpts;
	enum queue_body body;
	bool smtputf8;
	enum queue_ret ret;
	char *envid;		/* ENVID= with xtext decoded, or NULL */
	char *auth_user;	/* authenticated submitter, or NULL */
	char *client_ip;	/* for logs and DSNs; NULL = local */
	char *client_helo;
	/* Set by the queue and kept with the envelope. */
	size_t skip;		/* leading bytes of the file not in the message */
	uint64_t size;		/* message size in bytes after skip */
	time_t arrival;		/* when it was queued */
	time_t next_attempt;	/* 0 = as soon as possible */
	bool held;		/* `correu queue hold`: not delivered until released */
	/* This message is itself a DSN (null sender): never bounce it. */
	bool is_dsn;
};

void queue_envelope_init(struct queue_envelope *env);
void queue_envelope_free(struct queue_envelope *env);
/* Appends a pending recipient; orcpt may be NULL. Returns it. */
struct queue_rcpt *queue_envelope_add_rcpt(struct queue_envelope *env, const char *address,
					   unsigned notify, const char *orcpt);
/* Deep copy of src into dst (dst is initialised here). */
void queue_envelope_copy(struct queue_envelope *dst, const struct queue_envelope *src);

/* "NEVER", "SUCCESS,FAILURE", ... or "" for 0. */
void queue_notify_format(unsigned notify, struct buf *out);
/* Parses a DSN NOTIFY= value (case-insensitive); -1 if invalid
 * (unknown word, NEVER combined with others). */
int queue_notify_parse(const char *s, unsigned *notify_r);
/* Whether a recipient asked for the given DSN kind (FAILURE and DELAY
 * are the default when NOTIFY was not given). */
bool queue_rcpt_wants(const struct queue_rcpt *r, unsigned kind);

/* A new unique queue id (letters and digits only); thread-safe; caller
 * frees. */
char *queue_id_new(void);
/* Whether s looks like a queue id (so it can be used in a path). */
bool queue_id_valid(const char *s);

/* Makes the message durable in the queue and notifies the queue process.
 * fd is the open message file at path (CRLF lines, on the same file
 * system as data_dir), whose first skip bytes are not part of the
 * message. The file is fsynced and hard-linked into the queue (copied if
 * linking fails), the envelope is written to a temporary name, fsynced
 * and renamed, and the queue directory is fsynced; only then does this
 * return 0 with *id_r (caller frees) set. The caller still owns fd and
 * path and may unlink path afterwards. env->id, if set, is used as the
 * id. Blocking: call from a thread-pool job, never on an event loop.
 * Thread-safe. -1 with *error_r (static text) when nothing was queued. */
int queue_enqueue(const struct config *cfg, int fd, const char *path, size_t skip,
		  const struct queue_envelope *env, char **id_r, const char **error_r);

/* Same from a memory buffer (bounces, tests). */
int queue_enqueue_data(const struct config *cfg, const void *data, size_t len,
		       const struct queue_envelope *env, char **id_r, const char **error_r);

#endif
