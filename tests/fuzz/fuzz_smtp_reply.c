/* fuzz_smtp_reply.c — libFuzzer target for the outbound client's SMTP
 * reply parser and EHLO capability reader (src/delivery). The input is
 * fed whole and, with the first byte choosing a chunk size, in pieces;
 * both ways must parse the same replies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "delivery_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses data in chunks of step bytes; returns a digest of the replies. */
static uint64_t run(const uint8_t *data, size_t size, size_t step)
{
	struct delivery_reply_parser p;
	delivery_reply_parser_init(&p);
	struct buf pending = BUF_INIT;
	uint64_t digest = 1469598103934665603ull;
	size_t pos = 0;
	bool failed = false;
	while (!failed && (pos < size || pending.len > 0)) {
		size_t n = size - pos < step ? size - pos : step;
		buf_append(&pending, data + pos, n);
		pos += n;
		for (;;) {
			size_t used = 0;
			const char *err = NULL;
			enum delivery_reply_status st = delivery_reply_parse(&p, pending.data,
									     pending.len, &used, &err);
			if (used > pending.len)
				abort();
			buf_consume(&pending, used);
			if (st == DELIVERY_REPLY_ERROR) {
				digest = digest * 31 + 7;
				failed = true;
				break;
			}
			if (st != DELIVERY_REPLY_DONE)
				break;
			const struct delivery_reply *r = &p.reply;
			if (r->code < 200 || r->code > 599 || r->n_lines == 0 ||
			    r->n_lines > DELIVERY_REPLY_LINES_MAX || r->text.len > DELIVERY_REPLY_TEXT_MAX)
				abort();
			digest = digest * 31 + r->code;
			digest = digest * 31 + r->text.len;
			for (size_t i = 0; i < r->text.len; i++)
				digest = digest * 131 + (unsigned char)r->text.data[i];
			struct delivery_caps caps;
			delivery_caps_parse(r, &caps);
			digest = digest * 31 + caps.size_max + caps.pipelining + caps.starttls;
			struct buf s = BUF_INIT;
			delivery_reply_summary(r, 100, &s);
			buf_free(&s);
			if (pending.len == 0)
				break;
		}
		if (pos == size)
			break;
	}
	buf_free(&pending);
	delivery_reply_parser_free(&p);
	return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t step = (size_t)data[0] % 17 + 1;
	uint64_t whole = run(data + 1, size - 1, size);
	uint64_t pieces = run(data + 1, size - 1, step);
	if (whole != pieces)
		abort();
	return 0;
}
