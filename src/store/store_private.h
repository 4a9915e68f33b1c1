/* store_private.h — structures shared by the src/store files; nothing
 * outside src/store includes this. */
#ifndef CORREU_STORE_PRIVATE_H
#define CORREU_STORE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "buf.h"
#include "store.h"
#include "store_index.h"

struct store_watch;
struct store_uidlist;

struct store_user {
	struct store_user *next;	/* the process's open users */
	uv_loop_t *loop;
	char *address;
	char *maildir;			/* Maildir++ root, no trailing '/' */
	struct store_index *idx;
	uint64_t quota_bytes;		/* 0 = none */
	unsigned refcount;
	enum store_error last_error;
	char *last_error_text;

	/* Notification (store_watch.c). */
	struct store_watch *watches;
	uv_fs_event_t *notify_ev;	/* on STORE_NOTIFY_FILE */
	uv_timer_t *notify_timer;	/* coalesces bursts of events */
	struct store_dirwatch *dirwatches;
	bool notify_pending;
	bool changed;			/* we wrote: touch the notify file */
	struct store_ckpt *ckpt;	/* WAL checkpoint running in the pool */
	struct store_fill *fill;	/* header cache fill (store_hcache.c) */
	struct store_crlf_job *crlf_job;	/* CRLF conversions (store_crlf.c) */
	struct strv crlf_failed;	/* files that could not be converted */
	uv_timer_t *linger;		/* set while open without sessions */
};

struct store_mailbox {
	struct store_user *user;
	int64_t id;
	char *name;			/* UTF-8 IMAP name */
	char *path;			/* absolute folder directory */
	uint32_t uidvalidity;
	char guid[33];
	bool full_rescan;		/* cur/ must be compared in full */
	struct strv keywords;		/* bit i = keywords.v[i] */
	int64_t keywords_version;	/* data_version they were read at */
	/* Set by a rebuild only: Dovecot's UIDs for the folder's files. */
	const struct store_uidlist *uidlist;
};

/* Records why the last call failed (kept on the user for the caller);
 * returns -1 for convenience. */
int store_fail(struct store_user *user, enum store_error err, const char *fmt, ...)
	ATTR_FORMAT(3, 4);

/* A handle on a user's store outside the process's table of open users
 * (no loop, no notification, never shared), for one blocking job in a
 * helper thread (store_quota.c). *user_r is NULL (and 0 returned) when
 * the account has no mail yet: no Maildir, or an empty one without an
 * index; nothing is created then. A missing or damaged index is rebuilt
 * as by store_user_open. */
int store_user_open_detached(const char *address, const char *maildir,
			     struct store_user **user_r, const char **error_r);
void store_user_close_detached(struct store_user **user);

/* The folder directory of a mailbox name (UTF-8): the root for INBOX,
 * else root + "/." + modified-UTF-7 name. Caller frees. */
char *store_mailbox_dir(const struct store_user *user, const char *name);

/* After a committed change: tell other sessions and processes. */
void store_user_changed(struct store_user *user);

/* Next modseq of a mailbox inside a write transaction (reads and bumps
 * the mailbox row). 0 on failure. */
uint64_t store_mailbox_next_modseq(struct store_mailbox *mb);
/* Reserves count UIDs inside a write transaction; first UID or 0. */
uint32_t store_mailbox_reserve_uids(struct store_mailbox *mb, uint32_t count);
/* Writes the folder's state file (uidvalidity, uidnext, guid). */
void store_mailbox_write_state(struct store_mailbox *mb, uint32_t uidnext);
/* Inside a write transaction: claims \Recent for the mailbox's unclaimed
 * messages up to UID last; returns the first UID claimed, 0 if none. */
uint32_t store_mailbox_claim_recent(struct store_mailbox *mb, uint32_t last);
/* Adds UIDs lo..hi to a view's \Recent set (store_view.c). */
void store_view_add_recent(struct store_view *view, uint32_t lo, uint32_t hi);

/* store_mailbox_sync that also gives the mailbox's modseq when it needed
 * no change (then *modseq_r != 0), saving a look-up. */
int store_mailbox_sync_modseq(struct store_mailbox *mb, uint64_t *modseq_r);

/* Records the current cur/ mtime as synced (new/ is recorded only by a
 * sync, which lists it). */
void store_mailbox_note_mtimes(struct store_mailbox *mb);
/* Re-reads the keyword list if the index changed. */
void store_mailbox_load_keywords(struct store_mailbox *mb);

/* Stores the cached strings of a message just inserted (any may be
 * NULL; headers NULL = no header cache). The message row's hc must say
 * whether headers were given (STMT_MSG_INSERT ?11). */
int store_msg_put_cache(struct store_index *idx, int64_t mailbox_id, uint32_t uid,
			const char *envelope, const char *bodystructure, const char *body,
			const void *headers, size_t headers_len);

/* Reads a folder's dovecot-keywords file: the keyword names of letters
 * a, b, ... in order, up to the first gap (names that cannot be flags
 * end the list too). No file: none. 0, or -1 if unreadable. */
int store_mailbox_keywords_file_read(const char *dir, struct strv *names);
/* Replaces a mailbox's keyword list (bit order) in the index. */
int store_mailbox_set_keywords(struct store_mailbox *mb, const struct strv *names);

/* Gives the account Drafts, Sent, Trash, Junk and Archive with their
 * special uses, once per index (store_special.c): marks folders with
 * usual names, creates the others. Holding the index lock. 0 or -1. */
int store_special_folders(struct store_user *user);

/* Frees the user's watch handles (store_watch.c). */
void store_watch_user_free(struct store_user *user);

/* Maildir directory entries of one folder subdirectory, sorted. */
int store_dir_list(const char *dir, struct strv *names);
/* st_mtim of a directory as nanoseconds, 0 if missing. */
int64_t store_dir_mtime(const char *dir);

#endif
