/* test_queue_dsn.c — RFC 3464 DSNs: structure, per-recipient fields,
 * returned content per RET, and the rules that prevent bounce loops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mail_header.h"
#include "queue_dsn.h"

static const char original[] =
	"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: hello\r\n"
	"Message-ID: <m1@a.test>\r\n\r\nsecret body line\r\n";

static void make_env(struct queue_envelope *e)
{
	queue_envelope_init(e);
	e->id = strdup("ABC123");
	e->sender = strdup("alice@a.test");
	e->envid = strdup("env-42");
	e->arrival = 1700000000;
	struct queue_rcpt *r = queue_envelope_add_rcpt(e, "bob@b.test", 0, "rfc822;Bob@b.test");
	r->last_error = strdup("550 5.1.1 <bob@b.test>: Recipient address rejected: User unknown "
			       "in virtual mailbox table and this text is long enough to fold");
	r->remote_mta = strdup("mx.b.test[127.0.0.2]");
	strcpy(r->status_code, "5.1.1");
	r->last_attempt = 1700000100;
	r = queue_envelope_add_rcpt(e, "carol@c.test", 0, NULL);
	r->last_error = strdup("connect to mx.c.test[127.0.0.3]: Connection refused");
	strcpy(r->status_code, "4.4.1");
	r->last_attempt = 1700000100;
}

static char *build(const struct queue_envelope *e, const struct queue_dsn_item *items, size_t n,
		   bool full)
{
	struct queue_dsn_params p = { "mx.a.test", 1700000200, 1700432000 };
	struct buf out = BUF_INIT;
	queue_dsn_build(&p, e, items, n, original, full ? strlen(original) :
			(size_t)(strstr(original, "\r\n\r\n") + 4 - original), full, &out);
	return buf_steal(&out);
}

static void test_bounce(void **state)
{
	(void)state;
	struct queue_envelope e;
	make_env(&e);
	struct queue_dsn_item items[] = {
		{ &e.rcpts[0], QUEUE_DSN_FAILED },
		{ &e.rcpts[1], QUEUE_DSN_DELAYED },
	};
	char *msg = build(&e, items, 2, false);
	size_t len = strlen(msg);
	/* Every line ends in CRLF and none is longer than 998. */
	for (size_t i = 0, col = 0; i < len; i++, col++) {
		if (msg[i] == '\n') {
			assert_true(i > 0 && msg[i - 1] == '\r');
			col = 0;
		}
		assert_true(col < 998);
		assert_true((unsigned char)msg[i] < 0x80);
	}
	char *v = mail_header_get(msg, len, "Content-Type");
	assert_non_null(strstr(v, "multipart/report"));
	assert_non_null(strstr(v, "report-type=delivery-status"));
	free(v);
	v = mail_header_get(msg, len, "To");
	assert_string_equal(v, "<alice@a.test>");
	free(v);
	v = mail_header_get(msg, len, "Subject");
	assert_string_equal(v, "Undelivered Mail Returned to Sender");
	free(v);
	v = mail_header_get(msg, len, "Auto-Submitted");
	assert_string_equal(v, "auto-replied");
	free(v);
	v = mail_header_get(msg, len, "Date");
	assert_non_null(v);
	free(v);
	assert_non_null(strstr(msg, "Content-Type: message/delivery-status\r\n"
			       "Content-Transfer-Encoding: 7bit\r\n"));
	assert_non_null(strstr(msg, "Reporting-MTA: dns; mx.a.test\r\n"));
	assert_non_null(strstr(msg, "Original-Envelope-Id: env-42\r\n"));
	assert_non_null(strstr(msg, "Original-Recipient: rfc822; Bob@b.test\r\n"));
	assert_non_null(strstr(msg, "Final-Recipient: rfc822; bob@b.test\r\n"));
	assert_non_null(strstr(msg, "Action: failed\r\nStatus: 5.1.1\r\n"));
	assert_non_null(strstr(msg, "Remote-MTA: dns; mx.b.test[127.0.0.2]\r\n"));
	/* The long diagnostic is folded, not cut. */
	assert_non_null(strstr(msg, "Diagnostic-Code: smtp; 550 5.1.1"));
	assert_non_null(strstr(msg, "\r\n   "));
	assert_non_null(strstr(msg, "Final-Recipient: rfc822; carol@c.test\r\n"
			       "Action: delayed\r\nStatus: 4.4.1\r\n"));
	assert_non_null(strstr(msg, "Diagnostic-Code: x-correu; connect to"));
	assert_non_null(strstr(msg, "Will-Retry-Until: "));
	/* Headers only by default: the body stays private. */
	assert_non_null(strstr(msg, "Content-Type: text/rfc822-headers"));
	assert_non_null(strstr(msg, "Subject: hello\r\n"));
	assert_null(strstr(msg, "secret body line"));
	free(msg);

	msg = build(&e, items, 1, true);
	assert_non_null(strstr(msg, "Content-Type: message/rfc822"));
	assert_non_null(strstr(msg, "secret body line"));
	assert_null(strstr(msg, "carol@c.test"));
	free(msg);
	queue_envelope_free(&e);
}

static void test_success_and_subjects(void **state)
{
	(void)state;
	struct queue_envelope e;
	make_env(&e);
	struct queue_dsn_item items[] = { { &e.rcpts[1], QUEUE_DSN_DELAYED } };
	char *msg = build(&e, items, 1, false);
	char *v = mail_header_get(msg, strlen(msg), "Subject");
	assert_string_equal(v, "Delayed Mail (still being retried)");
	free(v);
	free(msg);
	free(e.rcpts[0].last_error);
	e.rcpts[0].last_error = strdup("250 2.0.0 Ok");
	strcpy(e.rcpts[0].status_code, "2.0.0");
	struct queue_dsn_item ok[] = { { &e.rcpts[0], QUEUE_DSN_RELAYED } };
	msg = build(&e, ok, 1, false);
	v = mail_header_get(msg, strlen(msg), "Subject");
	assert_string_equal(v, "Successful Mail Delivery Report");
	free(v);
	assert_non_null(strstr(msg, "Action: relayed\r\nStatus: 2.0.0\r\n"));
	free(msg);
	queue_envelope_free(&e);
}

static void test_wanted(void **state)
{
	(void)state;
	struct queue_envelope e;
	make_env(&e);
	struct queue_rcpt *r = &e.rcpts[0];
	assert_true(queue_dsn_wanted(&e, r, QUEUE_DSN_FAILED));
	assert_true(queue_dsn_wanted(&e, r, QUEUE_DSN_DELAYED));
	assert_false(queue_dsn_wanted(&e, r, QUEUE_DSN_DELIVERED));
	r->notify = QUEUE_NOTIFY_NEVER;
	assert_false(queue_dsn_wanted(&e, r, QUEUE_DSN_FAILED));
	r->notify = QUEUE_NOTIFY_SUCCESS;
	assert_true(queue_dsn_wanted(&e, r, QUEUE_DSN_RELAYED));
	assert_false(queue_dsn_wanted(&e, r, QUEUE_DSN_FAILED));
	/* Never for a null sender or a DSN. */
	r->notify = 0;
	free(e.sender);
	e.sender = strdup("");
	assert_false(queue_dsn_wanted(&e, r, QUEUE_DSN_FAILED));
	free(e.sender);
	e.sender = strdup("alice@a.test");
	e.is_dsn = true;
	assert_false(queue_dsn_wanted(&e, r, QUEUE_DSN_FAILED));

	struct queue_envelope d;
	queue_dsn_envelope(&e, &d);
	assert_string_equal(d.sender, "");
	assert_int_equal(d.n_rcpts, 1);
	assert_string_equal(d.rcpts[0].address, "alice@a.test");
	assert_int_equal(d.rcpts[0].notify, QUEUE_NOTIFY_NEVER);
	assert_true(d.is_dsn);
	/* A bounce of the bounce is impossible. */
	assert_false(queue_dsn_wanted(&d, &d.rcpts[0], QUEUE_DSN_FAILED));
	queue_envelope_free(&d);
	queue_envelope_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounce),
		cmocka_unit_test(test_success_and_subjects),
		cmocka_unit_test(test_wanted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
