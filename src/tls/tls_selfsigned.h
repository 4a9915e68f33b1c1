/* tls_selfsigned.h — creates the self-signed certificate `correu init`
 * writes: EC P-256 key, SAN = the host name (and "localhost",
 * 127.0.0.1, ::1), CA:TRUE so clients can use it as its own trust
 * anchor. */
#ifndef CORREU_TLS_SELFSIGNED_H
#define CORREU_TLS_SELFSIGNED_H

/* Writes cert_path (mode 0644) and key_path (mode 0600). */
int tls_selfsigned_create(const char *cert_path, const char *key_path,
			  const char *hostname, unsigned days, const char **error_r);

#endif
