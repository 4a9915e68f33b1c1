/* tls_client.c — client TLS contexts for outbound SMTP and the webmail's
 * IMAP/submission connections. */
#include "tls_private.h"
#include "log.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <stdbool.h>

struct tls_client {
	SSL_CTX *ctx;
	enum tls_verify verify;
};

static SSL_CTX *client_ctx_new(const char **error_r)
{
	tls_global_init();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = "SSL_CTX_new failed";
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

static struct tls_client *client_wrap(SSL_CTX *ctx, enum tls_verify verify)
{
	SSL_CTX_set_verify(ctx, verify == TLS_VERIFY_NONE ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	struct tls_client *tc = x_calloc(1, sizeof(*tc));
	tc->ctx = ctx;
	tc->verify = verify;
	return tc;
}

struct tls_client *tls_client_new(const char *ca_file, enum tls_verify verify,
				  const char **error_r)
{
	SSL_CTX *ctx = client_ctx_new(error_r);
	if (ctx == NULL)
		return NULL;
	int ok = (ca_file != NULL && ca_file[0] != '\0') ?
		SSL_CTX_load_verify_locations(ctx, ca_file, NULL) :
		SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1 && verify != TLS_VERIFY_NONE) {
		*error_r = "cannot load the CA file";
		SSL_CTX_free(ctx);
		return NULL;
	}
	ERR_clear_error();
	return client_wrap(ctx, verify);
}

struct tls_client *tls_client_new_pinned(const struct tls_server *ts, const char **error_r)
{
	SSL_CTX *ctx = client_ctx_new(error_r);
	if (ctx == NULL)
		return NULL;
	/* The store holds the served leaves and nothing else: no system
	 * CAs, not the CAs that issued them. */
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	size_t added = 0;
	for (size_t i = 0; i < tls_server_cert_count(ts); i++) {
		X509 *x = tls_server_cert(ts, i);
		if (x != NULL && X509_STORE_add_cert(store, x) == 1)
			added++;
	}
	ERR_clear_error();	/* the same certificate twice is not an error */
	if (added == 0) {
		*error_r = "no certificate to pin";
		SSL_CTX_free(ctx);
		return NULL;
	}
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	return client_wrap(ctx, TLS_VERIFY_NAME);
}

void tls_client_free(struct tls_client **tcp)
{
	struct tls_client *tc = *tcp;
	if (tc == NULL)
		return;
	SSL_CTX_free(tc->ctx);
	free(tc);
	*tcp = NULL;
}

enum tls_verify tls_client_verify(const struct tls_client *tc)
{
	return tc->verify;
}

SSL *tls_client_ssl_new(struct tls_client *tc, const char *sni_host)
{
	SSL *ssl = SSL_new(tc->ctx);
	if (ssl == NULL)
		log_fatal("SSL_new failed");
	if (sni_host != NULL && sni_host[0] != '\0') {
		unsigned char addr[16];
		bool is_ip = inet_pton(AF_INET, sni_host, addr) == 1 ||
			inet_pton(AF_INET6, sni_host, addr) == 1;
		/* RFC 6066 3: no SNI for address literals; check the address
		 * against the certificate's IP SANs instead of a name. */
		if (!is_ip)
			SSL_set_tlsext_host_name(ssl, sni_host);
		if (tc->verify == TLS_VERIFY_NAME) {
			X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
			if (is_ip) {
				X509_VERIFY_PARAM_set1_ip_asc(param, sni_host);
			} else {
				SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
				SSL_set1_host(ssl, sni_host);
			}
		}
	}
	return ssl;
}
