/* queue_attempt.h — one delivery attempt of one queued message, split
 * into the blocking halves that run in thread-pool jobs of the queue
 * process:
 *   prepare: load the envelope, check it is due, deliver recipients of
 *            our own domains into their Maildirs (alias expansion,
 *            unknown users fail), open the message for the remote ones;
 *   (the loop then hands the remote recipients to the outbound client
 *    and records each outcome with queue_attempt_set)
 *   commit:  apply the outcomes: sent, failed, deferred or expired;
 *            send the DSNs that are due (durably enqueued first), then
 *            rewrite the envelope with the next retry time, or remove
 *            the message when nothing is left.
 * A crash between the halves repeats the attempt; nothing is lost. */
#ifndef CORREU_QUEUE_ATTEMPT_H
#define CORREU_QUEUE_ATTEMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "queue.h"
#include "queue_sched.h"
#include "str.h"

enum queue_outcome {
	QUEUE_OUTCOME_NONE,	/* not tried in this attempt */
	QUEUE_OUTCOME_SENT,	/* delivered (locally, or to a DSN-capable server) */
	QUEUE_OUTCOME_RELAYED,	/* sent to a server without DSN support */
	QUEUE_OUTCOME_TEMP,
	QUEUE_OUTCOME_PERM,
};

struct queue_attempt {
	const struct config *cfg;
	char *id;
	bool force;		/* flush: ignore the retry time */
	bool interrupted;	/* cut short by our own shutdown: retry at
				   once on restart, not after a back-off */
	time_t now;

	/* Set by prepare. */
	struct queue_envelope env;
	bool loaded;
	bool gone;		/* no such message (any more) */
	bool held;		/* on hold: nothing done */
	bool not_due;		/* next_attempt is in the future */
	enum queue_outcome *outcome;	/* per env.rcpts entry */
	size_t *remote;		/* indices of recipients to send out */
	size_t n_remote;
	int fd;			/* message file when n_remote > 0, else -1 */
	char *error;		/* why prepare failed (message left as is) */

	/* Set by commit. */
	bool removed;
	struct strv dsn_ids;	/* DSNs queued by this attempt */
};

struct queue_attempt *queue_attempt_new(const struct config *cfg, const char *id, bool force);
void queue_attempt_free(struct queue_attempt **a);

/* Blocking (thread-pool job). */
void queue_attempt_prepare(struct queue_attempt *a);
/* Records the result of recipient idx; text is the reply or reason,
 * mta the server that gave it (NULL for local), enhanced "5.1.1". */
void queue_attempt_set(struct queue_attempt *a, size_t idx, enum queue_outcome outcome,
		       const char *enhanced, const char *text, const char *mta);
/* Blocking (thread-pool job). */
void queue_attempt_commit(struct queue_attempt *a, const struct queue_sched_params *sp);

/* The domain part of an address, lower-cased into out (size bytes);
 * false if there is no '@'. */
bool queue_address_domain(const char *address, char *out, size_t size);

#endif
