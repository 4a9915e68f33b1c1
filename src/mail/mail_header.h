/* mail_header.h — RFC 5322 header section parsing over bytes: field
 * iteration with raw offsets, unfolding, look-up by name, filtering for
 * IMAP HEADER.FIELDS. Pure functions, no I/O; used by every process.
 * Parses untrusted input: tolerates bare LF, 8-bit bytes, NULs, lines
 * without a colon and continuation lines without a field. */
#ifndef CORREU_MAIL_HEADER_H
#define CORREU_MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* One header field as found in the input. All pointers point into the
 * caller's bytes; nothing is allocated. */
struct mail_header_field {
	const char *name;	/* field name, without trailing WSP */
	size_t name_len;
	const char *value;	/* raw value after the colon, folding kept,
				   final line ending excluded */
	size_t value_len;
	size_t offset;		/* offset of the first byte of the field */
	size_t size;		/* bytes of the field incl. its last line ending */
	bool no_colon;		/* junk line without ':' (name = whole line,
				   value empty); still part of the header */
};

/* Iterates the fields of a header section that starts at data[0]. The
 * section ends at the first empty line (CRLF or LF) or at len. */
struct mail_header_iter {
	const char *data;
	size_t len;
	size_t pos;
	bool done;
	bool have_end;		/* an empty line was found */
	size_t body_offset;	/* valid once done: first byte after the
				   empty line, or len if there was none */
};

void mail_header_iter_init(struct mail_header_iter *it, const void *data,
			   size_t len);
/* Returns the next field, false at the end of the header section. */
bool mail_header_iter_next(struct mail_header_iter *it,
			   struct mail_header_field *field_r);

/* Returns the size of the header section at data[0..len) including the
 * empty line that ends it; *complete_r says whether that line was found
 * (if not, the whole input is header). */
size_t mail_header_size(const void *data, size_t len, bool *complete_r);

/* Whether the field's name equals name, ASCII case-insensitively. */
bool mail_header_name_is(const struct mail_header_field *f, const char *name);

/* Unfolds a raw value: removes line endings (CRLF or LF) that precede
 * whitespace, drops NUL bytes and trims leading/trailing whitespace.
 * Appends to out. */
void mail_header_unfold(const char *value, size_t len, struct buf *out);
/* Same, as a new NUL-terminated string (caller frees). */
char *mail_header_unfold_dup(const char *value, size_t len);

/* Finds the first field called name; false if none. */
bool mail_header_find(const void *hdr, size_t len, const char *name,
		      struct mail_header_field *field_r);
/* The unfolded value of the first field called name, or NULL (caller
 * frees). */
char *mail_header_get(const void *hdr, size_t len, const char *name);

/* IMAP BODY[HEADER.FIELDS (names)] and .NOT: appends the raw fields
 * whose name is (or with not, is not) in names[0..n), then the empty
 * line. Bare LF line endings are written as CRLF. */
void mail_header_filter(const void *hdr, size_t len,
			const char *const *names, size_t n, bool not,
			struct buf *out);

#endif
