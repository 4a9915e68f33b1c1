/* test_queue_env.c — the envelope file format: round trips with awkward
 * values, strict rejection of damaged files, NOTIFY lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "queue_env.h"

static void fill(struct queue_envelope *e)
{
	queue_envelope_init(e);
	e->id = strdup("6B0A397298BF977E20001");
	e->sender = strdup("al ice%\"odd\"@a.test");
	e->body = QUEUE_BODY_8BITMIME;
	e->smtputf8 = true;
	e->ret = QUEUE_RET_FULL;
	e->envid = strdup("-starts with dash");
	e->auth_user = strdup("alice@a.test");
	e->client_ip = strdup("::1");
	e->client_helo = strdup("");
	e->skip = 27;
	e->size = 12345;
	e->arrival = 1700000000;
	e->next_attempt = 1700000300;
	e->held = true;
	struct queue_rcpt *r = queue_envelope_add_rcpt(e, "bob@b.test",
						       QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE,
						       "rfc822;Bob@B.test");
	r->status = QUEUE_RCPT_PENDING;
	r->attempts = 3;
	r->last_attempt = 1700000200;
	r->last_error = strdup("451 4.3.0 try\tlater\nplease");
	r->remote_mta = strdup("mx.b.test[127.0.0.2]");
	strcpy(r->status_code, "4.3.0");
	r->delay_warned = true;
	r = queue_envelope_add_rcpt(e, "j\xc3\xb6rg@b.test", 0, NULL);
	r->status = QUEUE_RCPT_SENT;
	r = queue_envelope_add_rcpt(e, "-", QUEUE_NOTIFY_NEVER, NULL);
	r->status = QUEUE_RCPT_FAILED;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct queue_envelope e, back;
	fill(&e);
	struct buf b = BUF_INIT;
	queue_env_format(&e, &b);
	/* No field may break the line structure. */
	size_t lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	assert_int_equal(lines, 20);
	const char *err = NULL;
	assert_int_equal(queue_env_parse(b.data, b.len, &back, &err), 0);
	assert_string_equal(back.id, e.id);
	assert_string_equal(back.sender, e.sender);
	assert_int_equal(back.body, QUEUE_BODY_8BITMIME);
	assert_true(back.smtputf8);
	assert_int_equal(back.ret, QUEUE_RET_FULL);
	assert_string_equal(back.envid, e.envid);
	assert_string_equal(back.auth_user, e.auth_user);
	assert_string_equal(back.client_ip, "::1");
	assert_string_equal(back.client_helo, "");
	assert_int_equal(back.skip, 27);
	assert_int_equal(back.size, 12345);
	assert_int_equal(back.arrival, 1700000000);
	assert_int_equal(back.next_attempt, 1700000300);
	assert_true(back.held);
	assert_false(back.is_dsn);
	assert_int_equal(back.n_rcpts, 3);
	struct queue_rcpt *r = &back.rcpts[0];
	assert_string_equal(r->address, "bob@b.test");
	assert_int_equal(r->notify, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
	assert_string_equal(r->orcpt, "rfc822;Bob@B.test");
	assert_int_equal(r->attempts, 3);
	assert_int_equal(r->last_attempt, 1700000200);
	assert_string_equal(r->last_error, "451 4.3.0 try\tlater\nplease");
	assert_string_equal(r->remote_mta, "mx.b.test[127.0.0.2]");
	assert_string_equal(r->status_code, "4.3.0");
	assert_true(r->delay_warned);
	assert_string_equal(back.rcpts[1].address, "j\xc3\xb6rg@b.test");
	assert_int_equal(back.rcpts[1].status, QUEUE_RCPT_SENT);
	assert_null(back.rcpts[1].orcpt);
	assert_null(back.rcpts[1].last_error);
	assert_string_equal(back.rcpts[2].address, "-");
	assert_int_equal(back.rcpts[2].status, QUEUE_RCPT_FAILED);

	/* Copies are deep and equal. */
	struct queue_envelope copy;
	queue_envelope_copy(&copy, &e);
	struct buf b2 = BUF_INIT;
	queue_env_format(&copy, &b2);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);
	buf_free(&b2);
	queue_envelope_free(&copy);
	queue_envelope_free(&back);
	queue_envelope_free(&e);
	buf_free(&b);
}

static void test_damaged(void **state)
{
	(void)state;
	struct queue_envelope e;
	fill(&e);
	struct buf b = BUF_INIT;
	queue_env_format(&e, &b);
	queue_envelope_free(&e);
	const char *err;
	struct queue_envelope back;
	/* Every truncation fails cleanly (the "end" line is the seal). */
	for (size_t len = 0; len < b.len; len++) {
		err = NULL;
		assert_int_equal(queue_env_parse(b.data, len, &back, &err), -1);
		assert_non_null(err);
	}
	static const char *const bad[] = {
		"correu-queue 2\nid A\nsender %\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A/B\nsender %\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %\nrcpt a@b maybe 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %\nrcpt a@b pending 99 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %\nrcpt a@b pending 0 0 0 0 - - -\nend\n",
		"correu-queue 1\nid A\nsender %ZZ\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %00\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %\nend\n",
		"correu-queue 1\nid A\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %\nbody 9BIT\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %\nheld 2\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
		"correu-queue 1\nid A\nsender %\nsize -1\nrcpt a@b pending 0 0 0 0 - - - -\nend\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(queue_env_parse(bad[i], strlen(bad[i]), &back, &err), -1);
		assert_non_null(err);
	}
	/* Unknown keys of a later version are skipped. */
	const char *ok = "correu-queue 1\nid A\nsender %\nfuture 1\n"
		"rcpt a@b pending 0 0 0 0 - - - -\nend\n";
	assert_int_equal(queue_env_parse(ok, strlen(ok), &back, &err), 0);
	assert_string_equal(back.sender, "");
	queue_envelope_free(&back);
	buf_free(&b);
}

static void test_notify(void **state)
{
	(void)state;
	unsigned n;
	assert_int_equal(queue_notify_parse("success,FAILURE", &n), 0);
	assert_int_equal(n, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
	assert_int_equal(queue_notify_parse("NEVER", &n), 0);
	assert_int_equal(n, QUEUE_NOTIFY_NEVER);
	assert_int_equal(queue_notify_parse("NEVER,DELAY", &n), -1);
	assert_int_equal(queue_notify_parse("", &n), -1);
	assert_int_equal(queue_notify_parse("SUCCESS,", &n), -1);
	assert_int_equal(queue_notify_parse("SOMETIMES", &n), -1);
	struct buf b = BUF_INIT;
	queue_notify_format(QUEUE_NOTIFY_DELAY | QUEUE_NOTIFY_SUCCESS, &b);
	assert_string_equal(buf_cstr(&b), "SUCCESS,DELAY");
	buf_free(&b);

	struct queue_rcpt r;
	memset(&r, 0, sizeof(r));
	assert_true(queue_rcpt_wants(&r, QUEUE_NOTIFY_FAILURE));
	assert_true(queue_rcpt_wants(&r, QUEUE_NOTIFY_DELAY));
	assert_false(queue_rcpt_wants(&r, QUEUE_NOTIFY_SUCCESS));
	r.notify = QUEUE_NOTIFY_NEVER;
	assert_false(queue_rcpt_wants(&r, QUEUE_NOTIFY_FAILURE));
	r.notify = QUEUE_NOTIFY_SUCCESS;
	assert_true(queue_rcpt_wants(&r, QUEUE_NOTIFY_SUCCESS));
	assert_false(queue_rcpt_wants(&r, QUEUE_NOTIFY_FAILURE));
}

static void test_ids(void **state)
{
	(void)state;
	char *a = queue_id_new(), *b = queue_id_new();
	assert_true(queue_id_valid(a));
	assert_true(queue_id_valid(b));
	assert_string_not_equal(a, b);
	assert_true(strlen(a) < 32);
	free(a);
	free(b);
	assert_false(queue_id_valid(""));
	assert_false(queue_id_valid("../etc"));
	assert_false(queue_id_valid("A.env"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
