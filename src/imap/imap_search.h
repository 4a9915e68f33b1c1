/* imap_search.h — IMAP SEARCH programs (RFC 9051 6.4.4) with CONDSTORE
 * MODSEQ, WITHIN (RFC 5032), SAVEDATE, OBJECTID and SEARCHRES '$':
 * parsing client keys into a tree and evaluating it against one message
 * at a time. Text keys compare case-insensitively after RFC 2047 and
 * charset decoding and Unicode case folding (src/mail). Internal to
 * src/imap; runs in the mail workers. Parses client input; the number of
 * keys and their nesting are bounded. */
#ifndef CORREU_IMAP_SEARCH_H
#define CORREU_IMAP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "imap_msgdata.h"
#include "imap_parser.h"
#include "imap_seqset.h"

#define IMAP_SEARCH_MAX_KEYS 1000
#define IMAP_SEARCH_MAX_DEPTH 64

enum imap_search_type {
	IMAP_SK_ALL,
	IMAP_SK_AND,
	IMAP_SK_OR,
	IMAP_SK_NOT,
	IMAP_SK_FLAGS_SET,	/* all of flags set */
	IMAP_SK_FLAGS_UNSET,	/* all of flags unset */
	IMAP_SK_KEYWORD,
	IMAP_SK_UNKEYWORD,
	IMAP_SK_RECENT,
	IMAP_SK_NEW,		/* \Recent and not \Seen */
	IMAP_SK_OLD,		/* not \Recent */
	IMAP_SK_SEQSET,
	IMAP_SK_UIDSET,
	IMAP_SK_SAVED,		/* $ */
	IMAP_SK_LARGER,
	IMAP_SK_SMALLER,
	IMAP_SK_BEFORE,
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE,
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_SAVEDBEFORE,
	IMAP_SK_SAVEDON,
	IMAP_SK_SAVEDSINCE,
	IMAP_SK_OLDER,
	IMAP_SK_YOUNGER,
	IMAP_SK_MODSEQ,
	IMAP_SK_EMAILID,
	IMAP_SK_THREADID,
	IMAP_SK_HEADER,
	IMAP_SK_BODY,
	IMAP_SK_TEXT,
};

struct imap_search_key {
	enum imap_search_type type;
	struct imap_search_key *kids;	/* AND/OR/NOT */
	size_t n_kids;
	uint32_t flags;
	uint64_t num;			/* sizes, modseq, seconds */
	int64_t day;			/* dates: days since the epoch */
	struct imap_seqset set;
	char *field;			/* HEADER field name */
	char *text;			/* UTF-8 needle / keyword / id */
	char *folded;			/* text case-folded (text keys) */
	size_t folded_len;
};

struct imap_search {
	struct imap_search_key root;	/* an AND */
	bool uses_modseq;
	bool uses_seqset;		/* needs message numbers */
	/* Resolved by the caller before evaluation. */
	const uint32_t *saved;		/* SEARCHRES UIDs, sorted */
	size_t n_saved;
	bool saved_owned;		/* saved is a private copy */
	uint32_t max_uid;		/* for '*' in UID sets */
	uint32_t count;			/* for '*' in sequence sets */
	time_t now;
};

/* Parses keys args[0..n) (after CHARSET and RETURN). charset NULL or
 * UTF-8/US-ASCII: strings are UTF-8; another known charset converts
 * them. Returns 0, or -1 with *error_r (BAD) or *badcharset_r set. */
int imap_search_parse(const struct imap_arg *args, size_t n, const char *charset,
		      struct imap_search *search_r, const char **error_r, bool *badcharset_r);
void imap_search_free(struct imap_search *search);
/* The NO text for an unsupported CHARSET: "[BADCHARSET (...)]
 * Unsupported charset", listing the common charsets this system's
 * iconv converts (RFC 9051 7.1: the list names supported charsets; any
 * other iconv knows works too). Built once per process. */
const char *imap_search_badcharset(void);

/* Resolves '*' in the sets once search->count and max_uid are set. */
void imap_search_prepare(struct imap_search *search);
/* Evaluates the program for one message (msn its number in the view,
 * recent whether \Recent, keywords the mailbox's keyword names). */
bool imap_search_match(struct imap_search *search, struct imap_msgdata *md, uint32_t msn,
		       bool recent, const struct strv *keywords);

struct imap_session;
/* Runs a program over the session's selected mailbox: matching UIDs,
 * ascending, in *uids_r (caller frees); *modseq_r the highest modseq
 * among them. -1 on a store error. */
int imap_search_run(struct imap_session *s, struct imap_search *search, uint32_t **uids_r,
		    size_t *n_r, uint64_t *modseq_r);

/* What evaluating the program reads besides the index row: nothing,
 * only header fields the header cache holds, or message files. */
enum imap_search_reads {
	IMAP_SEARCH_INDEX,
	IMAP_SEARCH_HCACHE,
	IMAP_SEARCH_FILES,
};
enum imap_search_reads imap_search_reads(const struct imap_search *search);
/* Whether the session's view alone answers the program (UIDs, numbers,
 * system flags, \Recent, $): then no index row is read. */
bool imap_search_view_only(const struct imap_search *search);

typedef void imap_search_done_cb(void *ctx, int ret, uint32_t *uids, size_t n, uint64_t modseq);
struct imap_search_job;
/* Runs a program over the session's selected mailbox, reading message
 * files in the thread pool when many must be read: the index rows are
 * read on the loop, and those the row and header cache decide are
 * evaluated there. Takes search (heap-allocated; freed here). Returns 0
 * with the result as imap_search_run gives it, -1 on a store error, or
 * 1 when a job was started (*job_r): then cb runs later from the loop
 * and owns uids. */
int imap_search_start(struct imap_session *s, struct imap_search *search,
		      imap_search_done_cb *cb, void *ctx, struct imap_search_job **job_r,
		      uint32_t **uids_r, size_t *n_r, uint64_t *modseq_r);
/* The session went away: cb will not be called. */
void imap_search_job_cancel(struct imap_search_job *job);

/* For jobs over the selected mailbox (search and sort): binds the
 * program to the session's view ($, message count, time) and prepares
 * it; before the thread pool reads it, imap_search_own_saved() gives it
 * a private copy of the saved result; imap_search_row_copy() makes a
 * row's path and header cache the job's own (name = full path). */
void imap_search_setup(struct imap_session *s, struct imap_search *search);
void imap_search_own_saved(struct imap_search *search);
struct store_msg;
struct store_mailbox;
void imap_search_row_copy(struct store_mailbox *mb, const struct store_msg *m,
			  struct store_msg *dst);

#endif
