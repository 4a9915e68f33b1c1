/* tls_server.c — server TLS contexts and SNI certificate selection.
 * Loaded by the master (as root, reading keys) before workers fork, and
 * by the web process on reload from descriptors the master opened. */
#include "tls_private.h"
#include "log.h"
#include "str.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* The certificate chain (leaf first) from b, as
 * SSL_CTX_use_certificate_chain_file reads a file. */
static int use_chain(SSL_CTX *ctx, BIO *b)
{
	X509 *x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
	if (x == NULL)
		return -1;
	int ok = SSL_CTX_use_certificate(ctx, x);
	X509_free(x);
	if (ok != 1 || SSL_CTX_clear_chain_certs(ctx) != 1)
		return -1;
	X509 *ca;
	while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			return -1;
		}
	}
	/* The end of the file ends the loop; anything else is an error. */
	unsigned long e = ERR_peek_last_error();
	if (e != 0 && (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE))
		return -1;
	ERR_clear_error();
	return 0;
}

static SSL_CTX *server_ctx_new(int cert_fd, int key_fd, const char *ciphers,
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
	ERR_clear_error();
	BIO *cb = BIO_new_fd(cert_fd, BIO_NOCLOSE), *kb = BIO_new_fd(key_fd, BIO_NOCLOSE);
	EVP_PKEY *key = NULL;
	int ok = cb != NULL && kb != NULL && use_chain(ctx, cb) == 0 &&
		(key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) != NULL &&
		SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	if (!ok) {
		*error_r = ssl_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int server_add(struct tls_server *ts, int cert_fd, int key_fd, const char *ciphers,
		      const char *suites, const char **error_r)
{
	SSL_CTX *ctx = server_ctx_new(cert_fd, key_fd, ciphers, suites, error_r);
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

int tls_server_files(const struct config *cfg, struct strv *paths, const char **error_r)
{
	strv_push(paths, cfg->tls_cert);
	strv_push(paths, cfg->tls_key);
	for (size_t i = 0; i < cfg->tls_extra_cert.n; i++) {
		struct strv parts;
		strv_init(&parts);
		strv_split_ws(&parts, cfg->tls_extra_cert.v[i]);
		bool ok = parts.n == 2;
		if (ok) {
			strv_push_owned(paths, cfg_path(cfg, parts.v[0]));
			strv_push_owned(paths, cfg_path(cfg, parts.v[1]));
		}
		strv_free(&parts);
		if (!ok) {
			*error_r = "tls_extra_cert: expected \"CERTFILE KEYFILE\"";
			return -1;
		}
	}
	return 0;
}

struct tls_server *tls_server_new_fds(const struct config *cfg, const int *fds, size_t n_fds,
				      const char **error_r)
{
	tls_global_init();
	if (n_fds < 2 || n_fds % 2 != 0 || n_fds != 2 + 2 * cfg->tls_extra_cert.n) {
		*error_r = "the TLS files do not match the configuration";
		return NULL;
	}
	struct tls_server *ts = x_calloc(1, sizeof(*ts));
	for (size_t i = 0; i < n_fds; i += 2) {
		if (server_add(ts, fds[i], fds[i + 1], cfg->tls_ciphers, cfg->tls_ciphersuites,
			       error_r) < 0) {
			tls_server_free(&ts);
			return NULL;
		}
	}
	return ts;
}

struct tls_server *tls_server_new(const struct config *cfg, const char **error_r)
{
	struct strv paths;
	strv_init(&paths);
	if (tls_server_files(cfg, &paths, error_r) < 0) {
		strv_free(&paths);
		return NULL;
	}
	int *fds = x_calloc(paths.n + 1, sizeof(int));
	struct tls_server *ts = NULL;
	size_t n = 0;
	for (; n < paths.n; n++) {
		fds[n] = open(paths.v[n], O_RDONLY | O_CLOEXEC);
		if (fds[n] < 0) {
			static char msg[512];
			snprintf(msg, sizeof(msg), "cannot open %s: %s", paths.v[n], strerror(errno));
			*error_r = msg;
			break;
		}
	}
	if (n == paths.n)
		ts = tls_server_new_fds(cfg, fds, n, error_r);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	strv_free(&paths);
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

size_t tls_server_cert_count(const struct tls_server *ts)
{
	return ts->count;
}

X509 *tls_server_cert(const struct tls_server *ts, size_t i)
{
	return i < ts->count ? SSL_CTX_get0_certificate(ts->certs[i].ctx) : NULL;
}

const char *tls_server_name(const struct tls_server *ts, const char *want)
{
	X509 *x = tls_server_cert(ts, 0);
	if (x == NULL)
		return NULL;
	if (want != NULL && want[0] != '\0' &&
	    X509_check_host(x, want, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
		return want;
	const struct strv *names = &ts->certs[0].names;
	for (size_t i = 0; i < names->n; i++)
		if (strchr(names->v[i], '*') == NULL && names->v[i][0] != '\0')
			return names->v[i];
	return NULL;
}

SSL *tls_server_ssl_new(struct tls_server *ts)
{
	SSL *ssl = SSL_new(ts->certs[0].ctx);
	if (ssl == NULL)
		log_fatal("SSL_new: %s", ssl_error());
	return ssl;
}
