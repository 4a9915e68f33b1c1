/* imap_status.h — STATUS data items, shared by STATUS and LIST-STATUS
 * (RFC 5819). Internal to src/imap; runs in the mail workers. */
#ifndef CORREU_IMAP_STATUS_H
#define CORREU_IMAP_STATUS_H

#include "imap_session.h"

enum imap_status_item {
	IMAP_STATUS_MESSAGES = 1 << 0,
	IMAP_STATUS_RECENT = 1 << 1,
	IMAP_STATUS_UIDNEXT = 1 << 2,
	IMAP_STATUS_UIDVALIDITY = 1 << 3,
	IMAP_STATUS_UNSEEN = 1 << 4,
	IMAP_STATUS_DELETED = 1 << 5,
	IMAP_STATUS_SIZE = 1 << 6,
	IMAP_STATUS_HIGHESTMODSEQ = 1 << 7,
	IMAP_STATUS_MAILBOXID = 1 << 8,
	IMAP_STATUS_APPENDLIMIT = 1 << 9,
};

/* Parses the item list; -1 (BAD sent) if an item is unknown. */
int imap_status_parse_items(struct imap_cmd *cmd, const struct imap_arg *list, size_t n,
			    unsigned *items_r);
/* Syncs mailbox name and writes its "* STATUS" line; -1 on store error. */
int imap_status_send(struct imap_session *s, const char *name, unsigned items);

#endif
