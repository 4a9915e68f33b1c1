/* auth_db.h — accounts, domains and aliases in SQLite
 * (data_dir/accounts.db, WAL mode). Readable by workers for recipient
 * checks; holds no secrets. Password hashes live in auth_passwd's
 * separate database, read only by the auth process (DESIGN.md,
 * Processes). Every read sees the latest committed change, so account
 * changes made by `correu user ...` apply to a running server. */
#ifndef CORREU_AUTH_DB_H
#define CORREU_AUTH_DB_H

#include <stdbool.h>
#include <stdint.h>
#include "cfg.h"
#include "str.h"

struct auth_db;

/* Opens (creating if asked) data_dir/accounts.db. */
struct auth_db *auth_db_open(const struct config *cfg, bool create, const char **error_r);
void auth_db_close(struct auth_db **db);

/* Domains. Names are stored lower-case (IDNA A-labels). */
int auth_db_domain_add(struct auth_db *db, const char *domain, const char **error_r);
int auth_db_domain_del(struct auth_db *db, const char *domain, const char **error_r);
bool auth_db_domain_exists(struct auth_db *db, const char *domain);
int auth_db_domain_list(struct auth_db *db, struct strv *out);

struct auth_user {
	char *address;		/* canonical, lower-case "local@domain" */
	char *maildir;		/* absolute path of the Maildir++ root */
	uint64_t quota_bytes;	/* 0 = no limit */
	bool enabled;
};
void auth_user_free(struct auth_user *u);

/* Adds a user of an existing domain and creates its Maildir. */
int auth_db_user_add(struct auth_db *db, const char *address, const char **error_r);
int auth_db_user_del(struct auth_db *db, const char *address, const char **error_r);
/* Exact lookup (case-insensitive). Returns 1 found, 0 not found, -1 error. */
int auth_db_user_get(struct auth_db *db, const char *address, struct auth_user *u_r);
int auth_db_user_list(struct auth_db *db, struct strv *out);
int auth_db_user_set_quota(struct auth_db *db, const char *address, uint64_t bytes,
			   const char **error_r);

/* Aliases: source is "local@domain" or "@domain" (catch-all); targets are
 * local or remote addresses. */
int auth_db_alias_add(struct auth_db *db, const char *source, const struct strv *targets,
		      const char **error_r);
/* target NULL removes every target of source. */
int auth_db_alias_del(struct auth_db *db, const char *source, const char *target,
		      const char **error_r);
/* Lines "source target1 target2 ...". */
int auth_db_alias_list(struct auth_db *db, struct strv *out);
int auth_db_alias_targets(struct auth_db *db, const char *source, struct strv *out);
/* Sources (aliases) that lead to address, for submission sender checks. */
int auth_db_aliases_of(struct auth_db *db, const char *address, struct strv *out);

#endif
