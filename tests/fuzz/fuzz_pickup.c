/* fuzz_pickup.c — libFuzzer target for the local pickup protocol
 * (src/queue/queue_pickup.c), which the queue process runs on any local
 * user's bytes. Oracles: feeding the input at once and in pieces gives
 * the same events, envelope and error (and message, when complete); a complete request
 * encoded again parses to the same thing; a reply line that parses is
 * formatted back to one that parses the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "queue_pickup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	struct buf events;	/* one letter per event */
	struct buf message;
	struct buf envelope;	/* the parsed fields, flattened */
	int error_code;
};

static void flatten(const struct queue_pickup_request *r, struct buf *out)
{
	buf_appendf(out, "%s|%u|%d|%s|%d|", r->sender, r->notify, (int)r->ret,
		    r->envid != NULL ? r->envid : "-", (int)r->smtputf8);
	for (size_t i = 0; i < r->rcpts.n; i++)
		buf_appendf(out, "%s,", r->rcpts.v[i]);
}

static void feed(const uint8_t *data, size_t size, size_t step, struct outcome *o,
		 struct queue_pickup_parser *p)
{
	memset(o, 0, sizeof(*o));
	queue_pickup_parser_init(p, 4096, 8);
	size_t off = 0;
	for (;;) {
		size_t n = size - off < step ? size - off : step;
		size_t used_total = 0;
		enum queue_pickup_event ev;
		do {
			size_t used;
			const char *d;
			size_t dl;
			ev = queue_pickup_parse(p, data + off + used_total, n - used_total, &used, &d,
						&dl);
			used_total += used;
			if (used_total > n)
				abort();
			switch (ev) {
			case QUEUE_PICKUP_ENVELOPE:
				buf_append_char(&o->events, 'E');
				flatten(&p->req, &o->envelope);
				if (p->req.rcpts.n == 0 || p->req.message_size > 4096)
					abort();
				break;
			case QUEUE_PICKUP_DATA:
				if (dl == 0 || d < (const char *)data + off ||
				    d + dl > (const char *)data + off + n)
					abort();
				buf_append(&o->message, d, dl);
				break;
			case QUEUE_PICKUP_DONE:
				buf_append_char(&o->events, 'D');
				if (o->message.len != p->req.message_size)
					abort();
				break;
			case QUEUE_PICKUP_ERROR:
				buf_append_char(&o->events, 'X');
				o->error_code = p->error_code;
				if (p->error == NULL || p->error_code < 64 || p->error_code > 77)
					abort();
				return;
			case QUEUE_PICKUP_MORE:
				break;
			}
		} while (ev != QUEUE_PICKUP_MORE);
		off += n;
		if (off >= size)
			break;
	}
	/* A DONE may still be pending at the end of the input. */
	size_t used;
	const char *d;
	size_t dl;
	if (queue_pickup_parse(p, "", 0, &used, &d, &dl) == QUEUE_PICKUP_DONE)
		buf_append_char(&o->events, 'D');
}

static void outcome_free(struct outcome *o)
{
	buf_free(&o->events);
	buf_free(&o->message);
	buf_free(&o->envelope);
}

static bool same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void check_reply(const uint8_t *data, size_t size)
{
	int code;
	char *text;
	if (queue_pickup_reply_parse((const char *)data, size, &code, &text) < 0)
		return;
	struct buf b = BUF_INIT;
	if (code == 0)
		queue_pickup_reply_ok(&b, text);
	else
		queue_pickup_reply_fail(&b, code, text);
	int code2;
	char *text2;
	if (queue_pickup_reply_parse(b.data, b.len, &code2, &text2) < 0 || code2 != code ||
	    strcmp(text, text2) != 0)
		abort();
	free(text);
	free(text2);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + data[0] % 16;
	data++;
	size--;
	check_reply(data, size);
	struct outcome a, b;
	struct queue_pickup_parser pa, pb;
	feed(data, size, size > 0 ? size : 1, &a, &pa);
	feed(data, size, step, &b, &pb);
	/* An error in the message comes after the pieces before it were
	 * handed out, so the message is compared only without one. */
	if (!same(&a.events, &b.events) || !same(&a.envelope, &b.envelope) ||
	    a.error_code != b.error_code || (a.error_code == 0 && !same(&a.message, &b.message)))
		abort();
	/* A complete request, encoded again, parses to the same. */
	if (a.events.len > 0 && a.events.data[a.events.len - 1] == 'D') {
		const struct queue_pickup_request *r = &pa.req;
		struct buf enc = BUF_INIT;
		queue_pickup_record(&enc, "pickup", "1", 1);
		queue_pickup_record(&enc, "sender", r->sender, strlen(r->sender));
		for (size_t i = 0; i < r->rcpts.n; i++)
			queue_pickup_record(&enc, "rcpt", r->rcpts.v[i], strlen(r->rcpts.v[i]));
		if (r->notify != 0) {
			struct buf n = BUF_INIT;
			queue_notify_format(r->notify, &n);
			queue_pickup_record(&enc, "notify", n.data, n.len);
			buf_free(&n);
		}
		if (r->ret != QUEUE_RET_DEFAULT)
			queue_pickup_record(&enc, "ret", r->ret == QUEUE_RET_FULL ? "full" : "hdrs", 4);
		if (r->envid != NULL)
			queue_pickup_record(&enc, "envid", r->envid, strlen(r->envid));
		queue_pickup_record(&enc, "message", a.message.data, a.message.len);
		struct outcome c;
		struct queue_pickup_parser pc;
		feed((const uint8_t *)enc.data, enc.len, enc.len > 0 ? enc.len : 1, &c, &pc);
		if (!same(&a.events, &c.events) || !same(&a.message, &c.message) ||
		    !same(&a.envelope, &c.envelope))
			abort();
		outcome_free(&c);
		queue_pickup_parser_free(&pc);
		buf_free(&enc);
	}
	outcome_free(&a);
	outcome_free(&b);
	queue_pickup_parser_free(&pa);
	queue_pickup_parser_free(&pb);
	return 0;
}
