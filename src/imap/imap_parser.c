/* imap_parser.c — IMAP command parser: line segments up to CRLF are
 * tokenized into a tree of arguments; literals between segments are kept
 * in memory or handed to the caller as data events. Runs in the mail
 * workers. Parses client input: every length is bounded by the limits,
 * nothing recurses. */
#include "imap_parser.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes kept of a line being skipped: room for "{" 20 digits "+}". */
#define SKIP_KEEP 32

enum pstate {
	P_LINE,			/* reading command text up to CRLF */
	P_LITERAL_DECIDE,	/* literal header reported, awaiting accept */
	P_LITERAL_MEM,		/* literal bytes into memory */
	P_LITERAL_STREAM,	/* literal bytes to the caller */
	P_SKIP_LITERAL,		/* after an error: drop literal bytes */
	P_SKIP_LINE,		/* after an error: drop up to the line end */
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum pstate state;
	char *tag;
	char *name;
	struct imap_arg root;
	struct imap_arg **stack;	/* stack[0] = &root */
	unsigned depth;
	size_t n_args;
	size_t line_total;
	size_t mem_total;
	uint64_t lit_left;
	bool lit_sync;
	bool lit8;
	struct imap_arg *lit_arg;
	size_t scan;			/* input bytes already searched for LF */
	size_t pending_consume;		/* DATA bytes to drop on the next call */
	bool finished;			/* the previous event ended a command
					   with an error: reset on next call */
	bool read_line_overflow;
	char errbuf[128];
};

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = x_calloc(1, sizeof(*p));
	p->lim = *limits;
	if (p->lim.max_depth == 0)
		p->lim.max_depth = 1;
	p->stack = x_calloc(p->lim.max_depth + 1, sizeof(*p->stack));
	p->stack[0] = &p->root;
	p->root.type = IMAP_ARG_LIST;
	return p;
}

static void arg_free(struct imap_arg *a)
{
	/* Recursion depth is bounded by the parser's max_depth. */
	if (a->type != IMAP_ARG_LIST) {
		free(a->str);
		return;
	}
	for (size_t i = 0; i < a->len; i++) {
		struct imap_arg *c = &a->list[i];
		if (c->type == IMAP_ARG_LIST)
			arg_free(c);	/* depth bounded by max_depth */
		else
			free(c->str);
	}
	free(a->list);
	a->list = NULL;
	a->len = a->cap = 0;
}

void imap_parser_reset(struct imap_parser *p)
{
	arg_free(&p->root);
	p->root.type = IMAP_ARG_LIST;
	x_free(&p->tag);
	x_free(&p->name);
	p->depth = 0;
	p->n_args = 0;
	p->line_total = 0;
	p->mem_total = 0;
	p->lit_left = 0;
	p->lit_arg = NULL;
	p->finished = false;
	if (p->state != P_SKIP_LINE && p->state != P_SKIP_LITERAL)
		p->state = P_LINE;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (p == NULL)
		return;
	imap_parser_reset(p);
	free(p->stack);
	free(p);
	*pp = NULL;
}

bool imap_parser_busy(const struct imap_parser *p)
{
	return p->tag != NULL || p->state != P_LINE;
}

static struct imap_arg *add_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *list = p->stack[p->depth];
	if (list->len == list->cap) {
		list->cap = list->cap == 0 ? 8 : list->cap * 2;
		list->list = x_reallocarray(list->list, list->cap, sizeof(struct imap_arg));
	}
	struct imap_arg *a = &list->list[list->len++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	p->n_args++;
	return a;
}

static bool is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' &&
	       c != '*' && c != '"' && c != '\\' && c != '+';
}

static bool is_atom_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '"';
}

/* The tail of a segment is "{N}" / "{N+}" / "~{N}": its size. */
static bool trailing_literal(const char *s, size_t end, uint64_t *size_r, bool *sync_r)
{
	if (end < 3 || s[end - 1] != '}')
		return false;
	size_t i = end - 1;
	bool nonsync = false;
	if (i > 0 && s[i - 1] == '+') {
		nonsync = true;
		i--;
	}
	size_t digits_end = i;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == digits_end || i == 0 || s[i - 1] != '{' || digits_end - i > 19)
		return false;
	uint64_t v = 0;
	for (size_t j = i; j < digits_end; j++)
		v = v * 10 + (uint64_t)(s[j] - '0');
	*size_r = v;
	*sync_r = !nonsync;
	return true;
}

static size_t segment_end(const char *s, size_t len)
{
	size_t end = len - 1;	/* the LF */
	if (end > 0 && s[end - 1] == '\r')
		end--;
	return end;
}

/* Reports an error for the current command. The rest of the segment
 * (s, len) has been seen; a non-synchronizing literal announced at its
 * end is skipped. */
static enum imap_parse_result fail(struct imap_parser *p, struct imap_parse_event *ev,
				   const char *msg, const char *s, size_t len)
{
	ev->tag = p->tag;
	ev->name = p->name;
	ev->error = msg;
	p->finished = true;
	p->state = P_LINE;
	uint64_t size;
	bool sync;
	if (s != NULL && trailing_literal(s, segment_end(s, len), &size, &sync) && !sync) {
		p->lit_left = size;
		p->state = P_SKIP_LITERAL;
	}
	return IMAP_PARSE_ERROR;
}

static enum imap_parse_result parse_segment(struct imap_parser *p, const char *s, size_t len,
					    struct imap_parse_event *ev)
{
	size_t end = segment_end(s, len);
	size_t pos = 0;
	if (p->tag == NULL) {
		while (pos < end && is_tag_char((unsigned char)s[pos]))
			pos++;
		if (pos == 0 || (pos < end && s[pos] != ' '))
			return fail(p, ev, "Invalid tag", s, len);
		p->tag = x_strndup(s, pos);
		if (pos >= end)
			return fail(p, ev, "Missing command", s, len);
		size_t start = ++pos;
		while (pos < end && s[pos] != ' ' && is_atom_char((unsigned char)s[pos]) &&
		       s[pos] != '[' && s[pos] != '{')
			pos++;
		if (pos == start || (pos < end && s[pos] != ' '))
			return fail(p, ev, "Invalid command name", s, len);
		p->name = x_strndup(s + start, pos - start);
	}
	while (pos < end) {
		unsigned char c = (unsigned char)s[pos];
		if (p->n_args >= p->lim.max_args)
			return fail(p, ev, "Too many arguments", s, len);
		if (c == ' ') {
			pos++;
		} else if (c == '(') {
			if (p->depth >= p->lim.max_depth)
				return fail(p, ev, "Too deeply nested lists", s, len);
			struct imap_arg *a = add_arg(p, IMAP_ARG_LIST);
			p->stack[++p->depth] = a;
			pos++;
		} else if (c == ')') {
			if (p->depth == 0)
				return fail(p, ev, "Unexpected ')'", s, len);
			p->depth--;
			pos++;
		} else if (c == '"') {
			struct buf b = BUF_INIT;
			pos++;
			bool closed = false;
			while (pos < end) {
				char ch = s[pos++];
				if (ch == '"') {
					closed = true;
					break;
				}
				if (ch == '\\' && pos < end)
					ch = s[pos++];
				if (ch == '\0' || ch == '\r' || ch == '\n') {
					buf_free(&b);
					return fail(p, ev, "Invalid character in quoted string", s, len);
				}
				buf_append_char(&b, ch);
			}
			if (!closed) {
				buf_free(&b);
				return fail(p, ev, "Missing '\"'", s, len);
			}
			struct imap_arg *a = add_arg(p, IMAP_ARG_STRING);
			a->len = b.len;
			a->str = buf_steal(&b);
		} else if (c == '{' || (c == '~' && pos + 1 < end && s[pos + 1] == '{')) {
			uint64_t size;
			bool sync;
			bool lit8 = c == '~';
			if (!trailing_literal(s + pos, end - pos, &size, &sync) ||
			    s[pos + (lit8 ? 1 : 0)] != '{')
				return fail(p, ev, "Invalid literal", s, len);
			/* The literal header ends the segment. */
			size_t brace = pos + (lit8 ? 1 : 0);
			if (memchr(s + brace + 1, '{', end - brace - 1) != NULL)
				return fail(p, ev, "Invalid literal", s, len);
			struct imap_arg *list = p->stack[p->depth];
			struct imap_arg *a = add_arg(p, IMAP_ARG_LITERAL);
			a->literal8 = lit8;
			p->lit_arg = a;
			p->lit_left = size;
			p->lit_sync = sync;
			p->lit8 = lit8;
			p->state = P_LITERAL_DECIDE;
			ev->tag = p->tag;
			ev->name = p->name;
			ev->args = p->root.list;
			ev->n_args = p->root.len;
			ev->literal_size = size;
			ev->literal_sync = sync;
			ev->literal8 = lit8;
			ev->literal_depth = p->depth;
			ev->literal_list = list;
			ev->literal_pos = list->len - 1;
			return IMAP_PARSE_LITERAL;
		} else {
			size_t start = pos;
			bool bracket = false;
			while (pos < end) {
				unsigned char ch = (unsigned char)s[pos];
				if (ch < 0x20 || ch == 0x7f)
					return fail(p, ev, "Invalid character in atom", s, len);
				if (bracket) {
					if (ch == ']')
						bracket = false;
				} else if (ch == '[') {
					bracket = true;
				} else if (!is_atom_char(ch)) {
					break;
				}
				pos++;
			}
			struct imap_arg *a = add_arg(p, IMAP_ARG_ATOM);
			a->len = pos - start;
			a->str = x_strndup(s + start, pos - start);
		}
	}
	if (p->depth != 0)
		return fail(p, ev, "Missing ')'", NULL, 0);
	ev->tag = p->tag;
	ev->name = p->name;
	ev->args = p->root.list;
	ev->n_args = p->root.len;
	return IMAP_PARSE_COMMAND;
}

/* Best-effort tag of an over-long first line, for the BAD reply. */
static void peek_tag(struct imap_parser *p, const struct buf *in)
{
	if (p->tag != NULL)
		return;
	size_t n = 0;
	while (n < in->len && n < 64 && is_tag_char((unsigned char)in->data[n]))
		n++;
	if (n > 0 && n < in->len && in->data[n] == ' ')
		p->tag = x_strndup(in->data, n);
}

enum imap_parse_result imap_parser_parse(struct imap_parser *p, struct buf *in,
					 struct imap_parse_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (p->pending_consume > 0) {
		buf_consume(in, p->pending_consume);
		p->pending_consume = 0;
	}
	if (p->finished)
		imap_parser_reset(p);
	for (;;) {
		switch (p->state) {
		case P_LITERAL_DECIDE:
			log_panic("imap parser: literal neither accepted nor rejected");
		case P_LITERAL_MEM: {
			size_t n = in->len < p->lit_left ? in->len : (size_t)p->lit_left;
			struct imap_arg *a = p->lit_arg;
			memcpy(a->str + a->len, in->data, n);
			a->len += n;
			a->str[a->len] = '\0';
			buf_consume(in, n);
			p->lit_left -= n;
			if (p->lit_left > 0)
				return IMAP_PARSE_MORE;
			p->state = P_LINE;
			p->scan = 0;
			continue;
		}
		case P_LITERAL_STREAM: {
			if (in->len == 0 && p->lit_left > 0)
				return IMAP_PARSE_MORE;
			size_t n = in->len < p->lit_left ? in->len : (size_t)p->lit_left;
			ev->tag = p->tag;
			ev->name = p->name;
			ev->data = in->data;
			ev->len = n;
			p->lit_left -= n;
			p->pending_consume = n;
			ev->last = p->lit_left == 0;
			if (ev->last) {
				p->state = P_LINE;
				p->scan = 0;
			}
			return IMAP_PARSE_DATA;
		}
		case P_SKIP_LITERAL: {
			size_t n = in->len < p->lit_left ? in->len : (size_t)p->lit_left;
			buf_consume(in, n);
			p->lit_left -= n;
			if (p->lit_left > 0)
				return IMAP_PARSE_MORE;
			p->state = P_SKIP_LINE;
			p->scan = 0;
			continue;
		}
		case P_SKIP_LINE: {
			char *lf = in->len > 0 ? memchr(in->data, '\n', in->len) : NULL;
			if (lf == NULL) {
				/* Keep a tail: a literal header at the line's end
				 * may be cut by the chunking. */
				if (in->len > SKIP_KEEP)
					if (in->len > SKIP_KEEP)
					buf_consume(in, in->len - SKIP_KEEP);
				return IMAP_PARSE_MORE;
			}
			size_t len = (size_t)(lf - in->data) + 1;
			uint64_t size;
			bool sync;
			bool lit = trailing_literal(in->data, segment_end(in->data, len), &size, &sync);
			buf_consume(in, len);
			p->scan = 0;
			if (lit && !sync) {
				p->lit_left = size;
				p->state = P_SKIP_LITERAL;
			} else {
				p->state = P_LINE;
			}
			continue;
		}
		case P_LINE:
			break;
		}
		if (in->len == 0)
			return IMAP_PARSE_MORE;
		char *lf = p->scan < in->len ? memchr(in->data + p->scan, '\n', in->len - p->scan) : NULL;
		if (lf == NULL) {
			p->scan = in->len;
			if (p->line_total + in->len > p->lim.max_line) {
				peek_tag(p, in);
				if (in->len > SKIP_KEEP)
					buf_consume(in, in->len - SKIP_KEEP);
				p->scan = 0;
				enum imap_parse_result r = fail(p, ev, "Command line too long", NULL, 0);
				p->state = P_SKIP_LINE;
				return r;
			}
			return IMAP_PARSE_MORE;
		}
		size_t len = (size_t)(lf - in->data) + 1;
		p->scan = 0;
		p->line_total += len;
		if (p->line_total > p->lim.max_line) {
			peek_tag(p, in);
			enum imap_parse_result r = fail(p, ev, "Command line too long", in->data, len);
			buf_consume(in, len);
			return r;
		}
		if (p->tag == NULL && segment_end(in->data, len) == 0) {
			/* An empty line: ignored, as many servers do. */
			buf_consume(in, len);
			p->line_total = 0;
			continue;
		}
		/* Parse in place, then drop the segment. Strings are copied. */
		enum imap_parse_result r = parse_segment(p, in->data, len, ev);
		if (r == IMAP_PARSE_ERROR) {
			/* fail() may point ev at nothing from in; safe to consume. */
			buf_consume(in, len);
			return r;
		}
		buf_consume(in, len);
		return r;
	}
}

int imap_parser_literal_accept(struct imap_parser *p, bool stream)
{
	i_assert(p->state == P_LITERAL_DECIDE);
	if (stream) {
		if (p->lit_left > p->lim.max_stream)
			return -1;
		p->lit_arg->type = IMAP_ARG_STREAM;
		p->lit_arg->len = (size_t)p->lit_left;
		p->state = P_LITERAL_STREAM;
		return 0;
	}
	if (p->lit_left > p->lim.max_literal_mem - p->mem_total ||
	    p->mem_total > p->lim.max_literal_mem)
		return -1;
	p->mem_total += (size_t)p->lit_left;
	p->lit_arg->str = x_malloc((size_t)p->lit_left + 1);
	p->lit_arg->str[0] = '\0';
	p->lit_arg->len = 0;
	p->state = p->lit_left > 0 ? P_LITERAL_MEM : P_LINE;
	p->scan = 0;
	return 0;
}

void imap_parser_literal_reject(struct imap_parser *p)
{
	i_assert(p->state == P_LITERAL_DECIDE);
	bool sync = p->lit_sync;
	uint64_t size = p->lit_left;
	imap_parser_reset(p);
	if (!sync) {
		p->lit_left = size;
		p->state = P_SKIP_LITERAL;
	} else {
		p->state = P_LINE;
	}
	p->scan = 0;
}

int imap_parser_read_line(struct imap_parser *p, struct buf *in, size_t max, char **line_r)
{
	char *lf = in->len > 0 ? memchr(in->data, '\n', in->len) : NULL;
	if (lf == NULL) {
		if (in->len > max) {
			p->read_line_overflow = true;
			buf_consume(in, in->len);
		}
		return 0;
	}
	size_t len = (size_t)(lf - in->data) + 1;
	size_t end = segment_end(in->data, len);
	if (p->read_line_overflow || end > max) {
		p->read_line_overflow = false;
		buf_consume(in, len);
		return -1;
	}
	*line_r = x_strndup(in->data, end);
	buf_consume(in, len);
	return 1;
}

bool imap_arg_is_nil(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, "NIL") == 0;
}

bool imap_arg_atom_is(const struct imap_arg *a, const char *word)
{
	return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, word) == 0;
}

const char *imap_arg_astring(const struct imap_arg *a)
{
	switch (a->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
		return a->str;
	case IMAP_ARG_LITERAL:
		return strlen(a->str) == a->len ? a->str : NULL;
	default:
		return NULL;
	}
}

const char *imap_arg_nstring(const struct imap_arg *a, bool *nil_r)
{
	*nil_r = imap_arg_is_nil(a);
	if (*nil_r)
		return NULL;
	return imap_arg_string(a);
}

const char *imap_arg_string(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_STRING)
		return a->str;
	if (a->type == IMAP_ARG_LITERAL && strlen(a->str) == a->len)
		return a->str;
	return NULL;
}

const char *imap_arg_atom(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM ? a->str : NULL;
}

bool imap_arg_list(const struct imap_arg *a, const struct imap_arg **list_r, size_t *n_r)
{
	if (a->type != IMAP_ARG_LIST)
		return false;
	*list_r = a->list;
	*n_r = a->len;
	return true;
}
