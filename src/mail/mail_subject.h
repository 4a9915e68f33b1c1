/* mail_subject.h — RFC 5256 base subject for IMAP SORT (SUBJECT) and
 * THREAD (ORDEREDSUBJECT, REFERENCES): encoded words decoded, reply and
 * forward markers and [blob]s removed. Pure function; runs in the mail
 * workers. Parses untrusted input. */
#ifndef CORREU_MAIL_SUBJECT_H
#define CORREU_MAIL_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Appends the base subject of a raw Subject value as UTF-8 (not yet case-
 * folded: fold with mail_fold_append() to compare). *is_reply_r (may be
 * NULL) tells whether a "Re:"/"Fwd:" or "(fwd)" marker was removed, as
 * THREAD needs. */
void mail_subject_base(const char *raw, size_t len, struct buf *out,
		       bool *is_reply_r);

#endif
