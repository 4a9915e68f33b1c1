/* test_http.c — unit tests for the strict HTTP/1.1 request parser
 * (src/web/web_http.c). Every case is also fed one byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "web_http.h"

/* Feeds input whole (step 0) or in pieces of step bytes; returns the
 * result of the first request and how many bytes it used. */
static enum http_parse_result feed(struct http_parser *p, const char *in, size_t len,
				   size_t step, size_t *used_r)
{
	size_t pos = 0;
	enum http_parse_result r = HTTP_PARSE_MORE;
	while (pos < len) {
		size_t n = step == 0 ? len - pos : (len - pos < step ? len - pos : step);
		size_t used;
		r = http_parse(p, in + pos, n, &used);
		pos += used;
		if (r != HTTP_PARSE_MORE)
			break;
		assert_int_equal(used, n);
	}
	*used_r = pos;
	return r;
}

struct bad_case {
	const char *name;
	const char *input;
	size_t len;
	int status;
};

#define BAD(name, input, status) { name, input, sizeof(input) - 1, status }
#define BIG(name, status) { name, NULL, 0, status }

static const struct bad_case bad_cases[] = {
	BAD("CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	BAD("TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
	BAD("two CL same", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
	BAD("two CL differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
	BAD("CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
	BAD("CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400),
	BAD("CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", 400),
	BAD("CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
	BAD("CL huge", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
	BAD("body too large", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n", 413),
	BAD("TE gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
	BAD("TE twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	BAD("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
	BAD("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
	BAD("obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400),
	BAD("bare LF request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
	BAD("bare LF header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
	BAD("bare CR", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400),
	BAD("NUL in header", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400),
	BAD("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("ctl in header", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400),
	BAD("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
	BAD("no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400),
	BAD("missing host", "GET / HTTP/1.1\r\n\r\n", 400),
	BAD("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
	BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
	BAD("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
	BAD("lower version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("absolute form", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("no version", "GET /\r\nHost: a\r\n\r\n", 400),
	BAD("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("8bit in target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BIG("long target", 414),
	BIG("long headers", 431),
	BIG("too many headers", 431),
	BAD("bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
	BAD("chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 413),
	BAD("chunk too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 400),
	BAD("chunks too large", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", 413),
	BAD("chunk bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400),
	BAD("trailer fold", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n", 400),
	BAD("expect other", "GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", 417),
	BAD("many empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
};

static char *make_special(const char *name)
{
	struct buf b = BUF_INIT;
	if (strcmp(name, "long target") == 0) {
		buf_append_str(&b, "GET /");
		for (int i = 0; i < 9000; i++)
			buf_append_char(&b, 'a');
		buf_append_str(&b, " HTTP/1.1\r\nHost: a\r\n\r\n");
	} else if (strcmp(name, "long headers") == 0) {
		buf_append_str(&b, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
		for (int i = 0; i < 40000; i++)
			buf_append_char(&b, 'a');
		buf_append_str(&b, "\r\n\r\n");
	} else {
		buf_append_str(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
		for (int i = 0; i < 150; i++)
			buf_appendf(&b, "X-%d: y\r\n", i);
		buf_append_str(&b, "\r\n");
	}
	return buf_steal(&b);
}

static void test_bad(void **state)
{
	(void)state;
	struct http_limits lim;
	http_limits_default(&lim, 1024);
	for (size_t i = 0; i < N_ELEMENTS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *special = c->input == NULL ? make_special(c->name) : NULL;
		const char *in = special != NULL ? special : c->input;
		size_t len = special != NULL ? strlen(special) : c->len;
		for (size_t step = 0; step <= 1; step++) {
			struct http_parser p;
			http_parser_init(&p, &lim);
			size_t used;
			enum http_parse_result r = feed(&p, in, len, step, &used);
			if (r != HTTP_PARSE_ERROR || p.status != c->status)
				fail_msg("case \"%s\" (step %zu): result %d status %d", c->name,
					 step, r, p.status);
			http_parser_free(&p);
		}
		free(special);
	}
}

static void check_get(void **state, size_t step)
{
	(void)state;
	struct http_limits lim;
	http_limits_default(&lim, 1024);
	struct http_parser p;
	http_parser_init(&p, &lim);
	const char *in = "\r\nGET /api/list?folder=INBOX&x=%20 HTTP/1.1\r\nHost: example.org\r\n"
		"Cookie: a=b\r\nX-Empty:\r\nUser-Agent:  t  \r\n\r\nGET /2 HTTP/1.1\r\n";
	size_t used;
	enum http_parse_result r = feed(&p, in, strlen(in), step, &used);
	assert_int_equal(r, HTTP_PARSE_DONE);
	assert_int_equal(used, strlen(in) - strlen("GET /2 HTTP/1.1\r\n"));
	assert_string_equal(p.req.method, "GET");
	assert_string_equal(p.req.target, "/api/list?folder=INBOX&x=%20");
	assert_int_equal(p.req.minor, 1);
	assert_true(p.req.keep_alive);
	assert_string_equal(http_request_header(&p.req, "host"), "example.org");
	assert_string_equal(http_request_header(&p.req, "user-agent"), "t");
	assert_string_equal(http_request_header(&p.req, "x-empty"), "");
	assert_null(http_request_header(&p.req, "missing"));
	assert_int_equal(p.req.body.len, 0);
	/* Pipelined second request continues after a reset. */
	http_parser_reset(&p);
	const char *rest = "GET /2 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
	r = feed(&p, rest, strlen(rest), step, &used);
	assert_int_equal(r, HTTP_PARSE_DONE);
	assert_string_equal(p.req.target, "/2");
	assert_false(p.req.keep_alive);
	http_parser_free(&p);
}

static void test_get(void **state)
{
	check_get(state, 0);
	check_get(state, 1);
	check_get(state, 7);
}

static void test_post_length(void **state)
{
	(void)state;
	struct http_limits lim;
	http_limits_default(&lim, 1024);
	for (size_t step = 0; step <= 1; step++) {
		struct http_parser p;
		http_parser_init(&p, &lim);
		static const char in[] = "POST /api/send HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
			"Expect: 100-continue\r\n\r\nhello\0worldEXTRA";
		size_t used;
		enum http_parse_result r = feed(&p, in, sizeof(in) - 1, step, &used);
		assert_int_equal(r, HTTP_PARSE_DONE);
		assert_int_equal(used, sizeof(in) - 1 - 5);
		assert_true(p.req.expect_continue);
		assert_int_equal(p.req.body.len, 11);
		assert_memory_equal(p.req.body.data, "hello\0world", 11);
		http_parser_free(&p);
	}
}

static void test_chunked(void **state)
{
	(void)state;
	struct http_limits lim;
	http_limits_default(&lim, 1024);
	for (size_t step = 0; step <= 1; step++) {
		struct http_parser p;
		http_parser_init(&p, &lim);
		const char *in = "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
			"5;name=value\r\nhello\r\n1A\r\n abcdefghijklmnopqrstuvwxy\r\n0\r\n"
			"X-Trailer: ok\r\n\r\nNEXT";
		size_t used;
		enum http_parse_result r = feed(&p, in, strlen(in), step, &used);
		assert_int_equal(r, HTTP_PARSE_DONE);
		assert_int_equal(used, strlen(in) - 4);
		assert_int_equal(p.req.body.len, 31);
		assert_memory_equal(p.req.body.data, "hello abcdefghijklmnopqrstuvwxy", 31);
		http_parser_free(&p);
	}
}

static void test_http10(void **state)
{
	(void)state;
	struct http_limits lim;
	http_limits_default(&lim, 1024);
	struct http_parser p;
	http_parser_init(&p, &lim);
	const char *in = "GET / HTTP/1.0\r\n\r\n";
	size_t used;
	assert_int_equal(feed(&p, in, strlen(in), 1, &used), HTTP_PARSE_DONE);
	assert_false(p.req.keep_alive);
	http_parser_reset(&p);
	in = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
	assert_int_equal(feed(&p, in, strlen(in), 0, &used), HTTP_PARSE_DONE);
	assert_true(p.req.keep_alive);
	http_parser_free(&p);
}

static void test_error_sticks(void **state)
{
	(void)state;
	struct http_limits lim;
	http_limits_default(&lim, 1024);
	struct http_parser p;
	http_parser_init(&p, &lim);
	size_t used;
	assert_int_equal(http_parse(&p, "GET /\n", 6, &used), HTTP_PARSE_ERROR);
	assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\n", 16, &used), HTTP_PARSE_ERROR);
	assert_int_equal(used, 0);
	assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
	http_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_post_length),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_error_sticks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
