/* mail_header.c — RFC 5322 header field iteration, unfolding, look-up and
 * IMAP HEADER.FIELDS filtering. Pure functions over bytes, used by every
 * process. Parses untrusted input: any byte sequence is accepted. */
#include "mail_header.h"

#include <string.h>
#include <strings.h>

/* End of the line starting at pos: index just past its '\n', or len. */
static size_t line_end(const char *d, size_t len, size_t pos)
{
	const char *nl = memchr(d + pos, '\n', len - pos);
	return nl == NULL ? len : (size_t)(nl - d) + 1;
}

/* Whether d[pos..end) is an empty line ("\n", "\r\n"). */
static bool line_is_empty(const char *d, size_t pos, size_t end)
{
	size_t n = end - pos;
	return (n == 1 && d[pos] == '\n') ||
	       (n == 2 && d[pos] == '\r' && d[pos + 1] == '\n');
}

void mail_header_iter_init(struct mail_header_iter *it, const void *data,
			   size_t len)
{
	memset(it, 0, sizeof(*it));
	it->data = data;
	it->len = len;
}

bool mail_header_iter_next(struct mail_header_iter *it,
			   struct mail_header_field *field_r)
{
	const char *d = it->data;
	if (it->done)
		return false;
	if (it->pos >= it->len) {
		it->done = true;
		it->body_offset = it->len;
		return false;
	}
	size_t start = it->pos;
	size_t end = line_end(d, it->len, start);
	if (line_is_empty(d, start, end)) {
		it->done = true;
		it->have_end = true;
		it->body_offset = end;
		it->pos = end;
		return false;
	}
	/* Continuation lines: anything starting with SP or TAB. */
	size_t field_end = end;
	while (field_end < it->len && (d[field_end] == ' ' || d[field_end] == '\t'))
		field_end = line_end(d, it->len, field_end);
	/* The value stops before the last line ending. */
	size_t value_stop = field_end;
	if (value_stop > start && d[value_stop - 1] == '\n') {
		value_stop--;
		if (value_stop > start && d[value_stop - 1] == '\r')
			value_stop--;
	}
	memset(field_r, 0, sizeof(*field_r));
	field_r->offset = start;
	field_r->size = field_end - start;
	const char *colon = memchr(d + start, ':', end - start);
	if (colon == NULL || d[start] == ' ' || d[start] == '\t') {
		field_r->no_colon = true;
		field_r->name = d + start;
		field_r->name_len = value_stop - start;
		field_r->value = d + value_stop;
		field_r->value_len = 0;
	} else {
		size_t nlen = (size_t)(colon - (d + start));
		while (nlen > 0 && (d[start + nlen - 1] == ' ' ||
				    d[start + nlen - 1] == '\t'))
			nlen--;
		field_r->name = d + start;
		field_r->name_len = nlen;
		field_r->value = colon + 1;
		field_r->value_len = value_stop - (size_t)(colon + 1 - d);
	}
	it->pos = field_end;
	return true;
}

size_t mail_header_size(const void *data, size_t len, bool *complete_r)
{
	const char *d = data;
	size_t pos = 0;
	while (pos < len) {
		size_t end = line_end(d, len, pos);
		if (line_is_empty(d, pos, end)) {
			*complete_r = true;
			return end;
		}
		pos = end;
	}
	*complete_r = false;
	return len;
}

bool mail_header_name_is(const struct mail_header_field *f, const char *name)
{
	size_t n = strlen(name);
	return !f->no_colon && f->name_len == n &&
	       strncasecmp(f->name, name, n) == 0;
}

void mail_header_unfold(const char *value, size_t len, struct buf *out)
{
	size_t i = 0;
	while (i < len && (value[i] == ' ' || value[i] == '\t' ||
			   value[i] == '\r' || value[i] == '\n'))
		i++;
	size_t start_len = out->len;
	size_t keep = out->len;	/* length without trailing whitespace */
	buf_reserve(out, len - i);
	buf_commit(out, 0);
	for (; i < len; i++) {
		char c = value[i];
		if (c == '\r' || c == '\n' || c == '\0')
			continue;
		buf_append_char(out, c);
		if (c != ' ' && c != '\t')
			keep = out->len;
	}
	if (keep < start_len)
		keep = start_len;
	out->len = keep;
	if (out->data != NULL)
		out->data[keep] = '\0';
}

char *mail_header_unfold_dup(const char *value, size_t len)
{
	struct buf b = BUF_INIT;
	mail_header_unfold(value, len, &b);
	return buf_steal(&b);
}

bool mail_header_find(const void *hdr, size_t len, const char *name,
		      struct mail_header_field *field_r)
{
	struct mail_header_iter it;
	mail_header_iter_init(&it, hdr, len);
	while (mail_header_iter_next(&it, field_r)) {
		if (mail_header_name_is(field_r, name))
			return true;
	}
	return false;
}

char *mail_header_get(const void *hdr, size_t len, const char *name)
{
	struct mail_header_field f;
	if (!mail_header_find(hdr, len, name, &f))
		return NULL;
	return mail_header_unfold_dup(f.value, f.value_len);
}

/* Appends bytes with every bare LF turned into CRLF. */
static void append_crlf(struct buf *out, const char *p, size_t n)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			buf_append(out, p + s, i - s);
			buf_append(out, "\r\n", 2);
			s = i + 1;
		}
	}
	buf_append(out, p + s, n - s);
}

void mail_header_filter(const void *hdr, size_t len,
			const char *const *names, size_t n, bool not,
			struct buf *out)
{
	struct mail_header_iter it;
	struct mail_header_field f;
	mail_header_iter_init(&it, hdr, len);
	while (mail_header_iter_next(&it, &f)) {
		if (f.no_colon)
			continue;
		bool match = false;
		for (size_t i = 0; i < n && !match; i++)
			match = mail_header_name_is(&f, names[i]);
		if (match == not)
			continue;
		append_crlf(out, (const char *)hdr + f.offset, f.size);
		/* A last field cut off by the end of input gets its line
		 * ending so the result stays a valid header. */
		if (f.size > 0 && ((const char *)hdr)[f.offset + f.size - 1] != '\n')
			buf_append(out, "\r\n", 2);
	}
	buf_append(out, "\r\n", 2);
}
