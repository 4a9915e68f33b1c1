/* delivery_reply.c — SMTP reply parser and EHLO capability reader for
 * the outbound client. Runs in the queue process. Parses untrusted
 * input (any server on the Internet): lengths are bounded, codes are
 * checked strictly, and text is reduced to printable bytes. */
#include "delivery_reply.h"
#include "str.h"

#include <string.h>
#include <strings.h>

static void reply_reset(struct delivery_reply *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	buf_reset(&r->text);
	r->n_lines = 0;
}

void delivery_reply_parser_init(struct delivery_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->reply.text);
	buf_init(&p->line);
}

void delivery_reply_parser_free(struct delivery_reply_parser *p)
{
	buf_free(&p->reply.text);
	buf_free(&p->line);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "C.SSS.DDD" followed by a space or the end, class matching the code. */
static void parse_enhanced(struct delivery_reply *r, const char *text, size_t len)
{
	size_t i = 0;
	if (len < 5 || text[0] != (char)('0' + r->code / 100) ||
	    (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.')
		return;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < len && is_digit(text[i]) && i - start < 3)
			i++;
		if (i == start || i - start > 3)
			return;
		if (part == 0) {
			if (i >= len || text[i] != '.')
				return;
			i++;
		}
	}
	if (i < len && text[i] != ' ')
		return;
	memcpy(r->enhanced, text, i);
	r->enhanced[i] = '\0';
}

/* Handles one complete line (without its line ending). Returns 1 when
 * it was the last line of the reply, 0 for a continuation, -1 on error. */
static int parse_line(struct delivery_reply_parser *p, const char *s, size_t len,
		      const char **error_r)
{
	struct delivery_reply *r = &p->reply;
	if (len < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) ||
	    s[0] < '2' || s[0] > '5') {
		*error_r = "malformed reply code";
		return -1;
	}
	unsigned code = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
	bool last;
	if (len == 3 || s[3] == ' ')
		last = true;
	else if (s[3] == '-')
		last = false;
	else {
		*error_r = "malformed reply separator";
		return -1;
	}
	if (r->n_lines > 0 && code != r->code) {
		*error_r = "reply code changed inside a multi-line reply";
		return -1;
	}
	if (r->n_lines >= DELIVERY_REPLY_LINES_MAX) {
		*error_r = "too many reply lines";
		return -1;
	}
	const char *text = len > 4 ? s + 4 : "";
	size_t tlen = len > 4 ? len - 4 : 0;
	if (r->text.len + tlen + 1 > DELIVERY_REPLY_TEXT_MAX) {
		*error_r = "reply too long";
		return -1;
	}
	if (r->n_lines == 0) {
		r->code = code;
		parse_enhanced(r, text, tlen);
	} else {
		buf_append_char(&r->text, '\n');
	}
	for (size_t i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)text[i];
		buf_append_char(&r->text, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	r->n_lines++;
	return last ? 1 : 0;
}

enum delivery_reply_status delivery_reply_parse(struct delivery_reply_parser *p,
						const void *data, size_t len,
						size_t *consumed_r, const char **error_r)
{
	const char *d = data;
	size_t pos = 0;
	if (p->done) {
		reply_reset(&p->reply);
		p->done = false;
	}
	while (pos < len) {
		const char *nl = memchr(d + pos, '\n', len - pos);
		size_t chunk = nl != NULL ? (size_t)(nl - (d + pos)) : len - pos;
		if (p->line.len + chunk > DELIVERY_REPLY_LINE_MAX) {
			*consumed_r = pos;
			*error_r = "reply line too long";
			return DELIVERY_REPLY_ERROR;
		}
		buf_append(&p->line, d + pos, chunk);
		pos += chunk;
		if (nl == NULL)
			break;
		pos++;	/* the '\n' */
		size_t llen = p->line.len;
		if (llen > 0 && p->line.data[llen - 1] == '\r')
			llen--;
		int r = parse_line(p, p->line.data != NULL ? p->line.data : "", llen, error_r);
		buf_reset(&p->line);
		if (r < 0) {
			*consumed_r = pos;
			return DELIVERY_REPLY_ERROR;
		}
		if (r == 1) {
			p->done = true;
			buf_shrink_idle(&p->line, 0);
			*consumed_r = pos;
			return DELIVERY_REPLY_DONE;
		}
	}
	*consumed_r = pos;
	return DELIVERY_REPLY_MORE;
}

void delivery_reply_summary(const struct delivery_reply *r, size_t max, struct buf *out)
{
	buf_appendf(out, "%u", r->code);
	if (r->text.len == 0)
		return;
	buf_append_char(out, ' ');
	size_t n = r->text.len < max ? r->text.len : max;
	for (size_t i = 0; i < n; i++) {
		char c = r->text.data[i];
		buf_append_char(out, c == '\n' ? ' ' : c);
	}
	if (n < r->text.len)
		buf_append_str(out, "...");
}

static bool keyword_is(const char *line, size_t len, const char *kw, const char **arg_r)
{
	size_t kl = strlen(kw);
	if (len < kl || strncasecmp(line, kw, kl) != 0)
		return false;
	if (len == kl) {
		*arg_r = NULL;
		return true;
	}
	if (line[kl] != ' ' && line[kl] != '=')
		return false;
	*arg_r = line + kl + 1;
	return true;
}

void delivery_caps_parse(const struct delivery_reply *r, struct delivery_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	const char *p = r->text.data;
	const char *end = p != NULL ? p + r->text.len : NULL;
	if (p == NULL)
		return;
	/* The first line is the server's name and greeting. */
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	p = nl != NULL ? nl + 1 : end;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *arg;
		if (keyword_is(p, len, "PIPELINING", &arg))
			caps->pipelining = true;
		else if (keyword_is(p, len, "STARTTLS", &arg))
			caps->starttls = true;
		else if (keyword_is(p, len, "8BITMIME", &arg))
			caps->eightbitmime = true;
		else if (keyword_is(p, len, "SMTPUTF8", &arg))
			caps->smtputf8 = true;
		else if (keyword_is(p, len, "CHUNKING", &arg))
			caps->chunking = true;
		else if (keyword_is(p, len, "BINARYMIME", &arg))
			caps->binarymime = true;
		else if (keyword_is(p, len, "DSN", &arg))
			caps->dsn = true;
		else if (keyword_is(p, len, "ENHANCEDSTATUSCODES", &arg))
			caps->enhancedstatuscodes = true;
		else if (keyword_is(p, len, "SIZE", &arg)) {
			caps->size = true;
			if (arg != NULL) {
				size_t alen = (size_t)(p + len - arg);
				char num[24];
				if (alen > 0 && alen < sizeof(num)) {
					memcpy(num, arg, alen);
					num[alen] = '\0';
					uint64_t v;
					if (str_to_uint64(num, &v) == 0)
						caps->size_max = v;
				}
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
}
