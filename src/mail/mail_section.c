/* mail_section.c — IMAP FETCH section specifications: parsing and
 * locating their bytes in a part tree. Pure functions; runs in the mail
 * workers. Parses client input. */
#include "mail_section.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SECTION_PARTS 100	/* deeper than any parse can be */

void mail_section_free(struct mail_section *sec)
{
	x_free(&sec->parts);
	sec->nparts = 0;
	strv_free(&sec->fields);
}

static bool kw(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(end - *p) < n || strncasecmp(*p, word, n) != 0)
		return false;
	*p += n;
	return true;
}

/* "(" astring *(SP astring) ")" — header field names as atoms or quoted
 * strings. */
static int parse_fields(const char *p, const char *end, struct strv *fields,
			const char **error_r)
{
	if (p == end || *p != '(') {
		*error_r = "Missing header field list";
		return -1;
	}
	p++;
	struct buf name = BUF_INIT;
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p < end && *p == ')') {
			p++;
			break;
		}
		buf_reset(&name);
		if (p < end && *p == '"') {
			p++;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end)
					p++;
				buf_append_char(&name, *p++);
			}
			if (p == end) {
				buf_free(&name);
				*error_r = "Unterminated quoted field name";
				return -1;
			}
			p++;
		} else {
			while (p < end && *p > ' ' && *p < 0x7f && *p != ')' &&
			       *p != '(' && *p != ':' && *p != '"')
				buf_append_char(&name, *p++);
		}
		if (name.len == 0) {
			buf_free(&name);
			*error_r = "Invalid header field list";
			return -1;
		}
		strv_push(fields, buf_cstr(&name));
	}
	buf_free(&name);
	if (fields->n == 0) {
		*error_r = "Empty header field list";
		return -1;
	}
	if (p != end) {
		*error_r = "Junk after header field list";
		return -1;
	}
	return 0;
}

int mail_section_parse(const char *spec, size_t len,
		       struct mail_section *sec_r, const char **error_r)
{
	const char *p = spec, *end = spec + len;
	memset(sec_r, 0, sizeof(*sec_r));
	strv_init(&sec_r->fields);
	sec_r->kind = MAIL_SECTION_ALL;
	while (p < end && isdigit((unsigned char)*p)) {
		if (*p == '0') {
			*error_r = "Part number 0";
			return -1;
		}
		unsigned long n = 0;
		while (p < end && isdigit((unsigned char)*p)) {
			n = n * 10 + (unsigned long)(*p++ - '0');
			if (n > 1000000) {
				*error_r = "Part number too large";
				return -1;
			}
		}
		if (sec_r->nparts == MAX_SECTION_PARTS) {
			*error_r = "Too many part numbers";
			return -1;
		}
		sec_r->parts = x_reallocarray(sec_r->parts, sec_r->nparts + 1,
					      sizeof(*sec_r->parts));
		sec_r->parts[sec_r->nparts++] = (unsigned int)n;
		if (p == end)
			return 0;
		if (*p != '.') {
			*error_r = "Invalid section";
			return -1;
		}
		p++;
		if (p == end) {
			*error_r = "Trailing dot in section";
			return -1;
		}
	}
	if (p == end)
		return 0;
	if (kw(&p, end, "HEADER.FIELDS.NOT")) {
		sec_r->kind = MAIL_SECTION_HEADER_FIELDS_NOT;
	} else if (kw(&p, end, "HEADER.FIELDS")) {
		sec_r->kind = MAIL_SECTION_HEADER_FIELDS;
	} else if (kw(&p, end, "HEADER")) {
		sec_r->kind = MAIL_SECTION_HEADER;
	} else if (kw(&p, end, "TEXT")) {
		sec_r->kind = MAIL_SECTION_TEXT;
	} else if (kw(&p, end, "MIME")) {
		if (sec_r->nparts == 0) {
			*error_r = "MIME needs a part number";
			return -1;
		}
		sec_r->kind = MAIL_SECTION_MIME;
	} else {
		*error_r = "Unknown section keyword";
		return -1;
	}
	if (sec_r->kind == MAIL_SECTION_HEADER_FIELDS ||
	    sec_r->kind == MAIL_SECTION_HEADER_FIELDS_NOT) {
		if (p == end || *p != ' ') {
			*error_r = "Missing header field list";
			return -1;
		}
		return parse_fields(p + 1, end, &sec_r->fields, error_r);
	}
	if (p != end) {
		*error_r = "Junk after section keyword";
		return -1;
	}
	return 0;
}

bool mail_section_is_binary_ok(const struct mail_section *sec)
{
	return sec->kind == MAIL_SECTION_ALL;
}

static void set_range(struct mail_section_range *r, const struct mail_range *m,
		      const struct mail_part *part)
{
	r->offset = m->offset;
	r->size = m->size;
	r->vsize = m->vsize;
	r->part = part;
}

bool mail_section_locate(const struct mail_part *root,
			 const struct mail_section *sec,
			 struct mail_section_range *range_r)
{
	const struct mail_part *part = root;
	memset(range_r, 0, sizeof(*range_r));
	for (size_t i = 0; i < sec->nparts; i++) {
		unsigned int n = sec->parts[i];
		if ((part->flags & MAIL_PART_MULTIPART) != 0 &&
		    part->children != NULL) {
			part = part->children;
			while (--n > 0 && part != NULL)
				part = part->next;
			if (part == NULL)
				return false;
		} else if (n != 1) {
			/* a non-multipart entity only has part 1, itself */
			return false;
		}
		/* further numbers go into an encapsulated message */
		if (i + 1 < sec->nparts &&
		    (part->flags & MAIL_PART_MESSAGE) != 0 && part->children != NULL)
			part = part->children;
	}
	/* HEADER and TEXT after part numbers address a message/rfc822 part's
	 * encapsulated message. */
	const struct mail_part *msg = part;
	if (sec->nparts > 0) {
		if ((part->flags & MAIL_PART_MESSAGE) != 0 && part->children != NULL)
			msg = part->children;
		else
			msg = NULL;
	}
	switch (sec->kind) {
	case MAIL_SECTION_ALL:
		if (sec->nparts == 0) {
			struct mail_range all = mail_part_range(root);
			set_range(range_r, &all, root);
		} else {
			set_range(range_r, &part->body, part);
		}
		return true;
	case MAIL_SECTION_MIME:
		set_range(range_r, &part->header, part);
		return true;
	case MAIL_SECTION_HEADER:
	case MAIL_SECTION_HEADER_FIELDS:
	case MAIL_SECTION_HEADER_FIELDS_NOT:
		if (msg == NULL)
			return false;
		set_range(range_r, &msg->header, msg);
		return true;
	case MAIL_SECTION_TEXT:
		if (msg == NULL)
			return false;
		set_range(range_r, &msg->body, msg);
		return true;
	}
	return false;
}
