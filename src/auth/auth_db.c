/* auth_db.c — accounts, domains and aliases in SQLite
 * (data_dir/accounts.db). Runs in the CLI, the auth process and the
 * workers (recipient checks). Addresses given here may come from SMTP
 * clients; they are normalised before use and bound as parameters. */
#include "auth_db.h"
#include "auth_addr.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum db_stmt {
	ST_DOMAIN_EXISTS,
	ST_USER_GET,
	ST_ALIAS_TARGETS,
	ST_ALIAS_SOURCES,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_DOMAIN_EXISTS] = "SELECT 1 FROM domains WHERE name = ?1",
	[ST_USER_GET] = "SELECT address, maildir, quota, enabled FROM users WHERE address = ?1",
	[ST_ALIAS_TARGETS] = "SELECT target FROM aliases WHERE source = ?1 ORDER BY rowid",
	[ST_ALIAS_SOURCES] = "SELECT source FROM aliases WHERE lower(target) = ?1 ORDER BY source",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS domains ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	"CREATE TABLE IF NOT EXISTS users ("
	" address TEXT PRIMARY KEY NOT NULL,"
	" domain TEXT NOT NULL,"
	" maildir TEXT NOT NULL,"
	" quota INTEGER NOT NULL DEFAULT 0,"
	" enabled INTEGER NOT NULL DEFAULT 1,"
	" created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	"CREATE INDEX IF NOT EXISTS users_domain ON users(domain);"
	"CREATE TABLE IF NOT EXISTS aliases ("
	" source TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" domain TEXT NOT NULL,"
	" PRIMARY KEY (source, target));"
	"CREATE INDEX IF NOT EXISTS aliases_target ON aliases(lower(target));"
	"CREATE INDEX IF NOT EXISTS aliases_domain ON aliases(domain);"
	"PRAGMA user_version = 1;";

/* Most aliases followed backwards by auth_db_aliases_of(). */
#define ALIASES_OF_MAX 1000

struct auth_db {
	sqlite3 *db;
	char *data_dir;
	sqlite3_stmt *stmt[ST_COUNT];
	char *error;
};

static const char *db_error(struct auth_db *db, const char *what)
{
	free(db->error);
	db->error = x_asprintf("%s: %s", what, sqlite3_errmsg(db->db));
	return db->error;
}

static sqlite3_stmt *stmt_get(struct auth_db *db, enum db_stmt which)
{
	if (db->stmt[which] == NULL &&
	    sqlite3_prepare_v3(db->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
			       &db->stmt[which], NULL) != SQLITE_OK) {
		log_error("accounts database: %s", sqlite3_errmsg(db->db));
		return NULL;
	}
	sqlite3_reset(db->stmt[which]);
	sqlite3_clear_bindings(db->stmt[which]);
	return db->stmt[which];
}

/* Runs one statement with text parameters (NULL-terminated list);
 * returns the number of changed rows or -1. */
static int exec_params(struct auth_db *db, const char *sql, const char *const *params,
		       const char **error_r)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) {
		*error_r = db_error(db, "accounts database");
		return -1;
	}
	for (int i = 0; params != NULL && params[i] != NULL; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		*error_r = db_error(db, "accounts database");
		return -1;
	}
	return sqlite3_changes(db->db);
}

/* Counts rows of a "SELECT count(*) ... ?1" query; -1 on error. */
static int64_t count_rows(struct auth_db *db, const char *sql, const char *param)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int auth_file_own(const struct config *cfg, const char *path, const char **error_r)
{
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		*error_r = "the configured user does not exist (run `correu init` as root, or "
			"create it with useradd --system)";
		return -1;
	}
	if (lchown(path, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

int auth_file_own_auth(const struct config *cfg, const char *path, const char **error_r)
{
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	struct passwd *apw = cfg->auth_user[0] != '\0' ? getpwnam(cfg->auth_user) : pw;
	if (pw == NULL || apw == NULL) {
		*error_r = "the configured user or auth_user does not exist (run `correu init` "
			"as root, which creates both)";
		return -1;
	}
	if (lchown(path, apw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

/* As root, the database and its WAL files must belong to cfg->user or
 * the server could not open them. */
static int own_db_files(const struct config *cfg, const char *path, const char **error_r)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < N_ELEMENTS(suffixes); i++) {
		char *p = x_asprintf("%s%s", path, suffixes[i]);
		int ret = auth_file_own(cfg, p, error_r);
		free(p);
		if (ret < 0)
			return -1;
	}
	return 0;
}

struct auth_db *auth_db_open(const struct config *cfg, bool create, const char **error_r)
{
	static _Thread_local char errbuf[512];
	char *path = x_asprintf("%s/accounts.db", cfg->data_dir);
	struct auth_db *db = x_calloc(1, sizeof(*db));
	db->data_dir = x_strdup(cfg->data_dir);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (create) {
		flags |= SQLITE_OPEN_CREATE;
		bool existed = access(cfg->data_dir, F_OK) == 0;
		if (mkdir_p(cfg->data_dir, 0750) < 0) {
			snprintf(errbuf, sizeof(errbuf), "cannot create %s: %s", cfg->data_dir,
				 strerror(errno));
			goto fail_static;
		}
		if (!existed && auth_file_own(cfg, cfg->data_dir, error_r) < 0)
			goto fail;
	} else if (access(path, F_OK) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s does not exist (run `correu init` first)", path);
		goto fail_static;
	}
	if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
		snprintf(errbuf, sizeof(errbuf), "cannot open %s: %s", path,
			 db->db != NULL ? sqlite3_errmsg(db->db) : "out of memory");
		goto fail_static;
	}
	sqlite3_busy_timeout(db->db, 5000);
	sqlite3_extended_result_codes(db->db, 1);
	if (create &&
	    (sqlite3_exec(db->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
	     sqlite3_exec(db->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)) {
		snprintf(errbuf, sizeof(errbuf), "cannot create tables in %s: %s", path,
			 sqlite3_errmsg(db->db));
		goto fail_static;
	}
	if (geteuid() == 0) {
		/* A first read makes the WAL files exist; as root they must
		 * not stay ours, or the running server could not open them. */
		sqlite3_exec(db->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
		if (own_db_files(cfg, path, error_r) < 0)
			goto fail;
	}
	/* Account changes are rare: make each one durable at commit. */
	sqlite3_exec(db->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	free(path);
	return db;

fail_static:
	*error_r = errbuf;
fail:
	free(path);
	auth_db_close(&db);
	return NULL;
}

void auth_db_close(struct auth_db **dbp)
{
	struct auth_db *db = *dbp;
	if (db == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close(db->db);
	free(db->data_dir);
	free(db->error);
	free(db);
	*dbp = NULL;
}

/* ---- domains ---- */

int auth_db_domain_add(struct auth_db *db, const char *domain, const char **error_r)
{
	char *d;
	if (auth_addr_domain(domain, &d, error_r) < 0)
		return -1;
	const char *params[] = { d, NULL };
	int n = exec_params(db, "INSERT OR IGNORE INTO domains (name) VALUES (?1)", params, error_r);
	free(d);
	if (n == 0) {
		*error_r = "domain exists";
		return -1;
	}
	return n < 0 ? -1 : 0;
}

int auth_db_domain_del(struct auth_db *db, const char *domain, const char **error_r)
{
	char *d;
	if (auth_addr_domain(domain, &d, error_r) < 0)
		return -1;
	int ret = -1;
	int64_t users = count_rows(db, "SELECT count(*) FROM users WHERE domain = ?1", d);
	int64_t aliases = count_rows(db, "SELECT count(DISTINCT source) FROM aliases WHERE domain = ?1", d);
	if (users < 0 || aliases < 0) {
		*error_r = db_error(db, "accounts database");
	} else if (users > 0 || aliases > 0) {
		free(db->error);
		db->error = x_asprintf("domain still has %lld user%s and %lld alias%s; "
				       "delete them first", (long long)users, users == 1 ? "" : "s",
				       (long long)aliases, aliases == 1 ? "" : "es");
		*error_r = db->error;
	} else {
		const char *params[] = { d, NULL };
		int n = exec_params(db, "DELETE FROM domains WHERE name = ?1", params, error_r);
		if (n == 0)
			*error_r = "no such domain";
		else if (n > 0)
			ret = 0;
	}
	free(d);
	return ret;
}

int auth_db_domain_find(struct auth_db *db, const char *domain)
{
	char *d;
	const char *error;
	if (auth_addr_domain(domain, &d, &error) < 0)
		return 0;
	sqlite3_stmt *st = stmt_get(db, ST_DOMAIN_EXISTS);
	int ret = -1;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			ret = 1;
		else if (rc == SQLITE_DONE)
			ret = 0;
		else
			log_error("accounts database: %s", sqlite3_errmsg(db->db));
		sqlite3_reset(st);
	}
	free(d);
	return ret;
}

bool auth_db_domain_exists(struct auth_db *db, const char *domain)
{
	return auth_db_domain_find(db, domain) == 1;
}

/* Appends column 0 of every row of sql (optionally with ?1 = param). */
static int list_column(struct auth_db *db, const char *sql, const char *param, struct strv *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (param != NULL)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strv_push(out, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int auth_db_domain_list(struct auth_db *db, struct strv *out)
{
	return list_column(db, "SELECT name FROM domains ORDER BY name", NULL, out);
}

/* ---- users ---- */

void auth_user_free(struct auth_user *u)
{
	x_free(&u->address);
	x_free(&u->maildir);
}

int auth_db_user_add(struct auth_db *db, const char *address, const char **error_r)
{
	char *a;
	if (auth_addr_account(address, &a, error_r) < 0)
		return -1;
	const char *domain = auth_addr_domain_of(a);
	int ret = -1;
	if (!auth_db_domain_exists(db, domain)) {
		*error_r = "no such domain (add it with `correu domain add`)";
		free(a);
		return -1;
	}
	char *local = x_strndup(a, (size_t)(domain - 1 - a));
	char *maildir = x_asprintf("mail/%s/%s", domain, local);
	const char *params[] = { a, domain, maildir, NULL };
	int n = exec_params(db, "INSERT OR IGNORE INTO users (address, domain, maildir) "
			    "VALUES (?1, ?2, ?3)", params, error_r);
	if (n == 0)
		*error_r = "user exists";
	else if (n > 0)
		ret = 0;
	free(local);
	free(maildir);
	free(a);
	return ret;
}

int auth_db_user_del(struct auth_db *db, const char *address, const char **error_r)
{
	char *a;
	if (auth_addr_lookup_key(address, &a) < 0) {
		*error_r = "invalid address";
		return -1;
	}
	const char *params[] = { a, NULL };
	int n = exec_params(db, "DELETE FROM users WHERE address = ?1", params, error_r);
	free(a);
	if (n == 0)
		*error_r = "no such user";
	return n > 0 ? 0 : -1;
}

int auth_db_user_get(struct auth_db *db, const char *address, struct auth_user *u_r)
{
	char *a;
	if (auth_addr_lookup_key(address, &a) < 0)
		return 0;
	sqlite3_stmt *st = stmt_get(db, ST_USER_GET);
	if (st == NULL) {
		free(a);
		return -1;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		const char *rel = (const char *)sqlite3_column_text(st, 1);
		u_r->address = x_strdup((const char *)sqlite3_column_text(st, 0));
		u_r->maildir = rel[0] == '/' ? x_strdup(rel) : x_asprintf("%s/%s", db->data_dir, rel);
		sqlite3_int64 q = sqlite3_column_int64(st, 2);
		u_r->quota_bytes = q > 0 ? (uint64_t)q : 0;
		u_r->enabled = sqlite3_column_int(st, 3) != 0;
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		log_error("accounts database: %s", sqlite3_errmsg(db->db));
		ret = -1;
	}
	sqlite3_reset(st);
	free(a);
	return ret;
}

int auth_db_user_list(struct auth_db *db, struct strv *out)
{
	return list_column(db, "SELECT address FROM users ORDER BY domain, address", NULL, out);
}

static int user_update(struct auth_db *db, const char *sql, const char *address,
		       int64_t value, const char **error_r)
{
	char *a;
	if (auth_addr_lookup_key(address, &a) < 0) {
		*error_r = "invalid address";
		return -1;
	}
	sqlite3_stmt *st;
	int ret = -1;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) {
		*error_r = db_error(db, "accounts database");
		free(a);
		return -1;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, value);
	if (sqlite3_step(st) != SQLITE_DONE)
		*error_r = db_error(db, "accounts database");
	else if (sqlite3_changes(db->db) == 0)
		*error_r = "no such user";
	else
		ret = 0;
	sqlite3_finalize(st);
	free(a);
	return ret;
}

int auth_db_user_set_quota(struct auth_db *db, const char *address, uint64_t bytes,
			   const char **error_r)
{
	if (bytes > INT64_MAX) {
		*error_r = "quota too large";
		return -1;
	}
	return user_update(db, "UPDATE users SET quota = ?2 WHERE address = ?1", address,
			   (int64_t)bytes, error_r);
}

int auth_db_user_set_enabled(struct auth_db *db, const char *address, bool enabled,
			     const char **error_r)
{
	return user_update(db, "UPDATE users SET enabled = ?2 WHERE address = ?1", address,
			   enabled ? 1 : 0, error_r);
}

/* ---- aliases ---- */

/* Normalises a target; addresses in our domains are lower-cased
 * entirely, remote local parts keep their case. */
static int alias_target(struct auth_db *db, const char *in, char **out_r, const char **error_r)
{
	char *t;
	if (auth_addr_target(in, &t, error_r) < 0)
		return -1;
	if (auth_db_domain_exists(db, auth_addr_domain_of(t)))
		str_lower(t);
	*out_r = t;
	return 0;
}

int auth_db_alias_add(struct auth_db *db, const char *source, const struct strv *targets,
		      const char **error_r)
{
	char *src;
	if (targets->n == 0) {
		*error_r = "no target given";
		return -1;
	}
	if (auth_addr_alias_source(source, &src, error_r) < 0)
		return -1;
	const char *domain = auth_addr_domain_of(src);
	if (!auth_db_domain_exists(db, domain)) {
		*error_r = "the alias's domain is not one of ours (add it with `correu domain add`)";
		free(src);
		return -1;
	}
	struct strv norm;
	strv_init(&norm);
	int ret = -1;
	for (size_t i = 0; i < targets->n; i++) {
		char *t;
		if (alias_target(db, targets->v[i], &t, error_r) < 0)
			goto out;
		strv_push_owned(&norm, t);
	}
	if (exec_params(db, "BEGIN IMMEDIATE", NULL, error_r) < 0)
		goto out;
	for (size_t i = 0; i < norm.n; i++) {
		const char *params[] = { src, norm.v[i], domain, NULL };
		if (exec_params(db, "INSERT OR IGNORE INTO aliases (source, target, domain) "
				"VALUES (?1, ?2, ?3)", params, error_r) < 0) {
			const char *ignored;
			(void)exec_params(db, "ROLLBACK", NULL, &ignored);
			goto out;
		}
	}
	if (exec_params(db, "COMMIT", NULL, error_r) < 0) {
		const char *ignored;
		(void)exec_params(db, "ROLLBACK", NULL, &ignored);
		goto out;
	}
	ret = 0;
out:
	strv_free(&norm);
	free(src);
	return ret;
}

int auth_db_alias_del(struct auth_db *db, const char *source, const char *target,
		      const char **error_r)
{
	char *src, *t = NULL;
	if (auth_addr_alias_source(source, &src, error_r) < 0)
		return -1;
	int n;
	if (target != NULL) {
		if (alias_target(db, target, &t, error_r) < 0) {
			free(src);
			return -1;
		}
		const char *params[] = { src, t, NULL };
		n = exec_params(db, "DELETE FROM aliases WHERE source = ?1 AND target = ?2",
				params, error_r);
	} else {
		const char *params[] = { src, NULL };
		n = exec_params(db, "DELETE FROM aliases WHERE source = ?1", params, error_r);
	}
	free(src);
	free(t);
	if (n == 0)
		*error_r = target != NULL ? "no such alias target" : "no such alias";
	return n > 0 ? 0 : -1;
}

int auth_db_alias_list(struct auth_db *db, struct strv *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db, "SELECT source, target FROM aliases ORDER BY source, rowid",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	struct buf line = BUF_INIT;
	char *cur = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		const char *t = (const char *)sqlite3_column_text(st, 1);
		if (cur == NULL || strcmp(cur, s) != 0) {
			if (cur != NULL)
				strv_push_owned(out, buf_steal(&line));
			free(cur);
			cur = x_strdup(s);
			buf_append_str(&line, s);
		}
		buf_appendf(&line, " %s", t);
	}
	if (cur != NULL)
		strv_push_owned(out, buf_steal(&line));
	free(cur);
	buf_free(&line);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int auth_db_alias_targets(struct auth_db *db, const char *source, struct strv *out)
{
	sqlite3_stmt *st = stmt_get(db, ST_ALIAS_TARGETS);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strv_push(out, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("accounts database: %s", sqlite3_errmsg(db->db));
		return -1;
	}
	return 0;
}

int auth_db_aliases_of(struct auth_db *db, const char *address, struct strv *out)
{
	char *a;
	if (auth_addr_lookup_key(address, &a) < 0)
		return 0;
	/* Breadth-first over sources pointing at what we have found. */
	struct strv queue;
	strv_init(&queue);
	strv_push_owned(&queue, a);
	int ret = 0;
	for (size_t i = 0; i < queue.n && queue.n < ALIASES_OF_MAX; i++) {
		sqlite3_stmt *st = stmt_get(db, ST_ALIAS_SOURCES);
		if (st == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_text(st, 1, queue.v[i], -1, SQLITE_TRANSIENT);
		int rc;
		struct strv found;
		strv_init(&found);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			strv_push(&found, (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			ret = -1;
		for (size_t j = 0; j < found.n; j++) {
			if (strv_contains(&queue, found.v[j]))
				continue;
			strv_push(&queue, found.v[j]);
			strv_push(out, found.v[j]);
		}
		strv_free(&found);
		if (ret < 0)
			break;
	}
	strv_free(&queue);
	return ret;
}
