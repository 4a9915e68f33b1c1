/* fuzz_smtp_data.c — libFuzzer target for the DATA/BDAT state machine:
 * the output of feeding all at once must equal feeding in pieces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t feed(const uint8_t *data, size_t size, size_t step, bool bdat, bool norm,
		   struct buf *out, bool *done, unsigned *flags)
{
	struct smtp_data d;
	smtp_data_init(&d, bdat, norm, 998);
	size_t used = 0;
	*done = false;
	while (used < size && !*done) {
		size_t n = size - used < step ? size - used : step;
		used += smtp_data_feed(&d, (const char *)data + used, n, out, done);
	}
	*flags = smtp_data_reject_flags(&d);
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool bdat = data[0] & 1, norm = data[0] & 2;
	size_t step = 1 + (data[0] >> 2);
	data++;
	size--;
	struct buf a = BUF_INIT, b = BUF_INIT;
	bool da, db;
	unsigned fa, fb;
	size_t ua = feed(data, size, size ? size : 1, bdat, norm, &a, &da, &fa);
	size_t ub = feed(data, size, step, bdat, norm, &b, &db, &fb);
	if (ua != ub || da != db || fa != fb || a.len != b.len ||
	    (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_free(&a);
	buf_free(&b);
	return 0;
}
