/* test_hcache.c — unit tests for mail_hcache.c: the cache holds the
 * right fields in order, answers HEADER.FIELDS, look-ups and per-field
 * iteration exactly as the whole header does (awkward headers and
 * random ones), and the collector finds the end of a header fed in any
 * pieces, one byte at a time included. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mail_hcache.h"
#include "mail_header.h"

static const char *const cached[] = {
	"Date", "From", "To", "Cc", "Subject", "Message-ID", "References", "In-Reply-To",
};

static const char *const samples[] = {
	"From: a@b\r\nX-Other: 1\r\nSubject: one\r\n two\r\n\tthree\r\nTo: c@d\r\n\r\nbody\r\n",
	("Received: x\r\nsubject: lower case\r\nSUBJECT: second\r\nDate: Mon, 1 Jan 2024\r\n"
	 " 10:00:00 +0000\r\n\r\n"),
	/* bare LF, junk lines, 8-bit, a field cut by the end of input */
	"From: a@b\nNo colon here\nSubject: caf\xc3\xa9\nCc : spaced@name\nTo: cut",
	/* empty header, header only */
	"\r\nbody",
	"Message-ID: <a@b>\r\nReferences: <x@y>\r\n <z@w>\r\nIn-Reply-To: <z@w>\r\n",
	/* leading continuation and NUL bytes */
	" leading\r\nFrom: nul\0byte\r\nTo: t\r\n\r\n",
	"X-A: 1\r\nX-B: 2\r\n\r\n",
};
static const size_t sample_len[] = { 0, 0, 0, 0, 0, 34, 0 };

static size_t slen(size_t i)
{
	return sample_len[i] != 0 ? sample_len[i] : strlen(samples[i]);
}

/* Everything a caller may ask about cached fields gives the same answer
 * from the cache as from the header. */
static void check_same(const char *hdr, size_t len)
{
	struct buf cache = BUF_INIT;
	mail_hcache_build(hdr, len, &cache);
	assert_true(cache.len >= 2);
	/* filtering by any subset */
	for (unsigned mask = 1; mask < (1u << N_ELEMENTS(cached)); mask += 7) {
		const char *names[N_ELEMENTS(cached)];
		size_t n = 0;
		for (size_t i = 0; i < N_ELEMENTS(cached); i++)
			if (mask & (1u << i))
				names[n++] = cached[i];
		struct buf a = BUF_INIT, b = BUF_INIT;
		mail_header_filter(hdr, len, names, n, false, &a);
		mail_header_filter(cache.data, cache.len, names, n, false, &b);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		buf_free(&a);
		buf_free(&b);
	}
	for (size_t i = 0; i < N_ELEMENTS(cached); i++) {
		/* look-up */
		char *a = mail_header_get(hdr, len, cached[i]);
		char *b = mail_header_get(cache.data, cache.len, cached[i]);
		assert_true((a == NULL) == (b == NULL));
		if (a != NULL)
			assert_string_equal(a, b);
		free(a);
		free(b);
		/* every occurrence, raw */
		struct mail_header_iter ia, ib;
		struct mail_header_field fa, fb;
		mail_header_iter_init(&ia, hdr, len);
		mail_header_iter_init(&ib, cache.data, cache.len);
		for (;;) {
			bool ha, hb;
			while ((ha = mail_header_iter_next(&ia, &fa)) &&
			       (fa.no_colon || !mail_header_name_is(&fa, cached[i])))
				;
			while ((hb = mail_header_iter_next(&ib, &fb)) &&
			       (fb.no_colon || !mail_header_name_is(&fb, cached[i])))
				;
			assert_int_equal(ha, hb);
			if (!ha)
				break;
			struct buf ua = BUF_INIT, ub = BUF_INIT;
			mail_header_unfold(fa.value, fa.value_len, &ua);
			mail_header_unfold(fb.value, fb.value_len, &ub);
			assert_int_equal(ua.len, ub.len);
			if (ua.len > 0)
				assert_memory_equal(ua.data, ub.data, ua.len);
			buf_free(&ua);
			buf_free(&ub);
		}
	}
	buf_free(&cache);
}

static void test_build(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	mail_hcache_build(samples[0], slen(0), &b);
	assert_string_equal(buf_cstr(&b),
			    "From: a@b\r\nSubject: one\r\n two\r\n\tthree\r\nTo: c@d\r\n\r\n");
	buf_reset(&b);
	mail_hcache_build(samples[6], slen(6), &b);
	assert_string_equal(buf_cstr(&b), "\r\n");
	buf_free(&b);
	assert_true(mail_hcache_has("message-id"));
	assert_true(mail_hcache_has_field("CCx", 2));
	assert_false(mail_hcache_has("Bcc"));
	assert_false(mail_hcache_has("Sender"));
	const char *some[] = { "FROM", "date" }, *other[] = { "From", "X-Spam" };
	assert_true(mail_hcache_has_all(some, 2));
	assert_false(mail_hcache_has_all(other, 2));
}

static void test_same_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(samples); i++)
		check_same(samples[i], slen(i));
	/* random headers of cached and other fields, folded, LF and CRLF */
	static const char *const parts[] = {
		"From: x@y", "To: a@b,\r\n c@d", "Subject: s", "subject:  =?utf-8?q?x?=",
		"X-Junk: j", "Date: d\n", "Cc:", "junk", " cont", "\tcont2", "References: <1>",
		"In-Reply-To: <2>", "Message-ID: <3>", "FROM:upper", "\r", "",
	};
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		struct buf h = BUF_INIT;
		int n = (int)(rand_r(&seed) % 12);
		for (int k = 0; k < n; k++) {
			buf_append_str(&h, parts[rand_r(&seed) % N_ELEMENTS(parts)]);
			buf_append_str(&h, rand_r(&seed) % 3 == 0 ? "\n" : "\r\n");
		}
		if (rand_r(&seed) % 2)
			buf_append_str(&h, "\r\nbody: text\r\n");
		check_same(h.data != NULL ? h.data : "", h.len);
		buf_free(&h);
	}
}

static void collect(const char *msg, size_t len, size_t piece, struct buf *out, bool *ok_r)
{
	struct mail_hcache_collector c;
	mail_hcache_collector_init(&c);
	for (size_t off = 0; off < len; off += piece)
		mail_hcache_collector_feed(&c, msg + off, len - off < piece ? len - off : piece);
	*ok_r = mail_hcache_collector_finish(&c, out);
	mail_hcache_collector_free(&c);
}

static void test_collector(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(samples); i++) {
		struct buf whole = BUF_INIT;
		mail_hcache_build(samples[i], slen(i), &whole);
		for (size_t piece = 1; piece <= 7; piece++) {
			struct buf got = BUF_INIT;
			bool ok;
			collect(samples[i], slen(i), piece, &got, &ok);
			assert_true(ok);
			assert_int_equal(got.len, whole.len);
			assert_memory_equal(got.data, whole.data, got.len);
			buf_free(&got);
		}
		buf_free(&whole);
	}
	/* A body line that looks like a header is not taken. */
	struct buf got = BUF_INIT;
	bool ok;
	const char *m = "To: a\r\n\r\nSubject: in the body\r\n";
	collect(m, strlen(m), 1, &got, &ok);
	assert_string_equal(buf_cstr(&got), "To: a\r\n\r\n");
	buf_free(&got);
	/* Too long a header is not cached. */
	struct buf big = BUF_INIT;
	buf_append_str(&big, "Subject: big\r\n");
	while (big.len <= MAIL_HCACHE_HEADER_MAX)
		buf_append_str(&big, "X-Fill: 0123456789012345678901234567890123456789\r\n");
	buf_append_str(&big, "\r\nbody\r\n");
	collect(big.data, big.len, 4096, &got, &ok);
	assert_false(ok);
	buf_free(&got);
	buf_free(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_same_answers),
		cmocka_unit_test(test_collector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
