/* fuzz_mime.c — libFuzzer target for the MIME structure parser and the
 * IMAP formatters (BODYSTRUCTURE, BODY, ENVELOPE, sections) and the 8-bit
 * downgrade. Checks that chunking never changes the tree and that every
 * range lies inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mail_bodystructure.h"
#include "mail_downgrade.h"
#include "mail_header.h"
#include "mail_mime.h"
#include "mail_section.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sections[] = {
	"", "1", "2", "1.1", "2.1.3", "HEADER", "TEXT", "1.MIME", "2.HEADER",
	"3.TEXT", "1.2.MIME", "HEADER.FIELDS (From Subject)",
	"1.HEADER.FIELDS.NOT (To)",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_mime_limits lim = { .max_depth = 20, .max_parts = 200,
					.max_field_size = 4096 };
	struct mail_part *a = mail_mime_parse(data, size, &lim);

	/* the same input in small chunks */
	size_t chunk = size > 0 ? (size_t)data[0] % 17 + 1 : 1;
	struct mail_mime_parser *p = mail_mime_parser_new(&lim);
	for (size_t i = 0; i < size; i += chunk)
		mail_mime_parser_feed(p, data + i, size - i < chunk ? size - i : chunk);
	struct mail_part *b = mail_mime_parser_finish(&p);

	const struct mail_part *pa = a, *pb = b;
	while (pa != NULL || pb != NULL) {
		if (pa == NULL || pb == NULL ||
		    pa->header.offset != pb->header.offset ||
		    pa->header.size != pb->header.size ||
		    pa->body.size != pb->body.size ||
		    pa->body.lines != pb->body.lines ||
		    pa->body.vsize != pb->body.vsize || pa->flags != pb->flags)
			abort();
		if (pa->header.offset + pa->header.size > size ||
		    pa->body.offset + pa->body.size > size ||
		    pa->header.offset + pa->header.size > pa->body.offset ||
		    pa->body.vsize < pa->body.size)
			abort();
		pa = mail_part_next_dfs(a, pa);
		pb = mail_part_next_dfs(b, pb);
	}

	struct buf out = BUF_INIT;
	mail_bodystructure_write(a, true, false, &out);
	mail_bodystructure_write(a, false, true, &out);
	mail_envelope_write(a->envelope, false, &out);
	buf_free(&out);

	for (size_t i = 0; i < N_ELEMENTS(sections); i++) {
		struct mail_section sec;
		const char *error;
		struct mail_section_range r;
		if (mail_section_parse(sections[i], strlen(sections[i]), &sec, &error) < 0)
			abort();
		if (mail_section_locate(a, &sec, &r)) {
			if (r.offset + r.size > size)
				abort();
			if (sec.fields.n > 0) {
				struct buf f = BUF_INIT;
				mail_header_filter((const char *)data + r.offset, r.size,
						   (const char *const *)sec.fields.v,
						   sec.fields.n,
						   sec.kind == MAIL_SECTION_HEADER_FIELDS_NOT, &f);
				buf_free(&f);
			}
		}
		mail_section_free(&sec);
	}

	bool changed;
	const char *error;
	struct buf down = BUF_INIT;
	if (mail_downgrade_7bit(data, size, &down, &changed, &error) == 0 &&
	    mail_downgrade_needed(down.data, down.len))
		abort();
	buf_free(&down);

	mail_part_free(&a);
	mail_part_free(&b);
	return 0;
}
