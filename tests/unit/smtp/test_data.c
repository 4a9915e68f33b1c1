/* test_data.c — unit tests for the DATA/BDAT state machine: end of data,
 * dot-unstuffing, and every smuggling-style sequence, fed whole and one
 * byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "smtp_data.h"

struct result {
	bool done;
	size_t used;
	unsigned flags;
	char out[2048];
	size_t out_len;
};

static void run(const char *in, size_t len, bool bytewise, bool bdat, struct result *r)
{
	struct smtp_data d;
	struct buf out = BUF_INIT;
	smtp_data_init(&d, bdat, false, 998);
	r->done = false;
	r->used = 0;
	size_t step = bytewise ? 1 : len;
	while (r->used < len && !r->done) {
		size_t n = len - r->used < step ? len - r->used : step;
		bool done;
		size_t used = smtp_data_feed(&d, in + r->used, n, &out, &done);
		assert_true(used <= n);
		r->used += used;
		r->done = done;
	}
	r->flags = smtp_data_reject_flags(&d);
	r->out_len = out.len;
	assert_true(out.len < sizeof(r->out));
	memcpy(r->out, buf_cstr(&out), out.len + 1);
	buf_free(&out);
}

static void both(const char *in, struct result *whole)
{
	struct result bytes;
	run(in, strlen(in), false, false, whole);
	run(in, strlen(in), true, false, &bytes);
	assert_int_equal(whole->done, bytes.done);
	assert_int_equal(whole->used, bytes.used);
	assert_int_equal(whole->flags, bytes.flags);
	assert_int_equal(whole->out_len, bytes.out_len);
	assert_memory_equal(whole->out, bytes.out, whole->out_len);
}

static void test_simple(void **state)
{
	(void)state;
	struct result r;
	both("Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n", &r);
	assert_true(r.done);
	assert_int_equal(r.used, strlen("Subject: hi\r\n\r\nbody\r\n.\r\n"));
	assert_string_equal(r.out, "Subject: hi\r\n\r\nbody\r\n");
	assert_int_equal(r.flags, 0);
}

static void test_empty_and_unstuff(void **state)
{
	(void)state;
	struct result r;
	both(".\r\n", &r);
	assert_true(r.done);
	assert_int_equal(r.out_len, 0);
	both("..leading dot\r\n...two\r\n.\r\n", &r);
	assert_true(r.done);
	assert_string_equal(r.out, ".leading dot\r\n..two\r\n");
	both("a.b\r\n. \r\n.\r\n", &r);
	assert_string_equal(r.out, "a.b\r\n \r\n");
}

/* Sequences used for SMTP smuggling: none may end the data, and all
 * make the content rejected. */
static void test_smuggling(void **state)
{
	(void)state;
	static const char *const attacks[] = {
		"a\n.\nMAIL FROM:<x@y.z>\r\n",
		"a\r\n.\nMAIL FROM:<x@y.z>\r\n",
		"a\n.\r\nMAIL FROM:<x@y.z>\r\n",
		"a\r.\rMAIL FROM:<x@y.z>\r\n",
		"a\r\n.\rMAIL FROM:<x@y.z>\r\n",
		"a\r.\r\nMAIL FROM:<x@y.z>\r\n",
	};
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		struct result r;
		both(attacks[i], &r);
		assert_false(r.done);
		assert_int_equal(r.used, strlen(attacks[i]));
		assert_true(r.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR));
		/* The real terminator still ends it, and it stays rejected. */
		char full[256];
		strcpy(full, attacks[i]);
		strcat(full, ".\r\n");
		both(full, &r);
		assert_true(r.done);
		assert_true(r.flags != 0);
	}
}

static void test_nul_and_long(void **state)
{
	(void)state;
	struct result r;
	char nul[] = "a\0b\r\n.\r\n";
	run(nul, sizeof(nul) - 1, false, false, &r);
	assert_true(r.done);
	assert_true(r.flags & SMTP_DATA_NUL);
	char line[1200];
	memset(line, 'x', 999);
	strcpy(line + 999, "\r\n.\r\n");
	run(line, strlen(line), false, false, &r);
	assert_true(r.done);
	assert_int_equal(r.flags, SMTP_DATA_LONG_LINE);
	memset(line, 'x', 998);
	strcpy(line + 998, "\r\n.\r\n");
	both(line, &r);
	assert_int_equal(r.flags, 0);
}

static void test_bdat_mode(void **state)
{
	(void)state;
	struct result r;
	const char *in = "line\r\n.\r\nmore\r\n";
	run(in, strlen(in), false, true, &r);
	assert_false(r.done);
	assert_int_equal(r.used, strlen(in));
	assert_string_equal(r.out, in);
	assert_int_equal(r.flags, 0);
	run("bare\nlf", 7, true, true, &r);
	assert_true(r.flags & SMTP_DATA_BARE_LF);
}

static void test_normalize(void **state)
{
	(void)state;
	struct smtp_data d;
	struct buf out = BUF_INIT;
	bool done;
	smtp_data_init(&d, false, true, 998);
	const char *in = "a\nb\n.\r\nc\r\n.\r\n";
	size_t used = smtp_data_feed(&d, in, strlen(in), &out, &done);
	/* After a bare LF a dot line is text, so only the final CRLF.CRLF ends. */
	assert_true(done);
	assert_int_equal(used, strlen(in));
	assert_string_equal(buf_cstr(&out), "a\r\nb\r\n.\r\nc\r\n");
	assert_int_equal(smtp_data_reject_flags(&d), 0);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_empty_and_unstuff),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_nul_and_long),
		cmocka_unit_test(test_bdat_mode),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
