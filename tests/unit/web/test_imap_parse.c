/* test_imap_parse.c — unit tests for the webmail's IMAP response parser
 * (src/web/web_imap_parse.c), fed whole and one byte at a time, and for
 * modified UTF-7 mailbox names (web_utf7.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "web_imap_parse.h"
#include "web_utf7.h"
#include "buf.h"

/* Parses the first response of in, feeding it growing prefixes one byte
 * at a time: every shorter prefix must say "need more". */
static int parse_bytewise(const char *in, size_t len, struct imap_response *r, size_t *used)
{
	const char *error;
	for (size_t n = 0; n < len; n++) {
		int ret = imap_response_parse(in, n, r, used, &error);
		if (ret != 0)
			return ret;
	}
	return imap_response_parse(in, len, r, used, &error);
}

static void test_tagged(void **state)
{
	(void)state;
	const char *in = "W12 OK [READ-WRITE] SELECT completed\r\n* 1 EXISTS\r\n";
	struct imap_response r;
	size_t used;
	assert_int_equal(parse_bytewise(in, strlen(in), &r, &used), 1);
	assert_int_equal(used, strlen("W12 OK [READ-WRITE] SELECT completed\r\n"));
	assert_int_equal(r.kind, IMAP_RESP_TAGGED);
	assert_string_equal(r.tag, "W12");
	assert_string_equal(r.status, "OK");
	assert_string_equal(r.code, "READ-WRITE");
	assert_string_equal(r.text, "SELECT completed");
	imap_response_free(&r);
}

static void test_fetch_literal(void **state)
{
	(void)state;
	const char *in = "* 3 FETCH (UID 17 FLAGS (\\Seen $Label) BODY[1.2] {5}\r\nab\r\nc "
		"BODY[HEADER.FIELDS (REFERENCES)] \"x\\\"y\" ENVELOPE (NIL \"s\" ((\"N\" NIL \"a\" \"b.c\")) "
		"NIL NIL NIL NIL NIL NIL \"<id>\"))\r\n";
	struct imap_response r;
	size_t used;
	assert_int_equal(parse_bytewise(in, strlen(in), &r, &used), 1);
	assert_int_equal(used, strlen(in));
	assert_int_equal(r.kind, IMAP_RESP_DATA);
	assert_true(r.has_number);
	assert_int_equal(r.number, 3);
	assert_string_equal(r.keyword, "FETCH");
	assert_int_equal(r.args.n, 1);
	const struct imap_node *att = &r.args.items[0];
	uint64_t uid;
	assert_true(imap_node_uint(imap_fetch_attr(att, "uid"), &uid));
	assert_int_equal(uid, 17);
	const struct imap_node *flags = imap_fetch_attr(att, "FLAGS");
	assert_int_equal(flags->type, IMAP_NODE_LIST);
	assert_int_equal(flags->n, 2);
	assert_string_equal(flags->items[0].data, "\\Seen");
	const struct imap_node *body = imap_fetch_attr(att, "BODY[1.2]");
	assert_int_equal(body->type, IMAP_NODE_STRING);
	assert_int_equal(body->len, 5);
	assert_memory_equal(body->data, "ab\r\nc", 5);
	assert_string_equal(imap_node_str(imap_fetch_attr(att, "BODY[HEADER.FIELDS (REFERENCES)]")), "x\"y");
	const struct imap_node *env = imap_fetch_attr(att, "ENVELOPE");
	assert_int_equal(env->n, 10);
	assert_int_equal(env->items[0].type, IMAP_NODE_NIL);
	assert_null(imap_node_str(&env->items[0]));
	assert_string_equal(env->items[2].items[0].items[3].data, "b.c");
	imap_response_free(&r);
}

static void test_misc(void **state)
{
	(void)state;
	struct imap_response r;
	size_t used;
	const char *in = "+ idling\r\n";
	assert_int_equal(parse_bytewise(in, strlen(in), &r, &used), 1);
	assert_int_equal(r.kind, IMAP_RESP_CONTINUE);
	imap_response_free(&r);
	in = "* OK [CAPABILITY IMAP4rev1 SORT THREAD=REFERENCES] ready\r\n";
	assert_int_equal(parse_bytewise(in, strlen(in), &r, &used), 1);
	assert_int_equal(r.kind, IMAP_RESP_STATUS);
	assert_string_equal(r.code, "CAPABILITY IMAP4rev1 SORT THREAD=REFERENCES");
	imap_response_free(&r);
	in = "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n";
	assert_int_equal(parse_bytewise(in, strlen(in), &r, &used), 1);
	assert_string_equal(r.keyword, "THREAD");
	assert_int_equal(r.args.n, 2);
	assert_int_equal(r.args.items[1].n, 4);
	assert_int_equal(r.args.items[1].items[3].items[2].type, IMAP_NODE_ATOM);
	imap_response_free(&r);
	in = "* LIST (\\HasNoChildren \\Sent) \".\" {4}\r\nSent\r\n";
	assert_int_equal(parse_bytewise(in, strlen(in), &r, &used), 1);
	assert_string_equal(r.args.items[2].data, "Sent");
	imap_response_free(&r);
	in = "* SEARCH\r\n";
	assert_int_equal(parse_bytewise(in, strlen(in), &r, &used), 1);
	assert_int_equal(r.args.n, 0);
	imap_response_free(&r);
}

static void test_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"* 3 FETCH (UID 1\r\n",			/* unbalanced */
		"* 3 FETCH UID 1)\r\n",
		"* 3 FETCH (BODY[1 \"x\")\r\n",
		"W1 MAYBE done\r\n",
		"* 99999999999 EXISTS\r\n",
		"* LIST () \"/\" \"abc\r\n",
		"* X {999999999999}\r\n",
		"*\r\n",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct imap_response r;
		size_t used;
		const char *error = NULL;
		int ret = imap_response_parse(bad[i], strlen(bad[i]), &r, &used, &error);
		if (ret != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(error);
	}
	/* Too deep nesting is refused, not recursed into. */
	struct buf b = BUF_INIT;
	buf_append_str(&b, "* X ");
	for (int i = 0; i < 200; i++)
		buf_append_char(&b, '(');
	for (int i = 0; i < 200; i++)
		buf_append_char(&b, ')');
	buf_append_str(&b, "\r\n");
	struct imap_response r;
	size_t used;
	const char *error;
	assert_int_equal(imap_response_parse(b.data, b.len, &r, &used, &error), -1);
	buf_free(&b);
}

static void test_utf7(void **state)
{
	(void)state;
	static const struct {
		const char *utf8, *utf7;
	} cases[] = {
		{ "INBOX", "INBOX" },
		{ "Entwürfe", "Entw&APw-rfe" },
		{ "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
		{ "A&B", "A&-B" },
		{ "Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" },
		{ "😀", "&2D3eAA-" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *a = web_utf8_to_utf7(cases[i].utf8);
		char *b = web_utf7_to_utf8(cases[i].utf7);
		assert_string_equal(a, cases[i].utf7);
		assert_string_equal(b, cases[i].utf8);
		free(a);
		free(b);
	}
	assert_null(web_utf7_to_utf8("&Jjo"));		/* unterminated */
	assert_null(web_utf7_to_utf8("&AGE-"));		/* ASCII encoded */
	assert_null(web_utf7_to_utf8("a\xc3\xa9"));	/* 8-bit */
	assert_null(web_utf8_to_utf7("\xff"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tagged),
		cmocka_unit_test(test_fetch_literal),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_utf7),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
