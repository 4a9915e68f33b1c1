/* mail_mime.c — streaming MIME structure parser: lines in, part tree with
 * exact offsets out. Runs in the mail workers and the store's indexer.
 * Parses untrusted input. Memory is bounded: one line prefix for boundary
 * checks, one header field (capped), and a boundary stack limited by
 * max_depth. No recursion: the tree is walked through parent pointers.
 *
 * RFC 2046 5.1.1: the line break before a boundary line belongs to the
 * boundary, so a part's body ends before it. Boundaries are matched as
 * line prefixes ("--" boundary ...), innermost first; an outer boundary
 * also ends every part nested inside it. */
#include "mail_mime.h"
#include "mail_header.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_PREFIX_MAX 1024	/* enough for any boundary we accept */
#define BOUNDARY_MAX 998

/* Counters at a position of the input: all ranges are differences. */
struct snap {
	uint64_t off;
	uint64_t lines;
	uint64_t bare;		/* bare LFs (LF without CR before it) */
};

struct part_priv {
	struct mail_part pub;	/* first: the tree holds &pub */
	struct snap hdr_start;
	struct snap body_start;
	struct mail_part *last_child;
	bool has_envelope;
};

struct boundary {
	char *str;
	size_t len;
	struct part_priv *part;	/* the multipart it belongs to */
};

struct mail_mime_parser {
	struct mail_mime_limits limits;
	struct part_priv *root;
	struct part_priv *cur;	/* innermost open part */
	bool in_header;		/* cur's header is being read */
	unsigned int nparts;

	struct boundary *stack;	/* open multiparts, outermost first */
	size_t nstack, capstack;

	struct snap g;		/* counters at the start of the current line */
	struct snap content;	/* where cur's body content (or a multipart's
				   epilogue) started: a line break before
				   that does not belong to a boundary */
	/* the line being read */
	struct buf prefix;	/* first LINE_PREFIX_MAX bytes */
	uint64_t line_len;
	bool line_8bit, line_nul;
	char line_last;		/* last byte so far */
	/* the previous complete line's terminator */
	unsigned int prev_term;	/* 0 (none), 1 (LF) or 2 (CRLF) */
	bool prev_bare;

	struct buf field;	/* current header field (capped) */
	bool field_cut;
};

static const struct mail_mime_limits default_limits = {
	.max_depth = 100,
	.max_parts = 10000,
	.max_field_size = 256 * 1024,
};

static struct mail_range range_of(const struct snap *a, const struct snap *b)
{
	struct mail_range r;
	r.offset = a->off;
	r.size = b->off - a->off;
	r.lines = b->lines - a->lines;
	r.vsize = r.size + (b->bare - a->bare);
	return r;
}

static struct part_priv *part_new(struct mail_mime_parser *p,
				  struct part_priv *parent, bool envelope)
{
	struct part_priv *pp = x_calloc(1, sizeof(*pp));
	p->nparts++;
	pp->hdr_start = p->g;
	pp->body_start = p->g;
	pp->has_envelope = envelope;
	if (envelope)
		pp->pub.envelope = x_calloc(1, sizeof(*pp->pub.envelope));
	if (parent != NULL) {
		struct mail_part *par = &parent->pub;
		pp->pub.parent = par;
		pp->pub.depth = par->depth + 1;
		if (parent->last_child == NULL)
			par->children = &pp->pub;
		else
			parent->last_child->next = &pp->pub;
		parent->last_child = &pp->pub;
		par->nchildren++;
	}
	return pp;
}

struct mail_mime_parser *mail_mime_parser_new(const struct mail_mime_limits *limits)
{
	struct mail_mime_parser *p = x_calloc(1, sizeof(*p));
	p->limits = limits != NULL ? *limits : default_limits;
	if (p->limits.max_depth == 0)
		p->limits.max_depth = default_limits.max_depth;
	if (p->limits.max_parts == 0)
		p->limits.max_parts = default_limits.max_parts;
	if (p->limits.max_field_size == 0)
		p->limits.max_field_size = default_limits.max_field_size;
	p->root = part_new(p, NULL, true);
	p->cur = p->root;
	p->in_header = true;
	return p;
}

/* ---- header fields ---- */

static char *dup_unfolded(const char *v, size_t len)
{
	return mail_header_unfold_dup(v, len);
}

static enum mail_cte parse_cte(const char *s)
{
	static const struct { const char *name; enum mail_cte cte; } map[] = {
		{ "7bit", MAIL_CTE_7BIT }, { "8bit", MAIL_CTE_8BIT },
		{ "binary", MAIL_CTE_BINARY },
		{ "quoted-printable", MAIL_CTE_QP },
		{ "base64", MAIL_CTE_BASE64 },
	};
	for (size_t i = 0; i < N_ELEMENTS(map); i++) {
		if (strcasecmp(s, map[i].name) == 0)
			return map[i].cte;
	}
	return MAIL_CTE_UNKNOWN;
}

static void set_once(char **dst, const char *v, size_t len)
{
	if (*dst == NULL)
		*dst = dup_unfolded(v, len);
}

static void header_field(struct mail_mime_parser *p)
{
	struct part_priv *pp = p->cur;
	struct mail_part *part = &pp->pub;
	struct mail_header_iter it;
	struct mail_header_field f;
	if (p->field.len == 0)
		return;
	mail_header_iter_init(&it, p->field.data, p->field.len);
	if (!mail_header_iter_next(&it, &f) || f.no_colon)
		return;
	enum mail_envelope_field ef;
	if (pp->has_envelope &&
	    mail_envelope_field_lookup(f.name, f.name_len, &ef)) {
		mail_envelope_set(part->envelope, ef, f.value, f.value_len);
		return;
	}
	if (f.name_len < 8 || strncasecmp(f.name, "Content-", 8) != 0)
		return;
	const char *n = f.name + 8;
	size_t nl = f.name_len - 8;
#define IS(s) (nl == sizeof(s) - 1 && strncasecmp(n, s, nl) == 0)
	if (IS("Type")) {
		if (part->type != NULL)
			return;
		char *value;
		struct mail_params params;
		mail_param_parse_value(f.value, f.value_len, &value, &params);
		char *slash = value == NULL ? NULL : strchr(value, '/');
		if (slash == NULL || slash == value || slash[1] == '\0') {
			/* invalid: defaults apply, as if absent */
			free(value);
			mail_params_free(&params);
			return;
		}
		*slash = '\0';
		part->type = x_strdup(value);
		part->subtype = x_strdup(slash + 1);
		free(value);
		part->params = params;
	} else if (IS("Transfer-Encoding")) {
		if (part->cte_raw != NULL)
			return;
		char *value;
		struct mail_params params;
		mail_param_parse_value(f.value, f.value_len, &value, &params);
		mail_params_free(&params);
		part->cte_raw = value != NULL ? value : dup_unfolded(f.value, f.value_len);
		part->cte = parse_cte(part->cte_raw);
	} else if (IS("ID")) {
		set_once(&part->id, f.value, f.value_len);
	} else if (IS("Description")) {
		set_once(&part->description, f.value, f.value_len);
	} else if (IS("MD5")) {
		set_once(&part->md5, f.value, f.value_len);
	} else if (IS("Language")) {
		set_once(&part->language, f.value, f.value_len);
	} else if (IS("Location")) {
		set_once(&part->location, f.value, f.value_len);
	} else if (IS("Disposition")) {
		if (part->disposition != NULL || part->disp_params.n > 0)
			return;
		mail_param_parse_value(f.value, f.value_len, &part->disposition,
				       &part->disp_params);
		if (part->disposition == NULL)
			mail_params_free(&part->disp_params);
	}
#undef IS
}

/* ---- structure ---- */

static bool parent_is_digest(const struct mail_part *part)
{
	const struct mail_part *par = part->parent;
	return par != NULL && (par->flags & MAIL_PART_MULTIPART) != 0 &&
	       strcasecmp(par->subtype, "digest") == 0;
}

static void apply_defaults(struct mail_part *part)
{
	if (part->type != NULL)
		return;
	part->flags |= MAIL_PART_CT_DEFAULT;
	mail_params_free(&part->params);
	if (parent_is_digest(part)) {
		part->type = x_strdup("message");
		part->subtype = x_strdup("rfc822");
	} else {
		part->type = x_strdup("text");
		part->subtype = x_strdup("plain");
		mail_params_add(&part->params, "charset", "us-ascii");
	}
}

static void push_boundary(struct mail_mime_parser *p, struct part_priv *pp,
			  const char *b)
{
	if (p->nstack == p->capstack) {
		p->capstack = p->capstack ? p->capstack * 2 : 8;
		p->stack = x_reallocarray(p->stack, p->capstack, sizeof(*p->stack));
	}
	p->stack[p->nstack].str = x_strdup(b);
	p->stack[p->nstack].len = strlen(b);
	p->stack[p->nstack].part = pp;
	p->nstack++;
}

static void pop_boundary(struct mail_mime_parser *p)
{
	p->nstack--;
	free(p->stack[p->nstack].str);
}

/* The header of cur ended (the empty line ended at p->g); decide how its
 * body is read. */
static void header_done(struct mail_mime_parser *p)
{
	struct part_priv *pp = p->cur;
	struct mail_part *part = &pp->pub;
	part->header = range_of(&pp->hdr_start, &p->g);
	pp->body_start = p->g;
	p->content = p->g;
	p->in_header = false;
	apply_defaults(part);
	bool can_nest = part->depth + 1 < p->limits.max_depth &&
		p->nparts < p->limits.max_parts;
	if (strcasecmp(part->type, "multipart") == 0) {
		const char *b = mail_param_get(&part->params, "boundary");
		if (!can_nest) {
			part->flags |= MAIL_PART_LIMIT;	/* an opaque leaf */
		} else {
			part->flags |= MAIL_PART_MULTIPART;
			if (b == NULL || *b == '\0' || strlen(b) > BOUNDARY_MAX)
				part->flags |= MAIL_PART_BOUNDARY_MISSING;
			else
				push_boundary(p, pp, b);
		}
	} else if (strcasecmp(part->type, "message") == 0 &&
		   (strcasecmp(part->subtype, "rfc822") == 0 ||
		    strcasecmp(part->subtype, "global") == 0)) {
		/* Even an encoded one is parsed in place (junk header, as
		 * Dovecot does) so the structure keeps its shape. */
		if (!can_nest) {
			part->flags |= MAIL_PART_LIMIT;
		} else {
			part->flags |= MAIL_PART_MESSAGE;
			p->cur = part_new(p, pp, true);
			p->in_header = true;
		}
	} else if (strcasecmp(part->type, "text") == 0) {
		part->flags |= MAIL_PART_TEXT;
	}
}

/* Ends every open part from cur up to (not including) stop, at end. */
static void close_parts(struct mail_mime_parser *p, struct part_priv *stop,
			const struct snap *end)
{
	struct part_priv *pp = p->cur;
	while (pp != NULL && pp != stop) {
		struct mail_part *part = &pp->pub;
		if (pp == p->cur && p->in_header) {
			part->header = range_of(&pp->hdr_start, end);
			part->flags |= MAIL_PART_NO_HDR_END;
			pp->body_start = *end;
			apply_defaults(part);
			if (strcasecmp(part->type, "text") == 0)
				part->flags |= MAIL_PART_TEXT;
			p->in_header = false;
		}
		part->body = range_of(&pp->body_start, end);
		pp = (struct part_priv *)part->parent;
	}
	p->in_header = false;
}

/* Which open boundary the line is, innermost first; -1 if none. */
static ssize_t boundary_match(const struct mail_mime_parser *p, bool *close_r)
{
	const char *l = p->prefix.data;
	size_t n = p->prefix.len;
	if (n < 3 || l[0] != '-' || l[1] != '-')
		return -1;
	for (size_t i = p->nstack; i > 0; i--) {
		const struct boundary *b = &p->stack[i - 1];
		if (n - 2 >= b->len && memcmp(l + 2, b->str, b->len) == 0) {
			*close_r = n - 2 - b->len >= 2 &&
				l[2 + b->len] == '-' && l[3 + b->len] == '-';
			return (ssize_t)(i - 1);
		}
	}
	return -1;
}

/* Handles a boundary line of stack entry k; false if it must be taken
 * as content (part limit reached). */
static bool boundary_line(struct mail_mime_parser *p, size_t k, bool close,
			  const struct snap *line_end)
{
	struct part_priv *m = p->stack[k].part;
	if (!close && p->nparts >= p->limits.max_parts) {
		m->pub.flags |= MAIL_PART_LIMIT;
		return false;
	}
	if (p->cur != m || p->in_header) {
		/* End of the current child: the previous line break belongs
		 * to this boundary if it lies inside the body being read. A
		 * header cut short by a boundary keeps its last line break
		 * (as in Dovecot). */
		struct snap end = p->g;
		if (!p->in_header && p->prev_term > 0 &&
		    end.off - p->prev_term >= p->content.off) {
			end.off -= p->prev_term;
			end.lines -= 1;
			end.bare -= p->prev_bare ? 1 : 0;
		}
		close_parts(p, m, &end);
	}
	while (p->nstack > k + 1) {
		p->stack[p->nstack - 1].part->pub.flags |= MAIL_PART_NO_END_BOUNDARY;
		pop_boundary(p);
	}
	p->cur = m;
	p->in_header = false;
	if (close) {
		pop_boundary(p);
		p->content = *line_end;	/* the epilogue */
		return true;
	}
	struct snap save = p->g;
	p->g = *line_end;
	p->cur = part_new(p, m, false);
	p->g = save;
	p->in_header = true;
	return true;
}

/* A whole line (or the unterminated last one) has been read: term is
 * its terminator length (0 at the end of input, 1 LF, 2 CRLF). */
static void line_done(struct mail_mime_parser *p, unsigned int term)
{
	struct snap end = p->g;
	end.off += p->line_len;
	if (term > 0) {
		end.lines++;
		if (term == 1)
			end.bare++;
	}
	bool close = false;
	ssize_t k = boundary_match(p, &close);
	bool handled = k >= 0 && boundary_line(p, (size_t)k, close, &end);
	if (!handled && p->in_header) {
		if (p->line_len == term) {
			header_field(p);
			buf_reset(&p->field);
			p->field_cut = false;
			p->g = end;
			header_done(p);
			goto next;
		}
		if (p->line_8bit)
			p->cur->pub.flags |= MAIL_PART_HDR_8BIT;
		if (p->line_nul)
			p->cur->pub.flags |= MAIL_PART_HDR_NUL;
	} else if (!handled) {
		if (p->line_8bit)
			p->cur->pub.flags |= MAIL_PART_BODY_8BIT;
		if (p->line_nul)
			p->cur->pub.flags |= MAIL_PART_BODY_NUL;
	}
	if (handled) {
		buf_reset(&p->field);
		p->field_cut = false;
	}
	p->g = end;
next:
	p->prev_term = term;
	p->prev_bare = term == 1;
	buf_reset(&p->prefix);
	p->line_len = 0;
	p->line_8bit = p->line_nul = false;
	p->line_last = '\0';
}

/* Adds n bytes (no LF among them, or the LF last) to the current line. */
static void line_add(struct mail_mime_parser *p, const char *d, size_t n)
{
	if (p->line_len == 0 && n > 0 && p->in_header &&
	    d[0] != ' ' && d[0] != '\t') {
		/* A new field (or the empty line, or a boundary) starts:
		 * the previous field is complete. */
		header_field(p);
		buf_reset(&p->field);
		p->field_cut = false;
	}
	if (p->prefix.len < LINE_PREFIX_MAX) {
		size_t take = LINE_PREFIX_MAX - p->prefix.len;
		buf_append(&p->prefix, d, n < take ? n : take);
	}
	if (p->in_header) {
		size_t room = p->limits.max_field_size > p->field.len ?
			p->limits.max_field_size - p->field.len : 0;
		if (n > room)
			p->field_cut = true;
		buf_append(&p->field, d, n < room ? n : room);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c >= 0x80)
			p->line_8bit = true;
		else if (c == 0)
			p->line_nul = true;
	}
	p->line_len += n;
}

void mail_mime_parser_feed(struct mail_mime_parser *p, const void *data,
			   size_t len)
{
	const char *d = data;
	while (len > 0) {
		const char *nl = memchr(d, '\n', len);
		size_t n = nl == NULL ? len : (size_t)(nl - d) + 1;
		char before = n >= 2 ? d[n - 2] : p->line_last;
		line_add(p, d, n);
		p->line_last = d[n - 1];
		if (nl != NULL)
			line_done(p, before == '\r' ? 2 : 1);
		d += n;
		len -= n;
	}
}

struct mail_part *mail_mime_parser_finish(struct mail_mime_parser **pp)
{
	struct mail_mime_parser *p = *pp;
	*pp = NULL;
	if (p->line_len > 0)
		line_done(p, 0);
	if (p->in_header) {
		header_field(p);
		buf_reset(&p->field);
	}
	while (p->nstack > 0) {
		p->stack[p->nstack - 1].part->pub.flags |= MAIL_PART_NO_END_BOUNDARY;
		pop_boundary(p);
	}
	close_parts(p, NULL, &p->g);
	struct mail_part *root = &p->root->pub;
	free(p->stack);
	buf_free(&p->prefix);
	buf_free(&p->field);
	free(p);
	return root;
}

struct mail_part *mail_mime_parse(const void *data, size_t len,
				  const struct mail_mime_limits *limits)
{
	struct mail_mime_parser *p = mail_mime_parser_new(limits);
	mail_mime_parser_feed(p, data, len);
	return mail_mime_parser_finish(&p);
}

static void part_free_one(struct mail_part *part)
{
	free(part->type);
	free(part->subtype);
	mail_params_free(&part->params);
	free(part->cte_raw);
	free(part->id);
	free(part->description);
	free(part->md5);
	free(part->disposition);
	mail_params_free(&part->disp_params);
	free(part->language);
	free(part->location);
	if (part->envelope != NULL) {
		mail_envelope_free(part->envelope);
		free(part->envelope);
	}
	free((struct part_priv *)part);
}

void mail_part_free(struct mail_part **rootp)
{
	struct mail_part *root = *rootp;
	*rootp = NULL;
	if (root == NULL)
		return;
	/* post-order without recursion: descend to a leaf, free it, move
	 * to its sibling or parent */
	struct mail_part *part = root;
	while (part != NULL) {
		if (part->children != NULL) {
			part = part->children;
			continue;
		}
		struct mail_part *parent = part->parent;
		struct mail_part *next = part->next;
		bool is_root = part == root;
		part_free_one(part);
		if (is_root)
			break;
		if (parent != NULL)
			parent->children = next;
		part = next != NULL ? next : parent;
	}
}

unsigned int mail_part_count(const struct mail_part *part)
{
	unsigned int n = 0;
	for (const struct mail_part *p = part; p != NULL; p = mail_part_next_dfs(part, p))
		n++;
	return n;
}

const struct mail_part *mail_part_next_dfs(const struct mail_part *root,
					   const struct mail_part *part)
{
	if (part->children != NULL)
		return part->children;
	while (part != NULL && part != root) {
		if (part->next != NULL)
			return part->next;
		part = part->parent;
	}
	return NULL;
}

bool mail_part_is_type(const struct mail_part *part, const char *type,
		       const char *subtype)
{
	return strcasecmp(part->type, type) == 0 &&
	       (subtype == NULL || strcasecmp(part->subtype, subtype) == 0);
}

const char *mail_part_charset(const struct mail_part *part)
{
	const char *cs = mail_param_get(&part->params, "charset");
	if (cs == NULL && strcasecmp(part->type, "text") == 0)
		cs = "us-ascii";
	return cs;
}

struct mail_range mail_part_range(const struct mail_part *part)
{
	struct mail_range r = part->header;
	r.size += part->body.size;
	r.vsize += part->body.vsize;
	r.lines += part->body.lines;
	return r;
}
