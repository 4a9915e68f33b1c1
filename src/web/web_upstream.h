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
	struct tls_client *tls;		/* verifies chain (and name, for names) */
};

/* Fills up from host/port with a TLS client verifying against ca_file.
 * Returns -1 with *error_r if the CA file cannot be loaded. */
int web_upstream_init(struct web_upstream *up, const char *host, uint16_t port,
		      const char *ca_file, const char **error_r);
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
