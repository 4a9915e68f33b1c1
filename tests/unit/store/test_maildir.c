/* test_maildir.c — Maildir file names and modified UTF-7. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "store_maildir.h"
#include "store_mutf7.h"

static void test_name_parse(void **state)
{
	(void)state;
	struct store_maildir_name n;
	assert_true(store_maildir_name_parse("1700.M1P2Q3.host,S=1234,W=1260:2,FS", &n));
	assert_int_equal(n.base_len, strlen("1700.M1P2Q3.host,S=1234,W=1260"));
	assert_int_equal(n.unique_len, strlen("1700.M1P2Q3.host"));
	assert_true(n.has_size);
	assert_int_equal(n.size, 1234);
	assert_false(n.has_uid);
	assert_true(n.has_info);
	assert_int_equal(n.flags, STORE_FLAG_FLAGGED | STORE_FLAG_SEEN);

	assert_true(store_maildir_name_parse("a,U=42,S=10:2,DPRT", &n));
	assert_true(n.has_uid);
	assert_int_equal(n.uid, 42);
	assert_int_equal(n.size, 10);
	assert_int_equal(n.flags, STORE_FLAG_DRAFT | STORE_FLAG_FORWARDED |
			 STORE_FLAG_ANSWERED | STORE_FLAG_DELETED);

	assert_true(store_maildir_name_parse("plain", &n));
	assert_false(n.has_info);
	assert_int_equal(n.flags, 0);
	assert_int_equal(n.base_len, 5);

	/* Junk values are ignored, not trusted. */
	assert_true(store_maildir_name_parse("x,U=0,S=abc,U=99999999999:2,S", &n));
	assert_false(n.has_uid);
	assert_false(n.has_size);

	/* Lower-case letters are keywords, unknown others are ignored. */
	assert_true(store_maildir_name_parse("k:2,SbaX", &n));
	assert_int_equal(n.flags, STORE_FLAG_SEEN);
	assert_int_equal(n.keywords, 3);

	assert_false(store_maildir_name_parse(".hidden", &n));
	assert_false(store_maildir_name_parse("", &n));
	assert_false(store_maildir_name_parse(":2,S", &n));
}

static void test_name_build(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	store_maildir_name_build(&b, "base", 4, STORE_FLAG_SEEN | STORE_FLAG_DRAFT | STORE_FLAG_ANSWERED,
				 0);
	assert_string_equal(buf_cstr(&b), "base:2,DRS");
	buf_reset(&b);
	/* Keywords as Dovecot's letters after the flags; past z, none. */
	store_maildir_name_build(&b, "base", 4, STORE_FLAG_FLAGGED, 1 | 4 | (1ULL << 25) | (1ULL << 40));
	assert_string_equal(buf_cstr(&b), "base:2,Facz");
	struct store_maildir_name n;
	assert_true(store_maildir_name_parse(buf_cstr(&b), &n));
	assert_int_equal(n.flags, STORE_FLAG_FLAGGED);
	assert_int_equal(n.keywords, 1 | 4 | (1u << 25));
	buf_reset(&b);
	assert_true(store_maildir_name_parse("1.M2.h,S=5,U=3,W=6:2,S", &n));
	store_maildir_base_with_uid(&b, &n, 77);
	assert_string_equal(buf_cstr(&b), "1.M2.h,S=5,W=6,U=77");
	buf_reset(&b);
	assert_true(store_maildir_name_parse("1.M2.h", &n));
	store_maildir_base_with_uid(&b, &n, 1);
	assert_string_equal(buf_cstr(&b), "1.M2.h,U=1");
	buf_free(&b);

	char id1[26], id2[26];
	store_maildir_emailid("abc", 3, id1);
	store_maildir_emailid("abd", 3, id2);
	assert_int_equal(strlen(id1), 25);
	assert_int_equal(id1[0], 'M');
	assert_string_not_equal(id1, id2);
}

static void mutf7_roundtrip(const char *utf8, const char *mutf7)
{
	struct buf b = BUF_INIT;
	assert_int_equal(store_utf8_to_mutf7(utf8, strlen(utf8), &b), 0);
	assert_string_equal(buf_cstr(&b), mutf7);
	buf_reset(&b);
	assert_int_equal(store_mutf7_to_utf8(mutf7, strlen(mutf7), &b), 0);
	assert_string_equal(buf_cstr(&b), utf8);
	buf_free(&b);
}

static void test_mutf7(void **state)
{
	(void)state;
	mutf7_roundtrip("INBOX", "INBOX");
	mutf7_roundtrip("a&b", "a&-b");
	mutf7_roundtrip("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	/* RFC 3501 example: ~peter/mail/台北/日本語 */
	mutf7_roundtrip("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
			"~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	/* Outside the BMP: surrogate pairs. */
	mutf7_roundtrip("\xf0\x9f\x98\x80", "&2D3eAA-");
	/* A long run of non-ASCII. */
	struct buf u = BUF_INIT, m = BUF_INIT, back = BUF_INIT;
	for (int i = 0; i < 300; i++)
		buf_append_str(&u, "\xc3\xa9");
	assert_int_equal(store_utf8_to_mutf7(u.data, u.len, &m), 0);
	assert_int_equal(store_mutf7_to_utf8(m.data, m.len, &back), 0);
	assert_string_equal(back.data, u.data);
	buf_free(&u);
	buf_free(&m);
	buf_free(&back);

	struct buf b = BUF_INIT;
	static const char *const bad[] = {
		"&", "&AGE", "&AGE-&AGI-", "&AEE-" /* encoded 'A' */, "&2D0-" /* lone surrogate */,
		"\xc3\xa9" /* raw 8-bit */, "&A-", "&*-",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store_mutf7_to_utf8(bad[i], strlen(bad[i]), &b), -1);
		assert_int_equal(b.len, 0);
	}
	assert_int_equal(store_utf8_to_mutf7("\xff", 1, &b), -1);
	assert_false(store_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(store_utf8_valid("\xc0\x80", 2));		/* overlong */
	assert_true(store_utf8_valid("\xf4\x8f\xbf\xbf", 4));
	assert_false(store_utf8_valid("\xf4\x90\x80\x80", 4));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_name_build),
		cmocka_unit_test(test_mutf7),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
