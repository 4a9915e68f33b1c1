/* tls_server.c — server TLS contexts and SNI certificate selection.
 * Loaded by the master (as root, reading keys) before workers fork. */
#include "tls_private.h"
#include "log.h"
#include "str.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <strings.h>

struct tls_cert_entry {
	SSL_CTX *ctx;
	struct strv names;	/* DNS names from SAN (or CN), lower case */
};

struct tls_server {
	struct tls_cert_entry *certs;	/* certs[0] is the default */
	size_t count;
};

static const char *ssl_error(void)
{
	static char msg[256];
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return msg;
}

void tls_global_init(void)
{
	static bool done;
	if (done)
		return;
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	done = true;
}

static void collect_names(X509 *x, struct strv *names)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (sans != NULL) {
		for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
			if (gn->type != GEN_DNS)
				continue;
			const unsigned char *d = ASN1_STRING_get0_data(gn->d.dNSName);
			int len = ASN1_STRING_length(gn->d.dNSName);
			char *n = x_strndup((const char *)d, (size_t)len);
			strv_push_owned(names, str_lower(n));
		}
		GENERAL_NAMES_free(sans);
	}
	if (names->n == 0) {
		char cn[256];
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
					      cn, sizeof(cn)) > 0)
			strv_push(names, str_lower(cn));
	}
}

static bool name_matches(const char *pattern, const char *host)
{
	if (strcasecmp(pattern, host) == 0)
		return true;
	/* "*.example.org" matches exactly one label. */
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(host, '.');
		return dot != NULL && dot != host && strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return false;
}

static int sni_callback(SSL *ssl, int *alert, void *arg)
{
	(void)alert;
	struct tls_server *ts = arg;
	const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (host == NULL || ts->count < 2)
		return SSL_TLSEXT_ERR_OK;
	for (size_t i = 0; i < ts->count; i++) {
		for (size_t j = 0; j < ts->certs[i].names.n; j++) {
			if (name_matches(ts->certs[i].names.v[j], host)) {
				if (i != 0)
					SSL_set_SSL_CTX(ssl, ts->certs[i].ctx);
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *server_ctx_new(const char *cert, const char *key, const char *ciphers,
			       const char *suites, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = ssl_error();
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
			    SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_SINGLE_ECDH_USE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Idle connections must stay small: let OpenSSL drop its buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"correu", 6);
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, suites) != 1) {
		*error_r = "invalid tls_ciphers or tls_ciphersuites";
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = ssl_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int server_add(struct tls_server *ts, const char *cert, const char *key,
		      const char *ciphers, const char *suites, const char **error_r)
{
	SSL_CTX *ctx = server_ctx_new(cert, key, ciphers, suites, error_r);
	if (ctx == NULL)
		return -1;
	ts->certs = x_reallocarray(ts->certs, ts->count + 1, sizeof(*ts->certs));
	struct tls_cert_entry *e = &ts->certs[ts->count++];
	e->ctx = ctx;
	strv_init(&e->names);
	X509 *x = SSL_CTX_get0_certificate(ctx);
	if (x != NULL)
		collect_names(x, &e->names);
	if (ts->count == 1) {
		SSL_CTX_set_tlsext_servername_callback(ctx, sni_callback);
		SSL_CTX_set_tlsext_servername_arg(ctx, ts);
	}
	return 0;
}

struct tls_server *tls_server_new_files(const char *cert, const char *key,
					const char *ciphers, const char *suites,
					const char **error_r)
{
	tls_global_init();
	struct tls_server *ts = x_calloc(1, sizeof(*ts));
	if (server_add(ts, cert, key, ciphers, suites, error_r) < 0) {
		tls_server_free(&ts);
		return NULL;
	}
	return ts;
}

struct tls_server *tls_server_new(const struct config *cfg, const char **error_r)
{
	struct tls_server *ts = tls_server_new_files(cfg->tls_cert, cfg->tls_key,
						     cfg->tls_ciphers, cfg->tls_ciphersuites,
						     error_r);
	if (ts == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->tls_extra_cert.n; i++) {
		struct strv parts;
		strv_init(&parts);
		strv_split_ws(&parts, cfg->tls_extra_cert.v[i]);
		int ret = -1;
		if (parts.n != 2) {
			*error_r = "tls_extra_cert: expected \"CERTFILE KEYFILE\"";
		} else {
			char *c = cfg_path(cfg, parts.v[0]), *k = cfg_path(cfg, parts.v[1]);
			ret = server_add(ts, c, k, cfg->tls_ciphers, cfg->tls_ciphersuites, error_r);
			free(c);
			free(k);
		}
		strv_free(&parts);
		if (ret < 0) {
			tls_server_free(&ts);
			return NULL;
		}
	}
	return ts;
}

void tls_server_free(struct tls_server **tsp)
{
	struct tls_server *ts = *tsp;
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->count; i++) {
		SSL_CTX_free(ts->certs[i].ctx);
		strv_free(&ts->certs[i].names);
	}
	free(ts->certs);
	free(ts);
	*tsp = NULL;
}

SSL *tls_server_ssl_new(struct tls_server *ts)
{
	SSL *ssl = SSL_new(ts->certs[0].ctx);
	if (ssl == NULL)
		log_fatal("SSL_new: %s", ssl_error());
	return ssl;
}
