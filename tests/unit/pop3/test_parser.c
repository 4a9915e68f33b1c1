/* test_parser.c — unit tests for the POP3 command parser and line
 * splitter, including a pipelined session fed one byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "pop3_parser.h"

static int parse(const char *line, struct pop3_command *cmd, const char **error)
{
	return pop3_command_parse(line, strlen(line), cmd, error);
}

/* Parses line, expecting success and verb. The caller frees cmd. */
static void parse_ok(const char *line, enum pop3_verb verb, struct pop3_command *cmd)
{
	const char *error = NULL;
	int r = parse(line, cmd, &error);
	if (r != 0)
		fail_msg("\"%s\": %s", line, error);
	assert_int_equal(cmd->verb, verb);
}

static void parse_fail(const char *line, const char *want_error)
{
	struct pop3_command cmd;
	const char *error = NULL;
	assert_int_equal(parse(line, &cmd, &error), -1);
	assert_non_null(error);
	if (want_error != NULL)
		assert_string_equal(error, want_error);
	pop3_command_free(&cmd);
}

static void test_verbs(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		enum pop3_verb verb;
	} cases[] = {
		{ "CAPA", POP3_VERB_CAPA }, { "capa", POP3_VERB_CAPA },
		{ "StLs", POP3_VERB_STLS }, { "STAT", POP3_VERB_STAT },
		{ "LIST", POP3_VERB_LIST }, { "NOOP", POP3_VERB_NOOP },
		{ "RSET", POP3_VERB_RSET }, { "QUIT", POP3_VERB_QUIT },
		{ "UIDL", POP3_VERB_UIDL }, { "AUTH", POP3_VERB_AUTH },
		{ "QUIT ", POP3_VERB_QUIT }, { "NOOP\t ", POP3_VERB_NOOP },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pop3_command cmd;
		parse_ok(cases[i].line, cases[i].verb, &cmd);
		assert_false(cmd.has_msg);
		pop3_command_free(&cmd);
	}
	assert_string_equal(pop3_verb_name(POP3_VERB_TOP), "TOP");
	assert_string_equal(pop3_verb_name(POP3_VERB_COUNT), "?");
	parse_fail("FOO", "Unknown command");
	parse_fail("APOP bob 0123456789abcdef0123456789abcdef", "Unknown command");
	parse_fail("RETRX 1", "Unknown command");
	parse_fail("RET 1", "Unknown command");
	parse_fail("", "Empty command");
	parse_fail(" QUIT", "Empty command");
	parse_fail("QUIT now", "Unexpected argument");
	parse_fail("STAT 1", "Unexpected argument");
	parse_fail("STLS x", "Unexpected argument");
}

static void test_user_pass(void **state)
{
	(void)state;
	struct pop3_command cmd;
	parse_ok("USER alice@example.test", POP3_VERB_USER, &cmd);
	assert_string_equal(cmd.arg, "alice@example.test");
	pop3_command_free(&cmd);
	/* The password is the rest of the line, spaces and all. */
	parse_ok("pass  a b\tc ", POP3_VERB_PASS, &cmd);
	assert_string_equal(cmd.arg, " a b\tc ");
	pop3_command_free(&cmd);
	parse_ok("PASS x", POP3_VERB_PASS, &cmd);
	assert_string_equal(cmd.arg, "x");
	pop3_command_free(&cmd);
	parse_fail("USER", "Missing argument");
	parse_fail("USER ", "Missing argument");
	parse_fail("PASS", "Missing argument");
	parse_fail("PASS\tsecret", "Missing argument");
}

static void test_auth(void **state)
{
	(void)state;
	struct pop3_command cmd;
	parse_ok("AUTH", POP3_VERB_AUTH, &cmd);
	assert_null(cmd.arg);
	assert_null(cmd.arg2);
	pop3_command_free(&cmd);
	parse_ok("AUTH PLAIN", POP3_VERB_AUTH, &cmd);
	assert_string_equal(cmd.arg, "PLAIN");
	assert_null(cmd.arg2);
	pop3_command_free(&cmd);
	parse_ok("auth plain AGFsaWNlAHB3", POP3_VERB_AUTH, &cmd);
	assert_string_equal(cmd.arg, "plain");
	assert_string_equal(cmd.arg2, "AGFsaWNlAHB3");
	pop3_command_free(&cmd);
	parse_ok("AUTH PLAIN =", POP3_VERB_AUTH, &cmd);
	assert_string_equal(cmd.arg2, "=");
	pop3_command_free(&cmd);
	parse_fail("AUTH PLAIN a b", "Too many arguments");
}

static void test_numbers(void **state)
{
	(void)state;
	struct pop3_command cmd;
	parse_ok("RETR 1", POP3_VERB_RETR, &cmd);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 1);
	pop3_command_free(&cmd);
	parse_ok("dele 4294967295", POP3_VERB_DELE, &cmd);
	assert_int_equal(cmd.msg, UINT32_MAX);
	pop3_command_free(&cmd);
	parse_ok("LIST 007", POP3_VERB_LIST, &cmd);
	assert_int_equal(cmd.msg, 7);
	pop3_command_free(&cmd);
	parse_ok("UIDL  12 ", POP3_VERB_UIDL, &cmd);
	assert_int_equal(cmd.msg, 12);
	pop3_command_free(&cmd);
	parse_ok("TOP 3 0", POP3_VERB_TOP, &cmd);
	assert_int_equal(cmd.msg, 3);
	assert_int_equal(cmd.lines, 0);
	pop3_command_free(&cmd);
	parse_ok("TOP 3\t25", POP3_VERB_TOP, &cmd);
	assert_int_equal(cmd.lines, 25);
	pop3_command_free(&cmd);
	/* The parser takes 0; the session answers "no such message". */
	parse_ok("RETR 0", POP3_VERB_RETR, &cmd);
	assert_int_equal(cmd.msg, 0);
	pop3_command_free(&cmd);

	parse_fail("RETR", "Missing message number");
	parse_fail("DELE ", "Missing message number");
	parse_fail("RETR x", "Invalid message number");
	parse_fail("RETR -1", "Invalid message number");
	parse_fail("RETR +1", "Invalid message number");
	parse_fail("RETR 1x", "Invalid message number");
	parse_fail("RETR 4294967296", "Invalid message number");
	parse_fail("RETR 00000000001", "Invalid message number");
	parse_fail("RETR 1 2", "Too many arguments");
	parse_fail("LIST 1 2", "Too many arguments");
	parse_fail("TOP 1", "Missing number of lines");
	parse_fail("TOP 1 x", "Invalid number of lines");
	parse_fail("TOP 1 99999999999", "Invalid number of lines");
	parse_fail("TOP 1 2 3", "Too many arguments");
}

static void test_line_next(void **state)
{
	(void)state;
	size_t len, used;
	assert_int_equal(line_next("STAT\r\nQUIT\r\n", 12, 1024, &len, &used), LINE_OK);
	assert_int_equal(len, 4);
	assert_int_equal(used, 6);
	assert_int_equal(line_next("QUIT\n", 5, 1024, &len, &used), LINE_OK);
	assert_int_equal(len, 4);
	assert_int_equal(used, 5);
	assert_int_equal(line_next("\r\n", 2, 1024, &len, &used), LINE_OK);
	assert_int_equal(len, 0);
	assert_int_equal(line_next("QUI", 3, 1024, &len, &used), LINE_NEED_MORE);
	assert_int_equal(line_next("QUIT\r", 5, 1024, &len, &used), LINE_NEED_MORE);
	char big[POP3_COMMAND_LINE_MAX + 10];
	memset(big, 'a', sizeof(big));
	assert_int_equal(line_next(big, sizeof(big), POP3_COMMAND_LINE_MAX, &len, &used),
			 LINE_TOO_LONG);
	assert_int_equal(line_next(big, POP3_COMMAND_LINE_MAX, POP3_COMMAND_LINE_MAX,
					&len, &used), LINE_TOO_LONG);
	assert_int_equal(line_next(big, POP3_COMMAND_LINE_MAX - 1, POP3_COMMAND_LINE_MAX,
					&len, &used), LINE_NEED_MORE);
	/* A line filling the limit exactly, CRLF included, fits. */
	big[POP3_COMMAND_LINE_MAX - 2] = '\r';
	big[POP3_COMMAND_LINE_MAX - 1] = '\n';
	assert_int_equal(line_next(big, sizeof(big), POP3_COMMAND_LINE_MAX, &len, &used),
			 LINE_OK);
	assert_int_equal(len, POP3_COMMAND_LINE_MAX - 2);
	assert_int_equal(used, POP3_COMMAND_LINE_MAX);
}

/* A pipelined session as a client might send it, with what each command
 * must parse to. */
static const char session[] =
	"CAPA\r\nSTLS\r\nUSER alice@example.test\r\nPASS pa ss\n"
	"STAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 3\r\nTOP 1 10\r\nRETR 1\r\n"
	"DELE 1\r\nbogus\r\nRSET\r\nNOOP\r\nQUIT\r\n";
static const struct {
	enum pop3_verb verb;	/* UNKNOWN = must fail */
	const char *arg;
	uint32_t msg, lines;
} expected[] = {
	{ POP3_VERB_CAPA, NULL, 0, 0 }, { POP3_VERB_STLS, NULL, 0, 0 },
	{ POP3_VERB_USER, "alice@example.test", 0, 0 }, { POP3_VERB_PASS, "pa ss", 0, 0 },
	{ POP3_VERB_STAT, NULL, 0, 0 }, { POP3_VERB_LIST, NULL, 0, 0 },
	{ POP3_VERB_LIST, NULL, 2, 0 }, { POP3_VERB_UIDL, NULL, 0, 0 },
	{ POP3_VERB_UIDL, NULL, 3, 0 }, { POP3_VERB_TOP, NULL, 1, 10 },
	{ POP3_VERB_RETR, NULL, 1, 0 }, { POP3_VERB_DELE, NULL, 1, 0 },
	{ POP3_VERB_UNKNOWN, NULL, 0, 0 }, { POP3_VERB_RSET, NULL, 0, 0 },
	{ POP3_VERB_NOOP, NULL, 0, 0 }, { POP3_VERB_QUIT, NULL, 0, 0 },
};

static void check_line(const char *line, size_t len, size_t n)
{
	struct pop3_command cmd;
	const char *error;
	assert_true(n < sizeof(expected) / sizeof(expected[0]));
	int r = pop3_command_parse(line, len, &cmd, &error);
	if (expected[n].verb == POP3_VERB_UNKNOWN) {
		assert_int_equal(r, -1);
	} else {
		assert_int_equal(r, 0);
		assert_int_equal(cmd.verb, expected[n].verb);
		if (expected[n].arg != NULL)
			assert_string_equal(cmd.arg, expected[n].arg);
		assert_int_equal(cmd.msg, expected[n].msg);
		assert_int_equal(cmd.lines, expected[n].lines);
	}
	pop3_command_free(&cmd);
}

/* Feeds the session in chunks of chunk bytes, as a socket might. */
static void feed_session(size_t chunk)
{
	char acc[sizeof(session)];
	size_t have = 0, found = 0, total = sizeof(session) - 1;
	for (size_t i = 0; i < total; i += chunk) {
		size_t n = total - i < chunk ? total - i : chunk;
		memcpy(acc + have, session + i, n);
		have += n;
		size_t len, used;
		while (line_next(acc, have, POP3_COMMAND_LINE_MAX, &len, &used) == LINE_OK) {
			check_line(acc, len, found++);
			memmove(acc, acc + used, have - used);
			have -= used;
		}
	}
	assert_int_equal(found, sizeof(expected) / sizeof(expected[0]));
	assert_int_equal(have, 0);
}

static void test_pipeline_bytewise(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk <= 7; chunk++)
		feed_session(chunk);
	feed_session(sizeof(session));
}

static void test_hostile(void **state)
{
	(void)state;
	struct pop3_command cmd;
	const char *error;
	char nul[] = "USER bob\0PASS x";
	assert_int_equal(pop3_command_parse(nul, sizeof(nul) - 1, &cmd, &error), -1);
	assert_string_equal(error, "Invalid characters in command");
	pop3_command_free(&cmd);
	parse_fail("PASS secret\rDELE 1", "Invalid characters in command");
	parse_fail("USER bob\r", "Invalid characters in command");
	/* Only the given length counts, not what follows in memory. */
	assert_int_equal(pop3_command_parse("STAT 1", 4, &cmd, &error), 0);
	assert_int_equal(cmd.verb, POP3_VERB_STAT);
	pop3_command_free(&cmd);
	char longkw[300];
	memset(longkw, 'A', sizeof(longkw) - 1);
	longkw[sizeof(longkw) - 1] = '\0';
	parse_fail(longkw, "Unknown command");
	/* High bytes are passed on (UTF-8 user names), not interpreted. */
	parse_ok("USER j\xc3\xb6rg@example.test", POP3_VERB_USER, &cmd);
	assert_string_equal(cmd.arg, "j\xc3\xb6rg@example.test");
	pop3_command_free(&cmd);
	parse_fail("RETR \xff", "Invalid message number");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_user_pass),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_line_next),
		cmocka_unit_test(test_pipeline_bytewise),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
