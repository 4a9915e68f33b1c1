/* test_auth_addr.c — unit tests for auth_addr.c (address validation and
 * normalisation). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "auth_addr.h"

static void expect(int (*fn)(const char *, char **, const char **), const char *in,
		   const char *want)
{
	char *out = NULL;
	const char *error = NULL;
	int ret = fn(in, &out, &error);
	if (want == NULL) {
		if (ret != -1)
			fail_msg("\"%s\" accepted as \"%s\"", in, out);
		assert_non_null(error);
	} else {
		if (ret != 0)
			fail_msg("\"%s\" refused: %s", in, error);
		assert_string_equal(out, want);
	}
	free(out);
}

static void test_domain(void **state)
{
	(void)state;
	expect(auth_addr_domain, "Example.TEST", "example.test");
	expect(auth_addr_domain, "a-b.c0.example", "a-b.c0.example");
	expect(auth_addr_domain, "localhost", "localhost");
	/* IDNA: U-labels become A-labels; upper-case U-labels too. */
	expect(auth_addr_domain, "bücher.example", "xn--bcher-kva.example");
	expect(auth_addr_domain, "BÜCHER.example", "xn--bcher-kva.example");
	expect(auth_addr_domain, "XN--BCHER-KVA.example", "xn--bcher-kva.example");
	expect(auth_addr_domain, "", NULL);
	expect(auth_addr_domain, ".example", NULL);
	expect(auth_addr_domain, "example.", NULL);
	expect(auth_addr_domain, "a..b", NULL);
	expect(auth_addr_domain, "-a.example", NULL);
	expect(auth_addr_domain, "a-.example", NULL);
	expect(auth_addr_domain, "a_b.example", NULL);
	expect(auth_addr_domain, "a b.example", NULL);
	expect(auth_addr_domain, "a/b", NULL);
	expect(auth_addr_domain, "1.2.3.4", NULL);
	expect(auth_addr_domain, "[1.2.3.4]", NULL);
	expect(auth_addr_domain, "xn--zz.example", NULL);
	expect(auth_addr_domain, "\xff\xfe.example", NULL);
	char label[70];
	memset(label, 'a', 63);
	strcpy(label + 63, ".x");
	expect(auth_addr_domain, label, label);
	memset(label, 'a', 64);
	strcpy(label + 64, ".x");
	expect(auth_addr_domain, label, NULL);
	char longd[320] = "";
	for (int i = 0; i < 60; i++)
		strcat(longd, "abcd.");
	strcat(longd, "x");
	expect(auth_addr_domain, longd, NULL);
}

static void test_account(void **state)
{
	(void)state;
	expect(auth_addr_account, "Alice@Example.Test", "alice@example.test");
	expect(auth_addr_account, "a.b-c_d+e=f@x.example", "a.b-c_d+e=f@x.example");
	expect(auth_addr_account, "jörg@example.test", NULL);
	expect(auth_addr_account, "user@bücher.example", "user@xn--bcher-kva.example");
	/* Names that would be unsafe as directories. */
	expect(auth_addr_account, "../x@example.test", NULL);
	expect(auth_addr_account, ".hidden@example.test", NULL);
	expect(auth_addr_account, "a..b@example.test", NULL);
	expect(auth_addr_account, "end.@example.test", NULL);
	expect(auth_addr_account, "a/b@example.test", NULL);
	expect(auth_addr_account, "a b@example.test", NULL);
	expect(auth_addr_account, "a\tb@example.test", NULL);
	expect(auth_addr_account, "\"q\"@example.test", NULL);
	expect(auth_addr_account, "@example.test", NULL);
	expect(auth_addr_account, "alice", NULL);
	expect(auth_addr_account, "alice@", NULL);
	expect(auth_addr_account, "a@b@example.test", NULL);
	char local[80];
	memset(local, 'a', 64);
	strcpy(local + 64, "@x.example");
	expect(auth_addr_account, local, local);
	memset(local, 'a', 65);
	strcpy(local + 65, "@x.example");
	expect(auth_addr_account, local, NULL);
}

static void test_alias(void **state)
{
	(void)state;
	expect(auth_addr_alias_source, "@Example.Test", "@example.test");
	expect(auth_addr_alias_source, "Info@Example.Test", "info@example.test");
	expect(auth_addr_alias_source, "@", NULL);
	expect(auth_addr_alias_source, "@@example.test", NULL);
	/* Targets keep the local part's case (remote servers may care). */
	expect(auth_addr_target, "John.Doe@Other.Example", "John.Doe@other.example");
	expect(auth_addr_target, "a!#$%&'*+-/=?^_`{|}~@x.example", "a!#$%&'*+-/=?^_`{|}~@x.example");
	expect(auth_addr_target, "a b@x.example", NULL);
	expect(auth_addr_target, "a,b@x.example", NULL);
	expect(auth_addr_target, "@x.example", NULL);
	expect(auth_addr_target, "x.example", NULL);

	char *key;
	assert_int_equal(auth_addr_lookup_key("Odd!Name@Example.TEST", &key), 0);
	assert_string_equal(key, "odd!name@example.test");
	free(key);
	assert_int_equal(auth_addr_lookup_key("noat", &key), -1);
	assert_int_equal(auth_addr_lookup_key("@example.test", &key), -1);
	assert_int_equal(auth_addr_lookup_key("x@bad_domain", &key), -1);
	assert_string_equal(auth_addr_domain_of("a@b@c.example"), "c.example");
	assert_null(auth_addr_domain_of("abc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_alias),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
