/* imap_append.h — the message literal of APPEND, streamed into the
 * store as it arrives (never held in memory). Internal to src/imap.
 * Runs in the mail workers; the bytes are the client's message. */
#ifndef CORREU_IMAP_APPEND_H
#define CORREU_IMAP_APPEND_H

#include <stdbool.h>
#include "imap_session.h"

struct imap_append {
	struct store_mailbox *mb;
	struct store_save *save;
	uint64_t size;
	bool failed;
	bool last_cr;		/* the previous byte was CR */
};

/* Whether the literal announced by ev is APPEND's message (not the
 * mailbox name). */
bool imap_append_is_message(struct imap_session *s, const struct imap_parse_event *ev);
/* Opens the target mailbox and a save for the literal; -1 with the
 * response code (TRYCREATE, TOOBIG, OVERQUOTA, ...) and text. */
int imap_append_begin(struct imap_session *s, const struct imap_parse_event *ev,
		      const char **code_r, const char **text_r);
/* Literal bytes. */
void imap_append_data(struct imap_session *s, const void *data, size_t len);
void imap_append_free(struct imap_append **a);

#endif
