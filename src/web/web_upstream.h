/* web_upstream.h — how the webmail reaches its mail server: the IMAP and
 * submission addresses, the TLS client context verifying them, and an
 * asynchronous resolve-and-connect. Runs in the web process. */
#ifndef CORREU_WEB_UPSTREAM_H
#define CORREU_WEB_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "conn.h"
#include "tls.h"

struct web_upstream {
	char *host;			/* name or IP literal */
	uint16_t port;
	bool host_is_ip;
	bool host_is_local;		/* localhost or a loopback address */
	bool pinned;			/* verified against our own certificates */
	char *tls_name;			/* SNI and name checked; NULL: chain only */
	struct tls_client *tls;		/* verifies chain (and name, for names) */
};

/* Fills up from host and port; no TLS yet (web_upstream_set_tls). */
void web_upstream_init(struct web_upstream *up, const char *host, uint16_t port);
/* (Re)builds how the server's certificate is checked. With ca_file (not
 * empty): the chain against it and, for a host name, that name. Without:
 * the certificates of own (what this server serves, tls.h
 * tls_client_new_pinned) as the only trust anchors, and the name they
 * are for: for localhost or a loopback address, hostname if own's
 * certificate carries it, else the certificate's own first name (sent
 * as SNI too); for another host, its name. Connections already made keep
 * the old check. Returns -1 with *error_r, keeping the old one, if the
 * CA file cannot be loaded. */
int web_upstream_set_tls(struct web_upstream *up, const char *ca_file,
			 const struct tls_server *own, const char *hostname,
			 const char **error_r);
void web_upstream_free(struct web_upstream *up);

/* Called once with a connected-in-progress fd (hand it to conn_connect)
 * or fd -1 and a reason. */
typedef void web_upstream_connect_cb(int fd, const char *error, void *ctx);
struct web_upstream_req;

/* Resolves up->host (names through the libuv thread pool) and starts a
 * non-blocking connect, IPv4 addresses first. */
struct web_upstream_req *web_upstream_connect(uv_loop_t *loop, const struct web_upstream *up,
					      web_upstream_connect_cb *cb, void *ctx);
/* The callback will not be called; any fd it would have got is closed. */
void web_upstream_cancel(struct web_upstream_req *req);

/* Starts TLS on a just-connected conn with the right SNI and checks. */
void web_upstream_start_tls(struct conn *c, const struct web_upstream *up);

#endif
