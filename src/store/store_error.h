/* store_error.h — why a store call failed (store_user_error()). */
#ifndef CORREU_STORE_ERROR_H
#define CORREU_STORE_ERROR_H

/* Why a store call failed; maps onto IMAP response codes. */
enum store_error {
	STORE_ERR_NONE,
	STORE_ERR_NONEXISTENT,	/* no such mailbox or message */
	STORE_ERR_EXISTS,	/* mailbox already exists */
	STORE_ERR_INVALID,	/* bad mailbox name or argument */
	STORE_ERR_NOTPERMITTED,	/* e.g. DELETE INBOX, mailbox has children */
	STORE_ERR_LIMIT,	/* too many keywords, too big */
	STORE_ERR_OVERQUOTA,
	STORE_ERR_EXPUNGED,	/* the message was expunged meanwhile */
	STORE_ERR_INUSE,	/* locked by another session (POP3) */
	STORE_ERR_TEMP,		/* I/O or index failure; try again */
};

#endif
