/* test_build.c — unit tests of what the webmail builds: JSON from IMAP
 * ENVELOPE/BODYSTRUCTURE (web_json.c), outgoing MIME messages
 * (web_mime.c), and the submission client's reply parser and
 * dot-stuffing (web_smtp.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "web_json.h"
#include "web_mime.h"
#include "web_smtp.h"

static struct imap_node *parse_fetch(const char *line, struct imap_response *r)
{
	size_t used;
	const char *error;
	assert_int_equal(imap_response_parse(line, strlen(line), r, &used, &error), 1);
	return &r->args.items[0];
}

static void test_envelope(void **state)
{
	(void)state;
	struct imap_response r;
	const struct imap_node *a = parse_fetch("* 1 FETCH (ENVELOPE (\"Tue, 1 Jul 2003 10:52:37 +0200\" "
		"\"=?ISO-8859-1?Q?Caf=E9?= au lait\" ((\"=?UTF-8?B?Sm9zw6k=?=\" NIL \"jose\" \"example.org\")) "
		"NIL NIL ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b.c\")(NIL NIL NIL NIL)) NIL NIL NIL \"<m@x>\") "
		"FLAGS (\\Recent \\Seen))\r\n", &r);
	json_t *o = web_json_envelope(imap_fetch_attr(a, "ENVELOPE"));
	assert_string_equal(json_string_value(json_object_get(o, "subject")), "Café au lait");
	json_t *from = json_object_get(o, "from");
	assert_int_equal(json_array_size(from), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(from, 0), "name")), "José");
	assert_string_equal(json_string_value(json_object_get(json_array_get(from, 0), "email")),
			    "jose@example.org");
	/* Group markers are skipped. */
	assert_int_equal(json_array_size(json_object_get(o, "to")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "message_id")), "<m@x>");
	json_t *flags = web_json_flags(imap_fetch_attr(a, "FLAGS"));
	/* \Recent is dropped. */
	assert_int_equal(json_array_size(flags), 1);
	assert_string_equal(json_string_value(json_array_get(flags, 0)), "\\Seen");
	json_decref(flags);
	json_decref(o);
	/* Invalid UTF-8 from the server is repaired, never passed on. */
	json_t *s = web_json_string("a\xff" "b", 3);
	assert_string_equal(json_string_value(s), "a\xef\xbf\xbd" "b");
	json_decref(s);
	imap_response_free(&r);
}

static void test_bodystructure(void **state)
{
	(void)state;
	struct imap_response r;
	const struct imap_node *a = parse_fetch("* 1 FETCH (BODYSTRUCTURE ((("
		"\"TEXT\" \"PLAIN\" (\"CHARSET\" \"iso-8859-1\") NIL NIL \"QUOTED-PRINTABLE\" 10 1 NIL NIL NIL NIL)("
		"\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 20 1 NIL NIL NIL NIL) \"ALTERNATIVE\" "
		"(\"BOUNDARY\" \"b2\") NIL NIL NIL)("
		"\"IMAGE\" \"PNG\" (\"NAME\" \"x.png\") \"<logo@x>\" NIL \"BASE64\" 100 NIL (\"INLINE\" NIL) NIL NIL)("
		"\"APPLICATION\" \"PDF\" NIL NIL NIL \"BASE64\" 300 NIL (\"ATTACHMENT\" (\"FILENAME*\" "
		"\"utf-8''%E2%82%AC.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL))\r\n", &r);
	struct web_parts parts;
	web_parts_from_bodystructure(imap_fetch_attr(a, "BODYSTRUCTURE"), &parts);
	assert_int_equal(parts.n, 4);
	assert_string_equal(parts.v[0].section, "1.1");
	assert_string_equal(parts.v[0].subtype, "plain");
	assert_string_equal(parts.v[0].charset, "iso-8859-1");
	assert_string_equal(parts.v[0].encoding, "quoted-printable");
	assert_string_equal(parts.v[0].parent_subtype, "alternative");
	assert_string_equal(parts.v[1].section, "1.2");
	assert_string_equal(parts.v[2].section, "2");
	assert_string_equal(parts.v[2].content_id, "logo@x");
	assert_string_equal(parts.v[2].filename, "x.png");
	assert_string_equal(parts.v[3].section, "3");
	assert_string_equal(parts.v[3].disposition, "attachment");
	assert_string_equal(parts.v[3].filename, "\xe2\x82\xac.pdf");
	assert_int_equal(parts.v[3].size, 300);
	web_parts_free(&parts);
	imap_response_free(&r);
	/* A single-part message is section 1. */
	a = parse_fetch("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1))\r\n", &r);
	web_parts_from_bodystructure(imap_fetch_attr(a, "BODYSTRUCTURE"), &parts);
	assert_int_equal(parts.n, 1);
	assert_string_equal(parts.v[0].section, "1");
	web_parts_free(&parts);
	imap_response_free(&r);
}

static void test_mime_build(void **state)
{
	(void)state;
	struct web_mime_attachment att = { "Bericht ü.pdf", "application/pdf", "%PDF-1.4\n\x01\x02", 11 };
	struct web_mime_msg m = {
		.from = "alice@example.test",
		.from_name = "Alice Ünd",
		.to = "Bob <bob@example.test>, carol@example.test",
		.cc = "\"Dave, Jr.\" <dave@example.test>",
		.bcc = "eve@example.test",
		.subject = "Grüße aus Köln",
		.text = "Line one\n.\nFrom the start\n",
		.in_reply_to = "<a@x>",
		.references = "<z@x> <a@x>",
		.atts = &att,
		.n_atts = 1,
		.date = 1700000000,
		.message_id = "<fixed@example.test>",
	};
	struct buf out = BUF_INIT;
	struct strv rcpts;
	strv_init(&rcpts);
	const char *error;
	assert_int_equal(web_mime_build(&m, &out, &rcpts, &error), 0);
	assert_int_equal(rcpts.n, 4);
	assert_string_equal(rcpts.v[0], "bob@example.test");
	assert_string_equal(rcpts.v[2], "dave@example.test");
	assert_string_equal(rcpts.v[3], "eve@example.test");
	const char *msg = buf_cstr(&out);
	assert_non_null(strstr(msg, "Message-ID: <fixed@example.test>\r\n"));
	assert_non_null(strstr(msg, "In-Reply-To: <a@x>\r\n"));
	assert_non_null(strstr(msg, "References: <z@x> <a@x>\r\n"));
	assert_non_null(strstr(msg, "Subject: =?"));		/* encoded word */
	assert_null(strstr(msg, "Bcc:"));			/* only in drafts */
	assert_null(strstr(msg, "Grüße"));			/* no raw 8-bit header */
	assert_non_null(strstr(msg, "multipart/mixed"));
	assert_non_null(strstr(msg, "application/pdf"));
	assert_non_null(strstr(msg, "Content-Transfer-Encoding: base64"));
	assert_non_null(strstr(msg, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	/* CRLF only. */
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\n')
			assert_true(i > 0 && out.data[i - 1] == '\r');
	buf_free(&out);
	strv_free(&rcpts);

	/* Drafts keep Bcc. */
	m.keep_bcc = true;
	strv_init(&rcpts);
	assert_int_equal(web_mime_build(&m, &out, &rcpts, &error), 0);
	assert_non_null(strstr(buf_cstr(&out), "Bcc: eve@example.test"));
	buf_free(&out);
	strv_free(&rcpts);
}

static void test_mime_refuses(void **state)
{
	(void)state;
	static const char *const bad_to[] = {
		"bob@example.test\r\nBcc: x@y", "not an address", "a@", "@b", "a@b@c", "<bob@example.test",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_to); i++) {
		struct web_mime_msg m = { .from = "alice@example.test", .to = bad_to[i], .subject = "s",
					  .text = "t", .date = 0 };
		struct buf out = BUF_INIT;
		struct strv rcpts;
		strv_init(&rcpts);
		const char *error = NULL;
		if (web_mime_build(&m, &out, &rcpts, &error) != -1)
			fail_msg("accepted To: %s", bad_to[i]);
		assert_non_null(error);
		buf_free(&out);
		strv_free(&rcpts);
	}
	struct web_mime_msg m = { .from = "alice@example.test", .to = "b@c.d", .subject = "a\r\nBcc: x@y",
				  .text = "t" };
	struct buf out = BUF_INIT;
	struct strv rcpts;
	strv_init(&rcpts);
	const char *error;
	assert_int_equal(web_mime_build(&m, &out, &rcpts, &error), -1);
	m.subject = "ok";
	m.references = "<a@b>\r\nX: y";
	assert_int_equal(web_mime_build(&m, &out, &rcpts, &error), -1);
	buf_free(&out);
	strv_free(&rcpts);
}

static void test_smtp_reply(void **state)
{
	(void)state;
	const char *in = "250-mail.example.test\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n354 go\r\n";
	size_t lens[] = { 0, 1 };
	for (size_t k = 0; k < N_ELEMENTS(lens); k++) {
		int code;
		size_t used = 0;
		struct buf text = BUF_INIT;
		int ret = 0;
		size_t reply_len = strlen("250-mail.example.test\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n");
		for (size_t n = lens[k] == 0 ? strlen(in) : 0; n <= strlen(in) && ret == 0; n++) {
			buf_reset(&text);
			ret = web_smtp_reply_parse(in, n, &code, &text, &used);
			if (n < reply_len)
				assert_int_equal(ret, 0);
		}
		assert_int_equal(ret, 1);
		assert_int_equal(code, 250);
		assert_int_equal(used, reply_len);
		assert_string_equal(buf_cstr(&text), "mail.example.test\nAUTH PLAIN LOGIN\nSMTPUTF8");
		buf_free(&text);
	}
	int code;
	size_t used;
	struct buf text = BUF_INIT;
	assert_int_equal(web_smtp_reply_parse("250-a\r\n251 b\r\n", 14, &code, &text, &used), -1);
	assert_int_equal(web_smtp_reply_parse("hello\r\n", 7, &code, &text, &used), -1);
	assert_int_equal(web_smtp_reply_parse("250x\r\n", 6, &code, &text, &used), -1);
	buf_free(&text);
}

static void test_dot_stuff(void **state)
{
	(void)state;
	struct buf in = BUF_INIT, out = BUF_INIT;
	buf_append_str(&in, ".start\r\nmid.dle\r\n.\r\n..two\r\nend");
	web_smtp_dot_stuff(&in, &out);
	assert_string_equal(buf_cstr(&out), "..start\r\nmid.dle\r\n..\r\n...two\r\nend\r\n.\r\n");
	buf_free(&in);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_bodystructure),
		cmocka_unit_test(test_mime_build),
		cmocka_unit_test(test_mime_refuses),
		cmocka_unit_test(test_smtp_reply),
		cmocka_unit_test(test_dot_stuff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
