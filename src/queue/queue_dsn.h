/* queue_dsn.h — RFC 3464 delivery status notifications: a
 * multipart/report with a human-readable part, message/delivery-status
 * and the original headers (or the whole message when RET=FULL). Never
 * generated for a null sender or for a message that is itself a DSN, so
 * bounces cannot loop. Pure functions over memory. */
#ifndef CORREU_QUEUE_DSN_H
#define CORREU_QUEUE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "buf.h"
#include "queue.h"

enum queue_dsn_action {
	QUEUE_DSN_FAILED,
	QUEUE_DSN_DELAYED,
	QUEUE_DSN_DELIVERED,
	QUEUE_DSN_RELAYED,	/* handed to a server without DSN support */
};

/* One recipient to report, with the status it reached. */
struct queue_dsn_item {
	const struct queue_rcpt *rcpt;
	enum queue_dsn_action action;
};

struct queue_dsn_params {
	const char *hostname;	/* Reporting-MTA and MAILER-DAEMON domain */
	time_t now;
	time_t retry_until;	/* for delayed: when we give up */
};

/* Returns the message's returned content limit: with RET=FULL the whole
 * message is returned when it is at most this many bytes, else only its
 * header. */
#define QUEUE_DSN_FULL_MAX (1024u * 1024u)

/* Whether the sender gets a DSN of this kind for r: not for a null sender
 * or a DSN; otherwise per the recipient's NOTIFY (default FAILURE and
 * DELAY). */
bool queue_dsn_wanted(const struct queue_envelope *env, const struct queue_rcpt *r,
		      enum queue_dsn_action action);

/* Builds the DSN message (CRLF lines) for the recipients in items and
 * appends it to out. original holds the original message's header
 * section, or the whole message when original_full. */
void queue_dsn_build(const struct queue_dsn_params *p, const struct queue_envelope *env,
		     const struct queue_dsn_item *items, size_t n_items,
		     const char *original, size_t original_len, bool original_full,
		     struct buf *out);

/* The envelope of a DSN for env: null sender, the original sender as only
 * recipient (NOTIFY=NEVER), marked as a DSN. dsn is initialised here. */
void queue_dsn_envelope(const struct queue_envelope *env, struct queue_envelope *dsn);

#endif
