/* web_utf7.c — modified UTF-7 for IMAP mailbox names (see web_utf7.h).
 * Runs in the web process. Decodes untrusted input. */
#include "web_utf7.h"
#include "buf.h"

#include <stdint.h>
#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(char c)
{
	const char *p = c != '\0' ? strchr(b64, c) : NULL;
	return p != NULL ? (int)(p - b64) : -1;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
	if (cp < 0x80) {
		buf_append_char(out, (char)cp);
	} else if (cp < 0x800) {
		buf_append_char(out, (char)(0xc0 | (cp >> 6)));
		buf_append_char(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_append_char(out, (char)(0xe0 | (cp >> 12)));
		buf_append_char(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_char(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_append_char(out, (char)(0xf0 | (cp >> 18)));
		buf_append_char(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_append_char(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_char(out, (char)(0x80 | (cp & 0x3f)));
	}
}

char *web_utf7_to_utf8(const char *s)
{
	struct buf out = BUF_INIT;
	buf_append_str(&out, "");
	while (*s != '\0') {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c > 0x7e)
			goto fail;
		if (c != '&') {
			buf_append_char(&out, (char)c);
			s++;
			continue;
		}
		s++;
		if (*s == '-') {
			buf_append_char(&out, '&');
			s++;
			continue;
		}
		uint32_t bits = 0, high = 0;
		int nbits = 0, n = 0;
		while (*s != '-') {
			int v = b64val(*s);
			if (v < 0)
				goto fail;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			n++;
			s++;
			if (nbits >= 16) {
				nbits -= 16;
				uint32_t u = (bits >> nbits) & 0xffff;
				if (high != 0) {
					if (u < 0xdc00 || u > 0xdfff)
						goto fail;
					put_utf8(&out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
					high = 0;
				} else if (u >= 0xd800 && u <= 0xdbff) {
					high = u;
				} else if ((u >= 0xdc00 && u <= 0xdfff) || u < 0x20 ||
					   (u >= 0x20 && u <= 0x7e)) {
					goto fail;
				} else {
					put_utf8(&out, u);
				}
			}
		}
		if (n == 0 || high != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
			goto fail;
		s++;
	}
	return buf_steal(&out);
fail:
	buf_free(&out);
	return NULL;
}

/* Decodes one UTF-8 sequence; returns its length or 0 if invalid. */
static size_t get_utf8(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t n;
	uint32_t min;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		*cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		*cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		*cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

static void flush_b64(struct buf *out, uint32_t *bits, int *nbits)
{
	if (*nbits > 0)
		buf_append_char(out, b64[(*bits << (6 - *nbits)) & 0x3f]);
	*nbits = 0;
	*bits = 0;
}

char *web_utf8_to_utf7(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	struct buf out = BUF_INIT;
	buf_append_str(&out, "");
	while (*s != '\0') {
		if (*s >= 0x20 && *s <= 0x7e) {
			if (*s == '&')
				buf_append_str(&out, "&-");
			else
				buf_append_char(&out, (char)*s);
			s++;
			continue;
		}
		buf_append_char(&out, '&');
		uint32_t bits = 0;
		int nbits = 0;
		while (*s != '\0' && (*s < 0x20 || *s > 0x7e)) {
			uint32_t cp;
			size_t n = get_utf8(s, &cp);
			if (n == 0) {
				buf_free(&out);
				return NULL;
			}
			s += n;
			uint32_t units[2];
			int nu = 1;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = 0xd800 + (cp >> 10);
				units[1] = 0xdc00 + (cp & 0x3ff);
				nu = 2;
			} else {
				units[0] = cp;
			}
			for (int i = 0; i < nu; i++) {
				bits = (bits << 16) | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					buf_append_char(&out, b64[(bits >> nbits) & 0x3f]);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		flush_b64(&out, &bits, &nbits);
		buf_append_char(&out, '-');
	}
	return buf_steal(&out);
}
