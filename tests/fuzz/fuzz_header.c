/* fuzz_header.c — libFuzzer target for header field iteration,
 * unfolding, HEADER.FIELDS filtering, the address-list parser and
 * formatter, RFC 5322 date parsing and RFC 5256 base subjects. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail_address.h"
#include "mail_date.h"
#include "mail_header.h"
#include "mail_subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct mail_header_iter it;
	struct mail_header_field f;
	size_t last_end = 0;
	mail_header_iter_init(&it, d, size);
	while (mail_header_iter_next(&it, &f)) {
		if (f.offset != last_end || f.offset + f.size > size || f.size == 0)
			abort();
		last_end = f.offset + f.size;
		char *v = mail_header_unfold_dup(f.value, f.value_len);
		struct mail_address_list l;
		mail_address_parse(v, strlen(v), true, &l);
		struct buf b = BUF_INIT;
		mail_address_format(&l, &b);
		/* what we format parses to the same number of entries */
		struct mail_address_list l2;
		mail_address_parse(buf_cstr(&b), b.len, true, &l2);
		mail_address_list_free(&l2);
		mail_address_list_free(&l);
		buf_free(&b);
		time_t t;
		int tz;
		(void)mail_date_parse(v, strlen(v), &t, &tz);
		free(v);
	}
	bool complete;
	if (mail_header_size(d, size, &complete) != it.body_offset)
		abort();
	const char *names[] = { "from", "To", "subject" };
	struct buf out = BUF_INIT;
	mail_header_filter(d, size, names, 3, size % 2 == 0, &out);
	buf_free(&out);

	/* the whole input as an address list and as a date */
	struct mail_address_list l;
	mail_address_parse(d, size, size % 3 == 0, &l);
	mail_address_list_free(&l);
	time_t t;
	int tz;
	if (mail_date_parse(d, size, &t, &tz) == 0) {
		struct buf b = BUF_INIT;
		mail_date_format(t, tz, &b);
		time_t t2;
		int tz2;
		if (mail_date_parse(b.data, b.len, &t2, &tz2) < 0 || t2 != t || tz2 != tz)
			abort();
		buf_free(&b);
	}
	(void)mail_date_parse_imap(d, size, &t, &tz);
	struct buf subj = BUF_INIT;
	bool reply;
	mail_subject_base(d, size, &subj, &reply);
	buf_free(&subj);
	return 0;
}
