/* test_sasl.c — unit tests for the SASL mechanisms (sasl*.c): PLAIN and
 * LOGIN message parsing, the RFC 7677 SCRAM-SHA-256 exchange, and
 * malformed or hostile messages at every step. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "auth_base64.h"
#include "sasl.h"

static enum sasl_status step(struct sasl *s, const char *in, size_t len, struct buf *ch)
{
	const char *error = NULL;
	buf_reset(ch);
	enum sasl_status st = sasl_step(s, in, len, ch, &error);
	if (st == SASL_FAIL)
		assert_non_null(error);
	return st;
}

static enum sasl_status step_str(struct sasl *s, const char *in, struct buf *ch)
{
	return step(s, in, strlen(in), ch);
}

static void test_mech_table(void **state)
{
	(void)state;
	assert_non_null(sasl_mech_find("plain"));
	assert_non_null(sasl_mech_find("LOGIN"));
	assert_non_null(sasl_mech_find("Scram-Sha-256"));
	assert_null(sasl_mech_find("SCRAM-SHA-256-PLUS"));
	assert_null(sasl_mech_find("CRAM-MD5"));
	assert_null(sasl_mech_find(""));
	assert_true(sasl_mech_plaintext(sasl_mech_find("PLAIN")));
	assert_false(sasl_mech_plaintext(sasl_mech_find("SCRAM-SHA-256")));
	assert_string_equal(sasl_mech_list(true), "SCRAM-SHA-256 PLAIN LOGIN");
	assert_string_equal(sasl_mech_list(false), "SCRAM-SHA-256");
}

static void test_plain(void **state)
{
	(void)state;
	struct buf ch = BUF_INIT;
	static const struct {
		const char *msg;
		size_t len;
		const char *user;	/* NULL: must fail */
		const char *password;
	} cases[] = {
		{ "\0alice@example.test\0secret", 26, "alice@example.test", "secret" },
		{ "alice@example.test\0alice@example.test\0pw", 40, "alice@example.test", "pw" },
		{ "ALICE@example.test\0alice@example.test\0pw", 40, "alice@example.test", "pw" },
		{ "\0u\0pass word\xff", 13, "u", "pass word\xff" },
		{ "bob@x\0alice@x\0pw", 16, NULL, NULL },	/* acting as someone else */
		{ "\0\0pw", 4, NULL, NULL },
		{ "\0u\0", 3, NULL, NULL },
		{ "\0u", 2, NULL, NULL },
		{ "u", 1, NULL, NULL },
		{ "", 0, NULL, NULL },
		{ "\0u\0p\0w", 6, NULL, NULL },		/* NUL in password */
		{ "\0\xff\xfe\0pw", 6, NULL, NULL },		/* user not UTF-8 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl *s = sasl_new(sasl_mech_find("PLAIN"));
		enum sasl_status st = step(s, cases[i].msg, cases[i].len, &ch);
		if (cases[i].user == NULL) {
			if (st != SASL_FAIL)
				fail_msg("case %zu accepted", i);
		} else {
			assert_int_equal(st, SASL_VERIFY);
			assert_string_equal(sasl_user(s), cases[i].user);
			assert_string_equal(sasl_password(s), cases[i].password);
			/* Nothing more once finished. */
			assert_int_equal(step_str(s, "x", &ch), SASL_FAIL);
		}
		sasl_free(&s);
	}
	/* Without an initial response: an empty challenge first. */
	struct sasl *s = sasl_new(sasl_mech_find("PLAIN"));
	assert_int_equal(step(s, NULL, 0, &ch), SASL_CHALLENGE);
	assert_int_equal(ch.len, 0);
	assert_int_equal(step(s, "\0u\0p", 4, &ch), SASL_VERIFY);
	sasl_free(&s);
	/* Over-long fields. */
	char big[2000];
	memset(big, 'a', sizeof(big));
	big[0] = '\0';
	big[300] = '\0';
	s = sasl_new(sasl_mech_find("PLAIN"));
	assert_int_equal(step(s, big, sizeof(big), &ch), SASL_FAIL);
	sasl_free(&s);
	buf_free(&ch);
}

static void test_login(void **state)
{
	(void)state;
	struct buf ch = BUF_INIT;
	struct sasl *s = sasl_new(sasl_mech_find("LOGIN"));
	assert_int_equal(step(s, NULL, 0, &ch), SASL_CHALLENGE);
	assert_string_equal(ch.data, "Username:");
	assert_int_equal(step_str(s, "alice@example.test", &ch), SASL_CHALLENGE);
	assert_string_equal(ch.data, "Password:");
	assert_int_equal(step_str(s, "secret", &ch), SASL_VERIFY);
	assert_string_equal(sasl_user(s), "alice@example.test");
	assert_string_equal(sasl_password(s), "secret");
	sasl_free(&s);

	/* Initial response = user name (SMTP "AUTH LOGIN dXNlcg=="). */
	s = sasl_new(sasl_mech_find("LOGIN"));
	assert_int_equal(step_str(s, "bob@x", &ch), SASL_CHALLENGE);
	assert_string_equal(ch.data, "Password:");
	assert_int_equal(step_str(s, "pw", &ch), SASL_VERIFY);
	sasl_free(&s);

	s = sasl_new(sasl_mech_find("LOGIN"));
	assert_int_equal(step(s, NULL, 0, &ch), SASL_CHALLENGE);
	assert_int_equal(step(s, "", 0, &ch), SASL_FAIL);
	sasl_free(&s);
	s = sasl_new(sasl_mech_find("LOGIN"));
	assert_int_equal(step(s, NULL, 0, &ch), SASL_CHALLENGE);
	assert_int_equal(step(s, "a\0b", 3, &ch), SASL_FAIL);
	sasl_free(&s);
	s = sasl_new(sasl_mech_find("LOGIN"));
	assert_int_equal(step_str(s, "u", &ch), SASL_CHALLENGE);
	assert_int_equal(step(s, "", 0, &ch), SASL_FAIL);
	sasl_free(&s);
	/* A missing response after the start is an error. */
	s = sasl_new(sasl_mech_find("LOGIN"));
	assert_int_equal(step(s, NULL, 0, &ch), SASL_CHALLENGE);
	assert_int_equal(step(s, NULL, 0, &ch), SASL_FAIL);
	sasl_free(&s);
	buf_free(&ch);
}

/* RFC 7677's keys for user "user", password "pencil". */
static void rfc7677_keys(struct auth_scram_keys *k)
{
	struct buf salt = BUF_INIT;
	assert_int_equal(auth_base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, &salt), 0);
	auth_scram_derive("pencil", salt.data, salt.len, 4096, k);
	buf_free(&salt);
}

#define SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define NONCE "rOprNGfwEbeRWgbNEkqO" SNONCE

static struct sasl *scram_to_final(struct buf *ch, const char *first, bool known)
{
	struct sasl *s = sasl_new(sasl_mech_find("SCRAM-SHA-256"));
	sasl_set_test_nonce(s, SNONCE);
	assert_int_equal(step_str(s, first, ch), SASL_LOOKUP);
	assert_string_equal(sasl_user(s), "user");
	struct auth_scram_keys k;
	rfc7677_keys(&k);
	const char *error;
	buf_reset(ch);
	assert_int_equal(sasl_set_keys(s, &k, known, ch, &error), SASL_CHALLENGE);
	assert_string_equal(ch->data, "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	return s;
}

static void test_scram_rfc7677(void **state)
{
	(void)state;
	struct buf ch = BUF_INIT;
	/* The whole exchange of RFC 7677 section 3. */
	struct sasl *s = scram_to_final(&ch, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", true);
	assert_int_equal(step_str(s, "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
				  &ch), SASL_CHALLENGE);
	assert_string_equal(ch.data, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	assert_int_equal(step(s, "", 0, &ch), SASL_OK);
	sasl_free(&s);

	/* The same proof for an unknown user (fake keys) fails. */
	s = scram_to_final(&ch, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", false);
	assert_int_equal(step_str(s, "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
				  &ch), SASL_FAIL);
	sasl_free(&s);

	/* Without an initial response: empty challenge first. */
	s = sasl_new(sasl_mech_find("SCRAM-SHA-256"));
	assert_int_equal(step(s, NULL, 0, &ch), SASL_CHALLENGE);
	assert_int_equal(ch.len, 0);
	assert_int_equal(step_str(s, "n,,n=user,r=abc", &ch), SASL_LOOKUP);
	sasl_free(&s);
	buf_free(&ch);
}

static void test_scram_bad_first(void **state)
{
	(void)state;
	struct buf ch = BUF_INIT;
	static const char *const bad[] = {
		"p=tls-unique,,n=user,r=abc",		/* channel binding */
		"x,,n=user,r=abc",
		"n,n=user,r=abc",
		"n,,m=ext,n=user,r=abc",		/* mandatory extension */
		"n,,n=,r=abc",
		"n,,n=us=er,r=abc",			/* bad saslname escape */
		"n,,n=us=2,r=abc",
		"n,,r=abc",
		"n,,n=user",
		"n,,n=user,r=",
		"n,,n=user,x=abc",
		"n,,n=user,r=a\x7f" "b",
		"n,a=other,n=user,r=abc",		/* another authzid */
		"n,a=,n=user,r=abc",
		"",
		NULL
	};
	for (int i = 0; bad[i] != NULL; i++) {
		struct sasl *s = sasl_new(sasl_mech_find("SCRAM-SHA-256"));
		if (step_str(s, bad[i], &ch) != SASL_FAIL && bad[i][0] != '\0')
			fail_msg("accepted: %s", bad[i]);
		sasl_free(&s);
	}
	/* Escaped names and a matching authzid are fine. */
	struct sasl *s = sasl_new(sasl_mech_find("SCRAM-SHA-256"));
	assert_int_equal(step_str(s, "y,a=a=2Cb=3D,n=a=2Cb=3D,r=abc,ext=1", &ch), SASL_LOOKUP);
	assert_string_equal(sasl_user(s), "a,b=");
	sasl_free(&s);
	/* A NUL inside a message. */
	s = sasl_new(sasl_mech_find("SCRAM-SHA-256"));
	assert_int_equal(step(s, "n,,n=u\0x,r=abc", 14, &ch), SASL_FAIL);
	sasl_free(&s);
	buf_free(&ch);
}

static void test_scram_bad_final(void **state)
{
	(void)state;
	struct buf ch = BUF_INIT;
	static const char *const bad[] = {
		/* wrong channel binding data: "y,," was not our header */
		"c=eSws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* nonce changed or cut */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=" NONCE "x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* proof: wrong, short, not base64, missing, not last */
		"c=biws,r=" NONCE ",p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgs",
		"c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		"c=biws,r=" NONCE,
		"c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1",
		"c=biws,r=" NONCE ",p=",
		NULL
	};
	for (int i = 0; bad[i] != NULL; i++) {
		struct sasl *s = scram_to_final(&ch, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", true);
		if (step_str(s, bad[i], &ch) != SASL_FAIL)
			fail_msg("accepted: %s", bad[i]);
		sasl_free(&s);
	}
	/* Data after the server signature. */
	struct sasl *s = scram_to_final(&ch, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", true);
	assert_int_equal(step_str(s, "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
				  &ch), SASL_CHALLENGE);
	assert_int_equal(step_str(s, "v=x", &ch), SASL_FAIL);
	sasl_free(&s);
	/* Keys when none are expected. */
	s = sasl_new(sasl_mech_find("PLAIN"));
	struct auth_scram_keys k;
	const char *error;
	rfc7677_keys(&k);
	assert_int_equal(sasl_set_keys(s, &k, true, &ch, &error), SASL_FAIL);
	sasl_free(&s);
	buf_free(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mech_table),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_scram_bad_first),
		cmocka_unit_test(test_scram_bad_final),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
