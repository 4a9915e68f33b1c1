/* mail_bodystructure.c — IMAP BODY and BODYSTRUCTURE strings of a part
 * tree, matching Dovecot's output. Pure functions; runs in the mail
 * workers and the store's indexer. Walks the tree without recursion. */
#include "mail_bodystructure.h"
#include "mail_imapstr.h"
#include "str.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* A multipart that never showed a body part: RFC 3501 requires at least
 * one, so an empty text part stands in (as Dovecot does). */
#define EMPTY_BODY "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

/* add_charset: a text part without a charset parameter shows the RFC 2045
 * default at the end of its list, as Dovecot does. */
static void write_params(struct buf *out, const struct mail_params *params,
			 bool add_charset, bool utf8)
{
	if (add_charset && mail_param_get(params, "charset") == NULL) {
		buf_append_char(out, '(');
		for (size_t i = 0; i < params->n; i++) {
			mail_imapstr_append_nstring(out, params->v[i].name, utf8);
			buf_append_char(out, ' ');
			mail_imapstr_append_nstring(out, params->v[i].value, utf8);
			buf_append_char(out, ' ');
		}
		buf_append_str(out, "\"charset\" \"us-ascii\")");
		return;
	}
	if (params->n == 0) {
		buf_append(out, "NIL", 3);
		return;
	}
	buf_append_char(out, '(');
	for (size_t i = 0; i < params->n; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		mail_imapstr_append_nstring(out, params->v[i].name, utf8);
		buf_append_char(out, ' ');
		mail_imapstr_append_nstring(out, params->v[i].value, utf8);
	}
	buf_append_char(out, ')');
}

/* Content-Language: one string, or a list when there are several. */
static void write_language(struct buf *out, const char *lang, bool utf8)
{
	struct strv v;
	strv_init(&v);
	if (lang != NULL)
		strv_split_ws(&v, lang);
	if (v.n == 0) {
		buf_append(out, "NIL", 3);
	} else if (v.n == 1) {
		mail_imapstr_append_nstring(out, v.v[0], utf8);
	} else {
		buf_append_char(out, '(');
		for (size_t i = 0; i < v.n; i++) {
			if (i > 0)
				buf_append_char(out, ' ');
			mail_imapstr_append_nstring(out, v.v[i], utf8);
		}
		buf_append_char(out, ')');
	}
	strv_free(&v);
}

static void write_disposition(struct buf *out, const struct mail_part *part,
			      bool utf8)
{
	if (part->disposition == NULL) {
		buf_append(out, "NIL", 3);
		return;
	}
	buf_append_char(out, '(');
	mail_imapstr_append_nstring(out, part->disposition, utf8);
	buf_append_char(out, ' ');
	write_params(out, &part->disp_params, false, utf8);
	buf_append_char(out, ')');
}

/* disposition, language, location (shared by both kinds). */
static void write_ext_common(struct buf *out, const struct mail_part *part,
			     bool utf8)
{
	buf_append_char(out, ' ');
	write_disposition(out, part, utf8);
	buf_append_char(out, ' ');
	write_language(out, part->language, utf8);
	buf_append_char(out, ' ');
	mail_imapstr_append_nstring(out, part->location, utf8);
}

static bool has_children(const struct mail_part *part)
{
	return (part->flags & (MAIL_PART_MULTIPART | MAIL_PART_MESSAGE)) != 0 &&
	       part->children != NULL;
}

/* What comes before the children of part (all of it for a leaf). */
static void write_open(struct buf *out, const struct mail_part *part,
		       bool extended, bool utf8)
{
	buf_append_char(out, '(');
	if ((part->flags & MAIL_PART_MULTIPART) != 0) {
		if (part->children == NULL)
			buf_append_str(out, extended ? "(" EMPTY_BODY " NIL NIL NIL NIL)" :
				       "(" EMPTY_BODY ")");
		return;
	}
	if ((part->flags & MAIL_PART_LIMIT) != 0 &&
	    (mail_part_is_type(part, "multipart", NULL) ||
	     mail_part_is_type(part, "message", NULL))) {
		/* too deep to show its structure */
		buf_append_str(out, "\"application\" \"octet-stream\"");
	} else {
		mail_imapstr_append_nstring(out, part->type, utf8);
		buf_append_char(out, ' ');
		mail_imapstr_append_nstring(out, part->subtype, utf8);
	}
	buf_append_char(out, ' ');
	write_params(out, &part->params, (part->flags & MAIL_PART_TEXT) != 0, utf8);
	buf_append_char(out, ' ');
	mail_imapstr_append_nstring(out, part->id, utf8);
	buf_append_char(out, ' ');
	mail_imapstr_append_nstring(out, part->description, utf8);
	buf_append_char(out, ' ');
	mail_imapstr_append_nstring(out, part->cte_raw != NULL ? part->cte_raw : "7bit", utf8);
	buf_appendf(out, " %" PRIu64, part->body.vsize);
	if ((part->flags & MAIL_PART_MESSAGE) != 0 && part->children != NULL) {
		buf_append_char(out, ' ');
		mail_envelope_write(part->children->envelope, utf8, out);
		buf_append_char(out, ' ');
	} else {
		if ((part->flags & MAIL_PART_TEXT) != 0)
			buf_appendf(out, " %" PRIu64, part->body.lines);
		if (extended) {
			buf_append_char(out, ' ');
			mail_imapstr_append_nstring(out, part->md5, utf8);
			write_ext_common(out, part, utf8);
		}
		buf_append_char(out, ')');
	}
}

/* What comes after the children of part (nothing for a leaf). */
static void write_close(struct buf *out, const struct mail_part *part,
			bool extended, bool utf8)
{
	if ((part->flags & MAIL_PART_MULTIPART) != 0) {
		buf_append_char(out, ' ');
		mail_imapstr_append_nstring(out, part->subtype, utf8);
		if (extended) {
			buf_append_char(out, ' ');
			write_params(out, &part->params, false, utf8);
			write_ext_common(out, part, utf8);
		}
		buf_append_char(out, ')');
	} else if ((part->flags & MAIL_PART_MESSAGE) != 0) {
		buf_appendf(out, " %" PRIu64, part->body.lines);
		if (extended) {
			buf_append_char(out, ' ');
			mail_imapstr_append_nstring(out, part->md5, utf8);
			write_ext_common(out, part, utf8);
		}
		buf_append_char(out, ')');
	}
}

void mail_bodystructure_write(const struct mail_part *root, bool extended,
			      bool utf8, struct buf *out)
{
	const struct mail_part *part = root;
	while (part != NULL) {
		write_open(out, part, extended, utf8);
		if (has_children(part)) {
			part = part->children;
			continue;
		}
		if ((part->flags & MAIL_PART_MULTIPART) != 0)
			write_close(out, part, extended, utf8);
		/* climb until a sibling is found */
		while (part != NULL) {
			if (part == root) {
				part = NULL;
				break;
			}
			if (part->next != NULL) {
				part = part->next;
				break;
			}
			part = part->parent;
			write_close(out, part, extended, utf8);
		}
	}
}
