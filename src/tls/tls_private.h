/* tls_private.h — OpenSSL handles behind struct tls_server/tls_client,
 * shared by the files of src/tls only. */
#ifndef CORREU_TLS_PRIVATE_H
#define CORREU_TLS_PRIVATE_H

#include <openssl/ssl.h>
#include "tls.h"

SSL *tls_server_ssl_new(struct tls_server *ts);
/* The leaf certificates ts serves: count, and the i-th (borrowed). */
size_t tls_server_cert_count(const struct tls_server *ts);
X509 *tls_server_cert(const struct tls_server *ts, size_t i);
SSL *tls_client_ssl_new(struct tls_client *tc, const char *sni_host);

#endif
