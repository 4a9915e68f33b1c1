/* conn.h — one network connection, plain or TLS, behind one interface.
 * Nothing above this layer knows whether bytes are encrypted. Reads land
 * in an input buffer the protocol consumes; writes are queued and
 * flushed as the socket allows. Driven by the process's libuv loop.
 *
 * Lifetime: the owner frees its session only in ops->on_close, which is
 * always called exactly once, from the loop (never from inside another
 * conn call), after which the conn is gone. */
#ifndef CORREU_CONN_H
#define CORREU_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "buf.h"
#include "tls.h"

struct conn;

struct conn_ops {
	/* New bytes are in conn_input(c); consume what was used with
	 * buf_consume(). Not called while paused or closing. */
	void (*on_input)(struct conn *c, void *ctx);
	/* Final; reason is "closed" after conn_close(), else what went
	 * wrong ("disconnected", "timeout", an error). */
	void (*on_close)(struct conn *c, void *ctx, const char *reason);
	/* Optional: the TLS handshake finished. */
	void (*on_tls_ready)(struct conn *c, void *ctx);
	/* Optional: queued output fell below conn_set_drain_mark(). */
	void (*on_drain)(struct conn *c, void *ctx);
	/* Optional: outgoing connection established (conn_connect). */
	void (*on_connected)(struct conn *c, void *ctx);
	/* Optional: idle timeout; default closes with reason "timeout". */
	void (*on_timeout)(struct conn *c, void *ctx);
};

/* Takes ownership of a connected, accepted socket. */
struct conn *conn_new(uv_loop_t *loop, int fd, const struct conn_ops *ops, void *ctx);
/* Takes a socket whose non-blocking connect() is in progress;
 * on_connected or on_close follows. */
struct conn *conn_connect(uv_loop_t *loop, int fd, const struct conn_ops *ops, void *ctx);

/* Starts a server-side handshake once queued output (e.g. "220 Ready") is
 * flushed. Unread plaintext input is discarded so nothing sent before the
 * handshake can be taken as sent over TLS. */
void conn_start_tls_server(struct conn *c, struct tls_server *ts);
void conn_start_tls_client(struct conn *c, struct tls_client *tc, const char *sni_host);
bool conn_is_tls(const struct conn *c);
bool conn_tls_handshaking(const struct conn *c);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" or NULL. */
const char *conn_tls_desc(struct conn *c, char *buf, size_t size);
/* Client side: did the peer's certificate verify (chain and, if asked,
 * name)? Also sets *error_r to OpenSSL's reason when it did not. */
bool conn_tls_verified(const struct conn *c, const char **error_r);

struct buf *conn_input(struct conn *c);
void conn_write(struct conn *c, const void *data, size_t len);
/* Outside its callbacks, every conn_write is sent at once; between
 * conn_cork and conn_uncork (nesting) the writes leave together, as one
 * TLS record and one system call where they fit (a reply completed from
 * a helper thread's callback: untagged lines, then the tagged one). */
void conn_cork(struct conn *c);
void conn_uncork(struct conn *c);
void conn_write_str(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...) ATTR_FORMAT(2, 3);
size_t conn_output_pending(const struct conn *c);
/* on_drain is called when pending output drops to this many bytes. */
void conn_set_drain_mark(struct conn *c, size_t bytes);
/* Input beyond this many buffered bytes stops reading until consumed. */
void conn_set_input_max(struct conn *c, size_t bytes);

/* Stop/start delivering input (while waiting for auth, disk, ...). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Idle timeout, reset by every read; 0 disables. */
void conn_set_timeout(struct conn *c, uint64_t ms);

/* COMPRESS=DEFLATE (RFC 4978): from now on, output is raw-deflated
 * (what is already queued goes out as it is) and input is inflated,
 * including bytes already buffered. -1 with *error_r on failure. */
int conn_start_compress(struct conn *c, const char **error_r);
bool conn_is_compressed(const struct conn *c);

/* Flushes queued output, then closes. */
void conn_close(struct conn *c);
/* Closes now, dropping queued output. */
void conn_abort(struct conn *c, const char *reason);
bool conn_closing(const struct conn *c);

const char *conn_peer_ip(const struct conn *c);
uint16_t conn_peer_port(const struct conn *c);
const char *conn_local_ip(const struct conn *c);
uint16_t conn_local_port(const struct conn *c);
int conn_fd(const struct conn *c);
void *conn_context(const struct conn *c);
void conn_set_context(struct conn *c, const struct conn_ops *ops, void *ctx);

#endif
