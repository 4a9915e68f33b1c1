/* mail_param.c — MIME parameter lists (RFC 2045 5.1) with RFC 2231
 * continuations and charsets; writing them back with RFC 2231 encoding.
 * Pure functions used by every process. Parses untrusted input: lenient,
 * no recursion (comments are skipped with a depth counter). */
#include "mail_param.h"
#include "mail_charset.h"
#include "mail_rfc2047.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cursor {
	const unsigned char *p;
	const unsigned char *end;
};

/* Skips whitespace, line breaks and (nested) comments. */
static void skip_cfws(struct cursor *c)
{
	while (c->p < c->end) {
		unsigned char ch = *c->p;
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			c->p++;
		} else if (ch == '(') {
			size_t depth = 0;
			while (c->p < c->end) {
				ch = *c->p++;
				if (ch == '\\' && c->p < c->end)
					c->p++;
				else if (ch == '(')
					depth++;
				else if (ch == ')' && --depth == 0)
					break;
			}
		} else {
			break;
		}
	}
}

/* RFC 2045 token character (tspecials, space and controls excluded). */
static bool is_token_char(unsigned char ch)
{
	if (ch <= ' ' || ch == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

static size_t read_token(struct cursor *c, struct buf *out)
{
	size_t n = 0;
	while (c->p < c->end && is_token_char(*c->p)) {
		buf_append_char(out, (char)*c->p++);
		n++;
	}
	return n;
}

/* Reads a quoted string at c->p (which is '"'); an unterminated one runs
 * to the end. Line breaks inside are removed (unfolding). */
static void read_quoted(struct cursor *c, struct buf *out)
{
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = *c->p++;
		if (ch == '"')
			return;
		if (ch == '\\' && c->p < c->end)
			ch = *c->p++;
		else if (ch == '\r' || ch == '\n')
			continue;
		if (ch != '\0')
			buf_append_char(out, (char)ch);
	}
}

void mail_params_add(struct mail_params *params, const char *name,
		     const char *value)
{
	params->v = x_reallocarray(params->v, params->n + 1, sizeof(*params->v));
	params->v[params->n].name = x_strdup(name);
	params->v[params->n].value = x_strdup(value);
	params->n++;
}

void mail_params_free(struct mail_params *params)
{
	for (size_t i = 0; i < params->n; i++) {
		free(params->v[i].name);
		free(params->v[i].value);
	}
	x_free(&params->v);
	params->n = 0;
}

/* RFC 2231 section syntax in a parameter name: "base*N" or "base*N*"
 * (section N, extended if the trailing star is there) or "base*". */
struct rfc2231_name {
	size_t base_len;
	long section;		/* -1: "base*" without a section number */
	bool extended;
};

static bool parse_2231_name(const char *name, struct rfc2231_name *r)
{
	const char *star = strchr(name, '*');
	if (star == NULL || star == name)
		return false;
	r->base_len = (size_t)(star - name);
	const char *s = star + 1;
	if (*s == '\0') {
		r->section = -1;
		r->extended = true;
		return true;
	}
	if (!isdigit((unsigned char)*s) || (*s == '0' && isdigit((unsigned char)s[1])))
		return false;
	long n = 0;
	while (isdigit((unsigned char)*s)) {
		if (n > 100000)
			return false;
		n = n * 10 + (*s++ - '0');
	}
	if (*s == '*') {
		r->extended = true;
		s++;
	} else {
		r->extended = false;
	}
	if (*s != '\0')
		return false;
	r->section = n;
	return true;
}

/* Percent-encodes what RFC 2231 does not allow raw in an extended value. */
static void escape_2231(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= ' ' || ch >= 0x7f || strchr("*'%()<>@,;:\\\"/[]?=", ch))
			buf_appendf(out, "%%%02X", ch);
		else
			buf_append_char(out, (char)ch);
	}
}

/* Merges RFC 2231 continuations of raw into params (which gets the plain
 * parameters in order, then the merged ones, as Dovecot orders them). */
static void merge_2231(struct mail_params *raw, struct mail_params *params)
{
	size_t n = raw->n;
	struct rfc2231_name *info = x_calloc(n ? n : 1, sizeof(*info));
	bool *is2231 = x_calloc(n ? n : 1, sizeof(*is2231));
	bool *used = x_calloc(n ? n : 1, sizeof(*used));
	for (size_t i = 0; i < n; i++) {
		is2231[i] = parse_2231_name(raw->v[i].name, &info[i]);
		if (!is2231[i])
			mail_params_add(params, raw->v[i].name, raw->v[i].value);
	}
	struct buf name = BUF_INIT, value = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (!is2231[i] || used[i])
			continue;
		buf_reset(&name);
		buf_append(&name, raw->v[i].name, info[i].base_len);
		if (info[i].section < 0) {
			used[i] = true;
			buf_append_char(&name, '*');
			mail_params_add(params, buf_cstr(&name), raw->v[i].value);
			continue;
		}
		/* Gather sections 0, 1, 2... of this base name; a gap ends
		 * the value, leftovers are dropped. Does any one extend? */
		bool extended = false;
		size_t count = 0;
		for (size_t j = i; j < n; j++) {
			if (is2231[j] && !used[j] && info[j].section >= 0 &&
			    info[j].base_len == info[i].base_len &&
			    strncasecmp(raw->v[j].name, raw->v[i].name, info[i].base_len) == 0) {
				count++;
				if (info[j].extended)
					extended = true;
			}
		}
		buf_reset(&value);
		bool got = false;
		for (long sec = 0; (size_t)sec < count; sec++) {
			size_t found = n;
			for (size_t j = i; j < n; j++) {
				if (is2231[j] && !used[j] && info[j].section == sec &&
				    info[j].base_len == info[i].base_len &&
				    strncasecmp(raw->v[j].name, raw->v[i].name, info[i].base_len) == 0) {
					found = j;
					break;
				}
			}
			if (found == n)
				break;
			used[found] = true;
			got = true;
			if (sec == 0 && extended && !info[found].extended)
				buf_append(&value, "''", 2);
			/* plain sections are appended as they are, like
			 * Dovecot does */
			buf_append_str(&value, raw->v[found].value);
		}
		/* Sections without a section 0 (or past a gap) are dropped. */
		for (size_t j = i; j < n; j++) {
			if (is2231[j] && info[j].section >= 0 &&
			    info[j].base_len == info[i].base_len &&
			    strncasecmp(raw->v[j].name, raw->v[i].name, info[i].base_len) == 0)
				used[j] = true;
		}
		if (!got)
			continue;
		if (extended)
			buf_append_char(&name, '*');
		mail_params_add(params, buf_cstr(&name), buf_cstr(&value));
	}
	buf_free(&name);
	buf_free(&value);
	free(info);
	free(is2231);
	free(used);
}

void mail_param_parse_value(const void *data, size_t len, char **value_r,
			    struct mail_params *params_r)
{
	struct cursor c = { data, (const unsigned char *)data + len };
	struct buf tok = BUF_INIT, val = BUF_INIT;
	memset(params_r, 0, sizeof(*params_r));
	if (value_r != NULL)
		*value_r = NULL;

	/* The leading value: token, or token "/" token. */
	skip_cfws(&c);
	if (read_token(&c, &tok) > 0) {
		skip_cfws(&c);
		if (c.p < c.end && *c.p == '/') {
			c.p++;
			skip_cfws(&c);
			buf_append_char(&tok, '/');
			if (read_token(&c, &tok) == 0)
				buf_reset(&tok);
		}
		if (tok.len > 0 && value_r != NULL)
			*value_r = x_strdup(buf_cstr(&tok));
	}

	struct mail_params raw = { NULL, 0 };
	while (c.p < c.end) {
		/* Skip to the next ';'. */
		const unsigned char *semi = memchr(c.p, ';', (size_t)(c.end - c.p));
		if (semi == NULL)
			break;
		c.p = semi + 1;
		skip_cfws(&c);
		buf_reset(&tok);
		if (read_token(&c, &tok) == 0)
			continue;
		skip_cfws(&c);
		if (c.p >= c.end || *c.p != '=')
			continue;
		c.p++;
		skip_cfws(&c);
		buf_reset(&val);
		if (c.p < c.end && *c.p == '"') {
			read_quoted(&c, &val);
		} else {
			/* Lenient: an unquoted value runs to ';' (spaces in
			 * file names are common) without comments, trailing
			 * space trimmed. */
			while (c.p < c.end && *c.p != ';') {
				unsigned char ch = *c.p;
				if (ch == '(') {
					skip_cfws(&c);
					continue;
				}
				c.p++;
				if (ch == '\r' || ch == '\n' || ch == '\0')
					continue;
				buf_append_char(&val, (char)ch);
			}
			while (val.len > 0 && (val.data[val.len - 1] == ' ' ||
					       val.data[val.len - 1] == '\t'))
				val.len--;
			buf_reserve(&val, 0);
			val.data[val.len] = '\0';
		}
		mail_params_add(&raw, buf_cstr(&tok), buf_cstr(&val));
	}
	merge_2231(&raw, params_r);
	mail_params_free(&raw);
	buf_free(&tok);
	buf_free(&val);
}

const char *mail_param_get(const struct mail_params *params, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < params->n; i++) {
		if (strcasecmp(params->v[i].name, name) == 0)
			return params->v[i].value;
	}
	for (size_t i = 0; i < params->n; i++) {
		const char *pn = params->v[i].name;
		if (strncasecmp(pn, name, n) == 0 && pn[n] == '*' && pn[n + 1] == '\0')
			return params->v[i].value;
	}
	return NULL;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool mail_param_get_utf8(const struct mail_params *params, const char *name,
			 struct buf *out)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < params->n; i++) {
		const char *pn = params->v[i].name;
		if (strncasecmp(pn, name, n) == 0 && pn[n] == '*' && pn[n + 1] == '\0') {
			/* charset'language'percent-encoded */
			const char *v = params->v[i].value;
			const char *q1 = strchr(v, '\'');
			const char *q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');
			const char *text = q2 == NULL ? v : q2 + 1;
			char *charset = q2 == NULL ? x_strdup("") :
				x_strndup(v, (size_t)(q1 - v));
			struct buf raw = BUF_INIT;
			for (const char *p = text; *p != '\0'; p++) {
				int h, l;
				if (*p == '%' && (h = hexval((unsigned char)p[1])) >= 0 &&
				    (l = hexval((unsigned char)p[2])) >= 0) {
					buf_append_char(&raw, (char)(h * 16 + l));
					p += 2;
				} else {
					buf_append_char(&raw, *p);
				}
			}
			const char *error;
			if (charset[0] == '\0' || mail_charset_is_utf8(charset))
				mail_utf8_append_valid(out, raw.data, raw.len);
			else
				(void)mail_charset_to_utf8(charset, raw.data, raw.len, out, &error);
			buf_free(&raw);
			free(charset);
			return true;
		}
	}
	for (size_t i = 0; i < params->n; i++) {
		if (strcasecmp(params->v[i].name, name) == 0) {
			const char *v = params->v[i].value;
			(void)mail_rfc2047_decode(v, strlen(v), out);
			return true;
		}
	}
	return false;
}

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!is_token_char((unsigned char)*s))
			return false;
	}
	return true;
}

static bool is_printable_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	}
	return true;
}

/* Appends "; " + item, folding first if the line would pass 76. */
static void put_item(struct buf *out, size_t *line_len, const char *item,
		     size_t n)
{
	if (*line_len + 2 + n > 76) {
		buf_append(out, ";\r\n\t", 4);
		*line_len = 1;
	} else {
		buf_append(out, "; ", 2);
		*line_len += 2;
	}
	buf_append(out, item, n);
	*line_len += n;
}

void mail_param_write(struct buf *out, size_t *line_len, const char *name,
		      const char *value)
{
	struct buf item = BUF_INIT;
	/* "=?" would read back as an RFC 2047 word: use RFC 2231 then */
	if ((is_token(value) || is_printable_ascii(value)) &&
	    strstr(value, "=?") == NULL) {
		buf_append_str(&item, name);
		buf_append_char(&item, '=');
		if (is_token(value)) {
			buf_append_str(&item, value);
		} else {
			buf_append_char(&item, '"');
			for (const char *p = value; *p != '\0'; p++) {
				if (*p == '"' || *p == '\\')
					buf_append_char(&item, '\\');
				buf_append_char(&item, *p);
			}
			buf_append_char(&item, '"');
		}
		if (item.len <= 70) {
			put_item(out, line_len, item.data, item.len);
			buf_free(&item);
			return;
		}
		buf_reset(&item);
	}
	/* RFC 2231: name*=utf-8''..., or sections name*0*=... when long. */
	struct buf enc = BUF_INIT;
	buf_append(&enc, "utf-8''", 7);
	escape_2231(&enc, value);
	size_t nlen = strlen(name);
	if (nlen + 2 + enc.len <= 70) {
		buf_appendf(&item, "%s*=%s", name, enc.data);
		put_item(out, line_len, item.data, item.len);
	} else {
		size_t pos = 0;
		for (unsigned int sec = 0; pos < enc.len; sec++) {
			size_t chunk = enc.len - pos;
			if (chunk > 60)
				chunk = 60;
			/* Never cut a %XX escape. */
			if (pos + chunk < enc.len) {
				if (chunk >= 1 && enc.data[pos + chunk - 1] == '%')
					chunk -= 1;
				else if (chunk >= 2 && enc.data[pos + chunk - 2] == '%')
					chunk -= 2;
			}
			buf_reset(&item);
			buf_appendf(&item, "%s*%u*=", name, sec);
			buf_append(&item, enc.data + pos, chunk);
			put_item(out, line_len, item.data, item.len);
			pos += chunk;
		}
	}
	buf_free(&enc);
	buf_free(&item);
}
