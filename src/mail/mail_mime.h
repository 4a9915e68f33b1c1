/* mail_mime.h — streaming MIME structure parser (RFC 2045/2046) producing
 * a part tree with exact offsets, sizes and line counts for IMAP, plus the
 * parsed Content-* fields and the envelope of every message entity.
 * Pure: bytes in, tree out; no I/O. Runs in the mail workers and the
 * store's indexer. Parses untrusted input: robust against missing and
 * mismatched boundaries, truncation, absurd nesting and huge headers;
 * memory use is bounded by the limits, not by the message size. */
#ifndef CORREU_MAIL_MIME_H
#define CORREU_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mail_param.h"
#include "mail_envelope.h"

/* A byte range of the input. Offsets and sizes are in the bytes given to
 * the parser; vsize is the size with every bare LF counted as CRLF (what
 * IMAP reports; equal to size for CRLF input); lines counts LF bytes. */
struct mail_range {
	uint64_t offset;
	uint64_t size;
	uint64_t vsize;
	uint64_t lines;
};

enum mail_cte {
	MAIL_CTE_7BIT,		/* also when the field is missing */
	MAIL_CTE_8BIT,
	MAIL_CTE_BINARY,
	MAIL_CTE_QP,
	MAIL_CTE_BASE64,
	MAIL_CTE_UNKNOWN,	/* anything else (x-uuencode, junk) */
};

enum mail_part_flags {
	MAIL_PART_MULTIPART	= 1 << 0, /* multipart/ (children only if it
					     has a usable boundary) */
	MAIL_PART_MESSAGE	= 1 << 1, /* message/rfc822 or message/global:
					     one child, the encapsulated
					     message entity */
	MAIL_PART_TEXT		= 1 << 2, /* text/ (IMAP shows body lines) */
	MAIL_PART_CT_DEFAULT	= 1 << 3, /* no valid Content-Type: type and
					     subtype are the RFC 2045/2046
					     default */
	MAIL_PART_HDR_8BIT	= 1 << 4, /* header has bytes >= 0x80 */
	MAIL_PART_BODY_8BIT	= 1 << 5, /* body (this part's own leaf
					     content) has bytes >= 0x80 */
	MAIL_PART_HDR_NUL	= 1 << 6, /* header has NUL bytes */
	MAIL_PART_BODY_NUL	= 1 << 7, /* body has NUL bytes */
	MAIL_PART_NO_HDR_END	= 1 << 8, /* header ended without empty line
					     (boundary or end of input) */
	MAIL_PART_NO_END_BOUNDARY = 1 << 9, /* multipart without its closing
					     boundary */
	MAIL_PART_LIMIT		= 1 << 10, /* depth limit hit: a multipart or
					     message kept as an opaque leaf
					     (IMAP shows application/
					     octet-stream, as Dovecot does);
					     on a multipart also: part-count
					     limit hit, later boundaries are
					     content */
	MAIL_PART_BOUNDARY_MISSING = 1 << 11, /* multipart without boundary
					     parameter: no children */
};

/* One MIME entity. The root is the whole message. A multipart part has
 * its body parts as children; a message/rfc822 part has exactly one child,
 * the encapsulated message entity (header = the encapsulated message's
 * header, body = its body), which in turn may be multipart. */
struct mail_part {
	struct mail_part *parent;
	struct mail_part *children;	/* first child */
	struct mail_part *next;		/* next sibling */
	unsigned int nchildren;
	unsigned int depth;		/* root 0 */
	uint32_t flags;			/* enum mail_part_flags */

	struct mail_range header;	/* including the empty line */
	struct mail_range body;		/* up to the CRLF before the next
					   boundary (RFC 2046: it belongs to
					   the boundary) */

	/* Content-Type, defaults applied: never NULL. As written in the
	 * message (not case-folded); compare with strcasecmp(). */
	char *type;
	char *subtype;
	struct mail_params params;

	enum mail_cte cte;
	char *cte_raw;			/* Content-Transfer-Encoding value as
					   written, NULL when absent */
	char *id;			/* Content-ID */
	char *description;		/* Content-Description, raw */
	char *md5;			/* Content-MD5 */
	char *disposition;		/* Content-Disposition token or NULL */
	struct mail_params disp_params;
	char *language;			/* Content-Language, raw unfolded */
	char *location;			/* Content-Location, unfolded */

	/* For the root and for children of message/rfc822 parts: the
	 * ENVELOPE fields of this entity's header; NULL otherwise. */
	struct mail_envelope *envelope;
};

struct mail_mime_limits {
	unsigned int max_depth;		/* nesting of multipart/message;
					   default 100 */
	unsigned int max_parts;		/* parts in the tree; default 10000 */
	size_t max_field_size;		/* bytes kept of one interesting header
					   field (Content-*, envelope); longer
					   ones are cut; default 256 KiB */
};

struct mail_mime_parser;

/* Starts a parse; limits may be NULL for the defaults. */
struct mail_mime_parser *mail_mime_parser_new(const struct mail_mime_limits *limits);
/* Feeds the next len bytes of the message; any chunking gives the same
 * result. */
void mail_mime_parser_feed(struct mail_mime_parser *p, const void *data,
			   size_t len);
/* Ends the input, frees the parser and returns the tree (never NULL; the
 * caller frees it with mail_part_free()). */
struct mail_part *mail_mime_parser_finish(struct mail_mime_parser **p);
/* One-shot convenience over a message in memory. */
struct mail_part *mail_mime_parse(const void *data, size_t len,
				  const struct mail_mime_limits *limits);

void mail_part_free(struct mail_part **root);
/* Number of parts in the tree rooted at part (including it). */
unsigned int mail_part_count(const struct mail_part *part);
/* The next part in depth-first pre-order below root, or NULL. Walks the
 * tree without recursion. */
const struct mail_part *mail_part_next_dfs(const struct mail_part *root,
					   const struct mail_part *part);
/* Whether type/subtype match, ASCII case-insensitively; subtype NULL
 * matches any. */
bool mail_part_is_type(const struct mail_part *part, const char *type,
		       const char *subtype);
/* The charset parameter, or "us-ascii" for text/ parts without one, or
 * NULL. */
const char *mail_part_charset(const struct mail_part *part);
/* The whole part (MIME header + body) as a range. */
struct mail_range mail_part_range(const struct mail_part *part);

#endif
