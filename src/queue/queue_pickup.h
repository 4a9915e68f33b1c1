/* queue_pickup.h — the local pickup protocol: how `correu sendmail`, run
 * by a user who cannot write data_dir/queue, hands a message to the queue
 * process over the Unix stream socket data_dir/public/pickup, which every
 * local user may connect to (docs/delivery.md, "sendmail"). The server
 * identifies the user by the socket's peer credentials, never by what the
 * request says.
 *
 * Request: records, each "NAME LENGTH\n" followed by exactly LENGTH bytes
 * of value (no terminator). NAME is lower-case letters, LENGTH decimal.
 *   pickup 1\n1        first: the protocol version, "1"
 *   sender N\nADDR     once: the envelope sender, empty for the null sender
 *   rcpt N\nADDR       once per recipient, at least one
 *   notify N\nLIST     optional: DSN NOTIFY for every recipient ("FAILURE,DELAY")
 *   ret N\nfull|hdrs   optional: DSN RET
 *   envid N\nID        optional: DSN ENVID (printable ASCII)
 *   message N\nBYTES   last: the message, CRLF lines, no NUL
 * Nothing may follow the message. Addresses are bare (no <>).
 * Reply: one line, after which the server closes the connection:
 *   "ok ID\n"              the message is durably queued as ID
 *   "fail CODE TEXT\n"     nothing was queued; CODE is a sysexits(3)
 *                          status for sendmail to exit with
 *
 * The parser takes bytes and returns events; it never touches a socket.
 * Parses untrusted input (any local user's), with limits. Used by the
 * queue process; the encoding helpers by `correu sendmail`. */
#ifndef CORREU_QUEUE_PICKUP_H
#define CORREU_QUEUE_PICKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "cfg.h"
#include "queue.h"
#include "str.h"

#define QUEUE_PICKUP_VERSION "1"
/* Longest value of any record but "message". */
#define QUEUE_PICKUP_MAX_VALUE 1024
/* Longest record head ("NAME LENGTH\n"). */
#define QUEUE_PICKUP_MAX_HEAD 40
/* Longest reply line, LF included. */
#define QUEUE_PICKUP_MAX_REPLY 512

/* sysexits(3) statuses used in replies. */
#define QUEUE_PICKUP_EX_USAGE 64
#define QUEUE_PICKUP_EX_DATAERR 65
#define QUEUE_PICKUP_EX_SOFTWARE 70
#define QUEUE_PICKUP_EX_TEMPFAIL 75
#define QUEUE_PICKUP_EX_PROTOCOL 76
#define QUEUE_PICKUP_EX_NOPERM 77

enum queue_pickup_event {
	QUEUE_PICKUP_MORE,	/* every input byte was used: feed more */
	QUEUE_PICKUP_ENVELOPE,	/* the envelope is complete; the message follows */
	QUEUE_PICKUP_DATA,	/* *data_r, *data_len_r: the next piece of the message */
	QUEUE_PICKUP_DONE,	/* the whole request was read */
	QUEUE_PICKUP_ERROR,	/* p->error, p->error_code; stays in error */
};

/* What the request said, valid from QUEUE_PICKUP_ENVELOPE on. */
struct queue_pickup_request {
	char *sender;		/* "" = null sender */
	struct strv rcpts;
	unsigned notify;	/* QUEUE_NOTIFY_* bits, 0 = not given */
	enum queue_ret ret;
	char *envid;		/* NULL = not given */
	uint64_t message_size;
	bool smtputf8;		/* an address is not ASCII */
	bool eight_bit;		/* the message has bytes >= 0x80 (valid after DONE) */
};

enum queue_pickup_state {
	QUEUE_PICKUP_S_HEAD,
	QUEUE_PICKUP_S_VALUE,
	QUEUE_PICKUP_S_MESSAGE,
	QUEUE_PICKUP_S_MESSAGE_END,	/* DONE still to be returned */
	QUEUE_PICKUP_S_END,
	QUEUE_PICKUP_S_ERROR,
};

struct queue_pickup_parser {
	uint64_t max_message;
	size_t max_rcpts;
	enum queue_pickup_state state;
	char head[QUEUE_PICKUP_MAX_HEAD];
	size_t head_len;
	int field;		/* record being read (queue_pickup.c) */
	uint64_t left;		/* bytes of the value still to come */
	struct buf value;
	unsigned seen;		/* bit per record kind seen */
	unsigned char last;	/* previous message byte (CRLF checks) */
	struct queue_pickup_request req;
	const char *error;	/* static text */
	int error_code;		/* sysexits status for the reply */
};

/* max_message: largest message accepted (message_size_limit);
 * max_rcpts: most recipients. */
void queue_pickup_parser_init(struct queue_pickup_parser *p, uint64_t max_message,
			      size_t max_rcpts);
void queue_pickup_parser_free(struct queue_pickup_parser *p);
/* Reads from in (len bytes, may be 0) up to the next event, setting
 * *used_r to the bytes consumed. QUEUE_PICKUP_MORE means all of in was
 * used; every other event may leave input for the next call, which the
 * caller makes with the rest. QUEUE_PICKUP_DATA points into in. */
enum queue_pickup_event queue_pickup_parse(struct queue_pickup_parser *p, const void *in,
					   size_t len, size_t *used_r, const char **data_r,
					   size_t *data_len_r);

/* Whether s (len bytes) is acceptable as an envelope address: local@domain
 * of at most 254 bytes, without spaces, controls, NUL, '<' or '>'. */
bool queue_pickup_address_ok(const char *s, size_t len);

/* data_dir/public/pickup, the socket; data_dir/public, its directory.
 * Caller frees. */
char *queue_pickup_path(const struct config *cfg);
char *queue_pickup_dir(const struct config *cfg);

/* Appends one record. */
void queue_pickup_record(struct buf *out, const char *name, const void *value, size_t len);
/* Appends the head of a record whose value the caller sends itself. */
void queue_pickup_record_head(struct buf *out, const char *name, uint64_t len);

/* Appends "ok ID\n" / "fail CODE TEXT\n" (text made one printable line,
 * shortened to fit QUEUE_PICKUP_MAX_REPLY). */
void queue_pickup_reply_ok(struct buf *out, const char *id);
void queue_pickup_reply_fail(struct buf *out, int code, const char *text);
/* Parses a reply line (the LF optional). On success returns 0 with
 * *code_r 0 and *text_r the queue id, or *code_r the failure's status
 * (1..255) and *text_r its text; the caller frees *text_r. -1 when the
 * line is not a reply (control characters included). */
int queue_pickup_reply_parse(const char *line, size_t len, int *code_r, char **text_r);

/* Whether a local user must get an X-Authentication-Warning for the
 * envelope sender they chose: yes unless the user is trusted (root or
 * server_uid) or the sender is the user's own address, user@hostname.
 * user is NULL when the uid has no name. */
bool queue_pickup_sender_warns(uid_t uid, uid_t server_uid, const char *user,
			       const char *hostname, const char *sender);

struct queue_pickup_trace {
	const char *hostname;	/* ours */
	const char *queue_id;
	uid_t uid;		/* the submitting local user */
	const char *user;	/* its name, NULL if unknown */
	const char *sender;	/* the envelope sender, "" = null */
	bool warn;		/* add X-Authentication-Warning */
	time_t when;
};

/* Appends the header lines the server puts on top of a picked-up
 * message: "Received: by HOST (correu, from userid UID, USER) id ID;
 * DATE" and, with t->warn, "X-Authentication-Warning: HOST: USER set
 * sender to ADDR using -f". Names are made safe for a header. */
void queue_pickup_trace_append(struct buf *out, const struct queue_pickup_trace *t);

#endif
