/* conn.c — the connection layer: non-blocking socket I/O through a
 * uv_poll handle, with OpenSSL reading and writing the socket directly
 * when TLS is on. Runs in workers, the queue and the web process.
 * Handles bytes from untrusted peers but parses none of them.
 *
 * Memory: an idle connection holds no buffers (input and output are
 * freed when empty, OpenSSL releases its record buffers), so it costs
 * this struct, two libuv handles and the SSL object. */
#include "conn.h"
#include "tls_private.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define READ_CHUNK 16384
#define READ_BUDGET (256 * 1024)	/* per event, for fairness */

enum conn_phase {
	PHASE_CONNECTING,
	PHASE_OPEN,
	PHASE_TLS_WAIT,		/* flushing plaintext before a handshake */
	PHASE_HANDSHAKE,
	PHASE_CLOSING,		/* flushing output before close */
	PHASE_CLOSED,
};

/* COMPRESS=DEFLATE (RFC 4978): raw deflate both ways, set up on demand. */
struct conn_zlib {
	z_stream in;
	z_stream out;
	bool out_pending;	/* deflated data awaits a sync flush */
};

struct conn {
	uv_poll_t poll;
	uv_timer_t timer;
	uv_loop_t *loop;
	const struct conn_ops *ops;
	void *ctx;
	SSL *ssl;
	struct conn_zlib *z;
	struct conn *deferred_next;
	struct buf in;
	struct buf out;
	size_t out_pos;
	size_t in_max;
	size_t drain_mark;
	uint64_t timeout_ms;
	const char *close_reason;
	int fd;
	int poll_events;
	int handles_open;
	int depth;		/* nesting of callbacks into the owner */
	enum conn_phase phase;
	bool tls_client;
	bool paused;
	bool eof;
	bool deferred;
	bool read_wants_write;	/* SSL_read needs the socket writable */
	bool write_wants_read;	/* SSL_write needs the socket readable */
	bool write_blocked;
	bool drain_armed;
	char peer_ip[46];
	char local_ip[46];
	uint16_t peer_port;
	uint16_t local_port;
};

static void conn_update_poll(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_finish(struct conn *c);
static void conn_process(struct conn *c);

/* Connections with input to deliver outside a poll event (after
 * conn_resume), handled by one idle handle per loop. */
static uv_idle_t deferred_idle;
static uv_loop_t *deferred_loop;
static struct conn *deferred_head;

static void deferred_cb(uv_idle_t *idle)
{
	struct conn *list = deferred_head;
	deferred_head = NULL;
	uv_idle_stop(idle);
	while (list != NULL) {
		struct conn *c = list;
		list = c->deferred_next;
		c->deferred = false;
		c->deferred_next = NULL;
		if (c->phase != PHASE_CLOSED)
			conn_process(c);
	}
}

static void conn_defer(struct conn *c)
{
	if (c->deferred)
		return;
	if (deferred_loop != c->loop) {
		uv_idle_init(c->loop, &deferred_idle);
		uv_unref((uv_handle_t *)&deferred_idle);
		deferred_loop = c->loop;
	}
	c->deferred = true;
	c->deferred_next = deferred_head;
	deferred_head = c;
	uv_idle_start(&deferred_idle, deferred_cb);
}

static void fill_addresses(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		net_addr_ip((struct sockaddr *)&ss, c->peer_ip, sizeof(c->peer_ip));
		c->peer_port = ntohs(ss.ss_family == AF_INET6 ?
				     ((struct sockaddr_in6 *)&ss)->sin6_port :
				     ((struct sockaddr_in *)&ss)->sin_port);
	}
	len = sizeof(ss);
	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		net_addr_ip((struct sockaddr *)&ss, c->local_ip, sizeof(c->local_ip));
		c->local_port = ntohs(ss.ss_family == AF_INET6 ?
				      ((struct sockaddr_in6 *)&ss)->sin6_port :
				      ((struct sockaddr_in *)&ss)->sin_port);
	}
}

static void timer_cb(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->phase == PHASE_CLOSED)
		return;
	if (c->ops->on_timeout != NULL && c->phase == PHASE_OPEN) {
		c->depth++;
		c->ops->on_timeout(c, c->ctx);
		c->depth--;
		conn_flush(c);
		conn_update_poll(c);
	} else {
		conn_abort(c, "timeout");
	}
}

static void poll_cb(uv_poll_t *p, int status, int events);

static struct conn *conn_alloc(uv_loop_t *loop, int fd, const struct conn_ops *ops,
			       void *ctx, enum conn_phase phase)
{
	struct conn *c = x_calloc(1, sizeof(*c));
	c->loop = loop;
	c->fd = fd;
	c->ops = ops;
	c->ctx = ctx;
	c->phase = phase;
	c->in_max = 256 * 1024;
	buf_init(&c->in);
	buf_init(&c->out);
	if (uv_poll_init_socket(loop, &c->poll, fd) != 0)
		log_fatal("uv_poll_init_socket failed for fd %d", fd);
	c->poll.data = c;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->handles_open = 2;
	if (phase != PHASE_CONNECTING)
		fill_addresses(c);
	conn_update_poll(c);
	return c;
}

struct conn *conn_new(uv_loop_t *loop, int fd, const struct conn_ops *ops, void *ctx)
{
	return conn_alloc(loop, fd, ops, ctx, PHASE_OPEN);
}

struct conn *conn_connect(uv_loop_t *loop, int fd, const struct conn_ops *ops, void *ctx)
{
	return conn_alloc(loop, fd, ops, ctx, PHASE_CONNECTING);
}

static void conn_update_poll(struct conn *c)
{
	if (c->phase == PHASE_CLOSED)
		return;
	int ev = 0;
	switch (c->phase) {
	case PHASE_CONNECTING:
		ev = UV_WRITABLE;
		break;
	case PHASE_HANDSHAKE:
		ev = c->read_wants_write ? UV_WRITABLE : UV_READABLE;
		break;
	case PHASE_TLS_WAIT:
	case PHASE_CLOSING:
		ev = UV_WRITABLE;
		break;
	case PHASE_OPEN:
		if (!c->paused && !c->eof && c->in.len < c->in_max)
			ev |= UV_READABLE;
		if (c->read_wants_write)
			ev |= UV_WRITABLE;
		if (c->out.len > c->out_pos)
			ev |= c->write_wants_read ? UV_READABLE : UV_WRITABLE;
		break;
	case PHASE_CLOSED:
		break;
	}
	if (ev == c->poll_events)
		return;
	c->poll_events = ev;
	if (ev == 0)
		uv_poll_stop(&c->poll);
	else
		uv_poll_start(&c->poll, ev, poll_cb);
}

static void handles_closed_cb(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open > 0)
		return;
	if (c->deferred) {
		/* Still queued for deferred input: unlink before freeing. */
		for (struct conn **pp = &deferred_head; *pp != NULL; pp = &(*pp)->deferred_next) {
			if (*pp == c) {
				*pp = c->deferred_next;
				break;
			}
		}
	}
	c->depth++;
	c->ops->on_close(c, c->ctx, c->close_reason != NULL ? c->close_reason : "closed");
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->z != NULL) {
		inflateEnd(&c->z->in);
		deflateEnd(&c->z->out);
		free(c->z);
	}
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void conn_finish(struct conn *c)
{
	if (c->phase == PHASE_CLOSED)
		return;
	if (c->ssl != NULL && c->phase != PHASE_HANDSHAKE && c->phase != PHASE_CONNECTING &&
	    SSL_is_init_finished(c->ssl)) {
		/* Best effort close_notify; we do not wait for the peer's. */
		SSL_set_quiet_shutdown(c->ssl, 0);
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	c->phase = PHASE_CLOSED;
	uv_poll_stop(&c->poll);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->poll, handles_closed_cb);
	uv_close((uv_handle_t *)&c->timer, handles_closed_cb);
}

void conn_abort(struct conn *c, const char *reason)
{
	if (c->phase == PHASE_CLOSED)
		return;
	if (c->close_reason == NULL)
		c->close_reason = reason;
	conn_finish(c);
}

void conn_close(struct conn *c)
{
	if (c->phase == PHASE_CLOSED || c->phase == PHASE_CLOSING)
		return;
	if (c->phase == PHASE_CONNECTING || c->phase == PHASE_HANDSHAKE) {
		conn_abort(c, "closed");
		return;
	}
	c->phase = PHASE_CLOSING;
	c->write_blocked = true;
	conn_flush(c);
	conn_update_poll(c);
}

bool conn_closing(const struct conn *c)
{
	return c->phase == PHASE_CLOSING || c->phase == PHASE_CLOSED;
}

static const char *ssl_errstr(void)
{
	static char msg[200];
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "TLS error";
	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return msg;
}

static void handshake(struct conn *c)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	c->read_wants_write = false;
	if (r == 1) {
		c->phase = PHASE_OPEN;
		if (c->ops->on_tls_ready != NULL) {
			c->depth++;
			c->ops->on_tls_ready(c, c->ctx);
			c->depth--;
		}
		if (c->phase == PHASE_OPEN)
			conn_process(c);
		return;
	}
	int err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ)
		return;
	if (err == SSL_ERROR_WANT_WRITE) {
		c->read_wants_write = true;
		return;
	}
	static char reason[256];
	snprintf(reason, sizeof(reason), "TLS handshake failed: %s",
		 err == SSL_ERROR_SYSCALL ? "connection closed" : ssl_errstr());
	conn_abort(c, reason);
}

static void begin_handshake(struct conn *c)
{
	c->phase = PHASE_HANDSHAKE;
	buf_free(&c->in);
	handshake(c);
}

/* Switches to TLS once queued output (e.g. "220 Ready") is flushed. */
static void start_tls(struct conn *c, SSL *ssl, bool client)
{
	c->ssl = ssl;
	c->tls_client = client;
	SSL_set_fd(c->ssl, c->fd);
	if (client)
		SSL_set_connect_state(c->ssl);
	else
		SSL_set_accept_state(c->ssl);
	/* Nothing already read may be treated as protected. */
	buf_free(&c->in);
	if (c->out.len > c->out_pos) {
		c->phase = PHASE_TLS_WAIT;
		c->write_blocked = true;
		if (c->depth == 0)
			conn_flush(c);
	} else {
		begin_handshake(c);
	}
	conn_update_poll(c);
}

void conn_start_tls_server(struct conn *c, struct tls_server *ts)
{
	if (c->ssl == NULL && c->phase == PHASE_OPEN)
		start_tls(c, tls_server_ssl_new(ts), false);
}

void conn_start_tls_client(struct conn *c, struct tls_client *tc, const char *sni_host)
{
	if (c->ssl == NULL && c->phase == PHASE_OPEN)
		start_tls(c, tls_client_ssl_new(tc, sni_host), true);
}

bool conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL;
}

bool conn_tls_handshaking(const struct conn *c)
{
	return c->phase == PHASE_HANDSHAKE || c->phase == PHASE_TLS_WAIT;
}

const char *conn_tls_desc(struct conn *c, char *buf, size_t size)
{
	if (c->ssl == NULL || !SSL_is_init_finished(c->ssl))
		return NULL;
	int alg = 0;
	const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
	int bits = SSL_CIPHER_get_bits(ci, &alg);
	snprintf(buf, size, "%s with cipher %s (%d/%d bits)", SSL_get_version(c->ssl),
		 SSL_CIPHER_get_name(ci), bits, alg);
	return buf;
}

bool conn_tls_verified(const struct conn *c, const char **error_r)
{
	if (c->ssl == NULL) {
		*error_r = "not TLS";
		return false;
	}
	long r = SSL_get_verify_result(c->ssl);
	if (SSL_get0_peer_certificate(c->ssl) == NULL) {
		*error_r = "no peer certificate";
		return false;
	}
	if (r != X509_V_OK) {
		*error_r = X509_verify_cert_error_string(r);
		return false;
	}
	return true;
}

/* Reads what is available into c->in. Returns the bytes added, 0 for
 * nothing now, -1 if the connection ended or failed. */
static ssize_t read_raw(struct conn *c, struct buf *dst)
{
	char *w = buf_reserve(dst, READ_CHUNK);
	if (c->ssl == NULL) {
		ssize_t n = read(c->fd, w, READ_CHUNK);
		if (n > 0) {
			buf_commit(dst, (size_t)n);
			return n;
		}
		if (n == 0) {
			c->eof = true;
			return -1;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		c->close_reason = errno == ECONNRESET ? "connection reset" : "read error";
		c->eof = true;
		return -1;
	}
	ERR_clear_error();
	c->read_wants_write = false;
	int n = SSL_read(c->ssl, w, READ_CHUNK);
	if (n > 0) {
		buf_commit(dst, (size_t)n);
		return n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->read_wants_write = true;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		c->eof = true;
		return -1;
	case SSL_ERROR_SYSCALL:
		c->eof = true;
		if (errno == ECONNRESET)
			c->close_reason = "connection reset";
		ERR_clear_error();
		return -1;
	default:
		c->eof = true;
		c->close_reason = "TLS error";
		log_debug("conn %s: %s", c->peer_ip, ssl_errstr());
		return -1;
	}
}

/* Inflates raw compressed bytes into c->in. -1 on corrupt input. */
static int inflate_into(struct conn *c, const char *data, size_t len)
{
	z_stream *zs = &c->z->in;
	zs->next_in = (Bytef *)data;
	zs->avail_in = (uInt)len;
	do {
		char *w = buf_reserve(&c->in, READ_CHUNK);
		zs->next_out = (Bytef *)w;
		zs->avail_out = READ_CHUNK;
		int r = inflate(zs, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END)
			return -1;
		buf_commit(&c->in, READ_CHUNK - zs->avail_out);
		if (r == Z_BUF_ERROR && zs->avail_in == 0)
			break;
	} while (zs->avail_in > 0 || zs->avail_out == 0);
	return 0;
}

static ssize_t read_some(struct conn *c)
{
	if (c->z == NULL)
		return read_raw(c, &c->in);
	struct buf raw = BUF_INIT;
	ssize_t n = read_raw(c, &raw);
	if (n > 0 && inflate_into(c, raw.data, raw.len) < 0) {
		c->close_reason = "compression error";
		c->eof = true;
		n = -1;
	}
	buf_free(&raw);
	return n;
}

static void deliver_input(struct conn *c)
{
	if (c->in.len == 0 || c->paused || c->phase != PHASE_OPEN)
		return;
	c->depth++;
	c->ops->on_input(c, c->ctx);
	c->depth--;
}

/* Reads and delivers input until the socket is drained, the owner stops
 * us, or the per-event budget is spent. */
static void conn_process(struct conn *c)
{
	size_t budget = READ_BUDGET;
	if (c->phase == PHASE_OPEN)
		deliver_input(c);
	while (c->phase == PHASE_OPEN && !c->paused && !c->eof && budget > 0 &&
	       c->in.len < c->in_max) {
		ssize_t n = read_some(c);
		if (n <= 0)
			break;
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if (c->timeout_ms > 0)
			uv_timer_again(&c->timer);
		deliver_input(c);
	}
	if (c->phase == PHASE_OPEN && c->eof && !c->paused) {
		/* Whatever the owner could use was delivered above; replies
		 * still queued go out before the close (half-closed peers). */
		if (c->close_reason == NULL)
			c->close_reason = "disconnected";
		conn_close(c);
		return;
	}
	/* TLS may hold decrypted bytes the socket no longer signals. */
	if (c->phase == PHASE_OPEN && !c->paused && c->ssl != NULL &&
	    SSL_pending(c->ssl) > 0 && c->in.len < c->in_max)
		conn_defer(c);
	if (c->phase == PHASE_OPEN && c->in.len == 0)
		buf_free(&c->in);
	conn_flush(c);
	conn_update_poll(c);
}

/* Deflates data onto the output queue (COMPRESS=DEFLATE). */
static void deflate_append(struct conn *c, const void *data, size_t len, int flush)
{
	z_stream *zs = &c->z->out;
	zs->next_in = (Bytef *)data;
	zs->avail_in = (uInt)len;
	do {
		size_t room = len / 2 + 1024;
		char *w = buf_reserve(&c->out, room);
		zs->next_out = (Bytef *)w;
		zs->avail_out = (uInt)room;
		(void)deflate(zs, flush);
		buf_commit(&c->out, room - zs->avail_out);
		if (zs->avail_out != 0 && zs->avail_in == 0)
			break;
	} while (1);
}

int conn_start_compress(struct conn *c, const char **error_r)
{
	if (c->z != NULL) {
		*error_r = "compression already active";
		return -1;
	}
	c->z = x_calloc(1, sizeof(*c->z));
	if (inflateInit2(&c->z->in, -15) != Z_OK ||
	    deflateInit2(&c->z->out, 6, Z_DEFLATED, -12, 6, Z_DEFAULT_STRATEGY) != Z_OK) {
		/* Leave the struct for handles_closed_cb's *End calls. */
		*error_r = "cannot initialise compression";
		return -1;
	}
	/* Bytes already read after the command were sent compressed. */
	if (c->in.len > 0) {
		struct buf raw = c->in;
		buf_init(&c->in);
		int r = inflate_into(c, raw.data, raw.len);
		buf_free(&raw);
		if (r < 0) {
			*error_r = "compression error";
			return -1;
		}
	}
	return 0;
}

bool conn_is_compressed(const struct conn *c)
{
	return c->z != NULL;
}

static void conn_flush(struct conn *c)
{
	if (c->phase == PHASE_CLOSED || c->phase == PHASE_CONNECTING ||
	    c->phase == PHASE_HANDSHAKE)
		return;
	if (c->z != NULL && c->z->out_pending) {
		c->z->out_pending = false;
		deflate_append(c, NULL, 0, Z_SYNC_FLUSH);
	}
again:
	while (c->out.len > c->out_pos) {
		size_t len = c->out.len - c->out_pos;
		const char *p = c->out.data + c->out_pos;
		ssize_t n;
		bool use_tls = c->ssl != NULL && c->phase != PHASE_TLS_WAIT;
		if (!use_tls) {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					c->write_blocked = true;
					break;
				}
				conn_abort(c, errno == EPIPE || errno == ECONNRESET ?
					   "disconnected" : "write error");
				return;
			}
		} else {
			ERR_clear_error();
			c->write_wants_read = false;
			int r = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
			if (r <= 0) {
				int err = SSL_get_error(c->ssl, r);
				if (err == SSL_ERROR_WANT_WRITE) {
					c->write_blocked = true;
					break;
				}
				if (err == SSL_ERROR_WANT_READ) {
					c->write_wants_read = true;
					c->write_blocked = true;
					break;
				}
				ERR_clear_error();
				conn_abort(c, "disconnected");
				return;
			}
			n = r;
		}
		c->out_pos += (size_t)n;
		c->write_blocked = false;
	}
	if (c->out.len == c->out_pos) {
		buf_free(&c->out);
		c->out_pos = 0;
		c->write_blocked = false;
		if (c->phase == PHASE_TLS_WAIT) {
			begin_handshake(c);
			return;
		}
		if (c->phase == PHASE_CLOSING) {
			if (c->close_reason == NULL)
				c->close_reason = "closed";
			conn_finish(c);
			return;
		}
	} else if (c->out_pos > 65536 && c->out_pos * 2 > c->out.len) {
		buf_consume(&c->out, c->out_pos);
		c->out_pos = 0;
	}
	if (c->drain_armed && c->ops->on_drain != NULL && c->phase == PHASE_OPEN &&
	    c->out.len - c->out_pos <= c->drain_mark) {
		c->drain_armed = false;
		c->depth++;
		c->ops->on_drain(c, c->ctx);
		c->depth--;
		/* on_drain usually queues more: send it while we can. */
		if (c->phase == PHASE_OPEN && !c->write_blocked && c->out.len > c->out_pos)
			goto again;
	}
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
	struct conn *c = p->data;
	if (c->phase == PHASE_CLOSED)
		return;
	if (status < 0 && c->phase != PHASE_CONNECTING) {
		conn_abort(c, "socket error");
		return;
	}
	switch (c->phase) {
	case PHASE_CONNECTING: {
		int err = 0;
		socklen_t len = sizeof(err);
		if (status < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			static char reason[128];
			snprintf(reason, sizeof(reason), "connect failed: %s",
				 strerror(err != 0 ? err : ECONNREFUSED));
			conn_abort(c, reason);
			return;
		}
		c->phase = PHASE_OPEN;
		fill_addresses(c);
		if (c->ops->on_connected != NULL) {
			c->depth++;
			c->ops->on_connected(c, c->ctx);
			c->depth--;
		}
		conn_flush(c);
		conn_update_poll(c);
		return;
	}
	case PHASE_HANDSHAKE:
		handshake(c);
		conn_update_poll(c);
		return;
	case PHASE_TLS_WAIT:
	case PHASE_CLOSING:
		conn_flush(c);
		conn_update_poll(c);
		return;
	case PHASE_OPEN:
		if ((events & UV_WRITABLE) || ((events & UV_READABLE) && c->write_wants_read)) {
			c->write_blocked = false;
			conn_flush(c);
		}
		if (c->phase == PHASE_OPEN &&
		    ((events & UV_READABLE) || ((events & UV_WRITABLE) && c->read_wants_write)))
			conn_process(c);
		else
			conn_update_poll(c);
		return;
	case PHASE_CLOSED:
		return;
	}
}

struct buf *conn_input(struct conn *c)
{
	return &c->in;
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->phase == PHASE_CLOSED || c->phase == PHASE_CLOSING)
		return;
	if (c->z != NULL) {
		deflate_append(c, data, len, Z_NO_FLUSH);
		c->z->out_pending = true;
	} else {
		buf_append(&c->out, data, len);
	}
	c->drain_armed = true;
	/* Inside a callback the flush happens when it returns, so pipelined
	 * replies leave in one write. */
	if (c->depth == 0 && c->phase == PHASE_OPEN) {
		conn_flush(c);
		conn_update_poll(c);
	}
}

void conn_cork(struct conn *c)
{
	c->depth++;
}

void conn_uncork(struct conn *c)
{
	i_assert(c->depth > 0);
	if (--c->depth > 0)
		return;
	if (c->phase == PHASE_OPEN)
		conn_flush(c);
	if (c->phase != PHASE_CLOSED)
		conn_update_poll(c);
}

void conn_write_str(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	if (c->phase == PHASE_CLOSED || c->phase == PHASE_CLOSING)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (c->z != NULL) {
		struct buf tmp = BUF_INIT;
		buf_vappendf(&tmp, fmt, ap);
		deflate_append(c, tmp.data, tmp.len, Z_NO_FLUSH);
		c->z->out_pending = true;
		buf_free(&tmp);
	} else {
		buf_vappendf(&c->out, fmt, ap);
	}
	va_end(ap);
	c->drain_armed = true;
	if (c->depth == 0 && c->phase == PHASE_OPEN) {
		conn_flush(c);
		conn_update_poll(c);
	}
}

size_t conn_output_pending(const struct conn *c)
{
	return c->out.len - c->out_pos;
}

void conn_set_drain_mark(struct conn *c, size_t bytes)
{
	c->drain_mark = bytes;
}

void conn_set_input_max(struct conn *c, size_t bytes)
{
	c->in_max = bytes;
}

void conn_pause(struct conn *c)
{
	if (c->paused)
		return;
	c->paused = true;
	if (c->depth == 0)
		conn_update_poll(c);
}

void conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	if (c->phase != PHASE_OPEN)
		return;
	/* Buffered input (and TLS-buffered records) must be looked at even
	 * though the socket may not signal again. */
	conn_defer(c);
	if (c->depth == 0)
		conn_update_poll(c);
}

void conn_set_timeout(struct conn *c, uint64_t ms)
{
	c->timeout_ms = ms;
	if (ms == 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, timer_cb, ms, ms);
}

const char *conn_peer_ip(const struct conn *c)
{
	return c->peer_ip;
}

uint16_t conn_peer_port(const struct conn *c)
{
	return c->peer_port;
}

const char *conn_local_ip(const struct conn *c)
{
	return c->local_ip;
}

uint16_t conn_local_port(const struct conn *c)
{
	return c->local_port;
}

int conn_fd(const struct conn *c)
{
	return c->fd;
}

void *conn_context(const struct conn *c)
{
	return c->ctx;
}

void conn_set_context(struct conn *c, const struct conn_ops *ops, void *ctx)
{
	c->ops = ops;
	c->ctx = ctx;
}
