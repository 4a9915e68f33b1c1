/* imap_fetch.h — FETCH data items (RFC 9051 6.4.5, RFC 3516 BINARY,
 * RFC 7162 MODSEQ, RFC 8514 SAVEDATE, RFC 8474 EMAILID/THREADID): the
 * parsed item list. Internal to src/imap; runs in the mail workers.
 * Parses client input. */
#ifndef CORREU_IMAP_FETCH_H
#define CORREU_IMAP_FETCH_H

#include "imap_session.h"
#include "mail_section.h"

enum imap_fetch_kind {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_SAVEDATE,
	IMAP_FETCH_EMAILID,
	IMAP_FETCH_THREADID,
	IMAP_FETCH_SECTION,	/* BODY[..], BODY.PEEK[..], RFC822[.HEADER|.TEXT] */
	IMAP_FETCH_BINARY,
	IMAP_FETCH_BINARY_SIZE,
};

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	bool peek;		/* does not set \Seen */
	char *label;		/* response name without <partial> */
	struct mail_section sec;
	bool has_sec;
	bool partial;
	uint64_t p_off, p_len;
};

struct imap_fetch {
	struct imap_fetch_item *items;
	size_t n;
	bool sets_seen;		/* a non-peek body item */
	bool has_uid, has_flags, has_modseq;
};

/* Parses a FETCH item or list of items (macros expanded). -1 with a BAD
 * sent on syntax errors. */
int imap_fetch_parse(struct imap_cmd *cmd, const struct imap_arg *arg, struct imap_fetch *f);
void imap_fetch_free(struct imap_fetch *f);

#endif
