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
/* Loads a single certificate/key pair (webmail, tests). */
struct tls_server *tls_server_new_files(const char *cert, const char *key,
					const char *ciphers, const char *suites,
					const char **error_r);
void tls_server_free(struct tls_server **ts);

enum tls_verify {
	TLS_VERIFY_NONE,	/* encrypt, accept any certificate */
	TLS_VERIFY_PEER,	/* chain must verify against the CA file/store */
	TLS_VERIFY_NAME,	/* chain and host name must verify */
};

struct tls_client;

/* ca_file NULL or "" = the system trust store. */
struct tls_client *tls_client_new(const char *ca_file, enum tls_verify verify,
				  const char **error_r);
void tls_client_free(struct tls_client **tc);
enum tls_verify tls_client_verify(const struct tls_client *tc);

/* Initialises OpenSSL once per process. */
void tls_global_init(void);

#endif
