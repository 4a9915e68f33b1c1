/* auth_passwd.h — password hashes and SCRAM keys in their own database,
 * data_dir/auth/passwd.db (directory 0700, file 0600), read only by the
 * auth process and the CLI: workers never see a hash (DESIGN.md,
 * Processes). Also the hashing and verification of every scheme:
 * yescrypt, sha512-crypt, bcrypt (libxcrypt), argon2id (libsodium),
 * SCRAM-SHA-256 keys, and Dovecot passwd-file hashes with a "{SCHEME}"
 * prefix (SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, CRYPT, ARGON2ID,
 * ARGON2I, SCRAM-SHA-256).
 *
 * Hashing and verifying are slow on purpose: event loops call them from
 * the thread pool. One handle per thread. */
#ifndef CORREU_AUTH_PASSWD_H
#define CORREU_AUTH_PASSWD_H

#include <stdbool.h>
#include "auth_scram.h"
#include "cfg.h"

/* Longest password accepted anywhere (bytes). */
#define AUTH_PASSWORD_MAX 1024

/* Hashes password with scheme ("yescrypt", "sha512-crypt", "bcrypt",
 * "argon2id"). *hash_r is allocated. */
int auth_passwd_hash(const char *scheme, const char *password, char **hash_r,
		     const char **error_r);
/* Whether password matches hash (any supported scheme or prefix). An
 * unknown or malformed hash never matches. */
bool auth_passwd_verify_hash(const char *hash, const char *password);
/* Checks that hash is one verify understands and strong enough to
 * import (DES and MD5 crypt are refused). */
int auth_passwd_check_hash(const char *hash, const char **error_r);

struct auth_passwd;

/* Opens data_dir/auth/passwd.db; with create, also makes the directory
 * (0700) and the file (0600) and, as root, gives them to cfg->user. New
 * passwords use cfg->password_scheme. */
struct auth_passwd *auth_passwd_open(const struct config *cfg, bool create,
				     const char **error_r);
void auth_passwd_close(struct auth_passwd **pw);

/* Stores a new hash of password and its SCRAM-SHA-256 keys. */
int auth_passwd_set(struct auth_passwd *pw, const char *address, const char *password,
		    const char **error_r);
/* Imports an existing hash (auth_passwd_check_hash); SCRAM keys are
 * kept only when the hash is itself a SCRAM-SHA-256 one, so SCRAM works
 * for other imported users after their next PLAIN/LOGIN. */
int auth_passwd_set_hash(struct auth_passwd *pw, const char *address, const char *hash,
			 const char **error_r);
/* Stores SCRAM keys for an existing entry (keys learnt at login). */
int auth_passwd_set_scram(struct auth_passwd *pw, const char *address,
			  const struct auth_scram_keys *keys, const char **error_r);
int auth_passwd_del(struct auth_passwd *pw, const char *address, const char **error_r);

/* Looks up address (canonical form). Returns 1 and allocated *hash_r
 * (and *scram_r, NULL when the entry has no SCRAM keys) if found, 0 if
 * not, -1 on error. */
int auth_passwd_get(struct auth_passwd *pw, const char *address, char **hash_r,
		    char **scram_r);

/* A random 32-byte secret kept in the database (made on first use):
 * derives stable fake SCRAM salts for unknown users. */
int auth_passwd_secret(struct auth_passwd *pw, unsigned char secret_r[32]);

#endif
