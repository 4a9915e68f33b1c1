/* test_auth_proto.c — unit tests for auth_proto.c, the auth socket line
 * codec: every case parsed whole and fed one byte at a time, escaping
 * round trips, and malformed lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "auth_proto.h"

struct pcase {
	const char *line;
	bool from_server;
	int want;			/* 1 parsed, -1 error */
	enum auth_proto_type type;
	uint32_t id;
	unsigned nargs;
	const char *args[AUTH_PROTO_ARGS_MAX];
};

static const struct pcase cases[] = {
	{ "VERIFY\t1\timap\t192.0.2.1\talice@example.test\tsecret\n", false, 1,
	  AUTH_MSG_VERIFY, 1, 4, { "imap", "192.0.2.1", "alice@example.test", "secret" } },
	{ "VERIFY\t4294967295\tsmtp\t::1\tu\tpa\\tss\\\\w\\nor\\rd\n", false, 1,
	  AUTH_MSG_VERIFY, 4294967295u, 4, { "smtp", "::1", "u", "pa\tss\\w\nor\rd" } },
	{ "START\t7\tsmtp\t127.0.0.1\tPLAIN\n", false, 1, AUTH_MSG_START, 7, 3,
	  { "smtp", "127.0.0.1", "PLAIN" } },
	{ "START\t8\tsmtp\t127.0.0.1\tPLAIN\tAHUAcA==\n", false, 1, AUTH_MSG_START, 8, 4,
	  { "smtp", "127.0.0.1", "PLAIN", "AHUAcA==" } },
	{ "CONTINUE\t8\t\n", false, 1, AUTH_MSG_CONTINUE, 8, 1, { "" } },
	{ "CANCEL\t8\n", false, 1, AUTH_MSG_CANCEL, 8, 0, { NULL } },
	{ "OK\t3\talice@example.test\n", true, 1, AUTH_MSG_OK, 3, 1, { "alice@example.test" } },
	{ "CONTINUE\t3\tVXNlcm5hbWU6\n", true, 1, AUTH_MSG_CONTINUE, 3, 1, { "VXNlcm5hbWU6" } },
	{ "FAIL\t3\n", true, 1, AUTH_MSG_FAIL, 3, 0, { NULL } },
	{ "BLOCKED\t3\n", true, 1, AUTH_MSG_BLOCKED, 3, 0, { NULL } },
	{ "TEMPFAIL\t3\n", true, 1, AUTH_MSG_TEMPFAIL, 3, 0, { NULL } },
	/* Direction matters. */
	{ "OK\t3\tx\n", false, -1, 0, 0, 0, { NULL } },
	{ "VERIFY\t1\ta\tb\tc\td\n", true, -1, 0, 0, 0, { NULL } },
	/* Ids. */
	{ "FAIL\t0\n", true, -1, 0, 0, 0, { NULL } },
	{ "FAIL\t4294967296\n", true, -1, 0, 0, 0, { NULL } },
	{ "FAIL\t01\n", true, -1, 0, 0, 0, { NULL } },
	{ "FAIL\t-1\n", true, -1, 0, 0, 0, { NULL } },
	{ "FAIL\tx\n", true, -1, 0, 0, 0, { NULL } },
	{ "FAIL\n", true, -1, 0, 0, 0, { NULL } },
	{ "FAIL\t\n", true, -1, 0, 0, 0, { NULL } },
	/* Field counts, verbs, escapes, control bytes. */
	{ "FAIL\t1\textra\n", true, -1, 0, 0, 0, { NULL } },
	{ "VERIFY\t1\ta\tb\tc\n", false, -1, 0, 0, 0, { NULL } },
	{ "VERIFY\t1\ta\tb\tc\td\te\n", false, -1, 0, 0, 0, { NULL } },
	{ "START\t1\ta\tb\n", false, -1, 0, 0, 0, { NULL } },
	{ "verify\t1\ta\tb\tc\td\n", false, -1, 0, 0, 0, { NULL } },
	{ "\n", false, -1, 0, 0, 0, { NULL } },
	{ "CONTINUE\t1\ta\\x\n", false, -1, 0, 0, 0, { NULL } },
	{ "CONTINUE\t1\ta\\\n", false, -1, 0, 0, 0, { NULL } },
	{ "CONTINUE\t1\ta\rb\n", false, -1, 0, 0, 0, { NULL } },
	{ "CANCEL\t1\t\t\t\t\t\t\n", false, -1, 0, 0, 0, { NULL } },
};

static void check(const struct pcase *c, int ret, const struct auth_proto_msg *m)
{
	if (ret != c->want)
		fail_msg("%s: returned %d", c->line, ret);
	if (ret != 1)
		return;
	assert_int_equal(m->type, c->type);
	assert_int_equal(m->id, c->id);
	assert_int_equal(m->nargs, c->nargs);
	for (unsigned i = 0; i < c->nargs; i++)
		assert_string_equal(m->args[i], c->args[i]);
}

static void test_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf in = BUF_INIT;
		struct auth_proto_msg m;
		const char *error = NULL;
		buf_append_str(&in, cases[i].line);
		buf_append_str(&in, "FAIL\t9\n");	/* the next line stays */
		int ret = auth_proto_read(&in, cases[i].from_server, &m, &error);
		check(&cases[i], ret, &m);
		if (ret == 1)
			auth_proto_msg_free(&m);
		else
			assert_non_null(error);
		assert_string_equal(buf_cstr(&in), "FAIL\t9\n");
		buf_free(&in);
	}
}

static void test_byte_by_byte(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf in = BUF_INIT;
		struct auth_proto_msg m;
		const char *error;
		const char *line = cases[i].line;
		size_t len = strlen(line);
		int ret = 0;
		for (size_t j = 0; j < len; j++) {
			buf_append_char(&in, line[j]);
			ret = auth_proto_read(&in, cases[i].from_server, &m, &error);
			if (j + 1 < len && ret != 0)
				fail_msg("%s: returned %d after %zu bytes", line, ret, j + 1);
		}
		check(&cases[i], ret, &m);
		if (ret == 1)
			auth_proto_msg_free(&m);
		assert_int_equal(in.len, 0);
		buf_free(&in);
	}
}

static void test_roundtrip(void **state)
{
	(void)state;
	const char *args[] = { "web", "2001:db8::1", "user\twith\ttabs", "p\\a\ns\rs w\xc3\xb6rd" };
	struct buf out = BUF_INIT;
	auth_proto_write(&out, AUTH_MSG_VERIFY, 42, args, 4);
	assert_non_null(strchr(out.data, '\n'));
	assert_ptr_equal(strchr(out.data, '\n'), out.data + out.len - 1);
	struct auth_proto_msg m;
	const char *error;
	assert_int_equal(auth_proto_read(&out, false, &m, &error), 1);
	assert_int_equal(m.type, AUTH_MSG_VERIFY);
	assert_int_equal(m.id, 42);
	for (int i = 0; i < 4; i++)
		assert_string_equal(m.args[i], args[i]);
	auth_proto_msg_free(&m);
	buf_free(&out);
}

static void test_limits(void **state)
{
	(void)state;
	struct buf in = BUF_INIT;
	struct auth_proto_msg m;
	const char *error;
	/* Incomplete lines wait, up to the limit. */
	buf_append_str(&in, "VERIFY\t1\t");
	assert_int_equal(auth_proto_read(&in, false, &m, &error), 0);
	while (in.len < AUTH_PROTO_LINE_MAX - 1)
		buf_append_char(&in, 'a');
	assert_int_equal(auth_proto_read(&in, false, &m, &error), 0);
	buf_append_char(&in, 'a');
	assert_int_equal(auth_proto_read(&in, false, &m, &error), -1);
	assert_string_equal(error, "line too long");
	buf_reset(&in);
	/* A NUL inside a line. */
	buf_append(&in, "FAIL\t1\0\n", 8);
	assert_int_equal(auth_proto_read(&in, true, &m, &error), -1);
	buf_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
