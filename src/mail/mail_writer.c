/* mail_writer.c — builds MIME messages: encoded and folded header
 * fields, text and binary parts with a suitable transfer encoding,
 * multiparts and message/rfc822. Used by the queue (DSN bounces) and the
 * webmail (compose). Pure functions over memory (plus getrandom() for
 * boundaries). Input comes from the caller, not the network. */
#include "mail_writer.h"
#include "mail_base64.h"
#include "mail_param.h"
#include "mail_qp.h"
#include "mail_rfc2047.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

struct writer_header {
	char *name;
	char *value;	/* encoded and folded, without the final CRLF */
};

struct mail_writer_part {
	struct writer_header *hdrs;
	size_t nhdrs;
	char *type, *subtype;
	struct mail_params params;
	const char *cte;	/* NULL for multipart */
	char *disposition;
	char *filename;		/* UTF-8 */
	struct buf body;	/* already encoded, CRLF line endings */
	char *boundary;		/* multipart */
	struct mail_writer_part *children, *last, *next;
};

void mail_writer_boundary(struct buf *out)
{
	unsigned char r[12];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	buf_append_str(out, "=_correu_");
	for (size_t i = 0; i < sizeof(r); i++)
		buf_appendf(out, "%02x", r[i]);
}

static struct mail_writer_part *part_new(const char *type, const char *subtype)
{
	struct mail_writer_part *p = x_calloc(1, sizeof(*p));
	p->type = x_strdup(type);
	p->subtype = x_strdup(subtype);
	return p;
}

/* Copies data with every line ending (CRLF, bare LF, bare CR) as CRLF. */
static void append_crlf(struct buf *out, const char *d, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\r') {
			buf_append(out, "\r\n", 2);
			if (i + 1 < len && d[i + 1] == '\n')
				i++;
		} else if (d[i] == '\n') {
			buf_append(out, "\r\n", 2);
		} else {
			buf_append_char(out, d[i]);
		}
	}
}

/* Whether data can go as 7bit: no 8-bit bytes, no NUL, lines short. */
static bool is_7bit(const char *d, size_t len)
{
	size_t line = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c >= 0x80 || c == 0)
			return false;
		if (c == '\n' || c == '\r')
			line = 0;
		else if (++line > 998)
			return false;
	}
	return true;
}

struct mail_writer_part *mail_writer_text(const char *subtype, const char *utf8)
{
	struct mail_writer_part *p = part_new("text", subtype);
	mail_params_add(&p->params, "charset", "utf-8");
	size_t len = strlen(utf8);
	struct buf norm = BUF_INIT;
	append_crlf(&norm, utf8, len);
	if (is_7bit(norm.data == NULL ? "" : norm.data, norm.len)) {
		p->cte = "7bit";
		buf_append(&p->body, norm.data == NULL ? "" : norm.data, norm.len);
	} else {
		size_t high = 0;
		for (size_t i = 0; i < norm.len; i++)
			high += (unsigned char)norm.data[i] >= 0x80;
		if (high * 4 < norm.len) {
			p->cte = "quoted-printable";
			mail_qp_encode(norm.data, norm.len, &p->body);
		} else {
			p->cte = "base64";
			struct mail_base64_encoder e;
			mail_base64_encoder_init(&e, 76);
			mail_base64_encode_more(&e, norm.data, norm.len, &p->body);
			mail_base64_encode_finish(&e, &p->body);
		}
	}
	buf_free(&norm);
	return p;
}

struct mail_writer_part *mail_writer_data(const char *type, const char *subtype,
					  const void *data, size_t len,
					  const char *disposition,
					  const char *filename)
{
	struct mail_writer_part *p = part_new(type, subtype);
	if (strcasecmp(type, "text") == 0 && is_7bit(data, len)) {
		p->cte = "7bit";
		append_crlf(&p->body, data, len);
	} else if (strcasecmp(type, "message") == 0) {
		/* Message types allow identity encodings only (RFC 2045 6.4);
		 * message/delivery-status must stay readable (RFC 3464 2.1). */
		append_crlf(&p->body, data, len);
		p->cte = is_7bit(p->body.data == NULL ? "" : p->body.data, p->body.len) ?
			"7bit" : "8bit";
	} else {
		p->cte = "base64";
		struct mail_base64_encoder e;
		mail_base64_encoder_init(&e, 76);
		mail_base64_encode_more(&e, data, len, &p->body);
		mail_base64_encode_finish(&e, &p->body);
	}
	if (disposition != NULL)
		p->disposition = x_strdup(disposition);
	if (filename != NULL) {
		p->filename = x_strdup(filename);
		if (disposition == NULL)
			p->disposition = x_strdup("attachment");
	}
	return p;
}

struct mail_writer_part *mail_writer_message(const void *msg, size_t len,
					     bool headers_only)
{
	struct mail_writer_part *p = headers_only ?
		part_new("text", "rfc822-headers") : part_new("message", "rfc822");
	append_crlf(&p->body, msg, len);
	/* text/rfc822-headers may carry 8-bit headers as 8bit */
	p->cte = is_7bit(p->body.data == NULL ? "" : p->body.data, p->body.len) ?
		"7bit" : "8bit";
	return p;
}

struct mail_writer_part *mail_writer_multipart(const char *subtype)
{
	struct mail_writer_part *p = part_new("multipart", subtype);
	struct buf b = BUF_INIT;
	mail_writer_boundary(&b);
	p->boundary = buf_steal(&b);
	return p;
}

void mail_writer_add(struct mail_writer_part *multipart,
		     struct mail_writer_part *child)
{
	i_assert(multipart->boundary != NULL);
	if (multipart->last == NULL)
		multipart->children = child;
	else
		multipart->last->next = child;
	multipart->last = child;
}

void mail_writer_param(struct mail_writer_part *part, const char *name,
		       const char *value)
{
	mail_params_add(&part->params, name, value);
}

static void add_header(struct mail_writer_part *part, const char *name,
		       struct buf *value)
{
	part->hdrs = x_reallocarray(part->hdrs, part->nhdrs + 1, sizeof(*part->hdrs));
	part->hdrs[part->nhdrs].name = x_strdup(name);
	buf_append(value, "", 0);
	part->hdrs[part->nhdrs].value = buf_steal(value);
	part->nhdrs++;
}

void mail_writer_header(struct mail_writer_part *part, const char *name,
			const char *utf8)
{
	struct buf v = BUF_INIT;
	size_t line = strlen(name) + 2;
	mail_rfc2047_encode(&v, &line, utf8);
	add_header(part, name, &v);
}

/* Folds a ready-made value at whitespace so lines stay near 78. */
static void fold_raw(struct buf *out, size_t line, const char *value)
{
	const char *p = value;
	bool first = true;
	while (*p != '\0') {
		const char *ws = p;
		while (*ws == ' ' || *ws == '\t' || *ws == '\r' || *ws == '\n')
			ws++;
		const char *we = ws;
		while (*we != '\0' && *we != ' ' && *we != '\t' && *we != '\r' && *we != '\n')
			we++;
		if (ws == we)
			break;
		size_t n = (size_t)(we - ws);
		if (!first && line + 1 + n > 78) {
			buf_append(out, "\r\n\t", 3);
			line = 1;
		} else if (!first) {
			buf_append_char(out, ' ');
			line++;
		}
		buf_append(out, ws, n);
		line += n;
		first = false;
		p = we;
	}
}

void mail_writer_header_raw(struct mail_writer_part *part, const char *name,
			    const char *value)
{
	struct buf v = BUF_INIT;
	fold_raw(&v, strlen(name) + 2, value);
	add_header(part, name, &v);
}

void mail_writer_header_addresses(struct mail_writer_part *part,
				  const char *name,
				  const struct mail_address_list *list)
{
	struct buf v = BUF_INIT;
	size_t line = strlen(name) + 2;
	bool first = true;
	for (size_t i = 0; i < list->n; i++) {
		const struct mail_address *a = &list->v[i];
		struct buf item = BUF_INIT;
		if (a->mailbox == NULL && a->domain == NULL) {
			buf_append_char(&v, ';');
			line++;
			continue;
		}
		if (!first) {
			buf_append_char(&v, ',');
			line++;
		}
		size_t iline = 0;
		if (a->domain == NULL) {
			mail_rfc2047_encode_phrase(&item, &iline, a->mailbox);
			buf_append_char(&item, ':');
			first = true;
		} else {
			if (a->name != NULL && a->name[0] != '\0') {
				mail_rfc2047_encode_phrase(&item, &iline, a->name);
				buf_append(&item, " <", 2);
				mail_address_format_addr_spec(a, &item);
				buf_append_char(&item, '>');
			} else {
				mail_address_format_addr_spec(a, &item);
			}
			first = false;
		}
		/* fold before an item that would not fit on this line */
		const char *nl = memchr(item.data, '\n', item.len);
		size_t firstlen = nl == NULL ? item.len : (size_t)(nl - item.data);
		if (v.len > 0 && line + 1 + firstlen > 78) {
			buf_append(&v, "\r\n ", 3);
			line = 1;
		} else if (v.len > 0) {
			buf_append_char(&v, ' ');
			line++;
		}
		buf_append(&v, item.data, item.len);
		const char *lastnl = item.len ? memrchr(item.data, '\n', item.len) : NULL;
		line = lastnl == NULL ? line + item.len : (size_t)(item.data + item.len - lastnl - 1);
		buf_free(&item);
	}
	add_header(part, name, &v);
}

static void write_headers(const struct mail_writer_part *p, bool root,
			  struct buf *out)
{
	for (size_t i = 0; i < p->nhdrs; i++)
		buf_appendf(out, "%s: %s\r\n", p->hdrs[i].name, p->hdrs[i].value);
	if (root)
		buf_append_str(out, "MIME-Version: 1.0\r\n");
	size_t line = strlen("Content-Type: ") + strlen(p->type) + 1 + strlen(p->subtype);
	buf_appendf(out, "Content-Type: %s/%s", p->type, p->subtype);
	for (size_t i = 0; i < p->params.n; i++)
		mail_param_write(out, &line, p->params.v[i].name, p->params.v[i].value);
	if (p->boundary != NULL)
		mail_param_write(out, &line, "boundary", p->boundary);
	buf_append(out, "\r\n", 2);
	if (p->cte != NULL)
		buf_appendf(out, "Content-Transfer-Encoding: %s\r\n", p->cte);
	if (p->disposition != NULL) {
		line = strlen("Content-Disposition: ") + strlen(p->disposition);
		buf_appendf(out, "Content-Disposition: %s", p->disposition);
		if (p->filename != NULL)
			mail_param_write(out, &line, "filename", p->filename);
		buf_append(out, "\r\n", 2);
	}
	buf_append(out, "\r\n", 2);
}

void mail_writer_write(const struct mail_writer_part *root, struct buf *out)
{
	/* pre-order walk without recursion; closing delimiters are written
	 * when climbing out of a multipart */
	const struct mail_writer_part *p = root;
	const struct mail_writer_part **stack = NULL;
	size_t depth = 0;
	while (p != NULL) {
		write_headers(p, p == root, out);
		if (p->boundary != NULL) {
			if (p == root)
				buf_append_str(out, "This is a multi-part message in MIME format.\r\n");
			if (p->children != NULL) {
				stack = x_reallocarray(stack, depth + 1, sizeof(*stack));
				stack[depth++] = p;
				buf_appendf(out, "\r\n--%s\r\n", p->boundary);
				p = p->children;
				continue;
			}
			buf_appendf(out, "\r\n--%s--\r\n", p->boundary);
		} else {
			buf_append(out, p->body.data == NULL ? "" : p->body.data, p->body.len);
		}
		/* next sibling, or close parents */
		for (;;) {
			if (depth == 0) {
				p = NULL;
				break;
			}
			const struct mail_writer_part *parent = stack[depth - 1];
			if (p->next != NULL) {
				buf_appendf(out, "\r\n--%s\r\n", parent->boundary);
				p = p->next;
				break;
			}
			buf_appendf(out, "\r\n--%s--\r\n", parent->boundary);
			depth--;
			p = parent;
		}
	}
	free(stack);
}

void mail_writer_free(struct mail_writer_part **rootp)
{
	struct mail_writer_part *p = *rootp;
	*rootp = NULL;
	/* flatten the tree into a list without recursion */
	struct mail_writer_part *todo = p;
	while (todo != NULL) {
		struct mail_writer_part *cur = todo;
		todo = cur->next;
		/* push children on the list */
		if (cur->children != NULL) {
			cur->last->next = todo;
			todo = cur->children;
		}
		for (size_t i = 0; i < cur->nhdrs; i++) {
			free(cur->hdrs[i].name);
			free(cur->hdrs[i].value);
		}
		free(cur->hdrs);
		free(cur->type);
		free(cur->subtype);
		mail_params_free(&cur->params);
		free(cur->disposition);
		free(cur->filename);
		buf_free(&cur->body);
		free(cur->boundary);
		free(cur);
	}
}
