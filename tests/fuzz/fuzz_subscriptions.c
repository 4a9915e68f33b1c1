/* fuzz_subscriptions.c — libFuzzer target for the parser of Dovecot's
 * subscriptions file (src/store/store_dovecot.c), read when a Maildir
 * migrated from Dovecot is indexed. Oracles: fed whole, one piece at a
 * time of a size the first byte picks, the same names and skips come
 * out; every name is non-empty valid UTF-8 without NUL (the store's
 * name check comes after). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_dovecot.h"
#include "store_mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(struct strv *names, const uint8_t *data, size_t size, size_t step,
		  size_t *skipped)
{
	struct store_subs_parser p;
	store_subs_init(&p, names);
	for (size_t i = 0; i < size; i += step)
		store_subs_feed(&p, data + i, size - i < step ? size - i : step);
	store_subs_finish(&p);
	*skipped = p.n_skipped;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct strv a, b;
	strv_init(&a);
	strv_init(&b);
	size_t sa, sb;
	parse(&a, data, size, size > 0 ? size : 1, &sa);
	parse(&b, data, size, size > 0 ? 1 + data[0] % 7 : 1, &sb);
	if (a.n != b.n || sa != sb)
		abort();
	for (size_t i = 0; i < a.n; i++) {
		const char *n = a.v[i];
		size_t len = strlen(n);
		if (strcmp(n, b.v[i]) != 0 || len == 0 || !store_utf8_valid(n, len))
			abort();
	}
	strv_free(&a);
	strv_free(&b);
	return 0;
}
