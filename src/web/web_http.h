/* web_http.h — a strict, incremental HTTP/1.1 request parser (RFC 9112).
 * Bytes in, one parsed request out; it never touches a socket. Ambiguous
 * framing is an error, never guessed at: Content-Length together with
 * Transfer-Encoding, repeated or malformed Content-Length, codings other
 * than "chunked", obs-fold, bare CR or LF, NUL and other control bytes.
 * Runs in the web process. Parses untrusted input. */
#ifndef CORREU_WEB_HTTP_H
#define CORREU_WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum http_parse_result {
	HTTP_PARSE_MORE,	/* every byte given was used; feed more */
	HTTP_PARSE_DONE,	/* one request is complete in parser->req */
	HTTP_PARSE_ERROR,	/* parser->status and parser->error say why */
};

struct http_limits {
	size_t max_request_line;	/* longer: 414 */
	size_t max_header_bytes;	/* all field lines together; more: 431 */
	size_t max_headers;		/* field lines; more: 431 */
	uint64_t max_body;		/* decoded body; more: 413 */
};

struct http_header {
	char *name;	/* lower case */
	char *value;	/* leading and trailing whitespace removed */
};

struct http_request {
	char *method;
	char *target;		/* origin-form: "/path?query" */
	int minor;		/* HTTP/1.<minor>: 0 or 1 */
	struct http_header *headers;
	size_t n_headers;
	size_t cap_headers;
	struct buf body;
	bool keep_alive;	/* the client allows another request after this */
	bool expect_continue;	/* "Expect: 100-continue" was sent */
};

struct http_parser {
	struct http_limits limits;
	struct http_request req;
	int state;
	struct buf line;
	size_t header_bytes;
	size_t empty_lines;
	uint64_t remaining;	/* body or chunk bytes still to read */
	bool chunked;
	bool cr;		/* the previous byte was CR */
	bool in_body;		/* headers are complete, body is being read */
	int status;		/* HTTP status to answer an error with */
	const char *error;	/* static text for logs and error pages */
};

/* Default limits: 8 KiB request line, 32 KiB of header, 100 header
 * fields, body limit given by the caller. */
void http_limits_default(struct http_limits *lim, uint64_t max_body);

void http_parser_init(struct http_parser *p, const struct http_limits *lim);
void http_parser_free(struct http_parser *p);
/* Forgets the finished (or failed) request and prepares for the next
 * one on the same connection. */
void http_parser_reset(struct http_parser *p);

/* Consumes bytes from data until a request is complete or an error is
 * found; *used_r says how many. After DONE the remaining bytes belong to
 * the next request (pipelining). After ERROR the connection must be
 * answered with p->status and closed. */
enum http_parse_result http_parse(struct http_parser *p, const void *data, size_t len,
				  size_t *used_r);

/* The first header named name (lower case), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);
/* Number of header fields named name. */
size_t http_request_header_count(const struct http_request *r, const char *name);

/* The reason phrase for a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
