/* store_index.c — the per-user SQLite index: schema, statements,
 * transactions. Runs in workers (on the loop; fast statements only) and
 * in thread-pool jobs (rebuild). Reads no untrusted input. */
#include "store_index.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Cached strings live beside the message rows, so scans of the rows
 * (views, flags, sizes) stay small; hc = 1 once the header cache is
 * there, and the partial index lists the messages the background fill
 * has yet to do. */
#define CACHE_SCHEMA \
	"CREATE TABLE IF NOT EXISTS message_cache(" \
	" id INTEGER PRIMARY KEY," \
	" envelope TEXT," \
	" bodystructure TEXT," \
	" body TEXT," \
	" headers BLOB);"	/* mail_hcache.h; NULL = not yet, '' = too long */ \
	"CREATE INDEX IF NOT EXISTS message_nohc ON message(id) WHERE hc = 0;" \
	"CREATE TRIGGER IF NOT EXISTS message_cache_del AFTER DELETE ON message BEGIN" \
	" DELETE FROM message_cache WHERE id = OLD.id; END;"

static const char *const schema =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER);"
	"CREATE TABLE IF NOT EXISTS mailbox("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" uidvalidity INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" vanished_modseq INTEGER NOT NULL DEFAULT 0,"
	" recent_uid INTEGER NOT NULL DEFAULT 1,"
	" special INTEGER NOT NULL DEFAULT 0,"
	" guid TEXT NOT NULL,"
	" keywords TEXT NOT NULL DEFAULT '',"
	" new_mtime INTEGER NOT NULL DEFAULT 0,"
	" cur_mtime INTEGER NOT NULL DEFAULT 0,"
	" messages INTEGER NOT NULL DEFAULT 0,"
	" unseen INTEGER NOT NULL DEFAULT 0,"
	" deleted INTEGER NOT NULL DEFAULT 0,"
	" size INTEGER NOT NULL DEFAULT 0);"
	/* id = mailbox << 32 | uid: one B-tree walk per mailbox range. */
	"CREATE TABLE IF NOT EXISTS message("
	" id INTEGER PRIMARY KEY,"
	" mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" flags INTEGER NOT NULL,"
	" keywords INTEGER NOT NULL DEFAULT 0,"
	" idate INTEGER NOT NULL,"
	" itz INTEGER NOT NULL DEFAULT 0,"
	" sdate INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" hc INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS message_modseq ON message(mailbox, modseq);"
	CACHE_SCHEMA
	"CREATE TABLE IF NOT EXISTS expunged("
	" mailbox INTEGER NOT NULL, uid INTEGER NOT NULL, modseq INTEGER NOT NULL,"
	" PRIMARY KEY(mailbox, uid)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(mailbox, modseq);"
	"CREATE TABLE IF NOT EXISTS subscription(name TEXT PRIMARY KEY);"
	/* Counters for STATUS and quota without scanning messages. */
	"CREATE TRIGGER IF NOT EXISTS message_ins AFTER INSERT ON message BEGIN"
	" UPDATE mailbox SET messages = messages + 1,"
	"  unseen = unseen + ((NEW.flags & 1) = 0),"
	"  deleted = deleted + ((NEW.flags & 8) != 0),"
	"  size = size + NEW.size WHERE id = NEW.mailbox; END;"
	"CREATE TRIGGER IF NOT EXISTS message_del AFTER DELETE ON message BEGIN"
	" UPDATE mailbox SET messages = messages - 1,"
	"  unseen = unseen - ((OLD.flags & 1) = 0),"
	"  deleted = deleted - ((OLD.flags & 8) != 0),"
	"  size = size - OLD.size WHERE id = OLD.mailbox; END;"
	"CREATE TRIGGER IF NOT EXISTS message_upd AFTER UPDATE OF flags ON message BEGIN"
	" UPDATE mailbox SET"
	"  unseen = unseen + ((NEW.flags & 1) = 0) - ((OLD.flags & 1) = 0),"
	"  deleted = deleted + ((NEW.flags & 8) != 0) - ((OLD.flags & 8) != 0)"
	"  WHERE id = NEW.mailbox; END;";

#define MSG_COLS "m.uid, m.name, m.flags, m.keywords, m.idate, m.itz, m.sdate, m.size, " \
	"m.modseq, c.envelope, c.bodystructure, c.body, c.headers FROM message m " \
	"LEFT JOIN message_cache c ON c.id = m.id"
#define MSG_ID "?1 * 4294967296 + ?2"
/* Inserts or updates a message's cached strings, only while it exists. */
#define CACHE_UPSERT(cols, vals) "INSERT INTO message_cache(id, " cols ") SELECT id, " vals \
	" FROM message WHERE id = " MSG_ID " ON CONFLICT(id) DO UPDATE SET "
#define MB_COLS "id, name, uidvalidity, uidnext, modseq, vanished_modseq, recent_uid, " \
	"special, guid, keywords, new_mtime, cur_mtime, messages, unseen, deleted, size"

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[STMT_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
	[STMT_MB_BY_NAME] = "SELECT " MB_COLS " FROM mailbox WHERE name = ?1",
	[STMT_MB_BY_ID] = "SELECT " MB_COLS " FROM mailbox WHERE id = ?1",
	[STMT_MB_LIST] = "SELECT " MB_COLS " FROM mailbox ORDER BY name",
	[STMT_MB_INSERT] = "INSERT INTO mailbox(name, uidvalidity, uidnext, modseq, "
		"vanished_modseq, recent_uid, special, guid) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_MB_DELETE] = "DELETE FROM mailbox WHERE id = ?1",
	[STMT_MB_RENAME] = "UPDATE mailbox SET name = ?2 WHERE id = ?1",
	[STMT_MB_SET_UIDNEXT] = "UPDATE mailbox SET uidnext = ?2 WHERE id = ?1",
	[STMT_MB_SET_MODSEQ] = "UPDATE mailbox SET modseq = ?2 WHERE id = ?1",
	[STMT_MB_SET_NEW_MTIME] = "UPDATE mailbox SET new_mtime = ?2 WHERE id = ?1",
	[STMT_MB_SET_CUR_MTIME] = "UPDATE mailbox SET cur_mtime = ?2 WHERE id = ?1",
	[STMT_MB_SET_RECENT] = "UPDATE mailbox SET recent_uid = ?2 WHERE id = ?1",
	[STMT_MB_SET_KEYWORDS] = "UPDATE mailbox SET keywords = ?2 WHERE id = ?1",
	[STMT_MB_SET_SPECIAL] = "UPDATE mailbox SET special = ?2 WHERE id = ?1",
	[STMT_MB_COUNTS] = "SELECT messages, unseen, deleted, size, uidnext, modseq "
		"FROM mailbox WHERE id = ?1",
	[STMT_MSG_INSERT] = "INSERT INTO message(id, mailbox, uid, name, flags, keywords, "
		"idate, itz, sdate, size, modseq, hc) "
		"VALUES(" MSG_ID ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[STMT_MSG_DELETE] = "DELETE FROM message WHERE id = " MSG_ID,
	[STMT_MSG_DELETE_MAILBOX] = "DELETE FROM message WHERE id BETWEEN ?1 * 4294967296 "
		"AND ?1 * 4294967296 + 4294967295",
	[STMT_MSG_GET] = "SELECT " MSG_COLS " WHERE m.id = " MSG_ID,
	[STMT_MSG_UIDS] = "SELECT uid, flags, keywords FROM message WHERE id BETWEEN "
		"?1 * 4294967296 + ?2 AND ?1 * 4294967296 + ?3 ORDER BY id",
	[STMT_MSG_CHANGED] = "SELECT uid, flags, keywords, modseq FROM message "
		"WHERE mailbox = ?1 AND modseq > ?2",
	[STMT_MSG_SET_FLAGS] = "UPDATE message SET flags = ?3, keywords = ?4, modseq = ?5, "
		"name = ?6 WHERE id = " MSG_ID,
	[STMT_MSG_SET_NAME] = "UPDATE message SET name = ?3 WHERE id = " MSG_ID,
	[STMT_MSG_SET_CACHE] = CACHE_UPSERT("envelope, bodystructure, body", "?3, ?4, ?5")
		"envelope = COALESCE(excluded.envelope, envelope), "
		"bodystructure = COALESCE(excluded.bodystructure, bodystructure), "
		"body = COALESCE(excluded.body, body)",
	[STMT_MSG_PUT_CACHE] = "INSERT OR REPLACE INTO message_cache(id, envelope, "
		"bodystructure, body, headers) VALUES(" MSG_ID ", ?3, ?4, ?5, ?6)",
	[STMT_MSG_SET_HEADERS] = CACHE_UPSERT("headers", "?3") "headers = excluded.headers",
	[STMT_MSG_SET_HC] = "UPDATE message SET hc = 1 WHERE id = " MSG_ID,
	[STMT_MSG_NO_HEADERS] = "SELECT uid, name FROM message WHERE id BETWEEN ?1 * 4294967296 + ?2 "
		"AND ?1 * 4294967296 + 4294967295 AND hc = 0 ORDER BY id LIMIT ?3",
	[STMT_MSG_NAMES] = "SELECT uid, name, flags, keywords FROM message WHERE id BETWEEN "
		"?1 * 4294967296 AND ?1 * 4294967296 + 4294967295",
	[STMT_EXP_INSERT] = "INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) VALUES(?1, ?2, ?3)",
	[STMT_EXP_SINCE] = "SELECT uid FROM expunged WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid",
	[STMT_EXP_DELETE_MAILBOX] = "DELETE FROM expunged WHERE mailbox = ?1",
	[STMT_SUB_LIST] = "SELECT name FROM subscription ORDER BY name",
	[STMT_SUB_ADD] = "INSERT OR IGNORE INTO subscription(name) VALUES(?1)",
	[STMT_SUB_DEL] = "DELETE FROM subscription WHERE name = ?1",
	[STMT_USER_SIZE] = "SELECT COALESCE(SUM(size), 0), COALESCE(SUM(messages), 0) FROM mailbox",
	[STMT_MSG_FIRST_UNSEEN] = "SELECT uid FROM message WHERE id BETWEEN ?1 * 4294967296 "
		"AND ?1 * 4294967296 + 4294967295 AND (flags & 1) = 0 ORDER BY id LIMIT 1",
	[STMT_BEGIN] = "BEGIN",
	[STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_MSG_COUNT_FROM] = "SELECT COUNT(*) FROM message WHERE id BETWEEN "
		"?1 * 4294967296 + ?2 AND ?1 * 4294967296 + 4294967295",
};

static bool rc_corrupt(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

void store_index_error(struct store_index *idx, int rc, const char *what)
{
	if (rc_corrupt(rc))
		idx->corrupt = true;
	if (idx->write_depth > 0)
		idx->failed = true;
	log_error("index %s: %s: %s", idx->path, what, sqlite3_errmsg(idx->db));
}

int store_index_exec(struct store_index *idx, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(idx->db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		if (rc_corrupt(rc))
			idx->corrupt = true;
		if (idx->write_depth > 0)
			idx->failed = true;
		log_error("index %s: %s", idx->path, err != NULL ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Versions 1 and 2 kept the cached strings in the message rows (2 also
 * the header cache); 3 moves them to message_cache. 0, or -1 (then the
 * index is rebuilt). */
static int migrate(struct store_index *idx)
{
	if (store_index_exec(idx, "BEGIN IMMEDIATE") < 0)
		return -1;
	int64_t v = store_index_meta_get(idx, "version", 0);
	int ret = 0;
	if (v == 1 || v == 2) {
		const char *hdr = v == 2 ? ", headers" : "";
		char *sql = x_asprintf(
			"DROP INDEX IF EXISTS message_noheaders;"
			"ALTER TABLE message ADD COLUMN hc INTEGER NOT NULL DEFAULT 0;"
			CACHE_SCHEMA
			"INSERT INTO message_cache(id, envelope, bodystructure, body%1$s) "
			"SELECT id, envelope, bodystructure, body%1$s FROM message WHERE "
			"envelope IS NOT NULL OR bodystructure IS NOT NULL OR body IS NOT NULL%2$s;"
			"%3$s"
			"ALTER TABLE message DROP COLUMN envelope;"
			"ALTER TABLE message DROP COLUMN bodystructure;"
			"ALTER TABLE message DROP COLUMN body;"
			"%4$s"
			"UPDATE meta SET value = %5$d WHERE key = 'version';",
			hdr, v == 2 ? " OR headers IS NOT NULL" : "",
			v == 2 ? "UPDATE message SET hc = 1 WHERE headers IS NOT NULL;" : "",
			v == 2 ? "ALTER TABLE message DROP COLUMN headers;" : "",
			STORE_INDEX_VERSION);
		ret = store_index_exec(idx, sql);
		free(sql);
	} else if (v != STORE_INDEX_VERSION) {
		ret = -1;
	}
	if (ret == 0 && store_index_exec(idx, "COMMIT") == 0)
		return 0;
	(void)sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int store_index_open(const char *path, bool create, struct store_index **idx_r,
		     bool *corrupt_r, const char **error_r)
{
	static char errbuf[256];
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	if (corrupt_r != NULL)
		*corrupt_r = false;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(errbuf, sizeof(errbuf), "%s: %s", path,
			 db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		*error_r = errbuf;
		if (corrupt_r != NULL)
			*corrupt_r = rc_corrupt(rc);
		sqlite3_close(db);
		return -1;
	}
	struct store_index *idx = x_calloc(1, sizeof(*idx));
	idx->db = db;
	idx->path = x_strdup(path);
	sqlite3_busy_timeout(db, 10000);
	sqlite3_extended_result_codes(db, 1);
	/* Small page cache: many users per worker; the OS caches pages. */
	if (store_index_exec(idx, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			     "PRAGMA cache_size=-256; PRAGMA temp_store=MEMORY;"
			     "PRAGMA foreign_keys=OFF;") < 0)
		goto bad;
	int64_t version = 0;
	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'version'", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_OK && rc_corrupt(rc))
		idx->corrupt = true;
	sqlite3_finalize(st);
	if (idx->corrupt)
		goto bad;
	if (version == 0) {
		if (!create) {
			snprintf(errbuf, sizeof(errbuf), "%s: not an index", path);
			*error_r = errbuf;
			idx->corrupt = true;
			goto fail;
		}
		char *sql = x_asprintf("BEGIN IMMEDIATE; %s INSERT OR IGNORE INTO meta(key, value) "
				       "VALUES('version', %d); COMMIT;", schema, STORE_INDEX_VERSION);
		int r = store_index_exec(idx, sql);
		free(sql);
		if (r < 0) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto bad;
		}
	} else if ((version == 1 || version == 2) && migrate(idx) == 0) {
		/* The header cache is filled lazily from now on. */
		log_info("index %s: upgraded from version %lld", path, (long long)version);
	} else if (version != STORE_INDEX_VERSION) {
		snprintf(errbuf, sizeof(errbuf), "%s: index version %lld, expected %d", path,
			 (long long)version, STORE_INDEX_VERSION);
		*error_r = errbuf;
		idx->corrupt = true;
		goto fail;
	}
	struct stat fst;
	if (stat(path, &fst) == 0)
		idx->ino = (uint64_t)fst.st_ino;
	*idx_r = idx;
	return 0;
bad:
	snprintf(errbuf, sizeof(errbuf), "%s: %s", path, sqlite3_errmsg(db));
	*error_r = errbuf;
fail:
	if (corrupt_r != NULL)
		*corrupt_r = idx->corrupt;
	store_index_close(&idx);
	return -1;
}

void store_index_close(struct store_index **idxp)
{
	struct store_index *idx = *idxp;
	if (idx == NULL)
		return;
	for (size_t i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(idx->stmts[i]);
	sqlite3_finalize(idx->data_version_st);
	for (size_t i = 0; i < STORE_ITER_KINDS; i++)
		sqlite3_finalize(idx->iter_st[i]);
	sqlite3_close(idx->db);
	free(idx->path);
	free(idx);
	*idxp = NULL;
}

sqlite3_stmt *store_index_stmt(struct store_index *idx, enum store_stmt s)
{
	sqlite3_stmt *st = idx->stmts[s];
	if (st == NULL) {
		int rc = sqlite3_prepare_v3(idx->db, stmt_sql[s], -1, SQLITE_PREPARE_PERSISTENT,
					    &st, NULL);
		if (rc != SQLITE_OK)
			log_panic("index: cannot prepare \"%s\": %s", stmt_sql[s],
				  sqlite3_errmsg(idx->db));
		idx->stmts[s] = st;
	} else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return st;
}

int store_index_exec_stmt(struct store_index *idx, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_index_error(idx, rc, sqlite3_sql(st));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

/* Runs a cached transaction statement. 0 or -1 (logged). */
static int txn_stmt(struct store_index *idx, enum store_stmt s)
{
	sqlite3_stmt *st = store_index_stmt(idx, s);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		if (rc_corrupt(rc))
			idx->corrupt = true;
		if (idx->write_depth > 0)
			idx->failed = true;
		log_error("index %s: %s: %s", idx->path, stmt_sql[s], sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

static void rollback(struct store_index *idx)
{
	if (!sqlite3_get_autocommit(idx->db))
		(void)txn_stmt(idx, STMT_ROLLBACK);
}

int store_index_begin_write(struct store_index *idx)
{
	i_assert(idx->read_depth == 0);
	if (idx->write_depth++ > 0)
		return 0;
	idx->failed = false;
	if (txn_stmt(idx, STMT_BEGIN_IMMEDIATE) < 0) {
		idx->write_depth = 0;
		return -1;
	}
	return 0;
}

int store_index_commit(struct store_index *idx)
{
	i_assert(idx->write_depth > 0);
	if (--idx->write_depth > 0)
		return idx->failed ? -1 : 0;
	if (idx->failed) {
		rollback(idx);
		idx->failed = false;
		return -1;
	}
	if (txn_stmt(idx, STMT_COMMIT) < 0) {
		rollback(idx);
		idx->failed = false;
		return -1;
	}
	return 0;
}

void store_index_rollback(struct store_index *idx)
{
	i_assert(idx->write_depth > 0);
	idx->failed = true;
	if (--idx->write_depth > 0)
		return;
	rollback(idx);
	idx->failed = false;
}

int store_index_begin_read(struct store_index *idx)
{
	if (idx->write_depth > 0 || idx->read_depth++ > 0)
		return 0;
	if (txn_stmt(idx, STMT_BEGIN) < 0) {
		idx->read_depth = 0;
		return -1;
	}
	return 0;
}

void store_index_end_read(struct store_index *idx)
{
	if (idx->write_depth > 0 || idx->read_depth == 0 || --idx->read_depth > 0)
		return;
	if (!sqlite3_get_autocommit(idx->db))
		(void)txn_stmt(idx, STMT_COMMIT);
}

bool store_index_replaced(struct store_index *idx)
{
	struct stat st;
	if (idx->corrupt)
		return true;
	if (stat(idx->path, &st) == 0 && (uint64_t)st.st_ino == idx->ino)
		return false;
	idx->corrupt = true;
	return true;
}

bool store_index_replaced_lazy(struct store_index *idx)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!idx->corrupt && now - idx->replaced_checked < 1000)
		return false;
	idx->replaced_checked = now;
	return store_index_replaced(idx);
}

int64_t store_index_data_version(struct store_index *idx)
{
	if (idx->data_version_st == NULL &&
	    sqlite3_prepare_v3(idx->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
			       &idx->data_version_st, NULL) != SQLITE_OK)
		return -1;
	int64_t v = -1;
	if (sqlite3_step(idx->data_version_st) == SQLITE_ROW)
		v = sqlite3_column_int64(idx->data_version_st, 0);
	sqlite3_reset(idx->data_version_st);
	/* Both only grow, so their sum moves when either does. */
	return v < 0 ? -1 : v + (int64_t)sqlite3_total_changes64(idx->db);
}

int64_t store_index_meta_get(struct store_index *idx, const char *key, int64_t def)
{
	sqlite3_stmt *st = store_index_stmt(idx, STMT_META_GET);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int64_t v = def;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

int store_index_meta_set(struct store_index *idx, const char *key, int64_t value)
{
	sqlite3_stmt *st = store_index_stmt(idx, STMT_META_SET);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return store_index_exec_stmt(idx, st);
}
