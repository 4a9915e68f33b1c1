/* test_queue_pickup.c — the local pickup protocol: requests built with
 * the encoder parse back (whole and one byte at a time), every way of
 * breaking one is refused with its sysexits status, limits hold, replies
 * round-trip, and the sender policy and trace headers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "queue_pickup.h"

struct result {
	int envelopes;
	int done;
	bool error;
	const char *error_text;
	int error_code;
	struct buf message;
	char *sender;
	struct strv rcpts;
	unsigned notify;
	enum queue_ret ret;
	char *envid;
	bool eight_bit, smtputf8;
};

/* Feeds in in pieces of step bytes (0 = all at once). */
static void run(const void *in, size_t len, size_t step, uint64_t max_message, size_t max_rcpts,
		struct result *r)
{
	memset(r, 0, sizeof(*r));
	strv_init(&r->rcpts);
	struct queue_pickup_parser p;
	queue_pickup_parser_init(&p, max_message, max_rcpts);
	size_t off = 0;
	bool stop = false;
	while (!stop) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		const char *chunk = (const char *)in + off;
		size_t used_total = 0;
		for (;;) {
			size_t used;
			const char *d;
			size_t dl;
			enum queue_pickup_event ev = queue_pickup_parse(&p, chunk + used_total,
									n - used_total, &used, &d, &dl);
			used_total += used;
			assert_true(used_total <= n);
			if (ev == QUEUE_PICKUP_MORE) {
				assert_int_equal(used_total, n);
				break;
			}
			if (ev == QUEUE_PICKUP_ENVELOPE) {
				r->envelopes++;
				r->sender = strdup(p.req.sender);
				strv_copy(&r->rcpts, &p.req.rcpts);
				r->notify = p.req.notify;
				r->ret = p.req.ret;
				r->envid = p.req.envid != NULL ? strdup(p.req.envid) : NULL;
				r->smtputf8 = p.req.smtputf8;
			} else if (ev == QUEUE_PICKUP_DATA) {
				assert_true(dl > 0);
				assert_true(d >= chunk && d + dl <= chunk + n);
				buf_append(&r->message, d, dl);
			} else if (ev == QUEUE_PICKUP_DONE) {
				r->done++;
				r->eight_bit = p.req.eight_bit;
			} else {
				r->error = true;
				r->error_text = p.error;
				r->error_code = p.error_code;
				stop = true;
				break;
			}
		}
		off += n;
		if (off >= len)
			stop = true;
	}
	/* At the end of the input, a pending DONE still comes out. */
	if (!r->error) {
		size_t used;
		const char *d;
		size_t dl;
		enum queue_pickup_event ev = queue_pickup_parse(&p, "", 0, &used, &d, &dl);
		if (ev == QUEUE_PICKUP_DONE) {
			r->done++;
			r->eight_bit = p.req.eight_bit;
		} else if (ev == QUEUE_PICKUP_ERROR) {
			r->error = true;
			r->error_text = p.error;
			r->error_code = p.error_code;
		}
	}
	queue_pickup_parser_free(&p);
}

static void result_free(struct result *r)
{
	buf_free(&r->message);
	free(r->sender);
	free(r->envid);
	strv_free(&r->rcpts);
}

static void build(struct buf *b, const char *sender, const char *const *rcpts, size_t n,
		  const char *extra, const char *msg, size_t msg_len)
{
	queue_pickup_record(b, "pickup", "1", 1);
	queue_pickup_record(b, "sender", sender, strlen(sender));
	for (size_t i = 0; i < n; i++)
		queue_pickup_record(b, "rcpt", rcpts[i], strlen(rcpts[i]));
	if (extra != NULL)
		buf_append_str(b, extra);
	queue_pickup_record_head(b, "message", msg_len);
	buf_append(b, msg, msg_len);
}

static void test_round_trip(void **state)
{
	(void)state;
	const char *rcpts[] = { "bob@b.test", "j\xc3\xb6rg@b.test", "x+tag@[127.0.0.1]" };
	const char msg[] = "Subject: hi\r\n\r\ngr\xc3\xbc\xc3\x9f" "e\r\n.\r\n\r\n";
	struct buf extra = BUF_INIT;
	queue_pickup_record(&extra, "notify", "SUCCESS,FAILURE", 15);
	queue_pickup_record(&extra, "ret", "HDRS", 4);
	queue_pickup_record(&extra, "envid", "abc-1", 5);
	struct buf b = BUF_INIT;
	build(&b, "alice@a.test", rcpts, 3, buf_cstr(&extra), msg, strlen(msg));
	for (size_t step = 0; step <= 7; step++) {
		struct result r;
		run(b.data, b.len, step, 1000, 10, &r);
		assert_false(r.error);
		assert_int_equal(r.envelopes, 1);
		assert_int_equal(r.done, 1);
		assert_string_equal(r.sender, "alice@a.test");
		assert_int_equal(r.rcpts.n, 3);
		assert_string_equal(r.rcpts.v[1], rcpts[1]);
		assert_int_equal(r.notify, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
		assert_int_equal(r.ret, QUEUE_RET_HDRS);
		assert_string_equal(r.envid, "abc-1");
		assert_true(r.smtputf8);
		assert_true(r.eight_bit);
		assert_int_equal(r.message.len, strlen(msg));
		assert_memory_equal(r.message.data, msg, strlen(msg));
		result_free(&r);
	}
	buf_free(&b);
	buf_free(&extra);
}

static void test_null_sender_and_empty_message(void **state)
{
	(void)state;
	const char *rcpts[] = { "bob@b.test" };
	struct buf b = BUF_INIT;
	build(&b, "", rcpts, 1, NULL, "", 0);
	for (size_t step = 0; step <= 2; step++) {
		struct result r;
		run(b.data, b.len, step, 1000, 10, &r);
		assert_false(r.error);
		assert_int_equal(r.done, 1);
		assert_string_equal(r.sender, "");
		assert_int_equal(r.message.len, 0);
		assert_false(r.smtputf8);
		assert_false(r.eight_bit);
		assert_int_equal(r.ret, QUEUE_RET_DEFAULT);
		assert_null(r.envid);
		result_free(&r);
	}
	buf_free(&b);
}

struct bad_case {
	const char *in;
	size_t len;
	int code;
	const char *error;
};

#define ENV "pickup 1\n1sender 8\na@b.testrcpt 8\nc@d.test"

#define C(s, code, error) { s, sizeof(s) - 1, code, error }

static const struct bad_case bad_cases[] = {
	C("HELO x\n", 76, "malformed record head"),
	C(" 1\n", 76, "malformed record head"),
	C("pickup1\n", 76, "malformed record head"),
	C("pickup \n", 76, "malformed record head"),
	C("pickup 01\n1", 76, "malformed record length"),
	C("pickup 1x\n", 76, "malformed record head"),
	C("pickup 123456789012345678901\n", 76, "malformed record length"),
	C("pickup 99999999999999999999\n", 76, "malformed record length"),
	C("averyveryveryveryveryverylongrecordname 1\n", 76, "record head too long"),
	C("pickup 1\n2", 76, "unsupported protocol version"),
	C("sender 0\n", 76, "the first record must be"),
	C("pickup 1\n1pickup 1\n1", 76, "record given twice"),
	C("pickup 1\n1frob 0\n", 76, "unknown record"),
	C("pickup 1\n1sender 3\na b", 64, "bad sender address"),
	C("pickup 1\n1sender 1025\n", 76, "record value too long"),
	C("pickup 1\n1sender 0\nrcpt 3\n@b.", 64, "bad recipient address"),
	C("pickup 1\n1sender 0\nrcpt 5\na@b.\0", 64, "bad recipient address"),
	C("pickup 1\n1sender 0\nrcpt 7\n<a@b.c>", 64, "bad recipient address"),
	C("pickup 1\n1sender 0\nmessage 0\n", 64, "no recipients"),
	C("pickup 1\n1rcpt 3\na@b" "message 0\n", 76, "no sender"),
	C(ENV "notify 5\nMAYBE", 64, "bad DSN NOTIFY"),
	C(ENV "notify 13\nNEVER,SUCCESS", 64, "bad DSN NOTIFY"),
	C(ENV "ret 4\nbody", 64, "bad DSN RET"),
	C(ENV "envid 3\na b", 64, "bad DSN ENVID"),
	C(ENV "sender 0\n", 76, "record given twice"),
	C(ENV "rcpt 8\ne@f.testrcpt 8\ng@h.test", 64, "too many recipients"),
	C(ENV "message 1001\n", 65, "message too large"),
	C(ENV "message 3\nx\ny", 65, "bare LF"),
	C(ENV "message 3\nx\rx", 65, "bare CR"),
	C(ENV "message 3\nx\r\0", 65, "NUL"),
	C(ENV "message 3\nx\0\n", 65, "NUL"),
	C(ENV "message 2\n\r\r", 65, "bare CR"),
	C(ENV "message 3\nabc", 65, "does not end with a line break"),
	C(ENV "message 2\n\r\nmore", 76, "data after the message"),
};

#undef C

static void test_bad_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len;
		for (size_t step = 0; step <= 3; step++) {
			struct result r;
			run(c->in, len, step, 1000, 2, &r);
			if (!r.error || r.error_code != c->code || strstr(r.error_text, c->error) == NULL)
				fail_msg("case %zu (step %zu): error %d \"%s\", wanted %d \"%s\"", i, step,
					 r.error ? r.error_code : 0, r.error ? r.error_text : "none", c->code,
					 c->error);
			/* Only trailing junk comes after a complete request. */
			assert_int_equal(r.done, strstr(c->error, "after") != NULL ? 1 : 0);
			result_free(&r);
		}
	}
}

static void test_stays_in_error(void **state)
{
	(void)state;
	struct queue_pickup_parser p;
	queue_pickup_parser_init(&p, 100, 10);
	size_t used;
	const char *d;
	size_t dl;
	assert_int_equal(queue_pickup_parse(&p, "X", 1, &used, &d, &dl), QUEUE_PICKUP_ERROR);
	assert_int_equal(queue_pickup_parse(&p, "pickup 1\n1", 10, &used, &d, &dl),
			 QUEUE_PICKUP_ERROR);
	assert_int_equal(used, 0);
	queue_pickup_parser_free(&p);
}

static void test_addresses(void **state)
{
	(void)state;
	assert_true(queue_pickup_address_ok("a@b", 3));
	assert_true(queue_pickup_address_ok("user+tag@[192.0.2.1]", 20));
	assert_true(queue_pickup_address_ok("j\xc3\xb6rg@b.test", 12));
	assert_false(queue_pickup_address_ok("ab", 2));
	assert_false(queue_pickup_address_ok("@b.test", 7));
	assert_false(queue_pickup_address_ok("a@", 2));
	assert_false(queue_pickup_address_ok("a@b.test ", 9));
	assert_false(queue_pickup_address_ok("a\t@b.test", 9));
	assert_false(queue_pickup_address_ok("a@b\x7f", 4));
	char long_addr[300];
	memset(long_addr, 'a', sizeof(long_addr));
	memcpy(long_addr + 250, "@b.test", 7);
	assert_false(queue_pickup_address_ok(long_addr, 257));
	assert_true(queue_pickup_address_ok(long_addr + 6, 251));
}

static void test_replies(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	int code;
	char *text;
	queue_pickup_reply_ok(&b, "6B0A397298BF977E20001");
	assert_string_equal(b.data, "ok 6B0A397298BF977E20001\n");
	assert_int_equal(queue_pickup_reply_parse(b.data, b.len, &code, &text), 0);
	assert_int_equal(code, 0);
	assert_string_equal(text, "6B0A397298BF977E20001");
	free(text);
	buf_reset(&b);
	queue_pickup_reply_fail(&b, 75, "disk\nfull\x7f");
	assert_string_equal(b.data, "fail 75 disk?full?\n");
	assert_int_equal(queue_pickup_reply_parse(b.data, b.len, &code, &text), 0);
	assert_int_equal(code, 75);
	assert_string_equal(text, "disk?full?");
	free(text);
	buf_reset(&b);
	/* Long texts are cut to fit a reply. */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	queue_pickup_reply_fail(&b, 0, big);
	assert_true(b.len <= QUEUE_PICKUP_MAX_REPLY);
	assert_int_equal(queue_pickup_reply_parse(b.data, b.len, &code, &text), 0);
	assert_int_equal(code, 70);
	free(text);
	buf_free(&b);
	/* A reply with a text longer than the writer makes is refused, so
	 * what parses is what the writer writes again (found by fuzz_pickup). */
	char longer[QUEUE_PICKUP_MAX_REPLY];
	memcpy(longer, "fail 75 ", 8);
	memset(longer + 8, 'y', sizeof(longer) - 9);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(queue_pickup_reply_parse(longer, strlen(longer), &code, &text), -1);
	static const char *const bad[] = { "", "ok", "ok ", "ok a-b", "fail", "fail x",
					   "fail 0 x", "fail 256 x", "fail 7500", "fail 75x",
					   "oops 1", "ok a\nb", "fail 75 \x1b[31m" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		if (queue_pickup_reply_parse(bad[i], strlen(bad[i]), &code, &text) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(queue_pickup_reply_parse("fail 64", 7, &code, &text), 0);
	assert_int_equal(code, 64);
	assert_string_equal(text, "");
	free(text);
}

static void test_sender_policy(void **state)
{
	(void)state;
	/* Root and the server's own user are trusted. */
	assert_false(queue_pickup_sender_warns(0, 999, "root", "mx.test", "any@where.test"));
	assert_false(queue_pickup_sender_warns(999, 999, "correu", "mx.test", ""));
	/* A user's own address, domain in any case. */
	assert_false(queue_pickup_sender_warns(33, 999, "www-data", "mx.test", "www-data@MX.test"));
	assert_true(queue_pickup_sender_warns(33, 999, "www-data", "mx.test", "shop@mx.test"));
	assert_true(queue_pickup_sender_warns(33, 999, "www-data", "mx.test", "www-data@other.test"));
	assert_true(queue_pickup_sender_warns(33, 999, "www", "mx.test", "www-data@mx.test"));
	assert_true(queue_pickup_sender_warns(33, 999, "www-data", "mx.test", ""));
	/* No name: nothing to compare with. */
	assert_true(queue_pickup_sender_warns(54321, 999, NULL, "mx.test", "nobody@mx.test"));
}

static void test_trace_headers(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	struct queue_pickup_trace t = {
		.hostname = "mx.test", .queue_id = "ID1", .uid = 33, .user = "www-data",
		.sender = "shop@x.test", .warn = true, .when = 0,
	};
	queue_pickup_trace_append(&b, &t);
	static const char want[] = "Received: by mx.test (correu, from userid 33, www-data)\r\n"
		"\tid ID1; ";
	assert_memory_equal(b.data, want, sizeof(want) - 1);
	assert_non_null(strstr(b.data, "\r\nX-Authentication-Warning: mx.test: www-data set "
			       "sender to shop@x.test using -f\r\n"));
	buf_reset(&b);
	t.user = "we(ird)\\";
	t.sender = "";
	queue_pickup_trace_append(&b, &t);
	assert_non_null(strstr(b.data, "from userid 33, we_ird__)\r\n"));
	assert_non_null(strstr(b.data, ": we_ird__ set sender to <> using -f\r\n"));
	buf_reset(&b);
	t.user = NULL;
	t.warn = false;
	queue_pickup_trace_append(&b, &t);
	assert_non_null(strstr(b.data, "(correu, from userid 33)\r\n"));
	assert_null(strstr(b.data, "X-Authentication-Warning"));
	/* Every line ends in CRLF. */
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\n')
			assert_true(i > 0 && b.data[i - 1] == '\r');
	buf_reset(&b);
	t.warn = true;
	queue_pickup_trace_append(&b, &t);
	assert_non_null(strstr(b.data, ": userid 33 set sender to"));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_null_sender_and_empty_message),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_stays_in_error),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_sender_policy),
		cmocka_unit_test(test_trace_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
