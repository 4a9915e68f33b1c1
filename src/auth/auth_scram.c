/* auth_scram.c — SCRAM-SHA-256 key material: PBKDF2, key derivation,
 * SASLprep and storage formats. Runs in the auth process and the CLI.
 * auth_scram_parse() reads stored (trusted) or imported text. */
#include "auth_scram.h"
#include "auth_base64.h"
#include "str.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>
#include <unistr.h>

void auth_sha256(const void *data, size_t len, unsigned char out[AUTH_SCRAM_KEY_LEN])
{
	crypto_hash_sha256(out, data, len);
}

void auth_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		      unsigned char out[AUTH_SCRAM_KEY_LEN])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void auth_pbkdf2_sha256(const void *password, size_t password_len, const void *salt,
			size_t salt_len, unsigned iterations, unsigned char out[AUTH_SCRAM_KEY_LEN])
{
	/* The keyed state is computed once and copied for each round. */
	crypto_auth_hmacsha256_state keyed, st;
	unsigned char u[AUTH_SCRAM_KEY_LEN];
	static const unsigned char block1[4] = { 0, 0, 0, 1 };

	crypto_auth_hmacsha256_init(&keyed, password, password_len);
	st = keyed;
	crypto_auth_hmacsha256_update(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, block1, sizeof(block1));
	crypto_auth_hmacsha256_final(&st, u);
	memcpy(out, u, sizeof(u));
	for (unsigned i = 1; i < iterations; i++) {
		st = keyed;
		crypto_auth_hmacsha256_update(&st, u, sizeof(u));
		crypto_auth_hmacsha256_final(&st, u);
		for (size_t j = 0; j < sizeof(u); j++)
			out[j] ^= u[j];
	}
	sodium_memzero(&keyed, sizeof(keyed));
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(u, sizeof(u));
}

/* ---- SASLprep (RFC 4013 with the RFC 3454 tables it names) ---- */

struct range {
	ucs4_t lo, hi;
};

/* B.1: commonly mapped to nothing. */
static const struct range map_nothing[] = {
	{ 0x00AD, 0x00AD }, { 0x034F, 0x034F }, { 0x1806, 0x1806 }, { 0x180B, 0x180D },
	{ 0x200B, 0x200D }, { 0x2060, 0x2060 }, { 0xFE00, 0xFE0F }, { 0xFEFF, 0xFEFF },
};
/* C.1.2: non-ASCII spaces, mapped to SPACE. */
static const struct range map_space[] = {
	{ 0x00A0, 0x00A0 }, { 0x1680, 0x1680 }, { 0x2000, 0x200A }, { 0x202F, 0x202F },
	{ 0x205F, 0x205F }, { 0x3000, 0x3000 },
};
/* C.2.1, C.2.2, C.3, C.5, C.6, C.7, C.8, C.9 (C.4 is checked apart). */
static const struct range prohibited[] = {
	{ 0x0000, 0x001F }, { 0x007F, 0x009F }, { 0x0340, 0x0341 }, { 0x06DD, 0x06DD },
	{ 0x070F, 0x070F }, { 0x180E, 0x180E }, { 0x200C, 0x200F }, { 0x2028, 0x202E },
	{ 0x2060, 0x2063 }, { 0x206A, 0x206F }, { 0x2FF0, 0x2FFB }, { 0xD800, 0xDFFF },
	{ 0xE000, 0xF8FF }, { 0xFDD0, 0xFDEF }, { 0xFEFF, 0xFEFF }, { 0xFFF9, 0xFFFD },
	{ 0x1D173, 0x1D17A }, { 0xE0001, 0xE0001 }, { 0xE0020, 0xE007F },
	{ 0xF0000, 0xFFFFD }, { 0x100000, 0x10FFFD },
};

static bool in_ranges(ucs4_t c, const struct range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c >= r[i].lo && c <= r[i].hi)
			return true;
	return false;
}

int auth_saslprep(const char *in, char **out_r)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t len = strlen(in);
	bool ascii = true;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 0x80)
			ascii = false;
		else if (s[i] < 0x20 || s[i] == 0x7F)
			return -1;
	}
	if (ascii) {
		*out_r = x_strdup(in);
		return 0;
	}
	if (u8_check(s, len) != NULL)
		return -1;
	/* Mapping step. */
	struct buf mapped = BUF_INIT;
	for (size_t i = 0; i < len;) {
		ucs4_t c;
		int n = u8_mbtouc(&c, s + i, len - i);
		if (in_ranges(c, map_space, N_ELEMENTS(map_space)))
			buf_append_char(&mapped, ' ');
		else if (!in_ranges(c, map_nothing, N_ELEMENTS(map_nothing)))
			buf_append(&mapped, s + i, (size_t)n);
		i += (size_t)n;
	}
	size_t norm_len = 0;
	uint8_t *norm = u8_normalize(UNINORM_NFKC, (const uint8_t *)mapped.data, mapped.len,
				     NULL, &norm_len);
	buf_free(&mapped);
	if (norm == NULL)
		return -1;
	for (size_t i = 0; i < norm_len;) {
		ucs4_t c;
		int n = u8_mbtouc(&c, norm + i, norm_len - i);
		if (in_ranges(c, prohibited, N_ELEMENTS(prohibited)) ||
		    (c & 0xFFFE) == 0xFFFE) {
			free(norm);
			return -1;
		}
		i += (size_t)n;
	}
	*out_r = x_strndup((const char *)norm, norm_len);
	free(norm);
	return 0;
}

/* ---- keys ---- */

void auth_scram_derive(const char *password, const void *salt, size_t salt_len,
		       unsigned iterations, struct auth_scram_keys *keys_r)
{
	unsigned char salted[AUTH_SCRAM_KEY_LEN], client_key[AUTH_SCRAM_KEY_LEN];
	char *prepped;
	if (auth_saslprep(password, &prepped) < 0)
		prepped = x_strdup(password);
	if (salt_len > AUTH_SCRAM_SALT_MAX)
		salt_len = AUTH_SCRAM_SALT_MAX;
	memset(keys_r, 0, sizeof(*keys_r));
	keys_r->iterations = iterations;
	keys_r->salt_len = salt_len;
	memcpy(keys_r->salt, salt, salt_len);
	auth_pbkdf2_sha256(prepped, strlen(prepped), salt, salt_len, iterations, salted);
	auth_hmac_sha256(salted, sizeof(salted), "Client Key", 10, client_key);
	auth_sha256(client_key, sizeof(client_key), keys_r->stored_key);
	auth_hmac_sha256(salted, sizeof(salted), "Server Key", 10, keys_r->server_key);
	sodium_memzero(salted, sizeof(salted));
	sodium_memzero(client_key, sizeof(client_key));
	sodium_memzero(prepped, strlen(prepped));
	free(prepped);
}

void auth_scram_generate(const char *password, struct auth_scram_keys *keys_r)
{
	unsigned char salt[AUTH_SCRAM_SALT_LEN];
	randombytes_buf(salt, sizeof(salt));
	auth_scram_derive(password, salt, sizeof(salt), AUTH_SCRAM_ITERATIONS, keys_r);
}

char *auth_scram_format(const struct auth_scram_keys *keys)
{
	struct buf b = BUF_INIT;
	buf_appendf(&b, "SCRAM-SHA-256$%u:", keys->iterations);
	auth_base64_encode(keys->salt, keys->salt_len, &b);
	buf_append_char(&b, '$');
	auth_base64_encode(keys->stored_key, sizeof(keys->stored_key), &b);
	buf_append_char(&b, ':');
	auth_base64_encode(keys->server_key, sizeof(keys->server_key), &b);
	return buf_steal(&b);
}

/* Decodes base64 s[0..len) into exactly want bytes (or 1..want when
 * at_most), returning the length or -1. */
static int decode_field(const char *s, size_t len, unsigned char *out, size_t want, bool at_most)
{
	struct buf b = BUF_INIT;
	int ret = -1;
	if (auth_base64_decode(s, len, &b) == 0 &&
	    (at_most ? b.len >= 1 && b.len <= want : b.len == want)) {
		memcpy(out, b.data, b.len);
		ret = (int)b.len;
	}
	buf_free(&b);
	return ret;
}

int auth_scram_parse(const char *s, struct auth_scram_keys *keys_r)
{
	/* Both forms have four fields: iterations, salt, StoredKey and
	 * ServerKey; only the separators differ. */
	const char *seps;
	if (str_has_prefix(s, "SCRAM-SHA-256$")) {
		s += strlen("SCRAM-SHA-256$");
		seps = ":$:";
	} else if (str_has_prefix_icase(s, "{SCRAM-SHA-256}")) {
		s += strlen("{SCRAM-SHA-256}");
		seps = ",,,";
	} else {
		return -1;
	}
	const char *field[4];
	size_t flen[4];
	const char *p = s;
	for (int i = 0; i < 4; i++) {
		const char *end = i < 3 ? strchr(p, seps[i]) : p + strlen(p);
		if (end == NULL)
			return -1;
		field[i] = p;
		flen[i] = (size_t)(end - p);
		p = end + 1;
	}
	memset(keys_r, 0, sizeof(*keys_r));
	char num[16];
	uint64_t iter;
	if (flen[0] == 0 || flen[0] >= sizeof(num))
		return -1;
	memcpy(num, field[0], flen[0]);
	num[flen[0]] = '\0';
	if (str_to_uint64(num, &iter) < 0 || iter < 1 || iter > AUTH_SCRAM_ITERATIONS_MAX)
		return -1;
	keys_r->iterations = (unsigned)iter;
	int n = decode_field(field[1], flen[1], keys_r->salt, AUTH_SCRAM_SALT_MAX, true);
	if (n < 0)
		return -1;
	keys_r->salt_len = (size_t)n;
	if (decode_field(field[2], flen[2], keys_r->stored_key, AUTH_SCRAM_KEY_LEN, false) < 0 ||
	    decode_field(field[3], flen[3], keys_r->server_key, AUTH_SCRAM_KEY_LEN, false) < 0)
		return -1;
	return 0;
}

bool auth_scram_verify_password(const struct auth_scram_keys *keys, const char *password)
{
	struct auth_scram_keys k;
	auth_scram_derive(password, keys->salt, keys->salt_len, keys->iterations, &k);
	bool ok = sodium_memcmp(k.stored_key, keys->stored_key, AUTH_SCRAM_KEY_LEN) == 0;
	ok = (sodium_memcmp(k.server_key, keys->server_key, AUTH_SCRAM_KEY_LEN) == 0) && ok;
	sodium_memzero(&k, sizeof(k));
	return ok;
}
