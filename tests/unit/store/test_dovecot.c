/* test_dovecot.c — Dovecot's dovecot-uidlist and subscriptions parsers.
 * Every case is parsed whole, then fed one byte at a time, and must
 * give the same result. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store_dovecot.h"

/* A uidlist parse summed up as text: header, then "name=uid" lookups. */
static char *uidlist_summary(const char *input, size_t len, size_t step,
			     const char *const *lookups)
{
	struct store_uidlist ul;
	store_uidlist_init(&ul);
	for (size_t i = 0; i < len; i += step)
		store_uidlist_feed(&ul, input + i, len - i < step ? len - i : step);
	struct buf b = BUF_INIT;
	if (!store_uidlist_finish(&ul)) {
		buf_append_str(&b, "bad");
	} else {
		buf_appendf(&b, "v%u V%u N%u G%s max%u n%zu skip%zu", ul.version, ul.uidvalidity,
			    ul.nextuid, ul.guid, ul.max_uid, ul.n_entries, ul.n_skipped);
		for (size_t i = 0; lookups != NULL && lookups[i] != NULL; i++)
			buf_appendf(&b, " %s=%u", lookups[i],
				    store_uidlist_lookup(&ul, lookups[i], strlen(lookups[i])));
	}
	store_uidlist_free(&ul);
	return buf_steal(&b);
}

static void check_uidlist(const char *input, const char *const *lookups, const char *expect)
{
	size_t len = strlen(input);
	char *whole = uidlist_summary(input, len, len > 0 ? len : 1, lookups);
	char *bytewise = uidlist_summary(input, len, 1, lookups);
	assert_string_equal(whole, expect);
	assert_string_equal(bytewise, expect);
	free(whole);
	free(bytewise);
}

static void test_uidlist_v3(void **state)
{
	(void)state;
	/* As Dovecot 2.3 wrote it (mail_save_crlf = no), plus an extension
	 * record of the kind it writes for files without W= in the name. */
	const char *in = "3 V1795846241 N3 G6981e00d5f700a6b1643000083ecc375\n"
			 "1 :1795846239.M241920P17174.vm,S=25,W=29\n"
			 "2 W2048 S2000 :1795846239.M244705P17174.vm\n";
	const char *const look[] = {
		"1795846239.M241920P17174.vm,S=25,W=29",
		"1795846239.M241920P17174.vm,S=29,W=29,U=1:2,Sab",	/* renamed since */
		"1795846239.M244705P17174.vm:2,",
		"1795846239.M244705P17174",
		"1795846239.M999999P17174.vm",
		NULL,
	};
	check_uidlist(in, look,
		      "v3 V1795846241 N3 G6981e00d5f700a6b1643000083ecc375 max2 n2 skip0 "
		      "1795846239.M241920P17174.vm,S=25,W=29=1 "
		      "1795846239.M241920P17174.vm,S=29,W=29,U=1:2,Sab=1 "
		      "1795846239.M244705P17174.vm:2,=2 1795846239.M244705P17174=0 "
		      "1795846239.M999999P17174.vm=0");
	/* CRLF line ends, an upper-case GUID, unknown header fields. */
	check_uidlist("3 V7 N9 GABCDEF0123456789ABCDEF0123456789 X1\r\n5 :a.host\r\n", NULL,
		      "v3 V7 N9 Gabcdef0123456789abcdef0123456789 max5 n1 skip0");
	/* A GUID that is not 32 hex digits is not used; the rest is. */
	check_uidlist("3 V7 N9 Gxyz\n", NULL, "v3 V7 N9 G max0 n0 skip0");
}

static void test_uidlist_v1(void **state)
{
	(void)state;
	const char *const look[] = { "abc.host", "def.host:2,S", "x", NULL };
	check_uidlist("1 12345 10\n3 abc.host\n5 def.host:2,S\n", look,
		      "v1 V12345 N10 G max5 n2 skip0 abc.host=3 def.host:2,S=5 x=0");
}

static void test_uidlist_bad_header(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "3", "x V1 N2\n1 :a\n", "2 V1 N2\n1 :a\n", "3 N5\n1 :a\n", "3 V5\n1 :a\n",
		"3 V0 N5\n", "3 V5 N0\n", "3 V4294967296 N5\n", "3 V-1 N5\n", "3 Vx N5\n",
		"1 5\n", "1 5 x\n", "3V5 N5\n",
		"3 V1 N2",	/* no LF: no whole line at all */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_uidlist(bad[i], NULL, "bad");
	/* An over-long first line is no header either. */
	struct buf b = BUF_INIT;
	buf_append_str(&b, "3 V1 N2 X");
	for (int i = 0; i < STORE_DOVECOT_LINE_MAX; i++)
		buf_append_char(&b, 'y');
	buf_append_str(&b, "\n1 :a\n");
	check_uidlist(b.data, NULL, "bad");
	buf_free(&b);
}

static void test_uidlist_bad_lines(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_append_str(&b, "3 V1 N2\n"
			   "0 :zero\n"			/* UID 0 */
			   "abc :letters\n"
			   "4294967295 :max\n"		/* not a UID */
			   "99999999999 :huge\n"
			   "7 S10 :\n"			/* no name */
			   "8 :a/b\n"			/* '/' */
			   "9 S1 x\n"			/* v3 without ':' */
			   "10 :.hidden\n"
			   "11\n"			/* nothing after the UID */
			   "12:glued\n"			/* no space after the UID */
			   " 13 :lead\n"
			   "\n"				/* empty: ignored */
			   "14 :,S=1\n"			/* empty unique part */
			   "15 :ok.host,S=1\n"
			   "16 :");
	for (int i = 0; i < STORE_DOVECOT_LINE_MAX; i++)
		buf_append_char(&b, 'y');
	buf_append_str(&b, "\n17  S5  W6   :spaced.host\n"
			   "4294967294 :top.host\n"
			   "20 :notlast");		/* no LF: ignored */
	const char *const look[] = { "ok.host", "spaced.host", "top.host", "notlast", "zero",
				     NULL };
	check_uidlist(b.data, look,
		      "v3 V1 N4294967295 G max4294967294 n3 skip13 ok.host=15 spaced.host=17 "
		      "top.host=4294967294 notlast=0 zero=0");
	buf_free(&b);
	/* NUL inside a line. */
	struct store_uidlist ul;
	store_uidlist_init(&ul);
	store_uidlist_feed(&ul, "3 V1 N2\n5 :a\0b\n6 :c\n", 21);
	assert_true(store_uidlist_finish(&ul));
	assert_int_equal(ul.n_entries, 1);
	assert_int_equal(ul.n_skipped, 1);
	assert_int_equal(store_uidlist_lookup(&ul, "c", 1), 6);
	store_uidlist_free(&ul);
}

static void test_uidlist_next_and_dups(void **state)
{
	(void)state;
	/* NEXTUID behind the records is raised; a name listed twice takes
	 * the later UID, as Dovecot does; UIDs out of order are kept. */
	const char *const look[] = { "a", "b", "c", NULL };
	check_uidlist("3 V9 N3\n4 :a\n2 :b\n6 :a\n5 :c\n", look,
		      "v3 V9 N7 G max6 n4 skip0 a=6 b=2 c=5");
	/* Many entries: the table grows. */
	struct buf in = BUF_INIT;
	buf_append_str(&in, "3 V1 N1\n");
	for (int i = 1; i <= 5000; i++)
		buf_appendf(&in, "%d :m%d.host,S=%d,W=%d\n", i, i, i, i + 1);
	struct store_uidlist ul;
	store_uidlist_init(&ul);
	store_uidlist_feed(&ul, in.data, in.len);
	assert_true(store_uidlist_finish(&ul));
	assert_int_equal(ul.nextuid, 5001);
	for (int i = 1; i <= 5000; i++) {
		char name[64];
		snprintf(name, sizeof(name), "m%d.host,S=%d,W=%d:2,S", i, i + 1, i + 1);
		assert_int_equal(store_uidlist_lookup(&ul, name, strlen(name)), i);
	}
	store_uidlist_free(&ul);
	buf_free(&in);
}

/* Subscriptions parsed into "name|name|..." plus the skip count. */
static char *subs_summary(const char *input, size_t len, size_t step)
{
	struct strv names;
	strv_init(&names);
	struct store_subs_parser p;
	store_subs_init(&p, &names);
	for (size_t i = 0; i < len; i += step)
		store_subs_feed(&p, input + i, len - i < step ? len - i : step);
	store_subs_finish(&p);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < names.n; i++)
		buf_appendf(&b, "%s|", names.v[i]);
	buf_appendf(&b, "skip%zu", p.n_skipped);
	strv_free(&names);
	return buf_steal(&b);
}

static void check_subs_len(const char *input, size_t len, const char *expect)
{
	char *whole = subs_summary(input, len, len > 0 ? len : 1);
	char *bytewise = subs_summary(input, len, 1);
	assert_string_equal(whole, expect);
	assert_string_equal(bytewise, expect);
	free(whole);
	free(bytewise);
}

static void check_subs(const char *input, const char *expect)
{
	check_subs_len(input, strlen(input), expect);
}

static void test_subs(void **state)
{
	(void)state;
	/* As Dovecot 2.3 wrote it: version 2, levels split by TAB, names in
	 * modified UTF-7. */
	check_subs("V\t2\n\nSent\nA\tB\n&AOk-t&AOk-\n", "Sent|A.B|\xc3\xa9t\xc3\xa9|skip0");
	/* Version 1: no header, the separator itself. */
	check_subs("Sent\nA.B\n&AOk-t&AOk-\n", "Sent|A.B|\xc3\xa9t\xc3\xa9|skip0");
	check_subs("", "skip0");
	check_subs("V\t2\n\n", "skip0");
	/* CRLF, empty lines, a last line without LF. */
	check_subs("V\t2\r\n\r\nSent\r\n\r\nDrafts", "Sent|Drafts|skip0");
	/* Escapes of version 2. */
	check_subs("V\t2\n\nx\001ty\na\001nb\001rc\001" "1d\n", "x\ty|a\nb\rc\001d|skip0");
	check_subs("V\t2\n\nbad\001\nbad\001z\nok\n", "ok|skip2");
	/* A level with the separator in it, or empty, or not text. */
	check_subs("V\t2\n\na.b\nA\t\tB\n\tA\nA\t\n\xff\nA&B\n", "A&B|skip5");
	/* "V<TAB>2" without the empty line: version 1 after all. */
	check_subs("V\t2\nSent\nA.B\n", "Sent|A.B|skip1");
	check_subs("Inbox\n\xc3\xa9t\xc3\xa9\n", "Inbox|\xc3\xa9t\xc3\xa9|skip0");
	/* NUL in a name. */
	check_subs_len("V\t2\n\na\0b\nc\n", 11, "c|skip1");
	check_subs_len("a\0b\nc\n", 6, "c|skip1");
	/* An over-long line is skipped, the next one is read. */
	struct buf b = BUF_INIT;
	buf_append_str(&b, "V\t2\n\n");
	for (int i = 0; i < STORE_DOVECOT_LINE_MAX + 5; i++)
		buf_append_char(&b, 'y');
	buf_append_str(&b, "\nSent\n");
	check_subs(b.data, "Sent|skip1");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uidlist_v3),
		cmocka_unit_test(test_uidlist_v1),
		cmocka_unit_test(test_uidlist_bad_header),
		cmocka_unit_test(test_uidlist_bad_lines),
		cmocka_unit_test(test_uidlist_next_and_dups),
		cmocka_unit_test(test_subs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
