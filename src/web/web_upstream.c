/* web_upstream.c — resolving and connecting to the webmail's IMAP and
 * submission servers, with TLS verified against the configured CA or,
 * by default, against the server's own certificates (pinned).
 * Runs in the web process. */
#include "web_upstream.h"
#include "log.h"
#include "net.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct web_upstream_req {
	uv_getaddrinfo_t gai;
	web_upstream_connect_cb *cb;
	void *ctx;
	uint16_t port;
	bool cancelled;
};

static bool is_local(const char *host)
{
	return strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
		strcmp(host, "::1") == 0;
}

void web_upstream_init(struct web_upstream *up, const char *host, uint16_t port)
{
	memset(up, 0, sizeof(*up));
	struct in6_addr a6;
	up->host = x_strdup(host);
	up->port = port;
	up->host_is_ip = inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	up->host_is_local = is_local(host);
}

int web_upstream_set_tls(struct web_upstream *up, const char *ca_file,
			 const struct tls_server *own, const char *hostname,
			 const char **error_r)
{
	struct tls_client *tc;
	const char *name;
	bool pinned = ca_file == NULL || ca_file[0] == '\0';
	if (pinned) {
		/* Our own server (or one serving the same certificate): the
		 * certificate itself is the trust anchor, whoever issued it,
		 * and the name checked is one it carries rather than
		 * "localhost", which a public CA never certifies. */
		tc = tls_client_new_pinned(own, error_r);
		name = !up->host_is_local ? (up->host_is_ip ? NULL : up->host) :
			tls_server_name(own, hostname);
		if (up->host_is_local && name == NULL) {
			*error_r = "the certificate (tls_cert) names no host; set web_ca_file";
			tls_client_free(&tc);
			return -1;
		}
	} else {
		/* OpenSSL checks DNS names through SNI/set1_host; an IP
		 * literal gets the chain checked against the CA file. */
		tc = tls_client_new(ca_file, up->host_is_ip ? TLS_VERIFY_PEER : TLS_VERIFY_NAME,
				    error_r);
		name = up->host_is_ip ? NULL : up->host;
	}
	if (tc == NULL)
		return -1;
	tls_client_free(&up->tls);
	up->tls = tc;
	free(up->tls_name);
	up->tls_name = name != NULL ? x_strdup(name) : NULL;
	up->pinned = pinned;
	return 0;
}

void web_upstream_free(struct web_upstream *up)
{
	x_free(&up->host);
	x_free(&up->tls_name);
	tls_client_free(&up->tls);
}

static void connect_addr(struct web_upstream_req *req, const char *ip)
{
	int fd = net_connect_nonblock(ip, req->port, NULL);
	if (fd < 0)
		req->cb(-1, strerror(errno), req->ctx);
	else
		req->cb(fd, NULL, req->ctx);
}

static void gai_cb(uv_getaddrinfo_t *gai, int status, struct addrinfo *res)
{
	struct web_upstream_req *req = gai->data;
	if (req->cancelled) {
		uv_freeaddrinfo(res);
		free(req);
		return;
	}
	if (status != 0 || res == NULL) {
		req->cb(-1, "cannot resolve the server name", req->ctx);
	} else {
		const struct addrinfo *pick = res;
		for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
			if (ai->ai_family == AF_INET) {
				pick = ai;
				break;
			}
		char ip[NET_ADDR_STRLEN];
		net_addr_ip(pick->ai_addr, ip, sizeof(ip));
		connect_addr(req, ip);
	}
	uv_freeaddrinfo(res);
	free(req);
}

struct web_upstream_req *web_upstream_connect(uv_loop_t *loop, const struct web_upstream *up,
					      web_upstream_connect_cb *cb, void *ctx)
{
	struct web_upstream_req *req = x_calloc(1, sizeof(*req));
	req->cb = cb;
	req->ctx = ctx;
	req->port = up->port;
	req->gai.data = req;
	struct addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (up->host_is_ip)
		hints.ai_flags = AI_NUMERICHOST;
	if (uv_getaddrinfo(loop, &req->gai, gai_cb, up->host, NULL, &hints) != 0) {
		free(req);
		cb(-1, "cannot resolve the server name", ctx);
		return NULL;
	}
	return req;
}

void web_upstream_cancel(struct web_upstream_req *req)
{
	if (req != NULL)
		req->cancelled = true;
}

void web_upstream_start_tls(struct conn *c, const struct web_upstream *up)
{
	conn_start_tls_client(c, up->tls, up->tls_name);
}
