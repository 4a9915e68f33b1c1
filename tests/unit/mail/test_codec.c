/* test_codec.c — unit tests for mail_base64.c and mail_qp.c: known
 * vectors, round trips, junk, and streaming (every case also fed one
 * byte at a time). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mail_base64.h"
#include "mail_qp.h"

static int b64_decode_chunked(const char *in, size_t len, size_t chunk,
			      struct buf *out)
{
	struct mail_base64_decoder d;
	const char *error;
	mail_base64_decoder_init(&d);
	for (size_t i = 0; i < len; i += chunk)
		mail_base64_decode_more(&d, in + i, len - i < chunk ? len - i : chunk, out);
	return mail_base64_decode_finish(&d, &error);
}

static int qp_decode_chunked(const char *in, size_t len, size_t chunk,
			     struct buf *out)
{
	struct mail_qp_decoder d;
	const char *error;
	mail_qp_decoder_init(&d);
	for (size_t i = 0; i < len; i += chunk)
		mail_qp_decode_more(&d, in + i, len - i < chunk ? len - i : chunk, out);
	return mail_qp_decode_finish(&d, out, &error);
}

static void test_base64(void **state)
{
	(void)state;
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < N_ELEMENTS(v); i++) {
		struct buf b = BUF_INIT;
		mail_base64_encode(v[i].plain, strlen(v[i].plain), &b);
		assert_string_equal(buf_cstr(&b), v[i].enc);
		assert_int_equal(mail_base64_encoded_size(strlen(v[i].plain)), b.len);
		for (size_t chunk = 1; chunk <= 4; chunk++) {
			buf_reset(&b);
			assert_int_equal(b64_decode_chunked(v[i].enc, strlen(v[i].enc), chunk, &b), 0);
			assert_string_equal(buf_cstr(&b), v[i].plain);
		}
		buf_free(&b);
	}
	struct buf b = BUF_INIT;
	/* line breaks and spaces are fine */
	assert_int_equal(b64_decode_chunked("Zm9v\r\nYmFy \r\n", 13, 1, &b), 0);
	assert_string_equal(buf_cstr(&b), "foobar");
	buf_reset(&b);
	/* junk is skipped but reported */
	assert_int_equal(b64_decode_chunked("Zm9v*YmFy", 9, 1, &b), -1);
	assert_string_equal(buf_cstr(&b), "foobar");
	buf_reset(&b);
	/* truncated quantum */
	assert_int_equal(b64_decode_chunked("Zm9vY", 5, 1, &b), -1);
	buf_reset(&b);
	/* data after padding */
	assert_int_equal(b64_decode_chunked("Zg==Zg==", 8, 3, &b), -1);
	buf_free(&b);
}

static void test_base64_lines(void **state)
{
	(void)state;
	unsigned char data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	struct mail_base64_encoder e;
	mail_base64_encoder_init(&e, 76);
	for (size_t i = 0; i < sizeof(data); i++)	/* byte by byte */
		mail_base64_encode_more(&e, data + i, 1, &enc);
	mail_base64_encode_finish(&e, &enc);
	/* every line is 76 characters except the last, all end in CRLF */
	const char *p = enc.data;
	while (*p != '\0') {
		const char *nl = strstr(p, "\r\n");
		assert_non_null(nl);
		assert_true(nl - p <= 76);
		if (nl[2] != '\0')
			assert_int_equal(nl - p, 76);
		p = nl + 2;
	}
	assert_int_equal(b64_decode_chunked(enc.data, enc.len, 5, &dec), 0);
	assert_int_equal(dec.len, sizeof(data));
	assert_memory_equal(dec.data, data, sizeof(data));
	buf_free(&enc);
	buf_free(&dec);
}

static void test_qp_decode(void **state)
{
	(void)state;
	static const struct { const char *in, *out; int ret; } v[] = {
		{ "caf=C3=A9", "caf\xc3\xa9", 0 },
		{ "caf=c3=a9", "caf\xc3\xa9", 0 },
		{ "soft=\r\nbreak", "softbreak", 0 },
		{ "soft=\nbreak", "softbreak", 0 },
		{ "soft=  \r\nbreak", "softbreak", 0 },
		{ "trailing   \r\nspace", "trailing\r\nspace", 0 },
		{ "in the middle\r\n", "in the middle\r\n", 0 },
		{ "lf\nonly\n", "lf\r\nonly\r\n", 0 },
		{ "bad=ZZ", "bad=ZZ", -1 },
		{ "bad=4", "bad=4", -1 },
		{ "end=", "end", 0 },
		{ "tab\t\r\n", "tab\r\n", 0 },
		{ "a = b", "a = b", -1 },
		{ "==41", "=A", -1 },
	};
	for (size_t i = 0; i < N_ELEMENTS(v); i++) {
		for (size_t chunk = 1; chunk <= 3; chunk++) {
			struct buf b = BUF_INIT;
			int ret = qp_decode_chunked(v[i].in, strlen(v[i].in), chunk, &b);
			if (strcmp(buf_cstr(&b), v[i].out) != 0 || ret != v[i].ret)
				fail_msg("'%s' chunk %zu: got '%s' ret %d", v[i].in, chunk,
					 buf_cstr(&b), ret);
			buf_free(&b);
		}
	}
}

static void test_qp_encode(void **state)
{
	(void)state;
	struct buf b = BUF_INIT, d = BUF_INIT;
	mail_qp_encode("caf\xc3\xa9 ok\r\n", 10, &b);
	assert_string_equal(buf_cstr(&b), "caf=C3=A9 ok\r\n");
	buf_reset(&b);
	mail_qp_encode("trail \nx=y\n.dot\n", 16, &b);
	assert_string_equal(buf_cstr(&b), "trail=20\r\nx=3Dy\r\n=2Edot\r\n");
	buf_reset(&b);
	/* long lines are soft-broken, round trip exact */
	char line[300];
	for (size_t i = 0; i < sizeof(line); i++)
		line[i] = i % 3 == 0 ? (char)0xe9 : (char)('a' + i % 26);
	struct mail_qp_encoder e;
	mail_qp_encoder_init(&e, false);
	for (size_t i = 0; i < sizeof(line); i++)
		mail_qp_encode_more(&e, line + i, 1, &b);
	mail_qp_encode_finish(&e, &b);
	const char *p = b.data;
	while (*p != '\0') {
		const char *nl = strstr(p, "\r\n");
		size_t n = nl == NULL ? strlen(p) : (size_t)(nl - p);
		assert_true(n <= 76);
		p += n + (nl != NULL ? 2 : 0);
	}
	assert_int_equal(qp_decode_chunked(b.data, b.len, 1, &d), 0);
	assert_int_equal(d.len, sizeof(line));
	assert_memory_equal(d.data, line, sizeof(line));
	buf_reset(&b);
	buf_reset(&d);
	/* binary mode keeps CR and LF exactly */
	mail_qp_encoder_init(&e, true);
	mail_qp_encode_more(&e, "a\r\nb\rc\n", 7, &b);
	mail_qp_encode_finish(&e, &b);
	assert_null(strchr(b.data, '\n'));
	assert_int_equal(qp_decode_chunked(b.data, b.len, 2, &d), 0);
	assert_int_equal(d.len, 7);
	assert_memory_equal(d.data, "a\r\nb\rc\n", 7);
	buf_free(&b);
	buf_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_base64_lines),
		cmocka_unit_test(test_qp_decode),
		cmocka_unit_test(test_qp_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
