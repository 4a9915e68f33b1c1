/* web_imap_parse.c — IMAP response parser (see web_imap_parse.h). First
 * finds where the response ends (lines and the literals they announce),
 * then tokenizes it. Runs in the web process. Parses untrusted input. */
#include "web_imap_parse.h"
#include "buf.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 64

struct cursor {
	const char *p;
	const char *end;
	const char *error;
};

/* Finds the end of the response starting at data. Returns 1 with the
 * total length, 0 for incomplete, -1 on a limit. */
static int find_end(const char *data, size_t len, size_t *end_r, const char **error_r)
{
	size_t pos = 0;
	for (;;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		if (nl == NULL) {
			if (len - pos > IMAP_MAX_LINE) {
				*error_r = "response line too long";
				return -1;
			}
			return 0;
		}
		size_t line_end = (size_t)(nl - data);
		if (line_end - pos > IMAP_MAX_LINE) {
			*error_r = "response line too long";
			return -1;
		}
		size_t e = line_end;
		if (e > pos && data[e - 1] == '\r')
			e--;
		/* Does the line end with {n} or {n+}? */
		if (e > pos && data[e - 1] == '}') {
			size_t b = e - 1;
			while (b > pos && data[b - 1] != '{' && b > e - 14)
				b--;
			if (b > pos && data[b - 1] == '{') {
				const char *d = data + b;
				size_t dl = (e - 1) - b;
				if (dl > 0 && d[dl - 1] == '+')
					dl--;
				uint64_t n = 0;
				bool ok = dl > 0;
				for (size_t i = 0; i < dl && ok; i++) {
					if (d[i] < '0' || d[i] > '9')
						ok = false;
					else
						n = n * 10 + (uint64_t)(d[i] - '0');
				}
				if (ok) {
					if (n > IMAP_MAX_LITERAL) {
						*error_r = "literal too large";
						return -1;
					}
					pos = line_end + 1;
					if (len - pos < n)
						return 0;
					pos += (size_t)n;
					continue;
				}
			}
		}
		*end_r = line_end + 1;
		return 1;
	}
}

static void node_free(struct imap_node *n)
{
	free(n->data);
	for (size_t i = 0; i < n->n; i++)
		node_free(&n->items[i]);
	free(n->items);
	memset(n, 0, sizeof(*n));
}

static bool at_eol(const struct cursor *c)
{
	return c->p >= c->end || *c->p == '\r' || *c->p == '\n';
}

static bool is_atom_char(char ch)
{
	unsigned char u = (unsigned char)ch;
	if (u <= 0x20 || u == 0x7f)
		return false;
	return strchr("(){\"", ch) == NULL;
}

static struct imap_node *list_add(struct imap_node *list)
{
	list->items = x_reallocarray(list->items, list->n + 1, sizeof(*list->items));
	struct imap_node *n = &list->items[list->n++];
	memset(n, 0, sizeof(*n));
	return n;
}

static int parse_token(struct cursor *c, struct imap_node *out, int depth);

/* Parses tokens into list until ')' (inner) or end of line (outer). */
static int parse_list_body(struct cursor *c, struct imap_node *list, bool inner, int depth)
{
	list->type = IMAP_NODE_LIST;
	for (;;) {
		while (c->p < c->end && *c->p == ' ')
			c->p++;
		if (at_eol(c)) {
			if (inner) {
				c->error = "unterminated list";
				return -1;
			}
			return 0;
		}
		if (*c->p == ')') {
			if (!inner) {
				c->error = "unbalanced ')'";
				return -1;
			}
			c->p++;
			return 0;
		}
		if (parse_token(c, list_add(list), depth) < 0)
			return -1;
	}
}

static int parse_quoted(struct cursor *c, struct imap_node *out)
{
	struct buf b = BUF_INIT;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;
		if (ch == '\r' || ch == '\n') {
			buf_free(&b);
			c->error = "line break in quoted string";
			return -1;
		}
		if (ch == '\\') {
			if (c->p >= c->end) {
				break;
			}
			ch = *c->p++;
		}
		buf_append_char(&b, ch);
	}
	if (c->p >= c->end) {
		buf_free(&b);
		c->error = "unterminated quoted string";
		return -1;
	}
	c->p++;
	out->type = IMAP_NODE_STRING;
	out->len = b.len;
	out->data = b.data != NULL ? buf_steal(&b) : x_strdup("");
	return 0;
}

static int parse_literal(struct cursor *c, struct imap_node *out)
{
	c->p++;
	uint64_t n = 0;
	const char *start = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		n = n * 10 + (uint64_t)(*c->p++ - '0');
	if (c->p == start || n > IMAP_MAX_LITERAL) {
		c->error = "malformed literal";
		return -1;
	}
	if (c->p < c->end && *c->p == '+')
		c->p++;
	if (c->p >= c->end || *c->p != '}') {
		c->error = "malformed literal";
		return -1;
	}
	c->p++;
	if (c->p < c->end && *c->p == '\r')
		c->p++;
	if (c->p >= c->end || *c->p != '\n' || (size_t)(c->end - c->p - 1) < n) {
		c->error = "malformed literal";
		return -1;
	}
	c->p++;
	out->type = IMAP_NODE_STRING;
	/* Exactly n bytes are there: the NUL is ours (copying n + 1 read a
	 * byte past a response that ends with the literal; found by
	 * fuzz_http_imap_response). */
	out->data = x_malloc((size_t)n + 1);
	memcpy(out->data, c->p, (size_t)n);
	out->data[n] = '\0';
	out->len = (size_t)n;
	c->p += n;
	return 0;
}

static int parse_atom(struct cursor *c, struct imap_node *out)
{
	const char *start = c->p;
	while (c->p < c->end && (is_atom_char(*c->p) || *c->p == '[')) {
		if (*c->p == '[') {
			/* Section specs like BODY[HEADER.FIELDS (A B)] hold
			 * spaces and parentheses up to the ']'. */
			while (c->p < c->end && *c->p != ']' && *c->p != '\r' && *c->p != '\n' &&
			       *c->p != '\0')
				c->p++;
			/* A NUL would also make the copy below shorter than len
			 * (heap overflow found by fuzz_http_imap_response). */
			if (c->p >= c->end || *c->p != ']') {
				c->error = c->p < c->end && *c->p == '\0' ? "NUL in an atom" :
					"unterminated '['";
				return -1;
			}
		}
		c->p++;
	}
	if (c->p == start) {
		c->error = "unexpected character";
		return -1;
	}
	size_t len = (size_t)(c->p - start);
	if (len == 3 && strncasecmp(start, "NIL", 3) == 0) {
		out->type = IMAP_NODE_NIL;
		return 0;
	}
	out->type = IMAP_NODE_ATOM;
	out->data = x_strndup(start, len);
	out->len = len;
	return 0;
}

static int parse_token(struct cursor *c, struct imap_node *out, int depth)
{
	switch (*c->p) {
	case '(':
		if (depth >= MAX_DEPTH) {
			c->error = "lists nested too deeply";
			return -1;
		}
		c->p++;
		return parse_list_body(c, out, true, depth + 1);
	case '"':
		return parse_quoted(c, out);
	case '{':
		return parse_literal(c, out);
	default:
		return parse_atom(c, out);
	}
}

/* Reads a word up to a space or line end. */
static char *read_word(struct cursor *c)
{
	const char *s = c->p;
	while (c->p < c->end && *c->p != ' ' && *c->p != '\r' && *c->p != '\n')
		c->p++;
	return x_strndup(s, (size_t)(c->p - s));
}

static void skip_space(struct cursor *c)
{
	if (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* "[code] text" after a status word. */
static void parse_resp_text(struct cursor *c, struct imap_response *r)
{
	skip_space(c);
	if (c->p < c->end && *c->p == '[') {
		const char *s = c->p + 1;
		const char *e = s;
		int nest = 0;
		while (e < c->end && *e != '\r' && *e != '\n' && (*e != ']' || nest > 0)) {
			if (*e == '[')
				nest++;
			else if (*e == ']')
				nest--;
			e++;
		}
		if (e < c->end && *e == ']') {
			r->code = x_strndup(s, (size_t)(e - s));
			c->p = e + 1;
			skip_space(c);
		}
	}
	const char *s = c->p;
	while (c->p < c->end && *c->p != '\r' && *c->p != '\n')
		c->p++;
	r->text = x_strndup(s, (size_t)(c->p - s));
}

static bool is_status_word(const char *w)
{
	return strcasecmp(w, "OK") == 0 || strcasecmp(w, "NO") == 0 ||
		strcasecmp(w, "BAD") == 0 || strcasecmp(w, "BYE") == 0 ||
		strcasecmp(w, "PREAUTH") == 0;
}

static int parse_response(struct cursor *c, struct imap_response *r)
{
	if (c->p < c->end && *c->p == '+') {
		r->kind = IMAP_RESP_CONTINUE;
		c->p++;
		skip_space(c);
		const char *s = c->p;
		while (c->p < c->end && *c->p != '\r' && *c->p != '\n')
			c->p++;
		r->text = x_strndup(s, (size_t)(c->p - s));
		return 0;
	}
	if (c->p + 1 < c->end && c->p[0] == '*' && c->p[1] == ' ') {
		c->p += 2;
		char *w = read_word(c);
		uint64_t num;
		if (w[0] >= '0' && w[0] <= '9') {
			if (str_to_uint64(w, &num) < 0 || num > UINT32_MAX) {
				free(w);
				c->error = "bad message number";
				return -1;
			}
			free(w);
			r->has_number = true;
			r->number = (uint32_t)num;
			skip_space(c);
			w = read_word(c);
		}
		for (char *q = w; *q != '\0'; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 'a' + 'A');
		if (w[0] == '\0') {
			free(w);
			c->error = "missing response keyword";
			return -1;
		}
		if (!r->has_number && is_status_word(w)) {
			r->kind = IMAP_RESP_STATUS;
			r->status = w;
			parse_resp_text(c, r);
			return 0;
		}
		r->kind = IMAP_RESP_DATA;
		r->keyword = w;
		return parse_list_body(c, &r->args, false, 0);
	}
	r->kind = IMAP_RESP_TAGGED;
	r->tag = read_word(c);
	if (r->tag[0] == '\0') {
		c->error = "missing tag";
		return -1;
	}
	skip_space(c);
	r->status = read_word(c);
	for (char *q = r->status; *q != '\0'; q++)
		if (*q >= 'a' && *q <= 'z')
			*q = (char)(*q - 'a' + 'A');
	if (strcmp(r->status, "OK") != 0 && strcmp(r->status, "NO") != 0 &&
	    strcmp(r->status, "BAD") != 0) {
		c->error = "tagged response without OK/NO/BAD";
		return -1;
	}
	parse_resp_text(c, r);
	return 0;
}

int imap_response_parse(const char *data, size_t len, struct imap_response *resp,
			size_t *used_r, const char **error_r)
{
	size_t end;
	memset(resp, 0, sizeof(*resp));
	int ret = find_end(data, len, &end, error_r);
	if (ret <= 0)
		return ret;
	struct cursor c = { data, data + end, NULL };
	if (parse_response(&c, resp) < 0) {
		*error_r = c.error != NULL ? c.error : "malformed response";
		imap_response_free(resp);
		return -1;
	}
	if (resp->text == NULL)
		resp->text = x_strdup("");
	*used_r = end;
	return 1;
}

void imap_response_free(struct imap_response *r)
{
	free(r->tag);
	free(r->status);
	free(r->code);
	free(r->text);
	free(r->keyword);
	node_free(&r->args);
	memset(r, 0, sizeof(*r));
}

bool imap_node_is(const struct imap_node *n, const char *atom)
{
	return n != NULL && (n->type == IMAP_NODE_ATOM || n->type == IMAP_NODE_STRING) &&
		strcasecmp(n->data, atom) == 0;
}

const char *imap_node_str(const struct imap_node *n)
{
	if (n == NULL || (n->type != IMAP_NODE_ATOM && n->type != IMAP_NODE_STRING))
		return NULL;
	return n->data;
}

const struct imap_node *imap_fetch_attr(const struct imap_node *list, const char *name)
{
	if (list == NULL || list->type != IMAP_NODE_LIST)
		return NULL;
	for (size_t i = 0; i + 1 < list->n; i += 2)
		if (imap_node_is(&list->items[i], name))
			return &list->items[i + 1];
	return NULL;
}

bool imap_node_uint(const struct imap_node *n, uint64_t *val_r)
{
	return n != NULL && n->type == IMAP_NODE_ATOM && str_to_uint64(n->data, val_r) == 0;
}
