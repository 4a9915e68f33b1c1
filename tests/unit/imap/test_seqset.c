/* test_seqset.c — sequence sets and LIST patterns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "imap_match.h"
#include "imap_seqset.h"

static void test_parse(void **state)
{
	(void)state;
	struct imap_seqset s;
	assert_int_equal(imap_seqset_parse("1:5,7,9:*", 10, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[2].lo, 9);
	assert_int_equal(s.r[2].hi, IMAP_SEQ_STAR);
	imap_seqset_normalize(&s, 20);
	assert_true(imap_seqset_contains(&s, 1));
	assert_true(imap_seqset_contains(&s, 5));
	assert_false(imap_seqset_contains(&s, 6));
	assert_true(imap_seqset_contains(&s, 7));
	assert_false(imap_seqset_contains(&s, 8));
	assert_true(imap_seqset_contains(&s, 20));
	assert_false(imap_seqset_contains(&s, 21));
	assert_int_equal(imap_seqset_count(&s), 5 + 1 + 12);
	imap_seqset_free(&s);

	/* Reversed ranges, overlaps, '*' below the range. */
	assert_int_equal(imap_seqset_parse("9:3,4:12,*:100", 10, &s), 0);
	imap_seqset_normalize(&s, 50);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[0].lo, 3);
	assert_int_equal(s.r[0].hi, 12);
	assert_int_equal(s.r[1].lo, 50);
	assert_int_equal(s.r[1].hi, 100);
	imap_seqset_free(&s);

	/* '*' in an empty mailbox matches nothing. */
	assert_int_equal(imap_seqset_parse("*", 10, &s), 0);
	imap_seqset_normalize(&s, 0);
	assert_int_equal(s.n, 0);
	assert_false(imap_seqset_contains(&s, 1));
	imap_seqset_free(&s);

	static const char *const bad[] = {
		"", "0", "1:", ":1", "1,,2", "a", "1:2:3", "4294967296", "1 2", "-1", "01x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(imap_seqset_parse(bad[i], 10, &s), -1);
	assert_int_equal(imap_seqset_parse("4294967295", 10, &s), 0);
	imap_seqset_free(&s);
	assert_int_equal(imap_seqset_parse("1,2,3", 2, &s), -1);
}

static void test_write(void **state)
{
	(void)state;
	uint32_t v[] = { 1, 2, 3, 5, 7, 8, 100 };
	struct buf b = BUF_INIT;
	imap_seqset_write(&b, v, 7);
	assert_string_equal(buf_cstr(&b), "1:3,5,7:8,100");
	buf_reset(&b);
	imap_seqset_write(&b, v, 1);
	assert_string_equal(buf_cstr(&b), "1");
	buf_free(&b);
}

static void test_match(void **state)
{
	(void)state;
	assert_true(imap_match("*", "a.b.c", '.'));
	assert_true(imap_match("%", "INBOX", '.'));
	assert_false(imap_match("%", "a.b", '.'));
	assert_true(imap_match("a.%", "a.b", '.'));
	assert_false(imap_match("a.%", "a.b.c", '.'));
	assert_true(imap_match("a.*", "a.b.c", '.'));
	assert_true(imap_match("*b*", "a.b.c", '.'));
	assert_true(imap_match("%b%", "abc", '.'));
	assert_false(imap_match("%b%", "a.b", '.'));
	assert_true(imap_match("inbox", "INBOX", '.'));
	assert_true(imap_match("Inbox.%", "INBOX.sub", '.'));
	assert_false(imap_match("sent", "Sent", '.'));
	assert_true(imap_match("", "", '.'));
	assert_false(imap_match("", "a", '.'));
	assert_true(imap_match("**%%*", "x.y", '.'));
	/* Long pattern, long name: no blow-up. */
	char pat[401], name[201];
	memset(pat, '%', 400);
	pat[400] = '\0';
	memset(name, 'a', 200);
	name[200] = '\0';
	assert_true(imap_match(pat, name, '.'));
	pat[399] = 'b';
	assert_false(imap_match(pat, name, '.'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
