/* test_delivery_body.c — DATA dot-stuffing across chunk boundaries, the
 * end-of-data marker, xtext encoding and TLS policy lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "cfg.h"
#include "delivery_body.h"
#include "delivery_client.h"
#include "delivery_dest.h"

/* Stuffs input in pieces of step bytes (0 = whole). */
static char *stuff(const char *in, size_t step)
{
	struct delivery_stuffer st;
	struct buf out = BUF_INIT;
	delivery_stuffer_init(&st);
	size_t len = strlen(in);
	for (size_t pos = 0; pos < len;) {
		size_t n = step == 0 || len - pos < step ? len - pos : step;
		delivery_stuffer_add(&st, in + pos, n, &out);
		pos += n;
	}
	delivery_stuffer_finish(&st, &out);
	return buf_steal(&out);
}

static void check(const char *in, const char *want)
{
	for (size_t step = 0; step <= 4; step++) {
		char *got = stuff(in, step);
		assert_string_equal(got, want);
		free(got);
	}
}

static void test_stuffing(void **state)
{
	(void)state;
	check("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
	check(".\r\n", "..\r\n.\r\n");
	check("x\r\n.\r\n..y\r\n", "x\r\n..\r\n...y\r\n.\r\n");
	check("no final newline", "no final newline\r\n.\r\n");
	check("", ".\r\n");
	/* Bare LF becomes CRLF; a dot after it is at a line start. */
	check("a\n.b\n", "a\r\n..b\r\n.\r\n");
	/* A dot inside a line is left alone. */
	check("a.b\r\n", "a.b\r\n.\r\n");
	/* CR at a chunk end followed by LF in the next chunk. */
	check("ab\r\n.c\r\n", "ab\r\n..c\r\n.\r\n");
}

static void test_body_mem(void **state)
{
	(void)state;
	struct buf data = BUF_INIT;
	buf_append_str(&data, "0123456789");
	struct delivery_body b;
	delivery_body_init_mem(&b, &data);
	assert_int_equal(delivery_body_size(&b), 10);
	struct buf out = BUF_INIT;
	assert_int_equal(delivery_body_read(&b, 4, &out), 4);
	assert_int_equal(delivery_body_read(&b, 100, &out), 6);
	assert_int_equal(delivery_body_read(&b, 100, &out), 0);
	assert_string_equal(buf_cstr(&out), "0123456789");
	buf_free(&out);
	delivery_body_free(&b);
}

static void test_xtext(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	delivery_xtext_encode("a+b=c d\xc3\xa9", &b);
	assert_string_equal(buf_cstr(&b), "a+2Bb+3Dc+20d+C3+A9");
	buf_free(&b);
}

static void test_tls_policy(void **state)
{
	(void)state;
	struct config *cfg = cfg_new();
	free(cfg->smtp_out_tls);
	cfg->smtp_out_tls = strdup("may");
	strv_push(&cfg->smtp_out_tls_policy, "secure.example verify");
	strv_push(&cfg->smtp_out_tls_policy, ".corp.example encrypt");
	strv_push(&cfg->smtp_out_tls_policy, "plain.example none");
	assert_int_equal(delivery_dest_tls_policy(cfg, "secure.example"), DELIVERY_TLS_VERIFY);
	assert_int_equal(delivery_dest_tls_policy(cfg, "SECURE.example"), DELIVERY_TLS_VERIFY);
	assert_int_equal(delivery_dest_tls_policy(cfg, "sub.secure.example"), DELIVERY_TLS_MAY);
	assert_int_equal(delivery_dest_tls_policy(cfg, "a.corp.example"), DELIVERY_TLS_ENCRYPT);
	assert_int_equal(delivery_dest_tls_policy(cfg, "corp.example"), DELIVERY_TLS_MAY);
	assert_int_equal(delivery_dest_tls_policy(cfg, "plain.example"), DELIVERY_TLS_NONE);
	assert_int_equal(delivery_dest_tls_policy(cfg, "other.example"), DELIVERY_TLS_MAY);
	enum delivery_tls t;
	assert_int_equal(delivery_tls_parse("Verify", &t), 0);
	assert_int_equal(t, DELIVERY_TLS_VERIFY);
	assert_int_equal(delivery_tls_parse("sometimes", &t), -1);
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_body_mem),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_tls_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
