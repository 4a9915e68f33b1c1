/* mail_address.c — lenient RFC 5322 address-list parser (groups, quoted
 * strings, comments, obsolete routes and phrases) and formatter. Pure
 * functions used by every process. Parses untrusted input: a tokenizer
 * followed by a flat state machine; no recursion, comments nest through a
 * counter. */
#include "mail_address.h"

#include <stdlib.h>
#include <string.h>

enum tok_type {
	TOK_ATOM,	/* atext and dots, or any other junk byte run */
	TOK_QUOTED,	/* quoted-string, unquoted */
	TOK_LITERAL,	/* domain literal incl. brackets */
	TOK_COMMENT,	/* comment text without the outer parens */
	TOK_SPECIAL,	/* one of < > @ , : ; */
};

struct tok {
	enum tok_type type;
	bool space_before;
	char ch;	/* TOK_SPECIAL */
	size_t off;	/* text in the token arena */
	size_t len;
};

struct toks {
	struct tok *v;
	size_t n, cap;
	struct buf text;
};

static void tok_push(struct toks *t, enum tok_type type, bool sp, char ch,
		     size_t off)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = x_reallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = (struct tok){ type, sp, ch, off, t->text.len - off };
	buf_append_char(&t->text, '\0');
}

static bool is_special(unsigned char c)
{
	return c == '<' || c == '>' || c == '@' || c == ',' || c == ':' ||
	       c == ';';
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void tokenize(const unsigned char *p, size_t len, struct toks *t)
{
	size_t i = 0;
	bool sp = false;
	while (i < len) {
		unsigned char c = p[i];
		size_t off = t->text.len;
		if (is_ws(c) || c == '\0') {
			sp = true;
			i++;
			continue;
		}
		if (c == '(') {
			size_t depth = 0;
			while (i < len) {
				c = p[i++];
				if (c == '\\' && i < len) {
					buf_append_char(&t->text, (char)p[i++]);
					continue;
				}
				if (c == '(' && depth++ == 0)
					continue;
				if (c == ')' && --depth == 0)
					break;
				if (c != '\r' && c != '\n' && c != '\0')
					buf_append_char(&t->text, (char)c);
			}
			tok_push(t, TOK_COMMENT, sp, 0, off);
			sp = true;
			continue;
		}
		if (c == '"') {
			i++;
			while (i < len && p[i] != '"') {
				c = p[i++];
				if (c == '\\' && i < len)
					c = p[i++];
				else if (c == '\r' || c == '\n')
					continue;
				if (c != '\0')
					buf_append_char(&t->text, (char)c);
			}
			if (i < len)
				i++;
			tok_push(t, TOK_QUOTED, sp, 0, off);
		} else if (c == '[') {
			while (i < len && p[i] != ']') {
				c = p[i++];
				if (c == '\\' && i < len)
					c = p[i++];
				if (!is_ws(c) && c != '\0')
					buf_append_char(&t->text, (char)c);
			}
			if (i < len)
				i++;
			buf_append_char(&t->text, ']');
			tok_push(t, TOK_LITERAL, sp, 0, off);
		} else if (is_special(c)) {
			i++;
			tok_push(t, TOK_SPECIAL, sp, (char)c, off);
		} else {
			/* atext, dots and any junk (8-bit, stray '>' ')' '\\'
			 * '"' are handled above or below) up to a delimiter */
			while (i < len && !is_ws(p[i]) && !is_special(p[i]) &&
			       p[i] != '(' && p[i] != '"' && p[i] != '[' &&
			       p[i] != '\0') {
				buf_append_char(&t->text, (char)p[i]);
				i++;
			}
			if (t->text.len == off) {	/* ')' or ']' alone */
				buf_append_char(&t->text, (char)p[i]);
				i++;
			}
			tok_push(t, TOK_ATOM, sp, 0, off);
		}
		sp = false;
	}
}

static const char *tok_text(const struct toks *t, size_t i)
{
	return t->text.data + t->v[i].off;
}

static bool tok_is(const struct toks *t, size_t i, char ch)
{
	return i < t->n && t->v[i].type == TOK_SPECIAL && t->v[i].ch == ch;
}

static void list_push(struct mail_address_list *l, char *name, char *route,
		      char *mailbox, char *domain, bool invalid)
{
	l->v = x_reallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = (struct mail_address){ name, route, mailbox, domain,
					      invalid };
}

/* Joins the word tokens [from, to) (atoms, quoted strings; comments
 * skipped) with single spaces where the input had space; NULL if none. */
static char *join_words(const struct toks *t, size_t from, size_t to,
			bool skip_specials)
{
	struct buf b = BUF_INIT;
	bool any = false;
	for (size_t i = from; i < to; i++) {
		const struct tok *k = &t->v[i];
		if (k->type == TOK_COMMENT)
			continue;
		if (k->type == TOK_SPECIAL && skip_specials)
			continue;
		if (any && k->space_before)
			buf_append_char(&b, ' ');
		if (k->type == TOK_SPECIAL)
			buf_append_char(&b, k->ch);
		else
			buf_append(&b, tok_text(t, i), k->len);
		any = true;
	}
	if (!any) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Concatenates tokens [from, to) without spaces (local parts, domains). */
static char *concat(const struct toks *t, size_t from, size_t to)
{
	struct buf b = BUF_INIT;
	bool any = false;
	for (size_t i = from; i < to; i++) {
		const struct tok *k = &t->v[i];
		if (k->type == TOK_COMMENT)
			continue;
		if (k->type == TOK_SPECIAL)
			buf_append_char(&b, k->ch);
		else
			buf_append(&b, tok_text(t, i), k->len);
		any = true;
	}
	if (!any) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* The text of the last comment in [from, to), or NULL. */
static char *last_comment(const struct toks *t, size_t from, size_t to)
{
	for (size_t i = to; i > from; i--) {
		if (t->v[i - 1].type == TOK_COMMENT && t->v[i - 1].len > 0)
			return x_strdup(tok_text(t, i - 1));
	}
	return NULL;
}

/* A missing local part or domain: marked invalid and filled in. */
static char *fill(char *s, const char *missing, bool *invalid)
{
	if (s == NULL || s[0] == '\0') {
		*invalid = true;
		free(s);
		return x_strdup(missing);
	}
	return s;
}

/* addr-spec tokens [from, to): local "@" domain. */
static void addr_spec(const struct toks *t, size_t from, size_t to,
		      bool fill_missing, char **mailbox_r, char **domain_r,
		      bool *invalid)
{
	size_t at = to;
	for (size_t i = to; i > from; i--) {
		if (tok_is(t, i - 1, '@')) {
			at = i - 1;
			break;
		}
	}
	*mailbox_r = concat(t, from, at);
	*domain_r = at < to ? concat(t, at + 1, to) : NULL;
	/* Stray specials inside the local part or domain are junk. */
	for (size_t i = from; i < to; i++) {
		if (i != at && t->v[i].type == TOK_SPECIAL)
			*invalid = true;
	}
	*mailbox_r = fill(*mailbox_r, fill_missing ? "MISSING_MAILBOX" : "", invalid);
	*domain_r = fill(*domain_r, fill_missing ? "MISSING_DOMAIN" : "", invalid);
}

/* One mailbox from tokens [from, to) (no top-level ',' ';' ':'). */
static void parse_mailbox(const struct toks *t, size_t from, size_t to,
			  bool fill_missing, struct mail_address_list *list)
{
	char *name = NULL, *route = NULL, *mailbox = NULL, *domain = NULL;
	bool invalid = false;
	size_t lt = to;
	for (size_t i = from; i < to; i++) {
		if (tok_is(t, i, '<')) {
			lt = i;
			break;
		}
	}
	if (lt < to) {
		/* phrase <[route:]addr-spec> */
		name = join_words(t, from, lt, false);
		size_t gt = to;
		for (size_t i = lt + 1; i < to; i++) {
			if (tok_is(t, i, '>')) {
				gt = i;
				break;
			}
		}
		bool unclosed = gt == to;
		if (unclosed)
			invalid = true;
		else if (gt + 1 < to) {
			/* junk after '>' other than comments */
			for (size_t i = gt + 1; i < to; i++) {
				if (t->v[i].type != TOK_COMMENT)
					invalid = true;
			}
		}
		size_t spec = lt + 1;
		/* obs-route: "@a,@b:" before the addr-spec */
		if (tok_is(t, spec, '@')) {
			size_t colon = gt;
			for (size_t i = spec; i < gt; i++) {
				if (tok_is(t, i, ':')) {
					colon = i;
					break;
				}
			}
			if (colon < gt) {
				route = concat(t, spec, colon);
				spec = colon + 1;
			}
		}
		addr_spec(t, spec, gt, fill_missing, &mailbox, &domain, &invalid);
		if (unclosed && fill_missing) {
			/* Dovecot marks this case so */
			free(domain);
			domain = x_strdup("SYNTAX_ERROR");
		}
		if (name == NULL)
			name = last_comment(t, gt < to ? gt : from, to);
	} else {
		/* addr-spec [comment] */
		addr_spec(t, from, to, fill_missing, &mailbox, &domain, &invalid);
		name = last_comment(t, from, to);
	}
	list_push(list, name, route, mailbox, domain, invalid);
}

void mail_address_parse(const void *data, size_t len, bool fill_missing,
			struct mail_address_list *list_r)
{
	struct toks t;
	memset(&t, 0, sizeof(t));
	memset(list_r, 0, sizeof(*list_r));
	tokenize(data, len, &t);

	bool in_group = false;
	size_t start = 0;
	bool in_angle = false;
	for (size_t i = 0; i <= t.n; i++) {
		bool end = i == t.n;
		char ch = 0;
		if (!end && t.v[i].type == TOK_SPECIAL)
			ch = t.v[i].ch;
		if (ch == '<')
			in_angle = true;
		else if (ch == '>')
			in_angle = false;
		if (in_angle && !end && ch != ':')
			continue;
		if (in_angle && ch == ':') {
			/* route colon, unless this is "a <b: c>" junk */
			if (i > start && tok_is(&t, i - 1, '<'))
				continue;
			bool route = false;
			for (size_t j = i; j > start; j--) {
				if (tok_is(&t, j - 1, '<')) {
					route = tok_is(&t, j, '@');
					break;
				}
			}
			if (route)
				continue;
			in_angle = false;
		}
		if (end || ch == ',' || ch == ';' || ch == ':') {
			/* a mailbox ends here, if there is one */
			bool words = false;
			for (size_t j = start; j < i; j++) {
				if (t.v[j].type != TOK_COMMENT)
					words = true;
			}
			if (ch == ':' && !in_group) {
				char *gname = join_words(&t, start, i, true);
				bool inv = gname == NULL;
				if (gname == NULL)
					gname = x_strdup("");
				list_push(list_r, NULL, NULL, gname, NULL, inv);
				in_group = true;
			} else if (words) {
				parse_mailbox(&t, start, i, fill_missing, list_r);
			}
			if ((ch == ';' || end) && in_group) {
				list_push(list_r, NULL, NULL, NULL, NULL, ch != ';');
				in_group = false;
			}
			start = i + 1;
			in_angle = false;
		}
	}
	free(t.v);
	buf_free(&t.text);
}

void mail_address_list_free(struct mail_address_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].name);
		free(list->v[i].route);
		free(list->v[i].mailbox);
		free(list->v[i].domain);
	}
	x_free(&list->v);
	list->n = 0;
}

static bool is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;	/* RFC 6532 UTF-8 */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static void append_quoted(struct buf *out, const char *s)
{
	buf_append_char(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_append_char(out, '\\');
		if (*s != '\r' && *s != '\n')
			buf_append_char(out, *s);
	}
	buf_append_char(out, '"');
}

void mail_address_append_phrase(struct buf *out, const char *s)
{
	bool plain = *s != '\0' && *s != ' ';
	for (const char *p = s; *p != '\0' && plain; p++) {
		if (!is_atext((unsigned char)*p) && !(*p == ' ' && p[1] != ' ' && p[1] != '\0'))
			plain = false;
	}
	if (plain)
		buf_append_str(out, s);
	else
		append_quoted(out, s);
}

void mail_address_format_addr_spec(const struct mail_address *a,
				   struct buf *out)
{
	const char *m = a->mailbox == NULL ? "" : a->mailbox;
	/* dot-atom: atext runs separated by single dots */
	bool dot_atom = *m != '\0' && *m != '.';
	for (const char *p = m; *p != '\0' && dot_atom; p++) {
		if (*p == '.')
			dot_atom = p[1] != '.' && p[1] != '\0';
		else if (!is_atext((unsigned char)*p))
			dot_atom = false;
	}
	if (dot_atom)
		buf_append_str(out, m);
	else
		append_quoted(out, m);
	if (a->domain != NULL) {
		buf_append_char(out, '@');
		buf_append_str(out, a->domain);
	}
}

void mail_address_format(const struct mail_address_list *list,
			 struct buf *out)
{
	bool first = true, in_group = false;
	for (size_t i = 0; i < list->n; i++) {
		const struct mail_address *a = &list->v[i];
		if (a->domain == NULL && a->mailbox == NULL) {
			/* group end */
			buf_append_char(out, ';');
			in_group = false;
			first = false;
			continue;
		}
		if (a->domain == NULL) {
			/* group start: the next elements up to the end marker */
			if (!first)
				buf_append(out, ", ", 2);
			mail_address_append_phrase(out, a->mailbox);
			buf_append_char(out, ':');
			in_group = true;
			first = true;
			continue;
		}
		if (!first)
			buf_append_char(out, ',');
		if (!first || in_group)
			buf_append_char(out, ' ');
		first = false;
		if (a->name != NULL && a->name[0] != '\0') {
			mail_address_append_phrase(out, a->name);
			buf_append(out, " <", 2);
			mail_address_format_addr_spec(a, out);
			buf_append_char(out, '>');
		} else {
			mail_address_format_addr_spec(a, out);
		}
	}
}
