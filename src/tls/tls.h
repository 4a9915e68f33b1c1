/* tls.h — TLS contexts: server side with certificates chosen by SNI, and
 * client side with optional verification. The only area that includes
 * OpenSSL; everything above uses these handles and struct conn. */
#ifndef CORREU_TLS_H
#define CORREU_TLS_H

#include <stdbool.h>
#include "cfg.h"

/* The certificates a server offers and its protocol policy: TLS 1.2+,
 * forward-secret AEAD suites, server preference, no compression, no
 * renegotiation. */
struct tls_server;

/* Loads tls_cert/tls_key and every tls_extra_cert from cfg. */
struct tls_server *tls_server_new(const struct config *cfg, const char **error_r);
/* The files tls_server_new() reads, appended to paths in its order:
 * tls_cert, tls_key, then each tls_extra_cert's certificate and key.
 * Returns -1 with *error_r for a malformed tls_extra_cert entry. */
int tls_server_files(const struct config *cfg, struct strv *paths, const char **error_r);
/* The same from open descriptors of those files, in that order (read
 * from their current offsets and left open): for a process that may not
 * open the key files itself. */
struct tls_server *tls_server_new_fds(const struct config *cfg, const int *fds, size_t n_fds,
				      const char **error_r);
void tls_server_free(struct tls_server **ts);
/* The name a client should ask ts for (SNI) and check: want when ts's
 * default certificate carries it (wildcards count), else that
 * certificate's first DNS name that is not a wildcard; NULL when it has
 * none. Valid while ts lives. */
const char *tls_server_name(const struct tls_server *ts, const char *want);

enum tls_verify {
	TLS_VERIFY_NONE,	/* encrypt, accept any certificate */
	TLS_VERIFY_PEER,	/* chain must verify against the CA file/store */
	TLS_VERIFY_NAME,	/* chain and host name must verify */
};

struct tls_client;

/* ca_file NULL or "" = the system trust store. */
struct tls_client *tls_client_new(const char *ca_file, enum tls_verify verify,
				  const char **error_r);
/* A client that trusts exactly the certificates ts serves: each one's
 * leaf certificate is a trust anchor (X509_V_FLAG_PARTIAL_CHAIN, so a
 * leaf issued by a CA counts as itself, not through its CA), and the
 * host name is checked (TLS_VERIFY_NAME). For the webmail talking to its
 * own server: any certificate the admin installs works, and nothing else
 * does, whoever issued it. */
struct tls_client *tls_client_new_pinned(const struct tls_server *ts, const char **error_r);
void tls_client_free(struct tls_client **tc);
enum tls_verify tls_client_verify(const struct tls_client *tc);

/* Initialises OpenSSL once per process. */
void tls_global_init(void);

#endif
