/* store_index.h — the per-user SQLite index (WAL) kept beside the
 * Maildir (<maildir>/correu-index.sqlite): schema, cached statements and
 * write transactions. Internal to src/store. Blocking but fast (the
 * database is small and in the page cache); long work such as a rebuild
 * runs in the thread pool.
 *
 * One write transaction at a time per user across all processes
 * (SQLite's lock); callers keep them short and never hold one across an
 * asynchronous step. */
#ifndef CORREU_STORE_INDEX_H
#define CORREU_STORE_INDEX_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_INDEX_FILE "correu-index.sqlite"
#define STORE_INDEX_VERSION 3
/* Per-folder file that lets a rebuild keep UIDVALIDITY, UIDNEXT and the
 * MAILBOXID: "uidvalidity uidnext guid\n". */
#define STORE_STATE_FILE "correu-uidvalidity"
#define STORE_SUBSCRIPTIONS_FILE "correu-subscriptions"
#define STORE_NOTIFY_FILE "correu-changes"

enum store_stmt {
	STMT_META_GET,
	STMT_META_SET,
	STMT_MB_BY_NAME,
	STMT_MB_BY_ID,
	STMT_MB_LIST,
	STMT_MB_INSERT,
	STMT_MB_DELETE,
	STMT_MB_RENAME,
	STMT_MB_SET_UIDNEXT,
	STMT_MB_SET_MODSEQ,
	STMT_MB_SET_NEW_MTIME,
	STMT_MB_SET_CUR_MTIME,
	STMT_MB_SET_RECENT,
	STMT_MB_SET_KEYWORDS,
	STMT_MB_SET_SPECIAL,
	STMT_MB_COUNTS,
	STMT_MSG_INSERT,
	STMT_MSG_DELETE,
	STMT_MSG_DELETE_MAILBOX,
	STMT_MSG_GET,
	STMT_MSG_UIDS,
	STMT_MSG_CHANGED,
	STMT_MSG_SET_FLAGS,
	STMT_MSG_SET_NAME,
	STMT_MSG_SET_CACHE,
	STMT_MSG_PUT_CACHE,
	STMT_MSG_SET_HEADERS,
	STMT_MSG_SET_HC,
	STMT_MSG_NO_HEADERS,
	STMT_MSG_NAMES,
	STMT_EXP_INSERT,
	STMT_EXP_SINCE,
	STMT_EXP_DELETE_MAILBOX,
	STMT_SUB_LIST,
	STMT_SUB_ADD,
	STMT_SUB_DEL,
	STMT_USER_SIZE,
	STMT_MSG_COUNT_FROM,
	STMT_MSG_FIRST_UNSEEN,
	STMT_BEGIN,
	STMT_BEGIN_IMMEDIATE,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_COUNT
};

#define STORE_ITER_KINDS 4

struct store_index {
	sqlite3 *db;
	sqlite3_stmt *stmts[STMT_COUNT];
	char *path;
	int write_depth;	/* nesting of store_index_begin_write */
	int read_depth;		/* nesting of store_index_begin_read */
	bool failed;		/* an error inside the current write txn */
	bool corrupt;		/* SQLITE_CORRUPT/NOTADB seen: rebuild */
	sqlite3_stmt *data_version_st;
	/* Message iterator statements (store_msg.c), reused when free. */
	sqlite3_stmt *iter_st[STORE_ITER_KINDS];
	bool iter_busy[STORE_ITER_KINDS];
	uint64_t ino;			/* of the file when opened */
	int64_t replaced_checked;	/* CLOCK_MONOTONIC_COARSE ms */
};

/* Opens (creating when create is set) the index at path and checks its
 * schema version. Returns 0, or -1 with *error_r; *corrupt_r (may be
 * NULL) tells whether the file is damaged or of another version (a
 * rebuild fixes it) rather than unreadable. */
int store_index_open(const char *path, bool create, struct store_index **idx_r,
		     bool *corrupt_r, const char **error_r);
void store_index_close(struct store_index **idx);

/* A cached statement, reset and with bindings cleared. */
sqlite3_stmt *store_index_stmt(struct store_index *idx, enum store_stmt s);
/* Steps a statement that returns no rows, resets it. 0 or -1. */
int store_index_exec_stmt(struct store_index *idx, sqlite3_stmt *st);
/* Runs SQL without results. 0 or -1 (logged). */
int store_index_exec(struct store_index *idx, const char *sql);

/* BEGIN IMMEDIATE (waits for other writers up to the busy timeout);
 * nested calls only count. 0 or -1. */
int store_index_begin_write(struct store_index *idx);
/* A read transaction: one snapshot (and one WAL read lock) for several
 * statements. Nests, and does nothing inside a write transaction; no
 * write transaction may begin inside one. 0 or -1. */
int store_index_begin_read(struct store_index *idx);
void store_index_end_read(struct store_index *idx);
/* Commits the outermost level; if anything failed inside, rolls back
 * and returns -1. */
int store_index_commit(struct store_index *idx);
void store_index_rollback(struct store_index *idx);
/* Records a failed step inside a write transaction (from sqlite rc). */
void store_index_error(struct store_index *idx, int rc, const char *what);

/* Changes whenever anything commits to the index: another connection
 * (PRAGMA data_version) or this one (sqlite3_total_changes64; sessions
 * of one worker share the connection, each with its own mailbox
 * objects). Each consumer compares with the value it saw last. */
int64_t store_index_data_version(struct store_index *idx);

/* Whether the index file was replaced (a rebuild by `correu reindex`);
 * marks the index corrupt so the user is reopened. */
bool store_index_replaced(struct store_index *idx);
/* The same, looking at the file at most once a second (every command
 * asks). */
bool store_index_replaced_lazy(struct store_index *idx);

/* meta table helpers. */
int64_t store_index_meta_get(struct store_index *idx, const char *key, int64_t def);
int store_index_meta_set(struct store_index *idx, const char *key, int64_t value);

#endif
