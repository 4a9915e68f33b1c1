/* store_mutf7.c — modified UTF-7 <-> UTF-8 for mailbox names.
 * Runs in workers and `correu reindex`. Parses untrusted input. */
#include "store_mutf7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Decodes one UTF-8 sequence at s (len > 0); returns its length or 0. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp;
	size_t n;
	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		cp = s[0] & 0x1f;
		n = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = s[0] & 0x0f;
		n = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		cp = s[0] & 0x07;
		n = 4;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

bool store_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static void utf8_encode(struct buf *out, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(out, b, n);
}

int store_mutf7_to_utf8(const char *in, size_t len, struct buf *out)
{
	size_t start_len = out->len;
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x20 || c > 0x7e)
			goto fail;
		if (c != '&') {
			buf_append_char(out, (char)c);
			i++;
			continue;
		}
		i++;
		if (i < len && in[i] == '-') {
			buf_append_char(out, '&');
			i++;
			continue;
		}
		/* Base64 of UTF-16BE up to '-'. */
		uint32_t bits = 0;
		int nbits = 0;
		uint32_t high = 0;	/* pending high surrogate */
		size_t units = 0;
		while (i < len && in[i] != '-') {
			int v = b64val((unsigned char)in[i]);
			if (v < 0)
				goto fail;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			i++;
			if (nbits >= 16) {
				nbits -= 16;
				uint32_t u = (bits >> nbits) & 0xffff;
				units++;
				if (high != 0) {
					if (u < 0xdc00 || u > 0xdfff)
						goto fail;
					utf8_encode(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
					high = 0;
				} else if (u >= 0xd800 && u <= 0xdbff) {
					high = u;
				} else if (u >= 0xdc00 && u <= 0xdfff) {
					goto fail;
				} else if (u >= 0x20 && u <= 0x7e) {
					/* Printable ASCII must not be encoded. */
					goto fail;
				} else if (u < 0x20) {
					/* Names are Net-Unicode (RFC 9051 5.1): no
					 * controls, and a NUL would cut the name short
					 * ("Foo&AAA-x" acting on "Foo"; found by
					 * tests/fuzz/fuzz_mutf7.c). */
					goto fail;
				} else {
					utf8_encode(out, u);
				}
			}
		}
		if (i >= len || units == 0 || high != 0 || nbits >= 6 ||
		    (bits & ((1u << nbits) - 1)) != 0)
			goto fail;
		i++;	/* '-' */
		/* "&AGE-&AGI-" must have been written as one run. */
		if (i < len && in[i] == '&' && i + 1 < len && in[i + 1] != '-')
			goto fail;
	}
	return 0;
fail:
	out->len = start_len;
	if (out->data != NULL)
		out->data[start_len] = '\0';
	return -1;
}

static void flush_b64(struct buf *out, const uint16_t *u, size_t n)
{
	uint32_t bits = 0;
	int nbits = 0;
	buf_append_char(out, '&');
	for (size_t i = 0; i < n; i++) {
		bits = (bits << 16) | u[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			buf_append_char(out, b64chars[(bits >> nbits) & 63]);
		}
	}
	if (nbits > 0)
		buf_append_char(out, b64chars[(bits << (6 - nbits)) & 63]);
	buf_append_char(out, '-');
}

int store_utf8_to_mutf7(const char *in, size_t len, struct buf *out)
{
	if (!store_utf8_valid(in, len))
		return -1;
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0;
	uint16_t *units = NULL;
	size_t nunits = 0, cap = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		i += n;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (nunits > 0) {
				flush_b64(out, units, nunits);
				nunits = 0;
			}
			if (cp == '&')
				buf_append(out, "&-", 2);
			else
				buf_append_char(out, (char)cp);
			continue;
		}
		if (nunits + 2 > cap) {
			cap = cap == 0 ? 16 : cap * 2;
			units = x_reallocarray(units, cap, sizeof(*units));
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[nunits++] = (uint16_t)(0xd800 + (cp >> 10));
			units[nunits++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
		} else {
			units[nunits++] = (uint16_t)cp;
		}
	}
	if (nunits > 0)
		flush_b64(out, units, nunits);
	free(units);
	return 0;
}
