/* imap_sortkeys.h — per-message values SORT (RFC 5256) and THREAD
 * compare: base subject, first address mailbox, sent date, and the
 * Message-ID / References of REFERENCES threading. Internal to
 * src/imap; runs in the mail workers. Message headers are untrusted. */
#ifndef CORREU_IMAP_SORTKEYS_H
#define CORREU_IMAP_SORTKEYS_H

#include <stdbool.h>
#include <stdint.h>
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

/* Loads the values for the given UIDs (ascending, in the view). */
int imap_sortkeys_load(struct imap_session *s, const uint32_t *uids, size_t n, unsigned need,
		       struct imap_sortmsg **msgs_r);
void imap_sortkeys_free(struct imap_sortmsg *msgs, size_t n);

#endif
