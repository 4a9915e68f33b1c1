/* store_msg.h — the messages of an open mailbox: their index rows,
 * their files (CRLF line endings; RFC822.SIZE is the file size), flags
 * and keywords (written through to the Maildir ":2," suffix), expunge,
 * copy and move, and the cached ENVELOPE/BODYSTRUCTURE strings. Runs in
 * the workers on the loop; copy/move fsync in the thread pool. */
#ifndef CORREU_STORE_MSG_H
#define CORREU_STORE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "store_maildir.h"

struct store_mailbox;

/* One message's index row. The strings stay valid until the next
 * store_msg_iter_next()/store_msg_get() on the same iterator or mailbox. */
struct store_msg {
	uint32_t uid;
	uint32_t flags;		/* enum store_flag */
	uint64_t keywords;	/* bit mask into store_mailbox_keywords() */
	int64_t idate;		/* INTERNALDATE, seconds since the epoch */
	int32_t itz;		/* its zone, minutes east of UTC */
	int64_t sdate;		/* SAVEDATE */
	uint64_t size;		/* octets */
	uint64_t modseq;
	const char *name;	/* file name in cur/ */
	const char *envelope;	/* cached, or NULL */
	const char *bodystructure;
	const char *body;
	/* The header cache (mail_hcache.h): NULL if not made yet; length 0
	 * if the header is too long to cache (read the file). */
	const char *headers;
	size_t headers_len;
	bool headers_known;	/* false: not read (light iterators) */
};

/* Iterates the messages with first_uid <= UID <= last_uid, in UID order
 * (or, with store_msg_iter_init_changed, those with modseq > modseq). */
struct store_msg_iter {
	struct store_mailbox *mb;
	sqlite3_stmt *st;
	int slot;		/* index of a cached statement, or -1 */
	bool failed;
	bool headers;		/* the header cache is read */
};
void store_msg_iter_init(struct store_msg_iter *it, struct store_mailbox *mb,
			 uint32_t first_uid, uint32_t last_uid);
/* The same without the cached strings (envelope, bodystructure, body
 * are NULL): cheaper for flags, sizes, dates. */
void store_msg_iter_init_light(struct store_msg_iter *it, struct store_mailbox *mb,
			       uint32_t first_uid, uint32_t last_uid);
/* The same with only the header cache among the cached strings. */
void store_msg_iter_init_headers(struct store_msg_iter *it, struct store_mailbox *mb,
				 uint32_t first_uid, uint32_t last_uid);
void store_msg_iter_init_changed(struct store_msg_iter *it, struct store_mailbox *mb,
				 uint64_t modseq);
bool store_msg_iter_next(struct store_msg_iter *it, struct store_msg *msg_r);
/* Returns -1 if the iteration stopped on an index error. */
int store_msg_iter_deinit(struct store_msg_iter *it);

/* Looks up one message; 1 found, 0 not (expunged), -1 error. The strings
 * of msg_r are valid until the next call on mb. */
int store_msg_get(struct store_mailbox *mb, uint32_t uid, struct store_msg *msg_r);

/* The keyword mask of one message: 1 found, 0 not (expunged), -1 error. */
int store_msg_keywords(struct store_mailbox *mb, uint32_t uid, uint64_t *keywords_r);

/* Opens the message file for reading (O_RDONLY|O_CLOEXEC). Follows a
 * rename by another session; a file that is gone gives STORE_ERR_EXPUNGED
 * and the message is expunged from the index. */
int store_msg_open(struct store_mailbox *mb, uint32_t uid, const char *name, int *fd_r);

/* The path of a message file from its name (no file system access;
 * safe in helper threads). The file may have been renamed meanwhile:
 * then use store_msg_open on the loop. Caller frees. */
char *store_msg_path(const struct store_mailbox *mb, const char *name);

/* Stores cached strings for a message (any may be NULL = keep). */
int store_msg_set_cache(struct store_mailbox *mb, uint32_t uid, const char *envelope,
			const char *bodystructure, const char *body);

/* Stores a message's header cache (len 0: too long to cache). */
int store_msg_set_headers(struct store_mailbox *mb, uint32_t uid, const void *data, size_t len);

/* Groups store_msg_set_cache and store_msg_set_headers calls into one index transaction. Only
 * within one loop turn, never across an asynchronous step. */
int store_msg_cache_begin(struct store_mailbox *mb);
int store_msg_cache_end(struct store_mailbox *mb);

enum store_modify {
	STORE_MODIFY_REPLACE,
	STORE_MODIFY_ADD,
	STORE_MODIFY_REMOVE,
};

struct store_flag_change {
	enum store_modify mode;
	uint32_t flags;			/* enum store_flag */
	const char *const *keywords;	/* keyword names */
	size_t n_keywords;
	uint64_t unchangedsince;	/* CONDSTORE; 0 = not given */
};

/* Per message of store_msg_update_flags: its state after the update;
 * failed = UNCHANGEDSINCE refused it (state unchanged). changed = the
 * flags really changed (modseq bumped). */
typedef void store_flags_cb(void *ctx, uint32_t uid, uint32_t flags, uint64_t keywords,
			    uint64_t modseq, bool changed, bool failed);

/* Changes flags of the given UIDs (sorted ascending; missing ones are
 * skipped) in one write transaction. Returns 0 or -1. */
int store_msg_update_flags(struct store_mailbox *mb, const uint32_t *uids, size_t n,
			   const struct store_flag_change *change, store_flags_cb *cb,
			   void *ctx);

/* Expunges the given UIDs (sorted; those missing skipped); with
 * only_deleted, only those flagged \Deleted. cb gets each expunged UID. */
int store_msg_expunge(struct store_mailbox *mb, const uint32_t *uids, size_t n,
		      bool only_deleted, void (*cb)(void *ctx, uint32_t uid), void *ctx);

/* Copies (or moves) messages to dst. When done, cb gets the source and
 * new UIDs in the same order (count n_done <= n; messages expunged
 * meanwhile are left out), or error != NULL. The files are hard links
 * whose directory is fsynced before cb. Async (thread pool); cb runs
 * from the loop, never before this returns. src and dst must stay open
 * until then. */
typedef void store_copy_cb(void *ctx, const uint32_t *src_uids, const uint32_t *dst_uids,
			   size_t n_done, enum store_error error);
void store_msg_copy(struct store_mailbox *src, const uint32_t *uids, size_t n,
		    struct store_mailbox *dst, bool move, store_copy_cb *cb, void *ctx);

#endif
