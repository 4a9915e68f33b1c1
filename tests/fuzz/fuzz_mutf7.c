/* fuzz_mutf7.c — libFuzzer target for the two modified UTF-7 codecs
 * (RFC 3501 5.1.3) against each other: the store's (src/store, names
 * from IMAP clients) and the webmail's (src/web, names from the IMAP
 * server). Both parse untrusted input. Oracles: what the store accepts
 * the web accepts and decodes the same; what only the web accepts is
 * a spelling the store's encoder would not produce; no control
 * character comes out of either; for valid UTF-8 they encode the same
 * bytes, and decoding gives the input back. Found: an encoded NUL
 * ("Foo&AAA-x") cut names short in the store, so DELETE of that name
 * deleted "Foo". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store_mutf7.h"
#include "web_utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096 || memchr(data, '\0', size) != NULL)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	/* Decoding. The store (names from clients, which become folder
	 * names) is strict: canonical encodings only, so that one name has
	 * one spelling. The web (names from any server) may accept more,
	 * but only spellings the store would not write. Neither lets a
	 * control character (a NUL would cut a name short) through. */
	struct buf a = BUF_INIT;
	int ra = store_mutf7_to_utf8(s, size, &a);
	char *b = web_utf7_to_utf8(s);
	if (ra == 0 && (b == NULL || a.len != strlen(b) || memcmp(a.data, b, a.len) != 0))
		abort();
	if (ra < 0 && b != NULL) {
		struct buf canon = BUF_INIT;
		if (store_utf8_to_mutf7(b, strlen(b), &canon) < 0)
			abort();
		if (canon.len == size && memcmp(canon.data, s, size) == 0)
			abort();	/* the store refused its own spelling */
		buf_free(&canon);
	}
	for (size_t i = 0; i < a.len; i++)
		if ((unsigned char)a.data[i] < 0x20)
			abort();
	if (b != NULL && !store_utf8_valid(b, strlen(b)))
		abort();
	for (const char *c = b; c != NULL && *c != '\0'; c++)
		if ((unsigned char)*c < 0x20)
			abort();
	buf_free(&a);
	free(b);

	/* Encoding, then back, for names without control characters (which
	 * no decoder accepts). */
	bool controls = false;
	for (size_t i = 0; i < size; i++)
		controls |= (unsigned char)s[i] < 0x20;
	if (!controls && store_utf8_valid(s, size)) {
		struct buf e = BUF_INIT;
		if (store_utf8_to_mutf7(s, size, &e) < 0)
			abort();
		char *w = web_utf8_to_utf7(s);
		if (w == NULL || strlen(w) != e.len || memcmp(w, e.data, e.len) != 0)
			abort();
		struct buf back = BUF_INIT;
		if (store_mutf7_to_utf8(e.data != NULL ? e.data : "", e.len, &back) < 0 ||
		    back.len != size || memcmp(back.data, s, size) != 0)
			abort();
		char *wb = web_utf7_to_utf8(w);
		if (wb == NULL || strcmp(wb, s) != 0)
			abort();
		free(wb);
		free(w);
		buf_free(&back);
		buf_free(&e);
	}
	free(s);
	return 0;
}
