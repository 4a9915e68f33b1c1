/* auth_base64.c — strict base64 for SASL. Runs in the auth process and
 * the workers. Parses untrusted input (client SASL responses). */
#include "auth_base64.h"

#include <sodium.h>

void auth_base64_encode(const void *data, size_t len, struct buf *out)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *w = buf_reserve(out, n);
	sodium_bin2base64(w, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	buf_commit(out, n - 1);
}

int auth_base64_decode(const char *in, size_t len, struct buf *out)
{
	if (len % 4 != 0)
		return -1;
	size_t max = len / 4 * 3;
	unsigned char *w = (unsigned char *)buf_reserve(out, max);
	size_t bin_len = 0;
	const char *end = NULL;
	if (len == 0)
		return 0;
	if (sodium_base642bin(w, max + 1, in, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || end != in + len)
		return -1;
	buf_commit(out, bin_len);
	return 0;
}
