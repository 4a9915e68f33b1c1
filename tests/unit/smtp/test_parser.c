/* test_parser.c — unit tests for the SMTP command parser and line
 * splitter, including byte-at-a-time feeding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "smtp_parser.h"

static int parse(const char *line, struct smtp_command *cmd, struct smtp_error *err)
{
	return smtp_command_parse(line, strlen(line), cmd, err);
}

static void test_verbs(void **state)
{
	(void)state;
	struct smtp_command cmd;
	struct smtp_error err;
	assert_int_equal(parse("ehlo client.example", &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_EHLO);
	assert_string_equal(cmd.arg, "client.example");
	smtp_command_free(&cmd);
	assert_int_equal(parse("QUIT", &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_QUIT);
	smtp_command_free(&cmd);
	assert_int_equal(parse("NOOP anything at all", &cmd, &err), 0);
	smtp_command_free(&cmd);
	assert_int_equal(parse("FOO bar", &cmd, &err), -1);
	assert_int_equal(err.code, 500);
	smtp_command_free(&cmd);
	assert_int_equal(parse("EHLO", &cmd, &err), -1);
	assert_int_equal(err.code, 501);
	smtp_command_free(&cmd);
	assert_int_equal(parse("DATA x", &cmd, &err), -1);
	assert_int_equal(err.code, 501);
	smtp_command_free(&cmd);
	assert_int_equal(parse("MAILX FROM:<a@b.c>", &cmd, &err), -1);
	assert_int_equal(err.code, 500);
	smtp_command_free(&cmd);
}

static void test_mail_rcpt(void **state)
{
	(void)state;
	struct smtp_command cmd;
	struct smtp_error err;
	bool found;
	assert_int_equal(parse("MAIL FROM:<alice@example.org> SIZE=1000 BODY=8BITMIME", &cmd, &err), 0);
	assert_string_equal(cmd.path, "alice@example.org");
	assert_int_equal(cmd.n_params, 2);
	assert_string_equal(smtp_command_param(&cmd, "SIZE", &found), "1000");
	assert_true(found);
	assert_string_equal(smtp_command_param(&cmd, "BODY", &found), "8BITMIME");
	smtp_command_free(&cmd);

	assert_int_equal(parse("mail from:<>", &cmd, &err), 0);
	assert_string_equal(cmd.path, "");
	smtp_command_free(&cmd);

	/* Lenient forms Postfix accepts. */
	assert_int_equal(parse("MAIL FROM: <a@b.example>", &cmd, &err), 0);
	assert_string_equal(cmd.path, "a@b.example");
	smtp_command_free(&cmd);
	assert_int_equal(parse("RCPT TO:bob@example.org", &cmd, &err), 0);
	assert_string_equal(cmd.path, "bob@example.org");
	smtp_command_free(&cmd);

	assert_int_equal(parse("RCPT TO:<@relay.example,@b.example:bob@example.org>", &cmd, &err), 0);
	assert_string_equal(cmd.path, "bob@example.org");
	smtp_command_free(&cmd);

	assert_int_equal(parse("RCPT TO:<Postmaster>", &cmd, &err), 0);
	assert_string_equal(cmd.path, "Postmaster");
	smtp_command_free(&cmd);

	assert_int_equal(parse("RCPT TO:<\"john doe\"@example.org> NOTIFY=SUCCESS,FAILURE", &cmd, &err), 0);
	assert_string_equal(cmd.path, "\"john doe\"@example.org");
	smtp_command_free(&cmd);

	assert_int_equal(parse("RCPT TO:<>", &cmd, &err), -1);
	assert_int_equal(err.code, 501);
	smtp_command_free(&cmd);
	assert_int_equal(parse("MAIL FROM:<a@b", &cmd, &err), -1);
	assert_int_equal(err.code, 501);
	smtp_command_free(&cmd);
	assert_int_equal(parse("MAIL TO:<a@b.c>", &cmd, &err), -1);
	smtp_command_free(&cmd);
	assert_int_equal(parse("MAIL FROM:<a@b.c> SIZE=1 SIZE=2", &cmd, &err), -1);
	assert_string_equal(err.text, "Duplicate parameter");
	smtp_command_free(&cmd);
	assert_int_equal(parse("MAIL FROM:<a@b.c> =x", &cmd, &err), -1);
	smtp_command_free(&cmd);

	assert_int_equal(parse("MAIL FROM:<jörg@exämple.org> SMTPUTF8", &cmd, &err), 0);
	assert_true(cmd.path_utf8);
	smtp_command_free(&cmd);
}

static void test_bdat(void **state)
{
	(void)state;
	struct smtp_command cmd;
	struct smtp_error err;
	assert_int_equal(parse("BDAT 1000", &cmd, &err), 0);
	assert_int_equal(cmd.chunk_size, 1000);
	assert_false(cmd.chunk_last);
	smtp_command_free(&cmd);
	assert_int_equal(parse("BDAT 0 LAST", &cmd, &err), 0);
	assert_int_equal(cmd.chunk_size, 0);
	assert_true(cmd.chunk_last);
	smtp_command_free(&cmd);
	assert_int_equal(parse("BDAT -1", &cmd, &err), -1);
	smtp_command_free(&cmd);
	assert_int_equal(parse("BDAT 10 FIRST", &cmd, &err), -1);
	smtp_command_free(&cmd);
	assert_int_equal(parse("BDAT 99999999999999999999", &cmd, &err), -1);
	assert_int_equal(err.code, 552);
	smtp_command_free(&cmd);
}

static void test_mailbox(void **state)
{
	(void)state;
	assert_true(smtp_mailbox_valid("a@b.c", false));
	assert_true(smtp_mailbox_valid("first.last+tag@sub.example.org", false));
	assert_true(smtp_mailbox_valid("x@[127.0.0.1]", false));
	assert_true(smtp_mailbox_valid("x@[IPv6:::1]", false));
	assert_true(smtp_mailbox_valid("\"a b\\\"c\"@example.org", false));
	assert_false(smtp_mailbox_valid("a..b@c.d", false));
	assert_false(smtp_mailbox_valid(".a@c.d", false));
	assert_false(smtp_mailbox_valid("a.@c.d", false));
	assert_false(smtp_mailbox_valid("a@-c.d", false));
	assert_false(smtp_mailbox_valid("a@c-.d", false));
	assert_false(smtp_mailbox_valid("a@c..d", false));
	assert_false(smtp_mailbox_valid("a@[1.2.3]", false));
	assert_false(smtp_mailbox_valid("@c.d", false));
	assert_false(smtp_mailbox_valid("a b@c.d", false));
	assert_false(smtp_mailbox_valid("ü@c.d", false));
	assert_true(smtp_mailbox_valid("ü@c.d", true));
}

static void test_xtext(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(smtp_xtext_decode("rfc822+3Ba+2Bb@c", out, sizeof(out)), 0);
	assert_string_equal(out, "rfc822;a+b@c");
	assert_int_equal(smtp_xtext_decode("bad+3", out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a=b", out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("abcdef", out, 4), -1);
}

static void test_line_next(void **state)
{
	(void)state;
	size_t len, used;
	assert_int_equal(line_next("EHLO x\r\nQUIT\r\n", 14, 512, &len, &used), LINE_OK);
	assert_int_equal(len, 6);
	assert_int_equal(used, 8);
	assert_int_equal(line_next("QUIT\n", 5, 512, &len, &used), LINE_OK);
	assert_int_equal(len, 4);
	assert_int_equal(line_next("QUI", 3, 512, &len, &used), LINE_NEED_MORE);
	char big[600];
	memset(big, 'a', sizeof(big));
	assert_int_equal(line_next(big, sizeof(big), 512, &len, &used), LINE_TOO_LONG);
	/* A line of exactly 510 octets plus CRLF fits in 512. */
	big[510] = '\r';
	big[511] = '\n';
	assert_int_equal(line_next(big, sizeof(big), 512, &len, &used), LINE_OK);
	assert_int_equal(len, 510);
}

/* Feeds a pipelined stream one byte at a time, as a socket might. */
static void test_bytewise_pipeline(void **state)
{
	(void)state;
	const char *stream = "EHLO a.example\r\nMAIL FROM:<x@a.example>\r\n"
		"RCPT TO:<y@b.example>\r\nDATA\r\n";
	const enum smtp_verb want[] = { SMTP_VERB_EHLO, SMTP_VERB_MAIL, SMTP_VERB_RCPT, SMTP_VERB_DATA };
	char acc[256];
	size_t have = 0, found = 0;
	for (size_t i = 0; stream[i] != '\0'; i++) {
		acc[have++] = stream[i];
		size_t len, used;
		if (line_next(acc, have, 512, &len, &used) != LINE_OK)
			continue;
		struct smtp_command cmd;
		struct smtp_error err;
		assert_int_equal(smtp_command_parse(acc, len, &cmd, &err), 0);
		assert_int_equal(cmd.verb, want[found]);
		found++;
		smtp_command_free(&cmd);
		memmove(acc, acc + used, have - used);
		have -= used;
	}
	assert_int_equal(found, 4);
	assert_int_equal(have, 0);
}

static void test_hostile(void **state)
{
	(void)state;
	struct smtp_command cmd;
	struct smtp_error err;
	char nul[] = "MAIL FROM:<a@b.c>\0X";
	assert_int_equal(smtp_command_parse(nul, sizeof(nul) - 1, &cmd, &err), -1);
	smtp_command_free(&cmd);
	assert_int_equal(parse("MAIL FROM:<a@b.c>\rRCPT", &cmd, &err), -1);
	smtp_command_free(&cmd);
	char longp[400];
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "MAIL FROM:<", 11);
	strcpy(longp + 380, "@b.example>");
	assert_int_equal(parse(longp, &cmd, &err), -1);
	smtp_command_free(&cmd);
	char many[500] = "MAIL FROM:<a@b.c>";
	for (int i = 0; i < 20; i++)
		strcat(many, " X=1");
	assert_int_equal(parse(many, &cmd, &err), -1);
	smtp_command_free(&cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_mail_rcpt),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_line_next),
		cmocka_unit_test(test_bytewise_pipeline),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
