/* auth_passwd.c — password hashing, verification and the password
 * database data_dir/auth/passwd.db. Runs in the auth process (thread
 * pool) and the CLI. Verification takes untrusted passwords; imported
 * hashes come from the administrator. */
#include "auth_passwd.h"
#include "auth_addr.h"
#include "auth_db.h"
#include "fsutil.h"
#include "log.h"
#include "str.h"
#include "xalloc.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* bcrypt's libxcrypt default (5) is too cheap for new hashes. */
#define BCRYPT_COST 10

struct auth_passwd {
	sqlite3 *db;
	char *scheme;
	sqlite3_stmt *get;
	char *error;
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS passwd ("
	" address TEXT PRIMARY KEY NOT NULL,"
	" hash TEXT NOT NULL,"
	" scram TEXT,"
	" updated INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	"CREATE TABLE IF NOT EXISTS meta ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value BLOB NOT NULL);"
	"PRAGMA user_version = 1;";

/* ---- hashing ---- */

static int crypt_hash(const char *prefix, unsigned long count, const char *password,
		      char **hash_r, const char **error_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rbytes[32];
	randombytes_buf(rbytes, sizeof(rbytes));
	if (crypt_gensalt_rn(prefix, count, (const char *)rbytes, sizeof(rbytes), setting,
			     sizeof(setting)) == NULL) {
		*error_r = "crypt_gensalt failed";
		return -1;
	}
	struct crypt_data *data = x_calloc(1, sizeof(*data));
	const char *out = crypt_rn(password, setting, data, sizeof(*data));
	int ret = -1;
	if (out == NULL || out[0] == '*')
		*error_r = "crypt failed";
	else {
		*hash_r = x_strdup(out);
		ret = 0;
	}
	sodium_memzero(data, sizeof(*data));
	free(data);
	return ret;
}

int auth_passwd_hash(const char *scheme, const char *password, char **hash_r,
		     const char **error_r)
{
	if (sodium_init() < 0) {
		*error_r = "libsodium initialisation failed";
		return -1;
	}
	if (strlen(password) > AUTH_PASSWORD_MAX) {
		*error_r = "password too long";
		return -1;
	}
	if (strcmp(scheme, "yescrypt") == 0)
		return crypt_hash("$y$", 0, password, hash_r, error_r);
	if (strcmp(scheme, "sha512-crypt") == 0)
		return crypt_hash("$6$", 0, password, hash_r, error_r);
	if (strcmp(scheme, "bcrypt") == 0)
		return crypt_hash("$2b$", BCRYPT_COST, password, hash_r, error_r);
	if (strcmp(scheme, "argon2id") == 0) {
		char out[crypto_pwhash_STRBYTES];
		if (crypto_pwhash_str_alg(out, password, strlen(password),
					  crypto_pwhash_OPSLIMIT_INTERACTIVE,
					  crypto_pwhash_MEMLIMIT_INTERACTIVE,
					  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			*error_r = "argon2id hashing failed (out of memory?)";
			return -1;
		}
		*hash_r = x_strdup(out);
		return 0;
	}
	*error_r = "unknown password scheme";
	return -1;
}

/* Dovecot's "{SCHEME}" prefixes we understand and what follows them. */
enum hash_kind { HASH_CRYPT, HASH_ARGON2, HASH_SCRAM, HASH_UNKNOWN };

static const struct {
	const char *prefix;
	enum hash_kind kind;
} dovecot_schemes[] = {
	{ "{CRYPT}", HASH_CRYPT }, { "{SHA512-CRYPT}", HASH_CRYPT },
	{ "{SHA256-CRYPT}", HASH_CRYPT }, { "{BLF-CRYPT}", HASH_CRYPT },
	{ "{MD5-CRYPT}", HASH_CRYPT }, { "{ARGON2ID}", HASH_ARGON2 },
	{ "{ARGON2I}", HASH_ARGON2 }, { "{SCRAM-SHA-256}", HASH_SCRAM },
};

/* Classifies hash; *body_r points past any "{SCHEME}" prefix. */
static enum hash_kind hash_kind(const char *hash, const char **body_r)
{
	*body_r = hash;
	if (hash[0] == '{') {
		for (size_t i = 0; i < N_ELEMENTS(dovecot_schemes); i++) {
			if (str_has_prefix_icase(hash, dovecot_schemes[i].prefix)) {
				*body_r = hash + strlen(dovecot_schemes[i].prefix);
				if (dovecot_schemes[i].kind == HASH_SCRAM)
					*body_r = hash;
				return dovecot_schemes[i].kind;
			}
		}
		return HASH_UNKNOWN;
	}
	if (str_has_prefix(hash, "SCRAM-SHA-256$"))
		return HASH_SCRAM;
	if (str_has_prefix(hash, "$argon2"))
		return HASH_ARGON2;
	if (hash[0] == '$')
		return HASH_CRYPT;
	return HASH_UNKNOWN;
}

bool auth_passwd_verify_hash(const char *hash, const char *password)
{
	const char *body;
	if (strlen(password) > AUTH_PASSWORD_MAX || sodium_init() < 0)
		return false;
	switch (hash_kind(hash, &body)) {
	case HASH_CRYPT: {
		struct crypt_data *data = x_calloc(1, sizeof(*data));
		const char *out = crypt_rn(password, body, data, sizeof(*data));
		bool ok = out != NULL && out[0] != '*' && strlen(out) == strlen(body) &&
			sodium_memcmp(out, body, strlen(body)) == 0;
		sodium_memzero(data, sizeof(*data));
		free(data);
		return ok;
	}
	case HASH_ARGON2: {
		char str[crypto_pwhash_STRBYTES];
		if (strlen(body) >= sizeof(str))
			return false;
		memset(str, 0, sizeof(str));
		memcpy(str, body, strlen(body));
		return crypto_pwhash_str_verify(str, password, strlen(password)) == 0;
	}
	case HASH_SCRAM: {
		struct auth_scram_keys keys;
		return auth_scram_parse(body, &keys) == 0 &&
			auth_scram_verify_password(&keys, password);
	}
	case HASH_UNKNOWN:
		break;
	}
	return false;
}

int auth_passwd_check_hash(const char *hash, const char **error_r)
{
	const char *body;
	struct auth_scram_keys keys;
	switch (hash_kind(hash, &body)) {
	case HASH_CRYPT: {
		static const char *const strong[] = {
			"$y$", "$gy$", "$7$", "$2b$", "$2y$", "$2a$", "$6$", "$5$",
		};
		bool ok_prefix = false;
		for (size_t i = 0; i < N_ELEMENTS(strong); i++)
			if (str_has_prefix(body, strong[i]))
				ok_prefix = true;
		int cs = crypt_checksalt(body);
		if (!ok_prefix || (cs != CRYPT_SALT_OK && cs != CRYPT_SALT_METHOD_LEGACY)) {
			*error_r = "unsupported or too weak crypt(3) hash (DES and MD5 are refused)";
			return -1;
		}
		/* crypt_checksalt() looks only at the setting: a complete hash
		 * is as long as what crypt(3) makes from it. */
		struct crypt_data *data = x_calloc(1, sizeof(*data));
		const char *out = crypt_rn("", body, data, sizeof(*data));
		bool complete = out != NULL && out[0] != '*' && strlen(out) == strlen(body);
		free(data);
		if (!complete) {
			*error_r = "malformed crypt(3) hash";
			return -1;
		}
		return 0;
	}
	case HASH_ARGON2:
		if (!str_has_prefix(body, "$argon2id$") && !str_has_prefix(body, "$argon2i$")) {
			*error_r = "unsupported argon2 variant";
			return -1;
		}
		if (strlen(body) >= crypto_pwhash_STRBYTES) {
			*error_r = "argon2 hash too long";
			return -1;
		}
		return 0;
	case HASH_SCRAM:
		if (auth_scram_parse(body, &keys) < 0) {
			*error_r = "malformed SCRAM-SHA-256 keys";
			return -1;
		}
		return 0;
	case HASH_UNKNOWN:
		break;
	}
	*error_r = "unknown hash format (expected $y$, $6$, $2b$, $argon2id$, SCRAM-SHA-256$ "
		"or a Dovecot {SCHEME} prefix)";
	return -1;
}

/* ---- database ---- */

static const char *pw_error(struct auth_passwd *pw, const char *what)
{
	free(pw->error);
	pw->error = x_asprintf("%s: %s", what, sqlite3_errmsg(pw->db));
	return pw->error;
}

/* Creates path with mode 0600 unless it exists, so SQLite (and its WAL
 * files, which copy the mode) never makes it world-readable. */
static int create_private_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int ret = fchmod(fd, 0600);
	close(fd);
	return ret;
}

struct auth_passwd *auth_passwd_open(const struct config *cfg, bool create,
				     const char **error_r)
{
	static _Thread_local char errbuf[512];
	char *dir = x_asprintf("%s/auth", cfg->data_dir);
	char *path = x_asprintf("%s/passwd.db", dir);
	struct auth_passwd *pw = x_calloc(1, sizeof(*pw));
	pw->scheme = x_strdup(cfg->password_scheme);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (sodium_init() < 0) {
		*error_r = "libsodium initialisation failed";
		goto fail;
	}
	if (create) {
		if (mkdir_p(dir, 0700) < 0 || chmod(dir, 0700) < 0 ||
		    create_private_file(path) < 0) {
			snprintf(errbuf, sizeof(errbuf), "cannot create %s: %s", path,
				 strerror(errno));
			*error_r = errbuf;
			goto fail;
		}
		if (auth_file_own_auth(cfg, dir, error_r) < 0 || auth_file_own_auth(cfg, path, error_r) < 0)
			goto fail;
	} else if (access(path, F_OK) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s does not exist", path);
		*error_r = errbuf;
		goto fail;
	}
	if (sqlite3_open_v2(path, &pw->db, flags, NULL) != SQLITE_OK) {
		snprintf(errbuf, sizeof(errbuf), "cannot open %s: %s", path,
			 pw->db != NULL ? sqlite3_errmsg(pw->db) : "out of memory");
		*error_r = errbuf;
		goto fail;
	}
	sqlite3_busy_timeout(pw->db, 5000);
	if (create &&
	    (sqlite3_exec(pw->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
	     sqlite3_exec(pw->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)) {
		snprintf(errbuf, sizeof(errbuf), "cannot create tables in %s: %s", path,
			 sqlite3_errmsg(pw->db));
		*error_r = errbuf;
		goto fail;
	}
	if (geteuid() == 0) {
		/* As in auth_db_open(): the WAL files must belong to the auth user. */
		sqlite3_exec(pw->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
		char *wal = x_asprintf("%s-wal", path), *shm = x_asprintf("%s-shm", path);
		int ret = auth_file_own_auth(cfg, wal, error_r) < 0 || auth_file_own_auth(cfg, shm, error_r) < 0;
		free(wal);
		free(shm);
		if (ret)
			goto fail;
	}
	sqlite3_exec(pw->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	free(dir);
	free(path);
	return pw;
fail:
	free(dir);
	free(path);
	auth_passwd_close(&pw);
	return NULL;
}

void auth_passwd_close(struct auth_passwd **pwp)
{
	struct auth_passwd *pw = *pwp;
	if (pw == NULL)
		return;
	sqlite3_finalize(pw->get);
	sqlite3_close(pw->db);
	free(pw->scheme);
	free(pw->error);
	free(pw);
	*pwp = NULL;
}

/* Writes the entry for address; scram NULL stores none. */
static int store(struct auth_passwd *pw, const char *address, const char *hash,
		 const char *scram, const char **error_r)
{
	char *a;
	if (auth_addr_account(address, &a, error_r) < 0)
		return -1;
	sqlite3_stmt *st;
	int ret = -1;
	if (sqlite3_prepare_v2(pw->db, "INSERT OR REPLACE INTO passwd (address, hash, scram) "
			       "VALUES (?1, ?2, ?3)", -1, &st, NULL) != SQLITE_OK) {
		*error_r = pw_error(pw, "password database");
		free(a);
		return -1;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
	if (scram != NULL)
		sqlite3_bind_text(st, 3, scram, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 3);
	if (sqlite3_step(st) == SQLITE_DONE)
		ret = 0;
	else
		*error_r = pw_error(pw, "password database");
	sqlite3_finalize(st);
	free(a);
	return ret;
}

int auth_passwd_set(struct auth_passwd *pw, const char *address, const char *password,
		    const char **error_r)
{
	char *hash;
	if (auth_passwd_hash(pw->scheme, password, &hash, error_r) < 0)
		return -1;
	struct auth_scram_keys keys;
	auth_scram_generate(password, &keys);
	char *scram = auth_scram_format(&keys);
	sodium_memzero(&keys, sizeof(keys));
	int ret = store(pw, address, hash, scram, error_r);
	free(hash);
	free(scram);
	return ret;
}

int auth_passwd_set_hash(struct auth_passwd *pw, const char *address, const char *hash,
			 const char **error_r)
{
	if (auth_passwd_check_hash(hash, error_r) < 0)
		return -1;
	const char *body;
	char *scram = NULL;
	if (hash_kind(hash, &body) == HASH_SCRAM) {
		struct auth_scram_keys keys;
		(void)auth_scram_parse(body, &keys);
		scram = auth_scram_format(&keys);
	}
	int ret = store(pw, address, hash, scram, error_r);
	free(scram);
	return ret;
}

int auth_passwd_set_scram(struct auth_passwd *pw, const char *address,
			  const struct auth_scram_keys *keys, const char **error_r)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(pw->db, "UPDATE passwd SET scram = ?2 WHERE address = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		*error_r = pw_error(pw, "password database");
		return -1;
	}
	char *scram = auth_scram_format(keys);
	sqlite3_bind_text(st, 1, address, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, scram, -1, SQLITE_TRANSIENT);
	int ret = 0;
	if (sqlite3_step(st) != SQLITE_DONE) {
		*error_r = pw_error(pw, "password database");
		ret = -1;
	}
	sqlite3_finalize(st);
	free(scram);
	return ret;
}

int auth_passwd_del(struct auth_passwd *pw, const char *address, const char **error_r)
{
	char *a;
	if (auth_addr_lookup_key(address, &a) < 0) {
		*error_r = "invalid address";
		return -1;
	}
	sqlite3_stmt *st;
	int ret = -1;
	if (sqlite3_prepare_v2(pw->db, "DELETE FROM passwd WHERE address = ?1", -1, &st,
			       NULL) != SQLITE_OK) {
		*error_r = pw_error(pw, "password database");
		free(a);
		return -1;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		*error_r = pw_error(pw, "password database");
	else if (sqlite3_changes(pw->db) == 0)
		*error_r = "no password set";
	else
		ret = 0;
	sqlite3_finalize(st);
	free(a);
	return ret;
}

int auth_passwd_get(struct auth_passwd *pw, const char *address, char **hash_r,
		    char **scram_r)
{
	if (pw->get == NULL &&
	    sqlite3_prepare_v3(pw->db, "SELECT hash, scram FROM passwd WHERE address = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &pw->get, NULL) != SQLITE_OK) {
		log_error("password database: %s", sqlite3_errmsg(pw->db));
		return -1;
	}
	sqlite3_reset(pw->get);
	sqlite3_bind_text(pw->get, 1, address, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(pw->get);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		const char *scram = (const char *)sqlite3_column_text(pw->get, 1);
		*hash_r = x_strdup((const char *)sqlite3_column_text(pw->get, 0));
		*scram_r = scram != NULL ? x_strdup(scram) : NULL;
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		log_error("password database: %s", sqlite3_errmsg(pw->db));
		ret = -1;
	}
	sqlite3_reset(pw->get);
	return ret;
}

int auth_passwd_secret(struct auth_passwd *pw, unsigned char secret_r[32])
{
	unsigned char fresh[32];
	randombytes_buf(fresh, sizeof(fresh));
	sqlite3_stmt *st;
	/* Insert-if-missing then read keeps concurrent first uses in
	 * agreement. */
	if (sqlite3_prepare_v2(pw->db, "INSERT OR IGNORE INTO meta (key, value) "
			       "VALUES ('scram_secret', ?1)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_blob(st, 1, fresh, sizeof(fresh), SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (sqlite3_prepare_v2(pw->db, "SELECT value FROM meta WHERE key = 'scram_secret'",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	int ret = -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(secret_r, sqlite3_column_blob(st, 0), 32);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}
