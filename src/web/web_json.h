/* web_json.h — IMAP data turned into the JSON the front end reads:
 * ENVELOPE (RFC 2047 words decoded), flags, BODYSTRUCTURE part trees.
 * Pure functions. Converts untrusted input (server data). */
#ifndef CORREU_WEB_JSON_H
#define CORREU_WEB_JSON_H

#include <jansson.h>
#include "web_imap_parse.h"

/* {"date","subject","from":[{"name","email"}],"sender","reply_to","to",
 * "cc","bcc","in_reply_to","message_id"}; missing fields are "" or []. */
json_t *web_json_envelope(const struct imap_node *env);
/* ["\\Seen", "$Label"] from a FLAGS list, without \\Recent. */
json_t *web_json_flags(const struct imap_node *flags);
/* A decoded header text as a JSON string (RFC 2047, invalid UTF-8
 * repaired); NULL node gives "". */
json_t *web_json_header_text(const struct imap_node *n);
/* Adds a string as valid UTF-8 (invalid sequences replaced). */
json_t *web_json_string(const char *s, size_t len);

/* One part of a BODYSTRUCTURE, flattened. */
struct web_part {
	char section[64];	/* "1.2"; "1" for a single-part message */
	char type[64];		/* lower case "text" */
	char subtype[64];	/* lower case "html" */
	char *charset;		/* or NULL */
	char *encoding;		/* lower case "base64", or NULL */
	char *filename;		/* UTF-8 (RFC 2231/2047 decoded) or NULL */
	char *content_id;	/* without <>, or NULL */
	char *disposition;	/* lower case "attachment", or NULL */
	char parent_subtype[64];/* "alternative", "related", "mixed" or "" */
	unsigned long long size;
	int depth;
};

struct web_parts {
	struct web_part *v;
	size_t n;
};

/* Walks a BODYSTRUCTURE; message/rfc822 parts are leaves (shown as
 * attachments). */
void web_parts_from_bodystructure(const struct imap_node *bs, struct web_parts *parts);
void web_parts_free(struct web_parts *parts);

#endif
