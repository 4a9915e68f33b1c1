/* test_parser.c — the IMAP command parser, each case fed whole and one
 * byte at a time; both must give the same events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "imap_parser.h"

static const struct imap_parser_limits limits = {
	.max_line = 200,
	.max_literal_mem = 100,
	.max_stream = 1000,
	.max_depth = 4,
	.max_args = 50,
};

static void dump_args(struct buf *out, const struct imap_arg *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			buf_appendf(out, "a:%s", a[i].str);
			break;
		case IMAP_ARG_STRING:
			buf_appendf(out, "s:%s", a[i].str);
			break;
		case IMAP_ARG_LITERAL:
			buf_appendf(out, "l%s%zu:%s", a[i].literal8 ? "8" : "", a[i].len, a[i].str);
			break;
		case IMAP_ARG_STREAM:
			buf_appendf(out, "S%zu", a[i].len);
			break;
		case IMAP_ARG_LIST:
			buf_append_char(out, '(');
			dump_args(out, a[i].list, a[i].len);
			buf_append_char(out, ')');
			break;
		}
	}
}

/* Runs input through a parser, in chunks of step bytes (0 = whole),
 * and returns the event trace. APPEND literals after the mailbox are
 * streamed, others kept; literals over limits are rejected. */
static char *run(const char *input, size_t len, size_t step)
{
	struct imap_parser *p = imap_parser_new(&limits);
	struct buf in = BUF_INIT, trace = BUF_INIT, data = BUF_INIT;
	size_t fed = 0;
	for (;;) {
		struct imap_parse_event ev;
		enum imap_parse_result r = imap_parser_parse(p, &in, &ev);
		if (r == IMAP_PARSE_MORE) {
			if (fed == len)
				break;
			size_t n = step == 0 || fed + step > len ? len - fed : step;
			buf_append(&in, input + fed, n);
			fed += n;
			continue;
		}
		switch (r) {
		case IMAP_PARSE_COMMAND:
			buf_appendf(&trace, "CMD %s %s [", ev.tag, ev.name);
			dump_args(&trace, ev.args, ev.n_args);
			buf_append_str(&trace, "]\n");
			imap_parser_reset(p);
			break;
		case IMAP_PARSE_LITERAL: {
			bool stream = strcmp(ev.name, "APPEND") == 0 && ev.literal_depth == 0 &&
				ev.literal_pos >= 1;
			buf_appendf(&trace, "LIT %llu%s%s d%u p%zu\n",
				    (unsigned long long)ev.literal_size, ev.literal_sync ? " sync" : "",
				    ev.literal8 ? " 8" : "", ev.literal_depth, ev.literal_pos);
			if (imap_parser_literal_accept(p, stream) < 0) {
				buf_appendf(&trace, "REJECT %s\n", ev.tag);
				imap_parser_literal_reject(p);
			}
			break;
		}
		case IMAP_PARSE_DATA:
			buf_append(&data, ev.data, ev.len);
			if (ev.last) {
				buf_appendf(&trace, "DATA %s\n", buf_cstr(&data));
				buf_reset(&data);
			}
			break;
		case IMAP_PARSE_ERROR:
			buf_appendf(&trace, "ERR %s %s%s\n", ev.tag != NULL ? ev.tag : "*", ev.error,
				    ev.fatal ? " fatal" : "");
			break;
		default:
			break;
		}
	}
	imap_parser_free(&p);
	buf_free(&in);
	buf_free(&data);
	return buf_steal(&trace);
}

static void check_len(const char *input, size_t len, const char *expect)
{
	char *whole = run(input, len, 0);
	assert_string_equal(whole, expect);
	char *bytes = run(input, len, 1);
	assert_string_equal(bytes, expect);
	char *sevens = run(input, len, 7);
	assert_string_equal(sevens, expect);
	free(whole);
	free(bytes);
	free(sevens);
}

static void check(const char *input, const char *expect)
{
	check_len(input, strlen(input), expect);
}

static void test_simple(void **state)
{
	(void)state;
	check("a1 NOOP\r\n", "CMD a1 NOOP []\n");
	check("a1 noop\n", "CMD a1 noop []\n");
	check("\r\n\r\nx CAPABILITY\r\n", "CMD x CAPABILITY []\n");
	check("a2 LOGIN \"us\\\"er\" \"\"\r\n", "CMD a2 LOGIN [s:us\"er s:]\n");
	check("A3 UID FETCH 1:*,7 (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n",
	      "CMD A3 UID [a:FETCH a:1:*,7 (a:FLAGS a:BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)]\n");
	check("a4 SEARCH (OR (FROM x) (TO y)) NOT DELETED\r\n",
	      "CMD a4 SEARCH [(a:OR (a:FROM a:x) (a:TO a:y)) a:NOT a:DELETED]\n");
	check("a5 LIST \"\" %\r\na6 LIST \"\" foo]\r\n",
	      "CMD a5 LIST [s: a:%]\nCMD a6 LIST [s: a:foo]]\n");
	check("a7 STORE 1 +FLAGS (\\Seen $Label1)\r\n",
	      "CMD a7 STORE [a:1 a:+FLAGS (a:\\Seen a:$Label1)]\n");
	check("a8 X ()\r\n", "CMD a8 X [()]\n");
	/* 8-bit UTF-8 in a quoted string (UTF8=ACCEPT). */
	check("a9 SELECT \"Entw\xc3\xbcrfe\"\r\n", "CMD a9 SELECT [s:Entw\xc3\xbcrfe]\n");
}

static void test_literals(void **state)
{
	(void)state;
	check("a1 LOGIN {4}\r\nuser {4+}\r\npass\r\n",
	      "LIT 4 sync d0 p0\nLIT 4 d0 p1\nCMD a1 LOGIN [l4:user l4:pass]\n");
	check("a2 SEARCH (SUBJECT {3}\r\nfoo FROM x)\r\n",
	      "LIT 3 sync d1 p1\nCMD a2 SEARCH [(a:SUBJECT l3:foo a:FROM a:x)]\n");
	check("a3 X {0}\r\n\r\n", "LIT 0 sync d0 p0\nCMD a3 X [l0:]\n");
	static const char lit8[] = "a4 X ~{3+}\r\na\0b\r\n";
	check_len(lit8, sizeof(lit8) - 1, "LIT 3 8 d0 p0\nCMD a4 X [l83:a]\n");
	/* APPEND streams its message literal. */
	check("a5 APPEND INBOX (\\Seen) {11}\r\nHello\r\nBody\r\n",
	      "LIT 11 sync d0 p2\nDATA Hello\r\nBody\nCMD a5 APPEND [a:INBOX (a:\\Seen) S11]\n");
	/* A literal bigger than the limits is rejected; a synchronizing one
	 * sends nothing more, a non-synchronizing one is skipped. */
	check("a6 X {500}\r\na7 NOOP\r\n", "LIT 500 sync d0 p0\nREJECT a6\nCMD a7 NOOP []\n");
	check("a8 X {101+}\r\n"
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	      "x more\r\na9 NOOP\r\n",
	      "LIT 101 d0 p0\nREJECT a8\nCMD a9 NOOP []\n");
	check("b1 APPEND INBOX {2000+}\r\nb2 NOOP\r\n", "LIT 2000 d0 p1\nREJECT b1\n");
}

static void test_errors(void **state)
{
	(void)state;
	check("+bad NOOP\r\na1 NOOP\r\n", "ERR * Invalid tag\nCMD a1 NOOP []\n");
	check("a1\r\n", "ERR a1 Missing command\n");
	check("a2 FOO (bar\r\na3 NOOP\r\n", "ERR a2 Missing ')'\nCMD a3 NOOP []\n");
	check("a4 FOO )\r\n", "ERR a4 Unexpected ')'\n");
	check("a5 FOO \"abc\r\n", "ERR a5 Missing '\"'\n");
	check("a6 FOO a\x01 b\r\n", "ERR a6 Invalid character in atom\n");
	/* An error line ending in a non-synchronizing literal skips it. */
	check("a7 FOO ) {3+}\r\nabc\r\na8 NOOP\r\n", "ERR a7 Unexpected ')'\nCMD a8 NOOP []\n");
	check("a9 F ((((( x)))))\r\nb1 NOOP\r\n", "ERR a9 Too deeply nested lists\nCMD b1 NOOP []\n");
	check("b2 F {3x}\r\n", "ERR b2 Invalid literal\n");
	check("b3 F x{3}y\r\n", "CMD b3 F [a:x{3}y]\n");
}

static void test_too_long(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_append_str(&b, "t1 NOOP ");
	for (int i = 0; i < 300; i++)
		buf_append_char(&b, 'x');
	buf_append_str(&b, "\r\nt2 NOOP\r\n");
	/* Whole: the line is seen complete; byte by byte: cut short at the
	 * limit. Both report the tag and continue with the next command. */
	char *whole = run(b.data, b.len, 0);
	assert_string_equal(whole, "ERR t1 Command line too long\nCMD t2 NOOP []\n");
	char *bytes = run(b.data, b.len, 1);
	assert_string_equal(bytes, "ERR t1 Command line too long\nCMD t2 NOOP []\n");
	free(whole);
	free(bytes);
	buf_reset(&b);
	buf_append_str(&b, "t3 X");
	for (int i = 0; i < 60; i++)
		buf_append_str(&b, " a");
	buf_append_str(&b, "\r\n");
	check(b.data, "ERR t3 Too many arguments\n");
	buf_free(&b);
}

static void test_read_line(void **state)
{
	(void)state;
	struct imap_parser *p = imap_parser_new(&limits);
	struct buf in = BUF_INIT;
	char *line = NULL;
	buf_append_str(&in, "DON");
	assert_int_equal(imap_parser_read_line(p, &in, 10, &line), 0);
	buf_append_str(&in, "E\r\nrest");
	assert_int_equal(imap_parser_read_line(p, &in, 10, &line), 1);
	assert_string_equal(line, "DONE");
	free(line);
	assert_string_equal(buf_cstr(&in), "rest");
	buf_reset(&in);
	buf_append_str(&in, "0123456789abcdef");
	assert_int_equal(imap_parser_read_line(p, &in, 10, &line), 0);
	buf_append_str(&in, "gh\r\nok\n");
	assert_int_equal(imap_parser_read_line(p, &in, 10, &line), -1);
	assert_int_equal(imap_parser_read_line(p, &in, 10, &line), 1);
	assert_string_equal(line, "ok");
	free(line);
	buf_free(&in);
	imap_parser_free(&p);
}

static void test_arg_helpers(void **state)
{
	(void)state;
	struct imap_arg atom = { .type = IMAP_ARG_ATOM, .str = (char *)"nil", .len = 3 };
	struct imap_arg str = { .type = IMAP_ARG_STRING, .str = (char *)"x", .len = 1 };
	struct imap_arg nul = { .type = IMAP_ARG_LITERAL, .str = (char *)"a\0b", .len = 3 };
	bool nil;
	assert_true(imap_arg_is_nil(&atom));
	assert_null(imap_arg_nstring(&atom, &nil));
	assert_true(nil);
	assert_string_equal(imap_arg_nstring(&str, &nil), "x");
	assert_false(nil);
	assert_null(imap_arg_astring(&nul));
	assert_null(imap_arg_string(&atom));
	assert_string_equal(imap_arg_astring(&atom), "nil");
	assert_true(imap_arg_atom_is(&atom, "NIL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_read_line),
		cmocka_unit_test(test_arg_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
