/* web_action.h — how the webmail takes messages out of a folder (moved
 * elsewhere, deleted for good, a draft replaced) on any IMAP server, and
 * the API handlers of the actions on messages. Runs in the web process. */
#ifndef CORREU_WEB_ACTION_H
#define CORREU_WEB_ACTION_H

#include <stdbool.h>
#include "web_imap.h"

enum web_removal {
	WEB_REMOVE_MOVE,	/* UID MOVE (RFC 6851): moves only */
	WEB_REMOVE_EXPUNGE,	/* (UID COPY,) \Deleted, UID EXPUNGE of those UIDs (UIDPLUS) */
	WEB_REMOVE_HIDE,	/* (UID COPY,) \Deleted only: neither MOVE nor UIDPLUS,
				   and a plain EXPUNGE would also remove every other
				   \Deleted message of the folder. The list hides
				   \Deleted messages on such servers. */
};

/* The decision, from whether it is a move and the capabilities. */
enum web_removal web_removal_plan(bool move, bool have_move, bool have_uidplus);
/* The same for the server im is logged in to. */
enum web_removal web_removal(const struct web_imap *im, bool move);
/* Queues the removal of uids (a UID set) from folder: \Deleted, then UID
 * EXPUNGE when the server has UIDPLUS, never a plain EXPUNGE. cb (may be
 * NULL) gets the last reply. */
void web_removal_queue(struct web_imap *im, const char *folder, const char *uids,
		       web_imap_cb *cb, void *ctx);

#endif
