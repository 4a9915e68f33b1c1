/* test_delivery_reply.c — the outbound client's SMTP reply parser and
 * EHLO capability reader; every case is also fed one byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "delivery_reply.h"

struct parsed {
	int n;			/* replies parsed */
	unsigned code[8];
	char enhanced[8][16];
	char text[8][512];
	size_t lines[8];
	const char *error;	/* first error, or NULL */
};

/* Feeds input in pieces of step bytes (0 = all at once), collecting
 * every complete reply, as a connection would. */
static void parse_all(const char *input, size_t len, size_t step, struct parsed *out)
{
	struct delivery_reply_parser p;
	delivery_reply_parser_init(&p);
	memset(out, 0, sizeof(*out));
	size_t pos = 0;
	/* The unconsumed tail, as conn's input buffer would keep it. */
	struct buf pending = BUF_INIT;
	while (pos < len || pending.len > 0) {
		size_t n = step == 0 ? len - pos : (len - pos < step ? len - pos : step);
		buf_append(&pending, input + pos, n);
		pos += n;
		bool progress = true;
		while (pending.len > 0 && progress) {
			size_t used = 0;
			const char *err = NULL;
			enum delivery_reply_status st = delivery_reply_parse(&p, pending.data,
									     pending.len, &used, &err);
			buf_consume(&pending, used);
			if (st == DELIVERY_REPLY_ERROR) {
				out->error = err;
				buf_free(&pending);
				delivery_reply_parser_free(&p);
				return;
			}
			if (st == DELIVERY_REPLY_DONE) {
				int i = out->n++;
				out->code[i] = p.reply.code;
				strcpy(out->enhanced[i], p.reply.enhanced);
				snprintf(out->text[i], sizeof(out->text[i]), "%s", buf_cstr(&p.reply.text));
				out->lines[i] = p.reply.n_lines;
			} else {
				progress = false;
			}
		}
		if (pos == len)
			break;
	}
	buf_free(&pending);
	delivery_reply_parser_free(&p);
}

/* Runs a case whole and byte by byte; both must agree. */
static void parse_both(const char *input, struct parsed *out)
{
	struct parsed bytewise;
	parse_all(input, strlen(input), 0, out);
	parse_all(input, strlen(input), 1, &bytewise);
	assert_int_equal(out->n, bytewise.n);
	assert_true((out->error == NULL) == (bytewise.error == NULL));
	for (int i = 0; i < out->n; i++) {
		assert_int_equal(out->code[i], bytewise.code[i]);
		assert_string_equal(out->enhanced[i], bytewise.enhanced[i]);
		assert_string_equal(out->text[i], bytewise.text[i]);
		assert_int_equal(out->lines[i], bytewise.lines[i]);
	}
}

static void test_single_line(void **state)
{
	(void)state;
	struct parsed r;
	parse_both("250 2.1.0 Ok\r\n", &r);
	assert_null(r.error);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.code[0], 250);
	assert_string_equal(r.enhanced[0], "2.1.0");
	assert_string_equal(r.text[0], "2.1.0 Ok");
	assert_int_equal(r.lines[0], 1);
}

static void test_multi_line_and_pipelined(void **state)
{
	(void)state;
	struct parsed r;
	parse_both("250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
		   "250 8BITMIME\r\n354 go ahead\r\n550 5.1.1 <x@y>: unknown\r\n", &r);
	assert_null(r.error);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.code[0], 250);
	assert_int_equal(r.lines[0], 4);
	assert_string_equal(r.text[0], "mx.example.org Hello\nPIPELINING\nSIZE 1000\n8BITMIME");
	assert_string_equal(r.enhanced[0], "");
	assert_int_equal(r.code[1], 354);
	assert_string_equal(r.enhanced[1], "");
	assert_int_equal(r.code[2], 550);
	assert_string_equal(r.enhanced[2], "5.1.1");
}

static void test_bare_code_and_lf(void **state)
{
	(void)state;
	struct parsed r;
	/* "250" alone and bare LF endings are accepted. */
	parse_both("250\n221 2.0.0 Bye\n", &r);
	assert_null(r.error);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.code[0], 250);
	assert_string_equal(r.text[0], "");
	assert_int_equal(r.code[1], 221);
}

static void test_incomplete_waits(void **state)
{
	(void)state;
	struct parsed r;
	parse_both("250-first\r\n250 sec", &r);
	assert_null(r.error);
	assert_int_equal(r.n, 0);
}

static void test_enhanced_code_rules(void **state)
{
	(void)state;
	struct parsed r;
	/* Class must match the reply; sizes 1-3 digits; then space or end. */
	parse_both("550 4.1.1 mismatch\r\n", &r);
	assert_string_equal(r.enhanced[0], "");
	parse_both("451 4.3.0\r\n", &r);
	assert_string_equal(r.enhanced[0], "4.3.0");
	parse_both("550 5.1234.1 too long\r\n", &r);
	assert_string_equal(r.enhanced[0], "");
	parse_both("550 5.1.1x junk\r\n", &r);
	assert_string_equal(r.enhanced[0], "");
	parse_both("250 2.100.999 ok\r\n", &r);
	assert_string_equal(r.enhanced[0], "2.100.999");
}

static void test_bad_codes(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"25 short\r\n",
		"abc nope\r\n",
		"150 preliminary\r\n",
		"650 out of range\r\n",
		"2500 four digits\r\n",
		"250_underscore\r\n",
		"250-first\r\n251 other code\r\n",
		"\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct parsed r;
		parse_both(bad[i], &r);
		assert_non_null(r.error);
		assert_int_equal(r.n, 0);
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct parsed r;
	/* An over-long line is an error even before its end arrives. */
	size_t n = DELIVERY_REPLY_LINE_MAX + 10;
	char *longline = malloc(n + 1);
	memcpy(longline, "250 ", 4);
	memset(longline + 4, 'x', n - 4);
	longline[n] = '\0';
	parse_both(longline, &r);
	assert_non_null(r.error);
	free(longline);

	/* Endless continuation lines end in an error, not in memory use. */
	struct buf b = BUF_INIT;
	for (int i = 0; i < DELIVERY_REPLY_LINES_MAX + 5; i++)
		buf_append_str(&b, "250-more\r\n");
	parse_both(buf_cstr(&b), &r);
	assert_non_null(r.error);
	assert_string_equal(r.error, "too many reply lines");
	buf_free(&b);

	/* Exactly at the line limit is fine. */
	for (int i = 0; i < DELIVERY_REPLY_LINES_MAX - 1; i++)
		buf_append_str(&b, "250-more\r\n");
	buf_append_str(&b, "250 end\r\n");
	parse_both(buf_cstr(&b), &r);
	assert_null(r.error);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.lines[0], DELIVERY_REPLY_LINES_MAX);
	buf_free(&b);
}

static void test_control_bytes_sanitized(void **state)
{
	(void)state;
	struct parsed r;
	const char input[] = "550 bad\x01text\x7f\r\n";
	parse_both(input, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.text[0], "bad?text?");
	/* A NUL inside a line is replaced too. */
	const char nul[] = "550 a\0b\r\n";
	parse_all(nul, sizeof(nul) - 1, 1, &r);
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.text[0], "a?b", 4);
}

static void test_summary(void **state)
{
	(void)state;
	struct delivery_reply_parser p;
	delivery_reply_parser_init(&p);
	size_t used;
	const char *err;
	const char *in = "550-5.1.1 first\r\n550 5.1.1 second\r\n";
	assert_int_equal(delivery_reply_parse(&p, in, strlen(in), &used, &err),
			 DELIVERY_REPLY_DONE);
	assert_int_equal(used, strlen(in));
	struct buf b = BUF_INIT;
	delivery_reply_summary(&p.reply, 1000, &b);
	assert_string_equal(buf_cstr(&b), "550 5.1.1 first 5.1.1 second");
	buf_reset(&b);
	delivery_reply_summary(&p.reply, 5, &b);
	assert_string_equal(buf_cstr(&b), "550 5.1.1...");
	buf_free(&b);
	delivery_reply_parser_free(&p);
}

static void test_caps(void **state)
{
	(void)state;
	struct delivery_reply_parser p;
	delivery_reply_parser_init(&p);
	size_t used;
	const char *err;
	const char *in = "250-mx.example.org greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
		"250-8BITMIME\r\n250-smtputf8\r\n250-STARTTLS\r\n250-CHUNKING\r\n"
		"250-DSN\r\n250-AUTH PLAIN LOGIN\r\n250-X-UNKNOWN thing\r\n"
		"250 ENHANCEDSTATUSCODES\r\n";
	assert_int_equal(delivery_reply_parse(&p, in, strlen(in), &used, &err),
			 DELIVERY_REPLY_DONE);
	struct delivery_caps c;
	delivery_caps_parse(&p.reply, &c);
	assert_true(c.pipelining);
	assert_true(c.size);
	assert_int_equal(c.size_max, 10240000);
	assert_true(c.eightbitmime);
	assert_true(c.smtputf8);
	assert_true(c.starttls);
	assert_true(c.chunking);
	assert_true(c.dsn);
	assert_true(c.enhancedstatuscodes);
	assert_false(c.binarymime);

	/* The greeting line never counts as a capability, and SIZE without
	 * a number means no announced limit. */
	in = "250-PIPELINING\r\n250 SIZE\r\n";
	assert_int_equal(delivery_reply_parse(&p, in, strlen(in), &used, &err),
			 DELIVERY_REPLY_DONE);
	delivery_caps_parse(&p.reply, &c);
	assert_false(c.pipelining);
	assert_true(c.size);
	assert_int_equal(c.size_max, 0);
	/* A keyword must match whole. */
	in = "250-x\r\n250 PIPELININGX\r\n";
	assert_int_equal(delivery_reply_parse(&p, in, strlen(in), &used, &err),
			 DELIVERY_REPLY_DONE);
	delivery_caps_parse(&p.reply, &c);
	assert_false(c.pipelining);
	delivery_reply_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_multi_line_and_pipelined),
		cmocka_unit_test(test_bare_code_and_lf),
		cmocka_unit_test(test_incomplete_waits),
		cmocka_unit_test(test_enhanced_code_rules),
		cmocka_unit_test(test_bad_codes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_control_bytes_sanitized),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
