/* test_auth_scram.c — unit tests for auth_scram.c: PBKDF2-HMAC-SHA256
 * vectors (RFC 7914 section 11), the RFC 7677 SCRAM-SHA-256 example at the
 * key level, SASLprep, and the storage formats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth_base64.h"
#include "auth_scram.h"
#include "buf.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void b64(const char *in, struct buf *out)
{
	buf_reset(out);
	assert_int_equal(auth_base64_decode(in, strlen(in), out), 0);
}

static void test_pbkdf2(void **state)
{
	(void)state;
	unsigned char out[32];
	char h[65];
	auth_pbkdf2_sha256("passwd", 6, "salt", 4, 1, out);
	hex(out, 32, h);
	assert_string_equal(h, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
	auth_pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, out);
	hex(out, 32, h);
	assert_string_equal(h, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
	auth_pbkdf2_sha256("password", 8, "salt", 4, 4096, out);
	hex(out, 32, h);
	assert_string_equal(h, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}

/* RFC 7677 section 3: user "user", password "pencil". */
static void test_rfc7677_keys(void **state)
{
	(void)state;
	struct buf salt = BUF_INIT, proof = BUF_INIT, sig = BUF_INIT;
	b64("W22ZaJ0SNY7soEsUEjb6gQ==", &salt);
	struct auth_scram_keys keys;
	auth_scram_derive("pencil", salt.data, salt.len, 4096, &keys);
	const char *auth_message =
		"n=user,r=rOprNGfwEbeRWgbNEkqO,"
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	unsigned char client_sig[32], client_key[32], stored[32], server_sig[32];
	b64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", &proof);
	assert_int_equal(proof.len, 32);
	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) = StoredKey */
	auth_hmac_sha256(keys.stored_key, 32, auth_message, strlen(auth_message), client_sig);
	for (int i = 0; i < 32; i++)
		client_key[i] = (unsigned char)proof.data[i] ^ client_sig[i];
	auth_sha256(client_key, 32, stored);
	assert_memory_equal(stored, keys.stored_key, 32);
	auth_hmac_sha256(keys.server_key, 32, auth_message, strlen(auth_message), server_sig);
	b64("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", &sig);
	assert_memory_equal(server_sig, sig.data, 32);
	assert_true(auth_scram_verify_password(&keys, "pencil"));
	assert_false(auth_scram_verify_password(&keys, "Pencil"));
	buf_free(&salt);
	buf_free(&proof);
	buf_free(&sig);
}

static void test_saslprep(void **state)
{
	(void)state;
	char *out;
	assert_int_equal(auth_saslprep("I\xc2\xadX", &out), 0);	/* soft hyphen: nothing */
	assert_string_equal(out, "IX");
	free(out);
	assert_int_equal(auth_saslprep("user", &out), 0);
	assert_string_equal(out, "user");
	free(out);
	assert_int_equal(auth_saslprep("\xc2\xaa", &out), 0);	/* NFKC: ª -> a */
	assert_string_equal(out, "a");
	free(out);
	assert_int_equal(auth_saslprep("\xe2\x85\xa8", &out), 0);	/* Roman nine -> IX */
	assert_string_equal(out, "IX");
	free(out);
	assert_int_equal(auth_saslprep("a\xc2\xa0" "b", &out), 0);	/* NBSP -> space */
	assert_string_equal(out, "a b");
	free(out);
	assert_int_equal(auth_saslprep("\x07", &out), -1);		/* control */
	assert_int_equal(auth_saslprep("a\tb", &out), -1);
	assert_int_equal(auth_saslprep("\xee\x80\x80", &out), -1);	/* private use */
	assert_int_equal(auth_saslprep("\xef\xbf\xbe", &out), -1);	/* non-character */
	assert_int_equal(auth_saslprep("\xff", &out), -1);		/* not UTF-8 */
	/* A password SASLprep refuses is used as raw bytes. */
	struct auth_scram_keys k1, k2;
	auth_scram_derive("a\tb", "salt", 4, 10, &k1);
	auth_scram_derive("a\tb", "salt", 4, 10, &k2);
	assert_memory_equal(k1.stored_key, k2.stored_key, 32);
	/* Equivalent spellings give the same keys. */
	auth_scram_derive("\xe2\x85\xa8", "salt", 4, 10, &k1);
	auth_scram_derive("IX", "salt", 4, 10, &k2);
	assert_memory_equal(k1.stored_key, k2.stored_key, 32);
}

static void test_formats(void **state)
{
	(void)state;
	struct auth_scram_keys k, parsed;
	auth_scram_generate("secret", &k);
	assert_int_equal(k.iterations, AUTH_SCRAM_ITERATIONS);
	assert_int_equal(k.salt_len, AUTH_SCRAM_SALT_LEN);
	char *s = auth_scram_format(&k);
	assert_true(strncmp(s, "SCRAM-SHA-256$10000:", 20) == 0);
	assert_int_equal(auth_scram_parse(s, &parsed), 0);
	assert_int_equal(parsed.iterations, k.iterations);
	assert_int_equal(parsed.salt_len, k.salt_len);
	assert_memory_equal(parsed.salt, k.salt, k.salt_len);
	assert_memory_equal(parsed.stored_key, k.stored_key, 32);
	assert_memory_equal(parsed.server_key, k.server_key, 32);
	free(s);
	/* RFC 5803's example layout and Dovecot's. */
	assert_int_equal(auth_scram_parse("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
					  "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
					  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", &parsed), 0);
	assert_int_equal(parsed.iterations, 4096);
	assert_int_equal(parsed.salt_len, 16);
	assert_int_equal(auth_scram_parse("{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
					  "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
					  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", &parsed), 0);
	static const char *const bad[] = {
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
		"SCRAM-SHA-256$:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$99999999:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:W22Z*J0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7Bke:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"",
		NULL
	};
	for (int i = 0; bad[i] != NULL; i++)
		if (auth_scram_parse(bad[i], &parsed) == 0)
			fail_msg("accepted: %s", bad[i]);
}

static void test_base64(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	auth_base64_encode("\0user\0pencil", 12, &b);
	assert_string_equal(b.data, "AHVzZXIAcGVuY2ls");
	buf_reset(&b);
	assert_int_equal(auth_base64_decode("AHVzZXIAcGVuY2ls", 16, &b), 0);
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, "\0user\0pencil", 12);
	buf_reset(&b);
	assert_int_equal(auth_base64_decode("", 0, &b), 0);
	assert_int_equal(b.len, 0);
	static const char *const bad[] = { "QQ", "QQ=", "QR==", "Q===", "QQ==QQ==", "QQ ==",
					   "Q Q=", "QQ==\n", "****", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		buf_reset(&b);
		if (auth_base64_decode(bad[i], strlen(bad[i]), &b) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(b.len, 0);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pbkdf2),
		cmocka_unit_test(test_rfc7677_keys),
		cmocka_unit_test(test_saslprep),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
