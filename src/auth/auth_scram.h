/* auth_scram.h — SCRAM-SHA-256 key material (RFC 5802, RFC 7677):
 * PBKDF2-HMAC-SHA256 on libsodium's HMAC, derivation of StoredKey and
 * ServerKey, SASLprep of passwords, and the RFC 5803 storage format
 * "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" (base64 fields).
 * Also reads Dovecot's "{SCRAM-SHA-256}<iter>,<salt>,<StoredKey>,<ServerKey>"
 * so hashes made by `doveadm pw -s SCRAM-SHA-256` can be imported. */
#ifndef CORREU_AUTH_SCRAM_H
#define CORREU_AUTH_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_SCRAM_KEY_LEN 32
#define AUTH_SCRAM_SALT_LEN 16		/* for new keys */
#define AUTH_SCRAM_SALT_MAX 64		/* accepted on import */
/* Iterations for new keys; RFC 7677 asks for at least 4096. */
#define AUTH_SCRAM_ITERATIONS 10000
/* Iterations accepted from storage; more would let one login burn CPU. */
#define AUTH_SCRAM_ITERATIONS_MAX 1000000

struct auth_scram_keys {
	unsigned iterations;
	size_t salt_len;
	unsigned char salt[AUTH_SCRAM_SALT_MAX];
	unsigned char stored_key[AUTH_SCRAM_KEY_LEN];
	unsigned char server_key[AUTH_SCRAM_KEY_LEN];
};

void auth_sha256(const void *data, size_t len, unsigned char out[AUTH_SCRAM_KEY_LEN]);
void auth_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		      unsigned char out[AUTH_SCRAM_KEY_LEN]);
/* PBKDF2 (RFC 8018) with HMAC-SHA256, one 32-byte block. */
void auth_pbkdf2_sha256(const void *password, size_t password_len, const void *salt,
			size_t salt_len, unsigned iterations, unsigned char out[AUTH_SCRAM_KEY_LEN]);

/* SASLprep (RFC 4013) as stored strings need it for SCRAM: maps
 * non-ASCII spaces to space and "mapped to nothing" characters away,
 * normalises to NFKC, refuses invalid UTF-8, controls, private use,
 * non-characters and other prohibited code points (-1). The bidi rule
 * is not checked. *out_r is allocated. */
int auth_saslprep(const char *in, char **out_r);

/* Derives keys from password (SASLprep'd when possible, raw bytes
 * otherwise) with the given salt and iterations. */
void auth_scram_derive(const char *password, const void *salt, size_t salt_len,
		       unsigned iterations, struct auth_scram_keys *keys_r);
/* Same with a fresh random salt and AUTH_SCRAM_ITERATIONS. */
void auth_scram_generate(const char *password, struct auth_scram_keys *keys_r);

/* RFC 5803 text of keys; caller frees. */
char *auth_scram_format(const struct auth_scram_keys *keys);
/* Parses RFC 5803 or Dovecot's {SCRAM-SHA-256} form; -1 if malformed or
 * out of range. */
int auth_scram_parse(const char *s, struct auth_scram_keys *keys_r);

/* Whether password matches keys (derives and compares StoredKey and
 * ServerKey in constant time). */
bool auth_scram_verify_password(const struct auth_scram_keys *keys, const char *password);

#endif
