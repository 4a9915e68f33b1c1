/* imap_sortkeys.h — per-message values SORT (RFC 5256) and THREAD
 * compare: base subject, first address mailbox, sent date, and the
 * Message-ID / References of REFERENCES threading; and the jobs that
 * compute them, sort or thread and write the response, in the thread
 * pool for large mailboxes (imap_sortjob.c). Internal to src/imap; runs
 * in the mail workers. Message headers are untrusted. */
#ifndef CORREU_IMAP_SORTKEYS_H
#define CORREU_IMAP_SORTKEYS_H

#include <stdbool.h>
#include <stdint.h>
#include "imap_msgdata.h"
#include "imap_search.h"
#include "imap_session.h"

struct imap_sortmsg {
	uint32_t uid;
	uint32_t msn;
	uint64_t size;
	int64_t arrival;	/* INTERNALDATE */
	int64_t date;		/* Date: header, INTERNALDATE if missing */
	char *subject;		/* base subject, folded */
	char *from, *to, *cc;	/* first address mailbox, folded */
	char *message_id;	/* "<id>" or NULL */
	char **refs;		/* References (or In-Reply-To), oldest first */
	size_t n_refs;
	bool reply;		/* subject had Re:/Fwd: */
};

enum imap_sortkey_need {
	IMAP_NEED_SUBJECT = 1 << 0,
	IMAP_NEED_ADDR = 1 << 1,
	IMAP_NEED_DATE = 1 << 2,
	IMAP_NEED_REFS = 1 << 3,
};

/* Computes the values of one message from its header (cache or file);
 * sets every field but msn. Pure: may run in a helper thread (md without
 * a mailbox, its file already open or its header cache present). */
void imap_sortkeys_compute(struct imap_msgdata *md, unsigned need, struct imap_sortmsg *sm);
void imap_sortkeys_free(struct imap_sortmsg *msgs, size_t n);

/* Writes the untagged response ("* SORT ...\r\n", "* THREAD ...\r\n")
 * for the matching messages msgs[0..n), in message number order. May
 * reorder msgs. Runs in a helper thread: no session or store access. */
typedef void imap_sortjob_write_fn(struct imap_sortmsg *msgs, size_t n, const void *arg,
				   struct buf *out);
/* The job finished: ret 0 with out holding the response, -1 on a store
 * error. Called from the loop. */
typedef void imap_sortjob_done_cb(struct imap_cmd *cmd, int ret, struct buf *out);
struct imap_sortjob;

/* Runs a SORT or THREAD: the search program picks the messages (index
 * rows, header cache, files), their values are computed and write is
 * called. Takes search (heap-allocated) and arg (freed with free()).
 * Small mailboxes whose header caches are complete are done at once:
 * returns 0 with the response in *out_r. Else 1: the work runs in the
 * thread pool (*job_r) and done is called from the loop. -1 on a store
 * error. Header caches made on the way are stored. */
int imap_sortjob_start(struct imap_cmd *cmd, struct imap_search *search, unsigned need,
		       imap_sortjob_write_fn *write, void *arg, imap_sortjob_done_cb *done,
		       struct imap_sortjob **job_r, struct buf *out_r);
/* The session went away: done will not be called. */
void imap_sortjob_cancel(struct imap_sortjob *job);

#endif
