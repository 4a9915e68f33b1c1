/* fuzz_imap.c — libFuzzer target for the IMAP command parser: the input
 * is fed in chunks whose sizes come from the first byte, literals are
 * accepted, streamed or rejected depending on their size, and every
 * parsed command's arguments also go through the sequence-set, SEARCH
 * and mailbox-name (modified UTF-7) parsers. Whole and chunked parsing
 * must produce the same number of commands. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imap_parser.h"
#include "imap_search.h"
#include "imap_seqset.h"
#include "store_mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits limits = {
	.max_line = 4096,
	.max_literal_mem = 4096,
	.max_stream = 65536,
	.max_depth = 16,
	.max_args = 500,
};

static void visit(const struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST) {
			visit(args[i].list, args[i].len);
			continue;
		}
		const char *s = imap_arg_astring(&args[i]);
		if (s == NULL)
			continue;
		struct imap_seqset set;
		if (imap_seqset_parse(s, 1000, &set) == 0) {
			imap_seqset_normalize(&set, 100);
			(void)imap_seqset_contains(&set, 50);
			imap_seqset_free(&set);
		}
		struct buf b = BUF_INIT;
		(void)store_mutf7_to_utf8(s, strlen(s), &b);
		buf_free(&b);
	}
}

static size_t run(const uint8_t *data, size_t size, size_t step)
{
	struct imap_parser *p = imap_parser_new(&limits);
	struct buf in = BUF_INIT;
	size_t fed = 0, commands = 0;
	for (;;) {
		struct imap_parse_event ev;
		enum imap_parse_result r = imap_parser_parse(p, &in, &ev);
		if (r == IMAP_PARSE_MORE) {
			if (fed == size)
				break;
			size_t n = step == 0 || fed + step > size ? size - fed : step;
			buf_append(&in, data + fed, n);
			fed += n;
			continue;
		}
		if (r == IMAP_PARSE_LITERAL) {
			bool stream = (ev.literal_size & 1) != 0;
			if (imap_parser_literal_accept(p, stream) < 0)
				imap_parser_literal_reject(p);
		} else if (r == IMAP_PARSE_COMMAND) {
			commands++;
			visit(ev.args, ev.n_args);
			struct imap_search search;
			const char *error;
			bool badcharset;
			if (imap_search_parse(ev.args, ev.n_args, NULL, &search, &error,
					      &badcharset) == 0) {
				search.count = 10;
				search.max_uid = 10;
				imap_search_prepare(&search);
				imap_search_free(&search);
			}
			imap_parser_reset(p);
		}
	}
	imap_parser_free(&p);
	buf_free(&in);
	return commands;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (data[0] % 17) + 1;
	size_t a = run(data + 1, size - 1, 0);
	size_t b = run(data + 1, size - 1, step);
	/* Chunking may only change where an over-long line is cut. */
	if (size - 1 < limits.max_line && a != b)
		abort();
	return 0;
}
