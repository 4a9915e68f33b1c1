/* web_server.c — HTTP/1.1 connections of the webmail: accepting on the
 * HTTPS and redirect ports, parsing requests with web_http, one request
 * at a time per connection (pipelined ones wait), keep-alive, responses
 * with length or chunked (event streams), security headers on every
 * answer. Runs in the web process. Handles untrusted input. */
#include "web_private.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_TIMEOUT_MS (75 * 1000)
#define STREAM_TIMEOUT_MS 0

struct web_http_conn {
	struct web_http_conn *prev, *next;
	struct web *w;
	struct conn *conn;
	struct http_parser parser;
	struct web_req *req;
	bool redirect_only;
	bool continue_sent;
	bool refused;		/* over a connection limit: answer 503, close */
};

struct web_listener {
	uv_poll_t poll;
	struct web_listener *next;
	struct web *w;
	int fd;
	bool redirect_only;
};

static struct web_http_conn *all_conns;
static struct web_listener *all_listeners;
/* Out of file descriptors, this one is given up to accept and drop a
 * pending connection, so the listener does not wake the loop forever. */
static int reserve_fd = -1;
static uint64_t emfile_logged_ms;

/* Connections over max_connections (total) or max_connections_per_ip
 * get a 503 after their first request; beyond this many more, they are
 * closed at once. */
#define REFUSED_SLACK 64
#define REFUSED_TIMEOUT_MS (10 * 1000)

static const char security_headers[] =
	"Strict-Transport-Security: max-age=31536000\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"X-Frame-Options: DENY\r\n"
	"Referrer-Policy: no-referrer\r\n"
	"Cross-Origin-Opener-Policy: same-origin\r\n"
	"Cross-Origin-Resource-Policy: same-origin\r\n"
	/* Mail HTML is shown in a sandboxed srcdoc frame, which inherits
	 * this policy and adds its own stricter one (app.js). */
	"Content-Security-Policy: default-src 'none'; script-src 'self'; "
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; "
	"connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
	"frame-ancestors 'none'\r\n";

static void req_free(struct web_req *r)
{
	free(r->http.method);
	free(r->http.target);
	for (size_t i = 0; i < r->http.n_headers; i++) {
		free(r->http.headers[i].name);
		free(r->http.headers[i].value);
	}
	free(r->http.headers);
	buf_free(&r->http.body);
	free(r->path);
	for (size_t i = 0; i < r->n_params; i++) {
		free(r->params[i].name);
		free(r->params[i].value);
	}
	free(r->params);
	if (r->json != NULL)
		json_decref(r->json);
	web_session_unref(&r->session);
	free(r);
}

bool web_req_gone(const struct web_req *r)
{
	return r->hc == NULL;
}

void web_req_abandon(struct web_req *r)
{
	if (r->hc != NULL)
		r->hc->req = NULL;
	req_free(r);
}

/* The request is answered: next one, or close. */
static void req_finish(struct web_req *r, bool keep_alive)
{
	struct web_http_conn *hc = r->hc;
	r->done = true;
	req_free(r);
	if (hc == NULL)
		return;
	hc->req = NULL;
	if (!keep_alive || hc->w->stopping) {
		conn_close(hc->conn);
		return;
	}
	conn_set_timeout(hc->conn, KEEPALIVE_TIMEOUT_MS);
	conn_resume(hc->conn);
}

static void write_head(struct web_http_conn *hc, int status, const char *content_type,
		       bool keep_alive, const char *extra)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	conn_printf(hc->conn, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: correu\r\n%s%s%s%s",
		    status, http_status_text(status), date,
		    hc->redirect_only ? "" : security_headers,
		    content_type != NULL ? "Content-Type: " : "",
		    content_type != NULL ? content_type : "",
		    content_type != NULL ? "\r\n" : "");
	if (!keep_alive)
		conn_write_str(hc->conn, "Connection: close\r\n");
	if (extra != NULL)
		conn_write_str(hc->conn, extra);
}

void web_respond(struct web_req *r, int status, const char *content_type,
		 const void *body, size_t len, const char *extra_headers)
{
	struct web_http_conn *hc = r->hc;
	bool keep_alive = r->http.keep_alive;
	if (hc != NULL && !conn_closing(hc->conn)) {
		write_head(hc, status, content_type, keep_alive, extra_headers);
		conn_printf(hc->conn, "Content-Length: %zu\r\n\r\n", len);
		if (strcmp(r->http.method, "HEAD") != 0 && len > 0)
			conn_write(hc->conn, body, len);
	}
	req_finish(r, keep_alive);
}

void web_respond_json(struct web_req *r, int status, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(obj);
	if (s == NULL) {
		web_respond(r, 500, "text/plain", "JSON error\n", 11, NULL);
		return;
	}
	web_respond(r, status, "application/json", s, strlen(s), "Cache-Control: no-store\r\n");
	free(s);
}

void web_respond_error(struct web_req *r, int status, const char *message)
{
	web_respond_json(r, status, json_pack("{s:s}", "error", message));
}

void web_stream_start(struct web_req *r, const char *content_type, const char *extra_headers)
{
	r->streaming = true;
	if (r->hc == NULL)
		return;
	write_head(r->hc, 200, content_type, true, extra_headers);
	conn_write_str(r->hc->conn, "Cache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n");
	conn_set_timeout(r->hc->conn, STREAM_TIMEOUT_MS);
}

void web_stream_write(struct web_req *r, const void *data, size_t len)
{
	if (r->hc == NULL || len == 0)
		return;
	conn_printf(r->hc->conn, "%zx\r\n", len);
	conn_write(r->hc->conn, data, len);
	conn_write_str(r->hc->conn, "\r\n");
}

void web_stream_end(struct web_req *r)
{
	if (r->hc != NULL)
		conn_write_str(r->hc->conn, "0\r\n\r\n");
	req_finish(r, false);
}

const char *web_param(const struct web_req *r, const char *name)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *web_url_decode(const char *s, size_t len, bool form)
{
	struct buf b = BUF_INIT;
	buf_reserve(&b, len + 1);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) {
				buf_free(&b);
				return NULL;
			}
			c = (char)(h * 16 + l);
			if (c == '\0') {
				buf_free(&b);
				return NULL;
			}
			i += 2;
		} else if (c == '+' && form) {
			c = ' ';
		}
		buf_append_char(&b, c);
	}
	return b.data != NULL ? buf_steal(&b) : x_strdup("");
}

static int parse_target(struct web_req *r)
{
	const char *t = r->http.target;
	const char *q = strchr(t, '?');
	size_t plen = q != NULL ? (size_t)(q - t) : strlen(t);
	r->path = web_url_decode(t, plen, false);
	if (r->path == NULL || r->path[0] != '/')
		return -1;
	if (q == NULL)
		return 0;
	const char *s = q + 1;
	while (*s != '\0') {
		const char *amp = strchr(s, '&');
		size_t len = amp != NULL ? (size_t)(amp - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		size_t nlen = eq != NULL ? (size_t)(eq - s) : len;
		char *name = web_url_decode(s, nlen, true);
		char *value = eq != NULL ? web_url_decode(eq + 1, len - nlen - 1, true) : x_strdup("");
		if (name == NULL || value == NULL || r->n_params >= 64) {
			free(name);
			free(value);
			return -1;
		}
		r->params = x_reallocarray(r->params, r->n_params + 1, sizeof(*r->params));
		r->params[r->n_params].name = name;
		r->params[r->n_params].value = value;
		r->n_params++;
		s += len;
		if (*s == '&')
			s++;
	}
	return 0;
}

/* Answers on the plain-HTTP port: everything moves to HTTPS. */
static void redirect(struct web_req *r)
{
	const char *host = http_request_header(&r->http, "host");
	struct buf h = BUF_INIT;
	if (host != NULL && host[0] == '[') {
		const char *e = strchr(host, ']');
		if (e != NULL)
			buf_append(&h, host, (size_t)(e - host) + 1);
	} else if (host != NULL) {
		const char *colon = strchr(host, ':');
		buf_append(&h, host, colon != NULL ? (size_t)(colon - host) : strlen(host));
	}
	bool ok = h.len > 0 && h.len < 256;
	for (size_t i = 0; i < h.len && ok; i++) {
		char c = h.data[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
	}
	if (!ok) {
		buf_free(&h);
		const char *msg = "HTTPS is required.\n";
		web_respond(r, 400, "text/plain; charset=utf-8", msg, strlen(msg), NULL);
		return;
	}
	uint16_t port = r->w->https_port;
	char *loc = port == 443 ?
		x_asprintf("Location: https://%s%s\r\n", buf_cstr(&h), r->http.target) :
		x_asprintf("Location: https://%s:%u%s\r\n", buf_cstr(&h), port, r->http.target);
	const char *msg = "Moved to HTTPS.\n";
	web_respond(r, 301, "text/plain; charset=utf-8", msg, strlen(msg), loc);
	free(loc);
	buf_free(&h);
}

static void dispatch(struct web_req *r)
{
	if (r->hc->redirect_only) {
		redirect(r);
		return;
	}
	if (parse_target(r) < 0) {
		web_respond_error(r, 400, "malformed request target");
		return;
	}
	const char *ctype = http_request_header(&r->http, "content-type");
	if (r->http.body.len > 0 && ctype != NULL &&
	    strncasecmp(ctype, "application/json", 16) == 0) {
		json_error_t jerr;
		r->json = json_loadb(r->http.body.data, r->http.body.len, JSON_REJECT_DUPLICATES, &jerr);
		if (r->json == NULL) {
			web_respond_error(r, 400, "malformed JSON");
			return;
		}
	}
	if (str_has_prefix(r->path, "/api/")) {
		web_api_dispatch(r);
		return;
	}
	if (strcmp(r->http.method, "GET") != 0 && strcmp(r->http.method, "HEAD") != 0) {
		web_respond(r, 405, "text/plain", "Method Not Allowed\n", 19, "Allow: GET, HEAD\r\n");
		return;
	}
	web_static_serve(r);
}

static void send_parse_error(struct web_http_conn *hc)
{
	int status = hc->parser.status;
	char body[160];
	int n = snprintf(body, sizeof(body), "%d %s: %s\n", status, http_status_text(status),
			 hc->parser.error);
	write_head(hc, status, "text/plain; charset=utf-8", false, NULL);
	conn_printf(hc->conn, "Content-Length: %d\r\n\r\n", n);
	conn_write(hc->conn, body, (size_t)n);
	conn_close(hc->conn);
}

static void send_busy(struct web_http_conn *hc)
{
	static const char body[] = "503 Service Unavailable: too many connections\n";
	write_head(hc, 503, "text/plain; charset=utf-8", false, "Retry-After: 10\r\n");
	conn_printf(hc->conn, "Content-Length: %zu\r\n\r\n", sizeof(body) - 1);
	conn_write(hc->conn, body, sizeof(body) - 1);
	conn_close(hc->conn);
}

static void http_input(struct conn *c, void *ctx)
{
	struct web_http_conn *hc = ctx;
	struct buf *in = conn_input(c);
	while (hc->req == NULL && in->len > 0 && !conn_closing(c)) {
		size_t used;
		enum http_parse_result res = http_parse(&hc->parser, in->data, in->len, &used);
		buf_consume(in, used);
		if (res == HTTP_PARSE_ERROR) {
			log_debug("%s: bad request: %s", conn_peer_ip(c), hc->parser.error);
			send_parse_error(hc);
			return;
		}
		if (res == HTTP_PARSE_MORE) {
			if (hc->parser.in_body && hc->parser.req.expect_continue && !hc->continue_sent) {
				hc->continue_sent = true;
				conn_write_str(c, "HTTP/1.1 100 Continue\r\n\r\n");
			}
			return;
		}
		if (hc->refused) {
			send_busy(hc);
			return;
		}
		struct web_req *r = x_calloc(1, sizeof(*r));
		r->w = hc->w;
		r->hc = hc;
		r->http = hc->parser.req;
		r->peer_ip = conn_peer_ip(c);
		memset(&hc->parser.req, 0, sizeof(hc->parser.req));
		http_parser_reset(&hc->parser);
		hc->continue_sent = false;
		hc->req = r;
		conn_pause(c);
		conn_set_timeout(c, 0);
		dispatch(r);
	}
}

static void http_closed(struct conn *c, void *ctx, const char *reason)
{
	struct web_http_conn *hc = ctx;
	(void)c;
	(void)reason;
	if (hc->req != NULL)
		hc->req->hc = NULL;
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		all_conns = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	hc->w->n_conns--;
	http_parser_free(&hc->parser);
	free(hc);
}

static const struct conn_ops http_ops = {
	.on_input = http_input,
	.on_close = http_closed,
};

static void accept_cb(uv_poll_t *p, int status, int events)
{
	struct web_listener *l = p->data;
	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && reserve_fd >= 0) {
			uint64_t now = uv_now(l->w->loop);
			if (emfile_logged_ms == 0 || now - emfile_logged_ms >= 10000) {
				log_error("accept: %s: refusing connections (raise the open "
					  "files limit)", strerror(errno));
				emfile_logged_ms = now == 0 ? 1 : now;
			}
			close(reserve_fd);
			fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			continue;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		struct web *w = l->w;
		uint64_t max = w->cfg->max_connections;	/* 0 = no limit */
		if (w->stopping || (max > 0 && w->n_conns >= max + REFUSED_SLACK)) {
			close(fd);
			continue;
		}
		/* A response goes out as several TLS records: without this,
		 * Nagle holds the last one until the browser's delayed ACK
		 * (40 ms per request). */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct web_http_conn *hc = x_calloc(1, sizeof(*hc));
		hc->w = w;
		hc->redirect_only = l->redirect_only;
		struct http_limits lim;
		http_limits_default(&lim, w->max_body);
		http_parser_init(&hc->parser, &lim);
		hc->conn = conn_new(w->loop, fd, &http_ops, hc);
		hc->next = all_conns;
		if (all_conns != NULL)
			all_conns->prev = hc;
		all_conns = hc;
		w->n_conns++;
		conn_set_input_max(hc->conn, 64 * 1024);
		conn_set_timeout(hc->conn, KEEPALIVE_TIMEOUT_MS);
		/* The same limits as the mail protocols (docs/security.md). */
		const char *ip = conn_peer_ip(hc->conn);
		uint64_t same_ip = 0;
		for (struct web_http_conn *o = all_conns; o != NULL; o = o->next)
			same_ip += !o->refused && strcmp(conn_peer_ip(o->conn), ip) == 0;
		if ((max > 0 && w->n_conns > max) ||
		    (w->cfg->max_connections_per_ip > 0 &&
		     same_ip > w->cfg->max_connections_per_ip)) {
			log_info("%s: too many connections; answering 503", ip);
			hc->refused = true;
			conn_set_timeout(hc->conn, REFUSED_TIMEOUT_MS);
		}
		if (!l->redirect_only)
			conn_start_tls_server(hc->conn, w->tls);
	}
}

int web_server_listen(struct web *w, int fd, bool redirect_only)
{
	if (reserve_fd < 0)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct web_listener *l = x_calloc(1, sizeof(*l));
	l->w = w;
	l->fd = fd;
	l->redirect_only = redirect_only;
	if (uv_poll_init_socket(w->loop, &l->poll, fd) != 0) {
		free(l);
		return -1;
	}
	l->poll.data = l;
	uv_poll_start(&l->poll, UV_READABLE, accept_cb);
	l->next = all_listeners;
	all_listeners = l;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	free(h->data);
}

void web_server_stop(struct web *w)
{
	(void)w;
	while (all_listeners != NULL) {
		struct web_listener *l = all_listeners;
		all_listeners = l->next;
		uv_close((uv_handle_t *)&l->poll, listener_closed);
	}
	for (struct web_http_conn *hc = all_conns; hc != NULL; hc = hc->next) {
		if (hc->req == NULL || hc->req->streaming)
			conn_close(hc->conn);
	}
}
