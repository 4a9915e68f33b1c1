/* fuzz_hcache.c — libFuzzer target for the header cache (mail_hcache.c):
 * the collector fed in pieces finds the same header as the whole input,
 * and the cache answers HEADER.FIELDS and look-ups of cached fields
 * exactly as the header does (the property SEARCH, SORT and FETCH rely
 * on). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail_hcache.h"
#include "mail_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const cached[] = {
	"Date", "From", "To", "Cc", "Subject", "Message-ID", "References", "In-Reply-To",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	bool complete;
	size_t hsize = mail_header_size(d, size, &complete);
	struct buf whole = BUF_INIT;
	mail_hcache_build(d, hsize, &whole);
	/* the collector, pieces of 1..7 bytes by the first byte */
	size_t piece = size > 0 ? (size_t)(data[0] % 7) + 1 : 1;
	struct mail_hcache_collector c;
	mail_hcache_collector_init(&c);
	for (size_t off = 0; off < size; off += piece)
		mail_hcache_collector_feed(&c, d + off, size - off < piece ? size - off : piece);
	struct buf got = BUF_INIT;
	bool ok = mail_hcache_collector_finish(&c, &got);
	mail_hcache_collector_free(&c);
	if (hsize <= MAIL_HCACHE_HEADER_MAX &&
	    (!ok || got.len != whole.len || memcmp(got.data, whole.data, got.len) != 0))
		abort();
	buf_free(&got);
	/* same answers from the cache and from the header */
	for (size_t i = 0; i < N_ELEMENTS(cached); i++) {
		const char *names[2] = { cached[i], cached[(i + 3) % N_ELEMENTS(cached)] };
		struct buf a = BUF_INIT, b = BUF_INIT;
		mail_header_filter(d, hsize, names, 2, false, &a);
		mail_header_filter(whole.data, whole.len, names, 2, false, &b);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
		buf_free(&a);
		buf_free(&b);
		char *x = mail_header_get(d, hsize, cached[i]);
		char *y = mail_header_get(whole.data, whole.len, cached[i]);
		if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))
			abort();
		free(x);
		free(y);
	}
	buf_free(&whole);
	return 0;
}
