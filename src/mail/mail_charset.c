/* mail_charset.c — charset conversion to UTF-8 through glibc iconv, with
 * MIME aliases, U+FFFD for invalid input and a UTF-8 fallback for unknown
 * charsets. Pure functions (iconv handles are per call or per converter);
 * used by the mail workers, webmail and queue. Converts untrusted input. */
#include "mail_charset.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistr.h>

#define REPLACEMENT "\xEF\xBF\xBD"

/* Names mail uses that iconv does not know, or that are best read as a
 * superset (what mail clients really mean). */
static const struct { const char *mime; const char *iconv; } aliases[] = {
	{ "us-ascii", "WINDOWS-1252" },
	{ "ascii", "WINDOWS-1252" },
	{ "ansi_x3.4-1968", "WINDOWS-1252" },
	{ "iso-8859-1", "WINDOWS-1252" },
	{ "iso8859-1", "WINDOWS-1252" },
	{ "latin1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" },
	{ "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601", "CP949" },
	{ "euc-kr", "CP949" },
	{ "gb2312", "GB18030" },
	{ "gbk", "GB18030" },
	{ "x-gbk", "GB18030" },
	{ "x-sjis", "SHIFT_JIS" },
	{ "shift-jis", "SHIFT_JIS" },
	{ "x-mac-roman", "MACINTOSH" },
	{ "unicode-1-1-utf-7", "UTF-7" },
	{ "iso-8859-8-i", "ISO-8859-8" },
	{ "iso-8859-6-i", "ISO-8859-6" },
	{ "tis-620", "TIS-620" },
	{ "windows-874", "CP874" },
	{ "x-user-defined", NULL },
	{ "unknown-8bit", NULL },
	{ "x-unknown", NULL },
	{ "default", NULL },
};

bool mail_charset_is_utf8(const char *charset)
{
	return strcasecmp(charset, "utf-8") == 0 ||
	       strcasecmp(charset, "utf8") == 0;
}

/* iconv name for charset; NULL if we know it is not convertible. */
static const char *iconv_name(const char *charset)
{
	for (size_t i = 0; i < N_ELEMENTS(aliases); i++) {
		if (strcasecmp(charset, aliases[i].mime) == 0)
			return aliases[i].iconv;
	}
	return charset;
}

/* Only names made of the characters charset names use reach iconv (it
 * also accepts paths and "//" suffixes). */
static bool sane_name(const char *charset)
{
	if (*charset == '\0' || strlen(charset) > 64)
		return false;
	for (const char *p = charset; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("-_.:+()", *p) == NULL)
			return false;
	}
	return true;
}

static iconv_t open_conv(const char *charset)
{
	if (!sane_name(charset))
		return (iconv_t)-1;
	const char *name = iconv_name(charset);
	if (name == NULL)
		return (iconv_t)-1;
	return iconv_open("UTF-8", name);
}

bool mail_charset_is_known(const char *charset)
{
	if (mail_charset_is_utf8(charset))
		return true;
	iconv_t cd = open_conv(charset);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

bool mail_utf8_is_valid(const void *s, size_t len)
{
	return u8_check(s, len) == NULL;
}

/* Appends the valid prefix of s and returns how many bytes were used;
 * stops before an incomplete sequence at the end when partial_ok. */
static size_t utf8_append(struct buf *out, const uint8_t *s, size_t len,
			  bool partial_ok)
{
	size_t i = 0;
	while (i < len) {
		const uint8_t *bad = u8_check(s + i, len - i);
		if (bad == NULL) {
			buf_append(out, s + i, len - i);
			return len;
		}
		size_t good = (size_t)(bad - (s + i));
		buf_append(out, s + i, good);
		i += good;
		ucs4_t uc;
		int n = u8_mbtoucr(&uc, s + i, len - i);
		if (n == -2 && partial_ok)
			return i;	/* incomplete at the end: keep for later */
		buf_append(out, REPLACEMENT, 3);
		i++;
		/* skip continuation bytes of the broken sequence */
		while (i < len && (s[i] & 0xC0) == 0x80)
			i++;
	}
	return i;
}

void mail_utf8_append_valid(struct buf *out, const void *s, size_t len)
{
	(void)utf8_append(out, s, len, false);
}

struct mail_charset_conv {
	iconv_t cd;		/* (iconv_t)-1: UTF-8 pass-through */
	struct buf pending;	/* incomplete input sequence */
};

/* Converts as much as possible; leaves an incomplete tail in *in. */
static void conv_run(iconv_t cd, const char **in, size_t *inleft,
		     struct buf *out)
{
	while (*inleft > 0) {
		size_t room = *inleft * 4 + 16;
		char *w = buf_reserve(out, room);
		char *wp = w;
		size_t outleft = room;
		size_t r = iconv(cd, (char **)in, inleft, &wp, &outleft);
		buf_commit(out, (size_t)(wp - w));
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL)
			return;		/* incomplete sequence at the end */
		/* EILSEQ: replace one byte and go on */
		buf_append(out, REPLACEMENT, 3);
		(*in)++;
		(*inleft)--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* flush shift states (ISO-2022-JP, UTF-7) */
	char *w = buf_reserve(out, 16);
	buf_commit(out, 0);
	char *wp = w;
	size_t outleft = 16;
	if (*inleft == 0 && iconv(cd, NULL, NULL, &wp, &outleft) != (size_t)-1)
		buf_commit(out, (size_t)(wp - w));
}

int mail_charset_to_utf8(const char *charset, const void *in, size_t len,
			 struct buf *out, const char **error_r)
{
	if (mail_charset_is_utf8(charset)) {
		mail_utf8_append_valid(out, in, len);
		return 0;
	}
	iconv_t cd = open_conv(charset);
	if (cd == (iconv_t)-1) {
		mail_utf8_append_valid(out, in, len);
		*error_r = "Unknown charset";
		return -1;
	}
	const char *p = in;
	size_t left = len;
	conv_run(cd, &p, &left, out);
	if (left > 0)
		buf_append(out, REPLACEMENT, 3);
	iconv_close(cd);
	return 0;
}

int mail_charset_conv_new(const char *charset, struct mail_charset_conv **conv_r,
			  const char **error_r)
{
	struct mail_charset_conv *c = x_calloc(1, sizeof(*c));
	int ret = 0;
	c->cd = (iconv_t)-1;
	if (!mail_charset_is_utf8(charset)) {
		c->cd = open_conv(charset);
		if (c->cd == (iconv_t)-1) {
			*error_r = "Unknown charset";
			ret = -1;
		}
	}
	*conv_r = c;
	return ret;
}

static void conv_step(struct mail_charset_conv *c, const char **p,
		      size_t *left, struct buf *out)
{
	if (c->cd == (iconv_t)-1) {
		size_t used = utf8_append(out, (const uint8_t *)*p, *left, true);
		*p += used;
		*left -= used;
	} else {
		conv_run(c->cd, p, left, out);
	}
}

void mail_charset_conv_more(struct mail_charset_conv *c, const void *in,
			    size_t len, struct buf *out)
{
	const char *p = in;
	size_t left = len;
	if (c->pending.len > 0) {
		/* an incomplete sequence from the last call: join (copying
		 * this chunk once; pending is a few bytes) */
		struct buf joined = BUF_INIT;
		buf_append(&joined, c->pending.data, c->pending.len);
		buf_append(&joined, in, len);
		buf_reset(&c->pending);
		p = joined.data;
		left = joined.len;
		conv_step(c, &p, &left, out);
		buf_append(&c->pending, p, left);
		buf_free(&joined);
		return;
	}
	conv_step(c, &p, &left, out);
	buf_append(&c->pending, p, left);
}

void mail_charset_conv_finish(struct mail_charset_conv **convp,
			      struct buf *out)
{
	struct mail_charset_conv *c = *convp;
	*convp = NULL;
	if (c == NULL)
		return;
	if (c->pending.len > 0)
		buf_append(out, REPLACEMENT, 3);
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	buf_free(&c->pending);
	free(c);
}
