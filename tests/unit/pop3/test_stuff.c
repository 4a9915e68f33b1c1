/* test_stuff.c — unit tests for the POP3 response body layer:
 * dot-stuffing, CRLF line ends, TOP's header and line limit, each case
 * fed whole, split at every position and one byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pop3_stuff.h"

struct stuff_case {
	const char *name;
	const char *in;
	bool top;
	uint32_t lines;
	const char *out;	/* without the final ".\r\n" */
};

static const struct stuff_case cases[] = {
	{ "empty", "", false, 0, "" },
	{ "plain", "Subject: x\r\n\r\nbody\r\n", false, 0, "Subject: x\r\n\r\nbody\r\n" },
	{ "dots", ".\r\n..x\r\na.b\r\n.\r\n", false, 0, "..\r\n...x\r\na.b\r\n..\r\n" },
	{ "dot first byte", ".hidden\r\n", false, 0, "..hidden\r\n" },
	{ "end marker in body", "a\r\n.\r\nb\r\n", false, 0, "a\r\n..\r\nb\r\n" },
	{ "bare LF", "a\nb\n.c\n", false, 0, "a\r\nb\r\n..c\r\n" },
	{ "mixed", "a\r\nb\n\r\n.\n", false, 0, "a\r\nb\r\n\r\n..\r\n" },
	{ "no final line end", "a\r\nlast", false, 0, "a\r\nlast\r\n" },
	{ "final CR only", "a\r\nlast\r", false, 0, "a\r\nlast\r\n" },
	{ "bare CR kept", "a\rb\r\n\r.x\r\n", false, 0, "a\rb\r\n\r.x\r\n" },
	{ "8-bit", "S\xc3\xa9\r\n\r\n\xff\x80.\r\n", false, 0, "S\xc3\xa9\r\n\r\n\xff\x80.\r\n" },
	{ "top 0", "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n", true, 0, "A: 1\r\nB: 2\r\n\r\n" },
	{ "top 1", "A: 1\r\n\r\nl1\r\n.l2\r\nl3\r\n", true, 1, "A: 1\r\n\r\nl1\r\n" },
	{ "top 2 dots", "A: 1\r\n\r\nl1\r\n.l2\r\nl3\r\n", true, 2, "A: 1\r\n\r\nl1\r\n..l2\r\n" },
	{ "top more than body", "A: 1\r\n\r\nl1\r\n", true, 10, "A: 1\r\n\r\nl1\r\n" },
	{ "top no body", "A: 1\r\nB: 2\r\n", true, 0, "A: 1\r\nB: 2\r\n" },
	{ "top LF header end", "A: 1\n\nl1\nl2\n", true, 1, "A: 1\r\n\r\nl1\r\n" },
	{ "top empty body lines", "A: 1\r\n\r\n\r\n\r\nx\r\n", true, 2, "A: 1\r\n\r\n\r\n\r\n" },
	{ "top CR-only line is not empty", "A: 1\r\n\r\r\nB\r\n\r\nbody\r\n", true, 0,
	  "A: 1\r\n\r\r\nB\r\n\r\n" },
	{ "top empty message", "", true, 5, "" },
	{ "top starts with empty line", "\r\nbody\r\nmore\r\n", true, 1, "\r\nbody\r\n" },
};

/* Runs one case with the input cut into the given pieces (sizes). */
static char *run(const struct stuff_case *c, const size_t *pieces, size_t n_pieces)
{
	struct pop3_stuff st;
	struct buf out = BUF_INIT;
	size_t len = strlen(c->in), pos = 0;
	pop3_stuff_init(&st, c->top, c->lines);
	for (size_t i = 0; i < n_pieces && pos < len && !st.done; i++) {
		size_t n = pieces[i] < len - pos ? pieces[i] : len - pos;
		size_t used = pop3_stuff_feed(&st, c->in + pos, n, &out);
		assert_true(used <= n);
		if (used < n)
			assert_true(st.done);
		pos += n;
	}
	if (!st.done) {
		size_t used = pop3_stuff_feed(&st, c->in + pos, len - pos, &out);
		assert_true(used <= len - pos);
	}
	pop3_stuff_finish(&st, &out);
	/* Feeding after the end adds nothing. */
	size_t before = out.len;
	assert_int_equal(pop3_stuff_feed(&st, "x\r\n", 3, &out), 0);
	assert_int_equal(out.len, before);
	buf_append_char(&out, '\0');
	return buf_steal(&out);
}

static void expect(const struct stuff_case *c, char *got, const char *how)
{
	char *want = NULL;
	size_t want_len = strlen(c->out) + 3;
	want = malloc(want_len + 1);
	snprintf(want, want_len + 1, "%s.\r\n", c->out);
	if (strcmp(got, want) != 0)
		fail_msg("case \"%s\" (%s): got \"%s\"", c->name, how, got);
	free(want);
	free(got);
}

static void test_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t all = strlen(cases[i].in);
		expect(&cases[i], run(&cases[i], &all, 1), "whole");
	}
}

static void test_bytewise(void **state)
{
	(void)state;
	size_t ones[256];
	for (size_t i = 0; i < 256; i++)
		ones[i] = 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(strlen(cases[i].in) < 256);
		expect(&cases[i], run(&cases[i], ones, 256), "bytewise");
	}
}

static void test_every_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		for (size_t cut = 0; cut <= len; cut++) {
			size_t pieces[2] = { cut, len - cut };
			char how[32];
			snprintf(how, sizeof(how), "split at %zu", cut);
			expect(&cases[i], run(&cases[i], pieces, 2), how);
		}
	}
}

/* TOP's limit: feed reports how much it used, the rest is ignored. */
static void test_top_consumed(void **state)
{
	(void)state;
	struct pop3_stuff st;
	struct buf out = BUF_INIT;
	const char *msg = "H: v\r\n\r\none\r\ntwo\r\n";
	pop3_stuff_init(&st, true, 1);
	size_t used = pop3_stuff_feed(&st, msg, strlen(msg), &out);
	assert_true(st.done);
	assert_int_equal(used, strlen("H: v\r\n\r\none\r\n"));
	buf_free(&out);
}

/* A large message: output size is input plus one octet per stuffed dot. */
static void test_large(void **state)
{
	(void)state;
	struct buf in = BUF_INIT, out = BUF_INIT;
	size_t dots = 0;
	for (int i = 0; i < 20000; i++) {
		if (i % 7 == 0) {
			buf_append_str(&in, ".leading dot line\r\n");
			dots++;
		} else {
			buf_appendf(&in, "line %d with some text in it\r\n", i);
		}
	}
	struct pop3_stuff st;
	pop3_stuff_init(&st, false, 0);
	for (size_t pos = 0; pos < in.len; pos += 4093) {
		size_t n = in.len - pos < 4093 ? in.len - pos : 4093;
		assert_int_equal(pop3_stuff_feed(&st, in.data + pos, n, &out), n);
	}
	pop3_stuff_finish(&st, &out);
	assert_int_equal(out.len, in.len + dots + 3);
	buf_free(&in);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_bytewise),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_top_consumed),
		cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
