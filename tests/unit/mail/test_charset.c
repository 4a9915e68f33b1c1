/* test_charset.c — unit tests for mail_charset.c, mail_rfc2047.c,
 * mail_param.c (RFC 2231) and mail_fold.c: conversions and aliases,
 * invalid input, encoded words (split characters, unknown charsets),
 * encoding with folding, parameter continuations, Unicode case folding and
 * the streaming matcher fed one byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mail_charset.h"
#include "mail_fold.h"
#include "mail_param.h"
#include "mail_rfc2047.h"

static void test_charsets(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	const char *error;
	assert_int_equal(mail_charset_to_utf8("ISO-8859-1", "caf\xe9", 4, &b, &error), 0);
	assert_string_equal(b.data, "caf\xc3\xa9");
	buf_reset(&b);
	/* us-ascii with 8-bit is read as windows-1252 */
	assert_int_equal(mail_charset_to_utf8("us-ascii", "\x93q\x94", 3, &b, &error), 0);
	assert_string_equal(b.data, "\xe2\x80\x9cq\xe2\x80\x9d");
	buf_reset(&b);
	assert_int_equal(mail_charset_to_utf8("koi8-r", "\xf0\xd2\xc9", 3, &b, &error), 0);
	assert_string_equal(b.data, "\xd0\x9f\xd1\x80\xd0\xb8");
	buf_reset(&b);
	assert_int_equal(mail_charset_to_utf8("iso-2022-jp", "\x1b$B$3\x1b(B", 8, &b, &error), 0);
	assert_string_equal(b.data, "\xe3\x81\x93");
	buf_reset(&b);
	/* invalid UTF-8 is replaced */
	assert_int_equal(mail_charset_to_utf8("UTF8", "a\xffz\xc3", 4, &b, &error), 0);
	assert_string_equal(b.data, "a\xef\xbf\xbdz\xef\xbf\xbd");
	buf_reset(&b);
	/* unknown charset: -1, text kept readable */
	assert_int_equal(mail_charset_to_utf8("x-no-such", "hi \xff", 4, &b, &error), -1);
	assert_string_equal(b.data, "hi \xef\xbf\xbd");
	buf_reset(&b);
	assert_int_equal(mail_charset_to_utf8("../../etc/passwd", "x", 1, &b, &error), -1);
	buf_reset(&b);
	assert_false(mail_charset_is_known("UTF-8//TRANSLIT"));
	assert_true(mail_charset_is_known("windows-1251"));
	assert_true(mail_charset_is_known("utf-8"));
	assert_true(mail_utf8_is_valid("\xe2\x82\xac", 3));
	assert_false(mail_utf8_is_valid("\xc0\x80", 2));	/* overlong */
	assert_false(mail_utf8_is_valid("\xed\xa0\x80", 3));	/* surrogate */

	/* streaming: a shift_jis text cut everywhere gives the same text */
	const char *sjis = "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd";
	struct buf whole = BUF_INIT;
	assert_int_equal(mail_charset_to_utf8("shift_jis", sjis, 10, &whole, &error), 0);
	for (size_t chunk = 1; chunk <= 3; chunk++) {
		struct mail_charset_conv *c;
		assert_int_equal(mail_charset_conv_new("Shift_JIS", &c, &error), 0);
		for (size_t i = 0; i < 10; i += chunk)
			mail_charset_conv_more(c, sjis + i, 10 - i < chunk ? 10 - i : chunk, &b);
		mail_charset_conv_finish(&c, &b);
		assert_string_equal(b.data, whole.data);
		buf_reset(&b);
	}
	/* UTF-8 pass-through also joins cut sequences */
	struct mail_charset_conv *c;
	assert_int_equal(mail_charset_conv_new("utf-8", &c, &error), 0);
	const char *euro = "\xe2\x82\xac!";
	for (size_t i = 0; i < 4; i++)
		mail_charset_conv_more(c, euro + i, 1, &b);
	mail_charset_conv_finish(&c, &b);
	assert_string_equal(b.data, euro);
	buf_free(&whole);
	buf_free(&b);
}

static void test_rfc2047_decode(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } v[] = {
		{ "=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard" },
		{ "=?utf-8?b?0JjQstCw0L0=?=", "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd" },
		/* whitespace between encoded words goes */
		{ "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab" },
		{ "=?ISO-8859-1?Q?a?=\r\n =?ISO-8859-2?Q?b?=", "ab" },
		/* but not between a word and text */
		{ "=?ISO-8859-1?Q?a?= b", "a b" },
		{ "x =?ISO-8859-1?Q?a_b?=", "x a b" },
		/* a UTF-8 character split over two words */
		{ "=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "caf\xc3\xa9" },
		{ "=?UTF-8*en?Q?lang?=", "lang" },
		/* unknown charset or broken words stay as written */
		{ "=?x-nope?q?a?=", "=?x-nope?q?a?=" },
		{ "=?utf-8?x?a?=", "=?utf-8?x?a?=" },
		{ "=?utf-8?q?no end", "=?utf-8?q?no end" },
		{ "=?utf-8?q?sp ace?=", "=?utf-8?q?sp ace?=" },
		/* raw 8-bit: UTF-8 kept, else windows-1252 */
		{ "Gr\xc3\xbc\xc3\x9f", "Gr\xc3\xbc\xc3\x9f" },
		{ "Gr\xfc\xdf", "Gr\xc3\xbc\xc3\x9f" },
		{ "plain\r\n folded", "plain folded" },
	};
	for (size_t i = 0; i < N_ELEMENTS(v); i++) {
		char *got = mail_rfc2047_decode_dup(v[i].in, strlen(v[i].in));
		if (strcmp(got, v[i].out) != 0)
			fail_msg("'%s': got '%s'", v[i].in, got);
		free(got);
	}
}

static void test_rfc2047_encode(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"plain ascii subject",
		("caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e"),
		("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80 "
		 "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80 "
		 "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80"),
		"looks like =?utf-8?q?an?= encoded word",
		("a very long subject line made only of ascii words that must be folded "
		 "somewhere before seventy-eight columns are reached in the header"),
		"\xe2\x82\xac",
	};
	for (size_t i = 0; i < N_ELEMENTS(texts); i++) {
		struct buf b = BUF_INIT;
		size_t line = strlen("Subject: ");
		mail_rfc2047_encode(&b, &line, texts[i]);
		/* 7-bit, lines within 76 (the first one counts the name) */
		size_t col = strlen("Subject: ");
		for (size_t k = 0; k < b.len; k++) {
			assert_true((unsigned char)b.data[k] < 0x80);
			if (b.data[k] == '\n')
				col = 0;
			else if (++col > 78)
				fail_msg("line too long in '%s'", b.data);
		}
		char *back = mail_rfc2047_decode_dup(b.data, b.len);
		if (strcmp(back, texts[i]) != 0)
			fail_msg("round trip '%s' -> '%s' -> '%s'", texts[i], b.data, back);
		free(back);
		buf_free(&b);
	}
	struct buf b = BUF_INIT;
	size_t line = 0;
	mail_rfc2047_encode_phrase(&b, &line, "Doe, John");
	assert_string_equal(b.data, "\"Doe, John\"");
	buf_reset(&b);
	line = 0;
	mail_rfc2047_encode_phrase(&b, &line, "J\xc3\xb6rg M\xc3\xbcller");
	char *back = mail_rfc2047_decode_dup(b.data, b.len);
	assert_string_equal(back, "J\xc3\xb6rg M\xc3\xbcller");
	free(back);
	buf_free(&b);
}

static void test_params(void **state)
{
	(void)state;
	const char *v = "attachment; filename*0*=iso-8859-1'fr'caf%E9;\r\n"
		" filename*1=\" au lait\"; filename*2*=%21.txt; size=12 (comment);"
		" x=\"q\\\"uote\"; bad; =junk; title*1=orphan";
	char *value;
	struct mail_params params;
	mail_param_parse_value(v, strlen(v), &value, &params);
	assert_string_equal(value, "attachment");
	assert_string_equal(mail_param_get(&params, "SIZE"), "12");
	assert_string_equal(mail_param_get(&params, "x"), "q\"uote");
	assert_string_equal(mail_param_get(&params, "filename"),
			    "iso-8859-1'fr'caf%E9 au lait%21.txt");
	assert_null(mail_param_get(&params, "title"));
	struct buf b = BUF_INIT;
	assert_true(mail_param_get_utf8(&params, "filename", &b));
	assert_string_equal(b.data, "caf\xc3\xa9 au lait!.txt");
	assert_false(mail_param_get_utf8(&params, "nope", &b));
	buf_free(&b);
	free(value);
	mail_params_free(&params);

	/* writing: long and non-ASCII values use RFC 2231 and read back */
	const char *names[] = { "simple.txt", "with space.txt",
		"r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac.pdf",
		("a very long file name that needs several continuation sections "
		 "because it is much too long for one line \xc3\xa9.txt") };
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		struct buf w = BUF_INIT, r = BUF_INIT;
		size_t line = strlen("Content-Disposition: attachment");
		buf_append_str(&w, "attachment");
		mail_param_write(&w, &line, "filename", names[i]);
		mail_param_parse_value(w.data, w.len, &value, &params);
		assert_true(mail_param_get_utf8(&params, "filename", &r));
		if (strcmp(r.data, names[i]) != 0)
			fail_msg("wrote '%s' read '%s'", w.data, r.data);
		free(value);
		mail_params_free(&params);
		buf_free(&w);
		buf_free(&r);
	}
}

static void test_fold(void **state)
{
	(void)state;
	size_t n;
	const char *s1 = "Stra\xc3\x9f" "e \xc3\x89T\xc3\x89";
	const char *s2 = "STRASSE e\xcc\x81t\xc3\xa9";
	char *f = mail_fold_dup(s1, strlen(s1), &n);
	char *g = mail_fold_dup(s2, strlen(s2), NULL);
	/* ß folds to ss, É and E + combining acute normalize alike */
	assert_string_equal(f, g);
	free(f);
	free(g);
	const char *s3 = "Hello W\xc3\x96RLD \xef\xbc\xa1";	/* fullwidth A */
	const char *s4 = "w\xc3\xb6rld a";
	f = mail_fold_dup(s3, strlen(s3), &n);
	char *needle = mail_fold_dup(s4, strlen(s4), NULL);
	assert_true(mail_fold_contains(f, n, needle, strlen(needle)));
	assert_false(mail_fold_contains(f, n, "xyz", 3));
	free(f);
	free(needle);

	const char *text = "The quick brown FOX jumps over the lazy dog; "
		"caf\xc3\x89 au lait, \xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1!";
	static const struct { const char *needle; bool found; } v[] = {
		{ "fox JUMPS", true }, { "caf\xc3\xa9 AU", true },
		{ "\xcf\x83\xce\xbf\xcf\x86\xce\xaf\xce\xb1", true },
		{ "lazy cat", false }, { "", true }, { "dog; caf", true },
	};
	for (size_t i = 0; i < N_ELEMENTS(v); i++) {
		for (size_t chunk = 1; chunk <= 5; chunk += 4) {
			struct mail_fold_matcher *m = mail_fold_matcher_new(v[i].needle);
			for (size_t k = 0; k < strlen(text); k += chunk) {
				size_t c = strlen(text) - k < chunk ? strlen(text) - k : chunk;
				mail_fold_matcher_more(m, text + k, c);
			}
			if (mail_fold_matcher_finish(m) != v[i].found)
				fail_msg("needle '%s' chunk %zu", v[i].needle, chunk);
			mail_fold_matcher_reset(m);
			assert_int_equal(mail_fold_matcher_finish(m), v[i].needle[0] == '\0');
			mail_fold_matcher_free(&m);
		}
	}
	/* a long run without whitespace stays bounded and still matches */
	struct mail_fold_matcher *m = mail_fold_matcher_new("NEEDLE");
	struct buf big = BUF_INIT;
	for (int i = 0; i < 200000; i++)
		buf_append_char(&big, 'x');
	buf_append_str(&big, "needle");
	for (size_t k = 0; k < big.len; k += 4096)
		mail_fold_matcher_more(m, big.data + k, big.len - k < 4096 ? big.len - k : 4096);
	assert_true(mail_fold_matcher_finish(m));
	mail_fold_matcher_free(&m);
	buf_free(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_rfc2047_decode),
		cmocka_unit_test(test_rfc2047_encode),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_fold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
