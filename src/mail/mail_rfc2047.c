/* mail_rfc2047.c — RFC 2047 encoded-word decoding to UTF-8 and encoding
 * of UTF-8 header text with folding. Pure functions; used by the mail
 * workers (SEARCH), webmail and queue (DSN). Decodes untrusted input. */
#include "mail_rfc2047.h"
#include "mail_base64.h"
#include "mail_charset.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ew {
	const char *charset;	/* points into the input */
	size_t charset_len;
	char enc;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total;		/* bytes of the whole word */
};

/* Parses "=?charset?E?text?=" at s (s[0..1] == "=?"). */
static bool parse_ew(const char *s, size_t len, struct ew *ew)
{
	size_t i = 2;
	size_t cs = i;
	while (i < len && s[i] != '?' && s[i] > ' ' && (unsigned char)s[i] < 0x7f)
		i++;
	if (i == cs || i + 2 >= len || s[i] != '?')
		return false;
	ew->charset = s + cs;
	ew->charset_len = i - cs;
	/* RFC 2231 language suffix: charset*lang */
	const char *star = memchr(ew->charset, '*', ew->charset_len);
	if (star != NULL)
		ew->charset_len = (size_t)(star - ew->charset);
	char e = (char)toupper((unsigned char)s[i + 1]);
	if ((e != 'B' && e != 'Q') || s[i + 2] != '?')
		return false;
	ew->enc = e;
	i += 3;
	size_t ts = i;
	while (i + 1 < len && !(s[i] == '?' && s[i + 1] == '=')) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
		i++;
	}
	if (i + 1 >= len)
		return false;
	ew->text = s + ts;
	ew->text_len = i - ts;
	ew->total = i + 2;
	return ew->charset_len > 0;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)toupper(c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool decode_ew_bytes(const struct ew *ew, struct buf *out)
{
	if (ew->enc == 'B') {
		const char *error;
		return mail_base64_decode(ew->text, ew->text_len, out, &error) == 0;
	}
	for (size_t i = 0; i < ew->text_len; i++) {
		char c = ew->text[i];
		int h, l;
		if (c == '_') {
			buf_append_char(out, ' ');
		} else if (c == '=' && i + 2 < ew->text_len &&
			   (h = hexval((unsigned char)ew->text[i + 1])) >= 0 &&
			   (l = hexval((unsigned char)ew->text[i + 2])) >= 0) {
			buf_append_char(out, (char)(h * 16 + l));
			i += 2;
		} else {
			buf_append_char(out, c);
		}
	}
	return true;
}

/* Raw header text: UTF-8 as is, else windows-1252; line breaks removed. */
static void append_raw(struct buf *out, const char *s, size_t len)
{
	struct buf tmp = BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0')
			buf_append_char(&tmp, s[i]);
	}
	if (mail_utf8_is_valid(tmp.data, tmp.len)) {
		buf_append(out, tmp.data, tmp.len);
	} else {
		const char *error;
		(void)mail_charset_to_utf8("windows-1252", tmp.data, tmp.len, out, &error);
	}
	buf_free(&tmp);
}

/* Converts the bytes decoded from a run of words in one charset. */
static void flush_pending(struct buf *out, struct buf *pending, char **charset)
{
	if (*charset == NULL)
		return;
	const char *error;
	(void)mail_charset_to_utf8(*charset, pending->data, pending->len, out, &error);
	buf_reset(pending);
	x_free(charset);
}

bool mail_rfc2047_decode(const void *in, size_t len, struct buf *out)
{
	const char *s = in;
	struct buf pending = BUF_INIT;
	char *pcharset = NULL;
	bool decoded = false;
	size_t i = 0, text_start = 0;
	/* whitespace seen since the last encoded word, not yet written */
	size_t ws_start = 0;
	bool after_ew = false;
	while (i < len) {
		struct ew ew;
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?' &&
		    parse_ew(s + i, len - i, &ew)) {
			struct buf bytes = BUF_INIT;
			char *cs = x_strndup(ew.charset, ew.charset_len);
			if (!decode_ew_bytes(&ew, &bytes) || !mail_charset_is_known(cs)) {
				/* keep the word as written */
				buf_free(&bytes);
				free(cs);
				i++;
				continue;
			}
			/* text before this word (whitespace between two words
			 * is dropped) */
			size_t upto = i;
			bool only_ws = after_ew;
			for (size_t j = text_start; j < upto && only_ws; j++) {
				if (!strchr(" \t\r\n", s[j]))
					only_ws = false;
			}
			if (!only_ws && upto > text_start) {
				flush_pending(out, &pending, &pcharset);
				append_raw(out, s + text_start, upto - text_start);
			}
			if (pcharset != NULL && strcasecmp(pcharset, cs) != 0)
				flush_pending(out, &pending, &pcharset);
			if (pcharset == NULL)
				pcharset = cs;
			else
				free(cs);
			buf_append(&pending, bytes.data, bytes.len);
			buf_free(&bytes);
			decoded = true;
			i += ew.total;
			text_start = ws_start = i;
			after_ew = true;
			continue;
		}
		if (!strchr(" \t\r\n", s[i]) && after_ew) {
			/* real text follows the encoded word */
			flush_pending(out, &pending, &pcharset);
			after_ew = false;
		}
		i++;
	}
	(void)ws_start;
	flush_pending(out, &pending, &pcharset);
	if (len > text_start)
		append_raw(out, s + text_start, len - text_start);
	buf_free(&pending);
	return decoded;
}

char *mail_rfc2047_decode_dup(const void *in, size_t len)
{
	struct buf b = BUF_INIT;
	(void)mail_rfc2047_decode(in, len, &b);
	return buf_steal(&b);
}

/* ---- encoding ---- */

#define LINE_MAX_LEN 76
#define EW_MAX_LEN 75

static bool needs_encoding(const char *w, size_t n)
{
	if (n >= 2 && memmem(w, n, "=?", 2) != NULL)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		if (c >= 0x7f || c < ' ')
			return true;
	}
	return n > LINE_MAX_LEN - 10;	/* unfoldable long word */
}

static bool q_safe(unsigned char c)
{
	return isalnum(c) || strchr("!*+-/", c) != NULL;
}

/* Length of the UTF-8 character starting with byte c. */
static size_t u8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		return 2;
	if ((c & 0xF0) == 0xE0)
		return 3;
	if ((c & 0xF8) == 0xF0)
		return 4;
	return 1;
}

static void put_word(struct buf *out, size_t *line_len, const char *w,
		     size_t n, bool space_before)
{
	if (space_before && *line_len + 1 + n > LINE_MAX_LEN && *line_len > 1) {
		buf_append(out, "\r\n ", 3);
		*line_len = 1;
	} else if (space_before) {
		buf_append_char(out, ' ');
		(*line_len)++;
	}
	buf_append(out, w, n);
	*line_len += n;
}

/* Encodes s[0..n) (UTF-8) as one or more encoded words, each written as
 * a word (with a space or fold before all but possibly the first). */
static void encode_run(struct buf *out, size_t *line_len, const char *s,
		       size_t n, bool space_before)
{
	size_t ascii = 0;
	for (size_t i = 0; i < n; i++)
		ascii += q_safe((unsigned char)s[i]) || s[i] == ' ';
	bool use_q = ascii * 10 >= n * 7;
	const char *prefix = use_q ? "=?utf-8?q?" : "=?utf-8?b?";
	size_t i = 0;
	/* the first word may share the line with what came before */
	size_t room = LINE_MAX_LEN - (space_before ? 1 : 0);
	size_t max = room > *line_len + 16 ? room - *line_len : EW_MAX_LEN;
	if (max > EW_MAX_LEN)
		max = EW_MAX_LEN;
	struct buf word = BUF_INIT;
	while (i < n) {
		buf_reset(&word);
		buf_append_str(&word, prefix);
		struct buf raw = BUF_INIT;
		/* take whole characters while the word fits */
		while (i < n) {
			size_t cl = u8_len((unsigned char)s[i]);
			if (i + cl > n)
				cl = n - i;
			size_t add;
			if (use_q) {
				add = 0;
				for (size_t k = 0; k < cl; k++)
					add += q_safe((unsigned char)s[i + k]) || s[i + k] == ' ' ? 1 : 3;
			} else {
				add = mail_base64_encoded_size(raw.len + cl) -
					mail_base64_encoded_size(raw.len);
			}
			size_t cur = use_q ? word.len : strlen(prefix) +
				mail_base64_encoded_size(raw.len);
			if (raw.len > 0 && cur + add + 2 > max)
				break;
			for (size_t k = 0; k < cl; k++) {
				unsigned char c = (unsigned char)s[i + k];
				if (use_q) {
					if (c == ' ')
						buf_append_char(&word, '_');
					else if (q_safe(c))
						buf_append_char(&word, (char)c);
					else
						buf_appendf(&word, "=%02X", c);
				}
				buf_append_char(&raw, (char)c);
			}
			i += cl;
		}
		if (!use_q)
			mail_base64_encode(raw.data, raw.len, &word);
		buf_append(&word, "?=", 2);
		buf_free(&raw);
		put_word(out, line_len, word.data, word.len, space_before);
		space_before = true;
		max = EW_MAX_LEN;
	}
	buf_free(&word);
}

static void encode_text(struct buf *out, size_t *line_len, const char *utf8,
			bool phrase)
{
	/* words separated by spaces; consecutive words needing encoding
	 * are encoded together (the space between them inside the word) */
	const char *p = utf8;
	bool first = true;
	struct buf clean = BUF_INIT;
	/* treat CR, LF and tabs as spaces */
	for (const char *q = utf8; *q != '\0'; q++)
		buf_append_char(&clean, (*q == '\r' || *q == '\n' || *q == '\t') ? ' ' : *q);
	p = clean.data == NULL ? "" : clean.data;
	bool phrase_plain = phrase;
	if (phrase) {
		/* a phrase that is all atext and spaces goes as is; one with
		 * specials but ASCII goes as a quoted string */
		for (const char *q = p; *q != '\0'; q++) {
			unsigned char c = (unsigned char)*q;
			if (c >= 0x7f || c < ' ')
				phrase_plain = false;
		}
		if (phrase_plain && memmem(p, strlen(p), "=?", 2) == NULL) {
			bool atoms = true;
			for (const char *q = p; *q != '\0'; q++) {
				if (!isalnum((unsigned char)*q) && strchr(" !#$%&'*+-/=?^_`{|}~", *q) == NULL)
					atoms = false;
			}
			struct buf qs = BUF_INIT;
			if (atoms) {
				buf_append_str(&qs, p);
			} else {
				buf_append_char(&qs, '"');
				for (const char *q = p; *q != '\0'; q++) {
					if (*q == '"' || *q == '\\')
						buf_append_char(&qs, '\\');
					buf_append_char(&qs, *q);
				}
				buf_append_char(&qs, '"');
			}
			if (qs.len + *line_len <= 998)
				put_word(out, line_len, qs.data == NULL ? "" : qs.data, qs.len, false);
			buf_free(&qs);
			buf_free(&clean);
			return;
		}
	}
	while (*p != '\0') {
		const char *sp = p;
		while (*sp == ' ')
			sp++;
		if (*sp == '\0')
			break;
		const char *we = sp;
		while (*we != '\0' && *we != ' ')
			we++;
		if (!needs_encoding(sp, (size_t)(we - sp)) && !phrase) {
			put_word(out, line_len, sp, (size_t)(we - sp), !first);
			p = we;
		} else {
			/* extend the run over following words that also need
			 * encoding */
			const char *re = we;
			for (;;) {
				const char *ns = re;
				while (*ns == ' ')
					ns++;
				const char *ne = ns;
				while (*ne != '\0' && *ne != ' ')
					ne++;
				if (ns == ne || (!needs_encoding(ns, (size_t)(ne - ns)) && !phrase))
					break;
				re = ne;
			}
			encode_run(out, line_len, sp, (size_t)(re - sp), !first);
			p = re;
		}
		first = false;
	}
	buf_free(&clean);
}

void mail_rfc2047_encode(struct buf *out, size_t *line_len, const char *utf8)
{
	encode_text(out, line_len, utf8, false);
}

void mail_rfc2047_encode_phrase(struct buf *out, size_t *line_len,
				const char *utf8)
{
	encode_text(out, line_len, utf8, true);
}
