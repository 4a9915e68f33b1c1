/* auth_db.h — accounts, domains and aliases in SQLite
 * (data_dir/accounts.db, WAL mode). Readable by workers for recipient
 * checks; holds no secrets. Password hashes live in auth_passwd's
 * separate database, read only by the auth process (DESIGN.md,
 * Processes). Every read sees the latest committed change, so account
 * changes made by `correu user ...` apply to a running server.
 *
 * One handle per thread: a handle's statements are not shared. Error
 * strings returned through error_r stay valid until the next call on the
 * same handle. Address arguments are normalised here (auth_addr.h), so
 * callers may pass them as a client wrote them. */
#ifndef CORREU_AUTH_DB_H
#define CORREU_AUTH_DB_H

#include <stdbool.h>
#include <stdint.h>
#include "cfg.h"
#include "str.h"

struct auth_db;

/* Opens data_dir/accounts.db; with create, also the directory, the file
 * and its tables (idempotent). Without create a missing database is an
 * error that says to run `correu init`. */
struct auth_db *auth_db_open(const struct config *cfg, bool create, const char **error_r);
void auth_db_close(struct auth_db **db);

/* Domains. Names are stored lower-case (IDNA A-labels). Deleting a
 * domain that still has users or aliases fails and says so. */
int auth_db_domain_add(struct auth_db *db, const char *domain, const char **error_r);
int auth_db_domain_del(struct auth_db *db, const char *domain, const char **error_r);
bool auth_db_domain_exists(struct auth_db *db, const char *domain);
/* Like auth_db_domain_exists() but tells errors apart: 1 ours, 0 not
 * ours (or not a valid domain), -1 database error. */
int auth_db_domain_find(struct auth_db *db, const char *domain);
int auth_db_domain_list(struct auth_db *db, struct strv *out);

struct auth_user {
	char *address;		/* canonical, lower-case "local@domain" */
	char *maildir;		/* absolute path of the Maildir++ root */
	uint64_t quota_bytes;	/* 0 = no limit */
	bool enabled;		/* false: cannot log in; still receives mail */
};
void auth_user_free(struct auth_user *u);

/* Adds a user of an existing domain. The Maildir path is
 * data_dir/mail/<domain>/<local>; the store creates it on first use. */
int auth_db_user_add(struct auth_db *db, const char *address, const char **error_r);
/* Removes the account; its mail stays on disk. */
int auth_db_user_del(struct auth_db *db, const char *address, const char **error_r);
/* Exact lookup (case-insensitive). Returns 1 found, 0 not found, -1 error.
 * On 1 the caller frees u_r with auth_user_free(). */
int auth_db_user_get(struct auth_db *db, const char *address, struct auth_user *u_r);
int auth_db_user_list(struct auth_db *db, struct strv *out);
int auth_db_user_set_quota(struct auth_db *db, const char *address, uint64_t bytes,
			   const char **error_r);
int auth_db_user_set_enabled(struct auth_db *db, const char *address, bool enabled,
			     const char **error_r);

/* Aliases: source is "local@domain" or "@domain" (catch-all) of one of
 * our domains; targets are local or remote addresses. Adding a target
 * that is already there is not an error. */
int auth_db_alias_add(struct auth_db *db, const char *source, const struct strv *targets,
		      const char **error_r);
/* target NULL removes every target of source; removing nothing fails. */
int auth_db_alias_del(struct auth_db *db, const char *source, const char *target,
		      const char **error_r);
/* Lines "source target1 target2 ...", sorted by source. */
int auth_db_alias_list(struct auth_db *db, struct strv *out);
/* Targets of exactly this source (already normalised lookup key), in the
 * order they were added. Appends to out; 0 when there are none. */
int auth_db_alias_targets(struct auth_db *db, const char *source, struct strv *out);
/* Sources (aliases, including "@domain" catch-alls) that lead to address
 * directly or through other aliases, for submission sender checks. */
int auth_db_aliases_of(struct auth_db *db, const char *address, struct strv *out);

/* When running as root, gives path to the configured unprivileged user
 * (cfg->user) so the server can use what the CLI created; a no-op
 * otherwise. Fails if that user does not exist. */
int auth_file_own(const struct config *cfg, const char *path, const char **error_r);
/* The same for the password database: gives path to cfg->auth_user
 * (cfg->user when empty) and cfg->user's group, so that only the auth
 * process can read it. */
int auth_file_own_auth(const struct config *cfg, const char *path, const char **error_r);

#endif
