/* test_auth_passwd.c — unit tests for auth_passwd.c: every scheme we
 * hash with, hashes made by Dovecot's `doveadm pw` and by mkpasswd(1)
 * (imports), and the password database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "auth_passwd.h"
#include "cfg.h"
#include "fsutil.h"

/* All made for this password (a space and a non-ASCII letter). */
#define PW "test pass \xc3\xbc"

static const char *const foreign_hashes[] = {
	/* doveadm pw -s SCHEME -p 'test pass ü' (Dovecot 2.3) */
	"{SHA512-CRYPT}$6$JOEHmprYB1/3LUZ/$UC221rKn88Zv6zhXTXe0maEV1bn9xWFauPX3qZbUd0x28fqJdLa7bmvmHZS0V3gAN2yj/.YzL7eQwVH66Gzy31",
	"{SHA256-CRYPT}$5$Obu6Qz5U.ILy4Y6Z$8J/7VOADszaaJzXwRFovFdXwOaYs0qfP0iw1SNZPQi6",
	"{BLF-CRYPT}$2y$05$TvJmVLIKb1wIpqC/jX4GVe8VZaZiT48txTVGRrmdRGsxAex7LiL5S",
	"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$7YruecWK7rS24rPTopElDQ$3cUw8mt/EHhS6O9VjfmVoSz6HfzffK+aLaAFzhjER8w",
	"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$chkqoV+qXtT8T660wZYzQw$zhIuBZMGwAm4hhaM4os0o0jSjqO29cUgDk8yqEslCyA",
	"{SCRAM-SHA-256}4096,U2wCK8pQ6VVk6uO5yE1cEw==,qI4MojhUqB3Sqkaeizyw4M9v+ooxnzM8yL94B+HREFU=,Esbl1LyYv1ogk4nO21tPacbJx3Nt6vqOXfu3uGueQRo=",
	"{CRYPT}$2y$05$3BuE9roGz7FrHT3q0TTT4.CBlQalSCvRVEyttx2BqYM3A12FcsI8O",
	/* echo -n 'test pass ü' | mkpasswd -s -m METHOD */
	"$y$j9T$NSVHqzq9Wt73c/D8OiSmY.$xcsqqiksHpp7fu0UeH4GJ070ZWSGWrB12flzXltN9k9",
	"$6$iNGMomhKe5uqBNoY$TNgieJpelFue/TkTSXIHYQQKMkGUGrLV.eoNk3AKPEmbjY03MmgkpCXRMuC0Ia0bkP.zjlOgmZfb6gzlO68ir.",
	"$2b$05$HGDJO4FkcOTbeESKvs/QfuOeywDlKLBNjC9niEM4dx6YzKacjwuzW",
	"$2a$05$7Pxsr95xLViMdQ7Y1ziZTeP..3fAxiHjeEkvxZc9P7ZxaV0MFdfE2",
	"$gy$j9T$8MRmc5ctM4kecmQ.ClhCy0$Fe2/6eKqIBcaE2R3.xj/vKWU1/ELt1ix3iXOFkToFsB",
	"$7$CU..../....Y2ysKxE4IJ8cuP7dKH2Wa.$BJt0ipzsIZJLaoazNv4EbMtjVIpY/VDUWR4MHzdxys/",
	NULL
};

static void test_foreign(void **state)
{
	(void)state;
	const char *error;
	for (int i = 0; foreign_hashes[i] != NULL; i++) {
		const char *h = foreign_hashes[i];
		if (!auth_passwd_verify_hash(h, PW))
			fail_msg("%s does not verify", h);
		if (auth_passwd_verify_hash(h, "test pass u"))
			fail_msg("%s verifies a wrong password", h);
		if (auth_passwd_verify_hash(h, ""))
			fail_msg("%s verifies an empty password", h);
		if (auth_passwd_check_hash(h, &error) < 0)
			fail_msg("%s refused for import: %s", h, error);
	}
	/* Lower-case scheme prefixes occur in hand-edited files. */
	assert_true(auth_passwd_verify_hash(
		"{blf-crypt}$2y$05$TvJmVLIKb1wIpqC/jX4GVe8VZaZiT48txTVGRrmdRGsxAex7LiL5S", PW));
}

static void test_refused(void **state)
{
	(void)state;
	const char *error;
	static const char *const bad[] = {
		"{MD5-CRYPT}$1$KgKIk3it$rXWhzwQ2Uv5jeYJun7THS/",	/* too weak */
		"$1$KgKIk3it$rXWhzwQ2Uv5jeYJun7THS/",
		"{CRYPT}abJnggxhB/yWI",				/* DES */
		"{PLAIN}test pass",
		"{SHA512}whatever",
		"plaintext",
		"",
		"$6$JOEHmprYB1/3LUZ/",				/* no checksum */
		"$6$JOEHmprYB1/3LUZ/$UC221rKn88Zv6zhXTXe0",	/* truncated */
		"$argon2d$v=19$m=65536,t=3,p=1$7YruecWK7rS24rPTopElDQ$3cUw8mt/EHhS6O9VjfmVoSz6HfzffK+aLaAFzhjER8w",
		"{SCRAM-SHA-256}4096,U2wCK8pQ6VVk6uO5yE1cEw==,qI4Moj==,Esbl",
		"{SCRAM-SHA-256}0,U2wCK8pQ6VVk6uO5yE1cEw==,qI4MojhUqB3Sqkaeizyw4M9v+ooxnzM8yL94B+HREFU=,Esbl1LyYv1ogk4nO21tPacbJx3Nt6vqOXfu3uGueQRo=",
		NULL
	};
	for (int i = 0; bad[i] != NULL; i++) {
		if (auth_passwd_check_hash(bad[i], &error) == 0)
			fail_msg("%s accepted for import", bad[i]);
	}
	/* Unknown or broken hashes never match, not even an empty password. */
	assert_false(auth_passwd_verify_hash("{PLAIN}x", "x"));
	assert_false(auth_passwd_verify_hash("x", "x"));
	assert_false(auth_passwd_verify_hash("", ""));
	assert_false(auth_passwd_verify_hash("$6$abc", ""));
	assert_false(auth_passwd_verify_hash("*", ""));
	assert_false(auth_passwd_verify_hash("!", ""));
}

static void test_schemes(void **state)
{
	(void)state;
	static const struct {
		const char *scheme, *prefix;
	} schemes[] = {
		{ "yescrypt", "$y$" }, { "sha512-crypt", "$6$" }, { "bcrypt", "$2b$10$" },
		{ "argon2id", "$argon2id$" },
	};
	const char *error;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		char *h1, *h2;
		assert_int_equal(auth_passwd_hash(schemes[i].scheme, PW, &h1, &error), 0);
		assert_int_equal(auth_passwd_hash(schemes[i].scheme, PW, &h2, &error), 0);
		if (strncmp(h1, schemes[i].prefix, strlen(schemes[i].prefix)) != 0)
			fail_msg("%s made %s", schemes[i].scheme, h1);
		assert_string_not_equal(h1, h2);	/* salted */
		assert_true(auth_passwd_verify_hash(h1, PW));
		assert_false(auth_passwd_verify_hash(h1, "test pass "));
		assert_int_equal(auth_passwd_check_hash(h1, &error), 0);
		free(h1);
		free(h2);
	}
	char *h;
	assert_int_equal(auth_passwd_hash("md5", PW, &h, &error), -1);
	char big[AUTH_PASSWORD_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(auth_passwd_hash("sha512-crypt", big, &h, &error), -1);
}

static void test_database(void **state)
{
	(void)state;
	char dir[] = "/tmp/correu-test-passwd-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct config *cfg = cfg_new();
	free(cfg->data_dir);
	cfg->data_dir = x_asprintf("%s/data", dir);
	free(cfg->password_scheme);
	cfg->password_scheme = x_strdup("sha512-crypt");
	const char *error;

	assert_null(auth_passwd_open(cfg, false, &error));
	struct auth_passwd *pw = auth_passwd_open(cfg, true, &error);
	assert_non_null(pw);
	/* Only the owner may read hashes. */
	struct stat st;
	char *p = x_asprintf("%s/data/auth", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	p = x_asprintf("%s/data/auth/passwd.db", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(p);

	char *hash, *scram;
	assert_int_equal(auth_passwd_get(pw, "alice@example.test", &hash, &scram), 0);
	assert_int_equal(auth_passwd_set(pw, "Alice@Example.Test", PW, &error), 0);
	assert_int_equal(auth_passwd_get(pw, "alice@example.test", &hash, &scram), 1);
	assert_true(strncmp(hash, "$6$", 3) == 0);
	assert_true(auth_passwd_verify_hash(hash, PW));
	/* SCRAM keys are stored with the hash, and match the password. */
	assert_non_null(scram);
	assert_true(strncmp(scram, "SCRAM-SHA-256$10000:", 20) == 0);
	struct auth_scram_keys keys;
	assert_int_equal(auth_scram_parse(scram, &keys), 0);
	assert_true(auth_scram_verify_password(&keys, PW));
	assert_false(auth_scram_verify_password(&keys, "wrong"));
	free(hash);
	free(scram);

	/* Imports: a crypt hash has no SCRAM keys until learnt... */
	assert_int_equal(auth_passwd_set_hash(pw, "bob@example.test", foreign_hashes[0], &error), 0);
	assert_int_equal(auth_passwd_get(pw, "bob@example.test", &hash, &scram), 1);
	assert_string_equal(hash, foreign_hashes[0]);
	assert_null(scram);
	free(hash);
	assert_int_equal(auth_passwd_set_scram(pw, "bob@example.test", &keys, &error), 0);
	assert_int_equal(auth_passwd_get(pw, "bob@example.test", &hash, &scram), 1);
	assert_non_null(scram);
	free(hash);
	free(scram);
	/* ...a Dovecot SCRAM hash brings its keys. */
	assert_int_equal(auth_passwd_set_hash(pw, "carol@example.test", foreign_hashes[5], &error), 0);
	assert_int_equal(auth_passwd_get(pw, "carol@example.test", &hash, &scram), 1);
	assert_int_equal(auth_scram_parse(scram, &keys), 0);
	assert_int_equal(keys.iterations, 4096);
	assert_true(auth_scram_verify_password(&keys, PW));
	free(hash);
	free(scram);
	assert_int_equal(auth_passwd_set_hash(pw, "dave@example.test", "{PLAIN}x", &error), -1);
	assert_int_equal(auth_passwd_set(pw, "not an address", PW, &error), -1);

	/* The secret for fake SCRAM salts is stable across handles. */
	unsigned char s1[32], s2[32];
	assert_int_equal(auth_passwd_secret(pw, s1), 0);
	struct auth_passwd *pw2 = auth_passwd_open(cfg, false, &error);
	assert_non_null(pw2);
	assert_int_equal(auth_passwd_secret(pw2, s2), 0);
	assert_memory_equal(s1, s2, 32);
	auth_passwd_close(&pw2);

	assert_int_equal(auth_passwd_del(pw, "ALICE@example.test", &error), 0);
	assert_int_equal(auth_passwd_del(pw, "alice@example.test", &error), -1);
	assert_int_equal(auth_passwd_get(pw, "alice@example.test", &hash, &scram), 0);
	auth_passwd_close(&pw);
	cfg_free(&cfg);
	remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_schemes),
		cmocka_unit_test(test_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
