/* mail_section.h — IMAP FETCH section specifications (RFC 3501 6.4.5,
 * RFC 9051 6.4.5): parsing "1.2.HEADER.FIELDS (From To)" and locating the
 * section's bytes in a parsed part tree. Pure functions; runs in the mail
 * workers. Parses client input. */
#ifndef CORREU_MAIL_SECTION_H
#define CORREU_MAIL_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "str.h"
#include "mail_mime.h"

enum mail_section_kind {
	MAIL_SECTION_ALL,		/* BODY[] (whole message) or BODY[1.2]
					   (a part's body) */
	MAIL_SECTION_HEADER,
	MAIL_SECTION_HEADER_FIELDS,
	MAIL_SECTION_HEADER_FIELDS_NOT,
	MAIL_SECTION_TEXT,
	MAIL_SECTION_MIME,
};

struct mail_section {
	enum mail_section_kind kind;
	unsigned int *parts;		/* part numbers, each >= 1 */
	size_t nparts;
	struct strv fields;		/* HEADER.FIELDS names as given */
};

/* Parses the text between the brackets (may be empty), case-insensitive
 * keywords, e.g. "", "TEXT", "1.2", "3.MIME", "HEADER.FIELDS (A B)".
 * Returns -1 with *error_r on bad syntax (IMAP BAD). Free with
 * mail_section_free() in both cases. */
int mail_section_parse(const char *spec, size_t len,
		       struct mail_section *sec_r, const char **error_r);
void mail_section_free(struct mail_section *sec);
/* Whether the section has only part numbers (allowed in BINARY[]). */
bool mail_section_is_binary_ok(const struct mail_section *sec);

/* Where a section's bytes are. For HEADER.FIELDS(.NOT) the range is the
 * whole header to pass through mail_header_filter(). part is the entity
 * the range belongs to (for BINARY: its cte applies when kind is ALL and
 * there are part numbers). */
struct mail_section_range {
	uint64_t offset;
	uint64_t size;
	uint64_t vsize;
	const struct mail_part *part;
};

/* Locates sec in the tree. Returns false if the part does not exist or
 * the keyword does not apply there (HEADER/TEXT on a part that is not
 * message/rfc822); IMAP then returns an empty string. */
bool mail_section_locate(const struct mail_part *root,
			 const struct mail_section *sec,
			 struct mail_section_range *range_r);

#endif
