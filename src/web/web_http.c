/* web_http.c — the strict HTTP/1.1 request parser (see web_http.h).
 * A byte-at-a-time state machine: lines are collected into p->line with
 * their limits enforced as they grow, so no input can make it buffer
 * more than a limit allows. Runs in the web process. Parses untrusted
 * input. */
#include "web_http.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	S_START,	/* before the request line; empty lines skipped */
	S_HEADERS,	/* field lines until the empty line */
	S_BODY,		/* Content-Length bytes */
	S_CHUNK_SIZE,	/* "1a;ext\r\n" */
	S_CHUNK_DATA,
	S_CHUNK_END,	/* the CRLF after chunk data */
	S_TRAILERS,
	S_DONE,
	S_ERROR,
};

#define MAX_EMPTY_LINES 4
#define MAX_CHUNK_LINE 1024

void http_limits_default(struct http_limits *lim, uint64_t max_body)
{
	lim->max_request_line = 8192;
	lim->max_header_bytes = 32768;
	lim->max_headers = 100;
	lim->max_body = max_body;
}

void http_parser_init(struct http_parser *p, const struct http_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->limits = *lim;
	buf_init(&p->line);
	buf_init(&p->req.body);
}

static void request_clear(struct http_request *r)
{
	free(r->method);
	free(r->target);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

void http_parser_free(struct http_parser *p)
{
	request_clear(&p->req);
	buf_free(&p->line);
}

void http_parser_reset(struct http_parser *p)
{
	struct http_limits lim = p->limits;
	http_parser_free(p);
	http_parser_init(p, &lim);
}

static enum http_parse_result fail(struct http_parser *p, int status, const char *error)
{
	p->state = S_ERROR;
	p->status = status;
	p->error = error;
	return HTTP_PARSE_ERROR;
}

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static enum http_parse_result parse_request_line(struct http_parser *p)
{
	const char *l = p->line.data;
	size_t len = p->line.len;
	const char *sp1 = memchr(l, ' ', len);
	if (sp1 == NULL || !is_token(l, (size_t)(sp1 - l)))
		return fail(p, 400, "malformed request line");
	const char *t = sp1 + 1;
	const char *sp2 = memchr(t, ' ', len - (size_t)(t - l));
	if (sp2 == NULL || sp2 == t)
		return fail(p, 400, "malformed request line");
	for (const char *c = t; c < sp2; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return fail(p, 400, "invalid byte in request target");
	const char *v = sp2 + 1;
	size_t vlen = len - (size_t)(v - l);
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return fail(p, 400, "malformed HTTP version");
	if (v[5] != '1' || v[7] > '1')
		return fail(p, 505, "HTTP version not supported");
	if (t[0] != '/' && !(sp2 - t == 1 && t[0] == '*'))
		return fail(p, 400, "request target must be in origin form");
	p->req.method = x_strndup(l, (size_t)(sp1 - l));
	p->req.target = x_strndup(t, (size_t)(sp2 - t));
	p->req.minor = v[7] - '0';
	p->state = S_HEADERS;
	return HTTP_PARSE_MORE;
}

static enum http_parse_result parse_field_line(struct http_parser *p)
{
	const char *l = p->line.data;
	size_t len = p->line.len;
	if (l[0] == ' ' || l[0] == '\t')
		return fail(p, 400, "obsolete line folding");
	const char *colon = memchr(l, ':', len);
	if (colon == NULL || !is_token(l, (size_t)(colon - l)))
		return fail(p, 400, "malformed header field");
	const char *v = colon + 1;
	const char *end = l + len;
	for (const char *c = v; c < end; c++) {
		unsigned char u = (unsigned char)*c;
		if ((u < 0x20 && u != '\t') || u == 0x7f)
			return fail(p, 400, "control character in header value");
	}
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p->req.n_headers >= p->limits.max_headers)
		return fail(p, 431, "too many header fields");
	if (p->req.n_headers == p->req.cap_headers) {
		p->req.cap_headers = p->req.cap_headers == 0 ? 16 : p->req.cap_headers * 2;
		p->req.headers = x_reallocarray(p->req.headers, p->req.cap_headers,
						sizeof(*p->req.headers));
	}
	struct http_header *h = &p->req.headers[p->req.n_headers++];
	h->name = str_lower(x_strndup(l, (size_t)(colon - l)));
	h->value = x_strndup(v, (size_t)(end - v));
	return HTTP_PARSE_MORE;
}

/* Does the comma-separated list contain token (case-insensitively)? */
static bool list_has_token(const char *list, const char *token)
{
	size_t tlen = strlen(token);
	const char *s = list;
	while (*s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		const char *e = s;
		while (*e != '\0' && *e != ',')
			e++;
		const char *te = e;
		while (te > s && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if ((size_t)(te - s) == tlen && strncasecmp(s, token, tlen) == 0)
			return true;
		s = e;
	}
	return false;
}

/* The header section is complete: decide how the body is framed. */
static enum http_parse_result headers_done(struct http_parser *p)
{
	struct http_request *r = &p->req;
	size_t hosts = http_request_header_count(r, "host");
	if (r->minor == 1 && hosts != 1)
		return fail(p, 400, hosts == 0 ? "missing Host" : "repeated Host");
	if (hosts > 1)
		return fail(p, 400, "repeated Host");
	size_t n_te = http_request_header_count(r, "transfer-encoding");
	size_t n_cl = http_request_header_count(r, "content-length");
	if (n_te > 0 && n_cl > 0)
		return fail(p, 400, "both Content-Length and Transfer-Encoding");
	if (n_cl > 1)
		return fail(p, 400, "repeated Content-Length");
	if (n_te > 1)
		return fail(p, 400, "repeated Transfer-Encoding");
	if (n_te == 1 && r->minor == 0)
		return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 request");
	const char *conn = http_request_header(r, "connection");
	if (r->minor == 1)
		r->keep_alive = conn == NULL || !list_has_token(conn, "close");
	else
		r->keep_alive = conn != NULL && list_has_token(conn, "keep-alive");
	const char *expect = http_request_header(r, "expect");
	if (expect != NULL) {
		if (strcasecmp(expect, "100-continue") != 0)
			return fail(p, 417, "unsupported expectation");
		r->expect_continue = r->minor == 1;
	}
	p->in_body = true;
	if (n_te == 1) {
		if (strcasecmp(http_request_header(r, "transfer-encoding"), "chunked") != 0)
			return fail(p, 501, "unsupported transfer coding");
		p->chunked = true;
		p->state = S_CHUNK_SIZE;
		return HTTP_PARSE_MORE;
	}
	if (n_cl == 1) {
		const char *cl = http_request_header(r, "content-length");
		uint64_t n;
		if (cl[0] == '\0' || strspn(cl, "0123456789") != strlen(cl) ||
		    strlen(cl) > 18 || str_to_uint64(cl, &n) < 0)
			return fail(p, 400, "malformed Content-Length");
		if (n > p->limits.max_body)
			return fail(p, 413, "request body too large");
		p->remaining = n;
		p->state = n > 0 ? S_BODY : S_DONE;
		return n > 0 ? HTTP_PARSE_MORE : HTTP_PARSE_DONE;
	}
	p->state = S_DONE;
	return HTTP_PARSE_DONE;
}

static enum http_parse_result parse_chunk_size(struct http_parser *p)
{
	const char *l = p->line.data;
	size_t len = p->line.len;
	size_t i = 0;
	uint64_t n = 0;
	while (i < len) {
		char c = l[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (i >= 15)
			return fail(p, 413, "chunk too large");
		n = n * 16 + (uint64_t)d;
		i++;
	}
	if (i == 0)
		return fail(p, 400, "malformed chunk size");
	/* Only chunk extensions may follow: ;name[=value], which we ignore
	 * but check for forbidden bytes. */
	size_t j = i;
	while (j < len && (l[j] == ' ' || l[j] == '\t'))
		j++;
	if (j < len && l[j] != ';')
		return fail(p, 400, "malformed chunk size");
	for (; j < len; j++) {
		unsigned char u = (unsigned char)l[j];
		if ((u < 0x20 && u != '\t') || u == 0x7f)
			return fail(p, 400, "control character in chunk extension");
	}
	if (n > p->limits.max_body - p->req.body.len)
		return fail(p, 413, "request body too large");
	if (n == 0) {
		p->state = S_TRAILERS;
		return HTTP_PARSE_MORE;
	}
	p->remaining = n;
	p->state = S_CHUNK_DATA;
	return HTTP_PARSE_MORE;
}

static enum http_parse_result parse_trailer_line(struct http_parser *p)
{
	const char *l = p->line.data;
	size_t len = p->line.len;
	if (l[0] == ' ' || l[0] == '\t')
		return fail(p, 400, "obsolete line folding");
	const char *colon = memchr(l, ':', len);
	if (colon == NULL || !is_token(l, (size_t)(colon - l)))
		return fail(p, 400, "malformed trailer field");
	for (const char *c = colon + 1; c < l + len; c++) {
		unsigned char u = (unsigned char)*c;
		if ((u < 0x20 && u != '\t') || u == 0x7f)
			return fail(p, 400, "control character in trailer");
	}
	/* Trailers are checked and dropped: nothing here needs them. */
	return HTTP_PARSE_MORE;
}

/* One complete line (without CRLF) is in p->line. */
static enum http_parse_result line_done(struct http_parser *p)
{
	enum http_parse_result r = HTTP_PARSE_MORE;
	switch (p->state) {
	case S_START:
		if (p->line.len == 0) {
			if (++p->empty_lines > MAX_EMPTY_LINES)
				return fail(p, 400, "too many empty lines");
			break;
		}
		r = parse_request_line(p);
		break;
	case S_HEADERS:
		if (p->line.len == 0)
			r = headers_done(p);
		else
			r = parse_field_line(p);
		break;
	case S_CHUNK_SIZE:
		r = parse_chunk_size(p);
		break;
	case S_CHUNK_END:
		if (p->line.len != 0)
			return fail(p, 400, "chunk data longer than its size");
		p->state = S_CHUNK_SIZE;
		break;
	case S_TRAILERS:
		if (p->line.len == 0) {
			p->state = S_DONE;
			r = HTTP_PARSE_DONE;
		} else {
			r = parse_trailer_line(p);
		}
		break;
	default:
		return fail(p, 500, "parser state error");
	}
	buf_reset(&p->line);
	return r;
}

/* The limit for the line being collected in the current state. */
static size_t line_limit(const struct http_parser *p, int *status_r)
{
	switch (p->state) {
	case S_START:
		*status_r = 414;
		return p->limits.max_request_line;
	case S_HEADERS:
	case S_TRAILERS:
		*status_r = 431;
		return p->limits.max_header_bytes;
	default:
		*status_r = 400;
		return MAX_CHUNK_LINE;
	}
}

enum http_parse_result http_parse(struct http_parser *p, const void *data, size_t len,
				  size_t *used_r)
{
	const unsigned char *d = data;
	size_t i = 0;
	enum http_parse_result r = HTTP_PARSE_MORE;
	*used_r = 0;
	if (p->state == S_ERROR)
		return HTTP_PARSE_ERROR;
	if (p->state == S_DONE)
		return HTTP_PARSE_DONE;
	while (i < len) {
		if (p->state == S_BODY || p->state == S_CHUNK_DATA) {
			size_t n = len - i;
			if (n > p->remaining)
				n = (size_t)p->remaining;
			buf_append(&p->req.body, d + i, n);
			i += n;
			p->remaining -= n;
			if (p->remaining == 0) {
				if (p->state == S_BODY) {
					p->state = S_DONE;
					r = HTTP_PARSE_DONE;
					break;
				}
				p->state = S_CHUNK_END;
			}
			continue;
		}
		unsigned char c = d[i++];
		if (c == '\0') {
			r = fail(p, 400, "NUL byte");
			break;
		}
		if (p->cr) {
			p->cr = false;
			if (c != '\n') {
				r = fail(p, 400, "bare CR");
				break;
			}
			r = line_done(p);
			if (r != HTTP_PARSE_MORE)
				break;
			continue;
		}
		if (c == '\r') {
			p->cr = true;
			continue;
		}
		if (c == '\n') {
			r = fail(p, 400, "bare LF");
			break;
		}
		int status;
		size_t limit = line_limit(p, &status);
		if (p->state == S_HEADERS || p->state == S_TRAILERS) {
			if (++p->header_bytes > limit) {
				r = fail(p, 431, "header section too large");
				break;
			}
		} else if (p->line.len + 1 > limit) {
			r = fail(p, status, status == 414 ? "request line too long" :
				 "chunk size line too long");
			break;
		}
		buf_append_char(&p->line, (char)c);
	}
	*used_r = i;
	return r;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

size_t http_request_header_count(const struct http_request *r, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			n++;
	return n;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
